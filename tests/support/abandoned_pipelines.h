// SPDX-License-Identifier: LGPL-2.1-or-later
// Pipelines a failed check left running. With CK_FORK=no (the TLS suites)
// a failed assertion jumps out of the test past every destructor, so its
// pipeline stays PLAYING; the next test's end (gst_task_cleanup_all) then
// waits for that pipeline's streaming task for ever, and the failure shows
// up as a timeout instead of a report. The test helpers that own a pipeline
// register it here, and every suite's teardown stops what is left.
#pragma once

#include <gst/gst.h>

namespace test_support {

// `pipeline` is running on behalf of the current test (no reference taken).
void track_pipeline(GstElement *pipeline);
// Its owner stopped it and is releasing it.
void untrack_pipeline(GstElement *pipeline);
// The check teardown: sets every pipeline still tracked to NULL (they are
// leaked, as their owners' destructors never ran) and forgets them.
void stop_abandoned_pipelines();

}  // namespace test_support
