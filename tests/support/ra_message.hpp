// SPDX-License-Identifier: MIT
// The bytes of an RTM_NEWNDUSEROPT message as the kernel sends it for one Router Advertisement option.
#pragma once

#include <linux/netlink.h>
#include <linux/rtnetlink.h>
#include <sys/socket.h>

#include <cstdint>
#include <cstring>
#include <optional>
#include <span>
#include <vector>

#include "heyes/address.hpp"

namespace heyes::test {

// option: the raw option bytes (a multiple of 8); router: the NDUSEROPT_SRCADDR attribute.
inline std::vector<std::uint8_t> nduseropt_message(std::span<const std::uint8_t> option, int ifindex,
                                                   std::optional<IpAddress> router, std::uint8_t icmp_type = 134) {
  const std::size_t opts = option.size();
  const std::size_t attr = router ? sizeof(rtattr) + 16 : 0;
  const std::size_t body = NLMSG_ALIGN(sizeof(nduseroptmsg) + opts) + attr;
  std::vector<std::uint8_t> out(NLMSG_HDRLEN + body, 0);
  nlmsghdr h{};
  h.nlmsg_len = static_cast<std::uint32_t>(out.size());
  h.nlmsg_type = RTM_NEWNDUSEROPT;
  std::memcpy(out.data(), &h, sizeof h);
  nduseroptmsg m{};
  m.nduseropt_family = AF_INET6;
  m.nduseropt_opts_len = static_cast<std::uint16_t>(opts);
  m.nduseropt_ifindex = ifindex;
  m.nduseropt_icmp_type = icmp_type;
  std::memcpy(out.data() + NLMSG_HDRLEN, &m, sizeof m);
  std::memcpy(out.data() + NLMSG_HDRLEN + sizeof m, option.data(), opts);
  if (router) {
    rtattr a{};
    a.rta_len = static_cast<unsigned short>(sizeof(rtattr) + 16);
    a.rta_type = NDUSEROPT_SRCADDR;
    std::size_t at = NLMSG_HDRLEN + NLMSG_ALIGN(sizeof m + opts);
    std::memcpy(out.data() + at, &a, sizeof a);
    const auto bytes = router->bytes();
    std::memcpy(out.data() + at + sizeof a, bytes.data(), 16);
  }
  return out;
}

}  // namespace heyes::test
