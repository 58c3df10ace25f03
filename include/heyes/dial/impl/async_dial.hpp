// SPDX-License-Identifier: MIT
// The templates of heyes/dial.hpp: the asio initiation and the type-erased completion.
#pragma once

#include "heyes/detail/asio.hpp"
#include "heyes/detail/socket_handover.hpp"

#include <memory>
#include <string>
#include <type_traits>
#include <utility>

namespace heyes::detail {

// The completion of one dial with the handler type erased. The operation
// calls exactly one of complete() or destroy(); both free the object.
// immediate: the dial ended inside the initiating call (bad input, a socket
// that could not be set up), so the handler must be posted, never run there.
class DialCompletion {
 public:
  virtual void complete(std::error_code ec, DialResult result, bool immediate) = 0;
  virtual void destroy() noexcept = 0;

 protected:
  ~DialCompletion() = default;
};

class DialOp;  // lib/dial/dial_op.cpp

// Creates a dial (not yet started); the operation owns completion from here on.
std::shared_ptr<DialOp> make_dial(const std::shared_ptr<DialerState>& dialer, const asio::any_io_executor& ex,
                                  std::string host, std::string service, DialOptions options,
                                  DialCompletion* completion);
// Starts the dial on its strand: at once when the caller runs inside the
// io_context on this thread (as a plain async_connect would), else posted.
void start_dial(const std::shared_ptr<DialOp>& op);
// From any thread: posts a cancellation to the dial's strand (no-op once it is over).
void cancel_dial(const std::weak_ptr<DialOp>& op);

#if HEYES_ASIO_HAS_CANCELLATION_SLOT
// Installed in the handler's cancellation slot.
struct DialCancelHandler {
  std::weak_ptr<DialOp> op;
  void operator()(asio::cancellation_type type) const {
    constexpr auto handled =
        asio::cancellation_type::terminal | asio::cancellation_type::partial | asio::cancellation_type::total;
    if ((type & handled) != asio::cancellation_type::none) cancel_dial(op);
  }
};
#endif

// The dial's socket (on an any_io_executor over the caller's executor)
// moved onto Socket's executor: the same descriptor, moved within the
// execution context with no system call, or else (a context whose socket
// service differs) released and registered again there.
template <class Socket>
void rebind_socket(asio::ip::tcp::socket& from, const asio::ip::tcp::endpoint& endpoint, Socket& to,
                   std::error_code& ec) {
  if (!from.is_open() || move_within_context(from, to)) return;
  asio_error_code aec;
  auto fd = from.release(aec);
  if (!aec) to.assign(endpoint.protocol(), fd, aec);
  ec = flavour::to_std_error(aec);
}

// Holds the handler (allocated with its associated allocator) and outstanding
// work on its associated executor; delivers the result there. Socket is the
// socket of the completion signature (SocketOnly), on IoExecutor.
template <class Handler, bool SocketOnly, class IoExecutor>
class DialCompletionImpl final : public DialCompletion {
 public:
  using Executor = asio::associated_executor_t<Handler, asio::any_io_executor>;
  using Allocator = typename std::allocator_traits<asio::associated_allocator_t<Handler>>::template rebind_alloc<
      DialCompletionImpl>;
  using Socket = dial_socket_t<IoExecutor>;

  static DialCompletionImpl* create(Handler handler, const IoExecutor& io_ex) {
    Allocator alloc(asio::get_associated_allocator(handler));
    DialCompletionImpl* p = std::allocator_traits<Allocator>::allocate(alloc, 1);
    try {
      return ::new (static_cast<void*>(p)) DialCompletionImpl(std::move(handler), io_ex);
    } catch (...) {
      std::allocator_traits<Allocator>::deallocate(alloc, p, 1);
      throw;
    }
  }

  void complete(std::error_code ec, DialResult result, bool immediate) override {
    // Free this object before the upcall (asio's rule), then deliver on the
    // handler's executor. The cancellation slot is cleared there, just before
    // the handler runs: that is where the caller emits its signal (asio's
    // rule), so clearing it from the dial's strand raced with an emit
    // (ThreadSanitizer, dial-stress-test). A signal emitted before the clear
    // reaches a finished dial and does nothing.
    Allocator alloc(asio::get_associated_allocator(handler_));
    Handler handler(std::move(handler_));
    asio::executor_work_guard<Executor> work(std::move(work_));
    IoExecutor io_ex(std::move(io_ex_));
    free_self(alloc);
    auto ex = work.get_executor();
    auto deliver = [&](auto&& f) {
      if (immediate) asio::post(ex, std::move(f));
      else asio::dispatch(ex, std::move(f));
    };
    if constexpr (SocketOnly) {
      Socket socket(io_ex);
      if constexpr (std::is_same_v<Socket, asio::ip::tcp::socket>) {
        socket = std::move(result.socket);
      } else {
        std::error_code rebind_error;
        rebind_socket(result.socket, result.endpoint, socket, rebind_error);
        if (!ec) ec = rebind_error;
      }
      deliver([h = std::move(handler), ec, s = std::move(socket)]() mutable {
        clear_slot(h);
        std::move(h)(flavour::to_asio_error(ec), std::move(s));
      });
    } else {
      deliver([h = std::move(handler), ec, r = std::move(result)]() mutable {
        clear_slot(h);
        std::move(h)(flavour::to_asio_error(ec), std::move(r));
      });
    }
  }

  void destroy() noexcept override { free_self(Allocator(asio::get_associated_allocator(handler_))); }

 private:
  DialCompletionImpl(Handler&& handler, const IoExecutor& io_ex)
      : handler_(std::move(handler)),
        work_(asio::get_associated_executor(handler_, asio::any_io_executor(io_ex))),
        io_ex_(io_ex) {}
  ~DialCompletionImpl() = default;

  static void clear_slot([[maybe_unused]] Handler& h) {
#if HEYES_ASIO_HAS_CANCELLATION_SLOT
    auto slot = asio::get_associated_cancellation_slot(h);
    if (slot.is_connected()) slot.clear();
#endif
  }

  // The allocator is taken before the handler is moved from.
  void free_self(Allocator alloc) noexcept {
    this->~DialCompletionImpl();
    std::allocator_traits<Allocator>::deallocate(alloc, this, 1);
  }

  Handler handler_;
  asio::executor_work_guard<Executor> work_;
  IoExecutor io_ex_;
};

// The initiation object of async_dial / async_dial_result. As asio's own
// initiations, it names the I/O executor (executor_type, get_executor()),
// which a token may use (the handler's default associated executor).
template <bool SocketOnly, class IoExecutor>
class InitiateDial {
 public:
  using executor_type = IoExecutor;

  InitiateDial(std::shared_ptr<DialerState> dialer, const IoExecutor& ex) : dialer_(std::move(dialer)), ex_(ex) {}

  executor_type get_executor() const noexcept { return ex_; }

  template <class Handler>
  void operator()(Handler&& handler, std::string host, std::string service, DialOptions options) const {
    using H = std::decay_t<Handler>;
    if constexpr (SocketOnly) options.keep_trace = false;  // nobody could read it
#if HEYES_ASIO_HAS_CANCELLATION_SLOT
    auto slot = asio::get_associated_cancellation_slot(handler);
#endif
    auto* completion = DialCompletionImpl<H, SocketOnly, IoExecutor>::create(std::forward<Handler>(handler), ex_);
    auto op = make_dial(dialer_, asio::any_io_executor(ex_), std::move(host), std::move(service), std::move(options),
                        completion);
#if HEYES_ASIO_HAS_CANCELLATION_SLOT
    // The slot is set up before the start so the completion (on another
    // thread, maybe) always finds it in place to clear.
    if (slot.is_connected()) slot.template emplace<DialCancelHandler>(DialCancelHandler{op});
#endif
    start_dial(op);
  }

 private:
  std::shared_ptr<DialerState> dialer_;
  IoExecutor ex_;
};

}  // namespace heyes::detail

namespace heyes {

template <detail::IoExecutor Executor, class CompletionToken>
auto Dialer::async_dial(const Executor& ex, std::string_view host, std::string_view service, DialOptions options,
                        CompletionToken&& token) {
  return asio::async_initiate<CompletionToken, void(asio_error_code, dial_socket_t<Executor>)>(
      detail::InitiateDial<true, Executor>(state_, ex), token, std::string(host), std::string(service),
      std::move(options));
}

template <detail::IoExecutor Executor, class CompletionToken>
auto Dialer::async_dial_result(const Executor& ex, std::string_view host, std::string_view service,
                               DialOptions options, CompletionToken&& token) {
  return asio::async_initiate<CompletionToken, void(asio_error_code, DialResult)>(
      detail::InitiateDial<false, Executor>(state_, ex), token, std::string(host), std::string(service),
      std::move(options));
}

template <detail::IoExecutor Executor, class CompletionToken>
auto async_dial(const Executor& ex, std::string_view host, std::string_view service, DialOptions options,
                CompletionToken&& token) {
  return Dialer::default_dialer().async_dial(ex, host, service, std::move(options),
                                             std::forward<CompletionToken>(token));
}

template <detail::IoExecutor Executor, detail::NotDialOptions CompletionToken>
auto async_dial(const Executor& ex, std::string_view host, std::string_view service, CompletionToken&& token) {
  return Dialer::default_dialer().async_dial(ex, host, service, DialOptions{}, std::forward<CompletionToken>(token));
}

template <detail::IoExecutor Executor, class CompletionToken>
auto async_dial_result(const Executor& ex, std::string_view host, std::string_view service, DialOptions options,
                       CompletionToken&& token) {
  return Dialer::default_dialer().async_dial_result(ex, host, service, std::move(options),
                                                    std::forward<CompletionToken>(token));
}

}  // namespace heyes
