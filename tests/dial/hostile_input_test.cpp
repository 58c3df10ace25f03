// SPDX-License-Identifier: MIT
// Every public async operation on an asio::thread_pool with hostile inputs: each handler gets an error, nothing throws.
#include <doctest/doctest.h>

#include <asio/io_context.hpp>
#include <asio/thread_pool.hpp>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <mutex>
#include <stdexcept>
#include <string>
#include <vector>

#include "heyes/dial.hpp"
#include "heyes/dial/dialer_options.hpp"
#include "heyes/dns/resolver.hpp"
#include "heyes/error.hpp"
#include "support/fake_dns_server.hpp"

using namespace std::chrono_literals;
using heyes::test::FakeDnsServer;

namespace {

// Host names no lookup may send, and that once escaped run() as an
// exception (a backslash escape above \255) or waited their full timeout
// (other escapes, a trailing backslash).
std::vector<std::string> hostile_names() {
  return {"a\\999.example", "ok\\999.t", "ok\\065.t", "trailing\\", "\\.", std::string("a\0b", 3),
          std::string(300, 'a'), std::string(64, 'x') + ".example", "-lead.example", "", ".", "a..b", "caf\xc3\xa9"};
}

// Counts completions; waits (bounded) until the expected number came in.
class Completions {
 public:
  void add(const std::string& what, std::error_code ec) {
    std::lock_guard lock(mu_);
    results_.emplace_back(what, ec);
    cv_.notify_all();
  }
  bool wait_for(std::size_t n, std::chrono::seconds bound) {
    std::unique_lock lock(mu_);
    return cv_.wait_for(lock, bound, [&] { return results_.size() >= n; });
  }
  std::vector<std::pair<std::string, std::error_code>> results() {
    std::lock_guard lock(mu_);
    return results_;
  }

 private:
  std::mutex mu_;
  std::condition_variable cv_;
  std::vector<std::pair<std::string, std::error_code>> results_;
};

heyes::DialerOptions options_for(FakeDnsServer& server, std::vector<std::string> search) {
  heyes::DialerOptions o;
  o.resolver.config.nameservers = {server->nameserver()};
  o.resolver.config.search = std::move(search);
  o.resolver.config.attempts = 1;
  o.resolver.try_timeout = 200ms;
  return o;
}

}  // namespace

TEST_CASE("hostile names on a thread pool: async_dial, async_dial_result, async_resolve, start all complete with errors") {
  FakeDnsServer server;
  // A search list set in code bypasses the resolv.conf parser: its bad
  // suffixes must be skipped, never encoded.
  heyes::Dialer dialer(options_for(server, {"s\\999.example", "ok.example"}));
  auto resolver = heyes::dns::Resolver::create(options_for(server, {"s\\999.example"}).resolver);
  heyes::DialOptions dial_options;
  dial_options.addrconfig = false;

  asio::thread_pool pool(2);
  Completions done;
  std::size_t expected = 0;
  for (const auto& name : hostile_names()) {
    dialer.async_dial(pool.get_executor(), name, "80", dial_options,
                      [&, name](std::error_code ec, asio::ip::tcp::socket) { done.add("async_dial " + name, ec); });
    dialer.async_dial_result(pool.get_executor(), name, "80", dial_options,
                             [&, name](std::error_code ec, heyes::DialResult) {
                               done.add("async_dial_result " + name, ec);
                             });
    // The default Dialer: a bad name fails before its resolver could be asked.
    heyes::async_dial(pool.get_executor(), name, "80",
                      [&, name](std::error_code ec, asio::ip::tcp::socket) { done.add("heyes::async_dial " + name, ec); });
    resolver->async_resolve(pool.get_executor(), name, [&, name](std::error_code ec, std::vector<heyes::IpAddress>) {
      done.add("async_resolve " + name, ec);
    });
    auto seen = std::make_shared<std::atomic<int>>(0);
    resolver->start(pool.get_executor(), name, heyes::FamilySet::both(), [&, name, seen](const heyes::dns::ResolveEvent& e) {
      done.add("start " + name + " " + std::string(heyes::to_string(e.family)), e.error);
    });
    expected += 6;
  }
  // The socket-setup hook is the caller's code run inside the library's
  // handlers: an exception from it becomes the dial's error, not a throw out
  // of the pool's run() (which would abort the process).
  heyes::DialOptions throwing = dial_options;
  throwing.socket_setup = [](asio::ip::tcp::socket&, std::error_code&) { throw std::runtime_error("hook"); };
  dialer.async_dial(pool.get_executor(), "127.0.0.1", "9", throwing,
                    [&](std::error_code ec, asio::ip::tcp::socket) { done.add("throwing hook", ec); });
  ++expected;

  REQUIRE(done.wait_for(expected, 20s));
  pool.join();
  auto results = done.results();
  CHECK(results.size() == expected);
  for (const auto& result : results) {
    const std::string& what = result.first;
    const std::error_code ec = result.second;
    CAPTURE(what);
    CHECK(ec);
    if (what != "throwing hook") CHECK(ec == heyes::errc::bad_host_name);
  }
  CHECK(std::find_if(results.begin(), results.end(), [](const auto& r) { return r.first == "throwing hook"; })
            ->second == heyes::errc::internal_error);
  // Nothing hostile went on the wire.
  for (const auto& q : server->queries()) CHECK(q.name.find('\\') == std::string::npos);
}

TEST_CASE("the blocking error_code& dial reports a bad name instead of throwing") {
  FakeDnsServer server;
  heyes::Dialer dialer(options_for(server, {}));
  asio::io_context ioc;
  for (const auto& name : hostile_names()) {
    CAPTURE(name);
    std::error_code ec;
    CHECK_NOTHROW(dialer.dial(ioc.get_executor(), name, "80", {}, ec));
    CHECK(ec == heyes::errc::bad_host_name);
  }
  CHECK(server->queries().empty());
}
