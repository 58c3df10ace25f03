// SPDX-License-Identifier: MIT
// The plan of one dial: input checks, the families, the race's config from the options' Timings.
#include "plan.hpp"

#include "heyes/dial.hpp"
#include "heyes/dns/config.hpp"
#include "heyes/error.hpp"
#include "heyes/select/policy.hpp"
#include "heyes/trace.hpp"

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

  auto literal = IpAddress::parse_numeric_host(plan.host);
  if (!literal) {
    if (auto bad = dns::validate_host_name(plan.host)) return bad;
  }
  if (!options.addresses.empty() || literal) {
    FamilySet present = FamilySet::neither();
    for (const auto& a : options.addresses.empty() ? std::vector<IpAddress>{*literal} : options.addresses) {
      if (!(a.is_v6() ? allowed.v6 : allowed.v4)) continue;
      (a.is_v6() ? present.v6 : present.v4) = true;
      plan.given.push_back(a);
    }
    if (plan.given.empty()) return errc::family_unavailable;
    plan.given_source = options.addresses.empty() ? answer_source::literal : answer_source::given;
    plan.restrict_to(present);
    return {};
  }
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
