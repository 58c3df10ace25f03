// SPDX-License-Identifier: MIT
// heyes-connect dial mode: dial, stream the timeline or JSON Lines, cancel on a signal; on the public API only.
#include "dial_mode.hpp"

#include <asio/bind_cancellation_slot.hpp>
#include <asio/error.hpp>
#include <asio/signal_set.hpp>

#include <csignal>
#include <cstdio>
#include <algorithm>
#include <cctype>
#include <cstring>

#include "heyes/dial/dialer_options.hpp"
#include "heyes/dns/config.hpp"
#include "heyes/dns/hosts.hpp"
#include "heyes/dns/nsswitch.hpp"
#include "heyes/dns/resolver.hpp"
#include "heyes/error.hpp"
#include "heyes/select/policy.hpp"
#include "inputs.hpp"
#include "json_string.hpp"

namespace heyes_connect {
namespace {

// The version of the --json objects: raised when a field changes meaning or goes.
constexpr int kJsonSchema = 1;

double ms(std::chrono::microseconds t) { return static_cast<double>(t.count()) / 1000.0; }

using heyes::tool::json_string;

std::string json_number(double v) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.3f", v);
  return buf;
}

// "{"schema":1,"type":TYPE" — the opening of every object; the caller closes it.
std::string json_open(std::string_view type) {
  return "{\"schema\":" + std::to_string(kJsonSchema) + ",\"type\":" + json_string(type);
}

void print_line(std::FILE* f, const std::string& line) {
  std::fprintf(f, "%s\n", line.c_str());
  std::fflush(f);
}

// A stable machine name for an error: heyes::errc's enumerator, the errno
// name of a system error (ECONNREFUSED), else "category:value".
std::string error_code_name(std::error_code ec) {
  if (ec.category() == heyes::category()) return heyes::errc_name(static_cast<heyes::errc>(ec.value()));
  if (ec.category() == asio::system_category() || ec.category() == std::system_category() ||
      ec.category() == std::generic_category()) {
    if (const char* name = strerrorname_np(ec.value())) return name;
  }
  return std::string(ec.category().name()) + ":" + std::to_string(ec.value());
}

// ",\"error\":TEXT,\"error_code\":NAME", null for no error.
std::string json_error(std::error_code ec) {
  if (!ec) return ",\"error\":null,\"error_code\":null";
  return ",\"error\":" + json_string(ec.message()) + ",\"error_code\":" + json_string(error_code_name(ec));
}

// "    250.3 ms  attempt_start ipv4 127.0.0.1  attempt 2 ...".
std::string text_event(const heyes::TraceEvent& e) {
  std::string line = e.type;
  if (e.family) line += " " + std::string(heyes::to_string(*e.family));
  if (e.address) line += " " + e.address->to_string();
  if (!e.detail.empty()) line += "  " + e.detail;
  char t[32];
  std::snprintf(t, sizeof t, "%9.1f ms  ", ms(e.t));
  return t + line;
}

// A string, or null when empty.
std::string json_string_or_null(std::string_view s) { return s.empty() ? "null" : json_string(s); }

bool is_dns_outcome(const heyes::TraceEvent& e) {
  return e.type == heyes::event::dns_answer || e.type == heyes::event::dns_error;
}

// dns_answer and dns_error carry their source; an answer its addresses as
// an array, an error the rcode and server that gave it (or nulls).
std::string json_event(const heyes::TraceEvent& e) {
  std::string out = "{\"t_ms\":" + json_number(ms(e.t)) + ",\"type\":" + json_string(e.type);
  if (e.family) out += ",\"family\":" + json_string(heyes::to_string(*e.family));
  if (e.address) out += ",\"address\":" + json_string(e.address->to_string());
  if (is_dns_outcome(e)) out += ",\"source\":" + json_string_or_null(e.source);
  if (e.type == heyes::event::dns_answer) {
    out += ",\"addresses\":[";
    for (std::size_t i = 0; i < e.addresses.size(); ++i) out += (i ? "," : "") + json_string(e.addresses[i].to_string());
    out += "]";
  }
  if (e.type == heyes::event::dns_error)
    out += ",\"rcode\":" + json_string_or_null(e.rcode) + ",\"server\":" + json_string_or_null(e.server);
  if (!e.detail.empty()) out += ",\"detail\":" + json_string(e.detail);
  return out + "}";
}

// The last dns_error event that names a server's response code, if any.
const heyes::TraceEvent* last_rcode(const heyes::DialResult& r) {
  const auto& events = r.trace.events();
  for (auto it = events.rbegin(); it != events.rend(); ++it)
    if (it->type == heyes::event::dns_error && !it->rcode.empty()) return &*it;
  return nullptr;
}

// The verdict: connected on stdout, a failure and each address's cause on stderr.
void print_text(std::error_code ec, const heyes::DialResult& r) {
  if (!ec) {
    std::printf("connected to %s port %u in %.0f ms\n", r.endpoint.address().to_string().c_str(),
                static_cast<unsigned>(r.endpoint.port()), ms(r.elapsed));
    std::fflush(stdout);
    return;
  }
  // No attempt was made: DNS is the cause, and the server's rcode says how.
  std::string why = ec.message();
  if (const auto* e = last_rcode(r); e && r.failures.empty()) why += ": " + e->rcode + " from " + e->server;
  std::fprintf(stderr, "heyes-connect: error: %s (after %.0f ms)\n", why.c_str(), ms(r.elapsed));
  for (const auto& f : r.failures)
    std::fprintf(stderr, "heyes-connect:   %s: %s\n", f.address.to_string().c_str(), f.error.message().c_str());
}

// The result object of one dial (its events were streamed before it).
void print_json(const DialLoop& loop, int index, std::error_code ec, const heyes::DialResult& r) {
  std::string out = json_open("result") + ",\"dial\":" + std::to_string(index + 1) +
                    ",\"host\":" + json_string(loop.host) + ",\"service\":" + json_string(loop.port) +
                    ",\"ok\":" + (ec ? "false" : "true");
  if (!ec) {
    auto family = r.endpoint.address().is_v6() ? heyes::Family::v6 : heyes::Family::v4;
    out += ",\"address\":" + json_string(r.endpoint.address().to_string()) +
           ",\"port\":" + std::to_string(r.endpoint.port()) + ",\"family\":" + json_string(heyes::to_string(family));
  } else {
    out += ",\"address\":null,\"port\":null,\"family\":null";
  }
  const auto* rcode = last_rcode(r);
  out += ",\"elapsed_ms\":" + json_number(ms(r.elapsed)) + json_error(ec) +
         ",\"rcode\":" + (rcode ? json_string(rcode->rcode) : "null") + ",\"failures\":[";
  for (std::size_t i = 0; i < r.failures.size(); ++i) {
    out += (i ? ",{\"address\":" : "{\"address\":") + json_string(r.failures[i].address.to_string()) +
           json_error(r.failures[i].error) + "}";
  }
  out += "],\"events\":[";
  for (std::size_t i = 0; i < r.trace.events().size(); ++i) out += (i ? "," : "") + json_event(r.trace.events()[i]);
  print_line(stdout, out + "]}");
}

// The line or object that closes an interrupted run.
void print_interrupted(const DialLoop& loop, int index) {
  const char* name = loop.signal == SIGINT ? "SIGINT" : "SIGTERM";
  if (loop.settings.quiet) return;
  if (loop.settings.json) {
    print_line(stdout, json_open("interrupted") + ",\"dial\":" + std::to_string(index + 1) +
                           ",\"signal\":" + json_string(name) + ",\"exit_status\":" +
                           std::to_string(128 + loop.signal) + "}");
  } else {
    std::fprintf(stderr, "heyes-connect: interrupted by %s\n", name);
  }
}

// Each event as it happens, on the dial's strand (one thread runs ioc).
heyes::EventCallback stream_events(const DialLoop* loop, int index) {
  if (loop->settings.quiet) return {};  // nothing formatted at all
  if (loop->settings.json) {
    return [index](const heyes::TraceEvent& e) {
      print_line(stdout, json_open("event") + ",\"dial\":" + std::to_string(index + 1) + ",\"event\":" +
                             json_event(e) + "}");
    };
  }
  return [](const heyes::TraceEvent& e) { print_line(stdout, text_event(e)); };
}

heyes::DialerOptions dialer_options(const Options& o) {
  if (o.dial.resolv_conf) check_readable(*o.dial.resolv_conf, "--resolv-conf");
  if (o.dial.hosts) check_readable(*o.dial.hosts, "--hosts");
  if (o.dial.nsswitch_conf) check_readable(*o.dial.nsswitch_conf, "--nsswitch-conf");
  heyes::DialerOptions d;
  if (o.dial.system_resolver) d.name_resolver = heyes::system_name_resolver();
  // The defaults may be missing (glibc's defaults apply then); every file's warnings are shown once.
  auto conf = heyes::dns::load_resolv_conf(o.dial.resolv_conf.value_or("/etc/resolv.conf"));
  print_warnings(conf.warnings);
  auto hosts = heyes::dns::load_hosts(o.dial.hosts.value_or("/etc/hosts"));
  print_warnings(hosts.warnings);
  auto sources = heyes::dns::load_nsswitch_hosts(o.dial.nsswitch_conf.value_or("/etc/nsswitch.conf"));
  print_warnings(sources.warnings);
  d.resolver.config = std::move(conf.value);
  d.resolver.hosts = std::move(hosts.value);
  d.resolver.sources = std::move(sources.value);
  if (!o.dial.nameservers.empty()) d.resolver.config.nameservers = o.dial.nameservers;
  d.policy = std::make_shared<const heyes::PolicyTable>(policy_of(o));
  d.history = o.dial.history;
  if (o.dial.history_file) {
    d.history_file = *o.dial.history_file == "default" ? heyes::race::default_history_file() : *o.dial.history_file;
    if (d.history_file.empty())
      throw UsageError("option '--history-file': 'default' needs XDG_CACHE_HOME or HOME (an absolute path)");
    // A history file that cannot be used is ignored (and rewritten): say so, once.
    d.history_file_diagnostics = [](const heyes::Diagnostic& w) {
      std::fprintf(stderr, "heyes-connect: history: %s\n", w.to_string().c_str());
    };
  }
  return d;
}

void start_dial(const std::shared_ptr<DialLoop>& loop, int index);

// One dial's end: its result, then the next dial, or the end of the run.
void dialed(const std::shared_ptr<DialLoop>& loop, int index, std::error_code ec, const heyes::DialResult& r) {
  if (!loop->settings.quiet) {
    if (loop->settings.json) print_json(*loop, index, ec, r);
    else print_text(ec, r);
  }
  loop->failed += ec ? 1 : 0;
  if (loop->observe) loop->observe(index, ec, r);
  if (loop->signal) {
    print_interrupted(*loop, index);
    return loop->done();
  }
  start_dial(loop, index + 1);
}

void start_dial(const std::shared_ptr<DialLoop>& loop, int index) {
  DialLoop& l = *loop;
  if (index == l.settings.repeat) return l.done();
  if (l.settings.repeat > 1 && !l.settings.json && !l.settings.quiet) {
    std::printf("%sdial %d of %d: %s %s\n", index ? "\n" : "", index + 1, l.settings.repeat, l.host.c_str(),
                l.port.c_str());
  }
  heyes::DialOptions options = l.options;
  options.on_event = stream_events(&l, index);
  l.dialer.async_dial_result(l.ioc.get_executor(), l.host, l.port, std::move(options),
                             asio::bind_cancellation_slot(l.cancel.slot(),
                                                          [loop, index](std::error_code ec, heyes::DialResult r) {
                                                            dialed(loop, index, ec, r);
                                                          }));
}

}  // namespace

void print_json_error(std::string_view code, std::string_view message) {
  print_line(stdout, json_open("error") + ",\"error_code\":" + json_string(code) + ",\"error\":" +
                         json_string(message) + "}");
}

heyes::DialOptions dial_options(const Options& o) {
  heyes::DialOptions d;
  if (o.dial.attempt_delay_ms) {
    // An explicit delay is what the user wants to see, not one from history.
    d.attempt_delay = std::chrono::milliseconds(*o.dial.attempt_delay_ms);
    d.attempt_delay_policy = heyes::AttemptDelayPolicy::fixed();
  }
  if (o.dial.resolution_delay_ms) d.resolution_delay = std::chrono::milliseconds(*o.dial.resolution_delay_ms);
  if (o.dial.timeout_ms) d.timeout = std::chrono::milliseconds(*o.dial.timeout_ms);
  if (o.dial.attempt_timeout_ms) d.attempt_timeout = std::chrono::milliseconds(*o.dial.attempt_timeout_ms);
  if (o.dial.delay_policy) d.attempt_delay_policy = *o.dial.delay_policy;
  d.first_family_count = o.family_count;
  if (o.dial.family == 4) d.family = heyes::FamilyRestriction::v4;
  if (o.dial.family == 6) d.family = heyes::FamilyRestriction::v6;
  d.use_history = o.dial.history;
  d.addrconfig = o.dial.addrconfig;
  d.nat64 = o.dial.nat64;
  d.keep_trace = true;  // the result object's events
  return d;
}

// A signal cancels the dial in flight (on ioc's one thread, where its
// handler runs); that dial's handler prints the end.
int run_dial_loop(const std::shared_ptr<DialLoop>& loop) {
  asio::signal_set signals(loop->ioc, SIGINT, SIGTERM);
  signals.async_wait([loop](std::error_code ec, int signo) {
    if (ec) return;
    loop->signal = signo;
    loop->cancel.emit(asio::cancellation_type::terminal);
  });
  start_dial(loop, 0);
  loop->ioc.run();
  return loop->signal ? 128 + loop->signal : 0;
}

int run_dial(const Options& options) {
  // Bad input is exit status 2, before anything is sent.
  std::error_code ec;
  heyes::resolve_service(options.port, ec);
  if (ec) throw UsageError("PORT " + quote(options.port) + ": not a port number or a known service name");
  if (!heyes::IpAddress::parse_numeric_host(options.host) && heyes::dns::validate_host_name(options.host)) {
    throw UsageError("HOST " + quote(options.host) + ": not an address nor a valid host name");
  }
  heyes::Dialer dialer(dialer_options(options));
  asio::io_context ioc;
  heyes::DialOptions d = dial_options(options);
  // --resolve: the last one for this HOST and PORT (curl's rule: the name without regard to case).
  const std::uint16_t port = heyes::resolve_service(options.port, ec);
  for (const auto& r : options.dial.resolve) {
    if (r.port == port && std::equal(r.host.begin(), r.host.end(), options.host.begin(), options.host.end(),
                                     [](char a, char b) { return std::tolower(static_cast<unsigned char>(a)) ==
                                                                 std::tolower(static_cast<unsigned char>(b)); }))
      d.addresses = r.addresses;
  }
  auto loop = std::make_shared<DialLoop>(ioc, dialer, options.host, options.port, std::move(d), options.dial);
  // The last dial's lookup may linger to fill the cache: not worth waiting for.
  loop->done = [&] { ioc.stop(); };
  if (int interrupted = run_dial_loop(loop)) return interrupted;
  return loop->failed ? 1 : 0;
}

}  // namespace heyes_connect
