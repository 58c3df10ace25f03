// SPDX-License-Identifier: MIT
// Shared plumbing of the text configuration parsers (resolv.conf, hosts): lines, words, diagnostics, quoting.
#pragma once

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "heyes/diagnostic.hpp"

namespace heyes::dns::detail {

// Collects the diagnostics of one parse. error() is a malformed known line:
// strict mode throws ParseError, lenient mode records it. note() is always
// recorded, never thrown (unknown options, ignored extras). At most
// kMaxWarnings are kept; finish() appends one line counting the rest, so a
// hostile file of 10^5 bad lines cannot grow the list without bound.
class Reporter {
 public:
  static constexpr std::size_t kMaxWarnings = 100;

  Reporter(std::string_view file, ParseMode mode, std::vector<Diagnostic>* out)
      : file_(file), mode_(mode), out_(out) {}

  void error(int line, std::string message);
  void note(int line, std::string message);
  void finish();
  ParseMode mode() const noexcept { return mode_; }

 private:
  std::string file_;
  ParseMode mode_;
  std::vector<Diagnostic>* out_;  // may be null: diagnostics are dropped
  std::size_t dropped_ = 0;
};

// Calls fn(line_number, line) for each line of text (1-based, '\n'
// separated, one trailing '\r' removed). The number saturates at INT_MAX.
template <class Fn>
void for_each_line(std::string_view text, Fn&& fn) {
  int number = 0;
  while (!text.empty()) {
    auto end = text.find('\n');
    auto line = text.substr(0, end);
    text = end == std::string_view::npos ? std::string_view{} : text.substr(end + 1);
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    if (number < 0x7fffffff) ++number;
    fn(number, line);
  }
}

// Splits on runs of the given separator characters; no empty words.
std::vector<std::string_view> split_words(std::string_view text, std::string_view separators = " \t");

// The input quoted for a message: at most 60 bytes, non-printable bytes as \xNN.
std::string quote(std::string_view text);

// ASCII lower case (DNS names compare case-insensitively, RFC 4343).
std::string to_lower(std::string_view text);
bool iequals(std::string_view a, std::string_view b) noexcept;

}  // namespace heyes::dns::detail
