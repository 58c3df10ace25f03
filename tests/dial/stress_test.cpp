// SPDX-License-Identifier: MIT
// Threads: one io_context run by 4 threads, dials started from 4 other threads on one shared Dialer (for TSan).
#include <doctest/doctest.h>

#include <asio/bind_cancellation_slot.hpp>
#include <asio/bind_executor.hpp>
#include <asio/cancellation_signal.hpp>
#include <asio/executor_work_guard.hpp>
#include <asio/io_context.hpp>
#include <asio/post.hpp>
#include <asio/strand.hpp>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "heyes/dial/dialer_options.hpp"
#include "heyes/dial.hpp"
#include "heyes/error.hpp"
#include "support/loopback_targets.hpp"
#include "testing/test_server.hpp"

namespace {

using namespace std::chrono_literals;
using heyes::IpAddress;

constexpr int io_threads = 4;
constexpr int dial_threads = 4;
constexpr int dials_per_thread = 150;

// The three kinds of dial of the stress case, by n % 3.
enum Kind { cancelled_literal = 0, by_name = 1, refused_literal = 2 };
// How a dial ended.
enum Outcome { connected = 0, aborted = 1, all_failed = 2, other = 3 };

// Counts completions by kind and outcome; wait() returns once `expected`
// arrived or the limit passed.
class Completions {
 public:
  explicit Completions(int expected) : expected_(expected) {}
  void add(int kind, std::error_code ec) {
    Outcome o = !ec                                          ? connected
                : ec == asio::error::operation_aborted       ? aborted
                : ec == heyes::errc::all_attempts_failed     ? all_failed
                                                             : other;
    std::lock_guard lock(mu_);
    ++done_;
    ++counts_[kind][o];
    if (done_ == expected_) cv_.notify_all();
  }
  bool wait(std::chrono::seconds limit) {
    std::unique_lock lock(mu_);
    return cv_.wait_for(lock, limit, [this] { return done_ == expected_; });
  }
  int count(int kind, Outcome o) {
    std::lock_guard lock(mu_);
    return counts_[kind][o];
  }

 private:
  std::mutex mu_;
  std::condition_variable cv_;
  int expected_;
  int done_ = 0;
  int counts_[3][4] = {};
};

// The DNS server and the io_context that runs it, on one more thread.
struct DnsThread {
  asio::io_context ioc;
  asio::executor_work_guard<asio::io_context::executor_type> work{ioc.get_executor()};
  heyes::dns::TestServer server{ioc.get_executor()};
  std::thread thread{[this] { ioc.run(); }};
  ~DnsThread() {
    asio::post(ioc, [this] { server.close(); });
    work.reset();
    thread.join();
  }
};

void close_reset(asio::ip::tcp::socket& s) {
  std::error_code ignored;
  s.set_option(asio::socket_base::linger(true, 0), ignored);
  s.close(ignored);
}

// The open descriptors once the count has stopped falling (a dial's other
// DNS query may still be in flight for a moment after it connected); at most 2 s.
int settled_fd_count() {
  int n = heyes::test::count_open_fds();
  for (int i = 0; i < 40; ++i) {
    std::this_thread::sleep_for(50ms);
    int m = heyes::test::count_open_fds();
    if (m == n) break;
    n = m;
  }
  return n;
}

}  // namespace

TEST_CASE("4 threads run one io_context; 4 threads dial through one shared Dialer; a third are cancelled") {
  heyes::test::raise_fd_limit();
  heyes::test::AcceptingListener ok("127.0.0.1");
  heyes::test::RefusingPort refused("127.0.0.1");
  DnsThread dns;
  dns.server.add_host("stress.heyes.test", {*IpAddress::parse("::1"), *IpAddress::parse("127.0.0.1")});

  heyes::DialerOptions dialer_options;
  dialer_options.resolver.config.nameservers = {dns.server.nameserver()};
  dialer_options.resolver.config.timeout = 1s;
  heyes::Dialer dialer(std::move(dialer_options));
  heyes::DialOptions options;
  options.timeout = 3s;
  options.addrconfig = false;

  asio::io_context ioc(io_threads);
  auto work = asio::make_work_guard(ioc);
  std::vector<std::thread> runners;
  for (int i = 0; i < io_threads; ++i) runners.emplace_back([&] { ioc.run(); });
  // One dial first: asio opens its reactor's descriptors (epoll, eventfd,
  // timerfd) on first use, and they stay open.
  {
    std::error_code ec;
    auto s = dialer.dial(ioc.get_executor(), "stress.heyes.test", std::to_string(ok.port()), options, ec);
    REQUIRE_FALSE(ec);
    close_reset(s);
  }
  const int fds_before = settled_fd_count();

  Completions completions(dial_threads * dials_per_thread);
  // Each dial: a target in turn (literal, name, refused port), its handler
  // on its own strand; every third one is cancelled through its slot, the
  // signal emitted on that strand (asio's rule for cancellation signals).
  auto dial_some = [&](int t) {
    for (int i = 0; i < dials_per_thread; ++i) {
      int n = t * dials_per_thread + i;
      int kind = n % 3;
      std::string host = kind == by_name ? "stress.heyes.test" : "127.0.0.1";
      std::uint16_t port = kind == refused_literal ? refused.port() : ok.port();
      auto strand = asio::make_strand(ioc);
      auto signal = std::make_shared<asio::cancellation_signal>();
      auto handler = [&completions, signal, kind](std::error_code ec, asio::ip::tcp::socket s) {
        completions.add(kind, ec);
        close_reset(s);
      };
      dialer.async_dial(ioc.get_executor(), host, std::to_string(port), options,
                        asio::bind_executor(strand, asio::bind_cancellation_slot(signal->slot(), handler)));
      if (kind == cancelled_literal) asio::post(strand, [signal] { signal->emit(asio::cancellation_type::terminal); });
    }
  };
  std::vector<std::thread> dialers;
  for (int t = 0; t < dial_threads; ++t) dialers.emplace_back(dial_some, t);
  for (auto& d : dialers) d.join();

  // Blocking dials from two threads at once, on the same Dialer.
  std::atomic<int> blocking_ok{0};
  auto block = [&] {
    for (int i = 0; i < 20; ++i) {
      std::error_code ec;
      auto s = dialer.dial(ioc.get_executor(), "stress.heyes.test", std::to_string(ok.port()), options, ec);
      if (!ec) ++blocking_ok;
      close_reset(s);
    }
  };
  std::thread b1(block), b2(block);
  b1.join();
  b2.join();

  REQUIRE(completions.wait(60s));
  // Every dial by name connects (::1 refused or unreachable, 127.0.0.1
  // accepts); every dial to the refused port fails with each attempt's cause;
  // a cancelled dial either lost the race to its cancel or connected first.
  const int per_kind = dial_threads * dials_per_thread / 3;
  CHECK(completions.count(by_name, connected) == per_kind);
  CHECK(completions.count(refused_literal, all_failed) == per_kind);
  CHECK(completions.count(cancelled_literal, connected) + completions.count(cancelled_literal, aborted) == per_kind);
  CHECK(blocking_ok == 40);
  // Let lingering lookups end, then stop the runners.
  work.reset();
  for (auto& r : runners) r.join();
  CHECK(heyes::test::count_open_fds() == fds_before);
}
