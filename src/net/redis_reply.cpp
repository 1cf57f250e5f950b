#include "redis_reply.hpp"

#include <mutex>

#include <hiredis/hiredis.h>

namespace hftguard::net {
namespace {

redisReplyObjectFunctions capped{};  // hiredis' own reply functions, createArray capped
void* (*hiredisCreateArray)(const redisReadTask*, int) = nullptr;

void* cappedCreateArray(const redisReadTask* task, int elements) {
  if (elements > kMaxReplyElements) return nullptr;  // the reader's error: nothing allocated
  return hiredisCreateArray(task, elements);
}

}  // namespace

void capReplyArrays(redisReader* reader) {
  static std::once_flag once;
  std::call_once(once, [reader] {
    capped = *reader->fn;
    hiredisCreateArray = capped.createArray;
    capped.createArray = &cappedCreateArray;
  });
  reader->fn = &capped;
}

RedisReply convertReply(const redisReply* r) {
  RedisReply out;
  switch (r->type) {
    case REDIS_REPLY_STRING:
      out.type = RedisReply::Type::String;
      break;
    case REDIS_REPLY_STATUS:
      out.type = RedisReply::Type::Status;
      break;
    case REDIS_REPLY_ERROR:
      out.type = RedisReply::Type::Error;
      break;
    case REDIS_REPLY_INTEGER:
      out.type = RedisReply::Type::Integer;
      break;
    case REDIS_REPLY_ARRAY:
      out.type = RedisReply::Type::Array;
      break;
    default:
      out.type = RedisReply::Type::Nil;
      break;
  }
  if (r->str != nullptr) out.text.assign(r->str, r->len);
  out.integer = r->integer;
  for (std::size_t i = 0; i < r->elements; ++i) out.elements.push_back(convertReply(r->element[i]));
  return out;
}

}  // namespace hftguard::net
