// SPDX-License-Identifier: MIT
// Example: heyes from a Boost.Asio program (heyes built with -Dasio=boost: heyes-boost). usage: boost_dial HOST PORT
#include <heyes/dial.hpp>

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/use_future.hpp>

#include <cstdio>
#include <future>

int main(int argc, char** argv) {
  if (argc != 3) return 2;
  boost::asio::io_context ioc;
  // Boost executor, Boost completion signature, Boost socket.
  bool connected = false;
  heyes::async_dial(ioc.get_executor(), argv[1], argv[2],
                    [&](boost::system::error_code ec, boost::asio::ip::tcp::socket socket) {
                      if (ec == heyes::errc::all_attempts_failed) {
                        std::printf("failed: every address failed: %s\n", ec.message().c_str());
                        return;
                      }
                      if (ec) {
                        std::printf("failed: %s\n", ec.message().c_str());
                        return;
                      }
                      std::printf("connected to %s\n", socket.remote_endpoint().address().to_string().c_str());
                      connected = true;
                    });
  ioc.run();
  if (!connected) return 1;

  // Any Boost token: here use_future, with the error thrown as boost::system::system_error.
  ioc.restart();
  auto f = heyes::async_dial(ioc.get_executor(), argv[1], argv[2], boost::asio::use_future);
  ioc.run();
  std::printf("connected again to %s\n", f.get().remote_endpoint().address().to_string().c_str());
}
