// SPDX-License-Identifier: MIT
// One question against the fake server: anti-spoofing, TC -> TCP, EDNS fallback, failover, server health.
#include <doctest/doctest.h>

#include <asio/io_context.hpp>
#include <asio/ip/udp.hpp>
#include <asio/strand.hpp>

#include <set>

#include "dns/exchange.hpp"
#include "heyes/error.hpp"
#include "support/fake_dns_server.hpp"

using namespace heyes;
using namespace heyes::dns;
using namespace std::chrono_literals;
using heyes::test::FakeDnsServer;

namespace {

IpAddress ip(const char* s) { return *IpAddress::parse(s); }

struct Run {
  detail::ExchangeResult result;
  std::vector<std::string> sent;
  std::chrono::milliseconds elapsed{0};
  bool done = false;
};

detail::ExchangeOptions quick(std::vector<Nameserver> servers, int attempts = 1) {
  detail::ExchangeOptions o;
  o.servers = std::move(servers);
  o.timeout = 200ms;
  o.attempts = attempts;
  return o;
}

// Runs one exchange on a private io_context (bounded to 10 s).
Run exchange(const detail::ExchangeOptions& options, const std::string& name = "www.example.com",
             RecordType type = RecordType::a,
             std::shared_ptr<detail::ServerHealth> health = std::make_shared<detail::ServerHealth>(30s)) {
  asio::io_context ioc;
  Run run;
  const auto t0 = std::chrono::steady_clock::now();
  auto e = detail::Exchange::start(
      asio::make_strand(ioc), name, type, options, health, [&](const std::string& s) { run.sent.push_back(s); },
      [&](detail::ExchangeResult r) {
        run.result = std::move(r);
        run.done = true;
        run.elapsed = std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - t0);
      });
  ioc.run_for(10s);
  REQUIRE(run.done);
  return run;
}

std::vector<IpAddress> addresses(const detail::ExchangeResult& r) {
  std::vector<IpAddress> out;
  if (r.response)
    for (const auto& rec : r.response->answers) out.push_back(rec.address);
  return out;
}

// A loopback UDP port with nobody behind it: the kernel answers ICMP port unreachable.
Nameserver dead_port() {
  asio::io_context ioc;
  asio::ip::udp::socket s(ioc, {asio::ip::make_address("127.0.0.1"), 0});
  return {ip("127.0.0.1"), s.local_endpoint().port()};
}

std::string text(const Nameserver& ns) { return "127.0.0.1:" + std::to_string(ns.port); }

}  // namespace

TEST_CASE("a UDP answer from the server is accepted, with a fresh random ID per query") {
  FakeDnsServer server;
  server->add_host("www.example.com", {ip("192.0.2.1")}, 60);
  std::set<std::uint16_t> ids;
  for (int i = 0; i < 20; ++i) {
    auto run = exchange(quick({server->nameserver()}));
    CHECK_FALSE(run.result.error);
    CHECK(addresses(run.result) == std::vector{ip("192.0.2.1")});
    CHECK(run.sent == std::vector{text(server->nameserver())});
  }
  for (const auto& q : server->queries()) {
    ids.insert(q.id);
    CHECK(q.edns);
    CHECK_FALSE(q.tcp);
  }
  CHECK(ids.size() >= 15);  // 20 draws of 16 random bits: collisions are rare
}

TEST_CASE("spoofed answers are ignored and the genuine one accepted") {
  for (auto spoof : {TestAnswer::Spoof::wrong_id, TestAnswer::Spoof::wrong_question, TestAnswer::Spoof::wrong_port}) {
    CAPTURE(static_cast<int>(spoof));
    FakeDnsServer server;
    TestAnswer a;
    a.records = {Record::a("www.example.com", ip("192.0.2.1"), 60)};
    a.spoof = spoof;
    a.delay = 100ms;  // the forgery arrives first
    server->set("www.example.com", RecordType::a, a);
    auto run = exchange(quick({server->nameserver()}));
    CHECK_FALSE(run.result.error);
    CHECK(addresses(run.result) == std::vector{ip("192.0.2.1")});
  }
}

TEST_CASE("TC=1 over UDP retries over TCP to the same server") {
  FakeDnsServer server;
  TestAnswer a;
  a.records = {Record::a("www.example.com", ip("192.0.2.1"), 60)};
  a.truncate = true;
  server->set("www.example.com", RecordType::a, a);
  auto run = exchange(quick({server->nameserver()}));
  CHECK_FALSE(run.result.error);
  CHECK(addresses(run.result) == std::vector{ip("192.0.2.1")});
  CHECK(run.sent == std::vector{text(server->nameserver()), text(server->nameserver()) + "/tcp"});
  auto q = server->queries();
  REQUIRE(q.size() == 2);
  CHECK_FALSE(q[0].tcp);
  CHECK(q[1].tcp);
}

TEST_CASE("an answer larger than 1232 bytes is truncated by the server and fetched over TCP") {
  FakeDnsServer server;
  std::vector<IpAddress> many;
  for (int i = 1; i <= 150; ++i) many.push_back(IpAddress::v4({198, 51, 100, static_cast<std::uint8_t>(i)}));
  server->add_host("big.example.com", many);
  auto run = exchange(quick({server->nameserver()}), "big.example.com");
  CHECK_FALSE(run.result.error);
  CHECK(addresses(run.result).size() == 150);
  CHECK(run.sent.back().ends_with("/tcp"));
}

TEST_CASE("a UDP answer larger than advertised (no TC) counts as truncated and is fetched over TCP") {
  // 150 A records (about 2.4 KB) in one datagram, against the 1232 bytes
  // the query advertised: the receive buffer cannot hold it.
  FakeDnsServer server;
  TestAnswer a;
  for (int i = 1; i <= 150; ++i)
    a.records.push_back(Record::a("big.example.com", IpAddress::v4({198, 51, 100, static_cast<std::uint8_t>(i)}), 60));
  a.oversize = true;
  server->set("big.example.com", RecordType::a, a);
  auto run = exchange(quick({server->nameserver()}), "big.example.com");
  CHECK_FALSE(run.result.error);
  CHECK(addresses(run.result).size() == 150);
  CHECK(run.sent == std::vector{text(server->nameserver()), text(server->nameserver()) + "/tcp"});
  auto q = server->queries();
  REQUIRE(q.size() == 2);
  CHECK_FALSE(q[0].tcp);
  CHECK(q[1].tcp);
}

TEST_CASE("without EDNS, a UDP answer over 512 bytes counts as truncated") {
  // 40 A records (about 680 bytes): fits 1232, not 512. The server refuses
  // EDNS, so the second query has no OPT and may take only 512 bytes.
  FakeDnsServer server;
  TestAnswer a;
  for (int i = 1; i <= 40; ++i)
    a.records.push_back(Record::a("mid.example.com", IpAddress::v4({198, 51, 100, static_cast<std::uint8_t>(i)}), 60));
  a.oversize = true;
  a.formerr_on_edns = true;
  server->set("mid.example.com", RecordType::a, a);
  auto run = exchange(quick({server->nameserver()}), "mid.example.com");
  CHECK_FALSE(run.result.error);
  CHECK(addresses(run.result).size() == 40);
  auto q = server->queries();
  REQUIRE(q.size() == 3);
  CHECK(q[0].edns);
  CHECK_FALSE(q[1].edns);
  CHECK_FALSE(q[1].tcp);
  CHECK(q[2].tcp);
}

TEST_CASE("a UDP answer of exactly 1232 bytes is taken as it is") {
  // Padding the answer with a TXT record to the advertised size exactly.
  FakeDnsServer server;
  TestAnswer a;
  a.records = {Record::a("edge.example.com", ip("192.0.2.1"), 60)};
  Message probe = make_response(make_query(1, "edge.example.com", RecordType::a));
  probe.answers = a.records;
  Record txt;
  txt.name = "edge.example.com";
  txt.type = RecordType::txt;
  txt.rdata.assign(1, 0);
  probe.answers.push_back(txt);
  const std::size_t base = encode(probe).size();
  REQUIRE(base < edns_udp_size);
  txt.rdata.assign(1 + edns_udp_size - base, 0);
  a.records.push_back(txt);
  probe.answers.back() = txt;
  REQUIRE(encode(probe).size() == edns_udp_size);
  a.oversize = true;
  server->set("edge.example.com", RecordType::a, a);
  auto run = exchange(quick({server->nameserver()}), "edge.example.com");
  CHECK_FALSE(run.result.error);
  CHECK(addresses(run.result).front() == ip("192.0.2.1"));
  CHECK(run.sent == std::vector{text(server->nameserver())});
}

TEST_CASE("FORMERR to an EDNS query is retried once without OPT") {
  FakeDnsServer server;
  TestAnswer a;
  a.records = {Record::a("www.example.com", ip("192.0.2.1"), 60)};
  a.formerr_on_edns = true;
  server->set("www.example.com", RecordType::a, a);
  auto run = exchange(quick({server->nameserver()}));
  CHECK_FALSE(run.result.error);
  CHECK(addresses(run.result) == std::vector{ip("192.0.2.1")});
  auto q = server->queries();
  REQUIRE(q.size() == 2);
  CHECK(q[0].edns);
  CHECK_FALSE(q[1].edns);
}

TEST_CASE("SERVFAIL, REFUSED and NOTIMP fail over to the next server") {
  for (auto rcode : {Rcode::servfail, Rcode::refused, Rcode::notimp}) {
    CAPTURE(to_string(rcode));
    FakeDnsServer bad, good;
    TestAnswer fail;
    fail.rcode = rcode;
    bad->set("www.example.com", RecordType::a, fail);
    good->add_host("www.example.com", {ip("192.0.2.2")});
    auto run = exchange(quick({bad->nameserver(), good->nameserver()}));
    CHECK_FALSE(run.result.error);
    CHECK(addresses(run.result) == std::vector{ip("192.0.2.2")});
    CHECK(run.result.server == good->nameserver());

    auto alone = exchange(quick({bad->nameserver()}, 2));
    CHECK(alone.result.error == errc::dns_server_failure);
    CHECK(bad->query_count("www.example.com", RecordType::a) == 3);  // 1 above + 2 attempts
  }
}

TEST_CASE("a refused port (ICMP unreachable) fails over at once; a silent server after the timeout") {
  FakeDnsServer good, silent;
  good->add_host("www.example.com", {ip("192.0.2.3")});
  auto patient = quick({dead_port(), good->nameserver()});
  patient.timeout = 2000ms;
  auto run = exchange(patient);
  CHECK_FALSE(run.result.error);
  CHECK(run.elapsed < 1000ms);  // well under the 2 s try timeout: no waiting

  TestAnswer drop;
  drop.drop = true;
  silent->set("www.example.com", RecordType::a, drop);
  auto health = std::make_shared<detail::ServerHealth>(30s);
  auto slow = exchange(quick({silent->nameserver(), good->nameserver()}), "www.example.com", RecordType::a, health);
  CHECK_FALSE(slow.result.error);
  CHECK(slow.elapsed >= 190ms);
  CHECK(slow.elapsed < 2s);
  // The silent server is remembered: the next query asks the good one first.
  auto order = health->order({silent->nameserver(), good->nameserver()}, false, std::chrono::steady_clock::now());
  CHECK(order == std::vector{good->nameserver(), silent->nameserver()});
}

TEST_CASE("no answer from anyone: dns_timeout after attempts rounds") {
  FakeDnsServer a, b;
  TestAnswer drop;
  drop.drop = true;
  a->set("www.example.com", RecordType::a, drop);
  b->set("www.example.com", RecordType::a, drop);
  auto run = exchange(quick({a->nameserver(), b->nameserver()}, 2));
  CHECK(run.result.error == errc::dns_timeout);
  CHECK(run.sent.size() == 4);
  CHECK(run.elapsed >= 750ms);  // 4 tries x 200 ms
  CHECK(run.elapsed < 5s);
}

TEST_CASE("garbage with our ID and question is a bad response: next server") {
  FakeDnsServer junk, good;
  TestAnswer g;
  g.garbage = true;
  junk->set("www.example.com", RecordType::a, g);
  good->add_host("www.example.com", {ip("192.0.2.4")});
  auto patient = quick({junk->nameserver(), good->nameserver()});
  patient.timeout = 2000ms;
  auto run = exchange(patient);
  CHECK_FALSE(run.result.error);
  CHECK(run.elapsed < 1000ms);  // failed over at once, not after the 2 s try timeout
  auto only = exchange(quick({junk->nameserver()}));
  CHECK(only.result.error == errc::dns_bad_response);
  CHECK(only.result.detail.find("answer") != std::string::npos);
}

TEST_CASE("server health: cool-down, rotation, and everyone cooling") {
  const Nameserver s1{ip("127.0.0.1"), 1}, s2{ip("127.0.0.1"), 2}, s3{ip("127.0.0.1"), 3};
  const std::vector<Nameserver> all{s1, s2, s3};
  detail::ServerHealth h(30s);
  const auto t0 = Clock::time_point{} + 1000s;
  CHECK(h.order(all, false, t0) == all);
  h.failed(s1, t0);
  CHECK(h.order(all, false, t0 + 1s) == std::vector{s2, s3, s1});
  CHECK(h.order(all, false, t0 + 30s) == all);  // cool-down over
  h.failed(s2, t0);
  h.failed(s1, t0 + 5s);
  h.failed(s3, t0 + 1s);
  CHECK(h.order(all, false, t0 + 10s) == std::vector{s2, s3, s1});  // soonest recovered first
  h.succeeded(s1);
  CHECK(h.order(all, false, t0 + 10s).front() == s1);

  detail::ServerHealth r(30s);
  CHECK(r.order(all, true, t0) == std::vector{s1, s2, s3});
  CHECK(r.order(all, true, t0) == std::vector{s2, s3, s1});
  CHECK(r.order(all, true, t0) == std::vector{s3, s1, s2});
}

TEST_CASE("a name the codec cannot encode fails the question with bad_host_name; nothing is thrown or sent") {
  FakeDnsServer server;
  for (const std::string& name : {std::string("a\\999.example"), std::string(64, 'x') + ".example"}) {
    CAPTURE(name);
    Run run;
    CHECK_NOTHROW(run = exchange(quick({server->nameserver()}), name));
    CHECK(run.result.error == errc::bad_host_name);
    CHECK(run.sent.empty());
  }
  CHECK(server->queries().empty());
}

TEST_CASE("SERVFAIL, REFUSED and ICMP unreachable are told apart for the search walk") {
  FakeDnsServer server;
  TestAnswer servfail, refused;
  servfail.rcode = Rcode::servfail;
  refused.rcode = Rcode::refused;
  server->set("sf.example", RecordType::a, servfail);
  server->set("rf.example", RecordType::a, refused);
  auto health = std::make_shared<detail::ServerHealth>(0s);
  CHECK(exchange(quick({server->nameserver()}), "sf.example", RecordType::a, health).result.kind ==
        detail::FailureKind::servfail);
  CHECK(exchange(quick({server->nameserver()}), "rf.example", RecordType::a, health).result.kind ==
        detail::FailureKind::unanswered);
  auto unreachable = exchange(quick({dead_port()}), "x.example", RecordType::a, health).result;
  CHECK(unreachable.error == errc::dns_server_failure);
  CHECK(unreachable.kind == detail::FailureKind::unreachable);
}
