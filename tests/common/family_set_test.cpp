// SPDX-License-Identifier: MIT
// FamilySet: the two-bit value type of families asked for, waited for or usable.
#include <doctest/doctest.h>

#include "heyes/address.hpp"

using heyes::Family;
using heyes::FamilySet;

// Everything is constexpr.
static_assert(FamilySet::both().contains(Family::v6) && FamilySet::both().contains(Family::v4));
static_assert(FamilySet::neither().none() && !FamilySet::neither().any());
static_assert(FamilySet::only(Family::v4) == FamilySet(false, true));
static_assert((FamilySet::both() & FamilySet::only(Family::v6)) == FamilySet::only(Family::v6));
static_assert(FamilySet::both().without(Family::v6) == FamilySet::only(Family::v4));

TEST_CASE("FamilySet: members, intersection, equality") {
  const FamilySet v6 = FamilySet::only(Family::v6);
  CHECK(v6.v6);
  CHECK_FALSE(v6.v4);
  CHECK(v6.contains(Family::v6));
  CHECK_FALSE(v6.contains(Family::v4));
  CHECK(v6.any());
  CHECK_FALSE(v6.none());
  CHECK((v6 & FamilySet::only(Family::v4)).none());
  CHECK((v6 & FamilySet::both()) == v6);
  CHECK(FamilySet::both() != v6);
  CHECK(v6.without(Family::v6) == FamilySet::neither());
  FamilySet f{true, true};
  f.v4 = false;  // the bits are plain members
  CHECK(f == v6);
}
