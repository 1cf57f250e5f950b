#include "hftguard/config/loader.hpp"

#include <algorithm>
#include <cstdlib>
#include <iterator>
#include <regex>
#include <set>
#include <fstream>
#include <sstream>
#include <tuple>

#include <fmt/format.h>

#include "hftguard/core/suggest.hpp"

#include "kind_rules.hpp"
#include "members.hpp"
#include "partition_rules.hpp"
#include "yaml_reader.hpp"

namespace hftguard::config {
namespace {

using detail::ReaderContext;
using detail::SectionValues;

template <typename E, std::size_t N>
E enumFrom(const std::string& text, const std::string_view (&names)[N]) {
  for (std::size_t i = 0; i < N; ++i) {
    if (names[i] == text) return static_cast<E>(i);
  }
  return static_cast<E>(0);
}

constexpr std::string_view kLayers[] = {"process", "service", "business", "end_to_end"};
constexpr std::string_view kTiers[] = {"hot", "warm", "cold"};
constexpr std::string_view kAutomation[] = {"full", "semi", "manual"};
constexpr std::string_view kSeverities[] = {"info", "warning", "critical"};
constexpr std::string_view kOnFailure[] = {"abort", "continue"};

// Per-layer defaults from the runbook: process 1s, service 2s, business 5s, end-to-end 10s.
constexpr std::pair<std::string_view, std::string_view> kLayerDefaults[] = {
    {"1s", "500ms"}, {"2s", "1s"}, {"5s", "2s"}, {"10s", "5s"}};

std::string dot(const std::string& a, std::string_view b) {
  return a.empty() ? std::string(b) : a + "." + std::string(b);
}

Location locationOf(const YAML::Mark& m) { return {m.line + 1, m.column + 1}; }

// True for `key: {}` or `key:` with nothing; absent keys and other shapes have their own error.
bool hasEmptyMap(const SectionValues& v, std::string_view key) {
  auto it = v.children.find(key);
  return it != v.children.end() && (it->second.IsNull() || it->second.size() == 0);
}

class Builder {
 public:
  explicit Builder(ReaderContext& ctx) : ctx_(ctx) {}

  Config build(const YAML::Node& root) {
    Config cfg;
    const YAML::Mark top = root.Mark();
    SectionValues v = detail::readSection(ctx_, root, top, "", specs("top-level"));
    readNode(cfg, section(v, "node"));
    cfg.log_level = section(v, "logging").params.str("level");
    SectionValues events = section(v, "event_log");
    cfg.event_log_path = events.params.str("path");
    cfg.event_queue_limit = static_cast<int>(events.params.integer("queue_limit"));
    readProbes(cfg, section(v, "probes"));
    readAlerts(cfg, section(v, "alerts"));
    forEachNamed(v, "plans", [&](auto& name, auto& mark, auto& node) {
      cfg.plans.push_back(readPlan(name, mark, node));
    });
    readSystem(cfg, section(v, "system"));
    forEachNamed(v, "components", [&](auto& name, auto& mark, auto& node) {
      cfg.components.push_back(readComponent(cfg, name, mark, node));
    });
    if (hasEmptyMap(v, "components")) {
      ctx_.diag.error(v.markOf("components"), "components: define at least one component");
    }
    readCoordination(cfg, section(v, "coordination"));
    readDrill(cfg, section(v, "drill"));
    checkPlanMembers(cfg);
    readControlApi(cfg, section(v, "control_api"));
    cfg.maintenance_path = section(v, "maintenance").params.str("path");
    return cfg;
  }

 private:
  static detail::SpecList specs(std::string_view path) {
    return detail::specsOf(config::section(path));
  }

  // Reads the child section `key` of `parent` with the schema section of the same path.
  SectionValues section(const SectionValues& parent, std::string_view key,
                        std::string_view schema_path = {}, const std::string& where = {}) {
    const std::string path(schema_path.empty() ? key : schema_path);
    // An absent section reports nothing missing: the parent said so if it was required.
    return detail::readSection(ctx_, parent.child(key), parent.markOf(key),
                               where.empty() ? std::string(key) : where, specs(path),
                               {.unknown = true, .missing = parent.present(key)});
  }

  template <typename Fn>
  void forEachNamed(const SectionValues& parent, std::string_view key, Fn&& fn,
                    const std::string& where = {}) {
    detail::forEachNamed(ctx_, parent.child(key), where.empty() ? std::string(key) : where, fn);
  }

  void readNode(Config& cfg, const SectionValues& v) {
    if (v.params.has("name")) cfg.node.name = v.params.str("name");
    cfg.node.site = v.params.str("site");
  }

  void readProbes(Config& cfg, const SectionValues& v) {
    for (std::size_t i = 0; i < kLayerCount; ++i) {
      SectionValues layer = section(v, kLayers[i], "probes.<layer>", dot("probes", kLayers[i]));
      LayerTiming& t = cfg.probes.layers[i];
      t.interval = layer.params.has("interval") ? layer.params.duration("interval")
                                                : *parseDuration(kLayerDefaults[i].first);
      t.timeout = layer.params.has("timeout")
                      ? layer.params.duration("timeout")
                      : std::min(t.interval, *parseDuration(kLayerDefaults[i].second));
      checkTimeout(layer, t);
    }
    cfg.probes.jitter = v.params.number("jitter");
    cfg.probes.fall = static_cast<int>(v.params.integer("fall"));
    cfg.probes.rise = static_cast<int>(v.params.integer("rise"));
  }

  void checkTimeout(const SectionValues& v, const LayerTiming& t) {
    if (v.present("timeout") && t.timeout > t.interval) {
      ctx_.diag.error(v.markOf("timeout"),
                      fmt::format("timeout: {} is longer than the interval {}; a check never "
                                  "overlaps its next run",
                                  formatDuration(t.timeout), formatDuration(t.interval)));
    }
  }

  // Reads a section whose keys depend on its `type`/`action`: common keys + the kind's.
  std::pair<SectionValues, const KindSpec*> readTyped(
      const YAML::Node& node, const YAML::Mark& owner, const std::string& where,
      std::string_view common_path, std::string_view family, const std::string& type_key) {
    std::optional<std::string> type = detail::peekScalar(node, type_key);
    const KindSpec* kind = type ? findKind(family, *type) : nullptr;
    detail::SpecList keys =
        kind ? detail::specsOf(config::section(common_path), *kind) : specs(common_path);
    // The type key's Enum choices are the registered kinds of the family.
    KeySpec typeSpec{type_key, ValueKind::Enum, true};
    typeSpec.choices = kindNames(family);
    for (auto& k : keys) {
      if (k->key == type_key) k = &typeSpec;
    }
    SectionValues v =
        detail::readSection(ctx_, node, owner, where, keys, {.unknown = kind != nullptr});
    if (kind) detail::checkKindRules(ctx_, family, kind->type, v, where);
    return {std::move(v), kind};
  }

  CheckConfig readCheck(const Config& cfg, const std::string& component, const std::string& name,
                        const YAML::Mark& mark, const YAML::Node& node) {
    const std::string where = fmt::format("components.{}.checks.{}", component, name);
    auto [v, kind] =
        readTyped(node, mark, where, "components.<name>.checks.<name>", "check", "type");
    CheckConfig c;
    c.name = name;
    c.where = locationOf(mark);
    if (!kind) return c;
    c.type = std::string(kind->type);
    c.layer = enumFrom<Layer>(
        v.params.has("layer") ? v.params.str("layer") : std::string(kind->default_layer), kLayers);
    const LayerTiming& layer = cfg.probes.of(c.layer);
    LayerTiming t{v.params.has("interval") ? v.params.duration("interval") : layer.interval,
                  v.params.has("timeout") ? v.params.duration("timeout") : layer.timeout};
    if (!v.present("timeout")) t.timeout = std::min(t.timeout, t.interval);
    checkTimeout(v, t);
    c.interval = t.interval;
    c.timeout = t.timeout;
    c.fall = v.params.has("fall") ? static_cast<int>(v.params.integer("fall")) : cfg.probes.fall;
    c.rise = v.params.has("rise") ? static_cast<int>(v.params.integer("rise")) : cfg.probes.rise;
    c.informational = v.params.flag("informational");
    if (v.params.has("description")) c.description = v.params.str("description");
    c.params = std::move(v.params);
    return c;
  }

  ComponentConfig readComponent(const Config& cfg, const std::string& name, const YAML::Mark& mark,
                                const YAML::Node& node) {
    const std::string where = dot("components", name);
    SectionValues v = detail::readSection(ctx_, node, mark, where, specs("components.<name>"));
    ComponentConfig c;
    c.name = name;
    c.where = locationOf(mark);
    if (v.params.has("description")) c.description = v.params.str("description");
    if (v.params.has("primary")) c.primary = v.params.str("primary");
    if (v.params.has("standby")) c.standby = v.params.str("standby");
    if (v.params.has("tier")) c.tier = enumFrom<Tier>(v.params.str("tier"), kTiers);
    // The runbook's SLA matrix: hot tiers fail over on their own, cold ones are manual.
    c.automation = v.params.has("automation")
                       ? enumFrom<Automation>(v.params.str("automation"), kAutomation)
                       : static_cast<Automation>(static_cast<int>(c.tier));
    if (v.params.has("rto_target")) c.rto_target = v.params.duration("rto_target");
    c.cooldown = v.params.duration("cooldown");
    c.failover_retries = static_cast<int>(v.params.integer("failover_retries"));
    c.failover_retry_backoff = v.params.duration("failover_retry_backoff");
    readRoles(cfg, c, v, where);
    if (hasEmptyMap(v, "checks")) {
      ctx_.diag.error(v.markOf("checks"), where + ".checks: define at least one check");
    }
    readTriggers(c, section(v, "triggers", "components.<name>.triggers", dot(where, "triggers")));
    readDamping(c, section(v, "flap_damping", "components.<name>.flap_damping",
                           dot(where, "flap_damping")));
    readFollow(c, section(v, "follow", "components.<name>.follow", dot(where, "follow")),
               v.present("follow"));
    readComponentRefs(cfg, c, v, where);
    readSwitchover(cfg, c, v, where);
    return c;
  }

  void readSwitchover(const Config& cfg, ComponentConfig& c, const SectionValues& parent,
                      const std::string& where) {
    if (!parent.present("switchover")) return;
    const SectionValues v = section(parent, "switchover", "components.<name>.switchover",
                                    dot(where, "switchover"));
    SwitchoverConfig s;
    s.where = locationOf(parent.markOf("switchover"));
    for (auto [key, out] : {std::pair{"plan", &s.plan}, {"pre_checks", &s.pre_checks},
                            {"post_checks", &s.post_checks}}) {
      if (!v.params.has(key)) continue;
      *out = v.params.str(key);
      checkRef(v.markOf(key), std::string("switchover.") + key, "plan", *out, names(cfg.plans));
    }
    s.healthy_within = v.params.duration("healthy_within");
    // The post-check waits for an answer from each of the new primary's checks.
    Duration longest{};
    for (const CheckConfig& k : c.checks) {
      if (!k.informational) longest = std::max(longest, k.interval);
    }
    if (s.healthy_within <= longest) {
      ctx_.diag.error(v.present("healthy_within") ? v.markOf("healthy_within")
                                                  : parent.markOf("switchover"),
                      fmt::format("healthy_within: {} must exceed the longest check interval ({}): "
                                  "the post-check waits for every check of the new primary",
                                  formatDuration(s.healthy_within), formatDuration(longest)));
    }
    if (c.members.empty()) {
      ctx_.diag.error(parent.markOf("switchover"),
                      where + ".switchover: a switchover moves the primary role to another "
                              "member; define members");
    }
    c.switchover = std::move(s);
  }

  // Without members the checks are read as written. With them, each check is read once per
  // member in the role it addresses (its values filled from that member), and `checks` is
  // the set for the configured roles.
  void readRoles(const Config& cfg, ComponentConfig& c, const SectionValues& v,
                 const std::string& where) {
    auto readAll = [&](std::string_view key, std::vector<CheckConfig>& out) {
      forEachNamed(
          v, key,
          [&](auto& check, auto& m, auto& n) { out.push_back(readCheck(cfg, c.name, check, m, n)); },
          dot(where, key));
    };
    if (v.present("members")) {
      c.members = detail::readMembers(ctx_, v.child("members"), dot(where, "members"));
    }
    if (c.members.empty()) {
      if (v.present("members")) {
        ctx_.diag.error(v.markOf("members"), where + ".members: define at least two members");
      }
      if (v.present("standby_checks")) {
        ctx_.diag.error(v.markOf("standby_checks"),
                        where + ".standby_checks: standby checks address members; define members");
      }
      ctx_.substitute = [this, where](const YAML::Mark& at, std::string_view key,
                                      const std::string& text) {
        if (text.find("{primary.") != std::string::npos ||
            text.find("{standby.") != std::string::npos) {
          ctx_.diag.error(at, fmt::format("{}: {{primary.*}}/{{standby.*}} address members; "
                                          "{} has none",
                                          key, where));
        }
        return text;
      };
      readAll("checks", c.checks);
      ctx_.substitute = nullptr;
      return;
    }
    checkMemberRoles(c, v, where);
    if (v.present("follow")) {
      // The store's own HA picks the new master; roles hftguard tracks could disagree.
      ctx_.diag.error(v.markOf("follow"),
                      where + ".follow: a component that follows its store's own HA cannot also "
                              "have members (its HA, not hftguard, decides the roles)");
    }
    for (const MemberConfig& m : c.members) {
      RoleChecks& rc = c.role_checks[m.name];
      for (auto [key, role, out] : {std::tuple{"checks", "primary", &rc.as_primary},
                                    {"standby_checks", "standby", &rc.as_standby}}) {
        ctx_.substitute = [this, &m, role = std::string_view(role)](
                              const YAML::Mark& at, std::string_view k, const std::string& text) {
          // Timing and counting are the check's, the same for every member: the scheduler
          // swaps one member's check for another's in place.
          static constexpr std::string_view kCommon[] = {"type",     "layer", "interval",
                                                         "timeout",  "fall",  "rise",
                                                         "informational", "description"};
          if (std::find(std::begin(kCommon), std::end(kCommon), k) != std::end(kCommon)) {
            if (text.find('{') != std::string::npos && text.find('.') != std::string::npos &&
                (text.find("{primary.") != std::string::npos ||
                 text.find("{standby.") != std::string::npos)) {
              ctx_.diag.error(at, fmt::format("{}: member placeholders go in a check's own keys "
                                              "(url, host, port...), not in {}",
                                              k, k));
            }
            return text;
          }
          return detail::fillRole(ctx_, at, k, text, role, m);
        };
        readAll(key, *out);
      }
      ctx_.substitute = nullptr;
      for (CheckConfig& k : rc.as_standby) k.informational = true;  // readiness, never a failover
    }
    if (auto p = c.role_checks.find(c.primary); p != c.role_checks.end()) {
      c.checks = p->second.as_primary;
    }
    if (auto s = c.role_checks.find(c.standby); s != c.role_checks.end()) {
      c.checks.insert(c.checks.end(), s->second.as_standby.begin(), s->second.as_standby.end());
    }
    for (std::size_t i = 0; i < c.checks.size(); ++i) {
      for (std::size_t j = 0; j < i; ++j) {
        if (c.checks[i].name == c.checks[j].name) {
          ctx_.diag.error(v.markOf("standby_checks"),
                          fmt::format("{}.standby_checks: '{}' is also a check of the primary; "
                                      "name it apart",
                                      where, c.checks[i].name));
        }
      }
    }
  }

  void checkMemberRoles(ComponentConfig& c, const SectionValues& v, const std::string& where) {
    std::vector<std::string_view> known;
    for (const MemberConfig& m : c.members) known.push_back(m.name);
    if (c.members.size() < 2) {
      ctx_.diag.error(v.markOf("members"), where + ".members: define at least two members");
    }
    if (c.primary.empty()) {
      ctx_.diag.error(v.owner, where + ": primary: name the member that is primary at first");
      c.primary = c.members.front().name;
    } else {
      checkRef(v.markOf("primary"), "primary", "member", c.primary, known);
    }
    if (c.standby.empty()) {
      for (const MemberConfig& m : c.members) {
        if (m.name != c.primary) {
          c.standby = m.name;
          break;
        }
      }
    } else {
      checkRef(v.markOf("standby"), "standby", "member", c.standby, known);
      if (c.standby == c.primary) {
        ctx_.diag.error(v.markOf("standby"), "standby: the primary cannot be its own standby");
      }
    }
  }

  void readFollow(ComponentConfig& c, const SectionValues& v, bool present) {
    if (!present) return;
    detail::checkKindRules(ctx_, "follow", "sentinel", v, dot("components." + c.name, "follow"));
    FollowConfig f;
    if (v.params.has("type")) f.type = v.params.str("type");
    if (v.params.has("sentinels")) f.sentinels = v.params.list("sentinels");
    if (v.params.has("master_name")) f.master_name = v.params.str("master_name");
    if (v.params.has("sentinel_password")) f.sentinel_password = v.params.secret("sentinel_password");
    f.reconnect = v.params.duration("reconnect");
    c.follow = std::move(f);
  }

  void readComponentRefs(const Config& cfg, ComponentConfig& c, const SectionValues& v,
                         const std::string& where) {
    if (v.params.has("plan")) {
      c.plan = v.params.str("plan");
      checkRef(v.markOf("plan"), "plan", "plan", c.plan, names(cfg.plans));
    } else if (c.automation != Automation::Manual) {
      ctx_.diag.error(v.owner,
                      fmt::format("{}: automation {} needs a plan", where, toString(c.automation)));
    }
    if (v.params.has("quorum")) c.quorum = static_cast<int>(v.params.integer("quorum"));
    if (v.params.has("self_fence")) {
      c.self_fence = v.params.str("self_fence");
      c.self_fence_where = locationOf(v.markOf("self_fence"));
      checkRef(v.markOf("self_fence"), "self_fence", "plan", c.self_fence, names(cfg.plans));
    }
    if (v.params.has("alert_channels")) {
      c.alert_channels = v.params.list("alert_channels");
      for (const std::string& ch : c.alert_channels) {
        checkRef(v.markOf("alert_channels"), "alert_channels", "alert channel", ch,
                 names(cfg.alerts.channels));
      }
    } else {
      for (const ChannelConfig& ch : cfg.alerts.channels) c.alert_channels.push_back(ch.name);
    }
  }

  template <typename T>
  static std::vector<std::string_view> names(const std::vector<T>& items) {
    std::vector<std::string_view> out;
    for (const T& i : items) out.push_back(i.name);
    return out;
  }

  void checkRef(const YAML::Mark& at, std::string_view key, std::string_view what,
                const std::string& name, const std::vector<std::string_view>& known) {
    if (std::find(known.begin(), known.end(), name) != known.end()) return;
    std::string msg = fmt::format("{}: no {} named '{}'", key, what, name);
    if (auto near = closestMatch(name, known)) msg += fmt::format("; did you mean '{}'?", *near);
    ctx_.diag.error(at, msg);
  }

  void readTriggers(ComponentConfig& c, const SectionValues& v) {
    const std::string base = dot("components." + c.name, "triggers");
    auto sub = [&](std::string_view key, std::string_view schema) {
      SectionValues s = section(v, key, schema, dot(base, key));
      if (s.params.has("check")) {
        checkRef(s.markOf("check"), "check", "check", s.params.str("check"), names(c.checks));
      }
      return s;
    };
    auto checkOf = [](const SectionValues& s) {
      return s.params.has("check") ? s.params.str("check") : std::string();
    };
    SectionValues lat = sub("latency", "components.<name>.triggers.latency");
    c.triggers.latency = {lat.params.flag("enabled"), lat.params.duration("above"),
                          lat.params.duration("for"), checkOf(lat)};
    SectionValues err = sub("error_rate", "components.<name>.triggers.error_rate");
    c.triggers.error_rate = {err.params.flag("enabled"), err.params.number("above"),
                             err.params.duration("window"),
                             static_cast<int>(err.params.integer("min_samples")), checkOf(err)};
    for (auto [key, target] : {std::pair{"cpu", &c.triggers.cpu}, {"memory", &c.triggers.memory}}) {
      SectionValues u = sub(key, "components.<name>.triggers.<cpu|memory>");
      *target = {u.params.flag("enabled"), u.params.number("above"), u.params.duration("for"),
                 checkOf(u)};
    }
    c.triggers.network_partition = v.params.flag("network_partition");
    c.triggers.data_corruption = v.params.flag("data_corruption");
  }

  void readDamping(ComponentConfig& c, const SectionValues& v) {
    FlapDamping& d = c.flap_damping;
    d = {v.params.flag("enabled"),          v.params.number("penalty"),
         v.params.number("suppress_above"), v.params.number("reuse_below"),
         v.params.duration("half_life"),    v.params.duration("max_suppress")};
    if (d.reuse_below >= d.suppress_above) {
      ctx_.diag.error(v.markOf("reuse_below"),
                      fmt::format("reuse_below: {:g} must be below suppress_above {:g}",
                                  d.reuse_below, d.suppress_above));
    }
  }

  // {old_primary.K}/{new_primary.K} in a plan: every member of every component that runs it
  // has K (a plan run by a component without members cannot fill them).
  void checkPlanMembers(const Config& cfg) {
    std::vector<std::pair<const ComponentConfig*, std::string>> runs;  // component, plan
    for (const ComponentConfig& c : cfg.components) {
      runs.emplace_back(&c, c.plan);
      runs.emplace_back(&c, c.self_fence);  // {old_primary.*}: the member on this host
    }
    // A drill's plans are run with the roles of the scenario's component.
    for (const DrillScenario& d : cfg.drill) {
      const ComponentConfig* c = cfg.findComponent(d.component);
      if (c == nullptr) continue;
      for (const std::string* p : {&d.inject, &d.verify, &d.restore, &d.mid_failover})
        runs.emplace_back(c, *p);
    }
    std::set<std::pair<std::string, std::string>> seen;
    for (const auto& [cp, name] : runs) {
      const ComponentConfig& c = *cp;
      const PlanConfig* plan = name.empty() ? nullptr : cfg.findPlan(name);
      if (plan == nullptr || !seen.emplace(c.name, name).second) continue;
      for (const auto& use : detail::memberKeysUsed(*plan)) {
        if (use.key == "epoch" && !c.members.empty()) continue;
        YAML::Mark at;
        at.line = use.step->where.line - 1;
        at.column = use.step->where.column - 1;
        if (c.members.empty()) {
          ctx_.diag.error(at, fmt::format("plans.{}.{}: {} needs members, and "
                                          "component {} (which runs this plan) has none",
                                          plan->name, use.step->name,
                                          use.key == "epoch" ? "{epoch}"
                                                             : "{*_primary." + use.key + "}",
                                          c.name));
          continue;
        }
        for (const MemberConfig& m : c.members) {
          if (m.values.count(use.key)) continue;
          ctx_.diag.error(at, fmt::format("plans.{}.{}: {{*_primary.{}}}: member {} of {} has "
                                          "no '{}'",
                                          plan->name, use.step->name, use.key, m.name, c.name,
                                          use.key));
        }
      }
    }
  }

  void readSystem(Config& cfg, const SectionValues& v) {
    cfg.system.min_failed_components = static_cast<int>(v.params.integer("min_failed_components"));
    cfg.system.window = v.params.duration("window");
    if (v.params.has("plan")) {
      cfg.system.plan = v.params.str("plan");
      checkRef(v.markOf("plan"), "plan", "plan", cfg.system.plan, names(cfg.plans));
    }
  }

  PlanConfig readPlan(const std::string& name, const YAML::Mark& mark, const YAML::Node& node) {
    const std::string where = dot("plans", name);
    SectionValues v = detail::readSection(ctx_, node, mark, where, specs("plans.<name>"));
    PlanConfig p;
    p.name = name;
    p.where = locationOf(mark);
    if (v.params.has("description")) p.description = v.params.str("description");
    const YAML::Node steps = v.child("steps");
    if (v.present("steps") && steps.IsSequence() && steps.size() == 0) {
      ctx_.diag.error(v.markOf("steps"), where + ".steps: define at least one step");
    }
    if (!steps.IsSequence()) return p;
    std::map<std::string, int> stepNames;
    for (std::size_t i = 0; i < steps.size(); ++i) {
      const YAML::Node step = steps[i];
      const std::string stepWhere = fmt::format("{}.steps[{}]", where, i + 1);
      StepConfig s = readStep(step, stepWhere, i);
      if (!stepNames.emplace(s.name, static_cast<int>(i)).second) {
        ctx_.diag.error(step.Mark(),
                        fmt::format("{}: duplicate step name '{}'", stepWhere, s.name));
      }
      p.steps.push_back(std::move(s));
    }
    return p;
  }

  StepConfig readStep(const YAML::Node& node, const std::string& where, std::size_t index) {
    auto [v, kind] =
        readTyped(node, node.Mark(), where, "plans.<name>.steps[]", "action", "action");
    StepConfig s;
    s.where = locationOf(node.Mark());
    if (kind) s.action = std::string(kind->type);
    s.name =
        v.params.has("name") ? v.params.str("name") : fmt::format("{}-{}", s.action, index + 1);
    if (v.params.has("description")) s.description = v.params.str("description");
    s.timeout = v.params.duration("timeout");
    s.retries = static_cast<int>(v.params.integer("retries"));
    s.backoff = v.params.duration("backoff");
    s.on_failure = enumFrom<OnFailure>(v.params.str("on_failure"), kOnFailure);
    s.params = std::move(v.params);
    return s;
  }

  void readDrill(Config& cfg, const SectionValues& v) {
    if (v.params.has("netns")) {
      cfg.drill_options.netns = v.params.str("netns");
      static const std::regex nsName("[A-Za-z0-9_][A-Za-z0-9_.-]*");
      if (!std::regex_match(cfg.drill_options.netns, nsName)) {
        ctx_.diag.error(v.markOf("netns"),
                        fmt::format("netns: '{}' is not a network namespace's name (as `ip "
                                    "netns` names them, in /run/netns)",
                                    cfg.drill_options.netns));
      }
    }
    if (v.params.has("histories")) {
      cfg.drill_options.histories = v.params.list("histories");
      for (const auto& path : cfg.drill_options.histories) {
        if (!path.starts_with("/")) {
          ctx_.diag.error(v.markOf("histories"),
                          fmt::format("histories: '{}' is not an absolute path", path));
        }
      }
    }
    forEachNamed(
        v, "scenarios",
        [&](auto& name, auto& mark, auto& node) {
          SectionValues s = detail::readSection(ctx_, node, mark, dot("drill.scenarios", name),
                                                specs("drill.scenarios.<name>"));
          DrillScenario d;
          d.name = name;
          const auto& p = s.params;
          if (p.has("description")) d.description = p.str("description");
          if (p.has("component")) {
            d.component = p.str("component");
            checkRef(s.markOf("component"), "component", "component", d.component,
                     names(cfg.components));
          }
          for (auto [key, target] : {std::pair{"inject", &d.inject}, {"restore", &d.restore},
                                     {"verify", &d.verify}, {"mid_failover", &d.mid_failover}}) {
            if (!p.has(key)) continue;
            *target = p.str(key);
            checkRef(s.markOf(key), key, "plan", *target, names(cfg.plans));
          }
          d.expect_failover = p.flag("expect_failover");
          d.maintenance = p.flag("maintenance");
          if (p.has("fault_for")) d.fault_for = p.duration("fault_for");
          d.timeout = p.duration("timeout");
          d.observe = p.duration("observe");
          d.rounds = static_cast<int>(p.integer("rounds"));
          d.calm = p.str("calm") == "no_failover" ? DrillScenario::Calm::NoFailover
                                                  : DrillScenario::Calm::NoTrigger;
          if (d.calm == DrillScenario::Calm::NoFailover && d.expect_failover) {
            ctx_.diag.error(s.markOf("calm"),
                            "calm: only for a scenario that expects no failover "
                            "(expect_failover: false)");
          }
          if (!d.mid_failover.empty() && !d.expect_failover) {
            ctx_.diag.error(s.markOf("mid_failover"),
                            "mid_failover: needs a failover (expect_failover: true)");
          }
          if (d.rounds > 1 && (!d.expect_failover || d.maintenance || d.fault_for)) {
            ctx_.diag.error(s.markOf("rounds"),
                            "rounds: only a scenario that fails over may run in rounds");
          }
          cfg.drill.push_back(std::move(d));
        },
        "drill.scenarios");
  }

  void readAlerts(Config& cfg, const SectionValues& v) {
    AlertingConfig& a = cfg.alerts;
    a.queue_limit = static_cast<int>(v.params.integer("queue_limit"));
    a.max_in_flight = static_cast<int>(v.params.integer("max_in_flight"));
    a.initial_backoff = v.params.duration("initial_backoff");
    a.max_backoff = v.params.duration("max_backoff");
    a.deadline = v.params.duration("deadline");
    a.group_window = v.params.duration("group_window");
    if (a.max_backoff < a.initial_backoff) {
      ctx_.diag.error(
          v.markOf("max_backoff"),
          fmt::format("max_backoff: {} is shorter than initial_backoff {}",
                      formatDuration(a.max_backoff), formatDuration(a.initial_backoff)));
    }
    forEachNamed(
        v, "channels",
        [&](auto& name, auto& mark, auto& node) {
          const std::string where = dot("alerts.channels", name);
          auto [cv, kind] =
              readTyped(node, mark, where, "alerts.channels.<name>", "channel", "type");
          ChannelConfig ch;
          ch.name = name;
          ch.where = locationOf(mark);
          if (kind) {
            ch.type = std::string(kind->type);
            ch.min_severity = enumFrom<Severity>(cv.params.str("min_severity"), kSeverities);
          }
          ch.params = std::move(cv.params);
          a.channels.push_back(std::move(ch));
        },
        "alerts.channels");
  }

  void readCoordination(Config& cfg, const SectionValues& v) {
    CoordinationConfig& c = cfg.coordination;
    c.type = v.params.str("type");
    if (v.params.has("endpoints")) c.endpoints = v.params.list("endpoints");
    c.lease_ttl = v.params.duration("lease_ttl");
    c.key_prefix = v.params.str("key_prefix");
    c.cluster = v.params.str("cluster");
    if (v.params.has("username")) c.username = v.params.str("username");
    if (v.params.has("password")) c.password = v.params.secret("password");
    c.tls_verify = v.params.flag("tls_verify");
    if (v.params.has("ca_file")) c.ca_file = v.params.str("ca_file");
    if (v.params.has("cert_file")) c.cert_file = v.params.str("cert_file");
    if (v.params.has("key_file")) c.key_file = v.params.str("key_file");
    if (c.cert_file.empty() != c.key_file.empty()) {
      ctx_.diag.error(v.markOf(c.cert_file.empty() ? "key_file" : "cert_file"),
                      "cert_file and key_file go together (a client certificate and its key)");
    }
    if (c.type == "etcd" && c.endpoints.empty()) {
      ctx_.diag.error(v.owner, "coordination: type etcd needs endpoints");
    }
    if (c.lease_ttl % std::chrono::seconds(1) != Duration::zero()) {
      ctx_.diag.error(v.markOf("lease_ttl"),
                      fmt::format("lease_ttl: {} - etcd grants leases in whole seconds",
                                  formatDuration(c.lease_ttl)));
    }
    c.self_fence_after = v.params.has("self_fence_after")
                             ? v.params.duration("self_fence_after")
                             : defaultSelfFenceAfter(c.lease_ttl);
    c.self_fence_after_where = locationOf(v.present("self_fence_after")
                                              ? v.markOf("self_fence_after")
                                              : v.owner);
    if (c.type == "etcd") checkStepsFitTheLease(cfg);
    detail::checkPartitionRules(ctx_, cfg);
  }

  // The leader starts a step attempt only while its lease outlasts the attempt's deadline
  // (docs/coordination.md): a step longer than the lease's guaranteed window never runs.
  // Only the plans a daemon runs (components' and the system tier's); a drill's inject and
  // restore plans are the drill's, run by no leader.
  void checkStepsFitTheLease(const Config& cfg) {
    const Duration window = leaseWindow(cfg.coordination.lease_ttl);
    std::set<std::string, std::less<>> run;
    for (const ComponentConfig& c : cfg.components) run.insert(c.plan);
    run.insert(cfg.system.plan);
    for (const PlanConfig& p : cfg.plans) {
      if (!run.count(p.name)) continue;
      for (const StepConfig& s : p.steps) {
        if (s.timeout <= window) continue;
        YAML::Mark at;
        at.line = s.where.line - 1;
        at.column = s.where.column - 1;
        ctx_.diag.error(at, fmt::format("plans.{}.{}: timeout {} is longer than the {} a leader "
                                        "can always promise with coordination.lease_ttl {}; "
                                        "shorten the step or lengthen lease_ttl",
                                        p.name, s.name, formatDuration(s.timeout),
                                        formatDuration(window),
                                        formatDuration(cfg.coordination.lease_ttl)));
      }
    }
  }

  void readControlApi(Config& cfg, const SectionValues& v) {
    ControlApiConfig& c = cfg.control_api;
    c.enabled = v.params.flag("enabled");
    c.listen = v.params.str("listen");
    c.socket = v.params.str("socket");
    if (c.listen == "off") c.listen.clear();
    if (c.socket == "off") c.socket.clear();
    if (v.params.has("token")) c.token = v.params.secret("token");
    c.allow_remote = v.params.flag("allow_remote");
    if (!c.allow_remote && !c.listen.empty() && !detail::isLocalListenAddress(c.listen)) {
      ctx_.diag.error(v.markOf("listen"),
                      fmt::format("listen: '{}' is not loopback; set allow_remote: true (with a "
                                  "token) to expose the control API",
                                  c.listen));
    }
    if (c.allow_remote && !c.token) {
      ctx_.diag.error(v.markOf("allow_remote"), "allow_remote: a remote control API needs a token");
    }
  }

  ReaderContext& ctx_;
};

std::optional<std::string> processEnv(const std::string& name) {
  const char* value = std::getenv(name.c_str());
  if (value == nullptr) return std::nullopt;
  return std::string(value);
}

}  // namespace

std::string ConfigError::format() const {
  return fmt::format("{}:{}:{}: {}", file, line, column, message);
}

LoadResult loadConfigString(std::string_view yaml, const std::string& path,
                            const LoadOptions& options) {
  detail::Diagnostics diag(path);
  LoadResult result;
  YAML::Node root;
  try {
    root = YAML::Load(std::string(yaml));
  } catch (const YAML::Exception& e) {
    diag.error(e.mark, "YAML syntax error: " + e.msg);
    result.errors = diag.take();
    return result;
  }
  if (!root.IsMap()) {
    diag.error(root.Mark(), "config: expected a map at top level, got " + detail::describe(root));
    result.errors = diag.take();
    return result;
  }
  std::filesystem::path base = std::filesystem::path(path).parent_path();
  ReaderContext ctx{diag, options.env ? options.env : EnvLookup(processEnv), base};
  Config cfg = Builder(ctx).build(root);
  cfg.source_path = path;
  result.errors = diag.take();
  if (result.errors.empty()) result.config = std::make_shared<const Config>(std::move(cfg));
  return result;
}

LoadResult loadConfigFile(const std::string& path, const LoadOptions& options) {
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    LoadResult r;
    r.errors.push_back({path, 1, 1, fmt::format("cannot read config: {}", std::strerror(errno))});
    return r;
  }
  std::ostringstream text;
  text << in.rdbuf();
  return loadConfigString(text.str(), path, options);
}

}  // namespace hftguard::config
