// SPDX-License-Identifier: MIT
// gai.conf parser: syntax, glibc replacement semantics, every error in strict and lenient mode.
#include <doctest/doctest.h>
#include <unistd.h>

#include <cstdio>
#include <fstream>
#include <string>

#include "heyes/select/policy.hpp"

using heyes::IpAddress;
using heyes::ParseError;
using heyes::ParseMode;
using heyes::PolicyTable;
using heyes::parse_policy;

namespace {

IpAddress ip(const char* text) { return *IpAddress::parse(text); }

// The what() of the strict parse of text, or "" when it parses.
std::string strict_error(std::string_view text) {
  try {
    parse_policy(text, "policy.conf", ParseMode::strict);
  } catch (const ParseError& e) {
    return e.what();
  }
  return {};
}

// A file in /tmp removed at the end of the test.
struct TempFile {
  std::string path;
  explicit TempFile(std::string_view text) {
    char name[] = "/tmp/heyes-gai-XXXXXX";
    int fd = ::mkstemp(name);
    REQUIRE(fd >= 0);
    ::close(fd);
    path = name;
    std::ofstream(path, std::ios::binary) << text;
  }
  ~TempFile() { std::remove(path.c_str()); }
};

}  // namespace

TEST_CASE("an empty or comment-only file keeps the RFC 6724 tables") {
  const PolicyTable rfc;
  for (const char* text : {"", "\n\n", "# nothing\n   # indented comment\n\t\n", "reload yes\nreload no\n"}) {
    auto p = parse_policy(text, "policy.conf");
    CHECK(p.warnings.empty());
    CHECK(p.value.labels() == rfc.labels());
    CHECK(p.value.precedences() == rfc.precedences());
    CHECK(p.value.scopes_v4() == rfc.scopes_v4());
  }
}

TEST_CASE("label lines replace the whole label table; precedence and scopev4 keep defaults") {
  auto p = parse_policy(
      "# prefer 6to4 like native\n"
      "label  ::1/128       0\n"
      "label\t2002::/16\t1   # trailing comment\r\n"
      "label ::ffff:0:0/96 4\n",
      "policy.conf");
  const auto& labels = p.value.labels();
  REQUIRE(labels.size() == 4);  // three rows and glibc's ::/0 label 1
  CHECK(labels[0].prefix.to_string() == "::1/128");
  CHECK(labels[1].prefix.to_string() == "::ffff:0.0.0.0/96");
  CHECK(labels[2].prefix.to_string() == "2002::/16");
  CHECK(labels[3].prefix.to_string() == "::/0");
  CHECK(p.value.label(ip("2002::1")) == 1);
  CHECK(p.value.label(ip("fd00::1")) == 1);  // fc00::/7 row is gone
  CHECK(p.value.precedences() == PolicyTable().precedences());
  CHECK(p.value.scopes_v4() == PolicyTable().scopes_v4());
}

TEST_CASE("precedence lines replace the precedence table (RFC 6724 section 10.4 example)") {
  auto p = parse_policy(
      "precedence ::1/128 50\nprecedence ::/0 40\nprecedence ::ffff:0:0/96 35\nprecedence fe80::/10 33\n"
      "precedence 2002::/16 30\nprecedence 2001::/32 5\nprecedence fc00::/7 3\nprecedence ::/96 1\n"
      "precedence fec0::/10 1\nprecedence 3ffe::/16 1\n",
      "policy.conf");
  CHECK(p.value.precedences().size() == 10);
  CHECK(p.value.precedence(ip("fe80::1")) == 33);
  CHECK(p.value.precedence(ip("2001:db8::1")) == 40);
  CHECK(p.value.labels() == PolicyTable().labels());
}

TEST_CASE("a table without its /0 row gets glibc's default; an explicit one is kept") {
  auto p = parse_policy("precedence 2001:db8::/32 99\n", "f");
  CHECK(p.value.precedence(ip("2001:db8::1")) == 99);
  CHECK(p.value.precedence(ip("::1")) == 40);  // ::1/128 50 was replaced
  CHECK(p.value.precedence(ip("192.0.2.1")) == 40);
  auto q = parse_policy("precedence ::/0 7\nprecedence 2001:db8::/32 99\n", "f");
  CHECK(q.value.precedence(ip("192.0.2.1")) == 7);
}

TEST_CASE("a prefix without /LEN is a /128; duplicates: the first line wins, as glibc") {
  auto p = parse_policy("label 2001:db8::1 6\nlabel 2001:db8::/32 7\nlabel 2001:db8::ffff/32 8\n", "f");
  CHECK(p.value.label(ip("2001:db8::1")) == 6);
  CHECK(p.value.label(ip("2001:db8::2")) == 7);
  CHECK(p.value.labels().size() == 3);
}

TEST_CASE("scopev4: IPv4-mapped masks (as glibc documents) and plain IPv4 masks") {
  auto p = parse_policy(
      "scopev4 ::ffff:169.254.0.0/112 2\n"
      "scopev4 10.0.0.0/8 5\n"
      "scopev4 ::ffff:192.0.2.7 8\n"  // no length: /128
      "scopev4 198.51.100.1 4\n",     // no length: /32
      "policy.conf");
  CHECK(p.warnings.empty());
  CHECK(p.value.scope(ip("169.254.13.78")) == 2);
  CHECK(p.value.scope(ip("10.200.0.1")) == 5);
  CHECK(p.value.scope(ip("192.0.2.7")) == 8);
  CHECK(p.value.scope(ip("192.0.2.8")) == 14);
  CHECK(p.value.scope(ip("198.51.100.1")) == 4);
  CHECK(p.value.scope(ip("127.0.0.1")) == 14);  // default 127/8 row replaced
  CHECK(p.value.scopes_v4().size() == 5);
  CHECK(p.value.labels() == PolicyTable().labels());
}

// Every error the parser reports: input line, strict message (file:line: reason).
TEST_CASE("every error: strict mode names file:line and the reason") {
  struct Case {
    const char* text;
    const char* message;
  };
  const Case cases[] = {
      {"lable ::1/128 0", "policy.conf:1: unknown keyword 'lable'"},
      {"LABEL ::1/128 0", "policy.conf:1: unknown keyword 'LABEL'"},
      {"\n# c\n\nlabel", "policy.conf:4: missing prefix after 'label'"},
      {"precedence", "policy.conf:1: missing prefix after 'precedence'"},
      {"scopev4", "policy.conf:1: missing mask after 'scopev4'"},
      {"label ::1/128", "policy.conf:1: missing value after '::1/128'"},
      {"precedence ::1/128   # 50", "policy.conf:1: missing value after '::1/128'"},
      {"scopev4 10.0.0.0/8", "policy.conf:1: missing value after '10.0.0.0/8'"},
      {"reload", "policy.conf:1: missing value after 'reload' (yes or no)"},
      {"label ::1/128 0 extra", "policy.conf:1: trailing junk 'extra'"},
      {"scopev4 10.0.0.0/8 5 6", "policy.conf:1: trailing junk '6'"},
      {"reload yes please", "policy.conf:1: trailing junk 'please'"},
      {"reload maybe", "policy.conf:1: reload value 'maybe' is not yes or no"},
      {"label 192.0.2.0/24 3", "policy.conf:1: bad prefix '192.0.2.0/24': not an IPv6 address"},
      {"label zz::/16 3", "policy.conf:1: bad prefix 'zz::/16': not an IPv6 address"},
      {"label fe80::1%lo/64 3", "policy.conf:1: bad prefix 'fe80::1%lo/64': not an IPv6 address"},
      {"label [::1]/128 3", "policy.conf:1: bad prefix '[::1]/128': not an IPv6 address"},
      {"label 1:2:3:4:5:6:7:8:9/64 3", "policy.conf:1: bad prefix '1:2:3:4:5:6:7:8:9/64': not an IPv6 address"},
      {"label ::/ 3", "policy.conf:1: missing prefix length after '/' in '::/'"},
      {"label ::/129 3", "policy.conf:1: prefix length '129' out of range 0-128"},
      {"label ::/99999999999999999999999 3",
       "policy.conf:1: prefix length '99999999999999999999999' out of range 0-128"},
      {"label ::/-1 3", "policy.conf:1: prefix length '-1' is not a number"},
      {"label ::/1x 3", "policy.conf:1: prefix length '1x' is not a number"},
      {"label ::/64/64 3", "policy.conf:1: prefix length '64/64' is not a number"},
      {"label ::/0 ten", "policy.conf:1: value 'ten' is not a number"},
      {"label ::/0 -1", "policy.conf:1: value '-1' is not a number"},
      {"label ::/0 +1", "policy.conf:1: value '+1' is not a number"},
      {"label ::/0 0x10", "policy.conf:1: value '0x10' is not a number"},
      {"precedence ::/0 2147483648", "policy.conf:1: value '2147483648' out of range 0-2147483647"},
      {"scopev4 10.0.0.0/8 18446744073709551616",
       "policy.conf:1: value '18446744073709551616' out of range 0-2147483647"},
      {"scopev4 2001:db8::/32 2", "policy.conf:1: bad scopev4 mask '2001:db8::/32': not IPv4-mapped (::ffff:a.b.c.d)"},
      {"scopev4 foo 2", "policy.conf:1: bad scopev4 mask 'foo': not an IPv6 or IPv4 address"},
      {"scopev4 10.0.0/8 2", "policy.conf:1: bad scopev4 mask '10.0.0/8': not an IPv6 or IPv4 address"},
      {"scopev4 ::ffff:10.0.0.0/95 2", "policy.conf:1: prefix length '95' out of range 96-128"},
      {"scopev4 ::ffff:10.0.0.0/129 2", "policy.conf:1: prefix length '129' out of range 96-128"},
      {"scopev4 10.0.0.0/33 2", "policy.conf:1: prefix length '33' out of range 0-32"},
  };
  for (const auto& c : cases) {
    CAPTURE(c.text);
    CHECK(strict_error(c.text) == c.message);
  }
}

TEST_CASE("hostile bytes are quoted, long fields cut, NULs survive") {
  CHECK(strict_error("lab\x01" "el ::1 0") == "policy.conf:1: unknown keyword 'lab\\x01el'");
  CHECK(strict_error(std::string_view("label ::1\0 0", 12)) ==
        "policy.conf:1: bad prefix '::1\\x00': not an IPv6 address");
  CHECK(strict_error("label ::1 \xff") == "policy.conf:1: value '\\xff' is not a number");
  std::string long_keyword(5000, 'k');
  CHECK(strict_error(long_keyword) == "policy.conf:1: unknown keyword '" + std::string(40, 'k') + "...'");
  // Many lines, many rows: parses, and the first of the duplicates wins.
  std::string big;
  for (int i = 0; i < 20000; ++i) big += "label 2001:db8::/32 " + std::to_string(i) + "\n";
  auto p = parse_policy(big, "big.conf");
  CHECK(p.value.labels().size() == 2);
  CHECK(p.value.label(ip("2001:db8::1")) == 0);
}

TEST_CASE("the first bad line stops strict parsing; lenient skips each bad line with a warning") {
  const char* text =
      "label ::1/128 0\n"
      "lable ::/0 1\n"         // 2: unknown keyword
      "label 2002::/16 x\n"    // 3: bad value
      "precedence ::/0 50\n"
      "scopev4 10.0.0.0/33 2\n"  // 5: bad length: scopev4 table untouched
      "label 2001:db8::/32 9 junk\n";  // 6: trailing junk
  CHECK(strict_error(text) == "policy.conf:2: unknown keyword 'lable'");
  auto p = parse_policy(text, "policy.conf", ParseMode::lenient);
  REQUIRE(p.warnings.size() == 4);
  CHECK(p.warnings[0].to_string() == "policy.conf:2: unknown keyword 'lable'");
  CHECK(p.warnings[1].to_string() == "policy.conf:3: value 'x' is not a number");
  CHECK(p.warnings[2].line == 5);
  CHECK(p.warnings[2].message == "prefix length '33' out of range 0-32");
  CHECK(p.warnings[3].to_string() == "policy.conf:6: trailing junk 'junk'");
  // The good lines applied: labels replaced by ::1/128 (and ::/0 1), precedence by ::/0 50.
  CHECK(p.value.labels().size() == 2);
  CHECK(p.value.label(ip("2002::1")) == 1);
  CHECK(p.value.precedence(ip("::1")) == 50);
  CHECK(p.value.precedences().size() == 1);
  // A skipped scopev4 line does not count: the default scope table stays.
  CHECK(p.value.scopes_v4() == PolicyTable().scopes_v4());
}

TEST_CASE("ParseError carries the Diagnostic") {
  try {
    parse_policy("\nprecedence ::/0\n", "gai.conf");
    FAIL("no exception");
  } catch (const ParseError& e) {
    CHECK(e.diagnostic().file == "gai.conf");
    CHECK(e.diagnostic().line == 2);
    CHECK(e.diagnostic().message == "missing value after '::/0'");
  }
}

TEST_CASE("load_policy reads a file; an unreadable one is an error or a warning") {
  TempFile f("label ::1/128 0\nprecedence 2001:db8::/32 60\n");
  auto p = heyes::load_policy(f.path);
  CHECK(p.value.precedence(ip("2001:db8::1")) == 60);
  CHECK(p.value.label(ip("::1")) == 0);

  TempFile bad("label ::1/128 0\nfoo\n");
  CHECK_THROWS_WITH_AS(heyes::load_policy(bad.path), (bad.path + ":2: unknown keyword 'foo'").c_str(), ParseError);

  const std::string missing = "/nonexistent-heyes-dir/gai.conf";
  CHECK_THROWS_WITH_AS(heyes::load_policy(missing), (missing + ": cannot read file: No such file or directory").c_str(),
                       ParseError);
  CHECK_THROWS_WITH_AS(heyes::load_policy("/tmp"), "/tmp: cannot read file: not a regular file", ParseError);
  auto lenient = heyes::load_policy(missing, ParseMode::lenient);
  REQUIRE(lenient.warnings.size() == 1);
  CHECK(lenient.warnings[0].line == 0);
  CHECK(lenient.value.labels() == PolicyTable().labels());
}

TEST_CASE("load_policy refuses files over 1 MiB") {
  TempFile f(std::string((1 << 20) + 10, '#'));
  CHECK_THROWS_WITH_AS(heyes::load_policy(f.path), (f.path + ": cannot read file: file larger than 1 MiB").c_str(),
                       ParseError);
}

TEST_CASE("PolicyTable::system: /etc/gai.conf when present, else RFC 6724") {
  std::vector<heyes::Diagnostic> warnings;
  auto t = PolicyTable::system(&warnings);
  if (::access("/etc/gai.conf", F_OK) != 0) {
    CHECK(warnings.empty());
    CHECK(t.labels() == PolicyTable().labels());
    CHECK(t.precedences() == PolicyTable().precedences());
  } else {
    auto expected = heyes::load_policy("/etc/gai.conf", ParseMode::lenient);
    CHECK(t.labels() == expected.value.labels());
    CHECK(warnings.size() == expected.warnings.size());
  }
}
