// SPDX-License-Identifier: MIT
// Fuzz target: gai.conf text (select module's parse_policy, lenient and strict), lookups, then sorting and
// interleaving under the parsed policy (the sort checks come from the select engineer's target).
#include <algorithm>
#include <climits>
#include <vector>

#include "fuzz_support.hpp"
#include "heyes/select/policy.hpp"
#include "heyes/select/sort.hpp"

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

// Sources chosen from the input bytes: some destinations unusable, some
// deprecated, prefix lengths anywhere in -1..128.
class ByteSourceLookup final : public heyes::SourceLookup {
 public:
  explicit ByteSourceLookup(std::string_view bytes) : bytes_(bytes) {}
  std::optional<heyes::SourceInfo> source_for(const heyes::IpAddress& d) override {
    auto b = bytes_.empty() ? 0u : static_cast<unsigned char>(bytes_[next_++ % bytes_.size()]);
    if (b % 5 == 0) return std::nullopt;
    auto bytes = d.bytes();
    bytes[15] ^= static_cast<std::uint8_t>(b);
    heyes::SourceInfo s{d.is_v4() ? heyes::IpAddress::v4({bytes[12], bytes[13], bytes[14], bytes[15]})
                                  : heyes::IpAddress::v6(bytes)};
    s.prefix_length = static_cast<int>(b % 130) - 1;
    s.deprecated = (b & 0x40) != 0;
    s.home = (b & 0x80) != 0;
    return s;
  }

 private:
  std::string_view bytes_;
  std::size_t next_ = 0;
};

// RFC 6724 sorting and RFC 8305 interleaving under the parsed policy are permutations.
void check_sort(const heyes::PolicyTable& policy, std::string_view text) {
  static const char* kDestinations[] = {"2001:db8::1",  "192.0.2.1", "fe80::1",     "::1",     "127.0.0.1",
                                        "2002:c633::1", "fd00::1",   "169.254.1.1", "ff02::1", "3ffe::1",
                                        "2001::1",      "10.1.2.3"};
  std::vector<heyes::IpAddress> in;
  for (const char* d : kDestinations) in.push_back(*heyes::IpAddress::parse(d));
  ByteSourceLookup sources(text);
  auto out = heyes::sort_destinations(in, policy, sources);
  require(std::is_permutation(out.begin(), out.end(), in.begin(), in.end()), "sorting is a permutation");
  for (int count : {1, 2, 100}) {
    auto mixed = heyes::interleave_families(out, count);
    require(std::is_permutation(mixed.begin(), mixed.end(), out.begin(), out.end()), "interleaving is a permutation");
    require(mixed.front() == out.front(), "interleaving keeps the first address");
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  auto text = heyes::fuzz::as_text(data, size);
  auto lenient = heyes::parse_policy(text, "fuzz.gai.conf", heyes::ParseMode::lenient);
  check_table(lenient.value);
  require(lenient.warnings.size() <= static_cast<std::size_t>(std::count(text.begin(), text.end(), '\n')) + 1,
          "at most one warning per line");
  check_sort(lenient.value, text);
  try {
    auto strict = heyes::parse_policy(text, "fuzz.gai.conf", heyes::ParseMode::strict);
    check_table(strict.value);
    require(strict.value.precedences() == lenient.value.precedences(), "strict agrees with lenient");
    require(strict.value.labels() == lenient.value.labels(), "strict agrees with lenient");
    require(lenient.warnings.empty(), "strict accepts only what lenient accepts without warning");
  } catch (const heyes::ParseError& e) {
    require(e.diagnostic().line >= 1, "strict errors name a line");
    require(!lenient.warnings.empty() && e.diagnostic().to_string() == lenient.warnings.front().to_string(),
            "a strict error is the first lenient warning");
  }
  return 0;
}
