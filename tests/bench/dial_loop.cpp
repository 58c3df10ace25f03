// SPDX-License-Identifier: MIT
// heyes-dial-loop: N sequential dials to a loopback listener, with heyes or plain asio, to run under a profiler.
//
//   valgrind --tool=callgrind build/tests/bench/heyes-dial-loop 2000
//   strace -f -c build/tests/bench/heyes-dial-loop 200 plain
//
// One thread: the listener is accepted synchronously in each completion, so
// every instruction and system call is the dial's or the loop's own. The
// per-dial figure is the difference between two counts (say 4,000 and 2,000
// dials), which cancels the start-up.
#include <asio/io_context.hpp>
#include <asio/ip/tcp.hpp>

#include <charconv>
#include <cstdio>
#include <functional>
#include <string>
#include <string_view>

#include "heyes/dial.hpp"

namespace {

using asio::ip::tcp;

int usage() {
  std::fprintf(stderr, "usage: heyes-dial-loop DIALS [heyes|plain]   (DIALS from 1 to 1000000)\n");
  return 2;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 2 || argc > 3) return usage();
  std::string_view count_text = argv[1];
  int dials = 0;
  auto [end, ec] = std::from_chars(count_text.data(), count_text.data() + count_text.size(), dials);
  if (ec != std::errc() || end != count_text.data() + count_text.size() || dials < 1 || dials > 1000000)
    return usage();
  std::string_view mode = argc == 3 ? argv[2] : "heyes";
  if (mode != "heyes" && mode != "plain") return usage();
  const bool plain = mode == "plain";

  asio::io_context ioc;
  tcp::acceptor acceptor(ioc, tcp::endpoint(asio::ip::make_address("127.0.0.1"), 0));
  const tcp::endpoint target = acceptor.local_endpoint();
  const std::string service = std::to_string(target.port());
  heyes::DialOptions options;
  options.keep_trace = false;

  int left = dials;
  int failures = 0;
  tcp::socket socket(ioc);
  std::function<void()> next;
  auto done = [&](std::error_code error, tcp::socket connected) {
    if (error) ++failures;
    std::error_code ignored;
    connected.close(ignored);
    tcp::socket peer = acceptor.accept(ignored);
    if (--left > 0 && failures == 0) next();
  };
  next = [&] {
    if (plain) {
      socket = tcp::socket(ioc);
      socket.async_connect(target, [&](std::error_code error) { done(error, std::move(socket)); });
    } else {
      heyes::Dialer::default_dialer().async_dial(ioc.get_executor(), "127.0.0.1", service, options, done);
    }
  };
  next();
  ioc.run();
  if (failures) {
    std::fprintf(stderr, "heyes-dial-loop: a dial failed after %d of %d\n", dials - left, dials);
    return 1;
  }
  std::printf("%d %s dials to %s\n", dials, plain ? "plain asio" : "heyes", target.address().to_string().c_str());
  return 0;
}
