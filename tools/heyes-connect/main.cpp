// SPDX-License-Identifier: MIT
// heyes-connect: the command-line tester of heyes (sort, dial and demo modes).
#include <cstdio>
#include <exception>
#include <string_view>
#include <vector>

#include "cli.hpp"
#include "dial_mode.hpp"
#include "sort_mode.hpp"

int main(int argc, char** argv) {
  using namespace heyes_connect;
  const std::vector<std::string_view> args(argv + (argc > 0 ? 1 : 0), argv + argc);
  // With --json an error that ends the run is also one JSON object on stdout.
  const bool json = wants_json(args);
  auto fail = [json](const char* code, const char* message, int status) {
    std::fprintf(stderr, "heyes-connect: %s\n", message);
    if (json) print_json_error(code, message);
    return status;
  };
  try {
    const Options options = parse_command_line(args);
    switch (options.mode) {
      case Mode::help: std::fputs(usage_text().c_str(), stdout); return 0;
      case Mode::version: std::printf("heyes-connect %s\n", HEYES_VERSION); return 0;
      case Mode::sort: return run_sort(options, stdout);
      case Mode::dial: return run_dial(options);
      case Mode::demo: return run_demo(options);
      case Mode::none: break;  // parse_command_line refuses it
    }
  } catch (const UsageError& e) {
    return fail("bad_input", e.what(), 2);
  } catch (const heyes::ParseError& e) {  // --policy FILE: "file:line: reason"
    return fail("bad_input", e.what(), 2);
  } catch (const std::exception& e) {
    return fail("runtime_error", e.what(), 1);
  }
  return 1;
}
