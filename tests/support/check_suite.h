// SPDX-License-Identifier: LGPL-2.1-or-later
// The check suite of a test program with one test case, in one call: every
// element-level test program is a single case of named tests.
#pragma once

#include <gst/check/gstcheck.h>

#include <initializer_list>

#include "abandoned_pipelines.h"

namespace test_support {

// A test function and the name check reports it by.
struct NamedTest {
  TFun function;
  const char *name;
};

// A suite `name` holding one case `case_name` with `tests`, in order.
// `timeout_s` > 0 replaces check's default (CK_DEFAULT_TIMEOUT) for the case.
inline Suite *single_case_suite(const char *name, const char *case_name,
                                std::initializer_list<NamedTest> tests, int timeout_s = 0) {
  Suite *suite = suite_create(name);
  TCase *test_case = tcase_create(case_name);
  if (timeout_s > 0) tcase_set_timeout(test_case, timeout_s);
  // Runs after a failed check too, also without fork (see
  // abandoned_pipelines.h).
  tcase_add_checked_fixture(test_case, nullptr, stop_abandoned_pipelines);
  // What tcase_add_test() expands to, with the name passed in.
  for (const NamedTest &test : tests)
    _tcase_add_test(test_case, test.function, test.name, 0, 0, 0, 1);
  suite_add_tcase(suite, test_case);
  return suite;
}

}  // namespace test_support

// A test of a suite, with its own name for check's reports.
#define NAMED_TEST(function) \
  test_support::NamedTest { function, #function }
