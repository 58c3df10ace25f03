// SPDX-License-Identifier: MIT
// A Boost.Asio program outside the heyes tree, built against heyes-boost as a user builds it (pkg-config, meson, CMake).
// It includes only installed headers and dials a listener of its own on 127.0.0.1 (an address
// literal: no DNS, loopback only).
#include <heyes/dial.hpp>
#include <heyes/dial/dialer_options.hpp>
#include <heyes/heyes.hpp>

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>

#include <chrono>
#include <cstdio>
#include <string>

int main() {
  boost::asio::io_context ioc;
  // The kernel completes the handshake on a listening socket: no accept needed.
  boost::asio::ip::tcp::acceptor listener(ioc, {boost::asio::ip::make_address("127.0.0.1"), 0});

  heyes::Dialer dialer(heyes::DialerOptions{});
  heyes::DialOptions options;
  options.timeout = std::chrono::seconds(5);

  int status = 1;
  dialer.async_dial(ioc.get_executor(), "127.0.0.1", std::to_string(listener.local_endpoint().port()), options,
                    [&](boost::system::error_code ec, boost::asio::ip::tcp::socket socket) {
                      if (ec) {
                        std::printf("failed: %s\n", ec.message().c_str());
                      } else {
                        std::printf("%s heyes-boost %s\n",
                                    socket.remote_endpoint().address().to_string().c_str(), HEYES_VERSION);
                        status = 0;
                      }
                    });
  ioc.run();
  return status;
}
