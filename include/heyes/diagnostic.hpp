// SPDX-License-Identifier: MIT
// Diagnostics of the configuration parsers (gai.conf, resolv.conf, hosts): "file:line: reason".
#pragma once

#include <stdexcept>
#include <string>
#include <vector>

namespace heyes {

// What a parser says about one input line. line is 1-based; 0 means the
// whole input (for example "cannot read file").
struct Diagnostic {
  std::string file;
  int line = 0;
  std::string message;

  // "file:line: message" (or "file: message" when line is 0).
  std::string to_string() const;
};

// Strict parsing stops at the first bad line; lenient parsing skips bad lines
// and collects a Diagnostic for each one (what glibc does silently).
enum class ParseMode { strict, lenient };

// Thrown by strict parsing; what() is diagnostic().to_string().
class ParseError : public std::runtime_error {
 public:
  explicit ParseError(Diagnostic d);
  const Diagnostic& diagnostic() const noexcept { return diagnostic_; }

 private:
  Diagnostic diagnostic_;
};

// A parser's result: the value and the warnings of lenient mode.
template <class T>
struct Parsed {
  T value;
  std::vector<Diagnostic> warnings;
};

}  // namespace heyes
