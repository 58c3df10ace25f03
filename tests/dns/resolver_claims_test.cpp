// SPDX-License-Identifier: MIT
// What the README and docs/dns.md promise of the Resolver: negative caching, TCP after truncation, use-vc, rotate, ndots.
#include <doctest/doctest.h>

#include <asio/io_context.hpp>
#include <asio/ip/tcp.hpp>
#include <asio/ip/udp.hpp>

#include <algorithm>
#include <array>
#include <chrono>
#include <functional>
#include <string>
#include <thread>
#include <vector>

#include "dns/lookup_plan.hpp"
#include "dns/message.hpp"
#include "heyes/dns/config.hpp"
#include "heyes/dns/resolver.hpp"
#include "heyes/error.hpp"
#include "support/fake_dns_server.hpp"

using namespace heyes;
using namespace heyes::dns;
using namespace std::chrono_literals;
using heyes::test::FakeDnsServer;
using heyes::test::options_for;

namespace {

IpAddress ip(const char* s) { return *IpAddress::parse(s); }

struct Outcome {
  std::vector<ResolveEvent> events;
  std::vector<QueryNote> queries;
  std::chrono::milliseconds elapsed{0};
  const ResolveEvent* event(Family f) const {
    for (const auto& e : events)
      if (e.family == f) return &e;
    return nullptr;
  }
};

// One lookup on a private io_context, bounded to 10 s.
Outcome resolve(Resolver& r, std::string_view host, FamilySet families) {
  asio::io_context ioc;
  Outcome out;
  const auto t0 = std::chrono::steady_clock::now();
  auto lookup = r.start(
      ioc.get_executor(), host, families, [&](const ResolveEvent& e) { out.events.push_back(e); },
      [&](const QueryNote& q) { out.queries.push_back(q); });
  ioc.run_for(10s);
  out.elapsed = std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - t0);
  return out;
}

Outcome resolve_v4(Resolver& r, std::string_view host) { return resolve(r, host, FamilySet::only(Family::v4)); }

TestAnswer nxdomain(std::int64_t soa_minimum, std::int64_t soa_ttl = -1) {
  TestAnswer a;
  a.rcode = Rcode::nxdomain;
  a.negative_ttl = soa_minimum;
  a.soa_ttl = soa_ttl;
  return a;
}

}  // namespace

// ---- negative caching (RFC 2308) and the TTL caps ---------------------------

TEST_CASE("negative answers are cached for min(SOA TTL, SOA MINIMUM), capped at max_negative_ttl") {
  FakeDnsServer server;
  server->set("soa-ttl-smaller.heyes.test", RecordType::a, nxdomain(/*minimum*/ 900, /*ttl*/ 25));
  server->set("minimum-smaller.heyes.test", RecordType::a, nxdomain(/*minimum*/ 40, /*ttl*/ 90));
  server->set("long.heyes.test", RecordType::a, nxdomain(/*minimum*/ 7200, /*ttl*/ 7200));
  auto r = Resolver::create(options_for({server->nameserver()}));

  struct Row {
    const char* name;
    std::chrono::seconds ttl;
  };
  // The SOA's own TTL, its MINIMUM, whichever is smaller; the default cap is 5 min.
  for (const Row& row : {Row{"soa-ttl-smaller.heyes.test", 25s}, Row{"minimum-smaller.heyes.test", 40s},
                         Row{"long.heyes.test", 300s}}) {
    CAPTURE(row.name);
    auto first = resolve_v4(*r, row.name);
    REQUIRE(first.event(Family::v4));
    CHECK(first.event(Family::v4)->error == errc::host_not_found);
    CHECK(first.event(Family::v4)->source == "dns");
    CHECK(first.event(Family::v4)->ttl == row.ttl);
    auto second = resolve_v4(*r, row.name);
    REQUIRE(second.event(Family::v4));
    CHECK(second.event(Family::v4)->error == errc::host_not_found);
    CHECK(second.event(Family::v4)->source == "cache");
    CHECK(second.event(Family::v4)->ttl <= row.ttl);
    CHECK(second.event(Family::v4)->ttl > row.ttl - 5s);
    CHECK(server->query_count(row.name, RecordType::a) == 1);
  }
}

TEST_CASE("a negative answer without an SOA is not cached: every lookup asks again") {
  FakeDnsServer server;
  server->set("no-soa.heyes.test", RecordType::a, nxdomain(-1));
  auto r = Resolver::create(options_for({server->nameserver()}));
  for (std::size_t k = 1; k <= 3; ++k) {
    auto out = resolve_v4(*r, "no-soa.heyes.test");
    REQUIRE(out.event(Family::v4));
    CHECK(out.event(Family::v4)->error == errc::host_not_found);
    CHECK(out.event(Family::v4)->source == "dns");
    CHECK(server->query_count("no-soa.heyes.test", RecordType::a) == k);
  }
}

TEST_CASE("max_ttl and max_negative_ttl bound how long an entry is used; then the server is asked again") {
  FakeDnsServer server;
  server->add_host("day.heyes.test", {ip("192.0.2.7")}, 86400);
  server->set("gone.heyes.test", RecordType::a, nxdomain(86400));
  {
    // The defaults: 1 h positive, 5 min negative.
    auto r = Resolver::create(options_for({server->nameserver()}));
    auto positive = resolve_v4(*r, "day.heyes.test");
    REQUIRE(positive.event(Family::v4));
    CHECK(positive.event(Family::v4)->addresses == std::vector<IpAddress>{ip("192.0.2.7")});
    CHECK(positive.event(Family::v4)->ttl == 3600s);
    auto negative = resolve_v4(*r, "gone.heyes.test");
    REQUIRE(negative.event(Family::v4));
    CHECK(negative.event(Family::v4)->ttl == 300s);
  }
  server->clear_queries();
  // Caps of 1 s: used at once, expired 2.5 s later (the server says a day).
  ResolverOptions o = options_for({server->nameserver()});
  o.max_ttl = 1s;
  o.max_negative_ttl = 1s;
  auto r = Resolver::create(o);
  for (const char* name : {"day.heyes.test", "gone.heyes.test"}) {
    CAPTURE(name);
    auto first = resolve_v4(*r, name);
    REQUIRE(first.event(Family::v4));
    CHECK(first.event(Family::v4)->ttl == 1s);
    auto cached = resolve_v4(*r, name);
    REQUIRE(cached.event(Family::v4));
    CHECK(cached.event(Family::v4)->source == "cache");
    CHECK(server->query_count(name, RecordType::a) == 1);
  }
  std::this_thread::sleep_for(2500ms);
  for (const char* name : {"day.heyes.test", "gone.heyes.test"}) {
    CAPTURE(name);
    auto later = resolve_v4(*r, name);
    REQUIRE(later.event(Family::v4));
    CHECK(later.event(Family::v4)->source == "dns");
    CHECK(server->query_count(name, RecordType::a) == 2);
  }
}

TEST_CASE("the lookup plan stores negative answers for the SOA's TTL within the cap, and never without an SOA") {
  using detail::LookupPlan;
  using detail::PlanAction;
  using detail::Store;
  ResolverOptions o;
  o.max_negative_ttl = 120s;
  o.max_ttl = 600s;
  auto run = [&](const Message& response) {
    LookupPlan plan(response.questions.at(0).name, FamilySet::only(Family::v4), o);
    std::vector<PlanAction> actions;
    plan.take_actions(actions);  // the ask
    plan.on_response(Family::v4, response);
    plan.take_actions(actions);  // the store (if any), then the event
    return actions;
  };
  auto stored_ttl = [](const std::vector<PlanAction>& actions) -> std::optional<std::chrono::seconds> {
    for (const auto& a : actions)
      if (const auto* s = std::get_if<Store>(&a)) return s->answer.ttl;
    return std::nullopt;
  };
  auto event_ttl = [](const std::vector<PlanAction>& actions) {
    for (const auto& a : actions)
      if (const auto* d = std::get_if<detail::Deliver>(&a)) return d->event.ttl;
    return std::chrono::seconds(-1);
  };

  Message nx = make_response(make_query(1, "gone.example.com", RecordType::a, false), Rcode::nxdomain);
  nx.authority = {Record::make_soa("example.com", 3600, 90)};
  auto a = run(nx);
  CHECK(stored_ttl(a) == std::chrono::seconds(90));
  CHECK(event_ttl(a) == 90s);

  nx.authority = {Record::make_soa("example.com", 3600, 3600)};
  auto capped = run(nx);
  CHECK(stored_ttl(capped) == std::chrono::seconds(120));
  CHECK(event_ttl(capped) == 120s);

  nx.authority.clear();
  auto bare = run(nx);
  CHECK_FALSE(stored_ttl(bare));
  CHECK(event_ttl(bare) == 0s);

  Message yes = make_response(make_query(1, "day.example.com", RecordType::a, false));
  yes.answers = {Record::a("day.example.com", ip("192.0.2.9"), 86400)};
  CHECK(stored_ttl(run(yes)) == std::chrono::seconds(600));
}

// ---- TCP after truncation, and use-vc ----------------------------------------

namespace {

// A UDP-only DNS server: it answers every query with TC=1 (and nothing
// else), so the resolver must go to TCP on the same port, where `tcp` decides
// what happens: refuse (a bound socket that never listens) or accept and
// close at once.
class TruncatingServer {
 public:
  enum class Tcp { refuse, accept_and_close };
  TruncatingServer(asio::io_context& ioc, Tcp tcp)
      : udp_(ioc, {asio::ip::make_address("127.0.0.1"), 0}), tcp_socket_(ioc), acceptor_(ioc) {
    const asio::ip::tcp::endpoint same_port(asio::ip::make_address("127.0.0.1"), udp_.local_endpoint().port());
    if (tcp == Tcp::refuse) {
      tcp_socket_.open(asio::ip::tcp::v4());
      tcp_socket_.bind(same_port);  // the port is ours and nobody listens: a SYN gets a RST
    } else {
      acceptor_.open(asio::ip::tcp::v4());
      acceptor_.bind(same_port);
      acceptor_.listen();
      accept();
    }
    receive();
  }
  Nameserver nameserver() const { return {ip("127.0.0.1"), udp_.local_endpoint().port()}; }
  int udp_queries() const { return udp_queries_; }
  int tcp_connections() const { return tcp_connections_; }
  void close() {
    std::error_code ec;
    udp_.close(ec);
    acceptor_.close(ec);
    tcp_socket_.close(ec);
  }

 private:
  void receive() {
    udp_.async_receive_from(asio::buffer(buffer_), peer_, [this](std::error_code ec, std::size_t n) {
      if (ec) return;
      auto q = decode(std::span<const std::uint8_t>(buffer_.data(), n));
      if (q) {
        ++udp_queries_;
        Message r = make_response(*q.message);
        r.header.tc = true;
        out_ = encode(r);
        std::error_code ignored;
        udp_.send_to(asio::buffer(out_), peer_, 0, ignored);
      }
      receive();
    });
  }
  void accept() {
    acceptor_.async_accept([this](std::error_code ec, asio::ip::tcp::socket s) {
      if (ec) return;
      ++tcp_connections_;
      std::error_code ignored;
      s.close(ignored);
      accept();
    });
  }

  asio::ip::udp::socket udp_;
  asio::ip::tcp::socket tcp_socket_;
  asio::ip::tcp::acceptor acceptor_;
  asio::ip::udp::endpoint peer_;
  std::array<std::uint8_t, 1500> buffer_{};
  std::vector<std::uint8_t> out_;
  int udp_queries_ = 0;
  int tcp_connections_ = 0;
};

}  // namespace

TEST_CASE("truncated over UDP and TCP refused or closed: a prompt dns_server_failure, never a hang") {
  for (auto tcp : {TruncatingServer::Tcp::refuse, TruncatingServer::Tcp::accept_and_close}) {
    CAPTURE(static_cast<int>(tcp));
    asio::io_context ioc;
    TruncatingServer server(ioc, tcp);
    ResolverOptions o = options_for({server.nameserver()});
    o.config.attempts = 2;
    o.try_timeout = 3s;  // far beyond the bound below: a wait for it would show
    auto r = Resolver::create(o);
    std::vector<ResolveEvent> events;
    const auto t0 = std::chrono::steady_clock::now();
    auto lookup = r->start(ioc.get_executor(), "big.heyes.test", FamilySet::only(Family::v4),
                           [&](const ResolveEvent& e) {
                             events.push_back(e);
                             server.close();  // so that run() returns
                           });
    ioc.run_for(10s);
    const auto elapsed = std::chrono::steady_clock::now() - t0;
    REQUIRE(events.size() == 1);
    CHECK(events[0].error == errc::dns_server_failure);
    CHECK(events[0].addresses.empty());
    CHECK(elapsed < 2s);
    // Each of the two rounds: the UDP query, then TCP to the same server.
    CHECK(server.udp_queries() == 2);
    if (tcp == TruncatingServer::Tcp::accept_and_close) CHECK(server.tcp_connections() == 2);
  }
}

TEST_CASE("use-vc (resolv.conf options, or ResolverConfig::use_vc): every query goes over TCP") {
  FakeDnsServer server;
  server->add_host("vc.heyes.test", {ip("2001:db8::5"), ip("192.0.2.5")});
  ResolverOptions parsed;
  parsed.config = parse_resolv_conf("options use-vc\n", "resolv.conf", ParseMode::strict).value;
  REQUIRE(parsed.config.use_vc);
  ResolverOptions direct;
  direct.config.use_vc = true;
  ResolverOptions udp;  // the control: the same lookup without use-vc
  for (auto* o : {&parsed, &direct, &udp}) {
    server->clear_queries();
    o->config.nameservers = {server->nameserver()};
    o->config.attempts = 1;
    o->try_timeout = 2s;
    auto r = Resolver::create(*o);
    auto out = resolve(*r, "vc.heyes.test", FamilySet::both());
    REQUIRE(out.event(Family::v6));
    REQUIRE(out.event(Family::v4));
    CHECK(out.event(Family::v6)->addresses == std::vector<IpAddress>{ip("2001:db8::5")});
    CHECK(out.event(Family::v4)->addresses == std::vector<IpAddress>{ip("192.0.2.5")});
    const auto queries = server->queries();
    REQUIRE(queries.size() == 2);
    for (const auto& q : queries) CHECK(q.tcp == o->config.use_vc);
    for (const auto& note : out.queries)
      CHECK((note.server.find("/tcp") != std::string::npos) == o->config.use_vc);
  }
}

// ---- rotate and ndots through the Resolver ----------------------------------

TEST_CASE("rotate: successive lookups start at successive servers; without it, always at the first") {
  FakeDnsServer one, two;
  for (auto* s : {&one, &two}) (*s)->add_host("rr.heyes.test", {ip("2001:db8::8"), ip("192.0.2.8")});
  for (bool rotate : {true, false}) {
    CAPTURE(rotate);
    ResolverOptions o = options_for({one->nameserver(), two->nameserver()});
    o.config.rotate = rotate;
    o.cache_entries = 0;  // every lookup asks
    auto r = Resolver::create(o);
    std::vector<std::string> first_server;
    for (int k = 0; k < 4; ++k) {
      auto out = resolve(*r, "rr.heyes.test", FamilySet::both());
      REQUIRE(out.event(Family::v4));
      REQUIRE(!out.event(Family::v4)->error);
      REQUIRE(!out.queries.empty());
      first_server.push_back(out.queries.front().server);
    }
    const std::string s1 = one->nameserver().to_string(), s2 = two->nameserver().to_string();
    if (rotate) {
      // Round robin: each lookup's first query goes to the other server than the last one's.
      for (std::size_t k = 1; k < first_server.size(); ++k) CHECK(first_server[k] != first_server[k - 1]);
      CHECK(std::count(first_server.begin(), first_server.end(), s1) == 2);
      CHECK(std::count(first_server.begin(), first_server.end(), s2) == 2);
    } else {
      CHECK(std::count(first_server.begin(), first_server.end(), s1) == 4);
      CHECK(two->queries().empty());
    }
    one->clear_queries();
    two->clear_queries();
  }
}

TEST_CASE("ndots through the Resolver: ndots:2 tries a one-dot name with the search suffix first") {
  FakeDnsServer server;
  server->add_host("www.x", {ip("192.0.2.1")});
  server->add_host("www.x.corp.test", {ip("192.0.2.2")});
  struct Row {
    const char* conf;
    const char* answered_by;
    const char* never_asked;
    const char* address;
  };
  for (const Row& row : {Row{"search corp.test\noptions ndots:1\n", "www.x", "www.x.corp.test", "192.0.2.1"},
                         Row{"search corp.test\noptions ndots:2\n", "www.x.corp.test", "www.x", "192.0.2.2"}}) {
    CAPTURE(row.conf);
    server->clear_queries();
    ResolverOptions o;
    o.config = parse_resolv_conf(row.conf, "resolv.conf", ParseMode::strict).value;
    o.config.nameservers = {server->nameserver()};
    o.config.attempts = 1;
    o.try_timeout = 2s;
    auto r = Resolver::create(o);
    auto out = resolve(*r, "www.x", FamilySet::both());
    REQUIRE(out.event(Family::v4));
    CHECK(out.event(Family::v4)->addresses == std::vector<IpAddress>{ip(row.address)});
    CHECK(out.event(Family::v4)->name == row.answered_by);
    CHECK(server->query_count(row.answered_by, RecordType::a) == 1);
    CHECK(server->query_count(row.answered_by, RecordType::aaaa) == 1);
    CHECK(server->query_count(row.never_asked, RecordType::a) == 0);
    CHECK(server->query_count(row.never_asked, RecordType::aaaa) == 0);
  }
}
