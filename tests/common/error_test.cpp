// SPDX-License-Identifier: MIT
// The heyes error category: names, messages, std::errc equivalents; diagnostics.
#include <doctest/doctest.h>

#include "heyes/diagnostic.hpp"
#include "heyes/error.hpp"

TEST_CASE("heyes error codes carry the heyes category and a message") {
  std::error_code ec = heyes::errc::timed_out;
  CHECK(ec.category().name() == std::string("heyes"));
  CHECK(ec.message() == "connection timed out");
  CHECK(ec == std::errc::timed_out);
  CHECK(std::error_code(heyes::errc::bad_host_name) == std::errc::invalid_argument);
  CHECK(std::error_code(heyes::errc::family_unavailable) == std::errc::address_family_not_supported);
  CHECK(std::error_code(heyes::errc::host_not_found) != std::errc::timed_out);
  for (int v = 1; v <= static_cast<int>(heyes::errc::internal_error); ++v)
    CHECK(heyes::category().message(v) != "unknown heyes error");
}

TEST_CASE("diagnostics print file:line: reason") {
  heyes::Diagnostic d{"gai.conf", 3, "unknown keyword 'lable'"};
  CHECK(d.to_string() == "gai.conf:3: unknown keyword 'lable'");
  CHECK(heyes::Diagnostic{"x", 0, "cannot read"}.to_string() == "x: cannot read");
  heyes::ParseError e(d);
  CHECK(std::string(e.what()) == d.to_string());
}

TEST_CASE("errc_name: each code's stable machine name is its enumerator") {
  CHECK(std::string(heyes::errc_name(heyes::errc::no_address)) == "no_address");
  CHECK(std::string(heyes::errc_name(heyes::errc::all_attempts_failed)) == "all_attempts_failed");
  CHECK(std::string(heyes::errc_name(heyes::errc::internal_error)) == "internal_error");
  CHECK(std::string(heyes::errc_name(static_cast<heyes::errc>(999))) == "unknown");
}
