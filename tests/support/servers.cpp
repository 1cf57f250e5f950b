#include "servers.hpp"

#include <algorithm>
#include <csignal>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <stdexcept>

#include <arpa/inet.h>
#include <fmt/format.h>
#include <curl/curl.h>
#include <nlohmann/json.hpp>
#include <netinet/in.h>
#include <poll.h>
#include <pqxx/pqxx>
#include <sys/socket.h>
#include <unistd.h>

#include "hftguard/core/base64.hpp"

#ifndef HFTGUARD_ENGINE_SIM
#error "HFTGUARD_ENGINE_SIM must name the engine_sim binary"
#endif

namespace hftguard::testing {
namespace {

using namespace std::chrono_literals;
const std::string kPgBin = "/usr/lib/postgresql/15/bin/";

// One blocking request (3 s at most). The body of the answer, or nullopt when there was
// none; `status` gets the HTTP status.
std::optional<std::string> fetch(const std::string& method, const std::string& url,
                                 const std::optional<std::string>& body, long* status) {
  CURL* c = curl_easy_init();
  std::string out;
  curl_easy_setopt(c, CURLOPT_URL, url.c_str());
  if (body) curl_easy_setopt(c, CURLOPT_POSTFIELDS, body->c_str());
  if (method != "GET" && method != "POST") curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, method.c_str());
  curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, 3000L);
  curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(c, CURLOPT_WRITEDATA, &out);
  curl_easy_setopt(
      c, CURLOPT_WRITEFUNCTION, +[](char* d, size_t s, size_t n, void* u) {
        static_cast<std::string*>(u)->append(d, s * n);
        return s * n;
      });
  const bool ok = curl_easy_perform(c) == CURLE_OK;
  if (ok && status != nullptr) curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, status);
  curl_easy_cleanup(c);
  if (!ok) return std::nullopt;
  return out;
}

std::string postJson(const std::string& url, const std::string& body) {
  return fetch("POST", url, body, nullptr).value_or("");
}

}  // namespace

// ---------------- Redis ----------------

RedisServer::RedisServer(int replica_of) : dir_("hftguard-redis"), port_(freePort()) {
  restart(replica_of);
}

void RedisServer::restart(int replica_of) {
  process_.stop();
  std::vector<std::string> argv = {"/usr/bin/redis-server",
                                   "--port",
                                   std::to_string(port_),
                                   "--bind",
                                   "127.0.0.1",
                                   "--save",
                                   "",
                                   "--appendonly",
                                   "no",
                                   "--dir",
                                   dir_.path(),
                                   "--repl-diskless-sync-delay",
                                   "0"};
  if (replica_of > 0) {
    argv.insert(argv.end(), {"--replicaof", "127.0.0.1", std::to_string(replica_of)});
  }
  const std::string log = dir_.path() + "/redis.log";
  process_ = ChildProcess(argv, {.log_file = log});
  require(waitUntil([&] { return portOpen(port_); }, 10s), "redis did not start", log);
}

void RedisServer::kill() {
  process_.kill(SIGKILL);
  process_.stop(1s);  // reaps
}

RedisServer::~RedisServer() { stop(); }

void RedisServer::stop() { process_.stop(); }

std::string RedisServer::cli(const std::vector<std::string>& args) const {
  return redisCli(port_, args);
}

// ---------------- Sentinel ----------------

SentinelServer::SentinelServer(int master_port) : dir_("hftguard-sentinel"), port_(freePort()) {
  // Sentinels rewrite their config: a fresh file for every one.
  const std::string cfg = dir_.path() + "/sentinel.conf";
  std::ofstream(cfg) << "port " << port_ << "\nbind 127.0.0.1\ndir " << dir_.path() << "\n"
                     << "sentinel monitor mymaster 127.0.0.1 " << master_port << " 2\n"
                     << "sentinel down-after-milliseconds mymaster 1000\n"
                     << "sentinel failover-timeout mymaster 5000\n";
  const std::string log = dir_.path() + "/sentinel.log";
  process_ = ChildProcess({"/usr/bin/redis-server", cfg, "--sentinel"}, {.log_file = log});
  require(waitUntil([&] { return portOpen(port_); }, 10s), "sentinel did not start", log);
}

SentinelServer::~SentinelServer() { process_.stop(); }

// ---------------- PostgreSQL ----------------

PostgresPair::PostgresPair()
    : user_(postgresUser()),
      dir_("hftguard-pg", user_),
      primary_port_(freePort()),
      standby_port_(freePort()) {
  build();
}

void PostgresPair::build() {
  const std::string primary = dir_.path() + "/primary";
  const std::string standby = dir_.path() + "/standby";
  const std::string log = dir_.path() + "/setup.log";
  SpawnOptions as{.log_file = log, .run_as = user_};
  require(
      runCommand({kPgBin + "initdb", "-D", primary, "-A", "trust", "-U", "postgres", "--no-sync"},
                 as) == 0,
      "initdb failed", log);
  std::ofstream(primary + "/postgresql.conf", std::ios::app)
      << "listen_addresses = '127.0.0.1'\nunix_socket_directories = '" << dir_.path() << "'\n"
      << "fsync = off\nwal_level = replica\nmax_wal_senders = 4\nhot_standby = on\n";
  std::ofstream(primary + "/pg_hba.conf", std::ios::app)
      << "host replication all 127.0.0.1/32 trust\n";
  primary_ = startServer(primary, primary_port_);
  require(
      runCommand({kPgBin + "pg_basebackup", "-h", "127.0.0.1", "-p", std::to_string(primary_port_),
                  "-U", "postgres", "-D", standby, "-R", "-X", "stream", "-c", "fast"},
                 as) == 0,
      "pg_basebackup failed", log);
  standby_ = startServer(standby, standby_port_);
  require(waitUntil(
              [&] {
                try {
                  return query(primary_port_,
                               "SELECT count(*) FROM pg_stat_replication "
                               "WHERE state = 'streaming'") == "1";
                } catch (const std::exception&) {
                  return false;
                }
              },
              20s),
          "standby did not start streaming\n--- standby log ---\n" +
              readFile(standby + ".log") + "\n--- primary log ---\n" + readFile(primary + ".log"),
          log);
}

void PostgresPair::killPrimary() {
  primary_.kill(SIGKILL);
  primary_.stop(1s);  // reaps; the backends notice their postmaster is gone and exit
}

void PostgresPair::rebuild() {
  standby_.stop(10s);
  primary_.stop(10s);
  // The killed primary's backends may hold its port a moment longer.
  waitUntil([&] { return !portOpen(primary_port_) && !portOpen(standby_port_); }, 10s);
  std::filesystem::remove_all(dir_.path() + "/primary");
  std::filesystem::remove_all(dir_.path() + "/standby");
  std::remove((dir_.path() + "/primary.log").c_str());
  std::remove((dir_.path() + "/standby.log").c_str());
  build();
}

ChildProcess PostgresPair::startServer(const std::string& data_dir, int port) {
  const std::string log = data_dir + ".log";
  ChildProcess p({kPgBin + "postgres", "-D", data_dir, "-p", std::to_string(port)},
                 {.log_file = log, .run_as = user_});
  require(waitUntil(
              [&] {
                try {
                  query(port, "SELECT 1");
                  return true;
                } catch (const std::exception&) {
                  return false;
                }
              },
              20s),
          "postgres did not start on port " + std::to_string(port), log);
  return p;
}

PostgresPair::~PostgresPair() {
  standby_.stop(10s);
  primary_.stop(10s);
}

// A clean stop as `pg_ctl stop` and the systemd units do it: fast shutdown (SIGINT), which
// disconnects clients. SIGTERM would be a smart shutdown, waiting for every client -
// monitoring connections such as hftguard's postgres check too.
void PostgresPair::stopPrimary() {
  primary_.kill(SIGINT);
  if (!primary_.waitExit(10s)) primary_.stop(1s);
}

std::string PostgresPair::query(int port, const std::string& sql) const {
  pqxx::connection c("host=127.0.0.1 port=" + std::to_string(port) +
                     " user=postgres dbname=postgres connect_timeout=2");
  pqxx::nontransaction tx(c);
  pqxx::result r = tx.exec(sql);
  if (r.empty() || r.columns() == 0 || r[0][0].is_null()) return {};
  return r[0][0].c_str();
}

// ---------------- HAProxy ----------------

HaproxyServer::HaproxyServer(int primary_port, int standby_port)
    : dir_("hftguard-haproxy"), frontend_port_(freePort()), admin_port_(freePort()) {
  const std::string cfg = dir_.path() + "/haproxy.cfg";
  std::ofstream(cfg) << "global\n  stats socket ipv4@127.0.0.1:" << admin_port_ << " level admin\n"
                     << "  stats socket " << dir_.path() << "/admin.sock mode 600 level admin\n"
                     << "defaults\n  mode http\n  timeout connect 1s\n  timeout client 5s\n"
                     << "  timeout server 5s\n"
                     << "frontend fe\n  bind 127.0.0.1:" << frontend_port_
                     << "\n  default_backend trading\n"
                     << "backend trading\n"
                     << "  server primary 127.0.0.1:" << primary_port
                     << " check inter 200 fall 2 rise 1\n"
                     << "  server standby 127.0.0.1:" << standby_port
                     << " check inter 200 fall 2 rise 1 disabled\n";
  const std::string log = dir_.path() + "/haproxy.log";
  process_ = ChildProcess({"/usr/sbin/haproxy", "-db", "-f", cfg}, {.log_file = log});
  require(waitUntil([&] { return portOpen(frontend_port_) && portOpen(admin_port_); }, 10s),
          "haproxy did not start", log);
}

HaproxyServer::~HaproxyServer() { process_.stop(); }

std::string HaproxyServer::command(const std::string& cmd) const {
  const int fd = connectLoopback(admin_port_);
  require(fd >= 0, "haproxy admin socket");
  const std::string line = cmd + "\n";
  (void)!write(fd, line.data(), line.size());
  std::string out;
  char buf[4096];
  for (ssize_t n; (n = read(fd, buf, sizeof buf)) > 0;)
    out.append(buf, static_cast<std::size_t>(n));
  close(fd);
  return out;
}

// ---------------- etcd ----------------

EtcdServer::EtcdServer(const std::vector<std::string>& extra)
    : dir_("hftguard-etcd"), client_port_(freePort()), peer_port_(freePort()) {
  const std::string client = "http://127.0.0.1:" + std::to_string(client_port_);
  const std::string peer = "http://127.0.0.1:" + std::to_string(peer_port_);
  const std::string log = dir_.path() + "/etcd.log";
  std::vector<std::string> argv = {
      "/usr/bin/etcd", "--name", "default", "--data-dir", dir_.path() + "/data",
      "--listen-client-urls", client, "--advertise-client-urls", client, "--listen-peer-urls",
      peer, "--initial-advertise-peer-urls", peer, "--initial-cluster", "default=" + peer};
  argv.insert(argv.end(), extra.begin(), extra.end());
  process_ = ChildProcess(argv, {.log_file = log});
  require(waitUntil(
              [&] {
                long status = 0;
                return httpGet(endpoint() + "/health", &status) && status == 200;
              },
              15s),
          "etcd did not start", log);
}

EtcdServer::~EtcdServer() { process_.stop(); }

namespace {

std::optional<std::string> etcdGet(const std::string& endpoint, const std::string& key) {
  const std::string out =
      postJson(endpoint + "/v3/kv/range", "{\"key\":\"" + base64Encode(key) + "\"}");
  const auto pos = out.find("\"value\":\"");
  if (pos == std::string::npos) return std::nullopt;
  const auto start = pos + 9;
  return base64Decode(out.substr(start, out.find('"', start) - start));
}

void etcdPut(const std::string& endpoint, const std::string& key, const std::string& value) {
  postJson(endpoint + "/v3/kv/put",
           "{\"key\":\"" + base64Encode(key) + "\",\"value\":\"" + base64Encode(value) + "\"}");
}

}  // namespace

std::optional<std::string> EtcdServer::get(const std::string& key) const {
  return etcdGet(endpoint(), key);
}

void EtcdServer::put(const std::string& key, const std::string& value) const {
  etcdPut(endpoint(), key, value);
}

EtcdCluster::EtcdCluster(int members) : dir_("hftguard-etcd-cluster") {
  // A port found free may be taken by another suite's server before etcd binds it (suites
  // run two at a time): then the cluster starts again on other ports, at most three times.
  for (int attempt = 1;; ++attempt) {
    const std::string failed = start(members, attempt);
    if (failed.empty()) return;
    for (auto& p : processes_) p.stop();
    processes_.clear();
    const std::string log = readFile(failed);
    require(attempt < 3 && log.find("address already in use") != std::string::npos,
            "etcd cluster member did not start", failed);
  }
}

std::string EtcdCluster::start(int members, int attempt) {
  client_ports_.clear();
  peer_ports_.clear();
  std::string initial;
  for (int i = 0; i < members; ++i) {
    client_ports_.push_back(freePort());
    peer_ports_.push_back(freePort());
    initial += fmt::format("{}e{}=http://127.0.0.1:{}", i == 0 ? "" : ",", i, peer_ports_[i]);
  }
  for (int i = 0; i < members; ++i) {
    const std::string client = "http://127.0.0.1:" + std::to_string(client_ports_[i]);
    const std::string peer = "http://127.0.0.1:" + std::to_string(peer_ports_[i]);
    processes_.emplace_back(
        std::vector<std::string>{"/usr/bin/etcd", "--name", fmt::format("e{}", i), "--data-dir",
                                 fmt::format("{}/data{}-{}", dir_.path(), i, attempt),
                                 "--listen-client-urls", client, "--advertise-client-urls",
                                 client, "--listen-peer-urls", peer,
                                 "--initial-advertise-peer-urls", peer, "--initial-cluster",
                                 initial, "--initial-cluster-token", "hftguard-test",
                                 "--initial-cluster-state", "new"},
        SpawnOptions{.log_file = fmt::format("{}/etcd{}-{}.log", dir_.path(), i, attempt)});
  }
  for (int i = 0; i < members; ++i) {
    const bool up = waitUntil(
        [&] {
          long status = 0;
          return httpGet(endpoints()[i] + "/health", &status) && status == 200;
        },
        30s);
    if (!up) return fmt::format("{}/etcd{}-{}.log", dir_.path(), i, attempt);
  }
  return {};
}

EtcdCluster::~EtcdCluster() {
  for (auto& p : processes_) p.stop();
}

std::vector<std::string> EtcdCluster::endpoints() const {
  std::vector<std::string> out;
  for (int p : client_ports_) out.push_back("http://127.0.0.1:" + std::to_string(p));
  return out;
}

std::optional<std::string> EtcdCluster::get(const std::string& key) const {
  return etcdGet(endpoints()[0], key);
}

void EtcdCluster::put(const std::string& key, const std::string& value) const {
  etcdPut(endpoints()[0], key, value);
}

// ---------------- PowerDNS ----------------

PdnsServer::PdnsServer() : dir_("hftguard-pdns"), dns_port_(freePort()), api_port_(freePort()) {
  const std::string db = dir_.path() + "/pdns.db";
  const std::string log = dir_.path() + "/pdns.log";
  require(runCommand({"/usr/bin/sqlite3", db,
                      ".read /usr/share/pdns-backend-sqlite3/schema/schema.sqlite3.sql"},
                     {.log_file = log}) == 0,
          "cannot create the PowerDNS database", log);
  std::ofstream(dir_.path() + "/pdns.conf")
      << "launch=gsqlite3\ngsqlite3-database=" << db
      << "\nlocal-address=127.0.0.1\nlocal-port=" << dns_port_
      << "\nwebserver=yes\nwebserver-address=127.0.0.1\nwebserver-port=" << api_port_
      << "\nwebserver-allow-from=127.0.0.1\napi=yes\napi-key=" << kApiKey
      << "\nguardian=no\ndaemon=no\nsocket-dir=" << dir_.path() << "\n";
  process_ =
      ChildProcess({"/usr/sbin/pdns_server", "--config-dir=" + dir_.path()}, {.log_file = log});
  require(waitUntil([&] { return portOpen(api_port_); }, 15s), "PowerDNS did not start", log);
  CURL* c = curl_easy_init();
  const std::string url = apiUrl() + "/api/v1/servers/localhost/zones";
  const std::string body = "{\"name\":\"hft.local.\",\"kind\":\"Native\",\"nameservers\":[]}";
  curl_slist* headers = curl_slist_append(nullptr, (std::string("X-API-Key: ") + kApiKey).c_str());
  curl_easy_setopt(c, CURLOPT_URL, url.c_str());
  curl_easy_setopt(c, CURLOPT_HTTPHEADER, headers);
  curl_easy_setopt(c, CURLOPT_POSTFIELDS, body.c_str());
  curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, 5000L);
  curl_easy_setopt(
      c, CURLOPT_WRITEFUNCTION, +[](char*, size_t s, size_t n, void*) { return s * n; });
  long status = 0;
  if (curl_easy_perform(c) == CURLE_OK) curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &status);
  curl_slist_free_all(headers);
  curl_easy_cleanup(c);
  require(status == 201, "cannot create zone hft.local.", log);
}

PdnsServer::~PdnsServer() { process_.stop(); }

// ---------------- engine simulator ----------------

EngineSim::EngineSim(const std::string& role, int redis_port)
    : dir_("hftguard-engine"), port_(freePort()) {
  std::vector<std::string> argv = {HFTGUARD_ENGINE_SIM, "--role", role, "--port",
                                   std::to_string(port_)};
  if (redis_port > 0) {
    argv.insert(argv.end(),
                {"--redis-port", std::to_string(redis_port), "--publish-interval-ms", "50"});
  }
  argv_ = argv;
  restart();
}

void EngineSim::restart() {
  process_.stop(1s);
  const std::string log = dir_.path() + "/engine.log";
  process_ = ChildProcess(argv_, {.log_file = log});
  require(waitUntil([&] { return portOpen(port_); }, 10s), "engine_sim did not start", log);
}

EngineSim::~EngineSim() { process_.stop(); }

std::string EngineSim::url(const std::string& path) const {
  return "http://127.0.0.1:" + std::to_string(port_) + path;
}

void EngineSim::setFault(const std::string& fault) {
  require(httpPost(url("/admin/fault"), fault) == 200, "cannot set fault " + fault);
}

// ---------------- SMTP ----------------

SmtpServer::SmtpServer(bool starttls) : dir_("hftguard-smtp"), port_(freePort()) {
  std::filesystem::create_directory(dir_.path() + "/mail");
  const std::string log = dir_.path() + "/smtp.log";
  std::vector<std::string> argv = {"/usr/bin/python3", HFTGUARD_SUPPORT_DIR "/smtp_server.py",
                                   std::to_string(port_), dir_.path() + "/mail", kUser,
                                   kPassword};
  if (starttls) {
    const std::string cert = dir_.path() + "/cert.pem", key = dir_.path() + "/key.pem";
    require(runCommand({"/usr/bin/openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes",
                        "-subj", "/CN=127.0.0.1", "-days", "1", "-keyout", key, "-out", cert},
                       {.log_file = log}) == 0,
            "openssl could not make a certificate", log);
    argv.insert(argv.end(), {cert, key});
  }
  process_ = ChildProcess(argv, {.log_file = log});
  require(waitUntil([&] { return portOpen(port_); }, 15s), "smtp server did not start", log);
}

SmtpServer::~SmtpServer() { process_.stop(); }

std::vector<SmtpServer::Message> SmtpServer::messages() const {
  std::vector<std::string> files;
  for (const auto& f : std::filesystem::directory_iterator(dir_.path() + "/mail")) {
    if (f.path().extension() == ".json") files.push_back(f.path());
  }
  std::sort(files.begin(), files.end());
  std::vector<Message> out;
  for (const auto& f : files) {
    const auto j = nlohmann::json::parse(readFile(f), nullptr, false);
    if (!j.is_object()) continue;
    out.push_back({j.value("mail_from", ""), j.value("rcpt_tos", std::vector<std::string>{}),
                   j.value("authenticated", false), j.value("tls", false), j.value("data", "")});
  }
  return out;
}

// ---------------- hung and broken targets ----------------


FullBacklog::FullBacklog() {
  listen_fd_ = listenOnFreePort(0, port_);
  // One connection fills a backlog of 0; later SYNs are dropped, so connects hang.
  filler_fd_ = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr = loopbackAddress(port_);
  require(connect(filler_fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0,
          "cannot fill the backlog");
}

FullBacklog::~FullBacklog() {
  close(filler_fd_);
  close(listen_fd_);
}

GarbageServer::GarbageServer(std::string reply) : reply_(std::move(reply)) {
  listen_fd_ = listenOnFreePort(128, port_);
  thread_ = std::thread([this] {
    while (!stop_) {
      pollfd p{listen_fd_, POLLIN, 0};
      if (poll(&p, 1, 50) <= 0) continue;
      int fd = accept(listen_fd_, nullptr, nullptr);
      if (fd < 0) continue;
      // Let the client speak first (PING, startup packet), then answer nonsense and hang up.
      pollfd in{fd, POLLIN, 0};
      char buf[4096];
      if (poll(&in, 1, 1000) > 0) (void)!read(fd, buf, sizeof buf);
      (void)!write(fd, reply_.data(), reply_.size());
      close(fd);
    }
  });
}

GarbageServer::~GarbageServer() {
  stop_ = true;
  thread_.join();
  close(listen_fd_);
}

BlackHole::BlackHole() {
  listen_fd_ = listenOnFreePort(128, port_);
  thread_ = std::thread([this] {
    while (!stop_) {
      pollfd p{listen_fd_, POLLIN, 0};
      if (poll(&p, 1, 50) > 0) {
        int fd = accept(listen_fd_, nullptr, nullptr);
        if (fd >= 0) {
          held_.push_back(fd);  // held open, never read, never answered
          ++accepted_;
        }
      }
    }
  });
}

BlackHole::~BlackHole() {
  stop_ = true;
  thread_.join();
  for (int fd : held_) close(fd);
  close(listen_fd_);
}

std::optional<std::string> httpGet(const std::string& url, long* status) {
  return fetch("GET", url, std::nullopt, status);
}

long httpPost(const std::string& url, const std::string& body) {
  long status = 0;
  return fetch("POST", url, body, &status) ? status : 0;
}

std::optional<std::string> httpSend(const std::string& method, const std::string& url,
                                    const std::string& body, long* status) {
  return fetch(method, url, body, status);
}

std::string redisCli(int port, const std::vector<std::string>& args) {
  TempDir dir("hftguard-cli");
  const std::string out = dir.path() + "/cli.out";
  std::vector<std::string> argv = {"/usr/bin/redis-cli", "-p", std::to_string(port)};
  argv.insert(argv.end(), args.begin(), args.end());
  runCommand(argv, {.log_file = out}, 10s);
  std::string text = readFile(out);
  while (!text.empty() && (text.back() == '\n' || text.back() == ' ')) text.pop_back();
  return text;
}

}  // namespace hftguard::testing
