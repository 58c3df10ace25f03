// SPDX-License-Identifier: MIT
// The cache on a virtual clock (TTL, negative entries, LRU bound) and response interpretation (CNAME, RFC 2308).
#include <doctest/doctest.h>

#include "dns/answer.hpp"
#include "dns/cache.hpp"
#include "heyes/error.hpp"

using namespace heyes;
using namespace heyes::dns;
using namespace std::chrono_literals;
using detail::Answer;

namespace {

IpAddress ip(const char* s) { return *IpAddress::parse(s); }
const auto t0 = detail::Cache::Clock::time_point{} + 10000s;

detail::CachedAnswer positive(const char* address, std::chrono::seconds ttl) {
  return {{ip(address)}, {}, "www.example.com", ttl};
}

Message response(const char* qname, RecordType type, Rcode rcode = Rcode::noerror) {
  return make_response(make_query(1, qname, type), rcode);
}

}  // namespace

TEST_CASE("cache: an entry lives exactly its TTL, keyed by case-insensitive name and type") {
  detail::Cache c(16);
  c.store("WWW.example.com.", RecordType::aaaa, positive("2001:db8::1", 60s), t0);
  auto hit = c.find("www.EXAMPLE.com", RecordType::aaaa, t0 + 20s);
  REQUIRE(hit);
  CHECK(hit->addresses == std::vector{ip("2001:db8::1")});
  CHECK(hit->ttl == 40s);
  CHECK_FALSE(c.find("www.example.com", RecordType::a, t0));
  CHECK(c.find("www.example.com", RecordType::aaaa, t0 + 59s));
  CHECK_FALSE(c.find("www.example.com", RecordType::aaaa, t0 + 60s));
  CHECK(c.size() == 0);  // the expired entry was dropped
}

TEST_CASE("cache: negative entries, TTL 0 not stored, capacity 0 disables") {
  detail::Cache c(16);
  c.store("gone.example", RecordType::a, {{}, errc::host_not_found, "gone.example", 30s}, t0);
  auto hit = c.find("gone.example", RecordType::a, t0 + 1s);
  REQUIRE(hit);
  CHECK(hit->error == errc::host_not_found);
  c.store("zero.example", RecordType::a, positive("192.0.2.1", 0s), t0);
  CHECK_FALSE(c.find("zero.example", RecordType::a, t0));
  detail::Cache off(0);
  off.store("x", RecordType::a, positive("192.0.2.1", 60s), t0);
  CHECK_FALSE(off.find("x", RecordType::a, t0));
}

TEST_CASE("cache: bounded, the least recently used goes first") {
  detail::Cache c(3);
  c.store("a", RecordType::a, positive("192.0.2.1", 60s), t0);
  c.store("b", RecordType::a, positive("192.0.2.2", 60s), t0);
  c.store("c", RecordType::a, positive("192.0.2.3", 60s), t0);
  CHECK(c.find("a", RecordType::a, t0));  // a is now the most recent; b the least
  c.store("d", RecordType::a, positive("192.0.2.4", 60s), t0);
  CHECK(c.size() == 3);
  CHECK_FALSE(c.find("b", RecordType::a, t0));
  CHECK(c.find("a", RecordType::a, t0));
  CHECK(c.find("c", RecordType::a, t0));
  CHECK(c.find("d", RecordType::a, t0));
  c.store("d", RecordType::a, positive("192.0.2.5", 60s), t0);  // replacing does not grow
  CHECK(c.size() == 3);
  CHECK(c.find("d", RecordType::a, t0)->addresses == std::vector{ip("192.0.2.5")});
}

TEST_CASE("interpret: addresses of the final name of a CNAME chain, smallest TTL") {
  Message m = response("www.example.com", RecordType::aaaa);
  m.answers = {Record::cname("www.example.com", "Edge.example.net", 300),
               Record::cname("edge.example.net", "host.example.org", 50),
               Record::a("host.example.org", ip("2001:db8::7"), 120),
               Record::a("host.example.org", ip("2001:db8::8"), 100),
               Record::a("other.example.org", ip("2001:db8::9"), 10)};
  auto a = detail::interpret(m, "WWW.example.com", RecordType::aaaa);
  CHECK(a.kind == Answer::Kind::addresses);
  CHECK(a.addresses == std::vector{ip("2001:db8::7"), ip("2001:db8::8")});
  CHECK(a.name == "host.example.org");
  CHECK(a.hops == 2);
  CHECK(*a.ttl == 50s);
}

TEST_CASE("interpret: a chain ending without records must be followed; loops and long chains are bad") {
  Message m = response("www.example.com", RecordType::a);
  m.answers = {Record::cname("www.example.com", "cdn.example.net", 30)};
  auto a = detail::interpret(m, "www.example.com", RecordType::a);
  CHECK(a.kind == Answer::Kind::follow);
  CHECK(a.name == "cdn.example.net");

  Message loop = response("a.example", RecordType::a);
  loop.answers = {Record::cname("a.example", "b.example", 30), Record::cname("b.example", "A.example", 30)};
  auto l = detail::interpret(loop, "a.example", RecordType::a);
  CHECK(l.kind == Answer::Kind::bad);
  CHECK(l.detail.find("loop") != std::string::npos);

  // A chain inside one answer is followed to its end, whatever its length
  // (glibc resolves chains of 9 and 20; the answer's own records bound it).
  for (int links : {9, 20, 300}) {
    CAPTURE(links);
    Message chain = response("n0.example", RecordType::a);
    for (int i = 0; i < links; ++i)
      chain.answers.push_back(
          Record::cname("n" + std::to_string(i) + ".example", "n" + std::to_string(i + 1) + ".example", 30));
    chain.answers.push_back(Record::a("n" + std::to_string(links) + ".example", *IpAddress::parse("192.0.2.9"), 30));
    auto c = detail::interpret(chain, "n0.example", RecordType::a);
    CHECK(c.kind == Answer::Kind::addresses);
    CHECK(c.hops == links);
    CHECK(c.name == "n" + std::to_string(links) + ".example");
    chain.answers.pop_back();
    CHECK(detail::interpret(chain, "n1.example", RecordType::a).kind == Answer::Kind::follow);
  }

  // A CNAME to the root name is not a name to ask for: bad at once.
  Message root = response("r.example", RecordType::a);
  root.answers = {Record::cname("r.example", "", 30)};
  auto r = detail::interpret(root, "r.example", RecordType::a);
  CHECK(r.kind == Answer::Kind::bad);
  CHECK(r.detail.find("root") != std::string::npos);
}

TEST_CASE("interpret: unspecified, broadcast and multicast addresses are dropped, with the reason") {
  Message m = response("mixed.example", RecordType::a);
  for (const char* a : {"0.0.0.0", "192.0.2.1", "255.255.255.255", "224.0.0.1", "239.255.255.255", "0.0.0.0"})
    m.answers.push_back(Record::a("mixed.example", *IpAddress::parse(a), 30));
  auto a = detail::interpret(m, "mixed.example", RecordType::a);
  CHECK(a.kind == Answer::Kind::addresses);
  CHECK(a.addresses == std::vector{*IpAddress::parse("192.0.2.1")});
  REQUIRE(a.dropped.size() == 4);
  CHECK(a.dropped[0].address.to_string() == "0.0.0.0");
  CHECK(a.dropped[0].reason == "unspecified");
  CHECK(a.dropped[1].reason == "broadcast");
  CHECK(a.dropped[2].reason == "multicast");
  CHECK(a.dropped[3].address.to_string() == "239.255.255.255");

  Message v6 = response("six.example", RecordType::aaaa);
  for (const char* s : {"::", "ff02::1", "ff0e::1"}) v6.answers.push_back(Record::a("six.example", *IpAddress::parse(s), 30));
  auto b = detail::interpret(v6, "six.example", RecordType::aaaa);
  CHECK(b.kind == Answer::Kind::addresses);
  CHECK(b.addresses.empty());
  CHECK(b.dropped.size() == 3);
  // Neighbours of the dropped ranges stay.
  for (const char* keep : {"223.255.255.255", "240.0.0.1", "255.255.255.254", "0.0.0.1", "fe80::1", "::1"})
    CHECK(detail::undialable_reason(*IpAddress::parse(keep)).empty());
}

TEST_CASE("interpret: NXDOMAIN and NODATA with the RFC 2308 TTL, no SOA means no TTL") {
  Message nx = response("gone.example.com", RecordType::a, Rcode::nxdomain);
  nx.authority = {Record::make_soa("example.com", 600, 45)};
  auto a = detail::interpret(nx, "gone.example.com", RecordType::a);
  CHECK(a.kind == Answer::Kind::nxdomain);
  CHECK(*a.ttl == 45s);  // min(SOA TTL, MINIMUM)

  Message nodata = response("v4only.example.com", RecordType::aaaa);
  nodata.authority = {Record::make_soa("example.com", 20, 900)};
  auto b = detail::interpret(nodata, "v4only.example.com", RecordType::aaaa);
  CHECK(b.kind == Answer::Kind::nodata);
  CHECK(*b.ttl == 20s);

  Message bare = response("v4only.example.com", RecordType::aaaa);
  CHECK_FALSE(detail::interpret(bare, "v4only.example.com", RecordType::aaaa).ttl);
}

TEST_CASE("cache: after a network change at t, entries stored up to t are asked again; later ones are served") {
  detail::Cache c(16);
  c.store("old.example", RecordType::a, positive("192.0.2.1", 300s), t0);
  c.mark_stale(t0 + 10s);
  CHECK_FALSE(c.find("old.example", RecordType::a, t0 + 11s));  // stale: a miss, so it is asked again
  c.store("old.example", RecordType::a, positive("192.0.2.2", 300s), t0 + 12s);  // the fresh answer
  auto hit = c.find("old.example", RecordType::a, t0 + 13s);
  REQUIRE(hit);
  CHECK(hit->addresses == std::vector{ip("192.0.2.2")});
  c.mark_stale(t0 + 5s);  // an older mark changes nothing
  CHECK(c.find("old.example", RecordType::a, t0 + 14s));
}
