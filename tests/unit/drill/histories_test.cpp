// The partition checker's first verdict: the engines' primary intervals from their role
// histories, and the time two of them were primary at once.
#include "hftguard/drill/histories.hpp"

#include <gtest/gtest.h>

using namespace hftguard::drill;

TEST(Histories, IntervalsAsPrimaryFromTheRoleLines) {
  std::string error;
  auto list = primaryIntervals("100 primary\n250 standby\n300 primary\n", 900, &error);
  EXPECT_TRUE(error.empty()) << error;
  ASSERT_EQ(list.size(), 2u);
  EXPECT_EQ(list[0].from_ns, 100);
  EXPECT_EQ(list[0].to_ns, 250);
  EXPECT_EQ(list[1].from_ns, 300);
  EXPECT_EQ(list[1].to_ns, 900);  // still open: until now
  // A repeated "primary" does not open a second interval.
  EXPECT_EQ(primaryIntervals("1 primary\n5 primary\n9 standby\n", 20).size(), 1u);
  EXPECT_TRUE(primaryIntervals("", 20).empty());
  EXPECT_TRUE(primaryIntervals("1 standby\n", 20).empty());
  // A last line still being written ("pri") is not read yet.
  std::string partial_error;
  auto partial = primaryIntervals("1 primary\n5 standby\n7 pri", 20, &partial_error);
  EXPECT_TRUE(partial_error.empty()) << partial_error;
  ASSERT_EQ(partial.size(), 1u);
  EXPECT_EQ(partial[0].to_ns, 5);
}

TEST(Histories, AMalformedLineIsAnErrorAndWhatWasReadIsKept) {
  for (const char* bad : {"10 primary\n20\n", "10 primary\nx standby\n",
                          "10 primary\n5 standby\n", "10primary\n", "10 primary\n20\n30 x"}) {
    std::string error;
    auto list = primaryIntervals(bad, 100, &error);
    EXPECT_FALSE(error.empty()) << bad;
    EXPECT_LE(list.size(), 1u) << bad;
  }
  std::string error;
  auto list = primaryIntervals("10 primary\n20 standby\n30 garbage line\n40\n", 100, &error);
  EXPECT_NE(error.find("line 4"), std::string::npos) << error;
  ASSERT_EQ(list.size(), 1u);
  EXPECT_EQ(list[0].to_ns, 20);
}

TEST(Histories, TwoPrimariesAtOnceAreSummedWithinTheWindow) {
  // a: 0-100, 200-300; b: 90-210: overlap 90-100 and 200-210.
  auto h = overlap({{"a", {{0, 100}, {200, 300}}}, {"b", {{90, 210}}}});
  EXPECT_EQ(h.double_primary_ns, 20);
  EXPECT_EQ(h.first_double_ns, 90);
  // Only what falls in the window counts.
  EXPECT_EQ(overlap({{"a", {{0, 100}, {200, 300}}}, {"b", {{90, 210}}}}, 150, 400).double_primary_ns, 10);
  // A handover (one ends where the other begins) is no overlap.
  EXPECT_EQ(overlap({{"a", {{0, 100}}}, {"b", {{100, 200}}}}).double_primary_ns, 0);
  EXPECT_EQ(overlap({{"a", {{0, 100}}}, {"b", {{100, 200}}}}).first_double_ns, 0);
  // Three engines: time with two or more open counts once.
  EXPECT_EQ(overlap({{"a", {{0, 100}}}, {"b", {{0, 100}}}, {"c", {{50, 150}}}}).double_primary_ns,
            100);
  EXPECT_EQ(overlap({}).double_primary_ns, 0);
}
