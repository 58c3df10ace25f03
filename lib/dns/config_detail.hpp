// SPDX-License-Identifier: MIT
// resolv.conf internals shared with the tests: the environment step of load_resolv_conf, injectable.
#pragma once

#include <string_view>
#include <vector>

#include "heyes/diagnostic.hpp"
#include "heyes/dns/config.hpp"

namespace heyes::dns::detail {

// What the process environment contributes, as glibc's res_init applies it
// after reading the file: LOCALDOMAIN (set, even empty, replaces the search
// list), then the domain of the host name when the search list is still
// empty, then RES_OPTIONS. A null pointer means "variable not set".
struct Environment {
  const char* localdomain = nullptr;
  const char* res_options = nullptr;
  std::string_view hostname;  // gethostname(); its part after the first '.' is the default domain
};

void apply_environment(ResolverConfig& config, const Environment& env, std::vector<Diagnostic>* warnings);
// apply_environment with this process's LOCALDOMAIN, RES_OPTIONS and host name.
void apply_process_environment(ResolverConfig& config, std::vector<Diagnostic>* warnings);

// glibc's defaults when no nameserver line is usable (see config.hpp).
std::vector<Nameserver> default_nameservers();

}  // namespace heyes::dns::detail
