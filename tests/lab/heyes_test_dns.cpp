// SPDX-License-Identifier: MIT
// heyes-test-dns: heyes::dns::TestServer as a program, scripted from the command line (for the lab).
//
// usage: heyes-test-dns [--listen ADDR[:PORT]] [--lifetime S]
//                       [--record NAME A|AAAA ADDRESS]... [--delay NAME A|AAAA MS]...
//                       [--drop NAME A|AAAA]... [--rcode NAME A|AAAA|ANY RCODE]...
//                       [--cname NAME TARGET]...
// --rcode answers NXDOMAIN, SERVFAIL, REFUSED or NODATA (NOERROR, no record)
// for the name (ANY: both types). --cname answers both types of NAME with a
// CNAME to TARGET followed by TARGET's records of that type (as a recursive
// server does). A name with no script at all gets NXDOMAIN; a name scripted
// for one type only gets NODATA for the other.
// Prints "listening ADDR:PORT" once it serves, then runs until SIGTERM/SIGINT
// or --lifetime seconds (default 120) have passed. Exit 2 on bad arguments.
#include <asio/io_context.hpp>
#include <asio/signal_set.hpp>
#include <asio/steady_timer.hpp>

#include <charconv>
#include <csignal>
#include <cstdio>
#include <map>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "heyes/address.hpp"
#include "heyes/dns/config.hpp"
#include "testing/test_server.hpp"

namespace {

using heyes::dns::RecordType;
using Key = std::pair<std::string, RecordType>;

struct Script {
  heyes::dns::Nameserver listen{*heyes::IpAddress::parse("127.0.0.1"), 0};
  int lifetime_s = 120;
  std::map<Key, heyes::dns::TestAnswer> answers;
  std::vector<std::pair<std::string, std::string>> cnames;  // NAME -> TARGET
};

// A bad argument: main prints it with the usage and exits 2.
struct BadArgument : std::runtime_error {
  using std::runtime_error::runtime_error;
};

long parse_number(std::string_view text, long lo, long hi, std::string_view what) {
  long v = 0;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), v);
  if (ec != std::errc{} || end != text.data() + text.size() || v < lo || v > hi)
    throw BadArgument(std::string(what) + ": not a number in " + std::to_string(lo) + ".." + std::to_string(hi) +
                      ": " + std::string(text));
  return v;
}

RecordType parse_type(std::string_view text) {
  if (text == "A") return RecordType::a;
  if (text == "AAAA") return RecordType::aaaa;
  throw BadArgument("record type must be A or AAAA: " + std::string(text));
}

// --rcode NAME A|AAAA|ANY NXDOMAIN|SERVFAIL|REFUSED|NODATA
void add_rcode(Script& s, const std::vector<std::string_view>& a) {
  std::vector<RecordType> types;
  if (a[1] == "ANY") types = {RecordType::a, RecordType::aaaa};
  else types = {parse_type(a[1])};
  heyes::dns::Rcode rcode = heyes::dns::Rcode::noerror;
  if (a[2] == "NXDOMAIN") rcode = heyes::dns::Rcode::nxdomain;
  else if (a[2] == "SERVFAIL") rcode = heyes::dns::Rcode::servfail;
  else if (a[2] == "REFUSED") rcode = heyes::dns::Rcode::refused;
  else if (a[2] != "NODATA") throw BadArgument("--rcode: not NXDOMAIN, SERVFAIL, REFUSED or NODATA: " + std::string(a[2]));
  for (auto type : types) {
    auto& answer = s.answers[{std::string(a[0]), type}];
    answer.rcode = rcode;
    answer.records.clear();
  }
}

// The CNAME answers, once every --record is known: NAME's answer of each
// type is the CNAME, then TARGET's records of that type.
void add_cnames(Script& s) {
  for (const auto& [name, target] : s.cnames) {
    for (auto type : {RecordType::a, RecordType::aaaa}) {
      heyes::dns::TestAnswer answer;
      answer.records.push_back(heyes::dns::Record::cname(name, target, 60));
      auto it = s.answers.find({target, type});
      if (it != s.answers.end() && it->second.rcode == heyes::dns::Rcode::noerror)
        answer.records.insert(answer.records.end(), it->second.records.begin(), it->second.records.end());
      s.answers[{name, type}] = std::move(answer);
    }
  }
}

// Takes the next n arguments of option opt, or throws when they are missing.
std::vector<std::string_view> take(int& i, int argc, char** argv, int n, std::string_view opt) {
  if (i + n >= argc) throw BadArgument(std::string(opt) + " needs " + std::to_string(n) + " argument(s)");
  std::vector<std::string_view> out;
  for (int k = 1; k <= n; ++k) out.emplace_back(argv[i + k]);
  i += n;
  return out;
}

// --record NAME TYPE ADDRESS: the address must be of the record's family.
void add_record(Script& s, const std::vector<std::string_view>& a) {
  RecordType type = parse_type(a[1]);
  auto address = heyes::IpAddress::parse(a[2]);
  if (!address || (address->is_v4() != (type == RecordType::a)))
    throw BadArgument("not an " + std::string(a[1]) + " address: " + std::string(a[2]));
  s.answers[{std::string(a[0]), type}].records.push_back(heyes::dns::Record::a(std::string(a[0]), *address, 60));
}

// ADDR, ADDR:PORT or [V6]:PORT as Nameserver::parse takes them, plus port 0
// (kernel-chosen), which a nameserver cannot have.
heyes::dns::Nameserver parse_listen(std::string_view text) {
  std::string_view main = text;
  bool any_port = text.size() > 2 && text.substr(text.size() - 2) == ":0" &&
                  (text.front() == '[' || text.find(':') == text.size() - 2);
  if (any_port) main = text.substr(0, text.size() - 2);
  auto ns = heyes::dns::Nameserver::parse(main);
  if (!ns) throw BadArgument("--listen: not ADDR, ADDR:PORT or [V6]:PORT: " + std::string(text));
  if (any_port) ns->port = 0;
  return *ns;
}

Script parse_args(int argc, char** argv) {
  Script s;
  for (int i = 1; i < argc; ++i) {
    std::string_view opt = argv[i];
    if (opt == "--listen") {
      s.listen = parse_listen(take(i, argc, argv, 1, opt)[0]);
    } else if (opt == "--lifetime") {
      s.lifetime_s = static_cast<int>(parse_number(take(i, argc, argv, 1, opt)[0], 1, 3600, "--lifetime"));
    } else if (opt == "--record") {
      add_record(s, take(i, argc, argv, 3, opt));
    } else if (opt == "--delay") {
      auto a = take(i, argc, argv, 3, opt);
      s.answers[{std::string(a[0]), parse_type(a[1])}].delay =
          std::chrono::milliseconds(parse_number(a[2], 0, 60000, "--delay"));
    } else if (opt == "--drop") {
      auto a = take(i, argc, argv, 2, opt);
      s.answers[{std::string(a[0]), parse_type(a[1])}].drop = true;
    } else if (opt == "--rcode") {
      add_rcode(s, take(i, argc, argv, 3, opt));
    } else if (opt == "--cname") {
      auto a = take(i, argc, argv, 2, opt);
      s.cnames.emplace_back(a[0], a[1]);
    } else {
      throw BadArgument("unknown argument: " + std::string(opt));
    }
  }
  add_cnames(s);
  return s;
}

}  // namespace

int main(int argc, char** argv) {
  Script script;
  try {
    script = parse_args(argc, argv);
  } catch (const BadArgument& e) {
    std::fprintf(stderr,
                 "heyes-test-dns: %s\nusage: heyes-test-dns [--listen ADDR[:PORT]] [--lifetime S] "
                 "[--record NAME A|AAAA ADDRESS]... [--delay NAME A|AAAA MS]... [--drop NAME A|AAAA]...\n"
                 "       [--rcode NAME A|AAAA|ANY NXDOMAIN|SERVFAIL|REFUSED|NODATA]... [--cname NAME TARGET]...\n",
                 e.what());
    return 2;
  }
  try {
    asio::io_context ioc;
    heyes::dns::TestServer server(ioc.get_executor(), script.listen.address, script.listen.port);
    for (auto& [key, answer] : script.answers) server.set(key.first, key.second, std::move(answer));

    // Stop on SIGTERM/SIGINT, or when the lifetime is over.
    asio::signal_set signals(ioc, SIGTERM, SIGINT);
    asio::steady_timer lifetime(ioc, std::chrono::seconds(script.lifetime_s));
    auto stop = [&](const std::error_code&, auto&&...) {
      signals.cancel();
      lifetime.cancel();
      server.close();
    };
    signals.async_wait(stop);
    lifetime.async_wait(stop);

    heyes::dns::Nameserver bound{script.listen.address, server.port()};
    std::printf("listening %s\n", bound.to_string().c_str());
    std::fflush(stdout);
    ioc.run();
  } catch (const std::exception& e) {
    std::fprintf(stderr, "heyes-test-dns: %s\n", e.what());
    return 1;
  }
  return 0;
}
