// SPDX-License-Identifier: MIT
// Trace: the timeline of one dial, with stable event names (also used by heyes-connect --json).
#pragma once

#include <chrono>
#include <exception>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "heyes/address.hpp"

namespace heyes {

// Stable event names. Add new ones at the end; never rename.
namespace event {
inline constexpr std::string_view families_usable = "families_usable";  // which families this host can use, and why
inline constexpr std::string_view dns_query = "dns_query";              // a query sent (family, detail: name, server)
inline constexpr std::string_view dns_answer = "dns_answer";            // addresses of one family arrived
inline constexpr std::string_view dns_error = "dns_error";              // one family failed (detail: reason)
inline constexpr std::string_view sorted = "sorted";                    // the order of the not yet tried addresses
inline constexpr std::string_view resolution_delay = "resolution_delay";  // waiting for AAAA after A
inline constexpr std::string_view attempt_start = "attempt_start";
inline constexpr std::string_view attempt_failed = "attempt_failed";
inline constexpr std::string_view attempt_cancelled = "attempt_cancelled";
inline constexpr std::string_view connected = "connected";
inline constexpr std::string_view timed_out = "timed_out";
inline constexpr std::string_view cancelled = "cancelled";
inline constexpr std::string_view failed = "failed";                    // the whole dial failed
inline constexpr std::string_view warning = "warning";                  // a setting outside its recommended range
inline constexpr std::string_view attempt_delay = "attempt_delay";      // the delay after an attempt_start, and its evidence
inline constexpr std::string_view attempt_abandoned = "attempt_abandoned";  // closed at the in-flight cap or its own timeout
inline constexpr std::string_view dns_dropped = "dns_dropped";  // an undialable address left out of a DNS answer (detail: why)
inline constexpr std::string_view nat64_prefix = "nat64_prefix";  // the NAT64 prefixes in use (detail: prefixes, source, TTL) or why none
inline constexpr std::string_view nat64_synthesized = "nat64_synthesized";  // an IPv6 candidate made from an IPv4 address (detail: which, under which prefix)
inline constexpr std::string_view nat64_refused = "nat64_refused";  // an IPv4 address dialed as it is: no translator may stand in for it (detail: why)
inline constexpr std::string_view last_resort = "last_resort";  // addresses synthesized from A records join the race (RFC 8305 section 7.2)
inline constexpr std::string_view network_change = "network_change";  // this dial noticed an address or route change: families probed again, history failures and DNS cache stale, NAT64 prefixes forgotten (detail: what changed)
inline constexpr std::string_view config_reloaded = "config_reloaded";  // a system file changed: re-read for this dial and those after it, or kept as it was (detail: which, why)
}  // namespace event

// Where the addresses (or the error) of a dns_answer or dns_error event came from.
namespace answer_source {
inline constexpr std::string_view literal = "literal";      // the host is an address literal
inline constexpr std::string_view localhost = "localhost";  // an RFC 6761 localhost name
inline constexpr std::string_view hosts = "hosts";          // the hosts file
inline constexpr std::string_view cache = "cache";          // the Dialer's DNS cache
inline constexpr std::string_view dns = "dns";              // a nameserver's answer (or no answer)
inline constexpr std::string_view given = "given";          // DialOptions::addresses
inline constexpr std::string_view validation = "validation";  // the name was refused before any lookup
inline constexpr std::string_view getaddrinfo = "getaddrinfo";  // the system's getaddrinfo (system_name_resolver)
inline constexpr std::string_view resolver = "resolver";  // a caller's NameResolver whose event named no source
// Besides these: the nsswitch.conf service that answered ("myhostname",
// "mdns4_minimal", ...), and what a caller's NameResolver says.
}  // namespace answer_source

struct TraceEvent {
  std::chrono::microseconds t{0};  // since the start of the dial
  std::string type;                // one of heyes::event
  std::optional<Family> family;
  std::optional<IpAddress> address;
  std::string detail;
  // dns_answer and dns_error: where the answer came from, one of heyes::answer_source.
  std::string source{};
  // dns_answer: the addresses of the answer, in its order.
  std::vector<IpAddress> addresses{};
  // dns_error: the DNS response code ("SERVFAIL", "REFUSED", "NOTIMP", ...)
  // of the last server that answered the question with an error, and that
  // server ("127.0.0.1:5353", "/tcp" added over TCP); empty when no server
  // answered with one (a timeout, NXDOMAIN, NODATA, the hosts file).
  std::string rcode{};
  std::string server{};
};

// Called with each event of a dial as it is added (DialOptions::on_event).
using EventCallback = std::function<void(const TraceEvent&)>;

// The events of one dial, kept (enabled) and/or handed to a callback as they
// are added. Callers format an event only when enabled() says someone wants it.
class Trace {
 public:
  explicit Trace(bool keep = true, EventCallback on_event = {}) : keep_(keep), on_event_(std::move(on_event)) {}

  // Whether an added event goes anywhere (kept or delivered).
  bool enabled() const noexcept { return keep_ || on_event_; }
  // Hands e to the callback, then keeps it (when keeping). A callback that
  // throws is not called again: the exception stops here (the caller is the
  // dial's core, in the middle of a decision) and a warning event naming it
  // is kept after e.
  void add(TraceEvent e) {
    std::optional<std::string> threw;
    if (on_event_) threw = deliver(e);
    if (keep_) events_.push_back(std::move(e));
    if (threw && keep_)
      events_.push_back({events_.back().t, std::string(event::warning), std::nullopt, std::nullopt,
                         "on_event threw (" + *threw + "); no more events are delivered"});
  }
  // No callback from here on (the dial is over).
  void stop_delivering() noexcept { on_event_ = nullptr; }
  const std::vector<TraceEvent>& events() const noexcept { return events_; }

 private:
  // The exception's text when the callback threw (it is dropped then).
  std::optional<std::string> deliver(const TraceEvent& e) {
    try {
      on_event_(e);
      return std::nullopt;
    } catch (const std::exception& x) {
      on_event_ = nullptr;
      return x.what();
    } catch (...) {
      on_event_ = nullptr;
      return "unknown exception";
    }
  }

  bool keep_;
  EventCallback on_event_;
  std::vector<TraceEvent> events_;
};

}  // namespace heyes
