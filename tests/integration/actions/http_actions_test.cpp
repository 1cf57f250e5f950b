// The HTTP actions' requests as a server receives them: placeholders escaped for where they
// go (a libpq error's quotes broke the promote request's JSON body), and http_check's
// requests given the step's whole timeout (they were capped at 2 s, undocumented).

#include <thread>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "action_harness.hpp"
#include "http_receiver.hpp"

using namespace hftguard;
using namespace hftguard::testing;
using namespace std::chrono_literals;

namespace {

// What a libpq error can carry, and worse.
const std::string kReason = "FATAL:  role \"x\" \\ gone\nline 2\t&a=b/c%41 d 50% café ✓";
const actions::PlanContext kContext{"trading", "n1", "pg1", "pg 2/b", "tok", "", kReason};

std::string decode(const std::string& s, bool form) {
  std::string out;
  for (std::size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '%' && i + 2 < s.size()) {
      out += static_cast<char>(std::stoi(s.substr(i + 1, 2), nullptr, 16));
      i += 2;
    } else {
      out += form && s[i] == '+' ? ' ' : s[i];
    }
  }
  return out;
}

TEST(HttpActions, JsonBodyUrlAndFormCarryTheReasonIntact) {
  HttpReceiver server([](const ReceivedRequest&) { return Reply{200, "{}"}; });
  ActionRig rig;
  auto json = rig.step("action: http_request, method: POST, url: '" + server.url() +
                           "/promote/{new_primary}?why={reason}', body: '{\"reason\": "
                           "\"{reason}\", \"node\": \"{node}\"}'",
                       false, kContext);
  EXPECT_TRUE(json.ok) << json.detail;
  auto form = rig.step("action: http_request, method: POST, url: '" + server.url() +
                           "/form', form: {reason: '{reason}', who: '{new_primary} & co'}",
                       false, kContext);
  EXPECT_TRUE(form.ok) << form.detail;
  const auto reqs = server.requests();
  ASSERT_EQ(reqs.size(), 2u);
  const auto body = nlohmann::json::parse(reqs[0].body, nullptr, false);
  ASSERT_FALSE(body.is_discarded()) << "not JSON: " << reqs[0].body;
  EXPECT_EQ(body["reason"], kReason);
  EXPECT_EQ(body["node"], "n1");
  const std::string& target = reqs[0].target;
  ASSERT_EQ(target.rfind("/promote/", 0), 0u) << target;
  const auto q = target.find("?why=");
  ASSERT_NE(q, std::string::npos) << target;
  EXPECT_EQ(decode(target.substr(9, q - 9), false), "pg 2/b");
  EXPECT_EQ(target.substr(9, q - 9).find('/'), std::string::npos) << target;
  EXPECT_EQ(decode(target.substr(q + 5), false), kReason);
  // The form: two fields, each decoded back to its value.
  const std::string& f = reqs[1].body;
  EXPECT_EQ(reqs[1].headers.at("content-type"), "application/x-www-form-urlencoded");
  const auto amp = f.find('&');
  ASSERT_NE(amp, std::string::npos) << f;
  const std::string first = f.substr(0, amp), second = f.substr(amp + 1);
  EXPECT_EQ(second.find('&'), std::string::npos) << f;
  EXPECT_EQ(decode(first.substr(first.find('=') + 1), true), kReason) << f;
  EXPECT_EQ(decode(second.substr(second.find('=') + 1), true), "pg 2/b & co") << f;
}

// A health endpoint that takes 2.5 s to answer is up for a step whose timeout is 6 s.
TEST(HttpActions, HttpCheckRequestsHaveTheStepsWholeTimeout) {
  HttpReceiver slow([](const ReceivedRequest&) {
    std::this_thread::sleep_for(2500ms);
    return Reply{200, "ok"};
  });
  ActionRig rig;
  auto r = rig.step("action: http_check, url: '" + slow.url() + "/health', expect: up, timeout: 6s",
                    false, kContext, 20s);
  EXPECT_TRUE(r.ok) << r.detail;
}

}  // namespace

namespace {

// A filled HAProxy name goes into a runtime API command line, where ';' or a newline would
// start a second command: it is refused before anything is sent.
TEST(HttpActions, HaproxyRefusesANameThatWouldBeACommand) {
  ActionRig rig;
  actions::PlanContext ctx = kContext;
  ctx.old_primary = "primary; disable server trading/standby";
  for (bool dry : {true, false}) {
    auto r = rig.step(
        "action: haproxy, socket: '127.0.0.1:1', backend: trading, server: '{old_primary}', "
        "state: maint",
        dry, ctx, 10s);
    EXPECT_FALSE(r.ok);
    EXPECT_NE(r.detail.find("refusing name"), std::string::npos) << r.detail;
  }
}

}  // namespace
