// SPDX-License-Identifier: MIT
// Usable families (as AI_ADDRCONFIG): which families one dial queries and waits for, from the Dialer's connectivity state.
#pragma once

#include <string_view>

#include "dialer_state.hpp"
#include "heyes/trace.hpp"

namespace heyes::detail {

// requested: what the options allow. explicit_family: the caller restricted
// the family (or bound a local address), so it is queried whatever the host
// has. "localhost" names are always queried for both. When the host seems to
// have no usable family at all, both requested families are kept (no guess
// may make a dial fail). Adds a families_usable event to the trace.
FamilySet usable_families(DialerState& dialer, std::string_view host, FamilySet requested,
                              bool explicit_family, TimePoint now, Trace& trace);

}  // namespace heyes::detail
