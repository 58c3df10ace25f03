// SPDX-License-Identifier: MIT
// heyes-connect dial mode: dial, print the timeline or JSON; written on the public API only.
#include "dial_mode.hpp"

#include <cstdio>
#include <filesystem>

#include "heyes/dial/dialer_options.hpp"
#include "heyes/dns/resolver.hpp"
#include "heyes/select/policy.hpp"

namespace heyes_connect {
namespace {

double ms(std::chrono::microseconds t) { return static_cast<double>(t.count()) / 1000.0; }

std::string json_string(std::string_view s) {
  std::string out = "\"";
  for (unsigned char c : s) {
    if (c == '"' || c == '\\') {
      out += '\\';
      out += static_cast<char>(c);
    } else if (c < 0x20 || c == 0x7f) {
      char buf[8];
      std::snprintf(buf, sizeof buf, "\\u%04x", c);
      out += buf;
    } else {
      out += static_cast<char>(c);  // UTF-8 passes through; heyes' own text is ASCII
    }
  }
  return out + "\"";
}

std::string json_number(double v) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.3f", v);
  return buf;
}

// One line per event: "    250.3 ms  attempt_start ipv4 127.0.0.1  attempt 2 ...".
void print_text(std::error_code ec, const heyes::DialResult& r) {
  for (const auto& e : r.trace.events()) {
    std::string line = e.type;
    if (e.family) line += " " + std::string(heyes::to_string(*e.family));
    if (e.address) line += " " + e.address->to_string();
    if (!e.detail.empty()) line += "  " + e.detail;
    std::printf("%9.1f ms  %s\n", ms(e.t), line.c_str());
  }
  if (!ec) {
    std::printf("connected to %s port %u in %.0f ms\n", r.endpoint.address().to_string().c_str(),
                static_cast<unsigned>(r.endpoint.port()), ms(r.elapsed));
  } else {
    std::printf("error: %s (after %.0f ms)\n", ec.message().c_str(), ms(r.elapsed));
    for (const auto& f : r.failures) {
      std::printf("  %s: %s\n", f.address.to_string().c_str(), f.error.message().c_str());
    }
  }
  std::fflush(stdout);
}

std::string json_event(const heyes::TraceEvent& e) {
  std::string out = "{\"t_ms\":" + json_number(ms(e.t)) + ",\"type\":" + json_string(e.type);
  if (e.family) out += ",\"family\":" + json_string(heyes::to_string(*e.family));
  if (e.address) out += ",\"address\":" + json_string(e.address->to_string());
  if (!e.detail.empty()) out += ",\"detail\":" + json_string(e.detail);
  return out + "}";
}

// One object per dial, on one line.
void print_json(std::error_code ec, const heyes::DialResult& r) {
  std::string out = "{\"ok\":" + std::string(ec ? "false" : "true");
  if (!ec) {
    auto family = r.endpoint.address().is_v6() ? heyes::Family::v6 : heyes::Family::v4;
    out += ",\"address\":" + json_string(r.endpoint.address().to_string()) +
           ",\"port\":" + std::to_string(r.endpoint.port()) + ",\"family\":" + json_string(heyes::to_string(family));
  } else {
    out += ",\"address\":null,\"port\":null,\"family\":null";
  }
  out += ",\"elapsed_ms\":" + json_number(ms(r.elapsed));
  out += ",\"error\":" + (ec ? json_string(ec.message()) : std::string("null"));
  out += ",\"failures\":[";
  for (std::size_t i = 0; i < r.failures.size(); ++i) {
    out += (i ? ",{\"address\":" : "{\"address\":") + json_string(r.failures[i].address.to_string()) +
           ",\"error\":" + json_string(r.failures[i].error.message()) + "}";
  }
  out += "],\"events\":[";
  for (std::size_t i = 0; i < r.trace.events().size(); ++i) {
    out += (i ? "," : "") + json_event(r.trace.events()[i]);
  }
  std::printf("%s]}\n", out.c_str());
  std::fflush(stdout);
}

// A file named on the command line must exist (the defaults may be missing:
// glibc's defaults apply then).
void check_readable(const std::optional<std::string>& file, const char* option) {
  std::error_code ec;
  if (file && (!std::filesystem::exists(*file, ec) || std::filesystem::is_directory(*file, ec))) {
    throw UsageError(std::string("option '") + option + "': cannot read " + quote(*file));
  }
}

heyes::DialerOptions dialer_options(const Options& o) {
  check_readable(o.dial.resolv_conf, "--resolv-conf");
  check_readable(o.dial.hosts, "--hosts");
  heyes::DialerOptions d;
  d.resolver = heyes::dns::ResolverOptions::from_system(o.dial.resolv_conf.value_or("/etc/resolv.conf"),
                                                        o.dial.hosts.value_or("/etc/hosts"));
  if (!o.dial.nameservers.empty()) d.resolver.config.nameservers = o.dial.nameservers;
  d.policy = policy_of(o);
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

}  // namespace

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
  d.keep_trace = true;
  return d;
}

std::shared_ptr<const heyes::PolicyTable> policy_of(const Options& o) {
  if (!o.policy) return nullptr;  // the Dialer's: /etc/gai.conf or RFC 6724
  if (*o.policy == "none") return std::make_shared<const heyes::PolicyTable>(heyes::PolicyTable::rfc6724());
  return std::make_shared<const heyes::PolicyTable>(heyes::load_policy(*o.policy, heyes::ParseMode::strict).value);
}

void start_dial_loop(std::shared_ptr<DialLoop> loop, int index) {
  if (index == loop->repeat) return loop->done();
  DialLoop& l = *loop;
  l.dialer.async_dial_result(l.ioc.get_executor(), l.host, l.port, l.options,
                             [loop = std::move(loop), index](std::error_code ec, heyes::DialResult r) {
                               if (loop->json) print_json(ec, r);
                               else print_text(ec, r);
                               loop->observe(index, ec, r);
                               start_dial_loop(loop, index + 1);
                             });
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
  int failed = 0;
  auto loop = std::make_shared<DialLoop>(DialLoop{ioc, dialer, options.host, options.port, dial_options(options),
                                                  options.dial.repeat, options.dial.json, {}, {}});
  loop->observe = [&](int, std::error_code e, const heyes::DialResult&) { failed += e ? 1 : 0; };
  // The last dial's lookup may linger to fill the cache: not worth waiting for.
  loop->done = [&] { ioc.stop(); };
  start_dial_loop(loop);
  ioc.run();
  return failed ? 1 : 0;
}

}  // namespace heyes_connect
