// SPDX-License-Identifier: MIT
// The one bounded reader of configuration files (resolv.conf, hosts, gai.conf) (private to lib/).
#pragma once

#include <cstddef>
#include <optional>
#include <string>

namespace heyes::detail {

// What any configuration file may weigh; the hosts file passes more.
inline constexpr std::size_t kMaxConfigFileBytes = std::size_t{1} << 20;

// Reads the whole file at path, or gives nullopt and a short reason in error.
// Never blocks: a FIFO without data reads as empty, a device is read like a
// file. A directory (or socket, block device) is "not a regular file"; more
// than max_bytes is "file larger than N MiB" (nothing is half read); a path
// with a NUL byte is refused.
std::optional<std::string> read_config_file(const std::string& path, std::string& error,
                                            std::size_t max_bytes = kMaxConfigFileBytes);

}  // namespace heyes::detail
