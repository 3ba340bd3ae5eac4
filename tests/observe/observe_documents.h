// SPDX-License-Identifier: LGPL-2.1-or-later
// The observability endpoints as a test reads them: a JSON document
// (/stats, /streams) and the Prometheus exposition (/metrics), fetched over a
// real connection, their status and headers checked on the way.
#pragma once

#include <gst/check/gstcheck.h>
#include <json-glib/json-glib.h>

#include <string>

#include "exposition.h"
#include "stream_client.h"

namespace observe_test {

// The helpers every suite shares (tests/support).
using namespace test_support;

using test_support::http_exchange;
using test_support::HttpResponse;

// The parsed body of a JSON endpoint; frees the parser with itself.
class JsonDocument {
 public:
  JsonDocument(int port, const std::string &path) : parser_(json_parser_new()) {
    HttpResponse reply = http_exchange(port, "GET", path);
    fail_unless_equals_int(reply.status, 200);
    fail_unless(reply.header("Content-Type").rfind("application/json", 0) == 0, "Content-Type %s",
                reply.header("Content-Type").c_str());
    const std::string cache_control = reply.header("Cache-Control");
    fail_unless_equals_string(cache_control.c_str(), "no-cache, no-store, must-revalidate");
    GError *error = nullptr;
    fail_unless(json_parser_load_from_data(parser_, reply.body.data(),
                                           static_cast<gssize>(reply.body.size()), &error),
                "not JSON: %s\n%s", error ? error->message : "?", reply.body.c_str());
    JsonNode *root = json_parser_get_root(parser_);
    fail_unless(root && JSON_NODE_HOLDS_OBJECT(root), "the root is not an object");
    root_ = json_node_get_object(root);
  }
  ~JsonDocument() { g_object_unref(parser_); }
  JsonDocument(const JsonDocument &) = delete;
  JsonDocument &operator=(const JsonDocument &) = delete;

  JsonObject *root() const { return root_; }
  gint64 integer(const char *name) const { return integer_of(root_, name); }

  static gint64 integer_of(JsonObject *object, const char *name) {
    JsonNode *node = json_object_get_member(object, name);
    fail_unless(node && json_node_get_value_type(node) == G_TYPE_INT64, "no integer '%s'", name);
    return json_node_get_int(node);
  }
  static double number_of(JsonObject *object, const char *name) {
    JsonNode *node = json_object_get_member(object, name);
    fail_unless(node && JSON_NODE_HOLDS_VALUE(node), "no number '%s'", name);
    return json_node_get_double(node);
  }
  static std::string string_of(JsonObject *object, const char *name) {
    JsonNode *node = json_object_get_member(object, name);
    fail_unless(node && json_node_get_value_type(node) == G_TYPE_STRING, "no string '%s'", name);
    return json_node_get_string(node);
  }

  // The viewer entry whose address is 127.0.0.1:`port`, or nullptr.
  JsonObject *viewer(int port) const {
    JsonArray *viewers = json_object_get_array_member(root_, "viewers");
    fail_unless(viewers != nullptr, "no 'viewers' array");
    const std::string address = "127.0.0.1:" + std::to_string(port);
    for (guint i = 0; i < json_array_get_length(viewers); i++) {
      JsonObject *entry = json_array_get_object_element(viewers, i);
      if (entry && string_of(entry, "address") == address) return entry;
    }
    return nullptr;
  }
  guint viewer_count() const {
    return json_array_get_length(json_object_get_array_member(root_, "viewers"));
  }

 private:
  JsonParser *parser_;
  JsonObject *root_ = nullptr;
};

inline Exposition fetch_metrics(int port, const std::string &path = "/metrics") {
  HttpResponse reply = http_exchange(port, "GET", path);
  fail_unless_equals_int(reply.status, 200);
  const std::string content_type = reply.header("Content-Type");
  fail_unless_equals_string(content_type.c_str(), "text/plain; version=0.0.4; charset=utf-8");
  Exposition exposition;
  std::string error;
  fail_unless(parse_exposition(reply.body, &exposition, &error), "%s\n%s", error.c_str(),
              reply.body.c_str());
  return exposition;
}

}  // namespace observe_test
