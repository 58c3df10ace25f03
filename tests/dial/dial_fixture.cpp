// SPDX-License-Identifier: MIT
// The dial tests' loopback world (see dial_fixture.hpp).
#include "dial_fixture.hpp"

#include <doctest/doctest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <filesystem>
#include <vector>

namespace heyes::test {

std::size_t open_fds() {
  std::size_t n = 0;
  for ([[maybe_unused]] const auto& entry : std::filesystem::directory_iterator("/proc/self/fd")) ++n;
  return n;
}

std::size_t count_events(const Trace& trace, std::string_view type) {
  return static_cast<std::size_t>(std::count_if(trace.events().begin(), trace.events().end(),
                                                [&](const TraceEvent& e) { return e.type == type; }));
}

std::vector<std::string> event_types(const Trace& trace, std::initializer_list<std::string_view> types) {
  std::vector<std::string> out;
  for (const auto& e : trace.events()) {
    if (std::find(types.begin(), types.end(), e.type) == types.end()) continue;
    out.push_back(e.address ? e.type + " " + e.address->to_string() : e.type);
  }
  return out;
}

std::uint16_t closed_port() {
  int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  REQUIRE(fd >= 0);
  sockaddr_in sin{};
  sin.sin_family = AF_INET;
  sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof sin;
  REQUIRE(::bind(fd, reinterpret_cast<sockaddr*>(&sin), len) == 0);
  REQUIRE(::getsockname(fd, reinterpret_cast<sockaddr*>(&sin), &len) == 0);
  ::close(fd);  // bound, never listened on, now closed: a SYN gets a RST
  return ntohs(sin.sin_port);
}

LoopbackFixture::LoopbackFixture(Stack stack) {
  std::vector<IpAddress> answers{*IpAddress::parse("127.0.0.1")};
  if (stack == Stack::broken_ipv6) {
    // Fails the test (never passes it silently); the suite's own meson test
    // skips before this on a host without IPv6 loopback.
    REQUIRE_MESSAGE(testing::have_ipv6_loopback(),
                    "this test needs IPv6 on loopback; run the ipv6-loopback suite only where ::1 exists");
    net_.emplace(testing::make_broken_ipv6_setup());
    answers.insert(answers.begin(), *IpAddress::parse("::1"));
  } else {
    v4_.emplace(testing::Listener::working(*IpAddress::parse("127.0.0.1")));
  }
  dns_ = std::make_unique<dns::TestServer>(dns_ioc_.get_executor());
  dns_->add_host(name(), answers);
  dns_work_.emplace(dns_ioc_.get_executor());
  dns_thread_ = std::thread([this] { dns_ioc_.run(); });

  dialer_ = std::make_unique<Dialer>(dialer_options());
}

DialerOptions LoopbackFixture::dialer_options() const {
  DialerOptions o;
  o.resolver.config.nameservers = {dns_->nameserver()};
  o.resolver.config.timeout = std::chrono::seconds(1);
  o.resolver.config.attempts = 1;
  return o;
}

LoopbackFixture::~LoopbackFixture() {
  if (!dns_) return;
  dns_work_.reset();
  dns_ioc_.stop();
  dns_thread_.join();
  dns_.reset();  // the executor is not running any more
}

DialOptions LoopbackFixture::options() const {
  DialOptions o;
  o.addrconfig = false;
  o.use_history = false;  // each test sees the black hole afresh
  return o;
}

}  // namespace heyes::test
