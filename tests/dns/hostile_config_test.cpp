// SPDX-License-Identifier: MIT
// Hostile input for the configuration parsers (resolv.conf, hosts, nsswitch.conf): huge lines, NULs, huge numbers, 10^5 lines, odd files. Wide time bounds.
#include <doctest/doctest.h>

#include <sys/stat.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <string>

#include "heyes/dns/config.hpp"
#include "heyes/dns/hosts.hpp"
#include "heyes/dns/nsswitch.hpp"

using heyes::Family;
using heyes::ParseMode;
using heyes::dns::parse_hosts;
using heyes::dns::parse_nsswitch_hosts;
using heyes::dns::parse_resolv_conf;

namespace {

// Each case must finish well inside this. The bound only catches quadratic
// or unbounded behaviour: the slowest case took ~6 s under ASan+UBSan on a
// machine at load 9, far less in an optimised build.
constexpr auto kBound = std::chrono::seconds(30);

template <class Fn>
void within_bound(Fn&& fn) {
  auto start = std::chrono::steady_clock::now();
  fn();
  CHECK(std::chrono::steady_clock::now() - start < kBound);
}

std::string repeat_lines(const std::string& line, int count) {
  std::string out;
  out.reserve(line.size() * static_cast<std::size_t>(count) + static_cast<std::size_t>(count));
  for (int i = 0; i < count; ++i) out += line + '\n';
  return out;
}

}  // namespace

TEST_CASE("resolv.conf: a 10 MB line, a huge search line, huge numbers") {
  within_bound([] {
    auto r = parse_resolv_conf("nameserver " + std::string(10'000'000, '1') + "\n", "f");
    CHECK(r.value.nameservers.size() == 2);  // the bad one skipped: defaults
    REQUIRE(r.warnings.size() == 1);
    CHECK(r.warnings[0].message.size() < 200);  // the quoted input is cut short
  });
  within_bound([] {
    std::string search = "search";
    for (int i = 0; i < 100'000; ++i) search += " d" + std::to_string(i) + ".example";
    auto r = parse_resolv_conf(search, "f");
    CHECK(r.value.search.size() == 100'000);
    CHECK(heyes::dns::candidate_names("www", r.value).size() == 100'001);
  });
  within_bound([] {
    auto r = parse_resolv_conf("options ndots:" + std::string(100'000, '9') + " timeout:-" + std::string(50, '9') +
                                   " attempts:99999999999999999999999\n",
                               "f");
    CHECK(r.value.ndots == 15);
    CHECK(r.value.timeout == std::chrono::seconds(1));
    CHECK(r.value.attempts == 5);
  });
}

TEST_CASE("resolv.conf: NULs, every byte value, control characters") {
  std::string all;
  for (int i = 0; i < 256; ++i) all += static_cast<char>(i);
  within_bound([&] {
    auto r = parse_resolv_conf(all + "\nnameserver " + all + "\nsearch " + all + "\noptions " + all + "\n", "f");
    CHECK(r.value.nameservers.size() == 2);
  });
  auto nul = parse_resolv_conf(std::string("nameserver 192.0.2.1\0 junk\nsearch a\0b\n", 36), "f");
  REQUIRE(nul.value.nameservers.size() == 1);
  CHECK(nul.value.nameservers[0].to_string() == "192.0.2.1:53");
  CHECK(nul.value.search == std::vector<std::string>{"a"});
  CHECK(nul.warnings.size() == 2);
  CHECK_THROWS_AS(parse_resolv_conf(std::string("nameserver \0 192.0.2.1\n", 23), "f", ParseMode::strict),
                  heyes::ParseError);
}

TEST_CASE("resolv.conf: 10^5 lines, good and bad; warnings stay bounded") {
  within_bound([] {
    auto r = parse_resolv_conf(repeat_lines("nameserver 192.0.2.1", 100'000), "f");
    CHECK(r.value.nameservers.size() == 3);
    CHECK(r.warnings.size() == 101);  // 100 kept, then one "N more" line
    CHECK(r.warnings.back().message == "99897 more warnings not shown");
  });
  within_bound([] {
    auto r = parse_resolv_conf(repeat_lines("options ndots:x", 100'000), "f");
    CHECK(r.warnings.size() == 101);
    CHECK(r.warnings[99].line == 100);
  });
  within_bound([] {
    auto r = parse_resolv_conf(std::string(100'000, '\n') + "nameserver 192.0.2.2 \n", "f");
    CHECK(r.value.nameservers[0].to_string() == "192.0.2.2:53");
  });
}

TEST_CASE("hosts: 10^5 addresses for one name are bounded; 10^5 names are fine") {
  within_bound([] {
    std::string text;
    for (unsigned i = 0; i < 100'000; ++i) text += heyes::IpAddress::v4(0x0A000000u + i).to_string() + " same\n";
    auto r = parse_hosts(text, "h");
    CHECK(r.value.lookup("same", Family::v4).size() == heyes::dns::HostsTable::kMaxAddresses);
    CHECK(r.warnings.size() == 101);
  });
  within_bound([] {
    std::string text;
    for (int i = 0; i < 100'000; ++i) text += "192.0.2.1 h" + std::to_string(i) + " alias" + std::to_string(i) + "\n";
    auto r = parse_hosts(text, "h");
    CHECK(r.warnings.empty());
    CHECK(r.value.lookup("ALIAS99999", Family::v4).size() == 1);
  });
}

TEST_CASE("hosts: a 10 MB line, NULs, every byte value") {
  within_bound([] {
    auto r = parse_hosts("192.0.2.1 " + std::string(10'000'000, 'x') + " ok\n", "h");
    CHECK(r.value.lookup("ok", Family::v4).size() == 1);
    CHECK(r.warnings.size() == 1);  // the 10 MB name is not a name
  });
  std::string all;
  for (int i = 0; i < 256; ++i) all += static_cast<char>(i);
  auto r = parse_hosts(all + "\n192.0.2.1 " + all + "\n" + std::string("192.0.2.2 before\0after\n", 24), "h");
  CHECK(r.value.lookup("before", Family::v4).size() == 1);
  CHECK(r.value.lookup("after", Family::v4).empty());
}

TEST_CASE("nsswitch.conf: a 10 MB line, 10^5 sources, 10^5 lines, brackets, every byte value") {
  within_bound([] {
    auto r = parse_nsswitch_hosts("hosts: files\nhosts: " + std::string(10'000'000, 'x') + "\n", "n");
    CHECK(r.value.sources.size() == 1);  // the long line ignored, the first kept
    REQUIRE(r.warnings.size() == 1);
    CHECK(r.warnings[0].message.size() < 200);
  });
  within_bound([] {
    // Sources and action lists without end on one line of 1 MB: bounded, and still all checked.
    std::string line = "hosts:";
    while (line.size() < 1'000'000) line += " s [!NOTFOUND=return SUCCESS=continue]";
    auto r = parse_nsswitch_hosts(line + "\n", "n");
    CHECK(r.value.is_default);  // longer than a line may be: ignored
    std::string many = "hosts:";
    for (int i = 0; i < 100'000; ++i) many += " s" + std::to_string(i % 7);
    r = parse_nsswitch_hosts(repeat_lines(many.substr(0, 4000), 250), "n");
    CHECK(r.value.sources.size() == 32);
    CHECK(r.warnings.size() == 101);
  });
  within_bound([] {
    auto r = parse_nsswitch_hosts(repeat_lines("hosts: files [NOTFOUND=return] dns", 100'000), "n");
    CHECK(r.value.to_string() == "files [NOTFOUND=return] dns");
    CHECK(r.warnings.size() == 101);  // "given again", bounded
    r = parse_nsswitch_hosts(repeat_lines("hosts: [[[[[[[[[[[[", 100'000) + repeat_lines("]]]]]:::::", 100'000), "n");
    CHECK(r.value.sources.empty());
    CHECK(r.warnings.size() == 101);
    r = parse_nsswitch_hosts(repeat_lines("hosts: a [" + std::string(3000, '!'), 10), "n");
    CHECK(r.value.sources.empty());
    CHECK(r.warnings.size() == 1);  // glibc stops reading at the first bad list
  });
  std::string all;
  for (int i = 0; i < 256; ++i) all += static_cast<char>(i);
  auto r = parse_nsswitch_hosts(all + "\nhosts: " + all + "\n" + std::string("hosts: before\0after\n", 20), "n");
  CHECK(r.value.to_string() == "before");
  CHECK(heyes::dns::load_nsswitch_hosts("/dev/zero").value.is_default);
}

TEST_CASE("names and literals: huge and odd inputs") {
  within_bound([] {
    std::string huge(10'000'000, 'a');
    CHECK(heyes::dns::validate_host_name(huge));
    CHECK_FALSE(heyes::dns::is_localhost_name(huge + ".localhost"));
    CHECK(heyes::dns::candidate_names(huge, {}).empty());
    CHECK_FALSE(heyes::dns::Nameserver::parse(huge));
    CHECK_FALSE(heyes::dns::Nameserver::parse("192.0.2.1:" + std::string(100'000, '9')));
    CHECK_FALSE(heyes::dns::Nameserver::parse("[" + huge + "]:53"));
    CHECK_FALSE(heyes::dns::Nameserver::parse(std::string(100'000, ':')));
  });
}

TEST_CASE("files: /dev/zero, a FIFO with no writer, a directory") {
  within_bound([] {
    auto r = heyes::dns::load_resolv_conf("/dev/zero", ParseMode::lenient, false);
    CHECK(r.value.nameservers.size() == 2);
    bool truncated = false;
    for (const auto& w : r.warnings) truncated |= w.message.find("larger than") != std::string::npos;
    CHECK(truncated);
  });
  auto fifo = std::string("/tmp/heyes-hostile-fifo-") + std::to_string(::getpid());
  REQUIRE(::mkfifo(fifo.c_str(), 0600) == 0);
  within_bound([&] {
    auto h = heyes::dns::load_hosts(fifo);  // must not block waiting for a writer
    CHECK(h.value.empty());
  });
  std::remove(fifo.c_str());
  auto d = heyes::dns::load_hosts("/");
  CHECK(d.value.empty());
  CHECK(d.warnings.size() == 1);
}
