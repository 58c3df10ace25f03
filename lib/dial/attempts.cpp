// SPDX-License-Identifier: MIT
// The attempts of one dial: sockets opened, hooked, connected and closed by the race's ids.
#include "attempts.hpp"

#include "common/open_socket.hpp"

namespace heyes::detail {

using asio::ip::tcp;

Attempts::Attempt& Attempts::add(race::AttemptId id, const IpAddress& address, std::uint16_t port) {
  if (attempts_.size() < id) attempts_.resize(id);
  auto& slot = attempts_[id - 1];
  slot = std::make_unique<Attempt>(io_ex_);
  slot->endpoint = tcp::endpoint(to_asio(address), port);
  return *slot;
}

Attempts::Attempt* Attempts::find(race::AttemptId id) const {
  if (id == 0 || id > attempts_.size()) return nullptr;
  return attempts_[id - 1].get();
}

// Each attempt opens its own socket, so the setup hook's options stay on the
// socket that connects (asio's range connect reopens and loses them);
// close-on-exec from the start, so a child the caller forks and execs
// inherits no attempt of a dial.
std::error_code Attempts::open(Attempt& a) {
  std::error_code opened = open_cloexec(a.socket, a.endpoint.protocol());
  if (opened) return opened;
  asio_error_code ec;
  if (local_address_) a.socket.bind(tcp::endpoint(to_asio(*local_address_), 0), ec);
  if (!ec && setup_) setup_(a.socket, ec);
  return ec;
}

bool Attempts::pending(race::AttemptId id) const {
  const Attempt* a = find(id);
  return a != nullptr && a->pending;
}

void Attempts::ended(race::AttemptId id) {
  if (Attempt* a = find(id)) a->pending = false;
}

void Attempts::close(race::AttemptId id) {
  Attempt* a = find(id);
  if (a == nullptr) return;
  a->pending = false;
  asio_error_code ignored;
  a->socket.close(ignored);
}

void Attempts::close_all() {
  for (auto& a : attempts_)
    if (a) close(static_cast<race::AttemptId>(&a - attempts_.data() + 1));
}

tcp::socket Attempts::take(race::AttemptId id, tcp::endpoint& endpoint) {
  Attempt* winner = find(id);
  tcp::socket out = winner ? std::move(winner->socket) : tcp::socket(io_ex_);
  if (winner) {
    winner->pending = false;
    endpoint = winner->endpoint;
    // A link-local address without a zone (a DNS answer) connected through
    // the interface of a link-local local_address: the socket knows which.
    if (const auto a = endpoint.address(); a.is_v6() && a.to_v6().is_link_local() && a.to_v6().scope_id() == 0) {
      asio_error_code ec;
      auto peer = out.remote_endpoint(ec);
      if (!ec) endpoint = peer;
    }
  }
  close_all();
  return out;
}

}  // namespace heyes::detail
