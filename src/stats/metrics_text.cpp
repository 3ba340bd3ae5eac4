// SPDX-License-Identifier: LGPL-2.1-or-later
// Prometheus text exposition format, version 0.0.4: for each metric a # HELP
// and a # TYPE line, then its sample. Counters end in _total. Every sample is
// labelled with its element's name and mount, so several sinks in one process
// or on one server stay apart. Viewers are not exported one by
// one: a label per viewer address would make a new time series for every
// connection, which Prometheus stores for ever.
#include <glib.h>

#include "stats/stats.h"

namespace mjpeghttp {

namespace {

// Label values escape backslash, double quote and newline; nothing else.
std::string escape_label_value(const std::string &value) {
  std::string escaped;
  escaped.reserve(value.size());
  for (char c : value) {
    if (c == '\\')
      escaped += "\\\\";
    else if (c == '"')
      escaped += "\\\"";
    else if (c == '\n')
      escaped += "\\n";
    else
      escaped += c;
  }
  return escaped;
}

// Each metric's HELP and TYPE once, then one sample per mount: Prometheus
// wants a family's samples together.
class Exposition {
 public:
  explicit Exposition(const std::vector<MountSnapshot> &mounts) : mounts_(mounts) {
    for (const MountSnapshot &mount : mounts)
      labels_.push_back("element=\"" + escape_label_value(mount.stats.element_name) +
                        "\",mount=\"" + escape_label_value(mount.mount) + "\"");
  }

  void counter(const char *name, const char *help, uint64_t StatsSnapshot::*field) {
    family(name, help, "counter");
    for (size_t i = 0; i < mounts_.size(); i++)
      sample(name, i, std::to_string(mounts_[i].stats.*field));
  }
  // One sample per mount and reason: the reason is a label, so a query can
  // sum over reasons or pick one.
  void counter_by_reason(const char *name, const char *help) {
    family(name, help, "counter");
    for (size_t i = 0; i < mounts_.size(); i++)
      for (size_t reason = 0; reason < kLeaveReasonsWhileServing; reason++)
        sample(name, i, std::to_string(mounts_[i].stats.viewers_left[reason]),
               leave_reason_name(static_cast<LeaveReason>(reason)));
  }
  void gauge(const char *name, const char *help, size_t StatsSnapshot::*field) {
    family(name, help, "gauge");
    for (size_t i = 0; i < mounts_.size(); i++)
      sample(name, i, std::to_string(mounts_[i].stats.*field));
  }
  void gauge(const char *name, const char *help, double StatsSnapshot::*field) {
    family(name, help, "gauge");
    for (size_t i = 0; i < mounts_.size(); i++) {
      // Not printf: an application's setlocale() would turn the point into a
      // comma, which no scraper parses.
      char number[G_ASCII_DTOSTR_BUF_SIZE];
      sample(name, i, g_ascii_formatd(number, sizeof number, "%.3f", mounts_[i].stats.*field));
    }
  }
  void gauge(const char *name, const char *help, bool StatsSnapshot::*field) {
    family(name, help, "gauge");
    for (size_t i = 0; i < mounts_.size(); i++)
      sample(name, i, mounts_[i].stats.*field ? "1" : "0");
  }
  const std::string &text() const { return text_; }

 private:
  void family(const char *name, const char *help, const char *type) {
    const std::string full = std::string("mjpeghttpsink_") + name;
    text_ += "# HELP " + full + " " + help + "\n";
    text_ += "# TYPE " + full + " " + type + "\n";
  }
  void sample(const char *name, size_t mount, const std::string &value,
              const char *reason = nullptr) {
    std::string labels = labels_[mount];
    // Reason names are fixed words that need no escaping.
    if (reason) labels += std::string(",reason=\"") + reason + "\"";
    text_ += std::string("mjpeghttpsink_") + name + "{" + labels + "} " + value + "\n";
  }

  const std::vector<MountSnapshot> &mounts_;
  std::vector<std::string> labels_;
  std::string text_;
};

}  // namespace

std::string render_metrics_text(const std::vector<MountSnapshot> &mounts) {
  Exposition out(mounts);
  out.gauge("uptime_seconds", "Seconds since the element's server started.",
            &StatsSnapshot::uptime_seconds);
  out.counter("frames_in_total", "Buffers the element received.", &StatsSnapshot::frames_in);
  out.counter("frames_rejected_total", "Buffers dropped because they were not JPEG images.",
              &StatsSnapshot::frames_rejected);
  out.counter("frames_published_total", "JPEG frames handed to the viewers.",
              &StatsSnapshot::frames_published);
  out.counter("frames_overflowed_total",
              "Frames dropped for every viewer because the fan-out fell behind (overload).",
              &StatsSnapshot::frames_overflowed);
  out.counter("frames_sent_total", "Frames written to viewers, summed over viewers.",
              &StatsSnapshot::frames_sent);
  out.counter("frames_dropped_total",
              "Frames viewers skipped because their queue was full, summed over viewers.",
              &StatsSnapshot::frames_dropped);
  out.counter("bytes_served_total", "Bytes written to stream viewers.",
              &StatsSnapshot::bytes_served);
  out.counter("viewers_total", "Stream viewers served since the server started.",
              &StatsSnapshot::viewers_total);
  out.gauge("viewers", "Stream viewers connected now.", &StatsSnapshot::viewers_now);
  out.counter_by_reason("viewers_left_total",
                        "Stream viewers that left since the server started, by why they left.");
  out.gauge("source_online",
            "1 while the source sends frames, 0 once none came for source-timeout (or none yet).",
            &StatsSnapshot::source_online);
  out.gauge("last_frame_age_seconds",
            "Seconds since the source's last frame; -1 before the first one.",
            &StatsSnapshot::last_frame_age_seconds);
  return out.text();
}

}  // namespace mjpeghttp
