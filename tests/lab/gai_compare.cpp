// SPDX-License-Identifier: MIT
// heyes-gai-compare: one name through glibc's getaddrinfo and through heyes, side by side (for gai_diff.py).
//
// usage: heyes-gai-compare NAME...
// For each NAME prints one JSON line:
//   {"name": NAME, "glibc": {"error": "EAI_NONAME"|null, "addresses": [...]},
//    "heyes": {"error": ..., "addresses": [...], "errors": ["v6:host_not_found", ...]}}
// glibc: getaddrinfo(NAME, nullptr, {AF_UNSPEC, SOCK_STREAM}), every result in
// its order. heyes: DialerOptions::from_system()'s resolver, both families,
// then RFC 6724 (PolicyTable::system(), the kernel's sources) without the
// RFC 8305 interleave. Both read the same /etc files (ip netns exec binds
// /etc/netns/NS/* over them). Addresses print numerically, a zone as the
// interface's name ("fe80::1%lo").
#include <arpa/inet.h>
#include <net/if.h>
#include <netdb.h>
#include <sys/socket.h>

#include <asio/io_context.hpp>

#include <cstdio>
#include <cstring>
#include <string>
#include <string_view>
#include <vector>

#include "heyes/dial/dialer_options.hpp"
#include "heyes/dns/resolver.hpp"
#include "heyes/error.hpp"
#include "heyes/select/policy.hpp"
#include "heyes/select/sort.hpp"
#include "json_string.hpp"  // tools/heyes-connect: the same quoting as heyes-connect --json

namespace {

using heyes::tool::json_string;

std::string zone_name(std::uint32_t index) {
  char name[IF_NAMESIZE] = {};
  if (index != 0 && ::if_indextoname(index, name) != nullptr) return name;
  return std::to_string(index);
}

// The address as numeric text; IPv6 zones by interface name.
std::string sockaddr_text(const sockaddr* sa) {
  char buf[INET6_ADDRSTRLEN] = {};
  if (sa->sa_family == AF_INET) {
    const auto* in = reinterpret_cast<const sockaddr_in*>(sa);
    ::inet_ntop(AF_INET, &in->sin_addr, buf, sizeof buf);
    return buf;
  }
  const auto* in6 = reinterpret_cast<const sockaddr_in6*>(sa);
  ::inet_ntop(AF_INET6, &in6->sin6_addr, buf, sizeof buf);
  std::string out = buf;
  if (in6->sin6_scope_id != 0) out += "%" + zone_name(in6->sin6_scope_id);
  return out;
}

std::string address_text(const heyes::IpAddress& a) {
  char buf[INET6_ADDRSTRLEN] = {};
  if (a.is_v4()) {
    auto b = a.v4_bytes();
    ::inet_ntop(AF_INET, b.data(), buf, sizeof buf);
    return buf;
  }
  ::inet_ntop(AF_INET6, a.bytes().data(), buf, sizeof buf);
  std::string out = buf;
  if (a.scope_id() != 0) out += "%" + zone_name(a.scope_id());
  return out;
}

const char* eai_name(int rc) {
  switch (rc) {
    case EAI_NONAME: return "EAI_NONAME";
    case EAI_AGAIN: return "EAI_AGAIN";
    case EAI_FAIL: return "EAI_FAIL";
    case EAI_FAMILY: return "EAI_FAMILY";
    case EAI_SOCKTYPE: return "EAI_SOCKTYPE";
    case EAI_SERVICE: return "EAI_SERVICE";
    case EAI_MEMORY: return "EAI_MEMORY";
    case EAI_SYSTEM: return "EAI_SYSTEM";
    case EAI_OVERFLOW: return "EAI_OVERFLOW";
#ifdef EAI_NODATA
    case EAI_NODATA: return "EAI_NODATA";
#endif
#ifdef EAI_ADDRFAMILY
    case EAI_ADDRFAMILY: return "EAI_ADDRFAMILY";
#endif
    default: return "EAI_OTHER";
  }
}

struct Side {
  std::string error;  // empty: none
  std::vector<std::string> addresses;
  std::vector<std::string> notes;  // heyes: each family's error
};

Side glibc_side(const char* name) {
  Side s;
  addrinfo hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  addrinfo* res = nullptr;
  int rc = ::getaddrinfo(name, nullptr, &hints, &res);
  if (rc != 0) {
    s.error = eai_name(rc);
    return s;
  }
  for (auto* p = res; p != nullptr; p = p->ai_next) s.addresses.push_back(sockaddr_text(p->ai_addr));
  ::freeaddrinfo(res);
  return s;
}

bool temporary(const std::error_code& ec) {
  return ec == heyes::errc::dns_timeout || ec == heyes::errc::dns_server_failure;
}

// What getaddrinfo would say for the two families' errors: both temporary
// is EAI_AGAIN; a NODATA is EAI_NODATA (the name exists); NXDOMAIN and bad
// names EAI_NONAME; a temporary failure of one family with NXDOMAIN of the
// other EAI_AGAIN; anything else EAI_FAIL.
std::string eai_of(const std::vector<std::error_code>& errors) {
  bool all_temporary = !errors.empty(), any_temporary = false, any_nodata = false, all_noname = !errors.empty();
  for (const auto& ec : errors) {
    all_temporary = all_temporary && temporary(ec);
    any_temporary = any_temporary || temporary(ec);
    any_nodata = any_nodata || ec == heyes::errc::no_data || ec == heyes::errc::family_unavailable;
    all_noname = all_noname && (ec == heyes::errc::host_not_found || ec == heyes::errc::no_data ||
                                ec == heyes::errc::bad_host_name || ec == heyes::errc::family_unavailable ||
                                ec == heyes::errc::no_address);
  }
  if (all_temporary) return "EAI_AGAIN";
  if (any_nodata && !any_temporary) return "EAI_NODATA";
  if (all_noname) return "EAI_NONAME";
  if (any_temporary) return "EAI_AGAIN";
  return "EAI_FAIL";
}

Side heyes_side(const std::shared_ptr<heyes::dns::Resolver>& resolver, const heyes::PolicyTable& policy,
                std::string_view name) {
  Side s;
  asio::io_context ioc;
  std::vector<heyes::dns::ResolveEvent> events;
  auto lookup = resolver->start(ioc.get_executor(), name, heyes::FamilySet::both(),
                                [&](const heyes::dns::ResolveEvent& e) { events.push_back(e); });
  ioc.run_for(std::chrono::seconds(30));  // bounded: resolv.conf's timeout x attempts is far less
  lookup->cancel();
  std::vector<heyes::IpAddress> all;
  std::vector<std::error_code> errors;
  // AAAA first, as a dial hands them to the ordering.
  for (auto family : {heyes::Family::v6, heyes::Family::v4}) {
    for (const auto& e : events) {
      if (e.family != family) continue;
      if (e.error) {
        errors.push_back(e.error);
        std::string note = std::string(heyes::to_string(family)) + ":" +
                           heyes::errc_name(static_cast<heyes::errc>(e.error.value())) + "/" + e.source;
        if (!e.rcode.empty()) note += "/" + e.rcode;
        s.notes.push_back(note);
      }
      all.insert(all.end(), e.addresses.begin(), e.addresses.end());
    }
  }
  if (events.size() != 2) s.notes.push_back("events: " + std::to_string(events.size()));
  if (all.empty()) {
    s.error = eai_of(errors);
    return s;
  }
  heyes::SystemSourceLookup sources;
  for (const auto& a : heyes::sort_destinations(all, policy, sources)) s.addresses.push_back(address_text(a));
  return s;
}

void print_side(std::string& out, const char* key, const Side& s, bool notes) {
  out += "\"" + std::string(key) + "\": {\"error\": " + (s.error.empty() ? "null" : json_string(s.error)) +
         ", \"addresses\": [";
  for (std::size_t i = 0; i < s.addresses.size(); ++i) out += (i ? ", " : "") + json_string(s.addresses[i]);
  out += "]";
  if (notes) {
    out += ", \"errors\": [";
    for (std::size_t i = 0; i < s.notes.size(); ++i) out += (i ? ", " : "") + json_string(s.notes[i]);
    out += "]";
  }
  out += "}";
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 2) {
    std::fprintf(stderr, "usage: heyes-gai-compare NAME...\n");
    return 2;
  }
  try {
    auto options = heyes::DialerOptions::from_system();
    auto resolver = heyes::dns::Resolver::create(options.resolver);
    const auto policy = heyes::PolicyTable::system();
    for (int i = 1; i < argc; ++i) {
      const Side g = glibc_side(argv[i]);
      const Side h = heyes_side(resolver, policy, argv[i]);
      // One lookup must not answer the next from the cache (glibc keeps none).
      resolver->clear_cache();
      std::string line = "{\"name\": " + json_string(argv[i]) + ", ";
      print_side(line, "glibc", g, false);
      line += ", ";
      print_side(line, "heyes", h, true);
      line += "}\n";
      std::fputs(line.c_str(), stdout);
      std::fflush(stdout);
    }
  } catch (const std::exception& e) {
    std::fprintf(stderr, "heyes-gai-compare: %s\n", e.what());
    return 1;
  }
  return 0;
}
