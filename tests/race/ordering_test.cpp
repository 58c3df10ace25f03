// SPDX-License-Identifier: MIT
// The race with the real orderer the dial layer builds: RFC 6724 sort + history rule + RFC 8305 interleaving.
#include <doctest/doctest.h>

#include "heyes/select/policy.hpp"
#include "heyes/select/sort.hpp"
#include "support/fake_source_lookup.hpp"
#include "timeline.hpp"

using namespace heyes;
using namespace heyes::race;
using namespace heyes::race::test;

namespace {

constexpr TimePoint T = Timeline::kEpoch;

// A dual-stack host with global sources for the documentation prefixes.
struct Host {
  PolicyTable policy;
  heyes::test::FakeSourceLookup sources;
  History history;

  Host() {
    for (const char* d : {"2001:db8::1", "2001:db8::2"}) sources.add(d, "2001:db8::100", 64);
    for (const char* d : {"192.0.2.1", "192.0.2.2"}) sources.add(d, "192.0.2.100", 24);
  }

  // What the dial layer hands the race: the one ordering pipeline, with the
  // history's recently-failed group and its RTT rule.
  Orderer orderer(TimePoint now) {
    return [this, now](std::vector<IpAddress> in, std::optional<Family> continue_after, TimePoint) {
      OrderOptions o;
      o.continue_after = continue_after;
      o.recently_failed = [this, now](const IpAddress& a) { return history.recently_failed(a, now); };
      o.history_rule = [this, now](const IpAddress& a, const IpAddress& b) { return history.compare(a, b, now); };
      return order_destinations(std::move(in), policy, sources, o);
    };
  }
};

}  // namespace

TEST_CASE("Real orderer, no history: IPv6 first (RFC 6724 rule 6), then alternating") {
  Host h;
  Timeline t({}, &h.history, h.orderer(T), T);
  t.answer_both({"2001:db8::1", "2001:db8::2"}, {"192.0.2.1", "192.0.2.2"});
  t.advance_to(1000);
  CHECK(t.start_order() == std::vector<std::string>{"2001:db8::1", "192.0.2.1", "2001:db8::2", "192.0.2.2"});
}

TEST_CASE("Real orderer: a black-holed IPv6 goes after IPv4 on the next dial, despite rule 6") {
  Host h;
  {
    Timeline t({}, &h.history, h.orderer(T), T);
    t.answer_both({"2001:db8::1"}, {"192.0.2.1"});
    t.advance_to(262);
    t.connect(t.attempt("192.0.2.1"));
    REQUIRE(t.finish);
    CHECK(t.started_at("192.0.2.1") == 250);
  }
  Timeline t({}, &h.history, h.orderer(T + 1s), T + 1s);
  t.answer_both({"2001:db8::1"}, {"192.0.2.1"});
  t.advance_to(12);
  t.connect(t.attempt("192.0.2.1"));
  REQUIRE(t.finish);
  CHECK(t.finish_ms == 12);  // about one RTT, not 250 ms more
  CHECK(t.start_order() == std::vector<std::string>{"192.0.2.1"});
}

TEST_CASE("Real orderer: within a family, the lower smoothed RTT goes first") {
  Host h;
  h.history.record_success(ip("2001:db8::1"), 90ms, T);
  h.history.record_success(ip("2001:db8::2"), 10ms, T);
  Timeline t({}, &h.history, h.orderer(T + 1s), T + 1s);
  t.answer_both({"2001:db8::1", "2001:db8::2"}, {"192.0.2.1"});
  t.advance_to(1000);
  CHECK(t.start_order() == std::vector<std::string>{"2001:db8::2", "192.0.2.1", "2001:db8::1"});
  // 2001:db8::2's delay follows its RTT: RTO 10 + 4 x 5 = 30 ms, raised to 100 ms.
  CHECK(t.started_at("192.0.2.1") == 100);
}
