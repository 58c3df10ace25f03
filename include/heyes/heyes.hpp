// SPDX-License-Identifier: MIT
// Umbrella header: everything a user of heyes needs.
#pragma once

#include "heyes/address.hpp"
#include "heyes/dial.hpp"
#include "heyes/diagnostic.hpp"
#include "heyes/error.hpp"
#include "heyes/select/policy.hpp"
#include "heyes/trace.hpp"
#include "heyes/version.hpp"
