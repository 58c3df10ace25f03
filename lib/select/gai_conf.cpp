// SPDX-License-Identifier: MIT
// gai.conf(5) parser: glibc's syntax and replacement semantics, strict or lenient.
#include <charconv>
#include <climits>
#include <string>
#include <vector>

#include "common/read_file.hpp"
#include "heyes/select/policy.hpp"

namespace heyes {
namespace {

// What is wrong with one line; caught by the line loop.
struct BadLine {
  std::string reason;
};

constexpr unsigned long long kMaxValue = INT_MAX;  // glibc: val <= INT_MAX

bool is_space(char c) noexcept { return c == ' ' || c == '\t' || c == '\r' || c == '\v' || c == '\f'; }

// Quotes a piece of hostile input for a message: at most 40 characters,
// control and non-ASCII bytes as \xNN.
std::string quote(std::string_view text) {
  static constexpr std::size_t kMax = 40;
  std::string out = "'";
  for (std::size_t i = 0; i < text.size() && i < kMax; ++i) {
    auto c = static_cast<unsigned char>(text[i]);
    if (c >= 0x20 && c < 0x7f) {
      out += static_cast<char>(c);
    } else {
      static constexpr char kHex[] = "0123456789abcdef";
      out += {'\\', 'x', kHex[c >> 4], kHex[c & 15]};
    }
  }
  if (text.size() > kMax) out += "...";
  return out + "'";
}

// The whitespace-separated fields of a line, its '#' comment cut off
// (gai.conf has no escaping, as in glibc).
std::vector<std::string_view> split_fields(std::string_view line) {
  if (auto hash = line.find('#'); hash != std::string_view::npos) line = line.substr(0, hash);
  std::vector<std::string_view> fields;
  std::size_t i = 0;
  while (i < line.size()) {
    while (i < line.size() && is_space(line[i])) ++i;
    std::size_t start = i;
    while (i < line.size() && !is_space(line[i])) ++i;
    if (i > start) fields.push_back(line.substr(start, i - start));
  }
  return fields;
}

// A decimal number in [lo, hi]; what names it in the message.
int parse_number(std::string_view text, unsigned long long lo, unsigned long long hi, std::string_view what) {
  bool digits = !text.empty() && text.find_first_not_of("0123456789") == std::string_view::npos;
  if (!digits) throw BadLine{std::string(what) + " " + quote(text) + " is not a number"};
  unsigned long long n = 0;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), n);
  if (ec != std::errc{} || end != text.data() + text.size() || n < lo || n > hi)
    throw BadLine{std::string(what) + " " + quote(text) + " out of range " + std::to_string(lo) + "-" +
                  std::to_string(hi)};
  return static_cast<int>(n);
}

// An address of the prefix field: only hex digits, ':' and '.' (no zone,
// no brackets), parsed by IpAddress.
std::optional<IpAddress> parse_prefix_address(std::string_view text) {
  if (text.empty() || text.find_first_not_of("0123456789abcdefABCDEF:.") != std::string_view::npos)
    return std::nullopt;
  return IpAddress::parse(text);
}

// Splits "ADDRESS[/LEN]"; the length is empty when there is no '/'.
std::pair<std::string_view, std::string_view> split_prefix(std::string_view field) {
  auto slash = field.find('/');
  if (slash == std::string_view::npos) return {field, {}};
  if (slash + 1 == field.size()) throw BadLine{"missing prefix length after '/' in " + quote(field)};
  return {field.substr(0, slash), field.substr(slash + 1)};
}

// label / precedence: an IPv6 prefix, length 0..128 (default 128).
Prefix parse_v6_prefix(std::string_view field) {
  auto [addr_text, len_text] = split_prefix(field);
  auto addr = parse_prefix_address(addr_text);
  if (!addr || addr_text.find(':') == std::string_view::npos)
    throw BadLine{"bad prefix " + quote(field) + ": not an IPv6 address"};
  int length = len_text.empty() ? 128 : parse_number(len_text, 0, 128, "prefix length");
  return Prefix::of(*addr, length);
}

// scopev4: an IPv4-mapped IPv6 prefix (length 96..128, default 128) or, as
// glibc also accepts, an IPv4 prefix (length 0..32, default 32).
Prefix parse_v4_mask(std::string_view field) {
  auto [addr_text, len_text] = split_prefix(field);
  auto addr = parse_prefix_address(addr_text);
  bool v6_form = addr_text.find(':') != std::string_view::npos;
  if (!addr) throw BadLine{"bad scopev4 mask " + quote(field) + ": not an IPv6 or IPv4 address"};
  if (!addr->is_v4()) throw BadLine{"bad scopev4 mask " + quote(field) + ": not IPv4-mapped (::ffff:a.b.c.d)"};
  if (v6_form) return Prefix::of(*addr, len_text.empty() ? 128 : parse_number(len_text, 96, 128, "prefix length"));
  return Prefix::of(*addr, 96 + (len_text.empty() ? 32 : parse_number(len_text, 0, 32, "prefix length")));
}

// The rows a file gives, per kind, in file order.
struct Rows {
  std::vector<PolicyEntry> label, precedence, scopev4;
};

// Checks the field count of a "KEYWORD A B" line.
void expect_fields(const std::vector<std::string_view>& f, std::size_t n, const char* missing_second) {
  if (f.size() < 2) throw BadLine{std::string("missing ") + missing_second + " after '" + std::string(f[0]) + "'"};
  if (f.size() < n) throw BadLine{"missing value after " + quote(f[1])};
  if (f.size() > n) throw BadLine{"trailing junk " + quote(f[n])};
}

// Parses one non-blank line into rows (throws BadLine).
void parse_line(const std::vector<std::string_view>& f, Rows& rows) {
  const std::string_view keyword = f[0];
  if (keyword == "label" || keyword == "precedence") {
    expect_fields(f, 3, "prefix");
    PolicyEntry e{parse_v6_prefix(f[1]), parse_number(f[2], 0, kMaxValue, "value")};
    (keyword == "label" ? rows.label : rows.precedence).push_back(e);
  } else if (keyword == "scopev4") {
    expect_fields(f, 3, "mask");
    rows.scopev4.push_back({parse_v4_mask(f[1]), parse_number(f[2], 0, kMaxValue, "value")});
  } else if (keyword == "reload") {
    // Accepted for glibc compatibility; heyes reads the file when asked to.
    if (f.size() < 2) throw BadLine{"missing value after 'reload' (yes or no)"};
    if (f.size() > 2) throw BadLine{"trailing junk " + quote(f[2])};
    if (f[1] != "yes" && f[1] != "no") throw BadLine{"reload value " + quote(f[1]) + " is not yes or no"};
  } else {
    throw BadLine{"unknown keyword " + quote(keyword)};
  }
}

Diagnostic make_diagnostic(std::string_view file, int line, std::string message) {
  return Diagnostic{std::string(file), line, std::move(message)};
}

}  // namespace

Parsed<PolicyTable> parse_policy(std::string_view text, std::string_view file_name, ParseMode mode) {
  Parsed<PolicyTable> out;
  Rows rows;
  int line_no = 0;
  // One line at a time; a bad line throws (strict) or becomes a warning.
  for (std::size_t pos = 0; pos < text.size();) {
    auto nl = text.find('\n', pos);
    auto line = text.substr(pos, nl == std::string_view::npos ? std::string_view::npos : nl - pos);
    pos = nl == std::string_view::npos ? text.size() : nl + 1;
    ++line_no;
    auto fields = split_fields(line);
    if (fields.empty()) continue;
    try {
      parse_line(fields, rows);
    } catch (BadLine& bad) {
      auto d = make_diagnostic(file_name, line_no, std::move(bad.reason));
      if (mode == ParseMode::strict) throw ParseError(std::move(d));
      out.warnings.push_back(std::move(d));
    }
  }
  // glibc: any line of a kind replaces that whole default table.
  if (!rows.label.empty()) out.value.set_labels(std::move(rows.label));
  if (!rows.precedence.empty()) out.value.set_precedences(std::move(rows.precedence));
  if (!rows.scopev4.empty()) out.value.set_scopes_v4(std::move(rows.scopev4));
  return out;
}

Parsed<PolicyTable> load_policy(const std::string& path, ParseMode mode) {
  std::string error;
  auto text = detail::read_config_file(path, error);
  if (!text) {
    auto d = make_diagnostic(path, 0, "cannot read file: " + error);
    if (mode == ParseMode::strict) throw ParseError(std::move(d));
    Parsed<PolicyTable> out;
    out.warnings.push_back(std::move(d));
    return out;
  }
  return parse_policy(*text, path, mode);
}

}  // namespace heyes
