// SPDX-License-Identifier: MIT
// A scriptable DNS server on loopback for tests, benchmarks and heyes-connect --demo (not installed).
#pragma once

// Not a DNS server for production: it answers only from its script, holds
// everything in memory and trusts nothing it receives. It exists so that
// tests, the benchmark and `heyes-connect --demo` never need the machine's
// own nameserver.

#include <asio/any_io_executor.hpp>

#include <chrono>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "dns/message.hpp"
#include "heyes/address.hpp"
#include "heyes/dns/config.hpp"

namespace heyes::dns {

// What the server does for one (name, type).
struct TestAnswer {
  // Records of the answer section (any owner names: CNAME chains included).
  std::vector<Record> records;
  Rcode rcode = Rcode::noerror;
  // NXDOMAIN and NODATA carry an SOA in the authority section whose
  // minimum (and TTL) is negative_ttl, unless it is negative.
  std::int64_t negative_ttl = 60;
  // The SOA record's own TTL when it should differ from its minimum
  // (RFC 2308: the negative TTL is the smaller of the two); negative: negative_ttl.
  std::int64_t soa_ttl = -1;
  std::chrono::milliseconds delay{0};  // before replying (each transport)
  bool drop = false;                   // never reply
  bool truncate = false;               // UDP: TC=1 and no records; TCP: the full answer
  bool oversize = false;               // UDP: the full answer even when larger than the client advertised
  bool formerr_on_edns = false;        // FORMERR to queries with an OPT record, normal answer without
  bool garbage = false;                // a reply with our ID and question whose body is junk

  // UDP only: a forged reply sent just before the genuine one (which follows
  // after delay): from another port, with another ID, or for another
  // question. Its records carry 192.0.2.66 (A) or 2001:db8::66 (AAAA).
  enum class Spoof { none, wrong_port, wrong_id, wrong_question } spoof = Spoof::none;
};

// One query the server received.
struct ReceivedQuery {
  std::string name;
  RecordType type = RecordType::a;
  bool tcp = false;
  bool edns = false;
  std::uint16_t id = 0;
};

// Listens on UDP and TCP, same port (kernel-chosen when port is 0), on a
// loopback address. Runs on the executor given (one thread, or a strand);
// set(), add_host() and queries() may be used from any thread; close() and
// the destructor on the executor's thread or while it is not running.
//
// A name/type with no script: NODATA (with SOA) when the name has a script
// for another type, else NXDOMAIN (with SOA). Responses larger than the
// client's advertised size (512 without EDNS) are sent with TC=1 and no
// records over UDP, unless the answer says oversize.
class TestServer {
 public:
  explicit TestServer(const asio::any_io_executor& ex, const IpAddress& address = *IpAddress::parse("127.0.0.1"),
                      std::uint16_t port = 0);
  ~TestServer();
  TestServer(const TestServer&) = delete;
  TestServer& operator=(const TestServer&) = delete;

  std::uint16_t port() const noexcept;
  Nameserver nameserver() const;  // address and port, for ResolverConfig::nameservers

  // Scripts (name, type); names are compared case-insensitively.
  void set(std::string_view name, RecordType type, TestAnswer answer);
  // Shorthand: answer name with these addresses (AAAA and A records as the
  // families of the addresses; a family with no address gets NODATA).
  void add_host(std::string_view name, const std::vector<IpAddress>& addresses, std::uint32_t ttl = 300);

  std::vector<ReceivedQuery> queries() const;
  std::size_t query_count(std::string_view name, RecordType type) const;
  void clear_queries();

  // Closes the sockets and cancels pending replies, so that the executor's
  // run() can return. The destructor calls it.
  void close();

 private:
  struct Impl;
  std::shared_ptr<Impl> impl_;
};

}  // namespace heyes::dns
