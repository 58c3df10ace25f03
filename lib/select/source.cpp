// SPDX-License-Identifier: MIT
// SystemSourceLookup: the kernel's source address (UDP connect + getsockname) and its netlink flags.
#include <linux/if_addr.h>
#include <linux/netlink.h>
#include <linux/rtnetlink.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "common/fd.hpp"
#include "common/sockaddr.hpp"
#include "heyes/select/sort.hpp"

namespace heyes {
namespace {

using detail::from_sockaddr;
using detail::to_sockaddr;
using detail::UniqueFd;

// Any port will do: connect() on a UDP socket only picks the route.
constexpr std::uint16_t kProbePort = 9;

// The kernel's source address towards d: connect() an unconnected UDP
// socket (no packet is sent) and read it back with getsockname().
std::optional<IpAddress> kernel_source(const IpAddress& d) {
  if (d.is_unspecified()) return std::nullopt;
  sockaddr_storage ss{};
  socklen_t len = to_sockaddr(d, kProbePort, ss);
  UniqueFd fd(::socket(ss.ss_family, SOCK_DGRAM | SOCK_CLOEXEC, 0));
  if (!fd) return std::nullopt;
  int rc;
  do rc = ::connect(fd.get(), reinterpret_cast<const sockaddr*>(&ss), len);
  while (rc != 0 && errno == EINTR);
  if (rc != 0) return std::nullopt;  // ENETUNREACH and friends: no source
  sockaddr_storage local{};
  socklen_t local_len = sizeof local;
  if (::getsockname(fd.get(), reinterpret_cast<sockaddr*>(&local), &local_len) != 0) return std::nullopt;
  return from_sockaddr(reinterpret_cast<const sockaddr*>(&local));
}

// What netlink says about one interface address.
struct AddressInfo {
  int prefix_length = -1;
  std::uint32_t flags = 0;
};

// Reads the attributes of one RTM_NEWADDR message; true when it describes source.
bool match_address(const nlmsghdr& nh, const IpAddress& source, AddressInfo& info) {
  const auto* base = reinterpret_cast<const std::uint8_t*>(&nh);
  const std::size_t hdr = NLMSG_ALIGN(sizeof(nlmsghdr)) + NLMSG_ALIGN(sizeof(ifaddrmsg));
  if (nh.nlmsg_len < hdr) return false;
  ifaddrmsg ifa{};
  std::memcpy(&ifa, base + NLMSG_ALIGN(sizeof(nlmsghdr)), sizeof ifa);
  const std::size_t want = source.is_v4() ? 4 : 16;
  const std::uint8_t* want_bytes = source.bytes().data() + (source.is_v4() ? 12 : 0);
  // A link-local source is matched on its own interface.
  if (source.scope_id() != 0 && ifa.ifa_index != source.scope_id()) return false;
  bool found = false;
  std::uint32_t flags = ifa.ifa_flags;
  // Walk the rtattrs, every length checked against the message.
  for (std::size_t off = hdr; off + sizeof(rtattr) <= nh.nlmsg_len;) {
    rtattr rta{};
    std::memcpy(&rta, base + off, sizeof rta);
    if (rta.rta_len < sizeof(rtattr) || off + rta.rta_len > nh.nlmsg_len) break;
    const std::uint8_t* data = base + off + RTA_LENGTH(0);
    const std::size_t data_len = rta.rta_len - RTA_LENGTH(0);
    // IPv4 names its own address IFA_LOCAL (IFA_ADDRESS is the peer on
    // point-to-point links); IPv6 uses IFA_ADDRESS.
    bool addr_attr = rta.rta_type == (source.is_v4() ? IFA_LOCAL : IFA_ADDRESS);
    if (addr_attr && data_len == want && std::memcmp(data, want_bytes, want) == 0) found = true;
    if (rta.rta_type == IFA_FLAGS && data_len == sizeof(std::uint32_t)) std::memcpy(&flags, data, sizeof flags);
    off += RTA_ALIGN(rta.rta_len);
  }
  if (found) info = {ifa.ifa_prefixlen, flags};
  return found;
}

// Sends the RTM_GETADDR dump request for one family.
bool request_addresses(int fd, int family) {
  struct {
    nlmsghdr nh;
    ifaddrmsg ifa;
  } req{};
  req.nh.nlmsg_len = sizeof req;
  req.nh.nlmsg_type = RTM_GETADDR;
  req.nh.nlmsg_flags = NLM_F_REQUEST | NLM_F_DUMP;
  req.nh.nlmsg_seq = 1;
  req.ifa.ifa_family = static_cast<std::uint8_t>(family);
  sockaddr_nl kernel{};
  kernel.nl_family = AF_NETLINK;
  return ::sendto(fd, &req, sizeof req, 0, reinterpret_cast<const sockaddr*>(&kernel), sizeof kernel) ==
         static_cast<ssize_t>(sizeof req);
}

// Parses one datagram of the dump; returns false at NLMSG_DONE or an error.
bool scan_datagram(const std::uint8_t* buf, std::size_t n, const IpAddress& source, std::optional<AddressInfo>& out) {
  for (std::size_t off = 0; off + sizeof(nlmsghdr) <= n;) {
    nlmsghdr nh{};
    std::memcpy(&nh, buf + off, sizeof nh);
    if (nh.nlmsg_len < sizeof(nlmsghdr) || off + nh.nlmsg_len > n) return false;
    if (nh.nlmsg_type == NLMSG_DONE || nh.nlmsg_type == NLMSG_ERROR) return false;
    AddressInfo info;
    if (nh.nlmsg_type == RTM_NEWADDR && !out &&
        match_address(*reinterpret_cast<const nlmsghdr*>(buf + off), source, info))
      out = info;
    off += NLMSG_ALIGN(nh.nlmsg_len);
  }
  return true;
}

// Prefix length and IFA_F_* flags of the interface address equal to
// source, from a netlink RTM_GETADDR dump (bounded: 1 s, 1024 datagrams).
std::optional<AddressInfo> interface_address(const IpAddress& source) {
  UniqueFd fd(::socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_ROUTE));
  if (!fd) return std::nullopt;
  timeval tv{1, 0};
  ::setsockopt(fd.get(), SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  if (!request_addresses(fd.get(), source.is_v4() ? AF_INET : AF_INET6)) return std::nullopt;
  alignas(nlmsghdr) static thread_local std::uint8_t buf[32768];
  std::optional<AddressInfo> out;
  // Read the whole dump (so the socket is drained) and keep the match.
  for (int datagrams = 0; datagrams < 1024; ++datagrams) {
    ssize_t n = ::recv(fd.get(), buf, sizeof buf, 0);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;
    if (!scan_datagram(buf, static_cast<std::size_t>(n), source, out)) break;
  }
  return out;
}

}  // namespace

std::optional<SourceInfo> SystemSourceLookup::source_for(const IpAddress& destination) {
  auto address = kernel_source(destination);
  if (!address) return std::nullopt;
  SourceInfo info{*address};
  // Deprecated, temporary, home flags and the prefix length where netlink
  // answers; otherwise they stay unknown (-1) or false.
  if (auto ia = interface_address(*address)) {
    info.prefix_length = ia->prefix_length;
    info.deprecated = (ia->flags & IFA_F_DEPRECATED) != 0;
    info.home = (ia->flags & IFA_F_HOMEADDRESS) != 0;
    info.temporary = address->is_v6() && (ia->flags & IFA_F_TEMPORARY) != 0;  // IPv4: the "secondary" bit
  }
  return info;
}

}  // namespace heyes
