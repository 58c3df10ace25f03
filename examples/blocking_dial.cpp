// SPDX-License-Identifier: MIT
// Example: a blocking dial, the drop-in for a getaddrinfo-and-connect loop. usage: blocking_dial [HOST [PORT]]
#include <heyes/dial.hpp>

#include <asio/io_context.hpp>

#include <cstdio>

int main(int argc, char** argv) {
  const char* host = argc > 1 ? argv[1] : "example.com";
  const char* port = argc > 2 ? argv[2] : "https";

  asio::io_context ioc;
  try {
    asio::ip::tcp::socket socket = heyes::dial(ioc, host, port);
    std::printf("connected to %s\n", socket.remote_endpoint().address().to_string().c_str());
  } catch (const heyes::DialError& e) {
    // Every address's own cause, not just the last one.
    std::printf("failed: %s\n", e.what());
    for (const auto& failure : e.failures())
      std::printf("  %s: %s\n", failure.address.to_string().c_str(), failure.error.message().c_str());
    return 1;
  }
  return 0;
}
