// SPDX-License-Identifier: MIT
// Example: a long-lived Dialer with its own nameserver, and per-dial options.
// usage: dialer_options HOST PORT NAMESERVER   (NAMESERVER: "192.0.2.53" or "[2001:db8::53]:5353")
#include <heyes/dial/dialer_options.hpp>
#include <heyes/dial.hpp>

#include <asio/io_context.hpp>

#include <chrono>
#include <cstdio>

using namespace std::chrono_literals;

int main(int argc, char** argv) {
  if (argc != 4) {
    std::fprintf(stderr, "usage: dialer_options HOST PORT NAMESERVER\n");
    return 2;
  }
  auto nameserver = heyes::dns::Nameserver::parse(argv[3]);
  if (!nameserver) {
    std::fprintf(stderr, "not a nameserver: %s\n", argv[3]);
    return 2;
  }

  // What outlives one dial: resolver (and its cache), policy, history.
  heyes::DialerOptions config;
  config.resolver.config.nameservers = {*nameserver};
  heyes::Dialer dialer(config);

  // What applies to one dial.
  heyes::DialOptions options;
  options.attempt_delay = 150ms;  // RFC 8305 Connection Attempt Delay (default 250 ms)
  options.timeout = 5s;           // the whole dial, DNS included
  options.socket_setup = [](asio::ip::tcp::socket& socket, std::error_code& ec) {
    socket.set_option(asio::ip::tcp::no_delay(true), ec);  // before connect, on every attempt
  };

  asio::io_context ioc;
  int status = 1;
  dialer.async_dial_result(ioc.get_executor(), argv[1], argv[2], options,
                           [&](std::error_code ec, heyes::DialResult result) {
                             // The timeline: what was asked, answered, tried, and when.
                             for (const auto& e : result.trace.events())
                               std::printf("%6.1f ms  %-17s %s %s\n", e.t.count() / 1000.0, e.type.c_str(),
                                           e.address ? e.address->to_string().c_str() : "", e.detail.c_str());
                             if (ec) {
                               std::printf("failed: %s\n", ec.message().c_str());
                               return;
                             }
                             std::printf("connected to %s\n", result.endpoint.address().to_string().c_str());
                             status = 0;
                           });
  ioc.run();
  return status;
}
