// SPDX-License-Identifier: MIT
// The lookup plan on its own: inputs in, actions out, no sockets, no clock.
#include <doctest/doctest.h>

#include <string>
#include <vector>

#include "dns/answer.hpp"
#include "dns/lookup_plan.hpp"
#include "heyes/error.hpp"

using namespace heyes;
using namespace heyes::dns;
using namespace std::chrono_literals;
using detail::Ask;
using detail::AskSystem;
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
    } else if (const auto* system = std::get_if<AskSystem>(&a)) {
      out.push_back("system " + std::string(to_string(system->family)) + " " + std::string(system->service) + " " +
                    std::string(system->name));
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

// A plan refers to its options: these live as long as the program.
const ResolverOptions& search_options() {
  static const ResolverOptions o = [] {
    ResolverOptions r;
    r.config.search = {"corp.example", "lab.example"};
    return r;
  }();
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

  // The hosts file is asked the name as it is: "printer.lan." is not the
  // file's "printer.lan" (glibc's files backend), so DNS is asked.
  LookupPlan dotted("printer.lan.", FamilySet::only(Family::v4), o);
  CHECK(step(dotted) == Steps{"ask ipv4 printer.lan"});
}

TEST_CASE("both families of a candidate are asked together; NXDOMAIN for both moves on") {
  LookupPlan plan("www", FamilySet::both(), search_options());
  CHECK(step(plan) == Steps{"ask ipv6 www.corp.example", "ask ipv4 www.corp.example"});
  plan.on_cached(Family::v6, negative(errc::host_not_found));
  CHECK(step(plan).empty());  // A of the same candidate not answered yet
  plan.on_cached(Family::v4, negative(errc::host_not_found));
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

// The search walk, glibc's __res_context_search rule: NXDOMAIN, NODATA and
// SERVFAIL go on to the next candidate; a timeout or a refusal ends the walk
// with one try of the name as-is; no server at all or a failure of this host
// ends the lookup. Seven search domains, "www" (ndots 1: the domains first).
namespace {

const ResolverOptions& seven_domains() {
  static const ResolverOptions o = [] {
    ResolverOptions r;
    for (int i = 0; i < 7; ++i) r.config.search.push_back("d" + std::to_string(i) + ".example");
    return r;
  }();
  return o;
}

// Fails both families of the current candidate the same way; returns the next step.
Steps fail_both(LookupPlan& plan, std::error_code ec, detail::FailureKind kind) {
  plan.on_failure(Family::v6, ec, kind);
  plan.on_failure(Family::v4, ec, kind);
  return step(plan);
}

const std::error_code timeout = make_error_code(errc::dns_timeout);
const std::error_code server_failure = make_error_code(errc::dns_server_failure);

}  // namespace

TEST_CASE("search walk: a timeout on the first domain leaves only the name as-is (2 candidates, not 8)") {
  LookupPlan plan("www", FamilySet::both(), seven_domains());
  CHECK(step(plan) == Steps{"ask ipv6 www.d0.example", "ask ipv4 www.d0.example"});
  CHECK(fail_both(plan, timeout, detail::FailureKind::unanswered) == Steps{"ask ipv6 www", "ask ipv4 www"});
  CHECK(fail_both(plan, timeout, detail::FailureKind::unanswered) ==
        Steps{"event ipv6 " + timeout.message() + " dns", "event ipv4 " + timeout.message() + " dns"});
  CHECK(plan.finished());
}

TEST_CASE("search walk: SERVFAIL and NXDOMAIN go on, REFUSED ends the walk, the name as-is last") {
  LookupPlan plan("www", FamilySet::both(), seven_domains());
  step(plan);
  CHECK(fail_both(plan, server_failure, detail::FailureKind::servfail) ==
        Steps{"ask ipv6 www.d1.example", "ask ipv4 www.d1.example"});
  plan.on_cached(Family::v6, negative(errc::host_not_found));
  plan.on_cached(Family::v4, negative(errc::host_not_found));
  CHECK(step(plan) == Steps{"ask ipv6 www.d2.example", "ask ipv4 www.d2.example"});
  CHECK(fail_both(plan, server_failure, detail::FailureKind::unanswered) == Steps{"ask ipv6 www", "ask ipv4 www"});
  plan.on_cached(Family::v6, negative(errc::no_data));
  plan.on_cached(Family::v4, positive("www", "192.0.2.5"));
  CHECK(step(plan) == Steps{"event ipv6 no_data cache", "event ipv4 192.0.2.5 cache"});
}

TEST_CASE("search walk: one family timing out ends the walk even when the other says NXDOMAIN") {
  LookupPlan plan("www", FamilySet::both(), seven_domains());
  step(plan);
  plan.on_cached(Family::v6, negative(errc::host_not_found));
  CHECK(step(plan).empty());
  plan.on_failure(Family::v4, timeout, detail::FailureKind::unanswered);
  CHECK(step(plan) == Steps{"ask ipv6 www", "ask ipv4 www"});
}

TEST_CASE("search walk: no server at all, or this host out of descriptors, ends the lookup at once") {
  LookupPlan unreachable("www", FamilySet::only(Family::v4), seven_domains());
  step(unreachable);
  unreachable.on_failure(Family::v4, server_failure, detail::FailureKind::unreachable);
  CHECK(step(unreachable) == Steps{"event ipv4 " + server_failure.message() + " dns"});
  CHECK(unreachable.finished());

  // The host's own error is the error, not "every nameserver failed" (nor an
  // earlier candidate's NODATA).
  const auto emfile = std::make_error_code(std::errc::too_many_files_open);
  LookupPlan local("www", FamilySet::only(Family::v4), seven_domains());
  step(local);
  local.on_cached(Family::v4, negative(errc::no_data));
  CHECK(step(local) == Steps{"ask ipv4 www.d1.example"});
  local.on_failure(Family::v4, emfile, detail::FailureKind::local);
  CHECK(step(local) == Steps{"event ipv4 " + emfile.message() + " dns"});
}

TEST_CASE("search walk: the name tried first for its dots goes on to the domains whatever its failure") {
  ResolverOptions o = seven_domains();
  LookupPlan plan("db.corp", FamilySet::only(Family::v4), o);  // 1 dot >= ndots 1: as-is first
  CHECK(step(plan) == Steps{"ask ipv4 db.corp"});
  plan.on_failure(Family::v4, timeout, detail::FailureKind::unanswered);
  CHECK(step(plan) == Steps{"ask ipv4 db.corp.d0.example"});
  // The as-is name has had its try: a timeout here ends the lookup.
  plan.on_failure(Family::v4, timeout, detail::FailureKind::unanswered);
  CHECK(step(plan) == Steps{"event ipv4 " + timeout.message() + " dns"});
}

TEST_CASE("CNAME: a chain leaving its answer is followed by new queries, at most 8, never in a loop") {
  ResolverOptions o;
  LookupPlan plan("www.example.com", FamilySet::only(Family::v4), o);
  CHECK(step(plan) == Steps{"ask ipv4 www.example.com"});
  std::string from = "www.example.com";
  for (int i = 0; i < detail::max_cname_queries; ++i) {
    std::string to = "h" + std::to_string(i) + ".example.net";
    plan.on_response(Family::v4, response(from, RecordType::a, {Record::cname(from, to, 60)}));
    CHECK(step(plan) == Steps{"ask ipv4 " + to});
    from = to;
  }
  plan.on_response(Family::v4, response(from, RecordType::a, {Record::cname(from, "more.example.net", 60)}));
  CHECK(step(plan) == Steps{"event ipv4 " + make_error_code(errc::dns_bad_response).message() + " dns"});

  // A loop across queries: a -> b (new query), b -> a: a bad answer at once.
  LookupPlan loop("a.example", FamilySet::only(Family::v4), o);
  step(loop);
  loop.on_response(Family::v4, response("a.example", RecordType::a, {Record::cname("a.example", "b.example", 60)}));
  CHECK(step(loop) == Steps{"ask ipv4 b.example"});
  loop.on_response(Family::v4, response("b.example", RecordType::a, {Record::cname("b.example", "A.example", 60)}));
  CHECK(step(loop) == Steps{"event ipv4 " + make_error_code(errc::dns_bad_response).message() + " dns"});
}

TEST_CASE("CNAME to the root name: an error at once, the name is not asked again") {
  ResolverOptions o;
  LookupPlan plan("r.example", FamilySet::only(Family::v6), o);
  CHECK(step(plan) == Steps{"ask ipv6 r.example"});
  plan.on_response(Family::v6, response("r.example", RecordType::aaaa, {Record::cname("r.example", "", 60)}));
  CHECK(step(plan) == Steps{"event ipv6 " + make_error_code(errc::dns_bad_response).message() + " dns"});
  CHECK(plan.finished());
}

TEST_CASE("an answer of only undialable addresses: no_address, the dropped ones named, nothing stored") {
  ResolverOptions o;
  LookupPlan plan("blocked.example", FamilySet::only(Family::v4), o);
  step(plan);
  plan.on_response(Family::v4, response("blocked.example", RecordType::a,
                                        {Record::a("blocked.example", ip("0.0.0.0"), 60)}));
  std::vector<PlanAction> actions;
  plan.take_actions(actions);
  REQUIRE(actions.size() == 1);
  const ResolveEvent& e = std::get<Deliver>(actions[0]).event;
  CHECK(e.error == errc::no_address);
  REQUIRE(e.dropped.size() == 1);
  CHECK(e.dropped[0].address == ip("0.0.0.0"));
  CHECK(e.dropped[0].reason == "unspecified");
}

namespace {

// The rcode and server of the one event of a step, "RCODE SERVER" ("" when none).
std::string rcode_of_event(LookupPlan& plan) {
  std::vector<PlanAction> actions;
  plan.take_actions(actions);
  for (const auto& a : actions)
    if (const auto* d = std::get_if<Deliver>(&a)) return d->event.rcode + " " + d->event.server;
  return "no event";
}

}  // namespace

TEST_CASE("rcode: a server's SERVFAIL reaches the event; an NXDOMAIN that ends the walk later keeps it") {
  LookupPlan plan("www", FamilySet::only(Family::v4), search_options());
  step(plan);  // www.corp.example
  plan.on_failure(Family::v4, server_failure, detail::FailureKind::servfail, "SERVFAIL", "192.0.2.53:53");
  CHECK(step(plan) == Steps{"ask ipv4 www.lab.example"});
  plan.on_cached(Family::v4, negative(errc::host_not_found));
  CHECK(step(plan) == Steps{"ask ipv4 www"});
  plan.on_cached(Family::v4, negative(errc::host_not_found));
  // As glibc: the server failure beats NXDOMAIN, and says which server answered what.
  CHECK(rcode_of_event(plan) == "SERVFAIL 192.0.2.53:53");
}

TEST_CASE("rcode: none for a timeout, and none when a NODATA decides the error") {
  const ResolverOptions plain;
  LookupPlan timed_out("www.example", FamilySet::only(Family::v4), plain);
  step(timed_out);
  timed_out.on_failure(Family::v4, timeout, detail::FailureKind::unanswered);
  CHECK(rcode_of_event(timed_out) == " ");

  LookupPlan nodata("www", FamilySet::only(Family::v4), search_options());
  step(nodata);
  nodata.on_cached(Family::v4, negative(errc::no_data));
  CHECK(step(nodata) == Steps{"ask ipv4 www.lab.example"});
  nodata.on_failure(Family::v4, server_failure, detail::FailureKind::servfail, "REFUSED", "192.0.2.53:53");
  CHECK(step(nodata) == Steps{"ask ipv4 www"});
  nodata.on_cached(Family::v4, negative(errc::host_not_found));
  CHECK(rcode_of_event(nodata) == " ");
}

// ---- the walk over nsswitch.conf's hosts: line ---------------------------------

namespace {

ResolverOptions with_sources(const char* line, const char* hosts = "192.0.2.77 printer.lan\n") {
  ResolverOptions o;
  o.sources = parse_nsswitch_hosts(std::string("hosts: ") + line + "\n", "nsswitch.conf", ParseMode::strict).value;
  o.hosts = parse_hosts(hosts, "hosts").value;
  return o;
}

detail::SystemAnswer found(const char* address) { return {SourceStatus::success, {ip(address)}, {}}; }
detail::SystemAnswer status(SourceStatus s) { return {s, {}, "said so"}; }

Message nxdomain(const std::string& name, RecordType type) {
  Message m = response(name, type, {});
  m.header.rcode = Rcode::nxdomain;
  return m;
}

}  // namespace

TEST_CASE("sources: files answers first; another service is asked per family, and its NOTFOUND=return stops the walk") {
  auto o = with_sources("files mdns4_minimal [NOTFOUND=return] dns");
  LookupPlan listed("printer.lan", FamilySet::both(), o);
  CHECK(step(listed) == Steps{"event ipv6 no_data hosts", "event ipv4 192.0.2.77 hosts"});

  LookupPlan local("printer.local", FamilySet::both(), o);
  CHECK(step(local) == Steps{"system ipv6 mdns4_minimal printer.local", "system ipv4 mdns4_minimal printer.local"});
  local.on_system(Family::v6, status(SourceStatus::notfound));
  CHECK(step(local).empty());  // the status waits for both families
  local.on_system(Family::v4, status(SourceStatus::notfound));
  CHECK(step(local) == Steps{"event ipv6 nxdomain mdns4_minimal", "event ipv4 nxdomain mdns4_minimal"});
  CHECK(local.finished());

  // UNAVAIL goes on to dns.
  auto full = with_sources("files mdns4 [NOTFOUND=return] dns");
  LookupPlan other("www.example", FamilySet::both(), full);
  CHECK(step(other).size() == 2);
  other.on_system(Family::v6, status(SourceStatus::unavail));
  other.on_system(Family::v4, status(SourceStatus::unavail));
  CHECK(step(other) == Steps{"ask ipv6 www.example", "ask ipv4 www.example"});
  // mdns4_minimal looks only at .local names: UNAVAIL for any other, without a call.
  LookupPlan skipped("www.example", FamilySet::both(), o);
  CHECK(step(skipped) == Steps{"ask ipv6 www.example", "ask ipv4 www.example"});
}

TEST_CASE("sources: myhostname is asked only for the names it answers") {
  auto o = with_sources("files myhostname dns");
  LookupPlan other("www.example", FamilySet::both(), o);
  CHECK(step(other) == Steps{"ask ipv6 www.example", "ask ipv4 www.example"});
  LookupPlan gateway("_gateway", FamilySet::only(Family::v4), o);
  CHECK(step(gateway) == Steps{"system ipv4 myhostname _gateway"});
}

TEST_CASE("sources: a service's addresses for one family go out at once, and its SUCCESS ends the walk") {
  auto o = with_sources("files mymachines dns");
  LookupPlan plan("box", FamilySet::both(), o);
  CHECK(step(plan).size() == 2);
  plan.on_system(Family::v4, found("192.0.2.5"));
  CHECK(step(plan) == Steps{"event ipv4 192.0.2.5 mymachines"});
  plan.on_system(Family::v6, status(SourceStatus::notfound));
  CHECK(step(plan) == Steps{"event ipv6 nxdomain mymachines"});
  CHECK(plan.finished());
}

TEST_CASE("sources: after dns, a family's error waits for the other; both NXDOMAIN go on to the next service") {
  auto o = with_sources("files dns mymachines");
  LookupPlan plan("box", FamilySet::both(), o);
  CHECK(step(plan) == Steps{"ask ipv6 box", "ask ipv4 box"});
  plan.on_response(Family::v6, nxdomain("box", RecordType::aaaa));
  CHECK(step(plan).empty());
  plan.on_response(Family::v4, nxdomain("box", RecordType::a));
  CHECK(step(plan) == Steps{"system ipv6 mymachines box", "system ipv4 mymachines box"});
  plan.on_system(Family::v6, found("2001:db8::5"));
  plan.on_system(Family::v4, found("192.0.2.5"));
  CHECK(step(plan) == Steps{"event ipv6 2001:db8::5 mymachines", "event ipv4 192.0.2.5 mymachines"});

  // An answer from dns for either family: the other service is never asked.
  LookupPlan answered("box", FamilySet::both(), o);
  step(answered);
  answered.on_response(Family::v6, nxdomain("box", RecordType::aaaa));
  answered.on_response(Family::v4, response("box", RecordType::a, {Record::a("box", ip("192.0.2.6"), 60)}));
  CHECK(step(answered) == Steps{"store box", "event ipv6 nxdomain dns", "event ipv4 192.0.2.6 dns"});
  CHECK(answered.finished());
}

TEST_CASE("sources: dns [!UNAVAIL=return] files (glibc's default before 2.35): files only when no server is there") {
  auto o = with_sources("dns [!UNAVAIL=return] files", "192.0.2.77 printer\n");
  LookupPlan nx("printer", FamilySet::both(), o);
  CHECK(step(nx) == Steps{"ask ipv6 printer", "ask ipv4 printer"});
  nx.on_response(Family::v6, nxdomain("printer", RecordType::aaaa));
  nx.on_response(Family::v4, nxdomain("printer", RecordType::a));
  CHECK(step(nx) == Steps{"event ipv6 nxdomain dns", "event ipv4 nxdomain dns"});

  LookupPlan down("printer", FamilySet::both(), o);
  step(down);
  down.on_failure(Family::v6, errc::dns_server_failure, detail::FailureKind::unreachable);
  down.on_failure(Family::v4, errc::dns_server_failure, detail::FailureKind::unreachable);
  CHECK(step(down) == Steps{"event ipv6 no_data hosts", "event ipv4 192.0.2.77 hosts"});
}

TEST_CASE("sources: glibc's default (no nsswitch.conf) is files, then dns") {
  ResolverOptions o;
  o.sources = HostsSources::glibc_default();
  o.hosts = parse_hosts("192.0.2.77 printer\n", "hosts").value;
  LookupPlan plan("printer", FamilySet::both(), o);
  CHECK(step(plan) == Steps{"event ipv6 no_data hosts", "event ipv4 192.0.2.77 hosts"});
}

TEST_CASE("sources: when no source finds the name, the telling error is kept (a timeout over a later NOTFOUND)") {
  auto o = with_sources("dns mymachines");
  LookupPlan plan("box", FamilySet::only(Family::v4), o);
  CHECK(step(plan) == Steps{"ask ipv4 box"});
  plan.on_failure(Family::v4, errc::dns_timeout, detail::FailureKind::unanswered);
  CHECK(step(plan) == Steps{"system ipv4 mymachines box"});
  plan.on_system(Family::v4, status(SourceStatus::notfound));
  CHECK(step(plan) == Steps{"event ipv4 " + make_error_code(errc::dns_timeout).message() + " dns"});

  // A service that fails: name_service_failure, with what it said.
  auto last = with_sources("files mdns4");
  LookupPlan failing("box", FamilySet::only(Family::v6), last);
  CHECK(step(failing) == Steps{"system ipv6 mdns4 box"});
  failing.on_system(Family::v6, status(SourceStatus::tryagain));
  CHECK(step(failing) == Steps{"event ipv6 " + make_error_code(errc::name_service_failure).message() + " mdns4"});
}

TEST_CASE("sources: the last source delivers a family's error without waiting for the other family") {
  auto o = with_sources("files dns");
  LookupPlan plan("box", FamilySet::both(), o);
  step(plan);
  plan.on_response(Family::v6, nxdomain("box", RecordType::aaaa));
  CHECK(step(plan) == Steps{"event ipv6 nxdomain dns"});
}

// glibc's res_nsearch counts only SERVFAIL (got_servfail) against the final
// answer; a timeout or a refusal ends the walk and the as-is try's NXDOMAIN
// is the error: getaddrinfo gives EAI_NONAME, not EAI_AGAIN (gai_diff.py).
TEST_CASE("search walk: after a timeout or a refusal on a domain, the as-is NXDOMAIN is the error") {
  for (const auto& ec : {timeout, server_failure}) {
    CAPTURE(ec.message());
    LookupPlan plan("www", FamilySet::only(Family::v4), seven_domains());
    step(plan);
    plan.on_failure(Family::v4, ec, detail::FailureKind::unanswered, ec == server_failure ? "REFUSED" : "",
                    "192.0.2.53:53");
    CHECK(step(plan) == Steps{"ask ipv4 www"});
    plan.on_cached(Family::v4, negative(errc::host_not_found));
    CHECK(step(plan) == Steps{"event ipv4 nxdomain cache"});
  }
}

// glibc's saved_herrno: the name tried first for its dots failed, nothing
// after it was found: its error is the lookup's, whatever came later.
TEST_CASE("search walk: the error of the name tried first for its dots is the lookup's error") {
  LookupPlan plan("db.corp", FamilySet::only(Family::v4), seven_domains());
  CHECK(step(plan) == Steps{"ask ipv4 db.corp"});
  plan.on_cached(Family::v4, negative(errc::host_not_found));
  CHECK(step(plan) == Steps{"ask ipv4 db.corp.d0.example"});
  plan.on_cached(Family::v4, negative(errc::no_data));  // a NODATA later does not win
  for (int i = 1; i < 7; ++i) {
    CHECK(step(plan) == Steps{"ask ipv4 db.corp.d" + std::to_string(i) + ".example"});
    plan.on_cached(Family::v4, negative(errc::host_not_found));
  }
  CHECK(step(plan) == Steps{"event ipv4 nxdomain cache"});

  LookupPlan refused("db.corp", FamilySet::only(Family::v4), seven_domains());
  step(refused);
  refused.on_failure(Family::v4, server_failure, detail::FailureKind::unanswered, "REFUSED", "192.0.2.53:53");
  for (int i = 0; i < 7; ++i) {
    CHECK(step(refused) == Steps{"ask ipv4 db.corp.d" + std::to_string(i) + ".example"});
    refused.on_cached(Family::v4, negative(errc::host_not_found));
  }
  CHECK(rcode_of_event(refused) == "REFUSED 192.0.2.53:53");
}
