// The hftguard binary: every subcommand lives in src/cli/.
#include "hftguard/cli/cli.hpp"

int main(int argc, char** argv) { return hftguard::cli::main(argc, argv); }
