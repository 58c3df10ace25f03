// SPDX-License-Identifier: MIT
// The rtnetlink change parser on hand-made datagrams: what counts, what is described, hostile lengths.
#include <doctest/doctest.h>
#include <linux/if_addr.h>
#include <linux/netlink.h>
#include <linux/rtnetlink.h>
#include <sys/socket.h>

#include <chrono>
#include <cstring>
#include <vector>

#include "select/network_watch.hpp"

namespace heyes {
namespace {

using Bytes = std::vector<std::uint8_t>;

void put(Bytes& b, const void* p, std::size_t n) {
  const auto* c = static_cast<const std::uint8_t*>(p);
  b.insert(b.end(), c, c + n);
  while (b.size() % 4 != 0) b.push_back(0);
}

Bytes attribute(unsigned short type, const Bytes& data) {
  Bytes b;
  rtattr rta{static_cast<unsigned short>(RTA_LENGTH(data.size())), type};
  put(b, &rta, sizeof rta);
  b.insert(b.end(), data.begin(), data.end());
  while (b.size() % 4 != 0) b.push_back(0);
  return b;
}

Bytes message(unsigned short type, const Bytes& body) {
  Bytes b;
  nlmsghdr nh{};
  nh.nlmsg_len = static_cast<std::uint32_t>(NLMSG_HDRLEN + body.size());
  nh.nlmsg_type = type;
  put(b, &nh, sizeof nh);
  b.insert(b.end(), body.begin(), body.end());
  return b;
}

Bytes address_message(unsigned short type, Bytes address, int prefix, int index) {
  Bytes body;
  ifaddrmsg ifa{};
  ifa.ifa_family = address.size() == 4 ? AF_INET : AF_INET6;
  ifa.ifa_prefixlen = static_cast<unsigned char>(prefix);
  ifa.ifa_index = static_cast<unsigned>(index);
  put(body, &ifa, sizeof ifa);
  auto a = attribute(address.size() == 4 ? IFA_LOCAL : IFA_ADDRESS, address);
  body.insert(body.end(), a.begin(), a.end());
  return message(type, body);
}

Bytes route_message(unsigned short type, Bytes dst, int length) {
  Bytes body;
  rtmsg rt{};
  rt.rtm_family = dst.size() == 16 ? AF_INET6 : AF_INET;
  rt.rtm_dst_len = static_cast<unsigned char>(length);
  rt.rtm_table = RT_TABLE_MAIN;
  put(body, &rt, sizeof rt);
  if (!dst.empty()) {
    auto a = attribute(RTA_DST, dst);
    body.insert(body.end(), a.begin(), a.end());
  }
  return message(type, body);
}

NetworkChanges parse(const Bytes& b) {
  NetworkChanges c;
  parse_network_changes(b, c);
  return c;
}

TEST_CASE("an address added, described with its prefix and interface") {
  auto c = parse(address_message(RTM_NEWADDR, {192, 0, 2, 1}, 24, 3));
  CHECK(c.addresses_added == 1);
  CHECK(c.total() == 1);
  CHECK(c.first == "address 192.0.2.1/24 added (interface 3)");
  CHECK(c.summary() == "1 address added; first: address 192.0.2.1/24 added (interface 3)");
}

TEST_CASE("a burst: addresses and routes of both families counted, the first described, other messages skipped") {
  Bytes b = route_message(RTM_DELROUTE, {}, 0);
  auto v6 = address_message(RTM_DELADDR, {0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1}, 64, 2);
  auto link = message(RTM_NEWLINK, Bytes(sizeof(ifinfomsg), 0));
  auto route = route_message(RTM_NEWROUTE, {10, 0, 0, 0}, 8);
  for (const auto* m : {&link, &v6, &route, &v6}) b.insert(b.end(), m->begin(), m->end());
  auto c = parse(b);
  CHECK(c.routes_removed == 1);
  CHECK(c.addresses_removed == 2);
  CHECK(c.routes_added == 1);
  CHECK(c.addresses_added == 0);
  CHECK_FALSE(c.malformed);
  CHECK(c.first == "route to 0.0.0.0/0 removed (table 254)");
  CHECK(c.summary().starts_with("2 addresses removed, 1 route added, 1 route removed; first: "));
  CHECK(parse(route).first == "route to 10.0.0.0/8 added (table 254)");
  CHECK(parse(v6).first == "address 2001:db8::1/64 removed (interface 2)");
}

TEST_CASE("hostile lengths: a message longer than its datagram, shorter than a header, a bad attribute") {
  auto m = address_message(RTM_NEWADDR, {192, 0, 2, 1}, 24, 3);
  Bytes cut(m.begin(), m.end() - 3);
  auto c = parse(cut);
  CHECK(c.malformed);
  CHECK(c.total() == 0);
  Bytes tiny = m;
  tiny[0] = 8;  // nlmsg_len below the header
  tiny[1] = tiny[2] = tiny[3] = 0;
  CHECK(parse(tiny).malformed);
  Bytes bad_attr = m;
  bad_attr[NLMSG_HDRLEN + sizeof(ifaddrmsg)] = 200;  // the attribute claims more than the message has
  auto b = parse(bad_attr);
  CHECK(b.addresses_added == 1);
  CHECK(b.first == "address ?/24 added (interface 3)");
  CHECK(parse({}).total() == 0);
  CHECK(parse(Bytes(7, 0xff)).total() == 0);
}

TEST_CASE("NetworkWatch: poll() never blocks (the socket is drained with MSG_DONTWAIT)") {
  NetworkWatch w;
  auto start = std::chrono::steady_clock::now();
  for (int i = 0; i < 100; ++i) (void)w.poll(4);  // the machine's own changes may show; only the time is checked
  CHECK(std::chrono::steady_clock::now() - start < std::chrono::seconds(2));
}

}  // namespace
}  // namespace heyes
