// SPDX-License-Identifier: MIT
// heyes-connect --sort: policy choice, --source overrides over the system lookup, printing.
#include "sort_mode.hpp"

#include <map>

#include "inputs.hpp"

namespace heyes_connect {
namespace {

// --source answers for the destinations it names; the system for the rest.
class OverrideSourceLookup final : public heyes::SourceLookup {
 public:
  explicit OverrideSourceLookup(const std::vector<SourceOverride>& overrides) {
    for (const auto& o : overrides) overrides_[o.destination] = o.source;  // later ones win
  }
  std::optional<heyes::SourceInfo> source_for(const heyes::IpAddress& destination) override {
    if (auto it = overrides_.find(destination); it != overrides_.end()) return it->second;
    return system_.source_for(destination);
  }

 private:
  std::map<heyes::IpAddress, std::optional<heyes::SourceInfo>> overrides_;
  heyes::SystemSourceLookup system_;
};

}  // namespace

int run_sort(const Options& options, std::FILE* out) {
  const auto policy = policy_of(options);
  OverrideSourceLookup sources(options.sources);
  auto order = heyes::sort_destinations(options.addresses, policy, sources);
  if (options.interleave) order = heyes::interleave_families(order, options.family_count);
  for (const auto& a : order) std::fprintf(out, "%s\n", a.to_string().c_str());
  return 0;
}

}  // namespace heyes_connect
