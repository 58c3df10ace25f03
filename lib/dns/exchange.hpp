// SPDX-License-Identifier: MIT
// One DNS question answered over UDP/TCP with server failover and server health (private to lib/).
#pragma once

#include "common/asio.hpp"

#include <atomic>
#include <chrono>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <system_error>
#include <vector>

#include "failure.hpp"
#include "heyes/dns/config.hpp"
#include "message.hpp"

namespace heyes::dns::detail {

// A fresh query ID from the kernel's CSPRNG (getrandom), so that an off-path
// attacker cannot guess it (RFC 5452 §4.3).
std::uint16_t random_query_id();

// Which servers recently failed (timeout, unreachable, REFUSED, NOTIMP). A
// failed server goes to the back of the order until its cool-down passes.
// Shared by every query of a Resolver; thread-safe.
class ServerHealth {
 public:
  explicit ServerHealth(std::chrono::milliseconds cooldown) : cooldown_(cooldown) {}

  // The servers to try, in order: healthy ones first (starting at the next
  // rotation point when rotate is set), then the cooling ones, soonest
  // recovered first.
  std::vector<Nameserver> order(const std::vector<Nameserver>& servers, bool rotate, TimePoint now);
  // The same from a rotation point taken with next_rotation(): a lookup
  // takes one and keeps it for every query it sends, so that its AAAA and A
  // queries start at the same server and the next lookup at the next one.
  std::vector<Nameserver> order_from(const std::vector<Nameserver>& servers, unsigned rotation, TimePoint now);
  unsigned next_rotation();
  void failed(const Nameserver& server, TimePoint now);
  void succeeded(const Nameserver& server);

 private:
  std::chrono::milliseconds cooldown_;
  std::mutex mu_;
  std::vector<std::pair<Nameserver, TimePoint>> failed_until_;
  unsigned rotation_ = 0;
};

struct ExchangeOptions {
  std::vector<Nameserver> servers;  // in the order to try (ServerHealth::order)
  std::chrono::milliseconds timeout{5000};  // per try
  int attempts = 2;                          // rounds over the servers
  bool use_vc = false;                       // TCP only
  bool edns = true;
};

struct ExchangeResult {
  // Empty, dns_timeout, dns_server_failure, dns_bad_response, bad_host_name
  // (a name the codec cannot encode) or a local system error (EMFILE, ...).
  std::error_code error;
  FailureKind kind = FailureKind::unanswered;  // when error is set
  std::optional<Message> response;  // a NOERROR or NXDOMAIN response when error is empty
  Nameserver server;                // who answered (or failed last)
  std::string detail;               // the last failure's reason, for traces
  // When error is set: the last error response code a server answered
  // with (SERVFAIL, REFUSED, NOTIMP, ...) and that server as the trace
  // writes it ("127.0.0.1:53", "127.0.0.1:53/tcp"); none when no server did.
  std::optional<Rcode> rcode{};
  std::string rcode_server{};
};

// Asks servers one question: UDP (connected socket, kernel-chosen port,
// fresh ID), TC=1 or a reply larger than the query advertised -> TCP to the
// same server, FORMERR to EDNS -> once more without OPT,
// SERVFAIL/REFUSED/NOTIMP, ICMP refused or timeout -> next server, attempts
// rounds. A local failure (no descriptor, no buffer) ends it at once with
// that error: no other server would fare better. Everything runs on ex, which must be a strand or
// a single-threaded executor; done is called once, posted to ex, unless
// cancelled before it runs. Its pending operations own what keeps it: itself
// (start) or its owner (start_owned).
class Exchange {
 public:
  using Sent = std::function<void(const std::string& server)>;  // "127.0.0.1:53" or "127.0.0.1:53/tcp"
  using Done = std::function<void(ExchangeResult)>;

  // Sends the first query before it returns (so the order of two starts is
  // the order on the wire).
  static std::shared_ptr<Exchange> start(const asio::any_io_executor& ex, std::string name, RecordType type,
                                         ExchangeOptions options, std::shared_ptr<ServerHealth> health, Sent sent,
                                         Done done);
  // The same for an exchange that lives inside owner: its pending operations
  // keep owner alive (never the other way round), so owner must keep the
  // exchange until owner itself is destroyed, and done and sent may refer to
  // owner without owning it.
  static std::unique_ptr<Exchange> start_owned(const std::shared_ptr<void>& owner, const asio::any_io_executor& ex,
                                               std::string name, RecordType type, ExchangeOptions options,
                                               std::shared_ptr<ServerHealth> health, Sent sent, Done done);
  // Closes everything; done is not called. Call on ex.
  void cancel();
  bool finished() const noexcept { return finished_; }
  // No operation of this exchange is pending any more: its owner may destroy
  // it (once finished). Call on ex.
  bool idle() const noexcept { return pending_.expired(); }

  Exchange(const asio::any_io_executor& ex, std::string name, RecordType type, ExchangeOptions options,
           std::shared_ptr<ServerHealth> health, Sent sent, Done done);
  ~Exchange();

 private:
  struct Sockets;
  enum class Outcome { timeout, unreachable, server_failure, servfail, refused, bad_response };

  // What a pending operation holds: this exchange (sharing its keeper's
  // count) and the token whose expiry is idle().
  struct Hold {
    std::shared_ptr<Exchange> exchange;
    std::shared_ptr<const bool> pending;
    Exchange* operator->() const noexcept { return exchange.get(); }
  };
  Hold keep_alive();
  void begin();
  void try_server();
  void send_udp();
  void receive_udp();
  void send_tcp();
  void read_tcp();
  void retry_over_tcp();
  void arm_timer();
  void on_response(Message m, bool tcp);
  void fail_try(Outcome outcome, std::string detail);
  void fail_local(std::error_code ec, std::string detail);
  void finish(ExchangeResult r);
  bool stale(unsigned generation) const noexcept { return finished_ || generation != generation_; }

  std::weak_ptr<Exchange> self_;  // aliases the keeper: the exchange itself or its owner
  std::weak_ptr<const bool> pending_;  // held by every pending operation
  asio::any_io_executor ex_;
  std::string name_;
  RecordType type_;
  ExchangeOptions options_;
  std::shared_ptr<ServerHealth> health_;
  Sent sent_;
  Done done_;
  std::unique_ptr<Sockets> sockets_;
  std::size_t server_ = 0;
  int round_ = 0;
  bool edns_ = true;
  unsigned generation_ = 0;  // bumped per try: completions of an older try are ignored
  bool finished_ = false;
  bool cancelled_ = false;
  bool saw_failure_ = false, saw_bad_ = false, saw_servfail_ = false;
  bool only_unreachable_ = true;  // every failed try so far met ICMP port unreachable
  std::optional<Rcode> last_rcode_;  // the last error rcode a server answered with, and who
  std::string last_rcode_server_;
  Message query_;
  std::vector<std::uint8_t> wire_;  // query_ encoded
};

}  // namespace heyes::dns::detail
