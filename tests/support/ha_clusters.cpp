#include "ha_clusters.hpp"

#include <csignal>
#include <fstream>
#include <thread>

#include <nlohmann/json.hpp>
#include <pqxx/pqxx>

namespace hftguard::testing {
namespace {

using namespace std::chrono_literals;
using nlohmann::json;

bool pidAlive(pid_t pid) { return pid > 0 && ::kill(pid, 0) == 0; }

// The postmaster's PID from its data directory, or -1.
pid_t postmasterPid(const std::string& data) {
  std::ifstream in(data + "/postmaster.pid");
  long pid = -1;
  if (!(in >> pid)) return -1;
  return static_cast<pid_t>(pid);
}

}  // namespace

// ---------------- Sentinel group ----------------

SentinelGroup::SentinelGroup() : replica_(master_.port()) {
  for (int i = 0; i < 3; ++i)
    sentinels_.push_back(std::make_unique<SentinelServer>(master_.port()));
  require(waitUntil(
              [&] {
                for (const auto& s : sentinels_) {
                  if (redisCli(s->port(), {"SENTINEL", "replicas", "mymaster"})
                          .find(std::to_string(replica_.port())) == std::string::npos)
                    return false;
                  if (redisCli(s->port(), {"SENTINEL", "sentinels", "mymaster"})
                          .find("127.0.0.1") == std::string::npos)
                    return false;
                }
                return true;
              },
              20s, 100ms),
          "the Sentinels did not discover the replica and each other");
}

std::vector<int> SentinelGroup::sentinelPorts() const {
  std::vector<int> out;
  for (const auto& s : sentinels_) out.push_back(s->port());
  return out;
}

std::string SentinelGroup::sentinelList() const {
  std::string out;
  for (int p : sentinelPorts()) out += (out.empty() ? "'" : ", '") + address(p) + "'";
  return out;
}

// ---------------- Patroni ----------------

PatroniCluster::PatroniCluster() : user_(postgresUser()), dir_("hftguard-patroni", user_) {
  members_.resize(kMembers);
  for (int i = 0; i < kMembers; ++i) {
    Member& m = members_[i];
    m.pg_port = freePort();
    m.api_port = freePort();
    m.data = dir_.path() + "/" + name(i);
    m.config = dir_.path() + "/" + name(i) + ".yml";
    std::ofstream(m.config)
        << "scope: hft\nname: " << name(i) << "\n"
        << "restapi: {listen: 127.0.0.1:" << m.api_port
        << ", connect_address: 127.0.0.1:" << m.api_port << "}\n"
        << "etcd3: {hosts: '" << etcd_.endpoint().substr(7) << "'}\n"
        << "bootstrap:\n  dcs:\n    ttl: 10\n    loop_wait: 1\n    retry_timeout: 3\n"
        << "    maximum_lag_on_failover: 1048576\n"
        << "    postgresql:\n      use_pg_rewind: true\n      parameters:\n"
        << "        wal_level: replica\n        hot_standby: 'on'\n        max_wal_senders: 5\n"
        << "        max_replication_slots: 5\n        wal_log_hints: 'on'\n"
        << "  initdb: [{encoding: UTF8}, {auth: trust}]\n"
        << "  pg_hba: ['host replication all 127.0.0.1/32 trust', "
           "'host all all 127.0.0.1/32 trust']\n"
        << "postgresql:\n  listen: 127.0.0.1:" << m.pg_port
        << "\n  connect_address: 127.0.0.1:" << m.pg_port << "\n  data_dir: " << m.data
        << "\n  bin_dir: /usr/lib/postgresql/15/bin\n  pgpass: " << dir_.path() << "/"
        << name(i) << ".pgpass\n"
        << "  authentication: {replication: {username: postgres}, superuser: {username: "
           "postgres}}\n"
        << "  parameters: {unix_socket_directories: '" << dir_.path() << "', fsync: 'off'}\n";
  }
  start(0);
  require(waitUntil([&] { return leader() == name(0); }, 30s, 100ms),
          "pg1 did not become the leader", members_[0].config + ".log");
  for (int i = 1; i < kMembers; ++i) start(i);
  require(waitHealthy(30s), "the Patroni cluster did not become healthy: " + cluster(),
          members_[1].config + ".log");
}

void PatroniCluster::start(int i) {
  Member& m = members_[i];
  m.patroni =
      ChildProcess({"/usr/bin/patroni", m.config}, {.log_file = m.config + ".log", .run_as = user_});
}

PatroniCluster::~PatroniCluster() {
  for (auto& m : members_) {
    const pid_t postmaster = postmasterPid(m.data);
    m.patroni.stop(15s);  // SIGTERM: Patroni stops its PostgreSQL first
    if (pidAlive(postmaster)) {
      ::kill(postmaster, SIGKILL);
      waitUntil([&] { return !pidAlive(postmaster); }, 5s);
    }
  }
}

std::string PatroniCluster::apiUrl(int i) const {
  return "http://127.0.0.1:" + std::to_string(members_[i].api_port);
}

std::string PatroniCluster::cluster() const {
  for (int i = 0; i < kMembers; ++i) {
    if (auto body = httpGet(apiUrl(i) + "/cluster")) return *body;
  }
  return {};
}

std::string PatroniCluster::leader() const {
  const json c = json::parse(cluster(), nullptr, false);
  if (!c.is_object()) return {};
  for (const auto& m : c.value("members", json::array())) {
    if (m.value("role", "") == "leader" && m.value("state", "") == "running")
      return m.value("name", "");
  }
  return {};
}

bool PatroniCluster::waitHealthy(std::chrono::milliseconds timeout) const {
  return waitUntil(
      [&] {
        const json c = json::parse(cluster(), nullptr, false);
        if (!c.is_object()) return false;
        int leaderIndex = -1, replicas = 0;
        for (const auto& m : c.value("members", json::array())) {
          const std::string role = m.value("role", "");
          if (m.value("state", "") != "running") return false;
          for (int i = 0; i < kMembers && role == "leader"; ++i) {
            if (m.value("port", 0) == pgPort(i)) leaderIndex = i;
          }
          if (role == "replica" && m.contains("lag") && m["lag"] == 0) ++replicas;
        }
        if (leaderIndex < 0 || replicas != kMembers - 1) return false;
        try {
          return query(leaderIndex,
                       "SELECT count(*) FROM pg_stat_replication WHERE state = 'streaming'") ==
                 std::to_string(kMembers - 1);
        } catch (const std::exception&) {
          return false;
        }
      },
      timeout, 100ms);
}

void PatroniCluster::setPaused(bool paused) {
  long status = 0;
  for (int i = 0; i < kMembers; ++i) {
    if (httpSend("PATCH", apiUrl(i) + "/config", paused ? "{\"pause\":true}" : "{\"pause\":false}",
                 &status) &&
        status == 200) {
      break;
    }
  }
  require(status == 200, "PATCH /config failed");
  require(waitUntil(
              [&] {
                const json c = json::parse(cluster(), nullptr, false);
                return c.is_object() && c.value("pause", false) == paused;
              },
              10s),
          "the pause did not show in /cluster");
}

void PatroniCluster::kill(int i) {
  Member& m = members_[i];
  const pid_t postmaster = postmasterPid(m.data);
  m.patroni.kill(SIGKILL);
  if (pidAlive(postmaster)) ::kill(postmaster, SIGKILL);
  m.patroni.stop(1s);  // reaps
  waitUntil([&] { return !pidAlive(postmaster); }, 5s);
}

void PatroniCluster::restart(int i) { start(i); }

std::string PatroniCluster::query(int i, const std::string& sql) const {
  pqxx::connection c("host=127.0.0.1 port=" + std::to_string(pgPort(i)) +
                     " user=postgres dbname=postgres connect_timeout=2");
  pqxx::nontransaction tx(c);
  pqxx::result r = tx.exec(sql);
  if (r.empty() || r.columns() == 0 || r[0][0].is_null()) return {};
  return r[0][0].c_str();
}

}  // namespace hftguard::testing
