// SPDX-License-Identifier: LGPL-2.1-or-later
#include "engine_config.h"

#include <glib.h>

#include "http/http_access.h"
#include "http/tls_identity.h"

namespace mjpeghttp {

namespace {

bool starts_with_slash(const std::string &path) { return !path.empty() && path[0] == '/'; }

bool fail(EngineError *error, EngineError::Kind kind, std::string message) {
  error->kind = kind;
  error->message = std::move(message);
  return false;
}

// Every served path starts with '/', is not the viewer page's '/' and names
// one endpoint only.
bool distinct_paths(const MountConfig &mount) {
  const std::string *paths[] = {&mount.stream_path, &mount.snapshot_path, &mount.stats_path,
                                &mount.metrics_path};
  for (size_t i = 0; i < G_N_ELEMENTS(paths); i++) {
    if (!starts_with_slash(*paths[i]) || *paths[i] == "/") return false;
    for (size_t j = i + 1; j < G_N_ELEMENTS(paths); j++)
      if (*paths[i] == *paths[j]) return false;
  }
  return true;
}

}  // namespace

bool EngineConfig::check(EngineError *error) {
  using Kind = EngineError::Kind;
  if (!distinct_paths(mount))
    return fail(error, Kind::kSettings,
                "Invalid paths: stream-path '" + mount.stream_path + "', snapshot-path '" +
                    mount.snapshot_path + "', stats-path '" + mount.stats_path +
                    "' and metrics-path '" + mount.metrics_path +
                    "' must start with '/', differ from each other and from '/'");
  std::string normalized;
  if (!normalize_mount(mount.mount, &normalized))
    return fail(error, Kind::kSettings,
                "Invalid mount '" + mount.mount +
                    "': it must be \"/\" or a path such as \"/cam1\" (letters, digits, '-', "
                    "'_', '.', '~' between slashes)");
  mount.mount = normalized;

  AccessConfig &access = server.access;
  if (access.user.empty() && !access.password.empty())
    return fail(error, Kind::kSettings,
                "auth-password is set but auth-user is empty: set both to require HTTP Basic "
                "authentication");
  access.exempt_paths = split_list(auth_exempt_paths);
  for (const std::string &path : access.exempt_paths) {
    if (!starts_with_slash(path))
      return fail(error, Kind::kSettings,
                  "Invalid auth-exempt-paths '" + auth_exempt_paths + "': '" + path +
                      "' does not start with '/'");
  }
  // It goes into a response header as it is.
  for (char c : access.allow_origin) {
    if (!g_ascii_isprint(c))
      return fail(error, Kind::kSettings,
                  "Invalid allow-origin: only printable ASCII may go into a header");
  }

  server.tls_certificate.reset();
  if (tls_certificate_file.empty() && tls_key_file.empty()) return true;
  TlsLoadError tls_error;
  server.tls_certificate = load_tls_identity(tls_certificate_file, tls_key_file, &tls_error);
  if (!server.tls_certificate)
    return fail(
        error,
        tls_error.kind == TlsLoadError::Kind::kUnreadable ? Kind::kUnreadable : Kind::kSettings,
        tls_error.message);
  return true;
}

}  // namespace mjpeghttp
