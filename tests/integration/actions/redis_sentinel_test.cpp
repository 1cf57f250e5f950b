// redis_sentinel against a real Redis master + replica and three Sentinels.

#include <fstream>

#include <boost/asio/io_context.hpp>
#include <gtest/gtest.h>

#include "hftguard/actions/action.hpp"
#include "hftguard/config/loader.hpp"
#include "hftguard/net/http_client.hpp"
#include "hftguard/net/worker_pool.hpp"

#include "action_harness.hpp"
#include "servers.hpp"

using namespace hftguard;
using namespace hftguard::testing;
using namespace std::chrono_literals;

namespace {

class Sentinels : public ::testing::Test {
 protected:
  Sentinels() : replica_(master_.port()) {
    for (int i = 0; i < 3; ++i)
      sentinels_.push_back(std::make_unique<SentinelServer>(master_.port()));
    // Each Sentinel must know the replica and the other Sentinels before a failover works.
    EXPECT_TRUE(waitUntil(
        [&] {
          for (const auto& s : sentinels_) {
            RedisCli cli(s->port());
            if (cli.run({"SENTINEL", "replicas", "mymaster"})
                    .find(std::to_string(replica_.port())) == std::string::npos)
              return false;
            if (cli.run({"SENTINEL", "sentinels", "mymaster"}).find("127.0.0.1") ==
                std::string::npos)
              return false;
          }
          return true;
        },
        20s, 100ms));
  }

  // A redis-cli against any port (Sentinels included).
  struct RedisCli {
    explicit RedisCli(int port) : port_(port) {}
    std::string run(const std::vector<std::string>& args) {
      TempDir d;
      const std::string out = d.path() + "/out";
      std::vector<std::string> argv = {"/usr/bin/redis-cli", "-p", std::to_string(port_)};
      argv.insert(argv.end(), args.begin(), args.end());
      runCommand(argv, {.log_file = out}, 10s);
      std::ifstream in(out);
      return std::string((std::istreambuf_iterator<char>(in)), {});
    }
    int port_;
  };

  actions::ActionResult step(const std::string& extra, bool dry_run,
                             const std::vector<int>& ports) {
    std::string list;
    for (int p : ports)
      list += (list.empty() ? "" : ", ") + std::string("'127.0.0.1:") + std::to_string(p) + "'";
    auto r = config::loadConfigString(
        "node: {name: n1}\nplans:\n  p:\n    steps:\n      - {action: redis_sentinel, sentinels: "
        "[" +
            list + "], master_name: mymaster, timeout: 15s" + extra +
            "}\ncomponents:\n  c: {tier: cold, rto_target: 1m, checks: {t: {type: tcp, host: "
            "127.0.0.1, port: 1}}}\n",
        "sentinel.yaml");
    for (const auto& e : r.errors) ADD_FAILURE() << e.format();
    cfg_ = r.config;
    auto action = actions::makeAction(cfg_->findPlan("p")->steps.at(0), {}, env_);
    return runAction(io_, *action, dry_run, 20s);
  }

  std::vector<int> sentinelPorts() const {
    std::vector<int> out;
    for (const auto& s : sentinels_) out.push_back(s->port());
    return out;
  }

  RedisServer master_;
  RedisServer replica_;
  std::vector<std::unique_ptr<SentinelServer>> sentinels_;
  std::shared_ptr<const config::Config> cfg_;
  boost::asio::io_context io_;
  SystemClock clock_;
  net::HttpClient http_{io_};
  net::WorkerPool workers_{io_, 1};
  actions::ActionEnv env_{io_, http_, workers_, clock_};
};

TEST_F(Sentinels, TriggeredFailoverFollowsTheMajorityAndDemotesTheOldMaster) {
  auto check = step("", true, sentinelPorts());
  EXPECT_TRUE(check.ok) << check.detail;
  auto r = step(", trigger_failover: true, demote_old_master: true", false, sentinelPorts());
  ASSERT_TRUE(r.ok) << r.detail;
  EXPECT_EQ(r.new_primary, "127.0.0.1:" + std::to_string(replica_.port()));
  EXPECT_EQ(r.old_primary, "127.0.0.1:" + std::to_string(master_.port()));
  // The old master stops taking writes at once, not ~11 s later.
  EXPECT_NE(master_.cli({"ROLE"}).find("slave"), std::string::npos);
  EXPECT_NE(master_.cli({"SET", "k", "v"}).find("READONLY"), std::string::npos);
  EXPECT_EQ(replica_.cli({"SET", "k", "v"}), "OK");
}

TEST_F(Sentinels, NoMajorityNoAnswer) {
  auto r = step("", true, {sentinels_[0]->port(), freePort(), freePort()});
  EXPECT_FALSE(r.ok);
  EXPECT_NE(r.detail.find("no majority of 3 Sentinels"), std::string::npos) << r.detail;
}

}  // namespace
