// SPDX-License-Identifier: MIT
// Conversions between heyes::IpAddress and the socket API's sockaddr (private to lib/).
#pragma once

#include <sys/socket.h>

#include <cstdint>
#include <optional>

#include "heyes/address.hpp"

namespace heyes::detail {

// Fills out with a sockaddr_in (IPv4) or sockaddr_in6 (IPv6, with its scope)
// for a and port (host order); returns the length to pass to the socket call.
socklen_t to_sockaddr(const IpAddress& a, std::uint16_t port, sockaddr_storage& out) noexcept;

// The address of an AF_INET or AF_INET6 sockaddr; nullopt for a null
// pointer or any other family. sa must be as long as its family says.
std::optional<IpAddress> from_sockaddr(const sockaddr* sa) noexcept;

}  // namespace heyes::detail
