// SPDX-License-Identifier: MIT
// Connection history: smoothed RTT, failures with expiry, LRU bound, and its effect on the next race.
#include <doctest/doctest.h>

#include <thread>

#include "timeline.hpp"

using namespace heyes;
using namespace heyes::race;
using namespace heyes::race::test;

namespace {
constexpr TimePoint T = Timeline::kEpoch;
void black_hole_ipv6(History& h);
}

TEST_CASE("History: smoothed RTT follows RFC 6298 with alpha 1/8") {
  History h;
  CHECK_FALSE(h.smoothed_rtt(ip("2001:db8::1"), T));
  h.record_success(ip("2001:db8::1"), 100ms, T);
  CHECK(h.smoothed_rtt(ip("2001:db8::1"), T) == Duration(100ms));
  h.record_success(ip("2001:db8::1"), 200ms, T + 1s);
  CHECK(h.smoothed_rtt(ip("2001:db8::1"), T + 1s) == Duration(112500us));  // 7/8 x 100 + 1/8 x 200
  CHECK_FALSE(h.smoothed_rtt(ip("192.0.2.1"), T));
}

TEST_CASE("History: failures and RTTs expire") {
  History::Options o;
  o.failure_expiry = 2min;
  o.rtt_expiry = 10min;
  History h(o);
  h.record_failure(ip("192.0.2.1"), T);
  CHECK(h.recently_failed(ip("192.0.2.1"), T + 119s));
  CHECK_FALSE(h.recently_failed(ip("192.0.2.1"), T + 120s));
  h.record_success(ip("2001:db8::1"), 40ms, T);
  CHECK(h.smoothed_rtt(ip("2001:db8::1"), T + 9min));
  CHECK_FALSE(h.smoothed_rtt(ip("2001:db8::1"), T + 10min));
  // An expired RTT is not smoothed into: the next measurement starts afresh.
  h.record_success(ip("2001:db8::1"), 80ms, T + 11min);
  CHECK(h.smoothed_rtt(ip("2001:db8::1"), T + 11min) == Duration(80ms));
}

TEST_CASE("History: a success clears a recent failure") {
  History h;
  h.record_failure(ip("192.0.2.1"), T);
  h.record_success(ip("192.0.2.1"), 5ms, T + 1s);
  CHECK_FALSE(h.recently_failed(ip("192.0.2.1"), T + 1s));
}

TEST_CASE("History: at most max_entries destinations, the least recently used go first") {
  History::Options o;
  o.max_entries = 2;
  History h(o);
  h.record_failure(ip("192.0.2.1"), T);
  h.record_failure(ip("192.0.2.2"), T);
  h.record_success(ip("192.0.2.1"), 1ms, T);  // 192.0.2.1 is now the most recent
  h.record_failure(ip("192.0.2.3"), T);       // evicts 192.0.2.2
  CHECK(h.size() == 2);
  CHECK(h.smoothed_rtt(ip("192.0.2.1"), T));
  CHECK_FALSE(h.recently_failed(ip("192.0.2.2"), T));
  CHECK(h.recently_failed(ip("192.0.2.3"), T));
  h.clear();
  CHECK(h.size() == 0);
}

TEST_CASE("History::compare: not failed first, then lower RTT, then known RTT before unknown") {
  History h;
  auto fast = ip("2001:db8::1"), slow = ip("2001:db8::2"), unknown = ip("2001:db8::3"), failed = ip("192.0.2.1");
  h.record_success(fast, 10ms, T);
  h.record_success(slow, 90ms, T);
  h.record_failure(failed, T);
  CHECK(h.compare(fast, slow, T) < 0);
  CHECK(h.compare(slow, fast, T) > 0);
  CHECK(h.compare(slow, unknown, T) < 0);
  CHECK(h.compare(unknown, failed, T) < 0);
  CHECK(h.compare(failed, unknown, T) > 0);
  CHECK(h.compare(unknown, ip("2001:db8::4"), T) == 0);
  CHECK(h.compare(fast, fast, T) == 0);
  // Once the failure has expired it is an unknown address again.
  CHECK(h.compare(failed, unknown, T + 1h) == 0);
}

TEST_CASE("History is safe to share between threads") {
  History::Options o;
  o.max_entries = 64;
  History h(o);
  std::vector<std::thread> threads;
  for (std::uint32_t k = 0; k < 4; ++k)
    threads.emplace_back([&h, k] {
      for (std::uint32_t i = 0; i < 2000; ++i) {
        auto a = IpAddress::v4(0xC0000200u + (i + k) % 200);  // 192.0.2.x
        if (i % 3 == 0) h.record_failure(a, T);
        else h.record_success(a, std::chrono::milliseconds(i % 50), T);
        (void)h.compare(a, IpAddress::v4(0xC0000201u), T);
      }
    });
  for (auto& t : threads) t.join();
  CHECK(h.size() == 64);
}

namespace {
// The first dial: IPv6 hangs (black-holed), IPv4 connects after the delay.
void black_hole_ipv6(History& h) {
  Timeline t({}, &h, history_orderer(h, T), T);
  t.answer_aaaa({"2001:db8::1"});
  t.answer_a({"192.0.2.1"});
  t.advance_to(260);
  t.connect(t.attempt("192.0.2.1"));  // IPv6 hung for 260 ms, more than one delay
  REQUIRE(t.finish);
}
}  // namespace

TEST_CASE("A black-holed IPv6 is remembered as failed, and the next race tries it last") {
  History h;
  black_hole_ipv6(h);
  CHECK(h.recently_failed(ip("2001:db8::1"), T + 1s));
  CHECK(h.smoothed_rtt(ip("192.0.2.1"), T + 1s) == Duration(10ms));
  // One second later, the same name from the cache: IPv4 first, connected in about one RTT.
  Timeline t({}, &h, history_orderer(h, T + 1s), T + 1s);
  t.answer_both({"2001:db8::1"}, {"192.0.2.1"});
  CHECK(t.start_order() == std::vector<std::string>{"192.0.2.1"});
  CHECK(t.started_at("192.0.2.1") == 0);
  // The delay after it follows its RTT: 2 x 10 ms, raised to the 100 ms floor.
  CHECK(t.timer_ms() == 100);
  t.advance_to(10);
  t.connect(t.attempt("192.0.2.1"));
  REQUIRE(t.finish);
  CHECK(t.finish_ms == 10);
  CHECK_FALSE(t.started_at("2001:db8::1"));
}

TEST_CASE("AAAA first but every IPv6 address failed recently: wait the Resolution Delay for A") {
  History h;
  black_hole_ipv6(h);
  SUBCASE("A at 5 ms: IPv4 starts at 5 ms") {
    Timeline t({}, &h, history_orderer(h, T + 1s), T + 1s);
    t.answer_aaaa({"2001:db8::1"});
    CHECK(t.starts.empty());
    CHECK(t.timer_ms() == 50);
    t.advance_to(5);
    t.answer_a({"192.0.2.1"});
    CHECK(t.start_order() == std::vector<std::string>{"192.0.2.1"});
    CHECK(t.started_at("192.0.2.1") == 5);
  }
  SUBCASE("no A in time: IPv6 starts at 50 ms anyway") {
    Timeline t({}, &h, history_orderer(h, T + 1s), T + 1s);
    t.answer_aaaa({"2001:db8::1"});
    t.advance_to(60);
    CHECK(t.started_at("2001:db8::1") == 50);
  }
  SUBCASE("after the failure expired, AAAA starts at once again") {
    Timeline t({}, &h, history_orderer(h, T + 1h), T + 1h);
    t.answer_aaaa({"2001:db8::1"});
    CHECK(t.started_at("2001:db8::1") == 0);
  }
}

TEST_CASE("An attempt that loses before its delay is over is not counted as failed") {
  History h;
  Timeline t({}, &h, interleave_v6_first, T);
  t.answer_aaaa({"2001:db8::1"});
  t.answer_a({"192.0.2.1"});
  t.advance_to(300);
  t.connect(t.attempt("2001:db8::1"));
  CHECK(t.was_cancelled(t.attempt("192.0.2.1")));
  CHECK_FALSE(h.recently_failed(ip("192.0.2.1"), T + 300ms));
  CHECK(h.smoothed_rtt(ip("2001:db8::1"), T + 300ms) == Duration(300ms));
}

TEST_CASE("A refused attempt is recorded as failed in the history") {
  History h;
  Timeline t({}, &h, interleave_v6_first, T);
  t.answer_aaaa({"2001:db8::1"});
  t.advance_to(2);
  t.refuse(t.attempt("2001:db8::1"));
  CHECK(h.recently_failed(ip("2001:db8::1"), T + 2ms));
}

TEST_CASE("Attempt delay from history: the path's RTO (SRTT + 4 RTTVAR), clamped to [100 ms, 2 s]") {
  struct Row {
    long long rtt_ms;
    AttemptDelayPolicy policy;
    long long delay_ms;
  };
  // One sample R: SRTT = R, RTTVAR = R / 2, so RTO = 3 R (RFC 6298 section 2.2).
  // RTT of the first address -> policy -> when the second starts
  for (Row r : {Row{300, AttemptDelayPolicy::rtt(), 900}, Row{30, AttemptDelayPolicy::rtt(), 100},
                Row{1500, AttemptDelayPolicy::rtt(), 2000}, Row{300, AttemptDelayPolicy::fixed(), 250}}) {
    CAPTURE(r.rtt_ms);
    History h;
    h.record_success(ip("2001:db8::1"), milliseconds(r.rtt_ms), T);
    Config c;
    c.attempt_delay_policy = r.policy;
    Timeline t(c, &h, interleave_v6_first, T);
    t.answer_aaaa({"2001:db8::1"});
    t.answer_a({"192.0.2.1"});
    t.advance_to(3000);
    CHECK(t.started_at("192.0.2.1") == r.delay_ms);
  }
}

TEST_CASE("No history: the configured delay, and nothing recorded anywhere") {
  Timeline t;
  t.answer_aaaa({"2001:db8::1"});
  t.answer_a({"192.0.2.1"});
  t.advance_to(250);
  CHECK(t.started_at("192.0.2.1") == 250);
}
