// SPDX-License-Identifier: MIT
// Other NSS services of the hosts: line, for real: the tests' own libnss_heyestest.so.2, asked per family on the pool.
//
// Run by meson with LD_LIBRARY_PATH naming the module's directory; without
// it, the module cannot be loaded and the cases that need it say so.
#include <doctest/doctest.h>

#include <asio/io_context.hpp>
#include <asio/steady_timer.hpp>

#include <chrono>
#include <cstdlib>
#include <dlfcn.h>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "heyes/dial.hpp"
#include "heyes/dial/dialer_options.hpp"
#include "heyes/dns/name_resolver.hpp"
#include "heyes/dns/resolver.hpp"
#include "heyes/error.hpp"
#include "support/fake_dns_server.hpp"
#include "testing/listeners.hpp"

using namespace heyes;
using namespace heyes::dns;
using namespace std::chrono_literals;
using ms = std::chrono::milliseconds;

namespace {

IpAddress ip(const char* s) { return *IpAddress::parse(s); }

bool module_loadable() {
  static const bool ok = [] {
    void* h = dlopen("libnss_heyestest.so.2", RTLD_LAZY | RTLD_LOCAL);
    if (!h) MESSAGE("libnss_heyestest.so.2 cannot be loaded (run through meson test): " << dlerror());
    return h != nullptr;
  }();
  return ok;
}

struct Seen {
  ResolveEvent event;
  ms at{0};
};

struct Run {
  std::vector<Seen> events;
  const ResolveEvent* event(Family f) const {
    for (const auto& s : events)
      if (s.event.family == f) return &s.event;
    return nullptr;
  }
  ms at(Family f) const {
    for (const auto& s : events)
      if (s.event.family == f) return s.at;
    return ms(-1);
  }
};

// Runs one lookup to its end (at most 10 s); cancel_after > 0: cancelled then.
Run lookup(NameResolver& r, std::string_view host, FamilySet f = FamilySet::both(), ms cancel_after = ms(0)) {
  asio::io_context ioc;
  Run run;
  const auto t0 = std::chrono::steady_clock::now();
  auto l = r.start(ioc.get_executor(), host, f, [&](const ResolveEvent& e) {
    run.events.push_back({e, std::chrono::duration_cast<ms>(std::chrono::steady_clock::now() - t0)});
  });
  asio::steady_timer cancel(ioc);
  if (cancel_after.count() > 0) {
    cancel.expires_after(cancel_after);
    cancel.async_wait([&](std::error_code ec) {
      if (!ec) l->cancel();
    });
  }
  ioc.run_for(10s);
  return run;
}

std::vector<IpAddress> addrs(const ResolveEvent* e) { return e ? e->addresses : std::vector<IpAddress>{}; }

ResolverOptions with_line(const char* line, test::FakeDnsServer& dns) {
  ResolverOptions o = test::options_for({dns->nameserver()});
  o.sources = parse_nsswitch_hosts(std::string("hosts: ") + line + "\n", "nsswitch.conf", ParseMode::strict).value;
  // Wide: a loaded machine (the whole suite in parallel) must not turn a
  // prompt answer into a timeout. The case of a silent service sets its own.
  o.name_service_timeout = 3s;
  return o;
}

}  // namespace

TEST_CASE("a service of the hosts: line answers per family, with its name as the source; DNS is not asked") {
  if (!module_loadable()) return;
  test::FakeDnsServer dns;
  auto r = heyes_name_resolver(Resolver::create(with_line("files heyestest dns", dns)));
  auto both = lookup(*r, "both.nss.test");
  CHECK(addrs(both.event(Family::v6)) == std::vector{ip("2001:db8::10")});
  CHECK(addrs(both.event(Family::v4)) == std::vector{ip("192.0.2.10")});
  REQUIRE(both.event(Family::v6));
  CHECK(both.event(Family::v6)->source == "heyestest");
  // SUCCESS for the lookup: IPv6's NO_DATA is its answer, DNS is not asked.
  auto v4only = lookup(*r, "V4ONLY.nss.test.");
  CHECK(addrs(v4only.event(Family::v4)) == std::vector{ip("192.0.2.11")});
  REQUIRE(v4only.event(Family::v6));
  CHECK(v4only.event(Family::v6)->error == errc::host_not_found);
  CHECK(dns->queries().empty());
}

TEST_CASE("a service's NOTFOUND, UNAVAIL, TRYAGAIN and a missing module go on to dns; [NOTFOUND=return] stops") {
  if (!module_loadable()) return;
  test::FakeDnsServer dns;
  dns->add_host("nothere.nss.test", {ip("192.0.2.20")});
  dns->add_host("unavail.nss.test", {ip("192.0.2.21")});
  dns->add_host("tryagain.nss.test", {ip("192.0.2.22")});
  auto r = heyes_name_resolver(Resolver::create(with_line("files heyestest nosuchservice dns", dns)));
  for (const char* name : {"nothere.nss.test", "unavail.nss.test", "tryagain.nss.test"}) {
    CAPTURE(name);
    auto run = lookup(*r, name);
    REQUIRE(run.event(Family::v4));
    CHECK(run.event(Family::v4)->source == "dns");
    CHECK(run.event(Family::v4)->addresses.size() == 1);
  }
  auto stop = heyes_name_resolver(Resolver::create(with_line("files heyestest [NOTFOUND=return] dns", dns)));
  const auto before = dns->queries().size();
  auto run = lookup(*stop, "nothere.nss.test");
  REQUIRE(run.event(Family::v4));
  CHECK(run.event(Family::v4)->error == errc::host_not_found);
  CHECK(run.event(Family::v4)->source == "heyestest");
  CHECK(dns->queries().size() == before);
}

TEST_CASE("a slow family does not hold the other: IPv4 at once, IPv6 after the service's 400 ms") {
  if (!module_loadable()) return;
  test::FakeDnsServer dns;
  ResolverOptions o = with_line("files heyestest", dns);
  o.name_service_timeout = 5s;
  auto r = heyes_name_resolver(Resolver::create(o));
  auto run = lookup(*r, "slow6.nss.test");
  CHECK(addrs(run.event(Family::v4)) == std::vector{ip("127.0.0.1")});
  CHECK(addrs(run.event(Family::v6)) == std::vector{ip("::1")});
  // Wide bounds (real time): the order is the claim.
  CHECK(run.at(Family::v4) < ms(300));
  CHECK(run.at(Family::v6) >= ms(350));
  REQUIRE(run.events.size() == 2);
  CHECK(run.events[0].event.family == Family::v4);
}

TEST_CASE("a service that never answers: TRYAGAIN after the time limit, then dns; a cancel ends the lookup at once") {
  if (!module_loadable()) return;
  test::FakeDnsServer dns;
  dns->add_host("never.nss.test", {ip("192.0.2.30")});
  ResolverOptions quick = with_line("files heyestest dns", dns);
  quick.name_service_timeout = 300ms;
  auto r = heyes_name_resolver(Resolver::create(quick));
  auto run = lookup(*r, "never.nss.test", FamilySet::only(Family::v4));
  REQUIRE(run.event(Family::v4));
  CHECK(run.event(Family::v4)->source == "dns");
  CHECK(run.at(Family::v4) >= ms(250));
  CHECK(run.at(Family::v4) < ms(5000));

  ResolverOptions quick_last = with_line("files heyestest", dns);
  quick_last.name_service_timeout = 300ms;
  auto last = heyes_name_resolver(Resolver::create(quick_last));
  auto failed = lookup(*last, "never.nss.test", FamilySet::only(Family::v6));
  REQUIRE(failed.event(Family::v6));
  CHECK(failed.event(Family::v6)->error == errc::name_service_failure);
  CHECK(failed.event(Family::v6)->rcode.find("no answer within 300 ms") != std::string::npos);

  const auto t0 = std::chrono::steady_clock::now();
  auto cancelled = lookup(*last, "never.nss.test", FamilySet::both(), ms(50));
  CHECK(cancelled.events.empty());
  CHECK(std::chrono::steady_clock::now() - t0 < 2s);
}

TEST_CASE("a dial to a name only the service knows connects, and the trace names the service") {
  if (!module_loadable()) return;
  test::FakeDnsServer dns;
  asio::io_context ioc;
  auto listener = heyes::testing::Listener::working(ip("127.0.0.1"));
  DialerOptions o;
  o.resolver = with_line("files heyestest", dns);
  Dialer dialer(o);
  DialOptions d;
  d.family = FamilyRestriction::v4;
  std::error_code ec;
  auto result = dialer.dial_result(ioc.get_executor(), "loopback.nss.test", std::to_string(listener.port()), d, ec);
  REQUIRE_MESSAGE(!ec, ec.message());
  CHECK(result.endpoint.address().to_string() == "127.0.0.1");
  bool named = false;
  for (const auto& e : result.trace.events())
    if (e.type == event::dns_answer && e.source == "heyestest") named = true;
  CHECK(named);
  CHECK(dns->queries().empty());
}

TEST_CASE("the seam: a caller's own resolver answers a dial; getaddrinfo behind it answers a literal-free name") {
  // A caller's resolver: answers every name with 127.0.0.1 (and NODATA for
  // IPv6) after 20 ms, on the executor it is given.
  struct Fixed : NameResolver {
    struct L : Lookup {
      explicit L(const asio::any_io_executor& ex) : timer(ex) {}
      void cancel() override { timer.cancel(); }
      asio::steady_timer timer;
    };
    int started = 0;
    std::shared_ptr<Lookup> start(const asio::any_io_executor& ex, std::string_view host, FamilySet families,
                                  EventHandler on_event) override {
      ++started;
      auto l = std::make_shared<L>(ex);
      l->timer.expires_after(20ms);
      l->timer.async_wait([l, families, name = std::string(host), on_event](std::error_code ec) {
        if (ec) return;
        for (Family f : {Family::v6, Family::v4}) {
          if (!families.contains(f)) continue;
          ResolveEvent e;
          e.family = f;
          e.name = name;
          if (f == Family::v4) e.addresses = {*IpAddress::parse("127.0.0.1")};
          else e.error = errc::no_data;
          on_event(e);
        }
      });
      return l;
    }
  };
  auto mine = std::make_shared<Fixed>();
  asio::io_context ioc;
  auto listener = heyes::testing::Listener::working(ip("127.0.0.1"));
  DialerOptions o;
  o.name_resolver = mine;
  Dialer dialer(o);
  DialOptions d;
  d.addrconfig = false;
  std::error_code ec;
  auto result = dialer.dial_result(ioc.get_executor(), "anything.example", std::to_string(listener.port()), d, ec);
  REQUIRE_MESSAGE(!ec, ec.message());
  CHECK(mine->started == 1);
  bool sourced = false;
  for (const auto& e : result.trace.events())
    if (e.type == event::dns_answer && e.source == answer_source::resolver) sourced = true;
  CHECK(sourced);
  // A literal never reaches it.
  auto literal = dialer.dial_result(ioc.get_executor(), "127.0.0.1", std::to_string(listener.port()), d, ec);
  CHECK(!ec);
  CHECK(mine->started == 1);
  // A cancelled dial cancels the caller's lookup: the dial ends at once.
  DialOptions quick = d;
  quick.timeout = 5ms;
  auto timed = dialer.dial_result(ioc.get_executor(), "anything.example", std::to_string(listener.port()), quick, ec);
  CHECK(ec == errc::timed_out);
  CHECK(mine->started == 2);
}

TEST_CASE("system_name_resolver: getaddrinfo per family, for a name the machine's hosts file has (localhost)") {
  // Only where /etc/hosts lists 127.0.0.1 localhost: glibc's files service
  // answers it then, and no query can reach the machine's nameserver.
  std::ifstream hosts("/etc/hosts");
  std::stringstream text;
  text << hosts.rdbuf();
  auto table = parse_hosts(text.str(), "/etc/hosts").value;
  if (table.lookup("localhost", Family::v4) != std::vector{ip("127.0.0.1")}) {
    MESSAGE("skipped: /etc/hosts does not say 127.0.0.1 localhost");
    return;
  }
  auto r = system_name_resolver(2s);
  auto run = lookup(*r, "localhost", FamilySet::only(Family::v4));
  REQUIRE(run.event(Family::v4));
  CHECK(run.event(Family::v4)->source == "getaddrinfo");
  if (!run.event(Family::v4)->error) CHECK(run.event(Family::v4)->addresses.at(0).is_loopback());
  auto cancelled = lookup(*r, "localhost", FamilySet::both(), ms(0));
  CHECK(cancelled.events.size() <= 2);
}
