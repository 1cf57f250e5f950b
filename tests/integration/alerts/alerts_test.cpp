// Alert channels against what they talk to: a real SMTP server (aiosmtpd), and - because
// Slack and PagerDuty cannot run here - local receivers that check the documented payloads
// (Slack incoming webhooks; PagerDuty Events API v2: required fields, one dedup_key from
// trigger to resolve). Then delivery itself: retries, give-ups, and the daemon.

#include <atomic>
#include <fstream>
#include <sstream>
#include <map>
#include <optional>

#include <boost/asio/io_context.hpp>
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "hftguard/alerts/dispatcher.hpp"
#include "hftguard/alerts/policy.hpp"
#include "hftguard/cli/cli.hpp"
#include "hftguard/config/loader.hpp"
#include "hftguard/net/http_client.hpp"

#include "event_file.hpp"
#include "http_receiver.hpp"
#include "servers.hpp"

using namespace hftguard;
using namespace hftguard::testing;
using namespace std::chrono_literals;
using nlohmann::json;

namespace {

const std::string kComponent =
    "components:\n  engine: {tier: hot, rto_target: 30s, plan: p, checks: {t: {type: tcp, host: "
    "127.0.0.1, port: 1}}}\n"
    "plans:\n  p: {steps: [{action: http_check, url: 'http://127.0.0.1:1/', expect: up}]}\n";

// The policy and the dispatcher on one loop, fed synthetic events; what the dispatcher
// records is kept.
class Alerting {
 public:
  // Secrets are written as ${NAME} and looked up in `secrets`.
  explicit Alerting(const std::string& alerts_yaml,
                    std::map<std::string, std::string> secrets = {}) {
    auto r = config::loadConfigString(
        "node: {name: n1}\n" + alerts_yaml + kComponent, "alerts.yaml",
        {.env = [secrets](const std::string& name) -> std::optional<std::string> {
          auto it = secrets.find(name);
          return it == secrets.end() ? std::nullopt : std::optional(it->second);
        }});
    for (const auto& e : r.errors) ADD_FAILURE() << e.format();
    cfg_ = r.config;
    policy_ = std::make_unique<alerts::AlertPolicy>(cfg_->alerts.group_window);
    dispatcher_ = std::make_unique<alerts::AlertDispatcher>(
        io_, http_, clock_, *cfg_,
        [this](const std::string& type, const std::string&, const std::string& reason,
               json fields) {
          recorded_.push_back({type, reason, fields});
        });
  }

  void event(const std::string& type, json fields = json::object(),
             const std::string& component = "engine") {
    events::Event e;
    e.id = "20261126T000000.000Z-" + std::to_string(++n_);
    e.at = clock_.wallNow();
    e.node = "n1";
    e.component = component;
    e.type = type;
    e.reason = type + ": test reason";
    e.fields = std::move(fields);
    for (const auto& a : policy_->onEvent(e)) dispatcher_->submit(a);
  }
  void tick() {
    for (const auto& a : policy_->tick(clock_.wallNow())) dispatcher_->submit(a);
  }
  // Runs the loop until nothing is pending (or `limit`).
  void drain(std::chrono::milliseconds limit = 20s) {
    const auto until = std::chrono::steady_clock::now() + limit;
    while (dispatcher_->pending() > 0 && std::chrono::steady_clock::now() < until) {
      if (io_.stopped()) io_.restart();
      io_.run_one_for(20ms);
    }
  }
  struct Recorded {
    std::string type, reason;
    json fields;
  };
  const std::vector<Recorded>& recorded() const { return recorded_; }
  std::size_t count(const std::string& type) const {
    return std::count_if(recorded_.begin(), recorded_.end(),
                         [&](const Recorded& r) { return r.type == type; });
  }

 private:
  std::shared_ptr<const config::Config> cfg_;
  boost::asio::io_context io_;
  SystemClock clock_;
  net::HttpClient http_{io_};
  std::unique_ptr<alerts::AlertPolicy> policy_;
  std::unique_ptr<alerts::AlertDispatcher> dispatcher_;
  std::vector<Recorded> recorded_;
  int n_ = 0;
};

TEST(Alerts, SlackAndPagerDutyInTheirDocumentedForm) {
  HttpReceiver slack([](const ReceivedRequest&) { return Reply{200, "ok", "text/plain"}; });
  HttpReceiver pd([](const ReceivedRequest&) {
    return Reply{202, R"({"status":"success","message":"Event processed"})"};
  });
  Alerting a(
      "alerts:\n  group_window: 0s\n  channels:\n"
      "    ops: {type: slack, webhook_url: '${SLACK_URL}', channel: '#ops'}\n"
      "    oncall: {type: pagerduty, routing_key: '${PD_KEY}', url: '" +
          pd.url() + "/v2/enqueue', source: trading-host-1}\n",
      {{"SLACK_URL", slack.url() + "/services/T000/B000/SECRETPATH"},
       {"PD_KEY", "R0UT1NGKEY0000000000000000000000"}});
  a.event("state_changed", {{"from", "unknown"}, {"to", "healthy"}});
  a.event("state_changed", {{"from", "healthy"}, {"to", "failed"}});
  a.event("failover_triggered", {{"tier", "component"}, {"rule", "fall"}});
  a.event("failover_failed", {{"failed_step", "promote"}});
  a.event("state_changed", {{"from", "failed"}, {"to", "healthy"}});
  a.tick();
  a.drain();
  // Slack: the warning, the critical, the resolve; PagerDuty (critical and up): the
  // trigger and its resolve.
  const auto s = slack.requests();
  ASSERT_EQ(s.size(), 3u);
  EXPECT_EQ(s[0].target, "/services/T000/B000/SECRETPATH");
  EXPECT_EQ(s[0].headers.at("content-type"), "application/json");
  const json first = json::parse(s[1].body);
  EXPECT_NE(first["text"].get<std::string>().find("FAILOVER FAILED: engine"), std::string::npos);
  EXPECT_EQ(first["channel"], "#ops");
  EXPECT_EQ(first["username"], "hftguard");
  const auto p = pd.requests();
  ASSERT_EQ(p.size(), 2u);
  const json trigger = json::parse(p[0].body);
  const json resolve = json::parse(p[1].body);
  EXPECT_EQ(p[0].target, "/v2/enqueue");
  EXPECT_EQ(trigger["routing_key"], "R0UT1NGKEY0000000000000000000000");
  EXPECT_EQ(trigger["event_action"], "trigger");
  ASSERT_TRUE(trigger["dedup_key"].is_string());
  for (const char* required : {"summary", "source", "severity"})
    EXPECT_TRUE(trigger["payload"].contains(required)) << required;
  EXPECT_EQ(trigger["payload"]["severity"], "critical");
  EXPECT_EQ(trigger["payload"]["source"], "trading-host-1");
  EXPECT_EQ(trigger["payload"]["component"], "engine");
  EXPECT_LE(trigger["payload"]["summary"].get<std::string>().size(), 1024u);
  EXPECT_EQ(trigger["payload"]["custom_details"]["reason"], "failover_failed: test reason");
  EXPECT_EQ(resolve["event_action"], "resolve");
  EXPECT_EQ(resolve["dedup_key"], trigger["dedup_key"]) << "one incident from trigger to resolve";
  EXPECT_EQ(resolve["routing_key"], trigger["routing_key"]);
  EXPECT_EQ(a.count("alert_sent"), 5u);
  // The webhook's secret path and the routing key reach no event.
  for (const auto& r : a.recorded()) {
    EXPECT_EQ(r.fields.dump().find("SECRETPATH"), std::string::npos);
    EXPECT_EQ(r.reason.find("SECRETPATH"), std::string::npos);
    EXPECT_EQ(r.fields.dump().find("R0UT1NGKEY"), std::string::npos);
  }
}

TEST(Alerts, EmailThroughARealSmtpServer) {
  SmtpServer smtp;
  TempDir dir;
  std::ofstream(dir.path() + "/smtp.pass") << SmtpServer::kPassword;
  Alerting a("alerts:\n  channels:\n    mail: {type: email, smtp_url: 'smtp://127.0.0.1:" +
             std::to_string(smtp.port()) +
             "', starttls: false, from: 'hftguard <hftguard@hft.local>', to: [ops@hft.local, "
             "risk@hft.local], username: alerts, password_file: '" +
             dir.path() + "/smtp.pass', min_severity: warning}\n");
  a.event("state_changed", {{"from", "unknown"}, {"to", "healthy"}});
  a.event("failover_failed", {{"failed_step", "promote"}});
  a.drain();
  ASSERT_EQ(a.count("alert_sent"), 1u) << (a.recorded().empty() ? "" : a.recorded()[0].reason);
  const auto mail = smtp.messages();
  ASSERT_EQ(mail.size(), 1u);
  EXPECT_TRUE(mail[0].authenticated);
  EXPECT_EQ(mail[0].mail_from, "hftguard@hft.local");
  EXPECT_EQ(mail[0].rcpt_tos, (std::vector<std::string>{"ops@hft.local", "risk@hft.local"}));
  const std::string& d = mail[0].data;
  for (const char* header :
       {"\nFrom: hftguard <hftguard@hft.local>", "\nTo: ops@hft.local, risk@hft.local",
        "\nSubject: [hftguard] critical FAILOVER FAILED: engine", "\nMessage-ID: <",
        "\nContent-Type: text/plain; charset=utf-8", "\nX-Hftguard-Incident: hftguard/n1/engine/"})
    EXPECT_NE(d.find(header), std::string::npos) << header << "\n" << d;
  EXPECT_TRUE(d.starts_with("Date: ") || d.find("\nDate: ") != std::string::npos) << d;
  EXPECT_NE(d.find(" +0000"), std::string::npos) << "an RFC 5322 date";
  EXPECT_NE(d.find("failover_failed: test reason"), std::string::npos) << d;
  // A wrong password is refused, not retried, and is in no event.
  std::ofstream(dir.path() + "/wrong.pass") << "hunter2-wrong";
  Alerting b(
      "alerts:\n  initial_backoff: 50ms\n  channels:\n    mail: {type: email, smtp_url: "
      "'smtp://127.0.0.1:" +
      std::to_string(smtp.port()) +
      "', starttls: false, from: hftguard@hft.local, to: [ops@hft.local], username: "
      "alerts, password_file: '" +
      dir.path() + "/wrong.pass'}\n");
  b.event("failover_failed");
  b.drain();
  ASSERT_EQ(b.recorded().size(), 1u);
  EXPECT_EQ(b.recorded()[0].type, "alert_failed");
  EXPECT_EQ(b.recorded()[0].fields["attempts"], 1);
  EXPECT_EQ(b.recorded()[0].fields.dump().find("hunter2"), std::string::npos);
  EXPECT_EQ(smtp.messages().size(), 1u);
}

TEST(Alerts, EmailRequiresStartTlsByDefault) {
  SmtpServer smtp(true);
  const std::string url = "smtp://127.0.0.1:" + std::to_string(smtp.port());
  // The test certificate is self-signed: verified, it is refused, and nothing is sent.
  Alerting verified(
      "alerts:\n  initial_backoff: 50ms\n  deadline: 2s\n  channels:\n"
      "    mail: {type: email, smtp_url: '" +
          url +
          "', from: hftguard@hft.local, to: [ops@hft.local], username: alerts, "
          "password: '${P}'}\n",
      {{"P", SmtpServer::kPassword}});
  verified.event("failover_failed");
  verified.drain();
  EXPECT_EQ(verified.count("alert_failed"), 1u);
  Alerting a("alerts:\n  channels:\n    mail: {type: email, smtp_url: '" + url +
                 "', from: hftguard@hft.local, to: [ops@hft.local], username: alerts, password: "
                 "'${P}', tls_verify: false}\n",
             {{"P", SmtpServer::kPassword}});
  a.event("failover_failed");
  a.drain();
  ASSERT_EQ(a.count("alert_sent"), 1u) << a.recorded().at(0).reason;
  const auto mail = smtp.messages();
  ASSERT_EQ(mail.size(), 1u);
  EXPECT_TRUE(mail[0].tls) << "sent after STARTTLS";
  EXPECT_TRUE(mail[0].authenticated);
}

TEST(Alerts, RetriesWithBackoffAndGivesUpAtTheDeadline) {
  int calls = 0;
  HttpReceiver flaky([&](const ReceivedRequest&) {
    return ++calls <= 2 ? Reply{503, "busy"} : Reply{202, R"({"status":"success"})"};
  });
  HttpReceiver broken([](const ReceivedRequest&) { return Reply{400, "invalid_payload"}; });
  BlackHole hung;
  Alerting a(
      "alerts:\n  initial_backoff: 50ms\n  max_backoff: 80ms\n  deadline: 2s\n  channels:\n"
      "    pd: {type: pagerduty, routing_key: '${K}', url: '" +
          flaky.url() +
          "/v2/enqueue', min_severity: info}\n"
          "    bad: {type: slack, webhook_url: '${BAD}'}\n"
          "    slow: {type: slack, webhook_url: '${SLOW}'}\n",
      {{"K", "key"},
       {"BAD", broken.url() + "/hook"},
       {"SLOW", "http://127.0.0.1:" + std::to_string(hung.port()) + "/hook"}});
  a.event("failover_failed");
  a.drain(10s);
  ASSERT_EQ(a.recorded().size(), 3u);
  for (const auto& r : a.recorded()) {
    const std::string ch = r.fields["channel"];
    if (ch == "pd") {
      EXPECT_EQ(r.type, "alert_sent");
      EXPECT_EQ(r.fields["attempts"], 3);
    } else if (ch == "bad") {
      EXPECT_EQ(r.type, "alert_failed");
      EXPECT_EQ(r.fields["attempts"], 1) << "a 400 is not retried";
      EXPECT_NE(r.fields["error"].get<std::string>().find("HTTP 400"), std::string::npos);
    } else {
      EXPECT_EQ(r.type, "alert_failed");
      EXPECT_GE(r.fields["latency_ms"].get<double>(), 1900.0) << "given up at the deadline";
      EXPECT_LE(r.fields["latency_ms"].get<double>(), 4000.0);
    }
  }
}

TEST(Alerts, InFlightAndQueueLimitsHoldOnAHungChannel) {
  BlackHole hung;
  Alerting a(
      "alerts:\n  max_in_flight: 2\n  queue_limit: 3\n  deadline: 1s\n  channels:\n"
      "    slow: {type: slack, webhook_url: '${SLOW}'}\n",
      {{"SLOW", "http://127.0.0.1:" + std::to_string(hung.port()) + "/hook"}});
  // Each event is its own component's incident: alerts of one incident go one at a time.
  a.event("failover_triggered", json::object(), "engine0");
  for (int i = 1; i <= 5; ++i)
    a.event("failover_completed", json::object(), "engine" + std::to_string(i));
  a.drain(300ms);
  EXPECT_EQ(hung.accepted(), 2u) << "at most max_in_flight at once";
  ASSERT_EQ(a.count("alert_failed"), 1u) << "one over the queue's limit";
  EXPECT_NE(a.recorded()[0].fields["error"].get<std::string>().find("dropped: alert queue full"),
            std::string::npos);
  EXPECT_EQ(a.recorded()[0].fields["severity"], "info") << "the oldest info alert goes first";
  a.drain(10s);
  EXPECT_EQ(a.count("alert_failed"), 6u);
  EXPECT_EQ(a.count("alert_sent"), 0u);
}

// A double fault: the warning's first delivery fails and waits to be retried when the
// critical "FAILOVER FAILED" of the same incident comes. The critical is the last message
// on-call sees: the stale warning is superseded, never delivered after it.
TEST(Alerts, AlertsOfOneIncidentGoOutInOrderTheLaterSupersedes) {
  int calls = 0;
  HttpReceiver slack([&](const ReceivedRequest&) {
    return ++calls == 1 ? Reply{503, "busy", "text/plain"} : Reply{200, "ok", "text/plain"};
  });
  Alerting a(
      "alerts:\n  max_in_flight: 4\n  initial_backoff: 200ms\n  channels:\n"
      "    ops: {type: slack, webhook_url: '${URL}', min_severity: warning}\n",
      {{"URL", slack.url() + "/hook"}});
  a.event("failover_triggered", {{"tier", "component"}, {"rule", "fall"}});
  a.drain(100ms);  // the warning's first attempt fails; it waits 200 ms to retry
  ASSERT_EQ(calls, 1);
  a.event("failover_failed", {{"failed_step", "promote"}});
  a.drain(5s);
  const auto got = slack.requests();
  ASSERT_FALSE(got.empty());
  EXPECT_NE(json::parse(got.back().body)["text"].get<std::string>().find("FAILOVER FAILED"),
            std::string::npos)
      << "the last message is the critical one";
  for (std::size_t i = 1; i < got.size(); ++i)
    EXPECT_NE(json::parse(got[i].body)["text"].get<std::string>().find("FAILOVER FAILED"),
              std::string::npos)
        << "nothing of the incident after the failover failed but that alert: " << got[i].body;
  EXPECT_EQ(a.count("alert_superseded"), 1u);
  EXPECT_EQ(a.count("alert_sent"), 1u);
}

// hftguard alert-test through all three channels; PagerDuty's test is resolved again.
TEST(Alerts, AlertTestCommandSendsThroughEveryChannel) {
  HttpReceiver slack([](const ReceivedRequest&) { return Reply{200, "ok", "text/plain"}; });
  HttpReceiver pd([](const ReceivedRequest&) { return Reply{202, R"({"status":"success"})"}; });
  SmtpServer smtp;
  TempDir dir;
  std::ofstream(dir.path() + "/smtp.pass") << SmtpServer::kPassword;
  std::ofstream(dir.path() + "/slack.url") << slack.url() << "/hook";
  std::ofstream(dir.path() + "/pd.key") << "key";
  const std::string config = dir.path() + "/hftguard.yaml";
  std::ofstream(config) << "node: {name: ops}\nevent_log: {path: " << dir.path()
                        << "/events.json}\nalerts:\n  channels:\n"
                        << "    ops: {type: slack, webhook_url_file: slack.url}\n"
                        << "    oncall: {type: pagerduty, routing_key_file: pd.key, url: '"
                        << pd.url() << "/v2/enqueue'}\n"
                        << "    mail: {type: email, smtp_url: 'smtp://127.0.0.1:" << smtp.port()
                        << "', starttls: false, from: hftguard@hft.local, to: [ops@hft.local], "
                           "username: alerts, password_file: '"
                        << dir.path() << "/smtp.pass'}\n"
                        << kComponent;
  const std::string out = dir.path() + "/out.txt";
  EXPECT_EQ(runCommand({HFTGUARD_BINARY, "alert-test", "--config", config}, {.log_file = out}), 0)
      << readFile(out);
  EXPECT_EQ(slack.requests().size(), 1u);
  ASSERT_EQ(pd.requests().size(), 2u);
  EXPECT_EQ(json::parse(pd.requests()[1].body)["event_action"], "resolve");
  EXPECT_EQ(smtp.messages().size(), 1u);
  std::size_t sent = 0;
  for (const auto& e : readEvents(dir.path() + "/events.json")) sent += e.type == "alert_sent";
  EXPECT_EQ(sent, 4u);
  EXPECT_NE(runCommand({HFTGUARD_BINARY, "alert-test", "--config", config, "--channel", "nope"},
                       {.log_file = out}),
            0);
}

// alert-test --json: one document, each delivery with its channel and outcome; a refused
// delivery (403: not retried) makes it fail.
TEST(Alerts, AlertTestCommandAsJson) {
  std::atomic<int> answer{200};  // read on the receiver's thread
  HttpReceiver slack([&](const ReceivedRequest&) { return Reply{answer.load(), "ok", "text/plain"}; });
  TempDir dir;
  std::ofstream(dir.path() + "/slack.url") << slack.url() << "/hook";
  const std::string config = dir.path() + "/hftguard.yaml";
  std::ofstream(config) << "node: {name: ops}\nevent_log: {path: " << dir.path()
                        << "/events.json}\nalerts:\n  channels:\n"
                        << "    ops: {type: slack, webhook_url_file: slack.url}\n"
                        << kComponent;
  auto run = [&](int status) {
    answer = status;
    std::ostringstream out, err;
    const int code =
        hftguard::cli::run({"alert-test", "--config", config, "--json"}, out, err);
    json j = json::parse(out.str(), nullptr, false);
    EXPECT_FALSE(j.is_discarded()) << out.str() << err.str();
    return std::make_pair(code, j);
  };
  auto [ok, sent] = run(200);
  EXPECT_EQ(ok, 0) << sent;
  EXPECT_EQ(sent["ok"], true);
  EXPECT_EQ(sent["sent"], 1);
  ASSERT_EQ(sent["deliveries"].size(), 1u) << sent;
  EXPECT_EQ(sent["deliveries"][0]["channel"], "ops");
  EXPECT_EQ(sent["deliveries"][0]["delivered"], true);
  auto [bad, refused] = run(403);
  EXPECT_EQ(bad, 1) << refused;
  EXPECT_EQ(refused["ok"], false);
  EXPECT_EQ(refused["failed"], 1);
  ASSERT_EQ(refused["deliveries"].size(), 1u) << refused;
  EXPECT_EQ(refused["deliveries"][0]["delivered"], false);
  EXPECT_EQ(slack.requests().size(), 2u);
}

}  // namespace
