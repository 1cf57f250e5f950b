// The etcd client against a real etcd 3.4 (transactions, ranges, leases) and against a
// gateway that answers badly: every malformed answer is an error value, never a crash, and
// every call answers once.

#include "hftguard/coord/etcd_client.hpp"

#include <optional>

#include <boost/asio/io_context.hpp>
#include <gtest/gtest.h>

#include "hftguard/net/http_client.hpp"

#include "http_receiver.hpp"
#include "servers.hpp"

using namespace hftguard;
using namespace hftguard::coord;
using namespace hftguard::testing;
using namespace std::chrono_literals;

namespace {

EtcdOptions at(std::vector<std::string> endpoints) {
  EtcdOptions o;
  o.endpoints = std::move(endpoints);
  return o;
}

class EtcdClientTest : public ::testing::Test {
 protected:
  template <typename T>
  T wait(std::optional<T>& v) {
    const auto until = std::chrono::steady_clock::now() + 10s;
    while (!v && std::chrono::steady_clock::now() < until) {
      if (io_.stopped()) io_.restart();
      io_.run_one_for(20ms);
    }
    EXPECT_TRUE(v.has_value()) << "no answer";
    return v.value_or(T{});
  }
  EtcdResult txn(EtcdClient& c, std::vector<Compare> cmp, std::vector<Operation> ok,
                 std::vector<Operation> otherwise = {}) {
    std::optional<EtcdResult> r;
    c.txn(std::move(cmp), std::move(ok), std::move(otherwise), [&](EtcdResult x) { r = x; });
    return wait(r);
  }

  boost::asio::io_context io_;
  net::HttpClient http_{io_};
};

TEST_F(EtcdClientTest, CreateIfAbsentLeasesAndRanges) {
  EtcdServer etcd;
  EtcdClient c(http_, at({"http://127.0.0.1:1", etcd.endpoint()}));  // the first one refuses
  std::optional<std::pair<std::int64_t, std::string>> g;
  c.grant(5s, [&](std::int64_t id, std::string e) { g = std::pair{id, e}; });
  const auto [lease, error] = wait(g);
  ASSERT_NE(lease, 0) << error;
  const Compare absent{"/t/leader", Compare::Target::CreateRevision, 0, {}};
  const Operation put{Operation::Kind::Put, "/t/leader", "n1", lease, false};
  const Operation read{Operation::Kind::Range, "/t/leader", {}, 0, false};
  auto first = txn(c, {absent}, {put}, {read});
  ASSERT_EQ(first.error, "");
  EXPECT_TRUE(first.succeeded);
  auto second = txn(c, {absent}, {{Operation::Kind::Put, "/t/leader", "n2", 0, false}}, {read});
  EXPECT_FALSE(second.succeeded);  // taken: the failure branch reads who has it
  ASSERT_EQ(second.kvs.size(), 1u);
  EXPECT_EQ(second.kvs[0].value, "n1");
  EXPECT_EQ(second.kvs[0].lease, lease);
  EXPECT_EQ(second.kvs[0].create_revision, first.revision);
  std::optional<std::pair<Duration, std::string>> k;
  c.keepAlive(lease, [&](Duration left, std::string e) { k = std::pair{left, e}; });
  EXPECT_GT(wait(k).first, Duration::zero());
  std::optional<std::string> rv;
  c.revoke(lease, [&](std::string e) { rv = e; });
  EXPECT_EQ(wait(rv), "");
  std::optional<EtcdResult> after;
  c.range("/t/", true, [&](EtcdResult x) { after = x; });
  EXPECT_TRUE(wait(after).kvs.empty());  // the lease's key went with it
  k.reset();
  c.keepAlive(lease, [&](Duration left, std::string e) { k = std::pair{left, e}; });
  EXPECT_EQ(wait(k).first, Duration::zero());  // etcd says: gone
}

TEST_F(EtcdClientTest, MalformedAnswersAreErrorsNeverCrashes) {
  const std::vector<std::string> bodies = {
      "not json", "[]", R"({"error": {"grpc_code": 14}})", R"({"header": {"revision": "x"}})",
      R"({"succeeded": true, "responses": [{"response_range": {"kvs": [{"key": "%%%"}]}}]})",
      R"({"result": {"TTL": {}}})", R"({"ID": []})"};
  for (const std::string& body : bodies) {
    HttpReceiver gw([&](const ReceivedRequest&) { return Reply{200, body}; });
    EtcdClient c(http_, at({gw.url()}));
    std::optional<EtcdResult> t;
    c.txn({}, {}, {}, [&](EtcdResult x) { t = x; });
    const auto tr = wait(t);
    std::optional<EtcdResult> r;
    c.range("/k", false, [&](EtcdResult x) { r = x; });
    const auto rr = wait(r);
    std::optional<std::pair<std::int64_t, std::string>> g;
    c.grant(5s, [&](std::int64_t id, std::string e) { g = std::pair{id, e}; });
    const auto gr = wait(g);
    std::optional<std::pair<Duration, std::string>> k;
    c.keepAlive(7, [&](Duration left, std::string e) { k = std::pair{left, e}; });
    wait(k);
    // What cannot be read as etcd's answer is an error (or, for a txn/range body that is
    // an object with nothing in it, an empty result) - never a value made up.
    EXPECT_TRUE(!tr.error.empty() || !tr.succeeded || tr.kvs.empty()) << body;
    EXPECT_TRUE(!rr.error.empty() || rr.kvs.empty()) << body;
    EXPECT_TRUE(gr.first == 0) << body;
  }
  HttpReceiver down([](const ReceivedRequest&) { return Reply{503, "{}"}; });
  EtcdClient c(http_, at({down.url()}));
  std::optional<EtcdResult> r;
  c.range("/k", false, [&](EtcdResult x) { r = x; });
  EXPECT_NE(wait(r).error.find("HTTP 503"), std::string::npos);
}

}  // namespace
