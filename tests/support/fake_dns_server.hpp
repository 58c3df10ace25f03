// SPDX-License-Identifier: MIT
// FakeDnsServer: heyes::dns::TestServer running on its own io_context thread, for tests.
#pragma once

#include <asio/io_context.hpp>

#include <chrono>
#include <memory>
#include <vector>
#include <thread>

#include "heyes/dns/resolver.hpp"
#include "testing/test_server.hpp"

namespace heyes::test {

// The scriptable loopback DNS server (see testing/test_server.hpp) with a
// thread of its own, so a test can block on its own io_context. Scripts and
// the received queries are used through ->. Stops and joins on destruction.
class FakeDnsServer {
 public:
  explicit FakeDnsServer(const char* address = "127.0.0.1");
  ~FakeDnsServer();
  FakeDnsServer(const FakeDnsServer&) = delete;
  FakeDnsServer& operator=(const FakeDnsServer&) = delete;

  dns::TestServer* operator->() noexcept { return server_.get(); }
  dns::TestServer& server() noexcept { return *server_; }

 private:
  asio::io_context ioc_;
  std::unique_ptr<dns::TestServer> server_;
  std::thread thread_;
};

// Resolver options that ask only these servers, once each, 300 ms per try:
// the tests' usual resolver.
inline dns::ResolverOptions options_for(std::vector<dns::Nameserver> servers) {
  dns::ResolverOptions o;
  o.config.nameservers = std::move(servers);
  o.config.attempts = 1;
  o.try_timeout = std::chrono::milliseconds(300);
  return o;
}

}  // namespace heyes::test
