// SPDX-License-Identifier: MIT
// SystemConfig: the followed files stat()ed at most once per interval, a changed one re-read, and the snapshot swapped.
#include "system_config.hpp"

#include <fmt/format.h>

#include <optional>

#include "common/read_file.hpp"
#include "dns/config_detail.hpp"

namespace heyes::detail {
namespace {

std::int64_t ticks(TimePoint t) { return t.time_since_epoch().count(); }

std::string describe(const dns::ResolverConfig& c) {
  std::string servers;
  for (const auto& n : c.nameservers) servers += (servers.empty() ? "" : " ") + n.to_string();
  std::string search;
  for (const auto& d : c.search) search += (search.empty() ? "" : " ") + d;
  return fmt::format("nameservers {}; search {}", servers, search.empty() ? "(none)" : search);
}

}  // namespace

SystemConfig::SystemConfig(ConfigSnapshot first, FollowedFiles files, Stamps stamps,
                           std::chrono::milliseconds interval, Diagnostics diagnostics, TimePoint now,
                           bool watch_network)
    : files_(std::move(files)),
      interval_(interval),
      diagnostics_(std::move(diagnostics)),
      next_check_(std::numeric_limits<std::int64_t>::max()),
      stamps_(stamps),
      snapshot_(std::make_shared<const ConfigSnapshot>(std::move(first))) {
  // The socket is opened (once per process) and drained here, so that only
  // changes after this Dialer was made count for it.
  if (watch_network && interval_.count() > 0) {
    network_ = &SharedNetworkWatch::process();
    if (network_->watching()) network_seen_ = network_->poll();
    else network_ = nullptr;
  }
  if (watching()) next_check_.store(ticks(now + interval_), std::memory_order_relaxed);
}

bool SystemConfig::watching() const noexcept {
  return interval_.count() > 0 &&
         (network_ != nullptr || !(files_.resolv_conf.empty() && files_.hosts.empty() && files_.gai_conf.empty() &&
                                   files_.nsswitch_conf.empty()));
}

void SystemConfig::check_soon() noexcept {
  if (watching()) next_check_.store(kNow, std::memory_order_relaxed);
}

std::shared_ptr<const ConfigSnapshot> SystemConfig::snapshot() const {
  std::lock_guard lock(snapshot_mutex_);
  return snapshot_;
}

// The hot path: nothing but the compare until a check is due. A dial that
// finds another thread checking does not wait: it takes the snapshot as it is.
SystemConfig::Current SystemConfig::current(TimePoint now) {
  Current out;
  const std::int64_t t = ticks(now);
  if (t >= next_check_.load(std::memory_order_relaxed)) {
    std::unique_lock lock(check_mutex_, std::try_to_lock);
    if (lock.owns_lock() && t >= next_check_.load(std::memory_order_relaxed)) {
      // Stored before the check, so a check_soon() during it is not lost.
      next_check_.store(ticks(now + interval_), std::memory_order_relaxed);
      if (network_ != nullptr) out.network_change = network_->changes_since(network_seen_);
      out.notes = check_locked(false).notes;
    }
  }
  out.snapshot = snapshot();
  return out;
}

SystemConfig::Checked SystemConfig::reload() {
  std::lock_guard lock(check_mutex_);
  return check_locked(true);
}

void SystemConfig::refuse(std::vector<std::string>& notes, Diagnostic d) const {
  d.message += "; the configuration read before is kept";
  notes.push_back(d.to_string());
  tell(d);
}

void SystemConfig::tell(const Diagnostic& d) const {
  if (!diagnostics_) return;
  try {
    diagnostics_(d);
  } catch (...) {
    // The caller's callback: a dial must not end because it threw.
  }
}

// Each followed file whose stamp changed (every one when forced) is read
// again. A file that cannot be read, or that the strict parser refuses,
// leaves its part of the configuration as it was (a missing gai.conf means
// the RFC 6724 table, as when the Dialer was made). Then, if anything was
// taken, one new snapshot: a new resolver (an empty cache) when resolv.conf,
// hosts or nsswitch.conf changed, new NAT64 state with new nameservers.
SystemConfig::Checked SystemConfig::check_locked(bool force) {
  Checked out;
  const auto old = snapshot();
  std::optional<dns::ResolverConfig> config;
  std::optional<dns::HostsTable> hosts;
  std::optional<dns::HostsSources> sources;
  std::shared_ptr<const PolicyTable> policy;

  auto changed = [&](const std::string& path, FileStamp& stamp) {
    if (path.empty()) return false;
    FileStamp now = stamp_of(path);
    if (!force && now == stamp) return false;
    stamp = now;  // a refused version is refused once, not at every check
    return true;
  };

  if (changed(files_.resolv_conf, stamps_.resolv_conf)) {
    const std::string& path = files_.resolv_conf;
    std::string error;
    if (auto text = read_config_file(path, error); !text) {
      refuse(out.notes, {path, 0, "changed but cannot be read (" + error + ")"});
    } else {
      try {
        auto parsed = dns::parse_resolv_conf(*text, path, ParseMode::strict);
        dns::detail::apply_process_environment(parsed.value, &parsed.warnings);
        for (const auto& w : parsed.warnings) tell(w);
        if (!(parsed.value == old->resolver->options().config)) {
          out.notes.push_back(path + " changed: re-read (" + describe(parsed.value) + ")");
          config = std::move(parsed.value);
        }
      } catch (const ParseError& e) {
        refuse(out.notes, e.diagnostic());
      }
    }
  }

  if (changed(files_.hosts, stamps_.hosts)) {
    if (!stamps_.hosts.exists) {
      refuse(out.notes, {files_.hosts, 0, "changed but cannot be read (gone)"});
    } else {
      hosts = dns::HostsTable::from_file(files_.hosts);  // read at its first lookup, as at the start
      out.notes.push_back(files_.hosts + " changed: re-read at the next lookup by name");
    }
  }

  if (changed(files_.nsswitch_conf, stamps_.nsswitch_conf)) {
    const std::string& path = files_.nsswitch_conf;
    try {
      // A removed file means glibc's default, as when the Dialer was made.
      auto parsed = dns::load_nsswitch_hosts(path, ParseMode::strict);
      if (!(parsed.value == old->resolver->options().sources)) {
        out.notes.push_back(path + " changed: re-read (hosts: " + parsed.value.to_string() + ")");
        sources = std::move(parsed.value);
      }
    } catch (const ParseError& e) {
      refuse(out.notes, e.diagnostic());
    }
  }

  if (changed(files_.gai_conf, stamps_.gai_conf)) {
    if (!stamps_.gai_conf.exists) {
      policy = std::make_shared<const PolicyTable>(PolicyTable::rfc6724());
      out.notes.push_back(files_.gai_conf + " removed: the RFC 6724 policy table");
    } else {
      try {
        auto parsed = load_policy(files_.gai_conf, ParseMode::strict);
        policy = std::make_shared<const PolicyTable>(std::move(parsed.value));
        out.notes.push_back(files_.gai_conf + " changed: re-read");
      } catch (const ParseError& e) {
        refuse(out.notes, e.diagnostic());
      }
    }
  }

  if (!config && !hosts && !sources && !policy) return out;
  auto next = std::make_shared<ConfigSnapshot>(*old);
  ++next->generation;
  if (policy) next->policy = std::move(policy);
  if (config || hosts || sources) {
    dns::ResolverOptions o = old->resolver->options();
    if (config) o.config = std::move(*config);
    if (hosts) o.hosts = std::move(*hosts);
    if (sources) o.sources = std::move(*sources);
    // The NAT64 state stays (the router's prefixes and its netlink
    // subscription do not depend on the nameservers): it asks the new ones.
    if (config) next->nat64->set_nameservers(o.config);
    next->resolver = dns::Resolver::create(std::move(o));
  }
  {
    std::lock_guard lock(snapshot_mutex_);
    snapshot_ = std::move(next);
  }
  out.swapped = true;
  return out;
}

}  // namespace heyes::detail
