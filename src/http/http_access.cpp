// SPDX-License-Identifier: LGPL-2.1-or-later
#include "http/http_access.h"

#include <cstring>

namespace mjpeghttp {

namespace {

// Browsers cache a preflight answer this many seconds (Chromium caps it at
// 7200, Firefox at 86400), saving a round trip per request.
constexpr const char *kPreflightMaxAgeS = "600";

struct Credentials {
  std::string user;
  std::string password;
};

gboolean check_password(SoupAuthDomain *, SoupServerMessage *, const char *user,
                        const char *password, gpointer data) {
  const auto *expected = static_cast<const Credentials *>(data);
  // Both compared, always, so the time taken does not tell which was wrong.
  const bool user_ok = secrets_equal(user ? user : "", expected->user);
  const bool password_ok = secrets_equal(password ? password : "", expected->password);
  return user_ok && password_ok;
}

// What the auth domain's filter needs to decide, owned by the domain.
struct Exemptions {
  std::vector<std::string> paths;
  bool cors = false;
};

// libsoup's own path list cannot express exempt paths: its lookup is a plain
// string prefix, so removing "/cam1" from it also removed "/cam10". The
// filter decides instead, on the path libsoup routes the request by (already
// percent-decoded and free of dot segments when the filter runs), so no
// other spelling of a covered path reaches a handler without credentials.
gboolean requires_auth(SoupAuthDomain *, SoupServerMessage *msg, gpointer data) {
  const auto *exemptions = static_cast<const Exemptions *>(data);
  // A browser sends its CORS preflight without credentials, so when CORS is
  // enabled an OPTIONS request must get through to be answered.
  if (exemptions->cors && strcmp(soup_server_message_get_method(msg), SOUP_METHOD_OPTIONS) == 0)
    return false;
  const char *path = g_uri_get_path(soup_server_message_get_uri(msg));
  return !path_is_exempt(path ? path : "", exemptions->paths);
}

// Both methods guard every path and let the filter exempt what the exempt
// list and CORS preflights need: one rule, whichever method is asked for.
void guard_all_but_exempt(SoupAuthDomain *domain, const AccessConfig &config) {
  soup_auth_domain_add_path(domain, "/");
  soup_auth_domain_set_filter(domain, &requires_auth,
                              new Exemptions{config.exempt_paths, config.cors_enabled()},
                              [](gpointer data) { delete static_cast<Exemptions *>(data); });
}

// A header list as a browser sends it in Access-Control-Request-Headers:
// tokens, commas and blanks only, so echoing it cannot inject anything.
bool is_header_list(const char *text) {
  if (!text || !*text) return false;
  for (const char *c = text; *c; c++) {
    if (!g_ascii_isalnum(*c) && !strchr("-_, \t", *c)) return false;
  }
  return true;
}

}  // namespace

SoupAuthDomain *new_basic_auth_domain(const AccessConfig &config) {
  if (!config.auth_required()) return nullptr;
  SoupAuthDomain *domain = soup_auth_domain_basic_new("realm", kAuthRealm, nullptr);
  guard_all_but_exempt(domain, config);
  soup_auth_domain_basic_set_auth_callback(
      domain, &check_password, new Credentials{config.user, config.password},
      [](gpointer data) { delete static_cast<Credentials *>(data); });
  return domain;
}

namespace {

// libsoup asks for the hash of "user:realm:password" of the user the client
// names, and compares it with the client's response itself.
char *digest_password(SoupAuthDomain *, SoupServerMessage *, const char *user, gpointer data) {
  const auto *expected = static_cast<const Credentials *>(data);
  if (!secrets_equal(user ? user : "", expected->user)) return nullptr;
  return soup_auth_domain_digest_encode_password(expected->user.c_str(), kAuthRealm,
                                                 expected->password.c_str());
}

SoupAuthDomain *new_digest_auth_domain(const AccessConfig &config) {
  SoupAuthDomain *domain = soup_auth_domain_digest_new("realm", kAuthRealm, nullptr);
  guard_all_but_exempt(domain, config);
  soup_auth_domain_digest_set_auth_callback(
      domain, &digest_password, new Credentials{config.user, config.password},
      [](gpointer data) { delete static_cast<Credentials *>(data); });
  return domain;
}

}  // namespace

SoupAuthDomain *new_auth_domain(const AccessConfig &config) {
  if (!config.auth_required()) return nullptr;
  return config.method == AuthMethod::kDigest ? new_digest_auth_domain(config)
                                              : new_basic_auth_domain(config);
}

void set_cors_headers(SoupServerMessage *msg, const AccessConfig &config) {
  if (!config.cors_enabled()) return;
  SoupMessageHeaders *headers = soup_server_message_get_response_headers(msg);
  soup_message_headers_replace(headers, "Access-Control-Allow-Origin", config.allow_origin.c_str());
  // A specific origin makes the response differ by requesting origin, so
  // caches must not hand it to another one.
  if (config.allow_origin != "*") soup_message_headers_replace(headers, "Vary", "Origin");
  // Scripts on another origin see only the safelisted response headers
  // unless these are named: a dashboard reads the frame's time, its age and
  // whether the camera is online from a snapshot.
  soup_message_headers_replace(headers, "Access-Control-Expose-Headers",
                               "X-Timestamp, X-Frame-Age, X-Source-Online");
}

void reply_cors_preflight(SoupServerMessage *msg) {
  SoupMessageHeaders *headers = soup_server_message_get_response_headers(msg);
  soup_message_headers_replace(headers, "Access-Control-Allow-Methods", "GET, HEAD, OPTIONS");
  const char *requested = soup_message_headers_get_one(soup_server_message_get_request_headers(msg),
                                                       "Access-Control-Request-Headers");
  soup_message_headers_replace(headers, "Access-Control-Allow-Headers",
                               is_header_list(requested) ? requested : "Authorization");
  soup_message_headers_replace(headers, "Access-Control-Max-Age", kPreflightMaxAgeS);
  soup_server_message_set_status(msg, SOUP_STATUS_NO_CONTENT, nullptr);
}

bool path_is_exempt(const std::string &path, const std::vector<std::string> &exempt_paths) {
  for (const std::string &exempt : exempt_paths) {
    if (exempt.empty() || path.compare(0, exempt.size(), exempt) != 0) continue;
    // "/cam1" covers "/cam1" and "/cam1/..." but not "/cam10".
    if (path.size() == exempt.size() || exempt.back() == '/' || path[exempt.size()] == '/')
      return true;
  }
  return false;
}

std::vector<std::string> split_list(const std::string &text) {
  std::vector<std::string> items;
  size_t start = 0;
  while (start <= text.size()) {
    size_t comma = text.find(',', start);
    if (comma == std::string::npos) comma = text.size();
    std::string item = text.substr(start, comma - start);
    const size_t first = item.find_first_not_of(" \t");
    if (first != std::string::npos) {
      const size_t last = item.find_last_not_of(" \t");
      items.push_back(item.substr(first, last - first + 1));
    }
    start = comma + 1;
  }
  return items;
}

bool secrets_equal(const std::string &a, const std::string &b) {
  guint8 digest_a[32], digest_b[32];
  gsize length_a = sizeof digest_a, length_b = sizeof digest_b;
  GChecksum *checksum = g_checksum_new(G_CHECKSUM_SHA256);
  g_checksum_update(checksum, reinterpret_cast<const guchar *>(a.data()), a.size());
  g_checksum_get_digest(checksum, digest_a, &length_a);
  g_checksum_reset(checksum);
  g_checksum_update(checksum, reinterpret_cast<const guchar *>(b.data()), b.size());
  g_checksum_get_digest(checksum, digest_b, &length_b);
  g_checksum_free(checksum);
  unsigned char difference = 0;
  for (size_t i = 0; i < sizeof digest_a; i++) difference |= digest_a[i] ^ digest_b[i];
  return difference == 0;
}

}  // namespace mjpeghttp
