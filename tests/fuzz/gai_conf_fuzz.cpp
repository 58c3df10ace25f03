// SPDX-License-Identifier: MIT
// Fuzz target: gai.conf text (select module's parse_policy, lenient and strict) and lookups in the result.
#include <climits>

#include "fuzz_support.hpp"
#include "heyes/select/policy.hpp"

namespace {

using heyes::fuzz::require;

// A table as parse_policy promises it: longest prefix first, canonical
// prefixes, values in 0..INT_MAX, and a /0 row so every lookup matches.
void check_rows(const std::vector<heyes::PolicyEntry>& rows, int catch_all_length) {
  require(!rows.empty(), "a table is never empty");
  bool catch_all = false;
  for (std::size_t i = 0; i < rows.size(); ++i) {
    const auto& p = rows[i].prefix;
    require(p.length >= 0 && p.length <= 128, "prefix length in 0..128");
    require(heyes::Prefix::of(p.address, p.length) == p, "bits past the length are zero");
    require(rows[i].value >= 0, "values are not negative");
    if (i > 0) require(rows[i - 1].prefix.length >= p.length, "longest prefix first");
    catch_all |= p.length == catch_all_length;
  }
  require(catch_all, "a table has its /0 row");
}

void check_table(const heyes::PolicyTable& t) {
  check_rows(t.precedences(), 0);
  check_rows(t.labels(), 0);
  check_rows(t.scopes_v4(), 96);
  for (const char* text : {"::1", "2001:db8::1", "192.0.2.1", "127.0.0.1", "fe80::1", "::", "ff02::1", "2002::1"}) {
    auto a = *heyes::IpAddress::parse(text);
    require(t.precedence(a) >= 0 && t.label(a) >= 0, "lookups find a row");
    int scope = t.scope(a);
    require(scope >= 0 && scope <= INT_MAX, "scope lookup");
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  auto text = heyes::fuzz::as_text(data, size);
  auto lenient = heyes::parse_policy(text, "fuzz.gai.conf", heyes::ParseMode::lenient);
  check_table(lenient.value);
  try {
    auto strict = heyes::parse_policy(text, "fuzz.gai.conf", heyes::ParseMode::strict);
    check_table(strict.value);
    require(strict.value.precedences() == lenient.value.precedences(), "strict agrees with lenient");
    require(strict.value.labels() == lenient.value.labels(), "strict agrees with lenient");
  } catch (const heyes::ParseError& e) {
    require(e.diagnostic().line >= 1, "strict errors name a line");
  }
  return 0;
}
