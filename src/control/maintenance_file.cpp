#include "hftguard/control/maintenance_file.hpp"

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>

#include <nlohmann/json.hpp>

#include "hftguard/events/event.hpp"

namespace hftguard::control {

std::optional<std::vector<MaintenanceEntry>> readMaintenance(const std::string& path,
                                                             std::string* error) {
  auto fail = [&](std::string why) -> std::optional<std::vector<MaintenanceEntry>> {
    if (error != nullptr) *error = path + ": " + why;
    return std::nullopt;
  };
  std::ifstream in(path);
  if (!in) {
    if (errno == ENOENT) return std::vector<MaintenanceEntry>{};
    return fail(std::strerror(errno));
  }
  std::stringstream text;
  text << in.rdbuf();
  nlohmann::json j = nlohmann::json::parse(text.str(), nullptr, false);
  if (j.is_discarded() || !j.is_object() || !j.contains("entries") || !j["entries"].is_array()) {
    return fail("not a maintenance file ({\"entries\": [...]})");
  }
  std::vector<MaintenanceEntry> out;
  for (const auto& e : j["entries"]) {
    if (!e.is_object()) return fail("an entry is not an object");
    MaintenanceEntry m;
    m.component = e.value("component", std::string());
    m.owner = e.value("owner", std::string());
    m.reason = e.value("reason", std::string());
    auto expires = events::parseTimestamp(e.value("expires", std::string()));
    if (!expires) return fail("an entry has no valid 'expires' time");
    m.expires = *expires;
    out.push_back(std::move(m));
  }
  return out;
}

bool writeMaintenance(const std::string& path, const std::vector<MaintenanceEntry>& entries,
                      std::string* error) {
  nlohmann::json list = nlohmann::json::array();
  for (const auto& e : entries) {
    list.push_back({{"component", e.component},
                    {"owner", e.owner},
                    {"reason", e.reason},
                    {"expires", events::formatTimestamp(e.expires)}});
  }
  std::error_code ec;
  const auto dir = std::filesystem::path(path).parent_path();
  if (!dir.empty()) std::filesystem::create_directories(dir, ec);
  const std::string tmp = path + ".tmp";
  {
    std::ofstream out(tmp, std::ios::trunc);
    out << nlohmann::json{{"entries", list}}.dump(2) << "\n";
    out.close();
    if (!out) {
      if (error != nullptr) *error = tmp + ": " + std::strerror(errno);
      return false;
    }
  }
  std::filesystem::rename(tmp, path, ec);
  if (ec && error != nullptr) *error = path + ": " + ec.message();
  return !ec;
}

}  // namespace hftguard::control
