// engine_sim: the stand-in for the trading engine in tests and the demo.
//
//   engine_sim --role primary|standby --port P [--host 127.0.0.1]
//              [--redis-host H --redis-port P] [--publish-interval 100ms] [--history FILE]
//
// --history: every role it takes (at start and on each change), one line each,
// "<CLOCK_MONOTONIC ns> primary|standby|exit", written before the change is answered - the
// intervals in which it took orders as primary, on a clock every network namespace shares
// (the partition drill's checker compares the engines' histories).
//
//   GET  /health            200 {"status":"ok","role":...}
//   POST /api/orders/test   dry-run order: 200 {"status":"SUCCESS",...} on the primary,
//                           503 {"status":"STANDBY"} on a standby
//   POST /admin/promote     become primary;  POST /admin/demote: become standby
//   POST /admin/fault       body: none | hang | slow:<ms> | http500 | stale_market_data |
//                           malformed | crash   (or JSON {"fault": "..."})
//   GET  /admin/state       role and fault
//
// While primary it keeps last_market_update, trading:enabled, active_order_count and
// last_order_timestamp current in Redis (unless the fault is stale_market_data).
// One thread per connection keeps "hang" trivial; it is a test tool, not a server.

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <iostream>
#include <mutex>
#include <string>
#include <thread>

#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <fmt/format.h>
#include <hiredis/hiredis.h>
#include <nlohmann/json.hpp>
#include <fcntl.h>
#include <signal.h>
#include <time.h>
#include <unistd.h>

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using asio::ip::tcp;
using namespace std::chrono_literals;

namespace {

struct State {
  std::mutex mu;
  std::condition_variable changed;
  std::string role = "standby";
  std::string fault = "none";
  std::atomic<long> orders{0};
};

State g_state;
int g_history = -1;  // --history file, O_APPEND

// Called with g_state.mu held (or before any thread runs).
void noteRole(const std::string& role) {
  if (g_history < 0) return;
  timespec ts{};
  ::clock_gettime(CLOCK_MONOTONIC, &ts);
  const std::string line = fmt::format(
      "{} {}\n", static_cast<long long>(ts.tv_sec) * 1000000000LL + ts.tv_nsec, role);
  (void)!::write(g_history, line.data(), line.size());
  ::fsync(g_history);
}

std::pair<std::string, std::string> snapshot() {
  std::lock_guard lock(g_state.mu);
  return {g_state.role, g_state.fault};
}

void setFault(std::string fault) {
  {
    std::lock_guard lock(g_state.mu);
    g_state.fault = std::move(fault);
  }
  g_state.changed.notify_all();
}

// Holds the connection without answering until the fault changes (at most ten minutes).
void hang() {
  std::unique_lock lock(g_state.mu);
  g_state.changed.wait_for(lock, 600s, [] { return g_state.fault != "hang"; });
}

http::response<http::string_body> reply(http::status status, const nlohmann::json& body,
                                        unsigned version) {
  http::response<http::string_body> res{status, version};
  res.set(http::field::content_type, "application/json");
  res.body() = body.dump();
  res.prepare_payload();
  return res;
}

std::string faultFromBody(const std::string& body) {
  auto j = nlohmann::json::parse(body, nullptr, false);
  if (!j.is_discarded() && j.is_object() && j.contains("fault"))
    return j["fault"].get<std::string>();
  std::string f = body;
  while (!f.empty() && (f.back() == '\n' || f.back() == ' ')) f.pop_back();
  return f;
}

http::response<http::string_body> handle(const http::request<http::string_body>& req) {
  const unsigned v = req.version();
  const std::string target(req.target());
  if (target.starts_with("/admin/")) {
    if (target == "/admin/promote" || target == "/admin/demote") {
      std::lock_guard lock(g_state.mu);
      const std::string role = target == "/admin/promote" ? "primary" : "standby";
      if (role != g_state.role) noteRole(role);
      g_state.role = role;
      return reply(http::status::ok, {{"status", "ok"}, {"role", g_state.role}}, v);
    }
    if (target == "/admin/fault") {
      const std::string f = faultFromBody(req.body());
      setFault(f);
      return reply(http::status::ok, {{"status", "ok"}, {"fault", f}}, v);
    }
    auto [role, fault] = snapshot();
    return reply(http::status::ok, {{"role", role}, {"fault", fault}}, v);
  }
  auto [role, fault] = snapshot();
  if (fault == "hang") hang();
  if (fault.starts_with("slow:"))
    std::this_thread::sleep_for(std::chrono::milliseconds(std::stoi(fault.substr(5))));
  if (fault == "http500")
    return reply(http::status::internal_server_error, {{"status", "error"}}, v);
  if (fault == "malformed") {
    http::response<http::string_body> res{http::status::ok, v};
    res.set(http::field::content_type, "application/json");
    res.body() = "{\"status\": \"SUCC";
    res.prepare_payload();
    return res;
  }
  if (target == "/health") return reply(http::status::ok, {{"status", "ok"}, {"role", role}}, v);
  if (target == "/api/orders/test" && req.method() == http::verb::post) {
    auto order = nlohmann::json::parse(req.body(), nullptr, false);
    if (order.is_discarded() || !order.value("dry_run", false)) {
      return reply(http::status::bad_request,
                   {{"status", "REJECTED"}, {"reason", "dry_run required"}}, v);
    }
    if (role != "primary")
      return reply(http::status::service_unavailable, {{"status", "STANDBY"}}, v);
    return reply(http::status::ok,
                 {{"status", "SUCCESS"}, {"order_id", ++g_state.orders}, {"dry_run", true}}, v);
  }
  return reply(http::status::not_found, {{"status", "not found"}}, v);
}

void serve(tcp::socket socket) {
  beast::error_code ec;
  beast::flat_buffer buffer;
  for (;;) {
    http::request<http::string_body> req;
    http::read(socket, buffer, req, ec);
    if (ec) return;
    auto res = handle(req);
    const bool crash = snapshot().second == "crash";
    res.keep_alive(req.keep_alive());
    http::write(socket, res, ec);
    if (crash) {
      std::this_thread::sleep_for(50ms);  // let the caller read its answer, then die hard
      {
        std::lock_guard lock(g_state.mu);
        noteRole("exit");
      }
      ::kill(::getpid(), SIGKILL);
    }
    if (ec || !res.keep_alive()) return;
  }
}

// Keeps the business keys current while primary; reconnects after Redis goes away.
void publish(std::string host, int port, std::chrono::milliseconds every) {
  redisContext* c = nullptr;
  for (;;) {
    std::this_thread::sleep_for(every);
    auto [role, fault] = snapshot();
    if (role != "primary") continue;
    if (c == nullptr || c->err) {
      if (c) redisFree(c);
      c = redisConnectWithTimeout(host.c_str(), port, timeval{0, 200000});
      if (c == nullptr || c->err) continue;
      redisSetTimeout(c, timeval{0, 500000});
    }
    // Seconds with milliseconds: a whole-second stamp would look up to 1 s old when fresh.
    const double now = std::chrono::duration<double>(
                           std::chrono::system_clock::now().time_since_epoch())
                           .count();
    const std::string ts = fmt::format("{:.3f}", now);
    if (fault != "stale_market_data")
      freeReplyObject(redisCommand(c, "SET last_market_update %s", ts.c_str()));
    freeReplyObject(redisCommand(c, "SET trading:enabled true"));
    freeReplyObject(redisCommand(c, "SET active_order_count %ld", g_state.orders.load() % 100));
    freeReplyObject(redisCommand(c, "SET last_order_timestamp %s", ts.c_str()));
  }
}

}  // namespace

int main(int argc, char** argv) {
  std::string host = "127.0.0.1", redisHost = "127.0.0.1";
  int port = 0, redisPort = 0;
  long publishMs = 100;
  for (int i = 1; i + 1 < argc; i += 2) {
    const std::string a = argv[i], v = argv[i + 1];
    if (a == "--role")
      g_state.role = v;
    else if (a == "--port")
      port = std::stoi(v);
    else if (a == "--host")
      host = v;
    else if (a == "--redis-host")
      redisHost = v;
    else if (a == "--redis-port")
      redisPort = std::stoi(v);
    else if (a == "--publish-interval-ms")
      publishMs = std::stol(v);
    else if (a == "--history")
      g_history = ::open(v.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
    else {
      std::cerr << "engine_sim: unknown option " << a << "\n";
      return 2;
    }
  }
  if (port == 0 || (g_state.role != "primary" && g_state.role != "standby")) {
    std::cerr << "usage: engine_sim --role primary|standby --port P [--redis-port P]\n";
    return 2;
  }
  ::signal(SIGPIPE, SIG_IGN);
  noteRole(g_state.role);
  asio::io_context io;
  tcp::acceptor acceptor(
      io, tcp::endpoint(asio::ip::make_address(host), static_cast<unsigned short>(port)));
  if (redisPort != 0) {
    std::thread(publish, redisHost, redisPort, std::chrono::milliseconds(publishMs)).detach();
  }
  std::cout << "engine_sim " << g_state.role << " listening on " << host << ":" << port
            << std::endl;
  for (;;) {
    tcp::socket socket(io);
    acceptor.accept(socket);
    std::thread(serve, std::move(socket)).detach();
  }
}
