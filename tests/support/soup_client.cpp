// SPDX-License-Identifier: LGPL-2.1-or-later
#include "soup_client.h"

#include <libsoup/soup.h>

namespace test_support {

namespace {

// Bounds every socket read of the client: a hang becomes an error.
constexpr guint kSessionTimeoutS = 15;

std::string url_for(int port, const std::string &path) {
  return "http://127.0.0.1:" + std::to_string(port) + path;
}

}  // namespace

void soup_copy_head(SoupMessage *message, SoupReply *reply) {
  reply->sent = true;
  reply->status = soup_message_get_status(message);
  soup_message_headers_foreach(
      soup_message_get_response_headers(message),
      [](const char *name, const char *value, gpointer data) {
        auto *headers = static_cast<std::map<std::string, std::string> *>(data);
        std::string &slot = (*headers)[lower_case(name)];
        // Repeated headers are joined as HTTP allows, so a duplicate shows.
        slot = slot.empty() ? value : slot + ", " + value;
      },
      &reply->headers);
}

namespace {

bool read_all(GInputStream *stream, Bytes *out, GCancellable *cancellable, GError **error) {
  char chunk[16384];
  for (;;) {
    gssize n = g_input_stream_read(stream, chunk, sizeof chunk, cancellable, error);
    if (n < 0) return false;
    if (n == 0) return true;
    out->append(chunk, static_cast<size_t>(n));
  }
}

}  // namespace

std::string SoupReply::header(const std::string &name) const {
  auto it = headers.find(lower_case(name));
  return it == headers.end() ? "" : it->second;
}

SoupReply soup_fetch(int port, const char *method, const std::string &path) {
  SoupSession *session = soup_session_new_with_options("timeout", kSessionTimeoutS, nullptr);
  SoupMessage *message = soup_message_new(method, url_for(port, path).c_str());
  SoupReply reply = soup_send_and_read(session, message);
  g_object_unref(message);
  g_object_unref(session);
  return reply;
}

SoupReply soup_send_and_read(SoupSession *session, SoupMessage *message) {
  SoupReply reply;
  GError *error = nullptr;
  GBytes *body = soup_session_send_and_read(session, message, nullptr, &error);
  if (body) {
    soup_copy_head(message, &reply);
    gsize size = 0;
    const char *data = static_cast<const char *>(g_bytes_get_data(body, &size));
    reply.body.assign(data ? data : "", size);
    g_bytes_unref(body);
  } else {
    reply.error = error ? error->message : "unknown error";
  }
  g_clear_error(&error);
  return reply;
}

SoupStreamReader::SoupStreamReader(int port, const std::string &path, size_t wanted)
    : cancellable_(g_cancellable_new()), wanted_(wanted) {
  thread_ = std::thread([this, port, path] { run(port, path); });
}

SoupStreamReader::~SoupStreamReader() {
  g_cancellable_cancel(cancellable_);
  thread_.join();
  g_object_unref(cancellable_);
}

void SoupStreamReader::run(int port, std::string path) {
  SoupSession *session = soup_session_new_with_options("timeout", kSessionTimeoutS, nullptr);
  SoupMessage *message = soup_message_new("GET", url_for(port, path).c_str());
  GError *error = nullptr;
  GInputStream *body = soup_session_send(session, message, cancellable_, &error);
  {
    std::lock_guard<std::mutex> lock(mutex_);
    if (body) soup_copy_head(message, &head_);
    head_ready_ = true;
    changed_.notify_all();
  }
  if (body) {
    SoupMultipartInputStream *multipart = soup_multipart_input_stream_new(message, body);
    for (size_t i = 0; i < wanted_ && !error; i++) {
      GInputStream *part = soup_multipart_input_stream_next_part(multipart, cancellable_, &error);
      if (!part) break;
      Bytes bytes;
      SoupMessageHeaders *part_headers = soup_multipart_input_stream_get_headers(multipart);
      const char *type =
          part_headers ? soup_message_headers_get_one(part_headers, "Content-Type") : nullptr;
      bool complete = read_all(part, &bytes, cancellable_, &error);
      g_object_unref(part);
      if (!complete) break;
      std::lock_guard<std::mutex> lock(mutex_);
      parts_.push_back(std::move(bytes));
      part_types_.push_back(type ? type : "");
      changed_.notify_all();
    }
    g_object_unref(multipart);
    g_object_unref(body);
  }
  std::lock_guard<std::mutex> lock(mutex_);
  if (error)
    error_ = error->message;
  else if (parts_.size() < wanted_)
    error_ = "the stream ended after " + std::to_string(parts_.size()) + " parts";
  g_clear_error(&error);
  done_ = true;
  changed_.notify_all();
  // The session goes on the thread that used it.
  g_object_unref(message);
  g_object_unref(session);
}

bool SoupStreamReader::await_head(int timeout_ms) {
  std::unique_lock<std::mutex> lock(mutex_);
  return changed_.wait_for(lock, std::chrono::milliseconds(timeout_ms), [&] {
    return head_ready_;
  }) && head_.sent;
}

bool SoupStreamReader::await_done(int timeout_ms) {
  std::unique_lock<std::mutex> lock(mutex_);
  return changed_.wait_for(lock, std::chrono::milliseconds(timeout_ms), [&] { return done_; });
}

SoupReply SoupStreamReader::head() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return head_;
}

std::vector<Bytes> SoupStreamReader::parts() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return parts_;
}

std::vector<std::string> SoupStreamReader::part_content_types() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return part_types_;
}

std::string SoupStreamReader::error() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return error_;
}

}  // namespace test_support
