// kv_put / kv_delete: service discovery in etcd v3 (its JSON gateway) or Consul KV (HTTP
// API), with optional compare-and-set on the previous value, each write read back.
// With `epoch` (etcd), the write also compares a fencing key: it lands only if no write of a
// later epoch - or of the same epoch by a later leader (the plan's fencing token, the leader
// key's revision, when it is a number) - landed first, and records its own there in the
// same transaction: a deposed leader's late write is refused by etcd, not by this process's
// view of time.
#include <charconv>
#include <limits>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "hftguard/actions/template.hpp"
#include "hftguard/core/base64.hpp"

#include "kinds.hpp"

namespace hftguard::actions::kinds {
namespace {

using nlohmann::json;

class Kv final : public HttpAction {
 public:
  Kv(const StepConfig& s, const PlanContext& c, ActionEnv& env, bool put)
      : HttpAction(env),
        step_(s),
        put_(put),
        key_(fill(s.params.str("key"), c)),
        key_path_(fillUrl(s.params.str("key"), c)) {
    if (put) value_ = fill(s.params.str("value"), c);
    if (s.params.has("prev_value")) prev_ = fill(s.params.str("prev_value"), c);
    etcd_ = s.params.str("store") == "etcd";
    if (s.params.has("epoch")) {
      epoch_text_ = fill(s.params.str("epoch"), c);
      std::uint64_t e = 0;
      const char* end = epoch_text_.data() + epoch_text_.size();
      auto [p, ec] = std::from_chars(epoch_text_.data(), end, e);
      if (ec == std::errc() && p == end && !epoch_text_.empty()) epoch_ = e;
      epoch_key_ = s.params.has("epoch_key") ? fill(s.params.str("epoch_key"), c) : key_ + ".epoch";
      const std::string& t = c.fencing_token;  // "local-3", "dry-run": not ordered, so 0
      std::uint64_t token = 0;
      auto [tp, tec] = std::from_chars(t.data(), t.data() + t.size(), token);
      if (tec == std::errc() && tp == t.data() + t.size() && !t.empty()) token_ = token;
    }
  }

  std::string describe() const override {
    return fmt::format("{} {} {}{}{}{}", step_.params.str("store"), put_ ? "put" : "delete",
                       key_, put_ ? " = " + value_ : "",
                       prev_ ? " if it is '" + *prev_ + "'" : "",
                       epoch_text_.empty() ? ""
                                           : fmt::format(" at epoch {} (fenced by {})", epoch_text_,
                                                         epoch_key_));
  }

  void check(Done done) override {
    if (std::string bad = badEpoch(); !bad.empty()) return done(ActionResult::failure(bad));
    read([this, done](std::optional<std::optional<std::string>> current, std::string error) {
      if (!current) return done(ActionResult::failure(error));
      const std::string now = *current ? "'" + **current + "'" : "(not set)";
      if (prev_ && *current != prev_ && !wanted(*current)) {
        return done(ActionResult::failure(
            fmt::format("{} is {}, not '{}': the compare-and-set would fail", key_, now, *prev_)));
      }
      if (!epoch_) return done(ActionResult::success(fmt::format("{} is {}", key_, now)));
      read(epoch_key_, [this, done, now](std::optional<std::optional<std::string>> fence,
                                         std::string why) {
        if (!fence) return done(ActionResult::failure(why));
        // A dry run has no leader token: only a later epoch refutes it.
        if (*fence && **fence >= padded(*epoch_ + 1)) {
          return done(ActionResult::failure(fmt::format(
              "{} says epoch {}, later than this step's {}: the write would be refused",
              epoch_key_, shown(**fence), *epoch_)));
        }
        done(ActionResult::success(fmt::format("{} is {}; {} allows epoch {}", key_, now,
                                               epoch_key_, *epoch_)));
      });
    });
  }

  // A refused compare-and-set is read back: when the key already is what this step writes
  // (an earlier attempt's write landed, and its answer was lost to a timeout), the step is
  // done, not in conflict. Retries are idempotent.
  void run(Done done) override {
    auto verify = [this, done](Outcome outcome, std::string why) {
      if (outcome == Outcome::Failed) return done(ActionResult::failure(why));
      read([this, done, outcome, why](std::optional<std::optional<std::string>> current,
                                      std::string error) {
        if (outcome == Outcome::Fenced) return done(ActionResult::failure(why));
        if (outcome == Outcome::Refused) {
          if (!current) return done(ActionResult::failure(why + "; not read back: " + error));
          return done(
              wanted(*current)
                  ? ActionResult::success(describe() + ": already so, verified")
                  : ActionResult::failure(fmt::format(
                        "{} (it is {})", why, *current ? "'" + **current + "'" : "not set")));
        }
        if (!current) return done(ActionResult::failure("written, but not read back: " + error));
        done(wanted(*current) ? ActionResult::success(describe() + ", verified")
                              : ActionResult::failure(
                                    fmt::format("{} reads back {} after the write", key_,
                                                *current ? "'" + **current + "'" : "(not set)")));
      });
    };
    if (std::string bad = badEpoch(); !bad.empty()) return done(ActionResult::failure(bad));
    if (etcd_) return etcdWrite(verify);
    consulWrite(verify);
  }

 private:
  using Read = std::function<void(std::optional<std::optional<std::string>>, std::string)>;
  // Refused: the compare did not hold (read back: it may already be so). Fenced: a later
  // epoch or leader wrote - a failure whatever the key holds.
  enum class Outcome { Written, Refused, Fenced, Failed };
  using Written = std::function<void(Outcome, std::string)>;

  // The key as this step leaves it: the value put, or absent.
  bool wanted(const std::optional<std::string>& current) const {
    return put_ ? current == value_ : !current.has_value();
  }

  net::HttpRequest request(std::string method, std::string path, std::string body = {}) const {
    auto r = stepRequest(step_, std::move(method),
                         step_.params.list("endpoints").at(endpoint_) + path, step_.timeout);
    r.body = std::move(body);
    if (step_.params.has("token")) {
      r.headers.emplace_back(etcd_ ? "Authorization" : "X-Consul-Token",
                             step_.params.secret("token").reveal());
    }
    if (!r.body.empty())
      r.headers.emplace_back("Content-Type",
                             etcd_ ? "application/json" : "application/octet-stream");
    return r;
  }

  // Calls the store; on no answer tries the next endpoint.
  void call(std::function<net::HttpRequest()> make,
            std::function<void(const net::HttpResponse&)> then,
            std::function<void(std::string)> fail) {
    send(make(), [this, make, then, fail](const net::HttpResponse& r) {
      if (r.answered) return then(r);
      if (endpoint_ + 1 < step_.params.list("endpoints").size()) {
        ++endpoint_;
        return call(make, then, fail);
      }
      fail(step_.params.str("store") + ": " + r.error);
    });
  }

  // Fixed width, so that etcd's byte-wise comparison of values orders epochs as numbers:
  // "EPOCH.TOKEN", each 20 digits; bare "EPOCH" sorts before every token of its epoch.
  static std::string padded(std::uint64_t epoch) { return fmt::format("{:020}", epoch); }
  static std::string padded(std::uint64_t epoch, std::uint64_t token) {
    return padded(epoch) + "." + padded(token);
  }
  static std::string unpadded(const std::string& v) {
    const auto first = v.find_first_not_of('0');
    return first == std::string::npos ? (v.empty() ? v : "0") : v.substr(first);
  }
  // "8 (leader token 41)" for an operator.
  static std::string shown(const std::string& fence) {
    const auto dot = fence.find('.');
    if (dot == std::string::npos) return unpadded(fence);
    return unpadded(fence.substr(0, dot)) + " (leader token " + unpadded(fence.substr(dot + 1)) +
           ")";
  }

  std::string badEpoch() const {
    if (!epoch_text_.empty() && !etcd_) return "epoch needs store: etcd: nothing written";
    if (epoch_ && *epoch_ == std::numeric_limits<std::uint64_t>::max())
      return "epoch is too large: nothing written";
    if (epoch_text_.empty() || epoch_) return {};
    return fmt::format("epoch '{}' is not a whole number: nothing written", epoch_text_);
  }

  void read(Read then) { read(key_, std::move(then)); }

  void read(const std::string& key, Read then) {
    if (etcd_) {
      call(
          [this, key] {
            return request("POST", "/v3/kv/range", json{{"key", base64Encode(key)}}.dump());
          },
          [then](const net::HttpResponse& r) {
            auto j = json::parse(r.body, nullptr, false);
            if (r.status != 200 || !j.is_object())
              return then(std::nullopt, fmt::format("etcd range: HTTP {}", r.status));
            if (!j.contains("kvs") || j["kvs"].empty())
              return then(std::optional<std::string>{}, {});
            std::optional<std::string> v;
            try {
              v = base64Decode(j["kvs"].at(0).value("value", std::string()));
            } catch (const json::exception&) {  // an answer not shaped as etcd's
            }
            if (!v) return then(std::nullopt, "etcd range: malformed value");
            then(std::optional<std::string>{*v}, {});
          },
          [then](std::string e) { then(std::nullopt, e); });
      return;
    }
    call([this] { return request("GET", "/v1/kv/" + key_path_); },
         [this, then](const net::HttpResponse& r) {
           if (r.status == 404) return then(std::optional<std::string>{}, {});
           auto j = json::parse(r.body, nullptr, false);
           if (r.status != 200 || j.is_discarded() || !j.is_array() || j.empty()) {
             return then(std::nullopt, fmt::format("consul get: HTTP {}", r.status));
           }
           std::optional<std::string> v;
           try {
             index_ = j[0].value("ModifyIndex", 0ULL);
             v = j[0].value("Value", json()).is_string()
                     ? base64Decode(j[0]["Value"].get<std::string>())
                     : std::optional<std::string>("");
           } catch (const json::exception&) {  // an answer not shaped as Consul's
             v.reset();
           }
           if (!v) return then(std::nullopt, "consul get: malformed value");
           then(std::optional<std::string>{*v}, {});
         },
         [then](std::string e) { then(std::nullopt, e); });
  }

  // `fence_absent`: the epoch key was found missing, so it is compared on being absent.
  void etcdWrite(Written written, bool fence_absent = false) {
    const json op =
        put_ ? json{{"request_put", {{"key", base64Encode(key_)}, {"value", base64Encode(value_)}}}}
             : json{{"request_delete_range", {{"key", base64Encode(key_)}}}};
    json body;
    std::string path;
    if (prev_ || epoch_) {
      path = "/v3/kv/txn";
      json compare = json::array();
      json success = {op};
      if (prev_) {
        compare.push_back({{"key", base64Encode(key_)},
                           {"result", "EQUAL"},
                           {"target", "VALUE"},
                           {"value", base64Encode(*prev_)}});
      }
      if (epoch_) {
        // No later epoch wrote: the key's value is below epoch + 1 (or the key is absent).
        compare.push_back(
            fence_absent
                ? json{{"key", base64Encode(epoch_key_)},
                       {"result", "EQUAL"},
                       {"target", "CREATE"},
                       {"create_revision", "0"}}
                : json{{"key", base64Encode(epoch_key_)},
                       {"result", "LESS"},
                       {"target", "VALUE"},
                       {"value", base64Encode(padded(*epoch_, token_ + 1))}});
        success.push_back({{"request_put",
                            {{"key", base64Encode(epoch_key_)},
                             {"value", base64Encode(padded(*epoch_, token_))}}}});
      }
      body = {{"compare", compare}, {"success", success}};
      if (epoch_) body["failure"] = {{{"request_range", {{"key", base64Encode(epoch_key_)}}}}};
    } else {
      path = put_ ? "/v3/kv/put" : "/v3/kv/deleterange";
      body = put_ ? op["request_put"] : op["request_delete_range"];
    }
    call([this, path, b = body.dump()] { return request("POST", path, b); },
         [this, written, fence_absent](const net::HttpResponse& r) {
           auto j = json::parse(r.body, nullptr, false);
           if (r.status != 200 || !j.is_object())
             return written(Outcome::Failed,
                            fmt::format("etcd: HTTP {}: {}", r.status, r.body.substr(0, 200)));
           // A failed transaction has no "succeeded" field.
           if ((prev_ || epoch_) && !(j.contains("succeeded") && j["succeeded"] == true)) {
             std::optional<std::string> fence;  // the epoch key's value, as the failure read it
             bool read_ok = false;
             try {
               const json& kvs = j.at("responses").at(0).at("response_range").value("kvs", json());
               read_ok = true;
               if (kvs.is_array() && !kvs.empty())
                 fence = base64Decode(kvs.at(0).value("value", std::string()));
             } catch (const json::exception&) {  // not etcd's shape: refused, for no known reason
             }
             if (epoch_ && read_ok && !fence && !fence_absent) {
               return etcdWrite(written, true);  // no epoch written yet: compare on absence
             }
             if (epoch_ && fence && *fence >= padded(*epoch_, token_ + 1)) {
               return written(Outcome::Fenced,
                              fmt::format("etcd: {} was written at epoch {}, later than this "
                                          "step's {} (leader token {}): refused (a deposed "
                                          "leader's late write)",
                                          epoch_key_, shown(*fence), *epoch_, token_));
             }
             return written(Outcome::Refused,
                            prev_ ? fmt::format("etcd: {} is not '{}': compare-and-set refused",
                                                key_, *prev_)
                                  : fmt::format("etcd: {} changed meanwhile: refused", epoch_key_));
           }
           written(Outcome::Written, {});
         },
         [written](std::string e) { written(Outcome::Failed, e); });
  }

  void consulWrite(Written written) {
    auto write = [this, written](std::string query) {
      call(
          [this, query] {
            return put_ ? request("PUT", "/v1/kv/" + key_path_ + query, value_)
                        : request("DELETE", "/v1/kv/" + key_path_ + query);
          },
          [this, written](const net::HttpResponse& r) {
            std::string body = r.body;
            while (!body.empty() && (body.back() == '\n' || body.back() == ' ')) body.pop_back();
            if (r.status != 200)
              return written(Outcome::Failed,
                             fmt::format("consul: HTTP {}: {}", r.status, body.substr(0, 200)));
            if (body != "true")
              return written(
                  Outcome::Refused,
                  fmt::format("consul: {} changed meanwhile: compare-and-set refused", key_));
            written(Outcome::Written, {});
          },
          [written](std::string e) { written(Outcome::Failed, e); });
    };
    if (!prev_) return write("");
    // Consul compares on ModifyIndex: read the value and its index, then write with ?cas=.
    read([this, written, write](std::optional<std::optional<std::string>> current,
                                std::string error) {
      if (!current) return written(Outcome::Failed, error);
      if (*current != prev_)
        return written(
            Outcome::Refused,
            fmt::format("consul: {} is not '{}': compare-and-set refused", key_, *prev_));
      write(fmt::format("?cas={}", index_));
    });
  }

  const StepConfig& step_;
  bool put_;
  bool etcd_ = true;
  std::string key_;
  std::string key_path_;  // the key in Consul's URL: placeholders percent-encoded
  std::string value_;
  std::optional<std::string> prev_;
  std::string epoch_text_;               // `epoch` as filled in
  std::optional<std::uint64_t> epoch_;   // ... when it is a whole number
  std::uint64_t token_ = 0;              // the plan's fencing token, when it is a number
  std::string epoch_key_;
  std::size_t endpoint_ = 0;
  unsigned long long index_ = 0;
};

}  // namespace

std::unique_ptr<Action> makeKvPut(const StepConfig& s, const PlanContext& c, ActionEnv& env) {
  return std::make_unique<Kv>(s, c, env, true);
}
std::unique_ptr<Action> makeKvDelete(const StepConfig& s, const PlanContext& c, ActionEnv& env) {
  return std::make_unique<Kv>(s, c, env, false);
}

}  // namespace hftguard::actions::kinds
