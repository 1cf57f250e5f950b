#pragma once
// Private: a reply read by hiredis, copied into the client's own RedisReply. Its own file so
// what a server's bytes turn into is fuzzed alone (fuzz/fuzz_redis_reply.cpp).

#include "hftguard/net/redis_client.hpp"

struct redisReply;
struct redisReader;

namespace hftguard::net {

RedisReply convertReply(const redisReply* r);

// hiredis 0.14 allocates an array's element pointers as soon as its header arrives: a reply
// announcing 633,333,333 elements (a garbage or hostile server) asked for ~5 GB at once. An
// array over this many elements is refused instead: the reader reports an error and the
// connection is dropped, a failed probe with a reason.
constexpr int kMaxReplyElements = 1 << 20;
// Makes `reader` refuse arrays over kMaxReplyElements; hiredis' own functions otherwise.
void capReplyArrays(redisReader* reader);

}  // namespace hftguard::net
