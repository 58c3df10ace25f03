// SPDX-License-Identifier: MIT
// heyes-connect's input files: a named file must be readable, every file's warnings are printed once on stderr.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "cli.hpp"

namespace heyes_connect {

// A file named by option must be readable: else UsageError
// "option '--hosts': FILE: cannot read file: REASON" (strerror).
void check_readable(const std::string& file, std::string_view option);

// "heyes-connect: warning: file:line: reason" on stderr, one line each.
void print_warnings(const std::vector<heyes::Diagnostic>& warnings);

// --policy FILE (strict), --policy none (the RFC 6724 table), or the
// system's (/etc/gai.conf leniently, its warnings printed). Throws
// heyes::ParseError naming file:line.
heyes::PolicyTable policy_of(const Options& options);

}  // namespace heyes_connect
