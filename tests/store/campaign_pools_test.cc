// CampaignPools (store/campaign_pools.h): the campaigns → pools table both stores keep in memory.
#include "store/campaign_pools.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

namespace cidrotor::store {
namespace {

using ::testing::ElementsAre;
using ::testing::IsEmpty;

TEST(CampaignPoolsTest, UnmappedCampaignsGetTheDefaultPoolAsEmpty) {
  CampaignPools pools;
  EXPECT_EQ(pools.PoolFor("sales"), "");
  EXPECT_EQ(pools.Set("sales", "east"), std::nullopt);
  EXPECT_EQ(pools.PoolFor("sales"), "east");
  EXPECT_EQ(pools.PoolFor("support"), "");
}

TEST(CampaignPoolsTest, SetAndRemoveReturnThePreviousPool) {
  CampaignPools pools;
  pools.Set("sales", "east");
  EXPECT_EQ(pools.Set("sales", "west"), "east");
  EXPECT_EQ(pools.Remove("sales"), "west");
  EXPECT_EQ(pools.Remove("sales"), std::nullopt);
  pools.Apply("sales", "north");
  EXPECT_EQ(pools.PoolFor("sales"), "north");
  pools.Apply("sales", std::nullopt);
  EXPECT_THAT(pools.List(), IsEmpty());
}

TEST(CampaignPoolsTest, ListIsByCampaignName) {
  CampaignPools pools;
  pools.Set("support", "b");
  pools.Set("retention", "c");
  pools.Set("sales", "a");
  EXPECT_THAT(pools.List(), ElementsAre(CampaignPool{"retention", "c"}, CampaignPool{"sales", "a"},
                                        CampaignPool{"support", "b"}));
  EXPECT_EQ(pools.size(), 3U);
}

TEST(CampaignPoolsTest, AReadBeforeALocalChangeDoesNotUndoIt) {
  CampaignPools pools;
  const std::uint64_t before = pools.Version();
  pools.Set("sales", "east");  // this instance's change, made while the copy was being read
  EXPECT_FALSE(pools.ReplaceIfUnchanged({}, before));
  EXPECT_EQ(pools.PoolFor("sales"), "east");
  EXPECT_TRUE(pools.ReplaceIfUnchanged({{"support", "west"}}, pools.Version()));
  EXPECT_THAT(pools.List(), ElementsAre(CampaignPool{"support", "west"}));
}

}  // namespace
}  // namespace cidrotor::store
