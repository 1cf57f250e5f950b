// The etcd client against a real etcd 3.4 (transactions, ranges, leases) and against a
// gateway that answers badly: every malformed answer is an error value, never a crash, and
// every call answers once.

#include "hftguard/coord/etcd_client.hpp"

#include <fstream>
#include <optional>
#include <thread>

#include <boost/asio/io_context.hpp>
#include <gtest/gtest.h>

#include "hftguard/net/http_client.hpp"

#include "http_receiver.hpp"
#include "process.hpp"
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

// A watch stream: every change under the prefix from the revision asked for, in order, as
// etcd sends it, over one long-lived response on the curl-multi loop; the stream ends by
// itself after its span (""), says when the revision was compacted away, and ends - never
// crashes - on an answer that is not etcd's.
TEST_F(EtcdClientTest, WatchStreamsChangesEndsAfterItsSpanAndSaysWhenCompacted) {
  EtcdServer etcd;
  EtcdClient c(http_, at({"http://127.0.0.1:1", etcd.endpoint()}));  // the first one refuses
  auto put = [&](const std::string& k, const std::string& v) {
    return txn(c, {}, {{Operation::Kind::Put, k, v, 0, false}});
  };
  const auto first = put("/w/a", "1");
  ASSERT_EQ(first.error, "");
  std::vector<WatchEvent> seen;
  std::optional<std::string> ended;
  c.watch("/w/", first.revision, 1500ms,
          [&](WatchUpdate u) {
            EXPECT_GT(u.revision, 0);
            for (auto& e : u.events) seen.push_back(e);
          },
          [&](std::string why) { ended = why; });
  put("/w/b", "2");
  put("/other", "x");  // not under the prefix
  txn(c, {}, {{Operation::Kind::Delete, "/w/a", {}, 0, false}});
  const auto until = std::chrono::steady_clock::now() + 5s;
  while (seen.size() < 3 && std::chrono::steady_clock::now() < until) io_.run_one_for(20ms);
  ASSERT_EQ(seen.size(), 3u);  // from the revision asked for: /w/a's own put included
  EXPECT_EQ(seen[0].kv.key, "/w/a");
  EXPECT_EQ(seen[0].kv.value, "1");
  EXPECT_EQ(seen[1].kv.key, "/w/b");
  EXPECT_FALSE(seen[1].deleted);
  EXPECT_EQ(seen[2].kv.key, "/w/a");
  EXPECT_TRUE(seen[2].deleted);
  EXPECT_LT(seen[0].kv.mod_revision, seen[2].kv.mod_revision);
  EXPECT_EQ(wait(ended), "");  // its span is over: the normal end

  // Compacted past the revision asked for: the watch says so.
  const auto last = put("/w/c", "3");
  long status = 0;
  httpSend("POST", etcd.endpoint() + "/v3/kv/compaction",
           "{\"revision\":\"" + std::to_string(last.revision) + "\",\"physical\":true}", &status);
  ASSERT_EQ(status, 200);
  ended.reset();
  c.watch("/w/", first.revision, 5s, [](WatchUpdate) {}, [&](std::string why) { ended = why; });
  EXPECT_TRUE(wait(ended).starts_with("compacted")) << *ended;

  // Stopped: never called again.
  bool called = false;
  const auto id = c.watch("/w/", last.revision, 5s, [&](WatchUpdate) { called = true; },
                          [&](std::string) { called = true; });
  c.stopWatch(id);
  put("/w/d", "4");
  for (int i = 0; i < 10; ++i) io_.run_one_for(20ms);
  EXPECT_FALSE(called);

  // Not etcd's answer: an error, once.
  for (const std::string& body :
       {std::string("garbage\n"), std::string("{\"result\":{}}\n"),
        std::string("{\"error\":{\"grpc_code\":16,\"message\":\"no\"}}\n"),
        std::string(R"({"result":{"header":{"revision":"5"},"created":true}})" "\n")}) {
    HttpReceiver gw([&](const ReceivedRequest&) { return Reply{200, body}; });
    EtcdClient bad(http_, at({gw.url()}));
    int ends = 0;
    std::optional<std::string> why;
    bad.watch("/w/", 1, 5s, [](WatchUpdate) {}, [&](std::string w) {
      ++ends;
      why = w;
    });
    EXPECT_NE(wait(why), "") << body;
    for (int i = 0; i < 5; ++i) io_.run_one_for(20ms);
    EXPECT_EQ(ends, 1) << body;
  }
}

// etcd with authentication on (users, a role limited to /hftguard/, a token that expires
// after a second): the client authenticates at the endpoint that answers, renews an expired
// token by itself, and says what etcd refused - never the password. The daemon's config
// (username, password_file) reaches etcd the same way: `hftguard status` reads the cluster.
TEST_F(EtcdClientTest, AuthenticatesRenewsItsTokenAndNeverLeaksThePassword) {
  EtcdServer etcd({"--auth-token=simple", "--auth-token-ttl=1"});
  TempDir dir;
  auto ctl = [&](std::vector<std::string> args) {
    args.insert(args.begin(), {"/usr/bin/etcdctl", "--endpoints=" + etcd.endpoint()});
    return runCommand(args, {.log_file = dir.path() + "/etcdctl.log", .env = {"ETCDCTL_API=3"}});
  };
  ASSERT_EQ(ctl({"user", "add", "root", "--new-user-password=rootpw"}), 0)
      << readFile(dir.path() + "/etcdctl.log");
  ctl({"role", "add", "root"});  // may exist already
  ASSERT_EQ(ctl({"user", "grant-role", "root", "root"}), 0) << readFile(dir.path() + "/etcdctl.log");
  ASSERT_EQ(ctl({"user", "add", "hftguard", "--new-user-password=s3cret-pw"}), 0);
  ASSERT_EQ(ctl({"role", "add", "hftguard"}), 0);
  ASSERT_EQ(ctl({"role", "grant-permission", "hftguard", "--prefix=true", "readwrite", "/hftguard/"}),
            0);
  ASSERT_EQ(ctl({"user", "grant-role", "hftguard", "hftguard"}), 0);
  ASSERT_EQ(ctl({"auth", "enable"}), 0) << readFile(dir.path() + "/etcdctl.log");

  auto as = [&](std::string user, std::string password) {
    EtcdOptions o = at({"http://127.0.0.1:1", etcd.endpoint()});  // the first one refuses
    o.username = std::move(user);
    if (!password.empty()) o.password = config::Secret(password, "test");
    return o;
  };
  auto range = [&](EtcdClient& c, const std::string& key) {
    std::optional<EtcdResult> r;
    c.range(key, true, [&](EtcdResult x) { r = x; });
    return wait(r);
  };
  EtcdClient good(http_, as("hftguard", "s3cret-pw"));
  std::optional<std::pair<std::int64_t, std::string>> g;
  good.grant(5s, [&](std::int64_t id, std::string e) { g = std::pair{id, e}; });
  const auto [lease, granted] = wait(g);
  ASSERT_NE(lease, 0) << granted;
  auto put = txn(good, {}, {{Operation::Kind::Put, "/hftguard/t/leader", "n1", lease, false}});
  ASSERT_EQ(put.error, "");
  std::optional<std::pair<Duration, std::string>> k;
  good.keepAlive(lease, [&](Duration left, std::string e) { k = std::pair{left, e}; });
  EXPECT_GT(wait(k).first, Duration::zero()) << wait(k).second;
  // Outside its role's prefix: refused, and said so.
  auto outside = txn(good, {}, {{Operation::Kind::Put, "/elsewhere", "x", 0, false}});
  EXPECT_NE(outside.error.find("permission denied"), std::string::npos) << outside.error;

  // The token expires (ttl 1 s): the next call authenticates again by itself.
  std::this_thread::sleep_for(2500ms);
  auto later = range(good, "/hftguard/t/");
  EXPECT_EQ(later.error, "");
  ASSERT_EQ(later.kvs.size(), 1u);
  EXPECT_EQ(later.kvs[0].value, "n1");

  EtcdClient wrong(http_, as("hftguard", "not-the-password"));
  const std::string refused = range(wrong, "/hftguard/").error;
  EXPECT_NE(refused.find("authentication as hftguard failed"), std::string::npos) << refused;
  EXPECT_EQ(refused.find("not-the-password"), std::string::npos) << refused;
  EtcdClient anonymous(http_, at({etcd.endpoint()}));
  EXPECT_NE(range(anonymous, "/hftguard/").error, "");  // no user: etcd refuses

  // The config: username and password_file, as the daemon reads them.
  auto status = [&](const std::string& password) {
    std::ofstream(dir.path() + "/etcd.pass") << password << "\n";
    std::ofstream(dir.path() + "/hftguard.yaml")
        << "node: {name: n1}\n"
        << "event_log: {path: " << dir.path() << "/events.json}\n"
        << "maintenance: {path: " << dir.path() << "/maintenance.json}\n"
        << "control_api: {listen: 'off', socket: " << dir.path() << "/control.sock}\n"
        << "components:\n  engine:\n    tier: hot\n    rto_target: 30s\n    automation: manual\n"
        << "    checks:\n      health: {type: http, url: 'http://127.0.0.1:1/health'}\n"
        << "coordination:\n  type: etcd\n  endpoints: ['" << etcd.endpoint() << "']\n"
        << "  cluster: auth\n  username: hftguard\n  password_file: " << dir.path()
        << "/etcd.pass\n";
    return runCommand({HFTGUARD_BINARY, "status", "--config", dir.path() + "/hftguard.yaml",
                       "--json"},
                      {.log_file = dir.path() + "/status.log"});
  };
  EXPECT_EQ(status("s3cret-pw"), 0) << readFile(dir.path() + "/status.log");
  EXPECT_NE(readFile(dir.path() + "/status.log").find("\"etcd\""), std::string::npos)
      << readFile(dir.path() + "/status.log");
  EXPECT_NE(status("not-the-password"), 0);
  const std::string said = readFile(dir.path() + "/status.log");
  EXPECT_NE(said.find("authentication as hftguard failed"), std::string::npos) << said;
  EXPECT_EQ(said.find("not-the-password"), std::string::npos) << said;
}

// etcd over TLS with client certificates (--client-cert-auth): the client verifies the
// members against the configured CA and presents its certificate; without the CA, or
// without a certificate, it is refused - and says so. The config's ca_file, cert_file and
// key_file reach etcd through hftguard status.
TEST_F(EtcdClientTest, TlsWithAPrivateCaAndAClientCertificate) {
  TempDir dir;
  const std::string d = dir.path();
  auto ssl = [&](std::vector<std::string> args) {
    args.insert(args.begin(), "/usr/bin/openssl");
    return runCommand(args, {.log_file = d + "/openssl.log"});
  };
  // etcd's own JSON gateway dials its gRPC side with the server certificate as a client:
  // with --client-cert-auth it must be good for both (etcd's security guide).
  std::ofstream(d + "/server.ext")
      << "subjectAltName=IP:127.0.0.1\nextendedKeyUsage=serverAuth,clientAuth\n";
  std::ofstream(d + "/client.ext") << "extendedKeyUsage=clientAuth\n";
  ASSERT_EQ(ssl({"req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1",
                 "-nodes", "-keyout", d + "/ca.key", "-out", d + "/ca.crt", "-days", "2", "-subj",
                 "/CN=hftguard-test-ca"}),
            0)
      << readFile(d + "/openssl.log");
  for (const char* name : {"server", "client"}) {
    const std::string who = name;
    ASSERT_EQ(ssl({"req", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes",
                   "-keyout", d + "/" + who + ".key", "-out", d + "/" + who + ".csr", "-subj",
                   "/CN=" + who}),
              0);
    ASSERT_EQ(ssl({"x509", "-req", "-in", d + "/" + who + ".csr", "-CA", d + "/ca.crt", "-CAkey",
                   d + "/ca.key", "-CAcreateserial", "-out", d + "/" + who + ".crt", "-days", "2",
                   "-extfile", d + "/" + who + ".ext"}),
              0)
        << readFile(d + "/openssl.log");
  }
  const int port = freePort();
  const int peer = freePort();
  const std::string url = "https://127.0.0.1:" + std::to_string(port);
  const std::string peerUrl = "http://127.0.0.1:" + std::to_string(peer);
  ChildProcess etcd({"/usr/bin/etcd", "--name", "tls", "--data-dir", d + "/data",
                     "--listen-client-urls", url, "--advertise-client-urls", url,
                     "--listen-peer-urls", peerUrl, "--initial-advertise-peer-urls", peerUrl,
                     "--initial-cluster", "tls=" + peerUrl, "--cert-file", d + "/server.crt",
                     "--key-file", d + "/server.key", "--trusted-ca-file", d + "/ca.crt",
                     "--client-cert-auth"},
                    {.log_file = d + "/etcd.log"});
  ASSERT_TRUE(waitUntil([&] { return portOpen(port); }, 15s)) << readFile(d + "/etcd.log");

  auto options = [&](bool ca, bool cert) {
    EtcdOptions o = at({url});
    o.timeout = 3s;
    if (ca) o.ca_file = d + "/ca.crt";
    if (cert) {
      o.cert_file = d + "/client.crt";
      o.key_file = d + "/client.key";
    }
    return o;
  };
  auto range = [&](const EtcdOptions& o) {
    EtcdClient c(http_, o);
    std::optional<EtcdResult> r;
    c.range("/hftguard/", true, [&](EtcdResult x) { r = x; });
    return wait(r);
  };
  ASSERT_TRUE(waitUntil([&] { return range(options(true, true)).error.empty(); }, 15s))
      << range(options(true, true)).error << "\n" << readFile(d + "/etcd.log");
  EXPECT_NE(range(options(false, true)).error, "");  // the private CA is not the system's
  EXPECT_NE(range(options(true, false)).error, "");  // etcd wants a client certificate

  auto status = [&](bool cert) {
    std::ofstream(d + "/hftguard.yaml")
        << "node: {name: n1}\n"
        << "event_log: {path: " << d << "/events.json}\n"
        << "maintenance: {path: " << d << "/maintenance.json}\n"
        << "control_api: {listen: 'off', socket: " << d << "/control.sock}\n"
        << "components:\n  engine:\n    tier: hot\n    rto_target: 30s\n    automation: manual\n"
        << "    checks:\n      health: {type: http, url: 'http://127.0.0.1:1/health'}\n"
        << "coordination:\n  type: etcd\n  endpoints: ['" << url << "']\n"
        << "  cluster: tls\n  ca_file: " << d << "/ca.crt\n"
        << (cert ? "  cert_file: " + d + "/client.crt\n  key_file: " + d + "/client.key\n" : "");
    return runCommand({HFTGUARD_BINARY, "status", "--config", d + "/hftguard.yaml", "--json"},
                      {.log_file = d + "/status.log"});
  };
  EXPECT_EQ(status(true), 0) << readFile(d + "/status.log");
  EXPECT_NE(status(false), 0) << readFile(d + "/status.log");
}

}  // namespace
