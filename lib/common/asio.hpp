// SPDX-License-Identifier: MIT
// The asio of the library's sources: heyes/detail/asio.hpp plus what only lib/ uses.
#pragma once

#include "heyes/detail/asio.hpp"

#if defined(HEYES_ASIO_BOOST)

#include <boost/asio/bind_executor.hpp>
#include <boost/asio/connect.hpp>
#include <boost/asio/ip/address.hpp>
#include <boost/asio/ip/udp.hpp>
#include <boost/asio/read.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/strand.hpp>
#include <boost/asio/write.hpp>

// Inside the library errors are std::error_code. These let Boost.Asio's
// error enums convert to one (through boost::system::error_code's
// conversion) and compare with one, as standalone Asio's do:
// ec == asio::error::operation_aborted. Private: a user's program may bridge
// them its own way.
template <>
struct std::is_error_code_enum<boost::asio::error::basic_errors> : std::true_type {};
template <>
struct std::is_error_code_enum<boost::asio::error::misc_errors> : std::true_type {};

#else

#include <asio/bind_executor.hpp>
#include <asio/connect.hpp>
#include <asio/ip/address.hpp>
#include <asio/ip/udp.hpp>
#include <asio/read.hpp>
#include <asio/steady_timer.hpp>
#include <asio/strand.hpp>
#include <asio/write.hpp>

#endif
