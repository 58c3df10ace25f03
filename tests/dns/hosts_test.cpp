// SPDX-License-Identifier: MIT
// The hosts file (every matching line, case-insensitive, aliases, comments, bad lines; held or scanned) and RFC 6761 localhost.
#include <doctest/doctest.h>

#include <unistd.h>

#include <cstdio>
#include <filesystem>
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
  CHECK(text(t.lookup("WEB.Example", Family::v6)) == Strings{"2001:db8::10"});
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

namespace {

// A file in a fresh temporary directory, removed with it.
struct TempFile {
  std::string dir = "/tmp/heyes-hosts-big-" + std::to_string(::getpid());
  std::string path = dir + "/hosts";
  TempFile() { std::filesystem::create_directories(dir); }
  ~TempFile() { std::filesystem::remove_all(dir); }
  void write(const std::string& text) const { std::ofstream(path, std::ios::binary) << text; }
};

// About 3 MB: ad-block lines, and among them the cases of a real file (a
// name on several lines of both families, aliases, case, trailing dots,
// duplicates, comments, CRLF, bad addresses and names, a NUL, every byte
// value, one name with more addresses than the bound).
std::string large_hosts_text() {
  std::string all;
  for (int i = 1; i < 256; ++i) all += static_cast<char>(i);
  std::string t = "# generated\n127.0.0.1 localhost\n::1 localhost ip6-localhost\n";
  t += "2001:db8::1 multi.test\n192.0.2.1 multi.test first-alias.test\n";
  for (int i = 0; i < 60'000; ++i) {
    t += "0.0.0.0 ad-" + std::to_string(i) + ".tracker.example";
    t += i % 7 == 0 ? "   # a comment\r\n" : "\n";
    if (i == 30'000) {
      t += "192.0.2.2 MULTI.test. mid-alias.test\n2001:db8::2\tmulti.test\n192.0.2.1 multi.test\n";
      t += "1.2.3 bad-address.test\n192.0.2.3\n192.0.2.4 bad_name!.test good.test\n";
      t += std::string("192.0.2.5 before-nul.test\0after-nul.test\n", 42);
      t += "192.0.2.6 " + all + "\n" + all + "\n";
      for (unsigned k = 0; k < 100; ++k) t += IpAddress::v4(0x0A000000u + k).to_string() + " bounded.test\n";
    }
  }
  t += "2001:db8::3 multi.test last.test\n192.0.2.9 last.test\n";
  return t;
}

}  // namespace

TEST_CASE("a hosts file over kMaxMappedBytes is scanned per lookup, with the map's answers and diagnostics") {
  TempFile f;
  const std::string body = large_hosts_text();
  REQUIRE(body.size() > HostsTable::kMaxMappedBytes);
  f.write(body);
  const auto mapped = parse_hosts(body, f.path);
  auto loaded = heyes::dns::load_hosts(f.path);
  const HostsTable scanned = HostsTable::from_file(f.path);
  // Every diagnostic of the whole parse but the address bound's note.
  std::vector<std::string> expected, got;
  for (const auto& w : mapped.warnings)
    if (w.message.find("too many addresses") == std::string::npos) expected.push_back(w.to_string());
  for (const auto& w : loaded.warnings) got.push_back(w.to_string());
  CHECK(got == expected);
  CHECK(expected.size() >= 4);
  CHECK_FALSE(scanned.empty());
  for (const char* name : {"multi.test", "MULTI.TEST.", "first-alias.test", "mid-alias.test", "last.test",
                           "localhost", "ip6-localhost", "ad-0.tracker.example", "ad-59999.tracker.example",
                           "good.test", "bad_name!.test", "bad-address.test", "before-nul.test", "after-nul.test",
                           "bounded.test", "absent.test", "tracker.example", ""}) {
    CAPTURE(name);
    for (const HostsTable* table : {static_cast<const HostsTable*>(&loaded.value), &scanned}) {
      CHECK(text(table->find(name)) == text(mapped.value.find(name)));
      for (auto family : {Family::v4, Family::v6})
        CHECK(text(table->lookup(name, family)) == text(mapped.value.lookup(name, family)));
    }
  }
  // First match order, both families, duplicates dropped; "MULTI.test." is another name.
  CHECK(text(scanned.find("multi.test")) == Strings{"2001:db8::1", "192.0.2.1", "2001:db8::2", "2001:db8::3"});
  CHECK(text(scanned.find("multi.test.")) == Strings{"192.0.2.2"});
  CHECK(scanned.lookup("bounded.test", Family::v4).size() == HostsTable::kMaxAddresses);
  CHECK(text(scanned.find("before-nul.test")) == Strings{"192.0.2.5"});
  // A second lookup of a name comes from the recent results, not the file.
  f.write("192.0.2.77 other.test\n");
  CHECK(text(scanned.lookup("last.test", Family::v4)) == Strings{"192.0.2.9"});
}

// glibc's files backend compares the name asked with each name of a line
// as they are (strcasecmp): a trailing dot on one side only is another
// name, which getaddrinfo then asks DNS for (tests/lab/gai_diff.py).
TEST_CASE("hosts: a trailing dot is part of the name, on the line and in the question") {
  auto t = parse_hosts("192.0.2.1 plain.example\n192.0.2.2 dotted.example.\n2001:db8::1 Plain.Example\n", "hosts",
                       ParseMode::strict)
               .value;
  CHECK(text(t.find("plain.example")) == Strings{"192.0.2.1", "2001:db8::1"});
  CHECK(t.find("plain.example.").empty());
  CHECK(t.find("dotted.example").empty());
  CHECK(text(t.find("DOTTED.example.")) == Strings{"192.0.2.2"});
  CHECK(t.add("plain.example.", *IpAddress::parse("192.0.2.9")));
  CHECK(text(t.find("plain.example.")) == Strings{"192.0.2.9"});
  CHECK(text(t.lookup("plain.example", Family::v4)) == Strings{"192.0.2.1"});
  // A file scanned per lookup (over kMaxMappedBytes) compares the same way.
  TempFile f;
  std::string big = "192.0.2.1 plain.example\n192.0.2.2 dotted.example.\n";
  while (big.size() <= HostsTable::kMaxMappedBytes) big += "0.0.0.0 filler.example\n";
  f.write(big);
  const auto scanned = HostsTable::from_file(f.path);
  CHECK(text(scanned.find("plain.example")) == Strings{"192.0.2.1"});
  CHECK(scanned.find("plain.example.").empty());
  CHECK(scanned.find("dotted.example").empty());
  CHECK(text(scanned.find("dotted.example.")) == Strings{"192.0.2.2"});
}

TEST_CASE("HostsTable::from_file reads nothing until a lookup needs it") {
  TempFile f;
  const HostsTable t = HostsTable::from_file(f.path);  // no file yet
  HostsTable copy = t;
  f.write("192.0.2.8 late.test\n");
  CHECK(text(copy.lookup("late.test", Family::v4)) == Strings{"192.0.2.8"});
  CHECK(text(t.find("late.test")) == Strings{"192.0.2.8"});  // copies share the file's state
  CHECK(copy.add("late.test", *IpAddress::parse("192.0.2.9")));
  CHECK_FALSE(copy.add("late.test", *IpAddress::parse("192.0.2.8")));  // the file has it
  CHECK(text(copy.find("late.test")) == Strings{"192.0.2.8", "192.0.2.9"});
  CHECK(text(t.find("late.test")) == Strings{"192.0.2.8"});
  CHECK(HostsTable::from_file(f.dir + "/absent").empty());
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
