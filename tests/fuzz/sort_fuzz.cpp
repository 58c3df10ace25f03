// SPDX-License-Identifier: MIT
// Fuzz target: RFC 6724 sorting and RFC 8305 interleaving of arbitrary addresses, sources and extra-rule answers.
#include <algorithm>
#include <vector>

#include "fuzz_support.hpp"
#include "heyes/select/policy.hpp"
#include "heyes/select/sort.hpp"

namespace {

using heyes::IpAddress;
using heyes::fuzz::require;

// Each 18-byte record: 16 address bytes, a source byte, a flags byte.
constexpr std::size_t kRecord = 18;
constexpr std::size_t kMaxRecords = 256;

struct Record {
  IpAddress destination;
  std::optional<heyes::SourceInfo> source;
};

// The source byte: 0 → no source; otherwise the destination with its last
// byte xored, a prefix length of byte % 130 - 1, flags from the flags byte.
Record make_record(const std::uint8_t* r) {
  IpAddress::Bytes b{};
  std::copy(r, r + 16, b.begin());
  Record out{IpAddress::v6(b), std::nullopt};
  if (r[16] == 0) return out;
  b[15] ^= r[16];
  heyes::SourceInfo s{IpAddress::v6(b), static_cast<int>(r[16] % 130) - 1};
  s.deprecated = (r[17] & 1) != 0;
  s.home = (r[17] & 2) != 0;
  s.temporary = (r[17] & 4) != 0;
  out.source = s;
  return out;
}

class RecordSourceLookup final : public heyes::SourceLookup {
 public:
  explicit RecordSourceLookup(const std::vector<Record>& records) : records_(records) {}
  std::optional<heyes::SourceInfo> source_for(const IpAddress& d) override {
    for (const auto& r : records_)
      if (r.destination == d) return r.source;
    return std::nullopt;
  }

 private:
  const std::vector<Record>& records_;
};

bool usable(const std::vector<Record>& records, const IpAddress& d) {
  for (const auto& r : records)
    if (r.destination == d) return r.source.has_value();
  return false;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  std::vector<Record> records;
  for (std::size_t off = 0; off + kRecord <= size && records.size() < kMaxRecords; off += kRecord)
    records.push_back(make_record(data + off));
  std::vector<IpAddress> in;
  for (const auto& r : records) in.push_back(r.destination);
  RecordSourceLookup sources(records);
  // An extra rule that need not be a consistent ordering: the sort must cope.
  const std::uint8_t salt = size > 0 ? data[size - 1] : 0;
  const heyes::ExtraRule extra = [salt](const IpAddress& a, const IpAddress& b) {
    int v = (a.bytes()[15] ^ b.bytes()[14] ^ salt) % 3;
    return v - 1;
  };
  for (const heyes::ExtraRule* rule : {static_cast<const heyes::ExtraRule*>(nullptr), &extra}) {
    auto out = heyes::sort_destinations(in, heyes::PolicyTable(), sources, rule ? *rule : heyes::ExtraRule{});
    require(std::is_permutation(out.begin(), out.end(), in.begin(), in.end()), "sorting is a permutation");
    // Rule 1: no usable destination after an unusable one.
    auto first_unusable = std::find_if(out.begin(), out.end(), [&](const auto& d) { return !usable(records, d); });
    require(std::none_of(first_unusable, out.end(), [&](const auto& d) { return usable(records, d); }),
            "unusable destinations come last");
    for (int count : {0, 1, 2, 7}) {
      auto mixed = heyes::interleave_families(out, count);
      require(std::is_permutation(mixed.begin(), mixed.end(), out.begin(), out.end()), "interleaving is a permutation");
      require(mixed.empty() || mixed.front() == out.front(), "interleaving keeps the first address");
    }
  }
  return 0;
}
