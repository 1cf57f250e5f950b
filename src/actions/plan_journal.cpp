#include "hftguard/actions/plan_journal.hpp"

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>

#include <fcntl.h>
#include <nlohmann/json.hpp>
#include <sys/stat.h>
#include <unistd.h>

#include "hftguard/core/durable_file.hpp"

namespace hftguard::actions {
namespace {

bool fail(std::string* error, const std::string& what) {
  if (error != nullptr) *error = what + ": " + std::strerror(errno);
  return false;
}

PlanJournal fromJson(const nlohmann::json& j, const std::string& component);

nlohmann::json toJson(const PlanJournal& j) {
  return {{"component", j.component},
          {"plan", j.plan},
          {"trigger", j.trigger},
          {"old_primary", j.old_primary},
          {"new_primary", j.new_primary},
          {"fencing_token", j.fencing_token},
          {"reason", j.reason},
          {"started", j.started},
          {"first_failure", j.first_failure},
          {"steps_done", j.steps_done},
          {"last_step", j.last_step},
          {"pid", j.pid},
          {"node", j.node},
          {"old_primary_fenced", j.old_primary_fenced},
          {"fence_failed", j.fence_failed},
          {"self_fenced", j.self_fenced},
          {"switched", j.switched},
          {"epoch", j.epoch},
          {"members", j.members},
          {"failed", j.failed}};
}

}  // namespace

std::string journalPath(const std::string& lock_dir, const std::string& component) {
  return lock_dir + "/" + component + ".plan.json";
}

bool writeJournal(const std::string& lock_dir, const PlanJournal& j, std::string* error,
                  bool durable) {
  const std::string path = journalPath(lock_dir, j.component);
  const std::string text = journalText(j) + "\n";
  return durable ? replaceFileDurably(path, text, 0600, false, error)
                 : replaceFileVisibly(path, text, 0600, false, error);
}

bool journalThere(const std::string& lock_dir, const std::string& component) {
  std::string unreadable;
  return readJournal(lock_dir, component, &unreadable).has_value() || !unreadable.empty();
}

bool syncJournal(const std::string& lock_dir, const std::string& component, std::string* error) {
  return syncReplacedFile(journalPath(lock_dir, component), error);
}

std::optional<PlanJournal> readJournal(const std::string& lock_dir, const std::string& component,
                                       std::string* error) {
  const std::string path = journalPath(lock_dir, component);
  std::ifstream in(path);
  if (!in) {
    if (errno != ENOENT) fail(error, path);
    return std::nullopt;
  }
  std::stringstream text;
  text << in.rdbuf();
  std::string why;
  auto j = parseJournal(text.str(), component, &why);
  if (!j && error != nullptr) *error = path + ": " + why;
  return j;
}

std::string journalText(const PlanJournal& j) {
  // A reason or a name from a target's garbage is replaced, never a throw.
  return toJson(j).dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

std::optional<PlanJournal> parseJournal(const std::string& text, const std::string& component,
                                        std::string* error) {
  const auto j = nlohmann::json::parse(text, nullptr, false);
  if (j.is_discarded() || !j.is_object() || !j.contains("steps_done") ||
      !j["steps_done"].is_number_unsigned()) {
    if (error != nullptr) *error = "not a plan journal";
    return std::nullopt;
  }
  try {
    return fromJson(j, component);
  } catch (const nlohmann::json::exception& e) {
    if (error != nullptr) *error = std::string("not a plan journal (") + e.what() + ")";
    return std::nullopt;
  }
}

namespace {

PlanJournal fromJson(const nlohmann::json& j, const std::string& component) {
  PlanJournal out;
  out.component = j.value("component", component);
  out.plan = j.value("plan", "");
  out.trigger = j.value("trigger", "");
  out.old_primary = j.value("old_primary", "");
  out.new_primary = j.value("new_primary", "");
  out.fencing_token = j.value("fencing_token", "");
  out.reason = j.value("reason", "");
  out.started = j.value("started", "");
  out.first_failure = j.value("first_failure", "");
  out.steps_done = j["steps_done"].get<std::size_t>();
  out.last_step = j.value("last_step", "");
  out.pid = j.value("pid", 0L);
  out.node = j.value("node", "");
  out.failed = j.value("failed", "");
  out.old_primary_fenced = j.value("old_primary_fenced", false);
  out.fence_failed = j.value("fence_failed", false);
  if (auto it = j.find("self_fenced"); it != j.end() && it->is_string()) out.self_fenced = *it;
  out.switched = j.value("switched", false);
  out.epoch = j.value("epoch", std::uint64_t{0});
  if (j.contains("members") && j["members"].is_object()) {
    out.members = j["members"].get<std::map<std::string, std::string>>();
  }
  return out;
}

}  // namespace

bool removeJournal(const std::string& lock_dir, const std::string& component, std::string* error) {
  const std::string path = journalPath(lock_dir, component);
  if (::unlink(path.c_str()) != 0) return errno == ENOENT ? true : fail(error, path);
  return syncDirectory(lock_dir, error);
}

}  // namespace hftguard::actions
