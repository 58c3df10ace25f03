// SPDX-License-Identifier: MIT
// resolv.conf as glibc reads it, RES_OPTIONS/LOCALDOMAIN, nameserver literals, name checks, search candidates.
#include <doctest/doctest.h>

#include <unistd.h>

#include <cstdio>
#include <fstream>
#include <string>

#include "dns/config_detail.hpp"
#include "dns/message.hpp"
#include "heyes/dns/config.hpp"
#include "heyes/error.hpp"

using heyes::IpAddress;
using heyes::ParseError;
using heyes::ParseMode;
using heyes::dns::candidate_names;
using heyes::dns::Nameserver;
using heyes::dns::parse_resolv_conf;
using heyes::dns::ResolverConfig;
using heyes::dns::validate_host_name;
using Strings = std::vector<std::string>;

namespace {

Nameserver ns(const char* text) {
  auto n = Nameserver::parse(text);
  REQUIRE(n);
  return *n;
}

bool has_warning(const std::vector<heyes::Diagnostic>& w, int line, const std::string& part) {
  for (const auto& d : w)
    if (d.line == line && d.message.find(part) != std::string::npos) return true;
  return false;
}

}  // namespace

TEST_CASE("Nameserver::parse: every documented form, and print back") {
  CHECK(ns("192.0.2.53").to_string() == "192.0.2.53:53");
  CHECK(ns("192.0.2.53:5353").to_string() == "192.0.2.53:5353");
  CHECK(ns("2001:db8::53").to_string() == "[2001:db8::53]:53");
  CHECK(ns("[2001:db8::53]").to_string() == "[2001:db8::53]:53");
  CHECK(ns("[2001:db8::53]:1053").to_string() == "[2001:db8::53]:1053");
  CHECK(ns("[fe80::1%7]:53").address.scope_id() == 7);
  CHECK(ns("[fe80::1%7]:53").to_string() == "[fe80::1%7]:53");
  CHECK(ns("fe80::1%lo").address.scope_id() != 0);
  CHECK(ns("::1:53").port == 53);  // a bare IPv6 never has a port: this is the address ::1:53
  CHECK(ns("127.0.0.1:65535").port == 65535);
  CHECK(ns("127.0.0.1:1").port == 1);
  CHECK(ns("[::1]:53") == Nameserver{*IpAddress::parse("::1"), 53});
  // IPv4-mapped literals are IPv4 addresses, bracketed or bare.
  CHECK(ns("[::ffff:192.0.2.1]:5353").to_string() == "192.0.2.1:5353");
  CHECK(ns("::ffff:192.0.2.1").to_string() == "192.0.2.1:53");
}

TEST_CASE("Nameserver::parse refuses bad forms and ports out of range") {
  for (const char* bad : {"", ":", ":53", "192.0.2.1:", "192.0.2.1:0", "192.0.2.1:65536", "192.0.2.1:99999999999",
                          "192.0.2.1:-1", "192.0.2.1:+53", "192.0.2.1:5x", "192.0.2.1: 53", "[192.0.2.1]:53",
                          "[::1", "[::1]53", "[::1]:", "[::1]:0", "[::1]:70000", "[]:53", "example.com",
                          "example.com:53", "127.1", "[::1]:53:53", "1.2.3.4:53:53", " 127.0.0.1", "::1]"}) {
    CAPTURE(bad);
    CHECK_FALSE(Nameserver::parse(bad));
  }
  CHECK_FALSE(Nameserver::parse(std::string("127.0.0.1\0:53", 13)));
}

TEST_CASE("resolv.conf: nameservers, search, options, comments") {
  auto r = parse_resolv_conf(
      "# generated\n"
      "; also a comment\n"
      "nameserver 192.0.2.1\n"
      "nameserver 2001:db8::53 trailing words ignored\n"
      "nameserver\t198.51.100.7\n"
      "search example.com corp.example.net\n"
      "options ndots:2 timeout:3 attempts:4 rotate edns0 use-vc no-aaaa\n",
      "resolv.conf", ParseMode::strict);
  const auto& c = r.value;
  REQUIRE(c.nameservers.size() == 3);
  CHECK(c.nameservers[0].to_string() == "192.0.2.1:53");
  CHECK(c.nameservers[1].to_string() == "[2001:db8::53]:53");
  CHECK(c.nameservers[2].to_string() == "198.51.100.7:53");
  CHECK(c.search == Strings{"example.com", "corp.example.net"});
  CHECK(c.ndots == 2);
  CHECK(c.timeout == std::chrono::seconds(3));
  CHECK(c.attempts == 4);
  CHECK(c.rotate);
  CHECK(c.edns0);
  CHECK(c.use_vc);
  CHECK(c.no_aaaa);
  CHECK(r.warnings.empty());
}

TEST_CASE("resolv.conf defaults: no nameserver line gives 127.0.0.1 and ::1") {
  auto c = parse_resolv_conf("", "resolv.conf").value;
  REQUIRE(c.nameservers.size() == 2);
  CHECK(c.nameservers[0].to_string() == "127.0.0.1:53");
  CHECK(c.nameservers[1].to_string() == "[::1]:53");
  CHECK(c.search.empty());
  CHECK(c.ndots == 1);
  CHECK(c.timeout == std::chrono::seconds(5));
  CHECK(c.attempts == 2);
  CHECK_FALSE(c.rotate);
  CHECK_FALSE(c.use_vc);
  CHECK_FALSE(c.no_aaaa);
  // A line whose only nameserver is bad also ends with the defaults.
  CHECK(parse_resolv_conf("nameserver bogus\n", "f").value.nameservers.size() == 2);
}

TEST_CASE("resolv.conf: at most three nameservers, the rest ignored with a note") {
  auto r = parse_resolv_conf("nameserver 192.0.2.1\nnameserver 192.0.2.2\nnameserver 192.0.2.3\nnameserver 192.0.2.4\n",
                             "f", ParseMode::strict);
  REQUIRE(r.value.nameservers.size() == 3);
  CHECK(r.value.nameservers[2].to_string() == "192.0.2.3:53");
  CHECK(has_warning(r.warnings, 4, "only the first 3"));
}

TEST_CASE("resolv.conf nameserver addresses as glibc: inet_aton forms, IPv6 zones") {
  auto c = parse_resolv_conf("nameserver 127.1\nnameserver 0x7f.0.0.2\nnameserver fe80::1%lo\n", "f").value;
  REQUIRE(c.nameservers.size() == 3);
  CHECK(c.nameservers[0].address.to_string() == "127.0.0.1");
  CHECK(c.nameservers[1].address.to_string() == "127.0.0.2");
  CHECK(c.nameservers[2].address.is_link_local());
  CHECK(c.nameservers[2].address.scope_id() != 0);
  // A numeric zone works for any address; a name only for link-local ones.
  auto n = parse_resolv_conf("nameserver fe80::1%42\n", "f", ParseMode::strict).value;
  CHECK(n.nameservers[0].address.scope_id() == 42);
  auto bad = parse_resolv_conf("nameserver fe80::1%no-such-if0\n", "f");
  REQUIRE(bad.value.nameservers.size() == 1);
  CHECK(bad.value.nameservers[0].address.scope_id() == 0);  // kept, scope 0, as glibc
  CHECK(has_warning(bad.warnings, 1, "zone"));
  CHECK_THROWS_AS(parse_resolv_conf("nameserver fe80::1%no-such-if0\n", "f", ParseMode::strict), ParseError);
}

TEST_CASE("resolv.conf: search and domain, the last one wins") {
  CHECK(parse_resolv_conf("search a.example b.example\ndomain c.example\n", "f").value.search == Strings{"c.example"});
  CHECK(parse_resolv_conf("domain c.example\nsearch a.example b.example\n", "f").value.search ==
        Strings{"a.example", "b.example"});
  auto d = parse_resolv_conf("domain c.example d.example\n", "f");
  CHECK(d.value.search == Strings{"c.example"});
  CHECK(has_warning(d.warnings, 1, "ignored"));
  // glibc has no trailing comments: the words are domains (with a note);
  // "#" is no host name, so it is dropped, "note" is a domain.
  auto t = parse_resolv_conf("search a.example # note\n", "f");
  CHECK(t.value.search == Strings{"a.example", "note"});
  CHECK(has_warning(t.warnings, 1, "read as a domain"));
  CHECK(has_warning(t.warnings, 1, "bad domain '#' dropped"));
}

TEST_CASE("resolv.conf and LOCALDOMAIN: a domain that is no host name is dropped, with a diagnostic naming it") {
  // Backslash escapes (above \255 the codec could not even encode them) and
  // other bytes res_hnok refuses never reach the search list.
  auto s = parse_resolv_conf("nameserver 192.0.2.1\nsearch ok.example a\\999.example b\\065.example c!d .\n", "f");
  CHECK(s.value.search == Strings{"ok.example", "."});
  CHECK(has_warning(s.warnings, 2, "search: bad domain 'a\\x5c999.example' dropped"));
  CHECK(has_warning(s.warnings, 2, "search: bad domain 'b\\x5c065.example' dropped"));
  CHECK(has_warning(s.warnings, 2, "search: bad domain 'c!d' dropped"));
  auto d = parse_resolv_conf("domain x\\\n", "f");
  CHECK(d.value.search.empty());
  CHECK(has_warning(d.warnings, 1, "domain: bad domain"));
  CHECK_THROWS_WITH_AS(parse_resolv_conf("search a\\999.example\n", "my.conf", ParseMode::strict),
                       "my.conf:1: search: bad domain 'a\\x5c999.example' dropped", heyes::ParseError);

  using heyes::dns::detail::apply_environment;
  std::vector<heyes::Diagnostic> w;
  ResolverConfig c;
  apply_environment(c, {"good.example bad\\999 -x.example", nullptr, "host.h\\1.example"}, &w);
  CHECK(c.search == Strings{"good.example"});
  REQUIRE(w.size() == 2);
  CHECK(w[0].to_string() == "LOCALDOMAIN: search: bad domain 'bad\\x5c999' dropped");
  CHECK(w[1].file == "LOCALDOMAIN");
  // The host name's domain, used when no list is set, is checked the same way.
  w.clear();
  c = ResolverConfig{};
  apply_environment(c, {nullptr, nullptr, "host.h\\1.example"}, &w);
  CHECK(c.search.empty());
  REQUIRE(w.size() == 1);
  CHECK(w[0].message.find("bad domain") != std::string::npos);
}

TEST_CASE("resolv.conf: what glibc ignores is ignored") {
  auto r = parse_resolv_conf(
      " nameserver 192.0.2.9\n"     // leading blank: not a keyword
      "Nameserver 192.0.2.8\n"      // keywords are case-sensitive
      "nameserver192.0.2.7\n"       // keyword must be followed by a blank
      "sortlist 130.155.160.0/255.255.240.0\n"
      "lookup file bind\n"
      "options inet6 debug ndots:3 single-request trust-ad\n",
      "f");
  CHECK(r.value.nameservers.size() == 2);  // the defaults
  CHECK(r.value.ndots == 3);
  CHECK(has_warning(r.warnings, 1, "blank"));
  CHECK(has_warning(r.warnings, 5, "unknown keyword"));
  CHECK(has_warning(r.warnings, 6, "unknown option 'inet6'"));
  CHECK(has_warning(r.warnings, 6, "unknown option 'debug'"));
  // Unknown things never throw, even strictly.
  CHECK_NOTHROW(parse_resolv_conf("lookup file bind\noptions frobnicate\n", "f", ParseMode::strict));
}

// glibc's maxima are clamped as glibc does; below the minima, where glibc
// misbehaves (timeout:0, attempts:0, negative values), heyes deviates and
// raises the value to the minimum (docs/config.md).
TEST_CASE("options: glibc's maxima clamped, heyes's own minima raised, atoi numbers, prefix flags") {
  auto opts = [](const char* text) {
    ResolverConfig c;
    heyes::dns::apply_options(c, text);
    return c;
  };
  CHECK(opts("ndots:15").ndots == 15);
  CHECK(opts("ndots:16").ndots == 15);
  CHECK(opts("ndots:99999999999999999999").ndots == 15);
  CHECK(opts("ndots:0").ndots == 0);
  CHECK(opts("ndots:-1").ndots == 0);
  CHECK(opts("timeout:30").timeout == std::chrono::seconds(30));
  CHECK(opts("timeout:31").timeout == std::chrono::seconds(30));
  CHECK(opts("timeout:0").timeout == std::chrono::seconds(1));
  CHECK(opts("attempts:5").attempts == 5);
  CHECK(opts("attempts:6").attempts == 5);
  CHECK(opts("attempts:0").attempts == 1);
  // atoi: leading digits count, none means 0.
  CHECK(opts("ndots:3x").ndots == 3);
  CHECK(opts("ndots:x").ndots == 0);
  CHECK(opts("ndots:").ndots == 0);
  CHECK(opts("ndots:4 ndots:2").ndots == 2);  // the last one wins
  // Flags are matched by prefix, as glibc.
  CHECK(opts("rotatex").rotate);
  CHECK(opts("no-aaaa").no_aaaa);
  CHECK(opts("no-tld-query").no_tld_query);
  CHECK(opts("no_tld_query").no_tld_query);
  CHECK_FALSE(opts("rotate").no_tld_query);
  CHECK_FALSE(opts("rotat").rotate);
  std::vector<heyes::Diagnostic> w;
  ResolverConfig c;
  heyes::dns::apply_options(c, "ndots:20 timeout:abc bogus", &w);
  CHECK(has_warning(w, 0, "clamped to 15"));
  CHECK(has_warning(w, 0, "bad number"));
  CHECK(has_warning(w, 0, "unknown option 'bogus'"));
}

TEST_CASE("strict mode: malformed known lines throw with file:line") {
  auto message = [](const char* text) {
    try {
      parse_resolv_conf(text, "/etc/resolv.conf", ParseMode::strict);
    } catch (const ParseError& e) {
      return std::string(e.what());
    }
    return std::string("no error");
  };
  CHECK(message("\n\nnameserver 300.1.1.1\n") == "/etc/resolv.conf:3: nameserver: bad address '300.1.1.1'");
  CHECK(message("nameserver 192.0.2.1:53\n").find("/etc/resolv.conf:1:") == 0);
  CHECK(message("# c\noptions ndots:two\n").find("/etc/resolv.conf:2: option ndots: bad number") == 0);
  CHECK(message("options rotatex\n").find(":1:") != std::string::npos);
  CHECK(message("search\n").find(":1: search: no value") != std::string::npos);
  CHECK(message("search bad..name\n").find(":1: search: bad domain") != std::string::npos);
  CHECK(message("nameserver\n") == "/etc/resolv.conf:1: nameserver: no value");
  // Lenient: same inputs, warnings instead, parsing goes on.
  auto r = parse_resolv_conf("nameserver 300.1.1.1\nnameserver 192.0.2.1\n", "f");
  CHECK(r.value.nameservers.size() == 1);
  CHECK(has_warning(r.warnings, 1, "bad address"));
}

TEST_CASE("LOCALDOMAIN and RES_OPTIONS as glibc applies them") {
  using heyes::dns::detail::apply_environment;
  auto base = parse_resolv_conf("search a.example\noptions ndots:2 attempts:3\n", "f").value;

  auto c = base;
  apply_environment(c, {"x.example  y.example\nz.example", "ndots:4 rotate", "host.h.example"}, nullptr);
  CHECK(c.search == Strings{"x.example", "y.example"});  // up to the newline
  CHECK(c.ndots == 4);                                   // RES_OPTIONS after the file
  CHECK(c.attempts == 3);
  CHECK(c.rotate);

  // Set but empty: the search list is cleared, then the host name's domain applies.
  c = base;
  apply_environment(c, {"", nullptr, "host.h.example"}, nullptr);
  CHECK(c.search == Strings{"h.example"});
  c = base;
  apply_environment(c, {"", nullptr, "host"}, nullptr);
  CHECK(c.search.empty());

  // Unset: the file's list stays; without one, the host name's domain.
  c = base;
  apply_environment(c, {nullptr, nullptr, "host.h.example"}, nullptr);
  CHECK(c.search == Strings{"a.example"});
  c = parse_resolv_conf("", "f").value;
  apply_environment(c, {nullptr, nullptr, "host.h.example"}, nullptr);
  CHECK(c.search == Strings{"h.example"});

  std::vector<heyes::Diagnostic> w;
  c = base;
  apply_environment(c, {nullptr, "nonsense", ""}, &w);
  REQUIRE(w.size() == 1);
  CHECK(w[0].file == "RES_OPTIONS");
}

TEST_CASE("load_resolv_conf: a file, a missing file, no environment") {
  auto path = std::string("/tmp/heyes-config-test-") + std::to_string(::getpid()) + ".conf";
  {
    std::ofstream f(path);
    f << "nameserver 192.0.2.5\nsearch l.example\noptions ndots:3\n";
  }
  auto r = heyes::dns::load_resolv_conf(path, ParseMode::strict, false);
  std::remove(path.c_str());
  REQUIRE(r.value.nameservers.size() == 1);
  CHECK(r.value.nameservers[0].to_string() == "192.0.2.5:53");
  CHECK(r.value.search == Strings{"l.example"});
  CHECK(r.value.ndots == 3);

  auto m = heyes::dns::load_resolv_conf("/nonexistent/heyes/resolv.conf", ParseMode::strict, false);
  CHECK(m.value.nameservers.size() == 2);
  REQUIRE(m.warnings.size() == 1);
  CHECK(m.warnings[0].line == 0);
  CHECK(m.warnings[0].message.find("cannot read") == 0);

  auto dir = heyes::dns::load_resolv_conf("/tmp", ParseMode::lenient, false);
  CHECK(dir.value.nameservers.size() == 2);
  CHECK(dir.warnings.size() == 1);
}

TEST_CASE("validate_host_name: RFC 1035 lengths, labels, characters") {
  for (const char* good : {"a", "example.com", "example.com.", "xn--bcher-kva.example", "under_score.example",
                           "1.2.3.4", "localhost"}) {
    CAPTURE(good);
    CHECK_FALSE(validate_host_name(good));
  }
  std::string label63(63, 'a');
  CHECK_FALSE(validate_host_name(label63 + ".example"));
  CHECK(validate_host_name(label63 + "a.example") == heyes::errc::bad_host_name);
  // 253 characters is the limit (255 octets on the wire), a trailing dot not counted.
  std::string name253 = label63 + '.' + label63 + '.' + label63 + '.' + std::string(61, 'b');
  REQUIRE(name253.size() == 253);
  CHECK_FALSE(validate_host_name(name253));
  CHECK_FALSE(validate_host_name(name253 + '.'));
  CHECK(validate_host_name(name253 + 'b'));
  for (const char* bad : {"", ".", "..", "a..b", ".a", "a.b..", "a b", "a\tb", "caf\xc3\xa9.example", "a\x7f"}) {
    CAPTURE(bad);
    CHECK(validate_host_name(bad) == heyes::errc::bad_host_name);
  }
  CHECK(validate_host_name(std::string("a\0b", 3)));
}

TEST_CASE("validate_host_name: glibc's res_hnok characters, no backslash escapes, no leading hyphen") {
  // Letters, digits, hyphens and underscores (real names carry "_"), as
  // getaddrinfo's check; a hyphen may start any label but the first.
  for (const char* good : {"_dmarc.example", "a-b.example", "x-.example", "a.-b.example", "A1.B2", "9"}) {
    CAPTURE(good);
    CHECK_FALSE(validate_host_name(good));
  }
  // What the codec would have to unescape (\999 cannot be a byte) or what
  // no host name holds: all refused at the door.
  for (const char* bad : {"a\\999.example", "ok\\065.t", "trailing\\", "\\.", "a\\.b", "-lead.example", "-",
                          "a!b", "a*b", "a/b", "a@b", "a,b", "a:b", "a%b", "a\"b", "a'b", "a~b", "*.example"}) {
    CAPTURE(bad);
    CHECK(validate_host_name(bad) == heyes::errc::bad_host_name);
  }
  // Every name it accepts encodes into a query (the codec would throw otherwise).
  for (const char* good : {"_dmarc.example", "a-b.example", "9"})
    CHECK_NOTHROW((void)heyes::dns::encode(heyes::dns::make_query(1, good, heyes::dns::RecordType::a)));
}

TEST_CASE("candidate_names: search list, ndots, trailing dot") {
  ResolverConfig c;
  c.search = {"a.example", "b.example"};
  // Table: name, ndots -> candidates in order.
  c.ndots = 1;
  CHECK(candidate_names("www", c) == Strings{"www.a.example", "www.b.example", "www"});
  CHECK(candidate_names("www.x", c) == Strings{"www.x", "www.x.a.example", "www.x.b.example"});
  CHECK(candidate_names("www.x.", c) == Strings{"www.x"});
  c.ndots = 2;
  CHECK(candidate_names("www.x", c) == Strings{"www.x.a.example", "www.x.b.example", "www.x"});
  CHECK(candidate_names("w.x.y", c) == Strings{"w.x.y", "w.x.y.a.example", "w.x.y.b.example"});
  c.ndots = 0;
  CHECK(candidate_names("www", c) == Strings{"www", "www.a.example", "www.b.example"});
  // The root on the list stands for as-is; leading and trailing dots of a suffix go.
  c.ndots = 1;
  c.search = {".", ".a.example.", "A.EXAMPLE"};
  CHECK(candidate_names("www", c) == Strings{"www", "www.a.example"});
  // No search list: just the name.
  CHECK(candidate_names("www", ResolverConfig{}) == Strings{"www"});
  // A suffix that makes the name too long is skipped; a bad name gives nothing.
  c.search = {std::string(63, 'a') + '.' + std::string(63, 'b') + '.' + std::string(63, 'c') + '.' + std::string(40, 'd')};
  CHECK(candidate_names(std::string(30, 'w'), c) == Strings{std::string(30, 'w')});
  CHECK(candidate_names("bad..name", c).empty());
  // Found by fuzz-address: a suffix with two trailing dots gave "www.b." (a
  // candidate with a trailing dot); such a suffix is skipped.
  c.search = {"b..", "c.example"};
  CHECK(candidate_names("www", c) == Strings{"www.c.example", "www"});
  CHECK(candidate_names("", c).empty());
  CHECK(candidate_names(".", c).empty());
}

// glibc's res_nsearch with RES_NOTLDQUERY: getaddrinfo("tld") with
// "search a.test" and "options no-tld-query" never asks "tld" (gai_diff.py).
TEST_CASE("candidate_names: no-tld-query drops the as-is try of a name without a dot after the search list") {
  ResolverConfig c = parse_resolv_conf("search a.example b.example\noptions no-tld-query\n", "f").value;
  REQUIRE(c.no_tld_query);
  CHECK(candidate_names("www", c) == Strings{"www.a.example", "www.b.example"});
  CHECK(candidate_names("www.x", c) == Strings{"www.x", "www.x.a.example", "www.x.b.example"});
  CHECK(candidate_names("www.", c) == Strings{"www"});
  c.ndots = 0;  // tried first for its dots: it stays
  CHECK(candidate_names("www", c) == Strings{"www", "www.a.example", "www.b.example"});
  c.ndots = 1;
  c.search = {"a.example", "."};  // the root on the list is the as-is try
  CHECK(candidate_names("www", c) == Strings{"www.a.example", "www"});
  c.search.clear();  // no search list: nothing was searched, the name is asked
  CHECK(candidate_names("www", c) == Strings{"www"});
}
