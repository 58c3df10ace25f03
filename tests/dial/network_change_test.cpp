// SPDX-License-Identifier: MIT
// Network changes for real: in a network namespace of its own (root), an address and a route added and removed between dials.
//
// The process moves itself into a new network namespace (unshare(CLONE_NEWNET)),
// so the namespace, its loopback and everything added to it go away with the
// process, whatever way it ends: nothing to clean up, even after a crash.
// Without root it skips (exit 77).
#include <sched.h>
#include <unistd.h>

#include <asio/executor_work_guard.hpp>
#include <asio/io_context.hpp>
#include <asio/post.hpp>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <memory>
#include <optional>
#include <string>
#include <thread>

#include "support/host_requirements.hpp"
#include "support/script_checks.hpp"
#include "heyes/dial.hpp"
#include "heyes/dial/dialer_options.hpp"
#include "heyes/race/history.hpp"
#include "heyes/select/connectivity.hpp"
#include "heyes/select/policy.hpp"
#include "testing/listeners.hpp"
#include "testing/test_server.hpp"

namespace {

using namespace std::chrono_literals;
using heyes::IpAddress;

using heyes::test::check;
using heyes::test::run;

// Counts the probes of the usable families (and answers as the system does).
class CountingProbe final : public heyes::ConnectivityProbe {
 public:
  std::vector<heyes::InterfaceAddress> interface_addresses() override {
    ++calls;
    return system_.interface_addresses();
  }
  std::error_code route_to(const IpAddress& d) override { return system_.route_to(d); }
  std::atomic<int> calls{0};

 private:
  heyes::SystemConnectivityProbe system_;
};

struct Dialed {
  std::string winner;  // or "error: ..."
  std::string network_change;  // the event's detail; empty: none
};

Dialed dial(heyes::Dialer& dialer, const std::string& service) {
  asio::io_context ioc;
  heyes::DialOptions o;
  o.keep_trace = true;
  o.timeout = 5s;
  std::error_code ec;
  heyes::DialResult r = dialer.dial_result(ioc.get_executor(), "n.heyes.test.", service, o, ec);
  Dialed d;
  d.winner = ec ? "error: " + ec.message() : r.endpoint.address().to_string();
  for (const auto& e : r.trace.events())
    if (e.type == heyes::event::network_change) d.network_change = e.detail;
  return d;
}

// Dials until one notices a change (at most 40 times, 4 s): the check is
// rate-limited, so the first dial after the interval is the one.
Dialed dial_until_change(heyes::Dialer& dialer, const std::string& service) {
  Dialed d;
  const auto deadline = std::chrono::steady_clock::now() + 4s;
  for (int i = 0; i < 40 && std::chrono::steady_clock::now() < deadline; ++i) {
    d = dial(dialer, service);
    if (!d.network_change.empty()) return d;
    std::this_thread::sleep_for(100ms);
  }
  return d;
}

}  // namespace

int main() {
  if (!heyes::test::enter_own_network_namespace("make a network namespace of its own (unshare CLONE_NEWNET)"))
    return 77;
  if (!run("ip link set lo up")) {
    std::puts("FAILED: ip link set lo up in the new namespace");
    return 1;
  }

  // Inside the namespace: a DNS server and a listener on its loopback.
  asio::io_context dns_ioc;
  auto work = std::make_optional(asio::make_work_guard(dns_ioc));
  auto server = std::make_unique<heyes::dns::TestServer>(dns_ioc.get_executor());
  server->add_host("n.heyes.test", {*IpAddress::parse("127.0.0.1")}, 3600);
  std::thread dns_thread([&] { dns_ioc.run(); });
  auto listener = heyes::testing::Listener::working(*IpAddress::parse("127.0.0.1"));
  const std::string service = std::to_string(listener.port());

  auto probe = std::make_shared<CountingProbe>();
  heyes::DialerOptions options;
  options.resolver.config.nameservers = {server->nameserver()};
  options.resolver.config.timeout = 1s;
  options.policy = std::make_shared<const heyes::PolicyTable>();
  options.connectivity_probe = probe;
  options.config_check_interval = 200ms;
  heyes::Dialer dialer(options);
  heyes::race::History& history = *dialer.history();
  const IpAddress failed = *IpAddress::parse("127.0.0.9");

  {
    Dialed first = dial(dialer, service);
    check(first.winner == "127.0.0.1", "the first dial connects (" + first.winner + ")");
    check(first.network_change.empty(), "the first dial saw no change");
    history.record_failure(failed, heyes::Clock::now());
    check(history.recently_failed(failed, heyes::Clock::now()), "a failure recorded before the change is recent");
  }
  const std::size_t queries = server->queries().size();
  const int probes = probe->calls;
  std::this_thread::sleep_for(300ms);
  Dialed quiet = dial(dialer, service);
  check(quiet.network_change.empty(), "a check with nothing changed says nothing");
  check(server->queries().size() == queries, "the cache answers the dial after a quiet check");

  run("ip addr add 192.0.2.1/24 dev lo");
  Dialed added = dial_until_change(dialer, service);
  check(!added.network_change.empty(), "the dial after the address was added has a network_change event: " +
                                           added.network_change);
  check(added.network_change.find("192.0.2") != std::string::npos, "it names the address or its route");
  check(added.winner == "127.0.0.1", "and connects (" + added.winner + ")");
  check(server->queries().size() > queries, "the cached answer was asked again (stale)");
  check(probe->calls > probes, "the usable families were probed again within their 5 s cache");
  check(!history.recently_failed(failed, heyes::Clock::now()), "the failure from before the change is stale");

  const std::size_t after = server->queries().size();
  Dialed next = dial(dialer, service);
  check(next.network_change.empty(), "the next dial has no network_change (the change was noticed once)");
  check(server->queries().size() == after, "and is answered from the cache again");

  run("ip route add 198.51.100.0/24 dev lo");
  Dialed route = dial_until_change(dialer, service);
  check(route.network_change.find("route") != std::string::npos, "a route added: " + route.network_change);

  run("ip addr del 192.0.2.1/24 dev lo");
  Dialed removed = dial_until_change(dialer, service);
  check(removed.network_change.find("removed") != std::string::npos, "an address removed: " + removed.network_change);

  // A second Dialer made now sees none of the changes before it.
  heyes::Dialer late(options);
  std::this_thread::sleep_for(300ms);
  check(dial(late, service).network_change.empty(), "a Dialer made after the changes does not report them");

  asio::post(dns_ioc, [&] { server->close(); });
  work.reset();
  dns_thread.join();
  std::printf("%s\n", heyes::test::failed_checks == 0 ? "all passed" : "some checks FAILED");
  return heyes::test::failed_checks == 0 ? 0 : 1;
}
