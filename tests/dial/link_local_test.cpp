// SPDX-License-Identifier: MIT
// Link-local dials for real (root): a veth pair between two network namespaces of the test's own, fe80::1%v1 to fe80::2%peer.
//
// The process moves itself into a new network namespace (unshare(CLONE_NEWNET))
// and forks a child that moves into a second one; the veth pair v1 / peer
// joins them. Both namespaces, and the pair, go away with the processes
// whatever way they end (the child is killed when the parent dies): nothing
// to clean up. Only addresses inside these namespaces are contacted; the
// resolv.conf used names 127.0.0.1 of the test's namespace, where no server
// listens unless the test starts one. Without root it skips (exit 77).
//
// Usage: dial-link-local-test [HEYES_CONNECT] (without it the CLI part is skipped).
#include <fcntl.h>
#include <net/if.h>
#include <netinet/in.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <asio/executor_work_guard.hpp>
#include <asio/io_context.hpp>
#include <asio/post.hpp>

#include <array>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <memory>
#include <optional>
#include <string>
#include <thread>

#include "support/host_requirements.hpp"
#include "support/script_checks.hpp"
#include "heyes/dial.hpp"
#include "heyes/dial/dialer_options.hpp"
#include "heyes/heyes.h"
#include "heyes/select/policy.hpp"
#include "testing/listeners.hpp"
#include "testing/test_server.hpp"

namespace {

using namespace std::chrono_literals;
using heyes::IpAddress;

using heyes::test::check;
using heyes::test::run;

// The output (stdout and stderr) and exit status of a command.
std::pair<int, std::string> capture(const std::string& command) {
  std::printf("+ %s\n", command.c_str());
  std::fflush(stdout);
  std::string out;
  FILE* p = ::popen((command + " 2>&1").c_str(), "r");
  if (!p) return {-1, out};
  std::array<char, 512> buf;
  while (std::fgets(buf.data(), buf.size(), p)) out += buf.data();
  int status = ::pclose(p);
  return {WIFEXITED(status) ? WEXITSTATUS(status) : -1, out};
}

// Reads one line from fd, waiting at most timeout; empty on EOF or timeout.
std::string read_line(int fd, std::chrono::milliseconds timeout) {
  std::string line;
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  while (std::chrono::steady_clock::now() < deadline) {
    pollfd p{fd, POLLIN, 0};
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
    if (::poll(&p, 1, static_cast<int>(std::max<long long>(left.count(), 1))) <= 0) continue;
    char c;
    if (::read(fd, &c, 1) != 1) return line;
    if (c == '\n') return line;
    line += c;
  }
  return line;
}

void write_line(int fd, const std::string& s) {
  std::string line = s + "\n";
  if (::write(fd, line.data(), line.size()) != static_cast<ssize_t>(line.size())) std::perror("write");
}

// The child: the far end. Moves into a namespace of its own, waits for the
// parent to give it "peer", configures fe80::2/64 on it and listens on
// fe80::2%peer; writes the port; lives until the parent closes the pipe.
[[noreturn]] void far_end(int to_parent, int from_parent, pid_t parent) {
  ::prctl(PR_SET_PDEATHSIG, SIGKILL);
  if (::getppid() != parent) std::_Exit(1);
  if (::unshare(CLONE_NEWNET) != 0) {
    write_line(to_parent, "error unshare");
    std::_Exit(1);
  }
  write_line(to_parent, "ns");
  if (read_line(from_parent, 10s) != "link") std::_Exit(1);
  if (!run("ip link set lo up") || !run("ip addr add fe80::2/64 dev peer nodad") || !run("ip link set peer up")) {
    write_line(to_parent, "error ip");
    std::_Exit(1);
  }
  try {
    auto listener = heyes::testing::Listener::working(*IpAddress::parse("fe80::2%peer"));
    write_line(to_parent, std::to_string(listener.port()));
    // Until EOF (the parent is done or dead); drain the accept queue meanwhile.
    for (;;) {
      pollfd p{from_parent, POLLIN, 0};
      if (::poll(&p, 1, 100) > 0) {
        char c;
        if (::read(from_parent, &c, 1) <= 0) break;
      }
      listener.accept_pending();
    }
  } catch (const std::exception& e) {
    write_line(to_parent, std::string("error ") + e.what());
  }
  std::_Exit(0);
}

struct Files {
  std::filesystem::path dir;
  Files() {
    dir = std::filesystem::temp_directory_path() / ("heyes-link-local-" + std::to_string(::getpid()));
    std::filesystem::create_directories(dir);
    // 127.0.0.1 of this namespace: nothing listens there, nothing leaves it.
    std::ofstream(dir / "resolv.conf") << "nameserver 127.0.0.1\noptions timeout:1 attempts:1\n";
    std::ofstream(dir / "hosts") << "fe80::2%v1 ll-peer\n";
    std::ofstream(dir / "gai.conf") << "";
  }
  ~Files() {
    std::error_code ec;
    std::filesystem::remove_all(dir, ec);
  }
  std::string resolv() const { return (dir / "resolv.conf").string(); }
  std::string hosts() const { return (dir / "hosts").string(); }
  heyes::SystemFiles system_files() const { return {resolv(), hosts(), (dir / "gai.conf").string()}; }
};

heyes::DialOptions dial_options() {
  heyes::DialOptions o;
  o.keep_trace = true;
  o.timeout = 5s;
  o.use_history = false;
  return o;
}

struct Dialed {
  std::unique_ptr<asio::io_context> ioc;  // outlives the socket (declared before it)
  std::error_code ec;
  std::optional<heyes::DialResult> result;
  std::string summary() const {
    if (!result) return "not dialed";
    return ec ? "error: " + ec.message() : "connected to " + result->endpoint.address().to_string();
  }
  std::string attempt_errors() const {
    std::string out;
    if (!result) return out;
    for (const auto& e : result->trace.events())
      if (e.type == heyes::event::attempt_failed) out += (out.empty() ? "" : "; ") + e.detail;
    return out;
  }
};

Dialed dial(heyes::Dialer& dialer, const std::string& host, const std::string& service,
            heyes::DialOptions o = dial_options()) {
  Dialed d;
  d.ioc = std::make_unique<asio::io_context>();
  d.result.emplace(dialer.dial_result(d.ioc->get_executor(), host, service, o, d.ec));
  return d;
}

// The connected socket says v1 (by index) and the endpoint agrees with it.
void check_on_v1(const Dialed& d, const std::string& what) {
  const auto v1 = ::if_nametoindex("v1");
  check(!d.ec, what + ": " + d.summary() + (d.ec ? " (" + d.attempt_errors() + ")" : ""));
  if (d.ec || !d.result) return;
  const heyes::DialResult& r = *d.result;
  std::error_code ec;
  auto remote = r.socket.remote_endpoint(ec);
  check(!ec && remote.address().is_v6() && remote.address().to_v6().scope_id() == v1,
        what + ": remote_endpoint() " + remote.address().to_string() + " has scope id " + std::to_string(v1));
  check(r.endpoint == remote, what + ": DialResult::endpoint " + r.endpoint.address().to_string() +
                                         " is the socket's remote endpoint");
  check(r.endpoint.address().to_string() == "fe80::2%v1",
        what + ": the endpoint prints as fe80::2%v1 (" + r.endpoint.address().to_string() + ")");
  std::string connected;
  for (const auto& e : r.trace.events())
    if (e.type == heyes::event::connected && e.address) connected = e.address->to_string();
  check(connected == "fe80::2%" + std::to_string(v1), what + ": the trace's connected event names " + connected);
}

int run_tests(const std::string& heyes_connect, const std::string& service) {
  Files files;
  auto options = heyes::DialerOptions::from_system(files.system_files());
  heyes::Dialer dialer(options);

  // The link needs a moment (carrier, neighbour discovery): the first dial is
  // tried again for at most 5 s.
  Dialed literal;
  const auto deadline = std::chrono::steady_clock::now() + 5s;
  for (int i = 0; i < 50 && std::chrono::steady_clock::now() < deadline; ++i) {
    literal = dial(dialer, "fe80::2%v1", service);
    if (!literal.ec) break;
    std::this_thread::sleep_for(100ms);
  }
  check_on_v1(literal, "(a) the literal fe80::2%v1");
  check_on_v1(dial(dialer, "[fe80::2%" + std::to_string(::if_nametoindex("v1")) + "]", service),
              "(a) the literal [fe80::2%<index of v1>]");

  Dialed named = dial(dialer, "ll-peer", service);
  check_on_v1(named, "(b) ll-peer from the hosts file");
  if (named.result) {
    for (const auto& e : named.result->trace.events())
      if (e.type == heyes::event::dns_answer && e.family == heyes::Family::v6)
        check(e.source == heyes::answer_source::hosts && e.addresses.size() == 1 &&
                  e.addresses[0].scope_id() == ::if_nametoindex("v1"),
              "(b) the hosts answer carries the zone: " + (e.addresses.empty() ? "" : e.addresses[0].to_string()));
  }

  {
    // The C API: the text and the sockaddr of the winner keep the zone.
    heyes_options o;
    heyes_options_init(&o);
    o.timeout_ms = 5000;
    const char* ns[] = {"127.0.0.1"};  // this namespace's: a literal asks nobody anyway
    o.nameservers = ns;
    o.nameserver_count = 1;
    heyes_result r;
    heyes_result_init(&r);
    int fd = heyes_dial("fe80::2%v1", service.c_str(), &o, &r);
    const auto* sin6 = reinterpret_cast<const sockaddr_in6*>(&r.sockaddr);
    check(fd >= 0 && std::string(r.address) == "fe80::2%v1" && r.sockaddr.ss_family == AF_INET6 &&
              sin6->sin6_scope_id == ::if_nametoindex("v1"),
          std::string("(c) heyes_dial(\"fe80::2%v1\"): ") + (fd >= 0 ? r.address : r.detail) + ", sin6_scope_id " +
              std::to_string(r.sockaddr.ss_family == AF_INET6 ? sin6->sin6_scope_id : 0));
    if (fd >= 0) ::close(fd);
  }

  if (heyes_connect.empty()) {
    std::puts("skipped: (c) heyes-connect (no path given)");
  } else {
    auto [status, out] = capture(heyes_connect + " --hosts " + files.hosts() + " --resolv-conf " + files.resolv() +
                                 " --no-history --timeout 5000 ll-peer " + service);
    std::fputs(out.c_str(), stdout);
    check(status == 0, "(c) heyes-connect --hosts FILE ll-peer exits 0 (" + std::to_string(status) + ")");
    check(out.find("connected to fe80::2%v1 port " + service) != std::string::npos,
          "(c) heyes-connect says connected to fe80::2%v1");
    auto [lstatus, lout] = capture(heyes_connect + " --resolv-conf " + files.resolv() +
                                   " --no-history --timeout 5000 fe80::2%v1 " + service);
    check(lstatus == 0 && lout.find("connected to fe80::2%v1 port " + service) != std::string::npos,
          "(c) heyes-connect fe80::2%v1 connects and says so");
    auto [rstatus, rout] = capture(heyes_connect + " --resolv-conf " + files.resolv() + " --no-history --timeout 5000" +
                                   " --resolve ll-given:" + service + ":[fe80::2%v1] ll-given " + service);
    check(rstatus == 0 && rout.find("connected to fe80::2%v1 port " + service) != std::string::npos,
          "(c) heyes-connect --resolve ll-given:PORT:[fe80::2%v1] connects and says so");
  }

  // (d) A DNS AAAA answer has no zone: dialed as it is, the kernel refuses
  // it (EINVAL), as after glibc's getaddrinfo; a local address on the link
  // gives the socket its interface, and then it connects.
  asio::io_context dns_ioc;
  auto work = std::make_optional(asio::make_work_guard(dns_ioc));
  auto server = std::make_unique<heyes::dns::TestServer>(dns_ioc.get_executor());
  server->add_host("ll.heyes.test", {*IpAddress::parse("fe80::2")}, 3600);
  std::thread dns_thread([&] { dns_ioc.run(); });
  {
    heyes::DialerOptions o;
    o.resolver.config.nameservers = {server->nameserver()};
    o.resolver.config.timeout = 1s;
    o.resolver.config.attempts = 1;
    o.policy = std::make_shared<const heyes::PolicyTable>();
    heyes::Dialer dns_dialer(o);
    Dialed zoneless = dial(dns_dialer, "ll.heyes.test.", service);
    check(zoneless.ec && zoneless.attempt_errors().find("nvalid argument") != std::string::npos,
          "(d) the zoneless AAAA fe80::2 fails with EINVAL: " + zoneless.summary() + " (" +
              zoneless.attempt_errors() + ")");
    auto bound = dial_options();
    bound.local_address = *IpAddress::parse("fe80::1%v1");
    Dialed via_local = dial(dns_dialer, "ll.heyes.test.", service, bound);
    check(!via_local.ec, "(d) with local_address fe80::1%v1 it connects: " + via_local.summary() + " (" +
                             via_local.attempt_errors() + ")");
    if (!via_local.ec) {
      std::error_code ec;
      auto remote = via_local.result->socket.remote_endpoint(ec);
      check(!ec && remote.address().to_v6().scope_id() == ::if_nametoindex("v1"),
            "(d) and the socket's remote endpoint has v1's zone: " + remote.address().to_string());
      check(via_local.result->endpoint == remote,
            "(d) DialResult::endpoint is that remote endpoint: " + via_local.result->endpoint.address().to_string());
    }
  }
  asio::post(dns_ioc, [&] { server->close(); });
  work.reset();
  dns_thread.join();

  // What glibc does with the same files (informational: heyes is not glibc).
  if (std::system("command -v python3 >/dev/null 2>&1 && command -v unshare >/dev/null 2>&1") == 0) {
    const std::string py =
        "import socket\n"
        "for h in ['ll-peer', 'fe80::2%v1']:\n"
        "  try: print('glibc', h, [a[4] for a in socket.getaddrinfo(h, " + service + ", socket.AF_INET6, socket.SOCK_STREAM)])\n"
        "  except Exception as e: print('glibc', h, 'error', e)\n";
    std::ofstream(files.dir / "gai.py") << py;
    auto [status, out] = capture("unshare -m sh -c 'mount --bind " + files.hosts() + " /etc/hosts && mount --bind " +
                                 files.resolv() + " /etc/resolv.conf && python3 " + (files.dir / "gai.py").string() +
                                 "'");
    std::printf("info (exit %d):\n%s", status, out.c_str());
  }
  return heyes::test::failed_checks;
}

}  // namespace

int main(int argc, char** argv) {
  if (!heyes::test::enter_own_network_namespace(
          "make network namespaces of its own (unshare CLONE_NEWNET) and a veth pair"))
    return 77;
  const std::string heyes_connect = argc > 1 ? argv[1] : "";
  int up[2], down[2];  // child -> parent, parent -> child
  if (::pipe2(up, O_CLOEXEC) != 0 || ::pipe2(down, O_CLOEXEC) != 0) {
    std::perror("FAILED: pipe");
    return 1;
  }
  const pid_t parent = ::getpid();
  std::fflush(stdout);
  const pid_t child = ::fork();
  if (child < 0) {
    std::perror("FAILED: fork");
    return 1;
  }
  if (child == 0) {
    ::close(up[0]);
    ::close(down[1]);
    far_end(up[1], down[0], parent);
  }
  ::close(up[1]);
  ::close(down[0]);
  auto stop_child = [&] {
    ::close(down[1]);  // EOF: the child exits
    int status = 0;
    for (int i = 0; i < 50 && ::waitpid(child, &status, WNOHANG) == 0; ++i) std::this_thread::sleep_for(20ms);
    if (::waitpid(child, &status, WNOHANG) == 0) {
      ::kill(child, SIGKILL);
      ::waitpid(child, &status, 0);
    }
  };
  const std::string ns = read_line(up[0], 10s);
  if (ns != "ns") {
    std::printf("FAILED: the child's namespace (%s)\n", ns.c_str());
    stop_child();
    return 1;
  }
  // A veth kernel module is needed; without it the test cannot say anything.
  if (!run("ip link add v1 type veth peer name peer netns " + std::to_string(child))) {
    std::puts("SKIP: cannot make a veth pair (ip link add ... type veth)");
    stop_child();
    return 77;
  }
  if (!run("ip link set lo up") || !run("ip addr add fe80::1/64 dev v1 nodad") || !run("ip link set v1 up")) {
    std::puts("FAILED: configuring v1");
    stop_child();
    return 1;
  }
  write_line(down[1], "link");
  const std::string port = read_line(up[0], 10s);
  if (port.empty() || port.find_first_not_of("0123456789") != std::string::npos) {
    std::printf("FAILED: the listener on fe80::2%%peer (%s)\n", port.c_str());
    stop_child();
    return 1;
  }
  std::printf("listening on [fe80::2%%peer]:%s in the child's namespace\n", port.c_str());
  int failed = 0;
  try {
    failed = run_tests(heyes_connect, port);
  } catch (const std::exception& e) {
    std::printf("FAILED: %s\n", e.what());
    failed = 1;
  }
  stop_child();
  std::printf("%s\n", failed == 0 ? "all passed" : "some checks FAILED");
  return failed == 0 ? 0 : 1;
}
