// SPDX-License-Identifier: MIT
// The lookup plan: literal, localhost, hosts, then the search list over cache and DNS with CNAMEs; pure (private).
#pragma once

#include <chrono>
#include <cstddef>
#include <optional>
#include <string>
#include <string_view>
#include <system_error>
#include <variant>
#include <vector>

#include "cache.hpp"
#include "failure.hpp"
#include "heyes/address.hpp"
#include "message.hpp"
#include "heyes/dns/resolver.hpp"
#include "system_answer.hpp"

namespace heyes::dns::detail {

// Look name up for family: in the cache, else with a query. The view is
// valid until the plan's next input for that family.
struct Ask {
  Family family = Family::v6;
  std::string_view name;
};

// Put an answer in the cache (under the search-list candidate it answers).
struct Store {
  std::string_view name;  // valid until the plan moves
  RecordType type = RecordType::aaaa;
  CachedAnswer answer;
};

// One family's final event.
struct Deliver {
  ResolveEvent event;
};

// Ask an NSS service of the hosts: line other than files and dns (through
// the system, on the worker pool) for name and family. The views are
// valid until the plan's next input for that family.
struct AskSystem {
  Family family = Family::v6;
  std::string_view service;
  std::string_view name;
};

using PlanAction = std::variant<Ask, Store, Deliver, AskSystem>;

// One lookup's decisions, fed one input at a time: no I/O, no clock, no
// asio. The constructor settles what needs no question (an address
// literal, an invalid name, a localhost name); then the sources of the
// hosts: line are walked in order, each ending with a status whose action
// says whether the walk stops (nsswitch.conf, as glibc's getaddrinfo):
// files is the hosts file; dns asks each search-list candidate for both
// families at once, AAAA first, and the answers (from the cache or from a
// query) decide; any other service is asked for each family (AskSystem).
// A family's addresses are delivered as soon as they are found (a source
// that finds addresses for either family ends with SUCCESS); a family's
// error waits for the source's status, unless no source follows. Inputs
// only record; take_actions() decides and says what to do. options must
// outlive the plan.
class LookupPlan {
 public:
  LookupPlan(std::string_view host, FamilySet families, const ResolverOptions& options);
  LookupPlan(std::string_view, FamilySet, const ResolverOptions&&) = delete;  // options must outlive the plan

  // ---- inputs: an answer to an Ask ----
  void on_cached(Family f, CachedAnswer hit);
  void on_response(Family f, const Message& response);  // a NOERROR or NXDOMAIN response
  // Timeout, server failure, bad response, a local error; kind steers the
  // search walk. rcode and server: the last error response code a server
  // answered with ("SERVFAIL") and that server, empty when none did.
  void on_failure(Family f, std::error_code ec, FailureKind kind = FailureKind::unanswered, std::string rcode = {},
                  std::string server = {});
  // The answer to an AskSystem for f.
  void on_system(Family f, SystemAnswer answer);
  // Deliver nothing more and ask nothing more; responses still give their Store.
  void abandon() noexcept { abandoned_ = true; }

  // ---- outputs ----
  // The actions now due, in order: stores, events (AAAA first), asks (AAAA
  // first). out is cleared first (its capacity is reused); empty when the
  // plan waits for an input or is finished. Act on every action of one call
  // before the next call: the asks of one candidate are decided together.
  void take_actions(std::vector<PlanAction>& out);
  // Every requested family has its event.
  bool finished() const noexcept { return finished_; }
  // The families the lookup was asked for.
  FamilySet wanted() const noexcept { return {v6_.wanted, v4_.wanted}; }
  // The name family f is being asked about now (after an Ask for it).
  std::string_view asked_name(Family f) const;
  // The service and name of the AskSystem in progress.
  std::string_view system_service() const;
  std::string_view system_name() const noexcept { return bare(); }

 private:
  // What the current candidate's failure means for the search walk, in
  // increasing strength (glibc's __res_context_search): try the next
  // candidate; end the walk, trying the name as-is if not yet tried; stop.
  enum class Walk { next, as_is, stop };

  struct FamilyState {
    explicit FamilyState(Family f) : family(f) {}
    Family family;
    bool wanted = false;
    bool delivered = false;              // its final event is decided
    bool done = false;                   // the current source has its result for it
    bool deliver_due = false;            // take_actions() owes its Deliver
    bool ask_due = false;                // take_actions() owes an Ask
    bool system_due = false;             // take_actions() owes an AskSystem
    SourceStatus status = SourceStatus::notfound;  // of the current source's result
    std::optional<ResolveEvent> kept;    // the telling error of the sources before
    std::optional<CachedAnswer> store;   // take_actions() owes this Store
    std::optional<ResolveEvent> result;  // of the current candidate
    // The name asked is the current candidate, or the CNAME target being
    // followed; kept apart so that asking a candidate copies no string.
    std::string cname_target;
    std::vector<std::string> followed;   // CNAME targets asked for this candidate (loops across queries)
    Walk walk = Walk::next;              // of the current candidate's result
    std::chrono::seconds chain_ttl{0};
    bool had_nodata = false;
    std::error_code failure;  // a SERVFAIL on some candidate (glibc's got_servfail)
    std::string failure_rcode, failure_server;  // failure's response code and server, if a server gave one
    // The error of the name tried first for its dots (glibc's saved_herrno):
    // when nothing is found, it is the lookup's error.
    std::error_code first_error;
    std::string first_rcode, first_server;
  };

  FamilyState& state(Family f) { return f == Family::v6 ? v6_ : v4_; }
  const FamilyState& state(Family f) const { return f == Family::v6 ? v6_ : v4_; }
  const std::string& candidate() const { return candidates_[candidate_]; }
  void settle(std::string_view host, FamilySet families, const ResolverOptions& options);
  void begin_source(std::size_t i);
  void files_source();
  void dns_source();
  void source_done(FamilyState& s, SourceStatus status);
  void decide_source();
  bool last_source() const;
  SourceStatus dns_status(const FamilyState& s) const;
  void answer_all(std::string_view source, const std::vector<IpAddress>& addresses, std::string_view name);
  void fail_all(std::error_code ec, std::string_view source, std::string_view name);
  void start_candidate();
  void record(FamilyState& s, ResolveEvent e);
  void decide();
  std::size_t next_candidate() const;
  void deliver(FamilyState& s);

  FamilyState v6_{Family::v6}, v4_{Family::v4};
  std::vector<std::string> candidates_;
  std::size_t candidate_ = 0;
  std::size_t as_is_ = 0;        // the index of the name as-is among the candidates
  bool as_is_first_ = false;     // tried first for its dots (ndots): its failure never ends the walk
  std::chrono::seconds max_ttl_, max_negative_ttl_;
  const ResolverOptions* options_ = nullptr;
  std::string host_;             // as given (a trailing dot makes it absolute)
  // The host without its trailing dot (a view of host_, made when asked:
  // the plan is moved, and a short string moves its characters).
  std::string_view bare() const noexcept {
    std::string_view b = host_;
    if (!b.empty() && b.back() == '.') b.remove_suffix(1);
    return b;
  }
  std::size_t source_ = 0;       // the hosts: line's source being asked
  bool source_success_ = false;  // it found addresses for a family
  bool dns_active_ = false;      // it is dns, with its search walk
  bool winner_ = false;          // the current candidate gave addresses for a family
  bool abandoned_ = false;
  bool finished_ = false;
};

}  // namespace heyes::dns::detail
