// SPDX-License-Identifier: MIT
// Example: the README's quick start: dial HOST PORT, print the address that won. usage: hello HOST PORT
#include <heyes/dial.hpp>

#include <asio/io_context.hpp>

#include <cstdio>

int main(int argc, char** argv) {
  if (argc != 3) return 2;
  asio::io_context ioc;
  std::error_code ec;
  asio::ip::tcp::socket socket = heyes::dial(ioc, argv[1], argv[2], {}, ec);
  if (ec) {
    std::printf("failed: %s\n", ec.message().c_str());
    return 1;
  }
  std::printf("connected to %s\n", socket.remote_endpoint().address().to_string().c_str());
}
