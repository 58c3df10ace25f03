// SPDX-License-Identifier: MIT
// async_dial in the flavour heyes is built for (standalone Asio or Boost.Asio): tokens, socket types, errors.
//
// Built in both flavours: net is heyes::asio, so the same cases check
// standalone Asio and Boost.Asio. Loopback only: a listener of its own on
// 127.0.0.1 (the kernel completes the handshake, no accept needed) and a
// closed port; hosts are address literals, so no DNS is asked.
#define DOCTEST_CONFIG_IMPLEMENT_WITH_MAIN
#include <doctest/doctest.h>

#include "heyes/dial.hpp"
#include "heyes/dial/dialer_options.hpp"

#if defined(HEYES_ASIO_BOOST)
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/strand.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/use_future.hpp>
#include <boost/system/system_error.hpp>
#if defined(BOOST_ASIO_HAS_CO_AWAIT)
#define HEYES_TEST_HAS_CO_AWAIT 1
#endif
using system_error = boost::system::system_error;
#else
#include <asio/co_spawn.hpp>
#include <asio/detached.hpp>
#include <asio/experimental/deferred.hpp>
#include <asio/strand.hpp>
#include <asio/use_awaitable.hpp>
#include <asio/use_future.hpp>
#if defined(ASIO_HAS_CO_AWAIT)
#define HEYES_TEST_HAS_CO_AWAIT 1
#endif
using system_error = std::system_error;
#endif

#include <chrono>
#include <future>
#include <optional>
#include <string>
#include <thread>
#include <type_traits>

namespace net = heyes::asio;
using namespace std::chrono_literals;
using heyes::asio_error_code;
using tcp = net::ip::tcp;

namespace {

// A listener on 127.0.0.1 and a port where nothing listens.
struct Loopback {
  net::io_context ioc;
  tcp::acceptor listener{ioc, {net::ip::make_address("127.0.0.1"), 0}};
  std::string port = std::to_string(listener.local_endpoint().port());
  std::string closed_port = [this] {
    tcp::acceptor a(ioc, {net::ip::make_address("127.0.0.1"), 0});
    return std::to_string(a.local_endpoint().port());  // closed when a goes
  }();
  heyes::Dialer dialer{heyes::DialerOptions{}};
  heyes::DialOptions options = [] {
    heyes::DialOptions o;
    o.timeout = 5s;  // bounds every dial below
    return o;
  }();
};

// A completion token that records what async_initiate hands it: the
// initiation's executor_type and get_executor(), as asio's own operations
// have them. It then starts the dial with a handler that does nothing.
struct inspect_t {
  bool* executor_type_matches;
  bool* executor_matches;
  const net::io_context::executor_type* expected;
};

}  // namespace

template <class Signature>
struct heyes::asio::async_result<inspect_t, Signature> {
  using return_type = void;
  template <class Initiation, class... Args>
  static void initiate(Initiation&& initiation, inspect_t token, Args&&... args) {
    using I = std::decay_t<Initiation>;
    *token.executor_type_matches = std::is_same_v<typename I::executor_type, net::io_context::executor_type>;
    *token.executor_matches = initiation.get_executor() == *token.expected;
    std::move(initiation)([](auto, auto) {}, std::forward<Args>(args)...);
  }
};

TEST_CASE("the completion signature: the flavour's error_code, a socket on the caller's executor") {
  Loopback lo;
  SUBCASE("io_context::executor_type: basic_stream_socket<tcp, io_context::executor_type>") {
    bool connected = false;
    lo.dialer.async_dial(lo.ioc.get_executor(), "127.0.0.1", lo.port, lo.options, [&](auto ec, auto socket) {
      static_assert(std::is_same_v<decltype(ec), asio_error_code>);
      static_assert(std::is_same_v<decltype(socket), tcp::socket::rebind_executor<
                                                        net::io_context::executor_type>::other>);
      CHECK_MESSAGE(!ec, ec.message());
      connected = socket.is_open() && socket.remote_endpoint().address().to_string() == "127.0.0.1";
    });
    CHECK_FALSE(connected);  // never from inside async_dial
    lo.ioc.run_for(10s);
    CHECK(connected);
  }
  SUBCASE("any_io_executor: asio's tcp::socket, as before") {
    bool connected = false;
    const net::any_io_executor ex = lo.ioc.get_executor();
    heyes::async_dial(ex, "127.0.0.1", lo.port, lo.options, [&](auto ec, auto socket) {
      static_assert(std::is_same_v<decltype(socket), tcp::socket>);
      CHECK_MESSAGE(!ec, ec.message());
      connected = socket.is_open();
    });
    lo.ioc.run_for(10s);
    CHECK(connected);
  }
  SUBCASE("a strand: the socket's executor is the strand") {
    auto strand = net::make_strand(lo.ioc);
    bool connected = false;
    lo.dialer.async_dial(strand, "127.0.0.1", lo.port, lo.options, [&](asio_error_code ec, auto socket) {
      static_assert(std::is_same_v<typename decltype(socket)::executor_type, decltype(strand)>);
      CHECK(socket.get_executor() == strand);
      CHECK_MESSAGE(!ec, ec.message());
      connected = socket.is_open();
    });
    lo.ioc.run_for(10s);
    CHECK(connected);
  }
  SUBCASE("a callback that takes asio's tcp::socket gets one converted") {
    bool connected = false;
    lo.dialer.async_dial(lo.ioc.get_executor(), "127.0.0.1", lo.port, lo.options,
                         [&](asio_error_code ec, tcp::socket socket) { connected = !ec && socket.is_open(); });
    lo.ioc.run_for(10s);
    CHECK(connected);
  }
}

TEST_CASE("heyes errors arrive as the flavour's error_code and compare with heyes::errc") {
  Loopback lo;
  SUBCASE("refused: all_attempts_failed, each address's cause kept") {
    asio_error_code got;
    std::error_code cause;
    lo.dialer.async_dial_result(lo.ioc.get_executor(), "127.0.0.1", lo.closed_port, lo.options,
                                [&](asio_error_code ec, heyes::DialResult r) {
                                  got = ec;
                                  if (!r.failures.empty()) cause = r.failures.front().error;
                                });
    lo.ioc.run_for(10s);
    CHECK(got == heyes::errc::all_attempts_failed);
    CHECK(heyes::errc::all_attempts_failed == got);
    CHECK(got != heyes::errc::timed_out);
    CHECK(std::string(got.category().name()) == heyes::category().name());
    CHECK(got.message() == heyes::make_error_code(heyes::errc::all_attempts_failed).message());
    // A per-address cause is a std::error_code holding asio's own code:
    // back in the flavour's error_code it is asio's connection_refused.
    CHECK(heyes::flavour::to_asio_error(cause) == net::error::connection_refused);
  }
  SUBCASE("a bad host name, completed after async_dial returned") {
    asio_error_code got;
    bool called = false;
    heyes::async_dial(lo.ioc.get_executor(), "bad..name", lo.port, lo.options, [&](asio_error_code ec, auto) {
      got = ec;
      called = true;
    });
    CHECK_FALSE(called);
    lo.ioc.run_for(10s);
    CHECK(called);
    CHECK(got == heyes::errc::bad_host_name);
  }
}

TEST_CASE("tokens: use_future, use_awaitable, deferred, the default token") {
  Loopback lo;
  SUBCASE("use_future: the socket, or the error as the flavour's system_error") {
    auto work = net::make_work_guard(lo.ioc);
    std::thread runner([&] { lo.ioc.run_for(20s); });
    auto ok = lo.dialer.async_dial(lo.ioc.get_executor(), "127.0.0.1", lo.port, lo.options, net::use_future);
    auto refused = lo.dialer.async_dial(lo.ioc.get_executor(), "127.0.0.1", lo.closed_port, lo.options,
                                        net::use_future);
    REQUIRE(ok.wait_for(10s) == std::future_status::ready);
    REQUIRE(refused.wait_for(10s) == std::future_status::ready);
    CHECK(ok.get().remote_endpoint().address().to_string() == "127.0.0.1");
    try {
      refused.get();
      FAIL("a refused dial must throw");
    } catch (const system_error& e) {
      CHECK(e.code() == heyes::errc::all_attempts_failed);
    }
    work.reset();
    lo.ioc.stop();
    runner.join();
  }
#if defined(HEYES_TEST_HAS_CO_AWAIT)
  SUBCASE("use_awaitable, and use_awaitable as the executor's default token") {
    std::string winner, by_default;
    net::co_spawn(
        lo.ioc,
        [&]() -> net::awaitable<void> {
          auto ex = co_await net::this_coro::executor;
          auto s = co_await lo.dialer.async_dial(ex, "127.0.0.1", lo.port, lo.options, net::use_awaitable);
          winner = s.remote_endpoint().address().to_string();
          // No token: the default of the executor's type, as for asio's own operations.
          using awaitable_executor = net::use_awaitable_t<>::executor_with_default<net::any_io_executor>;
          auto d = co_await lo.dialer.async_dial(awaitable_executor(ex), "127.0.0.1", lo.port, lo.options);
          by_default = d.remote_endpoint().address().to_string();
          try {
            co_await heyes::async_dial(ex, "127.0.0.1", lo.closed_port, lo.options, net::use_awaitable);
          } catch (const system_error& e) {
            CHECK(e.code() == heyes::errc::all_attempts_failed);
          }
        },
        net::detached);
    lo.ioc.run_for(20s);
    CHECK(winner == "127.0.0.1");
    CHECK(by_default == "127.0.0.1");
  }
#endif
#if !defined(HEYES_ASIO_BOOST)
  SUBCASE("deferred: nothing starts until the deferred operation is invoked") {
    auto op = lo.dialer.async_dial(lo.ioc.get_executor(), "127.0.0.1", lo.port, lo.options,
                                   net::experimental::deferred);
    CHECK(lo.ioc.poll() == 0);
    lo.ioc.restart();
    bool connected = false;
    std::move(op)([&](asio_error_code ec, auto socket) { connected = !ec && socket.is_open(); });
    lo.ioc.run_for(10s);
    CHECK(connected);
  }
#else
  // Boost 1.74 (Debian 12) has neither boost::asio::deferred (Boost 1.80)
  // nor experimental::deferred (Boost 1.77): nothing to test there.
#endif
  SUBCASE("the initiation names the I/O executor, as asio's own initiations do") {
    bool type_matches = false, executor_matches = false;
    const auto ex = lo.ioc.get_executor();
    lo.dialer.async_dial(ex, "127.0.0.1", lo.port, lo.options, inspect_t{&type_matches, &executor_matches, &ex});
    lo.ioc.run_for(10s);
    CHECK(type_matches);
    CHECK(executor_matches);
  }
}

TEST_CASE("the blocking forms and the socket hook in this flavour") {
  Loopback lo;
  SUBCASE("dial: a tcp::socket on the caller's io_context") {
    tcp::socket s = lo.dialer.dial(lo.ioc.get_executor(), "127.0.0.1", lo.port, lo.options);
    CHECK(s.remote_endpoint().address().to_string() == "127.0.0.1");
  }
  SUBCASE("dial with std::error_code&: heyes' own error, as a std::error_code") {
    std::error_code ec;
    tcp::socket s = heyes::dial(lo.ioc, "127.0.0.1", lo.closed_port, lo.options, ec);
    CHECK(ec == heyes::errc::all_attempts_failed);
    CHECK_FALSE(s.is_open());
  }
  SUBCASE("the throwing dial throws heyes::DialError with every cause") {
    try {
      (void)heyes::dial(lo.ioc, "127.0.0.1", lo.closed_port, lo.options);
      FAIL("a refused dial must throw");
    } catch (const heyes::DialError& e) {
      CHECK(e.code() == heyes::errc::all_attempts_failed);
      REQUIRE(e.failures().size() == 1);
      CHECK(heyes::flavour::to_asio_error(e.failures().front().error) == net::error::connection_refused);
    }
  }
  SUBCASE("socket_setup takes the flavour's error_code, which asio's calls want") {
    bool ran = false;
    lo.options.socket_setup = [&](tcp::socket& socket, asio_error_code& ec) {
      socket.set_option(tcp::no_delay(true), ec);
      ran = !ec;
    };
    tcp::socket s = lo.dialer.dial(lo.ioc.get_executor(), "127.0.0.1", lo.port, lo.options);
    CHECK(ran);
    tcp::no_delay nd;
    s.get_option(nd);
    CHECK(nd.value());
  }
}

namespace {

// What asio's state flags say of a socket's descriptor.
template <class Socket>
unsigned state_of(Socket& s) {
  return heyes::detail::socket_impl(s).get_implementation().state_;
}
constexpr unsigned possible_dup = net::detail::socket_ops::possible_dup;
constexpr unsigned internal_non_blocking = net::detail::socket_ops::internal_non_blocking;

// The delivered socket works on its own executor: a write completes
// asynchronously (the reactor registration came along) and synchronously
// (the caller never asked for non-blocking, so a blocking call blocks).
template <class Socket>
void check_usable(net::io_context& ioc, Socket& s) {
  CHECK_FALSE(s.non_blocking());
  bool written = false;
  s.async_write_some(net::buffer("ping", 4), [&](asio_error_code ec, std::size_t n) { written = !ec && n == 4; });
  ioc.restart();
  ioc.run_for(5s);
  CHECK(written);
  CHECK(s.write_some(net::buffer("pong", 4)) == 4);
}

}  // namespace

TEST_CASE("the socket is handed over within its io_context: the descriptor asio would have opened itself") {
  Loopback lo;
  SUBCASE("io_context::executor_type") {
    std::optional<tcp::socket::rebind_executor<net::io_context::executor_type>::other> got;
    lo.dialer.async_dial(lo.ioc.get_executor(), "127.0.0.1", lo.port, lo.options, [&](asio_error_code ec, auto s) {
      CHECK_MESSAGE(!ec, ec.message());
      got.emplace(std::move(s));
    });
    lo.ioc.run_for(10s);
    REQUIRE(got);
    REQUIRE(got->is_open());
    // release() and assign() would have left the duplicate flag (an extra
    // epoll_ctl at close) and cleared the internal non-blocking one.
    CHECK((state_of(*got) & possible_dup) == 0);
    CHECK((state_of(*got) & internal_non_blocking) != 0);
    check_usable(lo.ioc, *got);
  }
  SUBCASE("a strand over it") {
    auto strand = net::make_strand(lo.ioc);
    std::optional<tcp::socket::rebind_executor<decltype(strand)>::other> got;
    lo.dialer.async_dial(strand, "127.0.0.1", lo.port, lo.options, [&](asio_error_code ec, auto s) {
      CHECK_MESSAGE(!ec, ec.message());
      got.emplace(std::move(s));
    });
    lo.ioc.run_for(10s);
    REQUIRE(got);
    CHECK(got->get_executor() == strand);
    CHECK((state_of(*got) & possible_dup) == 0);
    check_usable(lo.ioc, *got);
  }
  SUBCASE("move_within_context: the same descriptor within one context, nothing across two") {
    tcp::socket from(lo.ioc);
    from.connect(lo.listener.local_endpoint());
    const auto fd = from.native_handle();
    net::io_context other;
    tcp::socket::rebind_executor<net::io_context::executor_type>::other elsewhere(other.get_executor());
    CHECK_FALSE(heyes::detail::move_within_context(from, elsewhere));
    CHECK(from.is_open());
    CHECK_FALSE(elsewhere.is_open());
    tcp::socket::rebind_executor<net::io_context::executor_type>::other here(lo.ioc.get_executor());
    REQUIRE(heyes::detail::move_within_context(from, here));
    CHECK_FALSE(from.is_open());
    CHECK(here.native_handle() == fd);
    CHECK_FALSE(heyes::detail::move_within_context(here, here));  // an open target takes nothing
    check_usable(lo.ioc, here);
  }
}
