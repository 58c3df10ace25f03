// SPDX-License-Identifier: MIT
// NetworkWatch: a non-blocking rtnetlink socket on the address and route groups, and the parser of what it reads.
#include "network_watch.hpp"

#include <linux/if_addr.h>
#include <linux/netlink.h>
#include <linux/rtnetlink.h>
#include <sys/socket.h>
#include <unistd.h>

#include <fmt/format.h>

#include <array>
#include <cerrno>
#include <cstring>
#include <mutex>

#include "heyes/address.hpp"

namespace heyes {
namespace {

constexpr std::size_t kHeader = NLMSG_ALIGN(sizeof(nlmsghdr));  // NLMSG_HDRLEN, unsigned

// The address of an attribute of 4 or 16 bytes, as text; empty otherwise.
std::string address_text(const std::uint8_t* data, std::size_t len) {
  if (len == 4) return IpAddress::v4({data[0], data[1], data[2], data[3]}).to_string();
  if (len == 16) {
    IpAddress::Bytes b{};
    std::memcpy(b.data(), data, 16);
    return IpAddress::v6(b).to_string();
  }
  return {};
}

// The first attribute of one of the types wanted, as an address; "" when none.
// body: the bytes after the fixed header (ifaddrmsg or rtmsg).
std::string find_address(const std::uint8_t* body, std::size_t len, unsigned short type_a, unsigned short type_b) {
  std::string b_text;
  for (std::size_t off = 0; off + sizeof(rtattr) <= len;) {
    rtattr rta{};
    std::memcpy(&rta, body + off, sizeof rta);
    if (rta.rta_len < sizeof(rtattr) || rta.rta_len > len - off) break;
    const std::size_t data_len = rta.rta_len - RTA_LENGTH(0);
    if (rta.rta_type == type_a) return address_text(body + off + RTA_LENGTH(0), data_len);
    if (rta.rta_type == type_b && b_text.empty()) b_text = address_text(body + off + RTA_LENGTH(0), data_len);
    off += RTA_ALIGN(rta.rta_len);
  }
  return b_text;
}

std::string describe(const nlmsghdr& nh, const std::uint8_t* msg) {
  const std::uint8_t* body = msg + kHeader;
  const std::size_t body_len = nh.nlmsg_len - kHeader;
  const bool added = nh.nlmsg_type == RTM_NEWADDR || nh.nlmsg_type == RTM_NEWROUTE;
  if (nh.nlmsg_type == RTM_NEWADDR || nh.nlmsg_type == RTM_DELADDR) {
    if (body_len < sizeof(ifaddrmsg)) return added ? "address added" : "address removed";
    ifaddrmsg ifa{};
    std::memcpy(&ifa, body, sizeof ifa);
    const std::size_t fixed = NLMSG_ALIGN(sizeof(ifaddrmsg));
    std::string a = body_len >= fixed ? find_address(body + fixed, body_len - fixed, IFA_LOCAL, IFA_ADDRESS) : "";
    return fmt::format("address {}/{} {} (interface {})", a.empty() ? "?" : a, ifa.ifa_prefixlen,
                       added ? "added" : "removed", ifa.ifa_index);
  }
  if (body_len < sizeof(rtmsg)) return added ? "route added" : "route removed";
  rtmsg rt{};
  std::memcpy(&rt, body, sizeof rt);
  const std::size_t fixed = NLMSG_ALIGN(sizeof(rtmsg));
  std::string dst = body_len >= fixed ? find_address(body + fixed, body_len - fixed, RTA_DST, RTA_DST) : "";
  if (dst.empty()) dst = rt.rtm_family == AF_INET6 ? "::" : "0.0.0.0";
  return fmt::format("route to {}/{} {} (table {})", dst, rt.rtm_dst_len, added ? "added" : "removed", rt.rtm_table);
}

}  // namespace

std::string NetworkChanges::summary() const {
  std::string s;
  auto part = [&](int n, const char* one, const char* many, const char* verb) {
    if (n != 0) s += fmt::format("{}{} {} {}", s.empty() ? "" : ", ", n, n == 1 ? one : many, verb);
  };
  part(addresses_added, "address", "addresses", "added");
  part(addresses_removed, "address", "addresses", "removed");
  part(routes_added, "route", "routes", "added");
  part(routes_removed, "route", "routes", "removed");
  if (malformed) s += std::string(s.empty() ? "" : ", ") + "a malformed message";
  if (s.empty()) s = "a change";
  if (!first.empty()) s += "; first: " + first;
  return s;
}

void parse_network_changes(std::span<const std::uint8_t> datagram, NetworkChanges& changes) {
  const std::uint8_t* buf = datagram.data();
  const std::size_t n = datagram.size();
  for (std::size_t off = 0; off + sizeof(nlmsghdr) <= n;) {
    nlmsghdr nh{};
    std::memcpy(&nh, buf + off, sizeof nh);
    if (nh.nlmsg_len < kHeader || nh.nlmsg_len > n - off) {
      changes.malformed = true;
      return;
    }
    int* counter = nullptr;
    switch (nh.nlmsg_type) {
      case RTM_NEWADDR: counter = &changes.addresses_added; break;
      case RTM_DELADDR: counter = &changes.addresses_removed; break;
      case RTM_NEWROUTE: counter = &changes.routes_added; break;
      case RTM_DELROUTE: counter = &changes.routes_removed; break;
      default: break;
    }
    if (counter != nullptr) {
      ++*counter;
      if (changes.first.empty()) changes.first = describe(nh, buf + off);
    }
    const std::size_t step = NLMSG_ALIGN(nh.nlmsg_len);
    if (step > n - off) return;  // the last message, unpadded
    off += step;
  }
}

NetworkWatch::NetworkWatch() {
  int fd = ::socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC | SOCK_NONBLOCK, NETLINK_ROUTE);
  if (fd < 0) return;
  sockaddr_nl local{};
  local.nl_family = AF_NETLINK;
  local.nl_groups = RTMGRP_IPV4_IFADDR | RTMGRP_IPV6_IFADDR | RTMGRP_IPV4_ROUTE | RTMGRP_IPV6_ROUTE;
  if (::bind(fd, reinterpret_cast<const sockaddr*>(&local), sizeof local) != 0) {
    ::close(fd);
    return;
  }
  fd_ = fd;
}

NetworkWatch::~NetworkWatch() {
  if (fd_ >= 0) ::close(fd_);
}

std::optional<NetworkChanges> NetworkWatch::poll(int max_datagrams) {
  if (fd_ < 0) return std::nullopt;
  // Reads are serialized so that one caller gets a whole burst's report.
  static std::mutex mutex;
  std::lock_guard lock(mutex);
  alignas(nlmsghdr) static std::uint8_t buf[16384];
  NetworkChanges changes;
  bool lost = false;
  for (int i = 0; i < max_datagrams; ++i) {
    ssize_t r = ::recv(fd_, buf, sizeof buf, MSG_DONTWAIT);
    if (r < 0 && errno == EINTR) continue;
    if (r < 0 && errno == ENOBUFS) {  // the queue overflowed: changes were lost
      lost = true;
      continue;
    }
    if (r <= 0) break;  // EAGAIN: drained
    parse_network_changes(std::span<const std::uint8_t>(buf, static_cast<std::size_t>(r)), changes);
  }
  if (changes.total() == 0 && !changes.malformed && !lost) return std::nullopt;
  if (lost && changes.first.empty()) changes.first = "the kernel's queue overflowed: changes were lost";
  return changes;
}

SharedNetworkWatch& SharedNetworkWatch::process() {
  static SharedNetworkWatch* watch = new SharedNetworkWatch;  // never destroyed: Dialers may outlive statics
  return *watch;
}

std::uint64_t SharedNetworkWatch::poll() {
  auto changes = watch_.poll();
  std::lock_guard lock(mutex_);
  if (changes) {
    ++generation_;
    last_ = changes->summary();
  }
  return generation_;
}

std::optional<std::string> SharedNetworkWatch::changes_since(std::uint64_t& seen) {
  std::uint64_t now = poll();
  std::lock_guard lock(mutex_);
  if (now == seen) return std::nullopt;
  seen = now;
  return last_;
}

}  // namespace heyes
