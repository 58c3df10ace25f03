// SPDX-License-Identifier: MIT
// heyes-connect's input files: readable or a usage error naming the option, warnings once on stderr.
#include "inputs.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>

namespace heyes_connect {

void check_readable(const std::string& file, std::string_view option) {
  int error = 0;
  int fd = ::open(file.c_str(), O_RDONLY | O_CLOEXEC);
  struct stat st {};
  if (fd < 0) error = errno;
  else if (::fstat(fd, &st) != 0) error = errno;
  else if (S_ISDIR(st.st_mode)) error = EISDIR;
  if (fd >= 0) ::close(fd);
  if (error)
    throw UsageError("option '" + std::string(option) + "': " + file + ": cannot read file: " + std::strerror(error));
}

void print_warnings(const std::vector<heyes::Diagnostic>& warnings) {
  for (const auto& w : warnings) std::fprintf(stderr, "heyes-connect: warning: %s\n", w.to_string().c_str());
}

heyes::PolicyTable policy_of(const Options& options) {
  if (options.policy == "none") return heyes::PolicyTable::rfc6724();
  if (options.policy) {
    check_readable(*options.policy, "--policy");
    return heyes::load_policy(*options.policy, heyes::ParseMode::strict).value;
  }
  std::vector<heyes::Diagnostic> warnings;
  auto table = heyes::PolicyTable::system(&warnings);
  print_warnings(warnings);
  return table;
}

}  // namespace heyes_connect
