// SPDX-License-Identifier: MIT
// Interop: the Resolver against a real dnsmasq on a loopback port (skipped when dnsmasq is missing).
#include <doctest/doctest.h>

#include <asio/io_context.hpp>
#include <asio/ip/tcp.hpp>
#include <asio/ip/udp.hpp>

#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <thread>

#include "heyes/dns/resolver.hpp"
#include "heyes/error.hpp"

using namespace heyes;
using namespace heyes::dns;
using namespace std::chrono_literals;

namespace {

IpAddress ip(const char* s) { return *IpAddress::parse(s); }

const char* find_dnsmasq() {
  for (const char* p : {"/usr/sbin/dnsmasq", "/usr/bin/dnsmasq", "/sbin/dnsmasq"})
    if (access(p, X_OK) == 0) return p;
  return nullptr;
}

// A loopback port free for UDP and TCP right now (dnsmasq binds it next).
std::uint16_t free_port() {
  asio::io_context ioc;
  for (;;) {
    asio::ip::udp::socket u(ioc, {asio::ip::make_address("127.0.0.1"), 0});
    const auto port = u.local_endpoint().port();
    asio::ip::tcp::acceptor t(ioc);
    std::error_code ec;
    t.open(asio::ip::tcp::v4());
    t.bind({asio::ip::make_address("127.0.0.1"), port}, ec);
    if (!ec) return port;
  }
}

// dnsmasq in the foreground (-d: no fork, TCP answered in-process), only
// our records, only loopback. Killed in the destructor, and by the kernel
// if this test dies (PR_SET_PDEATHSIG).
class Dnsmasq {
 public:
  Dnsmasq(const char* binary, std::uint16_t port) : port_(port) {
    std::vector<std::string> args = {binary, "-d", "-C", "/dev/null", "--no-resolv", "--no-hosts",
                                     "--port=" + std::to_string(port), "--listen-address=127.0.0.1",
                                     "--bind-interfaces", "--local=/test/", "--log-facility=/dev/null",
                                     "--host-record=www.test,192.0.2.1,2001:db8::1",
                                     "--host-record=v4only.test,192.0.2.2", "--cname=alias.test,www.test"};
    // 150 A records: far more than the 1232 bytes of a UDP answer.
    for (int i = 1; i <= 150; ++i) args.push_back("--host-record=big.test,198.51.100." + std::to_string(i));
    std::vector<char*> argv;
    for (auto& a : args) argv.push_back(a.data());
    argv.push_back(nullptr);
    pid_ = fork();
    if (pid_ == 0) {
      prctl(PR_SET_PDEATHSIG, SIGKILL);
      std::freopen("/dev/null", "w", stderr);
      execv(binary, argv.data());
      _exit(127);
    }
  }
  ~Dnsmasq() {
    if (pid_ <= 0) return;
    kill(pid_, SIGTERM);
    int status = 0;
    waitpid(pid_, &status, 0);
  }
  bool alive() {
    int status = 0;
    return pid_ > 0 && waitpid(pid_, &status, WNOHANG) == 0;
  }
  Nameserver nameserver() const { return {ip("127.0.0.1"), port_}; }

 private:
  std::uint16_t port_;
  pid_t pid_ = -1;
};

struct Result {
  std::optional<ResolveEvent> v6, v4;
  std::vector<QueryNote> queries;
};

Result resolve(Resolver& r, std::string_view host) {
  asio::io_context ioc;
  Result out;
  auto l = r.start(
      ioc.get_executor(), host, FamilySet::both(),
      [&](const ResolveEvent& e) { (e.family == Family::v6 ? out.v6 : out.v4) = e; },
      [&](const QueryNote& q) { out.queries.push_back(q); });
  ioc.run_for(10s);
  return out;
}

}  // namespace

TEST_CASE("interop with dnsmasq: A+AAAA, CNAME, NODATA, NXDOMAIN, truncation -> TCP") {
  const char* binary = find_dnsmasq();
  if (!binary) {
    std::fprintf(stderr, "SKIP: dnsmasq not installed (Debian package dnsmasq-base)\n");
    std::exit(77);
  }
  Dnsmasq server(binary, free_port());
  ResolverOptions o;
  o.config.nameservers = {server.nameserver()};
  o.config.attempts = 1;
  o.try_timeout = 200ms;
  o.cache_entries = 0;  // every lookup goes to dnsmasq
  auto r = Resolver::create(o);

  // Wait (at most 5 s) until dnsmasq answers.
  Result www;
  for (int i = 0; i < 25 && server.alive(); ++i) {
    www = resolve(*r, "www.test");
    if (www.v4 && !www.v4->error) break;
    std::this_thread::sleep_for(200ms);
  }
  REQUIRE_MESSAGE(server.alive(), "dnsmasq exited (port taken?)");
  REQUIRE(www.v4);
  CHECK(www.v4->addresses == std::vector{ip("192.0.2.1")});
  REQUIRE(www.v6);
  CHECK(www.v6->addresses == std::vector{ip("2001:db8::1")});

  auto alias = resolve(*r, "alias.test");
  REQUIRE(alias.v4);
  CHECK(alias.v4->addresses == std::vector{ip("192.0.2.1")});
  CHECK(alias.v4->name == "www.test");

  auto v4only = resolve(*r, "v4only.test");
  REQUIRE(v4only.v6);
  CHECK(v4only.v6->error == errc::no_data);
  CHECK(v4only.v4->addresses == std::vector{ip("192.0.2.2")});

  auto missing = resolve(*r, "missing.test");
  REQUIRE(missing.v4);
  CHECK(missing.v4->error == errc::host_not_found);

  auto big = resolve(*r, "big.test");
  REQUIRE(big.v4);
  CHECK(big.v4->addresses.size() == 150);
  bool tcp = false;
  for (const auto& q : big.queries) tcp = tcp || q.server.ends_with("/tcp");
  CHECK(tcp);
}
