// SPDX-License-Identifier: MIT
// SystemConfig on a virtual clock: when the followed files are checked, what a change, a bad file and reload() do.
#include <doctest/doctest.h>

#include <unistd.h>

#include <atomic>
#include <chrono>
#include <filesystem>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "dial/system_config.hpp"
#include "support/system_files.hpp"
#include "heyes/dns/hosts.hpp"

namespace heyes::detail {
namespace {

using namespace std::chrono_literals;
namespace fs = std::filesystem;
using heyes::test::write_file;

// A directory of its own with resolv.conf, hosts and gai.conf, removed at the end.
struct Files : heyes::test::SystemFilesDir {
  Files() : SystemFilesDir("heyes-follow", "nameserver 192.0.2.1\n", "192.0.2.10 h.follow.test\n", "precedence ::ffff:0:0/96 100\n") {}
};

// A SystemConfig as a Dialer from those files makes it, started at t0.
struct Watch {
  explicit Watch(const Files& f, std::chrono::milliseconds interval = 5000ms) {
    FollowedFiles files{f.resolv().string(), f.hosts().string(), f.gai().string(), f.nsswitch().string()};
    SystemConfig::Stamps stamps{stamp_of(files.resolv_conf), stamp_of(files.hosts), stamp_of(files.gai_conf),
                                stamp_of(files.nsswitch_conf)};
    dns::ResolverOptions o =
        dns::ResolverOptions::from_system(files.resolv_conf, files.hosts, files.nsswitch_conf);
    ConfigSnapshot first;
    first.policy = std::make_shared<const PolicyTable>(PolicyTable::system(nullptr, files.gai_conf));
    first.nat64 = std::make_shared<Nat64State>(Nat64Options{}, o.config);
    first.resolver = dns::Resolver::create(std::move(o));
    config.emplace(std::move(first), files, stamps, interval,
                   [this](const Diagnostic& d) { told.push_back(d.to_string()); }, t0);
  }
  std::string nameserver(TimePoint at) {
    auto c = config->current(at);
    return c.snapshot->resolver->options().config.nameservers.at(0).to_string();
  }
  TimePoint t0 = TimePoint{} + 1000s;
  std::vector<std::string> told;
  std::optional<SystemConfig> config;
};

bool v4_first(const PolicyTable& p) {
  return p.precedence(*IpAddress::parse("192.0.2.1")) > p.precedence(*IpAddress::parse("2001:db8::1"));
}

TEST_CASE("resolv.conf changed at 1 s is seen by the first dial at or after the 5 s check, not before") {
  Files f;
  Watch w(f);
  CHECK(w.nameserver(w.t0) == "192.0.2.1:53");
  write_file(f.resolv(), "nameserver 198.51.100.1\n");
  CHECK(w.nameserver(w.t0 + 1s) == "192.0.2.1:53");
  CHECK(w.nameserver(w.t0 + 4999ms) == "192.0.2.1:53");
  auto c = w.config->current(w.t0 + 5s);
  CHECK(c.snapshot->generation == 1);
  CHECK(c.snapshot->resolver->options().config.nameservers.at(0).to_string() == "198.51.100.1:53");
  REQUIRE(c.notes.size() == 1);
  CHECK(c.notes[0].find("resolv.conf changed: re-read (nameservers 198.51.100.1:53") != std::string::npos);
  // The next dial gets the same snapshot, and no note: the note is the checker's.
  auto d = w.config->current(w.t0 + 5001ms);
  CHECK(d.snapshot == c.snapshot);
  CHECK(d.notes.empty());
}

TEST_CASE("a dial in flight keeps the snapshot it started with") {
  Files f;
  Watch w(f);
  auto in_flight = w.config->current(w.t0).snapshot;
  auto resolver = in_flight->resolver;
  write_file(f.resolv(), "nameserver 198.51.100.1\n");
  CHECK(w.nameserver(w.t0 + 5s) == "198.51.100.1:53");
  CHECK(in_flight->resolver == resolver);
  CHECK(in_flight->resolver->options().config.nameservers.at(0).to_string() == "192.0.2.1:53");
  CHECK(in_flight->generation == 0);
}

TEST_CASE("after check_soon() (a DNS failure) the next dial checks without waiting for the interval") {
  Files f;
  Watch w(f);
  write_file(f.resolv(), "nameserver 198.51.100.1\n");
  CHECK(w.nameserver(w.t0 + 1s) == "192.0.2.1:53");
  w.config->check_soon();
  CHECK(w.nameserver(w.t0 + 1100ms) == "198.51.100.1:53");
  // And then the interval again, from that check.
  write_file(f.resolv(), "nameserver 203.0.113.1\n");
  CHECK(w.nameserver(w.t0 + 6s) == "198.51.100.1:53");
  CHECK(w.nameserver(w.t0 + 6100ms) == "203.0.113.1:53");
}

TEST_CASE("an unchanged file is not re-read: the resolver and its cache stay") {
  Files f;
  Watch w(f);
  auto first = w.config->current(w.t0).snapshot;
  auto later = w.config->current(w.t0 + 20s);
  CHECK(later.snapshot == first);
  CHECK(later.notes.empty());
  // Rewritten with the same content: stat says changed, the value is the same.
  write_file(f.resolv(), "nameserver 192.0.2.1\n");
  auto same = w.config->current(w.t0 + 30s);
  CHECK(same.snapshot == first);
}

TEST_CASE("a malformed or unreadable resolv.conf keeps the configuration read before, with a diagnostic") {
  Files f;
  Watch w(f);
  write_file(f.resolv(), "nameserver 300.1.1.1\n");
  auto c = w.config->current(w.t0 + 5s);
  CHECK(c.snapshot->generation == 0);
  CHECK(w.nameserver(w.t0 + 5s) == "192.0.2.1:53");
  REQUIRE(w.told.size() == 1);
  CHECK(w.told[0].find("resolv.conf:1: nameserver: bad address '300.1.1.1'") != std::string::npos);
  CHECK(w.told[0].find("the configuration read before is kept") != std::string::npos);
  REQUIRE(c.notes.size() == 1);
  // Told once per version of the file, not at every check.
  CHECK(w.config->current(w.t0 + 10s).notes.empty());
  CHECK(w.told.size() == 1);
  // Gone: the same.
  fs::remove(f.resolv());
  CHECK(w.nameserver(w.t0 + 15s) == "192.0.2.1:53");
  REQUIRE(w.told.size() == 2);
  CHECK(w.told[1].find("cannot be read") != std::string::npos);
  // Good again: taken.
  write_file(f.resolv(), "nameserver 198.51.100.1\n");
  CHECK(w.nameserver(w.t0 + 20s) == "198.51.100.1:53");
}

TEST_CASE("hosts changed: a new table of the file; gone: the old one stays") {
  Files f;
  Watch w(f);
  auto first = w.config->current(w.t0).snapshot;
  CHECK(first->resolver->options().hosts.find("h.follow.test") == std::vector{*IpAddress::parse("192.0.2.10")});
  write_file(f.hosts(), "192.0.2.20 h.follow.test\n");
  auto c = w.config->current(w.t0 + 5s).snapshot;
  CHECK(c->generation == 1);
  CHECK(c->resolver != first->resolver);
  CHECK(c->resolver->options().hosts.find("h.follow.test") == std::vector{*IpAddress::parse("192.0.2.20")});
  CHECK(c->nat64 == first->nat64);  // the NAT64 state stays
  fs::remove(f.hosts());
  auto d = w.config->current(w.t0 + 10s).snapshot;
  CHECK(d == c);
  CHECK(w.told.size() == 1);
}

TEST_CASE("gai.conf changed, malformed, removed") {
  Files f;
  Watch w(f);
  auto first = w.config->current(w.t0).snapshot;
  CHECK(v4_first(*first->policy));
  write_file(f.gai(), "precedence ::1/128 50\nprecedence ::/0 40\n");  // a table without the IPv4 row
  auto c = w.config->current(w.t0 + 5s).snapshot;
  CHECK(!v4_first(*c->policy));
  CHECK(c->resolver == first->resolver);  // only the policy is new
  write_file(f.gai(), "precedence ::ffff:0:0/96 banana\n");
  auto d = w.config->current(w.t0 + 10s).snapshot;
  CHECK(d == c);
  REQUIRE(w.told.size() == 1);
  CHECK(w.told[0].find("gai.conf:1:") != std::string::npos);
  write_file(f.gai(), "precedence ::ffff:0:0/96 100\n");
  CHECK(v4_first(*w.config->current(w.t0 + 15s).snapshot->policy));
  fs::remove(f.gai());  // as at the start without the file: the RFC 6724 table
  auto e = w.config->current(w.t0 + 20s).snapshot;
  CHECK(!v4_first(*e->policy));
  CHECK(e->policy->precedences() == PolicyTable::rfc6724().precedences());
}

TEST_CASE("nsswitch.conf changed: the new hosts: line; malformed: the old one stays; removed: glibc's default") {
  Files f;
  Watch w(f);
  auto sources = [&](TimePoint at) { return w.config->current(at).snapshot->resolver->options().sources.to_string(); };
  CHECK(sources(w.t0) == "files dns");
  write_file(f.nsswitch(), "passwd: files\nhosts: files mdns4_minimal [NOTFOUND=return] dns\n");
  auto c = w.config->current(w.t0 + 5s);
  CHECK(c.snapshot->generation == 1);
  CHECK(c.snapshot->resolver->options().sources.to_string() == "files mdns4_minimal [NOTFOUND=return] dns");
  REQUIRE(c.notes.size() == 1);
  CHECK(c.notes[0].find("nsswitch.conf changed: re-read (hosts: files mdns4_minimal") != std::string::npos);
  write_file(f.nsswitch(), "hosts: files [NOTFOUND=banana] dns\n");
  CHECK(sources(w.t0 + 10s) == "files mdns4_minimal [NOTFOUND=return] dns");
  REQUIRE(w.told.size() == 1);
  CHECK(w.told[0].find("nsswitch.conf:1:") != std::string::npos);
  CHECK(w.told[0].find("the configuration read before is kept") != std::string::npos);
  fs::remove(f.nsswitch());
  CHECK(sources(w.t0 + 15s) == dns::HostsSources::glibc_default().to_string());
}

TEST_CASE("reload() re-reads at once, changed or not") {
  Files f;
  Watch w(f);
  auto first = w.config->current(w.t0).snapshot;
  write_file(f.resolv(), "nameserver 198.51.100.1\n");
  auto r = w.config->reload();
  CHECK(r.swapped);
  CHECK(w.config->snapshot()->resolver->options().config.nameservers.at(0).to_string() == "198.51.100.1:53");
  // Nothing changed: the hosts file still gives a new table (it is read
  // lazily, so it cannot be compared), resolv.conf and gai.conf are the same.
  auto again = w.config->reload();
  CHECK(again.swapped);
  CHECK(w.config->snapshot()->generation == 2);
}

TEST_CASE("interval 0: never checked by the dials; reload() still re-reads") {
  Files f;
  Watch w(f, 0ms);
  write_file(f.resolv(), "nameserver 198.51.100.1\n");
  w.config->check_soon();
  CHECK(w.nameserver(w.t0 + 3600s) == "192.0.2.1:53");
  CHECK(w.config->reload().swapped);
  CHECK(w.nameserver(w.t0 + 3600s) == "198.51.100.1:53");
}

TEST_CASE("threads asking while files change: every answer is a whole snapshot") {
  Files f;
  Watch w(f, 1ms);
  std::atomic<bool> stop{false};
  std::vector<std::thread> readers;
  std::atomic<int> bad{0};
  for (int i = 0; i < 3; ++i) {
    readers.emplace_back([&] {
      for (int n = 0; n < 20000 && !stop; ++n) {
        auto c = w.config->current(Clock::now());
        const auto& ns = c.snapshot->resolver->options().config.nameservers;
        if (ns.size() != 1) ++bad;
      }
    });
  }
  for (int i = 0; i < 50; ++i) {
    write_file(f.resolv(), "nameserver 198.51.100." + std::to_string(i + 1) + "\n");
    std::this_thread::sleep_for(1ms);
  }
  stop = true;
  for (auto& t : readers) t.join();
  CHECK(bad == 0);
}

}  // namespace
}  // namespace heyes::detail
