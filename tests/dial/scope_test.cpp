// SPDX-License-Identifier: MIT
// IPv6 zones (scope ids) from the text to the connected socket, on loopback: literals, the hosts table, sorting, DNS answers.
//
// Link-local addresses are not configured on lo, so what runs everywhere is:
// the zone of a link-local address kept through parsing, the hosts table, the
// resolver's events and the sort; a zone on ::1 dropped (the kernel ignores
// it and getpeername() reports none); a zoneless link-local DNS answer
// dialed as it is and refused by the kernel (EINVAL), as with glibc. The
// link-local dial itself is link_local_test.cpp (root, network namespaces).
#include <doctest/doctest.h>
#include <net/if.h>

#include <asio/io_context.hpp>

#include <chrono>
#include <string>
#include <vector>

#include "dial_fixture.hpp"
#include "support/fake_dns_server.hpp"
#include "support/fake_source_lookup.hpp"
#include "heyes/dial.hpp"
#include "heyes/dial/dialer_options.hpp"
#include "heyes/dns/hosts.hpp"
#include "heyes/dns/resolver.hpp"
#include "heyes/select/policy.hpp"
#include "heyes/select/sort.hpp"
#include "heyes/trace.hpp"
#include "testing/listeners.hpp"

using namespace std::chrono_literals;
using heyes::IpAddress;

namespace {

IpAddress ip(const char* text) {
  auto a = IpAddress::parse(text);
  REQUIRE_MESSAGE(a, text);
  return *a;
}

const std::uint32_t kLo = ::if_nametoindex("lo");

heyes::DialOptions options() {
  heyes::DialOptions o;
  o.addrconfig = false;
  o.use_history = false;
  o.timeout = 5s;
  return o;
}

// A Dialer that asks only server (or a closed port when none) and has hosts.
heyes::DialerOptions dialer_options(heyes::dns::HostsTable hosts, const heyes::dns::Nameserver* server = nullptr) {
  heyes::DialerOptions o;
  o.resolver.config.nameservers = {server ? *server : heyes::dns::Nameserver{ip("127.0.0.1"), heyes::test::closed_port()}};
  o.resolver.config.timeout = 1s;
  o.resolver.config.attempts = 1;
  o.resolver.hosts = std::move(hosts);
  o.policy = std::make_shared<const heyes::PolicyTable>();
  return o;
}

std::vector<std::string> attempts(const heyes::Trace& trace) {
  return heyes::test::event_types(trace, {heyes::event::attempt_start, heyes::event::attempt_failed,
                                          heyes::event::connected});
}

}  // namespace

TEST_CASE("a zone is kept on link-local addresses and dropped where the kernel ignores it") {
  REQUIRE(kLo != 0);
  CHECK(ip("fe80::1%lo").scope_id() == kLo);
  CHECK(ip("fe80::1%lo") == ip(("fe80::1%" + std::to_string(kLo)).c_str()));
  CHECK(ip("fe80::1%lo").to_string() == "fe80::1%" + std::to_string(kLo));
  CHECK(ip("[fe80::1%lo]").scope_id() == kLo);
  CHECK(ip("fe80::1") != ip("fe80::1%lo"));  // one zone is not another (nor none)
  CHECK(ip("ff02::1%lo").scope_id() == kLo);  // link-local multicast has zones too
  // ::1, global and unique-local addresses: the kernel connects and binds
  // without looking at sin6_scope_id and getpeername() reports 0.
  for (const char* text : {"::1%lo", "::1%1", "2001:db8::1%lo", "fd00::1%7", "ff05::1%1"}) {
    CAPTURE(text);
    CHECK(ip(text).scope_id() == 0);
  }
  CHECK(ip("::1%lo") == ip("::1"));
  CHECK(IpAddress::v6(ip("::1").bytes(), 5) == ip("::1"));
  CHECK(IpAddress::v6(ip("fe80::1").bytes(), 5).scope_id() == 5);
  // What still fails: an unknown interface, a zone on IPv4.
  CHECK_FALSE(IpAddress::parse("fe80::1%no-such-if0"));
  CHECK_FALSE(IpAddress::parse("::1%no-such-if0"));
  CHECK_FALSE(IpAddress::parse("127.0.0.1%lo"));
}

TEST_CASE("hosts entries with %lo: parsed, deduplicated per zone, carried into the ResolveEvent") {
  auto parsed = heyes::dns::parse_hosts(
      "fe80::1%lo ll-lo\n"
      "fe80::1%1 ll-lo\n"           // the same address and zone by number (lo is 1 on Linux)
      "fe80::1 ll-lo\n"             // no zone: another address
      "::1%lo lo6\n"                // a zone ::1 has no use for
      "fe80::2%no-such-if0 nope\n",  // an unknown interface: the line is skipped
      "hosts");
  REQUIRE(parsed.warnings.size() == 1);
  CHECK(parsed.warnings[0].message.find("no-such-if0") != std::string::npos);
  const auto& hosts = parsed.value;
  std::vector<IpAddress> want{ip("fe80::1%lo"), ip("fe80::1")};
  if (kLo != 1) want.insert(want.begin() + 1, ip("fe80::1%1"));
  CHECK(hosts.lookup("ll-lo", heyes::Family::v6) == want);
  CHECK(hosts.lookup("lo6", heyes::Family::v6) == std::vector{ip("::1")});
  CHECK(hosts.lookup("nope", heyes::Family::v6).empty());

  heyes::dns::ResolverOptions ro;
  ro.hosts = hosts;
  ro.config.nameservers = {{ip("127.0.0.1"), heyes::test::closed_port()}};  // never asked
  auto resolver = heyes::dns::Resolver::create(ro);
  auto prepared = resolver->answer_now("LL-lo", heyes::FamilySet::both());
  REQUIRE(prepared);
  REQUIRE(prepared->size() == 2);
  const auto& v6 = prepared->front();
  CHECK(v6.family == heyes::Family::v6);
  CHECK(v6.source == heyes::answer_source::hosts);
  CHECK(v6.addresses == want);
  REQUIRE(!v6.addresses.empty());
  CHECK(v6.addresses.front().scope_id() == kLo);
}

TEST_CASE("sorting keeps every zone: the same address on two links stays two destinations") {
  heyes::test::FakeSourceLookup sources;
  sources.add("fe80::1%1", "fe80::a%1", 64);
  sources.add("fe80::1%2", "fe80::b%2", 64);
  sources.add("2001:db8::1", "2001:db8::a", 64);
  sources.add("192.0.2.1", "192.0.2.9", 24);
  // fe80::1 without a zone: no source (the kernel refuses it), rule 1 puts it last.
  std::vector<IpAddress> in{ip("fe80::1"), ip("192.0.2.1"), ip("fe80::1%2"), ip("2001:db8::1"), ip("fe80::1%1")};
  heyes::PolicyTable policy;
  heyes::OrderOptions oo;
  oo.first_family_count = 1;
  auto sorted = heyes::sort_destinations(in, policy, sources);
  CHECK(sorted == std::vector{ip("fe80::1%2"), ip("fe80::1%1"), ip("2001:db8::1"), ip("192.0.2.1"), ip("fe80::1")});
  auto ordered = heyes::order_destinations(in, policy, sources, oo);
  CHECK(ordered ==
        std::vector{ip("fe80::1%2"), ip("192.0.2.1"), ip("fe80::1%1"), ip("2001:db8::1"), ip("fe80::1")});
  // The system's own source lookup: a zoneless link-local destination has no
  // source (connect() on the probe gives EINVAL), so it is unusable.
  heyes::SystemSourceLookup system;
  CHECK_FALSE(system.source_for(ip("fe80::1")));
}

TEST_CASE("a literal ::1%1 dials ::1 (endpoint and socket agree there is no zone); ::1%lo is no literal, as in getaddrinfo" *
          doctest::test_suite(heyes::test::ipv6_loopback_suite)) {
  REQUIRE(heyes::testing::have_ipv6_loopback());
  auto listener = heyes::testing::Listener::working(ip("::1"));
  heyes::Dialer dialer(dialer_options({}));
  for (std::string literal : {"::1%lo", "[::1%lo]"}) {
    asio::io_context ioc;
    std::error_code ec;
    dialer.dial_result(ioc.get_executor(), literal, std::to_string(listener.port()), options(), ec);
    CHECK(ec == heyes::errc::bad_host_name);
  }
  for (std::string literal : {"::1%1", "[::1%1]"}) {
    CAPTURE(literal);
    asio::io_context ioc;
    std::error_code ec;
    auto r = dialer.dial_result(ioc.get_executor(), literal, std::to_string(listener.port()), options(), ec);
    REQUIRE_MESSAGE(!ec, ec.message());
    CHECK(r.endpoint.address().to_v6().scope_id() == 0);
    CHECK(r.endpoint == r.socket.remote_endpoint());
    CHECK(attempts(r.trace) == std::vector<std::string>{"attempt_start ::1", "connected ::1"});
    listener.accept_pending();
  }
}

TEST_CASE("a literal fe80::1%lo keeps its zone up to the kernel, which has no route for it") {
  heyes::Dialer dialer(dialer_options({}));
  asio::io_context ioc;
  std::error_code ec;
  auto r = dialer.dial_result(ioc.get_executor(), "fe80::1%lo", "9", options(), ec);
  CHECK(ec);
  const std::string zoned = "fe80::1%" + std::to_string(kLo);
  auto seen = attempts(r.trace);
  REQUIRE(seen.size() == 2);
  CHECK(seen[0] == "attempt_start " + zoned);
  CHECK(seen[1] == "attempt_failed " + zoned);
  // lo has no fe80::/64 route: ENETUNREACH, not the EINVAL of a missing zone.
  for (const auto& e : r.trace.events())
    if (e.type == heyes::event::attempt_failed) CHECK(e.detail.find("nvalid argument") == std::string::npos);
}

TEST_CASE("a hosts name with fe80::1%lo: the attempt goes to the zoned address") {
  auto hosts = heyes::dns::parse_hosts("fe80::1%lo ll-lo\n", "hosts").value;
  heyes::Dialer dialer(dialer_options(hosts));
  asio::io_context ioc;
  std::error_code ec;
  auto r = dialer.dial_result(ioc.get_executor(), "ll-lo", "9", options(), ec);
  CHECK(ec);
  const std::string zoned = "fe80::1%" + std::to_string(kLo);
  bool answered = false;
  for (const auto& e : r.trace.events()) {
    if (e.type != heyes::event::dns_answer) continue;
    answered = true;
    CHECK(e.source == heyes::answer_source::hosts);
    CHECK(e.addresses == std::vector{ip("fe80::1%lo")});
  }
  CHECK(answered);
  CHECK(attempts(r.trace) == std::vector<std::string>{"attempt_start " + zoned, "attempt_failed " + zoned});
}

TEST_CASE("a link-local AAAA answer has no zone: heyes dials it as it is and the kernel refuses it (EINVAL)") {
  heyes::test::FakeDnsServer server;
  server->add_host("ll.heyes.test", {ip("fe80::1")});
  {
    // The resolver's event: the address as DNS gave it, scope id 0.
    auto resolver = heyes::dns::Resolver::create(heyes::test::options_for({server->nameserver()}));
    asio::io_context ioc;
    std::vector<heyes::dns::ResolveEvent> events;
    resolver->start(ioc.get_executor(), "ll.heyes.test.", heyes::FamilySet::only(heyes::Family::v6),
                    [&](const heyes::dns::ResolveEvent& e) { events.push_back(e); });
    ioc.run_for(5s);
    REQUIRE(events.size() == 1);
    CHECK(events[0].source == heyes::answer_source::dns);
    CHECK(events[0].addresses == std::vector{ip("fe80::1")});
    CHECK(events[0].addresses.at(0).scope_id() == 0);
    CHECK(events[0].dropped.empty());  // kept: a local_address on the link makes it dialable
  }
  auto ns = server->nameserver();
  heyes::Dialer dialer(dialer_options({}, &ns));
  asio::io_context ioc;
  std::error_code ec;
  auto o = options();
  o.family = heyes::FamilyRestriction::v6;
  auto r = dialer.dial_result(ioc.get_executor(), "ll.heyes.test.", "9", o, ec);
  REQUIRE(ec);
  CHECK(attempts(r.trace) == std::vector<std::string>{"attempt_start fe80::1", "attempt_failed fe80::1"});
  bool einval = false;
  for (const auto& e : r.trace.events())
    if (e.type == heyes::event::attempt_failed) einval = e.detail.find("nvalid argument") != std::string::npos;
  CHECK_MESSAGE(einval, "the attempt failed with EINVAL, as connect() after glibc's getaddrinfo does");
}
