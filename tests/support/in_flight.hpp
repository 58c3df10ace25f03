// SPDX-License-Identifier: MIT
// Many dials held in flight at once, measured, then cancelled: the memory probe of the load test and the benchmark.
#pragma once

#include <asio/io_context.hpp>

#include <chrono>
#include <functional>
#include <string>

#include "heyes/dial.hpp"

namespace heyes::test {

struct InFlightRun {
  int completed = 0;  // dials that ended (all of them, unless the limit passed)
  int aborted = 0;    // of those, ended by the cancellation (operation_aborted)
};

// Starts n dials on ioc (dialer, host(i), service, options), each with a
// cancellation slot; runs ioc until no handler is ready (every dial waits on
// the network: a query, a connect), calls measure(), then cancels every dial
// and runs ioc until all have ended and no work is left, at most limit.
InFlightRun hold_in_flight(asio::io_context& ioc, Dialer& dialer, int n, const std::function<std::string(int)>& host,
                           const std::string& service, const DialOptions& options,
                           const std::function<void()>& measure, std::chrono::steady_clock::duration limit);

}  // namespace heyes::test
