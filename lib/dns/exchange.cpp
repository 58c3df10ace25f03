// SPDX-License-Identifier: MIT
// One DNS question over UDP/TCP: anti-spoofing checks, TCP fallback, EDNS fallback, server failover.
#include "exchange.hpp"

#include "common/asio.hpp"

#include <sys/random.h>

#include <algorithm>
#include <array>
#include <random>

#include <fmt/format.h>

#include "endpoint.hpp"
#include "heyes/error.hpp"

namespace heyes::dns::detail {

std::uint16_t random_query_id() {
  std::uint16_t id = 0;
  if (getrandom(&id, sizeof id, 0) == static_cast<ssize_t>(sizeof id)) return id;
  // getrandom cannot fail for 2 bytes once the pool is initialised; this is
  // the belt to its braces.
  thread_local std::random_device rd;
  return static_cast<std::uint16_t>(rd());
}

namespace {

// asio reports errno values in a category of its own that std::errc does not
// match ("asio.system"): the same value in std::system_category does, so a
// caller can test the error with std::errc::too_many_files_open.
std::error_code as_std_system(std::error_code ec) {
  if (ec && ec.category() == asio::error::get_system_category()) return {ec.value(), std::system_category()};
  return ec;
}

}  // namespace

// ---- ServerHealth ----

std::vector<Nameserver> ServerHealth::order(const std::vector<Nameserver>& servers, bool rotate,
                                            TimePoint now) {
  return order_from(servers, rotate ? next_rotation() : 0, now);
}

unsigned ServerHealth::next_rotation() {
  std::lock_guard lock(mu_);
  return rotation_++;
}

std::vector<Nameserver> ServerHealth::order_from(const std::vector<Nameserver>& servers, unsigned rotation,
                                                 TimePoint now) {
  std::lock_guard lock(mu_);
  std::erase_if(failed_until_, [now](const auto& f) { return f.second <= now; });
  const std::size_t n = servers.size();
  const std::size_t first = n > 0 ? rotation % n : 0;
  std::vector<Nameserver> healthy;
  std::vector<std::pair<TimePoint, Nameserver>> cooling;
  for (std::size_t k = 0; k < n; ++k) {
    const Nameserver& s = servers[(first + k) % n];
    auto it = std::find_if(failed_until_.begin(), failed_until_.end(), [&](const auto& f) { return f.first == s; });
    if (it == failed_until_.end())
      healthy.push_back(s);
    else
      cooling.emplace_back(it->second, s);
  }
  std::stable_sort(cooling.begin(), cooling.end(), [](const auto& a, const auto& b) { return a.first < b.first; });
  for (auto& c : cooling) healthy.push_back(std::move(c.second));
  return healthy;
}

void ServerHealth::failed(const Nameserver& server, TimePoint now) {
  std::lock_guard lock(mu_);
  auto it = std::find_if(failed_until_.begin(), failed_until_.end(), [&](const auto& f) { return f.first == server; });
  if (it != failed_until_.end())
    it->second = now + cooldown_;
  else
    failed_until_.emplace_back(server, now + cooldown_);
}

void ServerHealth::succeeded(const Nameserver& server) {
  std::lock_guard lock(mu_);
  std::erase_if(failed_until_, [&](const auto& f) { return f.first == server; });
}

// ---- Exchange ----

struct Exchange::Sockets {
  explicit Sockets(const asio::any_io_executor& ex) : udp(ex), tcp(ex), timer(ex) {}
  asio::ip::udp::socket udp;
  asio::ip::tcp::socket tcp;
  asio::steady_timer timer;
  // Nothing is buffered while a query waits: a UDP reply is read when it has
  // arrived (into the handler's stack), a TCP reply into `in`, sized from its
  // length prefix. Thousands of lookups in flight cost their sockets, not
  // buffers.
  std::array<std::uint8_t, 2> length{};
  std::vector<std::uint8_t> in;
  std::vector<std::uint8_t> out;

  void close() {
    asio_error_code ec;
    udp.close(ec);
    tcp.close(ec);
    timer.cancel();
  }
};

Exchange::Exchange(const asio::any_io_executor& ex, std::string name, RecordType type, ExchangeOptions options,
                   std::shared_ptr<ServerHealth> health, Sent sent, Done done)
    : ex_(ex), name_(std::move(name)), type_(type), options_(std::move(options)), health_(std::move(health)),
      sent_(std::move(sent)), done_(std::move(done)), sockets_(std::make_unique<Sockets>(ex)), edns_(options_.edns) {}

Exchange::~Exchange() = default;

std::shared_ptr<Exchange> Exchange::start(const asio::any_io_executor& ex, std::string name, RecordType type,
                                          ExchangeOptions options, std::shared_ptr<ServerHealth> health, Sent sent,
                                          Done done) {
  auto e = std::make_shared<Exchange>(ex, std::move(name), type, std::move(options), std::move(health),
                                      std::move(sent), std::move(done));
  e->self_ = e;
  e->begin();
  return e;
}

std::unique_ptr<Exchange> Exchange::start_owned(const std::shared_ptr<void>& owner, const asio::any_io_executor& ex,
                                                std::string name, RecordType type, ExchangeOptions options,
                                                std::shared_ptr<ServerHealth> health, Sent sent, Done done) {
  auto e = std::make_unique<Exchange>(ex, std::move(name), type, std::move(options), std::move(health),
                                      std::move(sent), std::move(done));
  e->self_ = std::shared_ptr<Exchange>(owner, e.get());
  e->begin();
  return e;
}

Exchange::Hold Exchange::keep_alive() {
  auto pending = pending_.lock();
  if (!pending) {
    pending = std::make_shared<const bool>(true);
    pending_ = pending;
  }
  return {self_.lock(), std::move(pending)};
}

void Exchange::begin() {
  if (options_.servers.empty())
    return finish({make_error_code(errc::dns_server_failure), FailureKind::unanswered, std::nullopt, {},
                   "no nameserver configured"});
  try_server();
}

void Exchange::cancel() {
  finished_ = cancelled_ = true;
  done_ = nullptr;  // it may own our owner
  sent_ = nullptr;
  sockets_->close();
}

// A new try: fresh ID and socket; older completions become stale.
void Exchange::try_server() {
  ++generation_;
  sockets_->close();
  query_ = make_query(random_query_id(), name_, type_, edns_);
  // The codec refuses a name it cannot write (a label over 63 bytes, a bad
  // escape): no server could answer it, so the question fails here.
  try {
    wire_ = encode(query_);
  } catch (const std::exception& e) {
    return finish({make_error_code(errc::bad_host_name), FailureKind::unanswered, std::nullopt,
                   options_.servers[server_], e.what()});
  }
  if (options_.use_vc)
    send_tcp();
  else
    send_udp();
}

void Exchange::arm_timer() {
  sockets_->timer.expires_after(options_.timeout);
  sockets_->timer.async_wait([self = keep_alive(), g = generation_](std::error_code ec) {
    if (ec || self->stale(g)) return;
    self->fail_try(Outcome::timeout, fmt::format("no answer within {} ms", self->options_.timeout.count()));
  });
}

// A connected UDP socket: the kernel picks a random source port and drops
// datagrams from any other peer; a later ICMP port unreachable surfaces as
// ECONNREFUSED. The send is synchronous so the query is on the wire when
// try_server returns.
void Exchange::send_udp() {
  const Nameserver& server = options_.servers[server_];
  const auto peer = udp_endpoint(server);
  auto& s = sockets_->udp;
  std::error_code ec = open_cloexec(s, peer.protocol());
  if (!ec) {
    asio_error_code aec;
    s.non_blocking(true, aec);  // receive_udp reads only once readable
    if (!aec) s.connect(peer, aec);
    if (!aec) s.send(asio::buffer(wire_), 0, aec);
    ec = as_std_system(aec);
  }
  if (is_local_failure(ec)) return fail_local(ec, fmt::format("{}: {}", server.to_string(), ec.message()));
  if (ec) return fail_try(ec == asio::error::connection_refused ? Outcome::unreachable : Outcome::server_failure,
                          fmt::format("{}: {}", server.to_string(), ec.message()));
  if (sent_) sent_(server.to_string());
  arm_timer();
  receive_udp();
}

// Waits for the socket to become readable, then reads without blocking. The
// buffer holds one byte more than the advertised limit, so a datagram too
// large for it (the kernel discards the rest) is told apart from one that
// fits exactly: such a reply is treated as truncated (RFC 6891 §7 lets a
// server send no more than the requestor's payload size).
void Exchange::receive_udp() {
  sockets_->udp.async_wait(asio::socket_base::wait_read, [self = keep_alive(), g = generation_](asio_error_code ec) {
    if (self->stale(g)) return;
    const Nameserver& server = self->options_.servers[self->server_];
    const std::size_t limit = udp_response_limit(self->query_.edns.has_value());
    std::array<std::uint8_t, udp_response_limit(true) + 1> buffer;
    asio::ip::udp::endpoint sender;
    std::size_t n = 0;
    if (!ec) n = self->sockets_->udp.receive_from(asio::buffer(buffer.data(), limit + 1), sender, 0, ec);
    if (ec == asio::error::would_block || ec == asio::error::try_again) return self->receive_udp();
    if (ec == asio::error::connection_refused)
      return self->fail_try(Outcome::unreachable, server.to_string() + ": port unreachable");
    if (ec) return self->fail_try(Outcome::server_failure, server.to_string() + ": " + ec.message());
    // Only the server's own address and port (the connected socket already
    // filters; this keeps the rule explicit).
    if (sender != udp_endpoint(server)) return self->receive_udp();
    const bool oversize = n > limit;
    auto check = validate_response(self->query_, std::span(buffer.data(), std::min(n, limit)));
    if (check.verdict == ResponseVerdict::not_for_us) return self->receive_udp();  // anti-spoofing: keep waiting
    // Our ID and question (a malformed verdict comes only after both
    // matched): what did not fit is fetched over TCP.
    if (oversize) return self->retry_over_tcp();
    if (check.verdict == ResponseVerdict::malformed)
      return self->fail_try(Outcome::bad_response, server.to_string() + ": " + check.reason);
    self->on_response(std::move(*check.message), false);
  });
}

// RFC 7766 §8: the same query over TCP, with its 2-byte length prefix.
void Exchange::send_tcp() {
  const Nameserver& server = options_.servers[server_];
  auto& s = *sockets_;
  s.out.assign(wire_.size() + 2, 0);
  s.out[0] = static_cast<std::uint8_t>(wire_.size() >> 8);
  s.out[1] = static_cast<std::uint8_t>(wire_.size());
  std::copy(wire_.begin(), wire_.end(), s.out.begin() + 2);
  // Opened here, close-on-exec (async_connect would open it without).
  if (auto ec = open_cloexec(s.tcp, tcp_endpoint(server).protocol())) {
    if (is_local_failure(ec)) return fail_local(ec, fmt::format("{}/tcp: {}", server.to_string(), ec.message()));
    return fail_try(Outcome::server_failure, fmt::format("{}/tcp: {}", server.to_string(), ec.message()));
  }
  arm_timer();
  s.tcp.async_connect(tcp_endpoint(server), [self = keep_alive(), g = generation_](std::error_code ec) {
    if (self->stale(g)) return;
    const Nameserver& srv = self->options_.servers[self->server_];
    ec = as_std_system(ec);
    if (is_local_failure(ec)) return self->fail_local(ec, fmt::format("{}/tcp: {}", srv.to_string(), ec.message()));
    if (ec)
      return self->fail_try(ec == asio::error::connection_refused ? Outcome::unreachable : Outcome::server_failure,
                            fmt::format("{}/tcp: {}", srv.to_string(), ec.message()));
    if (self->sent_) self->sent_(srv.to_string() + "/tcp");
    asio::async_write(self->sockets_->tcp, asio::buffer(self->sockets_->out),
                      [self, g](std::error_code ec2, std::size_t) {
      if (self->stale(g)) return;
      if (ec2) return self->fail_try(Outcome::server_failure, "tcp write: " + ec2.message());
      self->read_tcp();
    });
  });
}

// The reply's buffer is sized from its 2-byte length prefix, once it came.
void Exchange::read_tcp() {
  auto& s = *sockets_;
  asio::async_read(s.tcp, asio::buffer(s.length), [self = keep_alive(), g = generation_](std::error_code ec,
                                                                                             std::size_t) {
    if (self->stale(g)) return;
    if (ec) return self->fail_try(Outcome::server_failure, "tcp read: " + ec.message());
    auto& in = self->sockets_->in;
    in.resize(std::size_t(self->sockets_->length[0]) << 8 | self->sockets_->length[1]);
    asio::async_read(self->sockets_->tcp, asio::buffer(in), [self, g](std::error_code ec2, std::size_t) {
      if (self->stale(g)) return;
      if (ec2) return self->fail_try(Outcome::server_failure, "tcp read: " + ec2.message());
      auto check = validate_response(self->query_, self->sockets_->in);
      self->sockets_->in = {};
      // Over TCP nobody else can inject: a mismatch is a broken server.
      if (check.verdict != ResponseVerdict::accepted || check.message->header.tc)
        return self->fail_try(Outcome::bad_response, "tcp: " + (check.reason.empty() ? "truncated" : check.reason));
      self->on_response(std::move(*check.message), true);
    });
  });
}

// RFC 7766 §5 / RFC 1035 §4.2.1: truncated over UDP -> TCP, same server.
void Exchange::retry_over_tcp() {
  ++generation_;
  sockets_->close();
  send_tcp();
}

// RCODE handling of an accepted response.
void Exchange::on_response(Message m, bool tcp) {
  const Nameserver& server = options_.servers[server_];
  const Rcode rcode = m.header.rcode;
  if (m.header.tc && !tcp) return retry_over_tcp();
  // RFC 6891 §7: a FORMERR to a query with OPT -> once again without it.
  if (rcode == Rcode::formerr && edns_) {
    edns_ = false;
    return try_server();
  }
  if (rcode == Rcode::noerror || rcode == Rcode::nxdomain) {
    health_->succeeded(server);
    return finish({{}, FailureKind::unanswered, std::move(m), server, {}});
  }
  last_rcode_ = rcode;
  last_rcode_server_ = tcp ? server.to_string() + "/tcp" : server.to_string();
  const auto outcome = (rcode == Rcode::refused || rcode == Rcode::notimp) ? Outcome::refused
                       : rcode == Rcode::servfail                          ? Outcome::servfail
                                                                           : Outcome::server_failure;
  fail_try(outcome, fmt::format("{}: {}", server.to_string(), to_string(rcode)));
}

// This server failed for this try: note it and move to the next one (the
// next round after the last server), or give up after the last round.
void Exchange::fail_try(Outcome outcome, std::string detail) {
  const Nameserver server = options_.servers[server_];
  if (outcome == Outcome::timeout || outcome == Outcome::unreachable || outcome == Outcome::refused)
    health_->failed(server, Clock::now());
  if (outcome == Outcome::bad_response)
    saw_bad_ = true;
  else if (outcome != Outcome::timeout)
    saw_failure_ = true;
  saw_servfail_ = saw_servfail_ || outcome == Outcome::servfail;
  only_unreachable_ = only_unreachable_ && outcome == Outcome::unreachable;
  edns_ = options_.edns;
  if (++server_ == options_.servers.size()) {
    server_ = 0;
    if (++round_ >= options_.attempts) {
      const errc e = saw_failure_ ? errc::dns_server_failure : saw_bad_ ? errc::dns_bad_response : errc::dns_timeout;
      const FailureKind kind = saw_servfail_       ? FailureKind::servfail
                               : only_unreachable_ ? FailureKind::unreachable
                                                   : FailureKind::unanswered;
      return finish({make_error_code(e), kind, std::nullopt, server, std::move(detail), last_rcode_,
                     last_rcode_server_});
    }
  }
  try_server();
}

// This host cannot send (EMFILE, ENFILE, ENOBUFS, ENOMEM): the same would
// happen with every server, and the error is the host's, so it is the result.
void Exchange::fail_local(std::error_code ec, std::string detail) {
  finish({ec, FailureKind::local, std::nullopt, options_.servers[server_], std::move(detail)});
}

// done runs from a fresh handler: never inside start() or the caller's own
// call chain, so the owner needs no re-entrancy care.
void Exchange::finish(ExchangeResult r) {
  if (finished_) return;
  finished_ = true;
  sockets_->close();
  asio::post(ex_, [self = keep_alive(), r = std::move(r)]() mutable {
    if (self->cancelled_) return;
    auto done = std::move(self->done_);
    self->done_ = nullptr;
    if (done) done(std::move(r));
  });
}

}  // namespace heyes::dns::detail
