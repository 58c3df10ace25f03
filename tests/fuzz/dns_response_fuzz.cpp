// SPDX-License-Identifier: MIT
// Fuzz target: a datagram as the response to a given query (validate_response, decode, interpret), and codec round trips.
#include <span>
#include <stdexcept>

#include "dns/answer.hpp"
#include "dns/message.hpp"
#include "fuzz_support.hpp"

namespace {

using heyes::fuzz::require;
using namespace heyes::dns;

// The query every input answers (the seed corpus is built for it).
constexpr std::uint16_t kQueryId = 0x4242;
constexpr std::string_view kQueryName = "www.example.com";

bool same_records(const std::vector<Record>& a, const std::vector<Record>& b) {
  if (a.size() != b.size()) return false;
  for (std::size_t i = 0; i < a.size(); ++i) {
    if (!names_equal(a[i].name, b[i].name) || a[i].type != b[i].type || a[i].ttl != b[i].ttl ||
        a[i].klass != b[i].klass)
      return false;
    if ((a[i].type == RecordType::a || a[i].type == RecordType::aaaa) && a[i].address != b[i].address) return false;
    if (a[i].type == RecordType::cname && !names_equal(a[i].target, b[i].target)) return false;
  }
  return true;
}

// Whatever decode accepts, encode writes back, and decoding that gives the same message.
void check_round_trip(const Message& m) {
  std::vector<std::uint8_t> again;
  try {
    again = encode(m);
  } catch (const std::invalid_argument& e) {
    std::fprintf(stderr, "encode: %s\n", e.what());
    require(false, "a decoded message can be encoded");
  }
  auto d = decode(again);
  require(bool(d), "an encoded message decodes");
  const Message& r = *d.message;
  require(r.header.id == m.header.id && r.header.rcode == m.header.rcode && r.header.tc == m.header.tc,
          "header round trip");
  require(r.questions.size() == m.questions.size(), "question count round trip");
  for (std::size_t i = 0; i < r.questions.size(); ++i)
    require(names_equal(r.questions[i].name, m.questions[i].name), "question name round trip");
  require(same_records(r.answers, m.answers) && same_records(r.authority, m.authority) &&
              same_records(r.additional, m.additional),
          "record round trip");
  require(r.edns.has_value() == m.edns.has_value(), "EDNS round trip");
}

// validate_response as the response to one query, then what the resolver reads from it.
void check_as_response(std::span<const std::uint8_t> bytes, RecordType type) {
  Message query = make_query(kQueryId, kQueryName, type);
  ResponseCheck check = validate_response(query, bytes);
  if (check.verdict != ResponseVerdict::accepted) {
    require(!check.message, "no message unless accepted");
    return;
  }
  require(check.message.has_value(), "an accepted response has its message");
  const Message& m = *check.message;
  require(m.header.id == kQueryId && m.header.qr, "accepted: our ID, a response");
  require(m.questions.size() == 1 && names_equal(m.questions[0].name, kQueryName) && m.questions[0].type == type,
          "accepted: our question");
  if (m.header.tc || (m.header.rcode != Rcode::noerror && m.header.rcode != Rcode::nxdomain)) return;
  auto answer = heyes::dns::detail::interpret(m, kQueryName, type);
  require(answer.hops >= 0 && static_cast<std::size_t>(answer.hops) <= m.answers.size(),
          "CNAME links bounded by the answer's records");
  auto family = type == RecordType::a ? heyes::Family::v4 : heyes::Family::v6;
  for (const auto& a : answer.addresses) {
    require(a.family() == family, "addresses of the asked family only");
    require(heyes::dns::detail::undialable_reason(a).empty(), "no undialable address is kept");
  }
  for (const auto& d : answer.dropped) require(!heyes::dns::detail::undialable_reason(d.address).empty(), "dropped for a reason");
  // A name the decoder gave can be asked again: a CNAME target to follow encodes.
  if (answer.kind == heyes::dns::detail::Answer::Kind::follow) (void)encode(make_query(1, answer.name, type));
  if (answer.ttl) require(answer.ttl->count() >= 0, "TTL is not negative");
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  std::span<const std::uint8_t> bytes(data, size);
  if (auto d = decode(bytes)) check_round_trip(*d.message);
  check_as_response(bytes, RecordType::a);
  check_as_response(bytes, RecordType::aaaa);
  return 0;
}
