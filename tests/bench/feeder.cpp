// SPDX-License-Identifier: LGPL-2.1-or-later
// Benchmark server process: hosts ONE server (this project's mjpeghttpsink,
// or GStreamer's multipartmux ! tcpserversink) fed from an appsrc, so that the
// runner can read that process's CPU time and peak RSS as the server's own.
//
// Frames: ~30 distinct JPEGs (1280x720 unless --size says otherwise) encoded
// once at start-up (zone plate, quality chosen so the average is ~100 KB). Every push builds a new
// buffer of two memories: a fresh SOI + COM segment carrying the send time (CLOCK_REALTIME ns, read
// last, just before the push) and a shared, read-only reference to the rest of the pre-encoded
// JPEG. The load client reads the COM segment to measure end-to-end latency.
//
// Usage:
//   feeder --calibrate [--target-bytes N]          prints "QUALITY q AVG bytes"
//   feeder --server mjpeg|tcp|floor|floor-threads --quality Q [--rate FPS (0 = as fast as the
//          sink accepts)] [--size WxH] [--boundary B] [--sink-props "k=v ..."]
//          [--counter-file F]
//
// `floor` is no GStreamer server at all but the least any server must do: the
// same parts (raw multipart, like multipartmux's) written with one sendmsg
// per viewer per frame, non-blocking, by one sender thread per core, with no
// per-viewer thread, queue or wake-up. Its CPU per frame and its latency are
// the floor the kernel's loopback TCP sets on this machine.
// `floor-threads` sends the same parts the same way, but from a thread per
// viewer that sleeps on one futex word between frames, rung once per frame:
// the least a server built like mjpeghttpsink (a thread per viewer) pays,
// with no queue, pacing, statistics or HTTP. The gap between the two floors
// is what the thread-per-viewer shape itself costs on this machine.
// Once serving it prints "READY port=P tid=T frame_bytes=B" on stdout and runs
// until SIGTERM/SIGINT. --counter-file: a file whose first 8 bytes are kept
// equal to the number of frames pushed, for the load client to read.
#include <arpa/inet.h>
#include <fcntl.h>
#include <gst/app/gstappsink.h>
#include <gst/app/gstappsrc.h>
#include <gst/gst.h>
#include <linux/futex.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <climits>
#include <condition_variable>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

namespace {

// SOI (2) + COM marker (2) + COM length (2) + magic (4) + send time (8) +
// sequence (8). The load client expects exactly this layout.
constexpr size_t kStampSize = 26;
constexpr uint16_t kComLength = kStampSize - 4;
constexpr char kMagic[4] = {'M', 'J', 'B', 'T'};

struct Options {
  bool calibrate = false;
  std::string server = "mjpeg";
  int width = 1280;
  int height = 720;
  int quality = 50;
  double rate = 30;
  int frame_count = 30;
  size_t target_bytes = 100000;
  std::string boundary = "benchboundary";
  std::string sink_props;
  std::string counter_file;
};

[[noreturn]] void die(const std::string &why) {
  fprintf(stderr, "feeder: %s\n", why.c_str());
  exit(1);
}

Options parse_options(int argc, char **argv) {
  Options options;
  for (int i = 1; i < argc; i++) {
    std::string arg = argv[i];
    auto value = [&]() -> std::string {
      if (i + 1 >= argc) die("missing value for " + arg);
      return argv[++i];
    };
    if (arg == "--calibrate")
      options.calibrate = true;
    else if (arg == "--server")
      options.server = value();
    else if (arg == "--quality")
      options.quality = std::stoi(value());
    else if (arg == "--rate")
      options.rate = std::stod(value());
    else if (arg == "--frames")
      options.frame_count = std::stoi(value());
    else if (arg == "--size") {
      std::string size = value();
      if (sscanf(size.c_str(), "%dx%d", &options.width, &options.height) != 2)
        die("--size is WIDTHxHEIGHT, got " + size);
    } else if (arg == "--target-bytes")
      options.target_bytes = std::stoul(value());
    else if (arg == "--boundary")
      options.boundary = value();
    else if (arg == "--sink-props")
      options.sink_props = value();
    else if (arg == "--counter-file")
      options.counter_file = value();
    else
      die("unknown option " + arg);
  }
  if (options.server != "mjpeg" && options.server != "tcp" && options.server != "floor" &&
      options.server != "floor-threads")
    die("--server is mjpeg, tcp, floor or floor-threads");
  if (options.frame_count < 1 || options.frame_count > 300) die("--frames out of 1..300");
  if (options.width < 16 || options.width > 4096 || options.height < 16 || options.height > 4096)
    die("--size out of 16x16..4096x4096");
  return options;
}

int64_t clock_ns(clockid_t clock) {
  timespec ts;
  clock_gettime(clock, &ts);
  return int64_t{ts.tv_sec} * 1000000000 + ts.tv_nsec;
}

// Runs to EOS or error; every step is bounded by gst_bus_timed_pop_filtered.
std::vector<GstBuffer *> encode_frames(const Options &options, int quality) {
  const int count = options.frame_count;
  std::string description =
      "videotestsrc pattern=zone-plate kx2=10 ky2=10 kt=1 num-buffers=" + std::to_string(count) +
      " ! video/x-raw,width=" + std::to_string(options.width) +
      ",height=" + std::to_string(options.height) +
      ",framerate=30/1 ! jpegenc quality=" + std::to_string(quality) +
      " ! appsink name=out sync=false max-buffers=0";
  GError *error = nullptr;
  GstElement *pipeline = gst_parse_launch(description.c_str(), &error);
  if (!pipeline) die(std::string("cannot build the encoder: ") + error->message);
  GstElement *sink = gst_bin_get_by_name(GST_BIN(pipeline), "out");
  gst_element_set_state(pipeline, GST_STATE_PLAYING);
  std::vector<GstBuffer *> frames;
  while (static_cast<int>(frames.size()) < count) {
    GstSample *sample = gst_app_sink_try_pull_sample(GST_APP_SINK(sink), 20 * GST_SECOND);
    if (!sample) break;
    frames.push_back(gst_buffer_ref(gst_sample_get_buffer(sample)));
    gst_sample_unref(sample);
  }
  gst_element_set_state(pipeline, GST_STATE_NULL);
  gst_object_unref(sink);
  gst_object_unref(pipeline);
  if (static_cast<int>(frames.size()) != count) die("the encoder produced too few frames");
  return frames;
}

size_t average_size(const std::vector<GstBuffer *> &frames) {
  size_t total = 0;
  for (GstBuffer *frame : frames) total += gst_buffer_get_size(frame);
  return total / frames.size();
}

void free_frames(std::vector<GstBuffer *> &frames) {
  for (GstBuffer *frame : frames) gst_buffer_unref(frame);
  frames.clear();
}

// Bisection on jpegenc's quality; size grows with quality for this pattern.
int calibrate(const Options &options) {
  int low = 1, high = 100;
  while (low < high) {
    int middle = (low + high) / 2;
    std::vector<GstBuffer *> frames = encode_frames(options, middle);
    size_t average = average_size(frames);
    free_frames(frames);
    if (average < options.target_bytes)
      low = middle + 1;
    else
      high = middle;
  }
  std::vector<GstBuffer *> frames = encode_frames(options, low);
  printf("QUALITY %d AVG %zu\n", low, average_size(frames));
  free_frames(frames);
  return 0;
}

// The JPEG after its SOI, shared read-only by every buffer pushed.
std::vector<GstMemory *> frame_bodies(const std::vector<GstBuffer *> &frames) {
  std::vector<GstMemory *> bodies;
  for (GstBuffer *frame : frames) {
    guint8 soi[2];
    if (gst_buffer_extract(frame, 0, soi, 2) != 2 || soi[0] != 0xFF || soi[1] != 0xD8)
      die("encoded frame without SOI");
    GstMemory *whole = gst_buffer_get_all_memory(frame);
    bodies.push_back(gst_memory_share(whole, 2, -1));
    gst_memory_unref(whole);
  }
  return bodies;
}

void put_be64(uint8_t *out, uint64_t value) {
  for (int i = 7; i >= 0; i--) {
    out[i] = static_cast<uint8_t>(value & 0xFF);
    value >>= 8;
  }
}

// SOI + the COM segment the load client reads: magic, sequence, then the
// send time, taken last so it excludes building the frame.
void write_stamp(uint8_t *out, uint64_t sequence) {
  out[0] = 0xFF;
  out[1] = 0xD8;
  out[2] = 0xFF;
  out[3] = 0xFE;
  out[4] = kComLength >> 8;
  out[5] = kComLength & 0xFF;
  memcpy(out + 6, kMagic, sizeof kMagic);
  put_be64(out + 18, sequence);
  put_be64(out + 10, static_cast<uint64_t>(clock_ns(CLOCK_REALTIME)));
}

// Sleeps until the next slot of an absolute CLOCK_MONOTONIC schedule of
// `period` ns (none when 0). A slot missed by more than two periods restarts
// the schedule rather than bursting to catch up; returns true then.
bool wait_for_slot(int64_t period, int64_t *next) {
  if (period <= 0) return false;
  timespec when{static_cast<time_t>(*next / 1000000000), static_cast<long>(*next % 1000000000)};
  while (clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &when, nullptr) == EINTR) {
  }
  *next += period;
  const int64_t now = clock_ns(CLOCK_MONOTONIC);
  if (now - *next <= 2 * period) return false;
  *next = now + period;
  return true;
}

// The stamp is written last so the time excludes building the buffer.
GstBuffer *stamped_frame(GstMemory *body, uint64_t sequence) {
  GstMemory *stamp = gst_allocator_alloc(nullptr, kStampSize, nullptr);
  GstMapInfo map;
  if (!gst_memory_map(stamp, &map, GST_MAP_WRITE)) die("cannot map a stamp");
  GstBuffer *buffer = gst_buffer_new();
  write_stamp(map.data, sequence);
  gst_memory_unmap(stamp, &map);
  gst_buffer_append_memory(buffer, stamp);
  gst_buffer_append_memory(buffer, gst_memory_ref(body));
  return buffer;
}

std::atomic<bool> g_stopping{false};
std::atomic<long> g_streaming_tid{0};

GstPadProbeReturn note_streaming_thread(GstPad *, GstPadProbeInfo *, gpointer) {
  g_streaming_tid.store(syscall(SYS_gettid));
  return GST_PAD_PROBE_REMOVE;
}

struct PushStats {
  uint64_t pushed = 0;
  uint64_t late = 0;
};

// Paced on an absolute CLOCK_MONOTONIC schedule; a push that falls more than
// two periods behind restarts the schedule rather than bursting to catch up.
void push_frames(GstAppSrc *appsrc, const std::vector<GstMemory *> &bodies, double rate,
                 volatile uint64_t *counter, PushStats *stats) {
  const int64_t period = rate > 0 ? static_cast<int64_t>(1e9 / rate) : 0;
  int64_t next = clock_ns(CLOCK_MONOTONIC);
  size_t index = 0;
  while (!g_stopping.load(std::memory_order_relaxed)) {
    if (wait_for_slot(period, &next)) stats->late++;
    GstBuffer *buffer = stamped_frame(bodies[index], stats->pushed + 1);
    index = (index + 1) % bodies.size();
    if (gst_app_src_push_buffer(appsrc, buffer) != GST_FLOW_OK) break;
    stats->pushed++;
    if (counter) __atomic_store_n(counter, stats->pushed, __ATOMIC_RELAXED);
  }
}

volatile uint64_t *map_counter(const std::string &path) {
  if (path.empty()) return nullptr;
  int fd = open(path.c_str(), O_RDWR | O_CREAT | O_TRUNC, 0644);
  if (fd < 0 || ftruncate(fd, 4096) != 0) die("cannot create " + path);
  void *memory = mmap(nullptr, 4096, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
  close(fd);
  if (memory == MAP_FAILED) die("cannot map " + path);
  return static_cast<volatile uint64_t *>(memory);
}

std::string pipeline_description(const Options &options) {
  std::string source =
      "appsrc name=src is-live=true do-timestamp=true format=time block=true max-bytes=0 "
      "max-buffers=2 caps=\"image/jpeg,width=" +
      std::to_string(options.width) + ",height=" + std::to_string(options.height) +
      ",framerate=" + std::to_string(options.rate > 0 ? static_cast<int>(options.rate + 0.5) : 0) +
      "/1\" ! ";
  // sync=false on both: the feeder paces the frames; both sinks render on arrival.
  if (options.server == "mjpeg")
    return source + "mjpeghttpsink name=sink address=127.0.0.1 port=0 sync=false " +
           options.sink_props;
  return source + "multipartmux boundary=" + options.boundary +
         " ! tcpserversink name=sink host=127.0.0.1 port=0 sync=false " + options.sink_props;
}

bool bus_has_error(GstBus *bus) {
  GstMessage *message = gst_bus_pop_filtered(bus, GST_MESSAGE_ERROR);
  if (!message) return false;
  GError *error = nullptr;
  gchar *debug = nullptr;
  gst_message_parse_error(message, &error, &debug);
  fprintf(stderr, "feeder: pipeline error: %s (%s)\n", error->message, debug ? debug : "");
  g_error_free(error);
  g_free(debug);
  gst_message_unref(message);
  return true;
}

int serve(const Options &options) {
  std::vector<GstBuffer *> frames = encode_frames(options, options.quality);
  const size_t frame_bytes = average_size(frames) + kStampSize - 2;
  std::vector<GstMemory *> bodies = frame_bodies(frames);
  volatile uint64_t *counter = map_counter(options.counter_file);

  GError *error = nullptr;
  GstElement *pipeline = gst_parse_launch(pipeline_description(options).c_str(), &error);
  if (!pipeline) die(std::string("cannot build the server pipeline: ") + error->message);
  GstElement *src = gst_bin_get_by_name(GST_BIN(pipeline), "src");
  GstElement *sink = gst_bin_get_by_name(GST_BIN(pipeline), "sink");
  GstPad *sink_pad = gst_element_get_static_pad(sink, "sink");
  gst_pad_add_probe(sink_pad, GST_PAD_PROBE_TYPE_BUFFER, note_streaming_thread, nullptr, nullptr);
  gst_object_unref(sink_pad);
  GstBus *bus = gst_element_get_bus(pipeline);

  if (gst_element_set_state(pipeline, GST_STATE_PLAYING) == GST_STATE_CHANGE_FAILURE) {
    bus_has_error(bus);
    die("the server pipeline did not start");
  }
  PushStats stats;
  std::thread pusher(push_frames, GST_APP_SRC(src), std::cref(bodies), options.rate, counter,
                     &stats);

  sigset_t stop_signals;
  sigemptyset(&stop_signals);
  sigaddset(&stop_signals, SIGTERM);
  sigaddset(&stop_signals, SIGINT);
  const timespec slice{0, 100 * 1000 * 1000};
  bool ready = false;
  int status = 0;
  // Bounded: the runner always ends a case with SIGTERM, then SIGKILL.
  for (;;) {
    if (sigtimedwait(&stop_signals, nullptr, &slice) > 0) break;
    if (bus_has_error(bus)) {
      status = 1;
      break;
    }
    if (!ready && g_streaming_tid.load() != 0) {
      gint port = 0;
      g_object_get(sink, "current-port", &port, nullptr);
      printf("READY port=%d tid=%ld frame_bytes=%zu\n", port, g_streaming_tid.load(), frame_bytes);
      fflush(stdout);
      ready = true;
    }
  }
  g_stopping.store(true);
  // NULL unblocks a push waiting on a full appsrc queue.
  gst_element_set_state(pipeline, GST_STATE_NULL);
  pusher.join();
  fprintf(stderr, "feeder: pushed %llu frames, %llu schedule resets\n",
          static_cast<unsigned long long>(stats.pushed),
          static_cast<unsigned long long>(stats.late));
  gst_object_unref(bus);
  gst_object_unref(src);
  gst_object_unref(sink);
  gst_object_unref(pipeline);
  for (GstMemory *body : bodies) gst_memory_unref(body);
  free_frames(frames);
  return status;
}

// ---- the floor server ----

struct FloorPart {
  std::string head;  // boundary line and part headers
  uint8_t stamp[kStampSize];
  const uint8_t *body;
  size_t body_size;
};

class FloorServer {
 public:
  // senders == 0: a thread per viewer instead of one sender per core.
  FloorServer(const Options &options, unsigned senders) : boundary_(options.boundary) {
    listen_fd_ = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_in address{};
    address.sin_family = AF_INET;
    address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (bind(listen_fd_, reinterpret_cast<sockaddr *>(&address), sizeof address) != 0 ||
        listen(listen_fd_, 1024) != 0)
      die("floor: cannot listen");
    socklen_t length = sizeof address;
    getsockname(listen_fd_, reinterpret_cast<sockaddr *>(&address), &length);
    port_ = ntohs(address.sin_port);
    acceptor_ = std::thread([this] { accept_loop(); });
    for (unsigned i = 0; i < senders; i++)
      senders_.emplace_back([this, i, senders] { send_loop(i, senders); });
  }
  ~FloorServer() {
    {
      std::lock_guard<std::mutex> lock(mutex_);
      stopping_ = true;
    }
    cond_.notify_all();
    ring_viewers();
    acceptor_.join();
    for (std::thread &sender : senders_) sender.join();
    for (pthread_t viewer : viewer_threads_) pthread_join(viewer, nullptr);
    for (int fd : viewers_)
      if (fd >= 0) close(fd);
    close(listen_fd_);
  }
  int port() const { return port_; }

  // Hands a part to every sender; the previous one is dropped once all are done with it.
  void publish(std::shared_ptr<const FloorPart> part) {
    {
      std::lock_guard<std::mutex> lock(mutex_);
      part_ = std::move(part);
      generation_++;
    }
    cond_.notify_all();
    ring_viewers();
  }

 private:
  void accept_loop() {
    while (!g_stopping.load()) {
      pollfd entry{listen_fd_, POLLIN, 0};
      if (poll(&entry, 1, 100) <= 0) continue;
      int fd = accept4(listen_fd_, nullptr, nullptr, SOCK_NONBLOCK | SOCK_CLOEXEC);
      if (fd < 0) continue;
      std::lock_guard<std::mutex> lock(mutex_);
      viewers_.push_back(fd);
      if (senders_.empty()) start_viewer_thread(fd);
    }
  }

  // Under mutex_. A small stack, as mjpeghttpsink's viewer threads have.
  void start_viewer_thread(int fd) {
    struct Start {
      FloorServer *server;
      int fd;
    };
    pthread_attr_t attr;
    pthread_attr_init(&attr);
    pthread_attr_setstacksize(&attr, 256 * 1024);
    pthread_t thread;
    auto *start = new Start{this, fd};
    auto run = [](void *arg) -> void * {
      Start *s = static_cast<Start *>(arg);
      s->server->viewer_loop(s->fd);
      delete s;
      return nullptr;
    };
    if (pthread_create(&thread, &attr, run, start) == 0)
      viewer_threads_.push_back(thread);
    else
      delete start;
    pthread_attr_destroy(&attr);
  }

  // One futex wake for every viewer thread, as mjpeghttpsink's doorbell.
  void ring_viewers() {
    rings_.fetch_add(1);
    syscall(SYS_futex, &rings_, FUTEX_WAKE_PRIVATE, INT_MAX, nullptr, nullptr, 0);
  }

  void viewer_loop(int fd) {
    // Named apart from the process's other threads for profile.sh's counts.
    pthread_setname_np(pthread_self(), "floor-viewer");
    uint32_t seen = rings_.load();
    uint64_t sent_generation = 0;
    for (;;) {
      std::shared_ptr<const FloorPart> part;
      {
        std::lock_guard<std::mutex> lock(mutex_);
        if (stopping_) return;
        if (generation_ != sent_generation) {
          sent_generation = generation_;
          part = part_;
        }
      }
      if (part) {
        send_part(fd, *part);
        continue;
      }
      // The kernel sleeps only while the word still holds `seen`.
      syscall(SYS_futex, &rings_, FUTEX_WAIT_PRIVATE, seen, nullptr, nullptr, 0);
      seen = rings_.load();
    }
  }

  void send_loop(unsigned index, unsigned senders) {
    pthread_setname_np(pthread_self(), "floor-sender");
    uint64_t seen = 0;
    std::vector<int> mine;
    for (;;) {
      std::shared_ptr<const FloorPart> part;
      {
        std::unique_lock<std::mutex> lock(mutex_);
        cond_.wait(lock, [&] { return stopping_ || generation_ != seen; });
        if (stopping_) return;
        seen = generation_;
        part = part_;
        mine.clear();
        for (size_t i = index; i < viewers_.size(); i += senders) mine.push_back(viewers_[i]);
      }
      for (int fd : mine)
        if (fd >= 0) send_part(fd, *part);
    }
  }

  // One sendmsg; a viewer that cannot take the whole part at once is waited
  // for (bounded), so the stream stays well formed.
  static void send_part(int fd, const FloorPart &part) {
    static const char kTail[] = "\r\n";
    // The body is the JPEG after its SOI and the stamp starts with one, so
    // the part is SOI + COM + the rest, as the other servers send it.
    iovec iov[4] = {{const_cast<char *>(part.head.data()), part.head.size()},
                    {const_cast<uint8_t *>(part.stamp), kStampSize},
                    {const_cast<uint8_t *>(part.body), part.body_size},
                    {const_cast<char *>(kTail), 2}};
    iovec *next = iov;
    size_t count = 4;
    for (int waits = 0; count > 0 && waits < 100;) {
      msghdr message{};
      message.msg_iov = next;
      message.msg_iovlen = count;
      ssize_t sent = sendmsg(fd, &message, MSG_NOSIGNAL | MSG_DONTWAIT);
      if (sent < 0 && errno != EAGAIN) return;
      if (sent < 0) {
        pollfd entry{fd, POLLOUT, 0};
        poll(&entry, 1, 10);
        waits++;
        continue;
      }
      size_t left = static_cast<size_t>(sent);
      while (count > 0 && left >= next->iov_len) {
        left -= next->iov_len;
        next++;
        count--;
      }
      if (count > 0) {
        next->iov_base = static_cast<char *>(next->iov_base) + left;
        next->iov_len -= left;
      }
    }
  }

  std::string boundary_;
  int listen_fd_ = -1;
  int port_ = 0;
  std::thread acceptor_;
  std::vector<std::thread> senders_;
  std::mutex mutex_;
  std::condition_variable cond_;
  bool stopping_ = false;
  uint64_t generation_ = 0;
  std::shared_ptr<const FloorPart> part_;
  std::vector<int> viewers_;
  std::vector<pthread_t> viewer_threads_;
  std::atomic<uint32_t> rings_{0};
};

int serve_floor(const Options &options) {
  std::vector<GstBuffer *> frames = encode_frames(options, options.quality);
  const size_t frame_bytes = average_size(frames) + kStampSize - 2;
  std::vector<GstMemory *> bodies = frame_bodies(frames);
  std::vector<GstMapInfo> maps(bodies.size());
  for (size_t i = 0; i < bodies.size(); i++)
    if (!gst_memory_map(bodies[i], &maps[i], GST_MAP_READ)) die("cannot map a frame");
  volatile uint64_t *counter = map_counter(options.counter_file);
  const unsigned senders =
      options.server == "floor-threads" ? 0 : std::max(1u, std::thread::hardware_concurrency());
  auto server = std::make_unique<FloorServer>(options, senders);
  g_streaming_tid.store(syscall(SYS_gettid));
  printf("READY port=%d tid=%ld frame_bytes=%zu\n", server->port(), g_streaming_tid.load(),
         frame_bytes);
  fflush(stdout);

  sigset_t stop_signals;
  sigemptyset(&stop_signals);
  sigaddset(&stop_signals, SIGTERM);
  sigaddset(&stop_signals, SIGINT);
  const int64_t period = options.rate > 0 ? static_cast<int64_t>(1e9 / options.rate) : 0;
  int64_t next = clock_ns(CLOCK_MONOTONIC);
  uint64_t pushed = 0;
  size_t index = 0;
  const timespec no_wait{0, 0};
  while (sigtimedwait(&stop_signals, nullptr, &no_wait) <= 0) {
    wait_for_slot(period, &next);
    auto part = std::make_shared<FloorPart>();
    part->body = maps[index].data;
    part->body_size = maps[index].size;
    part->head = "--" + options.boundary + "\r\nContent-Type: image/jpeg\r\nContent-Length: " +
                 std::to_string(kStampSize + part->body_size) + "\r\n\r\n";
    write_stamp(part->stamp, ++pushed);
    index = (index + 1) % bodies.size();
    server->publish(std::move(part));
    if (counter) __atomic_store_n(counter, pushed, __ATOMIC_RELAXED);
  }
  g_stopping.store(true);
  server.reset();
  for (size_t i = 0; i < bodies.size(); i++) gst_memory_unmap(bodies[i], &maps[i]);
  for (GstMemory *body : bodies) gst_memory_unref(body);
  free_frames(frames);
  return 0;
}

}  // namespace

int main(int argc, char **argv) {
  // Blocked before any thread exists, so every GStreamer thread inherits the
  // mask and only sigtimedwait in main receives the stop signals.
  sigset_t stop_signals;
  sigemptyset(&stop_signals);
  sigaddset(&stop_signals, SIGTERM);
  sigaddset(&stop_signals, SIGINT);
  pthread_sigmask(SIG_BLOCK, &stop_signals, nullptr);
  gst_init(&argc, &argv);
  Options options = parse_options(argc, argv);
  if (options.calibrate) return calibrate(options);
  return options.server == "floor" || options.server == "floor-threads" ? serve_floor(options)
                                                                        : serve(options);
}
