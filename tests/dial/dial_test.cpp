// SPDX-License-Identifier: MIT
// The dial shell end to end on loopback: broken IPv6 listener, every completion token, cancellation, fds.
#include <doctest/doctest.h>
#include <netinet/in.h>
#include <netinet/tcp.h>

#include <asio/bind_allocator.hpp>
#include <asio/bind_cancellation_slot.hpp>
#include <asio/bind_executor.hpp>
#include <asio/co_spawn.hpp>
#include <asio/detached.hpp>
#include <asio/experimental/deferred.hpp>
#include <asio/post.hpp>
#include <asio/steady_timer.hpp>
#include <asio/strand.hpp>
#include <asio/thread_pool.hpp>
#include <asio/use_awaitable.hpp>
#include <asio/use_future.hpp>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <filesystem>
#include <future>
#include <thread>

#include "dial_fixture.hpp"
#include "heyes/dial/dialer_options.hpp"
#include "dns/message.hpp"
#include "heyes/dial.hpp"
#include "heyes/select/connectivity.hpp"
#include "testing/listeners.hpp"

using namespace std::chrono_literals;
using heyes::test::BrokenIpv6Fixture;
using heyes::test::Ipv4Fixture;
using heyes::test::count_events;
using heyes::test::open_fds;

TEST_CASE("v6 black-holed, v4 wins after the attempt delay; no fd leaked" *
          doctest::test_suite(heyes::test::ipv6_loopback_suite)) {
  BrokenIpv6Fixture fx;
  std::size_t fds_before = open_fds();
  {
    asio::io_context ioc;
    std::optional<heyes::DialResult> result;
    std::error_code error;
    fx.dialer().async_dial_result(ioc.get_executor(), fx.name(), fx.service(), fx.options(),
                                  [&](std::error_code ec, heyes::DialResult r) {
                                    error = ec;
                                    result.emplace(std::move(r));
                                  });
    ioc.run();
    REQUIRE(result);
    REQUIRE_MESSAGE(!error, error.message());
    CHECK(result->endpoint.address().to_string() == "127.0.0.1");
    CHECK(result->endpoint.port() == fx.port());
    CHECK(result->socket.is_open());
    // Wide bounds: one Connection Attempt Delay (250 ms) before IPv4 starts.
    CHECK(result->elapsed >= 200ms);
    CHECK(result->elapsed < 10s);
    CHECK(heyes::test::event_types(result->trace, {heyes::event::attempt_start, heyes::event::connected}) ==
          std::vector<std::string>{"attempt_start ::1", "attempt_start 127.0.0.1", "connected 127.0.0.1"});
    CHECK(count_events(result->trace, heyes::event::attempt_start) == 2);
    CHECK(count_events(result->trace, heyes::event::connected) == 1);
  }
  CHECK(open_fds() == fds_before);
}

TEST_CASE("the handler is never called before ioc.run()") {
  Ipv4Fixture fx;
  asio::io_context ioc;
  bool called = false;
  // A literal: the fastest path there is, still not completed inline.
  fx.dialer().async_dial(ioc.get_executor(), "127.0.0.1", fx.service(), fx.options(),
                         [&](std::error_code, asio::ip::tcp::socket) { called = true; });
  CHECK_FALSE(called);
  // A bad service fails at once, still not inline.
  fx.dialer().async_dial(ioc.get_executor(), "127.0.0.1", "no-such-service-here", fx.options(),
                         [&](std::error_code, asio::ip::tcp::socket) { called = true; });
  CHECK_FALSE(called);
  ioc.run();
  CHECK(called);
}

TEST_CASE("completion tokens: callback, use_future, use_awaitable, deferred") {
  Ipv4Fixture fx;
  heyes::DialOptions opts = fx.options();
  opts.attempt_delay = 50ms;  // keep the suite quick; the order is what matters here

  SUBCASE("callback") {
    asio::io_context ioc;
    asio::ip::tcp::socket got(ioc);
    fx.dialer().async_dial(ioc.get_executor(), fx.name(), fx.service(), opts,
                           [&](std::error_code ec, asio::ip::tcp::socket s) {
                             CHECK_MESSAGE(!ec, ec.message());
                             got = std::move(s);
                           });
    ioc.run();
    CHECK(got.remote_endpoint().address().to_string() == "127.0.0.1");
  }
  SUBCASE("use_future") {
    asio::io_context ioc;
    auto work = asio::make_work_guard(ioc);
    std::thread runner([&] { ioc.run(); });
    auto future = fx.dialer().async_dial(ioc.get_executor(), fx.name(), fx.service(), opts, asio::use_future);
    REQUIRE(future.wait_for(5s) == std::future_status::ready);
    auto s = future.get();
    CHECK(s.remote_endpoint().address().to_string() == "127.0.0.1");
    work.reset();
    runner.join();
  }
#if defined(ASIO_HAS_CO_AWAIT)  // clang 14 with libstdc++ has no usable <coroutine>
  SUBCASE("use_awaitable") {
    asio::io_context ioc;
    std::string winner;
    asio::co_spawn(
        ioc,
        [&]() -> asio::awaitable<void> {
          auto ex = co_await asio::this_coro::executor;
          auto s = co_await fx.dialer().async_dial(ex, fx.name(), fx.service(), opts, asio::use_awaitable);
          winner = s.remote_endpoint().address().to_string();
        },
        asio::detached);
    ioc.run();
    CHECK(winner == "127.0.0.1");
  }
#endif
  SUBCASE("deferred: nothing starts until the deferred operation is invoked") {
    asio::io_context ioc;
    auto op = fx.dialer().async_dial_result(ioc.get_executor(), fx.name(), fx.service(), opts,
                                            asio::experimental::deferred);
    CHECK(ioc.poll() == 0);
    ioc.restart();  // poll() ran out of work and stopped the context
    std::string winner;
    std::move(op)([&](std::error_code ec, heyes::DialResult r) {
      CHECK_MESSAGE(!ec, ec.message());
      winner = r.endpoint.address().to_string();
    });
    ioc.run();
    CHECK(winner == "127.0.0.1");
  }
}

TEST_CASE("cancellation mid-race closes every socket and completes with operation_aborted" *
          doctest::test_suite(heyes::test::ipv6_loopback_suite)) {
  BrokenIpv6Fixture fx;
  heyes::DialOptions opts = fx.options();
  opts.attempt_delay = 30s;  // the race is stuck on the black hole when we cancel
  std::size_t fds_before = open_fds();
  {
    asio::io_context ioc;
    asio::cancellation_signal signal;
    std::error_code error;
    bool called = false;
    fx.dialer().async_dial(ioc.get_executor(), fx.name(), fx.service(), opts,
                           asio::bind_cancellation_slot(signal.slot(), [&](std::error_code ec, asio::ip::tcp::socket s) {
                             called = true;
                             error = ec;
                             CHECK_FALSE(s.is_open());
                           }));
    asio::steady_timer timer(ioc, 100ms);
    std::size_t fds_mid = 0;
    timer.async_wait([&](std::error_code) {
      fds_mid = open_fds();
      signal.emit(asio::cancellation_type::terminal);
    });
    auto t0 = std::chrono::steady_clock::now();
    ioc.run();
    CHECK(called);
    CHECK(error == asio::error::operation_aborted);
    CHECK(fds_mid > fds_before);  // the hanging attempt's socket was open
    CHECK(std::chrono::steady_clock::now() - t0 < 10s);  // far less than the attempt delay
  }
  CHECK(open_fds() == fds_before);
}

TEST_CASE("the socket-setup hook runs on every attempt's socket, before its connect" *
          doctest::test_suite(heyes::test::ipv6_loopback_suite)) {
  BrokenIpv6Fixture fx;
  heyes::DialOptions opts = fx.options();
  opts.attempt_delay = 50ms;
  int calls = 0;
  opts.socket_setup = [&](asio::ip::tcp::socket& s, std::error_code& ec) {
    ++calls;
    CHECK(s.is_open());
    s.set_option(asio::ip::tcp::no_delay(true), ec);
  };
  asio::io_context ioc;
  std::optional<heyes::DialResult> result;
  fx.dialer().async_dial_result(ioc.get_executor(), fx.name(), fx.service(), opts,
                                [&](std::error_code, heyes::DialResult r) { result.emplace(std::move(r)); });
  ioc.run();
  REQUIRE(result);
  CHECK(calls == static_cast<int>(count_events(result->trace, heyes::event::attempt_start)));
  CHECK(calls == 2);
  // The option set by the hook is still on the socket that connected.
  asio::ip::tcp::no_delay nd;
  result->socket.get_option(nd);
  CHECK(nd.value());
}

// The dial runs on a strand over the io_context's executor when it is given
// one, else on a strand over whatever executor it is given: both must work.
TEST_CASE("any executor: an io_context's, a strand as the executor, a thread_pool's") {
  Ipv4Fixture fx;
  auto dial_on = [&](const asio::any_io_executor& ex) {
    auto done = std::make_shared<std::promise<std::pair<std::error_code, std::string>>>();
    auto result = done->get_future();
    fx.dialer().async_dial(ex, fx.name(), fx.service(), fx.options(),
                           [done](std::error_code ec, asio::ip::tcp::socket s) {
                             done->set_value({ec, ec ? "" : s.remote_endpoint().address().to_string()});
                           });
    return result;
  };
  auto check_connected = [](const std::pair<std::error_code, std::string>& r) {
    CHECK_MESSAGE(!r.first, r.first.message());
    CHECK(r.second == "127.0.0.1");
  };
  {
    asio::io_context ioc;
    auto f = dial_on(ioc.get_executor());
    ioc.run();
    check_connected(f.get());
  }
  {
    asio::io_context ioc;
    auto f = dial_on(asio::make_strand(ioc));
    ioc.run();
    check_connected(f.get());
  }
  {
    asio::thread_pool pool(2);
    auto f = dial_on(pool.get_executor());
    REQUIRE(f.wait_for(10s) == std::future_status::ready);
    check_connected(f.get());
    pool.join();
  }
}

// A dial started from a handler on the io_context's thread starts inline (no
// trip through the queue), so this is where an immediate completion could
// slip into the initiating call.
TEST_CASE("started from inside a handler, a dial that fails at once still completes later") {
  Ipv4Fixture fx;
  asio::io_context ioc;
  int completed = 0;
  bool inside = false;
  auto failing_setup = fx.options();
  failing_setup.socket_setup = [](asio::ip::tcp::socket&, std::error_code& ec) {
    ec = std::make_error_code(std::errc::permission_denied);
  };
  std::vector<std::error_code> errors;
  asio::post(ioc, [&] {
    inside = true;
    auto handler = [&](std::error_code ec, asio::ip::tcp::socket) {
      CHECK_FALSE(inside);  // never within async_dial
      errors.push_back(ec);
      ++completed;
    };
    fx.dialer().async_dial(ioc.get_executor(), "127.0.0.1", "no-such-service-here", fx.options(), handler);
    fx.dialer().async_dial(ioc.get_executor(), "bad..name.test", "80", fx.options(), handler);
    fx.dialer().async_dial(ioc.get_executor(), "127.0.0.1", fx.service(), failing_setup, handler);
    fx.dialer().async_dial(ioc.get_executor(), "127.0.0.1", fx.service(), fx.options(), handler);
    inside = false;
  });
  ioc.run();
  CHECK(completed == 4);
  REQUIRE(errors.size() == 4);
  CHECK(std::count(errors.begin(), errors.end(), heyes::make_error_code(heyes::errc::bad_service)) == 1);
  CHECK(std::count(errors.begin(), errors.end(), heyes::make_error_code(heyes::errc::bad_host_name)) == 1);
  CHECK(std::count(errors.begin(), errors.end(), std::error_code()) == 1);
}

TEST_CASE("a failing socket-setup hook fails that attempt only" *
          doctest::test_suite(heyes::test::ipv6_loopback_suite)) {
  BrokenIpv6Fixture fx;
  heyes::DialOptions opts = fx.options();
  // A delay far beyond the bound below: IPv4 can only have started early
  // because the IPv6 attempt failed.
  opts.attempt_delay = 10s;
  opts.socket_setup = [](asio::ip::tcp::socket& s, std::error_code& ec) {
    if (s.local_endpoint().protocol() == asio::ip::tcp::v6()) ec = std::make_error_code(std::errc::permission_denied);
  };
  asio::io_context ioc;
  std::optional<heyes::DialResult> result;
  std::error_code error;
  fx.dialer().async_dial_result(ioc.get_executor(), fx.name(), fx.service(), opts,
                                [&](std::error_code ec, heyes::DialResult r) {
                                  error = ec;
                                  result.emplace(std::move(r));
                                });
  ioc.run();
  REQUIRE(result);
  CHECK_MESSAGE(!error, error.message());
  CHECK(result->endpoint.address().to_string() == "127.0.0.1");
  // The IPv6 attempt failed at once, so IPv4 did not wait the attempt delay.
  CHECK(result->elapsed < 5s);
  CHECK(heyes::test::event_types(result->trace, {heyes::event::attempt_start, heyes::event::attempt_failed}) ==
        std::vector<std::string>{"attempt_start ::1", "attempt_failed ::1", "attempt_start 127.0.0.1"});
  REQUIRE(result->failures.size() == 1);
  CHECK(result->failures[0].error == std::errc::permission_denied);
}

TEST_CASE("address literals skip DNS") {
  Ipv4Fixture fx;
  asio::io_context ioc;
  std::optional<heyes::DialResult> result;
  fx.dialer().async_dial_result(ioc.get_executor(), "127.0.0.1", fx.service(), fx.options(),
                                [&](std::error_code ec, heyes::DialResult r) {
                                  CHECK_MESSAGE(!ec, ec.message());
                                  result.emplace(std::move(r));
                                });
  ioc.run();
  REQUIRE(result);
  CHECK(result->endpoint.address().to_string() == "127.0.0.1");
  CHECK(count_events(result->trace, heyes::event::dns_query) == 0);
  CHECK(fx.dns_queries() == 0);
}

TEST_CASE("input errors: bad host name, bad service, contradicting families") {
  Ipv4Fixture fx;
  struct Case {
    const char* host;
    const char* service;
    heyes::FamilyRestriction family;
    heyes::errc expected;
  };
  // host, service, family restriction -> error
  const Case cases[] = {
      {"bad..name.test", "80", heyes::FamilyRestriction::any, heyes::errc::bad_host_name},
      {"127.0.0.1", "0", heyes::FamilyRestriction::any, heyes::errc::bad_service},
      {"127.0.0.1", "65536", heyes::FamilyRestriction::any, heyes::errc::bad_service},
      {"127.0.0.1", "no-such-service-xyz", heyes::FamilyRestriction::any, heyes::errc::bad_service},
      {"127.0.0.1", "", heyes::FamilyRestriction::any, heyes::errc::bad_service},
      {"127.0.0.1", "80", heyes::FamilyRestriction::v6, heyes::errc::family_unavailable},
  };
  for (const auto& c : cases) {
    CAPTURE(c.host);
    CAPTURE(c.service);
    asio::io_context ioc;
    heyes::DialOptions opts = fx.options();
    opts.family = c.family;
    std::error_code error;
    fx.dialer().async_dial(ioc.get_executor(), c.host, c.service, opts,
                           [&](std::error_code ec, asio::ip::tcp::socket) { error = ec; });
    ioc.run();
    CHECK(error == heyes::make_error_code(c.expected));
  }
  CHECK(fx.dns_queries() == 0);
}

TEST_CASE("resolve_service: numbers and /etc/services names, no DNS") {
  std::error_code ec;
  CHECK(heyes::resolve_service("8080", ec) == 8080);
  CHECK_FALSE(ec);
  if (std::filesystem::exists("/etc/services")) {
    CHECK(heyes::resolve_service("https", ec) == 443);
    CHECK_FALSE(ec);
  }
  for (const char* bad : {"", "0", "65536", "99999999999", "-1", "1x", "with space", "no-such-service-xyz"}) {
    CAPTURE(bad);
    heyes::resolve_service(bad, ec);
    CHECK(ec == heyes::errc::bad_service);
  }
}

TEST_CASE("blocking dial: the socket on the caller's executor; DialError keeps each address's cause") {
  Ipv4Fixture fx;
  asio::io_context ioc;  // nobody runs it: the blocking dial does not need that
  heyes::DialOptions opts = fx.options();
  opts.attempt_delay = 50ms;
  auto s = fx.dialer().dial(ioc.get_executor(), fx.name(), fx.service(), opts);
  CHECK(s.remote_endpoint().address().to_string() == "127.0.0.1");

  // A port with no listener: refused on both families.
  std::uint16_t closed = heyes::test::closed_port();
  std::error_code ec;
  auto none = fx.dialer().dial(ioc.get_executor(), "127.0.0.1", std::to_string(closed), opts, ec);
  CHECK(ec == heyes::errc::all_attempts_failed);
  CHECK_FALSE(none.is_open());
  try {
    fx.dialer().dial(ioc.get_executor(), "127.0.0.1", std::to_string(closed), opts);
    FAIL("no exception");
  } catch (const heyes::DialError& e) {
    CHECK(e.code() == heyes::errc::all_attempts_failed);
    REQUIRE(e.failures().size() == 1);
    CHECK(e.failures()[0].error == asio::error::connection_refused);
  }
}

TEST_CASE("a multi-threaded io_context runs many dials at once" *
          doctest::test_suite(heyes::test::ipv6_loopback_suite)) {
  BrokenIpv6Fixture fx;
  heyes::DialOptions opts = fx.options();
  opts.attempt_delay = 30ms;
  std::size_t fds_before = open_fds();
  {
    asio::io_context ioc;
    std::atomic<int> ok{0};
    for (int i = 0; i < 8; ++i) {
      fx.dialer().async_dial(ioc.get_executor(), fx.name(), fx.service(), opts,
                             [&](std::error_code ec, asio::ip::tcp::socket s) {
                               if (!ec && s.is_open()) ++ok;
                             });
    }
    std::thread other([&] { ioc.run(); });
    ioc.run();
    other.join();
    CHECK(ok == 8);
  }
  fx.drain();
  CHECK(open_fds() == fds_before);
}

namespace {

// Runs one dial to completion on ioc (which must outlive the result's socket).
// Callers copy the error out of the structured binding: doctest's macros
// use lambdas, and clang 14 cannot capture a structured binding.
std::pair<std::error_code, heyes::DialResult> dial_once(asio::io_context& ioc, heyes::Dialer& dialer,
                                                        const std::string& host, const std::string& service,
                                                        const heyes::DialOptions& opts) {
  ioc.restart();
  std::error_code error;
  std::optional<heyes::DialResult> result;
  dialer.async_dial_result(ioc.get_executor(), host, service, opts, [&](std::error_code ec, heyes::DialResult r) {
    error = ec;
    result.emplace(std::move(r));
  });
  ioc.run();
  REQUIRE(result);
  return {error, std::move(*result)};
}

std::string first_attempt(const heyes::Trace& trace) {
  for (const auto& e : trace.events()) {
    if (e.type == heyes::event::attempt_start && e.address) return e.address->to_string();
  }
  return {};
}

// A host description for the usable-family decision: IPv4 only.
class Ipv4OnlyHost final : public heyes::ConnectivityProbe {
 public:
  std::vector<heyes::InterfaceAddress> interface_addresses() override {
    return {{"lo", *heyes::IpAddress::parse("127.0.0.1")}, {"lo", *heyes::IpAddress::parse("::1")},
            {"eth0", *heyes::IpAddress::parse("192.0.2.2")}};
  }
  std::error_code route_to(const heyes::IpAddress& destination) override {
    if (destination.is_v6()) return std::make_error_code(std::errc::network_unreachable);
    return {};
  }
};

}  // namespace

TEST_CASE("history: the second dial to a black-holed IPv6 goes to IPv4 at once" *
          doctest::test_suite(heyes::test::ipv6_loopback_suite)) {
  BrokenIpv6Fixture fx;
  heyes::Dialer dialer(fx.dialer_options());  // history on (the default)
  heyes::DialOptions opts = fx.options();
  opts.use_history = true;
  asio::io_context ioc1;
  auto [e1_, r1] = dial_once(ioc1, dialer, fx.name(), fx.service(), opts);
  std::error_code e1 = e1_;
  REQUIRE_MESSAGE(!e1, e1.message());
  CHECK(first_attempt(r1.trace) == "::1");
  CHECK(r1.elapsed >= 200ms);
  REQUIRE(dialer.history() != nullptr);
  CHECK(dialer.history()->recently_failed(*heyes::IpAddress::parse("::1"), std::chrono::steady_clock::now()));

  asio::io_context ioc2;
  auto [e2_, r2] = dial_once(ioc2, dialer, fx.name(), fx.service(), opts);
  std::error_code e2 = e2_;
  REQUIRE_MESSAGE(!e2, e2.message());
  CHECK(first_attempt(r2.trace) == "127.0.0.1");
  CHECK(r2.endpoint.address().to_string() == "127.0.0.1");
  // Only IPv4 was tried: no attempt delay was spent on the black hole.
  CHECK(heyes::test::event_types(r2.trace, {heyes::event::attempt_start}) ==
        std::vector<std::string>{"attempt_start 127.0.0.1"});
}

TEST_CASE("usable families: on an IPv4-only host the AAAA query is not sent and nothing waits for it") {
  Ipv4Fixture fx;
  // AAAA is never answered: a dual-stack host would wait the Resolution Delay for it.
  const std::string name = "v6-silent.heyes.test";
  fx.dns().add_host(name, {*heyes::IpAddress::parse("127.0.0.1")});
  heyes::dns::TestAnswer drop;
  drop.drop = true;
  fx.dns().set(name, heyes::dns::RecordType::aaaa, drop);
  heyes::DialOptions opts = fx.options();
  opts.resolution_delay = 500ms;

  SUBCASE("IPv6 unusable: only A is asked, the attempt starts with the A answer") {
    heyes::DialerOptions o = fx.dialer_options();
    o.connectivity_probe = std::make_shared<Ipv4OnlyHost>();
    heyes::Dialer dialer(std::move(o));
    opts.addrconfig = true;
    opts.resolution_delay = 30s;  // far beyond the bound below: a wait for AAAA would show
    asio::io_context ioc3;
    auto [ec_, r] = dial_once(ioc3, dialer, name, fx.service(), opts);
    std::error_code ec = ec_;
    REQUIRE_MESSAGE(!ec, ec.message());
    CHECK(r.endpoint.address().to_string() == "127.0.0.1");
    CHECK(r.elapsed < 10s);
    CHECK(count_events(r.trace, heyes::event::resolution_delay) == 0);
    CHECK(fx.dns().query_count(name, heyes::dns::RecordType::aaaa) == 0);
    CHECK(fx.dns().query_count(name, heyes::dns::RecordType::a) >= 1);
    CHECK(count_events(r.trace, heyes::event::families_usable) == 2);
  }
  SUBCASE("--no-addrconfig: both asked, the Resolution Delay is waited for AAAA") {
    opts.addrconfig = false;
    asio::io_context ioc4;
    auto [ec_, r] = dial_once(ioc4, fx.dialer(), name, fx.service(), opts);
    std::error_code ec = ec_;
    REQUIRE_MESSAGE(!ec, ec.message());
    CHECK(r.endpoint.address().to_string() == "127.0.0.1");
    CHECK(r.elapsed >= 450ms);
    CHECK(r.elapsed < 10s);
    CHECK(count_events(r.trace, heyes::event::resolution_delay) >= 1);
    CHECK(fx.dns().query_count(name, heyes::dns::RecordType::aaaa) >= 1);
  }
}

TEST_CASE("a local address or -4 restricts the queries and the attempts to its family" *
          doctest::test_suite(heyes::test::ipv6_loopback_suite)) {
  BrokenIpv6Fixture fx;
  heyes::DialOptions bound = fx.options();
  bound.local_address = heyes::IpAddress::parse("127.0.0.1");
  heyes::DialOptions v4only = fx.options();
  v4only.family = heyes::FamilyRestriction::v4;
  for (const auto* opts : {&bound, &v4only}) {
    fx.dns().clear_queries();
    asio::io_context ioc5;
    auto [ec_, r] = dial_once(ioc5, fx.dialer(), fx.name(), fx.service(), *opts);
    std::error_code ec = ec_;
    REQUIRE_MESSAGE(!ec, ec.message());
    CHECK(r.endpoint.address().to_string() == "127.0.0.1");
    // The black-holed ::1 was never tried.
    CHECK(heyes::test::event_types(r.trace, {heyes::event::attempt_start}) ==
          std::vector<std::string>{"attempt_start 127.0.0.1"});
    CHECK(fx.dns().query_count(fx.name(), heyes::dns::RecordType::aaaa) == 0);
    if (opts->local_address) CHECK(r.socket.local_endpoint().address().to_string() == "127.0.0.1");
  }
}

TEST_CASE("the overall timeout ends a dial stuck on a black hole, sockets closed" *
          doctest::test_suite(heyes::test::ipv6_loopback_suite)) {
  BrokenIpv6Fixture fx;
  const std::string name = "v6-only.heyes.test";
  fx.dns().add_host(name, {*heyes::IpAddress::parse("::1")});
  heyes::DialOptions opts = fx.options();
  opts.timeout = 300ms;
  std::size_t fds_before = open_fds();
  {
    asio::io_context ioc6;
    auto [ec_, r] = dial_once(ioc6, fx.dialer(), name, fx.service(), opts);
    std::error_code ec = ec_;
    CHECK(ec == heyes::errc::timed_out);
    CHECK(r.elapsed >= 250ms);
    CHECK(r.elapsed < 10s);
    CHECK_FALSE(r.socket.is_open());
    CHECK(count_events(r.trace, heyes::event::timed_out) == 1);
  }
  CHECK(open_fds() == fds_before);
}

TEST_CASE("cancellation right after the start completes with operation_aborted") {
  Ipv4Fixture fx;
  asio::io_context ioc;
  asio::cancellation_signal signal;
  std::error_code error;
  fx.dialer().async_dial(ioc.get_executor(), fx.name(), fx.service(), fx.options(),
                         asio::bind_cancellation_slot(signal.slot(),
                                                      [&](std::error_code ec, asio::ip::tcp::socket) { error = ec; }));
  signal.emit(asio::cancellation_type::total);
  ioc.run();
  CHECK(error == asio::error::operation_aborted);
}

TEST_CASE("an io_context destroyed mid-dial frees the operation and closes its sockets" *
          doctest::test_suite(heyes::test::ipv6_loopback_suite)) {
  BrokenIpv6Fixture fx;
  heyes::DialOptions opts = fx.options();
  opts.attempt_delay = 2s;
  std::size_t fds_before = open_fds();
  auto sentinel = std::make_shared<int>(0);  // owned by the handler, so by the operation
  {
    asio::io_context ioc;
    fx.dialer().async_dial(ioc.get_executor(), fx.name(), fx.service(), opts,
                           [sentinel](std::error_code, asio::ip::tcp::socket) { ++*sentinel; });
    ioc.run_for(100ms);  // DNS answered, the ::1 attempt hanging
    CHECK(open_fds() > fds_before);
  }
  CHECK(*sentinel == 0);             // never called
  CHECK(sentinel.use_count() == 1);  // the operation and its handler are gone
  CHECK(open_fds() == fds_before);   // with the attempt's socket
}

namespace {

template <class T>
struct CountingAllocator {
  using value_type = T;
  int* allocations;
  int* deallocations;
  CountingAllocator(int* a, int* d) : allocations(a), deallocations(d) {}
  template <class U>
  CountingAllocator(const CountingAllocator<U>& o) : allocations(o.allocations), deallocations(o.deallocations) {}
  T* allocate(std::size_t n) {
    ++*allocations;
    return std::allocator<T>().allocate(n);
  }
  void deallocate(T* p, std::size_t n) {
    ++*deallocations;
    std::allocator<T>().deallocate(p, n);
  }
  template <class U>
  bool operator==(const CountingAllocator<U>& o) const noexcept {
    return allocations == o.allocations;
  }
};

}  // namespace

TEST_CASE("the handler's associated executor and allocator are honoured") {
  Ipv4Fixture fx;
  asio::io_context ioc;
  auto strand = asio::make_strand(ioc);
  int allocations = 0, deallocations = 0;
  bool on_strand = false;
  fx.dialer().async_dial(
      ioc.get_executor(), "127.0.0.1", fx.service(), fx.options(),
      asio::bind_allocator(CountingAllocator<void>(&allocations, &deallocations),
                           asio::bind_executor(strand, [&](std::error_code ec, asio::ip::tcp::socket) {
                             CHECK_MESSAGE(!ec, ec.message());
                             on_strand = strand.running_in_this_thread();
                           })));
  ioc.run();
  CHECK(on_strand);
  CHECK(allocations >= 1);  // the operation's state that holds the handler
  CHECK(allocations == deallocations);
}

TEST_CASE("inet_aton's numeric forms are address literals: 127.1 and 0x7f.0.0.1 skip DNS") {
  Ipv4Fixture fx;
  for (const char* literal : {"127.1", "0x7f.0.0.1", "2130706433"}) {
    CAPTURE(literal);
    asio::io_context ioc;
    std::optional<heyes::DialResult> result;
    fx.dialer().async_dial_result(ioc.get_executor(), literal, fx.service(), fx.options(),
                                  [&](std::error_code ec, heyes::DialResult r) {
                                    CHECK_MESSAGE(!ec, ec.message());
                                    result.emplace(std::move(r));
                                  });
    ioc.run_for(10s);
    REQUIRE(result);
    CHECK(result->endpoint.address().to_string() == "127.0.0.1");
    CHECK(count_events(result->trace, heyes::event::dns_query) == 0);
    fx.drain();
  }
  CHECK(fx.dns_queries() == 0);
}

TEST_CASE("DNS answers: unspecified, broadcast and multicast addresses are dropped with a trace note") {
  Ipv4Fixture fx;
  auto ip = [](const char* s) { return *heyes::IpAddress::parse(s); };
  fx.dns().add_host("mixed.heyes.test", {ip("::"), ip("ff02::1"), ip("0.0.0.0"), ip("255.255.255.255"),
                                          ip("224.0.0.1"), ip("127.0.0.1")});
  fx.dns().add_host("zero.heyes.test", {ip("0.0.0.0")});
  // Declared before the results: their sockets need its services.
  asio::io_context ioc;
  auto dial = [&](const char* host) {
    ioc.restart();
    std::pair<std::error_code, std::optional<heyes::DialResult>> out;
    fx.dialer().async_dial_result(ioc.get_executor(), host, fx.service(), fx.options(),
                                  [&](std::error_code ec, heyes::DialResult r) {
                                    out.first = ec;
                                    out.second.emplace(std::move(r));
                                  });
    ioc.run_for(10s);
    fx.drain();
    return out;
  };
  auto starts_to = [](const heyes::Trace& t, const char* address) {
    return std::count_if(t.events().begin(), t.events().end(), [&](const heyes::TraceEvent& e) {
      return e.type == heyes::event::attempt_start && e.address && e.address->to_string() == address;
    });
  };

  auto mixed_dial = dial("mixed.heyes.test");
  const std::error_code ec = mixed_dial.first;
  const auto& mixed = mixed_dial.second;
  REQUIRE(mixed);
  CHECK_MESSAGE(!ec, ec.message());
  CHECK(mixed->endpoint.address().to_string() == "127.0.0.1");
  CHECK(count_events(mixed->trace, heyes::event::dns_dropped) == 5);
  for (const auto& e : mixed->trace.events())
    if (e.type == heyes::event::dns_dropped) CHECK(e.detail.find("not dialable, dropped") != std::string::npos);
  CHECK(starts_to(mixed->trace, "0.0.0.0") == 0);
  CHECK(starts_to(mixed->trace, "::") == 0);

  auto zero_dial = dial("zero.heyes.test");
  const auto& zero = zero_dial.second;
  REQUIRE(zero);
  CHECK(zero_dial.first);
  CHECK(count_events(zero->trace, heyes::event::attempt_start) == 0);
  CHECK(count_events(zero->trace, heyes::event::dns_dropped) == 1);

  // A literal 0.0.0.0 is the user's own choice: it is dialed.
  auto literal_dial = dial("0.0.0.0");
  const auto& literal = literal_dial.second;
  REQUIRE(literal);
  CHECK(starts_to(literal->trace, "0.0.0.0") == 1);
  CHECK(count_events(literal->trace, heyes::event::dns_dropped) == 0);
}

TEST_CASE("pre-resolved addresses: raced in place of DNS; the host still names the target") {
  Ipv4Fixture fx;
  heyes::DialOptions opts = fx.options();
  // 127.0.0.3:P refuses (the listener is on 127.0.0.1 only): the next address is tried at once.
  opts.addresses = {*heyes::IpAddress::parse("127.0.0.3"), *heyes::IpAddress::parse("127.0.0.1")};
  opts.attempt_delay = 10s;
  asio::io_context ioc;
  auto [ec_, r] = dial_once(ioc, fx.dialer(), "not-in-dns.heyes.test", fx.service(), opts);
  std::error_code ec = ec_;
  REQUIRE_MESSAGE(!ec, ec.message());
  CHECK(r.endpoint.address().to_string() == "127.0.0.1");
  CHECK(heyes::test::event_types(r.trace, {heyes::event::attempt_start}) ==
        std::vector<std::string>{"attempt_start 127.0.0.3", "attempt_start 127.0.0.1"});
  CHECK(count_events(r.trace, heyes::event::dns_query) == 0);
  CHECK(fx.dns_queries() == 0);
  REQUIRE(r.failures.size() == 1);
  CHECK(r.failures[0].address.to_string() == "127.0.0.3");

  SUBCASE("the family restriction filters them; none left is family_unavailable") {
    opts.family = heyes::FamilyRestriction::v6;
    asio::io_context ioc2;
    auto [ec2_, r2] = dial_once(ioc2, fx.dialer(), "not-in-dns.heyes.test", fx.service(), opts);
    std::error_code ec2 = ec2_;
    CHECK(ec2 == heyes::errc::family_unavailable);
  }
  SUBCASE("a bad host name is still bad input") {
    asio::io_context ioc3;
    auto [ec3_, r3] = dial_once(ioc3, fx.dialer(), "bad..name", fx.service(), opts);
    std::error_code ec3 = ec3_;
    CHECK(ec3 == heyes::errc::bad_host_name);
  }
  CHECK(fx.dns_queries() == 0);
}
