// The sandbox supervisor behind scripts/sandbox: starts the trading stack on loopback from
// the test support's real servers (free ports, one state directory), writes the runtime
// config from config/sandbox.yaml with the ports it got, and answers the drill's failback
// requests on a small control API. SIGTERM stops every process it started, by PID.
//
//   hftguard_sandbox --dir STATE --template config/sandbox.yaml [--daemons N --hftguard BIN]
//   hftguard_sandbox --dir STATE --hosts 3 --hftguard BIN      (the partition lab; root)
//
// With --daemons 1 it also runs `BIN run` on STATE/sandbox.yaml. With --daemons N (2..5) it
// starts a three-member etcd cluster for coordination, writes STATE/nodeK/sandbox.yaml for
// K = 1..N (the same stack, node name nodeK, its own event log, one shared maintenance
// file, `coordination: etcd`) and runs N daemons on them, as on N hosts - ready once one of
// them leads. Each daemon's output goes to STATE/nodeK/hftguard.log.
//
// Control API (loopback): POST /restore/trading   dead engines restarted, faults cleared,
//                                                 the engine the cluster state names primary
//                                                 promoted, the other a standby; HAProxy and
//                                                 discovery follow; verified (503 "not
//                                                 restored: ..." if not)
//                         POST /kill/leader-daemon     the leading hftguard daemon, kill -9
//                         POST /restore/daemons   every daemon that is not running, started
//                         POST /kill/redis-master the master Sentinel names, SIGKILLed
//                         POST /restore/redis     the killed node back, as a replica
//                         POST /kill/postgres-primary  the primary's postmaster SIGKILLed
//                         POST /stop/postgres-primary  a clean stop (a planned switchover)
//                         POST /restore/postgres  a fresh primary + standby, same ports
//                         POST /kill/patroni-leader    the leader's Patroni and postmaster
//                         POST /restore/patroni   the killed member back; pg1 leads again
//                         GET  /status            what runs where
#include <cctype>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <random>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <vector>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "ha_clusters.hpp"
#include "netns_lab.hpp"
#include "http_receiver.hpp"
#include "process.hpp"
#include "servers.hpp"

using namespace hftguard::testing;
using namespace std::chrono_literals;

namespace {

// The template's ports, in the order the servers below take their place.
constexpr int kRedis = 19379, kPrimary = 19080, kStandby = 19081, kFrontend = 19000, kAdmin = 19999,
              kEtcd = 19237, kPdns = 19082, kControl = 19090, kControlApi = 19477, kRedisMaster = 19479,
              kRedisReplica = 19480, kSentinel1 = 19481, kSentinel2 = 19482, kSentinel3 = 19483,
              kPgPrimary = 19532, kPgStandby = 19533, kPatroniApi1 = 19608, kPatroniApi2 = 19609,
              kPatroniPg1 = 19632, kPatroniPg2 = 19633;
const std::string kTemplateState = "/tmp/hftguard-sandbox";

// The daemons' control API token (secrets/control-token): new for every sandbox.
const std::string& controlToken() {
  static const std::string token = [] {
    std::random_device rd;
    return fmt::format("{:08x}{:08x}{:08x}{:08x}", rd(), rd(), rd(), rd());
  }();
  return token;
}

std::string replaceAll(std::string text, const std::string& from, const std::string& to) {
  for (auto at = text.find(from); at != std::string::npos; at = text.find(from, at + to.size()))
    text.replace(at, from.size(), to);
  return text;
}

// Every "127.0.0.1:PORT" and "port: PORT" of the template with a port of `ports` takes the
// port the server got - in one pass, so a new port never matches a template port again.
std::string remapPorts(const std::string& text, const std::map<int, int>& ports) {
  std::string out;
  std::size_t at = 0;
  while (at < text.size()) {
    std::size_t digits = std::string::npos;
    for (const char* prefix : {"127.0.0.1:", "port: "}) {
      const std::size_t n = std::char_traits<char>::length(prefix);
      if (text.compare(at, n, prefix) == 0) {
        out += prefix;
        digits = at + n;
        break;
      }
    }
    if (digits == std::string::npos) {
      out += text[at++];
      continue;
    }
    std::size_t end = digits;
    while (end < text.size() && std::isdigit(static_cast<unsigned char>(text[end]))) ++end;
    const std::string number = text.substr(digits, end - digits);
    auto it = number.empty() ? ports.end() : ports.find(std::stoi(number));
    out += it == ports.end() ? number : std::to_string(it->second);
    at = end;
  }
  return out;
}

// A PostgreSQL pair, tried twice: once (in CI, right after the integration suite) a standby
// did not stream within 20 s; the first failure, with both servers' logs, goes to the log.
std::unique_ptr<PostgresPair> startPair() {
  try {
    return std::make_unique<PostgresPair>();
  } catch (const std::exception& e) {
    std::fprintf(stderr, "sandbox: PostgreSQL pair, first attempt: %s\n", e.what());
    return std::make_unique<PostgresPair>();
  }
}

// The engine simulators are the trading_engine component's members (config/sandbox.yaml):
// engine_a is the `primary` HAProxy server, engine_b the `standby` one.
struct Member {
  const char* name;
  const char* lb_server;
  const char* fqdn;
};
constexpr Member kEngineA{"engine_a", "primary", "primary.hft.local"};
constexpr Member kEngineB{"engine_b", "standby", "standby.hft.local"};

// Who is primary of trading_engine now, as the daemons' cluster state has it (etcd when
// coordinated, else the state file; before any, the config's engine_a).
using RolesReader = std::function<std::string()>;

struct Stack {
  RedisServer redis;
  EngineSim primary{"primary", redis.port()};
  EngineSim standby{"standby", redis.port()};
  HaproxyServer lb{primary.port(), standby.port()};
  EtcdServer etcd;
  PdnsServer pdns;
  SentinelGroup sentinels;
  std::unique_ptr<PostgresPair> pg_owner = startPair();
  PostgresPair& pg = *pg_owner;
  PatroniCluster patroni;
  RolesReader roles;
  RedisServer* killed = nullptr;
  int patroni_killed = -1;  // the Redis node the last drill killed
  std::mutex mu;

  Stack() {
    httpPost(standby.url("/admin/demote"), "");
    etcd.put("service/trading/primary", "primary.hft.local");
  }

  int adminPort() const { return std::stoi(lb.adminSocket().substr(10)); }

  // Failback after a drill: the stack as `up` left it - both engines running (a fence may
  // have stopped either), faults cleared, roles, HAProxy and discovery put back. "restored"
  // only once all of it is verified; otherwise what is still wrong.
  // The roles are the cluster state's (a failover moved them; the drill's restore rebuilds
  // the old primary as a standby, it does not move them back).
  std::string restoreTrading() {
    std::lock_guard lock(mu);
    const std::string named = roles ? roles() : kEngineA.name;
    if (named != kEngineA.name && named != kEngineB.name)
      return "not restored: the cluster state names no engine primary (" + named + ")";
    const bool a = named == kEngineA.name;
    EngineSim& up = a ? primary : standby;
    EngineSim& down = a ? standby : primary;
    const Member& m = a ? kEngineA : kEngineB;
    const Member& other = a ? kEngineB : kEngineA;
    for (EngineSim* e : {&primary, &standby}) {
      if (!e->process().running()) e->restart();
      httpPost(e->url("/admin/fault"), "none");
    }
    httpPost(up.url("/admin/promote"), "");
    httpPost(down.url("/admin/demote"), "");
    lb.command(fmt::format("set server trading/{} state ready", m.lb_server));
    lb.command(fmt::format("set server trading/{} state maint", other.lb_server));
    etcd.put("service/trading/primary", m.fqdn);
    for (const Member* each : {&kEngineA, &kEngineB})
      etcd.put(fmt::format("nodes/{}/fenced", each->name), "false");
    std::vector<std::string> wrong;
    for (auto [e, role] : {std::pair{&up, "primary"}, std::pair{&down, "standby"}}) {
      const bool ok = waitUntil(
          [&] {
            long status = 0;
            auto body = httpGet(e->url("/health"), &status);
            return status == 200 && body &&
                   body->find(std::string("\"") + role + "\"") != std::string::npos;
          },
          10s, 20ms);
      if (!ok) wrong.push_back(fmt::format("the {} engine is not up as {}", role, role));
    }
    // HAProxy's own checks see the primary up again and it serves orders.
    const bool served = waitUntil(
        [&] {
          long status = 0;
          auto body = httpGet(
              "http://127.0.0.1:" + std::to_string(lb.frontendPort()) + "/admin/state", &status);
          return status == 200 && body && body->find("\"primary\"") != std::string::npos;
        },
        10s, 20ms);
    if (!served) wrong.push_back("HAProxy does not serve the primary yet");
    if (wrong.empty()) return "restored";
    std::string out = "not restored:";
    for (const auto& w : wrong) out += " " + w + ";";
    return out;
  }

  // The node Sentinel's majority names as master now.
  RedisServer* currentMaster() {
    const std::string said =
        redisCli(sentinels.sentinelPorts()[0], {"SENTINEL", "get-master-addr-by-name", "mymaster"});
    for (RedisServer* r : {&sentinels.master(), &sentinels.replica()}) {
      if (said.ends_with("\n" + std::to_string(r->port()))) return r;
    }
    return nullptr;
  }

  std::string killRedisMaster() {
    std::lock_guard lock(mu);
    RedisServer* m = currentMaster();
    if (m == nullptr) return "no master";
    m->kill();
    killed = m;
    return "killed 127.0.0.1:" + std::to_string(m->port());
  }

  // The killed node comes back as a replica of the new master; done when every Sentinel
  // lists it as a healthy replica, so the next failover has a candidate.
  std::string restoreRedis() {
    std::lock_guard lock(mu);
    if (killed == nullptr) return "nothing to restore";
    RedisServer* m = currentMaster();
    if (m == nullptr || m == killed) return "no new master yet";
    killed->restart(m->port());
    const std::string port = std::to_string(killed->port());
    const bool known = waitUntil(
        [&] {
          for (int s : sentinels.sentinelPorts()) {
            const std::string r = redisCli(s, {"SENTINEL", "replicas", "mymaster"});
            const auto at = r.find(port);
            if (at == std::string::npos) return false;
            const auto flags = r.find("flags\n", at);
            if (flags == std::string::npos || r.compare(flags + 6, 6, "slave\n") != 0) return false;
          }
          return true;
        },
        30s, 100ms);
    killed = nullptr;
    return known ? "restored" : "restored, but not every Sentinel lists the replica yet";
  }

  std::string killPostgresPrimary() {
    std::lock_guard lock(mu);
    pg.killPrimary();
    return "killed 127.0.0.1:" + std::to_string(pg.primaryPort());
  }

  std::string stopPostgresPrimary() {
    std::lock_guard lock(mu);
    pg.stopPrimary();
    return "stopped 127.0.0.1:" + std::to_string(pg.primaryPort());
  }

  std::string restorePostgres() {
    std::lock_guard lock(mu);
    pg.rebuild();
    etcd.put("database/primary", "127.0.0.1:" + std::to_string(pg.primaryPort()));
    return "rebuilt";
  }

  std::string killPatroniLeader() {
    std::lock_guard lock(mu);
    const std::string leader = patroni.leader();
    if (leader.empty()) return "no leader";
    patroni_killed = leader == PatroniCluster::name(0) ? 0 : 1;
    patroni.kill(patroni_killed);
    return "killed " + leader;
  }

  // The killed member rejoins (pg_rewind), then pg1 leads again so the next drill finds the
  // stack as `up` left it.
  std::string restorePatroni() {
    std::lock_guard lock(mu);
    if (patroni_killed >= 0) patroni.restart(patroni_killed);
    patroni_killed = -1;
    if (!patroni.waitHealthy(60s)) return "the cluster did not become healthy";
    if (patroni.leader() != PatroniCluster::name(0)) {
      long status = 0;
      httpSend("POST", patroni.apiUrl(1) + "/switchover",
               "{\"leader\":\"" + PatroniCluster::name(1) + "\",\"candidate\":\"" +
                   PatroniCluster::name(0) + "\"}",
               &status);
      if (!patroni.waitHealthy(60s) || patroni.leader() != PatroniCluster::name(0))
        return "switchover back to pg1 failed";
    }
    return "restored";
  }

  std::string status(int control) {
    return fmt::format(
        "redis            127.0.0.1:{}\n"
        "engine primary   127.0.0.1:{}  (pid {})\n"
        "engine standby   127.0.0.1:{}  (pid {})\n"
        "haproxy          127.0.0.1:{}  (runtime API {})\n"
        "etcd             {}\n"
        "powerdns API     {}\n"
        "redis (Sentinel) master 127.0.0.1:{}, replica 127.0.0.1:{}, sentinels {}\n"
        "postgresql 15    primary 127.0.0.1:{}, streaming standby 127.0.0.1:{}\n"
        "patroni 3.0      pg1 API {} (pg 127.0.0.1:{}), pg2 API {} (pg 127.0.0.1:{}), etcd {}\n"
        "sandbox control  http://127.0.0.1:{}\n",
        redis.port(), primary.port(), primary.process().pid(), standby.port(),
        standby.process().pid(), lb.frontendPort(), lb.adminSocket(), etcd.endpoint(),
        pdns.apiUrl(), sentinels.master().port(), sentinels.replica().port(),
        sentinels.sentinelList(), pg.primaryPort(), pg.standbyPort(), patroni.apiUrl(0),
        patroni.pgPort(0), patroni.apiUrl(1), patroni.pgPort(1), patroni.etcdEndpoint(), control);
  }
};

// The hftguard daemons the sandbox runs, as systemd would on each host: started, killed and
// started again by PID. Declared after the stack, so they stop before it.
class Daemons {
 public:
  struct Node {
    std::string name;
    std::string config;
    ChildProcess process;
  };

  Daemons(std::string binary, std::vector<Node> nodes, const EtcdCluster* etcd)
      : binary_(std::move(binary)), nodes_(std::move(nodes)), etcd_(etcd) {}

  // Every daemon that does not run, started; ready once each recorded its start and, when
  // coordinated, one of them leads.
  std::string startAll() {
    std::lock_guard lock(mu_);
    std::string said;
    std::vector<std::pair<std::string, std::size_t>> waiting;  // log, starts before
    for (Node& n : nodes_) {
      if (n.process.pid() > 0 && n.process.running()) continue;
      const std::string dir = std::filesystem::path(n.config).parent_path();
      const std::string log = dir + "/failover_events.json";
      waiting.emplace_back(log, starts(log));
      n.process = ChildProcess({binary_, "run", "--config", n.config},
                               {.log_file = dir + "/hftguard.log"});
      said += fmt::format("{}started {} (pid {})", said.empty() ? "" : ", ", n.name,
                          n.process.pid());
    }
    if (said.empty()) return "every daemon runs";
    std::string exited;
    const bool up = waitUntil(
        [&] {
          for (Node& n : nodes_) {
            if (n.process.running()) continue;
            const std::string dir = std::filesystem::path(n.config).parent_path();
            std::string log = readFile(dir + "/hftguard.log");
            if (log.size() > 2000) log = "..." + log.substr(log.size() - 2000);
            exited = fmt::format("{} exited:\n{}", n.name, log);
            return true;
          }
          for (const auto& [log, before] : waiting) {
            if (starts(log) <= before) return false;
          }
          return leader().has_value() || etcd_ == nullptr;
        },
        30s, 50ms);
    if (!exited.empty()) return "not restored: " + exited;
    if (!up) return "not restored: " + said + ", but not every one started (or none leads) within 30 s";
    return said;
  }

  // kill -9 the daemon holding the leader key: its lease expires in etcd, another takes over.
  std::string killLeader() {
    std::lock_guard lock(mu_);
    const auto name = leader();
    if (!name) return "no daemon leads";
    for (Node& n : nodes_) {
      if (n.name != *name || n.process.pid() <= 0 || !n.process.running()) continue;
      const pid_t pid = n.process.pid();
      n.process.kill(SIGKILL);
      n.process.waitExit(5s);
      return fmt::format("killed {} (pid {})", n.name, pid);
    }
    return "the leader " + *name + " is not a daemon of this sandbox";
  }

  std::optional<std::string> leader() const {
    if (etcd_ == nullptr) return std::nullopt;
    auto v = etcd_->get("/hftguard/sandbox/leader");
    if (!v || v->empty()) return std::nullopt;
    return v;
  }

  std::string status() const {
    std::string out;
    for (const Node& n : nodes_) {
      out += fmt::format("daemon {:<10} config {} (pid {})\n", n.name, n.config, n.process.pid());
    }
    return out;
  }

 private:
  static std::size_t starts(const std::string& log) {
    const std::string text = readFile(log);
    std::size_t n = 0;
    for (auto at = text.find("\"type\":\"daemon_started\""); at != std::string::npos;
         at = text.find("\"type\":\"daemon_started\"", at + 1))
      ++n;
    return n;
  }

  std::string binary_;
  std::vector<Node> nodes_;
  const EtcdCluster* etcd_;
  std::mutex mu_;
};

// The primary of trading_engine in the local state file (STATE/cluster_state.json).
std::string primaryInStateFile(const std::string& dir) {
  const auto j = nlohmann::json::parse(readFile(dir + "/cluster_state.json"), nullptr, false);
  if (!j.is_object()) return kEngineA.name;  // no state yet: the config's
  const auto* p = j.contains("components") && j["components"].contains("trading_engine")
                      ? &j["components"]["trading_engine"]
                      : nullptr;
  return p != nullptr && p->contains("primary") ? (*p)["primary"].get<std::string>()
                                                : std::string(kEngineA.name);
}

std::string primaryInEtcd(const EtcdCluster& etcd) {
  const auto text = etcd.get("/hftguard/sandbox/roles/trading_engine");
  if (!text) return kEngineA.name;
  const auto j = nlohmann::json::parse(*text, nullptr, false);
  return j.is_object() && j.contains("primary") ? j["primary"].get<std::string>() : "?";
}

}  // namespace

// One daemon's config of a coordinated sandbox: the single config with its own node name
// and event log, and the cluster's etcd.
std::string nodeConfig(const std::string& config, const std::string& dir, int k,
                       const std::vector<std::string>& endpoints, int api_port) {
  const std::string node = fmt::format("node{}", k);
  if (config.find("\n  name: sandbox\n") == std::string::npos) {
    throw std::runtime_error("the template has no 'node: name: sandbox' to rename");
  }
  std::string out = replaceAll(config, "\n  name: sandbox\n", "\n  name: " + node + "\n");
  out = replaceAll(out, dir + "/failover_events.json", dir + "/" + node + "/failover_events.json");
  out = replaceAll(out, dir + "/control.sock", dir + "/" + node + "/control.sock");
  const auto listen = out.find("\n  listen: 127.0.0.1:");
  if (listen != std::string::npos) {
    const auto end = out.find('\n', listen + 1);
    out.replace(listen, end - listen, fmt::format("\n  listen: 127.0.0.1:{}", api_port));
  }
  std::string list;
  for (const auto& e : endpoints) list += (list.empty() ? "" : ", ") + e;
  // A killed leader's lease expires within 15 s, so a failover it left half-done still ends
  // within the engine's 30 s target; every step fits the lease (check-config's rule: step
  // timeout <= 2/3 ttl - margin - request timeout = 7.5 s; Patroni's wait is retried).
  return out + fmt::format(
                   "\n# {} of a coordinated sandbox: the leader of cluster `sandbox` acts.\n"
                   "coordination:\n  type: etcd\n  endpoints: [{}]\n  cluster: sandbox\n"
                   "  lease_ttl: 15s\n",
                   node, list);
}

// Up: STATE/status and STATE/ready (scripts/sandbox waits for it) written, the status
// printed; then until SIGTERM or SIGINT.
void serveUntilStopped(const std::string& dir, const std::string& status, const sigset_t& stop) {
  std::ofstream(dir + "/status") << status;
  std::ofstream(dir + "/ready") << getpid() << "\n";
  std::fputs(status.c_str(), stdout);
  std::fflush(stdout);
  int sig = 0;
  sigwait(&stop, &sig);
  std::remove((dir + "/ready").c_str());
}

// --hosts N: the partition lab instead of the loopback stack - N hosts in network namespaces
// (docs/safety.md), each with an etcd member and a daemon, engine_a and engine_b on h1 and h2,
// a client namespace for the drill. STATE/sandbox.yaml is the drill's config. Needs root.
int runPartitionLab(const std::string& dir, const std::string& binary, int hosts,
                    const sigset_t& stop) {
  for (int h = 1; h <= hosts; ++h) std::filesystem::remove_all(fmt::format("{}/h{}", dir, h));
  std::filesystem::remove_all(dir + "/drill");
  std::filesystem::create_directories(dir + "/drill");
  NetnsLab lab(binary, hosts, 6, dir);
  if (!lab.start()) throw std::runtime_error("the partition lab did not come up:\n" + lab.dump());
  std::ofstream(dir + "/sandbox.yaml") << lab.drillConfig();
  std::string status = fmt::format(
      "partition lab    {} hosts, each in its own network namespace behind {} (no route from "
      "the root namespace)\n"
      "drill from       {} (10.77.0.100), config {}/sandbox.yaml - as root\n",
      hosts, lab.bridgeNs(), lab.clientNs(), dir);
  std::string events;
  for (int h = 1; h <= hosts; ++h) {
    status += fmt::format("{:<16} {:<10} netns {}  etcd, hftguard{}\n", lab.node(h), lab.ip(h),
                          lab.ns(h), h == 1 ? ", engine_a (primary)" : h == 2 ? ", engine_b" : " (witness)");
    events += (events.empty() ? "" : ",") + lab.events(h);
  }
  status += "events           " + events + "\n";
  if (int leader = lab.leader()) status += "leader           " + lab.node(leader) + "\n";
  serveUntilStopped(dir, status, stop);
  return 0;  // the lab stops its processes by PID and deletes the namespaces it made
}

int main(int argc, char** argv) {
  std::string dir, templ, binary;
  int daemons = 0, hosts = 0;
  for (int i = 1; i + 1 < argc; i += 2) {
    if (std::string(argv[i]) == "--dir") dir = argv[i + 1];
    if (std::string(argv[i]) == "--template") templ = argv[i + 1];
    if (std::string(argv[i]) == "--daemons") daemons = std::atoi(argv[i + 1]);
    if (std::string(argv[i]) == "--hftguard") binary = argv[i + 1];
    if (std::string(argv[i]) == "--hosts") hosts = std::atoi(argv[i + 1]);
  }
  if (dir.empty() || (templ.empty() && hosts == 0) || daemons < 0 || daemons > 5 ||
      (daemons > 0 && binary.empty()) || (hosts != 0 && (hosts != 3 || binary.empty()))) {
    std::fprintf(stderr,
                 "usage: hftguard_sandbox --dir STATE --template config/sandbox.yaml "
                 "[--daemons 0..5 --hftguard BIN]\n"
                 "       hftguard_sandbox --dir STATE --hosts 3 --hftguard BIN\n");
    return 2;
  }
  // SIGTERM and SIGINT are waited for below; block them before any thread starts.
  sigset_t stop;
  sigemptyset(&stop);
  sigaddset(&stop, SIGTERM);
  sigaddset(&stop, SIGINT);
  pthread_sigmask(SIG_BLOCK, &stop, nullptr);
  try {
    if (hosts > 0) return runPartitionLab(dir, binary, hosts, stop);
    Stack stack;
    std::unique_ptr<EtcdCluster> coordination;  // the daemons' cluster state and leader
    if (daemons > 1) coordination = std::make_unique<EtcdCluster>(3);
    stack.roles = [&]() -> std::string {
      return coordination ? primaryInEtcd(*coordination) : primaryInStateFile(dir);
    };
    std::unique_ptr<Daemons> running;  // set once the configs are written
    // The drill's fault and failback requests: POST PATH -> what the stack did.
    const std::map<std::string, std::string (Stack::*)()> routes = {
        {"/restore/trading", &Stack::restoreTrading},
        {"/kill/redis-master", &Stack::killRedisMaster},
        {"/restore/redis", &Stack::restoreRedis},
        {"/kill/postgres-primary", &Stack::killPostgresPrimary},
        {"/stop/postgres-primary", &Stack::stopPostgresPrimary},
        {"/restore/postgres", &Stack::restorePostgres},
        {"/kill/patroni-leader", &Stack::killPatroniLeader},
        {"/restore/patroni", &Stack::restorePatroni}};
    HttpReceiver control([&](const ReceivedRequest& r) -> Reply {
      if (r.target == "/status") return {200, stack.status(0), "text/plain"};
      if (r.method == "POST" && (r.target == "/kill/leader-daemon" || r.target == "/restore/daemons")) {
        if (!running) return {404, "{\"status\":\"no daemons run in this sandbox\"}"};
        const std::string said =
            r.target == "/restore/daemons" ? running->startAll() : running->killLeader();
        const bool failed = said.starts_with("not restored") || said.starts_with("no daemon") ||
                            said.starts_with("the leader");
        return {failed ? 503 : 200, nlohmann::json{{"status", said}}.dump()};
      }
      auto it = routes.find(r.target);
      if (r.method != "POST" || it == routes.end()) return {404, "{}"};
      // A restore that could not verify the stack is an error, so the drill says so.
      const std::string said = (stack.*(it->second))();
      return {said.starts_with("not restored") ? 503 : 200, "{\"status\":\"" + said + "\"}"};
    });
    const int controlPort = std::stoi(control.url().substr(control.url().rfind(':') + 1));
    const std::map<int, int> ports = {{kRedis, stack.redis.port()},
                                      {kPrimary, stack.primary.port()},
                                      {kStandby, stack.standby.port()},
                                      {kFrontend, stack.lb.frontendPort()},
                                      {kAdmin, stack.adminPort()},
                                      {kEtcd, std::stoi(stack.etcd.endpoint().substr(17))},
                                      {kPdns, std::stoi(stack.pdns.apiUrl().substr(17))},
                                      {kControl, controlPort},
                                      {kControlApi, freePort()},
                                      {kRedisMaster, stack.sentinels.master().port()},
                                      {kRedisReplica, stack.sentinels.replica().port()},
                                      {kSentinel1, stack.sentinels.sentinelPorts()[0]},
                                      {kSentinel2, stack.sentinels.sentinelPorts()[1]},
                                      {kSentinel3, stack.sentinels.sentinelPorts()[2]},
                                      {kPgPrimary, stack.pg.primaryPort()},
                                      {kPgStandby, stack.pg.standbyPort()},
                                      {kPatroniApi1, std::stoi(stack.patroni.apiUrl(0).substr(17))},
                                      {kPatroniApi2, std::stoi(stack.patroni.apiUrl(1).substr(17))},
                                      {kPatroniPg1, stack.patroni.pgPort(0)},
                                      {kPatroniPg2, stack.patroni.pgPort(1)}};
    std::string config = remapPorts(readFile(templ), ports);
    config = replaceAll(config, kTemplateState, dir);
    std::filesystem::create_directories(dir + "/secrets");
    std::ofstream(dir + "/secrets/pdns-api-key") << PdnsServer::kApiKey;
    std::ofstream(dir + "/secrets/control-token") << controlToken();
    std::ofstream(dir + "/sandbox.yaml") << config;
    std::string status = stack.status(controlPort);
    std::vector<Daemons::Node> nodes;
    if (daemons == 1) nodes.push_back({"sandbox", dir + "/sandbox.yaml", {}});
    if (daemons > 1) {
      std::string list;
      for (const auto& e : coordination->endpoints()) list += (list.empty() ? "" : " ") + e;
      status += fmt::format("coordination     etcd cluster {}\n", list);
      for (int k = 1; k <= daemons; ++k) {
        const std::string node = fmt::format("{}/node{}", dir, k);
        std::filesystem::create_directories(node + "/secrets");  // paths are the config's
        std::ofstream(node + "/secrets/pdns-api-key") << PdnsServer::kApiKey;
        std::ofstream(node + "/secrets/control-token") << controlToken();
        std::ofstream(node + "/sandbox.yaml")
            << nodeConfig(config, dir, k, coordination->endpoints(), freePort());
        nodes.push_back({fmt::format("node{}", k), node + "/sandbox.yaml", {}});
      }
    }
    if (!nodes.empty()) {
      running = std::make_unique<Daemons>(binary, std::move(nodes), coordination.get());
      const std::string started = running->startAll();
      if (started.starts_with("not restored")) throw std::runtime_error(started.substr(14));
      status += running->status();
      if (auto leader = running->leader()) status += "leader           " + *leader + "\n";
    }
    serveUntilStopped(dir, status, stop);
    return 0;  // every server stops by PID as the stack goes out of scope
  } catch (const std::exception& e) {
    std::fprintf(stderr, "sandbox: %s\n", e.what());
    return 1;
  }
}
