#pragma once
// `coordination: local`: the cluster state in one file, so a restarted daemon keeps the
// roles a failover gave it. Written whole (a temporary file, fsync'd, renamed, the directory
// fsync'd; mode 0640 in the state directory's group); every change is a read-modify-write
// under an exclusive lock, so the daemon and an operator's `hftguard member` never lose
// each other's change. Blocking: run it off the event loop.

#include <functional>
#include <optional>
#include <string>

#include "hftguard/coord/cluster_state.hpp"

namespace hftguard::coord {

class StateFile {
 public:
  explicit StateFile(std::string path) : path_(std::move(path)) {}
  const std::string& path() const { return path_; }
  // The state on disk; no file is an empty state. Empty optional (and why) when the file
  // cannot be read or is not a state.
  std::optional<ClusterState> read(std::string* why) const;
  // Under the lock: reads the state, lets `change` edit it and writes it back when `change`
  // returns "" (else writes nothing). Returns why nothing was written ("" on success).
  std::string update(const std::function<std::string(ClusterState&)>& change) const;

 private:
  std::string path_;
};

}  // namespace hftguard::coord
