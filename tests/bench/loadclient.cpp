// SPDX-License-Identifier: LGPL-2.1-or-later
// Benchmark load client: N concurrent MJPEG viewers in one process, one
// thread, non-blocking sockets on epoll. Measures one server process for one
// case and prints the result as one JSON object on stdout.
//
//   loadclient --port P --mode http|raw [--path /stream] [--boundary B (raw)]
//              --viewers N [--connect-rate PER_S (0 = all at once)]
//              [--slow K --slow-rate BYTES_PER_S --slow-rcvbuf BYTES]
//              --warmup S --measure S [--server-pid PID --server-tid TID]
//              [--counter-file F] [--copy-bodies] [--link PORT:RCVBUF ...]
//   loadclient --ceiling --measure S [--frame-bytes B]
//
// Timeline: viewers connect from t0 on, all at once or --connect-rate per
// second (viewers arriving one after another); the measurement window runs from
// t0 + warmup to t0 + warmup + measure; server CPU, RSS and the feeder's
// push counter are read from /proc and the counter file at both ends.
//
// Parsing: HTTP status line and headers (boundary from Content-Type), then
// parts "--b" CRLF headers CRLF CRLF body CRLF. The body is delimited by
// Content-Length when present, else by scanning for CRLF "--b". Each body
// must start with FFD8 followed by the feeder's COM stamp and end with FFD9.
// By default the middle of a body with a known length is dropped in the
// kernel (recv MSG_TRUNC, no copy), so the client's own CPU stays small next
// to the servers'; --copy-bodies reads every byte instead.
//
// --link PORT:RCVBUF (repeatable) adds one viewer beside the --viewers ones,
// bound to local port PORT so a tc filter can put it on a shaped link, with
// SO_RCVBUF set to RCVBUF before connect (0: left to the kernel). It reads
// as fast as its link delivers; its frame ages are reported on their own
// ("links" in the JSON), not mixed into the other viewers' figures.
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/epoll.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

namespace {

constexpr size_t kStampSize = 26;
constexpr size_t kMaxLine = 4096;
constexpr size_t kMaxScanBody = 16 << 20;
constexpr size_t kSmallRead = 2048;

struct LinkViewer {
  int port = 0;
  int rcvbuf = 0;  // 0: the kernel's default, autotuned
};

struct Options {
  std::string host = "127.0.0.1";
  int port = 0;
  bool http = true;
  std::string path = "/stream";
  std::string boundary;
  int viewers = 1;
  double connect_rate = 0;
  int slow = 0;
  double slow_rate = 100000;
  int slow_rcvbuf = 16384;
  double warmup = 5;
  double measure = 12;
  int server_pid = 0;
  int server_tid = 0;
  std::string counter_file;
  bool copy_bodies = false;
  std::vector<LinkViewer> links;
  bool ceiling = false;
  size_t frame_bytes = 100000;
};

[[noreturn]] void die(const std::string &why) {
  fprintf(stderr, "loadclient: %s\n", why.c_str());
  exit(2);
}

Options parse_options(int argc, char **argv) {
  Options o;
  for (int i = 1; i < argc; i++) {
    std::string arg = argv[i];
    auto value = [&]() -> std::string {
      if (i + 1 >= argc) die("missing value for " + arg);
      return argv[++i];
    };
    if (arg == "--host")
      o.host = value();
    else if (arg == "--port")
      o.port = std::stoi(value());
    else if (arg == "--mode")
      o.http = value() == "http";
    else if (arg == "--path")
      o.path = value();
    else if (arg == "--boundary")
      o.boundary = value();
    else if (arg == "--viewers")
      o.viewers = std::stoi(value());
    else if (arg == "--connect-rate")
      o.connect_rate = std::stod(value());
    else if (arg == "--slow")
      o.slow = std::stoi(value());
    else if (arg == "--slow-rate")
      o.slow_rate = std::stod(value());
    else if (arg == "--slow-rcvbuf")
      o.slow_rcvbuf = std::stoi(value());
    else if (arg == "--warmup")
      o.warmup = std::stod(value());
    else if (arg == "--measure")
      o.measure = std::stod(value());
    else if (arg == "--server-pid")
      o.server_pid = std::stoi(value());
    else if (arg == "--server-tid")
      o.server_tid = std::stoi(value());
    else if (arg == "--counter-file")
      o.counter_file = value();
    else if (arg == "--copy-bodies")
      o.copy_bodies = true;
    else if (arg == "--link") {
      const std::string spec = value();
      const size_t colon = spec.find(':');
      if (colon == std::string::npos) die("--link is PORT:RCVBUF, got " + spec);
      LinkViewer link;
      link.port = std::stoi(spec.substr(0, colon));
      link.rcvbuf = std::stoi(spec.substr(colon + 1));
      if (link.port <= 0 || link.port > 65535 || link.rcvbuf < 0) die("bad --link " + spec);
      o.links.push_back(link);
    } else if (arg == "--ceiling")
      o.ceiling = true;
    else if (arg == "--frame-bytes")
      o.frame_bytes = std::stoul(value());
    else
      die("unknown option " + arg);
  }
  if (o.slow > o.viewers) die("--slow exceeds --viewers");
  if (!o.ceiling && o.viewers > 0 && o.port <= 0) die("--port is required");
  if (!o.http && o.boundary.empty()) die("raw mode needs --boundary");
  return o;
}

int64_t now_ns(clockid_t clock = CLOCK_MONOTONIC) {
  timespec ts;
  clock_gettime(clock, &ts);
  return int64_t{ts.tv_sec} * 1000000000 + ts.tv_nsec;
}

uint64_t get_be64(const uint8_t *in) {
  uint64_t value = 0;
  for (int i = 0; i < 8; i++) value = (value << 8) | in[i];
  return value;
}

bool iequals_prefix(const std::string &line, const char *prefix) {
  size_t n = strlen(prefix);
  return line.size() >= n && strncasecmp(line.data(), prefix, n) == 0;
}

std::string trim(const std::string &text) {
  size_t begin = text.find_first_not_of(" \t");
  if (begin == std::string::npos) return "";
  size_t end = text.find_last_not_of(" \t");
  return text.substr(begin, end - begin + 1);
}

// Measurement-window bookkeeping shared by all viewers.
struct Window {
  bool open = false;
  std::vector<uint32_t> fast_latency_us;
  std::vector<uint32_t> slow_latency_us;
};

struct Viewer {
  enum class State { kConnecting, kResponse, kBoundaryLine, kHeaders, kBody, kBodyScan, kDone };

  int fd = -1;
  bool slow = false;
  int link = -1;                      // index into Options::links, or -1
  std::vector<uint32_t> link_age_us;  // a link viewer's frame ages in the window
  State state = State::kConnecting;
  std::string delimiter;  // "--" + boundary
  std::string line;       // response head, boundary line or header line being read
  bool resyncing = false;
  bool has_length = false;
  size_t content_length = 0;
  size_t body_read = 0;
  uint8_t head[kStampSize];
  size_t head_len = 0;
  uint8_t last[2] = {0, 0};
  std::string scan;  // body of a part without Content-Length

  int64_t connect_started = 0;
  int64_t connected_at = 0;
  int64_t first_frame_at = 0;
  bool failed = false;
  std::string failure;
  uint64_t frames_total = 0;
  uint64_t frames_window = 0;
  uint64_t bytes_window = 0;
  uint64_t bad_frames = 0;
  uint64_t last_sequence = 0;
  uint64_t skipped_window = 0;

  // Slow viewers: token bucket, and the time at which reading resumes.
  double tokens = 0;
  int64_t tokens_at = 0;
  bool paused = false;
  int64_t resume_at = 0;
};

class Client {
 public:
  explicit Client(const Options &options) : o_(options) {}
  int run();

 private:
  void start_connect(Viewer &viewer);
  void on_writable(Viewer &viewer);
  void on_readable(Viewer &viewer);
  void fail(Viewer &viewer, const std::string &why);
  void feed(Viewer &viewer, const uint8_t *data, size_t len);
  size_t discardable(const Viewer &viewer) const;
  void body_bytes(Viewer &viewer, const uint8_t *data, size_t len);
  void finish_frame(Viewer &viewer, const uint8_t *body_start, size_t body_size);
  void boundary_line(Viewer &viewer);
  bool header_block(Viewer &viewer);
  void header_line(Viewer &viewer);
  double refill(Viewer &viewer, int64_t now);
  void pause(Viewer &viewer, int64_t now, double need);
  void resume_due(int64_t now);

  const Options &o_;
  int epoll_ = -1;
  std::vector<Viewer> viewers_;
  Window window_;
  sockaddr_in address_{};
  std::string request_;
  std::vector<uint8_t> scratch_ = std::vector<uint8_t>(1 << 18);
  int64_t t0_ = 0;
  uint64_t connect_errors_ = 0;
};

void Client::fail(Viewer &viewer, const std::string &why) {
  if (viewer.fd >= 0) {
    epoll_ctl(epoll_, EPOLL_CTL_DEL, viewer.fd, nullptr);
    close(viewer.fd);
    viewer.fd = -1;
  }
  if (!viewer.failed) {
    viewer.failed = true;
    viewer.failure = why;
    connect_errors_++;
  }
  viewer.state = Viewer::State::kDone;
}

void Client::start_connect(Viewer &viewer) {
  viewer.connect_started = now_ns();
  viewer.tokens_at = viewer.connect_started;
  viewer.fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (viewer.fd < 0) return fail(viewer, std::string("socket: ") + strerror(errno));
  // A small receive buffer must be set before connect: the window scale is
  // negotiated in the SYN.
  if (viewer.slow)
    setsockopt(viewer.fd, SOL_SOCKET, SO_RCVBUF, &o_.slow_rcvbuf, sizeof o_.slow_rcvbuf);
  if (viewer.link >= 0) {
    const LinkViewer &link = o_.links[static_cast<size_t>(viewer.link)];
    if (link.rcvbuf > 0)
      setsockopt(viewer.fd, SOL_SOCKET, SO_RCVBUF, &link.rcvbuf, sizeof link.rcvbuf);
    // The port may still be in TIME_WAIT from the previous server's run.
    int reuse = 1;
    setsockopt(viewer.fd, SOL_SOCKET, SO_REUSEADDR, &reuse, sizeof reuse);
    sockaddr_in local{};
    local.sin_family = AF_INET;
    local.sin_port = htons(static_cast<uint16_t>(link.port));
    local.sin_addr = address_.sin_addr;
    if (bind(viewer.fd, reinterpret_cast<sockaddr *>(&local), sizeof local) != 0)
      return fail(viewer,
                  "bind to link port " + std::to_string(link.port) + ": " + strerror(errno));
  }
  int rc = connect(viewer.fd, reinterpret_cast<sockaddr *>(&address_), sizeof address_);
  if (rc < 0 && errno != EINPROGRESS)
    return fail(viewer, std::string("connect: ") + strerror(errno));
  epoll_event event{};
  event.events = EPOLLOUT;
  event.data.ptr = &viewer;
  epoll_ctl(epoll_, EPOLL_CTL_ADD, viewer.fd, &event);
}

void Client::on_writable(Viewer &viewer) {
  int error = 0;
  socklen_t len = sizeof error;
  getsockopt(viewer.fd, SOL_SOCKET, SO_ERROR, &error, &len);
  if (error != 0) return fail(viewer, std::string("connect: ") + strerror(error));
  if (o_.http) {
    // A few dozen bytes always fit a fresh socket's send buffer.
    ssize_t sent = send(viewer.fd, request_.data(), request_.size(), MSG_NOSIGNAL);
    if (sent != static_cast<ssize_t>(request_.size())) return fail(viewer, "request not sent");
    viewer.state = Viewer::State::kResponse;
  } else {
    viewer.delimiter = "--" + o_.boundary;
    viewer.state = Viewer::State::kBoundaryLine;
  }
  epoll_event event{};
  event.events = EPOLLIN;
  event.data.ptr = &viewer;
  epoll_ctl(epoll_, EPOLL_CTL_MOD, viewer.fd, &event);
}

size_t Client::discardable(const Viewer &viewer) const {
  if (o_.copy_bodies || viewer.state != Viewer::State::kBody) return 0;
  size_t remaining = viewer.content_length - viewer.body_read;
  if (viewer.head_len < std::min(kStampSize, viewer.content_length) || remaining <= 2) return 0;
  return remaining - 2;
}

double Client::refill(Viewer &viewer, int64_t now) {
  // Burst of 1/10 s worth: smooth enough to be "100 kB/s" at frame scale.
  const double burst = o_.slow_rate / 10;
  viewer.tokens = std::min(burst, viewer.tokens + o_.slow_rate * (now - viewer.tokens_at) / 1e9);
  viewer.tokens_at = now;
  return viewer.tokens;
}

void Client::pause(Viewer &viewer, int64_t now, double need) {
  epoll_event event{};
  event.events = 0;
  event.data.ptr = &viewer;
  epoll_ctl(epoll_, EPOLL_CTL_MOD, viewer.fd, &event);
  viewer.paused = true;
  viewer.resume_at = now + static_cast<int64_t>(need / o_.slow_rate * 1e9) + 1000000;
}

void Client::resume_due(int64_t now) {
  for (Viewer &viewer : viewers_) {
    if (!viewer.paused || viewer.resume_at > now || viewer.fd < 0) continue;
    viewer.paused = false;
    epoll_event event{};
    event.events = EPOLLIN;
    event.data.ptr = &viewer;
    epoll_ctl(epoll_, EPOLL_CTL_MOD, viewer.fd, &event);
  }
}

void Client::on_readable(Viewer &viewer) {
  // A bounded number of reads per event keeps one busy viewer from starving
  // the others; level-triggered epoll brings us back.
  for (int reads = 0; reads < 8 && viewer.fd >= 0 && viewer.state != Viewer::State::kDone;
       reads++) {
    int64_t now = viewer.slow ? now_ns() : 0;
    size_t cap = SIZE_MAX;
    if (viewer.slow) {
      double tokens = refill(viewer, now);
      if (tokens < 1024) return pause(viewer, now, 1024 - tokens);
      cap = static_cast<size_t>(tokens);
    }
    size_t skip = discardable(viewer);
    ssize_t n;
    if (skip > 0) {
      n = recv(viewer.fd, nullptr, std::min(skip, cap), MSG_TRUNC | MSG_DONTWAIT);
    } else {
      size_t want = o_.copy_bodies ? scratch_.size() : kSmallRead;
      n = recv(viewer.fd, scratch_.data(), std::min(want, cap), MSG_DONTWAIT);
    }
    if (n == 0) return fail(viewer, "closed by server");
    if (n < 0) {
      if (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR) return;
      return fail(viewer, std::string("recv: ") + strerror(errno));
    }
    if (viewer.slow) viewer.tokens -= n;
    if (window_.open) viewer.bytes_window += n;
    if (skip > 0)
      viewer.body_read += static_cast<size_t>(n);
    else
      feed(viewer, scratch_.data(), static_cast<size_t>(n));
  }
}

void Client::finish_frame(Viewer &viewer, const uint8_t *body_start, size_t body_size) {
  // Scan mode passes the whole body; length mode has already captured the
  // stamp (head) and the last two bytes.
  if (body_start) {
    viewer.head_len = std::min(kStampSize, body_size);
    memcpy(viewer.head, body_start, viewer.head_len);
    if (body_size >= 2) memcpy(viewer.last, body_start + body_size - 2, 2);
  }
  const uint8_t *h = viewer.head;
  bool whole_jpeg = body_size >= 4 && viewer.head_len >= 2 && h[0] == 0xFF && h[1] == 0xD8 &&
                    viewer.last[0] == 0xFF && viewer.last[1] == 0xD9;
  bool stamped = viewer.head_len == kStampSize && h[2] == 0xFF && h[3] == 0xFE &&
                 memcmp(h + 6, "MJBT", 4) == 0;
  viewer.frames_total++;
  if (!whole_jpeg || !stamped) {
    viewer.bad_frames++;
    return;
  }
  int64_t now_real = now_ns(CLOCK_REALTIME);
  if (!viewer.first_frame_at) viewer.first_frame_at = now_ns();
  uint64_t sent_at = get_be64(h + 10);
  uint64_t sequence = get_be64(h + 18);
  if (window_.open) {
    viewer.frames_window++;
    if (viewer.last_sequence && sequence > viewer.last_sequence + 1)
      viewer.skipped_window += sequence - viewer.last_sequence - 1;
    int64_t age_us = (now_real - static_cast<int64_t>(sent_at)) / 1000;
    uint32_t sample = static_cast<uint32_t>(std::clamp<int64_t>(age_us, 0, UINT32_MAX));
    if (viewer.link >= 0)
      viewer.link_age_us.push_back(sample);
    else
      (viewer.slow ? window_.slow_latency_us : window_.fast_latency_us).push_back(sample);
  }
  viewer.last_sequence = sequence;
}

void Client::body_bytes(Viewer &viewer, const uint8_t *data, size_t len) {
  if (viewer.head_len < kStampSize) {
    size_t take = std::min(len, kStampSize - viewer.head_len);
    memcpy(viewer.head + viewer.head_len, data, take);
    viewer.head_len += take;
  }
  if (len >= 2) {
    viewer.last[0] = data[len - 2];
    viewer.last[1] = data[len - 1];
  } else if (len == 1) {
    viewer.last[0] = viewer.last[1];
    viewer.last[1] = data[0];
  }
  viewer.body_read += len;
}

void Client::boundary_line(Viewer &viewer) {
  // Blank lines are the CRLF that ends each body (and tolerated preamble).
  if (viewer.line.empty()) return;
  if (viewer.line == viewer.delimiter) {
    viewer.state = Viewer::State::kHeaders;
    viewer.has_length = false;
    viewer.resyncing = false;
  } else if (viewer.line == viewer.delimiter + "--") {
    fail(viewer, "stream ended");
  } else if (!viewer.resyncing) {
    // A wrong Content-Length or a torn part: count it once and hunt for the
    // next boundary line.
    viewer.resyncing = true;
    viewer.bad_frames++;
  }
}

void Client::header_line(Viewer &viewer) {
  if (iequals_prefix(viewer.line, "content-length:")) {
    viewer.content_length = std::strtoull(viewer.line.c_str() + 15, nullptr, 10);
    viewer.has_length = true;
  }
}

// The HTTP response head: status 200 and a boundary in Content-Type.
bool Client::header_block(Viewer &viewer) {
  std::istringstream lines(viewer.line);
  std::string status;
  std::getline(lines, status);
  if (status.rfind("HTTP/1.", 0) != 0 || status.size() < 12 || status.compare(9, 3, "200") != 0) {
    fail(viewer, "status: " + trim(status.substr(0, status.find('\r'))));
    return false;
  }
  std::string header;
  while (std::getline(lines, header)) {
    if (!header.empty() && header.back() == '\r') header.pop_back();
    if (!iequals_prefix(header, "content-type:")) continue;
    std::string lower = header;
    std::transform(lower.begin(), lower.end(), lower.begin(), ::tolower);
    size_t at = lower.find("boundary=");
    if (at == std::string::npos) break;
    std::string boundary = trim(header.substr(at + 9));
    boundary = boundary.substr(0, boundary.find(';'));
    if (boundary.size() >= 2 && boundary.front() == '"')
      boundary = boundary.substr(1, boundary.size() - 2);
    viewer.delimiter = "--" + boundary;
    return true;
  }
  fail(viewer, "no multipart boundary in the response");
  return false;
}

void Client::feed(Viewer &viewer, const uint8_t *data, size_t len) {
  using State = Viewer::State;
  while (len > 0 && viewer.state != State::kDone) {
    switch (viewer.state) {
      case State::kResponse: {
        size_t old = viewer.line.size();
        viewer.line.append(reinterpret_cast<const char *>(data), len);
        size_t end = viewer.line.find("\r\n\r\n", old >= 3 ? old - 3 : 0);
        if (end == std::string::npos) {
          if (viewer.line.size() > 16384) fail(viewer, "response head too long");
          return;
        }
        size_t used = end + 4 - old;
        viewer.line.resize(end + 2);
        if (!header_block(viewer)) return;
        viewer.connected_at = now_ns();
        viewer.line.clear();
        viewer.state = State::kBoundaryLine;
        data += used;
        len -= used;
        break;
      }
      case State::kBoundaryLine:
      case State::kHeaders: {
        const uint8_t *newline = static_cast<const uint8_t *>(memchr(data, '\n', len));
        size_t take = newline ? static_cast<size_t>(newline - data) + 1 : len;
        if (viewer.line.size() < kMaxLine)
          viewer.line.append(reinterpret_cast<const char *>(data),
                             std::min(take, kMaxLine - viewer.line.size()));
        data += take;
        len -= take;
        if (!newline) break;
        if (!viewer.connected_at) viewer.connected_at = now_ns();  // raw: first bytes
        while (!viewer.line.empty() && (viewer.line.back() == '\n' || viewer.line.back() == '\r'))
          viewer.line.pop_back();
        if (viewer.state == State::kBoundaryLine) {
          boundary_line(viewer);
        } else if (viewer.line.empty()) {
          viewer.head_len = 0;
          viewer.body_read = 0;
          viewer.scan.clear();
          viewer.state = viewer.has_length ? State::kBody : State::kBodyScan;
          if (viewer.has_length && viewer.content_length == 0) {
            finish_frame(viewer, nullptr, 0);
            viewer.state = State::kBoundaryLine;
          }
        } else {
          header_line(viewer);
        }
        viewer.line.clear();
        break;
      }
      case State::kBody: {
        size_t take = std::min(len, viewer.content_length - viewer.body_read);
        body_bytes(viewer, data, take);
        data += take;
        len -= take;
        if (viewer.body_read == viewer.content_length) {
          finish_frame(viewer, nullptr, viewer.content_length);
          viewer.state = State::kBoundaryLine;
        }
        break;
      }
      case State::kBodyScan: {
        size_t old = viewer.scan.size();
        viewer.scan.append(reinterpret_cast<const char *>(data), len);
        len = 0;
        const std::string marker = "\r\n" + viewer.delimiter;
        size_t from = old >= marker.size() ? old - marker.size() + 1 : 0;
        size_t at = viewer.scan.find(marker, from);
        if (at == std::string::npos) {
          if (viewer.scan.size() > kMaxScanBody) fail(viewer, "part without end");
          break;
        }
        finish_frame(viewer, reinterpret_cast<const uint8_t *>(viewer.scan.data()), at);
        std::string rest = viewer.scan.substr(at + 2);
        viewer.scan.clear();
        viewer.state = State::kBoundaryLine;
        feed(viewer, reinterpret_cast<const uint8_t *>(rest.data()), rest.size());
        break;
      }
      case State::kConnecting:
      case State::kDone:
        return;
    }
  }
}

// ---- /proc readings of the server process -------------------------------

struct ProcSample {
  double cpu_s = 0;
  long rss_kb = 0;
  long hwm_kb = 0;
  long threads = 0;
  double stream_thread_s = 0;
  uint64_t pushed = 0;
  double machine_busy = 0;
  double machine_total = 0;
  double client_cpu_s = 0;
};

long status_field(const std::string &status, const char *name) {
  size_t at = status.find(name);
  if (at == std::string::npos) return 0;
  return std::strtol(status.c_str() + at + strlen(name), nullptr, 10);
}

std::string slurp(const std::string &path) {
  std::ifstream file(path);
  std::stringstream text;
  text << file.rdbuf();
  return text.str();
}

ProcSample sample_proc(const Options &o, const volatile uint64_t *counter) {
  ProcSample s;
  if (o.server_pid > 0) {
    std::string pid = std::to_string(o.server_pid);
    std::string stat = slurp("/proc/" + pid + "/stat");
    size_t paren = stat.rfind(')');
    if (paren != std::string::npos) {
      std::istringstream fields(stat.substr(paren + 2));
      std::string field;
      unsigned long long utime = 0, stime = 0;
      // Fields after the command: state is field 3; utime and stime are 14 and 15.
      for (int index = 3; index <= 15 && fields >> field; index++) {
        if (index == 14) utime = std::stoull(field);
        if (index == 15) stime = std::stoull(field);
      }
      s.cpu_s = static_cast<double>(utime + stime) / sysconf(_SC_CLK_TCK);
    }
    std::string status = slurp("/proc/" + pid + "/status");
    s.rss_kb = status_field(status, "VmRSS:");
    s.hwm_kb = status_field(status, "VmHWM:");
    s.threads = status_field(status, "Threads:");
    if (o.server_tid > 0) {
      // schedstat's first field is the thread's run time in ns: precise
      // where stat's clock ticks are too coarse for microseconds per frame.
      std::string schedstat =
          slurp("/proc/" + pid + "/task/" + std::to_string(o.server_tid) + "/schedstat");
      s.stream_thread_s = std::strtoull(schedstat.c_str(), nullptr, 10) / 1e9;
    }
  }
  if (counter) s.pushed = __atomic_load_n(counter, __ATOMIC_RELAXED);
  std::istringstream cpu(slurp("/proc/stat"));
  std::string label;
  cpu >> label;
  unsigned long long value;
  for (int index = 0; index < 8 && cpu >> value; index++) {
    s.machine_total += value;
    if (index != 3 && index != 4) s.machine_busy += value;  // idle, iowait
  }
  rusage usage{};
  getrusage(RUSAGE_SELF, &usage);
  s.client_cpu_s = usage.ru_utime.tv_sec + usage.ru_stime.tv_sec +
                   (usage.ru_utime.tv_usec + usage.ru_stime.tv_usec) / 1e6;
  return s;
}

const volatile uint64_t *map_counter(const std::string &path) {
  if (path.empty()) return nullptr;
  int fd = open(path.c_str(), O_RDONLY);
  if (fd < 0) die("cannot open " + path);
  void *memory = mmap(nullptr, 4096, PROT_READ, MAP_SHARED, fd, 0);
  close(fd);
  if (memory == MAP_FAILED) die("cannot map " + path);
  return static_cast<const volatile uint64_t *>(memory);
}

// ---- statistics and JSON --------------------------------------------------

double percentile(std::vector<double> values, double p) {
  if (values.empty()) return -1;
  std::sort(values.begin(), values.end());
  double rank = p * (values.size() - 1);
  size_t low = static_cast<size_t>(rank);
  size_t high = std::min(low + 1, values.size() - 1);
  return values[low] + (values[high] - values[low]) * (rank - low);
}

std::string number(double value) {
  if (value < 0) return "null";
  char text[64];
  snprintf(text, sizeof text, "%.4f", value);
  return text;
}

std::string triple(const std::vector<double> &values) {
  // p10 beside min and max: how fairly the viewers were served, not only the worst one.
  return "{\"min\": " + number(percentile(values, 0)) +
         ", \"p10\": " + number(percentile(values, 0.1)) +
         ", \"median\": " + number(percentile(values, 0.5)) +
         ", \"max\": " + number(percentile(values, 1)) + "}";
}

std::string latency_json(const std::vector<uint32_t> &samples_us) {
  std::vector<double> ms(samples_us.begin(), samples_us.end());
  for (double &value : ms) value /= 1000;
  return "{\"p50\": " + number(percentile(ms, 0.5)) + ", \"p99\": " + number(percentile(ms, 0.99)) +
         ", \"max\": " + number(percentile(ms, 1)) + ", \"samples\": " + std::to_string(ms.size()) +
         "}";
}

// A failure text inside a JSON string: quotes, backslashes and control
// characters (a server's status line may carry any) become spaces.
std::string json_safe(std::string text) {
  for (char &c : text)
    if (c == '"' || c == '\\' || static_cast<unsigned char>(c) < 0x20) c = ' ';
  return text;
}

// Each link viewer on its own: how old its frames were when their last byte
// arrived, and how many it got.
std::string links_json(const std::vector<Viewer> &viewers, const std::vector<LinkViewer> &links,
                       double window_s) {
  std::string out = "[";
  for (const Viewer &viewer : viewers) {
    if (viewer.link < 0) continue;
    const LinkViewer &link = links[static_cast<size_t>(viewer.link)];
    std::vector<double> ms(viewer.link_age_us.begin(), viewer.link_age_us.end());
    for (double &value : ms) value /= 1000;
    if (out.size() > 1) out += ", ";
    out +=
        "{\"port\": " + std::to_string(link.port) + ", \"rcvbuf\": " + std::to_string(link.rcvbuf) +
        ", \"connected\": " + (viewer.connected_at ? "true" : "false") +
        ", \"fps\": " + number(viewer.frames_window / window_s) +
        ", \"frames\": " + std::to_string(viewer.frames_window) +
        ", \"bad_frames\": " + std::to_string(viewer.bad_frames) +
        ", \"age_ms\": {\"p50\": " + number(percentile(ms, 0.5)) +
        ", \"p90\": " + number(percentile(ms, 0.9)) + ", \"max\": " + number(percentile(ms, 1)) +
        ", \"samples\": " + std::to_string(ms.size()) + "}" +
        (viewer.failed ? ", \"failure\": \"" + json_safe(viewer.failure) + "\"" : std::string()) +
        "}";
  }
  return out + "]";
}

int Client::run() {
  address_.sin_family = AF_INET;
  address_.sin_port = htons(static_cast<uint16_t>(o_.port));
  if (inet_pton(AF_INET, o_.host.c_str(), &address_.sin_addr) != 1) die("bad --host");
  request_ = "GET " + o_.path + " HTTP/1.1\r\nHost: " + o_.host + ":" + std::to_string(o_.port) +
             "\r\nUser-Agent: mjpeg-bench\r\nAccept: */*\r\n\r\n";
  const volatile uint64_t *counter = map_counter(o_.counter_file);
  epoll_ = epoll_create1(EPOLL_CLOEXEC);
  viewers_.resize(static_cast<size_t>(o_.viewers) + o_.links.size());
  for (int i = 0; i < o_.viewers; i++) viewers_[i].slow = i < o_.slow;
  for (size_t i = 0; i < o_.links.size(); i++) viewers_[o_.viewers + i].link = static_cast<int>(i);

  t0_ = now_ns();
  size_t started = 0;
  // Due time of the next connect in paced mode.
  auto connect_due = [&](size_t index) {
    return t0_ + static_cast<int64_t>(index * 1e9 / o_.connect_rate);
  };
  if (o_.connect_rate <= 0)
    for (; started < viewers_.size(); started++) start_connect(viewers_[started]);
  const int64_t window_start = t0_ + static_cast<int64_t>(o_.warmup * 1e9);
  const int64_t window_end = window_start + static_cast<int64_t>(o_.measure * 1e9);
  ProcSample before, after;
  size_t connected_at_window = 0;
  std::vector<epoll_event> events(1024);
  for (;;) {
    int64_t now = now_ns();
    while (started < viewers_.size() && connect_due(started) <= now)
      start_connect(viewers_[started++]);
    if (!window_.open && now >= window_start) {
      for (Viewer &viewer : viewers_) connected_at_window += viewer.connected_at != 0;
      before = sample_proc(o_, counter);
      window_.open = true;
    }
    if (window_.open && now >= window_end) {
      after = sample_proc(o_, counter);
      window_.open = false;
      break;
    }
    int64_t deadline = window_.open ? window_end : window_start;
    if (started < viewers_.size()) deadline = std::min(deadline, connect_due(started));
    if (o_.slow > 0)
      for (const Viewer &viewer : viewers_)
        if (viewer.paused) deadline = std::min(deadline, viewer.resume_at);
    int timeout_ms = static_cast<int>(std::max<int64_t>(0, (deadline - now + 999999) / 1000000));
    int count = epoll_wait(epoll_, events.data(), static_cast<int>(events.size()), timeout_ms);
    if (count < 0 && errno != EINTR) die(std::string("epoll_wait: ") + strerror(errno));
    for (int i = 0; i < count; i++) {
      Viewer &viewer = *static_cast<Viewer *>(events[i].data.ptr);
      if (viewer.fd < 0) continue;
      if (viewer.state == Viewer::State::kConnecting) {
        on_writable(viewer);
      } else {
        on_readable(viewer);
        if (viewer.fd >= 0 && (events[i].events & (EPOLLERR | EPOLLHUP)) &&
            viewer.state != Viewer::State::kDone && !(events[i].events & EPOLLIN))
          fail(viewer, "socket error");
      }
    }
    if (o_.slow > 0) resume_due(now_ns());
  }

  const double window_s = o_.measure;
  std::vector<double> fast_fps, slow_fps;
  size_t connected = 0;
  int64_t connect_all = 0, first_frame_all = 0;
  bool all_connected = true, all_framed = true;
  uint64_t delivered = 0, bad = 0, skipped = 0, bytes = 0;
  std::string failures;
  std::vector<double> connect_ms;
  for (const Viewer &viewer : viewers_) {
    if (viewer.connected_at)
      connect_ms.push_back((viewer.connected_at - viewer.connect_started) / 1e6);
    double fps = viewer.frames_window / window_s;
    if (viewer.link < 0) (viewer.slow ? slow_fps : fast_fps).push_back(fps);
    if (viewer.connected_at) {
      connected++;
      connect_all = std::max(connect_all, viewer.connected_at - t0_);
    } else {
      all_connected = false;
    }
    if (viewer.first_frame_at)
      first_frame_all = std::max(first_frame_all, viewer.first_frame_at - t0_);
    else
      all_framed = false;
    delivered += viewer.frames_window;
    bad += viewer.bad_frames;
    skipped += viewer.skipped_window;
    bytes += viewer.bytes_window;
    if (viewer.failed && failures.size() < 200) failures += viewer.failure + "; ";
  }
  if (!failures.empty()) fprintf(stderr, "loadclient: failures: %s\n", failures.c_str());
  const double server_cpu = after.cpu_s - before.cpu_s;
  const uint64_t pushed = after.pushed - before.pushed;
  const double stream_s = after.stream_thread_s - before.stream_thread_s;
  const double machine_total = after.machine_total - before.machine_total;
  std::ostringstream json;
  json << "{\"viewers\": " << o_.viewers << ", \"slow\": " << o_.slow
       << ", \"window_s\": " << number(window_s) << ", \"connected\": " << connected
       << ", \"connected_at_window\": " << connected_at_window << ", \"connect_all_s\": "
       << (all_connected && o_.viewers ? number(connect_all / 1e9) : "null")
       << ", \"first_frame_all_s\": "
       << (all_framed && o_.viewers ? number(first_frame_all / 1e9) : "null")
       << ", \"connect_ms\": {\"p50\": " << number(percentile(connect_ms, 0.5))
       << ", \"p99\": " << number(percentile(connect_ms, 0.99))
       << ", \"max\": " << number(percentile(connect_ms, 1)) << "}"
       << ", \"connect_rate\": " << number(o_.connect_rate) << ", \"fps\": " << triple(fast_fps)
       << ", \"slow_fps\": " << triple(slow_fps)
       << ", \"latency_ms\": " << latency_json(window_.fast_latency_us)
       << ", \"slow_age_ms\": " << latency_json(window_.slow_latency_us)
       << ", \"links\": " << links_json(viewers_, o_.links, window_s)
       << ", \"frames_delivered\": " << delivered << ", \"frames_skipped\": " << skipped
       << ", \"bytes_delivered\": " << bytes << ", \"bad_frames\": " << bad
       << ", \"connection_errors\": " << connect_errors_
       << ", \"server_cpu_s\": " << number(server_cpu) << ", \"cpu_ms_per_1000_frames\": "
       << (delivered ? number(server_cpu * 1e6 / delivered) : "null")
       << ", \"server_rss_hwm_kb\": " << after.hwm_kb << ", \"rss_start_kb\": " << before.rss_kb
       << ", \"rss_end_kb\": " << after.rss_kb << ", \"server_threads\": " << after.threads
       << ", \"frames_pushed\": " << pushed << ", \"pushed_fps\": " << number(pushed / window_s)
       << ", \"stream_thread_us_per_frame\": "
       << (pushed && o_.server_tid ? number(stream_s * 1e6 / pushed) : "null")
       << ", \"client_cpu_s\": " << number(after.client_cpu_s - before.client_cpu_s)
       << ", \"machine_busy_pct\": "
       << (machine_total > 0
               ? number(100 * (after.machine_busy - before.machine_busy) / machine_total)
               : "null")
       << "}";
  printf("%s\n", json.str().c_str());
  for (Viewer &viewer : viewers_)
    if (viewer.fd >= 0) close(viewer.fd);
  close(epoll_);
  return 0;
}

// ---- loopback ceiling -----------------------------------------------------

// One TCP connection on loopback: a thread writes frame-sized blocks as fast
// as it can; this thread reads them the way a viewer does (dropping the bytes
// in the kernel unless --copy-bodies).
int run_ceiling(const Options &o) {
  int listener = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t length = sizeof address;
  if (bind(listener, reinterpret_cast<sockaddr *>(&address), sizeof address) != 0 ||
      listen(listener, 1) != 0 ||
      getsockname(listener, reinterpret_cast<sockaddr *>(&address), &length) != 0)
    die("cannot listen on loopback");
  int writer = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (connect(writer, reinterpret_cast<sockaddr *>(&address), sizeof address) != 0)
    die("cannot connect on loopback");
  int reader = accept(listener, nullptr, nullptr);
  close(listener);
  std::vector<uint8_t> block(o.frame_bytes, 0x5A);
  // The writer stops when the reader shuts the connection down.
  std::thread sender([&] {
    for (;;) {
      size_t offset = 0;
      while (offset < block.size()) {
        ssize_t n = send(writer, block.data() + offset, block.size() - offset, MSG_NOSIGNAL);
        if (n <= 0) return;
        offset += static_cast<size_t>(n);
      }
    }
  });
  std::vector<uint8_t> sink(1 << 18);
  uint64_t total = 0;
  const int64_t start = now_ns();
  const int64_t end = start + static_cast<int64_t>(o.measure * 1e9);
  timeval slice{0, 100000};
  setsockopt(reader, SOL_SOCKET, SO_RCVTIMEO, &slice, sizeof slice);
  while (now_ns() < end) {
    ssize_t n = o.copy_bodies ? recv(reader, sink.data(), sink.size(), 0)
                              : recv(reader, nullptr, 1 << 20, MSG_TRUNC);
    if (n > 0)
      total += static_cast<uint64_t>(n);
    else if (n == 0 || (errno != EAGAIN && errno != EINTR))
      break;
  }
  const double seconds = (now_ns() - start) / 1e9;
  shutdown(reader, SHUT_RDWR);
  shutdown(writer, SHUT_RDWR);
  sender.join();
  close(reader);
  close(writer);
  printf(
      "{\"bytes_per_s\": %.0f, \"frames_per_s\": %.1f, \"frame_bytes\": %zu, \"seconds\": %.2f}\n",
      total / seconds, total / seconds / o.frame_bytes, o.frame_bytes, seconds);
  return 0;
}

void raise_fd_limit(size_t needed) {
  rlimit limit{};
  getrlimit(RLIMIT_NOFILE, &limit);
  if (limit.rlim_cur >= needed) return;
  limit.rlim_cur = std::min<rlim_t>(limit.rlim_max, needed);
  setrlimit(RLIMIT_NOFILE, &limit);
  if (limit.rlim_cur < needed) die("RLIMIT_NOFILE too low for the viewers (raise ulimit -n)");
}

}  // namespace

int main(int argc, char **argv) {
  Options options = parse_options(argc, argv);
  if (options.ceiling) return run_ceiling(options);
  raise_fd_limit(static_cast<size_t>(options.viewers) + options.links.size() + 64);
  Client client(options);
  return client.run();
}
