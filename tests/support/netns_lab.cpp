#include "netns_lab.hpp"

#include <algorithm>
#include <cstdlib>
#include <random>
#include <fstream>
#include <stdexcept>

#include <fmt/format.h>
#include <nlohmann/json.hpp>
#include <time.h>
#include <filesystem>

#include "hftguard/core/base64.hpp"
#include <unistd.h>

namespace hftguard::testing {
namespace {

using namespace std::chrono_literals;

const char* kIp = "/usr/sbin/ip";
const char* kNft = "/usr/sbin/nft";

}  // namespace

std::string partitionPlans(const std::string& before_promote) {
  return "plans:\n"
         "  fence_here:\n    steps:\n"
         "      - {name: demote, action: http_request, url: "
         "'http://{old_primary.api}/admin/demote', timeout: 500ms}\n"
         "  move:\n    steps:\n"
         "      - {name: fence, action: fence, stop_url: "
         "'http://{old_primary.api}/admin/demote', timeout: 1s}\n" +
         before_promote +
         "      - {name: promote, action: http_request, url: "
         "'http://{new_primary.api}/admin/promote', timeout: 1s}\n";
}

std::int64_t NetnsLab::nowNs() { return drill::monotonicNowNs(); }

NetnsLab::NetnsLab(std::string hftguard, int hosts, int lease_ttl_s, std::string state_dir)
    : hftguard_(std::move(hftguard)),
      hosts_(hosts),
      ttl_s_(lease_ttl_s),
      prefix_(fmt::format("hg{:x}", std::random_device{}() & 0xffffff)),
      dir_(std::move(state_dir)) {
  if (dir_.empty()) dir_ = temp_.emplace("hftguard-netns").path();
  std::filesystem::create_directories(dir_);
  if (::geteuid() != 0) {
    throw std::runtime_error("the partition lab needs root (CAP_NET_ADMIN) for network "
                             "namespaces: run it as root");
  }
  try {
    addNs(prefix_ + "br");
    run({kIp, "netns", "exec", prefix_ + "br", kIp, "link", "set", "lo", "up"});
    run({kIp, "netns", "exec", prefix_ + "br", kIp, "link", "add", "br0", "type", "bridge"});
    run({kIp, "netns", "exec", prefix_ + "br", kIp, "link", "set", "br0", "up"});
    for (int h = 1; h <= hosts_; ++h) {
      const std::string host = fmt::format("vh{}", h), bridge = fmt::format("vb{}", h);
      addNs(ns(h));
      // Both ends created inside their namespaces: nothing of it ever lives in the root one.
      run({kIp, "link", "add", host, "netns", ns(h), "type", "veth", "peer", "name", bridge,
           "netns", prefix_ + "br"});
      run(inNs(h, {kIp, "link", "set", "lo", "up"}));
      run(inNs(h, {kIp, "addr", "add", ip(h) + "/24", "dev", host}));
      run(inNs(h, {kIp, "link", "set", host, "up"}));
      run({kIp, "netns", "exec", prefix_ + "br", kIp, "link", "set", bridge, "master", "br0"});
      run({kIp, "netns", "exec", prefix_ + "br", kIp, "link", "set", bridge, "up"});
    }
    // The client: on the bridge like a host, nothing of its own running.
    addNs(clientNs());
    run({kIp, "link", "add", "vc", "netns", clientNs(), "type", "veth", "peer", "name", "vbc",
         "netns", bridgeNs()});
    run({kIp, "netns", "exec", clientNs(), kIp, "link", "set", "lo", "up"});
    run({kIp, "netns", "exec", clientNs(), kIp, "addr", "add", "10.77.0.100/24", "dev", "vc"});
    run({kIp, "netns", "exec", clientNs(), kIp, "link", "set", "vc", "up"});
    run({kIp, "netns", "exec", bridgeNs(), kIp, "link", "set", "vbc", "master", "br0"});
    run({kIp, "netns", "exec", bridgeNs(), kIp, "link", "set", "vbc", "up"});
  } catch (...) {
    teardown();
    throw;
  }
}

NetnsLab::~NetnsLab() { teardown(); }

void NetnsLab::teardown() {
  for (auto& [h, d] : daemons_) d.stop(2000ms);
  daemons_.clear();
  for (auto& e : engines_) e.stop(1000ms);
  engines_.clear();
  for (auto& e : etcd_) e.stop(2000ms);
  etcd_.clear();
  for (const auto& name : namespaces_) runCommand({kIp, "netns", "del", name}, {}, 10s);
  namespaces_.clear();
}

// Only the namespaces this lab created are ever deleted: a name taken by another run fails
// here, and that run's namespaces are left alone.
void NetnsLab::addNs(const std::string& name) {
  run({kIp, "netns", "add", name});
  namespaces_.push_back(name);
}

std::string NetnsLab::ns(int host) const { return fmt::format("{}h{}", prefix_, host); }
std::string NetnsLab::link(int host) const { return fmt::format("vb{}", host); }
std::string NetnsLab::ip(int host) const { return fmt::format("10.77.0.{}", host); }
std::string NetnsLab::node(int host) const { return fmt::format("h{}", host); }
std::string NetnsLab::events(int host) const {
  return fmt::format("{}/h{}/failover_events.json", dir_, host);
}

std::vector<std::string> NetnsLab::inNs(int host, std::vector<std::string> argv) const {
  argv.insert(argv.begin(), {kIp, "netns", "exec", ns(host)});
  return argv;
}

void NetnsLab::run(const std::vector<std::string>& argv) {
  const std::string log = dir_ + "/setup.log";
  std::string line;
  for (const auto& a : argv) line += a + " ";
  require(runCommand(argv, {.log_file = log}, 20s) == 0, "failed: " + line, log);
}

int NetnsLab::execIn(int host, const std::vector<std::string>& argv, std::string* out) {
  const std::string log = fmt::format("{}/exec-{}.log", dir_, host);
  std::filesystem::remove(log);  // the log is appended to: this command's output only
  const int rc = runCommand(inNs(host, argv), {.log_file = log}, 20s);
  if (out != nullptr) *out = readFile(log);
  return rc;
}

std::string NetnsLab::http(int from, const std::string& method, const std::string& url,
                           const std::string& body) {
  std::string out;
  std::vector<std::string> argv = {"/usr/bin/curl", "-s", "-m", "2", "-X", method};
  if (!body.empty()) argv.insert(argv.end(), {"-H", "Content-Type: application/json", "-d", body});
  argv.push_back(url);
  return execIn(from, argv, &out) == 0 ? out : std::string();
}

// What every daemon's config and the drill's share: coordination (etcd, `first`'s member
// listed first), the `engine` component, its plans.
std::string NetnsLab::sharedConfig(int first) const {
  std::string endpoints = "'http://" + ip(first) + ":2379'";
  for (int h = 1; h <= hosts_; ++h) {
    if (h != first) endpoints += ", 'http://" + ip(h) + ":2379'";
  }
  std::string members;
  for (int h = 1; h <= 2; ++h) {
    members += fmt::format(
        "      engine_{}: {{host: {}, api: '{}:19080', node: {}, link: {}, netns: {}}}\n",
        h == 1 ? 'a' : 'b', ip(h), ip(h), node(h), link(h), ns(h));
  }
  return fmt::format("coordination: {{type: etcd, endpoints: [{}], lease_ttl: {}s, cluster: lab}}\n",
                     endpoints, ttl_s_) +
         "components:\n  engine:\n    tier: hot\n    rto_target: 30s\n    plan: move\n"
         "    cooldown: 0s\n    flap_damping: {enabled: false}\n"
         // Its plans (an HTTP demote and promote) are safe to run again.
         "    failover_retries: 2\n    failover_retry_backoff: 5s\n"
         "    self_fence: fence_here\n"
         "    members:\n" +
         members +
         "    primary: engine_a\n"
         "    checks:\n"
         // Up only while it acts as primary: a self-fenced (demoted) engine is down to everyone.
         "      health: {type: http, url: 'http://{primary.api}/health', json_field: /role, "
         "json_equals: primary, interval: 100ms, timeout: 80ms}\n" +
         plans_;
}

void NetnsLab::writeConfig(int host) const {
  const std::string d = fmt::format("{}/h{}", dir_, host);
  std::ofstream(d + "/hftguard.yaml") << "node: {name: " << node(host) << "}\n"
                                      << "event_log: {path: " << d << "/failover_events.json}\n"
                                      << "maintenance: {path: " << d << "/maintenance.json}\n"
                                      << "control_api: {listen: 'off', socket: " << d << "/control.sock}\n"
                                      << sharedConfig(host);
}

std::string NetnsLab::drillConfig() const {
  const std::string d = dir_ + "/drill";
  // Cutting and healing: `ip` in the bridge namespace (a link) or nft in a host's.
  auto exec = [](const std::string& name, const std::vector<std::string>& argv) {
    std::string list;
    for (const auto& a : argv) list += (list.empty() ? "'" : ", '") + a + "'";
    return fmt::format("      - {{name: {}, action: exec, argv: [{}], timeout: 5s}}\n", name, list);
  };
  const std::string br = bridgeNs(), witness = ip(3);
  std::string heal;
  for (int h = 1; h <= hosts_; ++h) {
    heal += exec(fmt::format("link_h{}_up", h), {kIp, "-n", br, "link", "set", link(h), "up"});
  }
  for (int h = 1; h <= 2; ++h) {  // `add` first: a table that is there stays, one that is not is made
    heal += exec(fmt::format("rules_h{}_table", h),
                 {kIp, "netns", "exec", ns(h), kNft, "add", "table", "inet", "hgcut"});
    heal += exec(fmt::format("rules_h{}_gone", h),
                 {kIp, "netns", "exec", ns(h), kNft, "delete", "table", "inet", "hgcut"});
  }
  const std::vector<std::string> nft = {kIp, "netns", "exec", "{old_primary.netns}", kNft};
  auto in = [&](std::vector<std::string> more) {
    std::vector<std::string> argv = nft;
    argv.insert(argv.end(), more.begin(), more.end());
    return argv;
  };
  return "# hftguard drill on the partition lab (scripts/sandbox up --hosts 3): written by the\n"
         "# sandbox with the namespaces it made. Run it as root (the drill enters drill.netns).\n"
         "node: {name: drill}\n"
         "event_log: {path: " + d + "/failover_events.json}\n"
         "maintenance: {path: " + d + "/maintenance.json}\n" +
         sharedConfig(3) +
         "  isolate_primary_host:\n    steps:\n" +
         exec("link_down", {kIp, "-n", br, "link", "set", "{old_primary.link}", "down"}) +
         "  isolate_witness:\n    steps:\n" +
         exec("link_down", {kIp, "-n", br, "link", "set", link(3), "down"}) +
         "  cut_primary_witness:\n    steps:\n" +
         exec("table", in({"add", "table", "inet", "hgcut"})) +
         exec("chain_in", in({"add chain inet hgcut in { type filter hook input priority 0 ; }"})) +
         exec("chain_out",
              in({"add chain inet hgcut out { type filter hook output priority 0 ; }"})) +
         exec("drop_in", in({"add", "rule", "inet", "hgcut", "in", "ip", "saddr", witness, "drop"})) +
         exec("drop_out",
              in({"add", "rule", "inet", "hgcut", "out", "ip", "daddr", witness, "drop"})) +
         "  heal:\n    steps:\n" + heal +
         "drill:\n"
         "  netns: " + clientNs() + "\n"
         "  histories: [" + dir_ + "/h1/history, " + dir_ + "/h2/history]\n"
         "  scenarios:\n"
         "    partition-primary-host:\n"
         "      description: The primary's host cut off (its link down) - it fences itself, the "
         "majority fails over once its lease is gone\n"
         "      component: engine\n      inject: isolate_primary_host\n      restore: heal\n"
         "      timeout: " + std::to_string(ttl_s_ * 5) + "s\n"
         "    partition-observer:\n"
         "      description: The witness cut off past its lease - nothing fails over\n"
         "      component: engine\n      inject: isolate_witness\n      restore: heal\n"
         "      expect_failover: false\n      calm: no_failover\n"
         "      fault_for: " + std::to_string(ttl_s_ + 3) + "s\n      observe: 3s\n"
         "    partition-primary-observer-cut:\n"
         "      description: Only the primary and the witness cut apart (nftables) - the quorum "
         "still sees the primary, nothing fails over\n"
         "      component: engine\n      inject: cut_primary_witness\n      restore: heal\n"
         "      expect_failover: false\n      calm: no_failover\n"
         "      fault_for: 5s\n      observe: 2s\n";
}

bool NetnsLab::start() {
  std::string initial;
  for (int h = 1; h <= hosts_; ++h) {
    initial += fmt::format("{}e{}=http://{}:2380", h == 1 ? "" : ",", h, ip(h));
  }
  for (int h = 1; h <= hosts_; ++h) {
    const std::string d = fmt::format("{}/h{}", dir_, h);
    std::filesystem::create_directories(d);
    const std::string client = "http://" + ip(h) + ":2379", peer = "http://" + ip(h) + ":2380";
    etcd_.emplace_back(inNs(h, {"/usr/bin/etcd", "--name", fmt::format("e{}", h), "--data-dir",
                                d + "/etcd", "--listen-client-urls", client,
                                "--advertise-client-urls", client, "--listen-peer-urls", peer,
                                "--initial-advertise-peer-urls", peer, "--initial-cluster",
                                initial, "--initial-cluster-token", prefix_,
                                "--initial-cluster-state", "new",
                                // A member back from a partition must not depose a working
                                // leader (etcd 3.4's default is off; docs/safety.md).
                                "--pre-vote=true"}),
                       SpawnOptions{.log_file = d + "/etcd.log", .die_with_parent = true});
  }
  // bench/partition_batch runs copies of the binaries (the build may change meanwhile).
  const char* sim_env = std::getenv("HFTGUARD_PARTITION_ENGINE_SIM");
  const std::string sim = sim_env != nullptr ? sim_env : HFTGUARD_ENGINE_SIM;
  for (int h = 1; h <= 2; ++h) {
    const std::string d = fmt::format("{}/h{}", dir_, h);
    engines_.emplace_back(inNs(h, {sim, "--role", h == 1 ? "primary" : "standby",
                                   "--host", ip(h), "--port", "19080", "--history",
                                   d + "/history"}),
                          SpawnOptions{.log_file = d + "/engine.log", .die_with_parent = true});
  }
  for (int h = 1; h <= hosts_; ++h) {
    if (!waitUntil([&] { return !http(h, "GET", "http://" + ip(h) + ":2379/health").empty(); },
                   30s)) {
      return false;
    }
  }
  for (int h = 1; h <= hosts_; ++h) {
    writeConfig(h);
    startDaemon(h);
  }
  // One leads, and every daemon's report is in etcd (the leader has seen each live).
  const std::string key = base64Encode("/hftguard/lab/daemons/h");
  const std::string end = base64Encode("/hftguard/lab/daemons/i");
  return waitUntil([&] { return leader() > 0; }, 30s) &&
         waitUntil(
             [&] {
               auto j = nlohmann::json::parse(
                   http(1, "POST", "http://" + ip(1) + ":2379/v3/kv/range",
                        "{\"key\":\"" + key + "\",\"range_end\":\"" + end + "\"}"),
                   nullptr, false);
               return j.is_object() && j.value("count", "0") == std::to_string(hosts_);
             },
             15s, 200ms);
}

void NetnsLab::startDaemon(int host) {
  const std::string d = fmt::format("{}/h{}", dir_, host);
  daemons_[host] = ChildProcess(inNs(host, {hftguard_, "run", "--config", d + "/hftguard.yaml"}),
                                {.log_file = d + "/run.log", .die_with_parent = true});
}

void NetnsLab::stopDaemon(int host) {
  auto it = daemons_.find(host);
  if (it != daemons_.end()) it->second.stop(5000ms);
}

void NetnsLab::isolate(int host, bool down) {
  run({kIp, "netns", "exec", prefix_ + "br", kIp, "link", "set", link(host),
       down ? "down" : "up"});
  if (down) {
    isolated_.insert(host);
  } else {
    isolated_.erase(host);
  }
}

void NetnsLab::cut(int a, int b) {
  if (cutting_.insert(a).second) {
    run(inNs(a, {kNft, "add", "table", "inet", "hgcut"}));
    run(inNs(a, {kNft, "add chain inet hgcut in { type filter hook input priority 0 ; }"}));
    run(inNs(a, {kNft, "add chain inet hgcut out { type filter hook output priority 0 ; }"}));
  }
  run(inNs(a, {kNft, "add", "rule", "inet", "hgcut", "in", "ip", "saddr", ip(b), "drop"}));
  run(inNs(a, {kNft, "add", "rule", "inet", "hgcut", "out", "ip", "daddr", ip(b), "drop"}));
}

void NetnsLab::heal() {
  for (int h : std::set<int>(isolated_)) isolate(h, false);
  for (int h : cutting_) run(inNs(h, {kNft, "delete", "table", "inet", "hgcut"}));
  cutting_.clear();
}

std::vector<events::Event> NetnsLab::eventsOf(int host) const { return readEvents(events(host)); }

std::size_t NetnsLab::count(const std::string& type) const {
  std::size_t n = 0;
  for (int h = 1; h <= hosts_; ++h) {
    for (const auto& e : eventsOf(h)) n += e.type == type && !e.fields.value("dry_run", false);
  }
  return n;
}

int NetnsLab::leader(const std::set<int>& among) const {
  int found = 0;
  for (int h = 1; h <= hosts_; ++h) {
    if (!among.empty() && !among.count(h)) continue;
    std::string last;
    for (const auto& e : eventsOf(h)) {
      if (e.type == "leader_elected" || e.type == "leader_lost") last = e.type;
    }
    if (last == "leader_elected") found = h;
  }
  return found;
}

int NetnsLab::etcdLeader(int from) {
  std::map<std::string, int> ids;
  std::string leader;
  for (int h = 1; h <= hosts_; ++h) {
    auto j = nlohmann::json::parse(
        http(from, "POST", "http://" + ip(h) + ":2379/v3/maintenance/status", "{}"), nullptr,
        false);
    if (!j.is_object() || !j.contains("header")) continue;
    ids[j["header"].value("member_id", "")] = h;
    leader = j.value("leader", leader);
  }
  auto it = ids.find(leader);
  return it == ids.end() ? 0 : it->second;
}

History NetnsLab::history() const {
  const std::int64_t now = nowNs();
  std::map<std::string, std::vector<drill::RoleInterval>> primary;
  for (int h = 1; h <= 2; ++h) {
    primary[h == 1 ? "engine_a" : "engine_b"] =
        drill::primaryIntervals(readFile(fmt::format("{}/h{}/history", dir_, h)), now);
  }
  return drill::overlap(std::move(primary));
}

std::string NetnsLab::dump() const {
  std::string out;
  for (int h = 1; h <= hosts_; ++h) {
    out += "--- " + node(h) + "\n";
    for (const auto& e : eventsOf(h)) out += e.type + ": " + e.reason + "\n";
    const std::string log = readFile(fmt::format("{}/h{}/run.log", dir_, h));
    out += log.substr(log.size() > 1500 ? log.size() - 1500 : 0);
  }
  return out;
}

}  // namespace hftguard::testing
