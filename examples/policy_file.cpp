// SPDX-License-Identifier: MIT
// Example: order addresses with a gai.conf-style policy file. usage: policy_file FILE HOST PORT NAMESERVER
#include <heyes/dial/dialer_options.hpp>
#include <heyes/dial.hpp>
#include <heyes/select/policy.hpp>

#include <asio/io_context.hpp>

#include <cstdio>
#include <memory>

int main(int argc, char** argv) {
  if (argc != 5) {
    std::fprintf(stderr, "usage: policy_file FILE HOST PORT NAMESERVER\n");
    return 2;
  }
  auto nameserver = heyes::dns::Nameserver::parse(argv[4]);
  if (!nameserver) {
    std::fprintf(stderr, "not a nameserver: %s\n", argv[4]);
    return 2;
  }

  heyes::DialerOptions config;
  try {
    // Strict: a bad line throws heyes::ParseError naming file:line.
    config.policy = std::make_shared<const heyes::PolicyTable>(heyes::load_policy(argv[1]).value);
  } catch (const heyes::ParseError& e) {
    std::fprintf(stderr, "%s\n", e.what());
    return 2;
  }
  config.resolver.config.nameservers = {*nameserver};
  heyes::Dialer dialer(config);  // every dial of this Dialer sorts with the policy

  asio::io_context ioc;
  std::error_code ec;
  asio::ip::tcp::socket socket = dialer.dial(ioc.get_executor(), argv[2], argv[3], {}, ec);
  if (ec) {
    std::printf("failed: %s\n", ec.message().c_str());
    return 1;
  }
  std::printf("connected to %s\n", socket.remote_endpoint().address().to_string().c_str());
  return 0;
}
