// SPDX-License-Identifier: MIT
// nsswitch.conf's hosts: line as glibc 2.36 reads it: distributions' lines, actions, '!', case, comments, bad lines, files.
#include <doctest/doctest.h>

#include <sys/stat.h>
#include <unistd.h>

#include <string>
#include <vector>

#include "heyes/dns/nsswitch.hpp"
#include "support/system_files.hpp"

using heyes::ParseError;
using heyes::ParseMode;
using heyes::dns::HostsSource;
using heyes::dns::HostsSources;
using heyes::dns::load_nsswitch_hosts;
using heyes::dns::parse_nsswitch_hosts;
using heyes::dns::SourceAction;
using heyes::dns::SourceStatus;

namespace {

constexpr auto R = SourceAction::return_;
constexpr auto C = SourceAction::continue_;

using Strings = std::vector<std::string>;

Strings names(const HostsSources& s) {
  Strings out;
  for (const auto& source : s.sources) out.push_back(source.name);
  return out;
}

// The actions of one source, SUCCESS NOTFOUND UNAVAIL TRYAGAIN.
std::array<SourceAction, 4> acts(const HostsSources& s, std::size_t i) { return s.sources.at(i).actions; }

constexpr std::array<SourceAction, 4> kDefault{R, C, C, C};

bool mentions(const heyes::Parsed<HostsSources>& r, const std::string& what) {
  for (const auto& w : r.warnings)
    if (w.to_string().find(what) != std::string::npos) return true;
  return false;
}

// parse(to_string(x)) == x.
void check_round_trip(const HostsSources& x) {
  auto again = parse_nsswitch_hosts("hosts: " + x.to_string() + "\n", "again");
  HostsSources expected = x;
  expected.is_default = false;
  CHECK(again.value == expected);
}

}  // namespace

TEST_CASE("nsswitch: Debian's hosts line (mdns4_minimal [NOTFOUND=return])") {
  auto r = parse_nsswitch_hosts(
      "# /etc/nsswitch.conf\n"
      "#\n"
      "# Example configuration of GNU Name Service Switch functionality.\n"
      "\n"
      "passwd:         files systemd\n"
      "group:          files systemd\n"
      "shadow:         files\n"
      "gshadow:        files\n"
      "\n"
      "hosts:          files mdns4_minimal [NOTFOUND=return] dns myhostname\n"
      "networks:       files\n"
      "\n"
      "protocols:      db files\n"
      "services:       db files\n"
      "netgroup:       nis\n",
      "/etc/nsswitch.conf");
  CHECK(r.warnings.empty());
  CHECK_FALSE(r.value.is_default);
  CHECK(names(r.value) == Strings{"files", "mdns4_minimal", "dns", "myhostname"});
  CHECK(acts(r.value, 0) == kDefault);
  CHECK(acts(r.value, 1) == std::array{R, R, C, C});
  CHECK(r.value.sources[1].action(SourceStatus::notfound) == R);
  CHECK(r.value.sources[1].action(SourceStatus::unavail) == C);
  CHECK(acts(r.value, 2) == kDefault);
  CHECK(r.value.sources[0].is_files());
  CHECK(r.value.sources[2].is_dns());
  CHECK(r.value.to_string() == "files mdns4_minimal [NOTFOUND=return] dns myhostname");
  check_round_trip(r.value);
}

TEST_CASE("nsswitch: Fedora's hosts line ([!UNAVAIL=return] before dns)") {
  auto r = parse_nsswitch_hosts("hosts:      files myhostname resolve [!UNAVAIL=return] dns\n", "f");
  CHECK(r.warnings.empty());
  CHECK(names(r.value) == Strings{"files", "myhostname", "resolve", "dns"});
  // Every status but UNAVAIL returns; UNAVAIL keeps its default, continue.
  CHECK(acts(r.value, 2) == std::array{R, R, C, R});
  CHECK(r.value.to_string() == "files myhostname resolve [!UNAVAIL=return] dns");
  check_round_trip(r.value);
}

TEST_CASE("nsswitch: '!' is applied in order, as glibc's nss_action_parse does") {
  // !UNAVAIL=continue sets all to continue (SUCCESS and NOTFOUND too), then puts UNAVAIL back.
  auto r = parse_nsswitch_hosts("hosts: a [NOTFOUND=return !UNAVAIL=continue] b\n", "f");
  CHECK(r.warnings.empty());
  CHECK(acts(r.value, 0) == std::array{C, C, C, C});
  r = parse_nsswitch_hosts("hosts: a [!SUCCESS=return] b [SUCCESS=continue TRYAGAIN=return] c\n", "f");
  CHECK(acts(r.value, 0) == std::array{R, R, R, R});
  CHECK(acts(r.value, 1) == std::array{C, C, C, R});
  CHECK(r.value.to_string() == "a [!SUCCESS=return] b [SUCCESS=continue TRYAGAIN=return] c");
  check_round_trip(r.value);
  // The later word for the same status wins.
  r = parse_nsswitch_hosts("hosts: a [NOTFOUND=return NOTFOUND=continue]\n", "f");
  CHECK(acts(r.value, 0) == kDefault);
  CHECK(r.value.to_string() == "a");
}

TEST_CASE("nsswitch: statuses and actions ignore case, database names do not") {
  auto r = parse_nsswitch_hosts("hosts: a [ notfound = RETURN  Unavail=Return ]b\n", "f");
  CHECK(r.warnings.empty());
  CHECK(names(r.value) == Strings{"a", "b"});
  CHECK(acts(r.value, 0) == std::array{R, R, R, C});
  // glibc looks database names up with strcmp: "Hosts" is ignored.
  r = parse_nsswitch_hosts("Hosts: a\nHOSTS: b\n", "f");
  CHECK(r.value == HostsSources::glibc_default());
  CHECK(r.value.is_default);
  REQUIRE(r.warnings.size() == 2);
  CHECK(r.warnings[0].to_string() ==
        "f:1: 'Hosts' is not 'hosts': glibc compares database names case-sensitively and ignores this line");
}

TEST_CASE("nsswitch: comments, blanks, the colon, CRLF") {
  // A line whose first word is no database ("#..." included) is ignored.
  auto r = parse_nsswitch_hosts("#hosts: a\n  # hosts: b\n\t\n   hosts :: c\r\n", "f");
  CHECK(names(r.value) == Strings{"c"});
  CHECK(r.warnings.empty());
  // No colon is needed.
  r = parse_nsswitch_hosts("hosts files dns\n", "f");
  CHECK(names(r.value) == Strings{"files", "dns"});
  CHECK(mentions(r, "f:1: hosts: no ':'"));
  // After "hosts:", '#' starts no comment in glibc 2.33 and later: it is a source.
  r = parse_nsswitch_hosts("hosts: files dns # was: dns files\n", "f");
  CHECK(names(r.value) == Strings{"files", "dns", "#", "was:", "dns", "files"});
  CHECK(mentions(r, "f:1: hosts: '#' starts no comment"));
}

TEST_CASE("nsswitch: the last hosts: line wins; other databases are not read") {
  auto r = parse_nsswitch_hosts("hosts: a\nsudoers: files [x]\nautomount: files\nhosts: b c\n", "f");
  CHECK(names(r.value) == Strings{"b", "c"});
  REQUIRE(r.warnings.size() == 1);
  CHECK(r.warnings[0].to_string() == "f:4: hosts: given again (line 1 before): glibc uses the last hosts: line");
}

TEST_CASE("nsswitch: no hosts: line, an empty one") {
  auto r = parse_nsswitch_hosts("passwd: files\ngroup: files\n", "f");
  CHECK(r.value.is_default);
  CHECK(r.value.to_string() == "files dns");
  CHECK(r.warnings.empty());
  r = parse_nsswitch_hosts("", "f");
  CHECK(r.value == HostsSources::glibc_default());
  // "hosts:" alone: glibc asks no source at all.
  r = parse_nsswitch_hosts("hosts:\n", "f");
  CHECK(r.value.sources.empty());
  CHECK_FALSE(r.value.is_default);
  REQUIRE(r.warnings.size() == 1);
  CHECK(r.warnings[0].to_string() == "f:1: hosts: no source: glibc asks none, so no host name resolves through NSS");
  CHECK_THROWS_AS(parse_nsswitch_hosts("hosts:\n", "f", ParseMode::strict), ParseError);
  // "hosts" then a NUL: the name runs into the end of glibc's string, skipped.
  r = parse_nsswitch_hosts(std::string("hosts\0: a\n", 10), "f");
  CHECK(r.value.is_default);
}

TEST_CASE("nsswitch: a last line without a newline is ignored, as glibc's getline loop does") {
  auto r = parse_nsswitch_hosts("hosts: a\nhosts: b", "f");
  CHECK(names(r.value) == Strings{"a"});
  CHECK(mentions(r, "f:2: no newline at the end of the file: glibc ignores this last hosts: line"));
  r = parse_nsswitch_hosts("hosts: b", "f");
  CHECK(r.value.is_default);
  CHECK_THROWS_AS(parse_nsswitch_hosts("hosts: b", "f", ParseMode::strict), ParseError);
  // Other lines: a note, nothing thrown.
  r = parse_nsswitch_hosts("hosts: a\npasswd: files", "f", ParseMode::strict);
  CHECK(names(r.value) == Strings{"a"});
  r = parse_nsswitch_hosts("hosts: a\n# end", "f", ParseMode::strict);
  CHECK(r.warnings.empty());
}

TEST_CASE("nsswitch: a malformed action list makes glibc reject the whole file") {
  struct Case {
    const char* text;
    const char* message;
  };
  const Case cases[] = {
      {"hosts: files [FOUND=return] dns\n",
       "f:1: hosts: unknown status 'FOUND' after 'files' (SUCCESS, NOTFOUND, UNAVAIL or TRYAGAIN): glibc rejects "
       "the whole file, so no source is asked for any host name"},
      {"hosts: files [NOTFOUND=stop] dns\n", "f:1: hosts: unknown action 'stop' for 'NOTFOUND' after 'files'"},
      {"hosts: files [NOTFOUND return] dns\n", "f:1: hosts: no '=' after 'NOTFOUND' in the action list of 'files'"},
      {"hosts: files [NOTFOUND=return\n", "f:1: hosts: no ']' closing the action list of 'files'"},
      {"hosts: files [\n", "f:1: hosts: no ']' closing the action list of 'files'"},
      {"hosts: files []\n", "f:1: hosts: empty action list after 'files'"},
      {"hosts: files [! NOTFOUND=return]\n", "f:1: hosts: unknown status ''"},
      {"hosts: files [NOTFOUND=]\n", "f:1: hosts: unknown action ''"},
  };
  for (const auto& c : cases) {
    CAPTURE(c.text);
    auto r = parse_nsswitch_hosts(c.text, "f");
    CHECK(r.value.sources.empty());
    CHECK_FALSE(r.value.is_default);
    REQUIRE(r.warnings.size() == 1);
    CHECK(r.warnings[0].to_string().rfind(c.message, 0) == 0);
    CHECK(r.warnings[0].line == 1);
    CHECK_THROWS_AS(parse_nsswitch_hosts(c.text, "f", ParseMode::strict), ParseError);
  }
  // Any database glibc knows counts, before or after hosts:, and reading stops there.
  auto r = parse_nsswitch_hosts("hosts: files dns\npasswd: files [x]\nhosts: later\ngroup: [y\n", "/etc/nsswitch.conf");
  CHECK(r.value.sources.empty());
  REQUIRE(r.warnings.size() == 1);
  CHECK(r.warnings[0].to_string().rfind("/etc/nsswitch.conf:2: passwd: unknown status 'x'", 0) == 0);
  try {
    (void)parse_nsswitch_hosts("passwd: files\nhosts: files [x=y]\n", "/etc/nsswitch.conf", ParseMode::strict);
    FAIL("no throw");
  } catch (const ParseError& e) {
    CHECK(e.diagnostic().line == 2);
    CHECK(std::string(e.what()).rfind("/etc/nsswitch.conf:2: hosts: unknown status 'x'", 0) == 0);
  }
  // Not glibc's databases: their lines are never parsed.
  r = parse_nsswitch_hosts("sudoers: files [x]\nhosts: a\n", "f", ParseMode::strict);
  CHECK(names(r.value) == Strings{"a"});
}

TEST_CASE("nsswitch: a '[' where a source was due ends the line") {
  auto r = parse_nsswitch_hosts("hosts: a [NOTFOUND=return] [UNAVAIL=return] b\n", "f");
  CHECK(names(r.value) == Strings{"a"});
  CHECK(mentions(r, "f:1: hosts: action list '[UNAVAIL=return] b' where a source was due"));
  r = parse_nsswitch_hosts("hosts: [NOTFOUND=return] files\n", "f");
  CHECK(r.value.sources.empty());
  CHECK_THROWS_AS(parse_nsswitch_hosts("hosts: a [SUCCESS=return] [x\n", "f", ParseMode::strict), ParseError);
  // Other odd bytes make source names, as in glibc.
  r = parse_nsswitch_hosts("hosts: a ]b c=d\n", "f");
  CHECK(names(r.value) == Strings{"a", "]b", "c=d"});
}

TEST_CASE("nsswitch: merge on a hosts: line reads as return, with a warning") {
  auto r = parse_nsswitch_hosts("hosts: files [NOTFOUND=merge] dns\n", "f", ParseMode::strict);
  CHECK(acts(r.value, 0) == std::array{R, R, C, C});
  REQUIRE(r.warnings.size() == 1);
  CHECK(r.warnings[0].to_string() ==
        "f:1: hosts: NOTFOUND=merge: the hosts database has no merge; glibc's getaddrinfo stops there (read as "
        "return)");
  // '!' restores merge like any other action.
  r = parse_nsswitch_hosts("hosts: a [UNAVAIL=merge !UNAVAIL=continue]\n", "f");
  CHECK(acts(r.value, 0) == std::array{C, C, R, C});
  CHECK(mentions(r, "UNAVAIL=merge"));
}

TEST_CASE("nsswitch: bounds: sources, line length, warnings") {
  std::string line = "hosts:";
  for (int i = 0; i < 40; ++i) line += " s" + std::to_string(i);
  auto r = parse_nsswitch_hosts(line + "\n", "f");
  CHECK(r.value.sources.size() == 32);
  CHECK(r.value.sources.back().name == "s31");
  CHECK(mentions(r, "f:1: hosts: 40 sources, more than 32: 's32' and after ignored"));
  CHECK_THROWS_AS(parse_nsswitch_hosts(line + "\n", "f", ParseMode::strict), ParseError);
  // Past the bound the words are still checked, as glibc reads them all.
  r = parse_nsswitch_hosts(line + " [x]\n", "f");
  CHECK(r.value.sources.empty());

  r = parse_nsswitch_hosts("hosts: a\nhosts: " + std::string(5000, 'x') + "\n", "f");
  CHECK(names(r.value) == Strings{"a"});
  CHECK(mentions(r, "f:2: hosts: line of 5008 bytes (more than 4096): ignored"));
  // Not a database: a long line costs nothing.
  r = parse_nsswitch_hosts(std::string(100'000, 'x') + ": y\nhosts: a\n", "f", ParseMode::strict);
  CHECK(names(r.value) == Strings{"a"});

  std::string many;
  for (int i = 0; i < 1000; ++i) many += "Hosts: a\n";
  r = parse_nsswitch_hosts(many, "f");
  CHECK(r.warnings.size() == 101);
  CHECK(r.warnings.back().to_string() == "f: 900 more warnings not shown");
}

TEST_CASE("nsswitch: NULs and control bytes") {
  auto r = parse_nsswitch_hosts(std::string("hosts: a b\0 c\n", 14), "f");
  CHECK(names(r.value) == Strings{"a", "b"});
  CHECK(mentions(r, "f:1: text after a NUL byte ignored"));
  // glibc's isspace(): \v and \f separate words too.
  r = parse_nsswitch_hosts("hosts:\va\fb\x01" "c\n", "f");
  CHECK(names(r.value) == Strings{"a", "b\x01" "c"});
  check_round_trip(r.value);
  std::string all;
  for (int i = 1; i < 256; ++i)
    if (i != '\n' && i != '[') all += static_cast<char>(i);
  r = parse_nsswitch_hosts("hosts: " + all + "\n", "f");
  CHECK(r.value.sources.size() == 3);  // split at \t, \v \f \r and ' '
  check_round_trip(r.value);
  const std::string separators(" \t\n\v\f\r[\0", 8);
  for (const auto& s : r.value.sources) CHECK(s.name.find_first_of(separators) == std::string::npos);
}

TEST_CASE("nsswitch: to_string and the defaults") {
  CHECK(HostsSources::glibc_default().to_string() == "files dns");
  CHECK(HostsSources::glibc_default().is_default);
  CHECK(HostsSources::files_dns().to_string() == "files dns");
  CHECK_FALSE(HostsSources::files_dns().is_default);
  CHECK(HostsSources{}.to_string().empty());
  check_round_trip(HostsSources{});
  // Every combination of actions writes back to itself.
  for (unsigned bits = 0; bits < 16; ++bits) {
    HostsSources x;
    HostsSource s{"x"};
    for (std::size_t i = 0; i < 4; ++i) s.actions[i] = ((bits >> i) & 1u) != 0 ? R : C;
    x.sources = {s, HostsSource{"y"}};
    CAPTURE(x.to_string());
    check_round_trip(x);
  }
  HostsSources x;
  x.sources = {HostsSource{"a", {R, R, R, R}}};
  CHECK(x.to_string() == "a [!SUCCESS=return]");
  x.sources = {HostsSource{"a", {C, C, C, C}}};
  CHECK(x.to_string() == "a [SUCCESS=continue]");
  x.sources = {HostsSource{"a", {C, R, R, R}}};
  CHECK(x.to_string() == "a [SUCCESS=continue NOTFOUND=return UNAVAIL=return TRYAGAIN=return]");
  x.sources = {HostsSource{"a", {C, R, C, C}}};
  CHECK(x.to_string() == "a [SUCCESS=continue NOTFOUND=return]");
}

TEST_CASE("nsswitch: files: missing, unreadable, without hosts:, a directory") {
  heyes::test::SystemFilesDir dir("heyes-nsswitch-test", "", "", "");
  auto missing = load_nsswitch_hosts((dir.dir / "nsswitch.conf").string());
  CHECK(missing.value == HostsSources::glibc_default());
  CHECK(missing.warnings.empty());

  auto path = dir.dir / "nsswitch.conf";
  heyes::test::write_file(path, "passwd: files\nhosts: files mdns4_minimal [NOTFOUND=return] dns\n");
  auto r = load_nsswitch_hosts(path.string(), ParseMode::strict);
  CHECK(r.value.to_string() == "files mdns4_minimal [NOTFOUND=return] dns");
  CHECK(r.warnings.empty());

  heyes::test::write_file(path, "passwd: files\n");
  r = load_nsswitch_hosts(path.string());
  CHECK(r.value.is_default);
  CHECK(r.warnings.empty());

  heyes::test::write_file(path, "hosts: files [bad] dns\n");
  r = load_nsswitch_hosts(path.string());
  CHECK(r.value.sources.empty());
  REQUIRE(r.warnings.size() == 1);
  CHECK(r.warnings[0].file == path.string());
  CHECK(r.warnings[0].line == 1);

  r = load_nsswitch_hosts(dir.dir.string());  // a directory
  CHECK(r.value == HostsSources::glibc_default());
  REQUIRE(r.warnings.size() == 1);
  CHECK(r.warnings[0].message.find("cannot read") == 0);

  if (::geteuid() != 0) {
    heyes::test::write_file(path, "hosts: a\n");
    ::chmod(path.c_str(), 0);
    r = load_nsswitch_hosts(path.string());
    CHECK(r.value.is_default);
    CHECK(r.warnings.size() == 1);
  }
}
