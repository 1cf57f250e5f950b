#pragma once
// Test support: the events a daemon under test wrote to its failover_events.json.

#include <fstream>
#include <string>
#include <vector>

#include "hftguard/events/event.hpp"

namespace hftguard::testing {

// Every whole, parseable line of the file, in order.
inline std::vector<events::Event> readEvents(const std::string& path) {
  std::ifstream in(path);
  std::vector<events::Event> out;
  for (std::string line; std::getline(in, line);) {
    if (auto e = events::parseEventLine(line)) out.push_back(*e);
  }
  return out;
}

// Whether the file holds an event of `type` (a daemon is up once it recorded a component's
// first state_changed; daemon_started comes before any probe).
inline bool hasEvent(const std::string& path, const std::string& type) {
  for (const auto& e : readEvents(path)) {
    if (e.type == type) return true;
  }
  return false;
}

}  // namespace hftguard::testing
