// SPDX-License-Identifier: LGPL-2.1-or-later
// The server's TLS identity: a certificate and its private key loaded from
// PEM files at start, and proven to belong together before any viewer
// connects. Called from the element's state change; no thread of its own
// outlives the call.
#pragma once

#include <gio/gio.h>

#include <memory>
#include <string>

namespace mjpeghttp {

using TlsCertificatePtr = std::shared_ptr<GTlsCertificate>;

struct TlsLoadError {
  // kUnreadable: a file is missing or cannot be read; kInvalid: the files
  // (or the settings naming them) are wrong.
  enum class Kind { kUnreadable, kInvalid } kind = Kind::kInvalid;
  std::string message;  // names the file and the reason
};

// Loads `certificate_file` (PEM, optionally followed by its chain) and
// `key_file` (PEM). Returns nullptr with `error` filled when either is
// missing, unreadable or not PEM, or when the key does not match the
// certificate (checked with a TLS handshake over a local socket pair, since
// GIO accepts a mismatched pair and only the first real client would fail).
TlsCertificatePtr load_tls_identity(const std::string &certificate_file,
                                    const std::string &key_file, TlsLoadError *error);

}  // namespace mjpeghttp
