// SPDX-License-Identifier: MIT
// NAT64 for the dial: the Dialer's prefixes and their discovery, synthesis of candidates, ordering as IPv4.
#include "nat64.hpp"

#include "common/asio.hpp"
#include <fmt/format.h>
#include <linux/netlink.h>
#include <linux/rtnetlink.h>
#include <net/if.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <chrono>

#include "heyes/dns/pref64.hpp"

namespace heyes::detail {

using std::chrono::duration_cast;
using std::chrono::seconds;

// The discovery in flight. Its handler holds it; when the handler is
// dropped uncalled (the io_context of the dial that started it went away),
// the waiters are told to ask again.
struct Nat64State::Flight {
  std::weak_ptr<Nat64State> state;
  std::atomic<bool> armed{false};  // start() returned: from here on a drop must be reported
  std::atomic<bool> done{false};
  ~Flight() {
    if (!armed || done) return;
    if (auto s = state.lock()) s->settle(nullptr);
  }
};

namespace {

// A NETLINK_ROUTE socket subscribed to the RA options the kernel passes on
// (RTNLGRP_ND_USEROPT; no privileges needed), or -1 with the reason in why.
int open_router_subscription(std::string& why) {
  int fd = ::socket(AF_NETLINK, SOCK_RAW | SOCK_NONBLOCK | SOCK_CLOEXEC, NETLINK_ROUTE);
  if (fd < 0) {
    why = std::error_code(errno, std::generic_category()).message();
    return -1;
  }
  sockaddr_nl local{};
  local.nl_family = AF_NETLINK;
  local.nl_groups = 1u << (RTNLGRP_ND_USEROPT - 1);
  if (::bind(fd, reinterpret_cast<const sockaddr*>(&local), sizeof local) != 0) {
    why = std::error_code(errno, std::generic_category()).message();
    ::close(fd);
    return -1;
  }
  return fd;
}

std::string interface_name(int ifindex) {
  std::array<char, IF_NAMESIZE> name{};
  if (ifindex > 0 && ::if_indextoname(static_cast<unsigned>(ifindex), name.data()) != nullptr) return name.data();
  return fmt::format("interface {}", ifindex);
}

}  // namespace

Nat64State::Nat64State(Nat64Options options, dns::ResolverConfig nameservers, int router_socket)
    : options_(std::move(options)), nameservers_(std::move(nameservers)), router_socket_(router_socket),
      router_opened_(router_socket >= 0) {}

Nat64State::~Nat64State() {
  if (router_socket_ >= 0) ::close(router_socket_);
}

// What the kernel passed on since the last call: at most 64 datagrams (the
// rest waits for the next dial), each with whatever options it holds.
// The subscription is opened by the first dial that needs NAT64 (so a
// dual-stack host holds no socket for it); RAs before that are not seen.
void Nat64State::read_router_locked(TimePoint now) {
  if (!router_opened_) {
    router_opened_ = true;
    std::string why;
    router_socket_ = open_router_subscription(why);
    if (router_socket_ < 0) router_note_ = "no Router Advertisement options: " + why;
  }
  if (router_socket_ < 0) return;
  std::array<std::uint8_t, 8192> buffer;
  for (int i = 0; i < 64; ++i) {
    sockaddr_nl from{};
    socklen_t from_len = sizeof from;
    ssize_t n = ::recvfrom(router_socket_, buffer.data(), buffer.size(), MSG_DONTWAIT,
                           reinterpret_cast<sockaddr*>(&from), &from_len);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0 && errno == ENOBUFS) continue;  // the queue overflowed: some RA was lost; read on
    if (n <= 0) return;                        // EAGAIN: nothing more; any other error: try next time
    if (from_len >= sizeof from && from.nl_family == AF_NETLINK && from.nl_pid != 0) continue;  // not the kernel
    auto got = parse_pref64_netlink(std::span<const std::uint8_t>(buffer.data(), static_cast<std::size_t>(n)));
    for (const auto& r : got.options) {
      cache_.learn_router(r.option, now);
      router_note_ = fmt::format("ra: {} from {} on {}, lifetime {} s", r.option.prefix.to_string(),
                                 r.router ? r.router->to_string() : std::string("a router"), interface_name(r.ifindex),
                                 r.option.lifetime.count());
    }
  }
}

std::optional<Nat64View> Nat64State::known(TimePoint now, const asio::any_io_executor& ex) {
  if (options_.mode == Nat64Options::Mode::fixed) return fixed_view(options_.prefixes);
  std::lock_guard lock(mutex_);
  read_router_locked(now);
  bool live = !cache_.prefixes(now).empty();
  // The router's prefixes need no query; DNS ones are refreshed before they expire.
  if (cache_.dns_query_due(now) && !from_router_locked(now)) {
    if (!live) return std::nullopt;
    if (!in_flight_) start_locked(ex);  // refresh before they expire; use them meanwhile
  }
  return view_locked(now);
}

std::uint64_t Nat64State::wait(const asio::any_io_executor& ex, Waiter done) {
  std::lock_guard lock(mutex_);
  std::uint64_t ticket = ++next_ticket_;
  waiters_.push_back({ticket, ex, std::move(done)});
  if (!in_flight_) start_locked(ex);
  return ticket;
}

void Nat64State::forget(std::uint64_t ticket) {
  std::lock_guard lock(mutex_);
  std::erase_if(waiters_, [&](const Pending& p) { return p.ticket == ticket; });
}

void Nat64State::failed(TimePoint now) {
  if (options_.mode != Nat64Options::Mode::automatic) return;
  std::lock_guard lock(mutex_);
  cache_.reset(now);
  source_note_ = "the prefixes learnt before stopped working";
}

void Nat64State::set_nameservers(dns::ResolverConfig nameservers) {
  std::lock_guard lock(mutex_);
  nameservers_ = std::move(nameservers);
  resolver_.reset();  // made again, with them, at the next query
}

void Nat64State::network_changed(TimePoint now) {
  if (options_.mode != Nat64Options::Mode::automatic) return;
  std::lock_guard lock(mutex_);
  cache_.reset(now);
  source_note_ = "the network changed: asking again";
}

void Nat64State::start_locked(const asio::any_io_executor& ex) {
  if (!resolver_) resolver_ = dns::Resolver::create(dns::pref64_resolver_options(nameservers_));
  auto flight = std::make_shared<Flight>();
  flight->state = weak_from_this();
  in_flight_ = true;
  try {
    dns::start_pref64_discovery(*resolver_, ex, [flight](const dns::Pref64Answer& answer) {
      flight->done = true;
      if (auto s = flight->state.lock()) s->settle(&answer);
    });
  } catch (...) {
    in_flight_ = false;
    throw;
  }
  flight->armed = true;
}

namespace {

std::string describe_answer(const dns::Pref64Answer& a) {
  std::string at = a.server.empty() ? std::string() : " @" + a.server;
  if (!a.answered()) return fmt::format("ipv4only.arpa{}: {}", at, a.error.message());
  if (a.error) return fmt::format("ipv4only.arpa{}: {} (no DNS64)", at, a.error.message());
  std::string s = fmt::format("ipv4only.arpa{}, TTL {} s", at, a.discovery.ttl.count());
  if (a.discovery.prefixes.empty()) s += ": no AAAA record holds 192.0.0.170 or 192.0.0.171";
  for (const auto& d : a.discovery.diagnostics) s += "; " + d.message;
  return s;
}

}  // namespace

void Nat64State::settle(const dns::Pref64Answer* answer) {
  const TimePoint now = Clock::now();
  std::lock_guard lock(mutex_);
  in_flight_ = false;
  std::optional<Nat64View> view;
  if (answer != nullptr) {
    if (answer->answered()) cache_.learn_dns(answer->discovery, now);
    else cache_.dns_failed(now);
    source_note_ = describe_answer(*answer);
    view = view_locked(now);
  }
  // Posted under the lock, so a waiter that forget() removed is never posted to.
  for (auto& w : waiters_) asio::post(w.ex, [done = std::move(w.done), view] { done(view); });
  waiters_.clear();
}

bool Nat64State::from_router_locked(TimePoint now) const {
  const auto prefixes = cache_.prefixes(now);
  if (prefixes.empty()) return false;
  const auto entries = cache_.entries(now);
  return std::any_of(entries.begin(), entries.end(), [&](const Pref64Entry& e) {
    return e.source == Pref64Source::router_advertisement && e.prefix == prefixes.front();
  });
}

Nat64View Nat64State::view_locked(TimePoint now) const {
  Nat64View v;
  v.prefixes = cache_.prefixes(now);
  if (v.prefixes.empty()) {
    v.description = "no NAT64 prefix: " + (source_note_.empty() ? std::string("none discovered") : source_note_);
    return v;
  }
  for (const auto& p : v.prefixes) v.description += (v.description.empty() ? "" : ", ") + p.to_string();
  v.description += from_router_locked(now) ? fmt::format(" ({})", router_note_) : fmt::format(" (dns: {})", source_note_);
  return v;
}

Nat64View fixed_view(const std::vector<Nat64Prefix>& prefixes) {
  Nat64View v;
  v.prefixes = prefixes;
  for (const auto& p : prefixes) v.description += (v.description.empty() ? "" : ", ") + p.to_string();
  v.description = v.prefixes.empty() ? "no NAT64 prefix: none configured" : v.description + " (configured)";
  return v;
}

const Nat64Prefix* translating_prefix(std::span<const Nat64Prefix> prefixes, const IpAddress& a) {
  if (!a.is_v6()) return nullptr;
  for (const auto& p : prefixes)
    if (extract(p, a)) return &p;
  return nullptr;
}

std::vector<IpAddress> synthesize_all(std::span<const IpAddress> v4, std::span<const Nat64Prefix> prefixes,
                                      Trace& trace, std::chrono::microseconds at) {
  std::vector<IpAddress> out;
  out.reserve(v4.size() * prefixes.size());
  for (const auto& a : v4) {
    if (!a.is_v4()) {
      out.push_back(a);
      continue;
    }
    bool kept = false;
    for (const auto& p : prefixes) {
      if (auto why = synthesis_refusal(p, a)) {
        if (!kept) out.push_back(a);  // raced as it is, once
        kept = true;
        if (trace.enabled())
          trace.add({at, std::string(event::nat64_refused), Family::v4, a, *why + ": dialed as it is"});
        continue;
      }
      auto s = synthesize(p, a);
      if (!s) continue;
      out.push_back(*s);
      if (trace.enabled())
        trace.add({at, std::string(event::nat64_synthesized), Family::v6, *s,
                   fmt::format("{} under {}", a.to_string(), p.to_string())});
    }
  }
  return out;
}

namespace {

// Answers for the IPv4 stand-ins of translated addresses: the source the
// IPv6 address would use, as an IPv4 source of the same scope, so RFC 6724
// sees an IPv4 destination that is reachable.
class StandInSources final : public SourceLookup {
 public:
  StandInSources(SourceLookup& inner, const std::vector<std::pair<IpAddress, IpAddress>>& stand_ins)
      : inner_(inner), stand_ins_(stand_ins) {}
  std::optional<SourceInfo> source_for(const IpAddress& destination) override {
    for (const auto& [key, real] : stand_ins_) {
      if (key != destination) continue;
      if (!inner_.source_for(real)) return std::nullopt;
      SourceInfo s{key};
      s.prefix_length = 32;
      return s;
    }
    return inner_.source_for(destination);
  }

 private:
  SourceLookup& inner_;
  const std::vector<std::pair<IpAddress, IpAddress>>& stand_ins_;
};

}  // namespace

std::vector<IpAddress> order_as_ipv4(std::vector<IpAddress> candidates, std::span<const Nat64Prefix> prefixes,
                                     SourceLookup& sources, const OrderFn& order) {
  std::vector<std::pair<IpAddress, IpAddress>> stand_ins;  // (IPv4 stand-in, translated address)
  for (auto& a : candidates) {
    const Nat64Prefix* p = translating_prefix(prefixes, a);
    if (p == nullptr) continue;
    IpAddress key = *extract(*p, a);
    // A stand-in that is already a candidate (or another's) keeps the address as it is.
    bool taken = std::find(candidates.begin(), candidates.end(), key) != candidates.end() ||
                 std::any_of(stand_ins.begin(), stand_ins.end(), [&](const auto& s) { return s.first == key; });
    if (taken) continue;
    stand_ins.emplace_back(key, a);
    a = key;
  }
  if (stand_ins.empty()) {
    auto real = [](const IpAddress& a) { return a; };
    return order(std::move(candidates), sources, real);
  }
  StandInSources standing(sources, stand_ins);
  auto real = [&](const IpAddress& a) {
    for (const auto& [key, r] : stand_ins)
      if (key == a) return r;
    return a;
  };
  auto out = order(std::move(candidates), standing, real);
  for (auto& a : out) a = real(a);
  return out;
}

}  // namespace heyes::detail
