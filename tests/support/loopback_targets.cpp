// SPDX-License-Identifier: MIT
// Loopback targets (accepting, refusing, black hole, a silent UDP port) and process resource probes.
#include "loopback_targets.hpp"

#include <arpa/inet.h>
#include <dirent.h>
#include <netinet/in.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

#include <asio/io_context.hpp>
#include <asio/ip/tcp.hpp>
#include <atomic>
#include <cstring>
#include <fstream>
#include <stdexcept>
#include <system_error>
#include <thread>

namespace heyes::test {
namespace {

[[noreturn]] void throw_errno(const char* what) { throw std::system_error(errno, std::generic_category(), what); }

// Socket address of a loopback literal and port 0 (an ephemeral port).
struct SockAddr {
  sockaddr_storage storage{};
  socklen_t length = 0;
};

SockAddr loopback_sockaddr(const std::string& address) {
  SockAddr a;
  auto* v4 = reinterpret_cast<sockaddr_in*>(&a.storage);
  auto* v6 = reinterpret_cast<sockaddr_in6*>(&a.storage);
  if (inet_pton(AF_INET, address.c_str(), &v4->sin_addr) == 1) {
    v4->sin_family = AF_INET;
    a.length = sizeof(sockaddr_in);
  } else if (inet_pton(AF_INET6, address.c_str(), &v6->sin6_addr) == 1) {
    v6->sin6_family = AF_INET6;
    a.length = sizeof(sockaddr_in6);
  } else {
    throw std::invalid_argument("not an address literal: " + address);
  }
  return a;
}

// A socket (TCP unless told) bound to address:0; the SockAddr is updated with the port.
int bound_socket(SockAddr& a, int type = SOCK_STREAM) {
  int fd = ::socket(a.storage.ss_family, type | SOCK_CLOEXEC, 0);
  if (fd < 0) throw_errno("socket");
  if (::bind(fd, reinterpret_cast<sockaddr*>(&a.storage), a.length) != 0 ||
      ::getsockname(fd, reinterpret_cast<sockaddr*>(&a.storage), &a.length) != 0) {
    int e = errno;
    ::close(fd);
    throw std::system_error(e, std::generic_category(), "bind");
  }
  return fd;
}

std::uint16_t port_of(const SockAddr& a) {
  if (a.storage.ss_family == AF_INET) return ntohs(reinterpret_cast<const sockaddr_in*>(&a.storage)->sin_port);
  return ntohs(reinterpret_cast<const sockaddr_in6*>(&a.storage)->sin6_port);
}

}  // namespace

struct AcceptingListener::Impl {
  asio::io_context ioc{1};
  asio::ip::tcp::acceptor acceptor{ioc};
  std::atomic<std::uint64_t> accepted{0};
  std::uint16_t port = 0;
  std::thread thread;

  // Accept, close the connection and accept again. A plain close (FIN): a
  // reset could reach the client before its connect completes and turn it
  // into "connection reset". The client closes with a reset, so neither side
  // is left in TIME_WAIT.
  void accept_next() {
    acceptor.async_accept([this](std::error_code ec, asio::ip::tcp::socket s) {
      if (ec == asio::error::operation_aborted || !acceptor.is_open()) return;
      if (!ec) {
        std::error_code ignored;
        s.close(ignored);
        accepted.fetch_add(1, std::memory_order_relaxed);
      }
      accept_next();
    });
  }
};

AcceptingListener::AcceptingListener(const std::string& address, std::function<void()> thread_init)
    : impl_(std::make_unique<Impl>()) {
  asio::ip::tcp::endpoint ep(asio::ip::make_address(address), 0);
  impl_->acceptor.open(ep.protocol());
  impl_->acceptor.bind(ep);
  impl_->acceptor.listen(asio::socket_base::max_listen_connections);
  impl_->port = impl_->acceptor.local_endpoint().port();
  impl_->accept_next();
  impl_->thread = std::thread([impl = impl_.get(), init = std::move(thread_init)] {
    if (init) init();
    impl->ioc.run();
  });
}

AcceptingListener::~AcceptingListener() {
  impl_->ioc.stop();
  impl_->thread.join();
}

std::uint16_t AcceptingListener::port() const noexcept { return impl_->port; }
std::uint64_t AcceptingListener::accepted() const noexcept { return impl_->accepted.load(); }

RefusingPort::RefusingPort(const std::string& address) {
  SockAddr a = loopback_sockaddr(address);
  fd_ = bound_socket(a);
  port_ = port_of(a);
}

RefusingPort::~RefusingPort() { ::close(fd_); }

BlackholeListener::BlackholeListener(const std::string& address) {
  SockAddr a = loopback_sockaddr(address);
  listen_fd_ = bound_socket(a);
  port_ = port_of(a);
  // listen(fd, 0): the accept queue holds one connection; fill it with a
  // blocking connect that completes once the handshake is done.
  queued_fd_ = ::socket(a.storage.ss_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (::listen(listen_fd_, 0) != 0 || queued_fd_ < 0 ||
      ::connect(queued_fd_, reinterpret_cast<sockaddr*>(&a.storage), a.length) != 0) {
    int e = errno;
    if (queued_fd_ >= 0) ::close(queued_fd_);
    ::close(listen_fd_);
    throw std::system_error(e, std::generic_category(), "black hole listener");
  }
}

BlackholeListener::~BlackholeListener() {
  ::close(queued_fd_);
  ::close(listen_fd_);
}

SilentUdpPort::SilentUdpPort(const std::string& address) {
  SockAddr a = loopback_sockaddr(address);
  fd_ = bound_socket(a, SOCK_DGRAM);
  port_ = port_of(a);
}

SilentUdpPort::~SilentUdpPort() { ::close(fd_); }

int count_open_fds() {
  DIR* d = ::opendir("/proc/self/fd");
  if (d == nullptr) return -1;
  int n = 0;
  while (dirent* e = ::readdir(d)) {
    if (e->d_name[0] != '.') ++n;
  }
  ::closedir(d);
  return n - 1;  // the directory stream's own descriptor
}

long resident_kib() {
  std::ifstream status("/proc/self/status");
  std::string line;
  while (std::getline(status, line)) {
    if (line.rfind("VmRSS:", 0) == 0) return std::strtol(line.c_str() + 6, nullptr, 10);
  }
  return -1;
}

long raise_fd_limit() {
  rlimit r{};
  if (::getrlimit(RLIMIT_NOFILE, &r) != 0) return -1;
  r.rlim_cur = r.rlim_max;
  ::setrlimit(RLIMIT_NOFILE, &r);
  ::getrlimit(RLIMIT_NOFILE, &r);
  return static_cast<long>(r.rlim_cur);
}

}  // namespace heyes::test
