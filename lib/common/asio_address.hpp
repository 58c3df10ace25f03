// SPDX-License-Identifier: MIT
// Conversions between heyes::IpAddress and asio::ip::address (private to lib/).
#pragma once

#include "common/asio.hpp"

#include "heyes/address.hpp"

namespace heyes::detail {

// IPv6 keeps its scope (zone) id.
inline asio::ip::address to_asio(const IpAddress& a) {
  if (a.is_v4()) return asio::ip::address_v4(a.v4_bytes());
  return asio::ip::address_v6(a.bytes(), a.scope_id());
}

// An IPv4-mapped IPv6 address (::ffff:a.b.c.d) comes back as IPv4.
inline IpAddress from_asio(const asio::ip::address& a) {
  if (a.is_v4()) return IpAddress::v4(a.to_v4().to_bytes());
  const auto v6 = a.to_v6();
  if (v6.is_v4_mapped()) return IpAddress::v4(asio::ip::make_address_v4(asio::ip::v4_mapped, v6).to_bytes());
  return IpAddress::v6(v6.to_bytes(), static_cast<std::uint32_t>(v6.scope_id()));
}

}  // namespace heyes::detail
