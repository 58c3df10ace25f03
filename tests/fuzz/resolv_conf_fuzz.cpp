// SPDX-License-Identifier: MIT
// Fuzz target: resolv.conf text (lenient and strict), the options syntax, the environment step, search candidates.
#include <string>

#include "dns/config_detail.hpp"
#include "fuzz_support.hpp"
#include "heyes/dns/config.hpp"

namespace {

using heyes::fuzz::require;

// What every parse must leave, whatever the input.
void check_config(const heyes::dns::ResolverConfig& c) {
  require(!c.nameservers.empty() && c.nameservers.size() <= 3, "1..3 nameservers");
  for (const auto& ns : c.nameservers) require(ns.port == 53, "resolv.conf servers use port 53");
  require(c.ndots >= 0 && c.ndots <= 15, "ndots in 0..15");
  require(c.timeout.count() >= 1 && c.timeout.count() <= 30, "timeout in 1..30");
  require(c.attempts >= 1 && c.attempts <= 5, "attempts in 1..5");
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  auto text = heyes::fuzz::as_text(data, size);
  auto lenient = heyes::dns::parse_resolv_conf(text, "fuzz.conf", heyes::ParseMode::lenient);
  check_config(lenient.value);
  require(lenient.warnings.size() <= 101, "warnings are bounded");

  // Strict: either the same configuration or a ParseError naming a line.
  try {
    auto strict = heyes::dns::parse_resolv_conf(text, "fuzz.conf", heyes::ParseMode::strict);
    check_config(strict.value);
    require(strict.value.search == lenient.value.search, "strict agrees with lenient");
  } catch (const heyes::ParseError& e) {
    require(e.diagnostic().line >= 1, "strict errors name a line");
  }

  // The same text as RES_OPTIONS and LOCALDOMAIN on top of the parse.
  std::string env(text.substr(0, text.find('\0')));
  auto config = lenient.value;
  heyes::dns::detail::apply_environment(config, {env.c_str(), env.c_str(), env}, nullptr);
  check_config(config);

  // Search candidates of a few names under this configuration.
  for (const char* name : {"www", "a.b", "a.b.c.d", "x."}) {
    for (const auto& candidate : heyes::dns::candidate_names(name, config))
      require(!heyes::dns::validate_host_name(candidate), "candidates are valid names");
  }
  return 0;
}
