// SPDX-License-Identifier: MIT
// resolve_service: a port number or a name from /etc/services, without DNS.
#include <netdb.h>

#include <array>
#include <charconv>
#include <string>

#include "heyes/dial.hpp"

namespace heyes {
namespace {

// A decimal port 1..65535, or nullopt when text is not all digits.
std::optional<std::uint32_t> parse_port(std::string_view text) {
  if (text.empty() || text.size() > 5) return std::nullopt;
  std::uint32_t value = 0;
  auto [end, err] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (err != std::errc() || end != text.data() + text.size()) return std::nullopt;
  return value;
}

// Service names are short printable words ("https", "imap3", "sip-tls").
bool plausible_service_name(std::string_view text) {
  if (text.empty() || text.size() > 64) return false;
  for (char c : text) {
    if (c <= ' ' || c > '~') return false;
  }
  return true;
}

}  // namespace

std::uint16_t resolve_service(std::string_view service, std::error_code& ec) {
  ec.clear();
  bool all_digits = !service.empty() && service.find_first_not_of("0123456789") == std::string_view::npos;
  if (all_digits) {
    auto port = parse_port(service);
    if (!port || *port == 0 || *port > 65535) {
      ec = errc::bad_service;
      return 0;
    }
    return static_cast<std::uint16_t>(*port);
  }
  if (!plausible_service_name(service)) {
    ec = errc::bad_service;
    return 0;
  }
  // /etc/services through NSS ("files" on every sane system); never DNS.
  std::string name(service);
  servent entry{};
  servent* found = nullptr;
  std::array<char, 4096> buffer{};
  if (getservbyname_r(name.c_str(), "tcp", &entry, buffer.data(), buffer.size(), &found) != 0 || !found) {
    ec = errc::bad_service;
    return 0;
  }
  return ntohs(static_cast<std::uint16_t>(found->s_port));
}

}  // namespace heyes
