#pragma once
// Tests only: an action kind's factory replaced by a fake (a throwing action, say), so the
// runner's handling of it can be tested without a server.

#include <functional>
#include <memory>
#include <string>

#include "hftguard/actions/action.hpp"

namespace hftguard::actions::test_hooks {

using Factory = std::function<std::unique_ptr<Action>(const config::StepConfig&, const PlanContext&,
                                                      ActionEnv&)>;

// From now on, steps of `kind` are built by `factory`; an empty factory restores the real one.
void replaceFactory(const std::string& kind, Factory factory);

}  // namespace hftguard::actions::test_hooks
