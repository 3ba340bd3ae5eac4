// SPDX-License-Identifier: LGPL-2.1-or-later
// State cycles with viewers attached leave nothing behind: no fd, no thread,
// and, by GStreamer's own leaks tracer, no GstBuffer, GstMemory or GstObject.
#include <gst/check/gstcheck.h>

#include <map>
#include <memory>
#include <set>
#include <string>

#include "await.h"
#include "check_suite.h"
#include "sink_pipeline.h"
#include "stream_client.h"

using namespace test_support;

namespace {

GstTracer *leaks_tracer() {
  GList *tracers = gst_tracing_get_active_tracers();
  GstTracer *found = nullptr;
  for (GList *l = tracers; l; l = l->next) {
    if (!found && g_str_equal(G_OBJECT_TYPE_NAME(l->data), "GstLeaksTracer"))
      found = GST_TRACER(gst_object_ref(l->data));
  }
  g_list_free_full(tracers, gst_object_unref);
  return found;
}

using ObjectSet = std::multiset<std::pair<std::string, std::string>>;

// Updates `alive` (type name, address) with what the leaks tracer saw created
// and freed since its last checkpoint. The activity API holds no references;
// the 1.22 "get-live-objects" structure holds objects it does not own and
// cannot be freed safely.
void apply_checkpoint(GstTracer *tracer, ObjectSet &alive) {
  GstStructure *info = nullptr;
  g_signal_emit_by_name(tracer, "activity-get-checkpoint", &info);
  if (!info) return;
  auto entries = [&](const char *field) {
    ObjectSet found;
    const GValue *list = gst_structure_get_value(info, field);
    for (guint i = 0; list && i < gst_value_list_get_size(list); i++) {
      const GstStructure *entry = gst_value_get_structure(gst_value_list_get_value(list, i));
      const gchar *type = gst_structure_get_string(entry, "type-name");
      gchar *address = gst_value_serialize(gst_structure_get_value(entry, "address"));
      found.insert({type ? type : "?", address ? address : "?"});
      g_free(address);
    }
    return found;
  };
  for (const auto &created : entries("objects-created-list")) alive.insert(created);
  for (const auto &freed : entries("objects-removed-list")) {
    auto it = alive.find(freed);
    if (it != alive.end()) alive.erase(it);
  }
  gst_structure_free(info);
}

std::map<std::string, int> by_type(const ObjectSet &objects) {
  std::map<std::string, int> counts;
  for (const auto &object : objects) counts[object.first]++;
  return counts;
}

std::string describe(const std::map<std::string, int> &counts) {
  std::string text;
  for (const auto &[type, count] : counts) text += type + " x" + std::to_string(count) + "; ";
  return text;
}

// One PLAYING->NULL cycle with two viewers connected when the stop comes.
void cycle_with_viewers(SinkPipeline &pipeline, const Bytes &jpeg) {
  fail_unless(pipeline.play());
  RawViewer first(pipeline.port());
  RawViewer second(pipeline.port());
  fail_unless(first.streaming() && second.streaming());
  fail_unless(pipeline.await_num_clients(2));
  fail_unless(pipeline.push_jpeg(jpeg));
  fail_unless(first.await_parts(1), "%s", first.detail().c_str());
  fail_unless(second.await_parts(1), "%s", second.detail().c_str());
  pipeline.stop();
  // Nothing reads this pipeline's bus: its messages (and the objects they
  // hold) would pile up and read as leaks.
  for (GstMessage *message : pipeline.take_messages(GST_MESSAGE_ANY)) gst_message_unref(message);
}

}  // namespace

GST_START_TEST(test_state_cycles_with_viewers_leak_nothing) {
  std::unique_ptr<GstTracer, decltype(&gst_object_unref)> tracer(leaks_tracer(), &gst_object_unref);
  fail_unless(tracer != nullptr, "the leaks tracer is not active (GST_TRACERS=leaks)");
  const std::vector<Bytes> frames = distinct_jpegs(1);
  fail_unless_equals_int(frames.size(), 1);
  SinkPipeline pipeline;
  // The first cycle creates what GStreamer and GLib keep for good (task
  // pool threads, caches): it sets the baseline.
  cycle_with_viewers(pipeline, frames[0]);
  g_signal_emit_by_name(tracer.get(), "activity-start-tracking");
  const int fds_before = count_open_fds();
  const int threads_before = count_threads();

  constexpr int kCycles = 100;
  for (int i = 0; i < kCycles; i++) cycle_with_viewers(pipeline, frames[0]);

  const bool settled = await_condition(
      [&] { return count_open_fds() <= fds_before && count_threads() <= threads_before; });
  fail_unless(settled, "after %d cycles: %d fds (baseline %d), %d threads (baseline %d)", kCycles,
              count_open_fds(), fds_before, count_threads(), threads_before);
  // A pad task's last reference is dropped by its pooled thread a moment
  // after the pad stopped it: await the count, bounded, rather than sample it.
  ObjectSet alive;
  await_condition([&] {
    apply_checkpoint(tracer.get(), alive);
    return alive.empty();
  });
  g_signal_emit_by_name(tracer.get(), "activity-stop-tracking");
  fail_unless(alive.empty(), "objects created during %d cycles still alive: %s", kCycles,
              describe(by_type(alive)).c_str());
}
GST_END_TEST;

static Suite *element_leaks_suite(void) {
  return test_support::single_case_suite("mjpeghttpsink-leaks", "leaks",
                                         {NAMED_TEST(test_state_cycles_with_viewers_leak_nothing)},
                                         120);
}

int main(int argc, char **argv) {
  // Before gst_init: tracers are set up from the environment at init.
  g_setenv("GST_TRACERS", "leaks", TRUE);
  gst_check_init(&argc, &argv);
  Suite *suite = element_leaks_suite();
  SRunner *runner = srunner_create(suite);
  srunner_run_all(runner, CK_NORMAL);
  const int failed = srunner_ntests_failed(runner);
  srunner_free(runner);
  return failed == 0 ? 0 : 1;
}
