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

}  // namespace hftguard::testing
