// SPDX-License-Identifier: LGPL-2.1-or-later
// Who may use the HTTP server and from which web origins: HTTP Basic
// authentication (a libsoup auth domain) and CORS headers and preflight
// answers. Used on the HTTP thread only.
#pragma once

#include <libsoup/soup.h>

#include <string>
#include <vector>

namespace mjpeghttp {

// How credentials travel: Basic (the password itself, so only over HTTPS
// on an open network) or Digest (RFC 2617 through libsoup's digest domain:
// a hash, for clients such as Home Assistant's MJPEG camera that offer it).
enum class AuthMethod { kBasic, kDigest };

struct AccessConfig {
  // Basic authentication is required when `user` is not empty.
  std::string user;
  std::string password;
  AuthMethod method = AuthMethod::kBasic;
  // Paths served without authentication, each with what lies under it at a
  // '/' boundary (e.g. "/cam1" covers "/cam1/snapshot", not "/cam10").
  std::vector<std::string> exempt_paths;
  // Value of Access-Control-Allow-Origin; empty = no CORS headers at all.
  std::string allow_origin;

  bool auth_required() const { return !user.empty(); }
  bool cors_enabled() const { return !allow_origin.empty(); }
};

// The realm browsers show in their password prompt.
constexpr const char *kAuthRealm = "mjpeghttpsink";

// A Basic auth domain covering every path but the exempt ones, or nullptr
// when no authentication is configured. The caller adds it to its server and
// unrefs it.
SoupAuthDomain *new_basic_auth_domain(const AccessConfig &config);

// The domain for `config.method` (see new_basic_auth_domain); a client using
// the other method gets 401.
SoupAuthDomain *new_auth_domain(const AccessConfig &config);

// Adds Access-Control-Allow-Origin (and Vary: Origin when the allowed origin
// is not "*") to the response, when CORS is enabled.
void set_cors_headers(SoupServerMessage *msg, const AccessConfig &config);

// Answers a CORS preflight (OPTIONS) request with 204 and the methods,
// headers and cache time a browser needs before its real request.
void reply_cors_preflight(SoupServerMessage *msg);

// True when `path` (as libsoup routes it: decoded, without dot segments) is
// one of `exempt_paths` or lies under one of them at a '/' boundary.
bool path_is_exempt(const std::string &path, const std::vector<std::string> &exempt_paths);

// Splits a comma-separated list, trimming blanks and dropping empty items.
std::vector<std::string> split_list(const std::string &text);

// Compares two secrets in time that depends on neither their contents nor
// where they first differ (both are hashed first, so not on their lengths
// either).
bool secrets_equal(const std::string &a, const std::string &b);

}  // namespace mjpeghttp
