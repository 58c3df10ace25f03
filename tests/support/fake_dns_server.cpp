// SPDX-License-Identifier: MIT
// FakeDnsServer: testing/'s TestServer on a private io_context thread.
#include "support/fake_dns_server.hpp"

#include <asio/post.hpp>

namespace heyes::test {

FakeDnsServer::FakeDnsServer(const char* address)
    : server_(std::make_unique<dns::TestServer>(ioc_.get_executor(), *IpAddress::parse(address))),
      thread_([this] { ioc_.run(); }) {}

// Closing on the server's own thread ends its last pending operation, so
// run() returns and the thread can be joined.
FakeDnsServer::~FakeDnsServer() {
  asio::post(ioc_, [this] { server_->close(); });
  thread_.join();
}

}  // namespace heyes::test
