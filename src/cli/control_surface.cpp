#include "control_surface.hpp"

#include <deque>
#include <fstream>

#include <fmt/format.h>

#include "hftguard/control/api.hpp"
#include "hftguard/control/telemetry.hpp"
#include "hftguard/events/event.hpp"
#include "hftguard/net/http_server.hpp"
#include "hftguard/net/worker_pool.hpp"

namespace hftguard::cli {
namespace {

constexpr std::size_t kMaxEvents = 10000;  // one /events answer at most; `limit` lowers it

// The events matching `filter`, the last `limit` of them, read from the file.
nlohmann::json readEvents(const std::string& path, const events::EventFilter& filter,
                          std::size_t limit, std::string* why) {
  std::ifstream in(path);
  if (!in) {
    *why = "cannot read the event log " + path;
    return nullptr;
  }
  std::deque<nlohmann::json> kept;
  std::size_t malformed = 0;
  for (std::string line; std::getline(in, line);) {
    auto e = events::parseEventLine(line);
    if (!e) {
      malformed += line.empty() ? 0 : 1;
      continue;
    }
    if (!filter.matches(*e)) continue;
    kept.push_back(events::toJson(*e));
    if (kept.size() > limit) kept.pop_front();
  }
  nlohmann::json out = {{"events", nlohmann::json::array()}, {"malformed_lines", malformed}};
  for (auto& j : kept) out["events"].push_back(std::move(j));
  return out;
}

}  // namespace

struct ControlSurface::Impl {
  Impl(boost::asio::io_context& i, net::WorkerPool& w, const config::Config& c,
       control::Telemetry& t, Hooks h)
      : io(i),
        workers(w),
        cfg(c),
        telemetry(t),
        hooks(std::move(h)),
        api({c.control_api.token ? std::optional(c.control_api.token->reveal()) : std::nullopt,
             c.control_api.allow_remote}) {}

  boost::asio::io_context& io;
  net::WorkerPool& workers;
  const config::Config& cfg;
  control::Telemetry& telemetry;
  Hooks hooks;
  control::ControlApi api;
  std::unique_ptr<net::HttpServer> server;
  std::vector<std::string> bound;

  void routes() {
    using control::Access;
    api.observe([this](const std::string& path, int status) {
      telemetry.onControlRequest(path, status);
    });
    api.route("GET", "/status", Access::Read, [this](const net::ServerRequest&, net::ServerReply r) {
      r(control::jsonResponse(200, hooks.status()));
    });
    api.route("GET", "/plans", Access::Read, [this](const net::ServerRequest&, net::ServerReply r) {
      r(control::jsonResponse(200, hooks.plans()));
    });
    api.route("GET", "/metrics", Access::Read, [this](const net::ServerRequest&, net::ServerReply r) {
      r(net::ServerResponse{200, "text/plain; version=0.0.4; charset=utf-8", hooks.metrics(), {}});
    });
    api.route("GET", "/events", Access::Read,
              [this](const net::ServerRequest& q, net::ServerReply r) { events(q, std::move(r)); });
    auto change = [this](const char* path, Change Hooks::*hook) {
      api.route("POST", path, Access::Mutate,
                [this, hook](const net::ServerRequest& q, net::ServerReply r) {
                  std::string why;
                  auto body = control::jsonBody(q, &why);
                  if (!body) return r(control::errorResponse(400, why));
                  (hooks.*hook)(*body, [r](int status, nlohmann::json answer) {
                    r(control::jsonResponse(status, answer));
                  });
                });
    };
    change("/pause", &Hooks::pause);
    change("/resume", &Hooks::resume);
    change("/maintenance", &Hooks::maintenance);
  }

  // /events?since=&component=&type=a,b&limit=N: read off the loop.
  void events(const net::ServerRequest& q, net::ServerReply reply) {
    events::EventFilter filter;
    filter.component = net::queryParam(q.query, "component").value_or("");
    if (!filter.component.empty() && cfg.findComponent(filter.component) == nullptr) {
      return reply(control::errorResponse(404, "no component '" + filter.component + "'"));
    }
    filter.types = events::splitList(net::queryParam(q.query, "type").value_or(""));
    if (auto since = net::queryParam(q.query, "since")) {
      filter.since = events::parseSince(*since, std::chrono::system_clock::now());
      if (!filter.since) {
        return reply(control::errorResponse(
            400, "since: an RFC 3339 time (2026-11-27T09:30:00+01:00) or a duration like 10m"));
      }
    }
    std::size_t limit = 1000;
    if (auto l = net::queryParam(q.query, "limit")) {
      try {
        limit = std::stoul(*l);
      } catch (const std::exception&) {
        limit = 0;
      }
      if (limit == 0 || limit > kMaxEvents) {
        return reply(control::errorResponse(400, fmt::format("limit: 1..{}", kMaxEvents)));
      }
    }
    workers.submit([path = cfg.event_log_path, filter, limit,
                    reply]() -> net::WorkerPool::Continuation {
      std::string why;
      auto out = readEvents(path, filter, limit, &why);
      return [out = std::move(out), why, reply] {
        reply(out.is_null() ? control::errorResponse(500, why) : control::jsonResponse(200, out));
      };
    });
  }
};

ControlSurface::ControlSurface(boost::asio::io_context& io, net::WorkerPool& workers,
                               const config::Config& cfg, control::Telemetry& telemetry,
                               Hooks hooks)
    : impl_(std::make_unique<Impl>(io, workers, cfg, telemetry, std::move(hooks))) {}

ControlSurface::~ControlSurface() { stop(); }

std::string ControlSurface::start() {
  Impl& d = *impl_;
  const auto& c = d.cfg.control_api;
  if (!c.enabled || (c.listen.empty() && c.socket.empty())) return "";
  d.routes();
  d.server = std::make_unique<net::HttpServer>(
      d.io, [&d](const net::ServerRequest& q, net::ServerReply r) { d.api.handle(q, std::move(r)); },
      net::HttpServer::Limits{});
  if (!c.listen.empty()) {
    if (std::string why = d.server->listenTcp(c.listen); !why.empty()) {
      return "control_api.listen: " + why;
    }
    d.bound.push_back(c.listen);
  }
  if (!c.socket.empty()) {
    if (std::string why = d.server->listenUnix(c.socket, 0660); !why.empty()) {
      d.server->stop();
      return "control_api.socket: " + why;
    }
    d.bound.push_back("unix:" + c.socket);
  }
  return "";
}

void ControlSurface::stop() {
  if (impl_->server) impl_->server->stop();
}

std::string ControlSurface::where() const {
  std::string out;
  for (const auto& b : impl_->bound) out += (out.empty() ? "" : ", ") + b;
  return out.empty() ? "off" : out;
}

}  // namespace hftguard::cli
