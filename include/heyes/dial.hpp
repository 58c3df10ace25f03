// SPDX-License-Identifier: MIT
// The public dial API: async_dial (any asio completion token), blocking dial, and Dialer.
#pragma once

#include "heyes/detail/asio.hpp"

#include <chrono>
#include <memory>
#include <string>
#include <string_view>
#include <system_error>
#include <type_traits>
#include <vector>

#include "heyes/dial/options.hpp"
#include "heyes/error.hpp"
#include "heyes/trace.hpp"

namespace heyes {

struct DialerOptions;  // heyes/dial/dialer_options.hpp
namespace dns {
class Resolver;  // heyes/dns/resolver.hpp
}
namespace race {
class History;  // heyes/race/history.hpp
}
namespace detail {
struct DialerState;  // what the dials of one Dialer share (private)

// What async_dial takes as ex: an asio executor (any_io_executor,
// io_context::executor_type, a strand, ...).
template <class T>
concept IoExecutor = asio::execution::is_executor<T>::value || asio::is_executor<T>::value;
// The options-less async_dial's token: anything but DialOptions.
template <class T>
concept NotDialOptions = !std::is_same_v<std::remove_cvref_t<T>, DialOptions>;
}  // namespace detail

// The socket of a dial on an executor of type Executor, as asio's own
// operations make it: basic_stream_socket<tcp, Executor>; for an
// any_io_executor that is asio::ip::tcp::socket.
template <class Executor>
using dial_socket_t = typename asio::ip::tcp::socket::template rebind_executor<Executor>::other;

// Everything a dial found out. On failure socket is closed, endpoint is
// default, and failures holds every address's cause.
struct DialResult {
  explicit DialResult(asio::ip::tcp::socket s) : socket(std::move(s)) {}

  asio::ip::tcp::socket socket;
  asio::ip::tcp::endpoint endpoint;                // the winner
  Trace trace{false};                              // the timeline (when DialOptions::keep_trace)
  std::vector<AttemptFailure> failures;      // per address, in the order they failed
  std::chrono::microseconds elapsed{0};            // from the start of the dial to its end
};

// What the throwing blocking forms throw: a system_error that keeps the
// per-address causes and the timeline.
class DialError : public std::system_error {
 public:
  DialError(std::error_code ec, const std::string& what, std::vector<AttemptFailure> failures, Trace trace);
  const std::vector<AttemptFailure>& failures() const noexcept { return failures_; }
  const Trace& trace() const noexcept { return trace_; }

 private:
  std::vector<AttemptFailure> failures_;
  Trace trace_;
};

// Holds what should outlive one dial: the resolver with its cache, the policy
// table, the connection history and the usable-family state. Thread-safe;
// dials in flight keep what they use alive, so a Dialer may be destroyed
// while they run.
class Dialer {
 public:
  Dialer();  // DialerOptions::from_system()
  explicit Dialer(DialerOptions options);  // include heyes/dial/dialer_options.hpp to make one

  // The process-wide Dialer of the free functions, built from the system
  // configuration on first use.
  static Dialer& default_dialer();

  // Connects to host:service (see heyes::async_dial).
  // Completion signature: void(asio_error_code, dial_socket_t<Executor>).
  template <detail::IoExecutor Executor, class CompletionToken = asio::default_completion_token_t<Executor>>
  auto async_dial(const Executor& ex, std::string_view host, std::string_view service, DialOptions options = {},
                  CompletionToken&& token = CompletionToken());

  // As async_dial, with everything the dial found out (its socket is an
  // asio::ip::tcp::socket on ex, whatever ex's type).
  // Completion signature: void(asio_error_code, heyes::DialResult).
  template <detail::IoExecutor Executor, class CompletionToken = asio::default_completion_token_t<Executor>>
  auto async_dial_result(const Executor& ex, std::string_view host, std::string_view service,
                         DialOptions options = {}, CompletionToken&& token = CompletionToken());

  // Blocking forms: the dial runs on a private io_context (the calling thread
  // waits), and the socket is handed over to ex. The throwing ones throw DialError.
  asio::ip::tcp::socket dial(const asio::any_io_executor& ex, std::string_view host, std::string_view service,
                             const DialOptions& options = {});
  asio::ip::tcp::socket dial(const asio::any_io_executor& ex, std::string_view host, std::string_view service,
                             const DialOptions& options, std::error_code& ec);
  DialResult dial_result(const asio::any_io_executor& ex, std::string_view host, std::string_view service,
                         const DialOptions& options, std::error_code& ec);

  // Re-reads now every system file this Dialer follows (DialerOptions::
  // from_system(); docs/config.md), changed or not; dials that start
  // afterwards use what was read, dials in flight keep what they had. A file
  // that cannot be read or is malformed keeps its part as it was (told to
  // DialerOptions::config_diagnostics). True when something new was taken
  // (then the resolver, and its cache, are new).
  bool reload();

  // What the dials starting now use (a later change of the system files
  // replaces them; those returned stay valid).
  std::shared_ptr<dns::Resolver> resolver() const;
  std::shared_ptr<const PolicyTable> policy() const;
  race::History* history() const noexcept;  // null when DialerOptions::history is off

 private:
  std::shared_ptr<detail::DialerState> state_;
};

// Connects a TCP socket to host:service with Happy Eyeballs v2 (RFC 8305),
// using the default Dialer.
//
// host: a name (resolved with AAAA and A queries in flight at once) or an
// address literal (no DNS). service: a port number or a service name from
// /etc/services (no DNS).
//
// Completion Signature: void(asio_error_code, dial_socket_t<Executor>):
// void(std::error_code, asio::ip::tcp::socket) for an any_io_executor on
// standalone Asio; void(boost::system::error_code, ...) on Boost.Asio (a
// heyes error compares with ec == heyes::errc::timed_out there too). The
// socket uses ex; its type follows ex's (basic_stream_socket<tcp, Executor>).
// Errors: heyes::errc::bad_host_name, bad_service, host_not_found,
// no_address, family_unavailable, all_attempts_failed, timed_out, the DNS
// errors, or asio::error::operation_aborted.
//
// The token defaults to asio::default_completion_token_t<Executor>.
//
// Per-Operation Cancellation: terminal, partial and total cancellation stop
// the DNS lookup and every attempt; every socket is closed before the
// operation completes with asio::error::operation_aborted. (Boost.Asio
// before 1.77 has no cancellation slots: there the timeout ends a dial.)
//
// The handler is never called from inside this function. The operation runs
// on its own strand over ex, so ex may be a multi-threaded io_context.
//
// Example:
//   heyes::async_dial(ioc.get_executor(), "example.com", "https", {},
//       [](std::error_code ec, asio::ip::tcp::socket s) { ... });
template <detail::IoExecutor Executor, class CompletionToken = asio::default_completion_token_t<Executor>>
auto async_dial(const Executor& ex, std::string_view host, std::string_view service, DialOptions options = {},
                CompletionToken&& token = CompletionToken());

// async_dial with the default DialOptions.
template <detail::IoExecutor Executor, detail::NotDialOptions CompletionToken>
auto async_dial(const Executor& ex, std::string_view host, std::string_view service, CompletionToken&& token);

// As async_dial, with everything the dial found out (winner, trace, causes).
// Completion Signature: void(asio_error_code, heyes::DialResult); the
// socket in it is an asio::ip::tcp::socket on ex.
template <detail::IoExecutor Executor, class CompletionToken = asio::default_completion_token_t<Executor>>
auto async_dial_result(const Executor& ex, std::string_view host, std::string_view service,
                       DialOptions options = {}, CompletionToken&& token = CompletionToken());

// Blocking dial with the default Dialer; throws heyes::DialError (a std::system_error).
asio::ip::tcp::socket dial(const asio::any_io_executor& ex, std::string_view host, std::string_view service,
                           const DialOptions& options = {});
asio::ip::tcp::socket dial(asio::io_context& ioc, std::string_view host, std::string_view service,
                           const DialOptions& options = {});
// Blocking dial that reports errors through ec.
asio::ip::tcp::socket dial(const asio::any_io_executor& ex, std::string_view host, std::string_view service,
                           const DialOptions& options, std::error_code& ec);
asio::ip::tcp::socket dial(asio::io_context& ioc, std::string_view host, std::string_view service,
                           const DialOptions& options, std::error_code& ec);

// The port of a service: a decimal number 1..65535 or a name from
// /etc/services (getservbyname_r, TCP; no DNS). heyes::errc::bad_service otherwise.
std::uint16_t resolve_service(std::string_view service, std::error_code& ec);

}  // namespace heyes

#include "heyes/dial/impl/async_dial.hpp"
