// SPDX-License-Identifier: MIT
// Helpers of the fuzz targets: invariant checks that abort (a crash to libFuzzer), input splitting.
#pragma once

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string_view>
#include <utility>

namespace heyes::fuzz {

// An invariant of the parser under test: a violation is a bug, so abort
// (libFuzzer records the input as a crash; the replay test fails).
inline void require(bool ok, const char* what) {
  if (ok) return;
  std::fprintf(stderr, "fuzz invariant violated: %s\n", what);
  std::abort();
}

inline std::string_view as_text(const std::uint8_t* data, std::size_t size) {
  return {reinterpret_cast<const char*>(data), size};
}

// Splits at the first '\n': {before, after} (after is empty without one).
inline std::pair<std::string_view, std::string_view> split_first_line(std::string_view text) {
  auto nl = text.find('\n');
  if (nl == std::string_view::npos) return {text, {}};
  return {text.substr(0, nl), text.substr(nl + 1)};
}

}  // namespace heyes::fuzz
