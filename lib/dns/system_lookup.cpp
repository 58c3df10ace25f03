// SPDX-License-Identifier: MIT
// NSS services and getaddrinfo, one family per blocking call, on a small process-wide worker pool.
#include "system_lookup.hpp"

#include <dlfcn.h>
#include <netdb.h>
#include <nss.h>
#include <sys/socket.h>

#include <cerrno>
#include <condition_variable>
#include <cstring>
#include <algorithm>
#include <deque>
#include <map>
#include <mutex>
#include <thread>
#include <utility>

#include "common/sockaddr.hpp"

namespace heyes::dns::detail {
namespace {

// ---- NSS services ------------------------------------------------------------

using GetHostByName2 = nss_status (*)(const char* name, int af, hostent* result, char* buffer, std::size_t buflen,
                                      int* errnop, int* h_errnop);

// A service name as nsswitch.conf may give it; anything else (a path, a
// dot) is never turned into a library name.
bool plain_service_name(const std::string& s) {
  if (s.empty() || s.size() > 64) return false;
  for (char c : s)
    if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' || c == '-'))
      return false;
  return true;
}

struct LoadedService {
  GetHostByName2 gethostbyname2 = nullptr;
  std::string why;  // when not loaded
};

// Loaded once per process and never unloaded (glibc keeps its modules too:
// a service may leave threads or state behind).
// Never destroyed: a worker still inside a service when the process exits
// (detached, stuck in a call given up on) keeps using its entry.
const LoadedService& load_service(const std::string& service) {
  static auto* mu = new std::mutex;
  static auto* loaded = new std::map<std::string, LoadedService>;
  std::lock_guard lock(*mu);
  auto it = loaded->find(service);
  if (it != loaded->end()) return it->second;
  LoadedService s;
  const std::string library = "libnss_" + service + ".so.2";
  if (!plain_service_name(service)) {
    s.why = "not a service name";
  } else if (void* handle = dlopen(library.c_str(), RTLD_LAZY | RTLD_LOCAL)) {
    const std::string symbol = "_nss_" + service + "_gethostbyname2_r";
    s.gethostbyname2 = reinterpret_cast<GetHostByName2>(dlsym(handle, symbol.c_str()));
    if (!s.gethostbyname2) s.why = library + " has no " + symbol;
  } else {
    const char* e = dlerror();
    s.why = "cannot load " + library + (e ? std::string(": ") + e : std::string());
  }
  return loaded->emplace(service, std::move(s)).first->second;
}

std::vector<IpAddress> addresses_of(const hostent& h, Family family) {
  std::vector<IpAddress> out;
  const int af = family == Family::v6 ? AF_INET6 : AF_INET;
  const int len = family == Family::v6 ? 16 : 4;
  if (h.h_addrtype != af || h.h_length != len || h.h_addr_list == nullptr) return out;
  for (std::size_t i = 0; h.h_addr_list[i] != nullptr && out.size() < 64; ++i) {
    if (family == Family::v4) {
      std::array<std::uint8_t, 4> b{};
      std::memcpy(b.data(), h.h_addr_list[i], 4);
      out.push_back(IpAddress::v4(b));
    } else {
      IpAddress::Bytes b{};
      std::memcpy(b.data(), h.h_addr_list[i], 16);
      out.push_back(IpAddress::v6(b));
    }
  }
  return out;
}

// ---- the worker pool -----------------------------------------------------------

struct Shared {
  std::mutex mu;
  std::function<void(SystemAnswer)> sink;  // null once the call is over: the answer is dropped
};

struct Job {
  std::function<SystemAnswer()> work;
  std::shared_ptr<Shared> shared;
};

class Pool : public std::enable_shared_from_this<Pool> {
 public:
  // Never destroyed either: detached workers may outlive main().
  static Pool& get() {
    static auto* pool = new std::shared_ptr<Pool>(std::make_shared<Pool>());
    return **pool;
  }

  bool submit(Job job) {
    std::unique_lock lock(mu_);
    if (queue_.size() >= kSystemQueue) return false;
    queue_.push_back(std::move(job));
    // A worker still inside a call nobody waits for (over its time limit,
    // or cancelled) does not count: a stuck service cannot starve the
    // others, up to kSystemThreads threads in all.
    int given_up = 0;
    for (const auto& s : slots_) {
      if (!s.running) continue;
      std::lock_guard l(s.running->mu);
      if (!s.running->sink) ++given_up;
    }
    if (idle_ == 0 && threads_ < std::min(kSystemThreads, kSystemWorkers + given_up)) {
      std::size_t slot = 0;
      while (slot < slots_.size() && slots_[slot].owned) ++slot;
      if (slot == slots_.size()) slots_.emplace_back();
      slots_[slot].owned = true;
      ++threads_;
      // Detached: a worker stuck in a service must not hold up the exit of
      // the process; it keeps the pool alive by itself.
      std::thread([self = shared_from_this(), slot] { self->work(slot); }).detach();
    } else {
      cv_.notify_one();
    }
    return true;
  }

 private:
  struct Slot {
    bool owned = false;               // a worker thread has it
    std::shared_ptr<Shared> running;  // the call it is in, if any
  };

  void work(std::size_t slot) {
    std::unique_lock lock(mu_);
    for (;;) {
      while (queue_.empty()) {
        ++idle_;
        const bool woken = cv_.wait_for(lock, std::chrono::seconds(10), [this] { return !queue_.empty(); });
        --idle_;
        if (!woken) {
          --threads_;
          slots_[slot].owned = false;
          return;
        }
      }
      Job job = std::move(queue_.front());
      queue_.pop_front();
      slots_[slot].running = job.shared;
      lock.unlock();
      bool wanted;
      {
        std::lock_guard l(job.shared->mu);
        wanted = static_cast<bool>(job.shared->sink);
      }
      if (wanted) {
        SystemAnswer answer = job.work();
        std::lock_guard l(job.shared->mu);
        if (job.shared->sink) job.shared->sink(std::move(answer));
      }
      job = Job{};
      lock.lock();
      slots_[slot].running.reset();
    }
  }

  std::mutex mu_;
  std::condition_variable cv_;
  std::deque<Job> queue_;
  std::vector<Slot> slots_;
  int threads_ = 0;
  int idle_ = 0;
};

// The lookup's side of one call, on its executor: the time limit, and the
// answer handed over by the worker (through Shared, which is all the worker
// holds: once the call is over, nothing of it is touched by the worker).
class CallImpl final : public SystemCall, public std::enable_shared_from_this<CallImpl> {
 public:
  CallImpl(const asio::any_io_executor& ex, std::function<void(SystemAnswer)> done)
      : ex_(ex), timer_(ex), shared_(std::make_shared<Shared>()), done_(std::move(done)) {}

  void start(std::function<SystemAnswer()> work, std::chrono::milliseconds limit) {
    std::weak_ptr<CallImpl> weak = weak_from_this();
    shared_->sink = [weak, ex = ex_](SystemAnswer a) {
      asio::post(ex, [weak, a = std::move(a)]() mutable {
        if (auto self = weak.lock()) self->finish(std::move(a));
      });
    };
    if (!Pool::get().submit(Job{std::move(work), shared_})) {
      SystemAnswer busy{SourceStatus::tryagain, {}, "too many system lookups waiting"};
      asio::post(ex_, [self = shared_from_this(), busy = std::move(busy)]() mutable { self->finish(std::move(busy)); });
      return;
    }
    timer_.expires_after(limit);
    timer_.async_wait([self = shared_from_this(), limit](std::error_code ec) {
      if (ec) return;
      self->finish({SourceStatus::tryagain, {}, "no answer within " + std::to_string(limit.count()) + " ms"});
    });
  }

  void cancel() override {
    over();
    done_ = nullptr;
  }

  ~CallImpl() override { over(); }

 private:
  void over() {
    {
      std::lock_guard l(shared_->mu);
      shared_->sink = nullptr;
    }
    timer_.cancel();
  }

  void finish(SystemAnswer a) {
    if (!done_) return;
    over();
    auto done = std::move(done_);
    done_ = nullptr;
    done(std::move(a));
  }

  asio::any_io_executor ex_;
  asio::steady_timer timer_;
  std::shared_ptr<Shared> shared_;
  std::function<void(SystemAnswer)> done_;
};

}  // namespace

SystemAnswer nss_lookup(const std::string& service, const std::string& name, Family family) {
  const LoadedService& s = load_service(service);
  if (!s.gethostbyname2) return {SourceStatus::unavail, {}, s.why};
  std::vector<char> buffer(1024);
  for (;;) {
    hostent h{};
    int err = 0, herr = 0;
    const nss_status st = s.gethostbyname2(name.c_str(), family == Family::v6 ? AF_INET6 : AF_INET, &h, buffer.data(),
                                           buffer.size(), &err, &herr);
    if (st == NSS_STATUS_TRYAGAIN && err == ERANGE && buffer.size() < (std::size_t{1} << 20)) {
      buffer.resize(buffer.size() * 4);
      continue;
    }
    switch (st) {
      case NSS_STATUS_SUCCESS:
        return {SourceStatus::success, addresses_of(h, family), {}};
      case NSS_STATUS_NOTFOUND:
        return {SourceStatus::notfound, {}, herr == NO_DATA ? "no address of the family" : "not found"};
      case NSS_STATUS_UNAVAIL:
        return {SourceStatus::unavail, {}, "unavailable"};
      case NSS_STATUS_TRYAGAIN:
        return {SourceStatus::tryagain, {}, err == ERANGE ? "answer too large" : "temporary failure"};
      default:
        return {SourceStatus::unavail, {}, "unexpected status " + std::to_string(static_cast<int>(st))};
    }
  }
}

SystemAnswer getaddrinfo_lookup(const std::string& name, Family family) {
  addrinfo hints{};
  hints.ai_family = family == Family::v6 ? AF_INET6 : AF_INET;
  hints.ai_socktype = SOCK_STREAM;
  addrinfo* res = nullptr;
  const int rc = ::getaddrinfo(name.c_str(), nullptr, &hints, &res);
  if (rc != 0) {
    SystemAnswer a;
    a.detail = std::string("getaddrinfo: ") + gai_strerror(rc);
    a.status = rc == EAI_NONAME
#ifdef EAI_NODATA
                       || rc == EAI_NODATA || rc == EAI_ADDRFAMILY
#endif
                   ? SourceStatus::notfound
               : rc == EAI_AGAIN ? SourceStatus::tryagain
                                 : SourceStatus::unavail;
    return a;
  }
  SystemAnswer a{SourceStatus::success, {}, {}};
  for (addrinfo* p = res; p != nullptr && a.addresses.size() < 64; p = p->ai_next)
    if (auto ip = heyes::detail::from_sockaddr(p->ai_addr); ip && ip->family() == family) a.addresses.push_back(*ip);
  ::freeaddrinfo(res);
  return a;
}

std::shared_ptr<SystemCall> start_system_call(const asio::any_io_executor& ex, std::function<SystemAnswer()> work,
                                              std::chrono::milliseconds limit,
                                              std::function<void(SystemAnswer)> done) {
  auto call = std::make_shared<CallImpl>(ex, std::move(done));
  call->start(std::move(work), limit);
  return call;
}

}  // namespace heyes::dns::detail
