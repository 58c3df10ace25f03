// SPDX-License-Identifier: MIT
// The plan of one dial: input checks, the families, the race's config from the options' Timings.
#include "plan.hpp"

#include "heyes/dial.hpp"
#include "heyes/dns/config.hpp"
#include "heyes/error.hpp"
#include "heyes/select/policy.hpp"

namespace heyes::detail {
namespace {

bool allows(FamilyRestriction r, Family f) {
  return r == FamilyRestriction::any || (r == FamilyRestriction::v4) == (f == Family::v4);
}

}  // namespace

namespace {

std::error_code check(std::string_view service, const DialOptions& options, DialPlan& plan) {
  plan.race = race::Config{};
  static_cast<Timings&>(plan.race) = options;  // the one copy of the RFC 8305 timings
  plan.first_family_count = options.first_family_count;
  plan.use_history = options.use_history;
  plan.addrconfig = options.addrconfig;
  plan.explicit_family = options.family != FamilyRestriction::any || options.local_address.has_value();

  std::error_code ec;
  plan.port = resolve_service(service, ec);
  if (ec) return ec;
  FamilySet allowed{allows(options.family, Family::v6), allows(options.family, Family::v4)};
  if (options.local_address) {
    allowed.v6 = allowed.v6 && options.local_address->is_v6();
    allowed.v4 = allowed.v4 && options.local_address->is_v4();
  }
  if (!allowed.v6 && !allowed.v4) return errc::family_unavailable;
  plan.allowed = allowed;

  if (auto literal = IpAddress::parse_numeric_host(plan.host)) {
    bool v6 = literal->is_v6();
    if (!(v6 ? allowed.v6 : allowed.v4)) return errc::family_unavailable;
    plan.literal = literal;
    plan.restrict_to({v6, !v6});
    return {};
  }
  if (auto bad = dns::validate_host_name(plan.host)) return bad;
  plan.restrict_to(allowed);
  return {};
}

}  // namespace

DialPlan plan_dial(std::string host, std::string_view service, const DialOptions& options,
                   std::shared_ptr<const PolicyTable> default_policy) {
  DialPlan plan;
  plan.host = std::move(host);
  plan.policy = options.policy ? options.policy : std::move(default_policy);
  plan.error = check(service, options, plan);
  // RFC 6724 rule 6 decides between the families: an early AAAA answer waits
  // for A when the policy prefers IPv4 to every one of its addresses.
  plan.race.v4_outranks = [policy = plan.policy.get()](const std::vector<IpAddress>& v6) {
    return policy->ranks_v4_above(v6);
  };
  return plan;
}

}  // namespace heyes::detail
