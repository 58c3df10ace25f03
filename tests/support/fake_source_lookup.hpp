// SPDX-License-Identifier: MIT
// FakeSourceLookup: a SourceLookup answered from a table, for sorting tests without the network.
#pragma once

#include <map>
#include <optional>
#include <string_view>

#include "heyes/select/sort.hpp"

namespace heyes::test {

// Destinations not in the table have no source (unusable, RFC 6724 rule 1).
class FakeSourceLookup final : public SourceLookup {
 public:
  // Adds "destination is reached from source"; returns the SourceInfo to tweak.
  SourceInfo& add(std::string_view destination, std::string_view source, int prefix_length = -1) {
    auto& info = table_[*IpAddress::parse(destination)];
    info = SourceInfo{*IpAddress::parse(source), prefix_length};
    return info;
  }
  std::optional<SourceInfo> source_for(const IpAddress& destination) override {
    ++calls_;
    auto it = table_.find(destination);
    if (it == table_.end()) return std::nullopt;
    return it->second;
  }
  int calls() const { return calls_; }

 private:
  std::map<IpAddress, SourceInfo> table_;
  int calls_ = 0;
};

}  // namespace heyes::test
