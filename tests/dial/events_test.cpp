// SPDX-License-Identifier: MIT
// DialOptions::on_event: live, in trace order, on the strand, never after the handler; a throwing or cancelling callback.
#include <doctest/doctest.h>

#include <asio/bind_cancellation_slot.hpp>
#include <asio/cancellation_signal.hpp>
#include <asio/io_context.hpp>
#include <asio/post.hpp>

#include <algorithm>
#include <chrono>
#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

#include "dial_fixture.hpp"
#include "heyes/dial.hpp"
#include "heyes/dial/dialer_options.hpp"
#include "heyes/error.hpp"
#include "support/fake_dns_server.hpp"
#include "support/loopback_targets.hpp"

using namespace std::chrono_literals;
using heyes::test::open_fds;

namespace {

// A Dialer that asks only the test's DNS server (the literals below need none).
heyes::DialerOptions dialer_options(heyes::test::FakeDnsServer& dns) {
  heyes::DialerOptions o;
  o.resolver.config.nameservers = {dns->nameserver()};
  o.resolver.config.attempts = 1;
  return o;
}

heyes::DialOptions quiet_options() {
  heyes::DialOptions o;
  o.addrconfig = false;
  o.use_history = false;
  return o;
}

bool same(const heyes::TraceEvent& a, const heyes::TraceEvent& b) {
  return a.t == b.t && a.type == b.type && a.family == b.family && a.address == b.address && a.detail == b.detail;
}

// What a callback saw, and when the dial ended.
struct Seen {
  std::vector<heyes::TraceEvent> events;
  std::optional<std::chrono::steady_clock::time_point> attempt_started;
  bool completed = false;
  int after_completion = 0;
};

}  // namespace

TEST_CASE("on_event: 127.0.0.1 black-holed, its attempt_start arrives live, 250+ ms before the 300 ms timeout ends the dial") {
  heyes::test::BlackholeListener hole("127.0.0.1");
  heyes::test::FakeDnsServer dns;
  heyes::Dialer dialer(dialer_options(dns));
  for (bool keep : {true, false}) {
    CAPTURE(keep);
    Seen seen;
    heyes::DialOptions opts = quiet_options();
    opts.timeout = 300ms;
    opts.keep_trace = keep;
    opts.on_event = [&](const heyes::TraceEvent& e) {
      if (seen.completed) ++seen.after_completion;
      if (e.type == heyes::event::attempt_start) seen.attempt_started = std::chrono::steady_clock::now();
      seen.events.push_back(e);
    };
    asio::io_context ioc;
    std::error_code error;
    std::optional<heyes::DialResult> result;
    std::optional<std::chrono::steady_clock::time_point> ended;
    dialer.async_dial_result(ioc.get_executor(), "127.0.0.1", std::to_string(hole.port()), opts,
                             [&](std::error_code ec, heyes::DialResult r) {
                               seen.completed = true;
                               ended = std::chrono::steady_clock::now();
                               error = ec;
                               result.emplace(std::move(r));
                             });
    CHECK(seen.events.empty());  // started outside run(): nothing inside async_dial
    ioc.run_for(10s);
    REQUIRE(result);
    CHECK(error == heyes::errc::timed_out);
    REQUIRE(seen.attempt_started);
    CHECK(*ended - *seen.attempt_started >= 250ms);  // live: long before the end
    CHECK(seen.after_completion == 0);
    REQUIRE_FALSE(seen.events.empty());
    CHECK(std::count_if(seen.events.begin(), seen.events.end(),
                        [](const heyes::TraceEvent& e) { return e.type == heyes::event::timed_out; }) == 1);
    if (keep) {
      // The same events, each once, in trace order.
      const auto& trace = result->trace.events();
      REQUIRE(trace.size() == seen.events.size());
      for (std::size_t i = 0; i < trace.size(); ++i) CHECK(same(trace[i], seen.events[i]));
    } else {
      CHECK(result->trace.events().empty());
    }
  }
}

TEST_CASE("on_event from a thread running the io_context: the start's events come inside async_dial, on the strand") {
  heyes::test::Ipv4Fixture net;
  asio::io_context ioc;
  std::vector<std::string> types;
  bool inside = false, before_return = false;
  std::error_code error = asio::error::would_block;
  heyes::DialOptions opts = net.options();
  opts.on_event = [&](const heyes::TraceEvent& e) {
    if (inside) before_return = true;
    types.push_back(e.type);
  };
  asio::post(ioc, [&] {
    inside = true;
    net.dialer().async_dial(ioc.get_executor(), "127.0.0.1", net.service(), opts,
                            [&](std::error_code ec, asio::ip::tcp::socket) { error = ec; });
    inside = false;
  });
  ioc.run_for(10s);
  CHECK_FALSE(error);
  CHECK(before_return);  // the documented exception: the first attempt_start is issued inside the call
  CHECK(std::count(types.begin(), types.end(), std::string(heyes::event::connected)) == 1);
}

TEST_CASE("on_event that throws: caught, the dial goes on and connects, a warning in the trace, no more calls") {
  heyes::test::Ipv4Fixture net;
  for (bool std_exception : {true, false}) {
    CAPTURE(std_exception);
    int calls = 0;
    heyes::DialOptions opts = net.options();
    opts.on_event = [&](const heyes::TraceEvent&) {
      ++calls;
      if (std_exception) throw std::runtime_error("boom");
      throw 42;
    };
    asio::io_context ioc;
    std::error_code error = asio::error::would_block;
    std::optional<heyes::DialResult> result;
    net.dialer().async_dial_result(ioc.get_executor(), net.name(), net.service(), opts,
                                   [&](std::error_code ec, heyes::DialResult r) {
                                     error = ec;
                                     result.emplace(std::move(r));
                                   });
    CHECK_NOTHROW(ioc.run_for(10s));
    REQUIRE(result);
    CHECK_FALSE(error);
    CHECK(calls == 1);
    CHECK(heyes::test::count_events(result->trace, heyes::event::connected) == 1);
    bool warned = false;
    for (const auto& e : result->trace.events())
      if (e.type == heyes::event::warning && e.detail.find("on_event threw") != std::string::npos)
        warned = e.detail.find(std_exception ? "boom" : "unknown exception") != std::string::npos;
    CHECK(warned);
    net.drain();
  }
}

TEST_CASE("on_event that cancels the dial at its attempt_start: operation_aborted, sockets closed, nothing after") {
  heyes::test::BlackholeListener hole("127.0.0.1");
  heyes::test::FakeDnsServer dns;
  heyes::Dialer dialer(dialer_options(dns));
  const std::size_t fds_before = open_fds();
  {
    asio::io_context ioc;
    asio::cancellation_signal signal;
    Seen seen;
    heyes::DialOptions opts = quiet_options();
    opts.attempt_delay = 2s;
    opts.on_event = [&](const heyes::TraceEvent& e) {
      if (seen.completed) ++seen.after_completion;
      seen.events.push_back(e);
      if (e.type == heyes::event::attempt_start) signal.emit(asio::cancellation_type::terminal);
    };
    std::optional<std::error_code> error;
    std::optional<heyes::DialResult> result;
    const auto t0 = std::chrono::steady_clock::now();
    dialer.async_dial_result(ioc.get_executor(), "127.0.0.1", std::to_string(hole.port()), opts,
                             asio::bind_cancellation_slot(signal.slot(), [&](std::error_code ec, heyes::DialResult r) {
                               seen.completed = true;
                               error = ec;
                               result.emplace(std::move(r));
                             }));
    ioc.run_for(10s);
    REQUIRE(error);
    CHECK(*error == asio::error::operation_aborted);
    CHECK(std::chrono::steady_clock::now() - t0 < 1500ms);
    CHECK(seen.after_completion == 0);
    REQUIRE(result);
    CHECK(heyes::test::event_types(result->trace, {heyes::event::attempt_start, heyes::event::cancelled,
                                                   heyes::event::attempt_cancelled}) ==
          std::vector<std::string>{"attempt_start 127.0.0.1", "cancelled", "attempt_cancelled 127.0.0.1"});
    CHECK(seen.events.size() == result->trace.events().size());
  }
  CHECK(open_fds() == fds_before);
}
