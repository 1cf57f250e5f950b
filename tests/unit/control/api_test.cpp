// The control API's access rules, without sockets: reads are open over the unix socket and
// a loopback listener, every mutation needs the configured token (compared in constant
// time), no token configured means no mutations, and a remote listener wants the token for
// reads too. Unknown paths and methods are errors with their status.

#include <gtest/gtest.h>

#include "hftguard/control/api.hpp"

using namespace hftguard;
using namespace hftguard::control;

namespace {

struct Answer {
  int status = 0;
  nlohmann::json body;
};

Answer call(const ControlApi& api, const std::string& method, const std::string& path,
            const std::string& auth = "", bool unix_socket = false) {
  net::ServerRequest q;
  q.host = "127.0.0.1:9477";
  q.method = method;
  q.path = path;
  q.authorization = auth;
  q.unix_socket = unix_socket;
  Answer a;
  api.handle(q, [&](net::ServerResponse r) {
    a.status = r.status;
    a.body = nlohmann::json::parse(r.body, nullptr, false);
  });
  return a;
}

ControlApi withRoutes(ControlApi::Options o, int* changes) {
  ControlApi api(std::move(o));
  api.route("GET", "/status", Access::Read,
            [](const net::ServerRequest&, net::ServerReply r) { r(jsonResponse(200, {{"ok", true}})); });
  api.route("POST", "/pause", Access::Mutate, [changes](const net::ServerRequest&, net::ServerReply r) {
    ++*changes;
    r(jsonResponse(200, {{"paused", true}}));
  });
  return api;
}

}  // namespace

TEST(ControlApi, ReadsAreOpenLocallyAndEveryMutationNeedsTheToken) {
  int changes = 0;
  auto api = withRoutes({std::string("s3cret"), false}, &changes);
  EXPECT_EQ(call(api, "GET", "/status").status, 200);
  EXPECT_EQ(call(api, "GET", "/status", "", true).status, 200);
  auto none = call(api, "POST", "/pause", "", true);
  EXPECT_EQ(none.status, 401);
  EXPECT_NE(none.body.value("error", "").find("token is required"), std::string::npos);
  EXPECT_EQ(call(api, "POST", "/pause", "Bearer s3cre").status, 401);
  EXPECT_EQ(call(api, "POST", "/pause", "Bearer s3cret!").status, 401);
  EXPECT_EQ(call(api, "POST", "/pause", "Basic s3cret").status, 401);
  EXPECT_EQ(changes, 0);
  EXPECT_EQ(call(api, "POST", "/pause", "Bearer s3cret").status, 200);
  EXPECT_EQ(changes, 1);
}

TEST(ControlApi, WithoutATokenConfiguredNothingCanBeChanged) {
  int changes = 0;
  auto api = withRoutes({std::nullopt, false}, &changes);
  EXPECT_EQ(call(api, "GET", "/status").status, 200);
  EXPECT_EQ(call(api, "POST", "/pause", "Bearer anything", true).status, 403);
  EXPECT_EQ(changes, 0);
}

TEST(ControlApi, ARemoteListenerWantsTheTokenForReadsButNotOverTheSocket) {
  int changes = 0;
  auto api = withRoutes({std::string("t"), true}, &changes);
  EXPECT_EQ(call(api, "GET", "/status").status, 401);
  EXPECT_EQ(call(api, "GET", "/status", "Bearer t").status, 200);
  EXPECT_EQ(call(api, "GET", "/status", "", true).status, 200);
}

TEST(ControlApi, UnknownPathsAndMethodsAreRefusedAndObserved) {
  int changes = 0;
  auto api = withRoutes({std::string("t"), false}, &changes);
  std::vector<std::pair<std::string, int>> seen;
  api.observe([&](const std::string& path, int status) { seen.emplace_back(path, status); });
  EXPECT_EQ(call(api, "GET", "/nope").status, 404);
  EXPECT_EQ(call(api, "DELETE", "/status").status, 405);
  EXPECT_EQ(call(api, "GET", "/pause").status, 405);
  ASSERT_EQ(seen.size(), 3u);
  EXPECT_EQ(seen[0], (std::pair<std::string, int>{"", 404}));
  EXPECT_EQ(seen[1], (std::pair<std::string, int>{"/status", 405}));
}

TEST(ControlApi, ALoopbackListenerAnswersOnlyToItsOwnHostNames) {
  int changes = 0;
  auto api = withRoutes({std::string("t"), false, {"127.0.0.1:9477", "localhost:9477"}}, &changes);
  auto with = [&](const std::string& host, bool unix_socket) {
    net::ServerRequest q;
    q.method = "GET";
    q.path = "/status";
    q.host = host;
    q.unix_socket = unix_socket;
    int status = 0;
    api.handle(q, [&](net::ServerResponse r) { status = r.status; });
    return status;
  };
  EXPECT_EQ(with("127.0.0.1:9477", false), 200);
  EXPECT_EQ(with("localhost:9477", false), 200);
  EXPECT_EQ(with("evil.example:9477", false), 403);  // DNS rebinding
  EXPECT_EQ(with("", false), 403);
  EXPECT_EQ(with("anything", true), 200);  // the socket has no host
}

TEST(ControlApi, SecretsCompareByContentOnly) {
  EXPECT_TRUE(sameSecret("abc", "abc"));
  EXPECT_FALSE(sameSecret("abc", "abd"));
  EXPECT_FALSE(sameSecret("abc", "abcd"));
  EXPECT_FALSE(sameSecret("", "a"));
  EXPECT_TRUE(sameSecret("", ""));
}

TEST(ControlApi, ABodyMustBeAJsonObject) {
  net::ServerRequest q;
  std::string why;
  EXPECT_EQ(jsonBody(q, &why), nlohmann::json::object());
  q.body = "[1]";
  EXPECT_FALSE(jsonBody(q, &why));
  q.body = "{\"reason\": \"x\"}";
  EXPECT_EQ(jsonBody(q, &why)->value("reason", ""), "x");
}
