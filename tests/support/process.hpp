#pragma once
// Test support: child processes the tests start and stop themselves, by PID.

#include <chrono>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include <netinet/in.h>
#include <sys/types.h>

namespace hftguard::testing {

struct SpawnOptions {
  std::string log_file = {};          // stdout + stderr; empty: /dev/null
  std::string run_as = {};            // user name; empty: the current user
  std::vector<std::string> env = {};  // extra NAME=VALUE entries
  // Killed (SIGKILL) when the thread that started it ends - the test process killed by a
  // timeout leaves nothing behind. Only for children started from the test's main thread.
  bool die_with_parent = false;
};

class ChildProcess {
 public:
  ChildProcess() = default;
  ChildProcess(const std::vector<std::string>& argv, const SpawnOptions& options = {});
  ~ChildProcess();
  ChildProcess(ChildProcess&& other) noexcept;
  ChildProcess& operator=(ChildProcess&& other) noexcept;

  pid_t pid() const { return pid_; }
  bool running();
  // SIGTERM, then SIGKILL after `grace`; always reaps. Returns the exit status.
  int stop(std::chrono::milliseconds grace = std::chrono::milliseconds(3000));
  void kill(int signal);
  // Waits for the process to exit by itself, at most `timeout`.
  std::optional<int> waitExit(std::chrono::milliseconds timeout);

 private:
  pid_t pid_ = -1;
  int status_ = 0;
};

// Runs a command to completion (bounded) and returns its exit status; output to log_file.
int runCommand(const std::vector<std::string>& argv, const SpawnOptions& options = {},
               std::chrono::milliseconds timeout = std::chrono::seconds(60));

// Polls `ready` every `poll` until it is true or `timeout` passes.
bool waitUntil(const std::function<bool()>& ready, std::chrono::milliseconds timeout,
               std::chrono::milliseconds poll = std::chrono::milliseconds(20));

// A free TCP port on 127.0.0.1 below the ephemeral range (32768+), so a listener never
// collides with an outgoing connection.
int freePort();

bool portOpen(int port);

// 127.0.0.1:port as a socket address.
sockaddr_in loopbackAddress(int port);
// A listening socket on a free loopback port (stored in `port`); throws when there is none.
int listenOnFreePort(int backlog, int& port);
// A TCP connection to 127.0.0.1:port, or -1.
int connectLoopback(int port);

// A temporary directory, removed on destruction; optionally owned by `owner`.
class TempDir {
 public:
  explicit TempDir(const std::string& prefix = "hftguard-test", const std::string& owner = {});
  ~TempDir();
  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

// A whole file ("" when unreadable).
std::string readFile(const std::string& path);

// Throws std::runtime_error(what), with the log file's text appended, unless `ok`.
void require(bool ok, const std::string& what, const std::string& log = {});

// "postgres" when running as root (PostgreSQL refuses root), else empty (current user).
std::string postgresUser();

}  // namespace hftguard::testing
