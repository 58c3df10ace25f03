// SPDX-License-Identifier: MIT
// FileStamp: what stat() says of a file, to tell cheaply that it changed (private to lib/).
#pragma once

#include <cstdint>
#include <string>

namespace heyes::detail {

// The identity and version of a file as stat() reports them: a rewrite in
// place changes size or mtime, a replacement by rename() changes the inode,
// a chmod changes ctime. Two stamps that differ mean "read it again"; equal
// stamps are taken to mean the same content (as glibc's resolv.conf reload
// and Go's resolver do).
struct FileStamp {
  bool exists = false;  // stat() succeeded; the other fields are zero otherwise
  std::uint64_t dev = 0;
  std::uint64_t ino = 0;
  std::int64_t size = 0;
  std::int64_t mtime_ns = 0;
  std::int64_t ctime_ns = 0;
  friend bool operator==(const FileStamp&, const FileStamp&) = default;
};

// One stat() call; never opens the file.
FileStamp stamp_of(const std::string& path);

}  // namespace heyes::detail
