// SPDX-License-Identifier: MIT
// Shared plumbing of the text configuration parsers: diagnostics, lines, words, quoting.
#include "parse_support.hpp"

#include <algorithm>

namespace heyes::dns::detail {

void Reporter::error(int line, std::string message) {
  if (mode_ == ParseMode::strict) throw ParseError(Diagnostic{file_, line, std::move(message)});
  note(line, std::move(message));
}

void Reporter::note(int line, std::string message) {
  if (out_ == nullptr) return;
  if (out_->size() >= kMaxWarnings) {
    ++dropped_;
    return;
  }
  out_->push_back(Diagnostic{file_, line, std::move(message)});
}

void Reporter::finish() {
  if (out_ != nullptr && dropped_ > 0) {
    out_->push_back(Diagnostic{file_, 0, std::to_string(dropped_) + " more warnings not shown"});
    dropped_ = 0;
  }
}

std::vector<std::string_view> split_words(std::string_view text, std::string_view separators) {
  std::vector<std::string_view> words;
  std::size_t pos = 0;
  while (pos < text.size()) {
    pos = text.find_first_not_of(separators, pos);
    if (pos == std::string_view::npos) break;
    auto end = text.find_first_of(separators, pos);
    if (end == std::string_view::npos) end = text.size();
    words.push_back(text.substr(pos, end - pos));
    pos = end;
  }
  return words;
}

std::string quote(std::string_view text) {
  constexpr std::size_t kMax = 60;
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out = "'";
  for (std::size_t i = 0; i < text.size() && i < kMax; ++i) {
    auto c = static_cast<unsigned char>(text[i]);
    if (c >= 0x20 && c < 0x7f && c != '\\') {
      out += static_cast<char>(c);
    } else {
      out += "\\x";
      out += kHex[c >> 4];
      out += kHex[c & 0xf];
    }
  }
  if (text.size() > kMax) out += "...";
  out += '\'';
  return out;
}

std::string to_lower(std::string_view text) {
  std::string out(text);
  for (auto& c : out)
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
  return out;
}

bool iequals(std::string_view a, std::string_view b) noexcept {
  if (a.size() != b.size()) return false;
  for (std::size_t i = 0; i < a.size(); ++i) {
    char x = a[i], y = b[i];
    if (x >= 'A' && x <= 'Z') x = static_cast<char>(x - 'A' + 'a');
    if (y >= 'A' && y <= 'Z') y = static_cast<char>(y - 'A' + 'a');
    if (x != y) return false;
  }
  return true;
}

}  // namespace heyes::dns::detail
