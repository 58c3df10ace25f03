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

TEST_CASE("History: a recent failure condemns the untried neighbours in its /64 or /24, not those that worked") {
  History h;
  h.record_success(ip("2001:db8::a"), 10ms, T);
  h.record_failure(ip("2001:db8::bad:1"), T + 1s);
  CHECK(h.recently_failed(ip("2001:db8::bad:1"), T + 2s));
  CHECK(h.recently_failed(ip("2001:db8::bad:2"), T + 2s));      // same /64, never tried
  CHECK_FALSE(h.recently_failed(ip("2001:db8::a"), T + 2s));     // its own success stands
  CHECK_FALSE(h.recently_failed(ip("2001:db8:0:1::1"), T + 2s));  // another /64
  CHECK_FALSE(h.recently_failed(ip("2001:db8::bad:2"), T + 1s + 2min));  // expired with the failure
  h.record_success(ip("2001:db8::b"), 10ms, T + 3s);            // the network works again
  CHECK_FALSE(h.recently_failed(ip("2001:db8::bad:2"), T + 4s));
  CHECK(h.recently_failed(ip("2001:db8::bad:1"), T + 4s));
  h.record_failure(ip("192.0.2.1"), T);
  CHECK(h.recently_failed(ip("192.0.2.77"), T + 1s));
  CHECK_FALSE(h.recently_failed(ip("192.0.3.1"), T + 1s));
}

TEST_CASE("History: at most max_entries destinations, the least recently used go first") {
  History::Options o;
  o.max_entries = 2;
  History h(o);
  h.record_failure(ip("192.0.2.1"), T);
  h.record_failure(ip("198.51.100.2"), T);
  h.record_success(ip("192.0.2.1"), 1ms, T);  // 192.0.2.1 is now the most recent
  h.record_failure(ip("203.0.113.3"), T);       // evicts 198.51.100.2
  CHECK(h.size() == 2);
  CHECK(h.smoothed_rtt(ip("192.0.2.1"), T));
  CHECK_FALSE(h.recently_failed(ip("198.51.100.2"), T));
  CHECK(h.recently_failed(ip("203.0.113.3"), T));
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

TEST_CASE("History: RTTVAR and RTO follow RFC 6298 (beta 1/4, first RTTVAR = R/2, RTO = SRTT + max(G, 4 x RTTVAR))") {
  History h;
  auto a = ip("2001:db8::1");
  CHECK_FALSE(h.rtt_evidence(a, T));
  h.record_success(a, 100ms, T);
  auto e = h.rtt_evidence(a, T);
  REQUIRE(e);
  CHECK(e->srtt == Duration(100ms));
  CHECK(e->rttvar == Duration(50ms));
  CHECK(e->rto == Duration(300ms));  // 100 + 4 x 50
  CHECK(e->samples == 1);
  CHECK_FALSE(e->network);
  CHECK(e->prefix == a);
  CHECK(e->prefix_length == 128);
  // R' = 200: RTTVAR = 3/4 x 50 + 1/4 x |100 - 200| = 62.5; SRTT = 112.5 (RTTVAR first, with the old SRTT).
  h.record_success(a, 200ms, T + 1s);
  e = h.rtt_evidence(a, T + 1s);
  REQUIRE(e);
  CHECK(e->srtt == Duration(112500us));
  CHECK(e->rttvar == Duration(62500us));
  CHECK(e->rto == Duration(362500us));
  CHECK(e->samples == 2);
  // R' = SRTT: RTTVAR shrinks by a quarter, SRTT stays.
  h.record_success(a, 112500us, T + 2s);
  e = h.rtt_evidence(a, T + 2s);
  REQUIRE(e);
  CHECK(e->srtt == Duration(112500us));
  CHECK(e->rttvar == Duration(46875us));
  CHECK(e->rto == Duration(300ms));
  CHECK(e->samples == 3);
  CHECK(h.smoothed_rtt(a, T + 2s) == Duration(112500us));
}

TEST_CASE("History: the RTO is at least SRTT + G (1 ms), and not clamped otherwise") {
  History h;
  h.record_success(ip("192.0.2.1"), 1us, T);
  auto e = h.rtt_evidence(ip("192.0.2.1"), T);
  REQUIRE(e);
  CHECK(e->rttvar == Duration(500ns));
  CHECK(e->rto == Duration(1001us));  // 4 x 500 ns < G
  CHECK(e->prefix_length == 32);
  h.record_success(ip("192.0.2.2"), 5s, T);
  CHECK(h.rtt_evidence(ip("192.0.2.2"), T)->rto == Duration(15s));  // 5 + 4 x 2.5, above the race's 2 s cap
}

TEST_CASE("History: an expired RTT starts afresh, samples and RTTVAR too") {
  History h;
  h.record_success(ip("2001:db8::1"), 100ms, T);
  h.record_success(ip("2001:db8::1"), 200ms, T + 1s);
  CHECK(h.rtt_evidence(ip("2001:db8::1"), T + 1s + 9min));
  CHECK_FALSE(h.rtt_evidence(ip("2001:db8::1"), T + 1s + 10min));
  h.record_success(ip("2001:db8::1"), 80ms, T + 1h);
  auto e = h.rtt_evidence(ip("2001:db8::1"), T + 1h);
  REQUIRE(e);
  CHECK(e->samples == 1);
  CHECK(e->srtt == Duration(80ms));
  CHECK(e->rttvar == Duration(40ms));
}

TEST_CASE("History: a connection to the same /64 is evidence for the path; another /64 gets nothing") {
  History h;
  h.record_success(ip("2001:db8:1:2::10"), 40ms, T);
  auto e = h.rtt_evidence(ip("2001:db8:1:2:aaaa::99"), T + 1s);
  REQUIRE(e);
  CHECK(e->network);
  CHECK(e->prefix == ip("2001:db8:1:2::"));
  CHECK(e->prefix_length == 64);
  CHECK(e->srtt == Duration(40ms));
  CHECK(e->rttvar == Duration(20ms));
  CHECK(e->rto == Duration(120ms));
  CHECK(e->samples == 1);
  CHECK_FALSE(h.rtt_evidence(ip("2001:db8:1:3::10"), T + 1s));
  CHECK_FALSE(h.rtt_evidence(ip("192.0.2.1"), T + 1s));
  // Network evidence does not make the address known to the sorting rule.
  CHECK_FALSE(h.smoothed_rtt(ip("2001:db8:1:2:aaaa::99"), T + 1s));
  CHECK(h.size() == 1);
}

TEST_CASE("History: IPv4 networks are /24; every address of the network adds to its samples") {
  History h;
  h.record_success(ip("192.0.2.1"), 100ms, T);
  h.record_success(ip("192.0.2.2"), 200ms, T + 1s);
  auto net = h.rtt_evidence(ip("192.0.2.77"), T + 1s);
  REQUIRE(net);
  CHECK(net->network);
  CHECK(net->prefix == ip("192.0.2.0"));
  CHECK(net->prefix_length == 24);
  CHECK(net->samples == 2);
  CHECK(net->srtt == Duration(112500us));
  CHECK(net->rttvar == Duration(62500us));
  // The destination's own evidence wins over its network's.
  auto own = h.rtt_evidence(ip("192.0.2.2"), T + 1s);
  REQUIRE(own);
  CHECK_FALSE(own->network);
  CHECK(own->srtt == Duration(200ms));
  CHECK(own->samples == 1);
  CHECK_FALSE(h.rtt_evidence(ip("192.0.3.1"), T + 1s));
  CHECK_FALSE(h.rtt_evidence(ip("2001:db8::1"), T + 1s));
}

TEST_CASE("History: when the destination's RTT expired, its fresher network answers; failures are no RTT evidence") {
  History h;
  h.record_success(ip("192.0.2.1"), 100ms, T);
  h.record_success(ip("192.0.2.2"), 30ms, T + 10min);  // the network's first sample had expired
  auto e = h.rtt_evidence(ip("192.0.2.1"), T + 11min);
  REQUIRE(e);
  CHECK(e->network);
  CHECK(e->samples == 1);
  CHECK(e->srtt == Duration(30ms));
  CHECK_FALSE(h.rtt_evidence(ip("192.0.2.1"), T + 20min));
  h.record_failure(ip("198.51.100.1"), T);
  CHECK_FALSE(h.rtt_evidence(ip("198.51.100.1"), T));
  CHECK_FALSE(h.rtt_evidence(ip("198.51.100.2"), T));
}

TEST_CASE("History: networks are bounded by max_entries too, least recently used first") {
  History::Options o;
  o.max_entries = 2;
  History h(o);
  h.record_success(ip("192.0.2.1"), 10ms, T);
  h.record_success(ip("198.51.100.1"), 20ms, T);
  h.record_success(ip("203.0.113.1"), 30ms, T);  // evicts 192.0.2.0/24 and 192.0.2.1
  CHECK_FALSE(h.rtt_evidence(ip("192.0.2.9"), T));
  CHECK(h.rtt_evidence(ip("198.51.100.9"), T));
  CHECK(h.rtt_evidence(ip("203.0.113.9"), T));
}

TEST_CASE("History::apply: a batch of updates as the race emits them, one observer call per batch") {
  History h;
  int observed = 0;
  h.set_observer([&] { ++observed; });
  std::vector<History::Update> updates{
      {ip("2001:db8::1"), History::Update::failure, {}, T},
      {ip("192.0.2.1"), History::Update::success, 25ms, T},
  };
  h.apply(updates);
  CHECK(observed == 1);
  CHECK(h.recently_failed(ip("2001:db8::1"), T));
  CHECK(h.smoothed_rtt(ip("192.0.2.1"), T) == Duration(25ms));
  h.apply({ip("192.0.2.1"), History::Update::success, -5ms, T + 1s});  // a negative RTT counts as 0
  CHECK(observed == 2);
  CHECK(h.rtt_evidence(ip("192.0.2.1"), T + 1s)->srtt == Duration(25ms) - Duration(25ms) / 8);
  h.set_observer(nullptr);
  h.record_failure(ip("192.0.2.9"), T);
  CHECK(observed == 2);
}

TEST_CASE("History::records and merge: fresh parts only, the newer entry wins, order follows age") {
  History h;
  h.record_success(ip("192.0.2.1"), 10ms, T);
  h.record_failure(ip("192.0.2.2"), T + 1min);
  h.record_success(ip("192.0.2.3"), 30ms, T + 10s);
  h.record_failure(ip("192.0.2.3"), T + 1min);  // RTT and failure
  auto r = h.records(T + 2min);
  REQUIRE(r.size() == 3);
  CHECK(r[0].destination == ip("192.0.2.3"));  // most recently used first
  CHECK(r[0].srtt == Duration(30ms));
  CHECK(r[0].failed_at == T + 1min);
  CHECK(h.records(T + 3min).size() == 2);  // the failure of 192.0.2.2 expired; .3 keeps its RTT
  CHECK(h.records(T + 11min).empty());

  History other;
  other.record_success(ip("192.0.2.1"), 99ms, T + 30s);  // newer than h's: kept
  other.record_success(ip("192.0.2.3"), 99ms, T + 2min);  // newer: kept
  other.merge(r);
  CHECK(other.smoothed_rtt(ip("192.0.2.1"), T + 2min) == Duration(99ms));
  CHECK(other.smoothed_rtt(ip("192.0.2.3"), T + 2min) == Duration(99ms));
  CHECK(other.recently_failed(ip("192.0.2.2"), T + 2min));
  CHECK(other.size() == 3);
  // A merged RTT brings its network evidence when the network knows nothing newer.
  History empty;
  empty.merge(r);
  auto e = empty.rtt_evidence(ip("192.0.2.200"), T + 2min);
  REQUIRE(e);
  CHECK(e->network);
  CHECK(e->srtt == Duration(30ms));
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

TEST_CASE("History: a failure merged from another history (a history file) condemns its /64 too") {
  History earlier;
  earlier.record_failure(ip("2001:db8::bad:1"), T);
  History later;
  auto records = earlier.records(T);
  later.merge(records);
  CHECK(later.recently_failed(ip("2001:db8::bad:2"), T + 1s));
  History working;  // a newer success in the /64 wins over the older failure
  working.record_success(ip("2001:db8::a"), 5ms, T + 1s);
  auto newer = working.records(T + 1s);
  later.merge(newer);
  CHECK_FALSE(later.recently_failed(ip("2001:db8::bad:2"), T + 2s));
  CHECK(later.recently_failed(ip("2001:db8::bad:1"), T + 2s));
}

TEST_CASE("History: failures up to a network change are stale (no longer reorder); RTTs and later failures count") {
  History h;
  h.record_failure(ip("2001:db8::1"), T);
  h.record_success(ip("192.0.2.1"), 30ms, T);
  h.record_success(ip("192.0.2.2"), 10ms, T);
  CHECK(h.recently_failed(ip("2001:db8::1"), T + 1s));
  CHECK(h.recently_failed(ip("2001:db8::2"), T + 1s));  // its /64 failed
  h.mark_stale(T + 2s);
  CHECK_FALSE(h.recently_failed(ip("2001:db8::1"), T + 3s));
  CHECK_FALSE(h.recently_failed(ip("2001:db8::2"), T + 3s));
  CHECK(h.compare(ip("2001:db8::1"), ip("2001:db8::3"), T + 3s) == 0);
  CHECK(h.compare(ip("192.0.2.2"), ip("192.0.2.1"), T + 3s) < 0);  // the RTT rule still orders
  h.record_failure(ip("2001:db8::1"), T + 4s);
  CHECK(h.recently_failed(ip("2001:db8::1"), T + 5s));
  CHECK(h.recently_failed(ip("2001:db8::3"), T + 5s));  // and its /64 again
  CHECK(h.compare(ip("2001:db8::1"), ip("2001:db8:1::3"), T + 5s) > 0);
}
