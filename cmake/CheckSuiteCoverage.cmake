# cmake -DBINARY=... -DFILTER=-A.*:B.* -P CheckSuiteCoverage.cmake
# Fails when the gtest binary has a test that the negative FILTER (every ctest entry's
# suites) leaves in: a test no ctest entry would run.
execute_process(COMMAND ${BINARY} --gtest_list_tests "--gtest_filter=${FILTER}"
                OUTPUT_VARIABLE listed RESULT_VARIABLE rc)
if(NOT rc EQUAL 0)
  message(FATAL_ERROR "${BINARY} --gtest_list_tests failed (${rc})")
endif()
string(REGEX REPLACE "Running main\\(\\) from [^\n]*\n?" "" listed "${listed}")
string(STRIP "${listed}" listed)
if(NOT listed STREQUAL "")
  message(FATAL_ERROR "tests that no ctest entry runs (see cmake/IntegrationSuites.cmake):\n"
                      "${listed}")
endif()
message(STATUS "every test of ${BINARY} belongs to a ctest entry")
