// SPDX-License-Identifier: MIT
// resolv.conf as glibc's res_init reads it, RES_OPTIONS and LOCALDOMAIN, nameserver literals, name checks.
#include "heyes/dns/config.hpp"

#include <arpa/inet.h>
#include <net/if.h>
#include <netinet/in.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <charconv>
#include <cstdlib>
#include <cstring>
#include <unordered_set>

#include "config_detail.hpp"
#include "common/read_file.hpp"
#include "parse_support.hpp"
#include "heyes/error.hpp"

namespace heyes::dns {
namespace {

using detail::quote;
using detail::Reporter;

constexpr std::size_t kMaxNameservers = 3;         // glibc's MAXNS
constexpr int kMaxNdots = 15, kMaxTimeout = 30;    // RES_MAXNDOTS, RES_MAXRETRANS
constexpr int kMaxAttempts = 5;                    // RES_MAXRETRY

// ---------------------------------------------------------------------------
// Nameserver literals ("ADDR", "ADDR:PORT", "[V6]:PORT", "V6")

// A decimal port 1..65535, digits only.
std::optional<std::uint16_t> parse_port(std::string_view text) {
  if (text.empty() || text.size() > 5) return std::nullopt;
  unsigned value = 0;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (ec != std::errc{} || end != text.data() + text.size() || value == 0 || value > 65535) return std::nullopt;
  return static_cast<std::uint16_t>(value);
}

// ---------------------------------------------------------------------------
// options (glibc's res_setoptions)

// glibc reads option values with atoi(): leading digits (with an optional
// sign), 0 when there are none. Here the value saturates instead of
// overflowing, and `clean` says whether the whole text was one number.
struct OptionNumber {
  long value = 0;
  bool clean = false;
};

OptionNumber parse_option_number(std::string_view text) {
  OptionNumber n;
  std::size_t i = 0;
  bool negative = false;
  if (i < text.size() && (text[i] == '+' || text[i] == '-')) negative = text[i++] == '-';
  std::size_t digits = 0;
  for (; i < text.size() && text[i] >= '0' && text[i] <= '9'; ++i, ++digits)
    n.value = std::min(n.value * 10 + (text[i] - '0'), 1'000'000L);
  if (negative) n.value = -n.value;
  n.clean = digits > 0 && i == text.size();
  return n;
}

// Applies "ndots:N", "timeout:N" or "attempts:N"; value_text follows the colon.
void apply_number_option(ResolverConfig& config, std::string_view name, std::string_view value_text,
                         Reporter& report, int line) {
  auto n = parse_option_number(value_text);
  if (!n.clean)
    report.error(line, "option " + std::string(name) + ": bad number " + quote(value_text) + " (read as " +
                           std::to_string(n.value) + ", as glibc's atoi)");
  // glibc clamps to its maxima; the minima are heyes' (glibc would misbehave:
  // ndots wraps in a 4-bit field, attempts:0 sends no query, timeout:0 waits 1 s).
  auto clamp = [&](long lo, long hi) {
    long v = std::clamp(n.value, lo, hi);
    if (v != n.value && n.clean)
      report.note(line, "option " + std::string(name) + ":" + std::to_string(n.value) + " clamped to " +
                            std::to_string(v));
    return static_cast<int>(v);
  };
  if (name == "ndots") config.ndots = clamp(0, kMaxNdots);
  else if (name == "timeout") config.timeout = std::chrono::seconds(n.value == 0 ? 1 : clamp(1, kMaxTimeout));
  else config.attempts = clamp(1, kMaxAttempts);
}

// The flag options glibc knows, in glibc's matching order (it compares
// prefixes, so "single-request-reopen" must come before "single-request").
// Those heyes has no use for are accepted and ignored.
struct FlagOption {
  std::string_view name;
  bool ResolverConfig::*field;  // null: known to glibc, no effect in heyes
};
constexpr std::array<FlagOption, 10> kFlagOptions{{
    {"rotate", &ResolverConfig::rotate},
    {"edns0", &ResolverConfig::edns0},
    {"single-request-reopen", nullptr},  // heyes always uses one socket per query
    {"single-request", nullptr},         // heyes always has both queries in flight (RFC 8305)
    {"no_tld_query", &ResolverConfig::no_tld_query},
    {"no-tld-query", &ResolverConfig::no_tld_query},
    {"no-reload", nullptr},
    {"use-vc", &ResolverConfig::use_vc},
    {"trust-ad", nullptr},
    {"no-aaaa", &ResolverConfig::no_aaaa},
}};

void apply_option_word(ResolverConfig& config, std::string_view word, Reporter& report, int line) {
  for (std::string_view name : {"ndots", "timeout", "attempts"}) {
    if (word.size() > name.size() && word.substr(0, name.size()) == name && word[name.size()] == ':') {
      apply_number_option(config, name, word.substr(name.size() + 1), report, line);
      return;
    }
  }
  for (const auto& flag : kFlagOptions) {
    if (word.substr(0, flag.name.size()) != flag.name) continue;
    if (word.size() != flag.name.size())
      report.error(line, "option " + quote(word) + " read as '" + std::string(flag.name) +
                             "' (glibc matches options by prefix)");
    if (flag.field != nullptr) config.*flag.field = true;
    return;
  }
  report.note(line, "unknown option " + quote(word) + " ignored");
}

void apply_option_words(ResolverConfig& config, std::string_view options, Reporter& report, int line) {
  for (auto word : detail::split_words(options)) apply_option_word(config, word, report, line);
}

// ---------------------------------------------------------------------------
// nameserver lines

// glibc's __inet6_scopeid_pton: an interface name (link-local and
// link-local multicast addresses only) or a decimal number up to 2^32-1.
std::optional<std::uint32_t> parse_scope(const IpAddress::Bytes& b, std::string_view zone) {
  bool link_scope = (b[0] == 0xfe && (b[1] & 0xc0) == 0x80) || (b[0] == 0xff && ((b[1] & 0x0f) == 1 || (b[1] & 0x0f) == 2));
  if (link_scope && !zone.empty() && zone.size() < IF_NAMESIZE) {
    if (auto index = ::if_nametoindex(std::string(zone).c_str()); index != 0) return index;
  }
  std::uint32_t number = 0;
  auto [end, ec] = std::from_chars(zone.data(), zone.data() + zone.size(), number);
  if (!zone.empty() && ec == std::errc{} && end == zone.data() + zone.size()) return number;
  return std::nullopt;
}

// A nameserver address as glibc reads it: inet_aton's IPv4 forms (so
// "127.1" and "0x7f.0.0.1" too), else IPv6 with an optional %zone. A zone
// that does not resolve leaves scope 0 (glibc does so silently).
std::optional<Nameserver> parse_resolv_nameserver(std::string_view word, Reporter& report, int line) {
  if (auto v4 = IpAddress::parse_inet_aton(word)) return Nameserver{*v4, 53};
  std::string text(word);
  auto pct = text.find('%');
  IpAddress::Bytes b{};
  if (::inet_pton(AF_INET6, text.substr(0, pct).c_str(), b.data()) != 1) {
    report.error(line, "nameserver: bad address " + quote(word));
    return std::nullopt;
  }
  std::uint32_t scope = 0;
  if (pct != std::string::npos) {
    auto zone = std::string_view(text).substr(pct + 1);
    if (auto s = parse_scope(b, zone)) scope = *s;
    else report.error(line, "nameserver: unknown interface or zone " + quote(zone) + " (scope 0 used)");
  }
  return Nameserver{IpAddress::v6(b, scope), 53};
}

// glibc's MATCH(): the keyword, then a space or a tab.
bool keyword_matches(std::string_view line, std::string_view keyword) {
  return line.size() > keyword.size() && line.substr(0, keyword.size()) == keyword &&
         (line[keyword.size()] == ' ' || line[keyword.size()] == '\t');
}

// One search-list domain: "." (the name as-is at this place) or a valid
// host name; anything else could only make candidates that are not host
// names, so it is dropped with a diagnostic naming where it came from.
void add_search_domain(ResolverConfig& config, std::string_view domain, std::string_view source, Reporter& report,
                       int line) {
  if (domain != "." && validate_host_name(domain)) {
    report.error(line, std::string(source) + ": bad domain " + quote(domain) + " dropped");
    return;
  }
  config.search.emplace_back(domain);
}

// "search a b" / "domain a": the search list, replaced by the last such line.
void parse_search_line(ResolverConfig& config, std::string_view keyword, std::string_view rest, Reporter& report,
                       int line) {
  auto words = detail::split_words(rest);
  if (words.empty()) {
    report.error(line, std::string(keyword) + ": no domain");
    return;
  }
  if (keyword == "domain") {
    if (words.size() > 1) report.note(line, "domain: words after the first are ignored");
    words.resize(1);
  }
  config.search.clear();
  for (auto w : words) {
    if (w.front() == '#' || w.front() == ';')
      report.note(line, std::string(keyword) + ": " + quote(w) + " is read as a domain (no trailing comments)");
    add_search_domain(config, w, keyword, report, line);
  }
}

void parse_nameserver_line(ResolverConfig& config, std::string_view rest, Reporter& report, int line) {
  auto words = detail::split_words(rest);
  if (words.empty()) {
    report.error(line, "nameserver: no address");
    return;
  }
  // glibc ignores anything after the address.
  auto server = parse_resolv_nameserver(words.front(), report, line);
  if (!server) return;
  if (config.nameservers.size() >= kMaxNameservers) {
    report.note(line, "nameserver " + quote(words.front()) + " ignored: only the first 3 are used");
    return;
  }
  config.nameservers.push_back(*server);
}

// One line of resolv.conf. Keywords are case-sensitive and must start the
// line (glibc ignores a line that starts with blanks); '#' and ';' start a
// comment only in the first column.
void parse_resolv_line(ResolverConfig& config, std::string_view text, Reporter& report, int line) {
  if (auto nul = text.find('\0'); nul != std::string_view::npos) {
    report.note(line, "text after a NUL byte ignored");
    text = text.substr(0, nul);
  }
  if (text.empty() || text.front() == '#' || text.front() == ';') return;
  auto rest_after = [&](std::string_view kw) { return text.substr(kw.size()); };
  if (keyword_matches(text, "nameserver")) return parse_nameserver_line(config, rest_after("nameserver"), report, line);
  if (keyword_matches(text, "search")) return parse_search_line(config, "search", rest_after("search"), report, line);
  if (keyword_matches(text, "domain")) return parse_search_line(config, "domain", rest_after("domain"), report, line);
  if (keyword_matches(text, "options")) return apply_option_words(config, rest_after("options"), report, line);
  if (keyword_matches(text, "sortlist")) return;  // heyes orders by RFC 6724 instead
  auto words = detail::split_words(text);
  if (words.empty()) return;
  if (text.front() == ' ' || text.front() == '\t') {
    report.note(line, "line starts with a blank: ignored, as glibc does");
    return;
  }
  for (std::string_view kw : {"nameserver", "search", "domain", "options"})
    if (words.front() == kw) return report.error(line, std::string(kw) + ": no value");
  report.note(line, "unknown keyword " + quote(words.front()) + " ignored");
}

// The label checks of validate_host_name on a name without its trailing dot:
// glibc's res_hnok, which getaddrinfo applies before it sends a query.
// Labels of 1..63 letters, digits, hyphens and underscores (RFC 1123 §2.1
// plus the underscore real names carry); the name does not start with a
// hyphen (it would read as a program option). No other byte, so no
// RFC 1035 §5.1 backslash escape: a host name never needs one.
bool labels_valid(std::string_view name) noexcept {
  if (name.empty() || name.front() == '-') return false;
  std::size_t label = 0;
  for (char c : name) {
    if (c == '.') {
      if (label == 0) return false;
      label = 0;
      continue;
    }
    bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' || c == '_';
    if (!ok || ++label > 63) return false;
  }
  return label > 0;
}

}  // namespace

// ---------------------------------------------------------------------------
// Nameserver

std::string Nameserver::to_string() const {
  if (address.is_v4()) return address.to_string() + ':' + std::to_string(port);
  return '[' + address.to_string() + "]:" + std::to_string(port);
}

std::optional<Nameserver> Nameserver::parse(std::string_view text) {
  // "[V6]" or "[V6]:PORT"
  if (!text.empty() && text.front() == '[') {
    auto close = text.find(']');
    if (close == std::string_view::npos) return std::nullopt;
    auto addr = IpAddress::parse(text.substr(0, close + 1));  // refuses "[192.0.2.1]"
    if (!addr) return std::nullopt;
    auto tail = text.substr(close + 1);
    if (tail.empty()) return Nameserver{*addr, 53};
    if (tail.front() != ':') return std::nullopt;
    auto port = parse_port(tail.substr(1));
    if (!port) return std::nullopt;
    return Nameserver{*addr, *port};
  }
  // One colon: "V4:PORT"; more: a bare IPv6 (which cannot carry a port).
  auto colons = std::count(text.begin(), text.end(), ':');
  if (colons == 1) {
    auto colon = text.find(':');
    auto addr = IpAddress::parse(text.substr(0, colon));
    auto port = parse_port(text.substr(colon + 1));
    if (!addr || !addr->is_v4() || !port) return std::nullopt;
    return Nameserver{*addr, *port};
  }
  // An IPv4-mapped IPv6 literal ("::ffff:192.0.2.1") is that IPv4 address.
  auto addr = IpAddress::parse(text);
  if (!addr) return std::nullopt;
  return Nameserver{*addr, 53};
}

// ---------------------------------------------------------------------------
// resolv.conf

namespace detail {

std::vector<Nameserver> default_nameservers() {
  return {Nameserver{IpAddress::v4(0x7f000001u), 53}, Nameserver{*IpAddress::parse("::1"), 53}};
}

void apply_environment(ResolverConfig& config, const Environment& env, std::vector<Diagnostic>* warnings) {
  // LOCALDOMAIN: blank-separated domains, up to a newline; set but empty clears.
  if (env.localdomain != nullptr) {
    std::string_view value = env.localdomain;
    value = value.substr(0, value.find('\n'));
    config.search.clear();
    Reporter report("LOCALDOMAIN", ParseMode::lenient, warnings);
    for (auto w : split_words(value)) add_search_domain(config, w, "search", report, 0);
    report.finish();
  }
  // No search list: the domain of the host name, as glibc's domain_from_hostname.
  if (config.search.empty()) {
    auto dot = env.hostname.find('.');
    if (dot != std::string_view::npos && dot + 1 < env.hostname.size()) {
      Reporter report("hostname", ParseMode::lenient, warnings);
      add_search_domain(config, env.hostname.substr(dot + 1), "domain", report, 0);
      report.finish();
    }
  }
  if (env.res_options != nullptr) {
    Reporter report("RES_OPTIONS", ParseMode::lenient, warnings);
    apply_option_words(config, env.res_options, report, 0);
    report.finish();
  }
}

}  // namespace detail

Parsed<ResolverConfig> parse_resolv_conf(std::string_view text, std::string_view file_name, ParseMode mode) {
  Parsed<ResolverConfig> out;
  Reporter report(file_name, mode, &out.warnings);
  detail::for_each_line(text, [&](int line, std::string_view s) { parse_resolv_line(out.value, s, report, line); });
  if (out.value.nameservers.empty()) out.value.nameservers = detail::default_nameservers();
  report.finish();
  return out;
}

void apply_options(ResolverConfig& config, std::string_view options, std::vector<Diagnostic>* warnings) {
  Reporter report("options", ParseMode::lenient, warnings);
  apply_option_words(config, options, report, 0);
  report.finish();
}

Parsed<ResolverConfig> load_resolv_conf(const std::string& path, ParseMode mode, bool use_environment) {
  Parsed<ResolverConfig> out;
  std::string error;
  if (auto text = heyes::detail::read_config_file(path, error)) {
    out = parse_resolv_conf(*text, path, mode);
  } else {
    // glibc uses its defaults when the file cannot be opened.
    out.value.nameservers = detail::default_nameservers();
    out.warnings.push_back({path, 0, "cannot read (" + error + "): using the defaults"});
  }
  if (use_environment) detail::apply_process_environment(out.value, &out.warnings);
  return out;
}

void detail::apply_process_environment(ResolverConfig& config, std::vector<Diagnostic>* warnings) {
  char host[256] = {};
  if (::gethostname(host, sizeof host - 1) != 0) host[0] = '\0';
  apply_environment(config, {std::getenv("LOCALDOMAIN"), std::getenv("RES_OPTIONS"), host}, warnings);
}

// ---------------------------------------------------------------------------
// Names

std::error_code validate_host_name(std::string_view name) {
  if (!name.empty() && name.back() == '.') name.remove_suffix(1);
  // RFC 1035 2.3.4: 255 octets on the wire, so 253 characters of text.
  if (name.empty() || name.size() > 253 || !labels_valid(name)) return make_error_code(errc::bad_host_name);
  return {};
}

std::vector<std::string> candidate_names(std::string_view name, const ResolverConfig& config) {
  if (validate_host_name(name)) return {};
  if (name.back() == '.') return {std::string(name.substr(0, name.size() - 1))};
  // No search list: the name as it is, whatever its dots (no set, no copies).
  if (config.search.empty()) return {std::string(name)};
  std::vector<std::string> out;
  std::unordered_set<std::string> seen;  // lower case: a long search list stays linear
  auto add = [&](std::string candidate) {
    // Too long with this suffix, or a suffix of bad form ("b.." would leave
    // "name.b." here): skipped, as glibc fails to encode such a name.
    if (validate_host_name(candidate) || candidate.back() == '.') return;
    if (!seen.insert(detail::to_lower(candidate)).second) return;
    out.push_back(std::move(candidate));
  };
  // glibc's res_nsearch: enough dots -> as-is first; then each suffix (the
  // root "." meaning as-is); as-is last when not yet tried.
  auto dots = std::count(name.begin(), name.end(), '.');
  if (dots >= config.ndots) add(std::string(name));
  for (std::string_view suffix : config.search) {
    if (!suffix.empty() && suffix.front() == '.') suffix.remove_prefix(1);
    if (!suffix.empty() && suffix.back() == '.') suffix.remove_suffix(1);
    add(suffix.empty() ? std::string(name) : std::string(name) + '.' + std::string(suffix));
  }
  // glibc's RES_NOTLDQUERY: after a search list, a name without a dot is
  // not asked as-is (unless it was, first for ndots:0 or for a "." suffix).
  if (dots > 0 || !config.no_tld_query) add(std::string(name));
  return out;
}

}  // namespace heyes::dns
