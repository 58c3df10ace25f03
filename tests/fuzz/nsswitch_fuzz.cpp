// SPDX-License-Identifier: MIT
// Fuzz target: nsswitch.conf text (lenient and strict), the hosts: sources' bounds and names, to_string round trips.
#include <string>

#include "fuzz_support.hpp"
#include "heyes/dns/nsswitch.hpp"

namespace {

using heyes::fuzz::require;

// What every parse must leave, whatever the input.
void check_sources(const heyes::dns::HostsSources& s) {
  require(s.sources.size() <= 32, "at most 32 sources");
  if (s.is_default) require(s.sources == heyes::dns::HostsSources::glibc_default().sources, "the default is glibc's");
  for (const auto& source : s.sources) {
    require(!source.name.empty(), "source names are not empty");
    require(source.name.size() <= 4096, "source names are bounded by the line");
    require(source.name.find_first_of(std::string(" \t\n\v\f\r[\0", 8)) == std::string::npos,
            "source names hold no blank, '[' or NUL");
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  auto text = heyes::fuzz::as_text(data, size);
  auto lenient = heyes::dns::parse_nsswitch_hosts(text, "fuzz.conf", heyes::ParseMode::lenient);
  check_sources(lenient.value);
  require(lenient.warnings.size() <= 101, "warnings are bounded");
  // Each quoted word is at most 60 bytes, each written as \xNN at worst.
  for (const auto& w : lenient.warnings) require(w.message.size() < 1024, "messages are bounded");

  // Strict: either the same sources or a ParseError naming a line.
  try {
    auto strict = heyes::dns::parse_nsswitch_hosts(text, "fuzz.conf", heyes::ParseMode::strict);
    require(strict.value == lenient.value, "strict agrees with lenient");
  } catch (const heyes::ParseError& e) {
    require(e.diagnostic().line >= 1, "strict errors name a line");
  }

  // Written back in nsswitch syntax, the line reads as the same sources
  // (when it fits in a line: "a[NOTFOUND=return]b" is written with blanks,
  // so a line near the 4096-byte bound may come back longer than it).
  auto written = lenient.value.to_string();
  if (written.size() + 8 <= 4096) {
    auto again = heyes::dns::parse_nsswitch_hosts("hosts: " + written + "\n", "again", heyes::ParseMode::lenient);
    require(again.value.sources == lenient.value.sources, "parse(to_string(x)) == x");
    require(!again.value.is_default, "a written line is not the default");
    require(again.value.to_string() == written, "to_string is stable");
  }

  // The first line alone as a hosts: line, whatever it holds.
  auto [first, rest] = heyes::fuzz::split_first_line(text);
  (void)rest;
  auto line = heyes::dns::parse_nsswitch_hosts("hosts: " + std::string(first) + "\n", "line");
  check_sources(line.value);
  return 0;
}
