// SPDX-License-Identifier: LGPL-2.1-or-later
#include "access_client.h"

#include <gio/gio.h>
#include <libsoup/soup.h>

namespace access_test {

namespace {

// Bounds every read of a client: a hang becomes an error, well within the
// check framework's own timeout.
constexpr guint kTimeoutS = 15;

SoupSession *new_session(const RequestOptions &options, std::string *error) {
  SoupSession *session = soup_session_new_with_options("timeout", kTimeoutS, nullptr);
  if (!options.ca_file.empty()) {
    GError *err = nullptr;
    GTlsDatabase *database = g_tls_file_database_new(options.ca_file.c_str(), &err);
    if (!database) {
      *error = std::string("cannot load CA file: ") + err->message;
      g_clear_error(&err);
      g_object_unref(session);
      return nullptr;
    }
    soup_session_set_tls_database(session, database);
    g_object_unref(database);
  }
  return session;
}

SoupMessage *new_message(const std::string &url, const RequestOptions &options) {
  SoupMessage *message = soup_message_new(options.method.c_str(), url.c_str());
  if (!message) return nullptr;
  SoupMessageHeaders *headers = soup_message_get_request_headers(message);
  for (const auto &header : options.headers)
    soup_message_headers_replace(headers, header.first.c_str(), header.second.c_str());
  return message;
}

}  // namespace

std::string basic_authorization(const std::string &user, const std::string &password) {
  const std::string pair = user + ":" + password;
  gchar *encoded = g_base64_encode(reinterpret_cast<const guchar *>(pair.data()), pair.size());
  std::string header = std::string("Basic ") + encoded;
  g_free(encoded);
  return header;
}

SoupReply soup_request(const std::string &url, const RequestOptions &options) {
  SoupReply reply;
  SoupSession *session = new_session(options, &reply.error);
  if (!session) return reply;
  SoupMessage *message = new_message(url, options);
  if (!message) {
    reply.error = "bad URL " + url;
    g_object_unref(session);
    return reply;
  }
  reply = test_support::soup_send_and_read(session, message);
  g_object_unref(message);
  g_object_unref(session);
  return reply;
}

std::vector<Bytes> soup_read_parts(const std::string &url, size_t wanted,
                                   const RequestOptions &options, SoupReply *head,
                                   std::string *error) {
  std::vector<Bytes> parts;
  SoupSession *session = new_session(options, error);
  if (!session) return parts;
  SoupMessage *message = new_message(url, options);
  GError *err = nullptr;
  GInputStream *body = soup_session_send(session, message, nullptr, &err);
  if (body) {
    test_support::soup_copy_head(message, head);
    SoupMultipartInputStream *multipart = soup_multipart_input_stream_new(message, body);
    while (parts.size() < wanted && !err) {
      GInputStream *part = soup_multipart_input_stream_next_part(multipart, nullptr, &err);
      if (!part) break;
      Bytes bytes;
      char chunk[16384];
      gssize n;
      while ((n = g_input_stream_read(part, chunk, sizeof chunk, nullptr, &err)) > 0)
        bytes.append(chunk, static_cast<size_t>(n));
      g_object_unref(part);
      if (n < 0) break;
      parts.push_back(std::move(bytes));
    }
    g_object_unref(multipart);
    g_object_unref(body);
  }
  if (err)
    *error = err->message;
  else if (parts.size() < wanted)
    *error = "the stream ended after " + std::to_string(parts.size()) + " parts";
  g_clear_error(&err);
  g_object_unref(message);
  g_object_unref(session);
  return parts;
}

std::string raw_exchange(const std::string &host, int port, const std::string &request,
                         size_t limit) {
  test_support::RawSocket socket(test_support::Endpoint::at(host, port));
  if (!socket.ok() || !socket.send_all(request)) return "";
  socket.read_until("", test_support::deadline_in(test_support::kAwaitMs), limit);
  return socket.received();
}

bool contains_jpeg_start(const std::string &bytes) {
  return bytes.find("\xff\xd8") != std::string::npos;
}

}  // namespace access_test
