// SPDX-License-Identifier: MIT
// read_config_file and scan_config_file: open without blocking, check the kind of file, read up to a bound.
#include "read_file.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <vector>

#include "fd.hpp"

namespace heyes::detail {

namespace {

// Opens path for reading without blocking and checks its kind; an invalid fd
// and a reason in error when it cannot be read.
UniqueFd open_config_file(const std::string& path, std::string& error) {
  if (path.find('\0') != std::string::npos) {
    error = "file name contains a NUL byte";
    return UniqueFd();
  }
  UniqueFd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NONBLOCK | O_NOCTTY));
  struct stat st {};
  if (!fd || ::fstat(fd.get(), &st) != 0) {
    error = std::strerror(errno);
    return UniqueFd();
  }
  if (!S_ISREG(st.st_mode) && !S_ISFIFO(st.st_mode) && !S_ISCHR(st.st_mode)) {
    error = "not a regular file";
    return UniqueFd();
  }
  return fd;
}

std::string too_large(std::size_t max_bytes) { return "file larger than " + std::to_string(max_bytes >> 20) + " MiB"; }

}  // namespace

std::optional<std::string> read_config_file(const std::string& path, std::string& error, std::size_t max_bytes) {
  UniqueFd fd = open_config_file(path, error);
  if (!fd) return std::nullopt;
  std::string text;
  char buf[16384];
  // One byte past the bound tells a file of exactly max_bytes from a longer one.
  while (text.size() <= max_bytes) {
    const ssize_t n = ::read(fd.get(), buf, sizeof buf);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) return text;  // a FIFO with nothing written
    if (n < 0) {
      error = std::strerror(errno);
      return std::nullopt;
    }
    if (n == 0) return text;
    text.append(buf, static_cast<std::size_t>(n));
  }
  error = too_large(max_bytes);
  return std::nullopt;
}

bool scan_config_file(const std::string& path, std::string& error, std::size_t max_bytes,
                      const std::function<bool(std::string_view)>& line) {
  UniqueFd fd = open_config_file(path, error);
  if (!fd) return false;
  std::string pending;  // the chunk being split, from the start of its first whole line
  std::vector<char> chunk(std::size_t{1} << 16);
  std::size_t total = 0;
  for (;;) {
    const ssize_t n = ::read(fd.get(), chunk.data(), chunk.size());
    if (n < 0 && errno == EINTR) continue;
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) break;  // a FIFO with nothing written
    if (n < 0) {
      error = std::strerror(errno);
      return false;
    }
    if (n == 0) break;
    total += static_cast<std::size_t>(n);
    if (total > max_bytes) {
      error = too_large(max_bytes);
      return false;
    }
    pending.append(chunk.data(), static_cast<std::size_t>(n));
    std::string_view rest = pending;
    for (auto nl = rest.find('\n'); nl != std::string_view::npos; nl = rest.find('\n')) {
      if (!line(rest.substr(0, nl))) return true;
      rest.remove_prefix(nl + 1);
    }
    pending.erase(0, pending.size() - rest.size());
  }
  if (!pending.empty()) line(pending);
  return true;
}

std::optional<std::size_t> regular_file_size(const std::string& path) {
  struct stat st {};
  if (path.find('\0') != std::string::npos || ::stat(path.c_str(), &st) != 0 || !S_ISREG(st.st_mode))
    return std::nullopt;
  return static_cast<std::size_t>(st.st_size);
}

}  // namespace heyes::detail
