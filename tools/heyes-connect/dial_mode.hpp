// SPDX-License-Identifier: MIT
// heyes-connect dial and demo modes: the dial loop, the timeline and the --json output.
#pragma once

#include <asio/io_context.hpp>

#include <functional>
#include <memory>
#include <optional>
#include <string>

#include "cli.hpp"
#include "heyes/dial.hpp"

namespace heyes_connect {

// Dials options.host options.port (options.dial.repeat times, one after the
// other, in one Dialer) and prints each timeline or JSON object.
// Exit status: 0 every dial connected, 1 one failed, 2 bad input.
int run_dial(const Options& options);

// The in-process demo (the README's first command): a DNS server on
// loopback answering a .test name with ::1 and 127.0.0.1, a black-holed
// [::1]:P and a working 127.0.0.1:P. Exit status 0 when the first dial
// connected over IPv4 after the attempt delay.
int run_demo(const Options& options);

// ---- shared by the two modes ----

// The heyes::DialOptions of the command line.
heyes::DialOptions dial_options(const Options& options);
// --policy: a gai.conf file (strict), "none" (the RFC 6724 table), or unset
// (null: the Dialer's). Throws heyes::ParseError naming file:line.
std::shared_ptr<const heyes::PolicyTable> policy_of(const Options& options);

// Dials host:port repeat times, one after the other, on ioc; prints each
// result (text or JSON), then calls observe(index, ec, result); done() after
// the last one.
struct DialLoop {
  using Observer = std::function<void(int index, std::error_code ec, const heyes::DialResult& result)>;
  asio::io_context& ioc;
  heyes::Dialer& dialer;
  std::string host;
  std::string port;
  heyes::DialOptions options;
  int repeat = 1;
  bool json = false;
  Observer observe;
  std::function<void()> done;
};
void start_dial_loop(std::shared_ptr<DialLoop> loop, int index = 0);

}  // namespace heyes_connect
