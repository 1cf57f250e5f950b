#pragma once
// A few threads for libraries that block (libpqxx). Work runs there; its continuation is
// posted back to the event loop, so results are only ever handled on the loop thread.

#include <cstddef>
#include <functional>
#include <memory>

namespace boost::asio {
class io_context;
}

namespace hftguard::net {

class WorkerPool {
 public:
  // What a job returns: the part that runs back on the loop.
  using Continuation = std::function<void()>;
  using Job = std::function<Continuation()>;

  WorkerPool(boost::asio::io_context& io, std::size_t threads);
  ~WorkerPool();  // waits for running jobs; they must be bounded by their own timeouts
  WorkerPool(const WorkerPool&) = delete;
  WorkerPool& operator=(const WorkerPool&) = delete;

  void submit(Job job);
  std::size_t threads() const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace hftguard::net
