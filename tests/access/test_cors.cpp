#include <gst/check/gstcheck.h>
GST_START_TEST(test_placeholder) {}
GST_END_TEST;
static Suite *access_cors_suite() {
  Suite *suite = suite_create("access-cors");
  TCase *cases = tcase_create("cors");
  tcase_add_test(cases, test_placeholder);
  suite_add_tcase(suite, cases);
  return suite;
}
GST_CHECK_MAIN(access_cors);
