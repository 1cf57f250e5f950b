#include "hftguard/core/duration.hpp"

#include <gtest/gtest.h>

using namespace std::chrono_literals;
using hftguard::formatDuration;
using hftguard::formatPercent;
using hftguard::parseDuration;
using hftguard::parsePercent;

TEST(Duration, ParsesEveryUnit) {
  EXPECT_EQ(parseDuration("250ms"), 250ms);
  EXPECT_EQ(parseDuration("2s"), 2s);
  EXPECT_EQ(parseDuration("5m"), 5min);
  EXPECT_EQ(parseDuration("1h"), 1h);
  EXPECT_EQ(parseDuration("1d"), 24h);
  EXPECT_EQ(parseDuration("10us"), 10us);
  EXPECT_EQ(parseDuration("7ns"), 7ns);
  EXPECT_EQ(parseDuration("0"), 0s);
  EXPECT_EQ(parseDuration("1m30s"), 90s);
  EXPECT_EQ(parseDuration("1s500ms"), 1500ms);
}

TEST(Duration, RejectsAnythingElse) {
  for (const char* bad : {"", "fast", "5", "-1s", "1.5s", "2 s", "s", "5sec", "1x", "ms",
                          "99999999999999999999s", "9999999999d"}) {
    EXPECT_FALSE(parseDuration(bad).has_value()) << bad;
  }
}

TEST(Duration, FormatsTheShortestExactSpelling) {
  EXPECT_EQ(formatDuration(250ms), "250ms");
  EXPECT_EQ(formatDuration(2s), "2s");
  EXPECT_EQ(formatDuration(300s), "5m");
  EXPECT_EQ(formatDuration(90s), "1m30s");
  EXPECT_EQ(formatDuration(1500ms), "1s500ms");
  EXPECT_EQ(formatDuration(15min), "15m");
  EXPECT_EQ(formatDuration(25h), "25h");
  EXPECT_EQ(formatDuration(10us), "10us");
  EXPECT_EQ(formatDuration(0s), "0");
  for (hftguard::Duration d :
       {hftguard::Duration(1ms), hftguard::Duration(999ms), hftguard::Duration(61s),
        hftguard::Duration(3601s), hftguard::Duration(7h)})
    EXPECT_EQ(parseDuration(formatDuration(d)), d);
}

TEST(Percent, RequiresThePercentSign) {
  EXPECT_DOUBLE_EQ(*parsePercent("95%"), 0.95);
  EXPECT_DOUBLE_EQ(*parsePercent("99.5%"), 0.995);
  EXPECT_DOUBLE_EQ(*parsePercent("0%"), 0.0);
  for (const char* bad : {"95", "0.95", "%", "-5%", "abc%", "5 %", ""}) {
    EXPECT_FALSE(parsePercent(bad).has_value()) << bad;
  }
  EXPECT_EQ(formatPercent(0.95), "95%");
  EXPECT_EQ(formatPercent(0.055), "5.5%");
}
