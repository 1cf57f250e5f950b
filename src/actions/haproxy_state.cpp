#include "haproxy_state.hpp"

#include <sstream>
#include <vector>

namespace hftguard::actions::kinds {

std::optional<ServerState> parseState(const std::string& answer, const std::string& server) {
  std::istringstream in(answer);
  std::vector<std::string> columns;
  for (std::string line; std::getline(in, line);) {
    std::istringstream words(line);
    std::vector<std::string> w;
    for (std::string x; words >> x;) w.push_back(x);
    if (w.size() > 1 && w[0] == "#") {
      columns.assign(w.begin() + 1, w.end());
      continue;
    }
    if (columns.empty() || w.size() < columns.size()) continue;
    auto col = [&](const std::string& name) -> std::string {
      for (std::size_t i = 0; i < columns.size(); ++i) {
        if (columns[i] == name) return w[i];
      }
      return {};
    };
    if (col("srv_name") != server) continue;
    try {
      return ServerState{std::stoi(col("srv_op_state")), std::stoi(col("srv_admin_state")),
                         std::stoi(col("srv_uweight"))};
    } catch (const std::exception&) {
      return std::nullopt;
    }
  }
  return std::nullopt;
}

}  // namespace hftguard::actions::kinds
