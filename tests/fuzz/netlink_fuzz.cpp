// SPDX-License-Identifier: MIT
// Fuzz target: rtnetlink datagrams as NetworkWatch reads them (address and route changes), whole and cut at every length.
#include <span>

#include "fuzz_support.hpp"
#include "select/network_watch.hpp"

using heyes::fuzz::require;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  std::span<const std::uint8_t> in(data, size);
  heyes::NetworkChanges whole;
  heyes::parse_network_changes(in, whole);
  require(whole.total() >= 0 && static_cast<std::size_t>(whole.total()) <= size / 16, "at most one change per header");
  require(whole.total() == 0 || !whole.first.empty(), "a change is described");
  require(!whole.summary().empty(), "a summary");
  // A datagram cut short never finds more than the whole one.
  heyes::NetworkChanges cut;
  heyes::parse_network_changes(in.first(size / 2), cut);
  require(cut.total() <= whole.total(), "a prefix finds no more changes");
  return 0;
}
