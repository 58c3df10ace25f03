// SPDX-License-Identifier: MIT
// Example: a Dialer that takes its names from the program's own resolver (the seam), here a fixed table.
// usage: own_resolver HOST PORT NAME=ADDR[,ADDR...]...   (own_resolver db.internal 5432 db.internal=127.0.0.1,::1)
#include <heyes/dial/dialer_options.hpp>
#include <heyes/dial.hpp>
#include <heyes/dns/name_resolver.hpp>
#include <heyes/error.hpp>

#include <asio/io_context.hpp>
#include <asio/post.hpp>

#include <cstdio>
#include <map>
#include <memory>
#include <string>
#include <vector>

// The program's own source of names (a service-discovery client, c-ares, a
// cache): given a name and the families wanted, one event per family,
// delivered through the executor heyes passes, never inside start().
class TableResolver : public heyes::NameResolver {
 public:
  explicit TableResolver(std::map<std::string, std::vector<heyes::IpAddress>> table) : table_(std::move(table)) {}

  std::shared_ptr<Lookup> start(const asio::any_io_executor& ex, std::string_view host, heyes::FamilySet families,
                                EventHandler on_event) override {
    auto lookup = std::make_shared<TableLookup>();
    auto it = table_.find(std::string(host));
    std::vector<heyes::IpAddress> found = it == table_.end() ? std::vector<heyes::IpAddress>{} : it->second;
    asio::post(ex, [lookup, families, found, known = it != table_.end(), on_event = std::move(on_event)] {
      for (heyes::Family f : {heyes::Family::v6, heyes::Family::v4}) {
        if (!families.contains(f) || lookup->cancelled) continue;
        heyes::dns::ResolveEvent e;
        e.family = f;
        e.source = "table";  // shown in the trace
        for (const auto& a : found)
          if (a.family() == f) e.addresses.push_back(a);
        if (e.addresses.empty()) e.error = known ? heyes::errc::no_data : heyes::errc::host_not_found;
        on_event(e);
      }
    });
    return lookup;
  }

 private:
  // The dial cancels its lookup when it ends: nothing is delivered after.
  struct TableLookup : Lookup {
    void cancel() override { cancelled = true; }
    bool cancelled = false;
  };
  std::map<std::string, std::vector<heyes::IpAddress>> table_;
};

int main(int argc, char** argv) {
  if (argc < 4) {
    std::fprintf(stderr, "usage: own_resolver HOST PORT NAME=ADDR[,ADDR...]...\n");
    return 2;
  }
  std::map<std::string, std::vector<heyes::IpAddress>> table;
  for (int i = 3; i < argc; ++i) {
    std::string entry = argv[i];
    auto eq = entry.find('=');
    if (eq == std::string::npos) return 2;
    for (std::size_t p = eq + 1; p <= entry.size();) {
      auto comma = entry.find(',', p);
      if (comma == std::string::npos) comma = entry.size();
      auto a = heyes::IpAddress::parse(entry.substr(p, comma - p));
      if (!a) {
        std::fprintf(stderr, "not an address in %s\n", argv[i]);
        return 2;
      }
      table[entry.substr(0, eq)].push_back(*a);
      p = comma + 1;
    }
  }

  heyes::DialerOptions config;
  config.name_resolver = std::make_shared<TableResolver>(std::move(table));
  heyes::Dialer dialer(config);

  asio::io_context ioc;
  int status = 1;
  dialer.async_dial_result(ioc.get_executor(), argv[1], argv[2], {}, [&](std::error_code ec, heyes::DialResult r) {
    for (const auto& e : r.trace.events())
      if (e.type == heyes::event::dns_answer) std::printf("answer from %s\n", e.source.c_str());
    if (ec) {
      std::printf("failed: %s\n", ec.message().c_str());
      return;
    }
    std::printf("connected to %s\n", r.endpoint.address().to_string().c_str());
    status = 0;
  });
  ioc.run();
  return status;
}
