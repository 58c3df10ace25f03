// SPDX-License-Identifier: MIT
// Fuzz target: gai.conf text (lenient and strict), then sorting and interleaving under the parsed policy.
#include <algorithm>
#include <vector>

#include "fuzz_support.hpp"
#include "heyes/select/policy.hpp"
#include "heyes/select/sort.hpp"

namespace {

using heyes::IpAddress;
using heyes::fuzz::require;

// A table is longest prefix first and always has its /0 row.
void check_table(const std::vector<heyes::PolicyEntry>& rows, int all_length) {
  require(!rows.empty(), "a table is never empty");
  for (std::size_t i = 1; i < rows.size(); ++i)
    require(rows[i - 1].prefix.length >= rows[i].prefix.length, "rows are longest prefix first");
  require(std::any_of(rows.begin(), rows.end(), [&](const auto& r) { return r.prefix.length == all_length; }),
          "the /0 row is present");
}

// Sources chosen from the input bytes: some destinations unusable, some
// deprecated, prefix lengths anywhere in -1..128.
class ByteSourceLookup final : public heyes::SourceLookup {
 public:
  explicit ByteSourceLookup(std::string_view bytes) : bytes_(bytes) {}
  std::optional<heyes::SourceInfo> source_for(const IpAddress& d) override {
    auto b = bytes_.empty() ? 0u : static_cast<unsigned char>(bytes_[next_++ % bytes_.size()]);
    if (b % 5 == 0) return std::nullopt;
    auto bytes = d.bytes();
    bytes[15] ^= static_cast<std::uint8_t>(b);
    heyes::SourceInfo s{d.is_v4() ? IpAddress::v4({bytes[12], bytes[13], bytes[14], bytes[15]}) : IpAddress::v6(bytes)};
    s.prefix_length = static_cast<int>(b % 130) - 1;
    s.deprecated = (b & 0x40) != 0;
    s.home = (b & 0x80) != 0;
    return s;
  }

 private:
  std::string_view bytes_;
  std::size_t next_ = 0;
};

void check_sort(const heyes::PolicyTable& policy, std::string_view text) {
  static const char* kDestinations[] = {"2001:db8::1", "192.0.2.1",  "fe80::1",     "::1",     "127.0.0.1",
                                        "2002:c633::1", "fd00::1",   "169.254.1.1", "ff02::1", "3ffe::1",
                                        "2001::1",      "10.1.2.3"};
  std::vector<IpAddress> in;
  for (const char* d : kDestinations) in.push_back(*IpAddress::parse(d));
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
  auto lenient = heyes::parse_policy(text, "fuzz.conf", heyes::ParseMode::lenient);
  require(lenient.warnings.size() <= static_cast<std::size_t>(std::count(text.begin(), text.end(), '\n')) + 1,
          "at most one warning per line");
  check_table(lenient.value.precedences(), 0);
  check_table(lenient.value.labels(), 0);
  check_table(lenient.value.scopes_v4(), 96);
  check_sort(lenient.value, text);
  try {
    auto strict = heyes::parse_policy(text, "fuzz.conf", heyes::ParseMode::strict);
    require(lenient.warnings.empty(), "strict accepts only what lenient accepts without warning");
    require(strict.value.labels() == lenient.value.labels(), "strict and lenient agree on a clean file");
  } catch (const heyes::ParseError& e) {
    require(e.diagnostic().line >= 1, "strict errors name a line");
    require(!lenient.warnings.empty(), "a strict error is a lenient warning");
    require(e.diagnostic().to_string() == lenient.warnings.front().to_string(), "the same first complaint");
  }
  return 0;
}
