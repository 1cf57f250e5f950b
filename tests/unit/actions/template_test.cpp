// Placeholders filled for their destination: a value with quotes, backslashes, newlines,
// '&', '/', '%', spaces and non-ASCII text is data in a JSON body, a URL and a form.

#include "hftguard/actions/template.hpp"

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

using namespace hftguard;

namespace {

// What a libpq error can look like, and worse.
const std::string kNasty = "FATAL:  role \"x\" \\ does not exist\nline 2\t&a=b/c%41 d 50% café ✓";

actions::PlanContext context(std::string reason) {
  return {"trading",        "n1", "pg1:5432", "pg2/5432", "tok", "2026-11-26T00:00:00.000Z",
          std::move(reason)};
}

// Percent-decoding, '+' as a space when `form`.
std::string decode(const std::string& s, bool form) {
  std::string out;
  for (std::size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '%' && i + 2 < s.size()) {
      out += static_cast<char>(std::stoi(s.substr(i + 1, 2), nullptr, 16));
      i += 2;
    } else if (form && s[i] == '+') {
      out += ' ';
    } else {
      out += s[i];
    }
  }
  return out;
}

TEST(Template, JsonBodyStaysValidJsonAndKeepsTheValue) {
  const std::string body = actions::fillJson(
      R"({"text": "failover of {component}: {reason}", "n": 1})", context(kNasty));
  const auto j = nlohmann::json::parse(body);  // throws if the value broke the body
  EXPECT_EQ(j["text"], "failover of trading: " + kNasty);
  EXPECT_EQ(j["n"], 1);
}

TEST(Template, JsonEscapesControlCharactersAndReplacesInvalidUtf8) {
  EXPECT_EQ(actions::jsonEscaped("a\"b\\c\nd\x01"), "a\\\"b\\\\c\\nd\\u0001");
  EXPECT_EQ(actions::jsonEscaped("caf\xc3\xa9"), "caf\xc3\xa9");  // UTF-8 kept as is
  const std::string bad = actions::fillJson(R"({"r": "{reason}"})", context("bad \xff byte"));
  EXPECT_EQ(nlohmann::json::parse(bad)["r"], "bad \xef\xbf\xbd byte");
}

TEST(Template, UrlEncodesEachValueButNotTheTemplate) {
  const std::string url = actions::fillUrl(
      "http://lb:8080/api/servers/{new_primary}?why={reason}&c={component}", context(kNasty));
  EXPECT_TRUE(url.starts_with("http://lb:8080/api/servers/pg2%2F5432?why=")) << url;
  EXPECT_TRUE(url.ends_with("&c=trading")) << url;
  const std::string why = url.substr(url.find("why=") + 4, url.find("&c=") - url.find("why=") - 4);
  for (char ch : std::string(" &/\"\\\n?#")) EXPECT_EQ(why.find(ch), std::string::npos) << ch;
  EXPECT_EQ(decode(why, false), kNasty);
}

// A host:port a step found out (Patroni's, Sentinel's {new_primary}) addresses the request;
// anything a host:port cannot hold is still encoded, so it cannot smuggle in a path.
TEST(Template, UrlAuthorityTakesAHostPortAsItIs) {
  EXPECT_EQ(actions::fillUrl("http://{old_primary}/health?n={old_primary}", context("x")),
            "http://pg1:5432/health?n=pg1%3A5432");
  EXPECT_EQ(actions::fillUrl("http://{new_primary}/x", context("x")), "http://pg2%2F5432/x");
}

TEST(Template, FormValueIsEncodedWhole) {
  const std::string v = actions::fillForm("{reason} & more", context(kNasty));
  for (char ch : std::string(" &/=\"\\\n")) EXPECT_EQ(v.find(ch), std::string::npos) << ch;
  EXPECT_EQ(decode(v, true), kNasty + " & more");
  EXPECT_EQ(actions::formEncoded("a b+c"), "a+b%2Bc");
}

TEST(Template, PlainFillIsUnchanged) {
  EXPECT_EQ(actions::fill("{reason}", context(kNasty)), kNasty);
  EXPECT_EQ(actions::fillJson("{unknown} {", context("x")), "{unknown} {");
}

}  // namespace

namespace {

TEST(Template, RolesFillTheEpochAndTheMembersValues) {
  actions::PlanContext ctx = context("r");
  ctx.epoch = 7;
  ctx.members = {{"new_primary.api", "127.0.0.1:19081"}, {"old_primary.name", "engine a"}};
  EXPECT_EQ(actions::fillUrl("http://{new_primary.api}/admin/promote?e={epoch}&o={old_primary.name}",
                             ctx),
            "http://127.0.0.1:19081/admin/promote?e=7&o=engine%20a");
  EXPECT_EQ(actions::fill("{old_primary} -> {new_primary} at {epoch}", ctx),
            "pg1:5432 -> pg2/5432 at 7");
  // A value the roles do not have stays as written; so does everything without roles.
  EXPECT_EQ(actions::fill("{new_primary.port}", ctx), "{new_primary.port}");
  // A self-fence's context: the members' values, and no epoch before the first failover.
  ctx.epoch = 0;
  EXPECT_EQ(actions::fill("{epoch} {new_primary.api}", ctx), "{epoch} 127.0.0.1:19081");
  ctx.members.clear();
  EXPECT_EQ(actions::fill("{epoch} {new_primary.api}", ctx), "{epoch} {new_primary.api}");
}

}  // namespace
