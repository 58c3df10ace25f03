// SPDX-License-Identifier: MIT
// Formatting of parser diagnostics.
#include "heyes/diagnostic.hpp"

namespace heyes {

std::string Diagnostic::to_string() const {
  std::string out = file.empty() ? std::string("<input>") : file;
  if (line > 0) out += ':' + std::to_string(line);
  out += ": ";
  out += message;
  return out;
}

ParseError::ParseError(Diagnostic d) : std::runtime_error(d.to_string()), diagnostic_(std::move(d)) {}

}  // namespace heyes
