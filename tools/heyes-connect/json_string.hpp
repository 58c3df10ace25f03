// SPDX-License-Identifier: MIT
// A JSON string literal of any bytes: heyes-connect's --json lines and the lab's comparison program.
#pragma once

#include <cstdio>
#include <string>
#include <string_view>

namespace heyes::tool {

// s quoted as a JSON string: quote and backslash escaped, control bytes and
// DEL as \u00XX. Other bytes pass through (UTF-8 stays UTF-8; heyes' own
// text is ASCII).
inline std::string json_string(std::string_view s) {
  std::string out = "\"";
  for (unsigned char c : s) {
    if (c == '"' || c == '\\') {
      out += '\\';
      out += static_cast<char>(c);
    } else if (c < 0x20 || c == 0x7f) {
      char buf[8];
      std::snprintf(buf, sizeof buf, "\\u%04x", c);
      out += buf;
    } else {
      out += static_cast<char>(c);
    }
  }
  return out + "\"";
}

}  // namespace heyes::tool
