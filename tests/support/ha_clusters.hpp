#pragma once
// Test support: the data stores' own HA on loopback - a Redis master + replica watched by
// three Sentinels, and a two-member Patroni cluster on a real etcd. Each waits until it is
// ready to fail over, and stops every process it started, by PID.

#include <chrono>
#include <memory>
#include <string>
#include <vector>

#include "process.hpp"
#include "servers.hpp"

namespace hftguard::testing {

// Master, replica, and three Sentinels (quorum 2, down after 1 s) that know both nodes and
// each other - before that, Sentinel cannot fail over.
class SentinelGroup {
 public:
  SentinelGroup();
  RedisServer& master() { return master_; }
  RedisServer& replica() { return replica_; }
  std::vector<int> sentinelPorts() const;
  // "'127.0.0.1:P1', '127.0.0.1:P2', ..." for a YAML flow list.
  std::string sentinelList() const;
  static std::string address(int port) { return "127.0.0.1:" + std::to_string(port); }

 private:
  RedisServer master_;
  RedisServer replica_;
  std::vector<std::unique_ptr<SentinelServer>> sentinels_;
};

// Members "pg1" (bootstraps, the first leader) and "pg2" (streaming replica), with
// ttl 10 / loop_wait 1 / retry_timeout 3 so Patroni's own failover is as fast as it goes.
class PatroniCluster {
 public:
  PatroniCluster();
  ~PatroniCluster();
  static constexpr int kMembers = 2;
  static std::string name(int i) { return "pg" + std::to_string(i + 1); }
  std::string apiUrl(int i) const;
  int pgPort(int i) const { return members_[i].pg_port; }
  const std::string& user() const { return user_; }
  std::string etcdEndpoint() const { return etcd_.endpoint(); }
  // The leader's name from /cluster ("" when none) and the raw /cluster body.
  std::string leader() const;
  std::string cluster() const;
  // A leader, and every other member running as a replica with lag 0.
  bool waitHealthy(std::chrono::milliseconds timeout) const;
  void setPaused(bool paused);
  // SIGKILL a member's Patroni and its postmaster: the host is gone.
  void kill(int i);
  // Starts a killed member again; it rejoins as a replica.
  void restart(int i);
  // Runs SQL on a member; the first column of the first row. Throws when it cannot.
  std::string query(int i, const std::string& sql) const;

 private:
  struct Member {
    int pg_port = 0;
    int api_port = 0;
    std::string config;
    std::string data;
    ChildProcess patroni;
  };
  void start(int i);
  std::string user_;
  EtcdServer etcd_;
  TempDir dir_;
  std::vector<Member> members_;
};

}  // namespace hftguard::testing
