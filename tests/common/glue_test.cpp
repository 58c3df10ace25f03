// SPDX-License-Identifier: MIT
// The private system glue of lib/common: fd ownership, sockaddr and asio conversions, the bounded file reader.
#include <doctest/doctest.h>

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdio>
#include <fstream>
#include <string>

#include "common/asio_address.hpp"
#include "common/fd.hpp"
#include "common/read_file.hpp"
#include "common/sockaddr.hpp"

using heyes::IpAddress;
namespace detail = heyes::detail;

namespace {

IpAddress ip(const char* s) { return *IpAddress::parse(s); }

bool is_open(int fd) { return ::fcntl(fd, F_GETFD) != -1; }

std::string temp_path(const char* what) {
  return "/tmp/heyes-glue-" + std::string(what) + "-" + std::to_string(::getpid());
}

}  // namespace

TEST_CASE("UniqueFd closes once, on reset, destruction and move") {
  int raw = ::open("/dev/null", O_RDONLY | O_CLOEXEC);
  REQUIRE(raw >= 0);
  {
    detail::UniqueFd a(raw);
    CHECK(a);
    detail::UniqueFd b(std::move(a));
    CHECK_FALSE(a);
    CHECK(b.get() == raw);
    CHECK(is_open(raw));
  }
  CHECK_FALSE(is_open(raw));
  detail::UniqueFd none;
  CHECK_FALSE(none);
  none.reset();  // closing nothing is fine
}

TEST_CASE("sockaddr round trip: IPv4, IPv6 with a zone; other families give nothing") {
  for (const char* text : {"192.0.2.1", "2001:db8::1", "fe80::1%3"}) {
    CAPTURE(text);
    sockaddr_storage ss;
    const socklen_t len = detail::to_sockaddr(ip(text), 53, ss);
    CHECK(len == (ip(text).is_v4() ? sizeof(sockaddr_in) : sizeof(sockaddr_in6)));
    CHECK(detail::from_sockaddr(reinterpret_cast<const sockaddr*>(&ss)) == ip(text));
  }
  sockaddr_storage unix_ss{};
  unix_ss.ss_family = AF_UNIX;
  CHECK_FALSE(detail::from_sockaddr(reinterpret_cast<const sockaddr*>(&unix_ss)));
  CHECK_FALSE(detail::from_sockaddr(nullptr));
}

TEST_CASE("asio address round trip; a v4-mapped IPv6 address comes back as IPv4") {
  for (const char* text : {"192.0.2.1", "2001:db8::1", "fe80::1%3"}) {
    CAPTURE(text);
    CHECK(detail::from_asio(detail::to_asio(ip(text))) == ip(text));
  }
  CHECK(detail::to_asio(ip("192.0.2.1")).is_v4());
  CHECK(detail::from_asio(asio::ip::make_address("::ffff:192.0.2.1")) == ip("192.0.2.1"));
}

TEST_CASE("read_config_file: a file, a FIFO, a directory, too large, a NUL in the name") {
  std::string error;
  const auto file = temp_path("file");
  std::ofstream(file) << "nameserver 192.0.2.1\n";
  auto text = detail::read_config_file(file, error);
  REQUIRE(text);
  CHECK(*text == "nameserver 192.0.2.1\n");

  // Exactly at the bound is read; one byte more is refused, never cut.
  std::ofstream(file, std::ios::trunc) << std::string(1024 * 1024, 'x');
  CHECK(detail::read_config_file(file, error));
  std::ofstream(file, std::ios::app) << 'x';
  CHECK_FALSE(detail::read_config_file(file, error));
  CHECK(error == "file larger than 1 MiB");
  CHECK(detail::read_config_file(file, error, 2 * 1024 * 1024));
  std::remove(file.c_str());

  const auto fifo = temp_path("fifo");
  REQUIRE(::mkfifo(fifo.c_str(), 0600) == 0);
  auto empty = detail::read_config_file(fifo, error);  // no writer: does not block
  std::remove(fifo.c_str());
  REQUIRE(empty);
  CHECK(empty->empty());

  CHECK_FALSE(detail::read_config_file("/", error));
  CHECK(error == "not a regular file");
  CHECK_FALSE(detail::read_config_file("/dev/zero", error));
  CHECK(error == "file larger than 1 MiB");
  CHECK_FALSE(detail::read_config_file(std::string("/etc/hosts\0x", 12), error));
  CHECK(error == "file name contains a NUL byte");
  CHECK_FALSE(detail::read_config_file("/nonexistent/heyes", error));
  CHECK(error == "No such file or directory");
}
