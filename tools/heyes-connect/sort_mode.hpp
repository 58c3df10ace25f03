// SPDX-License-Identifier: MIT
// heyes-connect --sort: RFC 6724 order (and RFC 8305 interleaving) of the given addresses.
#pragma once

#include <cstdio>

#include "cli.hpp"

namespace heyes_connect {

// Prints the final order, one address per line, on out; policy warnings
// (lenient /etc/gai.conf) go to stderr. Throws heyes::ParseError for a bad
// --policy file. Returns the exit status.
int run_sort(const Options& options, std::FILE* out);

}  // namespace heyes_connect
