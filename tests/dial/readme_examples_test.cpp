// SPDX-License-Identifier: MIT
// The README's dial examples, compiled and run (on loopback: host and service are parameters here).
#include <doctest/doctest.h>

#include <asio/co_spawn.hpp>
#include <asio/detached.hpp>
#include <asio/experimental/deferred.hpp>
#include <asio/use_awaitable.hpp>
#include <asio/use_future.hpp>

#include <future>
#include <heyes/dial/dialer_options.hpp>
#include <heyes/heyes.hpp>
#include <thread>

#include "dial_fixture.hpp"

namespace {

// The free functions use the default Dialer, which would ask the system's
// nameserver for a name: the examples dial an address literal instead.
const std::string host = "127.0.0.1";

std::string callback_example(const std::string& service) {
  asio::io_context ioc;
  std::string peer;
  heyes::async_dial(ioc.get_executor(), host, service, {}, [&](std::error_code ec, asio::ip::tcp::socket socket) {
    if (!ec) peer = socket.remote_endpoint().address().to_string();
  });
  ioc.run();
  return peer;
}

#if defined(ASIO_HAS_CO_AWAIT)  // clang 14 with libstdc++ has no usable <coroutine>
asio::awaitable<std::string> coroutine_example(std::string service) {
  auto ex = co_await asio::this_coro::executor;
  asio::ip::tcp::socket s = co_await heyes::async_dial(ex, host, service, {}, asio::use_awaitable);
  co_return s.remote_endpoint().address().to_string();
}
#endif

std::string blocking_example(const std::string& service) {
  asio::io_context ioc;
  asio::ip::tcp::socket b = heyes::dial(ioc, host, service);
  std::error_code ec;
  asio::ip::tcp::socket c = heyes::dial(ioc, host, service, {}, ec);
  return !ec && b.is_open() && c.is_open() ? b.remote_endpoint().address().to_string() : "";
}

std::string dialer_example(const heyes::dns::Nameserver& nameserver, const std::string& name,
                           const std::string& service) {
  heyes::DialerOptions config = heyes::DialerOptions::from_system();
  config.resolver.config.nameservers = {nameserver};  // README: "[2001:db8::53]:53"
  config.resolver.hosts = {};                         // only the test server answers here
  heyes::Dialer dialer(config);

  heyes::DialOptions opts;
  opts.timeout = std::chrono::seconds(5);
  opts.addrconfig = false;  // loopback has both families
  opts.socket_setup = [](asio::ip::tcp::socket& s, std::error_code& ec) {
    s.set_option(asio::ip::tcp::no_delay(true), ec);
  };
  asio::io_context ioc;
  std::string winner;
  dialer.async_dial_result(ioc.get_executor(), name, service, opts, [&](std::error_code ec, heyes::DialResult r) {
    if (!ec && r.failures.empty() && !r.trace.events().empty()) winner = r.endpoint.address().to_string();
  });
  ioc.run();
  return winner;
}

}  // namespace

TEST_CASE("README dial examples") {
  heyes::test::Ipv4Fixture fx;  // the examples need no IPv6: they run on every host
  CHECK(callback_example(fx.service()) == "127.0.0.1");
  CHECK(blocking_example(fx.service()) == "127.0.0.1");
  CHECK(dialer_example(fx.nameserver(), fx.name(), fx.service()) == "127.0.0.1");
#if defined(ASIO_HAS_CO_AWAIT)
  {
    asio::io_context ioc;
    std::future<std::string> peer = asio::co_spawn(ioc, coroutine_example(fx.service()), asio::use_future);
    ioc.run();
    CHECK(peer.get() == "127.0.0.1");
  }
#endif
  {
    asio::io_context ioc;
    auto work = asio::make_work_guard(ioc);
    std::thread runner([&] { ioc.run(); });
    // The socket follows the executor's type: an any_io_executor gives asio::ip::tcp::socket.
    const asio::any_io_executor ex = ioc.get_executor();
    std::future<asio::ip::tcp::socket> f = heyes::async_dial(ex, host, fx.service(), {}, asio::use_future);
    CHECK(f.get().is_open());
    work.reset();
    runner.join();
  }
  {
    asio::io_context ioc;
    bool open = false;
    auto op = heyes::async_dial(ioc.get_executor(), host, fx.service(), {}, asio::experimental::deferred);
    std::move(op)([&](std::error_code, asio::ip::tcp::socket s) { open = s.is_open(); });
    ioc.run();
    CHECK(open);
  }
  fx.drain();
}
