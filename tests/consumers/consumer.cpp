// SPDX-License-Identifier: MIT
// A program outside the heyes tree, built against heyes as a user builds it (pkg-config, meson, CMake).
// It dials the loopback demo network: demo.test is ::1 (silently broken) and 127.0.0.1 (working).
#include <heyes/dial/dialer_options.hpp>
#include <heyes/dial.hpp>
#include <heyes/dns/test_server.hpp>
#include <heyes/heyes.hpp>
#include <heyes/testing/listeners.hpp>

#include <asio/io_context.hpp>

#include <chrono>
#include <cstdio>
#include <string>

int main() {
  asio::io_context ioc;
  // The demo's DNS server (loopback, ephemeral port) and listeners.
  heyes::dns::TestServer dns(ioc.get_executor());
  auto net = heyes::testing::make_broken_ipv6_setup();
  dns.add_host("demo.test", {*heyes::IpAddress::parse("::1"), *heyes::IpAddress::parse("127.0.0.1")});

  heyes::DialerOptions config;
  config.resolver.config.nameservers = {dns.nameserver()};  // never the system's nameserver
  heyes::Dialer dialer(config);
  heyes::DialOptions options;
  options.attempt_delay = std::chrono::milliseconds(100);
  options.timeout = std::chrono::seconds(5);

  int status = 1;
  dialer.async_dial_result(ioc.get_executor(), "demo.test", std::to_string(net.port()), options,
                           [&](std::error_code ec, heyes::DialResult result) {
                             if (ec) {
                               std::printf("failed: %s\n", ec.message().c_str());
                             } else {
                               std::printf("%s heyes %s\n", result.endpoint.address().to_string().c_str(),
                                           HEYES_VERSION);
                               status = 0;
                             }
                             dns.close();  // lets ioc.run() return
                           });
  ioc.run();
  return status;
}
