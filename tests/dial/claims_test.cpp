// SPDX-License-Identifier: MIT
// What the README and docs/race.md promise of a dial: every cancellation type, per-address causes, late answers, defaults.
#include <doctest/doctest.h>

#include <asio/bind_cancellation_slot.hpp>
#include <asio/cancellation_signal.hpp>
#include <asio/io_context.hpp>
#include <asio/ip/tcp.hpp>
#include <asio/steady_timer.hpp>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <system_error>
#include <vector>

#include "dial_fixture.hpp"
#include "heyes/dial.hpp"
#include "heyes/dial/dialer_options.hpp"
#include "heyes/error.hpp"
#include "heyes/race/history.hpp"
#include "heyes/select/connectivity.hpp"
#include "heyes/select/policy.hpp"
#include "support/fake_dns_server.hpp"
#include "support/loopback_targets.hpp"
#include "testing/listeners.hpp"

using namespace std::chrono_literals;
using heyes::IpAddress;
using heyes::test::FakeDnsServer;
using heyes::test::open_fds;

namespace {

IpAddress ip(const char* s) { return *IpAddress::parse(s); }

// A Dialer that asks only the test's DNS server, with the RFC 6724 policy.
heyes::DialerOptions dialer_options(FakeDnsServer& dns) {
  heyes::DialerOptions o;
  o.resolver.config.nameservers = {dns->nameserver()};
  o.resolver.config.attempts = 1;
  o.resolver.try_timeout = 2s;
  o.policy = std::make_shared<const heyes::PolicyTable>();
  return o;
}

// Loopback only, no history: each dial sees the network afresh.
heyes::DialOptions dial_options() {
  heyes::DialOptions o;
  o.addrconfig = false;
  o.use_history = false;
  return o;
}

// The io_context comes first: it outlives the result's socket, which needs its services.
struct Dialed {
  std::unique_ptr<asio::io_context> ioc = std::make_unique<asio::io_context>();
  std::error_code ec;
  std::optional<heyes::DialResult> result;
};

Dialed dial(heyes::Dialer& dialer, const std::string& host, std::uint16_t port, const heyes::DialOptions& opts) {
  Dialed out;
  asio::io_context& ioc = *out.ioc;
  dialer.async_dial_result(ioc.get_executor(), host, std::to_string(port), opts,
                           [&](std::error_code ec, heyes::DialResult r) {
                             out.ec = ec;
                             out.result.emplace(std::move(r));
                           });
  ioc.run_for(20s);
  REQUIRE(out.result);
  return out;
}

const heyes::AttemptFailure* failure_of(const heyes::DialResult& r, const char* address) {
  for (const auto& f : r.failures)
    if (f.address == ip(address)) return &f;
  return nullptr;
}

// A TCP port bound on an address and never listened on: connects to it are
// refused, and nobody else can take it while this lives.
class Reserved {
 public:
  Reserved(asio::io_context& ioc, const char* address, std::uint16_t port) : socket_(ioc) {
    const asio::ip::tcp::endpoint at(asio::ip::make_address(address), port);
    socket_.open(at.protocol());
    socket_.bind(at);
  }
  std::uint16_t port() const { return socket_.local_endpoint().port(); }

 private:
  asio::ip::tcp::socket socket_;
};

// Calls run(port) with ports until it does not throw (a port taken by
// someone else on one of the addresses); at most 20 tries.
template <class F>
void with_free_port(F run) {
  for (int tries = 0;; ++tries) {
    try {
      asio::io_context ioc;
      const std::uint16_t port = Reserved(ioc, "127.0.0.1", 0).port();
      return run(port);
    } catch (const std::system_error&) {
      if (tries >= 20) throw;
    }
  }
}

}  // namespace

// ---- cancellation --------------------------------------------------------

TEST_CASE("terminal, partial and total cancellation during the DNS lookup: aborted, fds back, no query after") {
  FakeDnsServer dns;
  const std::string name = "silent.heyes.test";
  heyes::dns::TestAnswer drop;
  drop.drop = true;
  dns->set(name, heyes::dns::RecordType::aaaa, drop);
  dns->set(name, heyes::dns::RecordType::a, drop);
  heyes::DialerOptions o = dialer_options(dns);
  o.resolver.try_timeout = 200ms;  // without the cancel: 2 more rounds of queries by 600 ms
  o.resolver.config.attempts = 3;
  const std::uint16_t port = heyes::test::closed_port();

  for (auto type : {asio::cancellation_type::terminal, asio::cancellation_type::partial,
                    asio::cancellation_type::total}) {
    CAPTURE(static_cast<int>(type));
    dns->clear_queries();
    heyes::Dialer dialer(o);
    asio::io_context ioc;
    {  // the reactor's own descriptors exist before the baseline
      asio::steady_timer warm(ioc, 1ms);
      warm.async_wait([](std::error_code) {});
      ioc.run();
      ioc.restart();
    }
    const std::size_t fds_before = open_fds();
    asio::cancellation_signal signal;
    std::optional<std::error_code> error;
    bool slot_had_handler = true;
    std::size_t fds_in_flight = 0;
    asio::steady_timer poll(ioc), after(ioc);
    dialer.async_dial_result(ioc.get_executor(), name, std::to_string(port), dial_options(),
                             asio::bind_cancellation_slot(signal.slot(), [&](std::error_code ec, heyes::DialResult r) {
                               error = ec;
                               slot_had_handler = signal.slot().has_handler();
                               CHECK_FALSE(r.socket.is_open());
                               CHECK(heyes::test::count_events(r.trace, heyes::event::dns_query) == 2);
                               // Keep the io_context running well past the resolver's retry
                               // time: a lookup left going would send its next round here.
                               after.expires_after(900ms);
                               after.async_wait([](std::error_code) {});
                             }));
    // Cancel once the server has both queries (AAAA and A), bounded to 5 s.
    int polls = 0;
    std::function<void()> wait_for_queries = [&] {
      poll.expires_after(5ms);
      poll.async_wait([&](std::error_code) {
        if (dns->queries().size() < 2 && ++polls < 1000) return wait_for_queries();
        fds_in_flight = open_fds();
        signal.emit(type);
      });
    };
    wait_for_queries();
    ioc.run_for(10s);
    REQUIRE(error);
    CHECK(*error == asio::error::operation_aborted);
    CHECK_FALSE(slot_had_handler);       // cleared before the handler ran
    CHECK(fds_in_flight > fds_before);   // the two query sockets were open
    CHECK(open_fds() == fds_before);     // and are closed, with the io_context still alive
    CHECK(dns->queries().size() == 2);   // nothing was sent after the cancel
    CHECK(dns->query_count(name, heyes::dns::RecordType::aaaa) == 1);
    CHECK(dns->query_count(name, heyes::dns::RecordType::a) == 1);
  }
}

TEST_CASE("partial and total cancellation of an attempt hanging on a black hole close its socket") {
  heyes::test::BlackholeListener hole("127.0.0.1");
  FakeDnsServer dns;
  heyes::Dialer dialer(dialer_options(dns));
  heyes::DialOptions opts = dial_options();
  opts.attempt_delay = 2s;
  for (auto type : {asio::cancellation_type::partial, asio::cancellation_type::total}) {
    CAPTURE(static_cast<int>(type));
    const std::size_t fds_before = open_fds();
    {
      asio::io_context ioc;
      asio::cancellation_signal signal;
      std::optional<std::error_code> error;
      bool slot_had_handler = true;
      std::optional<heyes::DialResult> result;
      dialer.async_dial_result(ioc.get_executor(), "127.0.0.1", std::to_string(hole.port()), opts,
                               asio::bind_cancellation_slot(signal.slot(), [&](std::error_code ec, heyes::DialResult r) {
                                 error = ec;
                                 slot_had_handler = signal.slot().has_handler();
                                 result.emplace(std::move(r));
                               }));
      asio::steady_timer timer(ioc, 100ms);
      std::size_t fds_mid = 0;
      timer.async_wait([&](std::error_code) {
        fds_mid = open_fds();
        signal.emit(type);
      });
      const auto t0 = std::chrono::steady_clock::now();
      ioc.run_for(10s);
      REQUIRE(error);
      CHECK(*error == asio::error::operation_aborted);
      CHECK_FALSE(slot_had_handler);
      CHECK(std::chrono::steady_clock::now() - t0 < 1500ms);  // not the attempt's end, nor a SYN timeout
      CHECK(fds_mid > fds_before);
      REQUIRE(result);
      CHECK(heyes::test::event_types(result->trace, {heyes::event::attempt_start, heyes::event::attempt_cancelled,
                                                     heyes::event::cancelled}) ==
            std::vector<std::string>{"attempt_start 127.0.0.1", "cancelled", "attempt_cancelled 127.0.0.1"});
    }
    CHECK(open_fds() == fds_before);
  }
}

// ---- each address with its own cause ---------------------------------------

TEST_CASE("failures: 127.0.0.1 refused and 127.0.0.2 black-holed, each with its own cause") {
  with_free_port([](std::uint16_t port) {
    asio::io_context ioc;
    Reserved refusing(ioc, "127.0.0.1", port);
    auto hole = heyes::testing::Listener::broken(ip("127.0.0.2"), port);
    FakeDnsServer dns;
    const std::string name = "two-ways.heyes.test";
    dns->add_host(name, {ip("127.0.0.1"), ip("127.0.0.2")});
    heyes::Dialer dialer(dialer_options(dns));
    heyes::DialOptions opts = dial_options();
    opts.attempt_delay = 100ms;

    SUBCASE("per-attempt timeout: all_attempts_failed, refused and attempt_timed_out") {
      opts.attempt_timeout = 300ms;
      auto d = dial(dialer, name, port, opts);
      CHECK(d.ec == heyes::errc::all_attempts_failed);
      REQUIRE(d.result->failures.size() == 2);
      REQUIRE(failure_of(*d.result, "127.0.0.1"));
      REQUIRE(failure_of(*d.result, "127.0.0.2"));
      CHECK(failure_of(*d.result, "127.0.0.1")->error == asio::error::connection_refused);
      CHECK(failure_of(*d.result, "127.0.0.2")->error == heyes::errc::attempt_timed_out);
    }
    SUBCASE("overall timeout: ec is timed_out and failures still lists both, each with its cause") {
      opts.timeout = 400ms;
      auto d = dial(dialer, name, port, opts);
      CHECK(d.ec == heyes::errc::timed_out);
      CHECK(d.result->elapsed >= 350ms);
      CHECK(d.result->elapsed < 10s);
      REQUIRE(d.result->failures.size() == 2);
      REQUIRE(failure_of(*d.result, "127.0.0.1"));
      REQUIRE(failure_of(*d.result, "127.0.0.2"));
      CHECK(failure_of(*d.result, "127.0.0.1")->error == asio::error::connection_refused);
      CHECK(failure_of(*d.result, "127.0.0.2")->error == heyes::errc::timed_out);
      // The throwing blocking form carries the same causes.
      asio::io_context caller;
      try {
        (void)dialer.dial(caller.get_executor(), name, std::to_string(port), opts);
        FAIL("the dial should have thrown");
      } catch (const heyes::DialError& e) {
        CHECK(e.code() == heyes::errc::timed_out);
        REQUIRE(e.failures().size() == 2);
        std::vector<std::error_code> causes;
        for (const auto& f : e.failures()) causes.push_back(f.error);
        CHECK(std::count(causes.begin(), causes.end(), std::error_code(asio::error::connection_refused)) == 1);
        CHECK(std::count(causes.begin(), causes.end(), heyes::make_error_code(heyes::errc::timed_out)) == 1);
      }
    }
  });
}

// ---- first family count and late answers, through a real dial ---------------

namespace {

// "v4"/"v6" of each attempt, in order.
std::vector<std::string> attempt_families(const heyes::Trace& trace) {
  std::vector<std::string> out;
  for (const auto& e : trace.events())
    if (e.type == heyes::event::attempt_start && e.address) out.push_back(e.address->is_v6() ? "v6" : "v4");
  return out;
}

}  // namespace

TEST_CASE("first_family_count 2 through a dial: two IPv4 addresses, then IPv6, then the rest" *
          doctest::test_suite(heyes::test::ipv6_loopback_suite)) {
  REQUIRE(heyes::testing::have_ipv6_loopback());
  with_free_port([](std::uint16_t port) {
    // Every address refuses, so each attempt follows the last at once.
    asio::io_context ioc;
    Reserved r1(ioc, "127.0.0.1", port), r2(ioc, "127.0.0.2", port), r3(ioc, "127.0.0.3", port),
        r6(ioc, "::1", port);
    FakeDnsServer dns;
    const std::string name = "count.heyes.test";
    dns->add_host(name, {ip("::1"), ip("127.0.0.1"), ip("127.0.0.2"), ip("127.0.0.3")});
    heyes::Dialer dialer(dialer_options(dns));
    heyes::DialOptions opts = dial_options();
    // IPv4 first (RFC 6724 section 10.3), so the count shows with one IPv6 address.
    opts.policy = std::make_shared<const heyes::PolicyTable>(
        heyes::parse_policy("precedence ::ffff:0:0/96 100\n", "gai.conf").value);
    opts.resolution_delay = 2s;  // both answers are sorted together, whichever comes first
    struct Row {
      int count;
      std::vector<std::string> families;
    };
    for (const Row& row : {Row{1, {"v4", "v6", "v4", "v4"}}, Row{2, {"v4", "v4", "v6", "v4"}},
                           Row{3, {"v4", "v4", "v4", "v6"}}}) {
      CAPTURE(row.count);
      opts.first_family_count = row.count;
      auto d = dial(dialer, name, port, opts);
      CHECK(d.ec == heyes::errc::all_attempts_failed);
      CHECK(attempt_families(d.result->trace) == row.families);
      CHECK(d.result->failures.size() == 4);
    }
  });
}

TEST_CASE("a late AAAA joins a running race: A first, IPv4 starts, ::1 arrives and is attempted next" *
          doctest::test_suite(heyes::test::ipv6_loopback_suite)) {
  REQUIRE(heyes::testing::have_ipv6_loopback());
  with_free_port([](std::uint16_t port) {
    auto hole1 = heyes::testing::Listener::broken(ip("127.0.0.1"), port);
    auto hole2 = heyes::testing::Listener::broken(ip("127.0.0.2"), port);
    auto working = heyes::testing::Listener::working(ip("::1"), port);
    FakeDnsServer dns;
    const std::string name = "late.heyes.test";
    dns->add_host(name, {ip("::1"), ip("127.0.0.1"), ip("127.0.0.2")});
    heyes::dns::TestAnswer late;
    late.records = {heyes::dns::Record::a(name, ip("::1"), 300)};
    late.delay = 300ms;  // beyond the Resolution Delay (50 ms), before the next attempt (1 s)
    dns->set(name, heyes::dns::RecordType::aaaa, late);
    heyes::Dialer dialer(dialer_options(dns));
    heyes::DialOptions opts = dial_options();
    opts.attempt_delay = 1s;
    opts.attempt_delay_policy = heyes::AttemptDelayPolicy::fixed();

    auto d = dial(dialer, name, port, opts);
    REQUIRE_MESSAGE(!d.ec, d.ec.message());
    CHECK(d.result->endpoint.address().to_string() == "::1");
    // 127.0.0.2 was next before the AAAA came; the late ::1 went ahead of it.
    CHECK(heyes::test::event_types(d.result->trace, {heyes::event::attempt_start, heyes::event::connected}) ==
          std::vector<std::string>{"attempt_start 127.0.0.1", "attempt_start ::1", "connected ::1"});
    // The timeline: the A answer, the wait, IPv4 started; then the AAAA answer, merged and sorted.
    std::vector<std::string> timeline;
    for (const auto& e : d.result->trace.events()) {
      if (e.type == heyes::event::dns_answer) timeline.push_back("dns_answer " + std::string(heyes::to_string(*e.family)));
      if (e.type == heyes::event::attempt_start) timeline.push_back("attempt_start " + e.address->to_string());
      if (e.type == heyes::event::sorted && e.detail.rfind("::1", 0) == 0) timeline.push_back("sorted ::1 first");
    }
    CHECK(timeline == std::vector<std::string>{"dns_answer ipv4", "attempt_start 127.0.0.1", "dns_answer ipv6",
                                               "sorted ::1 first", "attempt_start ::1"});
    CHECK(heyes::test::count_events(d.result->trace, heyes::event::resolution_delay) >= 1);
    CHECK(d.result->elapsed >= 900ms);  // ::1 waited for the attempt delay after 127.0.0.1
    CHECK(d.result->elapsed < 10s);
  });
}

// ---- the defaults of a Dialer's history -------------------------------------

TEST_CASE("a Dialer's default history: failures recent for 2 min, RTTs kept 10 min, 4096 destinations") {
  FakeDnsServer dns;
  heyes::Dialer dialer(dialer_options(dns));  // history_options left as they are
  heyes::race::History* h = dialer.history();
  REQUIRE(h != nullptr);
  const auto t = std::chrono::steady_clock::now();
  h->record_failure(ip("2001:db8:1::1"), t);
  CHECK(h->recently_failed(ip("2001:db8:1::1"), t + 2min - 1ms));
  CHECK_FALSE(h->recently_failed(ip("2001:db8:1::1"), t + 2min));
  h->record_success(ip("2001:db8:2::1"), 40ms, t);
  CHECK(h->smoothed_rtt(ip("2001:db8:2::1"), t + 10min - 1ms) == heyes::Duration(40ms));
  CHECK_FALSE(h->smoothed_rtt(ip("2001:db8:2::1"), t + 10min));
  CHECK_FALSE(h->rtt_evidence(ip("2001:db8:2::1"), t + 10min));

  h->clear();
  const IpAddress first = ip("2001:db8:100::1");
  h->record_success(first, 10ms, t);
  for (std::uint32_t k = 1; k < 4096; ++k)
    h->record_success(IpAddress::v4(0xC6120000u + k), 10ms, t);  // 198.18.0.0/15
  CHECK(h->size() == 4096);
  CHECK(h->smoothed_rtt(first, t + 1s));  // still held: exactly the bound
  h->record_success(IpAddress::v4(0xC6120000u + 4096), 10ms, t);
  CHECK(h->size() == 4096);
  CHECK_FALSE(h->smoothed_rtt(first, t + 1s));  // the least recently used went
}

// ---- usable families decided again after a failed dial ------------------------

namespace {

// An IPv4-only host that counts how often it is asked.
class CountingProbe final : public heyes::ConnectivityProbe {
 public:
  std::vector<heyes::InterfaceAddress> interface_addresses() override {
    ++calls;
    return {{"lo", ip("127.0.0.1")}, {"eth0", ip("192.0.2.2")}};
  }
  std::error_code route_to(const IpAddress& destination) override {
    if (destination.is_v6()) return std::make_error_code(std::errc::network_unreachable);
    return {};
  }
  std::atomic<int> calls{0};
};

}  // namespace

TEST_CASE("usable families: cached across dials, decided again after a failed dial, not after a cancelled one") {
  auto working = heyes::testing::Listener::working(ip("127.0.0.1"));
  const std::uint16_t refused = heyes::test::closed_port();
  FakeDnsServer dns;
  const std::string name = "probe.heyes.test";
  dns->add_host(name, {ip("127.0.0.1")});
  heyes::DialerOptions o = dialer_options(dns);
  auto probe = std::make_shared<CountingProbe>();
  o.connectivity_probe = probe;
  heyes::Dialer dialer(o);
  heyes::DialOptions opts = dial_options();
  opts.addrconfig = true;

  auto ok = dial(dialer, name, working.port(), opts);
  REQUIRE_MESSAGE(!ok.ec, ok.ec.message());
  CHECK(probe->calls == 1);
  CHECK(!dial(dialer, name, working.port(), opts).ec);
  CHECK(probe->calls == 1);  // within the 5 s expiry: the cached answer

  auto failed = dial(dialer, name, refused, opts);
  CHECK(failed.ec == heyes::errc::all_attempts_failed);
  CHECK(probe->calls == 1);  // that dial still used the cached answer...
  CHECK(!dial(dialer, name, working.port(), opts).ec);
  CHECK(probe->calls == 2);  // ...and the next one decided again
  CHECK(!dial(dialer, name, working.port(), opts).ec);
  CHECK(probe->calls == 2);

  // A dial the caller cancelled says nothing about the host's interfaces.
  {
    auto hole = heyes::test::BlackholeListener("127.0.0.1");
    dns->add_host("hole.heyes.test", {ip("127.0.0.1")});
    asio::io_context ioc;
    asio::cancellation_signal signal;
    std::optional<std::error_code> error;
    dialer.async_dial_result(ioc.get_executor(), "hole.heyes.test", std::to_string(hole.port()), opts,
                             asio::bind_cancellation_slot(signal.slot(), [&](std::error_code ec, heyes::DialResult) {
                               error = ec;
                             }));
    asio::steady_timer timer(ioc, 100ms);
    timer.async_wait([&](std::error_code) { signal.emit(asio::cancellation_type::terminal); });
    ioc.run_for(10s);
    REQUIRE(error);
    CHECK(*error == asio::error::operation_aborted);
  }
  CHECK(!dial(dialer, name, working.port(), opts).ec);
  CHECK(probe->calls == 2);
}
