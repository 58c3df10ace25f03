// SPDX-License-Identifier: MIT
// Example: connect from a C++20 coroutine (asio::use_awaitable). usage: coroutine_dial [HOST [PORT]]
#include <heyes/dial.hpp>

#include <asio/co_spawn.hpp>
#include <asio/io_context.hpp>
#include <asio/use_awaitable.hpp>

#include <cstdio>
#include <exception>
#include <string>

asio::awaitable<void> connect(std::string host, std::string port) {
  auto ex = co_await asio::this_coro::executor;
  // Throws std::system_error when the dial fails.
  asio::ip::tcp::socket socket = co_await heyes::async_dial(ex, host, port, asio::use_awaitable);
  std::printf("connected to %s\n", socket.remote_endpoint().address().to_string().c_str());
}

int main(int argc, char** argv) {
  asio::io_context ioc;
  int status = 1;
  asio::co_spawn(ioc, connect(argc > 1 ? argv[1] : "example.com", argc > 2 ? argv[2] : "https"),
                 [&](std::exception_ptr error) {
                   try {
                     if (error) std::rethrow_exception(error);
                     status = 0;
                   } catch (const std::exception& failure) {
                     std::printf("failed: %s\n", failure.what());
                   }
                 });
  ioc.run();
  return status;
}
