# One ctest entry per integration source file, so one slow moment fails one suite, not the
# whole binary. Each entry runs the binary once with a --gtest_filter for the suites its
# file declares: the suites of one file share their servers (SetUpTestSuite) and stay in
# one process. The suite names are read from the sources at configure time; editing a
# source re-runs the configure step, and the `<prefix>coverage` entry fails if any test of
# the binary is in no entry (a macro this scan does not know, say).
#
#   hftguard_add_suite_tests(TARGET hftguard_integ PREFIX integ/ TIMEOUT 600
#                            SERIAL_DIRS integration/daemon ...)

function(hftguard_add_suite_tests)
  cmake_parse_arguments(ARG "" "TARGET;PREFIX;TIMEOUT;LABEL" "SERIAL_DIRS" ${ARGN})
  get_target_property(sources ${ARG_TARGET} SOURCES)
  set(all_patterns "")
  foreach(src IN LISTS sources)
    set(path "${CMAKE_CURRENT_SOURCE_DIR}/${src}")
    set_property(DIRECTORY APPEND PROPERTY CMAKE_CONFIGURE_DEPENDS "${path}")
    file(STRINGS "${path}" lines REGEX "^[ \t]*(TEST|TEST_F|TEST_P|TYPED_TEST|TYPED_TEST_P)\\(")
    set(suites "")
    foreach(line IN LISTS lines)
      string(REGEX REPLACE "^[ \t]*[A-Z_]+\\([ \t]*([A-Za-z0-9_]+).*" "\\1" suite "${line}")
      list(APPEND suites "${suite}")
    endforeach()
    list(REMOVE_DUPLICATES suites)
    if(NOT suites)
      continue()
    endif()
    # Suite.* and, for parameterised suites, Prefix/Suite.*
    set(patterns "")
    foreach(suite IN LISTS suites)
      list(APPEND patterns "${suite}.*" "*/${suite}.*")
    endforeach()
    list(APPEND all_patterns ${patterns})
    string(JOIN ":" filter ${patterns})
    # integration/actions/patroni_test.cpp -> integ/actions/patroni
    string(REGEX REPLACE "^[^/]+/" "" name "${src}")
    string(REGEX REPLACE "_test\\.cpp$|\\.cpp$" "" name "${name}")
    set(test_name "${ARG_PREFIX}${name}")
    add_test(NAME ${test_name} COMMAND ${ARG_TARGET} --gtest_color=no "--gtest_filter=${filter}")
    set_tests_properties(${test_name} PROPERTIES LABELS "${ARG_LABEL}" TIMEOUT ${ARG_TIMEOUT})
    foreach(dir IN LISTS ARG_SERIAL_DIRS)
      if(src MATCHES "^${dir}/")
        set_tests_properties(${test_name} PROPERTIES RUN_SERIAL TRUE)
      endif()
    endforeach()
  endforeach()
  # Lists what no entry runs; the script fails when that is not empty.
  string(JOIN ":" every ${all_patterns})
  add_test(NAME ${ARG_PREFIX}coverage
           COMMAND ${CMAKE_COMMAND} -DBINARY=$<TARGET_FILE:${ARG_TARGET}> "-DFILTER=-${every}"
                   -P ${PROJECT_SOURCE_DIR}/cmake/CheckSuiteCoverage.cmake)
  set_tests_properties(${ARG_PREFIX}coverage PROPERTIES LABELS "${ARG_LABEL}" TIMEOUT 60)
endfunction()
