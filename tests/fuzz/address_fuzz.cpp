// SPDX-License-Identifier: MIT
// Fuzz target: address literals, nameserver literals, service (port) names of the dial API, host-name checks,
// localhost names, search candidates.
#include <arpa/inet.h>

#include <string>

#include "dns/message.hpp"
#include "heyes/dial.hpp"

#include "fuzz_support.hpp"
#include "heyes/address.hpp"
#include "heyes/dns/config.hpp"
#include "heyes/dns/hosts.hpp"

namespace {

using heyes::fuzz::require;

// parse_inet_aton is glibc's inet_aton without its trailing-blank leniency
// (getaddrinfo's exact form): the same verdict and the same address for
// every input without a blank or NUL.
void check_inet_aton(std::string_view text) {
  auto ours = heyes::IpAddress::parse_inet_aton(text);
  if (ours) {
    auto again = heyes::IpAddress::parse_inet_aton(ours->to_string());
    require(again && *again == *ours && ours->is_v4(), "inet_aton form: IPv4, canonical text parses back");
    require(heyes::IpAddress::parse_numeric_host(text) == ours, "a numeric host takes every inet_aton form");
  }
  constexpr std::string_view kBlanksAndNul(" \t\n\v\f\r\0", 7);
  if (text.find_first_of(kBlanksAndNul) != std::string_view::npos) {
    require(!ours, "no blank or NUL in an inet_aton form");
    return;  // inet_aton would read up to the blank (or the NUL)
  }
  std::string c(text);
  in_addr glibc{};
  const bool accepted = ::inet_aton(c.c_str(), &glibc) != 0;
  require(ours.has_value() == accepted, "parse_inet_aton agrees with inet_aton");
  if (accepted) require(*ours == heyes::IpAddress::v4(ntohl(glibc.s_addr)), "the same address as inet_aton");
}

// A literal that parses prints to text that parses back to the same value.
void check_literals(std::string_view text) {
  if (auto a = heyes::IpAddress::parse(text)) {
    auto again = heyes::IpAddress::parse(a->to_string());
    require(again && *again == *a, "IpAddress round trip");
  }
  if (auto ns = heyes::dns::Nameserver::parse(text)) {
    require(ns->port != 0, "nameserver port is not 0");
    auto again = heyes::dns::Nameserver::parse(ns->to_string());
    require(again && *again == *ns, "Nameserver round trip");
  }
}

// The dial API's service argument: a port 1..65535 or an /etc/services name.
void check_service(std::string_view text) {
  std::error_code ec;
  auto port = heyes::resolve_service(text, ec);
  require(ec ? port == 0 : port != 0, "a service gives a port or an error");
  bool digits = !text.empty() && text.size() <= 5 && text.find_first_not_of("0123456789") == std::string_view::npos;
  if (digits) {
    long value = std::stol(std::string(text));
    require((value >= 1 && value <= 65535) == !ec, "numeric services are exactly 1..65535");
    if (!ec) require(port == value, "a numeric service is its own port");
  }
}

void check_names(std::string_view name, std::string_view search_text) {
  bool valid = !heyes::dns::validate_host_name(name);
  if (valid) {
    auto bare = name.back() == '.' ? name.substr(0, name.size() - 1) : name;
    require(!bare.empty() && bare.size() <= 253, "valid names have 1..253 characters");
    require(bare.find('\\') == std::string_view::npos, "no backslash in a valid name");
    // What is valid can be asked: the codec never throws for it, and the
    // question it writes decodes back to the same name.
    auto wire = heyes::dns::encode(heyes::dns::make_query(1, bare, heyes::dns::RecordType::a));
    auto back = heyes::dns::decode(wire);
    require(back && back.message->questions.size() == 1 && back.message->questions[0].name == bare,
            "a valid name encodes into a query that decodes to it");
  }
  if (heyes::dns::is_localhost_name(name)) require(valid, "localhost names are valid names");

  // The rest of the input is the search list; its first byte picks ndots.
  heyes::dns::ResolverConfig config;
  if (!search_text.empty()) config.ndots = static_cast<unsigned char>(search_text.front()) % 16;
  std::size_t pos = 0;
  while (pos < search_text.size() && config.search.size() < 8) {
    auto end = std::min(search_text.find(' ', pos), search_text.size());
    config.search.emplace_back(search_text.substr(pos, end - pos));
    pos = end + 1;
  }
  auto candidates = heyes::dns::candidate_names(name, config);
  require(valid || candidates.empty(), "a bad name has no candidates");
  require(candidates.size() <= config.search.size() + 1, "at most one candidate per suffix, plus as-is");
  for (const auto& c : candidates) {
    require(!heyes::dns::validate_host_name(c), "candidates are valid names");
    require(c.back() != '.', "candidates have no trailing dot");
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  auto text = heyes::fuzz::as_text(data, size);
  check_literals(text);
  check_inet_aton(text);
  auto [first, rest] = heyes::fuzz::split_first_line(text);
  check_literals(first);
  check_inet_aton(first);
  check_service(first);
  check_names(first, rest);
  return 0;
}
