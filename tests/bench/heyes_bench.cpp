// SPDX-License-Identifier: MIT
// heyes-bench: heyes' dial and resolver side by side with plain asio and getaddrinfo, as a table of ratios.
#include <malloc.h>
#include <netdb.h>
#include <sys/socket.h>
#include <sys/utsname.h>
#include <unistd.h>

#include <asio/executor_work_guard.hpp>
#include <asio/io_context.hpp>
#include <asio/ip/tcp.hpp>
#include <asio/post.hpp>
#include <fmt/core.h>

#include <algorithm>
#include <charconv>
#include <cstdio>
#include <cstdlib>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "alloc_counter.hpp"
#include "heyes/dial/dialer_options.hpp"
#include "harness.hpp"
#include "heyes/dial.hpp"
#include "heyes/dns/resolver.hpp"
#include "support/in_flight.hpp"
#include "support/loopback_targets.hpp"
#include "testing/test_server.hpp"

namespace heyes::bench {
namespace {

using asio::ip::tcp;

// Counts of one run; --quick divides them by ten for a smoke run.
struct Settings {
  int connects = 20000;    // sequential connects per side and repetition
  int concurrent = 1000;   // connects in flight at once
  int batches = 5;         // concurrent batches per side and repetition
  int reps = 5;            // repetitions; the table shows medians
  int alloc_dials = 2000;  // dials whose heap use is averaged
  int lookups = 20000;     // cache hits timed
  int queries = 2000;      // uncached DNS queries and getaddrinfo calls timed
  int only = 0;            // run only this section (1-6; for a profiler), 0 = all
  int baseline_delay_us = 0;  // user-space work the baseline does per connect (see usage)
};

constexpr const char* usage =
    "usage: heyes-bench [--quick] [--connects N] [--concurrent N] [--batches N] [--reps N]\n"
    "                   [--alloc-dials N] [--lookups N] [--queries N] [--only SECTION]\n"
    "                   [--baseline-delay-us N]\n"
    "Everything runs on loopback (127.0.0.1, a DNS server on 127.0.0.1, /etc/hosts).\n"
    "--baseline-delay-us N: plain asio's completion handler spins N microseconds before it\n"
    "hands the socket back, as if it did heyes' user-space work: how much of a ratio is\n"
    "that work and how much the timing of the close against the listener's accept.\n";

bool parse_count(std::string_view text, int& out) {
  auto [p, ec] = std::from_chars(text.data(), text.data() + text.size(), out);
  return ec == std::errc() && p == text.data() + text.size() && out > 0 && out <= 10'000'000;
}

// Returns false (after printing why) on a bad command line.
bool parse_settings(int argc, char** argv, Settings& s) {
  std::vector<std::pair<std::string_view, int*>> counts = {
      {"--connects", &s.connects}, {"--concurrent", &s.concurrent}, {"--batches", &s.batches},
      {"--reps", &s.reps},         {"--alloc-dials", &s.alloc_dials}, {"--lookups", &s.lookups},
      {"--queries", &s.queries}, {"--only", &s.only}, {"--baseline-delay-us", &s.baseline_delay_us}};
  for (int i = 1; i < argc; ++i) {
    std::string_view arg = argv[i];
    if (arg == "--help" || arg == "-h") {
      std::fputs(usage, stdout);
      std::exit(0);
    }
    if (arg == "--quick") {
      s = Settings{2000, 200, 3, 3, 500, 2000, 200, s.only, s.baseline_delay_us};
      continue;
    }
    bool known = false;
    for (auto& [name, field] : counts) {
      if (arg != name) continue;
      known = true;
      if (i + 1 >= argc || !parse_count(argv[++i], *field)) {
        std::fprintf(stderr, "heyes-bench: %.*s needs a count from 1 to 10000000\n", static_cast<int>(name.size()),
                     name.data());
        return false;
      }
    }
    if (!known) {
      std::fprintf(stderr, "heyes-bench: unknown argument '%s'\n%s", argv[i], usage);
      return false;
    }
  }
  return true;
}

// ---------------------------------------------------------------------------
// Contenders. Each starts one connect into a slot and calls done(ec, socket).

// Plain asio: a socket's own async_connect to the literal endpoint (the
// cheapest thing a user could write; it opens the socket itself). With a
// delay, its handler first spins that long (--baseline-delay-us).
class AsioConnector {
 public:
  AsioConnector(asio::io_context& ioc, tcp::endpoint ep, std::size_t slots, std::chrono::microseconds delay = {})
      : ioc_(ioc), ep_(ep), delay_(delay) {
    sockets_.reserve(slots);
    for (std::size_t i = 0; i < slots; ++i) sockets_.emplace_back(ioc_);
  }

  template <class Done>
  void start(std::size_t slot, Done done) {
    tcp::socket& s = sockets_[slot];
    s.async_connect(ep_, [&s, delay = delay_, done = std::move(done)](std::error_code ec) mutable {
      if (delay.count() > 0) {
        const auto until = std::chrono::steady_clock::now() + delay;
        while (std::chrono::steady_clock::now() < until) {
        }
      }
      done(ec, std::move(s));
    });
  }

 private:
  asio::io_context& ioc_;
  tcp::endpoint ep_;
  std::chrono::microseconds delay_;
  std::vector<tcp::socket> sockets_;
};

// heyes: async_dial on a Dialer (the process-wide default one for literals,
// or one whose resolver asks the loopback TestServer). With_result uses
// async_dial_result, the form that can keep the trace (async_dial never does).
class HeyesConnector {
 public:
  HeyesConnector(asio::io_context& ioc, heyes::Dialer& dialer, std::string host, std::string service,
                 heyes::DialOptions options, bool with_result = false)
      : ioc_(ioc),
        dialer_(dialer),
        host_(std::move(host)),
        service_(std::move(service)),
        options_(std::move(options)),
        with_result_(with_result) {}

  template <class Done>
  void start(std::size_t, Done done) {
    if (!with_result_) return dialer_.async_dial(ioc_.get_executor(), host_, service_, options_, std::move(done));
    dialer_.async_dial_result(ioc_.get_executor(), host_, service_, options_,
                              [done = std::move(done)](std::error_code ec, heyes::DialResult r) mutable {
                                done(ec, std::move(r.socket));
                              });
  }

 private:
  asio::io_context& ioc_;
  heyes::Dialer& dialer_;
  std::string host_;
  std::string service_;
  heyes::DialOptions options_;
  bool with_result_;
};

// ---------------------------------------------------------------------------
// Drivers.

// Counts a failed connect; the first of each run is printed, since a
// benchmark with failures measures the wrong thing.
void note_failure(const std::error_code& ec, int& failures) {
  if (failures++ == 0) fmt::print(stderr, "heyes-bench: a connect failed: {}\n", ec.message());
}

// n connects one after the other; each connected socket is reset at once.
template <class Connector>
Sample run_sequential(asio::io_context& ioc, Connector& c, int n) {
  struct Loop {
    Connector& c;
    int left;
    int failures = 0;
    Stopwatch watch;
    Sample result;
    void next() {
      c.start(0, [this](std::error_code ec, tcp::socket s) {
        if (ec) note_failure(ec, failures);
        discard(s);
        if (--left > 0) return next();
        result = {watch.wall_us(), watch.cpu_us(), failures};
      });
    }
  };
  Loop loop{c, n, 0, Stopwatch{}, Sample{}};
  ioc.restart();
  loop.watch.reset();
  loop.next();
  ioc.run();
  return {loop.result.wall_us / n, loop.result.cpu_us / n, loop.result.failures};
}

// n connects started at once, timed until the last one completes.
template <class Connector>
Sample run_concurrent(asio::io_context& ioc, Connector& c, int n) {
  int left = n;
  Sample batch;
  Stopwatch watch;
  ioc.restart();
  for (int i = 0; i < n; ++i) {
    c.start(static_cast<std::size_t>(i), [&](std::error_code ec, tcp::socket s) {
      if (ec) note_failure(ec, batch.failures);
      discard(s);
      if (--left == 0) batch = {watch.wall_us(), watch.cpu_us(), batch.failures};
    });
  }
  ioc.run();
  return batch;
}

// heyes and its baseline, medians over the repetitions.
struct Pair {
  Sample heyes;
  Sample base;
  double wall_ratio = 0;  // median of the per-repetition ratios
  double cpu_ratio = 0;
};

// Each repetition runs `chunks` chunks of each side, interleaved A B B A ...
// so that both sides see the same background load (the machine is shared),
// and averages them. The ratios are the medians of the per-repetition
// ratios, which pairs each heyes run with the baseline run beside it.
template <class H, class B>
Pair paired(int reps, int chunks, H run_heyes, B run_base) {
  std::vector<Sample> hs, bs;
  std::vector<double> wall_ratios, cpu_ratios;
  for (int r = 0; r < reps; ++r) {
    Sample h, b;
    auto add = [chunks](Sample& into, Sample one) {
      into.wall_us += one.wall_us / chunks;
      into.cpu_us += one.cpu_us / chunks;
      into.failures += one.failures;
    };
    for (int c = 0; c < chunks; ++c) {
      bool heyes_first = (c % 2 == 0);
      if (heyes_first) add(h, run_heyes());
      add(b, run_base());
      if (!heyes_first) add(h, run_heyes());
    }
    hs.push_back(h);
    bs.push_back(b);
    wall_ratios.push_back(h.wall_us / b.wall_us);
    cpu_ratios.push_back(h.cpu_us / b.cpu_us);
  }
  return {median_sample(hs), median_sample(bs), median(wall_ratios), median(cpu_ratios)};
}

// Heap use per operation.
struct AllocPerOp {
  double allocations = 0;
  double bytes = 0;
};

// n sequential connects after a short warm-up (asio recycles its operation
// memory, heyes fills its caches), counting every allocation made meanwhile
// by any thread but the listener's.
template <class Connector>
AllocPerOp allocs_per_connect(asio::io_context& ioc, Connector& c, int n) {
  run_sequential(ioc, c, std::min(n, 100));
  AllocTotals before = alloc_totals();
  Sample s = run_sequential(ioc, c, n);
  AllocTotals after = alloc_totals();
  if (s.failures) return {-1, -1};
  return {static_cast<double>(after.allocations - before.allocations) / n,
          static_cast<double>(after.bytes - before.bytes) / n};
}

// ---------------------------------------------------------------------------
// Resolver lookups, one after the other.

// n lookups of name, each started once the previous one has delivered an
// event for every family; a failed family counts as a failure.
Sample run_lookups(asio::io_context& ioc, heyes::dns::Resolver& resolver, const std::string& name, int n) {
  struct Loop {
    asio::io_context& ioc;
    heyes::dns::Resolver& resolver;
    const std::string& name;
    int left;
    int events = 0;
    int failures = 0;
    std::shared_ptr<heyes::dns::Resolver::Lookup> lookup;
    void next() {
      events = 0;
      lookup = resolver.start(ioc.get_executor(), name, heyes::FamilySet::both(), [this](const heyes::dns::ResolveEvent& e) {
        if (e.error && e.error != heyes::errc::no_data) note_failure(e.error, failures);
        // The next lookup starts outside this one's handler.
        if (++events == 2 && --left > 0) asio::post(ioc, [this] { next(); });
      });
    }
  };
  Loop loop{ioc, resolver, name, n, 0, 0, nullptr};
  ioc.restart();
  Stopwatch watch;
  loop.next();
  ioc.run();
  loop.lookup.reset();
  return {watch.wall_us() / n, watch.cpu_us() / n, loop.failures};
}

// ---------------------------------------------------------------------------
// getaddrinfo of a name of the hosts file: the system resolver's best case.

// True when /etc/nsswitch.conf consults files before anything else for
// hosts, so getaddrinfo("localhost") is answered from /etc/hosts and never
// reaches a nameserver.
bool hosts_from_files_first() {
  std::FILE* f = std::fopen("/etc/nsswitch.conf", "r");
  if (f == nullptr) return false;  // glibc without the file: "dns [!UNAVAIL=return] files"
  char line[512];
  bool files_first = false;
  while (std::fgets(line, sizeof line, f)) {
    std::string_view l = line;
    if (l.rfind("hosts:", 0) != 0) continue;
    l.remove_prefix(6);
    l.remove_prefix(std::min(l.find_first_not_of(" \t"), l.size()));
    files_first = l.rfind("files", 0) == 0;
  }
  std::fclose(f);
  return files_first;
}

// Average cost of getaddrinfo("localhost", "80", AI_NUMERICSERV); a wall of
// -1 when the call fails.
Sample getaddrinfo_cost(int n) {
  addrinfo hints{};
  hints.ai_socktype = SOCK_STREAM;
  hints.ai_flags = AI_NUMERICSERV;
  Stopwatch watch;
  for (int i = 0; i < n; ++i) {
    addrinfo* result = nullptr;
    if (getaddrinfo("localhost", "80", &hints, &result) != 0) return {-1, -1, 1};
    freeaddrinfo(result);
  }
  return {watch.wall_us() / n, watch.cpu_us() / n, 0};
}

// ---------------------------------------------------------------------------
// Table rows.

std::string us(double v) { return fmt::format("{:.1f} µs", v); }

// limit 0: reported only (still flagged when a connect failed).
Row ratio_row(std::string what, double heyes, double base, double ratio, double limit, int failures) {
  std::string note = failures ? fmt::format(" ({} failed)", failures) : "";
  if (limit <= 0) {
    std::optional<bool> pass;
    if (failures) pass = false;
    return {std::move(what), us(heyes) + note, us(base), ratio, "", pass};
  }
  Row row{std::move(what), us(heyes) + note, us(base), ratio, fmt::format("≤ {:.2f}", limit),
          failures == 0 && ratio <= limit};
  row.limit = limit;
  return row;
}

// Wall and CPU rows of one heyes/baseline pair.
void add_pair_rows(std::vector<Row>& rows, const std::string& what, const Pair& p, double limit) {
  int failures = p.heyes.failures + p.base.failures;
  rows.push_back(ratio_row(what + ", wall", p.heyes.wall_us, p.base.wall_us, p.wall_ratio, limit, failures));
  rows.push_back(ratio_row(what + ", CPU", p.heyes.cpu_us, p.base.cpu_us, p.cpu_ratio, limit, failures));
}

}  // namespace

void judge_against_noise(std::vector<Row>& rows, double noise) {
  noise = std::max(noise, 1.0);
  for (auto& r : rows) {
    if (r.limit <= 0 || !r.ratio || !r.pass) continue;
    bool failed = r.heyes.find("failed)") != std::string::npos;
    r.within_noise = false;
    if (failed || *r.ratio > r.limit * noise) {
      r.pass = false;
    } else if (*r.ratio <= r.limit / noise) {
      r.pass = true;
    } else {
      r.within_noise = true;
    }
  }
}

void print_table(const std::vector<Row>& rows) {
  fmt::print("| measure | heyes | baseline | ratio | target | result |\n");
  fmt::print("| --- | ---: | ---: | ---: | --- | --- |\n");
  for (const auto& r : rows) {
    std::string ratio = r.ratio ? fmt::format("{:.2f}", *r.ratio) : "";
    std::string result = r.within_noise ? "within noise" : r.pass ? (*r.pass ? "PASS" : "MISS") : "reported";
    fmt::print("| {} | {} | {} | {} | {} | {} |\n", r.what, r.heyes, r.baseline, ratio, r.target, result);
  }
}

// ---------------------------------------------------------------------------
// The loopback world of one run.

// The scriptable DNS server on its own thread (not counted in the client's
// CPU time nor in its allocations).
class DnsThread {
 public:
  DnsThread() : server_(std::make_unique<heyes::dns::TestServer>(ioc_.get_executor())) {
    thread_ = std::thread([this] {
      exclude_this_thread_from_alloc_count();
      ioc_.run();
    });
  }
  ~DnsThread() {
    asio::post(ioc_, [this] { server_->close(); });
    work_.reset();
    thread_.join();
  }
  heyes::dns::TestServer& server() { return *server_; }

 private:
  asio::io_context ioc_;
  std::optional<asio::executor_work_guard<asio::io_context::executor_type>> work_{ioc_.get_executor()};
  std::unique_ptr<heyes::dns::TestServer> server_;
  std::thread thread_;
};

constexpr const char* bench_name = "bench.heyes.test";

class Bench {
 public:
  explicit Bench(const Settings& s) : s_(s), plain_(ioc_, endpoint(), static_cast<std::size_t>(s.concurrent),
                                                   std::chrono::microseconds(s.baseline_delay_us)) {
    // A: 127.0.0.1 for an hour; AAAA: NODATA, negatively cached for as long.
    heyes::dns::TestAnswer nodata;
    nodata.negative_ttl = 3600;
    dns_.server().add_host(bench_name, {*heyes::IpAddress::parse("127.0.0.1")}, 3600);
    dns_.server().set(bench_name, heyes::dns::RecordType::aaaa, nodata);
    dialer_ = std::make_unique<heyes::Dialer>(dialer_options(1024));
  }

  // Every section, or the one of --only (numbered as in the table).
  void run() {
    auto section = [&](int n) { return s_.only == 0 || s_.only == n; };
    if (section(1)) literal_sequential();
    if (section(2)) name_sequential();
    if (section(3)) name_concurrent();
    if (section(4)) heap_per_dial();
    if (section(5)) resolver_costs();
    if (section(6)) memory_in_flight();
    // Always: the verdicts of the timed rows are weighed against it.
    double noise = noise_floor();
    judge_against_noise(rows_, noise);
  }
  const std::vector<Row>& rows() const { return rows_; }

 private:
  tcp::endpoint endpoint() const { return {asio::ip::make_address("127.0.0.1"), listener_.port()}; }
  std::string service() const { return std::to_string(listener_.port()); }
  int chunk() const { return std::min(s_.connects, 1000); }
  int chunks() const { return s_.connects / chunk(); }

  // A Dialer that asks only the loopback TestServer, with no hosts file.
  heyes::DialerOptions dialer_options(std::size_t cache_entries) {
    heyes::DialerOptions o;
    o.resolver.config.nameservers = {dns_.server().nameserver()};
    o.resolver.config.timeout = std::chrono::seconds(1);
    o.resolver.cache_entries = cache_entries;
    return o;
  }
  static heyes::DialOptions trace(bool on) {
    heyes::DialOptions o;
    o.keep_trace = on;
    return o;
  }

  // (1) A literal: the process-wide default Dialer, default options.
  void literal_sequential() {
    HeyesConnector h(ioc_, heyes::Dialer::default_dialer(), "127.0.0.1", service(), {});
    auto hr = [&] { return run_sequential(ioc_, h, chunk()); };
    auto br = [&] { return run_sequential(ioc_, plain_, chunk()); };
    add_pair_rows(rows_, "(1) literal 127.0.0.1, sequential", paired(s_.reps, chunks(), hr, br), 1.10);
    // The trace costs formatting and allocations: reported, not targeted.
    HeyesConnector q(ioc_, heyes::Dialer::default_dialer(), "127.0.0.1", service(), trace(true), true);
    auto qr = [&] { return run_sequential(ioc_, q, chunk()); };
    add_pair_rows(rows_, "(1) literal, async_dial_result, trace on", paired(s_.reps, chunks(), qr, br), 0);
  }

  // (2) By name, the cache warm, against plain asio to the literal.
  void name_sequential() {
    HeyesConnector h(ioc_, *dialer_, bench_name, service(), {});
    run_sequential(ioc_, h, 10);  // warms the cache
    std::size_t queries = dns_.server().queries().size();
    auto hr = [&] { return run_sequential(ioc_, h, chunk()); };
    auto br = [&] { return run_sequential(ioc_, plain_, chunk()); };
    add_pair_rows(rows_, "(2) by name, warm cache, sequential", paired(s_.reps, chunks(), hr, br), 1.25);
    check_no_queries(queries, "(2)");
  }

  // (3) 1,000 at once by name (cache warm) against 1,000 plain asio connects.
  void name_concurrent() {
    HeyesConnector h(ioc_, *dialer_, bench_name, service(), {});
    run_sequential(ioc_, h, 10);
    std::size_t queries = dns_.server().queries().size();
    auto hr = [&] { return run_concurrent(ioc_, h, s_.concurrent); };
    auto br = [&] { return run_concurrent(ioc_, plain_, s_.concurrent); };
    auto what = fmt::format("(3) by name, {} concurrent, per batch", s_.concurrent);
    add_pair_rows(rows_, what, paired(s_.reps, s_.batches, hr, br), 1.25);
    check_no_queries(queries, "(3)");
  }

  // A warm cache means no DNS traffic; say so if there was some.
  void check_no_queries(std::size_t before, const char* what) {
    std::size_t sent = dns_.server().queries().size() - before;
    if (sent) fmt::print(stderr, "heyes-bench: {}: {} DNS queries with a warm cache\n", what, sent);
  }

  // (4) Heap bytes and allocations per dial.
  void heap_per_dial() {
    AllocPerOp base = allocs_per_connect(ioc_, plain_, s_.alloc_dials);
    HeyesConnector off(ioc_, heyes::Dialer::default_dialer(), "127.0.0.1", service(), trace(false));
    add_heap_rows("(4) heap per dial, literal, trace off", allocs_per_connect(ioc_, off, s_.alloc_dials), base, true);
    HeyesConnector on(ioc_, heyes::Dialer::default_dialer(), "127.0.0.1", service(), trace(true), true);
    add_heap_rows("(4) heap per dial, literal, trace on (async_dial_result)", allocs_per_connect(ioc_, on, s_.alloc_dials),
                  base, false);
    HeyesConnector name(ioc_, *dialer_, bench_name, service(), trace(false));
    add_heap_rows("(4) heap per dial, by name (cache hit), trace off", allocs_per_connect(ioc_, name, s_.alloc_dials),
                  base, false);
  }

  void add_heap_rows(const std::string& what, AllocPerOp h, AllocPerOp base, bool targeted) {
    auto target = [&](bool ok) { return targeted ? std::optional<bool>(ok && h.bytes >= 0) : std::nullopt; };
    rows_.push_back({what + ": allocations", fmt::format("{:.1f}", h.allocations),
                     fmt::format("{:.1f} (asio)", base.allocations), std::nullopt, targeted ? "≤ 32" : "",
                     target(h.allocations <= 32)});
    rows_.push_back({what + ": bytes", fmt::format("{:.0f} B", h.bytes), fmt::format("{:.0f} B (asio)", base.bytes),
                     std::nullopt, targeted ? "≤ 4096 B" : "", target(h.bytes <= 4096)});
  }

  // (5) The resolver: a cache hit, an uncached query to the loopback DNS
  // server, a hosts-file answer; getaddrinfo of a hosts-file name beside.
  void resolver_costs() {
    std::string why_not;
    Sample gai{-1, -1, 1};
    if (hosts_from_files_first()) gai = getaddrinfo_cost(s_.queries);
    auto cached = heyes::dns::Resolver::create(dialer_options(1024).resolver);
    run_lookups(ioc_, *cached, bench_name, 1);
    reported(rows_, "(5) lookup, cache hit (A + negative AAAA)", run_lookups(ioc_, *cached, bench_name, s_.lookups),
             gai);
    auto uncached = heyes::dns::Resolver::create(dialer_options(0).resolver);
    reported(rows_, "(5) lookup, uncached: AAAA + A to the loopback DNS server",
             run_lookups(ioc_, *uncached, bench_name, s_.queries), gai);
    auto with_hosts = dialer_options(0).resolver;
    with_hosts.hosts.add("bench-hosts.heyes.test", *heyes::IpAddress::parse("127.0.0.1"));
    auto hosts = heyes::dns::Resolver::create(with_hosts);
    reported(rows_, "(5) lookup, hosts file", run_lookups(ioc_, *hosts, "bench-hosts.heyes.test", s_.queries), gai);
  }

  static void reported(std::vector<Row>& rows, const std::string& what, Sample h, Sample gai) {
    std::string base = gai.wall_us < 0 ? "n/a" : us(gai.wall_us) + " (getaddrinfo)";
    std::optional<double> ratio;
    if (gai.wall_us > 0) ratio = h.wall_us / gai.wall_us;
    rows.push_back({what + ", wall", us(h.wall_us), base, ratio, "", std::nullopt});
  }

  // (6) What a dial costs while it waits: N dials by name to a nameserver
  // that never answers (AAAA and A queries in flight), against N dials to a
  // literal whose connect hangs (a black-hole port), each held until
  // measured, then cancelled. Heap: bytes live through operator new; RSS:
  // growth of the resident set (after malloc_trim). Medians over the
  // repetitions, the two kinds interleaved.
  void memory_in_flight() {
    heyes::test::SilentUdpPort silent;
    heyes::test::BlackholeListener hole;
    heyes::DialerOptions o;
    o.resolver.config.nameservers = {{*heyes::IpAddress::parse("127.0.0.1"), silent.port()}};
    o.resolver.config.timeout = std::chrono::seconds(30);  // nothing times out while held
    o.resolver.config.attempts = 1;
    heyes::Dialer by_name(std::move(o));
    heyes::DialOptions d;
    d.addrconfig = false;  // both families asked whatever this host has
    d.timeout = std::chrono::seconds(30);
    const int n = s_.concurrent;
    const std::string port = std::to_string(hole.port());
    int failures = 0;
    auto held = [&](heyes::Dialer& dialer, bool named) {
      malloc_trim(0);
      const long rss0 = heyes::test::resident_kib();
      const std::int64_t live0 = live_heap_bytes();
      std::int64_t live1 = 0;
      long rss1 = 0;
      auto host = [named](int i) {
        return named ? fmt::format("mem-{}.bench.heyes.test", i) : std::string("127.0.0.1");
      };
      auto run = heyes::test::hold_in_flight(ioc_, dialer, n, host, port, d, [&] {
        live1 = live_heap_bytes();
        rss1 = heyes::test::resident_kib();
      }, std::chrono::seconds(10));
      if (run.aborted != n) ++failures;
      return std::pair{static_cast<double>(live1 - live0) / n, static_cast<double>(rss1 - rss0) * 1024 / n};
    };
    held(by_name, true);  // warm-up: pools, the history, the allocator's arenas
    std::vector<double> heap_name, rss_name, heap_literal, rss_literal;
    for (int r = 0; r < s_.reps; ++r) {
      auto a = held(by_name, true);
      auto b = held(heyes::Dialer::default_dialer(), false);
      heap_name.push_back(a.first);
      rss_name.push_back(a.second);
      heap_literal.push_back(b.first);
      rss_literal.push_back(b.second);
    }
    auto row = [&](const char* what, double heyes, double base) {
      rows_.push_back({fmt::format("(6) memory per in-flight dial by name ({} in flight, silent DNS server): {}", n,
                                   what),
                       fmt::format("{:.0f} B", heyes), fmt::format("{:.0f} B (literal in flight)", base),
                       std::nullopt, "≤ 8192 B", failures == 0 && heyes <= 8192});
    };
    row("heap", median(heap_name), median(heap_literal));
    row("RSS", median(rss_name), median(rss_literal));
    if (failures) fmt::print(stderr, "heyes-bench: (6): {} runs did not end by cancellation\n", failures);
  }

  // What ratio noise alone gives on this machine: plain asio against
  // itself; returns the noise factor, max(ratio, 1/ratio).
  double noise_floor() {
    auto br = [&] { return run_sequential(ioc_, plain_, chunk()); };
    Pair p = paired(s_.reps, chunks(), br, br);
    double noise = p.wall_ratio > 0 ? std::max(p.wall_ratio, 1 / p.wall_ratio) : 1.0;
    rows_.push_back({"noise floor: asio vs asio, sequential, wall", us(p.heyes.wall_us), us(p.base.wall_us),
                     p.wall_ratio, fmt::format("timed verdicts: ×/÷ {:.2f}", noise), std::nullopt});
    return noise;
  }

  Settings s_;
  heyes::test::AcceptingListener listener_{"127.0.0.1", exclude_this_thread_from_alloc_count};
  DnsThread dns_;
  asio::io_context ioc_;
  AsioConnector plain_;
  std::unique_ptr<heyes::Dialer> dialer_;
  std::vector<Row> rows_;
};

// What the table was made on, for the README.
void print_context(const Settings& s) {
  utsname u{};
  uname(&u);
  double load[3] = {0, 0, 0};
  getloadavg(load, 3);
  fmt::print("heyes-bench: {} {} {}, {} CPUs, load {:.2f}; g++ {}; {} sequential connects, {} concurrent x {} "
             "batches, {} repetitions (medians){}\n\n",
             u.sysname, u.release, u.machine, sysconf(_SC_NPROCESSORS_ONLN), load[0], __VERSION__, s.connects,
             s.concurrent, s.batches, s.reps,
             s.baseline_delay_us ? fmt::format("; the baseline spins {} µs per connect", s.baseline_delay_us) : "");
}

}  // namespace heyes::bench

int main(int argc, char** argv) {
  using namespace heyes::bench;
  Settings s;
  if (!parse_settings(argc, argv, s)) return 2;
  heyes::test::raise_fd_limit();
  print_context(s);
  Bench bench(s);
  bench.run();
  print_table(bench.rows());
  return 0;
}
