// SPDX-License-Identifier: MIT
// Fuzz target: hosts file text (lenient and strict) and lookups of the names it mentions.
#include "fuzz_support.hpp"
#include "heyes/dns/hosts.hpp"

namespace {

using heyes::fuzz::require;

void check_lookups(const heyes::dns::HostsTable& table, std::string_view text) {
  // Look up every whitespace-separated word (at most 64), both families.
  std::size_t looked = 0;
  std::size_t pos = 0;
  while (pos < text.size() && looked < 64) {
    pos = text.find_first_not_of(" \t\r\n", pos);
    if (pos == std::string_view::npos) break;
    auto end = std::min(text.find_first_of(" \t\r\n", pos), text.size());
    auto word = text.substr(pos, end - pos);
    pos = end;
    ++looked;
    std::size_t both = 0;
    for (auto family : {heyes::Family::v4, heyes::Family::v6}) {
      auto found = table.lookup(word, family);
      require(found.size() <= heyes::dns::HostsTable::kMaxAddresses, "addresses per name are bounded");
      for (const auto& a : found) require(a.family() == family, "lookup returns the family asked for");
      both += found.size();
    }
    require(table.find(word).size() == both, "find holds both families' lookups");
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  auto text = heyes::fuzz::as_text(data, size);
  auto lenient = heyes::dns::parse_hosts(text, "fuzz.hosts", heyes::ParseMode::lenient);
  require(lenient.warnings.size() <= 101, "warnings are bounded");
  check_lookups(lenient.value, text);
  try {
    auto strict = heyes::dns::parse_hosts(text, "fuzz.hosts", heyes::ParseMode::strict);
    check_lookups(strict.value, text);
  } catch (const heyes::ParseError& e) {
    require(e.diagnostic().line >= 1, "strict errors name a line");
  }
  return 0;
}
