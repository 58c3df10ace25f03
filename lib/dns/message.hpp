// SPDX-License-Identifier: MIT
// The DNS wire codec (RFC 1035, RFC 3596 AAAA, RFC 6891 EDNS0): plain values, no sockets.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "heyes/address.hpp"

namespace heyes::dns {

// Record types heyes reads; every other type is skipped on decode.
enum class RecordType : std::uint16_t {
  a = 1,
  ns = 2,
  cname = 5,
  soa = 6,
  mx = 15,
  txt = 16,
  aaaa = 28,
  opt = 41,
};

inline constexpr std::uint16_t class_in = 1;

// RFC 6891 §6.2.5: the UDP payload size heyes advertises (the DNS flag day 2020 value).
inline constexpr std::uint16_t edns_udp_size = 1232;
// RFC 1035 §4.2.1: the largest UDP message without EDNS0.
inline constexpr std::uint16_t classic_udp_size = 512;

// The largest UDP response a query made by make_query(..., edns) allows; a
// larger one does not fit what was advertised and counts as truncated.
constexpr std::size_t udp_response_limit(bool edns) noexcept { return edns ? edns_udp_size : classic_udp_size; }

// RFC 1035 §4.1.1 (4-bit) and RFC 6891 §6.1.3 (extended, 12-bit) response codes.
enum class Rcode : std::uint16_t {
  noerror = 0,
  formerr = 1,
  servfail = 2,
  nxdomain = 3,
  notimp = 4,
  refused = 5,
  badvers = 16,
};

std::string_view to_string(RecordType type) noexcept;  // "A", "AAAA", ...; "other" for the rest
std::string_view to_string(Rcode rcode) noexcept;

// RFC 1035 §4.1.1. rcode holds the full (extended) code after decode when
// an OPT record is present.
struct Header {
  std::uint16_t id = 0;
  bool qr = false;  // response
  std::uint8_t opcode = 0;
  bool aa = false;
  bool tc = false;  // truncated
  bool rd = false;  // recursion desired
  bool ra = false;
  bool ad = false;
  bool cd = false;
  Rcode rcode = Rcode::noerror;
};

struct Question {
  std::string name;  // presentation form without the trailing dot ("" is the root)
  RecordType type = RecordType::a;
  std::uint16_t klass = class_in;
};

// RFC 1035 §3.3.13.
struct Soa {
  std::string mname;
  std::string rname;
  std::uint32_t serial = 0;
  std::uint32_t refresh = 0;
  std::uint32_t retry = 0;
  std::uint32_t expire = 0;
  std::uint32_t minimum = 0;  // RFC 2308 §4: the negative caching TTL
};

// One resource record. Which field holds the data depends on type: address
// (A, AAAA), target (CNAME), soa (SOA), rdata (any other type; encode only,
// decode skips other types).
struct Record {
  std::string name;
  RecordType type = RecordType::a;
  std::uint16_t klass = class_in;
  std::uint32_t ttl = 0;
  IpAddress address;
  std::string target;
  Soa soa;
  std::vector<std::uint8_t> rdata;

  static Record a(std::string name, const IpAddress& address, std::uint32_t ttl);  // A or AAAA by family
  static Record cname(std::string name, std::string target, std::uint32_t ttl);
  static Record make_soa(std::string zone, std::uint32_t ttl, std::uint32_t minimum);
};

// RFC 6891 §6.1.2: the OPT pseudo-record, kept apart from the sections.
struct Edns {
  std::uint16_t udp_size = edns_udp_size;
  std::uint8_t version = 0;
  bool dnssec_ok = false;
};

struct Message {
  Header header;
  std::vector<Question> questions;
  std::vector<Record> answers;
  std::vector<Record> authority;
  std::vector<Record> additional;  // without the OPT record
  std::optional<Edns> edns;
  std::size_t skipped_records = 0;  // records of other types dropped by decode
};

// Why decode failed: the field and the byte offset where it went wrong.
struct DecodeError {
  std::string field;   // "header", "question[0].name", "answer[2].rdlength", ...
  std::size_t offset = 0;
  std::string reason;  // "pointer loop", "label longer than 63 bytes", ...

  std::string to_string() const;  // "answer[2].rdlength at offset 57: ..."
};

// A decode result: the message, or the error.
struct Decoded {
  std::optional<Message> message;
  DecodeError error;
  explicit operator bool() const noexcept { return message.has_value(); }
};

// Decodes a whole message. Input is hostile: every read is bounds-checked,
// compression pointers must point backwards (so no loop is possible) and a
// decoded name is at most 255 bytes on the wire. Never throws for bad input.
Decoded decode(std::span<const std::uint8_t> bytes);

// Encodes a message (names compressed, RFC 1035 §4.1.4). Throws
// std::invalid_argument for a name that cannot be encoded (label > 63 bytes,
// name > 255 bytes), a count above 65535, or a rdata larger than 65535.
std::vector<std::uint8_t> encode(const Message& message);

// A standard query (RD=1, RFC 1035 §4.1.1) for one name and type, with an
// OPT record advertising edns_udp_size when edns is true.
Message make_query(std::uint16_t id, std::string_view name, RecordType type, bool edns = true);

// A response skeleton for query: same ID, question and RD, QR=1, RA=1, the
// given rcode; OPT echoed when the query had one.
Message make_response(const Message& query, Rcode rcode = Rcode::noerror);

// Case-insensitive (ASCII only, RFC 4343) comparison of presentation names,
// ignoring one trailing dot.
bool names_equal(std::string_view a, std::string_view b) noexcept;

// What validate_response thinks of a datagram received for a query.
enum class ResponseVerdict {
  accepted,         // the response to this query (possibly truncated: header.tc)
  not_for_us,       // undecodable header, QR=0, another ID or another question: ignore it (anti-spoofing)
  malformed,        // ID and question match but the rest is malformed
};

struct ResponseCheck {
  ResponseVerdict verdict = ResponseVerdict::not_for_us;
  std::optional<Message> message;  // set when accepted; a truncated response keeps only header and question
  std::string reason;              // why not accepted
};

// Checks bytes as the response to query: QR=1, same ID, exactly one question
// equal to the query's (name case-insensitively, type, class), then decodes
// the rest. A TC=1 response is accepted from its header and question alone
// (RFC 7766 §5: retry over TCP). Never throws for bad input.
ResponseCheck validate_response(const Message& query, std::span<const std::uint8_t> bytes);

}  // namespace heyes::dns
