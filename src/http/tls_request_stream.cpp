// SPDX-License-Identifier: LGPL-2.1-or-later
#include "http/tls_request_stream.h"

#include <algorithm>
#include <cstring>

namespace mjpeghttp {

namespace {

struct MjpeghttpReplayInputStream {
  GInputStream parent;
  GInputStream *base;
  // Heap-allocated: GObject allocates the instance with C semantics.
  std::string *replay;
  size_t offset;
};

struct MjpeghttpReplayInputStreamClass {
  GInputStreamClass parent_class;
};

void replay_pollable_init(GPollableInputStreamInterface *iface);

G_DEFINE_TYPE_WITH_CODE(MjpeghttpReplayInputStream, mjpeghttp_replay_input_stream,
                        G_TYPE_INPUT_STREAM,
                        G_IMPLEMENT_INTERFACE(G_TYPE_POLLABLE_INPUT_STREAM, replay_pollable_init))

#define MJPEGHTTP_REPLAY_INPUT_STREAM(o)                                     \
  (G_TYPE_CHECK_INSTANCE_CAST((o), mjpeghttp_replay_input_stream_get_type(), \
                              MjpeghttpReplayInputStream))

size_t replay_left(const MjpeghttpReplayInputStream *self) {
  return self->replay->size() - self->offset;
}

gssize take_replay(MjpeghttpReplayInputStream *self, void *buffer, gsize count) {
  const size_t n = std::min<size_t>(count, replay_left(self));
  memcpy(buffer, self->replay->data() + self->offset, n);
  self->offset += n;
  return static_cast<gssize>(n);
}

gssize replay_read(GInputStream *stream, void *buffer, gsize count, GCancellable *cancellable,
                   GError **error) {
  auto *self = MJPEGHTTP_REPLAY_INPUT_STREAM(stream);
  if (replay_left(self) > 0) return take_replay(self, buffer, count);
  return g_input_stream_read(self->base, buffer, count, cancellable, error);
}

gboolean replay_close(GInputStream *stream, GCancellable *cancellable, GError **error) {
  return g_input_stream_close(MJPEGHTTP_REPLAY_INPUT_STREAM(stream)->base, cancellable, error);
}

gboolean replay_can_poll(GPollableInputStream *stream) {
  auto *self = MJPEGHTTP_REPLAY_INPUT_STREAM(stream);
  return G_IS_POLLABLE_INPUT_STREAM(self->base) &&
         g_pollable_input_stream_can_poll(G_POLLABLE_INPUT_STREAM(self->base));
}

gboolean replay_is_readable(GPollableInputStream *stream) {
  auto *self = MJPEGHTTP_REPLAY_INPUT_STREAM(stream);
  return replay_left(self) > 0 ||
         g_pollable_input_stream_is_readable(G_POLLABLE_INPUT_STREAM(self->base));
}

GSource *replay_create_source(GPollableInputStream *stream, GCancellable *cancellable) {
  auto *self = MJPEGHTTP_REPLAY_INPUT_STREAM(stream);
  // Bytes still to replay are readable at once; after them, readiness is
  // the base stream's.
  GSource *child = replay_left(self) > 0 ? g_timeout_source_new(0)
                                         : g_pollable_input_stream_create_source(
                                               G_POLLABLE_INPUT_STREAM(self->base), nullptr);
  GSource *source = g_pollable_source_new_full(stream, child, cancellable);
  g_source_unref(child);
  return source;
}

gssize replay_read_nonblocking(GPollableInputStream *stream, void *buffer, gsize count,
                               GError **error) {
  auto *self = MJPEGHTTP_REPLAY_INPUT_STREAM(stream);
  if (replay_left(self) > 0) return take_replay(self, buffer, count);
  return g_pollable_input_stream_read_nonblocking(G_POLLABLE_INPUT_STREAM(self->base), buffer,
                                                  count, nullptr, error);
}

void replay_pollable_init(GPollableInputStreamInterface *iface) {
  iface->can_poll = replay_can_poll;
  iface->is_readable = replay_is_readable;
  iface->create_source = replay_create_source;
  iface->read_nonblocking = replay_read_nonblocking;
}

void mjpeghttp_replay_input_stream_finalize(GObject *object) {
  auto *self = MJPEGHTTP_REPLAY_INPUT_STREAM(object);
  g_object_unref(self->base);
  delete self->replay;
  G_OBJECT_CLASS(mjpeghttp_replay_input_stream_parent_class)->finalize(object);
}

void mjpeghttp_replay_input_stream_class_init(MjpeghttpReplayInputStreamClass *klass) {
  G_OBJECT_CLASS(klass)->finalize = mjpeghttp_replay_input_stream_finalize;
  G_INPUT_STREAM_CLASS(klass)->read_fn = replay_read;
  G_INPUT_STREAM_CLASS(klass)->close_fn = replay_close;
}

void mjpeghttp_replay_input_stream_init(MjpeghttpReplayInputStream *self) {
  self->base = nullptr;
  self->replay = nullptr;
  self->offset = 0;
}

GInputStream *replay_input_stream_new(GInputStream *base, std::string already_read) {
  auto *self = MJPEGHTTP_REPLAY_INPUT_STREAM(
      g_object_new(mjpeghttp_replay_input_stream_get_type(), nullptr));
  self->base = G_INPUT_STREAM(g_object_ref(base));
  self->replay = new std::string(std::move(already_read));
  return G_INPUT_STREAM(self);
}

// The TLS connection's own streams hold it only weakly: this stream keeps it
// alive for as long as libsoup (or a viewer) holds the stream.
struct MjpeghttpTlsRequestStream {
  GIOStream parent;
  GIOStream *tls;
  GInputStream *input;
};

struct MjpeghttpTlsRequestStreamClass {
  GIOStreamClass parent_class;
};

G_DEFINE_TYPE(MjpeghttpTlsRequestStream, mjpeghttp_tls_request_stream, G_TYPE_IO_STREAM)

#define MJPEGHTTP_TLS_REQUEST_STREAM(o)                                     \
  (G_TYPE_CHECK_INSTANCE_CAST((o), mjpeghttp_tls_request_stream_get_type(), \
                              MjpeghttpTlsRequestStream))

GInputStream *request_stream_input(GIOStream *stream) {
  return MJPEGHTTP_TLS_REQUEST_STREAM(stream)->input;
}

GOutputStream *request_stream_output(GIOStream *stream) {
  return g_io_stream_get_output_stream(MJPEGHTTP_TLS_REQUEST_STREAM(stream)->tls);
}

gboolean request_stream_close(GIOStream *stream, GCancellable *cancellable, GError **error) {
  // Closing the TLS connection (not its two streams one by one) is what
  // closes the socket under it.
  return g_io_stream_close(MJPEGHTTP_TLS_REQUEST_STREAM(stream)->tls, cancellable, error);
}

void request_stream_finalize(GObject *object) {
  auto *self = MJPEGHTTP_TLS_REQUEST_STREAM(object);
  g_object_unref(self->input);
  g_object_unref(self->tls);
  G_OBJECT_CLASS(mjpeghttp_tls_request_stream_parent_class)->finalize(object);
}

void mjpeghttp_tls_request_stream_class_init(MjpeghttpTlsRequestStreamClass *klass) {
  G_OBJECT_CLASS(klass)->finalize = request_stream_finalize;
  G_IO_STREAM_CLASS(klass)->get_input_stream = request_stream_input;
  G_IO_STREAM_CLASS(klass)->get_output_stream = request_stream_output;
  G_IO_STREAM_CLASS(klass)->close_fn = request_stream_close;
}

void mjpeghttp_tls_request_stream_init(MjpeghttpTlsRequestStream *self) {
  self->tls = nullptr;
  self->input = nullptr;
}

}  // namespace

GIOStream *tls_request_stream_new(GIOStream *tls, std::string already_read) {
  auto *self =
      MJPEGHTTP_TLS_REQUEST_STREAM(g_object_new(mjpeghttp_tls_request_stream_get_type(), nullptr));
  self->tls = G_IO_STREAM(g_object_ref(tls));
  self->input = replay_input_stream_new(g_io_stream_get_input_stream(tls), std::move(already_read));
  return G_IO_STREAM(self);
}

}  // namespace mjpeghttp
