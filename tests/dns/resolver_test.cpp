// SPDX-License-Identifier: MIT
// The Resolver against the fake DNS server: per-family events, sources, failover, cache, search list, cancel.
#include <doctest/doctest.h>

#include <asio/bind_cancellation_slot.hpp>
#include <asio/io_context.hpp>
#include <asio/ip/udp.hpp>
#include <asio/thread_pool.hpp>
#include <asio/use_future.hpp>

#include <atomic>
#include <filesystem>
#include <fstream>

#include <fcntl.h>
#include <signal.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <thread>

#include "heyes/dns/resolver.hpp"
#include "heyes/error.hpp"
#include "support/fake_dns_server.hpp"
#include "support/host_requirements.hpp"

using namespace heyes;
using namespace heyes::dns;
using namespace std::chrono_literals;
using heyes::test::FakeDnsServer;
using heyes::test::options_for;
using ms = std::chrono::milliseconds;

namespace {

IpAddress ip(const char* s) { return *IpAddress::parse(s); }

struct Run {
  std::vector<std::pair<ResolveEvent, ms>> events;
  std::vector<QueryNote> queries;
  std::size_t events_inside_start = 0;

  const ResolveEvent* event(Family f) const {
    for (const auto& [e, t] : events)
      if (e.family == f) return &e;
    return nullptr;
  }
  ms at(Family f) const {
    for (const auto& [e, t] : events)
      if (e.family == f) return t;
    return ms(-1);
  }
};

// One lookup on a private io_context, bounded to 10 s; on_event may act on the lookup.
Run resolve(Resolver& r, std::string_view host, FamilySet f = FamilySet::both(),
            std::function<void(Resolver::Lookup&, const ResolveEvent&)> on_event = {}) {
  asio::io_context ioc;
  Run run;
  const auto t0 = std::chrono::steady_clock::now();
  std::shared_ptr<Resolver::Lookup> lookup;
  lookup = r.start(
      ioc.get_executor(), host, f,
      [&](const ResolveEvent& e) {
        run.events.emplace_back(e, std::chrono::duration_cast<ms>(std::chrono::steady_clock::now() - t0));
        if (on_event) on_event(*lookup, e);
      },
      [&](const QueryNote& q) { run.queries.push_back(q); });
  run.events_inside_start = run.events.size();
  ioc.run_for(10s);
  return run;
}

// Entries of /proc/self/fd: the descriptors this process has open.
std::size_t open_fds() {
  std::size_t n = 0;
  for ([[maybe_unused]] const auto& e : std::filesystem::directory_iterator("/proc/self/fd")) ++n;
  return n;
}

// half.example.com: AAAA fails (SERVFAIL, never cached), A is 192.0.2.2 for 300 s.
void add_half_answer(FakeDnsServer& server) {
  TestAnswer fail;
  fail.rcode = Rcode::servfail;
  server->set("half.example.com", RecordType::aaaa, fail);
  TestAnswer a;
  a.records = {Record::a("half.example.com", ip("192.0.2.2"), 300)};
  server->set("half.example.com", RecordType::a, a);
}

std::vector<IpAddress> addrs(const ResolveEvent* e) { return e ? e->addresses : std::vector<IpAddress>{}; }

Nameserver dead_port() {
  asio::io_context ioc;
  asio::ip::udp::socket s(ioc, {asio::ip::make_address("127.0.0.1"), 0});
  return {ip("127.0.0.1"), s.local_endpoint().port()};
}

}  // namespace

TEST_CASE("address literals skip DNS, the other family gets no_data") {
  FakeDnsServer server;
  auto r = Resolver::create(options_for({server->nameserver()}));
  auto run = resolve(*r, "192.0.2.1");
  CHECK(run.events_inside_start == 0);
  REQUIRE(run.events.size() == 2);
  CHECK(addrs(run.event(Family::v4)) == std::vector{ip("192.0.2.1")});
  CHECK(run.event(Family::v4)->source == "literal");
  CHECK(run.event(Family::v6)->error == errc::no_data);
  auto v6 = resolve(*r, "[2001:db8::1]");
  CHECK(addrs(v6.event(Family::v6)) == std::vector{ip("2001:db8::1")});
  CHECK(server->queries().empty());
}

TEST_CASE("invalid names fail before anything is sent") {
  FakeDnsServer server;
  auto r = Resolver::create(options_for({server->nameserver()}));
  for (std::string bad : {std::string("a..b"), std::string(64, 'x') + ".example", std::string(""), std::string("bad name")}) {
    CAPTURE(bad);
    auto run = resolve(*r, bad);
    REQUIRE(run.events.size() == 2);
    CHECK(run.event(Family::v6)->error == errc::bad_host_name);
    CHECK(run.event(Family::v4)->error == errc::bad_host_name);
  }
  CHECK(server->queries().empty());
}

TEST_CASE("localhost names and the hosts file answer without DNS") {
  FakeDnsServer server;
  auto o = options_for({server->nameserver()});
  o.hosts.add("printer.lan", ip("192.0.2.9"));
  o.hosts.add("localhost", ip("192.0.2.10"));  // RFC 6761 wins over the hosts file
  auto r = Resolver::create(o);
  for (const char* name : {"localhost", "LocalHost.", "api.localhost"}) {
    auto run = resolve(*r, name);
    CHECK(addrs(run.event(Family::v6)) == std::vector{ip("::1")});
    CHECK(addrs(run.event(Family::v4)) == std::vector{ip("127.0.0.1")});
    CHECK(run.event(Family::v4)->source == "localhost");
  }
  auto hosts = resolve(*r, "Printer.LAN");
  CHECK(addrs(hosts.event(Family::v4)) == std::vector{ip("192.0.2.9")});
  CHECK(hosts.event(Family::v4)->source == "hosts");
  CHECK(hosts.event(Family::v6)->error == errc::no_data);
  CHECK(server->queries().empty());
}

TEST_CASE("AAAA is sent first, then A, and each family has its event") {
  FakeDnsServer server;
  server->add_host("www.example.com", {ip("2001:db8::1"), ip("192.0.2.1")}, 120);
  auto r = Resolver::create(options_for({server->nameserver()}));
  auto run = resolve(*r, "www.example.com");
  REQUIRE(run.events.size() == 2);
  CHECK(addrs(run.event(Family::v6)) == std::vector{ip("2001:db8::1")});
  CHECK(addrs(run.event(Family::v4)) == std::vector{ip("192.0.2.1")});
  CHECK(run.event(Family::v6)->source == "dns");
  CHECK(run.event(Family::v6)->ttl == 120s);
  CHECK(run.event(Family::v6)->name == "www.example.com");
  auto q = server->queries();
  REQUIRE(q.size() == 2);
  CHECK(q[0].type == RecordType::aaaa);
  CHECK(q[1].type == RecordType::a);
  REQUIRE(run.queries.size() == 2);
  CHECK(run.queries[0].family == Family::v6);
  CHECK(run.queries[0].server == server->nameserver().to_string());
}

TEST_CASE("AAAA delayed 1 s: the A event arrives at once, AAAA when it comes") {
  FakeDnsServer server;
  TestAnswer slow;
  slow.records = {Record::a("slow.example.com", ip("2001:db8::2"), 60)};
  slow.delay = 1000ms;
  server->set("slow.example.com", RecordType::aaaa, slow);
  TestAnswer fast;
  fast.records = {Record::a("slow.example.com", ip("192.0.2.2"), 60)};
  server->set("slow.example.com", RecordType::a, fast);
  auto o = options_for({server->nameserver()});
  o.try_timeout = 3000ms;
  auto r = Resolver::create(o);
  auto run = resolve(*r, "slow.example.com");
  REQUIRE(run.events.size() == 2);
  CHECK(run.events[0].first.family == Family::v4);
  CHECK(run.at(Family::v4) < 500ms);
  CHECK(run.at(Family::v6) >= 900ms);
  CHECK(run.at(Family::v6) < 3000ms);
  CHECK(addrs(run.event(Family::v6)) == std::vector{ip("2001:db8::2")});
}

TEST_CASE("AAAA dropped: A at once, AAAA times out") {
  FakeDnsServer server;
  TestAnswer drop;
  drop.drop = true;
  server->set("v6hole.example.com", RecordType::aaaa, drop);
  TestAnswer a;
  a.records = {Record::a("v6hole.example.com", ip("192.0.2.3"), 60)};
  server->set("v6hole.example.com", RecordType::a, a);
  auto o = options_for({server->nameserver()});
  o.try_timeout = 1000ms;
  auto r = Resolver::create(o);
  auto run = resolve(*r, "v6hole.example.com");
  REQUIRE(run.events.size() == 2);
  CHECK(run.events[0].first.family == Family::v4);
  CHECK(run.at(Family::v4) < 500ms);
  CHECK(run.event(Family::v6)->error == errc::dns_timeout);
  CHECK(run.at(Family::v6) >= 950ms);
  CHECK(run.at(Family::v6) < 5000ms);
}

TEST_CASE("first server dead, second answers; spoofed answers ignored; TC -> TCP") {
  FakeDnsServer server;
  server->add_host("www.example.com", {ip("2001:db8::1"), ip("192.0.2.1")});
  auto dead_first = options_for({dead_port(), server->nameserver()});
  dead_first.try_timeout = 2000ms;
  auto r = Resolver::create(dead_first);
  auto run = resolve(*r, "www.example.com");
  CHECK(addrs(run.event(Family::v4)) == std::vector{ip("192.0.2.1")});
  CHECK(run.at(Family::v4) < 1000ms);  // ICMP refused: the 2 s try timeout was not waited

  for (auto spoof : {TestAnswer::Spoof::wrong_id, TestAnswer::Spoof::wrong_question, TestAnswer::Spoof::wrong_port}) {
    TestAnswer a;
    a.records = {Record::a("spoof.example.com", ip("192.0.2.5"), 60)};
    a.spoof = spoof;
    a.delay = 50ms;
    server->set("spoof.example.com", RecordType::a, a);
    auto s = resolve(*Resolver::create(options_for({server->nameserver()})), "spoof.example.com", {false, true});
    CHECK(addrs(s.event(Family::v4)) == std::vector{ip("192.0.2.5")});
  }

  TestAnswer tc;
  tc.records = {Record::a("tc.example.com", ip("192.0.2.6"), 60)};
  tc.truncate = true;
  server->set("tc.example.com", RecordType::a, tc);
  auto t = resolve(*r, "tc.example.com", {false, true});
  CHECK(addrs(t.event(Family::v4)) == std::vector{ip("192.0.2.6")});
  REQUIRE_FALSE(t.queries.empty());
  CHECK(t.queries.back().server.ends_with("/tcp"));
}

TEST_CASE("SERVFAIL fails over; FORMERR to EDNS is retried without OPT") {
  FakeDnsServer bad, good;
  TestAnswer fail;
  fail.rcode = Rcode::servfail;
  bad->set("www.example.com", RecordType::a, fail);
  good->add_host("www.example.com", {ip("192.0.2.1")});
  auto r = Resolver::create(options_for({bad->nameserver(), good->nameserver()}));
  auto run = resolve(*r, "www.example.com", {false, true});
  CHECK(addrs(run.event(Family::v4)) == std::vector{ip("192.0.2.1")});

  TestAnswer old;
  old.records = {Record::a("old.example.com", ip("192.0.2.7"), 60)};
  old.formerr_on_edns = true;
  good->set("old.example.com", RecordType::a, old);
  auto f = resolve(*Resolver::create(options_for({good->nameserver()})), "old.example.com", {false, true});
  CHECK(addrs(f.event(Family::v4)) == std::vector{ip("192.0.2.7")});
  auto q = good->queries();
  REQUIRE(q.size() >= 2);
  CHECK(q[q.size() - 2].edns);
  CHECK_FALSE(q.back().edns);

  auto alone = resolve(*Resolver::create(options_for({bad->nameserver()})), "www.example.com", {false, true});
  CHECK(alone.event(Family::v4)->error == errc::dns_server_failure);
}

TEST_CASE("CNAME chains: inside one answer, across queries, and loops") {
  FakeDnsServer server;
  TestAnswer chain;
  chain.records = {Record::cname("www.example.com", "edge.example.net", 300),
                   Record::a("edge.example.net", ip("192.0.2.8"), 30)};
  server->set("www.example.com", RecordType::a, chain);
  TestAnswer only_cname;
  only_cname.records = {Record::cname("alias.example.com", "target.example.org", 20)};
  server->set("alias.example.com", RecordType::a, only_cname);
  server->add_host("target.example.org", {ip("192.0.2.9")}, 600);
  TestAnswer loop;
  loop.records = {Record::cname("loop.example.com", "loop2.example.com", 60)};
  server->set("loop.example.com", RecordType::a, loop);
  TestAnswer loop2;
  loop2.records = {Record::cname("loop2.example.com", "loop.example.com", 60)};
  server->set("loop2.example.com", RecordType::a, loop2);

  auto r = Resolver::create(options_for({server->nameserver()}));
  auto in_one = resolve(*r, "www.example.com", {false, true});
  CHECK(addrs(in_one.event(Family::v4)) == std::vector{ip("192.0.2.8")});
  CHECK(in_one.event(Family::v4)->name == "edge.example.net");
  CHECK(in_one.event(Family::v4)->ttl == 30s);

  auto across = resolve(*r, "alias.example.com", {false, true});
  CHECK(addrs(across.event(Family::v4)) == std::vector{ip("192.0.2.9")});
  CHECK(across.event(Family::v4)->ttl == 20s);  // the CNAME's TTL bounds the answer
  CHECK(server->query_count("target.example.org", RecordType::a) == 1);

  auto looped = resolve(*r, "loop.example.com", {false, true});
  CHECK(looped.event(Family::v4)->error == errc::dns_bad_response);
  CHECK(server->query_count("loop.example.com", RecordType::a) <= 9);
}

TEST_CASE("cache: positive and negative hits, per family, LRU bound") {
  FakeDnsServer server;
  server->add_host("www.example.com", {ip("2001:db8::1"), ip("192.0.2.1")}, 300);
  add_half_answer(server);
  auto o = options_for({server->nameserver()});
  o.cache_entries = 4;
  auto r = Resolver::create(o);

  resolve(*r, "www.example.com");
  auto hit = resolve(*r, "WWW.example.com");
  CHECK(hit.event(Family::v6)->source == "cache");
  CHECK(addrs(hit.event(Family::v4)) == std::vector{ip("192.0.2.1")});
  CHECK(hit.queries.empty());
  CHECK(server->query_count("www.example.com", RecordType::a) == 1);

  // NXDOMAIN (SOA minimum 60 from the server) is cached too.
  auto nx = resolve(*r, "nope.example.com");
  CHECK(nx.event(Family::v4)->error == errc::host_not_found);
  auto nx2 = resolve(*r, "nope.example.com");
  CHECK(nx2.event(Family::v4)->error == errc::host_not_found);
  CHECK(nx2.event(Family::v4)->source == "cache");
  CHECK(nx2.queries.empty());

  // A is cached although AAAA failed; AAAA is asked again.
  resolve(*r, "half.example.com");
  auto half = resolve(*r, "half.example.com");
  CHECK(half.event(Family::v4)->source == "cache");
  CHECK(half.event(Family::v6)->error == errc::dns_server_failure);
  CHECK(server->query_count("half.example.com", RecordType::aaaa) == 2);
  CHECK(server->query_count("half.example.com", RecordType::a) == 1);

  // 4 entries: www AAAA/A and nope AAAA/A were pushed out by half A and two more.
  server->add_host("x.example.com", {ip("192.0.2.20")});
  server->add_host("y.example.com", {ip("192.0.2.21")});
  resolve(*r, "x.example.com", {false, true});
  resolve(*r, "y.example.com", {false, true});
  resolve(*r, "www.example.com", {false, true});
  CHECK(server->query_count("www.example.com", RecordType::a) == 2);

  r->clear_cache();
  resolve(*r, "y.example.com", {false, true});
  CHECK(server->query_count("y.example.com", RecordType::a) == 2);
}

TEST_CASE("search list: suffixes first for short names, stop at the first candidate with addresses") {
  FakeDnsServer server;
  server->add_host("www", {ip("192.0.2.30")});
  server->add_host("db.corp.example", {ip("192.0.2.31")});  // A only: AAAA is NODATA
  auto o = options_for({server->nameserver()});
  o.config.search = {"corp.example", "lab.example"};
  auto r = Resolver::create(o);

  auto www = resolve(*r, "www");
  CHECK(addrs(www.event(Family::v4)) == std::vector{ip("192.0.2.30")});
  CHECK(www.event(Family::v4)->name == "www");
  CHECK(server->query_count("www.corp.example", RecordType::a) == 1);
  CHECK(server->query_count("www.lab.example", RecordType::aaaa) == 1);

  auto db = resolve(*r, "db");
  CHECK(addrs(db.event(Family::v4)) == std::vector{ip("192.0.2.31")});
  CHECK(db.event(Family::v6)->error == errc::no_data);
  CHECK(server->query_count("db.lab.example", RecordType::a) == 0);
  CHECK(server->query_count("db", RecordType::a) == 0);

  auto absolute = resolve(*r, "nowhere.");
  CHECK(absolute.event(Family::v4)->error == errc::host_not_found);
  CHECK(server->query_count("nowhere.corp.example", RecordType::a) == 0);
}

// answer_now() must give exactly what start() would, or nothing (and send nothing).
TEST_CASE("answer_now: localhost, hosts and warm cache at once; nothing when a query is needed") {
  FakeDnsServer server;
  server->add_host("www.example.com", {ip("2001:db8::1"), ip("192.0.2.1")}, 300);
  server->add_host("www", {ip("192.0.2.30")});
  server->add_host("db.corp.example", {ip("192.0.2.31")});  // A only: AAAA is NODATA
  add_half_answer(server);
  auto o = options_for({server->nameserver()});
  o.config.search = {"corp.example", "lab.example"};
  o.hosts = parse_hosts("192.0.2.77 printer.lan\n", "hosts").value;
  auto r = Resolver::create(o);

  auto same_as_start = [&](std::string_view host, FamilySet f = FamilySet::both()) {
    CAPTURE(host);
    auto now = r->answer_now(host, f);
    REQUIRE(now);
    auto run = resolve(*r, host, f);
    REQUIRE(now->size() == run.events.size());
    for (std::size_t i = 0; i < now->size(); ++i) {
      const auto& x = (*now)[i];
      const auto& y = run.events[i].first;
      CHECK(x.family == y.family);
      CHECK(x.addresses == y.addresses);
      CHECK(x.error == y.error);
      CHECK(x.source == y.source);
      CHECK(x.name == y.name);
    }
    CHECK(run.queries.empty());
  };

  // Cold: nothing is answered and nothing is sent.
  CHECK_FALSE(r->answer_now("www.example.com", FamilySet::both()));
  CHECK_FALSE(r->answer_now("db", FamilySet::both()));
  CHECK(server->queries().empty());

  same_as_start("localhost");
  same_as_start("printer.lan");
  same_as_start("printer.lan", {false, true});

  resolve(*r, "www.example.com");
  same_as_start("www.example.com");
  same_as_start("WWW.example.com.", {true, false});
  // The search list: db.corp.example (A, cached NODATA for AAAA) wins.
  resolve(*r, "db");
  same_as_start("db");
  // www.corp.example and www.lab.example are cached NXDOMAIN, then "www" itself.
  resolve(*r, "www");
  same_as_start("www");
  // AAAA failed (SERVFAIL is not cached): a query is still needed.
  resolve(*r, "half.example.com");
  auto sent = server->queries().size();
  CHECK_FALSE(r->answer_now("half.example.com", FamilySet::both()));
  auto v4 = r->answer_now("half.example.com", {false, true});
  REQUIRE(v4);
  CHECK(v4->at(0).addresses == std::vector{ip("192.0.2.2")});
  CHECK(server->queries().size() == sent);
  // Invalid names fail at once, as start() does.
  same_as_start("bad..name");
}

// A lookup answer_now() could not finish goes on from where it stopped: the
// host is not looked at again, the cache is not asked again for what it
// answered, and only the missing questions are sent.
TEST_CASE("start() continues what answer_now() prepared") {
  FakeDnsServer server;
  server->add_host("www.example.com", {ip("2001:db8::1"), ip("192.0.2.1")}, 300);
  add_half_answer(server);
  auto r = Resolver::create(options_for({server->nameserver()}));

  auto run_prepared = [&](Resolver::Prepared prepared) {
    asio::io_context ioc;
    Run run;
    r->start(
        ioc.get_executor(), std::move(prepared), [&](const ResolveEvent& e) { run.events.emplace_back(e, ms(0)); },
        [&](const QueryNote& q) { run.queries.push_back(q); });
    run.events_inside_start = run.events.size();
    ioc.run_for(10s);
    return run;
  };

  auto cold = r->answer_now("www.example.com", FamilySet::both());
  CHECK_FALSE(cold);
  CHECK(cold->empty());
  CHECK(server->queries().empty());
  auto run = run_prepared(std::move(cold));
  CHECK(run.events_inside_start == 0);
  REQUIRE(run.events.size() == 2);
  CHECK(run.events[0].first.family == Family::v6);
  CHECK(addrs(run.event(Family::v6)) == std::vector{ip("2001:db8::1")});
  CHECK(addrs(run.event(Family::v4)) == std::vector{ip("192.0.2.1")});
  CHECK(run.event(Family::v4)->source == "dns");
  CHECK(run.queries.size() == 2);

  // A is cached, AAAA (SERVFAIL) is not: only AAAA is asked again.
  resolve(*r, "half.example.com");
  const auto a_queries = server->query_count("half.example.com", RecordType::a);
  auto half = r->answer_now("half.example.com", FamilySet::both());
  CHECK_FALSE(half);
  auto again = run_prepared(std::move(half));
  CHECK(again.event(Family::v4)->source == "cache");
  CHECK(addrs(again.event(Family::v4)) == std::vector{ip("192.0.2.2")});
  CHECK(again.event(Family::v6)->error == errc::dns_server_failure);
  REQUIRE(again.queries.size() == 1);
  CHECK(again.queries[0].family == Family::v6);
  CHECK(server->query_count("half.example.com", RecordType::a) == a_queries);

  // An answered Prepared can be started too: its events are delivered, later.
  auto warm = r->answer_now("www.example.com", FamilySet::only(Family::v4));
  REQUIRE(warm);
  auto delivered = run_prepared(std::move(warm));
  CHECK(delivered.events_inside_start == 0);
  REQUIRE(delivered.events.size() == 1);
  CHECK(delivered.events[0].first.source == "cache");
  CHECK(delivered.queries.empty());
}

// Every candidate of a long search list is asked in turn; the exchanges of
// the candidates already answered are released on the way (this runs under
// the sanitizers too).
TEST_CASE("a long search list: each candidate asked once, in order, the name itself last") {
  FakeDnsServer server;
  server->add_host("deep", {ip("192.0.2.40")});
  auto o = options_for({server->nameserver()});
  for (int i = 0; i < 30; ++i) o.config.search.push_back("d" + std::to_string(i) + ".example");
  o.cache_entries = 0;
  auto run = resolve(*Resolver::create(o), "deep");
  CHECK(addrs(run.event(Family::v4)) == std::vector{ip("192.0.2.40")});
  CHECK(run.queries.size() == 62);  // AAAA and A for 30 domains, then for "deep"
  CHECK(run.queries.front().name == "deep.d0.example");
  CHECK(run.queries.back().name == "deep");
}

TEST_CASE("no-aaaa never sends AAAA; requested families only") {
  FakeDnsServer server;
  server->add_host("www.example.com", {ip("2001:db8::1"), ip("192.0.2.1")});
  auto o = options_for({server->nameserver()});
  o.config.no_aaaa = true;
  auto run = resolve(*Resolver::create(o), "www.example.com");
  CHECK(run.event(Family::v6)->error == errc::family_unavailable);
  CHECK(addrs(run.event(Family::v4)) == std::vector{ip("192.0.2.1")});
  CHECK(server->query_count("www.example.com", RecordType::aaaa) == 0);

  auto v6only = resolve(*Resolver::create(options_for({server->nameserver()})), "www.example.com", {true, false});
  REQUIRE(v6only.events.size() == 1);
  CHECK(v6only.events[0].first.family == Family::v6);
}

TEST_CASE("cancel from the first event: nothing more is delivered, sockets closed") {
  FakeDnsServer server;
  TestAnswer slow;
  slow.records = {Record::a("slow.example.com", ip("2001:db8::2"), 60)};
  slow.delay = 1500ms;
  server->set("slow.example.com", RecordType::aaaa, slow);
  server->set("slow.example.com", RecordType::a, {.records = {Record::a("slow.example.com", ip("192.0.2.2"), 60)}});
  auto o = options_for({server->nameserver()});
  o.try_timeout = 3000ms;
  auto r = Resolver::create(o);
  const auto t0 = std::chrono::steady_clock::now();
  auto run = resolve(*r, "slow.example.com", FamilySet::both(), [](Resolver::Lookup& l, const ResolveEvent&) { l.cancel(); });
  CHECK(run.events.size() == 1);
  // run_for returned early: nothing (no socket, no timer) was left pending.
  CHECK(std::chrono::steady_clock::now() - t0 < 1000ms);  // not the 1.5 s AAAA delay

  // Cancelled before the io_context ran: no event at all.
  asio::io_context ioc;
  int events = 0;
  auto l = r->start(ioc.get_executor(), "slow.example.com", FamilySet::both(), [&](const ResolveEvent&) { ++events; });
  l->cancel();
  ioc.run_for(2s);
  CHECK(events == 0);
}

TEST_CASE("abandon keeps the slow query running to fill the cache, without events") {
  FakeDnsServer server;
  TestAnswer slow;
  slow.records = {Record::a("slow.example.com", ip("2001:db8::2"), 60)};
  slow.delay = 300ms;
  server->set("slow.example.com", RecordType::aaaa, slow);
  server->set("slow.example.com", RecordType::a, {.records = {Record::a("slow.example.com", ip("192.0.2.2"), 60)}});
  auto o = options_for({server->nameserver()});
  o.try_timeout = 2000ms;
  auto r = Resolver::create(o);
  auto run = resolve(*r, "slow.example.com", FamilySet::both(), [](Resolver::Lookup& l, const ResolveEvent&) { l.abandon(1s); });
  CHECK(run.events.size() == 1);
  auto again = resolve(*r, "slow.example.com");
  CHECK(again.event(Family::v6)->source == "cache");
  CHECK(addrs(again.event(Family::v6)) == std::vector{ip("2001:db8::2")});
}

TEST_CASE("async_resolve: future, callback, error and per-operation cancellation") {
  FakeDnsServer server;
  server->add_host("www.example.com", {ip("192.0.2.1"), ip("2001:db8::1")});
  TestAnswer slow;
  slow.delay = 2000ms;
  slow.drop = true;
  server->set("slow.example.com", RecordType::aaaa, slow);
  server->set("slow.example.com", RecordType::a, slow);
  auto r = Resolver::create(options_for({server->nameserver()}));
  asio::io_context ioc;
  auto guard = asio::make_work_guard(ioc);
  std::thread t([&] { ioc.run(); });

  auto f = r->async_resolve(ioc.get_executor(), "www.example.com", asio::use_future);
  CHECK(f.get() == std::vector{ip("2001:db8::1"), ip("192.0.2.1")});  // AAAA first

  // A plain callback (an error through use_future would travel as an
  // exception_ptr, whose refcount ThreadSanitizer cannot see in libstdc++).
  std::promise<std::error_code> nx;
  r->async_resolve(ioc.get_executor(), "nope.example.com",
                   [&](std::error_code ec, std::vector<IpAddress> a) { nx.set_value(a.empty() ? ec : std::error_code()); });
  CHECK(nx.get_future().get() == errc::host_not_found);

  std::promise<std::error_code> done;
  asio::cancellation_signal signal;
  asio::post(ioc, [&] {
    r->async_resolve(ioc.get_executor(), "slow.example.com",
                     asio::bind_cancellation_slot(signal.slot(), [&](std::error_code ec, std::vector<IpAddress>) {
                       done.set_value(ec);
                     }));
  });
  std::this_thread::sleep_for(50ms);
  asio::post(ioc, [&] { signal.emit(asio::cancellation_type::all); });
  auto fut = done.get_future();
  REQUIRE(fut.wait_for(2s) == std::future_status::ready);
  CHECK(fut.get() == asio::error::operation_aborted);
  guard.reset();
  t.join();
}

TEST_CASE("lookups from many threads on a thread pool share the cache safely") {
  FakeDnsServer server;
  for (int i = 0; i < 8; ++i) server->add_host("h" + std::to_string(i) + ".example", {ip("192.0.2.1"), ip("2001:db8::1")});
  auto o = options_for({server->nameserver()});
  o.try_timeout = 5000ms;  // 80 lookups at once, possibly under a sanitizer
  auto r = Resolver::create(o);
  asio::thread_pool pool(4);
  std::atomic<int> events{0};
  std::vector<std::thread> starters;
  for (int t = 0; t < 4; ++t)
    starters.emplace_back([&, t] {
      for (int i = 0; i < 20; ++i)
        r->start(pool.get_executor(), "h" + std::to_string((t + i) % 8) + ".example", FamilySet::both(),
                 [&](const ResolveEvent& e) { events += e.addresses.size() == 1; });
    });
  for (auto& s : starters) s.join();
  pool.join();  // returns once every lookup has finished
  CHECK(events == 160);
}

TEST_CASE("an IPv6 nameserver on ::1 works like an IPv4 one" * doctest::test_suite(heyes::test::ipv6_loopback_suite)) {
  auto server = std::make_unique<FakeDnsServer>("::1");  // throws (fails the case) without ::1
  (*server)->add_host("six.example", {ip("2001:db8::6"), ip("192.0.2.6")});
  auto run = resolve(*Resolver::create(options_for({(*server)->nameserver()})), "six.example");
  CHECK(addrs(run.event(Family::v6)) == std::vector{ip("2001:db8::6")});
  CHECK(addrs(run.event(Family::v4)) == std::vector{ip("192.0.2.6")});
  REQUIRE_FALSE(run.queries.empty());
  CHECK(run.queries[0].server.starts_with("[::1]:"));
}

TEST_CASE("no socket is left open after lookups, cancels and abandons") {
  FakeDnsServer server;
  server->add_host("www.example.com", {ip("2001:db8::1"), ip("192.0.2.1")});
  TestAnswer drop;
  drop.drop = true;
  server->set("hole.example.com", RecordType::aaaa, drop);
  auto o = options_for({server->nameserver()});
  o.cache_entries = 0;
  auto r = Resolver::create(o);
  const auto before = open_fds();
  for (int i = 0; i < 5; ++i) {
    resolve(*r, "www.example.com");
    resolve(*r, "hole.example.com");
    resolve(*r, "hole.example.com", FamilySet::both(), [](Resolver::Lookup& l, const ResolveEvent&) { l.cancel(); });
    resolve(*r, "hole.example.com", FamilySet::both(), [](Resolver::Lookup& l, const ResolveEvent&) { l.abandon(100ms); });
  }
  CHECK(open_fds() == before);
}

// The lookup and its queries must not keep each other alive: an io_context
// destroyed with a query outstanding frees both, and their sockets.
TEST_CASE("an io_context destroyed with queries outstanding frees the lookup and its sockets") {
  FakeDnsServer server;
  TestAnswer drop;
  drop.drop = true;
  server->set("hole.example.com", RecordType::aaaa, drop);
  server->set("hole.example.com", RecordType::a, drop);
  auto o = options_for({server->nameserver()});
  o.try_timeout = 10s;
  auto r = Resolver::create(o);
  const auto before = open_fds();
  std::weak_ptr<Resolver::Lookup> weak;
  bool delivered = false;
  {
    asio::io_context ioc;
    weak = r->start(ioc.get_executor(), "hole.example.com", FamilySet::both(),
                    [&](const ResolveEvent&) { delivered = true; });
    // Both queries go out; nothing answers.
    for (int i = 0; i < 100 && server->queries().size() < 2; ++i) ioc.run_for(10ms);
    CHECK(server->queries().size() == 2);
    CHECK_FALSE(weak.expired());
  }
  CHECK_FALSE(delivered);
  CHECK(weak.expired());
  CHECK(open_fds() == before);
}

TEST_CASE("ResolverOptions::from_system reads the given resolv.conf, hosts and nsswitch.conf files") {
  const auto dir = std::filesystem::temp_directory_path() / ("heyes-dns-" + std::to_string(::getpid()));
  std::filesystem::create_directories(dir);
  {
    std::ofstream(dir / "resolv.conf") << "nameserver 192.0.2.53\nsearch corp.example\noptions ndots:2 attempts:3\n";
    std::ofstream(dir / "hosts") << "# test\n192.0.2.9 printer printer.corp.example\n";
    std::ofstream(dir / "nsswitch.conf") << "passwd: files\nhosts: files dns\n";
  }
  auto o = ResolverOptions::from_system((dir / "resolv.conf").string(), (dir / "hosts").string(),
                                        (dir / "nsswitch.conf").string());
  CHECK(o.sources == HostsSources::files_dns());
  CHECK(!o.sources.is_default);
  REQUIRE(o.config.nameservers.size() == 1);
  CHECK(o.config.nameservers[0] == Nameserver{ip("192.0.2.53"), 53});
  CHECK(o.config.attempts == 3);
  // Answered from the hosts file (read now, at the first lookup by name).
  // The file's nameserver is replaced by one of the test's own (a regression
  // must not send a query off the machine), which must not be asked either.
  FakeDnsServer server;
  o.config.nameservers = {server->nameserver()};
  auto run = resolve(*Resolver::create(o), "printer", {false, true});
  std::filesystem::remove_all(dir);
  CHECK(addrs(run.event(Family::v4)) == std::vector{ip("192.0.2.9")});
  CHECK(run.queries.empty());
  CHECK(server->queries().empty());
}

TEST_CASE("search walk: seven domains, a silent server: the first domain, then the name as-is (4 queries)") {
  FakeDnsServer server;
  TestAnswer silent;
  silent.drop = true;
  auto o = options_for({server->nameserver()});
  for (int i = 0; i < 7; ++i) {
    o.config.search.push_back("d" + std::to_string(i) + ".example");
    for (auto t : {RecordType::aaaa, RecordType::a}) server->set("www.d" + std::to_string(i) + ".example", t, silent);
  }
  for (auto t : {RecordType::aaaa, RecordType::a}) server->set("www", t, silent);
  const auto t0 = std::chrono::steady_clock::now();
  auto run = resolve(*Resolver::create(o), "www");
  const auto took = std::chrono::steady_clock::now() - t0;
  REQUIRE(run.events.size() == 2);
  CHECK(run.event(Family::v4)->error == errc::dns_timeout);
  CHECK(server->queries().size() == 4);  // AAAA and A for www.d0.example, then for www
  CHECK(server->query_count("www.d1.example", RecordType::a) == 0);
  CHECK(server->query_count("www", RecordType::a) == 1);
  CHECK(took < 10s);  // wide: the query counts above are what tells the walk stopped
}

TEST_CASE("search walk: SERVFAIL and NXDOMAIN go on, REFUSED ends it, then the name as-is answers") {
  FakeDnsServer server;
  auto o = options_for({server->nameserver()});
  for (int i = 0; i < 7; ++i) o.config.search.push_back("d" + std::to_string(i) + ".example");
  o.server_cooldown = 0s;  // REFUSED must not reorder the one server
  TestAnswer servfail, refused;
  servfail.rcode = Rcode::servfail;
  refused.rcode = Rcode::refused;
  for (auto t : {RecordType::aaaa, RecordType::a}) {
    server->set("www.d0.example", t, servfail);
    // www.d1.example: no script, NXDOMAIN
    server->set("www.d2.example", t, refused);
  }
  server->add_host("www", {ip("192.0.2.44")});
  auto run = resolve(*Resolver::create(o), "www");
  CHECK(addrs(run.event(Family::v4)) == std::vector{ip("192.0.2.44")});
  for (const char* asked : {"www.d0.example", "www.d1.example", "www.d2.example", "www"})
    CHECK(server->query_count(asked, RecordType::a) == 1);
  for (int i = 3; i < 7; ++i) CHECK(server->query_count("www.d" + std::to_string(i) + ".example", RecordType::a) == 0);
  CHECK(server->queries().size() == 8);
}

TEST_CASE("CNAME chains of 9 and 20 links in one answer resolve; a CNAME to the root fails at once") {
  FakeDnsServer server;
  for (int links : {9, 20}) {
    TestAnswer chain;
    const std::string head = "c" + std::to_string(links) + ".example";
    std::string from = head;
    for (int i = 0; i < links; ++i) {
      std::string to = "l" + std::to_string(i) + "." + head;
      chain.records.push_back(Record::cname(from, to, 60));
      from = to;
    }
    chain.records.push_back(Record::a(from, ip("192.0.2.20"), 60));
    server->set(head, RecordType::a, chain);
  }
  TestAnswer root;
  root.records = {Record::cname("root.example", "", 60)};
  server->set("root.example", RecordType::a, root);
  server->set("root.example", RecordType::aaaa, root);

  auto r = Resolver::create(options_for({server->nameserver()}));
  for (const char* name : {"c9.example", "c20.example"}) {
    CAPTURE(name);
    auto run = resolve(*r, name, {false, true});
    CHECK(addrs(run.event(Family::v4)) == std::vector{ip("192.0.2.20")});
    CHECK(server->query_count(name, RecordType::a) == 1);
  }
  auto run = resolve(*r, "root.example");
  REQUIRE(run.events.size() == 2);
  CHECK(run.event(Family::v6)->error == errc::dns_bad_response);
  CHECK(run.event(Family::v4)->error == errc::dns_bad_response);
  CHECK(server->query_count("root.example", RecordType::a) == 1);
  CHECK(server->query_count("root.example", RecordType::aaaa) == 1);
}

TEST_CASE("out of file descriptors: DNS reports EMFILE, the host's error, not every nameserver failed") {
  // In a forked child: its descriptors are exhausted, so no query socket can
  // be made; the parent's limit and descriptors are never touched.
  const pid_t child = ::fork();
  REQUIRE(child >= 0);
  if (child == 0) {
    int status = 1;
    {
      FakeDnsServer server;
      server->add_host("www.example.com", {ip("192.0.2.1")});
      auto o = options_for({server->nameserver()});
      o.config.search = {"a.example", "b.example"};
      auto r = Resolver::create(o);
      asio::io_context ioc;
      std::vector<ResolveEvent> events;
      // asio makes its reactor's descriptors with the first socket or timer: before the exhaustion.
      asio::ip::udp::socket warm(ioc);
      // A limit of 256 descriptors, every free one taken: the next socket() is EMFILE.
      rlimit saved{};
      ::getrlimit(RLIMIT_NOFILE, &saved);
      rlimit lowered = saved;
      lowered.rlim_cur = std::min<rlim_t>(saved.rlim_cur, 256);
      ::setrlimit(RLIMIT_NOFILE, &lowered);
      std::vector<int> filler;
      for (int fd; filler.size() < 256 && (fd = ::open("/dev/null", O_RDONLY)) >= 0;) filler.push_back(fd);
      auto lookup = r->start(ioc.get_executor(), "www", FamilySet::both(),
                             [&](const ResolveEvent& e) { events.push_back(e); });
      ioc.run_for(5s);
      for (int fd : filler) ::close(fd);
      ::setrlimit(RLIMIT_NOFILE, &saved);
      bool ok = events.size() == 2;
      for (const auto& e : events) ok = ok && e.error == std::errc::too_many_files_open;
      ok = ok && server->queries().empty();
      status = ok ? 0 : 3;
      if (!ok)
        for (const auto& e : events) std::fprintf(stderr, "child: %s for %s\n", e.error.message().c_str(), e.name.c_str());
    }
    ::_exit(status);
  }
  int status = 0;
  for (int i = 0; i < 200 && ::waitpid(child, &status, WNOHANG) == 0; ++i) std::this_thread::sleep_for(50ms);
  if (::waitpid(child, &status, WNOHANG) == 0) {
    ::kill(child, SIGKILL);
    ::waitpid(child, &status, 0);
    FAIL("the child did not finish within 10 s");
  }
  CHECK(WIFEXITED(status));
  CHECK(WEXITSTATUS(status) == 0);
}
