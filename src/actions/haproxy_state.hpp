#pragma once
// What the haproxy action reads back: one server's line of HAProxy's `show servers state
// BACKEND` (format version 1). Its own file so the parser is fuzzed alone (fuzz/).

#include <optional>
#include <string>

namespace hftguard::actions::kinds {

struct ServerState {
  int op_state = -1;
  int admin_state = -1;
  int weight = -1;
};

// The named server's state; nullopt when the answer has no such server or its line is
// malformed.
std::optional<ServerState> parseState(const std::string& answer, const std::string& server);

}  // namespace hftguard::actions::kinds
