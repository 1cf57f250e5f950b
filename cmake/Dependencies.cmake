# Finds every library hftguard builds against. Each miss stops the configure step with the
# Debian package that provides it, so a fresh machine needs only `scripts/bootstrap`.
find_package(PkgConfig QUIET)
if(NOT PkgConfig_FOUND)
  message(FATAL_ERROR "pkg-config not found: install the Debian package 'pkg-config' (scripts/bootstrap)")
endif()

macro(hftguard_find_config name debian_package)
  find_package(${name} ${ARGN} CONFIG QUIET)
  if(NOT ${name}_FOUND)
    message(FATAL_ERROR "${name} not found: install the Debian package '${debian_package}' (scripts/bootstrap)")
  endif()
endmacro()

macro(hftguard_find_pkg target module debian_package)
  pkg_check_modules(${target} QUIET IMPORTED_TARGET ${module})
  if(NOT ${target}_FOUND)
    message(FATAL_ERROR "${module} not found by pkg-config: install the Debian package '${debian_package}' (scripts/bootstrap)")
  endif()
endmacro()

# Boost 1.81, not Debian's default 1.74: its Asio coroutine headers fail with g++ 12.
find_package(Boost 1.81 CONFIG QUIET)
if(NOT Boost_FOUND)
  message(FATAL_ERROR "Boost 1.81 not found: install the Debian package 'libboost1.81-dev' (scripts/bootstrap)")
endif()

hftguard_find_config(yaml-cpp libyaml-cpp-dev)
hftguard_find_config(fmt libfmt-dev)
hftguard_find_config(spdlog libspdlog-dev)
hftguard_find_config(nlohmann_json nlohmann-json3-dev)
# Header-only: the command line's options, positionals and per-command help.
hftguard_find_config(CLI11 libcli11-dev)

hftguard_find_pkg(PQXX libpqxx libpqxx-dev)
hftguard_find_pkg(HIREDIS hiredis libhiredis-dev)
hftguard_find_pkg(CURL libcurl libcurl4-openssl-dev)
hftguard_find_pkg(SYSTEMD libsystemd libsystemd-dev)

if(HFTGUARD_BUILD_TESTS)
  hftguard_find_config(GTest "libgtest-dev and libgmock-dev")
endif()
if(HFTGUARD_BUILD_BENCH)
  hftguard_find_config(benchmark libbenchmark-dev)
endif()
