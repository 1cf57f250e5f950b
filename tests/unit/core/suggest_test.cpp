#include "hftguard/core/suggest.hpp"

#include <gtest/gtest.h>

using hftguard::closestMatch;
using hftguard::editDistance;

TEST(Suggest, EditDistanceCountsSwapsAsOne) {
  EXPECT_EQ(editDistance("interval", "interval"), 0u);
  EXPECT_EQ(editDistance("intervall", "interval"), 1u);
  EXPECT_EQ(editDistance("prot", "port"), 1u);
  EXPECT_EQ(editDistance("", "abc"), 3u);
}

TEST(Suggest, OffersOnlyLikelyTypos) {
  const std::vector<std::string_view> keys = {"host", "port", "interval", "timeout"};
  EXPECT_EQ(closestMatch("intervall", keys), "interval");
  EXPECT_EQ(closestMatch("tmeout", keys), "timeout");
  EXPECT_EQ(closestMatch("prot", keys), "port");
  EXPECT_FALSE(closestMatch("url", keys).has_value());
  EXPECT_FALSE(closestMatch("password", keys).has_value());
}
