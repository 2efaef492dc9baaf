#include "core/area_code_states.h"

#include <gtest/gtest.h>

#include <algorithm>

#include "core/phone_number.h"

namespace cidrotor::core {
namespace {

TEST(AreaCodeStatesTest, PlacesAreaCodesInTheirStateProvinceOrTerritory) {
  EXPECT_EQ(StateOfAreaCode(212), "NY");
  EXPECT_EQ(StateOfAreaCode(646), "NY");  // Manhattan's overlay
  EXPECT_EQ(StateOfAreaCode(310), "CA");
  EXPECT_EQ(StateOfAreaCode(202), "DC");
  EXPECT_EQ(StateOfAreaCode(416), "ON");  // Canada: provinces
  EXPECT_EQ(StateOfAreaCode(787), "PR");  // the rest of the NANP: its own region
  EXPECT_EQ(StateOfAreaCode(939), "PR");
}

// Overlays Debian's geocoding data (late 2022) does not place take the region of the area code
// they overlay (area_code_states.py OVERLAYS): a review found 445, 350, 686, 329 and 645 without
// a state, their calls then matching no `state` number.
TEST(AreaCodeStatesTest, OverlaysNewerThanTheDataTakeTheirAreaCodesState) {
  EXPECT_EQ(StateOfAreaCode(445), "PA");  // the data says "Philadelphia", without a state
  EXPECT_EQ(StateOfAreaCode(350), "CA");
  EXPECT_EQ(StateOfAreaCode(686), "VA");
  EXPECT_EQ(StateOfAreaCode(329), "NY");
  EXPECT_EQ(StateOfAreaCode(645), "FL");
  EXPECT_EQ(StateOfAreaCode(942), "ON");
}

TEST(AreaCodeStatesTest, NonGeographicAndOutOfRangeCodesHaveNoState) {
  EXPECT_EQ(StateOfAreaCode(800), "");
  EXPECT_EQ(StateOfAreaCode(888), "");
  EXPECT_EQ(StateOfAreaCode(555), "");
  EXPECT_EQ(StateOfAreaCode(1000), "");
  EXPECT_TRUE(AreaCodesOfState(800).empty());
  EXPECT_TRUE(AreaCodesOfState(70'000).empty());
}

TEST(AreaCodeStatesTest, AStateListsItsOverlaysAndNeighbours) {
  const auto new_york = AreaCodesOfState(212);
  for (const std::uint16_t npa :
       std::initializer_list<std::uint16_t>{212, 332, 516, 518, 646, 718, 917}) {
    EXPECT_NE(std::find(new_york.begin(), new_york.end(), npa), new_york.end()) << npa;
  }
  EXPECT_EQ(std::find(new_york.begin(), new_york.end(), 201), new_york.end());  // New Jersey
  EXPECT_TRUE(std::is_sorted(new_york.begin(), new_york.end()));
}

TEST(AreaCodeStatesTest, EveryAreaCodeOfAStateIsInThatStateAndOnlyThere) {
  int placed = 0;
  for (std::uint32_t npa = 0; npa < 1000; ++npa) {
    const auto state = StateOfAreaCode(npa);
    const auto same_state = AreaCodesOfState(npa);
    EXPECT_EQ(state.empty(), same_state.empty()) << npa;
    if (state.empty()) continue;
    ++placed;
    EXPECT_TRUE(IsValidAreaCode(npa)) << npa;
    EXPECT_NE(std::find(same_state.begin(), same_state.end(), npa), same_state.end()) << npa;
    for (const std::uint16_t other : same_state) EXPECT_EQ(StateOfAreaCode(other), state) << npa;
  }
  EXPECT_GT(placed, 300);  // the geographic area codes of the US, Canada and the Caribbean
}

}  // namespace
}  // namespace cidrotor::core
