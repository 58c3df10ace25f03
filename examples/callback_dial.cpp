// SPDX-License-Identifier: MIT
// Example: connect with a completion handler. usage: callback_dial [HOST [PORT]]
#include <heyes/dial.hpp>

#include <asio/io_context.hpp>

#include <cstdio>

int main(int argc, char** argv) {
  const char* host = argc > 1 ? argv[1] : "example.com";
  const char* port = argc > 2 ? argv[2] : "https";

  asio::io_context ioc;
  bool connected = false;
  heyes::async_dial(ioc.get_executor(), host, port,
                    [&](std::error_code ec, asio::ip::tcp::socket socket) {
                      if (ec) {
                        std::printf("failed: %s\n", ec.message().c_str());
                        return;
                      }
                      std::printf("connected to %s\n", socket.remote_endpoint().address().to_string().c_str());
                      connected = true;
                    });
  ioc.run();
  return connected ? 0 : 1;
}
