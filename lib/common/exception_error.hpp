// SPDX-License-Identifier: MIT
// The error code that stands for an exception the library did not expect, for handlers that must get an error.
#pragma once

#include <new>
#include <system_error>

#include "heyes/error.hpp"

namespace heyes::detail {

// Call inside a catch block. Out of memory is std::errc::not_enough_memory,
// a std::system_error keeps its code, anything else is errc::internal_error.
inline std::error_code error_from_current_exception() noexcept {
  try {
    throw;
  } catch (const std::bad_alloc&) {
    return std::make_error_code(std::errc::not_enough_memory);
  } catch (const std::system_error& e) {
    return e.code();
  } catch (...) {
    return make_error_code(errc::internal_error);
  }
}

}  // namespace heyes::detail
