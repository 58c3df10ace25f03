// SPDX-License-Identifier: MIT
// The hosts: line of nsswitch.conf as glibc 2.36 reads it (nss/nss_database.c, nss/nss_action_parse.c).
#include "heyes/dns/nsswitch.hpp"

#include <sys/stat.h>

#include <cerrno>
#include <optional>

#include "common/read_file.hpp"
#include "parse_support.hpp"

namespace heyes::dns {
namespace {

using detail::quote;
using detail::Reporter;

// glibc has neither bound (getline, a dynarray); real lines are a few dozen
// bytes with a handful of sources.
constexpr std::size_t kMaxLineBytes = 4096;
constexpr std::size_t kMaxSources = 32;

constexpr std::array<SourceAction, 4> kDefaultActions{SourceAction::return_, SourceAction::continue_,
                                                      SourceAction::continue_, SourceAction::continue_};
constexpr std::array<std::string_view, 4> kStatusNames{"SUCCESS", "NOTFOUND", "UNAVAIL", "TRYAGAIN"};

// The databases glibc knows (nss/databases.def). Only their lines have their
// action lists parsed, and glibc finds them with strcmp: "Hosts" is not one.
constexpr std::array<std::string_view, 17> kDatabases{
    "aliases", "ethers",      "group",    "group_compat", "gshadow",  "hosts",    "initgroups",
    "netgroup", "networks",   "passwd",   "passwd_compat", "protocols", "publickey", "rpc",
    "services", "shadow",     "shadow_compat"};

bool is_database(std::string_view name) noexcept {
  for (auto db : kDatabases)
    if (db == name) return true;
  return false;
}

// glibc's isspace() in the C locale.
constexpr bool is_space(char c) noexcept {
  return c == ' ' || c == '\t' || c == '\n' || c == '\v' || c == '\f' || c == '\r';
}

std::string_view trim_end(std::string_view s) noexcept {
  while (!s.empty() && is_space(s.back())) s.remove_suffix(1);
  return s;
}

// glibc's actions; merge is kept apart until the list is read, so that a
// later "!STATUS=..." restores it as glibc does.
enum class Act : std::uint8_t { return_, continue_, merge };

// What one database line's service list comes to.
struct ServiceList {
  std::vector<HostsSource> sources;  // at most kMaxSources
  std::size_t count = 0;             // all of them, kept or not
  std::string dropped;               // the first source past the bound
  std::array<bool, 4> merges{};      // statuses with merge, in kept sources
  std::optional<std::size_t> stray;  // offset of a '[' where a source was due
  bool comment_word = false;         // a source starts with '#'
  std::string error;                 // nss_action_parse returned false: why
};

// glibc's nss_action_parse on rest (one line after "name:", cut at a NUL):
// `( <source> ( "[" "!"? (<status> "=" <action> )+ "]" )? )*`.
ServiceList parse_service_list(std::string_view rest) {
  ServiceList out;
  std::size_t i = 0;
  const std::size_t n = rest.size();
  auto skip_ws = [&] {
    while (i < n && is_space(rest[i])) ++i;
  };
  auto word = [&](auto stop) {
    const std::size_t b = i;
    while (i < n && !is_space(rest[i]) && !stop(rest[i])) ++i;
    return rest.substr(b, i - b);
  };
  for (;;) {
    skip_ws();
    if (i == n) return out;
    const std::size_t at = i;
    auto name = word([](char c) { return c == '['; });
    if (name.empty()) {
      // A '[' where a source was due ends the list, silently, in glibc.
      out.stray = at;
      return out;
    }
    std::array<Act, 4> acts{Act::return_, Act::continue_, Act::continue_, Act::continue_};
    skip_ws();
    if (i < n && rest[i] == '[') {
      ++i;
      skip_ws();
      do {
        const bool negate = i < n && rest[i] == '!';
        if (negate) ++i;
        auto status_word = word([](char c) { return c == '=' || c == ']'; });
        std::size_t status = kStatusNames.size();
        for (std::size_t s = 0; s < kStatusNames.size(); ++s)
          if (detail::iequals(status_word, kStatusNames[s])) status = s;
        if (status == kStatusNames.size()) {
          if (status_word.empty() && i == n) out.error = "no ']' closing the action list of " + quote(name);
          else if (status_word.empty() && rest[i] == ']') out.error = "empty action list after " + quote(name);
          else
            out.error = "unknown status " + quote(status_word) + " after " + quote(name) +
                        " (SUCCESS, NOTFOUND, UNAVAIL or TRYAGAIN)";
          return out;
        }
        skip_ws();
        if (i == n || rest[i] != '=') {
          out.error = "no '=' after " + quote(status_word) + " in the action list of " + quote(name);
          return out;
        }
        ++i;
        skip_ws();
        auto action_word = word([](char c) { return c == '=' || c == ']'; });
        Act act;
        if (detail::iequals(action_word, "return")) act = Act::return_;
        else if (detail::iequals(action_word, "continue")) act = Act::continue_;
        else if (detail::iequals(action_word, "merge")) act = Act::merge;
        else {
          out.error = "unknown action " + quote(action_word) + " for " + quote(status_word) + " after " +
                      quote(name) + " (return, continue or merge)";
          return out;
        }
        if (negate) {
          // Every status but this one: glibc sets all, then puts this one back.
          const Act saved = acts[status];
          acts.fill(act);
          acts[status] = saved;
        } else {
          acts[status] = act;
        }
        skip_ws();
      } while (i == n || rest[i] != ']');
      ++i;
    }
    ++out.count;
    if (out.sources.size() >= kMaxSources) {
      if (out.dropped.empty()) out.dropped = std::string(name);
      continue;
    }
    HostsSource source;
    source.name = std::string(name);
    if (name.front() == '#') out.comment_word = true;
    for (std::size_t s = 0; s < acts.size(); ++s) {
      if (acts[s] == Act::merge) {
        // getaddrinfo: "The hosts database does not support MERGE": it stops
        // the walk (and drops the answer when another source follows).
        out.merges[s] = true;
      }
      source.actions[s] = acts[s] == Act::continue_ ? SourceAction::continue_ : SourceAction::return_;
    }
    out.sources.push_back(std::move(source));
  }
}

class NsswitchParser {
 public:
  explicit NsswitchParser(Reporter& report) : report_(report) {}

  // One line as glibc's process_line sees it: with its '\n' (terminated is
  // false for a last line without one), cut at a NUL. False: glibc stops
  // reading the file, whose configuration it rejects.
  bool line(int number, std::string_view text, bool terminated) {
    const std::size_t length = text.size();
    bool cut = false;
    if (auto nul = text.find('\0'); nul != std::string_view::npos) {
      text = text.substr(0, nul);
      cut = true;
    }
    std::size_t i = 0;
    while (i < text.size() && is_space(text[i])) ++i;
    const std::size_t b = i;
    while (i < text.size() && !is_space(text[i]) && text[i] != ':') ++i;
    // A name running to the end (only at a NUL: the '\n' is a space) or none.
    if (i == text.size() || i == b) return true;
    const std::string_view name = text.substr(b, i - b);
    bool colon = false;
    for (; i < text.size() && (is_space(text[i]) || text[i] == ':'); ++i) colon = colon || text[i] == ':';
    const std::string_view rest = text.substr(i);

    if (!is_database(name)) {
      if (name != "hosts" && detail::iequals(name, "hosts"))
        report_.note(number, quote(name) + " is not 'hosts': glibc compares database names case-sensitively "
                                           "and ignores this line");
      return true;  // not glibc's (sudoers, automount, ...): never parsed
    }
    const bool hosts = name == "hosts";
    if (!terminated) {
      // getline() meets the end of the file with this line: glibc's loop
      // sees feof() and stops before it.
      if (hosts) report_.error(number, "no newline at the end of the file: glibc ignores this last hosts: line");
      else report_.note(number, "no newline at the end of the file: glibc ignores this last line");
      return true;
    }
    if (length > kMaxLineBytes + 1) {
      report_.error(number, std::string(name) + ": line of " + std::to_string(length) + " bytes (more than " +
                                std::to_string(kMaxLineBytes) + "): ignored");
      return true;
    }
    if (cut) report_.note(number, "text after a NUL byte ignored (glibc reads up to it)");

    auto list = parse_service_list(rest);
    if (!list.error.empty()) {
      report_.error(number, std::string(name) + ": " + list.error +
                                ": glibc rejects the whole file, so no source is asked for any host name");
      return false;
    }
    if (!hosts) return true;

    if (!colon) report_.note(number, "hosts: no ':' after the database name (glibc does not need one)");
    if (last_hosts_ != 0)
      report_.note(number, "hosts: given again (line " + std::to_string(last_hosts_) +
                               " before): glibc uses the last hosts: line");
    last_hosts_ = number;
    if (list.stray)
      report_.error(number, "hosts: action list " + quote(trim_end(rest.substr(*list.stray))) +
                                " where a source was due: glibc ignores it and the rest of the line");
    if (list.count > kMaxSources)
      report_.error(number, "hosts: " + std::to_string(list.count) + " sources, more than " +
                                std::to_string(kMaxSources) + ": " + quote(list.dropped) + " and after ignored");
    if (list.comment_word)
      report_.note(number, "hosts: '#' starts no comment after the database name: glibc reads it and the words "
                           "after it as sources");
    std::string merges;
    for (std::size_t s = 0; s < list.merges.size(); ++s)
      if (list.merges[s]) merges += (merges.empty() ? "" : " ") + std::string(kStatusNames[s]) + "=merge";
    if (!merges.empty())
      report_.note(number, "hosts: " + merges +
                               ": the hosts database has no merge; glibc's getaddrinfo stops there (read as return)");
    if (list.sources.empty())
      report_.error(number, "hosts: no source: glibc asks none, so no host name resolves through NSS");
    result_.sources = std::move(list.sources);
    result_.is_default = false;
    return true;
  }

  HostsSources result() const { return last_hosts_ == 0 ? HostsSources::glibc_default() : result_; }

  // glibc's reload failed: lookups through NSS find nothing.
  void reject() {
    result_ = HostsSources{};
    last_hosts_ = -1;
  }

 private:
  Reporter& report_;
  HostsSources result_;
  int last_hosts_ = 0;
};

// "[NOTFOUND=return]" or "[!UNAVAIL=return]", whichever is shorter; empty
// when the actions are the defaults.
std::string actions_text(const std::array<SourceAction, 4>& actions) {
  auto word = [](SourceAction a) { return a == SourceAction::return_ ? "return" : "continue"; };
  std::string plain;
  std::size_t differing = 0;
  for (std::size_t s = 0; s < actions.size(); ++s) {
    if (actions[s] == kDefaultActions[s]) continue;
    if (!plain.empty()) plain += ' ';
    plain += std::string(kStatusNames[s]) + '=' + word(actions[s]);
    ++differing;
  }
  if (differing == 0) return {};
  if (differing >= 2) {
    // "[!X=a]": every status a, X left at its default.
    for (std::size_t x = 0; x < actions.size(); ++x) {
      if (actions[x] != kDefaultActions[x]) continue;
      const SourceAction a = actions[x == 0 ? 1 : 0];
      bool all = true;
      for (std::size_t s = 0; s < actions.size(); ++s) all = all && (s == x || actions[s] == a);
      if (all) return "[!" + std::string(kStatusNames[x]) + '=' + word(a) + ']';
    }
  }
  return '[' + plain + ']';
}

}  // namespace

HostsSources HostsSources::glibc_default() {
  HostsSources out = files_dns();
  out.is_default = true;
  return out;
}

HostsSources HostsSources::files_dns() {
  HostsSources out;
  out.sources.push_back(HostsSource{"files"});
  out.sources.push_back(HostsSource{"dns"});
  return out;
}

std::string HostsSources::to_string() const {
  std::string out;
  for (const auto& source : sources) {
    if (!out.empty()) out += ' ';
    out += source.name;
    if (auto text = actions_text(source.actions); !text.empty()) out += ' ' + text;
  }
  return out;
}

Parsed<HostsSources> parse_nsswitch_hosts(std::string_view text, std::string_view file_name, ParseMode mode) {
  Parsed<HostsSources> out;
  Reporter report(file_name, mode, &out.warnings);
  NsswitchParser parser(report);
  int number = 0;
  while (!text.empty()) {
    const auto end = text.find('\n');
    const bool terminated = end != std::string_view::npos;
    const auto line = terminated ? text.substr(0, end + 1) : text;
    text.remove_prefix(line.size());
    if (number < 0x7fffffff) ++number;
    if (!parser.line(number, line, terminated)) {
      parser.reject();
      break;
    }
  }
  out.value = parser.result();
  report.finish();
  return out;
}

Parsed<HostsSources> load_nsswitch_hosts(const std::string& path, ParseMode mode) {
  struct stat st{};
  if (path.find('\0') == std::string::npos && ::stat(path.c_str(), &st) != 0 && errno == ENOENT)
    return {HostsSources::glibc_default(), {}};
  std::string error;
  auto text = heyes::detail::read_config_file(path, error);
  if (!text)
    return {HostsSources::glibc_default(),
            {Diagnostic{path, 0, "cannot read (" + error + "): glibc's default 'files dns' used"}}};
  return parse_nsswitch_hosts(*text, path, mode);
}

}  // namespace heyes::dns
