// SPDX-License-Identifier: MIT
// dns-bench: the cost of a resolver cache hit and the latency of a loopback query (not run by meson test).
#include <asio/io_context.hpp>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

#include "dns/cache.hpp"
#include "heyes/dns/resolver.hpp"
#include "support/fake_dns_server.hpp"

using namespace heyes;
using namespace heyes::dns;
using heyes::Clock;

namespace {

double us_since(Clock::time_point t0) { return std::chrono::duration<double, std::micro>(Clock::now() - t0).count(); }

double percentile(std::vector<double> v, double p) {
  std::sort(v.begin(), v.end());
  return v[std::min(v.size() - 1, static_cast<std::size_t>(p * static_cast<double>(v.size())))];
}

// One lookup run to completion on ioc; returns its wall time in µs.
double timed_lookup(Resolver& r, asio::io_context& ioc, const char* host, FamilySet f, int& failures) {
  int events = 0;
  const auto t0 = Clock::now();
  r.start(ioc.get_executor(), host, f, [&](const ResolveEvent& e) {
    ++events;
    if (e.error) ++failures;
  });
  ioc.restart();
  ioc.run();
  const double us = us_since(t0);
  if (events != (f.v4 + f.v6)) ++failures;
  return us;
}

void report(const char* what, const std::vector<double>& us, int failures) {
  std::printf("%-44s n=%-7zu median %8.2f us   p99 %8.2f us   failures %d\n", what, us.size(), percentile(us, 0.5),
              percentile(us, 0.99), failures);
}

}  // namespace

int main(int argc, char** argv) {
  const int n = argc > 1 ? std::max(100, std::atoi(argv[1])) : 2000;
  test::FakeDnsServer server;  // loopback only: never the machine's nameserver
  server->add_host("bench.example", {*IpAddress::parse("2001:db8::1"), *IpAddress::parse("192.0.2.1")}, 3600);
  ResolverOptions o;
  o.config.nameservers = {server->nameserver()};
  o.try_timeout = std::chrono::milliseconds(1000);
  asio::io_context ioc;

  // Loopback queries: no cache, so every lookup goes over UDP to the fake server.
  o.cache_entries = 0;
  auto uncached = Resolver::create(o);
  int failures = 0;
  std::vector<double> a_only, both;
  for (int i = 0; i < n; ++i) a_only.push_back(timed_lookup(*uncached, ioc, "bench.example", {false, true}, failures));
  report("loopback query, A only (UDP round trip)", a_only, failures);
  failures = 0;
  for (int i = 0; i < n; ++i) both.push_back(timed_lookup(*uncached, ioc, "bench.example", FamilySet::both(), failures));
  report("loopback lookup, AAAA + A in flight", both, failures);

  // Cache hits through the whole Resolver path (post, strand, event).
  o.cache_entries = 1024;
  auto cached = Resolver::create(o);
  failures = 0;
  timed_lookup(*cached, ioc, "bench.example", FamilySet::both(), failures);  // warm
  std::vector<double> hits;
  for (int i = 0; i < n * 10; ++i) hits.push_back(timed_lookup(*cached, ioc, "bench.example", FamilySet::both(), failures));
  report("cache hit, AAAA + A via Resolver::start", hits, failures);

  // The cache lookup alone.
  detail::Cache cache(1024);
  const auto now = Clock::now();
  cache.store("bench.example", RecordType::a, {{*IpAddress::parse("192.0.2.1")}, {}, "bench.example", std::chrono::seconds(3600)}, now);
  const int m = n * 500;
  const auto t0 = Clock::now();
  std::size_t found = 0;
  for (int i = 0; i < m; ++i) found += cache.find("bench.example", RecordType::a, now).has_value();
  const double per = us_since(t0) / m;
  std::printf("%-44s n=%-7d mean   %8.3f us   (%zu hits)\n", "Cache::find alone", m, per, found);
  return failures == 0 ? 0 : 1;
}
