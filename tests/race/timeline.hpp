// SPDX-License-Identifier: MIT
// Test driver for the race: a virtual clock that fires the race's one timer, and a log of its actions.
#pragma once

#include <doctest/doctest.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <initializer_list>
#include <optional>
#include <string>
#include <vector>

#include "heyes/error.hpp"
#include "heyes/race/race.hpp"
#include "heyes/select/sort.hpp"

namespace heyes::race::test {

using std::chrono::milliseconds;
using namespace std::chrono_literals;

inline IpAddress ip(const char* text) {
  auto a = IpAddress::parse(text);
  REQUIRE(a.has_value());
  return *a;
}

inline std::vector<IpAddress> ips(std::initializer_list<const char*> texts) {
  std::vector<IpAddress> out;
  for (auto t : texts) out.push_back(ip(t));
  return out;
}

// The tests' stand-in for the dial layer's ordering (heyes/select): no
// RFC 6724 sort, the input order kept within each family, IPv6 first, then
// the RFC 8305 section 4 interleaving.
inline std::vector<IpAddress> interleave_v6_first(std::vector<IpAddress> in, std::optional<Family> continue_after,
                                                  TimePoint /*now*/) {
  std::stable_partition(in.begin(), in.end(), [](const IpAddress& a) { return a.is_v6(); });
  return interleave_families(in, 1, continue_after);
}

// With history: a stable sort by History::compare (recently failed last,
// then lower smoothed RTT), then the interleaving from the best address's family.
inline Orderer history_orderer(const History& history, TimePoint now) {
  return [&history, now](std::vector<IpAddress> in, std::optional<Family> continue_after, TimePoint) {
    std::stable_sort(in.begin(), in.end(),
                     [&](const IpAddress& a, const IpAddress& b) { return history.compare(a, b, now) < 0; });
    return interleave_families(in, 1, continue_after);
  };
}

inline std::error_code refused() { return {ECONNREFUSED, std::system_category()}; }
inline std::error_code unreachable() { return {ENETUNREACH, std::system_category()}; }

struct Started {
  long long at_ms;
  AttemptId id;
  IpAddress address;
};

// One race on a virtual clock. Time is in milliseconds since the start.
class Timeline {
 public:
  static constexpr TimePoint kEpoch = TimePoint{} + std::chrono::hours(1);

  // start: the race's time zero on the shared clock (several races may share a History).
  explicit Timeline(Config config = {}, History* history = nullptr, Orderer order = interleave_v6_first,
                    TimePoint start = kEpoch)
      : t0(start), race(config, std::move(order), history, &trace, t0), history_(history) {
    collect();
  }

  // Moves the clock to ms, firing the timer at each deadline on the way.
  void advance_to(long long ms) {
    REQUIRE(ms >= now_ms);
    while (timer && *timer <= at(ms) && !race.finished()) {
      now_ms = std::chrono::duration_cast<milliseconds>(*timer - t0).count();
      timer.reset();
      race.on_timer(at(now_ms));
      collect();
    }
    now_ms = ms;
  }

  void answer_aaaa(std::initializer_list<const char*> a) { input([&] { race.on_answer(now(), Family::v6, ips(a)); }); }
  void answer_a(std::initializer_list<const char*> a) { input([&] { race.on_answer(now(), Family::v4, ips(a)); }); }
  void answer_both(std::initializer_list<const char*> v6, std::initializer_list<const char*> v4) {
    input([&] {
      race.on_answer(now(), Family::v6, ips(v6));
      race.on_answer(now(), Family::v4, ips(v4));
    });
  }
  void fail_aaaa(std::error_code e) { input([&] { race.on_answer_error(now(), Family::v6, e); }); }
  void fail_a(std::error_code e) { input([&] { race.on_answer_error(now(), Family::v4, e); }); }
  void refuse(AttemptId id) { fail(id, refused()); }
  void fail(AttemptId id, std::error_code e) { input([&] { race.on_failed(now(), id, e); }); }
  void connect(AttemptId id) { input([&] { race.on_connected(now(), id); }); }
  void cancel() { input([&] { race.cancel(now()); }); }

  // The id of the attempt to address, which must have been started.
  AttemptId attempt(const char* address) const {
    for (auto& s : starts)
      if (s.address == ip(address)) return s.id;
    FAIL("no attempt to " << address);
    return 0;
  }
  std::optional<long long> started_at(const char* address) const {
    for (auto& s : starts)
      if (s.address == ip(address)) return s.at_ms;
    return std::nullopt;
  }
  bool was_cancelled(AttemptId id) const {
    return std::any_of(cancels.begin(), cancels.end(), [&](auto& c) { return c.second == id; });
  }
  std::vector<std::string> start_order() const {
    std::vector<std::string> out;
    for (auto& s : starts) out.push_back(s.address.to_string());
    return out;
  }
  std::optional<long long> timer_ms() const {
    if (!timer) return std::nullopt;
    return std::chrono::duration_cast<milliseconds>(*timer - t0).count();
  }

  TimePoint t0;
  Trace trace;
  Race race;
  long long now_ms = 0;
  std::optional<TimePoint> timer;
  std::vector<Started> starts;
  std::vector<std::pair<long long, AttemptId>> cancels;
  std::optional<Finish> finish;
  long long finish_ms = -1;

 private:
  TimePoint at(long long ms) const { return t0 + milliseconds(ms); }

 public:
  TimePoint now() const { return at(now_ms); }

 private:
  History* history_;

  template <typename F>
  void input(F f) {
    f();
    collect();
  }

  // Applies the race's actions the way the asio shell does.
  void collect() {
    for (auto& action : race.take_actions(now())) {
      REQUIRE_MESSAGE(!finish, "an action after Finish");
      if (auto* s = std::get_if<StartAttempt>(&action)) {
        starts.push_back({now_ms, s->id, s->address});
      } else if (auto* c = std::get_if<CancelAttempt>(&action)) {
        cancels.emplace_back(now_ms, c->id);
      } else if (auto* t = std::get_if<ArmTimer>(&action)) {
        REQUIRE_MESSAGE(t->deadline > now(), "a timer armed in the past");
        timer = t->deadline;
      } else if (auto* r = std::get_if<Remember>(&action)) {
        REQUIRE_MESSAGE(history_ != nullptr, "a history update without a history");
        history_->apply(r->update);
      } else if (auto* f = std::get_if<Finish>(&action)) {
        finish = *f;
        finish_ms = now_ms;
      }
    }
  }
};

}  // namespace heyes::race::test
