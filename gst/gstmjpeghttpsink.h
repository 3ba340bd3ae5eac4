// SPDX-License-Identifier: LGPL-2.1-or-later
// mjpeghttpsink: serves the JPEG buffers it renders as a live MJPEG stream
// over HTTP. The element maps GStreamer onto the engine in src/: properties,
// signals, caps, state changes, and each GstBuffer to an engine frame that
// borrows the buffer's memories.
#pragma once

#include <gst/base/gstbasesink.h>
#include <gst/gst.h>

G_BEGIN_DECLS

#define GST_TYPE_MJPEG_HTTP_SINK (gst_mjpeg_http_sink_get_type())
G_DECLARE_FINAL_TYPE(GstMjpegHttpSink, gst_mjpeg_http_sink, GST, MJPEG_HTTP_SINK, GstBaseSink)

#define GST_TYPE_MJPEG_HTTP_SINK_QUEUE_POLICY (gst_mjpeg_http_sink_queue_policy_get_type())
GType gst_mjpeg_http_sink_queue_policy_get_type(void);

// Why a viewer left: the client-removed-with-reason signal's argument.
#define GST_TYPE_MJPEG_HTTP_SINK_LEAVE_REASON (gst_mjpeg_http_sink_leave_reason_get_type())
GType gst_mjpeg_http_sink_leave_reason_get_type(void);
#define GST_TYPE_MJPEG_HTTP_SINK_AUTH_METHOD (gst_mjpeg_http_sink_auth_method_get_type())
GType gst_mjpeg_http_sink_auth_method_get_type(void);

GST_ELEMENT_REGISTER_DECLARE(mjpeghttpsink);

G_END_DECLS
