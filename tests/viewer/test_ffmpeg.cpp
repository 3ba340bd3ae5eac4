// SPDX-License-Identifier: LGPL-2.1-or-later
// ffmpeg as the viewer of what the per-viewer options produce: it reads a
// stream whose parts have no Content-Length (advance-headers), and decodes
// frames that came without Huffman tables and were served with the standard
// ones inserted. Skipped (exit 77) where ffmpeg is not installed.
#include <unistd.h>

// Before gstcheck.h, whose fail() macro would rewrite std::ios::fail()
// (so clang-format must not sort them).
// clang-format off
#include <fstream>

#include <gst/check/gstcheck.h>
// clang-format on

#include "check_suite.h"
#include "jpeg_segments.h"
#include "sink_pipeline.h"
#include "soup_client.h"
#include "stream_client.h"
#include "viewer_support.h"

using namespace test_support;
using namespace viewer_test;

namespace {

constexpr int kFfmpegLimitMs = 60000;
constexpr int kFrames = 5;

// Keeps a live pace: one frame, then a frame interval's pause.
void feed_one_frame(SinkPipeline &pipeline, const Bytes &frame) {
  fail_unless(pipeline.push_jpeg(frame));
  g_usleep(30 * 1000);
}

std::string last_progress_value(const std::string &progress, const std::string &key) {
  std::string value;
  size_t at = 0;
  const std::string needle = key + "=";
  while ((at = progress.find(needle, at)) != std::string::npos) {
    if (at == 0 || progress[at - 1] == '\n') {
      const size_t end = progress.find('\n', at);
      value = progress.substr(at + needle.size(),
                              end == std::string::npos ? end : end - at - needle.size());
    }
    at += needle.size();
  }
  return value;
}

}  // namespace

GST_START_TEST(test_ffmpeg_reads_advance_headers_stream) {
  SinkPipeline pipeline;
  g_object_set(pipeline.sink(), "advance-headers", TRUE, nullptr);
  fail_unless(pipeline.play());
  const Bytes frame = distinct_jpegs(1).at(0);
  fail_unless(pipeline.push_jpeg(frame));
  const std::string url = "http://127.0.0.1:" + std::to_string(pipeline.port()) + "/stream";
  const ProcessResult result =
      run_process({find_program("ffmpeg"), "-nostdin", "-hide_banner", "-v", "error", "-i", url,
                   "-frames:v", std::to_string(kFrames), "-f", "null", "-progress", "pipe:1", "-"},
                  kFfmpegLimitMs, [&] { feed_one_frame(pipeline, frame); });
  fail_unless(result.exited, "ffmpeg did not finish within %d ms: %s", kFfmpegLimitMs,
              result.err.c_str());
  fail_unless_equals_int(result.exit_status, 0);
  // Named: the check macro reads its arguments after a temporary would be gone.
  const std::string progress = last_progress_value(result.out, "progress");
  const std::string frames = last_progress_value(result.out, "frame");
  const std::string expected_frames = std::to_string(kFrames);
  fail_unless_equals_string(progress.c_str(), "end");
  fail_unless_equals_string(frames.c_str(), expected_frames.c_str());
}
GST_END_TEST;

// The snapshot of a frame stripped of its tables decodes without complaint
// (-v error prints nothing) to a 160x120 picture: 160 * 120 * 3 bytes of RGB.
GST_START_TEST(test_ffmpeg_decodes_frame_with_inserted_tables) {
  const Bytes stripped = strip_dht(encode_jpegs(1, "smpte").at(0));
  fail_unless(!stripped.empty() && dht_segments(stripped).empty());
  SinkPipeline pipeline;
  fail_unless(pipeline.play());
  fail_unless(pipeline.push_jpeg(stripped));
  SoupReply snapshot = soup_fetch(pipeline.port(), "GET", "/snapshot");
  fail_unless_equals_int(snapshot.status, 200);
  fail_unless_equals_int(dht_segments(snapshot.body).size(), 1);

  const std::string input = temporary_path(".jpg");
  const std::string output = temporary_path(".rgb");
  {
    std::ofstream file(input, std::ios::binary);
    file << snapshot.body;
  }
  const ProcessResult result =
      run_process({find_program("ffmpeg"), "-nostdin", "-hide_banner", "-v", "error", "-y", "-i",
                   input, "-f", "rawvideo", "-pix_fmt", "rgb24", output},
                  kFfmpegLimitMs);
  std::ifstream decoded(output, std::ios::binary | std::ios::ate);
  const long long decoded_size = decoded ? static_cast<long long>(decoded.tellg()) : -1;
  unlink(input.c_str());
  unlink(output.c_str());
  fail_unless(result.exited && result.exit_status == 0, "ffmpeg failed: %s", result.err.c_str());
  fail_unless(result.err.empty(), "ffmpeg complained: %s", result.err.c_str());
  fail_unless_equals_int(decoded_size, 160 * 120 * 3);

  // ffprobe reads the dimensions from the served frame itself.
  const std::string ffprobe = find_program("ffprobe");
  if (!ffprobe.empty()) {
    const std::string url = "http://127.0.0.1:" + std::to_string(pipeline.port()) + "/snapshot";
    const ProcessResult probe =
        run_process({ffprobe, "-v", "error", "-show_entries", "stream=codec_name,width,height",
                     "-of", "default=noprint_wrappers=1", url},
                    kFfmpegLimitMs);
    fail_unless(probe.exited && probe.exit_status == 0, "ffprobe failed: %s", probe.err.c_str());
    fail_unless_equals_string(probe.out.c_str(), "codec_name=mjpeg\nwidth=160\nheight=120\n");
  }
}
GST_END_TEST;

static Suite *viewer_ffmpeg_suite(void) {
  return test_support::single_case_suite(
      "mjpeghttpsink-ffmpeg", "ffmpeg",
      {NAMED_TEST(test_ffmpeg_reads_advance_headers_stream),
       NAMED_TEST(test_ffmpeg_decodes_frame_with_inserted_tables)});
}

int main(int argc, char **argv) {
  // Meson reports exit status 77 as a skip.
  if (find_program("ffmpeg").empty()) {
    g_print("SKIP: ffmpeg is not installed (apt-get install ffmpeg)\n");
    return 77;
  }
  gst_check_init(&argc, &argv);
  return gst_check_run_suite(viewer_ffmpeg_suite(), "viewer_ffmpeg", __FILE__);
}
