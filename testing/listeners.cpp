// SPDX-License-Identifier: MIT
// Working and silently broken TCP listeners on plain POSIX sockets.
#include "testing/listeners.hpp"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <string>
#include <system_error>
#include <utility>

namespace heyes::testing {
namespace {

[[noreturn]] void throw_errno(const std::string& what) {
  throw std::system_error(errno, std::system_category(), what);
}

// The sockaddr of address:port; returns its length.
socklen_t make_sockaddr(const IpAddress& address, std::uint16_t port, sockaddr_storage& ss) {
  std::memset(&ss, 0, sizeof ss);
  if (address.is_v4()) {
    auto* sin = reinterpret_cast<sockaddr_in*>(&ss);
    sin->sin_family = AF_INET;
    sin->sin_port = htons(port);
    auto b = address.v4_bytes();
    std::memcpy(&sin->sin_addr, b.data(), 4);
    return sizeof(sockaddr_in);
  }
  auto* sin6 = reinterpret_cast<sockaddr_in6*>(&ss);
  sin6->sin6_family = AF_INET6;
  sin6->sin6_port = htons(port);
  sin6->sin6_scope_id = address.scope_id();
  std::memcpy(&sin6->sin6_addr, address.bytes().data(), 16);
  return sizeof(sockaddr_in6);
}

// A bound, listening socket; returns the fd and stores the port.
int open_listener(const IpAddress& address, std::uint16_t& port, int backlog) {
  int fd = ::socket(address.is_v4() ? AF_INET : AF_INET6, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) throw_errno("socket");
  int one = 1;
  if (address.is_v6() && ::setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof one) != 0) {
    int e = errno;
    ::close(fd);
    errno = e;
    throw_errno("setsockopt IPV6_V6ONLY");
  }
  sockaddr_storage ss;
  socklen_t len = make_sockaddr(address, port, ss);
  if (::bind(fd, reinterpret_cast<sockaddr*>(&ss), len) != 0 || ::listen(fd, backlog) != 0 ||
      ::getsockname(fd, reinterpret_cast<sockaddr*>(&ss), &len) != 0) {
    int e = errno;
    ::close(fd);
    errno = e;
    throw_errno("listen on " + address.to_string() + " port " + std::to_string(port));
  }
  port = ntohs(address.is_v4() ? reinterpret_cast<sockaddr_in*>(&ss)->sin_port
                               : reinterpret_cast<sockaddr_in6*>(&ss)->sin6_port);
  return fd;
}

// A blocking connect (loopback: completes at once since the queue has room).
int connect_to(const IpAddress& address, std::uint16_t port) {
  int fd = ::socket(address.is_v4() ? AF_INET : AF_INET6, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) throw_errno("socket");
  sockaddr_storage ss;
  socklen_t len = make_sockaddr(address, port, ss);
  if (::connect(fd, reinterpret_cast<sockaddr*>(&ss), len) != 0) {
    int e = errno;
    ::close(fd);
    errno = e;
    throw_errno("connect to fill the queue");
  }
  return fd;
}

}  // namespace

Listener Listener::working(const IpAddress& address, std::uint16_t port) {
  Listener l;
  l.address_ = address;
  l.port_ = port;
  l.fd_ = open_listener(address, l.port_, SOMAXCONN);
  return l;
}

Listener Listener::broken(const IpAddress& address, std::uint16_t port) {
  Listener l;
  l.address_ = address;
  l.port_ = port;
  // Backlog 0 holds one connection; that one is made now and never
  // accepted, so every later SYN finds the queue full and is dropped.
  l.fd_ = open_listener(address, l.port_, 0);
  l.filler_fd_ = connect_to(address, l.port_);
  return l;
}

Listener::Listener(Listener&& other) noexcept
    : fd_(std::exchange(other.fd_, -1)),
      filler_fd_(std::exchange(other.filler_fd_, -1)),
      address_(other.address_),
      port_(other.port_) {}

Listener& Listener::operator=(Listener&& other) noexcept {
  if (this != &other) {
    close();
    fd_ = std::exchange(other.fd_, -1);
    filler_fd_ = std::exchange(other.filler_fd_, -1);
    address_ = other.address_;
    port_ = other.port_;
  }
  return *this;
}

Listener::~Listener() { close(); }

void Listener::close() noexcept {
  if (filler_fd_ >= 0) ::close(filler_fd_);
  if (fd_ >= 0) ::close(fd_);
  fd_ = filler_fd_ = -1;
}

int Listener::accept_pending() {
  if (fd_ < 0 || filler_fd_ >= 0) return 0;
  // Non-blocking listener: an empty queue ends the loop instead of waiting.
  int flags = ::fcntl(fd_, F_GETFL);
  if (flags >= 0 && !(flags & O_NONBLOCK)) ::fcntl(fd_, F_SETFL, flags | O_NONBLOCK);
  int count = 0;
  // Bounded: the queue holds at most SOMAXCONN connections.
  for (int i = 0; i < 4096; ++i) {
    int c = ::accept4(fd_, nullptr, nullptr, SOCK_NONBLOCK | SOCK_CLOEXEC);
    if (c < 0) break;
    ::close(c);
    ++count;
  }
  return count;
}

BrokenIpv6Setup make_broken_ipv6_setup() {
  auto v4 = *IpAddress::parse("127.0.0.1");
  auto v6 = *IpAddress::parse("::1");
  std::system_error last(std::make_error_code(std::errc::address_in_use), "no free port pair");
  // The working listener takes an ephemeral port; [::1] on the same port is
  // usually free (separate families); try a few times when it is not.
  for (int i = 0; i < 16; ++i) {
    Listener working = Listener::working(v4);
    try {
      Listener broken = Listener::broken(v6, working.port());
      return BrokenIpv6Setup{std::move(working), std::move(broken)};
    } catch (const std::system_error& e) {
      if (e.code() != std::errc::address_in_use) throw;
      last = e;
    }
  }
  throw last;
}

bool have_ipv6_loopback() {
  int fd = ::socket(AF_INET6, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return false;
  sockaddr_storage ss;
  socklen_t len = make_sockaddr(*IpAddress::parse("::1"), 0, ss);
  bool ok = ::bind(fd, reinterpret_cast<sockaddr*>(&ss), len) == 0;
  ::close(fd);
  return ok;
}

}  // namespace heyes::testing
