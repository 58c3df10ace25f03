// SPDX-License-Identifier: MIT
// The configuration a Dialer follows: immutable snapshots (resolver, policy, NAT64 state) swapped when a system file changes (private to lib/dial).
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <limits>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "common/file_stamp.hpp"
#include "heyes/diagnostic.hpp"
#include "heyes/dial/dialer_options.hpp"
#include "heyes/dns/resolver.hpp"
#include "heyes/select/policy.hpp"
#include "nat64.hpp"
#include "select/network_watch.hpp"

namespace heyes::detail {

// What DialerOptions::from_system() read, and the files' stamps taken just
// before it read them.
struct SystemOrigin {
  SystemFiles files;
  dns::ResolverConfig config;  // resolv.conf, then the environment
  FileStamp resolv_stamp;
  dns::HostsTable hosts;  // HostsTable::from_file(files.hosts): read at its first lookup
  FileStamp hosts_stamp;
  dns::HostsSources sources;  // the hosts: line of files.nsswitch_conf
  FileStamp nsswitch_stamp;
};

// Everything a dial takes from the configuration. Never changed once
// published: a new configuration is a new snapshot, and a dial keeps the one
// it started with to its end.
struct ConfigSnapshot {
  std::shared_ptr<dns::Resolver> resolver;
  std::shared_ptr<const PolicyTable> policy;
  std::shared_ptr<Nat64State> nat64;  // the same across snapshots: told the new nameservers
  std::uint64_t generation = 0;       // 0, then one more per swap
};

// The files followed: an empty path is not followed.
struct FollowedFiles {
  std::string resolv_conf;
  std::string hosts;
  std::string gai_conf;
  std::string nsswitch_conf;
};

// The snapshot of one Dialer and the watch on its files. Thread-safe: dials
// on any thread ask for the snapshot; the one that finds a check due makes
// it (stat() of each followed file; a changed one is read, parsed and, when
// good, swapped in), the others meanwhile take the snapshot as it is,
// without waiting.
class SystemConfig {
 public:
  using Diagnostics = std::function<void(const Diagnostic&)>;

  struct Stamps {
    FileStamp resolv_conf, hosts, gai_conf, nsswitch_conf;  // of what the first snapshot was read from
  };

  // first: the configuration the Dialer was made with; watch_network: also
  // drain the process's rtnetlink watch at each check.
  SystemConfig(ConfigSnapshot first, FollowedFiles files, Stamps stamps,
               std::chrono::milliseconds interval, Diagnostics diagnostics, TimePoint now,
               bool watch_network = false);

  // What current() found besides the snapshot: set only for the caller that
  // made a check in which something changed (for its trace).
  struct Current {
    std::shared_ptr<const ConfigSnapshot> snapshot;
    std::vector<std::string> notes;  // "resolv.conf ... re-read: ...", "... kept: ..."
    // The network changed since the last check (addresses or routes, from
    // rtnetlink): what changed. The caller applies the consequences.
    std::optional<std::string> network_change;
  };

  // The snapshot for a dial starting at now. Between checks: one relaxed
  // atomic load, a compare, and a shared_ptr copy under a mutex; no system call.
  Current current(TimePoint now);
  // The next current() checks, whatever the interval (after a DNS failure:
  // the nameservers may have changed). No effect when nothing is watched.
  void check_soon() noexcept;

  struct Checked {
    bool swapped = false;            // a new snapshot was published
    std::vector<std::string> notes;  // what was re-read, or refused and why
  };
  // Re-reads every followed file now, changed or not (Dialer::reload()).
  Checked reload();

  // The snapshot as it is, without a check.
  std::shared_ptr<const ConfigSnapshot> snapshot() const;
  const FollowedFiles& files() const noexcept { return files_; }

 private:
  static constexpr std::int64_t kNow = std::numeric_limits<std::int64_t>::min();
  bool watching() const noexcept;
  Checked check_locked(bool force);
  void refuse(std::vector<std::string>& notes, Diagnostic d) const;
  void tell(const Diagnostic& d) const;

  const FollowedFiles files_;
  const std::chrono::milliseconds interval_;
  const Diagnostics diagnostics_;

  // The steady clock's count at which the next check is due (kNow: at once).
  std::atomic<std::int64_t> next_check_;
  std::mutex check_mutex_;  // one check at a time; current() never waits for it
  Stamps stamps_;           // under check_mutex_
  SharedNetworkWatch* network_ = nullptr;  // null: the network is not watched
  std::uint64_t network_seen_ = 0;         // under check_mutex_

  mutable std::mutex snapshot_mutex_;
  std::shared_ptr<const ConfigSnapshot> snapshot_;
};

}  // namespace heyes::detail
