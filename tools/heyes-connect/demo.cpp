// SPDX-License-Identifier: MIT
// heyes-connect --demo: Happy Eyeballs on loopback with a black-holed ::1, everything inside this process.
#include <algorithm>
#include <cstdio>

#include "dial_mode.hpp"
#include "heyes/dial/dialer_options.hpp"
#include "heyes/select/policy.hpp"
#include "inputs.hpp"
#include "testing/listeners.hpp"
#include "testing/test_server.hpp"

namespace heyes_connect {
namespace {

constexpr const char* kDemoName = "dual-stack.heyes.test";  // RFC 6761: .test names never leak out

// The first dial must have tried ::1 first, waited the attempt delay, and
// connected to 127.0.0.1.
bool demo_succeeded(std::error_code ec, const heyes::DialResult& r, std::chrono::milliseconds delay) {
  if (ec || !r.endpoint.address().is_v4()) return false;
  std::optional<std::chrono::microseconds> v6_start, v4_start;
  for (const auto& e : r.trace.events()) {
    if (e.type != heyes::event::attempt_start || !e.family) continue;
    auto& first = *e.family == heyes::Family::v6 ? v6_start : v4_start;
    if (!first) first = e.t;
  }
  // 1 ms of slack for timer rounding.
  return v6_start && v4_start && *v6_start < *v4_start && *v4_start - *v6_start >= delay - std::chrono::milliseconds(1);
}

void describe(const heyes::dns::TestServer& dns, std::uint16_t port, std::chrono::milliseconds delay) {
  unsigned p = port;
  std::printf("demo: a DNS server on %s answers %s with AAAA ::1 and A 127.0.0.1\n",
              dns.nameserver().to_string().c_str(), kDemoName);
  std::printf("demo: [::1]:%u is black-holed (listen backlog 0, queue full: SYNs dropped); 127.0.0.1:%u accepts\n",
              p, p);
  std::printf("demo: dialing %s port %u, connection attempt delay %lld ms\n\n", kDemoName, p,
              static_cast<long long>(delay.count()));
  std::fflush(stdout);
}

}  // namespace

int run_demo(const Options& options) {
  if (!heyes::testing::have_ipv6_loopback()) {
    std::fprintf(stderr, "heyes-connect: --demo needs IPv6 loopback (::1), which this host does not have\n");
    return 1;
  }
  heyes::DialOptions dial = dial_options(options);
  // Loopback has both families even on a host without global IPv6, where
  // the usable-family check (AI_ADDRCONFIG) would hide the very race shown here.
  dial.addrconfig = false;
  heyes::DialerOptions dialer_options;
  dialer_options.policy = std::make_shared<const heyes::PolicyTable>(policy_of(options));
  dialer_options.history = options.dial.history;

  asio::io_context ioc;
  auto net = heyes::testing::make_broken_ipv6_setup();
  heyes::dns::TestServer dns(ioc.get_executor());
  dns.add_host(kDemoName, {*heyes::IpAddress::parse("::1"), *heyes::IpAddress::parse("127.0.0.1")});
  dialer_options.resolver.config.nameservers = {dns.nameserver()};  // the demo's own server, nothing else
  heyes::Dialer dialer(std::move(dialer_options));
  auto delay = std::clamp(dial.attempt_delay, std::chrono::milliseconds(10), std::chrono::milliseconds(2000));
  const bool text = !options.dial.json && !options.dial.quiet;
  if (text) describe(dns, net.port(), delay);

  bool ok = false;
  auto loop = std::make_shared<DialLoop>(ioc, dialer, kDemoName, std::to_string(net.port()), dial, options.dial);
  loop->observe = [&](int index, std::error_code ec, const heyes::DialResult& r) {
    if (index == 0) ok = demo_succeeded(ec, r, delay);
  };
  loop->done = [&] {
    dns.close();
    ioc.stop();
  };
  if (int interrupted = run_dial_loop(loop)) return interrupted;
  // The verdict: on stdout in text, a diagnostic on stderr beside JSON Lines or a failure.
  if (!options.dial.quiet) {
    std::fputs(ok ? "\ndemo: OK: ::1 hung, 127.0.0.1 was tried after the attempt delay and won\n"
                  : "\ndemo: FAILED: the first dial did not connect over IPv4 after the attempt delay\n",
               ok && text ? stdout : stderr);
  }
  return ok ? 0 : 1;
}

}  // namespace heyes_connect
