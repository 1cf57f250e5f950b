#pragma once
// Test support: runs (or dry-runs) one action to its result on a caller's event loop.

#include <chrono>
#include <optional>

#include <boost/asio/io_context.hpp>

#include "hftguard/actions/action.hpp"

namespace hftguard::testing {

inline actions::ActionResult runAction(boost::asio::io_context& io, actions::Action& action,
                                       bool dry_run,
                                       std::chrono::milliseconds limit = std::chrono::seconds(30)) {
  std::optional<actions::ActionResult> result;
  auto done = [&](actions::ActionResult r) { result = std::move(r); };
  dry_run ? action.check(done) : action.run(done);
  const auto until = std::chrono::steady_clock::now() + limit;
  while (!result && std::chrono::steady_clock::now() < until) {
    if (io.stopped()) io.restart();
    io.run_one_for(std::chrono::milliseconds(20));
  }
  return result.value_or(actions::ActionResult::failure("no result within the test's limit"));
}

}  // namespace hftguard::testing
