// Bytes from a Redis server -> hiredis' reader -> the client's reply conversion.
#include <cstddef>
#include <cstdint>

#include <hiredis/hiredis.h>

#include "net/redis_reply.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  redisReader* reader = redisReaderCreate();
  hftguard::net::capReplyArrays(reader);  // as the client's reader is
  redisReaderFeed(reader, reinterpret_cast<const char*>(data), size);
  for (int i = 0; i < 64; ++i) {
    void* reply = nullptr;
    if (redisReaderGetReply(reader, &reply) != REDIS_OK || reply == nullptr) break;
    (void)hftguard::net::convertReply(static_cast<redisReply*>(reply));
    freeReplyObject(reply);
  }
  redisReaderFree(reader);
  return 0;
}
