#include "process.hpp"

#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <mutex>
#include <random>
#include <set>
#include <sstream>
#include <stdexcept>
#include <thread>

#include <arpa/inet.h>
#include <fcntl.h>
#include <grp.h>
#include <netinet/in.h>
#include <pwd.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <sys/prctl.h>
#include <unistd.h>

extern char** environ;

namespace hftguard::testing {

ChildProcess::ChildProcess(const std::vector<std::string>& argv, const SpawnOptions& options) {
  std::vector<char*> args;
  for (const auto& a : argv) args.push_back(const_cast<char*>(a.c_str()));
  args.push_back(nullptr);
  std::vector<std::string> envStore;
  for (char** e = environ; *e != nullptr; ++e) envStore.emplace_back(*e);
  for (const auto& e : options.env) envStore.push_back(e);
  std::vector<char*> envp;
  for (auto& e : envStore) envp.push_back(e.data());
  envp.push_back(nullptr);
  struct passwd* pw = options.run_as.empty() ? nullptr : getpwnam(options.run_as.c_str());
  if (!options.run_as.empty() && pw == nullptr)
    throw std::runtime_error("no user " + options.run_as);
  const std::string log = options.log_file.empty() ? "/dev/null" : options.log_file;
  // Group list resolved before fork: the child may only make async-signal-safe calls.
  std::vector<gid_t> groups(64);
  if (pw != nullptr) {
    int n = static_cast<int>(groups.size());
    if (getgrouplist(pw->pw_name, pw->pw_gid, groups.data(), &n) < 0) n = 0;
    groups.resize(static_cast<std::size_t>(n));
  }

  const pid_t parent = getpid();
  pid_ = fork();
  if (pid_ < 0) throw std::runtime_error("fork failed");
  if (pid_ == 0) {
    // Child: only async-signal-safe calls from here on.
    if (options.die_with_parent) {
      prctl(PR_SET_PDEATHSIG, SIGKILL);
      if (getppid() != parent) _exit(125);  // the parent died before the prctl
    }
    int fd = open(log.c_str(), O_WRONLY | O_CREAT | O_APPEND, 0644);
    if (fd >= 0) {
      dup2(fd, 1);
      dup2(fd, 2);
      close(fd);
    }
    int devnull = open("/dev/null", O_RDONLY);
    if (devnull >= 0) dup2(devnull, 0);
    // A parent that waits for signals with sigwait has them blocked; exec keeps the mask,
    // and a server with SIGTERM blocked would only stop at SIGKILL.
    sigset_t none;
    sigemptyset(&none);
    sigprocmask(SIG_SETMASK, &none, nullptr);
    if (pw != nullptr) {
      if (setgroups(groups.size(), groups.data()) != 0 || setgid(pw->pw_gid) != 0 ||
          setuid(pw->pw_uid) != 0) {
        _exit(126);
      }
    }
    execve(args[0], args.data(), envp.data());
    _exit(127);
  }
}

ChildProcess::~ChildProcess() {
  if (pid_ > 0) stop();
}

ChildProcess::ChildProcess(ChildProcess&& other) noexcept
    : pid_(other.pid_), status_(other.status_) {
  other.pid_ = -1;
}

ChildProcess& ChildProcess::operator=(ChildProcess&& other) noexcept {
  if (this != &other) {
    if (pid_ > 0) stop();
    pid_ = other.pid_;
    status_ = other.status_;
    other.pid_ = -1;
  }
  return *this;
}

bool ChildProcess::running() {
  if (pid_ <= 0) return false;
  int status = 0;
  pid_t r = waitpid(pid_, &status, WNOHANG);
  if (r == pid_) {
    status_ = status;
    pid_ = -1;
    return false;
  }
  return r == 0;
}

void ChildProcess::kill(int signal) {
  if (pid_ > 0) ::kill(pid_, signal);
}

std::optional<int> ChildProcess::waitExit(std::chrono::milliseconds timeout) {
  if (!waitUntil([&] { return !running(); }, timeout, std::chrono::milliseconds(10))) {
    return std::nullopt;
  }
  return status_;
}

int ChildProcess::stop(std::chrono::milliseconds grace) {
  if (pid_ <= 0) return status_;
  ::kill(pid_, SIGTERM);
  if (!waitExit(grace)) {
    ::kill(pid_, SIGKILL);
    int status = 0;
    waitpid(pid_, &status, 0);
    status_ = status;
    pid_ = -1;
  }
  return status_;
}

int runCommand(const std::vector<std::string>& argv, const SpawnOptions& options,
               std::chrono::milliseconds timeout) {
  ChildProcess p(argv, options);
  auto status = p.waitExit(timeout);
  if (!status) {
    p.stop(std::chrono::milliseconds(100));
    return -1;
  }
  return WIFEXITED(*status) ? WEXITSTATUS(*status) : -1;
}

bool waitUntil(const std::function<bool()>& ready, std::chrono::milliseconds timeout,
               std::chrono::milliseconds poll) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  for (;;) {
    if (ready()) return true;
    if (std::chrono::steady_clock::now() >= deadline) return false;
    std::this_thread::sleep_for(poll);
  }
}

sockaddr_in loopbackAddress(int port) {
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(static_cast<uint16_t>(port));
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  return addr;
}

int freePort() {
  static std::mt19937 rng(std::random_device{}());
  // A port handed out is not bound until its server starts: never hand it out twice.
  static std::set<int> given;
  static std::mutex guard;
  std::uniform_int_distribution<int> pick(20000, 32000);
  std::lock_guard lock(guard);
  for (int attempt = 0; attempt < 200; ++attempt) {
    const int port = pick(rng);
    if (given.count(port)) continue;
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    const sockaddr_in addr = loopbackAddress(port);
    const bool ok = bind(fd, reinterpret_cast<const sockaddr*>(&addr), sizeof addr) == 0;
    close(fd);
    if (ok) {
      given.insert(port);
      return port;
    }
  }
  throw std::runtime_error("no free port");
}

int listenOnFreePort(int backlog, int& port) {
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  int one = 1;
  setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  port = 0;
  for (int attempt = 0; attempt < 50 && port == 0; ++attempt) {
    const int candidate = freePort();
    const sockaddr_in addr = loopbackAddress(candidate);
    if (bind(fd, reinterpret_cast<const sockaddr*>(&addr), sizeof addr) == 0) port = candidate;
  }
  require(port != 0 && listen(fd, backlog) == 0, "cannot listen on a free port");
  return fd;
}

int connectLoopback(int port) {
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  const sockaddr_in addr = loopbackAddress(port);
  if (connect(fd, reinterpret_cast<const sockaddr*>(&addr), sizeof addr) == 0) return fd;
  close(fd);
  return -1;
}

bool portOpen(int port) {
  const int fd = connectLoopback(port);
  if (fd >= 0) close(fd);
  return fd >= 0;
}

TempDir::TempDir(const std::string& prefix, const std::string& owner) {
  std::string pattern = std::filesystem::temp_directory_path().string() + "/" + prefix + "-XXXXXX";
  if (mkdtemp(pattern.data()) == nullptr) throw std::runtime_error("mkdtemp failed");
  path_ = pattern;
  if (!owner.empty()) {
    if (struct passwd* pw = getpwnam(owner.c_str())) {
      if (chown(path_.c_str(), pw->pw_uid, pw->pw_gid) != 0)
        throw std::runtime_error("chown failed");
    }
  }
}

TempDir::~TempDir() {
  std::error_code ec;
  std::filesystem::remove_all(path_, ec);
}

std::string postgresUser() { return geteuid() == 0 ? "postgres" : ""; }

std::string readFile(const std::string& path) {
  std::ifstream in(path);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

void require(bool ok, const std::string& what, const std::string& log) {
  if (!ok) throw std::runtime_error(what + (log.empty() ? "" : "\n--- log ---\n" + readFile(log)));
}

}  // namespace hftguard::testing
