// SPDX-License-Identifier: MIT
// Conversions between heyes::IpAddress / Nameserver and asio endpoints (private to lib/).
#pragma once

#include <asio/ip/address.hpp>
#include <asio/ip/tcp.hpp>
#include <asio/ip/udp.hpp>

#include <algorithm>
#include <string>

#include <fmt/format.h>

#include "heyes/address.hpp"
#include "heyes/dns/config.hpp"

namespace heyes::dns::detail {

inline asio::ip::address to_asio(const IpAddress& a) {
  if (a.is_v4()) return asio::ip::address_v4(a.v4_bytes());
  asio::ip::address_v6::bytes_type b;
  std::copy(a.bytes().begin(), a.bytes().end(), b.begin());
  return asio::ip::address_v6(b, a.scope_id());
}

inline IpAddress from_asio(const asio::ip::address& a) {
  if (a.is_v4()) return IpAddress::v4(a.to_v4().to_bytes());
  const auto v6 = a.to_v6();
  if (v6.is_v4_mapped()) return IpAddress::v4(asio::ip::make_address_v4(asio::ip::v4_mapped, v6).to_bytes());
  IpAddress::Bytes b;
  const auto src = v6.to_bytes();
  std::copy(src.begin(), src.end(), b.begin());
  return IpAddress::v6(b, static_cast<std::uint32_t>(v6.scope_id()));
}

inline asio::ip::udp::endpoint udp_endpoint(const Nameserver& ns) { return {to_asio(ns.address), ns.port}; }
inline asio::ip::tcp::endpoint tcp_endpoint(const Nameserver& ns) { return {to_asio(ns.address), ns.port}; }

// "192.0.2.53:53", "[2001:db8::53]:53" without relying on Nameserver::to_string.
inline std::string endpoint_text(const Nameserver& ns) {
  return ns.address.is_v4() ? fmt::format("{}:{}", ns.address.to_string(), ns.port)
                            : fmt::format("[{}]:{}", ns.address.to_string(), ns.port);
}

}  // namespace heyes::dns::detail
