// SPDX-License-Identifier: MIT
// The attempts of one dial: each owns its socket (open, bind, setup hook, connect, close), known by the race's id.
#pragma once

#include "common/asio.hpp"

#include <memory>
#include <optional>
#include <system_error>
#include <vector>

#include "common/asio_address.hpp"
#include "heyes/dial/options.hpp"
#include "heyes/race/race.hpp"

namespace heyes::detail {

class Attempts {
 public:
  Attempts(const asio::any_io_executor& io_ex, std::optional<IpAddress> local_address, SocketSetup setup)
      : io_ex_(io_ex), local_address_(std::move(local_address)), setup_(std::move(setup)) {}

  const asio::any_io_executor& executor() const { return io_ex_; }

  // Opens attempt id's socket (ids come 1, 2, 3, ... from the race), binds it
  // to the local address, runs the setup hook, then connects and calls
  // on_connect(ec) when the connect ends. A socket that cannot be set up is
  // closed and its error returned; on_connect is then never called.
  template <class Handler>
  std::error_code connect(race::AttemptId id, const IpAddress& address, std::uint16_t port, Handler&& on_connect) {
    Attempt& a = add(id, address, port);
    if (auto ec = open(a)) {
      close(id);
      return ec;
    }
    a.socket.async_connect(a.endpoint, std::forward<Handler>(on_connect));
    return {};
  }

  // True while attempt id's connect is outstanding and has not been closed.
  bool pending(race::AttemptId id) const;
  // The connect of id ended: it is no longer pending (its socket stays open when it succeeded).
  void ended(race::AttemptId id);
  // Closes attempt id's socket; its handler comes later with operation_aborted.
  void close(race::AttemptId id);
  void close_all();
  // Hands over attempt id's connected socket and its endpoint; every other socket is closed.
  asio::ip::tcp::socket take(race::AttemptId id, asio::ip::tcp::endpoint& endpoint);

 private:
  struct Attempt {
    explicit Attempt(const asio::any_io_executor& ex) : socket(ex) {}
    asio::ip::tcp::socket socket;
    asio::ip::tcp::endpoint endpoint;
    bool pending = true;
  };
  Attempt& add(race::AttemptId id, const IpAddress& address, std::uint16_t port);
  Attempt* find(race::AttemptId id) const;
  std::error_code open(Attempt& a);

  asio::any_io_executor io_ex_;  // the sockets' executor (what the caller gets back)
  std::optional<IpAddress> local_address_;
  SocketSetup setup_;
  std::vector<std::unique_ptr<Attempt>> attempts_;  // [id - 1]; kept until the dial dies
};

}  // namespace heyes::detail
