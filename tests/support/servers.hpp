#pragma once
// Test support: real servers on loopback, on free ports, under a temp dir, stopped by PID.

#include <atomic>
#include <memory>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "process.hpp"

namespace hftguard::testing {

class RedisServer {
 public:
  // `replica_of` > 0 starts a replica of the Redis on that port.
  explicit RedisServer(int replica_of = 0);
  ~RedisServer();
  int port() const { return port_; }
  // Runs redis-cli against this server; returns its trimmed output.
  std::string cli(const std::vector<std::string>& args) const;
  void stop();
  // SIGKILL: the host is gone.
  void kill();
  bool running() { return process_.running(); }
  // Starts it again on the same port, empty, as a replica of `replica_of` (0: a master).
  void restart(int replica_of);

 private:
  TempDir dir_;
  int port_;
  ChildProcess process_;
};

// A Redis Sentinel monitoring "mymaster" on `master_port` (quorum 2, down after 1 s).
class SentinelServer {
 public:
  explicit SentinelServer(int master_port);
  ~SentinelServer();
  int port() const { return port_; }
  void stop() { process_.stop(); }

 private:
  TempDir dir_;
  int port_;
  ChildProcess process_;
};

// A PostgreSQL 15 primary and a streaming hot standby (pg_basebackup -R).
class PostgresPair {
 public:
  PostgresPair();
  ~PostgresPair();
  int primaryPort() const { return primary_port_; }
  int standbyPort() const { return standby_port_; }
  // Runs SQL on one server as the superuser; returns the first column of the first row.
  std::string query(int port, const std::string& sql) const;
  void stopPrimary();
  // SIGKILL the primary's postmaster: the host is gone.
  void killPrimary();
  // Back to a fresh primary + streaming standby on the same ports (after a failover).
  void rebuild();
  const std::string& user() const { return user_; }

 private:
  void build();
  ChildProcess startServer(const std::string& data_dir, int port);
  std::string user_;
  TempDir dir_;
  int primary_port_;
  int standby_port_;
  ChildProcess primary_;
  ChildProcess standby_;
};

class EngineSim {
 public:
  EngineSim(const std::string& role, int redis_port = 0);
  ~EngineSim();
  int port() const { return port_; }
  std::string url(const std::string& path) const;
  void setFault(const std::string& fault);
  ChildProcess& process() { return process_; }
  // Starts it again on the same port (after a crash), with its original role.
  void restart();

 private:
  TempDir dir_;
  int port_;
  std::vector<std::string> argv_;
  ChildProcess process_;
};

// HAProxy 2.6: an HTTP frontend over backend "trading" with servers "primary" and "standby"
// (the standby starts in maintenance), runtime API on a TCP admin socket.
class HaproxyServer {
 public:
  HaproxyServer(int primary_port, int standby_port);
  ~HaproxyServer();
  int frontendPort() const { return frontend_port_; }
  std::string adminSocket() const { return "127.0.0.1:" + std::to_string(admin_port_); }
  std::string adminUnixSocket() const { return "unix:" + dir_.path() + "/admin.sock"; }
  // One runtime API command, answered synchronously.
  std::string command(const std::string& cmd) const;

 private:
  TempDir dir_;
  int frontend_port_;
  int admin_port_;
  ChildProcess process_;
};

// A single-member etcd 3.4 with its v3 JSON gateway.
class EtcdServer {
 public:
  // `extra`: more etcd flags (--auth-token=simple ...).
  explicit EtcdServer(const std::vector<std::string>& extra = {});
  ~EtcdServer();
  std::string endpoint() const { return "http://127.0.0.1:" + std::to_string(client_port_); }
  // The value of `key`, or nullopt when absent.
  std::optional<std::string> get(const std::string& key) const;
  void put(const std::string& key, const std::string& value) const;
  pid_t pid() const { return process_.pid(); }

 private:
  TempDir dir_;
  int client_port_;
  int peer_port_;
  ChildProcess process_;
};

// A three-member etcd 3.4 cluster on loopback (the coordination tests' DCS).
class EtcdCluster {
 public:
  explicit EtcdCluster(int members = 3);
  ~EtcdCluster();
  std::vector<std::string> endpoints() const;
  std::optional<std::string> get(const std::string& key) const;
  void put(const std::string& key, const std::string& value) const;

 private:
  // Starts the members; "" when all are healthy, else the log of one that is not.
  std::string start(int members, int attempt);

  TempDir dir_;
  std::vector<int> client_ports_;
  std::vector<int> peer_ports_;
  std::vector<ChildProcess> processes_;
};

// PowerDNS 4.7 with the sqlite backend and the HTTP API, zone "hft.local." created.
class PdnsServer {
 public:
  PdnsServer();
  ~PdnsServer();
  std::string apiUrl() const { return "http://127.0.0.1:" + std::to_string(api_port_); }
  static constexpr const char* kApiKey = "test-api-key";

 private:
  TempDir dir_;
  int dns_port_;
  int api_port_;
  ChildProcess process_;
};

// A real SMTP server (aiosmtpd) that requires AUTH as kUser / kPassword and keeps every
// message it receives; with `starttls`, it requires STARTTLS first (a self-signed
// certificate made for it).
class SmtpServer {
 public:
  explicit SmtpServer(bool starttls = false);
  ~SmtpServer();
  int port() const { return port_; }
  static constexpr const char* kUser = "alerts";
  static constexpr const char* kPassword = "smtp-secret";
  struct Message {
    std::string mail_from;
    std::vector<std::string> rcpt_tos;
    bool authenticated = false;
    bool tls = false;
    std::string data;  // headers and body as received
  };
  std::vector<Message> messages() const;

 private:
  TempDir dir_;
  int port_;
  ChildProcess process_;
};

// GET `url` (short timeout); the body, or nullopt on no answer. `status` gets the code.
std::optional<std::string> httpGet(const std::string& url, long* status = nullptr);

// Accepts TCP connections and never answers: the hung target of every kind.
class BlackHole {
 public:
  BlackHole();
  ~BlackHole();
  int port() const { return port_; }
  // Connections accepted so far.
  std::size_t accepted() const { return accepted_; }

 private:
  int listen_fd_ = -1;
  int port_ = 0;
  std::atomic<bool> stop_{false};
  std::vector<int> held_;
  std::atomic<std::size_t> accepted_{0};
  std::thread thread_;
};

// A listener with a full accept queue: a TCP connect to it never completes.
class FullBacklog {
 public:
  FullBacklog();
  ~FullBacklog();
  int port() const { return port_; }

 private:
  int listen_fd_ = -1;
  int filler_fd_ = -1;
  int port_ = 0;
};

// Answers every connection with `reply` and closes it: a target that speaks nonsense.
class GarbageServer {
 public:
  explicit GarbageServer(std::string reply);
  ~GarbageServer();
  int port() const { return port_; }

 private:
  int listen_fd_ = -1;
  int port_ = 0;
  std::string reply_;
  std::atomic<bool> stop_{false};
  std::thread thread_;
};

// POSTs `body` to `url` with a short timeout; returns the HTTP status (0 on failure).
long httpPost(const std::string& url, const std::string& body);

// Any method (PATCH, DELETE...) with a short timeout; the answer's body or nullopt.
std::optional<std::string> httpSend(const std::string& method, const std::string& url,
                                    const std::string& body, long* status = nullptr);

// redis-cli against any port (Sentinels too); its output, trailing space trimmed.
std::string redisCli(int port, const std::vector<std::string>& args);

}  // namespace hftguard::testing
