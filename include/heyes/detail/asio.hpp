// SPDX-License-Identifier: MIT
// The asio heyes is built on, as heyes::asio: standalone Asio (::asio) or Boost.Asio (::boost::asio).
#pragma once

// The flavour is a compile definition that heyes.pc / heyes-boost.pc, the
// CMake targets and the meson dependency carry (meson option asio): without
// HEYES_ASIO_BOOST, standalone Asio. The library and every file including
// heyes' headers must agree, as they must on ASIO_STANDALONE.
//
// Code inside namespace heyes writes asio::... and gets the flavour's asio;
// no alias is put in the global namespace, so a program may use Boost.Asio
// and standalone Asio side by side.

#include <system_error>

#if defined(HEYES_ASIO_BOOST)

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/associated_allocator.hpp>
#include <boost/asio/associated_executor.hpp>
#include <boost/asio/async_result.hpp>
#include <boost/asio/dispatch.hpp>
#include <boost/asio/error.hpp>
#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/system/error_code.hpp>
// Per-operation cancellation came with asio 1.20 (Boost 1.77); Boost 1.74
// (Debian 12) has no cancellation slots.
#if __has_include(<boost/asio/associated_cancellation_slot.hpp>)
#include <boost/asio/associated_cancellation_slot.hpp>
#include <boost/asio/cancellation_type.hpp>
#define HEYES_ASIO_HAS_CANCELLATION_SLOT 1
#else
#define HEYES_ASIO_HAS_CANCELLATION_SLOT 0
#endif

namespace heyes {
namespace asio = ::boost::asio;
// The error_code of asio's own interfaces (its completion signatures and
// error_code& overloads). heyes' own errors are std::error_code.
using asio_error_code = ::boost::system::error_code;

enum class errc;  // heyes/error.hpp

// Conversions between heyes' std::error_code and the flavour's error_code.
namespace flavour {
// std::error_code to boost::system::error_code: std's system and generic
// categories become Boost's, any other category (heyes::errc, ...) is
// carried by a Boost category of the same name and messages. Boost 1.74
// converts the other way only.
asio_error_code to_asio_error(const std::error_code& ec) noexcept;
// The way back: a code of to_asio_error's own categories is the original
// std::error_code again (heyes::errc::timed_out, ...), others convert as
// Boost converts them.
std::error_code to_std_error(const asio_error_code& ec) noexcept;

// asio::error::operation_aborted as the std::error_code that a Boost.Asio
// operation's error converts to (Boost's category seen through std).
inline std::error_code operation_aborted() noexcept { return asio_error_code(asio::error::operation_aborted); }
}  // namespace flavour

// ec == heyes::errc::timed_out for the Boost error codes of completion
// handlers (Boost.System has no std::is_error_code_enum bridge).
bool operator==(const asio_error_code& ec, errc e) noexcept;
}  // namespace heyes

#else  // standalone Asio

#include <asio/any_io_executor.hpp>
#include <asio/associated_allocator.hpp>
#include <asio/associated_cancellation_slot.hpp>
#include <asio/associated_executor.hpp>
#include <asio/async_result.hpp>
#include <asio/cancellation_type.hpp>
#include <asio/dispatch.hpp>
#include <asio/error.hpp>
#include <asio/executor_work_guard.hpp>
#include <asio/io_context.hpp>
#include <asio/ip/tcp.hpp>
#include <asio/post.hpp>

#define HEYES_ASIO_HAS_CANCELLATION_SLOT 1

namespace heyes {
namespace asio = ::asio;
using asio_error_code = std::error_code;

namespace flavour {  // identities here: the error_code is std's
inline const std::error_code& to_asio_error(const std::error_code& ec) noexcept { return ec; }
inline const std::error_code& to_std_error(const std::error_code& ec) noexcept { return ec; }
inline std::error_code operation_aborted() noexcept { return asio::error::operation_aborted; }
}  // namespace flavour
}  // namespace heyes

#endif
