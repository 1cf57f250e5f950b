// What the fuzzers (fuzz/, scripts/fuzz) found, one test per finding: each input crashed the
// daemon's own parser once. Their inputs are also in fuzz/corpus/, which the suite replays
// (ctest fuzz-corpus/*).

#include <gtest/gtest.h>

#include <hiredis/hiredis.h>

#include "hftguard/events/event.hpp"
#include "net/redis_reply.hpp"
#include "probes/json_field.hpp"

using namespace hftguard;

// A pointer that nlohmann's contains() accepts and at() then refuses threw out of the probe
// (std::terminate in the daemon): "/a~1b/" is the key "a/b", then an empty array index.
TEST(FuzzFindings, AJsonPointerIntoAnArrayThatCannotResolveIsAMissingField) {
  const std::string body = R"({"a/b":[{"+x":1}]})";
  for (const std::string field : {"/a~1b/", "/a~1b/+x", "/a~1b/-", "/a~1b/01"}) {
    auto outcome = probes::kinds::jsonFieldMismatch(body, field, std::string("ok"), "http://t");
    ASSERT_TRUE(outcome.has_value()) << field;
    EXPECT_NE(outcome->reason.find("missing"), std::string::npos) << field << ": "
                                                                   << outcome->reason;
  }
  EXPECT_FALSE(probes::kinds::jsonFieldMismatch(body, "/a~1b/0/+x", std::string("1"), "u"))
      << "a pointer that does resolve still matches";
}

// A year past 2262 overflowed the nanosecond clock (undefined behaviour, caught by UBSan):
// `hftguard events` reading a damaged log line.
TEST(FuzzFindings, ATimestampOutsideTheClocksRangeIsMalformed) {
  EXPECT_FALSE(events::parseTimestamp("9174-11-26T10:00:00.123Z"));
  EXPECT_FALSE(events::parseTimestamp("1969-12-31T23:59:59Z"));
  EXPECT_FALSE(events::parseTimestamp("2026-13-01T00:00:00Z"));
  EXPECT_FALSE(events::parseTimestamp("2026-11-26T10:00:00.-12Z"));
  EXPECT_TRUE(events::parseTimestamp("2026-11-26T10:00:00.123Z"));
  std::string why;
  EXPECT_FALSE(events::parseEventLine(
      R"({"id":"1-1","ts":"9174-11-26T10:00:00.123Z","node":"n1","component":"c",)"
      R"("type":"failover_started","reason":"r"})",
      &why));
  EXPECT_FALSE(why.empty());
}

// A reply announcing 633,333,333 elements made hiredis 0.14 calloc ~5 GB before any element
// arrived (libFuzzer's out-of-memory; ASan's allocation-size-too-big): refused now.
TEST(FuzzFindings, AHugeMultibulkHeaderIsAnErrorNotAnAllocation) {
  redisReader* reader = redisReaderCreate();
  net::capReplyArrays(reader);
  const std::string huge = "*633333333\r\n";
  redisReaderFeed(reader, huge.data(), huge.size());
  void* reply = nullptr;
  EXPECT_EQ(redisReaderGetReply(reader, &reply), REDIS_ERR);
  EXPECT_EQ(reply, nullptr);
  redisReaderFree(reader);
  // An ordinary array still reads.
  reader = redisReaderCreate();
  net::capReplyArrays(reader);
  const std::string two = "*2\r\n$1\r\na\r\n:7\r\n";
  redisReaderFeed(reader, two.data(), two.size());
  ASSERT_EQ(redisReaderGetReply(reader, &reply), REDIS_OK);
  ASSERT_NE(reply, nullptr);
  const auto converted = net::convertReply(static_cast<redisReply*>(reply));
  EXPECT_EQ(converted.elements.size(), 2u);
  freeReplyObject(reply);
  redisReaderFree(reader);
}
