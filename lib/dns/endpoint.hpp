// SPDX-License-Identifier: MIT
// A Nameserver as an asio endpoint; the IpAddress <-> asio conversions and the close-on-exec open come from common/ (private to lib/).
#pragma once

#include "common/asio.hpp"

#include "common/asio_address.hpp"
#include "common/open_socket.hpp"
#include "heyes/dns/config.hpp"

namespace heyes::dns::detail {

using heyes::detail::from_asio;
using heyes::detail::open_cloexec;
using heyes::detail::to_asio;

inline asio::ip::udp::endpoint udp_endpoint(const Nameserver& ns) { return {to_asio(ns.address), ns.port}; }
inline asio::ip::tcp::endpoint tcp_endpoint(const Nameserver& ns) { return {to_asio(ns.address), ns.port}; }

}  // namespace heyes::dns::detail
