// SPDX-License-Identifier: MIT
// heyes error codes: an enum with its own std::error_category and std::errc equivalents.
#pragma once

#include <string>
#include <system_error>

#include "heyes/address.hpp"

namespace heyes {

// Every error heyes itself reports. System errors from sockets (connection
// refused, network unreachable, ...) keep their own std::system_category codes.
enum class errc {
  no_address = 1,        // the name resolved, but to no usable address
  all_attempts_failed,   // every address was tried and failed; causes are in the result
  timed_out,             // the overall timeout fired
  bad_host_name,         // host name syntax is invalid (length, labels, characters)
  bad_service,           // port or service name is invalid or unknown
  host_not_found,        // NXDOMAIN (or not in hosts and no DNS answer)
  no_data,               // the name exists but has no record of this type (NODATA)
  dns_server_failure,    // every nameserver failed (SERVFAIL, REFUSED, NOTIMP, unreachable)
  dns_timeout,           // no nameserver answered within timeout x attempts
  dns_bad_response,      // a response was malformed or did not match the query
  family_unavailable,    // the family restriction or the local address left no candidate
  parse_error,           // a configuration file or argument could not be parsed
  attempt_abandoned,     // one attempt was closed at the in-flight cap to make room for a newer one
  attempt_timed_out,     // one attempt reached the per-attempt timeout
  internal_error,        // heyes itself failed (an unexpected exception), reported instead of thrown
  name_service_failure,  // an nsswitch.conf service other than files and dns (or getaddrinfo) failed or did not answer in time
};

const std::error_category& category() noexcept;

// The enumerator's own name ("all_attempts_failed"): a stable machine-readable
// code, e.g. for heyes-connect --json; "unknown" for a value outside the enum.
const char* errc_name(errc e) noexcept;

// Why one address failed: the per-address detail of all_attempts_failed and timed_out.
struct AttemptFailure {
  IpAddress address;
  std::error_code error;
};

inline std::error_code make_error_code(errc e) noexcept {
  return {static_cast<int>(e), category()};
}

}  // namespace heyes

template <>
struct std::is_error_code_enum<heyes::errc> : std::true_type {};
