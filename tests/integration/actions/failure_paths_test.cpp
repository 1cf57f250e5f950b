// Failure paths against real servers: every non-PostgreSQL action kind against a target
// that never answers (a listener that accepts and stays silent) and one that answers
// garbage (random bytes, or JSON of another shape); an etcd compare-and-set conflict, a
// retried compare-and-set whose write already landed, and etcd killed during kv_put. Each
// must be a failed step with a reason within its deadline: no crash, no hang.

#include <random>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "http_receiver.hpp"
#include "plan_rig.hpp"
#include "servers.hpp"

using namespace hftguard;
using namespace hftguard::testing;
using namespace std::chrono_literals;

namespace {

// 512 bytes of noise, the same every run.
std::string noise() {
  std::mt19937 gen(12);
  std::string s(512, '\0');
  for (auto& c : s) c = static_cast<char>(gen() & 0xff);
  return s;
}

std::string local(int port) { return "127.0.0.1:" + std::to_string(port); }
std::string http(int port) { return "http://" + local(port); }

// Every step kind this suite covers, aimed at `port`, with a 2 s deadline.
std::vector<std::pair<std::string, std::string>> stepsAt(int port) {
  const std::string p = std::to_string(port);
  const std::string t = ", timeout: 2s}]";
  return {
      {"http_check",
       "[{name: s, action: http_check, url: '" + http(port) + "/health', expect: up" + t},
      {"http_check wait_until", "[{name: s, action: http_check, url: '" + http(port) +
                                    "/health', expect: up, wait_until: true, poll_interval: 50ms" +
                                    t},
      {"http_request", "[{name: s, action: http_request, method: POST, url: '" + http(port) +
                           "/admin/promote', body: '{\"r\": \"{reason}\"}'" + t},
      {"e2e_order", "[{name: s, action: e2e_order, url: '" + http(port) + "/api/orders/test'" + t},
      {"redis_set",
       "[{name: s, action: redis_set, host: 127.0.0.1, port: " + p + ", key: k, value: v" + t},
      {"haproxy", "[{name: s, action: haproxy, socket: '" + local(port) +
                      "', backend: trading, server: primary, state: maint" + t},
      {"kv_put", "[{name: s, action: kv_put, store: etcd, endpoints: ['" + http(port) +
                     "'], key: k, value: v, prev_value: old" + t},
      {"kv_delete",
       "[{name: s, action: kv_delete, store: etcd, endpoints: ['" + http(port) + "'], key: k" + t},
      {"kv_put consul", "[{name: s, action: kv_put, store: consul, endpoints: ['" + http(port) +
                            "'], key: k, value: v, prev_value: old" + t},
      {"dns", "[{name: s, action: dns, api_url: '" + http(port) +
                  "', zone: hft.local., record: t.hft.local., content: 10.0.0.2, api_key: "
                  "'${PDNS_KEY}'" +
                  t},
      {"patroni", "[{name: s, action: patroni, urls: ['" + http(port) +
                      "'], operation: failover, user: postgres, allow_unfenced: true" + t},
      {"redis_sentinel", "[{name: s, action: redis_sentinel, sentinels: ['" + local(port) + "', '" +
                             local(port) + "', '" + local(port) + "'], master_name: mymaster" + t},
  };
}

const actions::PlanContext kContext{
    "c", "n1", "10.0.0.1:5432", "10.0.0.2:5432", "tok", "", "libpq: \"quoted\" \\ error\nline 2"};

// A failed step with a reason, well within the 2 s deadline plus a generous margin.
void expectFailedInTime(const PlanRig::Outcome& o, const std::string& kind) {
  EXPECT_FALSE(o.report.ok) << kind;
  EXPECT_EQ(o.report.failed_step, "s") << kind << ": " << o.report.reason;
  EXPECT_FALSE(o.report.reason.empty()) << kind;
  EXPECT_LT(o.took, 8s) << kind << ": " << o.report.reason;
  ASSERT_FALSE(o.events.empty()) << kind;
  EXPECT_EQ(o.events.back(), "failover_failed") << kind;
}

TEST(FailurePaths, EveryActionAgainstATargetThatNeverAnswers) {
  BlackHole hole;
  for (const auto& [kind, steps] : stepsAt(hole.port())) {
    PlanRig rig;
    const auto o = rig.run(steps, kContext);
    expectFailedInTime(o, kind);
  }
  EXPECT_GT(hole.accepted(), 0u);
}

TEST(FailurePaths, EveryActionAgainstATargetThatAnswersGarbage) {
  GarbageServer garbage(noise());
  for (const auto& [kind, steps] : stepsAt(garbage.port())) {
    PlanRig rig;
    const auto o = rig.run(steps, kContext);
    expectFailedInTime(o, kind);
  }
}

TEST(FailurePaths, ExecThatNeverEndsOrSpeaksGarbage) {
  PlanRig rig;
  auto hung = rig.run(
      "[{name: s, action: exec, argv: [/bin/sh, -c, 'sleep 30 & sleep 30'], timeout: 500ms}]");
  expectFailedInTime(hung, "exec hung");
  EXPECT_NE(hung.report.reason.find("timed out"), std::string::npos) << hung.report.reason;
  auto noisy = rig.run(
      "[{name: s, action: exec, argv: [/bin/sh, -c, 'head -c 4096 /dev/urandom; exit 3'], "
      "timeout: 2s}]");
  expectFailedInTime(noisy, "exec garbage");
  EXPECT_NE(noisy.report.reason.find("exited 3"), std::string::npos) << noisy.report.reason;
}

// JSON answers of another shape than the service's: read with at()/value() they threw out
// of io.run() and crashed the daemon; now each is a failed step with the reason.
TEST(FailurePaths, HttpActionsAgainstJsonOfTheWrongShape) {
  const std::vector<std::pair<std::string, std::string>> cases = {
      {"e2e_order", R"({"status": 1})"},
      {"dns", R"({"rrsets": "not a list"})"},
      {"dns", R"({"rrsets": [{"name": 7, "type": "A", "records": {"a": 1}}]})"},
      {"dns", R"({"rrsets": [{"name": "t.hft.local.", "type": "A", "records": {"a": 1}}]})"},
      {"kv_put", R"({"kvs": {"a": 1}})"},
      {"kv_put", R"({"kvs": [{"value": 7}]})"},
      {"kv_put", R"({"succeeded": "yes"})"},
      {"kv_put", R"([1, 2, 3])"},
      {"kv_put consul", R"([{"ModifyIndex": "x", "Value": 7}])"},
      {"kv_put consul", R"([7])"},
      {"patroni", R"({"members": [{"name": 5, "role": "leader"}]})"},
      {"patroni", R"({"pause": "yes", "members": []})"},
  };
  for (const auto& [kind, body] : cases) {
    HttpReceiver server([body = body](const ReceivedRequest& r) {
      return Reply{r.method == "PATCH" ? 204 : 200, body};
    });
    const int port = std::stoi(server.url().substr(server.url().rfind(':') + 1));
    std::string steps;
    for (const auto& [k, s] : stepsAt(port)) {
      if (k == kind) steps = s;
    }
    ASSERT_FALSE(steps.empty()) << kind;
    PlanRig rig;
    // dns reads the zone before and after its PATCH: its dry run is the read alone.
    const auto o = rig.run(steps, kContext, kind == "dns");
    expectFailedInTime(o, kind + " " + body);
    // Failed on the answer, not at the deadline.
    EXPECT_EQ(o.report.reason.find("timed out"), std::string::npos) << o.report.reason;
  }
}

std::string kvStep(const EtcdServer& etcd, const std::string& keys, const std::string& timeout) {
  return "[{name: s, action: kv_put, store: etcd, endpoints: ['" + etcd.endpoint() + "'], " + keys +
         ", timeout: " + timeout + "}]";
}

TEST(FailurePaths, EtcdCompareAndSetConflictIsAFailureWithTheValueFound) {
  EtcdServer etcd;
  etcd.put("service/trading/primary", "someone-else");
  PlanRig rig;
  const auto o = rig.run(kvStep(etcd,
                                "key: service/trading/primary, value: '{new_primary}', prev_value: "
                                "'{old_primary}'",
                                "5s"),
                         kContext);
  expectFailedInTime(o, "etcd conflict");
  EXPECT_NE(o.report.reason.find("compare-and-set refused"), std::string::npos) << o.report.reason;
  EXPECT_NE(o.report.reason.find("someone-else"), std::string::npos) << o.report.reason;
  EXPECT_EQ(etcd.get("service/trading/primary"), "someone-else");
}

// A compare-and-set resent after its first attempt's answer was lost (the write landed):
// the key already holds the new value, so the compare on the old one fails. Read back, it is
// what the step wanted: success, not a false conflict.
TEST(FailurePaths, EtcdCompareAndSetWhoseWriteAlreadyLandedSucceeds) {
  EtcdServer etcd;
  etcd.put("service/trading/primary", "10.0.0.2:5432");  // the first attempt's write
  PlanRig rig;
  const auto o = rig.run(kvStep(etcd,
                                "key: service/trading/primary, value: '{new_primary}', prev_value: "
                                "'{old_primary}'",
                                "5s"),
                         kContext);
  EXPECT_TRUE(o.report.ok) << o.report.reason;
  EXPECT_EQ(etcd.get("service/trading/primary"), "10.0.0.2:5432");
  // The same for a delete under a compare: the key is already gone.
  const auto del = rig.run("[{name: s, action: kv_delete, store: etcd, endpoints: ['" +
                               etcd.endpoint() + "'], key: absent, prev_value: x, timeout: 5s}]",
                           kContext);
  EXPECT_TRUE(del.report.ok) << del.report.reason;
}

// Leaders' writes to the same service key: a deposed one writes late - with an earlier
// epoch, or with the same epoch as the leader that took its plan over (an earlier leader
// token). etcd refuses it on the epoch key (a transaction), whatever the deposed process
// believes about time, even when the key already holds what it writes; a retry of the same
// leader's write goes through, and so does a later one.
TEST(FailurePaths, ADeposedLeadersLateKvPutIsRefusedByTheEpochCompare) {
  EtcdServer etcd;
  PlanRig rig;
  const std::string fence = "service/trading/primary.epoch";
  auto put = [&](const std::string& value, int epoch, const std::string& token, bool dry = false,
                 bool del = false, const std::string& extra = "") {
    rig.token = token;
    return rig.run("[{name: s, action: " + std::string(del ? "kv_delete" : "kv_put") +
                       ", store: etcd, endpoints: ['" + etcd.endpoint() +
                       "'], key: service/trading/primary, " +
                       (del ? "" : "value: '" + value + "', ") + "epoch: '" +
                       std::to_string(epoch) + "'" + extra + ", timeout: 5s}]",
                   kContext, dry);
  };
  const std::string t41 = "00000000000000000008.00000000000000000041";
  const auto first = put("10.0.0.2:5432", 8, "41");  // the leader of epoch 8 (no epoch key yet)
  ASSERT_TRUE(first.report.ok) << first.report.reason;
  EXPECT_EQ(etcd.get("service/trading/primary"), "10.0.0.2:5432");
  EXPECT_EQ(etcd.get(fence), t41);

  const auto late = put("10.0.0.1:5432", 7, "30");  // the deposed leader of epoch 7, late
  expectFailedInTime(late, "late put");
  EXPECT_NE(late.report.reason.find("later than this step's 7"), std::string::npos)
      << late.report.reason;
  EXPECT_EQ(etcd.get("service/trading/primary"), "10.0.0.2:5432");
  EXPECT_EQ(etcd.get(fence), t41);
  // The same epoch, from a leader that was replaced within it (its plan taken over by 41).
  const auto replaced = put("draining", 8, "40");
  expectFailedInTime(replaced, "same-epoch put by an earlier leader");
  EXPECT_NE(replaced.report.reason.find("leader token 41"), std::string::npos)
      << replaced.report.reason;
  // Refused even where the key already holds what it writes: a fenced writer must stop.
  const auto same = put("10.0.0.2:5432", 8, "40");
  expectFailedInTime(same, "fenced put of the value already there");
  EXPECT_EQ(etcd.get("service/trading/primary"), "10.0.0.2:5432");

  const auto dry = put("10.0.0.1:5432", 7, "dry-run", true);  // a dry run says so first
  EXPECT_FALSE(dry.report.ok);
  EXPECT_NE(dry.report.reason.find("would be refused"), std::string::npos) << dry.report.reason;
  const auto dryNow = put("10.0.0.2:5432", 8, "dry-run", true);  // its own epoch re-verifies
  EXPECT_TRUE(dryNow.report.ok) << dryNow.report.reason;
  const auto deleted = put("", 7, "30", false, true);  // nor may it delete what epoch 8 wrote
  expectFailedInTime(deleted, "late delete");
  EXPECT_EQ(etcd.get("service/trading/primary"), "10.0.0.2:5432");

  const auto again = put("10.0.0.2:5432", 8, "41");  // a retry of epoch 8's own write
  EXPECT_TRUE(again.report.ok) << again.report.reason;
  // The next failover, back, with a compare-and-set on the value as well.
  const auto next = put("10.0.0.1:5432", 9, "57", false, false, ", prev_value: '10.0.0.2:5432'");
  EXPECT_TRUE(next.report.ok) << next.report.reason;
  EXPECT_EQ(etcd.get("service/trading/primary"), "10.0.0.1:5432");
  EXPECT_EQ(etcd.get(fence), "00000000000000000009.00000000000000000057");
  const auto conflict = put("x", 10, "60", false, false, ", prev_value: 'not-it'");
  expectFailedInTime(conflict, "epoch allows, value compare refuses");
  EXPECT_NE(conflict.report.reason.find("compare-and-set refused"), std::string::npos)
      << conflict.report.reason;
  EXPECT_EQ(etcd.get(fence), "00000000000000000009.00000000000000000057");
}

TEST(FailurePaths, EtcdKilledDuringKvPut) {
  EtcdServer etcd;
  PlanRig rig;
  // The first put lands; etcd is killed (by PID) by the next step; the last put must fail
  // with a reason within its deadline.
  const std::string steps =
      "[{name: first, action: kv_put, store: etcd, endpoints: ['" + etcd.endpoint() +
      "'], key: k, value: one, timeout: 5s}, "
      "{name: kill, action: exec, argv: [/bin/kill, '-9', '" +
      std::to_string(etcd.pid()) +
      "']}, "
      "{name: s, action: kv_put, store: etcd, endpoints: ['" +
      etcd.endpoint() + "'], key: k, value: two, prev_value: one, timeout: 2s}]";
  const auto o = rig.run(steps, kContext);
  expectFailedInTime(o, "etcd killed");
  EXPECT_NE(o.report.reason.find("etcd"), std::string::npos) << o.report.reason;
}

}  // namespace
