#include "control_surface.hpp"

#include <deque>
#include <filesystem>
#include <fstream>

#include <fmt/format.h>

#include "hftguard/control/api.hpp"
#include "hftguard/control/status_page.hpp"
#include "hftguard/control/telemetry.hpp"
#include "hftguard/events/event.hpp"
#include "hftguard/net/http_server.hpp"
#include "hftguard/net/worker_pool.hpp"

namespace hftguard::cli {
namespace {

constexpr std::size_t kMaxEvents = 10000;  // one /events answer at most; `limit` lowers it
constexpr std::uintmax_t kMaxScan = 256ull << 20;  // the log's last 256 MiB are read at most
constexpr std::size_t kMaxLine = 1 << 20;           // a longer line is no event (skipped)
constexpr std::size_t kMaxBody = 32u << 20;         // one answer's events, bytes at most

// The events matching `filter`, the last `limit` of them and at most kMaxBody bytes, read
// from the file's tail (its last kMaxScan bytes; `truncated` says the scan began there), as
// the answer's JSON text; "" (with why) when the file cannot be read. Each event is the
// log's own line (a JSON object, checked by parsing it), so memory is bounded by kMaxBody.
std::string readEvents(const std::string& path, const events::EventFilter& filter,
                       std::size_t limit, std::string* why) {
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    *why = "cannot read the event log " + path;
    return {};
  }
  std::error_code ec;
  const auto size = std::filesystem::file_size(path, ec);
  const bool truncated = !ec && size > kMaxScan;
  if (truncated) in.seekg(static_cast<std::streamoff>(size - kMaxScan));
  std::deque<std::string> kept;
  std::size_t kept_bytes = 0;
  std::size_t malformed = 0;
  std::string line;
  bool skipping = truncated;  // the first (partial) line of a tail scan
  auto take = [&] {
    if (!skipping && !line.empty()) {
      auto e = events::parseEventLine(line);
      if (!e) {
        ++malformed;
      } else if (filter.matches(*e)) {
        kept_bytes += line.size() + 1;
        kept.push_back(std::move(line));
        while (kept.size() > limit || kept_bytes > kMaxBody) {
          kept_bytes -= kept.front().size() + 1;
          kept.pop_front();
        }
      }
    }
    skipping = false;
    line.clear();
  };
  char buf[64 * 1024];
  while (in.read(buf, sizeof buf) || in.gcount() > 0) {
    const std::size_t n = static_cast<std::size_t>(in.gcount());
    for (std::size_t i = 0; i < n; ++i) {
      if (buf[i] == '\n') {
        take();
      } else if (line.size() < kMaxLine) {
        line += buf[i];
      } else if (!skipping) {
        ++malformed;  // too long to be an event: the rest of it is skipped
        skipping = true;
        line.clear();
      }
    }
  }
  std::string out = "{\"events\":[";
  out.reserve(kept_bytes + 128);
  for (std::size_t i = 0; i < kept.size(); ++i) {
    if (i > 0) out += ',';
    out += kept[i];
  }
  out += fmt::format("],\"malformed_lines\":{},\"truncated\":{}}}\n", malformed, truncated);
  return out;
}

}  // namespace

struct ControlSurface::Impl {
  Impl(boost::asio::io_context& i, net::WorkerPool& w, const config::Config& c,
       control::Telemetry& t, Hooks h)
      : io(i),
        workers(w),
        cfg(&c),
        telemetry(t),
        hooks(std::move(h)),
        api({c.control_api.token ? std::optional(c.control_api.token->reveal()) : std::nullopt,
             c.control_api.allow_remote, hostNames(c.control_api)}) {}

  // What a loopback listener answers to: its address and localhost, at its port.
  static std::vector<std::string> hostNames(const config::ControlApiConfig& c) {
    if (c.allow_remote || c.listen.empty()) return {};
    const std::string port = c.listen.substr(c.listen.rfind(':') + 1);
    return {c.listen, "127.0.0.1:" + port, "localhost:" + port, "[::1]:" + port};
  }

  boost::asio::io_context& io;
  net::WorkerPool& workers;
  const config::Config* cfg;  // replaced by a reload (control_api never changes)
  control::Telemetry& telemetry;
  Hooks hooks;
  control::ControlApi api;
  std::unique_ptr<net::HttpServer> server;
  std::vector<std::string> bound;
  net::WorkerPool events_reader{io, 1};
  bool reading = false;
  net::ServerReply reading_reply;

  void routes() {
    using control::Access;
    api.observe([this](const std::string& path, int status) {
      telemetry.onControlRequest(path, status);
    });
    api.route("GET", "/status", Access::Read, [this](const net::ServerRequest&, net::ServerReply r) {
      r(control::jsonResponse(200, hooks.status()));
    });
    api.route("GET", "/", Access::Read, [this](const net::ServerRequest&, net::ServerReply r) {
      // No script, no remote anything: the page is its own server-side rendering.
      r(net::ServerResponse{200, "text/html; charset=utf-8",
                            control::renderStatusPage(hooks.status()),
                            {{"Content-Security-Policy",
                              "default-src 'none'; style-src 'unsafe-inline'"}}});
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
                  try {
                    (hooks.*hook)(*body, [r](int status, nlohmann::json answer) {
                      r(control::jsonResponse(status, answer));
                    });
                  } catch (const nlohmann::json::exception& e) {  // {"owner": 5}
                    r(control::errorResponse(400, std::string("a field has the wrong type: ") +
                                                      e.what()));
                  }
                });
    };
    change("/pause", &Hooks::pause);
    change("/resume", &Hooks::resume);
    change("/maintenance", &Hooks::maintenance);
    change("/reload", &Hooks::reload);
    change("/switchover", &Hooks::switchover);
    change("/failover", &Hooks::failover);
  }

  // /events?since=&component=&type=a,b&limit=N: read off the loop.
  void events(const net::ServerRequest& q, net::ServerReply reply) {
    events::EventFilter filter;
    filter.component = net::queryParam(q.query, "component").value_or("");
    if (!filter.component.empty() && cfg->findComponent(filter.component) == nullptr) {
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
    // One scan at a time, on a thread of its own: never a probe's worker, never the loop.
    if (reading) return reply(control::errorResponse(429, "an /events read is running; try again"));
    reading = true;
    reading_reply = std::move(reply);  // kept on the loop's side, never on the reader thread
    events_reader.submit([this, path = cfg->event_log_path, filter,
                          limit]() -> net::WorkerPool::Continuation {
      std::string why;
      std::string body = readEvents(path, filter, limit, &why);
      return [this, body = std::move(body), why] {
        reading = false;
        auto answer = std::move(reading_reply);
        reading_reply = nullptr;
        answer(body.empty() ? control::errorResponse(500, why)
                           : net::ServerResponse{200, "application/json", body, {}});
      };
    });
  }
};

ControlSurface::ControlSurface(boost::asio::io_context& io, net::WorkerPool& workers,
                               const config::Config& cfg, control::Telemetry& telemetry,
                               Hooks hooks)
    : impl_(std::make_unique<Impl>(io, workers, cfg, telemetry, std::move(hooks))) {}

void ControlSurface::rebind(const config::Config& cfg) { impl_->cfg = &cfg; }

ControlSurface::~ControlSurface() { stop(); }

std::string ControlSurface::start() {
  Impl& d = *impl_;
  const auto& c = d.cfg->control_api;
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
