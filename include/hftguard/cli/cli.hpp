#pragma once
// The command line: `hftguard <command> [options]`. Exit codes: 0 success, 1 the command
// failed (invalid config, failed check...), 2 usage error.

#include <iosfwd>
#include <string>
#include <vector>

namespace hftguard::cli {

int main(int argc, char** argv);

// The same, with arguments (without the program name) and streams given: for tests.
int run(const std::vector<std::string>& args, std::ostream& out, std::ostream& err);

}  // namespace hftguard::cli
