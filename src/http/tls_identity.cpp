// SPDX-License-Identifier: LGPL-2.1-or-later
#include "http/tls_identity.h"

#include <sys/socket.h>
#include <unistd.h>

namespace mjpeghttp {

namespace {

// A handshake between two ends in this process takes milliseconds; this
// only bounds a broken TLS backend.
constexpr gint64 kHandshakeLimitUs = 5 * G_USEC_PER_SEC;

TlsCertificatePtr adopt(GTlsCertificate *certificate) {
  return TlsCertificatePtr(certificate, [](GTlsCertificate *c) {
    if (c) g_object_unref(c);
  });
}

bool readable(const std::string &path, TlsLoadError *error) {
  gchar *contents = nullptr;
  GError *err = nullptr;
  const bool ok = g_file_get_contents(path.c_str(), &contents, nullptr, &err);
  g_free(contents);
  if (!ok) {
    error->kind = TlsLoadError::Kind::kUnreadable;
    error->message = "Cannot read '" + path + "': " + err->message;
  }
  g_clear_error(&err);
  return ok;
}

GIOStream *stream_for_fd(int fd) {
  GSocket *socket = g_socket_new_from_fd(fd, nullptr);
  if (!socket) {
    close(fd);
    return nullptr;
  }
  GSocketConnection *connection = g_socket_connection_factory_create_connection(socket);
  g_object_unref(socket);
  return G_IO_STREAM(connection);
}

// Makes both ends see end-of-file, which ends any handshake still waiting.
void cut(GIOStream *end) {
  g_socket_shutdown(g_socket_connection_get_socket(G_SOCKET_CONNECTION(end)), TRUE, TRUE, nullptr);
}

struct Handshake {
  bool done = false;
  GError *error = nullptr;
};

void on_handshake_done(GObject *connection, GAsyncResult *result, gpointer data) {
  auto *handshake = static_cast<Handshake *>(data);
  g_tls_connection_handshake_finish(G_TLS_CONNECTION(connection), result, &handshake->error);
  handshake->done = true;
}

// Runs a TLS handshake between a server using `certificate` and a client
// that accepts any certificate; a key that does not match the certificate
// makes it fail. Returns the reason, or "" when it succeeded.
std::string handshake_with_self(GTlsCertificate *certificate) {
  int fds[2];
  if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, fds) != 0)
    return "cannot create a socket pair to test them";
  GIOStream *server_end = stream_for_fd(fds[0]);
  GIOStream *client_end = stream_for_fd(fds[1]);
  if (!server_end || !client_end) {
    if (server_end) g_object_unref(server_end);
    if (client_end) g_object_unref(client_end);
    return "cannot create a socket pair to test them";
  }

  std::string reason;
  GError *err = nullptr;
  GIOStream *server = g_tls_server_connection_new(server_end, certificate, &err);
  GIOStream *client = server ? g_tls_client_connection_new(client_end, nullptr, &err) : nullptr;
  if (!server || !client) {
    reason = std::string("no TLS support: ") + (err ? err->message : "unknown error");
  } else {
    // Only the key is under test here, not who signed the certificate.
    g_signal_connect(client, "accept-certificate",
                     G_CALLBACK(+[](GTlsConnection *, GTlsCertificate *, GTlsCertificateFlags,
                                    gpointer) -> gboolean { return TRUE; }),
                     nullptr);
    GMainContext *context = g_main_context_new();
    g_main_context_push_thread_default(context);
    // On the heap: if the backend never calls back, the callbacks must not
    // find a dead stack frame (they are then leaked, which never happens
    // with a working backend).
    auto *server_side = new Handshake;
    auto *client_side = new Handshake;
    g_tls_connection_handshake_async(G_TLS_CONNECTION(server), G_PRIORITY_DEFAULT, nullptr,
                                     &on_handshake_done, server_side);
    g_tls_connection_handshake_async(G_TLS_CONNECTION(client), G_PRIORITY_DEFAULT, nullptr,
                                     &on_handshake_done, client_side);
    const gint64 deadline = g_get_monotonic_time() + kHandshakeLimitUs;
    bool gave_up = false;
    while (!(server_side->done && client_side->done)) {
      const bool failed =
          (server_side->done && server_side->error) || (client_side->done && client_side->error);
      // One side failing leaves the other waiting for bytes that never come.
      if (failed || (!gave_up && g_get_monotonic_time() >= deadline)) {
        gave_up = gave_up || !failed;
        cut(server_end);
        cut(client_end);
      }
      if (g_get_monotonic_time() >= deadline + kHandshakeLimitUs) break;
      if (!g_main_context_iteration(context, FALSE)) g_usleep(1000);
    }
    if (!(server_side->done && client_side->done)) {
      reason = "a test TLS handshake did not finish";
    } else {
      if (gave_up)
        reason = "a test TLS handshake did not finish";
      else if (server_side->error || client_side->error)
        reason = (client_side->error ? client_side->error : server_side->error)->message;
      g_clear_error(&server_side->error);
      g_clear_error(&client_side->error);
      delete server_side;
      delete client_side;
    }
    g_main_context_pop_thread_default(context);
    g_main_context_unref(context);
  }
  g_clear_error(&err);
  if (server) g_object_unref(server);
  if (client) g_object_unref(client);
  g_object_unref(server_end);
  g_object_unref(client_end);
  return reason;
}

}  // namespace

TlsCertificatePtr load_tls_identity(const std::string &certificate_file,
                                    const std::string &key_file, TlsLoadError *error) {
  if (certificate_file.empty() != key_file.empty()) {
    error->kind = TlsLoadError::Kind::kInvalid;
    error->message =
        certificate_file.empty()
            ? "tls-key-file '" + key_file + "' is set but tls-certificate-file is not"
            : "tls-certificate-file '" + certificate_file + "' is set but tls-key-file is not";
    return nullptr;
  }
  if (!readable(certificate_file, error) || !readable(key_file, error)) return nullptr;

  GError *err = nullptr;
  GTlsCertificate *certificate = g_tls_certificate_new_from_file(certificate_file.c_str(), &err);
  if (!certificate) {
    error->kind = TlsLoadError::Kind::kInvalid;
    error->message = "Invalid certificate '" + certificate_file + "': " + err->message;
    g_clear_error(&err);
    return nullptr;
  }
  g_object_unref(certificate);
  certificate = g_tls_certificate_new_from_files(certificate_file.c_str(), key_file.c_str(), &err);
  if (!certificate) {
    error->kind = TlsLoadError::Kind::kInvalid;
    error->message = "Invalid private key '" + key_file + "': " + err->message;
    g_clear_error(&err);
    return nullptr;
  }
  TlsCertificatePtr identity = adopt(certificate);
  const std::string reason = handshake_with_self(certificate);
  if (!reason.empty()) {
    error->kind = TlsLoadError::Kind::kInvalid;
    error->message = "The private key '" + key_file + "' does not match the certificate '" +
                     certificate_file + "' (" + reason + ")";
    return nullptr;
  }
  return identity;
}

}  // namespace mjpeghttp
