// SPDX-License-Identifier: MIT
// RFC 8305 race timelines on a virtual clock: sections 3, 4 and 5, endings, timeout, cancellation.
#include <doctest/doctest.h>

#include <algorithm>

#include "heyes/select/policy.hpp"
#include "timeline.hpp"

using namespace heyes;
using namespace heyes::race;
using namespace heyes::race::test;

// ------------------------------------------------------------ RFC 8305 section 3

TEST_CASE("AAAA first: sort and start at once") {
  Timeline t;
  t.advance_to(5);
  t.answer_aaaa({"2001:db8::1", "2001:db8::2"});
  REQUIRE(t.starts.size() == 1);
  CHECK(t.starts[0].at_ms == 5);
  CHECK(t.starts[0].address == ip("2001:db8::1"));
  CHECK(t.timer_ms() == 255);
  t.advance_to(20);
  t.answer_a({"192.0.2.1"});
  CHECK(t.starts.size() == 1);  // a late answer waits its turn
  t.advance_to(1000);
  CHECK(t.start_order() == std::vector<std::string>{"2001:db8::1", "192.0.2.1", "2001:db8::2"});
  CHECK(t.started_at("192.0.2.1") == 255);
  CHECK(t.started_at("2001:db8::2") == 505);
  CHECK_FALSE(t.finish);
}

TEST_CASE("A first, AAAA at 30 ms: both sorted together, first attempt at 30 ms") {
  Timeline t;
  t.answer_a({"192.0.2.1"});
  CHECK(t.starts.empty());
  CHECK(t.timer_ms() == 50);  // the Resolution Delay
  t.advance_to(30);
  t.answer_aaaa({"2001:db8::1"});
  REQUIRE(t.starts.size() == 1);
  CHECK(t.starts[0].at_ms == 30);
  CHECK(t.starts[0].address == ip("2001:db8::1"));
  t.advance_to(280);
  CHECK(t.started_at("192.0.2.1") == 280);
}

TEST_CASE("A first, AAAA at 80 ms: IPv4 starts at 50 ms, IPv6 is merged and goes next") {
  Timeline t;
  t.answer_a({"192.0.2.1", "198.51.100.1"});
  t.advance_to(80);
  REQUIRE(t.starts.size() == 1);
  CHECK(t.started_at("192.0.2.1") == 50);
  t.answer_aaaa({"2001:db8::1"});
  CHECK(t.starts.size() == 1);  // started attempts go on; the next waits for the delay
  t.advance_to(600);
  CHECK(t.start_order() == std::vector<std::string>{"192.0.2.1", "2001:db8::1", "198.51.100.1"});
  CHECK(t.started_at("2001:db8::1") == 300);
  CHECK(t.started_at("198.51.100.1") == 550);
  CHECK(t.cancels.empty());
}

TEST_CASE("A negative or failed AAAA after A stops the Resolution Delay at once") {
  SUBCASE("NXDOMAIN") {
    Timeline t;
    t.advance_to(10);
    t.answer_a({"192.0.2.1"});
    t.advance_to(20);
    t.fail_aaaa(errc::host_not_found);
    REQUIRE(t.starts.size() == 1);
    CHECK(t.starts[0].at_ms == 20);
    CHECK(t.race.dns_error(Family::v6) == errc::host_not_found);
  }
  SUBCASE("NODATA as an empty answer") {
    Timeline t;
    t.answer_a({"192.0.2.1"});
    t.advance_to(5);
    t.answer_aaaa({});
    REQUIRE(t.starts.size() == 1);
    CHECK(t.starts[0].at_ms == 5);
  }
}

TEST_CASE("AAAA that fails first leaves the race waiting for A, without the Resolution Delay") {
  Timeline t;
  t.fail_aaaa(errc::dns_server_failure);
  CHECK(t.starts.empty());
  CHECK_FALSE(t.finish);
  t.advance_to(400);
  t.answer_a({"192.0.2.1"});
  REQUIRE(t.starts.size() == 1);
  CHECK(t.starts[0].at_ms == 400);
}

TEST_CASE("An empty A answer first starts no Resolution Delay") {
  Timeline t;
  t.answer_a({});
  CHECK_FALSE(t.timer_ms());
  t.advance_to(70);
  t.answer_aaaa({"2001:db8::1"});
  CHECK(t.started_at("2001:db8::1") == 70);
}

// ------------------------------------------------------------ RFC 8305 section 4

TEST_CASE("A late IPv4 answer goes next, ahead of the remaining IPv6") {
  Timeline t;
  t.answer_aaaa({"2001:db8::1", "2001:db8::2", "2001:db8::3"});
  t.advance_to(10);
  t.answer_a({"192.0.2.1", "192.0.2.2"});
  t.advance_to(1000);
  CHECK(t.start_order() ==
        std::vector<std::string>{"2001:db8::1", "192.0.2.1", "2001:db8::2", "192.0.2.2", "2001:db8::3"});
  // The order after the merge is in the trace.
  bool merged = false;
  for (auto& e : t.trace.events())
    if (e.type == event::sorted && e.detail == "192.0.2.1 2001:db8::2 192.0.2.2 2001:db8::3") merged = true;
  CHECK(merged);
}

TEST_CASE("Addresses repeated in an answer, or already tried, are attempted once") {
  Timeline t;
  t.answer_aaaa({"2001:db8::1", "2001:db8::1"});
  t.answer_a({"192.0.2.1"});
  t.answer_aaaa({"2001:db8::1", "2001:db8::2"});  // a second AAAA event (say, from another server)
  t.advance_to(2000);
  CHECK(t.start_order() == std::vector<std::string>{"2001:db8::1", "192.0.2.1", "2001:db8::2"});
}

// ------------------------------------------------------------ RFC 8305 section 5

TEST_CASE("First attempt refused at 10 ms: the second starts at 10 ms, not 250 ms") {
  Timeline t;
  t.answer_aaaa({"2001:db8::1"});
  t.answer_a({"192.0.2.1"});
  t.advance_to(10);
  t.refuse(t.attempt("2001:db8::1"));
  CHECK(t.started_at("192.0.2.1") == 10);
  t.advance_to(30);
  t.connect(t.attempt("192.0.2.1"));
  REQUIRE(t.finish);
  CHECK(t.finish->winner == t.attempt("192.0.2.1"));
  CHECK_FALSE(t.finish->error);
  CHECK(t.finish_ms == 30);
}

TEST_CASE("A hanging first attempt: the second starts at 250 ms and the first goes on until a winner") {
  Timeline t;
  t.answer_aaaa({"2001:db8::1", "2001:db8::2"});
  t.answer_a({"192.0.2.1"});
  t.advance_to(249);
  CHECK(t.starts.size() == 1);
  t.advance_to(250);
  CHECK(t.started_at("192.0.2.1") == 250);
  CHECK(t.cancels.empty());  // never aborted at the delay
  t.advance_to(500);
  CHECK(t.started_at("2001:db8::2") == 500);
  CHECK(t.cancels.empty());
  t.advance_to(520);
  t.connect(t.attempt("192.0.2.1"));
  // The winner cancels every other pending attempt at once.
  REQUIRE(t.cancels.size() == 2);
  CHECK(t.cancels[0] == std::pair<long long, AttemptId>{520, t.attempt("2001:db8::1")});
  CHECK(t.cancels[1] == std::pair<long long, AttemptId>{520, t.attempt("2001:db8::2")});
  REQUIRE(t.finish);
  CHECK(t.finish->winner == t.attempt("192.0.2.1"));
  CHECK(t.race.finished());
  CHECK(t.race.failures().empty());
  // Late results for losers are ignored: driven directly (the Timeline
  // would take the actions itself), the race has nothing to do.
  t.race.on_connected(t.now(), t.attempt("2001:db8::1"));
  t.race.on_failed(t.now(), t.attempt("2001:db8::2"), std::make_error_code(std::errc::connection_refused));
  CHECK(t.race.take_actions(t.now()).empty());
}

TEST_CASE("The attempt that fails need not be the latest: a failure of any attempt starts the next at once") {
  Timeline t;
  t.answer_aaaa({"2001:db8::1", "2001:db8::2"});
  t.answer_a({"192.0.2.1"});
  t.advance_to(300);  // attempts 1 (0 ms) and 2 (250 ms) pending
  t.refuse(t.attempt("2001:db8::1"));
  CHECK(t.started_at("2001:db8::2") == 300);
  CHECK(t.start_order() == std::vector<std::string>{"2001:db8::1", "192.0.2.1", "2001:db8::2"});
}

TEST_CASE("max_in_flight: at the cap, the oldest attempt is abandoned so the next starts on schedule") {
  Config c;
  c.max_in_flight = 2;
  Timeline t(c);
  t.answer_aaaa({"2001:db8::1", "2001:db8::2"});
  t.answer_a({"192.0.2.1", "192.0.2.2"});
  t.advance_to(250);
  CHECK(t.starts.size() == 2);
  t.advance_to(500);  // the third is due with two pending: the oldest makes room
  CHECK(t.started_at("2001:db8::2") == 500);
  REQUIRE(t.cancels.size() == 1);
  CHECK(t.cancels[0] == std::pair<long long, AttemptId>{500, t.attempt("2001:db8::1")});
  REQUIRE(t.race.failures().size() == 1);
  CHECK(t.race.failures()[0].address == ip("2001:db8::1"));
  CHECK(t.race.failures()[0].error == errc::attempt_abandoned);
  t.fail(t.attempt("192.0.2.1"), unreachable());  // a failure still starts the next at once
  CHECK(t.started_at("192.0.2.2") == 500);
  t.advance_to(5000);
  CHECK(t.starts.size() == 4);
  CHECK(t.cancels.size() == 1);  // nothing left to make room for
}

TEST_CASE("Six black holes then a working address: the seventh starts at 6 x 250 ms, not after SYN retries") {
  Config c;  // max_in_flight 6
  c.expected = FamilySet::only(Family::v6);
  Timeline t(c);
  t.answer_aaaa({"2001:db8::1", "2001:db8::2", "2001:db8::3", "2001:db8::4", "2001:db8::5", "2001:db8::6",
                 "2001:db8::7"});
  t.advance_to(1500);
  CHECK(t.started_at("2001:db8::6") == 1250);
  CHECK(t.started_at("2001:db8::7") == 1500);
  REQUIRE(t.cancels.size() == 1);
  CHECK(t.cancels[0] == std::pair<long long, AttemptId>{1500, t.attempt("2001:db8::1")});
  t.advance_to(1510);
  t.connect(t.attempt("2001:db8::7"));
  REQUIRE(t.finish);
  CHECK(t.finish_ms == 1510);
  CHECK(t.cancels.size() == 6);
}

TEST_CASE("Per-attempt timeout: an attempt still pending at its limit fails, and the next starts at once") {
  Config c;
  c.attempt_timeout = 100ms;
  Timeline t(c);
  t.answer_aaaa({"2001:db8::1"});
  t.answer_a({"192.0.2.1"});
  t.advance_to(100);
  CHECK(t.started_at("192.0.2.1") == 100);  // not 250
  REQUIRE(t.cancels.size() == 1);
  CHECK(t.cancels[0] == std::pair<long long, AttemptId>{100, t.attempt("2001:db8::1")});
  REQUIRE(t.race.failures().size() == 1);
  CHECK(t.race.failures()[0].error == errc::attempt_timed_out);
  t.advance_to(200);
  REQUIRE(t.finish);
  CHECK(t.finish_ms == 200);
  CHECK(t.finish->error == errc::all_attempts_failed);
  CHECK(t.race.failures().size() == 2);
}

TEST_CASE("Connection Attempt Delay: clamped to [10 ms, 2 s], with a warning below 100 ms") {
  struct Row {
    long long configured, effective;
    bool warns;
  };
  // configured delay -> delay used -> warning traced
  for (Row r : {Row{0, 10, true}, Row{5, 10, true}, Row{10, 10, true}, Row{50, 50, true}, Row{100, 100, false},
                Row{250, 250, false}, Row{2000, 2000, false}, Row{9000, 2000, true}}) {
    CAPTURE(r.configured);
    Config c;
    c.attempt_delay = milliseconds(r.configured);
    Timeline t(c);
    CHECK(t.race.attempt_delay() == milliseconds(r.effective));
    bool warned = std::any_of(t.trace.events().begin(), t.trace.events().end(),
                              [](auto& e) { return e.type == event::warning; });
    CHECK(warned == r.warns);
    t.answer_aaaa({"2001:db8::1", "2001:db8::2"});
    t.advance_to(5000);
    CHECK(t.started_at("2001:db8::2") == r.effective);
  }
}

// ------------------------------------------------------------ endings

TEST_CASE("Both families failing: all_attempts_failed, with every cause kept in order") {
  Timeline t;
  t.answer_aaaa({"2001:db8::1", "2001:db8::2"});
  t.advance_to(3);
  t.refuse(t.attempt("2001:db8::1"));
  t.advance_to(4);
  t.fail(t.attempt("2001:db8::2"), unreachable());
  CHECK_FALSE(t.finish);  // A is still outstanding
  t.advance_to(40);
  t.answer_a({"192.0.2.1"});
  CHECK(t.started_at("192.0.2.1") == 40);
  t.advance_to(60);
  t.fail(t.attempt("192.0.2.1"), std::make_error_code(std::errc::host_unreachable));
  REQUIRE(t.finish);
  CHECK(t.finish_ms == 60);
  CHECK(t.finish->error == errc::all_attempts_failed);
  CHECK_FALSE(t.finish->winner);
  auto& f = t.race.failures();
  REQUIRE(f.size() == 3);
  CHECK(f[0].address == ip("2001:db8::1"));
  CHECK(f[0].error == refused());
  CHECK(f[1].address == ip("2001:db8::2"));
  CHECK(f[1].error == unreachable());
  CHECK(f[2].address == ip("192.0.2.1"));
  CHECK(f[2].error == std::errc::host_unreachable);
}

TEST_CASE("No address: the error says why") {
  SUBCASE("both answers empty") {
    Timeline t;
    t.answer_aaaa({});
    CHECK_FALSE(t.finish);
    t.answer_a({});
    REQUIRE(t.finish);
    CHECK(t.finish->error == errc::no_address);
  }
  SUBCASE("NXDOMAIN for both families: host_not_found, the DNS cause kept") {
    Timeline t;
    t.fail_aaaa(errc::host_not_found);
    t.advance_to(7);
    t.fail_a(errc::host_not_found);
    REQUIRE(t.finish);
    CHECK(t.finish_ms == 7);
    CHECK(t.finish->error == errc::host_not_found);
    CHECK(t.race.dns_error(Family::v4) == errc::host_not_found);
    CHECK(t.race.failures().empty());
  }
  SUBCASE("both timed out: dns_timeout") {
    Timeline t;
    t.fail_aaaa(errc::dns_timeout);
    t.fail_a(errc::dns_timeout);
    REQUIRE(t.finish);
    CHECK(t.finish->error == errc::dns_timeout);
  }
  SUBCASE("mixed causes: no_address, each cause still readable") {
    Timeline t;
    t.fail_aaaa(errc::no_data);
    t.fail_a(errc::dns_server_failure);
    REQUIRE(t.finish);
    CHECK(t.finish->error == errc::no_address);
    CHECK(t.race.dns_error(Family::v6) == errc::no_data);
    CHECK(t.race.dns_error(Family::v4) == errc::dns_server_failure);
  }
  SUBCASE("one empty, one NXDOMAIN") {
    Timeline t;
    t.answer_aaaa({});
    t.fail_a(errc::host_not_found);
    REQUIRE(t.finish);
    CHECK(t.finish->error == errc::no_address);
  }
  SUBCASE("no family expected") {
    Config c;
    c.expected = FamilySet::neither();
    Timeline t(c);
    REQUIRE(t.finish);
    CHECK(t.finish->error == errc::no_address);
  }
}

TEST_CASE("Overall timeout: pending attempts cancelled, each recorded as timed out") {
  Config c;
  c.timeout = 1000ms;
  Timeline t(c);
  CHECK(t.timer_ms() == 1000);  // armed from the start
  t.answer_aaaa({"2001:db8::1", "2001:db8::2", "2001:db8::3", "2001:db8::4", "2001:db8::5"});
  t.advance_to(999);
  CHECK(t.starts.size() == 4);  // 0, 250, 500, 750
  CHECK_FALSE(t.finish);
  t.advance_to(1500);
  REQUIRE(t.finish);
  CHECK(t.finish_ms == 1000);
  CHECK(t.finish->error == errc::timed_out);
  CHECK(t.finish->error == std::errc::timed_out);
  CHECK(t.starts.size() == 4);  // the one due at 1000 never starts
  CHECK(t.cancels.size() == 4);
  REQUIRE(t.race.failures().size() == 4);
  for (auto& f : t.race.failures()) CHECK(f.error == errc::timed_out);
}

TEST_CASE("Overall timeout while DNS has not answered") {
  Config c;
  c.timeout = 300ms;
  Timeline t(c);
  t.advance_to(1000);
  REQUIRE(t.finish);
  CHECK(t.finish_ms == 300);
  CHECK(t.finish->error == errc::timed_out);
  CHECK(t.race.failures().empty());
}

TEST_CASE("cancel: every pending attempt cancelled, operation_canceled, nothing after") {
  Timeline t;
  t.answer_aaaa({"2001:db8::1"});
  t.answer_a({"192.0.2.1"});
  t.advance_to(300);
  t.cancel();
  REQUIRE(t.finish);
  CHECK(t.finish->error == std::errc::operation_canceled);
  CHECK(t.finish->error.value() == ECANCELED);
  CHECK(t.cancels.size() == 2);
  // Nothing after: a late connect, the timer, a second cancel, driven
  // directly (the Timeline would take the actions itself).
  t.race.on_connected(t.now(), 1);
  t.race.on_timer(t.now() + 5000ms);
  t.race.cancel(t.now() + 5000ms);
  CHECK(t.race.take_actions(t.now() + 5000ms).empty());
  CHECK(t.trace.events().back().type == event::attempt_cancelled);
}

TEST_CASE("address_of names each attempt; an unknown id throws") {
  Timeline t;
  t.answer_aaaa({"2001:db8::1"});
  CHECK(t.race.address_of(t.attempt("2001:db8::1")) == ip("2001:db8::1"));
  CHECK_THROWS_AS(t.race.address_of(0), std::out_of_range);
  CHECK_THROWS_AS(t.race.address_of(9), std::out_of_range);
  t.refuse(42);  // unknown: ignored
  CHECK(t.race.failures().empty());
}

// ------------------------------------------------------------ trace

TEST_CASE("The trace is a timeline relative to the start, with the stable event names") {
  Timeline t;
  t.advance_to(2);
  t.answer_a({"192.0.2.1"});
  t.advance_to(100);
  t.connect(t.attempt("192.0.2.1"));
  std::vector<std::pair<long long, std::string>> got;
  for (auto& e : t.trace.events())
    got.emplace_back(std::chrono::duration_cast<milliseconds>(e.t).count(), e.type);
  std::vector<std::pair<long long, std::string>> want{
      {2, "dns_answer"},     {2, "resolution_delay"}, {52, "resolution_delay"},
      {52, "sorted"},        {52, "attempt_start"},   {52, "attempt_delay"},
      {100, "connected"},
  };
  CHECK(got == want);
  CHECK(t.trace.events()[4].address == ip("192.0.2.1"));
  CHECK(t.trace.events()[4].family == Family::v4);
}

// ------------------------------------------ usable families (AI_ADDRCONFIG): unusable ones

TEST_CASE("IPv6 unusable (only IPv4 expected): A at 0 ms starts at 0 ms, not 50 ms") {
  Config c;
  c.expected = FamilySet::only(Family::v4);
  Timeline t(c);
  t.answer_a({"192.0.2.1", "198.51.100.1"});
  REQUIRE(t.starts.size() == 1);
  CHECK(t.starts[0].at_ms == 0);
  CHECK(t.timer_ms() == 250);
}

TEST_CASE("IPv6 unusable: an AAAA that never answers delays nothing, not even the failure") {
  Config c;
  c.expected = FamilySet::only(Family::v4);
  Timeline t(c);
  t.advance_to(3);
  t.answer_a({"192.0.2.1"});
  CHECK(t.started_at("192.0.2.1") == 3);
  t.advance_to(8);
  t.refuse(t.attempt("192.0.2.1"));
  REQUIRE(t.finish);  // no waiting for an AAAA that is not coming
  CHECK(t.finish_ms == 8);
  CHECK(t.finish->error == errc::all_attempts_failed);
}

TEST_CASE("IPv4 unusable (only IPv6 expected): AAAA starts at once and its failure ends the race") {
  Config c;
  c.expected = FamilySet::only(Family::v6);
  Timeline t(c);
  t.advance_to(4);
  t.answer_aaaa({"2001:db8::1"});
  CHECK(t.started_at("2001:db8::1") == 4);
  t.refuse(t.attempt("2001:db8::1"));
  REQUIRE(t.finish);
  CHECK(t.finish->error == errc::all_attempts_failed);
}

// When the policy prefers IPv4 to the AAAA addresses (6to4 under the RFC 6724
// table, or a gai.conf that raises ::ffff:0:0/96), IPv4 is the preferred
// family: an AAAA answer that comes first waits the Resolution Delay for A.
namespace {
Config prefer_v4_to_6to4() {
  Config c;
  c.v4_outranks = [](const std::vector<IpAddress>& v6) { return PolicyTable().ranks_v4_above(v6); };
  return c;
}
std::vector<IpAddress> v4_first(std::vector<IpAddress> in, std::optional<Family> continue_after, TimePoint) {
  std::stable_partition(in.begin(), in.end(), [](const IpAddress& a) { return a.is_v4(); });
  return interleave_families(in, 1, continue_after);
}
}  // namespace

TEST_CASE("6to4 AAAA first, A at 20 ms: the AAAA waits, IPv4 starts at 20 ms") {
  Timeline t(prefer_v4_to_6to4(), nullptr, v4_first);
  t.answer_aaaa({"2002:c633:6401::1"});
  CHECK(t.starts.empty());
  CHECK(t.timer_ms() == 50);
  t.advance_to(20);
  t.answer_a({"192.0.2.1"});
  REQUIRE(t.starts.size() == 1);
  CHECK(t.starts[0].at_ms == 20);
  CHECK(t.starts[0].address == ip("192.0.2.1"));
  t.advance_to(270);
  CHECK(t.started_at("2002:c633:6401::1") == 270);
}

TEST_CASE("6to4 AAAA first, A never answers: IPv6 starts at the Resolution Delay") {
  Timeline t(prefer_v4_to_6to4(), nullptr, v4_first);
  t.answer_aaaa({"2002:c633:6401::1"});
  t.advance_to(49);
  CHECK(t.starts.empty());
  t.advance_to(50);
  REQUIRE(t.starts.size() == 1);
  CHECK(t.starts[0].address == ip("2002:c633:6401::1"));
}

TEST_CASE("native AAAA first under the same policy: starts at once") {
  Timeline t(prefer_v4_to_6to4(), nullptr, v4_first);
  t.answer_aaaa({"2001:db8::1", "2002:c633:6401::1"});
  REQUIRE(t.starts.size() == 1);
  CHECK(t.starts[0].at_ms == 0);
}

// ------------------------------------------------------------ delay policies and abandonment

TEST_CASE("Schedule policy: 50 ms, then each delay twice the one before: starts at 0, 50, 150, 350, 750 ms") {
  Config c;
  c.attempt_delay = 50ms;
  c.attempt_delay_policy = AttemptDelayPolicy::schedule(2);
  c.expected = FamilySet::only(Family::v6);
  Timeline t(c);
  t.answer_aaaa({"2001:db8::1", "2001:db8::2", "2001:db8::3", "2001:db8::4", "2001:db8::5"});
  t.advance_to(2000);
  std::vector<std::optional<long long>> got;
  for (const char* a : {"2001:db8::1", "2001:db8::2", "2001:db8::3", "2001:db8::4", "2001:db8::5"})
    got.push_back(t.started_at(a));
  CHECK(got == std::vector<std::optional<long long>>{0, 50, 150, 350, 750});
}

TEST_CASE("Schedule policy: each delay stays within [10 ms, 2 s]") {
  Config c;
  c.attempt_delay = 1500ms;
  c.attempt_delay_policy = AttemptDelayPolicy::schedule(4);
  c.expected = FamilySet::only(Family::v6);
  Timeline t(c);
  t.answer_aaaa({"2001:db8::1", "2001:db8::2", "2001:db8::3"});
  t.advance_to(10000);
  CHECK(t.started_at("2001:db8::2") == 1500);
  CHECK(t.started_at("2001:db8::3") == 3500);  // 6000 ms lowered to 2000
}

TEST_CASE("RTT policy: the trace says which delay follows each start, and where its evidence came from") {
  History h;
  h.record_success(ip("2001:db8::1"), 30ms, Timeline::kEpoch);
  Timeline t({}, &h);
  t.answer_both({"2001:db8::1"}, {"192.0.2.1"});
  t.advance_to(1000);
  CHECK(t.started_at("192.0.2.1") == 100);
  std::vector<std::string> details;
  for (const auto& e : t.trace.events())
    if (e.type == event::attempt_start || e.type == event::attempt_delay) details.push_back(e.detail);
  REQUIRE(details.size() == 4);
  CHECK(details[0] == "attempt 1: next attempt in 100 ms (RTO of 2001:db8::1 from 1 sample)");
  CHECK(details[1] == "attempt 1: RTO of 2001:db8::1 from 1 sample: 90 ms, raised to 100 ms");
  CHECK(details[2] == "attempt 2: last address");
  CHECK(details[3] == "attempt 2: no RTT evidence, the default: 250 ms");
}

TEST_CASE("Fixed policy: the configured delay even when the history knows the path") {
  History h;
  h.record_success(ip("2001:db8::1"), 30ms, Timeline::kEpoch);
  Config c;
  c.attempt_delay_policy = AttemptDelayPolicy::fixed();
  Timeline t(c, &h);
  t.answer_aaaa({"2001:db8::1"});
  t.answer_a({"192.0.2.1"});
  t.advance_to(1000);
  CHECK(t.started_at("192.0.2.1") == 250);
}

TEST_CASE("History updates are outputs: the race reads the history and never writes it") {
  History h;
  Race race({}, interleave_v6_first, &h, nullptr, Timeline::kEpoch);
  race.on_answer(Timeline::kEpoch, Family::v6, {ip("2001:db8::1")});
  race.on_answer(Timeline::kEpoch, Family::v4, {ip("192.0.2.1")});
  auto first = race.take_actions(Timeline::kEpoch);
  REQUIRE(!first.empty());
  REQUIRE(std::holds_alternative<StartAttempt>(first[0]));
  race.on_connected(Timeline::kEpoch + 40ms, std::get<StartAttempt>(first[0]).id);
  auto last = race.take_actions(Timeline::kEpoch + 40ms);
  CHECK(h.size() == 0);  // nothing written by the race
  std::vector<History::Update> updates;
  for (auto& a : last)
    if (auto* r = std::get_if<Remember>(&a)) updates.push_back(r->update);
  REQUIRE(updates.size() == 1);
  CHECK(updates[0].destination == ip("2001:db8::1"));
  CHECK(updates[0].kind == History::Update::success);
  CHECK(updates[0].rtt == 40ms);
  CHECK(updates[0].at == Timeline::kEpoch + 40ms);
  CHECK(std::holds_alternative<Finish>(last.back()));
}

TEST_CASE("An abandoned attempt has its own event and cause, and is remembered as failed") {
  History h;
  Config c;
  c.max_in_flight = 1;
  c.expected = FamilySet::only(Family::v6);
  Timeline t(c, &h);
  t.answer_aaaa({"2001:db8::1", "2001:db8:1::2"});
  t.advance_to(250);
  CHECK(t.started_at("2001:db8:1::2") == 250);
  const TraceEvent* abandoned = nullptr;
  for (const auto& e : t.trace.events())
    if (e.type == event::attempt_abandoned) abandoned = &e;
  REQUIRE(abandoned != nullptr);
  CHECK(abandoned->address == ip("2001:db8::1"));
  CHECK(abandoned->detail == "attempt 1: abandoned after 250 ms for a newer attempt (1 in flight)");
  CHECK(h.recently_failed(ip("2001:db8::1"), t.now()));
  CHECK_FALSE(h.recently_failed(ip("2001:db8:1::2"), t.now()));
}

// ------------------------------------------------------------ RFC 8305 section 7.2 (NAT64 last resort)

namespace {

// A race on a NAT64 network whose prefix is 64:ff9b::/96: an A answer comes
// in already synthesized (as the dial feeds it).
Config nat64_config() {
  Config c;
  const auto prefix = Prefix::of(ip("64:ff9b::"), 96);
  c.translated = [prefix](const IpAddress& a) { return a.is_v6() && prefix.contains(a); };
  return c;
}

}  // namespace

TEST_CASE("NAT64: a native AAAA keeps the synthesized A addresses back until the Last Resort Local Synthesis Delay") {
  Timeline t(nat64_config());
  t.answer_aaaa({"2001:db8::1"});
  t.answer_a({"64:ff9b::c000:201"});
  t.advance_to(1999);
  CHECK(t.start_order() == std::vector<std::string>{"2001:db8::1"});  // no attempt delay for a held address
  t.advance_to(2000);
  CHECK(t.start_order() == std::vector<std::string>{"2001:db8::1", "64:ff9b::c000:201"});
  CHECK(t.started_at("64:ff9b::c000:201") == 2000);
  bool noted = false;
  for (const auto& e : t.trace.events())
    noted |= e.type == event::last_resort && e.detail.find("2000 ms after the last native IPv6 attempt") != std::string::npos;
  CHECK(noted);
  t.connect(t.attempt("64:ff9b::c000:201"));
  REQUIRE(t.finish);
  CHECK(t.was_cancelled(t.attempt("2001:db8::1")));
}

TEST_CASE("NAT64: the Last Resort Local Synthesis Delay runs from the start of the last native IPv6 attempt") {
  Timeline t(nat64_config());
  t.answer_aaaa({"2001:db8::1", "2001:db8::2", "2001:db8::3"});
  t.answer_a({"64:ff9b::c000:201"});
  t.advance_to(2499);
  CHECK(t.start_order() == std::vector<std::string>{"2001:db8::1", "2001:db8::2", "2001:db8::3"});
  CHECK(t.started_at("2001:db8::3") == 500);
  t.advance_to(2500);
  CHECK(t.started_at("64:ff9b::c000:201") == 2500);
}

TEST_CASE("NAT64: when every native address has failed, the held ones start at once") {
  Timeline t(nat64_config());
  t.answer_a({"64:ff9b::c000:201", "64:ff9b::c000:202"});
  t.advance_to(10);
  t.answer_aaaa({"2001:db8::1"});
  CHECK(t.start_order() == std::vector<std::string>{"2001:db8::1"});
  t.advance_to(120);
  t.refuse(t.attempt("2001:db8::1"));
  CHECK(t.start_order() == std::vector<std::string>{"2001:db8::1", "64:ff9b::c000:201"});
  CHECK(t.started_at("64:ff9b::c000:201") == 120);
  t.advance_to(370);
  CHECK(t.started_at("64:ff9b::c000:202") == 370);  // then the usual Connection Attempt Delay
  CHECK_FALSE(t.finish);
}

TEST_CASE("NAT64: without a native AAAA (a DNS64 answer), synthesized addresses race at once") {
  Timeline t(nat64_config());
  t.answer_aaaa({"64:ff9b::c000:201"});  // the DNS64's own synthesis
  t.answer_a({"64:ff9b::c000:201", "64:ff9b::c000:202"});
  CHECK(t.start_order() == std::vector<std::string>{"64:ff9b::c000:201"});
  t.advance_to(250);
  CHECK(t.start_order() == std::vector<std::string>{"64:ff9b::c000:201", "64:ff9b::c000:202"});
}

TEST_CASE("NAT64: held addresses keep the race open; the overall timeout still ends it") {
  Config c = nat64_config();
  c.timeout = std::chrono::milliseconds(1500);
  Timeline t(c);
  t.answer_aaaa({"2001:db8::1"});
  t.answer_a({"64:ff9b::c000:201"});
  t.advance_to(3000);
  REQUIRE(t.finish);
  CHECK(t.finish_ms == 1500);
  CHECK(t.finish->error == errc::timed_out);
  CHECK(t.start_order() == std::vector<std::string>{"2001:db8::1"});
}

TEST_CASE("NAT64: a translated address counts as IPv4 in the family alternation") {
  Config c = nat64_config();
  std::optional<Family> seen;
  Timeline t(c, nullptr, [&](std::vector<IpAddress> v, std::optional<Family> after, TimePoint) {
    seen = after;
    return v;
  });
  t.answer_aaaa({"64:ff9b::c000:201", "2001:db8::1"});
  // Once a native address is known, every translated one is held, whichever record brought it.
  CHECK(t.start_order() == std::vector<std::string>{"2001:db8::1"});
  t.refuse(t.attempt("2001:db8::1"));
  REQUIRE(t.start_order().size() == 2);
  t.answer_a({"64:ff9b::c000:202"});
  t.advance_to(10);
  REQUIRE(seen);
  CHECK(*seen == Family::v4);  // the last attempt, 64:ff9b::c000:201, stands for IPv4
}

TEST_CASE("An answer's origin reaches its trace event: the source and addresses; an error's rcode and server") {
  Timeline t;
  t.advance_to(5);
  t.race.on_answer(t.t0 + 5ms, Family::v4, ips({"192.0.2.1", "192.0.2.2"}), AnswerOrigin{"cache"});
  t.advance_to(20);
  t.race.on_answer_error(t.t0 + 20ms, Family::v6, make_error_code(errc::dns_server_failure),
                         AnswerOrigin{"dns", "SERVFAIL", "192.0.2.53:53"});
  std::vector<TraceEvent> dns;
  for (const auto& e : t.trace.events())
    if (e.type == event::dns_answer || e.type == event::dns_error) dns.push_back(e);
  REQUIRE(dns.size() == 2);
  CHECK(dns[0].t == 5ms);
  CHECK(dns[0].source == "cache");
  CHECK(dns[0].addresses == ips({"192.0.2.1", "192.0.2.2"}));
  CHECK(dns[0].detail == "2 address(es) from cache: 192.0.2.1 192.0.2.2");
  CHECK(dns[0].rcode.empty());
  CHECK(dns[1].source == "dns");
  CHECK(dns[1].rcode == "SERVFAIL");
  CHECK(dns[1].server == "192.0.2.53:53");
  CHECK(dns[1].detail == "every nameserver failed: SERVFAIL from 192.0.2.53:53");
  CHECK(dns[1].addresses.empty());
}

TEST_CASE("Without an origin (a caller of the race alone) the events are as they always were") {
  Timeline t;
  t.answer_a({"192.0.2.1"});
  t.fail_aaaa(errc::host_not_found);
  REQUIRE(t.trace.events().size() >= 2);
  const auto& answer = t.trace.events()[0];
  CHECK(answer.type == event::dns_answer);
  CHECK(answer.detail == "1 address(es): 192.0.2.1");
  CHECK(answer.source.empty());
  bool saw_error = false;
  for (const auto& e : t.trace.events()) {
    if (e.type != event::dns_error) continue;
    saw_error = true;
    CHECK(e.detail == make_error_code(errc::host_not_found).message());
    CHECK(e.rcode.empty());
  }
  CHECK(saw_error);
}
