// SPDX-License-Identifier: MIT
// The resolver seam's two implementations that ship with heyes: its own stub, and getaddrinfo per family on the worker pool.
#include "heyes/dns/name_resolver.hpp"

#include "common/asio.hpp"

#include <mutex>
#include <string>

#include "heyes/trace.hpp"
#include "system_lookup.hpp"

namespace heyes {
namespace {

// ---- heyes's own stub -------------------------------------------------------

// The lookup is owned by its pending queries; this holds it weakly, to stop it.
class OwnLookup final : public NameResolver::Lookup {
 public:
  explicit OwnLookup(std::weak_ptr<dns::Resolver::Lookup> inner) : inner_(std::move(inner)) {}
  void cancel() override {
    if (auto l = inner_.lock()) l->cancel();
  }

 private:
  std::weak_ptr<dns::Resolver::Lookup> inner_;
};

class OwnResolver final : public NameResolver {
 public:
  explicit OwnResolver(std::shared_ptr<dns::Resolver> r) : resolver_(std::move(r)) {}
  std::shared_ptr<Lookup> start(const asio::any_io_executor& ex, std::string_view host, FamilySet families,
                                EventHandler on_event) override {
    return std::make_shared<OwnLookup>(resolver_->start(ex, host, families, std::move(on_event)));
  }

 private:
  std::shared_ptr<dns::Resolver> resolver_;
};

// ---- getaddrinfo ----------------------------------------------------------------

// One getaddrinfo call per family on the pool; the events come back on the
// lookup's strand. The calls own the lookup until they complete.
class SystemLookup final : public NameResolver::Lookup, public std::enable_shared_from_this<SystemLookup> {
 public:
  SystemLookup(const asio::any_io_executor& ex, std::string host, NameResolver::EventHandler on_event)
      : strand_(asio::make_strand(ex)), host_(std::move(host)), on_event_(std::move(on_event)) {}

  void begin(FamilySet families, std::chrono::milliseconds timeout) {
    for (Family f : {Family::v6, Family::v4}) {
      if (!families.contains(f)) continue;
      calls_[f == Family::v6 ? 0 : 1] = dns::detail::start_system_call(
          strand_, [name = host_, f] { return dns::detail::getaddrinfo_lookup(name, f); }, timeout,
          [self = shared_from_this(), f](dns::detail::SystemAnswer a) { self->deliver(f, a); });
    }
  }

  void cancel() override {
    {
      std::lock_guard lock(mu_);
      stopped_ = true;
      on_event_ = nullptr;
    }
    asio::dispatch(strand_, [self = shared_from_this()] {
      for (auto& c : self->calls_)
        if (auto call = std::exchange(c, {}).lock()) call->cancel();
    });
  }

 private:
  void deliver(Family f, dns::detail::SystemAnswer& a) {
    calls_[f == Family::v6 ? 0 : 1].reset();
    dns::ResolveEvent e = dns::detail::to_event(f, a, answer_source::getaddrinfo, host_);
    std::lock_guard lock(mu_);
    if (stopped_ || !on_event_) return;
    auto handler = on_event_;  // the handler may cancel while it runs
    handler(e);
  }

  asio::strand<asio::any_io_executor> strand_;
  std::string host_;
  std::recursive_mutex mu_;  // held while the handler runs: cancel() waits for it (or re-enters)
  bool stopped_ = false;
  NameResolver::EventHandler on_event_;
  std::weak_ptr<dns::detail::SystemCall> calls_[2];  // strand only
};

class SystemResolver final : public NameResolver {
 public:
  explicit SystemResolver(std::chrono::milliseconds timeout) : timeout_(timeout) {}
  std::shared_ptr<Lookup> start(const asio::any_io_executor& ex, std::string_view host, FamilySet families,
                                EventHandler on_event) override {
    auto lookup = std::make_shared<SystemLookup>(ex, std::string(host), std::move(on_event));
    lookup->begin(families, timeout_);
    return lookup;
  }

 private:
  std::chrono::milliseconds timeout_;
};

}  // namespace

std::shared_ptr<NameResolver> heyes_name_resolver(std::shared_ptr<dns::Resolver> resolver) {
  return std::make_shared<OwnResolver>(std::move(resolver));
}

std::shared_ptr<NameResolver> system_name_resolver(std::chrono::milliseconds timeout) {
  return std::make_shared<SystemResolver>(timeout);
}

}  // namespace heyes
