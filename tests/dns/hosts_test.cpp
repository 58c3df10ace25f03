// SPDX-License-Identifier: MIT
// The hosts file (every matching line, case-insensitive, aliases, comments, bad lines) and RFC 6761 localhost.
#include <doctest/doctest.h>

#include <unistd.h>

#include <cstdio>
#include <fstream>
#include <string>

#include "heyes/dns/hosts.hpp"

using heyes::Family;
using heyes::IpAddress;
using heyes::ParseError;
using heyes::ParseMode;
using heyes::dns::HostsTable;
using heyes::dns::is_localhost_name;
using heyes::dns::parse_hosts;

namespace {

std::vector<std::string> text(const std::vector<IpAddress>& v) {
  std::vector<std::string> out;
  for (const auto& a : v) out.push_back(a.to_string());
  return out;
}

using Strings = std::vector<std::string>;

}  // namespace

TEST_CASE("hosts: names, aliases, both families, comments") {
  auto r = parse_hosts(
      "# The following lines are desirable for IPv6 capable hosts\n"
      "127.0.0.1\tlocalhost\n"
      "::1     localhost ip6-localhost ip6-loopback\n"
      "192.0.2.10  web.example  www   # the web server\n"
      "2001:db8::10 web.example\n"
      "\n"
      "   \t  \n",
      "hosts", ParseMode::strict);
  CHECK(r.warnings.empty());
  const auto& t = r.value;
  CHECK(text(t.lookup("localhost", Family::v4)) == Strings{"127.0.0.1"});
  CHECK(text(t.lookup("localhost", Family::v6)) == Strings{"::1"});
  CHECK(text(t.lookup("ip6-loopback", Family::v6)) == Strings{"::1"});
  CHECK(t.lookup("ip6-loopback", Family::v4).empty());
  CHECK(text(t.lookup("www", Family::v4)) == Strings{"192.0.2.10"});
  CHECK(text(t.lookup("WEB.Example.", Family::v6)) == Strings{"2001:db8::10"});
  CHECK(t.lookup("the", Family::v4).empty());  // comment words are not names
  CHECK(t.lookup("nowhere", Family::v4).empty());
  CHECK_FALSE(t.empty());
}

TEST_CASE("hosts: every line naming the name contributes, in file order, duplicates dropped") {
  auto t = parse_hosts(
               "192.0.2.1 multi\n"
               "192.0.2.2 other MULTI\n"
               "192.0.2.1 multi.\n"
               "192.0.2.3 multi\n",
               "hosts")
               .value;
  CHECK(text(t.lookup("multi", Family::v4)) == Strings{"192.0.2.1", "192.0.2.2", "192.0.2.3"});
}

TEST_CASE("hosts: bad lines are skipped with file:line warnings; strict throws") {
  auto r = parse_hosts(
      "192.0.2.300 bad-address\n"
      "192.0.2.4\n"
      "[2001:db8::1] bracketed\n"
      "192.0.2.5 good bad..alias also-good\n"
      "192.0.2.6 good2\n",
      "/etc/hosts");
  CHECK(text(r.value.lookup("good", Family::v4)) == Strings{"192.0.2.5"});
  CHECK(text(r.value.lookup("also-good", Family::v4)) == Strings{"192.0.2.5"});
  CHECK(text(r.value.lookup("good2", Family::v4)) == Strings{"192.0.2.6"});
  CHECK(r.value.lookup("bad-address", Family::v4).empty());
  CHECK(r.value.lookup("bracketed", Family::v6).empty());
  REQUIRE(r.warnings.size() == 4);
  CHECK(r.warnings[0].to_string() == "/etc/hosts:1: bad address '192.0.2.300': line skipped");
  CHECK(r.warnings[1].line == 2);
  CHECK(r.warnings[2].line == 3);
  CHECK(r.warnings[3].to_string() == "/etc/hosts:4: bad name 'bad..alias' skipped");
  try {
    parse_hosts("127.0.0.1 localhost\n\n1.2.3 x\n", "/etc/hosts", ParseMode::strict);
    FAIL("no ParseError");
  } catch (const ParseError& e) {
    CHECK(std::string(e.what()) == "/etc/hosts:3: bad address '1.2.3': line skipped");
    CHECK(e.diagnostic().line == 3);
  }
}

TEST_CASE("hosts: zones, CRLF, blanks as glibc's isspace") {
  auto t = parse_hosts("fe80::1%1 router\r\n192.0.2.7\vvtab\fff\n", "h").value;
  auto r = t.lookup("router", Family::v6);
  REQUIRE(r.size() == 1);
  CHECK(r[0].scope_id() == 1);
  CHECK(text(t.lookup("vtab", Family::v4)) == Strings{"192.0.2.7"});
  CHECK(text(t.lookup("ff", Family::v4)) == Strings{"192.0.2.7"});
}

TEST_CASE("HostsTable::add bounds the addresses per name and family") {
  HostsTable t;
  for (unsigned i = 0; i < 100; ++i) t.add("many", IpAddress::v4(0xC0000200u + i));
  CHECK(t.lookup("many", Family::v4).size() == HostsTable::kMaxAddresses);
  CHECK(t.add("many", *IpAddress::parse("2001:db8::1")));  // the other family has its own bound
  CHECK_FALSE(t.add("many", *IpAddress::parse("2001:db8::1")));
}

TEST_CASE("load_hosts: a file, and a missing file gives an empty table and a warning") {
  auto path = std::string("/tmp/heyes-hosts-test-") + std::to_string(::getpid());
  {
    std::ofstream f(path);
    f << "192.0.2.8 filehost\n";
  }
  auto r = heyes::dns::load_hosts(path);
  std::remove(path.c_str());
  CHECK(text(r.value.lookup("filehost", Family::v4)) == Strings{"192.0.2.8"});
  auto m = heyes::dns::load_hosts("/nonexistent/heyes/hosts");
  CHECK(m.value.empty());
  REQUIRE(m.warnings.size() == 1);
  CHECK(m.warnings[0].to_string().find("/nonexistent/heyes/hosts: cannot read") == 0);
}

TEST_CASE("is_localhost_name: RFC 6761 6.3") {
  for (const char* yes : {"localhost", "localhost.", "LOCALHOST", "a.localhost", "x.y.LocalHost."}) {
    CAPTURE(yes);
    CHECK(is_localhost_name(yes));
  }
  for (const char* no : {"", ".", "localhost..", "notlocalhost", "localhost.example", "xlocalhost.", ".localhost",
                         "a..localhost", "localhos"}) {
    CAPTURE(no);
    CHECK_FALSE(is_localhost_name(no));
  }
}
