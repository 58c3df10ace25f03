// SPDX-License-Identifier: MIT
// heyes-connect's command-line parser: option table, value checks, per-mode operand checks.
#include "cli.hpp"

#include <algorithm>
#include <charconv>
#include <cstdlib>

namespace heyes_connect {
namespace {

[[noreturn]] void fail(std::string message) { throw UsageError(std::move(message)); }

// --delay-policy: "rtt", "fixed" or "schedule:M" with M a number from 1 to 16.
heyes::AttemptDelayPolicy parse_delay_policy(std::string_view v) {
  if (v == "rtt") return heyes::AttemptDelayPolicy::rtt();
  if (v == "fixed") return heyes::AttemptDelayPolicy::fixed();
  if (v.substr(0, 9) == "schedule:") {
    std::string text(v.substr(9));
    char* end = nullptr;
    double m = text.empty() ? 0 : std::strtod(text.c_str(), &end);
    if (!text.empty() && end == text.c_str() + text.size() && m >= 1 && m <= 16)
      return heyes::AttemptDelayPolicy::schedule(m);
  }
  fail("option '--delay-policy': expected rtt, fixed or schedule:M (M from 1 to 16), got " + quote(v));
}

// A decimal integer in [lo, hi], for the value of option name.
int parse_int(std::string_view name, std::string_view text, int lo, int hi) {
  int n = 0;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), n);
  bool digits = !text.empty() && text.find_first_not_of("0123456789") == std::string_view::npos;
  if (!digits || ec != std::errc{} || end != text.data() + text.size() || n < lo || n > hi)
    fail("option '" + std::string(name) + "': expected an integer from " + std::to_string(lo) + " to " +
         std::to_string(hi) + ", got " + quote(text));
  return n;
}

heyes::IpAddress parse_address(std::string_view what, std::string_view text) {
  auto a = heyes::IpAddress::parse(text);
  if (!a) fail(std::string(what) + quote(text) + " is not an IP address");
  return *a;
}

// The source part of --source: SRC[/LEN][,deprecated|,home|,temporary...].
heyes::SourceInfo parse_source(std::string_view text) {
  std::string_view flags;
  if (auto comma = text.find(','); comma != std::string_view::npos) {
    flags = text.substr(comma + 1);
    text = text.substr(0, comma);
  }
  heyes::SourceInfo info;
  auto slash = text.find('/');
  info.address = parse_address("option '--source': ", text.substr(0, slash));
  if (slash != std::string_view::npos)
    info.prefix_length = parse_int("--source", text.substr(slash + 1), 0, info.address.is_v4() ? 32 : 128);
  // Flags of the source address: the facts rules 3 and 4 look at.
  while (!flags.empty()) {
    auto comma = flags.find(',');
    auto flag = flags.substr(0, comma);
    flags = comma == std::string_view::npos ? std::string_view{} : flags.substr(comma + 1);
    if (flag == "deprecated") info.deprecated = true;
    else if (flag == "home") info.home = true;
    else if (flag == "temporary") info.temporary = true;
    else fail("option '--source': unknown flag " + quote(flag) + " (deprecated, home or temporary)");
  }
  return info;
}

// --source DST=SRC[/LEN][,FLAG...] or DST=none.
SourceOverride parse_source_override(std::string_view value) {
  auto eq = value.find('=');
  if (eq == std::string_view::npos)
    fail("option '--source': expected DST=SRC[/LEN] or DST=none, got " + quote(value));
  SourceOverride o{parse_address("option '--source': ", value.substr(0, eq)), std::nullopt};
  auto rest = value.substr(eq + 1);
  if (rest == "none") return o;
  o.source = parse_source(rest);
  if (o.source->address.family() != o.destination.family())
    fail("option '--source': source " + quote(rest) + " is not of the family of " + quote(value.substr(0, eq)));
  return o;
}

void set_mode(Options& o, Mode m, std::string_view flag) {
  if (o.mode != Mode::none && o.mode != m) fail("option '" + std::string(flag) + "' conflicts with an earlier mode");
  o.mode = m;
}

// -4 and -6 together leave no family.
void set_family(Options& o, int family) {
  if (o.dial.family != 0 && o.dial.family != family)
    fail("option '-" + std::to_string(family) + "' conflicts with '-" + std::to_string(o.dial.family) + "'");
  o.dial.family = family;
}

// A bare IPv6 address whose last group could be a port ("::1:53": ::1:53, or
// ::1 port 53?) is refused: the brackets say which.
void check_unambiguous_nameserver(std::string_view v) {
  auto colon = v.rfind(':');
  if (v.empty() || v[0] == '[' || colon == std::string_view::npos || v.find(':') == colon) return;
  auto head = v.substr(0, colon), tail = v.substr(colon + 1);
  if (tail.empty() || tail.find_first_not_of("0123456789") != std::string_view::npos) return;
  if (!heyes::IpAddress::parse(head)) return;
  fail("option '--nameserver': " + quote(v) + " is ambiguous: write '[" + std::string(head) + "]:" +
       std::string(tail) + "' for port " + std::string(tail) + ", or '[" + std::string(v) + "]' for the address");
}

// HOST:PORT:ADDR[,ADDR...]; an ADDR is an address literal, IPv6 bare or in brackets.
ResolveOverride parse_resolve(std::string_view v) {
  auto bad = [&](const std::string& why) {
    fail("option '--resolve': " + quote(v) + ": " + why + " (expected HOST:PORT:ADDR[,ADDR...])");
  };
  auto c1 = v.find(':');
  if (c1 == 0) bad("no HOST");
  if (c1 == std::string_view::npos) bad("no PORT");
  auto c2 = v.find(':', c1 + 1);
  if (c2 == std::string_view::npos) bad("no ADDR");
  ResolveOverride r;
  r.host = std::string(v.substr(0, c1));
  if (!heyes::IpAddress::parse_numeric_host(r.host) && heyes::dns::validate_host_name(r.host)) bad("bad HOST");
  auto port = v.substr(c1 + 1, c2 - c1 - 1);
  if (port.empty() || port.size() > 5 || port.find_first_not_of("0123456789") != std::string_view::npos ||
      std::stoi(std::string(port)) < 1 || std::stoi(std::string(port)) > 65535)
    bad("PORT must be a number from 1 to 65535");
  r.port = static_cast<std::uint16_t>(std::stoi(std::string(port)));
  auto rest = v.substr(c2 + 1);
  while (true) {
    auto comma = rest.find(',');
    auto item = rest.substr(0, comma);
    if (item.size() >= 2 && item.front() == '[' && item.back() == ']') item = item.substr(1, item.size() - 2);
    auto a = heyes::IpAddress::parse(item);
    if (!a) bad("ADDR " + quote(item) + " is not an address");
    r.addresses.push_back(*a);
    if (comma == std::string_view::npos) break;
    rest = rest.substr(comma + 1);
  }
  return r;
}

// The modes an option applies to.
enum ModeMask : unsigned { kSort = 1, kDial = 2, kDemo = 4, kAny = 7 };

unsigned mask_of(Mode m) {
  switch (m) {
    case Mode::sort: return kSort;
    case Mode::dial: return kDial;
    case Mode::demo: return kDemo;
    case Mode::none:
    case Mode::help:
    case Mode::version: break;
  }
  return kAny;
}

const char* name_of(Mode m) { return m == Mode::sort ? "sort mode" : m == Mode::demo ? "demo mode" : "dial mode"; }

// One row per option: its name, whether it takes a value, the modes it
// applies to, what it does.
struct OptionSpec {
  std::string_view name;
  bool takes_value;
  unsigned modes;
  void (*apply)(Options&, std::string_view value);
};

constexpr OptionSpec kOptions[] = {
    {"--sort", false, kAny, [](Options& o, std::string_view) { set_mode(o, Mode::sort, "--sort"); }},
    {"--policy", true, kAny, [](Options& o, std::string_view v) {
       if (v.empty()) fail("option '--policy': empty file name");
       o.policy = std::string(v);
     }},
    {"--source", true, kSort, [](Options& o, std::string_view v) { o.sources.push_back(parse_source_override(v)); }},
    {"--family-count", true, kAny, [](Options& o, std::string_view v) { o.family_count = parse_int("--family-count", v, 1, 1000); }},
    {"--no-interleave", false, kSort, [](Options& o, std::string_view) { o.interleave = false; }},
    // Dial and demo modes.
    {"--demo", false, kAny, [](Options& o, std::string_view) { set_mode(o, Mode::demo, "--demo"); }},
    {"--attempt-delay", true, kDial | kDemo, [](Options& o, std::string_view v) { o.dial.attempt_delay_ms = parse_int("--attempt-delay", v, 0, 60'000); }},
    {"--resolution-delay", true, kDial | kDemo, [](Options& o, std::string_view v) { o.dial.resolution_delay_ms = parse_int("--resolution-delay", v, 0, 60'000); }},
    {"--timeout", true, kDial | kDemo, [](Options& o, std::string_view v) { o.dial.timeout_ms = parse_int("--timeout", v, 0, 3'600'000); }},
    {"--attempt-timeout", true, kDial | kDemo, [](Options& o, std::string_view v) { o.dial.attempt_timeout_ms = parse_int("--attempt-timeout", v, 0, 3'600'000); }},
    {"--delay-policy", true, kDial | kDemo, [](Options& o, std::string_view v) { o.dial.delay_policy = parse_delay_policy(v); }},
    // The demo races both families: one alone cannot show it.
    {"-4", false, kDial, [](Options& o, std::string_view) { set_family(o, 4); }},
    {"-6", false, kDial, [](Options& o, std::string_view) { set_family(o, 6); }},
    // The demo has its own DNS server and no files.
    {"--nameserver", true, kDial, [](Options& o, std::string_view v) {
       check_unambiguous_nameserver(v);
       auto ns = heyes::dns::Nameserver::parse(v);
       if (!ns) fail("option '--nameserver': expected ADDR, ADDR:PORT or [V6]:PORT, got " + quote(v));
       o.dial.nameservers.push_back(*ns);
     }},
    {"--resolv-conf", true, kDial, [](Options& o, std::string_view v) {
       if (v.empty()) fail("option '--resolv-conf': empty file name");
       o.dial.resolv_conf = std::string(v);
     }},
    {"--hosts", true, kDial, [](Options& o, std::string_view v) {
       if (v.empty()) fail("option '--hosts': empty file name");
       o.dial.hosts = std::string(v);
     }},
    {"--nsswitch-conf", true, kDial, [](Options& o, std::string_view v) {
       if (v.empty()) fail("option '--nsswitch-conf': empty file name");
       o.dial.nsswitch_conf = std::string(v);
     }},
    {"--resolver", true, kDial, [](Options& o, std::string_view v) {
       if (v == "system") o.dial.system_resolver = true;
       else if (v == "heyes") o.dial.system_resolver = false;
       else fail("option '--resolver': expected 'system' or 'heyes', got " + quote(v));
     }},
    {"--resolve", true, kDial, [](Options& o, std::string_view v) { o.dial.resolve.push_back(parse_resolve(v)); }},
    {"--no-history", false, kDial | kDemo, [](Options& o, std::string_view) { o.dial.history = false; }},
    {"--history-file", true, kDial, [](Options& o, std::string_view v) {
       if (v.empty()) fail("option '--history-file': empty file name");
       o.dial.history_file = std::string(v);
     }},
    // The demo never checks usable families (loopback has both).
    {"--no-addrconfig", false, kDial, [](Options& o, std::string_view) { o.dial.addrconfig = false; }},
    // NAT64 on an IPv6-only host: a fixed prefix (no discovery), or none at all.
    {"--nat64-prefix", true, kDial, [](Options& o, std::string_view v) {
       if (o.dial.nat64 && o.dial.nat64->mode == heyes::Nat64Options::Mode::off)
         fail("options '--nat64-prefix' and '--no-nat64' exclude each other");
       std::string why;
       auto p = heyes::Nat64Prefix::parse(v, &why);
       if (!p) fail("option '--nat64-prefix': " + quote(v) + ": " + why);
       if (!o.dial.nat64) o.dial.nat64 = heyes::Nat64Options::fixed({});
       o.dial.nat64->prefixes.push_back(*p);
     }},
    {"--no-nat64", false, kDial, [](Options& o, std::string_view) {
       if (o.dial.nat64 && o.dial.nat64->mode == heyes::Nat64Options::Mode::fixed)
         fail("options '--nat64-prefix' and '--no-nat64' exclude each other");
       o.dial.nat64 = heyes::Nat64Options::off();
     }},
    {"--repeat", true, kDial | kDemo, [](Options& o, std::string_view v) { o.dial.repeat = parse_int("--repeat", v, 1, 1000); }},
    {"--json", false, kDial | kDemo, [](Options& o, std::string_view) { o.dial.json = true; }},
    {"-q", false, kDial | kDemo, [](Options& o, std::string_view) { o.dial.quiet = true; }},
    {"--quiet", false, kDial | kDemo, [](Options& o, std::string_view) { o.dial.quiet = true; }},
    {"-v", false, kDial | kDemo, [](Options& o, std::string_view) { o.dial.verbose = true; }},
};

const OptionSpec* find_option(std::string_view name) {
  for (const auto& spec : kOptions)
    if (spec.name == name) return &spec;
  return nullptr;
}

// Dial mode's operands: HOST PORT, or one HOST:PORT / [V6]:PORT.
void take_host_port(Options& o) {
  const auto& ops = o.operands;
  if (ops.empty()) fail("nothing to do: give --sort ADDR..., HOST PORT or --demo (try --help)");
  if (ops.size() > 2) fail("unexpected operand " + quote(ops[2]));
  if (ops.size() == 2) {
    o.host = ops[0];
    o.port = ops[1];
  } else {
    std::string_view one = ops[0];
    auto colon = one.rfind(':');
    if (!one.empty() && one[0] == '[') {
      auto close = one.find(']');
      if (close == std::string_view::npos || (close + 1 < one.size() && one[close + 1] != ':'))
        fail("operand " + quote(one) + ": expected [V6]:PORT");
      if (close + 1 >= one.size()) fail("missing PORT");
      o.host = std::string(one.substr(1, close - 1));
      o.port = std::string(one.substr(close + 2));
    } else if (colon != std::string_view::npos && one.find(':') == colon) {
      o.host = std::string(one.substr(0, colon));
      o.port = std::string(one.substr(colon + 1));
    } else {
      fail("missing PORT");  // a name, an IPv4 or a bare IPv6 address
    }
  }
  if (o.host.empty()) fail("empty HOST");
  if (o.port.empty()) fail("empty PORT");
}

// Every option given applies to the mode; no two conflict.
void check_options(const Options& o) {
  for (const auto& name : o.given) {
    const OptionSpec* spec = find_option(name);
    if (spec && !(spec->modes & mask_of(o.mode)))
      fail("option " + quote(name) + " does not apply to " + name_of(o.mode) + " (try --help)");
  }
  if (o.dial.history_file && !o.dial.history) fail("option '--history-file' conflicts with '--no-history'");
  // getaddrinfo reads the system's own files and servers.
  if (o.dial.system_resolver) {
    for (const char* name : {"--nameserver", "--resolv-conf", "--hosts", "--nsswitch-conf"})
      if (std::find(o.given.begin(), o.given.end(), name) != o.given.end())
        fail(std::string("option '") + name + "' conflicts with '--resolver system' (getaddrinfo reads the system's files)");
  }
  if (o.dial.quiet && o.dial.verbose) fail("option '-q' conflicts with '-v'");
  if (o.dial.quiet && o.dial.json) fail("option '-q' conflicts with '--json'");
}

// The operands each mode needs, then the options it allows.
void check_mode(Options& o) {
  switch (o.mode) {
    case Mode::none:
      o.mode = Mode::dial;
      take_host_port(o);
      break;
    case Mode::demo:
      if (!o.operands.empty()) fail("--demo takes no operand, got " + quote(o.operands[0]));
      break;
    case Mode::sort:
      if (o.operands.empty()) fail("--sort needs at least one ADDR");
      for (const auto& text : o.operands) o.addresses.push_back(parse_address("", text));
      break;
    case Mode::dial:  // set only here, from Mode::none
    case Mode::help:
    case Mode::version:
      return;
  }
  check_options(o);
}

}  // namespace

std::string quote(std::string_view text) {
  static constexpr std::size_t kMax = 60;
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out = "'";
  for (std::size_t i = 0; i < text.size() && i < kMax; ++i) {
    auto c = static_cast<unsigned char>(text[i]);
    if (c >= 0x20 && c < 0x7f) out += static_cast<char>(c);
    else out += {'\\', 'x', kHex[c >> 4], kHex[c & 15]};
  }
  if (text.size() > kMax) out += "...";
  return out + "'";
}

Options parse_command_line(std::span<const std::string_view> args) {
  Options o;
  bool help = false, version = false, options_done = false;
  for (std::size_t i = 0; i < args.size(); ++i) {
    std::string_view arg = args[i];
    // Operands: after "--", a lone "-", or anything not starting with '-'.
    if (options_done || arg.size() < 2 || arg[0] != '-') {
      o.operands.emplace_back(arg);
      continue;
    }
    if (arg == "--") { options_done = true; continue; }
    if (arg == "--help" || arg == "-h") { help = true; continue; }
    if (arg == "--version") { version = true; continue; }
    // "--name=value" or "--name [value]".
    auto eq = arg.find('=');
    std::string_view name = arg.substr(0, eq);
    const OptionSpec* spec = find_option(name);
    if (!spec) fail("unknown option " + quote(name) + " (try --help)");
    std::string_view value;
    if (spec->takes_value && eq != std::string_view::npos) value = arg.substr(eq + 1);
    else if (spec->takes_value && i + 1 < args.size()) value = args[++i];
    else if (spec->takes_value) fail("option '" + std::string(name) + "' needs a value");
    else if (eq != std::string_view::npos) fail("option '" + std::string(name) + "' takes no value");
    spec->apply(o, value);
    o.given.emplace_back(name);
  }
  // --help and --version win over any mode.
  if (help || version) {
    o.mode = help ? Mode::help : Mode::version;
    return o;
  }
  check_mode(o);
  return o;
}

bool wants_json(std::span<const std::string_view> args) {
  for (auto arg : args) {
    if (arg == "--") return false;
    if (arg == "--json") return true;
  }
  return false;
}

std::string usage_text() {
  return "usage: heyes-connect --sort [OPTIONS] ADDR...\n"
         "       heyes-connect [OPTIONS] HOST PORT | HOST:PORT | [V6]:PORT\n"
         "       heyes-connect --demo [OPTIONS]\n"
         "       heyes-connect --help | --version\n"
         "\n"
         "Sort mode: print ADDR... in the order heyes would try them, one per line:\n"
         "RFC 6724 destination sorting, then RFC 8305 family interleaving.\n"
         "\n"
         "  --policy FILE|none    gai.conf(5) policy file; 'none' forces the RFC 6724 table\n"
         "                        (default: /etc/gai.conf if present, else RFC 6724)\n"
         "  --source DST=SRC[/LEN][,deprecated][,home][,temporary]\n"
         "                        use SRC as the source address towards DST instead of\n"
         "                        asking the system (repeatable)\n"
         "  --source DST=none     DST has no usable source address\n"
         "  --family-count N      First Address Family Count, 1-1000 (default 1)\n"
         "  --no-interleave       print the pure RFC 6724 order\n"
         "\n"
         "Dial mode: connect to HOST PORT with Happy Eyeballs v2 (RFC 8305), print each event\n"
         "as it happens, then 'connected to ADDRESS port PORT in N ms' (errors on stderr).\n"
         "Demo mode: the same against an in-process DNS server and a black-holed ::1 on loopback\n"
         "(not with -4, -6, --nameserver, --resolv-conf, --hosts, --nsswitch-conf, --resolver, --resolve,\n"
         "--history-file, --no-addrconfig, "
         "--nat64-prefix, --no-nat64).\n"
         "SIGINT and SIGTERM cancel the dial and print what was known.\n"
         "\n"
         "  --attempt-delay MS    Connection Attempt Delay (default 250; clamped to 10-2000)\n"
         "  --resolution-delay MS wait this long for AAAA after A (default 50)\n"
         "  --family-count N      also the First Address Family Count of the dial\n"
         "  --timeout MS          give up after MS (default: none)\n"
         "  --attempt-timeout MS  give up one attempt after MS; the next starts at once (default: none)\n"
         "  --delay-policy P      the Connection Attempt Delay: rtt (default: the path's RTO from the\n"
         "                        history, else --attempt-delay), fixed, or schedule:M (each delay M\n"
         "                        times the one before, M from 1 to 16); --attempt-delay alone means fixed\n"
         "  -4, -6                IPv4 only, IPv6 only\n"
         "  --policy FILE|none    as in sort mode\n"
         "  --nameserver ADDR[:PORT]  ask this server ([V6]:PORT; repeatable) instead of resolv.conf's\n"
         "  --resolve HOST:PORT:ADDR[,ADDR...]  dial these addresses for HOST PORT, no DNS (repeatable)\n"
         "  --resolv-conf FILE    instead of /etc/resolv.conf\n"
         "  --hosts FILE          instead of /etc/hosts\n"
         "  --nsswitch-conf FILE  instead of /etc/nsswitch.conf (its hosts: line: where names come from)\n"
         "  --resolver heyes|system  heyes's own resolver (the default), or the system's getaddrinfo,\n"
         "                        one call per family (not with --nameserver, --resolv-conf, --hosts,\n"
         "                        --nsswitch-conf)\n"
         "  --no-history          no connection history (RTT, recent failures)\n"
         "  --history-file FILE|default  keep the history in FILE between runs; 'default':\n"
         "                        $XDG_CACHE_HOME/heyes/history (else ~/.cache/heyes/history)\n"
         "  --no-addrconfig       query both families even when this host cannot use one\n"
         "  --nat64-prefix PREFIX on an IPv6-only host, reach IPv4 through this NAT64 prefix\n"
         "                        (64:ff9b::/96, 2001:db8:64::/96; repeatable) instead of discovering it\n"
         "  --no-nat64            never synthesize IPv6 addresses for IPv4 ones\n"
         "  --repeat N            dial N times in one process (cache and history at work)\n"
         "  --json                JSON Lines on stdout: an object per event as it happens, then\n"
         "                        one result object per dial (heyes-connect(1): JSON OUTPUT)\n"
         "  -q, --quiet           nothing on stdout: the exit status only\n"
         "  -v                    the timeline (the default)\n"
         "\n"
         "  -h, --help            this text\n"
         "  --version             print the version\n"
         "\n"
         "Exit status: 0 ok, 1 a dial failed (or the demo did not show the race), 2 bad input,\n"
         "130 interrupted (SIGINT), 143 terminated (SIGTERM).\n";
}

}  // namespace heyes_connect
