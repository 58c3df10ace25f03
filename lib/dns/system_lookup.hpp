// SPDX-License-Identifier: MIT
// Lookups heyes cannot do itself: an NSS service of nsswitch.conf, or getaddrinfo, one family per call on a small worker pool (private).
#pragma once

#include "common/asio.hpp"

#include <chrono>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "heyes/address.hpp"
#include "heyes/dns/nsswitch.hpp"
#include "system_answer.hpp"

namespace heyes::dns::detail {

// Asks the NSS service (libnss_<service>.so.2, its gethostbyname2_r) for
// name and family, as glibc's getaddrinfo asks each service of the hosts:
// line: loaded once per process and kept, as glibc keeps it; a service that
// cannot be loaded is UNAVAIL, as in glibc. Blocks: run it on the pool.
SystemAnswer nss_lookup(const std::string& service, const std::string& name, Family family);

// The system's getaddrinfo for one family (AF_INET6 or AF_INET, SOCK_STREAM):
// the whole of the system's own configuration. Blocks: run it on the pool.
SystemAnswer getaddrinfo_lookup(const std::string& name, Family family);

// One blocking call on the worker pool, as seen from the lookup that made it.
class SystemCall {
 public:
  virtual ~SystemCall() = default;
  // done is not called after this returns (once it runs on the executor
  // given to start_system_call; from elsewhere, at most the call already
  // running); the worker's late answer is dropped.
  virtual void cancel() = 0;
};

// Runs work on the process's worker pool (kSystemWorkers threads for the
// calls that are waited for, started when first needed, ending after 10 s
// without work; a thread stuck in a call given up on is replaced, up to
// kSystemThreads in all; at most kSystemQueue calls waiting, beyond which a
// call fails at once as TRYAGAIN). done gets the answer on ex, or TRYAGAIN ("no answer within
// LIMIT") when limit passes first: a worker stuck in a service keeps its
// thread, not the dial. Never calls done inside start_system_call.
std::shared_ptr<SystemCall> start_system_call(const asio::any_io_executor& ex, std::function<SystemAnswer()> work,
                                              std::chrono::milliseconds limit,
                                              std::function<void(SystemAnswer)> done);

inline constexpr int kSystemWorkers = 4;
inline constexpr int kSystemThreads = 16;
inline constexpr std::size_t kSystemQueue = 64;

}  // namespace heyes::dns::detail
