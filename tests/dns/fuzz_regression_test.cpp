// SPDX-License-Identifier: MIT
// Bugs the fuzzers found in modules outside the configuration parsers, each pinned by a unit test.
#include <doctest/doctest.h>

#include "dns/answer.hpp"
#include "dns/message.hpp"

using namespace heyes::dns;

TEST_CASE("encode: names whose labels hold NUL bytes compress to themselves (found by fuzz-dns-response)") {
  // The compression table keyed suffixes as labels joined by '\0', so the two
  // labels "\000.\000" had the key of the one label "\000\000\000" and were
  // written as a pointer to it.
  Message m;
  m.header.id = 0x4242;
  m.header.qr = true;
  m.questions.push_back({"\\000\\000\\000", RecordType::a, class_in});
  m.questions.push_back({"\\000.\\000", RecordType::a, class_in});
  m.questions.push_back({"a\\000.b", RecordType::a, class_in});
  m.questions.push_back({"a.\\000b", RecordType::a, class_in});
  auto d = decode(encode(m));
  REQUIRE(d);
  REQUIRE(d.message->questions.size() == 4);
  CHECK(d.message->questions[0].name == "\\000\\000\\000");
  CHECK(d.message->questions[1].name == "\\000.\\000");
  CHECK(d.message->questions[2].name == "a\\000.b");
  CHECK(d.message->questions[3].name == "a.\\000b");
}

TEST_CASE("encode: a repeated name still compresses to a pointer") {
  Message m;
  m.questions.push_back({"www.example.com", RecordType::a, class_in});
  m.answers.push_back(Record::a("WWW.example.com", *heyes::IpAddress::parse("192.0.2.1"), 60));
  auto bytes = encode(m);
  // Header 12 + question 17 + 4, then the answer's owner is the 2-byte pointer 0xC00C.
  REQUIRE(bytes.size() > 35);
  CHECK(bytes[33] == 0xC0);
  CHECK(bytes[34] == 0x0C);
}

TEST_CASE("interpret: an AAAA record holding an IPv4-mapped address is not an IPv6 answer (found by fuzz-dns-response)") {
  // ::ffff:23.23.23.23 in an AAAA answer came out as an IPv4 address in the
  // v6 family's result; it is dropped, which leaves NODATA here.
  Message q = make_query(1, "www.example.com", RecordType::aaaa);
  Message r = make_response(q);
  Record mapped;
  mapped.name = "www.example.com";
  mapped.type = RecordType::aaaa;
  mapped.ttl = 60;
  mapped.address = heyes::IpAddress::v6({0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, 23, 23, 23, 23});
  r.answers.push_back(mapped);
  auto only_mapped = heyes::dns::detail::interpret(r, "www.example.com", RecordType::aaaa);
  CHECK(only_mapped.kind == heyes::dns::detail::Answer::Kind::nodata);
  CHECK(only_mapped.addresses.empty());

  r.answers.push_back(Record::a("www.example.com", *heyes::IpAddress::parse("2001:db8::1"), 60));
  auto both = heyes::dns::detail::interpret(r, "www.example.com", RecordType::aaaa);
  REQUIRE(both.kind == heyes::dns::detail::Answer::Kind::addresses);
  REQUIRE(both.addresses.size() == 1);
  CHECK(both.addresses[0].to_string() == "2001:db8::1");
}
