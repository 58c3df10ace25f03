// SPDX-License-Identifier: MIT
// The DNS wire codec: round trips, compression, and every malformed input we could think of.
#include <doctest/doctest.h>

#include <algorithm>
#include <random>

#include "dns/message.hpp"

using namespace heyes;
using namespace heyes::dns;
using Bytes = std::vector<std::uint8_t>;

namespace {

IpAddress ip(const char* s) { return *IpAddress::parse(s); }

// A header with the given counts, then the body bytes.
Bytes raw(std::uint16_t qd, std::uint16_t an, std::uint16_t ns, std::uint16_t ar, const Bytes& body,
          std::uint16_t flags = 0x8180) {
  Bytes b{0x12, 0x34, std::uint8_t(flags >> 8), std::uint8_t(flags), 0, std::uint8_t(qd), 0, std::uint8_t(an),
          0, std::uint8_t(ns), 0, std::uint8_t(ar)};
  b.insert(b.end(), body.begin(), body.end());
  return b;
}

// "example.com" type A class IN, as question bytes (starts at offset 12).
const Bytes question_bytes = {7, 'e', 'x', 'a', 'm', 'p', 'l', 'e', 3, 'c', 'o', 'm', 0, 0, 1, 0, 1};

Bytes with(Bytes a, const Bytes& b) {
  a.insert(a.end(), b.begin(), b.end());
  return a;
}

std::string decode_error(const Bytes& b) {
  auto d = decode(b);
  REQUIRE_FALSE(d);
  return d.error.to_string();
}

}  // namespace

TEST_CASE("a query round-trips with RD=1 and an OPT record advertising 1232 bytes") {
  Message q = make_query(0xBEEF, "www.Example.com.", RecordType::aaaa);
  Bytes b = encode(q);
  auto d = decode(b);
  REQUIRE(d);
  CHECK(d.message->header.id == 0xBEEF);
  CHECK(d.message->header.rd);
  CHECK_FALSE(d.message->header.qr);
  REQUIRE(d.message->questions.size() == 1);
  CHECK(d.message->questions[0].name == "www.Example.com");
  CHECK(d.message->questions[0].type == RecordType::aaaa);
  REQUIRE(d.message->edns);
  CHECK(d.message->edns->udp_size == 1232);
  CHECK(d.message->additional.empty());

  Message plain = make_query(1, "a.b", RecordType::a, false);
  auto d2 = decode(encode(plain));
  REQUIRE(d2);
  CHECK_FALSE(d2.message->edns);
}

TEST_CASE("a response with A, AAAA, CNAME and SOA round-trips, names compressed") {
  Message q = make_query(7, "www.example.com", RecordType::aaaa);
  Message r = make_response(q);
  r.answers.push_back(Record::cname("www.example.com", "web.example.com", 300));
  r.answers.push_back(Record::a("web.example.com", ip("2001:db8::1"), 60));
  r.answers.push_back(Record::a("web.example.com", ip("192.0.2.1"), 30));
  r.authority.push_back(Record::make_soa("example.com", 900, 120));
  Bytes b = encode(r);
  // Every name after the question is (partly) a pointer: far fewer bytes than uncompressed.
  CHECK(b.size() < 200);
  CHECK(std::count(b.begin(), b.end(), std::uint8_t{0xC0}) >= 5);

  auto d = decode(b);
  REQUIRE(d);
  const Message& m = *d.message;
  CHECK(m.header.qr);
  CHECK(m.header.rcode == Rcode::noerror);
  REQUIRE(m.answers.size() == 3);
  CHECK(m.answers[0].type == RecordType::cname);
  CHECK(m.answers[0].target == "web.example.com");
  CHECK(m.answers[1].address == ip("2001:db8::1"));
  CHECK(m.answers[1].ttl == 60);
  CHECK(m.answers[2].address == ip("192.0.2.1"));
  REQUIRE(m.authority.size() == 1);
  CHECK(m.authority[0].soa.minimum == 120);
  CHECK(m.authority[0].soa.mname == "ns.example.com");
  CHECK(m.authority[0].ttl == 900);
  CHECK(encode(m) == b);
}

TEST_CASE("other record types are skipped, extended RCODE and TTL top bit handled") {
  Message q = make_query(9, "example.com", RecordType::a);
  Message r = make_response(q, static_cast<Rcode>(16));  // BADVERS needs the extended bits
  Record mx;
  mx.name = "example.com";
  mx.type = RecordType::mx;
  mx.rdata = {0, 10, 0};
  r.answers.push_back(mx);
  r.answers.push_back(Record::a("example.com", ip("192.0.2.7"), 0x80000001u));
  auto d = decode(encode(r));
  REQUIRE(d);
  CHECK(d.message->skipped_records == 1);
  REQUIRE(d.message->answers.size() == 1);
  CHECK(d.message->answers[0].ttl == 0);  // RFC 2181 §8
  CHECK(d.message->header.rcode == Rcode::badvers);
}

TEST_CASE("odd label bytes survive as presentation escapes") {
  Bytes body = {3, 'a', '.', 0xFF, 0, 0, 1, 0, 1};
  auto d = decode(raw(1, 0, 0, 0, body));
  REQUIRE(d);
  CHECK(d.message->questions[0].name == "a\\.\\255");
  Message q = make_query(1, d.message->questions[0].name, RecordType::a, false);
  Bytes again = encode(q);
  CHECK(Bytes(again.begin() + 12, again.end()) == body);
}

TEST_CASE("malformed messages are rejected naming the field and offset") {
  SUBCASE("truncated header") {
    CHECK(decode_error({0x12, 0x34, 0x81}) == "header at offset 0: message of 3 bytes is shorter than the 12-byte header");
    CHECK_FALSE(decode({}));
  }
  SUBCASE("counts larger than the message") {
    CHECK(decode_error(raw(1, 200, 0, 0, question_bytes)).find("counts") != std::string::npos);
    CHECK_FALSE(decode(raw(0xFF, 0xFF, 0xFF, 0xFF, {})));
  }
  SUBCASE("pointer to itself (a loop)") {
    Bytes body = {0xC0, 12, 0, 1, 0, 1};
    CHECK(decode_error(raw(1, 0, 0, 0, body)).find("does not point backwards") != std::string::npos);
  }
  SUBCASE("two pointers forming a loop") {
    // question name at 12: label "a" then pointer to 17; at 17 a pointer back to 12.
    Bytes body = {1, 'a', 0xC0, 17, 0, 0xC0, 12, 0, 1, 0, 1};
    CHECK_FALSE(decode(raw(1, 0, 0, 0, body)));
  }
  SUBCASE("forward pointer and out of range pointer") {
    Bytes fwd = {0xC0, 20, 0, 1, 0, 1, 0, 0, 0};
    CHECK(decode_error(raw(1, 0, 0, 0, fwd)).find("question[0].name at offset 12") == 0);
    Bytes answer = with(question_bytes, {0xFF, 0xFF, 0, 1, 0, 1, 0, 0, 0, 1, 0, 4, 1, 2, 3, 4});
    CHECK(decode_error(raw(1, 1, 0, 0, answer)).find("answer[0].name at offset 29") == 0);
  }
  SUBCASE("pointer into the header") {
    Bytes body = {0xC0, 2, 0, 1, 0, 1};
    CHECK(decode_error(raw(1, 0, 0, 0, body)).find("points into the header") != std::string::npos);
  }
  SUBCASE("label longer than 63 (reserved label types)") {
    Bytes body = {64, 'a'};
    body.resize(80, 'a');
    CHECK(decode_error(raw(1, 0, 0, 0, body)).find("longer than 63") != std::string::npos);
    CHECK_FALSE(decode(raw(1, 0, 0, 0, {0x80, 0, 0, 1, 0, 1})));
  }
  SUBCASE("name longer than 255 bytes") {
    Bytes body;
    for (int i = 0; i < 5; ++i) {
      body.push_back(60);
      body.insert(body.end(), 60, 'x');
    }
    body.insert(body.end(), {0, 0, 1, 0, 1});
    CHECK(decode_error(raw(1, 0, 0, 0, body)).find("name longer than 255 bytes") != std::string::npos);
  }
  SUBCASE("name running past the end") {
    CHECK_FALSE(decode(raw(1, 0, 0, 0, {5, 'a', 'b', 0, 0, 0})));
  }
  SUBCASE("rdlength larger than what is left") {
    Bytes answer = with(question_bytes, {0xC0, 12, 0, 1, 0, 1, 0, 0, 0, 1, 0, 40, 1, 2, 3, 4});
    CHECK(decode_error(raw(1, 1, 0, 0, answer)).find("answer[0].rdlength") == 0);
  }
  SUBCASE("A with rdlength 5") {
    Bytes answer = with(question_bytes, {0xC0, 12, 0, 1, 0, 1, 0, 0, 0, 1, 0, 5, 1, 2, 3, 4, 5});
    CHECK(decode_error(raw(1, 1, 0, 0, answer)).find("A record rdlength 5 is not 4") != std::string::npos);
  }
  SUBCASE("CNAME whose target overruns its rdlength") {
    Bytes answer = with(question_bytes, {0xC0, 12, 0, 5, 0, 1, 0, 0, 0, 1, 0, 2, 1, 'a', 0});
    CHECK_FALSE(decode(raw(1, 1, 0, 0, answer)));
  }
  SUBCASE("record cut in the middle of its fixed fields") {
    Bytes answer = with(question_bytes, {0xC0, 12, 0, 1, 0, 1, 0, 0});
    answer.resize(answer.size() + 3, 0);  // enough bytes for the count check, not for the record
    CHECK_FALSE(decode(raw(1, 1, 0, 0, answer)));
  }
  SUBCASE("two OPT records, and OPT outside the additional section") {
    Bytes opt = {0, 0, 41, 4, 0xD0, 0, 0, 0, 0, 0, 0};
    CHECK(decode_error(raw(1, 0, 0, 2, with(with(question_bytes, opt), opt))).find("more than one OPT") !=
          std::string::npos);
    CHECK(decode_error(raw(1, 1, 0, 0, with(question_bytes, opt))).find("outside the additional") !=
          std::string::npos);
  }
}

TEST_CASE("validate_response accepts only our answer") {
  Message q = make_query(0x4242, "www.example.com", RecordType::a);
  Message r = make_response(q);
  r.answers.push_back(Record::a("www.example.com", ip("192.0.2.1"), 60));

  CHECK(validate_response(q, encode(r)).verdict == ResponseVerdict::accepted);
  SUBCASE("name compared case-insensitively") {
    r.questions[0].name = "WWW.EXAMPLE.COM";
    CHECK(validate_response(q, encode(r)).verdict == ResponseVerdict::accepted);
  }
  SUBCASE("wrong ID, QR=0, other question, other type are ignored") {
    Message bad = r;
    bad.header.id ^= 1;
    CHECK(validate_response(q, encode(bad)).verdict == ResponseVerdict::not_for_us);
    bad = r;
    bad.header.qr = false;
    CHECK(validate_response(q, encode(bad)).verdict == ResponseVerdict::not_for_us);
    bad = r;
    bad.questions[0].name = "evil.example.com";
    CHECK(validate_response(q, encode(bad)).verdict == ResponseVerdict::not_for_us);
    bad = r;
    bad.questions[0].type = RecordType::aaaa;
    CHECK(validate_response(q, encode(bad)).verdict == ResponseVerdict::not_for_us);
    bad = r;
    bad.questions.clear();
    CHECK(validate_response(q, encode(bad)).verdict == ResponseVerdict::not_for_us);
    CHECK(validate_response(q, Bytes{0x42, 0x42}).verdict == ResponseVerdict::not_for_us);
  }
  SUBCASE("truncated responses are accepted from header and question") {
    Bytes b = encode(r);
    b[2] |= 0x02;                // TC=1
    b.resize(b.size() - 6);      // and the answer really is cut
    auto c = validate_response(q, b);
    REQUIRE(c.verdict == ResponseVerdict::accepted);
    CHECK(c.message->header.tc);
    CHECK(c.message->answers.empty());
  }
  SUBCASE("a matching header with a broken body is malformed, not ignored") {
    Bytes b = encode(r);
    b.resize(b.size() - 2);
    auto c = validate_response(q, b);
    CHECK(c.verdict == ResponseVerdict::malformed);
    CHECK(c.reason.find("additional[0]") == 0);  // the OPT record is cut
  }
}

TEST_CASE("encode refuses names it cannot represent") {
  CHECK_THROWS_AS(encode(make_query(1, std::string(64, 'a') + ".com", RecordType::a)), std::invalid_argument);
  std::string long_name;
  for (int i = 0; i < 5; ++i) long_name += std::string(60, 'b') + ".";
  CHECK_THROWS_AS(encode(make_query(1, long_name, RecordType::a)), std::invalid_argument);
  CHECK_THROWS_AS(encode(make_query(1, "a..b", RecordType::a)), std::invalid_argument);
}

TEST_CASE("random mutations of a valid response never crash the decoder") {
  Message q = make_query(0x1111, "www.example.com", RecordType::aaaa);
  Message r = make_response(q);
  r.answers.push_back(Record::cname("www.example.com", "a.example.com", 5));
  r.answers.push_back(Record::a("a.example.com", ip("2001:db8::5"), 5));
  r.authority.push_back(Record::make_soa("example.com", 5, 5));
  const Bytes good = encode(r);
  std::mt19937 rng(12345);  // fixed seed: reproducible
  int accepted = 0;
  for (int i = 0; i < 20000; ++i) {
    Bytes b = good;
    const int flips = 1 + static_cast<int>(rng() % 4);
    for (int f = 0; f < flips; ++f) b[rng() % b.size()] = static_cast<std::uint8_t>(rng());
    if (rng() % 4 == 0) b.resize(rng() % b.size());
    auto c = validate_response(q, b);
    if (c.verdict == ResponseVerdict::accepted) ++accepted;
    (void)decode(b);
  }
  CHECK(accepted > 0);
}
