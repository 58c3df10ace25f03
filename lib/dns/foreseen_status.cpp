// SPDX-License-Identifier: MIT
// What the well-known NSS services answer without being asked: mdns*_minimal outside .local, myhostname for other names.
#include <unistd.h>

#include <array>
#include <climits>

#include "parse_support.hpp"
#include "system_answer.hpp"

namespace heyes::dns::detail {
namespace {

bool ends_with_label(std::string_view name, std::string_view suffix) {
  if (name.size() < suffix.size()) return false;
  if (!iequals(name.substr(name.size() - suffix.size()), suffix)) return false;
  return name.size() == suffix.size() || name[name.size() - suffix.size() - 1] == '.';
}

// systemd's myhostname: the host name (as gethostname() says it, with or
// without its domain), "_gateway", "_outbound", and the localhost names.
bool myhostname_answers(std::string_view name) {
  if (iequals(name, "_gateway") || iequals(name, "_outbound") || ends_with_label(name, "localhost") ||
      ends_with_label(name, "localhost.localdomain"))
    return true;
  std::array<char, HOST_NAME_MAX + 1> buf{};
  if (::gethostname(buf.data(), buf.size() - 1) != 0) return true;  // cannot tell: ask it
  std::string_view host(buf.data());
  if (iequals(name, host)) return true;
  const auto dot = host.find('.');
  return dot != std::string_view::npos && iequals(name, host.substr(0, dot));
}

}  // namespace

std::optional<SourceStatus> foreseen_status(std::string_view service, std::string_view name) {
  if (service == "mdns_minimal" || service == "mdns4_minimal" || service == "mdns6_minimal")
    return ends_with_label(name, "local") ? std::nullopt : std::optional(SourceStatus::unavail);
  if (service == "myhostname") return myhostname_answers(name) ? std::nullopt : std::optional(SourceStatus::notfound);
  return std::nullopt;
}

}  // namespace heyes::dns::detail
