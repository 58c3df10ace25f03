// SPDX-License-Identifier: MIT
// Where each answer of a dial came from (literal, hosts, cache, dns, given), a server's rcode kept in the
// trace, and close-on-exec on every socket heyes opens. Loopback only: the test DNS server and listeners.
#include <doctest/doctest.h>

#include <asio/io_context.hpp>
#include <fcntl.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "dial_fixture.hpp"
#include "heyes/dial.hpp"
#include "heyes/dial/dialer_options.hpp"
#include "heyes/dns/resolver.hpp"
#include "heyes/error.hpp"
#include "support/fake_dns_server.hpp"

using namespace std::chrono_literals;
using heyes::IpAddress;
using heyes::TraceEvent;
using heyes::dns::Rcode;
using heyes::dns::RecordType;
using heyes::dns::TestAnswer;
using heyes::test::Ipv4Fixture;

namespace {

IpAddress ip(const char* text) { return *IpAddress::parse(text); }

// One dial's outcome, with the io_context its socket belongs to (which outlives the socket).
struct Dialed {
  std::unique_ptr<asio::io_context> ioc = std::make_unique<asio::io_context>();
  std::error_code error;
  std::optional<heyes::DialResult> result;
};

Dialed dial(heyes::Dialer& dialer, const std::string& host, const std::string& service,
            const heyes::DialOptions& options) {
  Dialed d;
  dialer.async_dial_result(d.ioc->get_executor(), host, service, options, [&](std::error_code ec, heyes::DialResult r) {
    d.error = ec;
    d.result.emplace(std::move(r));
  });
  d.ioc->run_for(10s);  // bounded: a dial that hangs fails the REQUIRE below
  REQUIRE(d.result);
  return d;
}

// The dns_answer and dns_error events of a trace.
std::vector<TraceEvent> dns_outcomes(const heyes::Trace& trace) {
  std::vector<TraceEvent> out;
  for (const auto& e : trace.events())
    if (e.type == heyes::event::dns_answer || e.type == heyes::event::dns_error) out.push_back(e);
  return out;
}

// "type source family" of each dns outcome, sorted (the two families' answers race each other).
std::vector<std::string> sources(const heyes::Trace& trace) {
  std::vector<std::string> out;
  for (const auto& e : dns_outcomes(trace))
    out.push_back(e.type + " " + e.source + " " + std::string(heyes::to_string(*e.family)));
  std::sort(out.begin(), out.end());
  return out;
}

// A hosts file of the test's own, removed at the end.
struct TempHosts {
  std::filesystem::path path;
  explicit TempHosts(const std::string& text) {
    path = std::filesystem::temp_directory_path() / ("heyes-origin-hosts-" + std::to_string(::getpid()));
    std::ofstream(path) << text;
  }
  ~TempHosts() {
    std::error_code ignored;
    std::filesystem::remove(path, ignored);
  }
};

// The port a socket is bound to (0 when unknown).
std::uint16_t local_port(int fd) {
  sockaddr_storage ss{};
  socklen_t len = sizeof ss;
  if (::getsockname(fd, reinterpret_cast<sockaddr*>(&ss), &len) != 0) return 0;
  if (ss.ss_family == AF_INET) return ntohs(reinterpret_cast<const sockaddr_in&>(ss).sin_port);
  if (ss.ss_family == AF_INET6) return ntohs(reinterpret_cast<const sockaddr_in6&>(ss).sin6_port);
  return 0;
}

// The sockets heyes opened since before: new sockets of this process, less
// the test DNS server's own (bound to its port: the connections it accepts).
std::vector<int> new_sockets(const std::set<int>& before, heyes::dns::TestServer& server);

// The socket descriptors of this process, from /proc/self/fd.
std::set<int> socket_fds() {
  std::set<int> out;
  for (const auto& entry : std::filesystem::directory_iterator("/proc/self/fd")) {
    std::error_code ec;
    auto target = std::filesystem::read_symlink(entry.path(), ec);
    if (ec || target.string().rfind("socket:", 0) != 0) continue;
    out.insert(std::stoi(entry.path().filename().string()));
  }
  return out;
}

std::vector<int> new_sockets(const std::set<int>& before, heyes::dns::TestServer& server) {
  std::vector<int> out;
  for (int fd : socket_fds())
    if (!before.count(fd) && local_port(fd) != server.port()) out.push_back(fd);
  return out;
}

bool cloexec(int fd) {
  int flags = ::fcntl(fd, F_GETFD);
  return flags >= 0 && (flags & FD_CLOEXEC) != 0;
}

}  // namespace

TEST_CASE("source: an address literal is traced as literal, with its address as the answer") {
  Ipv4Fixture fx;
  auto d = dial(fx.dialer(), "127.0.0.1", fx.service(), fx.options());
  REQUIRE_FALSE(d.error);
  auto outcomes = dns_outcomes(d.result->trace);
  REQUIRE(outcomes.size() == 1);
  CHECK(outcomes[0].source == "literal");
  CHECK(outcomes[0].addresses == std::vector<IpAddress>{ip("127.0.0.1")});
  CHECK(outcomes[0].detail == "1 address(es) from literal: 127.0.0.1");
  CHECK(fx.dns_queries() == 0);
}

TEST_CASE("source: DialOptions::addresses are traced as given, one answer per family") {
  Ipv4Fixture fx;
  heyes::DialOptions o = fx.options();
  o.addresses = {ip("::1"), ip("127.0.0.1")};
  o.family = heyes::FamilyRestriction::v4;  // the working listener is IPv4 only
  auto d = dial(fx.dialer(), "staging.heyes.test", fx.service(), o);
  REQUIRE_FALSE(d.error);
  CHECK(sources(d.result->trace) == std::vector<std::string>{"dns_answer given ipv4"});
  CHECK(fx.dns_queries() == 0);
}

TEST_CASE("source: a name of the hosts file is traced as hosts; the family it lacks as a hosts NODATA") {
  Ipv4Fixture fx;
  TempHosts hosts("127.0.0.1 files.heyes.test\n");
  heyes::DialerOptions o = fx.dialer_options();
  o.resolver.hosts = heyes::dns::HostsTable::from_file(hosts.path.string());
  heyes::Dialer dialer(std::move(o));
  auto d = dial(dialer, "files.heyes.test", fx.service(), fx.options());
  REQUIRE_FALSE(d.error);
  CHECK(sources(d.result->trace) == std::vector<std::string>{"dns_answer hosts ipv4", "dns_error hosts ipv6"});
  CHECK(fx.dns_queries() == 0);
}

TEST_CASE("source: dns on the first dial of a name, cache on the second through the same Dialer") {
  Ipv4Fixture fx;
  auto first = dial(fx.dialer(), fx.name(), fx.service(), fx.options());
  REQUIRE_FALSE(first.error);
  // AAAA is NODATA (with an SOA: cached too), A is 127.0.0.1.
  CHECK(sources(first.result->trace) == std::vector<std::string>{"dns_answer dns ipv4", "dns_error dns ipv6"});
  for (const auto& e : dns_outcomes(first.result->trace)) {
    CHECK(e.rcode.empty());  // NODATA is no server error
    if (e.type == heyes::event::dns_answer) CHECK(e.addresses == std::vector<IpAddress>{ip("127.0.0.1")});
  }
  const auto queries = fx.dns_queries();
  fx.drain();
  auto second = dial(fx.dialer(), fx.name(), fx.service(), fx.options());
  REQUIRE_FALSE(second.error);
  CHECK(sources(second.result->trace) == std::vector<std::string>{"dns_answer cache ipv4", "dns_error cache ipv6"});
  CHECK(fx.dns_queries() == queries);
}

TEST_CASE("rcode: SERVFAIL and REFUSED reach the dns_error event with the server that answered them") {
  for (Rcode rcode : {Rcode::servfail, Rcode::refused}) {
    const std::string name = rcode == Rcode::servfail ? "servfail.heyes.test" : "refused.heyes.test";
    CAPTURE(name);
    Ipv4Fixture fx;
    for (RecordType type : {RecordType::aaaa, RecordType::a}) {
      TestAnswer answer;
      answer.rcode = rcode;
      fx.dns().set(name, type, answer);
    }
    auto d = dial(fx.dialer(), name, fx.service(), fx.options());
    CHECK(d.error == heyes::errc::dns_server_failure);
    const std::string code = rcode == Rcode::servfail ? "SERVFAIL" : "REFUSED";
    const std::string server = fx.nameserver().to_string();
    auto outcomes = dns_outcomes(d.result->trace);
    REQUIRE(outcomes.size() == 2);
    for (const auto& e : outcomes) {
      CHECK(e.type == heyes::event::dns_error);
      CHECK(e.source == "dns");
      CHECK(e.rcode == code);
      CHECK(e.server == server);
      CHECK(e.detail == "every nameserver failed: " + code + " from " + server);
    }
  }
}

TEST_CASE("rcode: a server that never answers leaves none, the error as before") {
  Ipv4Fixture fx;
  for (RecordType type : {RecordType::aaaa, RecordType::a}) {
    TestAnswer answer;
    answer.drop = true;
    fx.dns().set("silent.heyes.test", type, answer);
  }
  heyes::DialerOptions o = fx.dialer_options();
  o.resolver.try_timeout = 100ms;
  heyes::Dialer dialer(std::move(o));
  auto d = dial(dialer, "silent.heyes.test", fx.service(), fx.options());
  CHECK(d.error == heyes::errc::dns_timeout);
  for (const auto& e : dns_outcomes(d.result->trace)) {
    CHECK(e.source == "dns");
    CHECK(e.rcode.empty());
    CHECK(e.server.empty());
  }
}

TEST_CASE("rcode: the resolver's event keeps it; the last server's rcode when two failed differently") {
  heyes::test::FakeDnsServer first, second;
  for (RecordType type : {RecordType::aaaa, RecordType::a}) {
    TestAnswer servfail;
    servfail.rcode = Rcode::servfail;
    first->set("two.heyes.test", type, servfail);
    TestAnswer refused;
    refused.rcode = Rcode::refused;
    second->set("two.heyes.test", type, refused);
  }
  auto resolver =
      heyes::dns::Resolver::create(heyes::test::options_for({first->nameserver(), second->nameserver()}));
  asio::io_context ioc;
  std::vector<heyes::dns::ResolveEvent> events;
  auto lookup = resolver->start(ioc.get_executor(), "two.heyes.test", heyes::FamilySet::both(),
                                [&](const heyes::dns::ResolveEvent& e) { events.push_back(e); });
  ioc.run_for(5s);
  REQUIRE(events.size() == 2);
  for (const auto& e : events) {
    CHECK(e.error == heyes::errc::dns_server_failure);
    CHECK(e.source == "dns");
    CHECK(e.rcode == "REFUSED");
    CHECK(e.server == second->nameserver().to_string());
  }
}

TEST_CASE("close-on-exec: the dial's connected socket, and its DNS sockets while the queries are in flight") {
  Ipv4Fixture fx;
  TestAnswer slow;
  slow.records = {heyes::dns::Record::a("slow.heyes.test", ip("127.0.0.1"), 60)};
  slow.delay = 300ms;
  fx.dns().set("slow.heyes.test", RecordType::a, slow);
  TestAnswer slow_nodata;
  slow_nodata.delay = 300ms;
  fx.dns().set("slow.heyes.test", RecordType::aaaa, slow_nodata);

  const std::set<int> before = socket_fds();
  asio::io_context ioc;
  std::optional<heyes::DialResult> result;
  std::error_code error;
  fx.dialer().async_dial_result(ioc.get_executor(), "slow.heyes.test", fx.service(), fx.options(),
                                [&](std::error_code ec, heyes::DialResult r) {
                                  error = ec;
                                  result.emplace(std::move(r));
                                });
  // Until the server has both queries (bounded), then look at the new sockets.
  for (int i = 0; i < 200 && fx.dns_queries() < 2; ++i) ioc.run_for(5ms);
  REQUIRE(fx.dns_queries() >= 2);
  const std::vector<int> in_flight = new_sockets(before, fx.dns());
  CHECK(in_flight.size() >= 2);  // one UDP socket per family
  for (int fd : in_flight) {
    CAPTURE(fd);
    CHECK(cloexec(fd));
  }
  ioc.run_for(10s);
  REQUIRE(result);
  REQUIRE_FALSE(error);
  CHECK(cloexec(result->socket.native_handle()));
}

TEST_CASE("close-on-exec: DNS over TCP after a truncated UDP answer") {
  Ipv4Fixture fx;
  TestAnswer truncated;
  truncated.records = {heyes::dns::Record::a("tc.heyes.test", ip("127.0.0.1"), 60)};
  truncated.truncate = true;
  truncated.delay = 300ms;
  fx.dns().set("tc.heyes.test", RecordType::a, truncated);
  TestAnswer nodata;
  nodata.delay = 300ms;
  fx.dns().set("tc.heyes.test", RecordType::aaaa, nodata);
  heyes::DialOptions o = fx.options();
  o.family = heyes::FamilyRestriction::v4;

  const std::set<int> before = socket_fds();
  asio::io_context ioc;
  std::optional<heyes::DialResult> result;
  std::error_code error;
  fx.dialer().async_dial_result(ioc.get_executor(), "tc.heyes.test", fx.service(), o,
                                [&](std::error_code ec, heyes::DialResult r) {
                                  error = ec;
                                  result.emplace(std::move(r));
                                });
  auto tcp_queries = [&] {
    std::size_t n = 0;
    for (const auto& q : fx.dns().queries()) n += q.tcp ? 1 : 0;
    return n;
  };
  for (int i = 0; i < 400 && tcp_queries() < 1 && !result; ++i) ioc.run_for(5ms);
  REQUIRE(tcp_queries() >= 1);
  const std::vector<int> in_flight = new_sockets(before, fx.dns());
  CHECK(in_flight.size() >= 1);  // the TCP connection to the server
  for (int fd : in_flight) {
    CAPTURE(fd);
    CHECK(cloexec(fd));
  }
  ioc.run_for(10s);
  REQUIRE(result);
  CHECK_FALSE(error);
}
