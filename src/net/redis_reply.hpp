#pragma once
// Private: a reply read by hiredis, copied into the client's own RedisReply. Its own file so
// what a server's bytes turn into is fuzzed alone (fuzz/fuzz_redis_reply.cpp).

#include "hftguard/net/redis_client.hpp"

struct redisReply;

namespace hftguard::net {

RedisReply convertReply(const redisReply* r);

}  // namespace hftguard::net
