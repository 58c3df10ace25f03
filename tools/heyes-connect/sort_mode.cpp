// SPDX-License-Identifier: MIT
// heyes-connect --sort: policy choice, --source overrides over the system lookup, printing.
#include "sort_mode.hpp"

#include <map>

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

// --policy FILE (strict), --policy none, or the system's (lenient, warnings shown).
heyes::PolicyTable choose_policy(const Options& options, std::FILE* err) {
  if (options.policy == "none") return heyes::PolicyTable::rfc6724();
  if (options.policy) return heyes::load_policy(*options.policy, heyes::ParseMode::strict).value;
  std::vector<heyes::Diagnostic> warnings;
  auto table = heyes::PolicyTable::system(&warnings);
  for (const auto& w : warnings) std::fprintf(err, "heyes-connect: warning: %s\n", w.to_string().c_str());
  return table;
}

}  // namespace

int run_sort(const Options& options, std::FILE* out, std::FILE* err) {
  const auto policy = choose_policy(options, err);
  OverrideSourceLookup sources(options.sources);
  auto order = heyes::sort_destinations(options.addresses, policy, sources);
  if (options.interleave) order = heyes::interleave_families(order, options.family_count);
  for (const auto& a : order) std::fprintf(out, "%s\n", a.to_string().c_str());
  return 0;
}

}  // namespace heyes_connect
