// SPDX-License-Identifier: MIT
// Resolver faults on loopback: every nameserver down, garbage forever, a flood of spoofed replies.
#include <doctest/doctest.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <asio/io_context.hpp>
#include <asio/ip/udp.hpp>

#include <atomic>
#include <chrono>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "dns/message.hpp"
#include "heyes/dns/resolver.hpp"
#include "heyes/error.hpp"
#include "testing/test_server.hpp"

namespace {

using namespace std::chrono_literals;
using heyes::Family;
using heyes::FamilySet;
using heyes::IpAddress;
using heyes::dns::Nameserver;
using heyes::dns::RecordType;
using heyes::dns::ResolveEvent;
using heyes::dns::Resolver;
using heyes::dns::TestAnswer;
using heyes::dns::TestServer;
using heyes::Clock;

constexpr const char* name = "fault.heyes.test";

IpAddress addr(const char* text) { return *IpAddress::parse(text); }

// A resolver that asks only these servers: 1 s per try, two rounds, no
// cache, no hosts file.
std::shared_ptr<Resolver> make_resolver(std::vector<Nameserver> servers, int attempts = 2,
                                        std::chrono::seconds timeout = 1s) {
  heyes::dns::ResolverOptions o;
  o.config.nameservers = std::move(servers);
  o.config.timeout = timeout;
  o.config.attempts = attempts;
  o.cache_entries = 0;
  return Resolver::create(std::move(o));
}

// Both families' events of one lookup and how long it took.
struct Outcome {
  std::vector<ResolveEvent> events;
  Clock::duration elapsed{};
  const ResolveEvent* of(Family f) const {
    for (const auto& e : events)
      if (e.family == f) return &e;
    return nullptr;
  }
};

// Runs ioc until the lookup has delivered both events, or `limit` passed.
Outcome resolve(asio::io_context& ioc, Resolver& r, std::chrono::seconds limit) {
  Outcome out;
  auto start = Clock::now();
  auto lookup = r.start(ioc.get_executor(), name, FamilySet::both(), [&](const ResolveEvent& e) {
    out.events.push_back(e);
    if (out.events.size() == 2) out.elapsed = Clock::now() - start;
  });
  ioc.restart();
  while (out.events.size() < 2 && Clock::now() - start < limit) ioc.run_one_for(50ms);
  if (out.events.size() < 2) out.elapsed = Clock::now() - start;
  lookup->cancel();
  ioc.poll();
  return out;
}

// A loopback UDP port on which nothing listens: queries to it draw an ICMP
// port unreachable, which a connected UDP socket reports as refused.
Nameserver closed_udp_port() {
  asio::io_context ioc;
  asio::ip::udp::socket s(ioc, asio::ip::udp::endpoint(asio::ip::make_address("127.0.0.1"), 0));
  Nameserver ns{addr("127.0.0.1"), s.local_endpoint().port()};
  return ns;  // the socket closes here, freeing the port
}

double ms(Clock::duration d) { return std::chrono::duration<double, std::milli>(d).count(); }

// Scripts both families of `name` on a server the same way.
void script(TestServer& s, TestAnswer a) {
  s.set(name, RecordType::a, a);
  s.set(name, RecordType::aaaa, a);
}

// A nameserver that answers every query with a flood, each on a thread of
// its own: `spoofs` replies from the right address and port, with the right
// question but a wrong ID (every ID but the query's, in turn) and a forged
// address, with the genuine reply in the middle of them. Paced in bursts,
// with a pause before the genuine reply: a full socket buffer would drop it
// in the kernel, and that would test the kernel, not the resolver.
class FloodServer {
 public:
  explicit FloodServer(int spoofs) : spoofs_(spoofs) {
    fd_ = ::socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t len = sizeof a;
    timeval tv{0, 50'000};  // recvfrom wakes up every 50 ms to check stop_
    REQUIRE(::bind(fd_, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0);
    REQUIRE(::getsockname(fd_, reinterpret_cast<sockaddr*>(&a), &len) == 0);
    ::setsockopt(fd_, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    port_ = ntohs(a.sin_port);
    thread_ = std::thread([this] { serve(); });
  }
  ~FloodServer() {
    stop_ = true;
    thread_.join();
    for (auto& t : floods_) t.join();
    ::close(fd_);
  }
  Nameserver nameserver() const { return {addr("127.0.0.1"), port_}; }
  int spoofs_sent() const { return sent_.load(); }
  int queries() const { return queries_.load(); }

 private:
  void serve() {
    std::uint8_t buf[1500];
    // Bounded: at most 16 queries are flooded (a lookup sends a handful).
    while (!stop_ && queries_ < 16) {
      sockaddr_in peer{};
      socklen_t len = sizeof peer;
      ssize_t n = ::recvfrom(fd_, buf, sizeof buf, 0, reinterpret_cast<sockaddr*>(&peer), &len);
      if (n <= 0) continue;
      auto q = heyes::dns::decode({buf, static_cast<std::size_t>(n)});
      if (!q || q.message->questions.size() != 1) continue;
      ++queries_;
      floods_.emplace_back([this, query = *q.message, peer] { flood(query, peer); });
    }
  }

  // The genuine answer: 2001:db8::7 or 198.51.100.7; forged ones :66 / .66.
  static std::vector<std::uint8_t> reply(const heyes::dns::Message& query, std::uint16_t id, bool forged) {
    auto r = heyes::dns::make_response(query);
    r.header.id = id;
    bool v6 = query.questions[0].type == RecordType::aaaa;
    const char* a = v6 ? (forged ? "2001:db8::66" : "2001:db8::7") : (forged ? "192.0.2.66" : "198.51.100.7");
    r.answers.push_back(heyes::dns::Record::a(query.questions[0].name, addr(a), 300));
    return heyes::dns::encode(r);
  }

  void flood(const heyes::dns::Message& query, const sockaddr_in& peer) {
    auto send = [&](const std::vector<std::uint8_t>& bytes) {
      ::sendto(fd_, bytes.data(), bytes.size(), 0, reinterpret_cast<const sockaddr*>(&peer), sizeof peer);
    };
    std::uint16_t real = query.header.id;
    for (int i = 0; i < spoofs_ && !stop_; ++i) {
      if (i == spoofs_ / 2) {
        std::this_thread::sleep_for(50ms);  // let the receiver drain its buffer
        send(reply(query, real, false));
      }
      auto wrong = static_cast<std::uint16_t>(real + 1 + i % 65535);  // never the real ID
      send(reply(query, wrong, true));
      ++sent_;
      if (i % 32 == 31) std::this_thread::sleep_for(500us);
    }
  }

  int spoofs_;
  int fd_ = -1;
  std::uint16_t port_ = 0;
  std::atomic<bool> stop_{false};
  std::atomic<int> sent_{0};
  std::atomic<int> queries_{0};
  std::thread thread_;
  std::vector<std::thread> floods_;  // touched by thread_ only, joined after it
};

}  // namespace

TEST_SUITE("faults") {
  TEST_CASE("10,000 spoofed replies with wrong IDs around the real one: the real answer is taken") {
    asio::io_context ioc;
    FloodServer flood(10'000);
    // 3 s per try: reading 5,000 forged replies before the genuine one takes
    // about 1 s under ThreadSanitizer (0.2 s in a plain build).
    auto r = make_resolver({flood.nameserver()}, 2, 3s);
    Outcome out = resolve(ioc, *r, 10s);
    REQUIRE(out.events.size() == 2);
    REQUIRE(out.of(Family::v4));
    REQUIRE(out.of(Family::v6));
    CHECK(out.of(Family::v4)->error == std::error_code());
    CHECK(out.of(Family::v4)->addresses == std::vector{addr("198.51.100.7")});
    CHECK(out.of(Family::v6)->addresses == std::vector{addr("2001:db8::7")});
    // The genuine reply was taken from amid the forgeries of the first query
    // of each family: no retry (one that dropped it would have asked again).
    CHECK(flood.queries() == 2);
    CHECK(flood.spoofs_sent() >= 5'000);  // at least the half sent before the genuine reply
    MESSAGE("spoofed replies sent: ", flood.spoofs_sent(), ", queries: ", flood.queries(),
            ", lookup took ", ms(out.elapsed), " ms");
  }

  TEST_CASE("every nameserver refuses (ICMP port unreachable): a fast error, no timeout") {
    asio::io_context ioc;
    auto r = make_resolver({closed_udp_port(), closed_udp_port()});
    Outcome out = resolve(ioc, *r, 10s);
    REQUIRE(out.events.size() == 2);
    for (const auto& e : out.events) {
      CHECK(e.error == heyes::errc::dns_server_failure);
      CHECK(e.addresses.empty());
    }
    // Far below one 1 s timeout: the refusals were taken as answers.
    CHECK(ms(out.elapsed) < 900);
  }

  TEST_CASE("every nameserver answers REFUSED: a fast error") {
    asio::io_context ioc;
    TestServer a(ioc.get_executor()), b(ioc.get_executor());
    TestAnswer refused;
    refused.rcode = heyes::dns::Rcode::refused;
    script(a, refused);
    script(b, refused);
    auto r = make_resolver({a.nameserver(), b.nameserver()});
    Outcome out = resolve(ioc, *r, 10s);
    REQUIRE(out.events.size() == 2);
    for (const auto& e : out.events) CHECK(e.error == heyes::errc::dns_server_failure);
    CHECK(ms(out.elapsed) < 900);
    // Each server asked at most once per family and round: no retry storm.
    CHECK(a.queries().size() <= 4);
    CHECK(b.queries().size() <= 4);
  }

  TEST_CASE("every nameserver silent: dns_timeout within timeout x attempts") {
    asio::io_context ioc;
    TestServer silent(ioc.get_executor());
    TestAnswer drop;
    drop.drop = true;
    script(silent, drop);
    auto r = make_resolver({silent.nameserver()}, 2);
    Outcome out = resolve(ioc, *r, 10s);
    REQUIRE(out.events.size() == 2);
    for (const auto& e : out.events) CHECK(e.error == heyes::errc::dns_timeout);
    // 1 s per try, two tries (wide bounds: the machine may be busy).
    CHECK(ms(out.elapsed) >= 1900);
    CHECK(ms(out.elapsed) < 2000 + 1500);
  }

  TEST_CASE("a server that answers garbage forever: the query fails over to the next one") {
    asio::io_context ioc;
    TestServer junk(ioc.get_executor()), good(ioc.get_executor());
    TestAnswer garbage;
    garbage.garbage = true;
    script(junk, garbage);
    good.add_host(name, {addr("2001:db8::7"), addr("198.51.100.7")});
    auto r = make_resolver({junk.nameserver(), good.nameserver()});
    Outcome out = resolve(ioc, *r, 10s);
    REQUIRE(out.events.size() == 2);
    REQUIRE(out.of(Family::v4));
    REQUIRE(out.of(Family::v6));
    CHECK(out.of(Family::v4)->addresses == std::vector{addr("198.51.100.7")});
    CHECK(out.of(Family::v6)->addresses == std::vector{addr("2001:db8::7")});
    // No waiting for a timeout on the junk server.
    CHECK(ms(out.elapsed) < 900);
    CHECK(junk.queries().size() <= 4);
  }

  TEST_CASE("only garbage servers: an error within timeout x attempts, never a loop") {
    asio::io_context ioc;
    TestServer junk(ioc.get_executor());
    TestAnswer garbage;
    garbage.garbage = true;
    script(junk, garbage);
    auto r = make_resolver({junk.nameserver()}, 2);
    Outcome out = resolve(ioc, *r, 10s);
    REQUIRE(out.events.size() == 2);
    for (const auto& e : out.events) {
      CHECK(e.error);
      CHECK(e.addresses.empty());
    }
    CHECK(ms(out.elapsed) < 2000 + 1500);
    // Per family: at most one query per round, and one more without EDNS.
    CHECK(junk.queries().size() <= 8);
    // Nothing more is sent after the lookup ended.
    auto sent = junk.queries().size();
    ioc.restart();
    ioc.run_for(300ms);
    CHECK(junk.queries().size() == sent);
  }
}
