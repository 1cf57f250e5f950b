#include "hftguard/core/base64.hpp"

#include <gtest/gtest.h>

using hftguard::base64Decode;
using hftguard::base64Encode;

TEST(Base64, Rfc4648Vectors) {
  const std::pair<const char*, const char*> vectors[] = {{"", ""},
                                                         {"f", "Zg=="},
                                                         {"fo", "Zm8="},
                                                         {"foo", "Zm9v"},
                                                         {"foob", "Zm9vYg=="},
                                                         {"fooba", "Zm9vYmE="},
                                                         {"foobar", "Zm9vYmFy"}};
  for (const auto& [plain, encoded] : vectors) {
    EXPECT_EQ(base64Encode(plain), encoded);
    EXPECT_EQ(base64Decode(encoded), plain);
  }
  EXPECT_EQ(base64Decode(base64Encode(std::string("\0\xff\x10", 3))), std::string("\0\xff\x10", 3));
  EXPECT_FALSE(base64Decode("not base64!"));
}
