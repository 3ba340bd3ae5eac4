// SPDX-License-Identifier: LGPL-2.1-or-later
// The stream libsoup gets for an HTTPS connection whose request head the
// request gate has already read through TLS (TLS bytes cannot be peeked at
// on the socket the way plain HTTP's are). Reading it gives that head again,
// then the rest of the connection; writing goes to the TLS connection;
// closing it closes the TLS connection and the socket under it.
//
// Pollable, like the TLS streams it wraps: libsoup reads and writes without
// blocking.
#pragma once

#include <gio/gio.h>

#include <string>

namespace mjpeghttp {

// A new stream (transfer full) over `tls` (a reference is kept), giving
// `already_read` before anything `tls` still has to give.
GIOStream *tls_request_stream_new(GIOStream *tls, std::string already_read);

}  // namespace mjpeghttp
