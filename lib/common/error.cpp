// SPDX-License-Identifier: MIT
// The heyes error category: messages and std::errc equivalents.
#include "heyes/error.hpp"

namespace heyes {
namespace {

class Category final : public std::error_category {
 public:
  const char* name() const noexcept override { return "heyes"; }

  std::string message(int value) const override {
    switch (static_cast<errc>(value)) {
      case errc::no_address: return "host has no usable address";
      case errc::all_attempts_failed: return "every connection attempt failed";
      case errc::timed_out: return "connection timed out";
      case errc::bad_host_name: return "invalid host name";
      case errc::bad_service: return "invalid port or unknown service";
      case errc::host_not_found: return "host not found";
      case errc::no_data: return "host has no address of the requested family";
      case errc::dns_server_failure: return "every nameserver failed";
      case errc::dns_timeout: return "DNS query timed out";
      case errc::dns_bad_response: return "malformed DNS response";
      case errc::family_unavailable: return "no address of a usable family";
      case errc::parse_error: return "parse error";
      case errc::attempt_abandoned: return "abandoned for a newer attempt";
      case errc::attempt_timed_out: return "connection attempt timed out";
      case errc::internal_error: return "internal error in heyes";
      case errc::name_service_failure: return "name service failed";
    }
    return "unknown heyes error";
  }

  std::error_condition default_error_condition(int value) const noexcept override {
    switch (static_cast<errc>(value)) {
      case errc::timed_out:
      case errc::attempt_timed_out:
      case errc::dns_timeout: return std::errc::timed_out;
      case errc::bad_host_name:
      case errc::bad_service:
      case errc::parse_error: return std::errc::invalid_argument;
      case errc::family_unavailable: return std::errc::address_family_not_supported;
      default: return {value, *this};
    }
  }
};

}  // namespace

const char* errc_name(errc e) noexcept {
  switch (e) {
    case errc::no_address: return "no_address";
    case errc::all_attempts_failed: return "all_attempts_failed";
    case errc::timed_out: return "timed_out";
    case errc::bad_host_name: return "bad_host_name";
    case errc::bad_service: return "bad_service";
    case errc::host_not_found: return "host_not_found";
    case errc::no_data: return "no_data";
    case errc::dns_server_failure: return "dns_server_failure";
    case errc::dns_timeout: return "dns_timeout";
    case errc::dns_bad_response: return "dns_bad_response";
    case errc::family_unavailable: return "family_unavailable";
    case errc::parse_error: return "parse_error";
    case errc::attempt_abandoned: return "attempt_abandoned";
    case errc::attempt_timed_out: return "attempt_timed_out";
    case errc::internal_error: return "internal_error";
    case errc::name_service_failure: return "name_service_failure";
  }
  return "unknown";
}

const std::error_category& category() noexcept {
  static const Category instance;
  return instance;
}

}  // namespace heyes
