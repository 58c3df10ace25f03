// SPDX-License-Identifier: MIT
// The ipv4only.arpa query (RFC 7050, RFC 8880) against the fake DNS server: one and two prefixes, bogus, NODATA, silence.
#include <doctest/doctest.h>

#include <asio/io_context.hpp>

#include "heyes/dns/pref64.hpp"
#include "heyes/error.hpp"
#include "support/fake_dns_server.hpp"

using namespace heyes;
using namespace heyes::dns;
using namespace std::chrono_literals;
using heyes::test::FakeDnsServer;

namespace {

IpAddress ip(const char* s) { return *IpAddress::parse(s); }

// The system's configuration as resolv.conf would give it, pointing at the fake server;
// a search list and no_aaaa that the discovery must not honour.
ResolverConfig system_config(FakeDnsServer& server) {
  ResolverConfig c;
  c.nameservers = {server->nameserver()};
  c.search = {"corp.example"};
  c.attempts = 1;
  c.timeout = 1s;
  c.no_aaaa = true;
  return c;
}

struct Outcome {
  int calls = 0;
  int calls_inside_start = 0;
  Pref64Answer answer;
};

Outcome discover(FakeDnsServer& server) {
  auto options = pref64_resolver_options(system_config(server));
  options.try_timeout = 300ms;
  auto resolver = Resolver::create(options);
  asio::io_context ioc;
  Outcome out;
  auto lookup = start_pref64_discovery(*resolver, ioc.get_executor(), [&](const Pref64Answer& a) {
    ++out.calls;
    out.answer = a;
  });
  out.calls_inside_start = out.calls;
  ioc.run_for(10s);
  return out;
}

void answer_aaaa(FakeDnsServer& server, const std::vector<IpAddress>& addresses, std::uint32_t ttl) {
  TestAnswer a;
  for (const auto& address : addresses) a.records.push_back(Record::a("ipv4only.arpa", address, ttl));
  server->set("ipv4only.arpa", RecordType::aaaa, a);
}

}  // namespace

TEST_CASE("discovery query: a DNS64 under 64:ff9b::/96 gives the prefix and the TTL; AAAA only, no search list") {
  FakeDnsServer server;
  answer_aaaa(server, {ip("64:ff9b::192.0.0.170"), ip("64:ff9b::192.0.0.171")}, 7200);
  auto out = discover(server);
  CHECK(out.calls_inside_start == 0);
  REQUIRE(out.calls == 1);
  CHECK_FALSE(out.answer.error);
  CHECK(out.answer.answered());
  REQUIRE(out.answer.discovery.prefixes.size() == 1);
  CHECK(out.answer.discovery.prefixes[0].is_well_known());
  CHECK(out.answer.discovery.ttl == 7200s);
  CHECK(out.answer.server.find("127.0.0.1:") == 0);
  auto queries = server->queries();
  REQUIRE(queries.size() == 1);
  CHECK(queries[0].name == "ipv4only.arpa");
  CHECK(queries[0].type == RecordType::aaaa);
}

TEST_CASE("discovery query: two DNS64 prefixes in one answer") {
  FakeDnsServer server;
  answer_aaaa(server,
              {ip("2001:db8:64::c000:aa"), ip("2001:db8:64::c000:ab"), ip("2001:db8:122:c000:0:aa00::"),
               ip("2001:db8:122:c000:0:ab00::")},
              300);
  auto out = discover(server);
  REQUIRE(out.calls == 1);
  REQUIRE(out.answer.discovery.prefixes.size() == 2);
  CHECK(out.answer.discovery.prefixes[0].to_string() == "2001:db8:64::/96");
  CHECK(out.answer.discovery.prefixes[1].to_string() == "2001:db8:122::/48");
  CHECK(out.answer.discovery.diagnostics.empty());
}

TEST_CASE("discovery query: a bogus answer gives no prefix and says why") {
  FakeDnsServer server;
  answer_aaaa(server, {ip("2001:db8::1"), ip("64:ff9b::192.0.2.1")}, 300);
  auto out = discover(server);
  REQUIRE(out.calls == 1);
  CHECK_FALSE(out.answer.error);
  CHECK(out.answer.discovery.prefixes.empty());
  CHECK(out.answer.discovery.diagnostics.size() == 3);
}

TEST_CASE("discovery query: NODATA is an answer (no DNS64) with the negative TTL") {
  FakeDnsServer server;
  TestAnswer a;
  a.records.push_back(Record::a("ipv4only.arpa", ip("192.0.0.170"), 300));
  server->set("ipv4only.arpa", RecordType::a, a);
  TestAnswer nodata;  // the name exists, AAAA has nothing: NODATA, SOA minimum 900
  nodata.negative_ttl = 900;
  server->set("ipv4only.arpa", RecordType::aaaa, nodata);
  auto out = discover(server);
  REQUIRE(out.calls == 1);
  CHECK(out.answer.error == make_error_code(errc::no_data));
  CHECK(out.answer.answered());
  CHECK(out.answer.discovery.prefixes.empty());
  CHECK(out.answer.discovery.ttl == 900s);
}

TEST_CASE("discovery query: a silent server is a failure, not an answer") {
  FakeDnsServer server;
  TestAnswer a;
  a.drop = true;
  server->set("ipv4only.arpa", RecordType::aaaa, a);
  auto out = discover(server);
  REQUIRE(out.calls == 1);
  CHECK(out.answer.error);
  CHECK_FALSE(out.answer.answered());
  CHECK(out.answer.discovery.prefixes.empty());
  CHECK(out.answer.discovery.diagnostics.empty());
}

TEST_CASE("discovery resolver options: the system's servers and timeouts; no search, hosts, cache or no_aaaa") {
  ResolverConfig c;
  c.nameservers = {*Nameserver::parse("127.0.0.53")};
  c.search = {"corp.example"};
  c.timeout = 2s;
  c.attempts = 3;
  c.rotate = true;
  c.no_aaaa = true;
  auto o = pref64_resolver_options(c);
  CHECK(o.config.nameservers == c.nameservers);
  CHECK(o.config.search.empty());
  CHECK(o.config.timeout == 2s);
  CHECK(o.config.attempts == 3);
  CHECK(o.config.rotate);
  CHECK_FALSE(o.config.no_aaaa);
  CHECK(o.cache_entries == 0);
  CHECK(o.hosts.lookup("ipv4only.arpa", Family::v6).empty());
}
