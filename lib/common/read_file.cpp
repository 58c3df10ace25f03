// SPDX-License-Identifier: MIT
// read_config_file: open without blocking, check the kind of file, read up to a bound.
#include "read_file.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "fd.hpp"

namespace heyes::detail {

std::optional<std::string> read_config_file(const std::string& path, std::string& error, std::size_t max_bytes) {
  if (path.find('\0') != std::string::npos) {
    error = "file name contains a NUL byte";
    return std::nullopt;
  }
  UniqueFd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NONBLOCK | O_NOCTTY));
  struct stat st {};
  if (!fd || ::fstat(fd.get(), &st) != 0) {
    error = std::strerror(errno);
    return std::nullopt;
  }
  if (!S_ISREG(st.st_mode) && !S_ISFIFO(st.st_mode) && !S_ISCHR(st.st_mode)) {
    error = "not a regular file";
    return std::nullopt;
  }
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
  error = "file larger than " + std::to_string(max_bytes >> 20) + " MiB";
  return std::nullopt;
}

}  // namespace heyes::detail
