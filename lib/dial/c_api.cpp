// SPDX-License-Identifier: MIT
// The C API (heyes/heyes.h): heyes_dial on the C++ Dialer, error codes, cancel tokens; no exception crosses it.
#include "heyes/heyes.h"

#include <asio/bind_cancellation_slot.hpp>
#include <asio/cancellation_signal.hpp>
#include <asio/error.hpp>
#include <asio/io_context.hpp>
#include <asio/post.hpp>

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <memory>
#include <mutex>
#include <new>
#include <optional>
#include <string>
#include <vector>

#include "../common/exception_error.hpp"
#include "../common/lru_map.hpp"
#include "heyes/dial.hpp"
#include "heyes/dial/dialer_options.hpp"
#include "heyes/select/policy.hpp"

// A cancel token: sticky once cancelled; wakes every dial registered on it.
struct heyes_cancel_token {
  struct Dial {
    asio::io_context* ctx;
    asio::cancellation_signal* signal;
  };
  std::mutex mutex;
  bool cancelled = false;
  std::vector<Dial*> dials;  // the dials in progress with this token
};

namespace heyes {
namespace {

// ---- Error codes --------------------------------------------------------

// The one table of the C codes: what each one stands for. A heyes::errc code
// takes that category's message, a system code strerror's; the C API's own
// codes have their text here.
struct Code {
  heyes_error code;
  int errc_value;  // a heyes::errc, or 0
  int errno_value;  // the (first) errno it stands for, or 0
  const char* text;  // the C API's own codes only
};

constexpr Code kCodes[] = {
    {HEYES_ERR_NO_ADDRESS, static_cast<int>(errc::no_address), 0, nullptr},
    {HEYES_ERR_ALL_ATTEMPTS_FAILED, static_cast<int>(errc::all_attempts_failed), 0, nullptr},
    {HEYES_ERR_TIMED_OUT, static_cast<int>(errc::timed_out), 0, nullptr},
    {HEYES_ERR_BAD_HOST_NAME, static_cast<int>(errc::bad_host_name), 0, nullptr},
    {HEYES_ERR_BAD_SERVICE, static_cast<int>(errc::bad_service), 0, nullptr},
    {HEYES_ERR_HOST_NOT_FOUND, static_cast<int>(errc::host_not_found), 0, nullptr},
    {HEYES_ERR_NO_DATA, static_cast<int>(errc::no_data), 0, nullptr},
    {HEYES_ERR_DNS_SERVER_FAILURE, static_cast<int>(errc::dns_server_failure), 0, nullptr},
    {HEYES_ERR_DNS_TIMEOUT, static_cast<int>(errc::dns_timeout), 0, nullptr},
    {HEYES_ERR_DNS_BAD_RESPONSE, static_cast<int>(errc::dns_bad_response), 0, nullptr},
    {HEYES_ERR_FAMILY_UNAVAILABLE, static_cast<int>(errc::family_unavailable), 0, nullptr},
    {HEYES_ERR_PARSE, static_cast<int>(errc::parse_error), 0, nullptr},
    {HEYES_ERR_ATTEMPT_ABANDONED, static_cast<int>(errc::attempt_abandoned), 0, nullptr},
    {HEYES_ERR_ATTEMPT_TIMED_OUT, static_cast<int>(errc::attempt_timed_out), 0, nullptr},
    {HEYES_ERR_NAME_SERVICE, static_cast<int>(errc::name_service_failure), 0, nullptr},
    {HEYES_ERR_CANCELLED, 0, ECANCELED, "dial cancelled"},
    {HEYES_ERR_INVALID_ARGUMENT, 0, 0, "invalid argument"},
    {HEYES_ERR_BAD_NAMESERVER, 0, 0, "invalid nameserver (expected ADDR, ADDR:PORT or [V6]:PORT)"},
    {HEYES_ERR_BAD_LOCAL_ADDRESS, 0, 0, "invalid local address"},
    {HEYES_ERR_POLICY_FILE, 0, 0, "policy file cannot be read or parsed"},
    {HEYES_ERR_OUT_OF_MEMORY, 0, ENOMEM, "out of memory"},
    {HEYES_ERR_INTERNAL, static_cast<int>(errc::internal_error), 0, nullptr},
    {HEYES_ERR_CONNECTION_REFUSED, 0, ECONNREFUSED, nullptr},
    {HEYES_ERR_NETWORK_UNREACHABLE, 0, ENETUNREACH, nullptr},
    {HEYES_ERR_HOST_UNREACHABLE, 0, EHOSTUNREACH, nullptr},
    {HEYES_ERR_CONNECT_TIMED_OUT, 0, ETIMEDOUT, nullptr},
    {HEYES_ERR_ADDRESS_IN_USE, 0, EADDRINUSE, nullptr},
    {HEYES_ERR_ADDRESS_NOT_AVAILABLE, 0, EADDRNOTAVAIL, nullptr},
    {HEYES_ERR_PERMISSION_DENIED, 0, EACCES, nullptr},
    {HEYES_ERR_TOO_MANY_FILES, 0, EMFILE, nullptr},
    {HEYES_ERR_SYSTEM, 0, 0, "system error"},
};

// errnos that share a code with the errno in the table.
int canonical_errno(int e) {
  switch (e) {
    case EPERM: return EACCES;
    case ENFILE: return EMFILE;
    default: return e;
  }
}

heyes_error code_of_errno(int e) {
  e = canonical_errno(e);
  for (const Code& c : kCodes)
    if (c.errc_value == 0 && c.errno_value == e) return c.code;
  return HEYES_ERR_SYSTEM;
}

// An errno: the standard library's categories, or asio's own system
// category (what socket errors carry).
bool is_system(const std::error_code& ec) {
  const auto& c = ec.category();
  return ec && (c == std::system_category() || c == std::generic_category() || c == asio::error::get_system_category());
}

heyes_error code_of(const std::error_code& ec) {
  if (!ec) return HEYES_OK;
  if (ec == asio::error::operation_aborted || ec == std::errc::operation_canceled) return HEYES_ERR_CANCELLED;
  if (ec.category() == category()) {
    for (const Code& c : kCodes)
      if (c.errc_value == ec.value()) return c.code;
    return HEYES_ERR_INTERNAL;
  }
  if (is_system(ec)) return code_of_errno(ec.value());
  return HEYES_ERR_INTERNAL;
}


// The texts, made once from their homes (the heyes category, strerror).
const std::vector<std::pair<int, std::string>>& code_texts() {
  static const std::vector<std::pair<int, std::string>> texts = [] {
    std::vector<std::pair<int, std::string>> t;
    t.emplace_back(HEYES_OK, "success");
    for (const Code& c : kCodes) {
      if (c.text) t.emplace_back(c.code, c.text);
      else if (c.errc_value) t.emplace_back(c.code, category().message(c.errc_value));
      else t.emplace_back(c.code, std::system_category().message(c.errno_value));
    }
    return t;
  }();
  return texts;
}

// ---- The Dialers ----------------------------------------------------------

// One Dialer per distinct nameserver list (the default Dialer for none), so
// each list keeps its own cache and server health; at most kDialers lists,
// the least recently used forgotten. Never destroyed: dials may run while
// the process exits.
constexpr std::size_t kDialers = 8;

struct Dialers {
  std::mutex mutex;
  common::detail::LruMap<std::string, std::shared_ptr<Dialer>> by_nameservers{kDialers};
};

std::shared_ptr<Dialer> dialer_for(const std::vector<dns::Nameserver>& nameservers) {
  static Dialers* dialers = new Dialers;
  std::string key;
  for (const auto& n : nameservers) key += n.to_string() + ' ';
  std::lock_guard lock(dialers->mutex);
  if (auto* found = dialers->by_nameservers.find(key)) return *found;
  // As heyes-connect --nameserver: resolv.conf's other settings and the
  // hosts file stay; only the servers are replaced.
  DialerOptions config = DialerOptions::from_system();
  config.resolver.config.nameservers = nameservers;
  auto dialer = std::make_shared<Dialer>(std::move(config));
  dialers->by_nameservers.insert_or_assign(key, dialer);
  return dialer;
}

// ---- One dial ---------------------------------------------------------------

// A failure before or after the C++ dial: the code and a line for humans.
struct Failure {
  heyes_error code;
  std::string detail;
};

void set_detail(heyes_result& r, const std::string& text) {
  std::snprintf(r.detail, sizeof r.detail, "%s", text.c_str());
}

// The options of one dial, from the C struct; nullopt filled in *failure.
struct Request {
  DialOptions options;
  std::vector<dns::Nameserver> nameservers;
};

std::optional<Request> make_request(const heyes_options& o, Failure& failure) {
  Request req;
  DialOptions& d = req.options;
  d.keep_trace = false;  // the C result has no timeline
  d.timeout = std::chrono::milliseconds(o.timeout_ms);
  if (o.attempt_delay_ms != 0) d.attempt_delay = std::chrono::milliseconds(o.attempt_delay_ms);
  switch (o.family) {
    case HEYES_FAMILY_ANY: d.family = FamilyRestriction::any; break;
    case HEYES_FAMILY_V4: d.family = FamilyRestriction::v4; break;
    case HEYES_FAMILY_V6: d.family = FamilyRestriction::v6; break;
    default: failure = {HEYES_ERR_INVALID_ARGUMENT, "family: " + std::to_string(o.family)}; return std::nullopt;
  }
  if (o.nameserver_count > 0 && o.nameservers == nullptr) {
    failure = {HEYES_ERR_INVALID_ARGUMENT, "nameservers: null with a count"};
    return std::nullopt;
  }
  for (std::size_t i = 0; i < o.nameserver_count; ++i) {
    const char* text = o.nameservers[i];
    auto ns = text ? dns::Nameserver::parse(text) : std::nullopt;
    if (!ns) {
      failure = {HEYES_ERR_BAD_NAMESERVER, "nameserver '" + std::string(text ? text : "(null)") +
                                               "': expected ADDR, ADDR:PORT or [V6]:PORT"};
      return std::nullopt;
    }
    req.nameservers.push_back(*ns);
  }
  if (o.local_address) {
    d.local_address = IpAddress::parse(o.local_address);
    if (!d.local_address) {
      failure = {HEYES_ERR_BAD_LOCAL_ADDRESS, "local address '" + std::string(o.local_address) + "'"};
      return std::nullopt;
    }
  }
  if (o.policy_file) {
    try {
      d.policy = std::make_shared<const PolicyTable>(load_policy(o.policy_file, ParseMode::strict).value);
    } catch (const ParseError& e) {
      failure = {HEYES_ERR_POLICY_FILE, e.what()};
      return std::nullopt;
    }
  }
  return req;
}

// A dial registered on its cancel token for as long as it runs.
class Registration {
 public:
  Registration(heyes_cancel_token* token, asio::io_context& ctx, asio::cancellation_signal& signal)
      : token_(token), dial_{&ctx, &signal} {
    if (!token_) return;
    std::lock_guard lock(token_->mutex);
    if (token_->cancelled) {
      cancelled_ = true;
      token_ = nullptr;
      return;
    }
    token_->dials.push_back(&dial_);
  }
  ~Registration() {
    if (!token_) return;
    std::lock_guard lock(token_->mutex);
    std::erase(token_->dials, &dial_);
  }
  Registration(const Registration&) = delete;
  Registration& operator=(const Registration&) = delete;

  bool cancelled() const noexcept { return cancelled_; }

 private:
  heyes_cancel_token* token_;
  heyes_cancel_token::Dial dial_;
  bool cancelled_ = false;
};

// The per-address causes, for humans: "every connection attempt failed: 127.0.0.1: Connection refused".
std::string describe(const std::error_code& ec, const std::vector<AttemptFailure>& failures) {
  std::string text = ec.message();
  for (std::size_t i = 0; i < failures.size(); ++i)
    text += (i == 0 ? ": " : ", ") + failures[i].address.to_string() + ": " + failures[i].error.message();
  return text;
}

// The connected socket of a dial as a blocking descriptor (-1 and ec on failure).
int take_fd(asio::ip::tcp::socket& socket, std::error_code& ec) {
  int fd = socket.release(ec);
  if (ec) return -1;
  int flags = ::fcntl(fd, F_GETFL);
  if (flags < 0 || ::fcntl(fd, F_SETFL, flags & ~O_NONBLOCK) < 0 || ::fcntl(fd, F_SETFD, FD_CLOEXEC) < 0) {
    ec.assign(errno, std::system_category());
    ::close(fd);
    return -1;
  }
  return fd;
}

// The winner (or the failure) into r.
void fill(heyes_result& r, const std::error_code& ec, const DialResult& d) {
  r.elapsed_us = d.elapsed.count();
  r.failed_attempts = static_cast<unsigned>(d.failures.size());
  r.error = code_of(ec);
  r.cause = r.error;
  const std::error_code* cause = &ec;
  if (r.error == HEYES_ERR_ALL_ATTEMPTS_FAILED || r.error == HEYES_ERR_TIMED_OUT) {
    cause = d.failures.empty() ? nullptr : &d.failures.back().error;
    r.cause = cause ? code_of(*cause) : 0;
  }
  if (r.error != HEYES_ERR_CANCELLED && is_system(ec)) r.sys_errno = ec.value();
  else if (cause && cause != &ec && is_system(*cause)) r.sys_errno = cause->value();
  if (ec) {
    set_detail(r, describe(ec, d.failures));
    return;
  }
  std::snprintf(r.address, sizeof r.address, "%s", d.endpoint.address().to_string().c_str());
  r.port = d.endpoint.port();
  std::memcpy(&r.sockaddr, d.endpoint.data(), d.endpoint.size());
  r.sockaddr_len = static_cast<socklen_t>(d.endpoint.size());
}

int dial_c(const char* host, const char* service, const heyes_options& o, heyes_result& r) {
  auto start = std::chrono::steady_clock::now();
  auto fail = [&](Failure f) {
    r.error = r.cause = f.code;
    set_detail(r, f.detail);
    r.elapsed_us = std::chrono::duration_cast<std::chrono::microseconds>(std::chrono::steady_clock::now() - start)
                       .count();
    return -1;
  };
  if (!host || !service) return fail({HEYES_ERR_INVALID_ARGUMENT, "host and service must not be null"});
  Failure failure{};
  std::optional<Request> req = make_request(o, failure);
  if (!req) return fail(failure);
  std::shared_ptr<Dialer> dialer = req->nameservers.empty() ? nullptr : dialer_for(req->nameservers);

  // The dial runs on a private io_context in this thread. The signal outlives
  // the context (which may destroy a pending handler bound to its slot); the
  // registration ends first, so heyes_cancel never reaches a context gone.
  asio::cancellation_signal signal;
  asio::io_context ctx;
  Registration registration(o.cancel, ctx, signal);
  if (registration.cancelled()) return fail({HEYES_ERR_CANCELLED, "cancelled before the dial started"});
  std::error_code ec;
  std::optional<DialResult> out;
  auto handler = asio::bind_cancellation_slot(signal.slot(), [&](std::error_code e, DialResult d) {
    ec = e;
    out.emplace(std::move(d));
  });
  Dialer& d = dialer ? *dialer : Dialer::default_dialer();
  d.async_dial_result(ctx.get_executor(), host, service, std::move(req->options), std::move(handler));
  // Bounded: the dial always completes; only heyes_cancel's fallback (a
  // stopped context) ends the loop without it.
  while (!out && ctx.run_one() > 0) {
  }
  if (!out) return fail({HEYES_ERR_CANCELLED, "cancelled"});
  int fd = -1;
  if (!ec) fd = take_fd(out->socket, ec);
  fill(r, ec, *out);
  return ec ? -1 : fd;
}

// Copies the caller's options (size bytes of them) into o; false when the
// size is impossible or a field unknown to this version is set.
bool read_options(const heyes_options* in, heyes_options& o) {
  o = heyes_options{};
  if (!in) return true;
  std::size_t size = in->size == 0 ? sizeof(heyes_options) : in->size;
  if (size < sizeof(heyes_options)) return false;
  std::memcpy(&o, in, sizeof o);
  const auto* bytes = reinterpret_cast<const unsigned char*>(in);
  return std::all_of(bytes + sizeof o, bytes + size, [](unsigned char b) { return b == 0; });
}

}  // namespace
}  // namespace heyes

extern "C" {

void heyes_options_init(heyes_options* options) {
  if (!options) return;
  *options = heyes_options{};
  options->size = sizeof *options;
}

void heyes_result_init(heyes_result* result) {
  if (!result) return;
  *result = heyes_result{};
  result->size = sizeof *result;
}

int heyes_dial(const char* host, const char* service, const heyes_options* options, heyes_result* result) {
  heyes_result r{};
  int fd = -1;
  heyes_options o;
  bool result_fits = !result || result->size == 0 || result->size >= sizeof(heyes_result);
  if (!result_fits || !heyes::read_options(options, o)) {
    r.error = r.cause = HEYES_ERR_INVALID_ARGUMENT;
    std::snprintf(r.detail, sizeof r.detail, "heyes_options or heyes_result: a size or field this version does not know");
  } else {
    try {
      fd = heyes::dial_c(host, service, o, r);
    } catch (...) {  // std::bad_alloc: HEYES_ERR_OUT_OF_MEMORY; the unexpected: HEYES_ERR_INTERNAL
      r.error = r.cause = heyes::code_of(heyes::detail::error_from_current_exception());
    }
  }
  if (result) {
    // As much of the result as the caller's version has room for.
    std::size_t size = result->size == 0 ? sizeof(heyes_result) : result->size;
    r.size = result->size;
    std::memcpy(result, &r, std::min(size, sizeof r));
  }
  return fd;
}

const char* heyes_strerror(int code) {
  try {
    for (const auto& [c, text] : heyes::code_texts())
      if (c == code) return text.c_str();
  } catch (...) {
    return "out of memory";
  }
  return "unknown heyes error";
}

heyes_cancel_token* heyes_cancel_token_new(void) { return new (std::nothrow) heyes_cancel_token; }

void heyes_cancel(heyes_cancel_token* token) {
  if (!token) return;
  std::lock_guard lock(token->mutex);
  token->cancelled = true;
  for (heyes_cancel_token::Dial* d : token->dials) {
    // The signal is emitted where the dial's handler runs (asio's rule);
    // when even that post fails, stopping the context ends the dial.
    try {
      asio::post(*d->ctx, [signal = d->signal] { signal->emit(asio::cancellation_type::terminal); });
    } catch (...) {
      d->ctx->stop();
    }
  }
}

void heyes_cancel_token_free(heyes_cancel_token* token) { delete token; }

}  // extern "C"
