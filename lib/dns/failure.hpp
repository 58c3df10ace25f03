// SPDX-License-Identifier: MIT
// How a DNS question failed, as the search walk needs to know it (private).
#pragma once

#include <system_error>

namespace heyes::dns::detail {

// What the servers (or this host) did when a question got no usable
// answer; the lookup plan's search walk decides from it.
enum class FailureKind {
  unanswered,   // timeouts, REFUSED or NOTIMP, malformed answers: the servers are no help
  servfail,     // a server answered SERVFAIL: it works, this name's zone does not
  unreachable,  // every try met ICMP port unreachable: no server is there
  local,        // this host could not send (out of descriptors or buffers): the error says which
};

// Errors of this host, not of the network or the servers: EMFILE, ENFILE,
// ENOBUFS, ENOMEM. Reported as they are, and no other server or name can help.
inline bool is_local_failure(std::error_code ec) noexcept {
  return ec == std::errc::too_many_files_open || ec == std::errc::too_many_files_open_in_system ||
         ec == std::errc::no_buffer_space || ec == std::errc::not_enough_memory;
}

}  // namespace heyes::dns::detail
