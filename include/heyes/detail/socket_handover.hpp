// SPDX-License-Identifier: MIT
// Handing a socket over between asio socket types without a system call (private to heyes).
#pragma once

#include <type_traits>

#include "heyes/detail/asio.hpp"

namespace heyes::detail {

// asio's implementation of a socket object: its descriptor, its state flags
// and its registration with the execution context's reactor. It is the
// protected member basic_socket::impl_ (asio and Boost.Asio alike), reached
// the one way the language allows from outside: a pointer to member formed
// through a class derived from the socket's.
template <class Socket>
auto& socket_impl(Socket& s) {
  struct Access : Socket {
    static constexpr auto member() { return &Access::impl_; }
  };
  return s.*Access::member();
}

// Moves from's open descriptor into to (closed) when both sockets are served
// by the same socket service, that is, the same execution context: the
// reactor's registration moves along with it, as in asio's own move between
// sockets of one executor type. What asio's public interface offers between
// sockets of different executor types (release() then assign()) costs three
// epoll_ctl calls a dial: deregistration, registration, and one more at
// close for a descriptor asio must then assume duplicated. False, and
// nothing moved, when the services differ; to keeps its own executor.
template <class From, class To>
bool move_within_context(From& from, To& to) {
  auto& f = socket_impl(from);
  auto& t = socket_impl(to);
  if constexpr (std::is_same_v<std::remove_reference_t<decltype(f.get_service())>,
                               std::remove_reference_t<decltype(t.get_service())>>) {
    if (&f.get_service() != &t.get_service() || to.is_open()) return false;
    // A closed socket's reactor data is never read; giving it a value
    // anyway lets the compiler see that (-Wmaybe-uninitialized).
    if constexpr (requires { t.get_implementation().reactor_data_ = {}; }) t.get_implementation().reactor_data_ = {};
    t.get_service().move_assign(t.get_implementation(), f.get_service(), f.get_implementation());
    return true;
  } else {
    return false;
  }
}

// Tells asio that s's descriptor (just assigned) is one it might have opened
// itself: non-blocking already (opened with SOCK_NONBLOCK, so its first
// asynchronous operation needs no ioctl) and not a duplicate of another
// descriptor (so closing it needs no explicit deregistration from epoll,
// since close() ends the registration of a description no one else holds).
// Only for a descriptor the caller has just created and shares with nobody.
template <class Socket>
void mark_as_opened_by_asio(Socket& s) {
  auto& impl = socket_impl(s).get_implementation();
  if constexpr (requires { impl.state_; }) {
    namespace ops = asio::detail::socket_ops;
    impl.state_ = static_cast<ops::state_type>((impl.state_ & ~ops::possible_dup) | ops::internal_non_blocking);
  }
}

}  // namespace heyes::detail
