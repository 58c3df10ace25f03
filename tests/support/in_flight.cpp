// SPDX-License-Identifier: MIT
// hold_in_flight: start n dials, wait until all are blocked on the network, measure, cancel, drain.
#include "in_flight.hpp"

#include <asio/bind_cancellation_slot.hpp>
#include <asio/cancellation_signal.hpp>

#include <memory>
#include <vector>

namespace heyes::test {

InFlightRun hold_in_flight(asio::io_context& ioc, Dialer& dialer, int n, const std::function<std::string(int)>& host,
                           const std::string& service, const DialOptions& options,
                           const std::function<void()>& measure, std::chrono::steady_clock::duration limit) {
  // Shared with the handlers: a dial still running when limit passes keeps
  // its signal and the counts alive.
  struct State {
    explicit State(int n) : signals(static_cast<std::size_t>(n)) {}
    std::vector<asio::cancellation_signal> signals;
    InFlightRun run;
  };
  auto state = std::make_shared<State>(n);
  ioc.restart();
  for (int i = 0; i < n; ++i) {
    auto done = [state](std::error_code ec, asio::ip::tcp::socket) {
      ++state->run.completed;
      if (ec == asio::error::operation_aborted) ++state->run.aborted;
    };
    dialer.async_dial(ioc.get_executor(), host(i), service, options,
                      asio::bind_cancellation_slot(state->signals[static_cast<std::size_t>(i)].slot(), done));
  }
  // Until a few polls in a row find nothing to run: every query is on the
  // wire, every connect pending.
  for (int idle = 0; idle < 3;) idle = ioc.poll() == 0 ? idle + 1 : 0;
  measure();
  for (auto& s : state->signals) s.emit(asio::cancellation_type::terminal);
  const auto end = std::chrono::steady_clock::now() + limit;
  while (!ioc.stopped() && std::chrono::steady_clock::now() < end) ioc.run_one_for(std::chrono::milliseconds(100));
  return state->run;
}

}  // namespace heyes::test
