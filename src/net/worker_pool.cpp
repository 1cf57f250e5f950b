#include "hftguard/net/worker_pool.hpp"

#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/thread_pool.hpp>
#include <spdlog/spdlog.h>

namespace hftguard::net {
namespace asio = boost::asio;

struct WorkerPool::Impl {
  Impl(asio::io_context& context, std::size_t n) : io(context), pool(n), size(n) {}
  asio::io_context& io;
  asio::thread_pool pool;
  std::size_t size;
};

WorkerPool::WorkerPool(asio::io_context& io, std::size_t threads)
    : impl_(std::make_unique<Impl>(io, threads == 0 ? 1 : threads)) {}

WorkerPool::~WorkerPool() { impl_->pool.join(); }

void WorkerPool::submit(Job job) {
  // The guard keeps the loop's run() from returning while a job is still out.
  auto guard = asio::make_work_guard(impl_->io);
  asio::post(impl_->pool, [this, job = std::move(job), guard = std::move(guard)]() mutable {
    Continuation next;
    try {
      next = job();
    } catch (const std::exception& e) {
      spdlog::error("worker job threw: {}", e.what());
    }
    if (next) asio::post(impl_->io, std::move(next));
    guard.reset();
  });
}

std::size_t WorkerPool::threads() const { return impl_->size; }

}  // namespace hftguard::net
