// Prometheus text exposition format, version 0.0.4: for each metric a # HELP
// and a # TYPE line, then its sample. Counters end in _total. Every sample is
// labelled with the element's name, so several sinks in one process (or one
// scrape target fronting several) stay apart. Viewers are not exported one by
// one: a label per viewer address would make a new time series for every
// connection, which Prometheus stores for ever.
#include <glib.h>

#include "stats.h"

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

class Exposition {
 public:
  explicit Exposition(const std::string &element_name)
      : labels_("{element=\"" + escape_label_value(element_name) + "\"}") {}

  void counter(const char *name, const char *help, uint64_t value) {
    family(name, help, "counter");
    text_ += std::to_string(value) + "\n";
  }
  void gauge(const char *name, const char *help, uint64_t value) {
    family(name, help, "gauge");
    text_ += std::to_string(value) + "\n";
  }
  void gauge(const char *name, const char *help, double value) {
    family(name, help, "gauge");
    // Not printf: an application's setlocale() would turn the point into a
    // comma, which no scraper parses.
    char number[G_ASCII_DTOSTR_BUF_SIZE];
    text_ += std::string(g_ascii_formatd(number, sizeof number, "%.3f", value)) + "\n";
  }
  const std::string &text() const { return text_; }

 private:
  void family(const char *name, const char *help, const char *type) {
    const std::string full = std::string("mjpeghttpsink_") + name;
    text_ += "# HELP " + full + " " + help + "\n";
    text_ += "# TYPE " + full + " " + type + "\n";
    text_ += full + labels_ + " ";
  }

  std::string labels_;
  std::string text_;
};

}  // namespace

std::string render_metrics_text(const StatsSnapshot &stats) {
  Exposition out(stats.element_name);
  out.gauge("uptime_seconds", "Seconds since the server started.", stats.uptime_seconds);
  out.counter("frames_in_total", "Buffers the element received.", stats.frames_in);
  out.counter("frames_rejected_total", "Buffers dropped because they were not JPEG images.",
              stats.frames_rejected);
  out.counter("frames_published_total", "JPEG frames handed to the viewers.",
              stats.frames_published);
  out.counter("frames_overflowed_total",
              "Frames dropped for every viewer because the fan-out fell behind (overload).",
              stats.frames_overflowed);
  out.counter("frames_sent_total", "Frames written to viewers, summed over viewers.",
              stats.frames_sent);
  out.counter("frames_dropped_total",
              "Frames viewers skipped because their queue was full, summed over viewers.",
              stats.frames_dropped);
  out.counter("bytes_served_total", "Bytes written to stream viewers.", stats.bytes_served);
  out.counter("viewers_total", "Stream viewers served since the server started.",
              stats.viewers_total);
  out.gauge("viewers", "Stream viewers connected now.", static_cast<uint64_t>(stats.viewers_now));
  return out.text();
}

}  // namespace mjpeghttp
