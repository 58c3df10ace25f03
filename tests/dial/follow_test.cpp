// SPDX-License-Identifier: MIT
// A Dialer following its system files (pointed at a temporary directory): hosts, resolv.conf, gai.conf, reload(), bad files.
#include <doctest/doctest.h>

#include <asio/executor_work_guard.hpp>
#include <asio/io_context.hpp>
#include <asio/post.hpp>

#include <chrono>
#include <filesystem>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "dial_fixture.hpp"
#include "support/system_files.hpp"
#include "heyes/dial/dialer_options.hpp"
#include "heyes/dns/resolver.hpp"
#include "heyes/select/policy.hpp"
#include "testing/listeners.hpp"
#include "testing/test_server.hpp"

namespace heyes::test {
namespace {

using namespace std::chrono_literals;
namespace fs = std::filesystem;

IpAddress ip(const char* text) { return *IpAddress::parse(text); }

// resolv.conf, hosts and gai.conf in a directory of their own (removed at the
// end). The first resolv.conf names 127.0.0.21, where nothing listens unless
// a test starts a server there: no test asks a server it did not start.
struct Files : heyes::test::SystemFilesDir {
  Files() : SystemFilesDir("heyes-follow-dial", "nameserver 127.0.0.21\noptions timeout:1 attempts:1\n", "127.0.0.1 h.follow.test\n", "precedence ::ffff:0:0/96 100\n") {}
  SystemFiles system() const { return {resolv().string(), hosts().string(), gai().string(), nsswitch().string()}; }
};

// Working listeners on 127.0.0.1:P and 127.0.0.2:P (one port, so that a
// name moved from one address to the other is dialed with the same service).
struct TwoListeners {
  TwoListeners() {
    for (int i = 0; i < 20 && !second; ++i) {
      first.emplace(testing::Listener::working(ip("127.0.0.1")));
      try {
        second.emplace(testing::Listener::working(ip("127.0.0.2"), first->port()));
      } catch (const std::system_error&) {
        first.reset();  // 127.0.0.2:P taken: another port
      }
    }
    REQUIRE(second);
  }
  std::string service() const { return std::to_string(first->port()); }
  std::optional<testing::Listener> first, second;
};

// A TestServer on ADDRESS:53 on a thread of its own (resolv.conf has no
// port); nullptr when port 53 cannot be bound (not root).
struct DnsOn53 {
  explicit DnsOn53(const char* address) {
    try {
      server = std::make_unique<dns::TestServer>(ioc.get_executor(), ip(address), 53);
    } catch (const std::exception&) {
      return;
    }
    thread = std::thread([this] { ioc.run(); });
  }
  ~DnsOn53() { stop(); }
  void stop() {
    if (!server) return;
    asio::post(ioc, [this] { server->close(); });
    work.reset();
    thread.join();
    server.reset();
  }
  asio::io_context ioc;
  std::optional<asio::executor_work_guard<asio::io_context::executor_type>> work{ioc.get_executor()};
  std::unique_ptr<dns::TestServer> server;
  std::thread thread;
};

DialOptions v4_traced() {
  DialOptions o;
  o.family = FamilyRestriction::v4;
  o.keep_trace = true;
  o.use_history = false;
  o.timeout = 5s;
  return o;
}

struct Collected {
  std::mutex mutex;
  std::vector<std::string> lines;
  void add(const Diagnostic& d) {
    std::lock_guard lock(mutex);
    lines.push_back(d.to_string());
  }
  std::size_t size() {
    std::lock_guard lock(mutex);
    return lines.size();
  }
};

std::string winner(Dialer& dialer, const std::string& host, const std::string& service, Trace* trace = nullptr) {
  asio::io_context ioc;
  std::error_code ec;
  DialResult r = dialer.dial_result(ioc.get_executor(), host, service, v4_traced(), ec);
  if (trace) *trace = r.trace;
  if (ec) return "error: " + ec.message();
  return r.endpoint.address().to_string();
}

// Dials until host goes to want, at most 50 times and 10 s; returns the
// dial's trace when it does.
std::optional<Trace> dial_until(Dialer& dialer, const std::string& host, const std::string& service,
                                const std::string& want) {
  const auto deadline = std::chrono::steady_clock::now() + 10s;
  for (int i = 0; i < 50 && std::chrono::steady_clock::now() < deadline; ++i) {
    Trace trace;
    if (winner(dialer, host, service, &trace) == want) return trace;
    std::this_thread::sleep_for(50ms);
  }
  return std::nullopt;
}

TEST_CASE("hosts changed: the first dial after the interval goes to the new address and says why") {
  Files f;
  TwoListeners l;
  auto options = DialerOptions::from_system(f.system());
  options.config_check_interval = 1000ms;
  const auto made = std::chrono::steady_clock::now();
  Dialer dialer(options);
  CHECK(winner(dialer, "h.follow.test", l.service()) == "127.0.0.1");
  write_file(f.hosts(), "127.0.0.2 h.follow.test\n");
  // Before the first check is due (1 s after the Dialer was made), the old table.
  std::string before = winner(dialer, "h.follow.test", l.service());
  if (std::chrono::steady_clock::now() - made < 900ms) CHECK(before == "127.0.0.1");
  auto trace = dial_until(dialer, "h.follow.test", l.service(), "127.0.0.2");
  REQUIRE(trace);
  CHECK(std::chrono::steady_clock::now() - made >= 1000ms);
  // The dial that made the check says so (the others after it do not).
  CHECK(count_events(*trace, event::config_reloaded) == 1);
  Trace next;
  CHECK(winner(dialer, "h.follow.test", l.service(), &next) == "127.0.0.2");
  CHECK(count_events(next, event::config_reloaded) == 0);
}

TEST_CASE("reload(): the next dial uses the new file at once") {
  Files f;
  TwoListeners l;
  auto options = DialerOptions::from_system(f.system());
  options.config_check_interval = std::chrono::hours(1);
  Dialer dialer(options);
  CHECK(winner(dialer, "h.follow.test", l.service()) == "127.0.0.1");
  write_file(f.hosts(), "127.0.0.2 h.follow.test\n");
  CHECK(winner(dialer, "h.follow.test", l.service()) == "127.0.0.1");
  CHECK(dialer.reload());
  CHECK(winner(dialer, "h.follow.test", l.service()) == "127.0.0.2");
}

TEST_CASE("resolv.conf changed to another DNS server: the next dials ask it (root: port 53 on loopback)") {
  DnsOn53 a("127.0.0.21"), b("127.0.0.22");
  if (!a.server || !b.server) {
    MESSAGE("skipped: port 53 on 127.0.0.21/22 cannot be bound (not root?)");
    return;
  }
  a.server->add_host("n.follow.test", {ip("127.0.0.1")});
  b.server->add_host("n.follow.test", {ip("127.0.0.2")});
  Files f;
  TwoListeners l;
  auto options = DialerOptions::from_system(f.system());
  options.config_check_interval = 300ms;
  Dialer dialer(options);
  CHECK(winner(dialer, "n.follow.test.", l.service()) == "127.0.0.1");
  CHECK(a.server->query_count("n.follow.test", dns::RecordType::a) == 1);
  write_file(f.resolv(), "nameserver 127.0.0.22\noptions timeout:1 attempts:1\n");
  auto trace = dial_until(dialer, "n.follow.test.", l.service(), "127.0.0.2");
  REQUIRE(trace);
  CHECK(b.server->query_count("n.follow.test", dns::RecordType::a) == 1);
  CHECK(count_events(*trace, event::config_reloaded) == 1);
  CHECK(dialer.resolver()->options().config.nameservers == std::vector{*dns::Nameserver::parse("127.0.0.22")});
}

TEST_CASE("a DNS failure makes the next dial check at once (root: port 53 on loopback)") {
  DnsOn53 a("127.0.0.21"), b("127.0.0.22");
  if (!a.server || !b.server) {
    MESSAGE("skipped: port 53 on 127.0.0.21/22 cannot be bound (not root?)");
    return;
  }
  a.server->add_host("n.follow.test", {ip("127.0.0.1")});
  b.server->add_host("n.follow.test", {ip("127.0.0.2")});
  Files f;
  TwoListeners l;
  auto options = DialerOptions::from_system(f.system());
  options.config_check_interval = std::chrono::hours(1);
  options.resolver.cache_entries = 0;  // so the second dial asks again
  // A cache size is no value of resolv.conf: the file is still followed.
  Dialer dialer(options);
  CHECK(winner(dialer, "n.follow.test.", l.service()) == "127.0.0.1");
  a.stop();  // the old server is gone (a refused port on loopback: an error at once)
  write_file(f.resolv(), "nameserver 127.0.0.22\noptions timeout:1 attempts:1\n");
  CHECK(winner(dialer, "n.follow.test.", l.service()).starts_with("error"));
  CHECK(winner(dialer, "n.follow.test.", l.service()) == "127.0.0.2");
}

TEST_CASE("gai.conf changed: the policy of the dials after the check") {
  Files f;
  auto options = DialerOptions::from_system(f.system());
  options.config_check_interval = 200ms;
  Dialer dialer(options);
  auto v4_first = [&] {
    auto p = dialer.policy();
    return p->precedence(ip("192.0.2.1")) > p->precedence(ip("2001:db8::1"));
  };
  CHECK(v4_first());
  write_file(f.gai(), "precedence ::/0 40\nprecedence ::ffff:0:0/96 10\n");
  std::this_thread::sleep_for(250ms);
  asio::io_context ioc;
  std::error_code ec;
  dialer.dial(ioc.get_executor(), "127.0.0.1", std::to_string(closed_port()), v4_traced(), ec);  // a dial makes the check
  CHECK(!v4_first());
}

TEST_CASE("a file that goes bad keeps the configuration read before, with a diagnostic and a trace event") {
  Files f;
  TwoListeners l;
  auto collected = std::make_shared<Collected>();
  auto options = DialerOptions::from_system(f.system());
  options.config_check_interval = 1h;
  options.config_diagnostics = [collected](const Diagnostic& d) { collected->add(d); };
  Dialer dialer(options);
  CHECK(winner(dialer, "h.follow.test", l.service()) == "127.0.0.1");
  fs::remove(f.hosts());
  write_file(f.resolv(), "nameserver 300.1.1.1\n");
  write_file(f.gai(), "label ::1 x\n");
  CHECK(!dialer.reload());
  CHECK(collected->size() == 3);
  CHECK(winner(dialer, "h.follow.test", l.service()) == "127.0.0.1");
  CHECK(dialer.resolver()->options().config.nameservers == std::vector{*dns::Nameserver::parse("127.0.0.21")});
  // The same on a dial's check, which says it in its trace.
  Files g;
  auto options3 = DialerOptions::from_system(g.system());
  options3.config_check_interval = 100ms;
  Dialer watched(options3);
  write_file(g.resolv(), "nameserver 300.1.1.1\n");
  std::this_thread::sleep_for(150ms);
  Trace trace;
  CHECK(winner(watched, "h.follow.test", l.service(), &trace) == "127.0.0.1");
  auto types = event_types(trace, {event::config_reloaded});
  REQUIRE(types.size() == 1);
  bool kept = false;
  for (const auto& e : trace.events())
    if (e.type == event::config_reloaded) kept = e.detail.find("the configuration read before is kept") != std::string::npos;
  CHECK(kept);
}

TEST_CASE("values the caller set are kept: resolv.conf is not followed after nameservers were changed") {
  Files f;
  TwoListeners l;
  auto options = DialerOptions::from_system(f.system());
  options.resolver.config.nameservers = {*dns::Nameserver::parse("127.0.0.23")};
  options.config_check_interval = 1h;
  Dialer dialer(options);
  write_file(f.resolv(), "nameserver 127.0.0.22\n");
  write_file(f.hosts(), "127.0.0.2 h.follow.test\n");
  CHECK(dialer.reload());  // hosts is still followed
  CHECK(dialer.resolver()->options().config.nameservers == std::vector{*dns::Nameserver::parse("127.0.0.23")});
  CHECK(winner(dialer, "h.follow.test", l.service()) == "127.0.0.2");
}

TEST_CASE("a Dialer made from values alone follows no resolv.conf or hosts") {
  DialerOptions options;  // not from_system(): only gai.conf (/etc/gai.conf) is the system's
  options.resolver.config.nameservers = {*dns::Nameserver::parse("127.0.0.23")};
  options.policy = std::make_shared<const PolicyTable>();
  Dialer dialer(options);
  CHECK(!dialer.reload());
}

}  // namespace
}  // namespace heyes::test
