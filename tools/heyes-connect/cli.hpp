// SPDX-License-Identifier: MIT
// heyes-connect's command line: a table-driven parser into Options, errors naming the option.
#pragma once

#include <optional>
#include <span>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

// Not the umbrella heyes.hpp: that brings asio, which the parser does not need.
#include "heyes/address.hpp"
#include "heyes/diagnostic.hpp"
#include "heyes/dial/options.hpp"
#include "heyes/dns/config.hpp"
#include "heyes/timings.hpp"
#include "heyes/select/policy.hpp"
#include "heyes/select/sort.hpp"
#include "heyes/version.hpp"

namespace heyes_connect {

// A bad command line. what() is one line naming the option or operand, without
// the program name; main prints "heyes-connect: <what>" and exits with 2.
class UsageError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// What the invocation asks for. Add a mode here and a row in the option
// table of cli.cpp (its flag), then its operand checks in check_mode().
enum class Mode { none, help, version, sort, dial, demo };

// --source DST=SRC[/LEN][,FLAG...] or DST=none.
struct SourceOverride {
  heyes::IpAddress destination;
  std::optional<heyes::SourceInfo> source;  // nullopt: DST=none, no usable source
};

// --resolve HOST:PORT:ADDR[,ADDR...] (curl's): these addresses, no DNS, for a dial to HOST PORT.
struct ResolveOverride {
  std::string host;  // compared without regard to case
  std::uint16_t port = 0;
  std::vector<heyes::IpAddress> addresses;
};

// Dial and demo modes (dial_mode.hpp); unset values keep heyes::DialOptions' defaults.
struct DialSettings {
  std::optional<int> attempt_delay_ms;     // --attempt-delay
  std::optional<int> resolution_delay_ms;  // --resolution-delay
  std::optional<int> timeout_ms;           // --timeout
  std::optional<int> attempt_timeout_ms;   // --attempt-timeout
  std::optional<heyes::AttemptDelayPolicy> delay_policy;  // --delay-policy
  int family = 0;                          // -4 / -6: 4 or 6; 0 = both
  std::vector<heyes::dns::Nameserver> nameservers;  // --nameserver (repeatable): replaces resolv.conf's
  std::optional<std::string> resolv_conf;  // --resolv-conf FILE (default /etc/resolv.conf)
  std::optional<std::string> hosts;        // --hosts FILE (default /etc/hosts)
  std::optional<std::string> nsswitch_conf;  // --nsswitch-conf FILE (default /etc/nsswitch.conf)
  bool system_resolver = false;            // --resolver system (getaddrinfo); --resolver heyes: false
  std::vector<ResolveOverride> resolve;    // --resolve (repeatable; the last one for HOST:PORT wins)
  bool history = true;                     // --no-history clears it
  std::optional<std::string> history_file;  // --history-file FILE, or "default"
  bool addrconfig = true;                  // --no-addrconfig clears it
  std::optional<heyes::Nat64Options> nat64;  // --nat64-prefix (repeatable) / --no-nat64; unset: automatic
  int repeat = 1;                          // --repeat N
  bool json = false;                       // --json: JSON Lines on stdout
  bool quiet = false;                      // -q, --quiet: nothing on stdout
  bool verbose = false;                    // -v: the timeline (the default)
};

struct Options {
  Mode mode = Mode::none;
  // --policy: unset → /etc/gai.conf if present, else RFC 6724; "none" → RFC 6724.
  std::optional<std::string> policy;
  std::vector<SourceOverride> sources;  // later ones for the same DST win
  int family_count = 1;                 // --family-count (RFC 8305 First Address Family Count)
  bool interleave = true;               // --no-interleave clears it
  std::vector<std::string> operands;    // non-option arguments, in order
  std::vector<std::string> given;       // the options given, in order (checked against the mode)
  std::vector<heyes::IpAddress> addresses;  // sort mode: the operands, parsed
  DialSettings dial;                    // dial and demo modes
  std::string host;                     // dial mode: HOST PORT, HOST:PORT or [V6]:PORT
  std::string port;
};

// Parses the arguments after the program name. Long options take their value
// as "--opt VALUE" or "--opt=VALUE"; "--" ends the options. Throws UsageError.
Options parse_command_line(std::span<const std::string_view> args);

// Whether the arguments ask for --json (before any "--"): an input error is
// then also one JSON object on stdout.
bool wants_json(std::span<const std::string_view> args);

// The --help text.
std::string usage_text();

// Quotes hostile text for a message: 'text', at most 60 characters, control
// and non-ASCII bytes as \xNN (so every message stays one line).
std::string quote(std::string_view text);

}  // namespace heyes_connect
