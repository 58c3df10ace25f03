// SPDX-License-Identifier: MIT
// heyes-connect dial and demo modes: the dial loop, the streamed timeline and the JSON Lines output.
#pragma once

#include <asio/cancellation_signal.hpp>
#include <asio/io_context.hpp>

#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "cli.hpp"
#include "heyes/dial.hpp"

namespace heyes_connect {

// Dials options.host options.port (options.dial.repeat times, one after the
// other, in one Dialer), streaming each event and printing each result.
// Exit status: 0 every dial connected, 1 one failed, 2 bad input, 128 + the
// signal when SIGINT or SIGTERM cancelled a dial.
int run_dial(const Options& options);

// The in-process demo (the README's first command): a DNS server on
// loopback answering a .test name with ::1 and 127.0.0.1, a black-holed
// [::1]:P and a working 127.0.0.1:P. Exit status 0 when the first dial
// connected over IPv4 after the attempt delay.
int run_demo(const Options& options);

// The bad input or runtime error that ended the program, as one JSON object
// on stdout (--json): {"schema":1,"type":"error","error_code":CODE,"error":MESSAGE}.
void print_json_error(std::string_view code, std::string_view message);

// ---- shared by the two modes ----

// The heyes::DialOptions of the command line.
heyes::DialOptions dial_options(const Options& options);

// Dials host:port settings.repeat times, one after the other, on ioc; streams
// each event and prints each result (text or JSON Lines, nothing with -q),
// then calls observe(index, ec, result); done() after the last one or after
// the dial a signal cancelled.
struct DialLoop {
  using Observer = std::function<void(int index, std::error_code ec, const heyes::DialResult& result)>;
  DialLoop(asio::io_context& ioc, heyes::Dialer& dialer, std::string host, std::string port,
           heyes::DialOptions options, const DialSettings& settings)
      : ioc(ioc), dialer(dialer), host(std::move(host)), port(std::move(port)), options(std::move(options)),
        settings(settings) {}
  asio::io_context& ioc;
  heyes::Dialer& dialer;
  std::string host;
  std::string port;
  heyes::DialOptions options;
  const DialSettings& settings;
  Observer observe;
  std::function<void()> done;
  int failed = 0;                      // dials that did not connect
  int signal = 0;                      // SIGINT or SIGTERM, once one arrived
  asio::cancellation_signal cancel;    // bound to the dial in flight
};

// Runs the loop on its io_context until done(), SIGINT and SIGTERM
// cancelling the dial in flight. Returns 128 + the signal, or 0.
int run_dial_loop(const std::shared_ptr<DialLoop>& loop);

}  // namespace heyes_connect
