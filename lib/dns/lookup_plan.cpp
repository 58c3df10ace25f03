// SPDX-License-Identifier: MIT
// The lookup plan: sources in order, the search-list rule, CNAME chains, what is cached; no I/O.
#include "lookup_plan.hpp"

#include <algorithm>
#include <array>

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

// Order of sources: address literal, RFC 6761 localhost, then the sources
// of the hosts: line (nsswitch.conf): the hosts file, the cache and DNS over
// the search list, other NSS services.
LookupPlan::LookupPlan(std::string_view host, FamilySet families, const ResolverOptions& options)
    : max_ttl_(options.max_ttl), max_negative_ttl_(options.max_negative_ttl), options_(&options) {
  v6_.wanted = families.v6;
  v4_.wanted = families.v4;
  settle(host, families, options);
}

void LookupPlan::settle(std::string_view host, FamilySet, const ResolverOptions& options) {
  if (auto literal = IpAddress::parse_numeric_host(host)) return answer_all(answer_source::literal, {*literal}, host);
  if (auto ec = validate_host_name(host)) return fail_all(ec, answer_source::validation, host);
  std::string_view bare = host;
  if (!bare.empty() && bare.back() == '.') bare.remove_suffix(1);
  if (is_localhost_name(bare))
    return answer_all(answer_source::localhost, {*IpAddress::parse("::1"), *IpAddress::parse("127.0.0.1")}, bare);
  host_ = host;
  if (options.sources.sources.empty()) return fail_all(errc::host_not_found, answer_source::hosts, bare);
  begin_source(0);
}

// ---- the walk over the hosts: line ------------------------------------------

bool LookupPlan::last_source() const { return source_ + 1 >= options_->sources.sources.size(); }

std::string_view LookupPlan::system_service() const { return options_->sources.sources[source_].name; }

void LookupPlan::begin_source(std::size_t i) {
  source_ = i;
  source_success_ = false;
  dns_active_ = false;
  for (FamilyState* s : {&v6_, &v4_}) {
    if (!s->wanted || s->delivered) continue;
    s->done = false;
    s->result.reset();
  }
  const HostsSource& src = options_->sources.sources[i];
  if (src.is_files()) return files_source();
  if (src.is_dns()) return dns_source();
  if (auto known = foreseen_status(src.name, bare())) {
    for (FamilyState* s : {&v6_, &v4_}) {
      if (!s->wanted || s->delivered) continue;
      SystemAnswer a{*known, {}, "not a name it answers"};
      record(*s, to_event(s->family, a, src.name, bare()));
      source_done(*s, *known);
    }
    return decide_source();
  }
  for (FamilyState* s : {&v6_, &v4_})
    if (s->wanted && !s->delivered) s->system_due = true;
}

// glibc's files service: a name it lists is SUCCESS for the lookup, with or
// without an address of each family (getaddrinfo asks it for both at once).
void LookupPlan::files_source() {
  // The name as asked, trailing dot included: glibc's files backend compares it so.
  const auto found = options_->hosts.find(host_);
  for (FamilyState* s : {&v6_, &v4_}) {
    if (!s->wanted || s->delivered) continue;
    // A miss that another source follows is never delivered: no name to copy.
    ResolveEvent e = error_event({}, answer_source::hosts, found.empty() && !last_source() ? std::string_view() : bare());
    for (const auto& a : found)
      if (a.family() == s->family) e.addresses.push_back(a);
    if (found.empty()) e.error = errc::host_not_found;
    else if (e.addresses.empty()) e.error = errc::no_data;
    record(*s, std::move(e));
    source_done(*s, found.empty() ? SourceStatus::notfound : SourceStatus::success);
  }
  decide_source();
}

void LookupPlan::dns_source() {
  dns_active_ = true;
  winner_ = false;
  candidate_ = 0;
  for (FamilyState* s : {&v6_, &v4_}) {
    s->had_nodata = false;
    s->failure = {};
    s->first_error = {};
  }
  // resolv.conf "options no-aaaa": the AAAA question is never asked.
  if (v6_.wanted && !v6_.delivered && options_->config.no_aaaa) {
    record(v6_, error_event(errc::family_unavailable, answer_source::dns, bare()));
    source_done(v6_, SourceStatus::notfound);
  }
  candidates_ = candidate_names(host_, options_->config);
  if (candidates_.empty()) {
    for (FamilyState* s : {&v6_, &v4_}) {
      if (!s->wanted || s->delivered || s->done) continue;
      record(*s, error_event(errc::bad_host_name, answer_source::validation, host_));
      source_done(*s, SourceStatus::notfound);
    }
    return decide_source();
  }
  auto as_is = std::find_if(candidates_.begin(), candidates_.end(), [&](const auto& c) { return iequals(c, bare()); });
  as_is_ = static_cast<std::size_t>(as_is - candidates_.begin());
  as_is_first_ = as_is_ == 0 && std::count(bare().begin(), bare().end(), '.') >= options_->config.ndots;
  start_candidate();
  if (v6_.done) decide_source();  // no-aaaa: AAAA's part is known already
}

void LookupPlan::on_system(Family f, SystemAnswer answer) {
  FamilyState& s = state(f);
  SourceStatus status = SourceStatus::notfound;
  record(s, to_event(f, answer, system_service(), bare(), &status));
  source_done(s, status);
  decide_source();
}

// The current source has family s's result (in s.result): addresses go out
// at once, an error waits for the source's status.
void LookupPlan::source_done(FamilyState& s, SourceStatus status) {
  s.done = true;
  s.status = status;
  if (status == SourceStatus::success) {
    source_success_ = true;
    deliver(s);
  }
}

namespace {

// The error worth reporting when no source found the name: a failure
// (no answer, a service that failed) over "the name exists" (NODATA) over
// "not found"; the later source on a tie.
int weight(const ResolveEvent& e) {
  if (e.error == errc::host_not_found || e.error == errc::bad_host_name) return 0;
  if (e.error == errc::no_data || e.error == errc::no_address || e.error == errc::family_unavailable) return 1;
  return 2;
}

// glibc's order among the statuses of a service asked for both families.
int strength(SourceStatus s) {
  switch (s) {
    case SourceStatus::success: return 3;
    case SourceStatus::tryagain: return 2;
    case SourceStatus::unavail: return 1;
    case SourceStatus::notfound: return 0;
  }
  return 0;
}

}  // namespace

// Once the source's outcome is known: deliver, or go on to the next source
// with what is still missing (nsswitch.conf's action for the status).
void LookupPlan::decide_source() {
  bool all_done = true;
  SourceStatus status = SourceStatus::notfound;
  for (FamilyState* s : {&v6_, &v4_}) {
    if (!s->wanted || s->delivered) continue;
    if (!s->done) {
      all_done = false;
      continue;
    }
    if (strength(s->status) > strength(status)) status = s->status;
  }
  const bool last = last_source();
  if (source_success_ || (!all_done && last) || (all_done && (last || options_->sources.sources[source_].action(status) ==
                                                                             SourceAction::return_))) {
    for (FamilyState* s : {&v6_, &v4_}) {
      if (!s->wanted || s->delivered || !s->done) continue;
      if (!source_success_ && s->kept && weight(*s->kept) > weight(*s->result)) s->result = std::move(*s->kept);
      deliver(*s);
    }
  }
  if ((v6_.wanted && !v6_.delivered) || (v4_.wanted && !v4_.delivered)) {
    if (!all_done || source_success_ || last) return;
    // Every family still missing failed here and the action says continue.
    for (FamilyState* s : {&v6_, &v4_}) {
      if (!s->wanted || s->delivered) continue;
      if (!s->kept || weight(*s->result) >= weight(*s->kept)) s->kept = std::move(s->result);
    }
    return begin_source(source_ + 1);
  }
  finished_ = true;
  dns_active_ = false;
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
    if (!s->wanted || s->done) continue;
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
  if (dns_active_ && e.error && candidate_ == as_is_ && as_is_first_ && !s.first_error) {
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
  if (!finished_ && !abandoned_ && dns_active_) decide();
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
  for (FamilyState* s : {&v6_, &v4_}) {
    if (!s->system_due) continue;
    s->system_due = false;
    out.emplace_back(std::in_place_type<AskSystem>, AskSystem{s->family, system_service(), bare()});
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
  std::array<FamilyState*, 2> ended{};
  std::size_t ends = 0;
  for (FamilyState* s : {&v6_, &v4_}) {
    if (!s->wanted || s->done) continue;
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
      s->done = true;
      ended[ends++] = s;
    }
    all_done = all_done && s->done;
    all_failed = all_failed && (s->done || (s->result && s->result->error));
  }
  if (all_done) dns_active_ = false;
  else if (!winner_ && all_failed && !last) {
    candidate_ = next;
    start_candidate();
  }
  if (ends == 0) return;
  for (std::size_t i = 0; i < ends; ++i) source_done(*ended[i], dns_status(*ended[i]));
  decide_source();
}

// What glibc's dns service would have returned for the family's result.
SourceStatus LookupPlan::dns_status(const FamilyState& s) const {
  const std::error_code& e = s.result->error;
  if (!e) return SourceStatus::success;
  if (e == errc::host_not_found || e == errc::no_data || e == errc::no_address || e == errc::family_unavailable ||
      e == errc::bad_host_name)
    return SourceStatus::notfound;
  if (s.walk == Walk::stop) return SourceStatus::unavail;
  return SourceStatus::tryagain;
}

// The candidate to ask once every family of the current one has failed, or
// candidates_.size() when the walk is over. The strongest failure of the
// families decides; the answers still awaited can only make it stronger.
std::size_t LookupPlan::next_candidate() const {
  Walk walk = Walk::next;
  for (const FamilyState* s : {&v6_, &v4_})
    if (s->wanted && !s->done && s->result && s->result->error) walk = std::max(walk, s->walk);
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
