// SPDX-License-Identifier: MIT
// IpAddress <-> sockaddr_in / sockaddr_in6, copied byte-wise (no aliasing through casts).
#include "sockaddr.hpp"

#include <arpa/inet.h>
#include <netinet/in.h>

#include <array>
#include <cstring>

namespace heyes::detail {

socklen_t to_sockaddr(const IpAddress& a, std::uint16_t port, sockaddr_storage& out) noexcept {
  out = {};
  if (a.is_v4()) {
    sockaddr_in in{};
    in.sin_family = AF_INET;
    in.sin_port = htons(port);
    const auto b = a.v4_bytes();
    std::memcpy(&in.sin_addr, b.data(), b.size());
    std::memcpy(&out, &in, sizeof in);
    return sizeof in;
  }
  sockaddr_in6 in6{};
  in6.sin6_family = AF_INET6;
  in6.sin6_port = htons(port);
  std::memcpy(&in6.sin6_addr, a.bytes().data(), a.bytes().size());
  in6.sin6_scope_id = a.scope_id();
  std::memcpy(&out, &in6, sizeof in6);
  return sizeof in6;
}

std::optional<IpAddress> from_sockaddr(const sockaddr* sa) noexcept {
  if (sa == nullptr) return std::nullopt;
  if (sa->sa_family == AF_INET) {
    sockaddr_in in{};
    std::memcpy(&in, sa, sizeof in);
    std::array<std::uint8_t, 4> b{};
    std::memcpy(b.data(), &in.sin_addr, b.size());
    return IpAddress::v4(b);
  }
  if (sa->sa_family == AF_INET6) {
    sockaddr_in6 in6{};
    std::memcpy(&in6, sa, sizeof in6);
    IpAddress::Bytes b{};
    std::memcpy(b.data(), &in6.sin6_addr, b.size());
    return IpAddress::v6(b, in6.sin6_scope_id);
  }
  return std::nullopt;
}

}  // namespace heyes::detail
