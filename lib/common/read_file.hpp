// SPDX-License-Identifier: MIT
// The one bounded reader of configuration files (resolv.conf, hosts, gai.conf) (private to lib/).
#pragma once

#include <cstddef>
#include <functional>
#include <optional>
#include <string>
#include <string_view>

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

// The same file read a chunk at a time, for files too large to hold: calls
// line(text) for each line ('\n' removed; the last one may lack it) until it
// returns false. Memory is a chunk and the longest line. The same checks as
// read_config_file; false and a reason in error when they fail, when reading
// fails or when more than max_bytes come (lines before were delivered).
bool scan_config_file(const std::string& path, std::string& error, std::size_t max_bytes,
                      const std::function<bool(std::string_view)>& line);

// The size of path when it is a regular file, nullopt otherwise (or when it
// cannot be stat'ed).
std::optional<std::size_t> regular_file_size(const std::string& path);

}  // namespace heyes::detail
