// SPDX-License-Identifier: MIT
// Load: 10,000 dials, 1,000 at a time, on loopback targets that work, refuse or hang, and a faulty DNS server;
// the memory of 10,000 dials waiting on DNS at once.
#include <doctest/doctest.h>

#include <malloc.h>

#include <asio/bind_cancellation_slot.hpp>
#include <asio/cancellation_signal.hpp>
#include <asio/executor_work_guard.hpp>
#include <asio/io_context.hpp>
#include <asio/post.hpp>
#include <asio/steady_timer.hpp>

#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "heyes/dial/dialer_options.hpp"
#include "heyes/dial.hpp"
#include "support/fake_dns_server.hpp"
#include "support/in_flight.hpp"
#include "support/loopback_targets.hpp"
#include "testing/test_server.hpp"

namespace {

using namespace std::chrono_literals;
using heyes::IpAddress;
using heyes::dns::RecordType;
using heyes::dns::TestAnswer;
using heyes::Clock;

// Scale: HEYES_LOAD_DIALS (default 10000, 1000 in a sanitizer build) dials,
// HEYES_LOAD_WINDOW (1000, 200 in a sanitizer build) at a time.
int env_count(const char* name, int fallback) {
  const char* v = std::getenv(name);
  int n = v ? std::atoi(v) : 0;
  return n > 0 ? n : fallback;
}

#if !defined(__has_feature)
#define __has_feature(x) 0  // g++ says __SANITIZE_*__ instead
#endif
#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__) || __has_feature(address_sanitizer) || \
    __has_feature(thread_sanitizer)
constexpr bool sanitized_build = true;
#else
constexpr bool sanitized_build = false;
#endif

// Wide enough for a loaded machine (a first burst of 1,000 uncached names
// takes over a second on two busy cores), and wider under a sanitizer, which
// is several times slower: the bound is there to catch a hang, not to time.
constexpr std::chrono::milliseconds dial_timeout = sanitized_build ? 10'000ms : 3000ms;
// A dial must end within its timeout; the slack is for a busy machine.
constexpr auto completion_bound = dial_timeout + 3s;

// What a dial may end with: success, or one of these errors.
struct Expect {
  bool success = false;
  std::vector<std::error_code> errors;
};

struct Target {
  std::string kind;  // for messages: "name ok -> refused"
  std::string host;
  std::uint16_t port = 0;
  Expect expect;
};

IpAddress addr(const char* text) { return *IpAddress::parse(text); }

// Names answered normally ("ok", "dual": AAAA ::1 too, "slow": 150 ms late)
// or badly ("drop": never, "junk": garbage, "nx": NXDOMAIN); 100 of each, so
// that the cache sees hits and misses.
constexpr int names_per_kind = 100;

void script_names(heyes::dns::TestServer& dns) {
  TestAnswer nodata;  // NOERROR, no records (an SOA for negative caching)
  TestAnswer slow_a, slow_nodata, drop, junk;
  slow_a.delay = slow_nodata.delay = 150ms;
  drop.drop = true;
  junk.garbage = true;
  for (int k = 0; k < names_per_kind; ++k) {
    auto n = [k](const char* kind) { return std::string(kind) + "-" + std::to_string(k) + ".load.heyes.test"; };
    dns.add_host(n("ok"), {addr("127.0.0.1")});
    dns.add_host(n("dual"), {addr("::1"), addr("127.0.0.1")});
    slow_a.records = {heyes::dns::Record::a(n("slow"), addr("127.0.0.1"), 300)};
    dns.set(n("slow"), RecordType::a, slow_a);
    dns.set(n("slow"), RecordType::aaaa, slow_nodata);
    for (auto t : {RecordType::a, RecordType::aaaa}) {
      dns.set(n("drop"), t, drop);
      dns.set(n("junk"), t, junk);
    }
  }
}

// The loopback world: listeners, the DNS server, one Dialer asking only it.
class LoadWorld {
 public:
  LoadWorld() {
    script_names(dns_.server());
    heyes::DialerOptions o;
    o.resolver.config.nameservers = {dns_.server().nameserver()};
    o.resolver.config.timeout = 1s;
    o.resolver.config.attempts = 1;
    dialer_.emplace(std::move(o));
  }

  heyes::Dialer& dialer() { return *dialer_; }
  heyes::DialOptions options() const {
    heyes::DialOptions o;
    o.timeout = dial_timeout;
    o.addrconfig = false;  // loopback has both families whatever the host has
    return o;
  }

  // The i-th dial's target: 15 kinds in turn, the names cycling over 100.
  Target target(int i) const {
    int kind = i % 15;
    std::string k = std::to_string((i / 15) % names_per_kind);
    auto name = [&](const char* n) { return std::string(n) + "-" + k + ".load.heyes.test"; };
    const Expect ok{true, {}};
    const Expect refused{false, {heyes::errc::all_attempts_failed}};
    const Expect hangs{false, {heyes::errc::timed_out}};
    if (kind < 3) return port_target("literal", "127.0.0.1", kind, ok, refused, hangs);
    if (kind < 6) return port_target("name ok", name("ok"), kind - 3, ok, refused, hangs);
    if (kind < 9) return port_target("name dual", name("dual"), kind - 6, ok, refused, hangs);
    if (kind < 12) return port_target("name slow", name("slow"), kind - 9, ok, refused, hangs);
    if (kind == 12) return {"name dropped", name("drop"), ok_.port(), {false, {heyes::errc::dns_timeout, heyes::errc::timed_out}}};
    if (kind == 13) return {"name garbage", name("junk"), ok_.port(), {false, {heyes::errc::dns_bad_response, heyes::errc::dns_server_failure}}};
    return {"name nxdomain", name("nx"), ok_.port(), {false, {heyes::errc::host_not_found}}};
  }

 private:
  Target port_target(const char* what, std::string host, int port_kind, const Expect& ok, const Expect& refused,
                     const Expect& hangs) const {
    if (port_kind == 0) return {std::string(what) + " -> working", std::move(host), ok_.port(), ok};
    if (port_kind == 1) return {std::string(what) + " -> refused", std::move(host), refused_.port(), refused};
    return {std::string(what) + " -> black hole", std::move(host), hole_.port(), hangs};
  }

  heyes::test::AcceptingListener ok_{"127.0.0.1"};
  heyes::test::RefusingPort refused_{"127.0.0.1"};
  heyes::test::BlackholeListener hole_{"127.0.0.1"};
  heyes::test::FakeDnsServer dns_;  // on its own thread, scripted per name
  std::optional<heyes::Dialer> dialer_;
};

// What a run saw.
struct RunStats {
  int completed = 0;
  int succeeded = 0;
  int cancelled = 0;
  int late = 0;                            // ended after completion_bound
  Clock::duration slowest{};
  std::map<std::string, int> unexpected;   // "kind: outcome" -> count
};

// Runs `total` dials, `window` at a time (the next starts when one ends).
// With cancel_half, every other dial gets a cancellation slot whose signal
// fires (terminal) 0-63 ms after the start: mid-race for most of them.
class LoadRun {
 public:
  LoadRun(asio::io_context& ioc, LoadWorld& world, int total, int window, bool cancel_half)
      : ioc_(ioc), world_(world), total_(total), slots_(static_cast<std::size_t>(window)), cancel_half_(cancel_half) {}

  RunStats run(Clock::duration limit) {
    for (std::size_t s = 0; s < slots_.size() && started_ < total_; ++s) start(s);
    auto end = Clock::now() + limit;
    ioc_.restart();
    while (stats_.completed < total_ && Clock::now() < end) ioc_.run_one_for(100ms);
    return stats_;
  }

 private:
  struct Slot {
    asio::cancellation_signal signal;
    std::optional<asio::steady_timer> timer;
    std::uint64_t generation = 0;
  };

  void start(std::size_t s) {
    int i = started_++;
    Target t = world_.target(i);
    Slot& slot = slots_[s];
    std::uint64_t gen = ++slot.generation;
    auto begin = Clock::now();
    auto done = [this, s, t, begin](std::error_code ec, asio::ip::tcp::socket sock) {
      slots_[s].generation++;  // a pending cancel timer of this dial does nothing now
      if (slots_[s].timer) slots_[s].timer->cancel();
      record(t, ec, sock, Clock::now() - begin);
      if (started_ < total_) start(s);
    };
    bool cancel = cancel_half_ && i % 2 == 1;
    if (!cancel) {
      world_.dialer().async_dial(ioc_.get_executor(), t.host, std::to_string(t.port), world_.options(), done);
      return;
    }
    world_.dialer().async_dial(ioc_.get_executor(), t.host, std::to_string(t.port), world_.options(),
                               asio::bind_cancellation_slot(slot.signal.slot(), done));
    arm_cancel(slot, gen, std::chrono::milliseconds(i % 64));
  }

  void arm_cancel(Slot& slot, std::uint64_t gen, std::chrono::milliseconds after) {
    if (!slot.timer) slot.timer.emplace(ioc_);
    slot.timer->expires_after(after);
    slot.timer->async_wait([&slot, gen](std::error_code ec) {
      if (!ec && slot.generation == gen) slot.signal.emit(asio::cancellation_type::terminal);
    });
  }

  void record(const Target& t, std::error_code ec, asio::ip::tcp::socket& sock, Clock::duration took) {
    ++stats_.completed;
    stats_.slowest = std::max(stats_.slowest, took);
    if (took > completion_bound) ++stats_.late;
    bool expected = ec ? std::find(t.expect.errors.begin(), t.expect.errors.end(), ec) != t.expect.errors.end()
                       : t.expect.success && sock.is_open();
    if (ec == asio::error::operation_aborted && cancel_half_) {
      ++stats_.cancelled;
      expected = !sock.is_open();
    }
    if (!ec) ++stats_.succeeded;
    if (!expected) ++stats_.unexpected[t.kind + ": " + (ec ? ec.message() : "connected")];
    if (sock.is_open()) {
      std::error_code ignored;
      sock.set_option(asio::socket_base::linger(true, 0), ignored);
      sock.close(ignored);
    }
  }

  asio::io_context& ioc_;
  LoadWorld& world_;
  int total_;
  int started_ = 0;
  std::vector<Slot> slots_;
  bool cancel_half_;
  RunStats stats_;
};

// Lets lingering lookups (the resolver keeps a won race's queries about 1 s
// to fill its cache) and closing sockets finish: runs ioc until it has no
// work left, at most `limit`.
void settle(asio::io_context& ioc, Clock::duration limit) {
  auto end = Clock::now() + limit;
  ioc.restart();
  while (!ioc.stopped() && Clock::now() < end) ioc.run_one_for(100ms);
}

void check_run(const RunStats& s, int total) {
  CHECK(s.completed == total);
  CHECK(s.late == 0);
  CHECK(s.unexpected.empty());
  for (const auto& [what, n] : s.unexpected) MESSAGE("unexpected outcome x", n, ": ", what);
  MESSAGE("completed ", s.completed, ", connected ", s.succeeded, ", cancelled ", s.cancelled, ", slowest ",
          std::chrono::duration_cast<std::chrono::milliseconds>(s.slowest).count(), " ms");
}

long rss_after_trim() {
  malloc_trim(0);
  return heyes::test::resident_kib();
}

}  // namespace

TEST_CASE("load: every dial ends right and in time; no fd or memory is left behind, cancelled or not") {
  heyes::test::raise_fd_limit();
  const int total = env_count("HEYES_LOAD_DIALS", sanitized_build ? 1'000 : 10'000);
  const int window = env_count("HEYES_LOAD_WINDOW", sanitized_build ? 200 : 1'000);
  asio::io_context ioc;
  LoadWorld world;

  // Warm-up: the Dialer's cache, history and every pool reach their size.
  check_run(LoadRun(ioc, world, window, std::min(window, 200), false).run(60s), window);
  settle(ioc, 5s);
  const int fds_before = heyes::test::count_open_fds();
  const long rss_before = rss_after_trim();

  SUBCASE("all dials run to their end") {
    check_run(LoadRun(ioc, world, total, window, false).run(100s), total);
  }
  SUBCASE("half of the dials are cancelled mid-race") {
    RunStats s = LoadRun(ioc, world, total, window, true).run(100s);
    check_run(s, total);
    CHECK(s.cancelled > 0);
  }
  settle(ioc, 5s);
  CHECK(ioc.stopped());
  CHECK(heyes::test::count_open_fds() == fds_before);
  const long rss_after = rss_after_trim();
  MESSAGE("RSS after warm-up ", rss_before, " KiB, after the run ", rss_after, " KiB");
  if (sanitized_build) {
    // ASan's quarantine and TSan's shadow keep freed memory on purpose; leaks
    // are LeakSanitizer's job there.
    MESSAGE("RSS not checked in a sanitizer build");
  } else {
    // Wide bound: allocator fragmentation, not a leak per dial (10,000 dials
    // leaking even 1 KiB each would add 10 MiB).
    CHECK(rss_after <= rss_before + 8 * 1024);
  }
}

// Dials by name whose queries are all in flight at once to a nameserver that
// never answers (distinct names: no cache hit, no shared lookup), measured,
// then cancelled. 1,000 ask both families (2,000 queries); 10,000 ask IPv4
// only, since a process may hold 20,000 descriptors (the hard limit of the CI
// machines) and two queries a dial would need them all. Sanitizer builds run
// fewer (ASan makes every dial several times slower) and do not check RSS:
// their quarantine and shadow keep memory on purpose.
TEST_CASE("load: dials by name waiting on a silent nameserver cost a few KiB each, and end at once when cancelled") {
  heyes::test::raise_fd_limit();
  heyes::test::SilentUdpPort silent;
  heyes::DialerOptions o;
  o.resolver.config.nameservers = {{addr("127.0.0.1"), silent.port()}};
  o.resolver.config.timeout = 30s;  // nothing times out while held: only the cancellation ends them
  o.resolver.config.attempts = 1;
  heyes::Dialer dialer(std::move(o));
  asio::io_context ioc;
  struct Case {
    int dials;
    heyes::FamilyRestriction family;
    int queries_per_dial;
  };
  const std::vector<Case> cases = sanitized_build
                                      ? std::vector<Case>{{100, heyes::FamilyRestriction::any, 2},
                                                          {1'000, heyes::FamilyRestriction::v4, 1}}
                                      : std::vector<Case>{{1'000, heyes::FamilyRestriction::any, 2},
                                                          {10'000, heyes::FamilyRestriction::v4, 1}};
  constexpr long bound_kib_per_dial = 16;
  auto name = [](int i) { return "silent-" + std::to_string(i) + ".load.heyes.test"; };
  // Warm-up: the Dialer's pools and the allocator's arenas reach their size.
  heyes::DialOptions warm;
  warm.addrconfig = false;
  heyes::test::hold_in_flight(ioc, dialer, 100, name, "9", warm, [] {}, 20s);

  for (const Case& c : cases) {
    CAPTURE(c.dials);
    heyes::DialOptions d;
    d.addrconfig = false;  // loopback has both families whatever the host has
    d.family = c.family;
    d.timeout = 30s;
    const int fds_before = heyes::test::count_open_fds();
    const long rss_before = rss_after_trim();
    int fds_held = 0;
    long rss_held = 0;
    const auto start = Clock::now();
    auto run = heyes::test::hold_in_flight(ioc, dialer, c.dials, name, "9", d, [&] {
      fds_held = heyes::test::count_open_fds();
      rss_held = heyes::test::resident_kib();
    }, 20s);
    const auto took = std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() - start);
    CHECK(run.completed == c.dials);
    CHECK(run.aborted == c.dials);
    CHECK(fds_held - fds_before >= c.dials * c.queries_per_dial);  // every query was in flight
    CHECK(heyes::test::count_open_fds() == fds_before);
    const long growth = rss_held - rss_before;
    MESSAGE(c.dials, " dials by name in flight (", c.dials * c.queries_per_dial, " queries): RSS +", growth,
            " KiB, ", growth * 1024 / c.dials, " B a dial; started, measured and cancelled in ", took.count(), " ms");
    if (!sanitized_build) CHECK(growth <= bound_kib_per_dial * c.dials);
  }
}
