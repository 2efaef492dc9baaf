// NameTable (store/name_table.h): the settings tables (campaigns → pools, ...) both stores keep.
#include "store/name_table.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

namespace cidrotor::store {
namespace {

using ::testing::ElementsAre;
using ::testing::IsEmpty;

TEST(NameTableTest, UnmappedCampaignsGetTheDefaultPoolAsEmpty) {
  NameTable pools;
  EXPECT_EQ(pools.Lookup("sales"), "");
  EXPECT_EQ(pools.Set("sales", "east"), std::nullopt);
  EXPECT_EQ(pools.Lookup("sales"), "east");
  EXPECT_EQ(pools.Lookup("support"), "");
}

TEST(NameTableTest, SetAndRemoveReturnThePreviousPool) {
  NameTable pools;
  pools.Set("sales", "east");
  EXPECT_EQ(pools.Set("sales", "west"), "east");
  EXPECT_EQ(pools.Remove("sales"), "west");
  EXPECT_EQ(pools.Remove("sales"), std::nullopt);
  pools.Apply("sales", "north");
  EXPECT_EQ(pools.Lookup("sales"), "north");
  pools.Apply("sales", std::nullopt);
  EXPECT_THAT(pools.List(), IsEmpty());
}

TEST(NameTableTest, ListIsByCampaignName) {
  NameTable pools;
  pools.Set("support", "b");
  pools.Set("retention", "c");
  pools.Set("sales", "a");
  EXPECT_THAT(pools.List(),
              ElementsAre(NameTable::Entry{"retention", "c"}, NameTable::Entry{"sales", "a"},
                          NameTable::Entry{"support", "b"}));
  EXPECT_EQ(pools.size(), 3U);
}

TEST(NameTableTest, AReadBeforeALocalChangeDoesNotUndoIt) {
  NameTable pools;
  const std::uint64_t before = pools.Version();
  pools.Set("sales", "east");  // this instance's change, made while the copy was being read
  EXPECT_FALSE(pools.ReplaceIfUnchanged({}, before));
  EXPECT_EQ(pools.Lookup("sales"), "east");
  EXPECT_TRUE(pools.ReplaceIfUnchanged({{"support", "west"}}, pools.Version()));
  EXPECT_THAT(pools.List(), ElementsAre(NameTable::Entry{"support", "west"}));
}

}  // namespace
}  // namespace cidrotor::store
