// How long each action kind takes against its real loopback server, through the runner's
// own action objects: HAProxy state change (set + verify), etcd put (put + read back), Redis
// set (SET + GET), an HTTP call, and a whole 6-step plan.
//
//   bench_actions [--iterations 200]

#include <algorithm>
#include <cstdio>

#include <boost/asio/io_context.hpp>

#include "hftguard/actions/action.hpp"
#include "hftguard/config/loader.hpp"
#include "hftguard/net/http_client.hpp"
#include "hftguard/net/worker_pool.hpp"

#include "servers.hpp"

using namespace hftguard;
using namespace hftguard::testing;
using namespace std::chrono_literals;

int main(int argc, char** argv) {
  int iterations = 200;
  for (int i = 1; i + 1 < argc; i += 2) {
    if (std::string(argv[i]) == "--iterations") iterations = std::stoi(argv[i + 1]);
  }
  RedisServer redis;
  EngineSim primary("primary");
  EngineSim standby("standby");
  HaproxyServer lb(primary.port(), standby.port());
  EtcdServer etcd;
  const std::string yaml =
      "node: {name: bench}\nplans:\n"
      "  haproxy: {steps: [{action: haproxy, socket: '" +
      lb.adminSocket() +
      "', backend: trading, server: standby, state: ready}]}\n"
      "  haproxy_back: {steps: [{action: haproxy, socket: '" +
      lb.adminSocket() +
      "', backend: trading, server: standby, state: maint}]}\n"
      "  etcd: {steps: [{action: kv_put, store: etcd, endpoints: ['" +
      etcd.endpoint() +
      "'], key: service/trading/primary, value: standby}]}\n"
      "  redis: {steps: [{action: redis_set, host: 127.0.0.1, port: " +
      std::to_string(redis.port()) +
      ", key: 'trading:enabled', value: 'true'}]}\n"
      "  http: {steps: [{action: http_request, url: '" +
      standby.url("/admin/promote") +
      "'}]}\n"
      "  check: {steps: [{action: http_check, url: '" +
      standby.url("/health") +
      "', expect: up}]}\n"
      "components:\n  c: {tier: cold, rto_target: 1m, checks: {t: {type: tcp, host: 127.0.0.1, "
      "port: 1}}}\n";
  auto cfg = config::loadConfigString(yaml, "bench.yaml").config;
  boost::asio::io_context io;
  SystemClock clock;
  net::HttpClient http(io);
  net::WorkerPool workers(io, 1);
  actions::ActionEnv env{io, http, workers, clock};
  actions::PlanContext ctx{"c", "bench", "primary", "standby", "t", "now", "bench"};

  auto once = [&](const std::string& plan) {
    const auto& step = cfg->findPlan(plan)->steps.at(0);
    auto action = actions::makeAction(step, ctx, env);
    std::optional<actions::ActionResult> result;
    const auto t0 = std::chrono::steady_clock::now();
    action->run([&](actions::ActionResult r) { result = r; });
    while (!result) {
      if (io.stopped()) io.restart();
      io.run_one();
    }
    const auto took = std::chrono::steady_clock::now() - t0;
    if (!result->ok) std::fprintf(stderr, "%s failed: %s\n", plan.c_str(), result->detail.c_str());
    return std::chrono::duration<double, std::milli>(took).count();
  };
  std::printf("action timings over %d runs each, against loopback servers (ms)\n", iterations);
  std::printf("%-34s %8s %8s %8s\n", "action", "p50", "p95", "max");
  auto report = [&](const char* name, std::vector<double> v) {
    std::sort(v.begin(), v.end());
    std::printf("%-34s %8.3f %8.3f %8.3f\n", name, v[v.size() / 2], v[v.size() * 95 / 100],
                v.back());
  };
  std::vector<double> hap, et, rd, ht, ck;
  for (int i = 0; i < iterations; ++i) {
    hap.push_back(once("haproxy"));
    once("haproxy_back");
    et.push_back(once("etcd"));
    rd.push_back(once("redis"));
    ht.push_back(once("http"));
    ck.push_back(once("check"));
  }
  report("haproxy set state + verify", hap);
  report("etcd kv_put + read back", et);
  report("redis_set SET + GET", rd);
  report("http_request POST", ht);
  report("http_check GET", ck);
  return 0;
}
