// SPDX-License-Identifier: MIT
// The lookup plan on its own: inputs in, actions out, no sockets, no clock.
#include <doctest/doctest.h>

#include <string>
#include <vector>

#include "dns/lookup_plan.hpp"
#include "heyes/error.hpp"

using namespace heyes;
using namespace heyes::dns;
using namespace std::chrono_literals;
using detail::Ask;
using detail::CachedAnswer;
using detail::Deliver;
using detail::LookupPlan;
using detail::PlanAction;
using detail::Store;

namespace {

IpAddress ip(const char* s) { return *IpAddress::parse(s); }

// The actions of one take_actions() call, as text: "ask v6 www.corp.example",
// "store www.corp.example", "event v4 192.0.2.1 cache", "event v6 no_data dns".
std::vector<std::string> step(LookupPlan& plan) {
  std::vector<PlanAction> actions;
  plan.take_actions(actions);
  std::vector<std::string> out;
  for (const auto& a : actions) {
    if (const auto* ask = std::get_if<Ask>(&a)) {
      out.push_back("ask " + std::string(to_string(ask->family)) + " " + std::string(ask->name));
    } else if (const auto* store = std::get_if<Store>(&a)) {
      out.push_back("store " + std::string(store->name));
    } else {
      const ResolveEvent& e = std::get<Deliver>(a).event;
      std::string what = e.error ? e.error == errc::no_data          ? std::string("no_data")
                                   : e.error == errc::host_not_found ? std::string("nxdomain")
                                                                     : e.error.message()
                                 : e.addresses.at(0).to_string();
      out.push_back("event " + std::string(to_string(e.family)) + " " + what + " " + e.source);
    }
  }
  return out;
}

using Steps = std::vector<std::string>;

CachedAnswer positive(const char* name, const char* address) { return {{ip(address)}, {}, name, 60s}; }
CachedAnswer negative(std::error_code ec) { return {{}, ec, "x", 60s}; }

ResolverOptions search_options() {
  ResolverOptions o;
  o.config.search = {"corp.example", "lab.example"};
  return o;
}

// A response to (name, type) with the given answer records.
Message response(const std::string& name, RecordType type, std::vector<Record> answers) {
  Message m = make_response(make_query(1, name, type, false));
  m.answers = std::move(answers);
  return m;
}

}  // namespace

TEST_CASE("a literal, an invalid name, localhost and the hosts file need no ask") {
  ResolverOptions o;
  o.hosts = parse_hosts("192.0.2.77 printer.lan\n", "hosts").value;
  LookupPlan literal("192.0.2.1", FamilySet::both(), o);
  CHECK(literal.finished());
  CHECK(step(literal) == Steps{"event ipv6 no_data literal", "event ipv4 192.0.2.1 literal"});
  CHECK(step(literal).empty());

  LookupPlan bad("a..b", FamilySet::only(Family::v4), o);
  CHECK(step(bad) == Steps{"event ipv4 " + make_error_code(errc::bad_host_name).message() + " validation"});

  LookupPlan local("LOCALHOST.", FamilySet::both(), o);
  CHECK(step(local) == Steps{"event ipv6 ::1 localhost", "event ipv4 127.0.0.1 localhost"});

  LookupPlan hosts("printer.lan", FamilySet::only(Family::v4), o);
  CHECK(step(hosts) == Steps{"event ipv4 192.0.2.77 hosts"});
}

TEST_CASE("both families of a candidate are asked together; NXDOMAIN for both moves on") {
  LookupPlan plan("www", FamilySet::both(), search_options());
  CHECK(step(plan) == Steps{"ask ipv6 www.corp.example", "ask ipv4 www.corp.example"});
  plan.on_cached(Family::v6, negative(errc::host_not_found));
  CHECK(step(plan).empty());  // A of the same candidate not answered yet
  plan.on_failure(Family::v4, errc::dns_timeout);
  CHECK(step(plan) == Steps{"ask ipv6 www.lab.example", "ask ipv4 www.lab.example"});
  plan.on_cached(Family::v4, positive("www.lab.example", "192.0.2.30"));
  // A wins for this candidate; AAAA is still waited for, on the same candidate.
  CHECK(step(plan) == Steps{"event ipv4 192.0.2.30 cache"});
  CHECK_FALSE(plan.finished());
  plan.on_cached(Family::v6, negative(errc::no_data));
  CHECK(step(plan) == Steps{"event ipv6 no_data cache"});
  CHECK(plan.finished());
}

TEST_CASE("the last candidate: a server failure beats NXDOMAIN, as glibc's res_search") {
  ResolverOptions o;
  LookupPlan plan("db.example", FamilySet::only(Family::v4), o);
  CHECK(step(plan) == Steps{"ask ipv4 db.example"});
  plan.on_failure(Family::v4, errc::dns_server_failure);
  CHECK(step(plan) == Steps{"event ipv4 " + make_error_code(errc::dns_server_failure).message() + " dns"});
  CHECK(plan.finished());
}

TEST_CASE("a CNAME is followed with an ask for its target; the answer is stored under the candidate") {
  ResolverOptions o;
  LookupPlan plan("www.example.com", FamilySet::only(Family::v6), o);
  CHECK(step(plan) == Steps{"ask ipv6 www.example.com"});
  plan.on_response(Family::v6, response("www.example.com", RecordType::aaaa,
                                        {Record::cname("www.example.com", "cdn.example.net", 300)}));
  CHECK(step(plan) == Steps{"ask ipv6 cdn.example.net"});
  CHECK(plan.asked_name(Family::v6) == "cdn.example.net");
  plan.on_response(Family::v6, response("cdn.example.net", RecordType::aaaa,
                                        {Record::a("cdn.example.net", ip("2001:db8::7"), 60)}));
  CHECK(step(plan) == Steps{"store www.example.com", "event ipv6 2001:db8::7 dns"});
  CHECK(plan.finished());
}

TEST_CASE("no-aaaa: the AAAA question is never asked") {
  ResolverOptions o;
  o.config.no_aaaa = true;
  LookupPlan plan("www.example.com", FamilySet::both(), o);
  CHECK(step(plan) == Steps{"event ipv6 " + make_error_code(errc::family_unavailable).message() + " dns",
                            "ask ipv4 www.example.com"});
}

TEST_CASE("abandoned: answers still reach the cache, nothing more is delivered or asked") {
  LookupPlan plan("www", FamilySet::both(), search_options());
  CHECK(step(plan).size() == 2);
  plan.abandon();
  plan.on_response(Family::v6, response("www.corp.example", RecordType::aaaa,
                                        {Record::a("www.corp.example", ip("2001:db8::1"), 60)}));
  CHECK(step(plan) == Steps{"store www.corp.example"});
}
