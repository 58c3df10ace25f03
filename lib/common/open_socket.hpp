// SPDX-License-Identifier: MIT
// Sockets opened close-on-exec: ::socket with SOCK_CLOEXEC, handed to asio (private to lib/).
#pragma once

#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <system_error>

#include "common/asio.hpp"
#include "heyes/detail/socket_handover.hpp"

namespace heyes::detail {

// Opens s (closed) for protocol as asio's open() would, but with
// SOCK_CLOEXEC set by the same call: asio opens without it, so a fork and
// exec elsewhere in the process, even on another thread between an open
// and a later fcntl, would hand the child every socket heyes has open.
// Non-blocking from the start too (asio would make it so for its first
// asynchronous operation anyway). Errors are in std::system_category.
template <class Socket, class Protocol>
std::error_code open_cloexec(Socket& s, const Protocol& protocol) {
  const int fd = ::socket(protocol.family(), protocol.type() | SOCK_NONBLOCK | SOCK_CLOEXEC, protocol.protocol());
  if (fd < 0) return {errno, std::system_category()};
  asio_error_code ec;
  s.assign(protocol, fd, ec);
  if (ec) {
    ::close(fd);
    return ec;
  }
  // A descriptor of our own, non-blocking: as asio's open() would leave it,
  // so no ioctl before the first operation and no epoll_ctl at close.
  mark_as_opened_by_asio(s);
  return ec;
}

}  // namespace heyes::detail
