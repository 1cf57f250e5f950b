// exec: run a program with an argv list - never a shell - and a fixed environment (only
// what the step gives, nothing inherited). The hook for site tools such as IPMI fencing.
// The program runs in its own process group: at the deadline the whole group is killed
// (what it forked too), and it is reaped off the loop's critical path, never waited for.
#include <cerrno>
#include <cstring>

#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <fcntl.h>
#include <fmt/format.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include "kinds.hpp"

namespace hftguard::actions::kinds {
namespace {

// Reaps a killed child without blocking the loop: polls waitpid(WNOHANG) on a timer that
// owns itself, so it outlives the action that killed the child (no zombie is left while
// the loop runs). SIGKILL makes a child reapable within milliseconds, unless the kernel
// holds it (uninterruptible I/O): the poll then slows down to once a second.
void reapLater(boost::asio::io_context& io, pid_t pid, std::chrono::milliseconds every) {
  if (::waitpid(pid, nullptr, WNOHANG) != 0) return;  // reaped, or not our child any more
  auto timer = std::make_shared<boost::asio::steady_timer>(io, every);
  timer->async_wait([&io, pid, every, timer](boost::system::error_code ec) {
    if (ec) return;
    reapLater(io, pid, std::min<std::chrono::milliseconds>(every * 2, std::chrono::seconds(1)));
  });
}

class Exec final : public Action {
 public:
  Exec(const StepConfig& s, const PlanContext& c, ActionEnv& env)
      : step_(s), io_(env.io), timer_(env.io) {
    for (const auto& a : s.params.list("argv")) argv_.push_back(fill(a, c));
    if (s.params.has("env")) {
      for (const auto& [k, v] : s.params.map("env")) env_.push_back(k + "=" + fill(v, c));
    }
  }
  ~Exec() override { cancel(); }

  std::string describe() const override {
    std::string line;
    for (const auto& a : argv_) line += (line.empty() ? "" : " ") + a;
    return fmt::format("exec {} (expect exit {})", line, step_.params.integer("expect_exit"));
  }

  void check(Done done) override {
    done(::access(argv_.front().c_str(), X_OK) == 0
             ? ActionResult::success(argv_.front() + " is executable")
             : ActionResult::failure(fmt::format("{}: {}", argv_.front(), std::strerror(errno))));
  }

  void run(Done done) override {
    std::vector<char*> args, envp;
    for (auto& a : argv_) args.push_back(a.data());
    args.push_back(nullptr);
    for (auto& e : env_) envp.push_back(e.data());
    envp.push_back(nullptr);
    posix_spawn_file_actions_t files;
    posix_spawn_file_actions_init(&files);
    posix_spawn_file_actions_addopen(&files, 0, "/dev/null", O_RDONLY, 0);
    // Its output is a log's, never ours: stdout may be a CLI's --json document.
    posix_spawn_file_actions_adddup2(&files, 2, 1);
    // Nothing of the daemon's but stdout/stderr: not its control API's listening sockets (a
    // child that outlives a killed daemon would keep them, and the restart would find them
    // taken), not its connections.
    posix_spawn_file_actions_addclosefrom_np(&files, 3);
    posix_spawnattr_t attr;
    posix_spawnattr_init(&attr);
    posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETPGROUP);
    posix_spawnattr_setpgroup(&attr, 0);  // a group of its own, led by the program
    const int rc = posix_spawn(&pid_, args[0], &files, &attr, args.data(), envp.data());
    posix_spawnattr_destroy(&attr);
    posix_spawn_file_actions_destroy(&files);
    if (rc != 0) {
      pid_ = -1;
      return done(ActionResult::failure(
          fmt::format("cannot run {}: {}", argv_.front(), std::strerror(rc))));
    }
    poll(std::move(done));
  }

  // The deadline passed: the program and everything it started in its group are killed,
  // and reaped later. The group's id is safe to signal: the unreaped leader holds it.
  void cancel() override {
    timer_.cancel();
    if (pid_ > 0) {
      ::kill(-pid_, SIGKILL);
      reapLater(io_, pid_, std::chrono::milliseconds(1));
      pid_ = -1;
    }
  }

 private:
  void poll(Done done) {
    // Cancelled while this poll was already queued: waitpid(-1) would reap another child.
    if (pid_ <= 0) return;
    int status = 0;
    const pid_t r = ::waitpid(pid_, &status, WNOHANG);
    if (r == pid_) {
      pid_ = -1;
      const long expect = step_.params.integer("expect_exit");
      if (WIFEXITED(status) && WEXITSTATUS(status) == expect) {
        return done(ActionResult::success(fmt::format("{} exited {}", argv_.front(), expect)));
      }
      return done(ActionResult::failure(
          WIFEXITED(status)
              ? fmt::format("{} exited {}, expected {}", argv_.front(), WEXITSTATUS(status), expect)
              : fmt::format("{} killed by signal {}", argv_.front(), WTERMSIG(status))));
    }
    timer_.expires_after(std::chrono::milliseconds(10));
    timer_.async_wait([this, done = std::move(done)](boost::system::error_code ec) mutable {
      if (!ec) poll(std::move(done));
    });
  }

  const StepConfig& step_;
  boost::asio::io_context& io_;
  std::vector<std::string> argv_;
  std::vector<std::string> env_;
  boost::asio::steady_timer timer_;
  pid_t pid_ = -1;
};

}  // namespace

std::unique_ptr<Action> makeExec(const StepConfig& s, const PlanContext& c, ActionEnv& env) {
  return std::make_unique<Exec>(s, c, env);
}

}  // namespace hftguard::actions::kinds
