// SPDX-License-Identifier: MIT
// heyes-bench: heyes' dial and resolver side by side with plain asio and getaddrinfo, as a table of ratios.
#include <netdb.h>
#include <sys/socket.h>
#include <sys/utsname.h>
#include <unistd.h>

#include <algorithm>
#include <asio/io_context.hpp>
#include <asio/ip/tcp.hpp>
#include <charconv>
#include <cstdio>
#include <cstdlib>
#include <fmt/core.h>
#include <string>
#include <string_view>
#include <vector>

#include "alloc_counter.hpp"
#include "harness.hpp"
#include "support/loopback_targets.hpp"

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
};

constexpr const char* usage =
    "usage: heyes-bench [--quick] [--connects N] [--concurrent N] [--batches N] [--reps N]\n"
    "                   [--alloc-dials N] [--lookups N] [--queries N]\n"
    "Everything runs on loopback (127.0.0.1, a DNS server on 127.0.0.1, /etc/hosts).\n";

bool parse_count(std::string_view text, int& out) {
  auto [p, ec] = std::from_chars(text.data(), text.data() + text.size(), out);
  return ec == std::errc() && p == text.data() + text.size() && out > 0 && out <= 10'000'000;
}

// Returns false (after printing why) on a bad command line.
bool parse_settings(int argc, char** argv, Settings& s) {
  std::vector<std::pair<std::string_view, int*>> counts = {
      {"--connects", &s.connects}, {"--concurrent", &s.concurrent}, {"--batches", &s.batches},
      {"--reps", &s.reps},         {"--alloc-dials", &s.alloc_dials}, {"--lookups", &s.lookups},
      {"--queries", &s.queries}};
  for (int i = 1; i < argc; ++i) {
    std::string_view arg = argv[i];
    if (arg == "--quick") {
      s = Settings{2000, 200, 3, 3, 500, 2000, 200};
      continue;
    }
    bool known = false;
    for (auto& [name, field] : counts) {
      if (arg != name) continue;
      known = true;
      if (i + 1 >= argc || !parse_count(argv[++i], *field)) {
        std::fprintf(stderr, "heyes-bench: %s needs a count from 1 to 10000000\n", argv[i - 1]);
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
// cheapest thing a user could write; it opens the socket itself).
class AsioConnector {
 public:
  AsioConnector(asio::io_context& ioc, tcp::endpoint ep, std::size_t slots) : ioc_(ioc), ep_(ep) {
    sockets_.reserve(slots);
    for (std::size_t i = 0; i < slots; ++i) sockets_.emplace_back(ioc_);
  }

  template <class Done>
  void start(std::size_t slot, Done done) {
    tcp::socket& s = sockets_[slot];
    s.async_connect(ep_, [&s, done = std::move(done)](std::error_code ec) mutable { done(ec, std::move(s)); });
  }

 private:
  asio::io_context& ioc_;
  tcp::endpoint ep_;
  std::vector<tcp::socket> sockets_;
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

// ---------------------------------------------------------------------------
// Table rows.

std::string us(double v) { return fmt::format("{:.1f} µs", v); }

Row ratio_row(std::string what, double heyes, double base, double ratio, double limit, int failures) {
  std::string note = failures ? fmt::format(" ({} failed)", failures) : "";
  return {std::move(what), us(heyes) + note, us(base), ratio, fmt::format("≤ {:.2f}", limit),
          failures == 0 && ratio <= limit};
}

// Wall and CPU rows of one heyes/baseline pair.
void add_pair_rows(std::vector<Row>& rows, const std::string& what, const Pair& p, double limit) {
  int failures = p.heyes.failures + p.base.failures;
  rows.push_back(ratio_row(what + ", wall", p.heyes.wall_us, p.base.wall_us, p.wall_ratio, limit, failures));
  rows.push_back(ratio_row(what + ", CPU", p.heyes.cpu_us, p.base.cpu_us, p.cpu_ratio, limit, failures));
}

}  // namespace

void print_table(const std::vector<Row>& rows) {
  fmt::print("| measure | heyes | baseline | ratio | target | result |\n");
  fmt::print("| --- | ---: | ---: | ---: | --- | --- |\n");
  for (const auto& r : rows) {
    std::string ratio = r.ratio ? fmt::format("{:.2f}", *r.ratio) : "";
    std::string result = r.pass ? (*r.pass ? "PASS" : "MISS") : "reported";
    fmt::print("| {} | {} | {} | {} | {} | {} |\n", r.what, r.heyes, r.baseline, ratio, r.target, result);
  }
}

}  // namespace heyes::bench

int main(int argc, char** argv) {
  using namespace heyes::bench;
  Settings s;
  if (!parse_settings(argc, argv, s)) return 2;
  heyes::test::raise_fd_limit();

  heyes::test::AcceptingListener listener("127.0.0.1", exclude_this_thread_from_alloc_count);
  asio::io_context ioc(1);
  tcp::endpoint ep(asio::ip::make_address("127.0.0.1"), listener.port());
  AsioConnector plain(ioc, ep, static_cast<std::size_t>(s.concurrent));

  std::vector<Row> rows;
  int chunk = std::min(s.connects, 1000);
  auto seq = [&] { return run_sequential(ioc, plain, chunk); };
  add_pair_rows(rows, "literal, sequential (asio vs asio)", paired(s.reps, s.connects / chunk, seq, seq), 1.10);
  auto conc = [&] { return run_concurrent(ioc, plain, s.concurrent); };
  add_pair_rows(rows, "concurrent (asio vs asio)", paired(s.reps, s.batches, conc, conc), 1.25);
  print_table(rows);
  return 0;
}
