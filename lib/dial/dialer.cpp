// SPDX-License-Identifier: MIT
// Dialer (shared resolver, policy, history) and the blocking dial forms.
#include "common/asio.hpp"

#include <optional>

#include "common/file_stamp.hpp"
#include "dialer_state.hpp"
#include "heyes/dial/dialer_options.hpp"

namespace heyes {

DialError::DialError(std::error_code ec, const std::string& what, std::vector<AttemptFailure> failures,
                     Trace trace)
    : std::system_error(ec, what), failures_(std::move(failures)), trace_(std::move(trace)) {}

// The stamps are taken before the files are read: a change in between is
// seen at the first check.
DialerOptions DialerOptions::from_system(const SystemFiles& files) {
  DialerOptions o;
  auto origin = std::make_shared<detail::SystemOrigin>();
  origin->files = files;
  origin->resolv_stamp = detail::stamp_of(files.resolv_conf);
  origin->hosts_stamp = detail::stamp_of(files.hosts);
  origin->nsswitch_stamp = detail::stamp_of(files.nsswitch_conf);
  o.resolver = dns::ResolverOptions::from_system(files.resolv_conf, files.hosts, files.nsswitch_conf);
  origin->config = o.resolver.config;
  origin->hosts = o.resolver.hosts;
  origin->sources = o.resolver.sources;
  o.system_origin = std::move(origin);
  return o;  // policy stays null: the Dialer loads files.gai_conf
}

Dialer::Dialer() : Dialer(DialerOptions::from_system()) {}

namespace {

// Which files the Dialer follows: those whose values it still uses as they
// were read (a value the caller set or changed is not replaced).
detail::ConfigSnapshot first_snapshot(DialerOptions& options, detail::FollowedFiles& files,
                                      detail::SystemConfig::Stamps& stamps) {
  const detail::SystemOrigin* origin = options.system_origin.get();
  if (origin && options.resolver.config == origin->config) {
    files.resolv_conf = origin->files.resolv_conf;
    stamps.resolv_conf = origin->resolv_stamp;
  }
  if (origin && options.resolver.hosts.same_file_as(origin->hosts)) {
    files.hosts = origin->files.hosts;
    stamps.hosts = origin->hosts_stamp;
  }
  if (origin && options.resolver.sources == origin->sources) {
    files.nsswitch_conf = origin->files.nsswitch_conf;
    stamps.nsswitch_conf = origin->nsswitch_stamp;
  }
  detail::ConfigSnapshot first;
  if (options.policy) {
    first.policy = std::move(options.policy);
  } else {
    files.gai_conf = origin ? origin->files.gai_conf : SystemFiles{}.gai_conf;
    stamps.gai_conf = detail::stamp_of(files.gai_conf);
    first.policy = std::make_shared<const PolicyTable>(PolicyTable::system(nullptr, files.gai_conf));
  }
  first.nat64 = std::make_shared<detail::Nat64State>(options.nat64, options.resolver.config);
  first.resolver = dns::Resolver::create(std::move(options.resolver));
  return first;
}

}  // namespace

Dialer::Dialer(DialerOptions options) : state_(std::make_shared<detail::DialerState>(std::move(options.connectivity_probe))) {
  detail::FollowedFiles files;
  detail::SystemConfig::Stamps stamps;
  auto first = first_snapshot(options, files, stamps);
  state_->config = std::make_unique<detail::SystemConfig>(std::move(first), std::move(files), stamps, options.config_check_interval,
                                                          std::move(options.config_diagnostics), Clock::now(),
                                                          options.watch_network);
  state_->name_resolver = std::move(options.name_resolver);
  if (options.history) state_->history = std::make_unique<race::History>(options.history_options);
  // Loaded here, before any dial can read the history.
  if (state_->history && !options.history_file.empty())
    state_->history_file = std::make_unique<race::detail::HistoryFile>(
        std::move(options.history_file), *state_->history, std::move(options.history_file_diagnostics));
}

Dialer& Dialer::default_dialer() {
  static Dialer instance;
  return instance;
}

std::shared_ptr<dns::Resolver> Dialer::resolver() const { return state_->config->snapshot()->resolver; }
std::shared_ptr<const PolicyTable> Dialer::policy() const { return state_->config->snapshot()->policy; }

bool Dialer::reload() { return state_->config->reload().swapped; }
race::History* Dialer::history() const noexcept { return state_->history.get(); }

// The dial runs on a private io_context driven by this thread, so it works
// whoever runs ex (or nobody); the connected socket is then moved to ex.
DialResult Dialer::dial_result(const asio::any_io_executor& ex, std::string_view host, std::string_view service,
                               const DialOptions& options, std::error_code& ec) {
  asio::io_context ctx;
  std::optional<DialResult> out;
  async_dial_result(ctx.get_executor(), host, service, options, [&](asio_error_code e, DialResult r) {
    ec = flavour::to_std_error(e);
    out.emplace(std::move(r));
  });
  // Bounded: the dial always completes (every path ends in Finish); the
  // lookup lingering to fill the cache is dropped with ctx.
  while (!out && ctx.run_one() > 0) {
  }
  if (!out) {  // cannot happen: the operation always completes
    ec = flavour::operation_aborted();
    return DialResult{asio::ip::tcp::socket(ex)};
  }
  DialResult result{asio::ip::tcp::socket(ex)};
  result.endpoint = out->endpoint;
  result.trace = std::move(out->trace);
  result.failures = std::move(out->failures);
  result.elapsed = out->elapsed;
  if (!ec) {
    auto protocol = out->endpoint.protocol();
    asio_error_code aec;
    auto fd = out->socket.release(aec);
    if (!aec) result.socket.assign(protocol, fd, aec);
    ec = aec;
  }
  return result;
}

asio::ip::tcp::socket Dialer::dial(const asio::any_io_executor& ex, std::string_view host, std::string_view service,
                                   const DialOptions& options, std::error_code& ec) {
  return std::move(dial_result(ex, host, service, options, ec).socket);
}

asio::ip::tcp::socket Dialer::dial(const asio::any_io_executor& ex, std::string_view host, std::string_view service,
                                   const DialOptions& options) {
  std::error_code ec;
  DialResult r = dial_result(ex, host, service, options, ec);
  if (ec) {
    throw DialError(ec, "heyes::dial " + std::string(host) + " " + std::string(service), std::move(r.failures),
                    std::move(r.trace));
  }
  return std::move(r.socket);
}

asio::ip::tcp::socket dial(const asio::any_io_executor& ex, std::string_view host, std::string_view service,
                           const DialOptions& options) {
  return Dialer::default_dialer().dial(ex, host, service, options);
}

asio::ip::tcp::socket dial(asio::io_context& ioc, std::string_view host, std::string_view service,
                           const DialOptions& options) {
  return Dialer::default_dialer().dial(ioc.get_executor(), host, service, options);
}

asio::ip::tcp::socket dial(const asio::any_io_executor& ex, std::string_view host, std::string_view service,
                           const DialOptions& options, std::error_code& ec) {
  return Dialer::default_dialer().dial(ex, host, service, options, ec);
}

asio::ip::tcp::socket dial(asio::io_context& ioc, std::string_view host, std::string_view service,
                           const DialOptions& options, std::error_code& ec) {
  return Dialer::default_dialer().dial(ioc.get_executor(), host, service, options, ec);
}

}  // namespace heyes
