// SPDX-License-Identifier: MIT
// The lookup plan: sources in order, the search-list rule, CNAME chains, what is cached; no I/O.
#include "lookup_plan.hpp"

#include <algorithm>

#include "answer.hpp"
#include "heyes/dns/hosts.hpp"
#include "parse_support.hpp"
#include "heyes/error.hpp"
#include "heyes/trace.hpp"

namespace heyes::dns::detail {
namespace {

using std::chrono::seconds;

RecordType type_of(Family f) { return f == Family::v6 ? RecordType::aaaa : RecordType::a; }

ResolveEvent error_event(std::error_code ec, std::string_view source, std::string_view name) {
  ResolveEvent e;
  e.error = ec;
  e.source = source;
  e.name = name;
  return e;
}

}  // namespace

// Order of sources: address literal, RFC 6761 localhost, the hosts file,
// then the cache and DNS over the search list.
LookupPlan::LookupPlan(std::string_view host, FamilySet families, const ResolverOptions& options)
    : max_ttl_(options.max_ttl), max_negative_ttl_(options.max_negative_ttl) {
  v6_.wanted = families.v6;
  v4_.wanted = families.v4;
  settle(host, families, options);
}

void LookupPlan::settle(std::string_view host, FamilySet families, const ResolverOptions& options) {
  if (auto literal = IpAddress::parse_numeric_host(host)) return answer_all(answer_source::literal, {*literal}, host);
  if (auto ec = validate_host_name(host)) return fail_all(ec, answer_source::validation, host);
  std::string_view bare = host;
  if (!bare.empty() && bare.back() == '.') bare.remove_suffix(1);
  if (is_localhost_name(bare))
    return answer_all(answer_source::localhost, {*IpAddress::parse("::1"), *IpAddress::parse("127.0.0.1")}, bare);
  // The name as asked, trailing dot included: glibc's files backend compares it so.
  if (auto found = options.hosts.find(host); !found.empty()) return answer_all(answer_source::hosts, found, bare);
  // resolv.conf "options no-aaaa": the AAAA question is never asked.
  const FamilySet asked = families & (options.config.no_aaaa ? FamilySet::only(Family::v4) : FamilySet::both());
  if (families.v6 && !asked.v6) {
    v6_.result = error_event(errc::family_unavailable, answer_source::dns, bare);
    deliver(v6_);
  }
  candidates_ = candidate_names(host, options.config);
  if (candidates_.empty()) return fail_all(errc::bad_host_name, answer_source::validation, host);
  auto as_is = std::find_if(candidates_.begin(), candidates_.end(), [&](const auto& c) { return iequals(c, bare); });
  as_is_ = static_cast<std::size_t>(as_is - candidates_.begin());
  as_is_first_ = as_is_ == 0 && std::count(bare.begin(), bare.end(), '.') >= options.config.ndots;
}

void LookupPlan::answer_all(std::string_view source, const std::vector<IpAddress>& addresses,
                            std::string_view name) {
  for (FamilyState* s : {&v6_, &v4_}) {
    if (!s->wanted) continue;
    ResolveEvent e;
    e.source = source;
    e.name = name;
    for (const auto& a : addresses)
      if (a.family() == s->family) e.addresses.push_back(a);
    if (e.addresses.empty()) e.error = errc::no_data;
    s->result = std::move(e);
    deliver(*s);
  }
  finished_ = true;
}

void LookupPlan::fail_all(std::error_code ec, std::string_view source, std::string_view name) {
  for (FamilyState* s : {&v6_, &v4_}) {
    if (!s->wanted || s->delivered) continue;
    s->result = error_event(ec, source, name);
    deliver(*s);
  }
  finished_ = true;
}

// Both families of one search-list candidate are asked, AAAA first; the
// decision waits until both asks have been taken.
void LookupPlan::start_candidate() {
  winner_ = false;
  for (FamilyState* s : {&v6_, &v4_}) {
    if (!s->wanted || s->delivered) continue;
    s->result.reset();
    s->cname_target.clear();
    s->followed.clear();
    s->walk = Walk::next;
    s->chain_ttl = max_ttl_;
    s->ask_due = true;
  }
}

std::string_view LookupPlan::asked_name(Family f) const {
  const FamilyState& s = state(f);
  return s.cname_target.empty() ? std::string_view(candidate()) : std::string_view(s.cname_target);
}

void LookupPlan::on_cached(Family f, CachedAnswer hit) {
  FamilyState& s = state(f);
  ResolveEvent e;
  e.addresses = std::move(hit.addresses);
  e.error = hit.error;
  e.ttl = std::min(hit.ttl, s.chain_ttl);
  e.source = answer_source::cache;
  e.name = std::move(hit.name);
  record(s, std::move(e));
}

void LookupPlan::on_failure(Family f, std::error_code ec, FailureKind kind, std::string rcode, std::string server) {
  FamilyState& s = state(f);
  // glibc's walk: SERVFAIL goes on to the next candidate like NXDOMAIN; a
  // timeout or a refusal ends it (the name as-is still gets its try); no
  // server at all (ECONNREFUSED) or a failure of this host ends the lookup.
  s.walk = kind == FailureKind::servfail                                        ? Walk::next
           : kind == FailureKind::unreachable || kind == FailureKind::local ? Walk::stop
                                                                                : Walk::as_is;
  ResolveEvent e = error_event(ec, answer_source::dns, asked_name(f));
  e.rcode = std::move(rcode);
  e.server = std::move(server);
  // Only a SERVFAIL counts against a later NXDOMAIN (glibc's got_servfail);
  // after a timeout or a refusal, the as-is try's own answer is the error.
  if (kind == FailureKind::servfail) {
    s.failure = e.error;
    s.failure_rcode = e.rcode;
    s.failure_server = e.server;
  }
  record(s, std::move(e));
}

// Turns a NOERROR/NXDOMAIN response into the family's result, cached under
// the candidate name, or into the next name of a CNAME chain to ask.
void LookupPlan::on_response(Family f, const Message& response) {
  FamilyState& s = state(f);
  const RecordType type = type_of(f);
  auto a = interpret(response, asked_name(f), type);
  ResolveEvent e = error_event({}, answer_source::dns, a.name);
  e.dropped = std::move(a.dropped);
  switch (a.kind) {
    case Answer::Kind::addresses:
      e.ttl = std::min({s.chain_ttl, *a.ttl, max_ttl_});
      // Only undialable addresses: the name has none to connect to (not cached).
      if (a.addresses.empty()) {
        e.error = errc::no_address;
        return record(s, std::move(e));
      }
      e.addresses = std::move(a.addresses);
      s.store = CachedAnswer{e.addresses, {}, e.name, e.ttl};
      return record(s, std::move(e));
    case Answer::Kind::follow:
      s.chain_ttl = std::min(s.chain_ttl, *a.ttl);
      // A chain that leaves its answer: a new query for its end, at most
      // max_cname_queries of them, never for a name this chain has asked.
      if (static_cast<int>(s.followed.size()) >= max_cname_queries || names_equal(a.name, candidate()) ||
          std::any_of(s.followed.begin(), s.followed.end(), [&](const auto& n) { return names_equal(n, a.name); })) {
        e.error = errc::dns_bad_response;
        s.walk = Walk::as_is;
        return record(s, std::move(e));
      }
      s.followed.push_back(a.name);
      s.cname_target = std::move(a.name);
      s.ask_due = true;
      return;
    case Answer::Kind::nxdomain:
    case Answer::Kind::nodata:
      e.error = a.kind == Answer::Kind::nxdomain ? errc::host_not_found : errc::no_data;
      // RFC 2308 §5: cache for the SOA-derived TTL, never without an SOA.
      if (a.ttl) {
        e.ttl = std::min(*a.ttl, max_negative_ttl_);
        s.store = CachedAnswer{{}, e.error, e.name, e.ttl};
      }
      return record(s, std::move(e));
    case Answer::Kind::bad:
      break;
  }
  // An answer that cannot be used (a CNAME loop, a CNAME to the root) ends
  // the walk as glibc's NO_RECOVERY does.
  e.error = errc::dns_bad_response;
  s.walk = Walk::as_is;
  record(s, std::move(e));
}

void LookupPlan::record(FamilyState& s, ResolveEvent e) {
  e.family = s.family;
  if (e.error == errc::no_data) s.had_nodata = true;
  if (e.error && candidate_ == as_is_ && as_is_first_ && !s.first_error) {
    s.first_error = e.error;
    s.first_rcode = e.rcode;
    s.first_server = e.server;
  }
  s.result = std::move(e);
}

void LookupPlan::take_actions(std::vector<PlanAction>& out) {
  out.clear();
  for (FamilyState* s : {&v6_, &v4_}) {
    if (!s->store) continue;
    out.emplace_back(std::in_place_type<Store>, Store{candidate(), type_of(s->family), std::move(*s->store)});
    s->store.reset();
  }
  if (!finished_ && !abandoned_) {
    if (!started_) {
      started_ = true;
      start_candidate();
    }
    decide();
  }
  for (FamilyState* s : {&v6_, &v4_}) {
    if (!s->deliver_due) continue;
    s->deliver_due = false;
    out.emplace_back(std::in_place_type<Deliver>, Deliver{std::move(*s->result)});
  }
  if (finished_ || abandoned_) return;
  for (FamilyState* s : {&v6_, &v4_}) {
    if (!s->ask_due) continue;
    s->ask_due = false;
    out.emplace_back(std::in_place_type<Ask>, Ask{s->family, asked_name(s->family)});
  }
}

// The search-list rule: the first candidate that yields addresses for either
// family wins; an error of one family is held until the other family of the
// same candidate has answered (unless this is the last candidate).
void LookupPlan::decide() {
  for (const FamilyState* s : {&v6_, &v4_})
    if (s->wanted && s->result && !s->result->error) winner_ = true;
  const std::size_t next = next_candidate();
  const bool last = next == candidates_.size();
  bool all_done = true, all_failed = true;
  for (FamilyState* s : {&v6_, &v4_}) {
    if (!s->wanted || s->delivered) continue;
    if (s->result && (!s->result->error || winner_ || last)) {
      // As glibc's res_search: the error of the name tried first for its
      // dots, else a NODATA anywhere, else a SERVFAIL, beats the last
      // answer; a failure that stopped the lookup is reported as it is.
      if (s->result->error && !winner_ && s->walk != Walk::stop) {
        if (s->first_error) {
          s->result->error = s->first_error;
          s->result->rcode = s->first_rcode;
          s->result->server = s->first_server;
        } else if (s->had_nodata) {
          s->result->error = errc::no_data;
          s->result->rcode.clear();
          s->result->server.clear();
        } else if (s->failure) {
          s->result->error = s->failure;
          s->result->rcode = s->failure_rcode;
          s->result->server = s->failure_server;
        }
      }
      deliver(*s);
    }
    all_done = all_done && s->delivered;
    all_failed = all_failed && (s->delivered || (s->result && s->result->error));
  }
  if (all_done) {
    finished_ = true;
    return;
  }
  if (!winner_ && all_failed && !last) {
    candidate_ = next;
    start_candidate();
  }
}

// The candidate to ask once every family of the current one has failed, or
// candidates_.size() when the walk is over. The strongest failure of the
// families decides; the answers still awaited can only make it stronger.
std::size_t LookupPlan::next_candidate() const {
  Walk walk = Walk::next;
  for (const FamilyState* s : {&v6_, &v4_})
    if (s->wanted && !s->delivered && s->result && s->result->error) walk = std::max(walk, s->walk);
  const std::size_t end = candidates_.size();
  const std::size_t following = candidate_ + 1 < end ? candidate_ + 1 : end;
  switch (walk) {
    case Walk::next:
      return following;
    case Walk::as_is:
      // The name tried first for its dots goes on to the search list whatever
      // its failure; a search-list candidate's failure leaves only the as-is try.
      if (candidate_ == as_is_ && as_is_first_) return following;
      return as_is_ > candidate_ && as_is_ < end ? as_is_ : end;
    case Walk::stop:
      break;
  }
  return end;
}

// Taken by the next take_actions(); the result keeps its error for decide().
void LookupPlan::deliver(FamilyState& s) {
  s.delivered = true;
  s.deliver_due = true;
  s.result->family = s.family;
}

}  // namespace heyes::dns::detail
