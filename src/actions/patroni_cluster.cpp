#include "patroni_cluster.hpp"

#include <nlohmann/json.hpp>

namespace hftguard::actions::kinds {
namespace {

using nlohmann::json;

std::optional<Cluster> parseClusterOrThrow(const std::string& body, std::string& why) {
  const json doc = json::parse(body, nullptr, false);
  if (doc.is_discarded() || !doc.is_object() || !doc.contains("members") ||
      !doc["members"].is_array()) {
    why = "/cluster did not answer a JSON object with members";
    return std::nullopt;
  }
  Cluster c;
  c.paused = doc.value("pause", false);
  for (const auto& m : doc["members"]) {
    if (!m.is_object()) continue;
    Member x;
    x.name = m.value("name", "");
    x.role = m.value("role", "");
    x.state = m.value("state", "");
    x.api = apiBase(m.value("api_url", ""));
    x.host = m.value("host", "");
    if (m.contains("port") && m["port"].is_number_integer()) x.port = m["port"].get<std::int64_t>();
    if (m.contains("lag") && m["lag"].is_number_integer()) x.lag = m["lag"].get<std::int64_t>();
    if (m.contains("tags") && m["tags"].is_object()) {
      x.nofailover = m["tags"].value("nofailover", false);
    }
    if (!x.name.empty()) c.members.push_back(std::move(x));
  }
  return c;
}

}  // namespace

std::string apiBase(std::string url) {
  const auto scheme = url.find("://");
  const auto path = url.find('/', scheme == std::string::npos ? 0 : scheme + 3);
  return path == std::string::npos ? url : url.substr(0, path);
}

std::optional<Cluster> parseCluster(const std::string& body, std::string& why) {
  try {
    return parseClusterOrThrow(body, why);
  } catch (const json::exception& e) {
    why = std::string("/cluster answered malformed JSON: ") + e.what();
    return std::nullopt;
  }
}

}  // namespace hftguard::actions::kinds
