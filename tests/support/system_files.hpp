// SPDX-License-Identifier: MIT
// resolv.conf, hosts, gai.conf and nsswitch.conf in a temporary directory of their own, written as the system writes them.
#pragma once

#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <string>
#include <system_error>

namespace heyes::test {

// Through a temporary and rename(), as resolvconf and NetworkManager write
// resolv.conf: a new inode, so the stamp differs even within one mtime tick.
inline void write_file(const std::filesystem::path& p, const std::string& text) {
  std::filesystem::path tmp = p.string() + ".tmp";
  std::ofstream(tmp, std::ios::trunc) << text;
  std::filesystem::rename(tmp, p);
}

// The four files under a fresh directory (tag, the pid and a serial),
// removed at the end; nsswitch.conf says "hosts: files dns" unless told.
struct SystemFilesDir {
  SystemFilesDir(const std::string& tag, const std::string& resolv_text, const std::string& hosts_text,
                 const std::string& gai_text, const std::string& nsswitch_text = "hosts: files dns\n") {
    dir = std::filesystem::temp_directory_path() /
          (tag + "-" + std::to_string(::getpid()) + "-" + std::to_string(++serial));
    std::filesystem::create_directories(dir);
    write_file(resolv(), resolv_text);
    write_file(hosts(), hosts_text);
    write_file(gai(), gai_text);
    write_file(nsswitch(), nsswitch_text);
  }
  ~SystemFilesDir() {
    std::error_code ec;
    std::filesystem::remove_all(dir, ec);
  }
  SystemFilesDir(const SystemFilesDir&) = delete;
  SystemFilesDir& operator=(const SystemFilesDir&) = delete;
  std::filesystem::path resolv() const { return dir / "resolv.conf"; }
  std::filesystem::path hosts() const { return dir / "hosts"; }
  std::filesystem::path gai() const { return dir / "gai.conf"; }
  std::filesystem::path nsswitch() const { return dir / "nsswitch.conf"; }
  static inline int serial = 0;
  std::filesystem::path dir;
};

}  // namespace heyes::test
