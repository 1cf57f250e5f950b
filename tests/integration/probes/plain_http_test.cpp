// The plain-HTTP path of the http and e2e_order probes (net/plain_http): what it agrees to
// serve (everything else goes to libcurl), the bytes it sends, and every way a target can
// answer: framed by length, chunked, until close, an interim 100, garbage, too much, a
// refusal, nothing at all. A malformed answer is a failed request with a reason.

#include <cstdlib>
#include <optional>

#include <boost/asio/io_context.hpp>
#include <gtest/gtest.h>

#include "../../support/http_receiver.hpp"
#include "../../support/process.hpp"
#include "../../support/probe_harness.hpp"
#include "../../support/servers.hpp"
#include "hftguard/net/plain_http.hpp"

using namespace hftguard;
using namespace hftguard::testing;
using namespace std::chrono_literals;
using net::HttpRequest;
using net::HttpResponse;
using net::PlainHttpRequest;

namespace {

HttpRequest get(std::string url) {
  HttpRequest r;
  r.url = std::move(url);
  return r;
}

// Sends one prepared request on a fresh loop; the response, or nullopt if none came in 3 s.
std::optional<HttpResponse> exchange(const HttpRequest& r) {
  auto prepared = PlainHttpRequest::prepare(r);
  EXPECT_NE(prepared, nullptr) << r.url;
  if (!prepared) return std::nullopt;
  boost::asio::io_context io;
  std::optional<HttpResponse> out;
  auto call = prepared->send(io, [&](HttpResponse resp) {
    out = std::move(resp);
    io.stop();
  });
  io.run_for(3s);
  return out;
}

std::optional<HttpResponse> exchangeWith(const std::string& reply, HttpRequest r = {}) {
  GarbageServer server(reply);
  r.url = "http://127.0.0.1:" + std::to_string(server.port()) + "/health";
  return exchange(r);
}

}  // namespace

TEST(PlainHttp, ServesOnlyWhatItCanServeAsCurlWould) {
  EXPECT_NE(PlainHttpRequest::prepare(get("http://127.0.0.1:8080/health")), nullptr);
  EXPECT_NE(PlainHttpRequest::prepare(get("http://localhost/health?x=1")), nullptr);
  EXPECT_EQ(PlainHttpRequest::prepare(get("https://127.0.0.1:8443/health")), nullptr);
  EXPECT_EQ(PlainHttpRequest::prepare(get("http://user:pw@127.0.0.1/health")), nullptr);
  EXPECT_EQ(PlainHttpRequest::prepare(get("not a url")), nullptr);
  HttpRequest connect_only = get("http://127.0.0.1:8080/");
  connect_only.connect_only = true;
  EXPECT_EQ(PlainHttpRequest::prepare(connect_only), nullptr);
  HttpRequest injected = get("http://127.0.0.1:8080/");
  injected.headers.emplace_back("X-A", "1\r\nX-B: 2");
  EXPECT_EQ(PlainHttpRequest::prepare(injected), nullptr) << "a header with a line break";
  // curl would send through a proxy named in the environment: so does the curl path.
  const char* was = std::getenv("http_proxy");
  const std::optional<std::string> saved = was ? std::optional<std::string>(was) : std::nullopt;
  ::setenv("http_proxy", "http://127.0.0.1:3128", 1);
  EXPECT_EQ(PlainHttpRequest::prepare(get("http://127.0.0.1:8080/health")), nullptr);
  if (saved) {
    ::setenv("http_proxy", saved->c_str(), 1);
  } else {
    ::unsetenv("http_proxy");
  }
}

TEST(PlainHttp, SendsWhatCurlSends) {
  HttpRequest r = get("http://127.0.0.1:8080/health?deep=1");
  r.headers = {{"X-Probe", "hftguard"}, {"Accept", "application/json"}, {"X-Drop", ""}};
  EXPECT_EQ(PlainHttpRequest::prepare(r)->bytes(),
            "GET /health?deep=1 HTTP/1.1\r\nHost: 127.0.0.1:8080\r\nUser-Agent: hftguard\r\n"
            "Connection: close\r\nX-Probe: hftguard\r\nAccept: application/json\r\n\r\n");

  HttpRequest post = get("http://[::1]/orders");
  post.method = "POST";
  post.body = "{\"dry_run\":true}";
  post.headers = {{"Content-Type", "application/json"}, {"host", "engine.internal"}};
  EXPECT_EQ(PlainHttpRequest::prepare(post)->bytes(),
            "POST /orders HTTP/1.1\r\nUser-Agent: hftguard\r\nAccept: */*\r\n"
            "Connection: close\r\nContent-Type: application/json\r\nhost: engine.internal\r\n"
            "Content-Length: 16\r\n\r\n{\"dry_run\":true}");

  HttpRequest form = get("http://[::1]:9000/x");
  form.method = "PUT";
  EXPECT_EQ(PlainHttpRequest::prepare(form)->bytes(),
            "PUT /x HTTP/1.1\r\nHost: [::1]:9000\r\nUser-Agent: hftguard\r\nAccept: */*\r\n"
            "Connection: close\r\nContent-Type: application/x-www-form-urlencoded\r\n"
            "Content-Length: 0\r\n\r\n");
}

TEST(PlainHttp, AReceiverSeesTheCheckHeadersAndToken) {
  HttpReceiver receiver([](const ReceivedRequest&) { return Reply{200, "{\"ok\":true}"}; });
  ::setenv("HFTGUARD_TEST_PLAIN_TOKEN", "s3cret", 1);
  ProbeHarness h("      web: {type: http, url: '" + receiver.url() +
                 "/health', headers: {X-Env: prod}, bearer_token: '${HFTGUARD_TEST_PLAIN_TOKEN}', "
                 "json_field: /ok, json_equals: 'true'}\n");
  const auto r = h.run("web");
  ::unsetenv("HFTGUARD_TEST_PLAIN_TOKEN");
  EXPECT_EQ(r.status, probes::ProbeStatus::Ok) << r.reason;
  const auto seen = receiver.requests();
  ASSERT_EQ(seen.size(), 1u);
  EXPECT_EQ(seen[0].method, "GET");
  EXPECT_EQ(seen[0].target, "/health");
  EXPECT_EQ(seen[0].headers.at("x-env"), "prod");
  EXPECT_EQ(seen[0].headers.at("authorization"), "Bearer s3cret");
  EXPECT_EQ(seen[0].headers.at("user-agent"), "hftguard");
}

TEST(PlainHttp, ReadsEveryFramingOfAnAnswer) {
  auto length = exchangeWith("HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhello");
  ASSERT_TRUE(length && length->answered) << (length ? length->error : "no answer");
  EXPECT_EQ(length->status, 200);
  EXPECT_EQ(length->body, "hello");

  auto chunked = exchangeWith(
      "HTTP/1.1 503 Unavailable\r\nTransfer-Encoding: chunked\r\n\r\n"
      "4\r\n{\"st\r\n8\r\natus\":1}\r\n0\r\n\r\n");
  ASSERT_TRUE(chunked && chunked->answered) << (chunked ? chunked->error : "no answer");
  EXPECT_EQ(chunked->status, 503);
  EXPECT_EQ(chunked->body, "{\"status\":1}");

  auto until_close = exchangeWith("HTTP/1.0 200 OK\r\n\r\nbody until the close");
  ASSERT_TRUE(until_close && until_close->answered);
  EXPECT_EQ(until_close->body, "body until the close");

  auto interim = exchangeWith("HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 204 No Content\r\n\r\n");
  ASSERT_TRUE(interim && interim->answered) << (interim ? interim->error : "no answer");
  EXPECT_EQ(interim->status, 204) << "an interim 1xx is skipped, as curl does";

  HttpRequest head;
  head.method = "HEAD";
  auto no_body = exchangeWith("HTTP/1.1 200 OK\r\nContent-Length: 1000\r\n\r\n", head);
  ASSERT_TRUE(no_body && no_body->answered) << (no_body ? no_body->error : "no answer");
  EXPECT_TRUE(no_body->body.empty());
}

TEST(PlainHttp, AMalformedAnswerIsAFailureWithAReason) {
  for (const char* reply : {"SSH-2.0-OpenSSH_9.2\r\n", "HTTP/1.1 2000 OK\r\n\r\n",
                            "HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nshort",
                            "HTTP/1.1 200 OK\r\nBad Header\r\n\r\n", ""}) {
    auto r = exchangeWith(reply);
    ASSERT_TRUE(r) << "no answer to " << reply;
    EXPECT_FALSE(r->answered) << reply;
    EXPECT_FALSE(r->error.empty()) << reply;
    EXPECT_FALSE(r->refused) << reply;
  }
}

TEST(PlainHttp, ABodyOverTheLimitIsRefused) {
  HttpRequest small;
  small.max_body_bytes = 4;
  auto r = exchangeWith("HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhello", small);
  ASSERT_TRUE(r);
  EXPECT_FALSE(r->answered);
  EXPECT_TRUE(r->too_large);
  EXPECT_EQ(r->error, "body larger than 4 bytes");
}

TEST(PlainHttp, ARefusedConnectIsEvidenceATimeoutIsNot) {
  auto refused = exchange(get("http://127.0.0.1:" + std::to_string(freePort()) + "/health"));
  ASSERT_TRUE(refused);
  EXPECT_FALSE(refused->answered);
  EXPECT_TRUE(refused->refused);
  EXPECT_NE(refused->error.find("refused"), std::string::npos) << refused->error;
}

TEST(PlainHttp, ACancelledExchangeNeverAnswers) {
  BlackHole hole;
  auto prepared =
      PlainHttpRequest::prepare(get("http://127.0.0.1:" + std::to_string(hole.port()) + "/"));
  ASSERT_NE(prepared, nullptr);
  boost::asio::io_context io;
  bool answered = false;
  auto call = prepared->send(io, [&](HttpResponse) { answered = true; });
  io.run_for(200ms);
  EXPECT_FALSE(answered) << "a black hole answered";
  call->cancel();
  io.restart();
  io.run_for(200ms);
  EXPECT_FALSE(answered) << "a cancelled exchange answered";
}
