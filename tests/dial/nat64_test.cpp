// SPDX-License-Identifier: MIT
// NAT64 through a dial (RFC 8305 section 7) on an IPv6-only host as a probe describes it: synthesized IPv4
// literals and A answers, the discovery, the last resort, never on dual-stack. Attempts to anything but
// loopback are stopped in socket_setup, before connect(): no packet leaves the host.
#include <doctest/doctest.h>

#include <asio/io_context.hpp>

#include <chrono>
#include <optional>
#include <thread>
#include <vector>

#include <sys/socket.h>
#include <unistd.h>

#include "dial/nat64.hpp"
#include "dial_fixture.hpp"
#include "heyes/dial.hpp"
#include "heyes/dial/dialer_options.hpp"
#include "heyes/select/connectivity.hpp"
#include "heyes/select/nat64.hpp"
#include "support/ra_message.hpp"

using namespace std::chrono_literals;
using heyes::IpAddress;
using heyes::test::count_events;
using heyes::test::event_types;
using heyes::test::Ipv4Fixture;

namespace {

IpAddress ip(const char* text) { return *IpAddress::parse(text); }

// A host with IPv6 and no IPv4 (an IPv6-only network), or with both.
class Host final : public heyes::ConnectivityProbe {
 public:
  explicit Host(bool has_v4) : has_v4_(has_v4) {}
  std::vector<heyes::InterfaceAddress> interface_addresses() override {
    std::vector<heyes::InterfaceAddress> out{{"lo", ip("127.0.0.1")}, {"lo", ip("::1")}, {"eth0", ip("2001:db8:1::2")}};
    if (has_v4_) out.push_back({"eth0", ip("192.0.2.2")});
    return out;
  }
  std::error_code route_to(const IpAddress& destination) override {
    if (destination.is_v4() && !has_v4_) return std::make_error_code(std::errc::network_unreachable);
    return {};
  }

 private:
  bool has_v4_;
};

struct Nat64World {
  asio::io_context ioc;  // outlives the Dialer and the sockets of the results dial() returns
  Ipv4Fixture fx;
  std::optional<heyes::Dialer> dialer;

  explicit Nat64World(bool has_v4 = false, heyes::Nat64Options nat64 = {}) {
    heyes::DialerOptions o = fx.dialer_options();
    o.connectivity_probe = std::make_shared<Host>(has_v4);
    o.nat64 = std::move(nat64);
    dialer.emplace(std::move(o));
  }

  // Every attempt outside loopback fails before its connect (nothing is sent).
  heyes::DialOptions options() const {
    heyes::DialOptions d = fx.options();
    d.addrconfig = true;
    d.timeout = 5s;
    d.socket_setup = [](asio::ip::tcp::socket& s, std::error_code& ec) {
      (void)s;
      ec = std::make_error_code(std::errc::permission_denied);
    };
    return d;
  }

  std::pair<std::error_code, heyes::DialResult> dial(const std::string& host, const heyes::DialOptions& opts) {
    ioc.restart();
    std::error_code error;
    std::optional<heyes::DialResult> result;
    dialer->async_dial_result(ioc.get_executor(), host, fx.service(), opts, [&](std::error_code ec, heyes::DialResult r) {
      error = ec;
      result.emplace(std::move(r));
    });
    ioc.run();
    REQUIRE(result);
    return {error, std::move(*result)};
  }

  std::size_t ipv4only_queries() { return fx.dns().query_count("ipv4only.arpa", heyes::dns::RecordType::aaaa); }
};

heyes::Nat64Options fixed(const char* prefix) { return heyes::Nat64Options::fixed({*heyes::Nat64Prefix::parse(prefix)}); }

std::vector<std::string> attempts(const heyes::Trace& t) { return event_types(t, {heyes::event::attempt_start}); }

std::string detail_of(const heyes::Trace& t, std::string_view type) {
  for (const auto& e : t.events())
    if (e.type == type) return e.detail;
  return {};
}

}  // namespace

TEST_CASE("NAT64, fixed prefix: an IPv4 literal is raced as its synthesized IPv6 address, nothing is asked") {
  Nat64World w(false, fixed("2001:db8:64::/96"));
  auto [ec, r] = w.dial("198.51.100.10", w.options());
  CHECK(ec == heyes::errc::all_attempts_failed);
  CHECK(attempts(r.trace) == std::vector<std::string>{"attempt_start 2001:db8:64::c633:640a"});
  CHECK(event_types(r.trace, {heyes::event::nat64_synthesized}) ==
        std::vector<std::string>{"nat64_synthesized 2001:db8:64::c633:640a"});
  CHECK(detail_of(r.trace, heyes::event::nat64_prefix) == "2001:db8:64::/96 (configured)");
  CHECK(w.fx.dns_queries() == 0);
}

TEST_CASE("NAT64: loopback, link-local, this-network and broadcast literals are never synthesized") {
  Nat64World w(false, fixed("2001:db8:64::/96"));
  heyes::DialOptions opts = w.options();
  opts.socket_setup = nullptr;
  auto [ec, r] = w.dial("127.0.0.1", opts);
  const std::string why = ec.message();  // clang 14: no structured binding inside doctest's message lambda
  REQUIRE_MESSAGE(!ec, why);
  CHECK(r.endpoint.address().to_string() == "127.0.0.1");
  CHECK(count_events(r.trace, heyes::event::nat64_synthesized) == 0);
  for (const char* literal : {"169.254.1.1", "0.0.0.1", "255.255.255.255"}) {
    auto [ec2, r2] = w.dial(literal, w.options());
    CHECK(attempts(r2.trace) == std::vector<std::string>{std::string("attempt_start ") + literal});
  }
}

TEST_CASE("NAT64, discovery: ipv4only.arpa's AAAA gives the prefix, asked once while it holds") {
  Nat64World w;
  w.fx.dns().add_host("ipv4only.arpa", {ip("2001:db8:64::c000:aa"), ip("2001:db8:64::c000:ab")}, 600);
  // 127.0.0.1 (never synthesized) connects: the dial succeeds, the prefix stays.
  heyes::DialOptions opts = w.options();
  opts.socket_setup = nullptr;
  opts.addresses = {ip("198.51.100.10"), ip("127.0.0.1")};
  for (int i = 0; i < 2; ++i) {
    auto [ec, r] = w.dial("server.heyes.test", opts);
    const std::string why = ec.message();
    REQUIRE_MESSAGE(!ec, why);
    CHECK(r.endpoint.address().to_string() == "127.0.0.1");
    // Loopback sorts first (RFC 6724 rule 8, the synthesized address as the IPv4 it stands for) and wins.
    CHECK(attempts(r.trace) == std::vector<std::string>{"attempt_start 127.0.0.1"});
    CHECK(event_types(r.trace, {heyes::event::nat64_synthesized}) ==
          std::vector<std::string>{"nat64_synthesized 2001:db8:64::c633:640a"});
    auto note = detail_of(r.trace, heyes::event::nat64_prefix);
    CHECK(note.find("2001:db8:64::/96 (dns: ipv4only.arpa @127.0.0.1") == 0);
    CHECK(note.find("TTL 600 s") != std::string::npos);
    CHECK(w.ipv4only_queries() == 1);
  }
  // Every synthesized address failed: the prefix may be stale, the next dial asks again.
  auto [ec2, r2] = w.dial("198.51.100.11", w.options());
  CHECK(attempts(r2.trace) == std::vector<std::string>{"attempt_start 2001:db8:64::c633:640b"});
  CHECK(w.ipv4only_queries() == 1);
  auto [ec3, r3] = w.dial("198.51.100.12", w.options());
  CHECK(w.ipv4only_queries() == 2);
}

TEST_CASE("NAT64, discovery without a DNS64: no prefix, the literal as it is, a note saying why, no hang") {
  Nat64World w;
  SUBCASE("NODATA") { w.fx.dns().add_host("ipv4only.arpa", {ip("192.0.0.170")}); }
  SUBCASE("an AAAA that embeds neither well-known address") { w.fx.dns().add_host("ipv4only.arpa", {ip("2001:db8:dead::1")}); }
  SUBCASE("silence") {
    heyes::dns::TestAnswer drop;
    drop.drop = true;
    w.fx.dns().set("ipv4only.arpa", heyes::dns::RecordType::aaaa, drop);
  }
  auto [ec, r] = w.dial("198.51.100.10", w.options());
  CHECK(ec == heyes::errc::all_attempts_failed);
  CHECK(attempts(r.trace) == std::vector<std::string>{"attempt_start 198.51.100.10"});
  CHECK(detail_of(r.trace, heyes::event::nat64_prefix).find("no NAT64 prefix: ipv4only.arpa") == 0);
  CHECK(r.elapsed < 3s);
  // The negative result is kept: the next dial does not wait again.
  auto before = w.ipv4only_queries();
  auto [ec2, r2] = w.dial("198.51.100.10", w.options());
  CHECK(w.ipv4only_queries() == before);
}

TEST_CASE("NAT64: an A-only name through a resolver that does not synthesize: A is asked and synthesized") {
  Nat64World w(false, fixed("64:ff9b::/96"));
  w.fx.dns().add_host("aonly.heyes.test", {ip("192.88.99.80")});
  auto [ec, r] = w.dial("aonly.heyes.test", w.options());
  CHECK(attempts(r.trace) == std::vector<std::string>{"attempt_start 64:ff9b::c058:6350"});
  CHECK(w.fx.dns().query_count("aonly.heyes.test", heyes::dns::RecordType::a) >= 1);
  CHECK(w.fx.dns().query_count("aonly.heyes.test", heyes::dns::RecordType::aaaa) >= 1);
}

TEST_CASE("NAT64: with a native AAAA, the synthesized addresses are the last resort") {
  Nat64World w(false, fixed("64:ff9b::/96"));
  w.fx.dns().add_host("both.heyes.test", {ip("2001:db8::1"), ip("192.88.99.80")});
  auto [ec, r] = w.dial("both.heyes.test", w.options());
  CHECK(attempts(r.trace) ==
        std::vector<std::string>{"attempt_start 2001:db8::1", "attempt_start 64:ff9b::c058:6350"});
  CHECK(detail_of(r.trace, heyes::event::last_resort).find("every native IPv6 address failed") == 0);
}

TEST_CASE("NAT64: AAAA answers a DNS64 synthesized are traced and raced") {
  Nat64World w(false, fixed("64:ff9b::/96"));
  w.fx.dns().add_host("dns64.heyes.test", {ip("64:ff9b::c058:6350"), ip("64:ff9b::c058:6351")});
  auto [ec, r] = w.dial("dns64.heyes.test", w.options());
  CHECK(attempts(r.trace).size() == 2);
  CHECK(count_events(r.trace, heyes::event::nat64_synthesized) == 2);
  CHECK(detail_of(r.trace, heyes::event::nat64_synthesized) == "192.88.99.80 under 64:ff9b::/96, by the DNS64: sorted as IPv4");
  CHECK(count_events(r.trace, heyes::event::last_resort) == 0);
}

TEST_CASE("NAT64 is never used on dual-stack, nor when it is off, nor for a dial that chose its family") {
  SUBCASE("dual-stack: the literal as it is, ipv4only.arpa never asked") {
    Nat64World w(true);
    w.fx.dns().add_host("ipv4only.arpa", {ip("64:ff9b::c000:aa")});
    auto [ec, r] = w.dial("198.51.100.10", w.options());
    CHECK(attempts(r.trace) == std::vector<std::string>{"attempt_start 198.51.100.10"});
    CHECK(w.ipv4only_queries() == 0);
    CHECK(count_events(r.trace, heyes::event::nat64_prefix) == 0);
  }
  SUBCASE("off for the dial") {
    Nat64World w(false, fixed("64:ff9b::/96"));
    heyes::DialOptions opts = w.options();
    opts.nat64 = heyes::Nat64Options::off();
    auto [ec, r] = w.dial("198.51.100.10", opts);
    CHECK(attempts(r.trace) == std::vector<std::string>{"attempt_start 198.51.100.10"});
    CHECK(count_events(r.trace, heyes::event::nat64_prefix) == 0);
  }
  SUBCASE("-4") {
    Nat64World w(false, fixed("64:ff9b::/96"));
    heyes::DialOptions opts = w.options();
    opts.family = heyes::FamilyRestriction::v4;
    auto [ec, r] = w.dial("198.51.100.10", opts);
    CHECK(attempts(r.trace) == std::vector<std::string>{"attempt_start 198.51.100.10"});
  }
}

TEST_CASE("NAT64: a discovery dropped with the io_context that ran it does not block the next dial") {
  Nat64World w;
  heyes::dns::TestAnswer slow;
  slow.delay = 3s;
  slow.records = {};
  w.fx.dns().set("ipv4only.arpa", heyes::dns::RecordType::aaaa, slow);
  {
    heyes::DialOptions opts = w.options();
    opts.timeout = 100ms;
    std::error_code ec;
    asio::io_context other;
    w.dialer->dial_result(other.get_executor(), "198.51.100.10", w.fx.service(), opts, ec);  // its own io_context, gone after
    CHECK(ec == heyes::errc::timed_out);
  }
  w.fx.dns().add_host("ipv4only.arpa", {ip("64:ff9b::c000:aa")});
  auto [ec, r] = w.dial("192.88.99.80", w.options());
  CHECK(attempts(r.trace) == std::vector<std::string>{"attempt_start 64:ff9b::c058:6350"});
  CHECK(r.elapsed < 2s);
}

namespace {

// The source of a dial's dns_answer events, "family source address...".
std::vector<std::string> answer_sources(const heyes::Trace& t) {
  std::vector<std::string> out;
  for (const auto& e : t.events()) {
    if (e.type != heyes::event::dns_answer) continue;
    std::string line = std::string(heyes::to_string(*e.family)) + " " + e.source;
    for (const auto& a : e.addresses) line += " " + a.to_string();
    out.push_back(line);
  }
  return out;
}

}  // namespace

TEST_CASE("NAT64: synthesized answers keep their source, also when they waited for the prefix") {
  SUBCASE("a literal under a fixed prefix") {
    Nat64World w(false, fixed("2001:db8:64::/96"));
    auto [ec, r] = w.dial("198.51.100.10", w.options());
    CHECK(answer_sources(r.trace) == std::vector<std::string>{"ipv4 literal 2001:db8:64::c633:640a"});
  }
  // The prefix is discovered slowly: the given addresses and the A answer are held until it is known.
  heyes::dns::TestAnswer slow_prefix;
  slow_prefix.records = {heyes::dns::Record::a("ipv4only.arpa", ip("2001:db8:64::c000:aa"), 600)};
  slow_prefix.delay = 100ms;
  SUBCASE("given addresses") {
    Nat64World w;
    w.fx.dns().set("ipv4only.arpa", heyes::dns::RecordType::aaaa, slow_prefix);
    heyes::DialOptions opts = w.options();
    opts.addresses = {ip("198.51.100.10")};
    auto [ec, r] = w.dial("server.heyes.test", opts);
    CHECK(answer_sources(r.trace) == std::vector<std::string>{"ipv4 given 2001:db8:64::c633:640a"});
  }
  SUBCASE("an A answer from DNS") {
    Nat64World w;
    w.fx.dns().set("ipv4only.arpa", heyes::dns::RecordType::aaaa, slow_prefix);
    w.fx.dns().add_host("aonly.heyes.test", {ip("192.88.99.80")});
    auto [ec, r] = w.dial("aonly.heyes.test", w.options());
    CHECK(answer_sources(r.trace) == std::vector<std::string>{"ipv4 dns 2001:db8:64::c058:6350"});
  }
}

TEST_CASE("NAT64: dials on several threads share one Dialer's discovery: one query, every dial synthesized") {
  Nat64World w;
  heyes::dns::TestAnswer late;  // in flight while every thread's dial starts
  late.delay = 200ms;
  late.records = {heyes::dns::Record::a("ipv4only.arpa", ip("64:ff9b::c000:aa"), 600)};
  w.fx.dns().set("ipv4only.arpa", heyes::dns::RecordType::aaaa, late);
  constexpr int kThreads = 4;
  std::vector<std::vector<std::string>> seen(kThreads);
  std::vector<std::thread> threads;
  for (int i = 0; i < kThreads; ++i)
    threads.emplace_back([&, i] {
      asio::io_context ioc;
      w.dialer->async_dial_result(ioc.get_executor(), "192.88.99.80", w.fx.service(), w.options(),
                                  [&, i](std::error_code, heyes::DialResult r) { seen[i] = attempts(r.trace); });
      ioc.run();
    });
  for (auto& t : threads) t.join();
  for (const auto& s : seen) CHECK(s == std::vector<std::string>{"attempt_start 64:ff9b::c058:6350"});
  CHECK(w.ipv4only_queries() == 1);
}

TEST_CASE("NAT64: the router's PREF64 option, read from the netlink subscription, gives the prefix with no query") {
  Nat64World w;  // its DNS server would answer ipv4only.arpa: it must not be asked
  w.fx.dns().add_host("ipv4only.arpa", {ip("64:ff9b::c000:aa")});
  int pair[2];
  REQUIRE(::socketpair(AF_UNIX, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0, pair) == 0);
  auto state = std::make_shared<heyes::detail::Nat64State>(heyes::Nat64Options::automatic(),
                                                           w.fx.dialer_options().resolver.config, pair[0]);
  asio::io_context ioc;
  const auto now = heyes::Clock::now();
  CHECK(!state->known(now, ioc.get_executor()));  // nothing from the router yet: a dial would ask DNS
  auto send = [&](const heyes::Pref64Option& o) {
    auto m = heyes::test::nduseropt_message(heyes::encode_pref64_option(o), 1, ip("fe80::1"));
    REQUIRE(::write(pair[1], m.data(), m.size()) == static_cast<ssize_t>(m.size()));
  };
  const auto nsp = *heyes::Nat64Prefix::parse("2001:db8:64::/96");
  send({nsp, 600s});
  auto view = state->known(now, ioc.get_executor());
  REQUIRE(view);
  CHECK(view->prefixes == std::vector<heyes::Nat64Prefix>{nsp});
  CHECK(view->description == "2001:db8:64::/96 (ra: 2001:db8:64::/96 from fe80::1 on lo, lifetime 600 s)");
  // The lifetime runs out, or the router withdraws it (lifetime 0): gone.
  CHECK(!state->known(now + 601s, ioc.get_executor()));
  send({nsp, 600s});
  send({nsp, 0s});
  CHECK(!state->known(now, ioc.get_executor()));
  ioc.run_for(200ms);
  CHECK(w.ipv4only_queries() == 0);
  ::close(pair[1]);
}
