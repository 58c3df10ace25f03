// SPDX-License-Identifier: MIT
// Template bodies of heyes/dns/resolver.hpp: Resolver::async_resolve on asio::async_initiate.
#pragma once

#include "heyes/detail/asio.hpp"

#include <mutex>
#include <optional>
#include <utility>

namespace heyes::dns {
namespace detail {

// The one error of a two-family lookup with no address: NXDOMAIN if either
// family says so, NODATA if both do, else the first other failure (timeout,
// server failure, ...).
std::error_code combine_resolve_errors(std::error_code v6, std::error_code v4);

// Collects the two per-family events of a lookup into one completion.
template <class Handler>
class ResolveOp : public std::enable_shared_from_this<ResolveOp<Handler>> {
 public:
  using WorkExecutor = asio::associated_executor_t<Handler, asio::any_io_executor>;

  ResolveOp(Handler handler, const asio::any_io_executor& ex)
      : handler_(std::move(handler)), ex_(ex), work_(asio::get_associated_executor(*handler_, ex)) {}

  void start(Resolver& resolver, const std::string& host) {
#if HEYES_ASIO_HAS_CANCELLATION_SLOT
    // Per-operation cancellation: cancel the lookup, complete with operation_aborted.
    auto slot = asio::get_associated_cancellation_slot(*handler_);
    if (slot.is_connected())
      slot.assign([self = this->shared_from_this()](asio::cancellation_type) { self->cancelled(); });
#endif
    auto lookup = resolver.start(ex_, host, FamilySet::both(),
                                 [self = this->shared_from_this()](const ResolveEvent& e) { self->on_event(e); });
    std::lock_guard lock(mu_);
    lookup_ = std::move(lookup);
  }

 private:
  void on_event(const ResolveEvent& e) {
    std::unique_lock lock(mu_);
    (e.family == Family::v6 ? v6_ : v4_) = e;
    if (!v6_ || !v4_) return;
    std::vector<IpAddress> all = v6_->addresses;
    all.insert(all.end(), v4_->addresses.begin(), v4_->addresses.end());
    const std::error_code ec = all.empty() ? combine_resolve_errors(v6_->error, v4_->error) : std::error_code();
    lock.unlock();
    complete(ec, std::move(all));
  }

  void cancelled() {
    std::shared_ptr<Resolver::Lookup> lookup;
    {
      std::lock_guard lock(mu_);
      lookup = lookup_;
    }
    if (lookup) lookup->cancel();
    complete(heyes::flavour::operation_aborted(), {});
  }

  // Exactly once, on the handler's associated executor.
  void complete(std::error_code ec, std::vector<IpAddress> addresses) {
    // Clearing the slot destroys its lambda, which may hold the last reference to us.
    auto keep_alive = this->shared_from_this();
    std::optional<Handler> h;
    {
      std::lock_guard lock(mu_);
      if (!handler_) return;
      h.emplace(std::move(*handler_));
      handler_.reset();
      lookup_.reset();
    }
#if HEYES_ASIO_HAS_CANCELLATION_SLOT
    asio::get_associated_cancellation_slot(*h).clear();
#endif
    auto work = std::move(work_);
    asio::dispatch(work.get_executor(), [h = std::move(*h), ec, addresses = std::move(addresses)]() mutable {
      std::move(h)(heyes::flavour::to_asio_error(ec), std::move(addresses));
    });
  }

  std::mutex mu_;
  std::optional<Handler> handler_;
  asio::any_io_executor ex_;
  asio::executor_work_guard<WorkExecutor> work_;
  std::shared_ptr<Resolver::Lookup> lookup_;
  std::optional<ResolveEvent> v6_, v4_;
};

}  // namespace detail

// Completion Signature: void(asio_error_code, std::vector<IpAddress>)
// (std::error_code; boost::system::error_code in the Boost flavour): the
// addresses of both families, AAAA answers first, or the error when neither
// family has any (detail::combine_resolve_errors).
//
// Per-Operation Cancellation: any cancellation type cancels the lookup (its
// sockets are closed) and completes with asio::error::operation_aborted
// (not with Boost.Asio before 1.77, which has no cancellation slots).
//
// Example:
//   auto [ec, addrs] = resolver->async_resolve(ex, "example.com", asio::as_tuple(asio::use_future)).get();
template <class Token>
auto Resolver::async_resolve(const asio::any_io_executor& ex, std::string host, Token&& token) {
  return asio::async_initiate<Token, void(asio_error_code, std::vector<IpAddress>)>(
      [](auto handler, std::shared_ptr<Resolver> self, asio::any_io_executor ex, std::string host) {
        using Handler = std::decay_t<decltype(handler)>;
        auto op = std::make_shared<detail::ResolveOp<Handler>>(std::move(handler), ex);
        op->start(*self, host);
      },
      token, shared_from_this(), ex, std::move(host));
}

}  // namespace heyes::dns
