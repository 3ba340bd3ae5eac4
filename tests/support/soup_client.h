// SPDX-License-Identifier: LGPL-2.1-or-later
// libsoup 3 as the client: an independent HTTP and multipart implementation
// to check the element's server against.
#pragma once

#include <gio/gio.h>
#include <libsoup/soup.h>

#include <condition_variable>
#include <map>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "http_head.h"
#include "jpeg_frames.h"

namespace test_support {

struct SoupReply {
  bool sent = false;  // a response arrived
  std::string error;  // why not, when !sent
  unsigned status = 0;
  std::map<std::string, std::string> headers;  // names in lower case
  Bytes body;

  std::string header(const std::string &name) const;
};

// One request with the synchronous API on the calling thread.
SoupReply soup_fetch(int port, const char *method, const std::string &path);

// Sends `message` on `session` and reads the whole answer, synchronously.
SoupReply soup_send_and_read(SoupSession *session, SoupMessage *message);

// The status and headers (names in lower case) of an answered message.
void soup_copy_head(SoupMessage *message, SoupReply *reply);

// Reads `wanted` parts of an MJPEG stream with SoupSession and
// SoupMultipartInputStream on a thread of its own (the session, with the
// sync API, belongs to that thread).
class SoupStreamReader {
 public:
  SoupStreamReader(int port, const std::string &path, size_t wanted);
  ~SoupStreamReader();
  SoupStreamReader(const SoupStreamReader &) = delete;
  SoupStreamReader &operator=(const SoupStreamReader &) = delete;

  // True once the response head has arrived (status and headers readable).
  bool await_head(int timeout_ms);
  // True once `wanted` parts were read, or the reading stopped early.
  bool await_done(int timeout_ms);
  SoupReply head() const;
  std::vector<Bytes> parts() const;
  std::vector<std::string> part_content_types() const;
  std::string error() const;

 private:
  void run(int port, std::string path);

  GCancellable *cancellable_;
  size_t wanted_;
  std::thread thread_;

  mutable std::mutex mutex_;
  std::condition_variable changed_;
  bool head_ready_ = false;
  bool done_ = false;
  SoupReply head_;
  std::vector<Bytes> parts_;
  std::vector<std::string> part_types_;
  std::string error_;
};

}  // namespace test_support
