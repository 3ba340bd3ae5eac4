// SPDX-License-Identifier: LGPL-2.1-or-later
#include "json_reply.h"

#include <gst/check/gstcheck.h>

namespace mounts_test {

JsonReply::JsonReply(const test_support::Endpoint &endpoint, const std::string &path)
    : parser_(json_parser_new()) {
  test_support::HttpResponse reply = test_support::http_exchange(endpoint, "GET", path);
  fail_unless_equals_int(reply.status, 200);
  fail_unless(reply.header("Content-Type").rfind("application/json", 0) == 0, "%s: Content-Type %s",
              path.c_str(), reply.header("Content-Type").c_str());
  text_ = reply.body;
  GError *error = nullptr;
  fail_unless(
      json_parser_load_from_data(parser_, text_.data(), static_cast<gssize>(text_.size()), &error),
      "%s is not JSON: %s\n%s", path.c_str(), error ? error->message : "?", text_.c_str());
  JsonNode *root = json_parser_get_root(parser_);
  fail_unless(root && JSON_NODE_HOLDS_OBJECT(root), "%s: the root is not an object", path.c_str());
  root_ = json_node_get_object(root);
}

JsonReply::~JsonReply() { g_object_unref(parser_); }

gint64 JsonReply::integer(JsonObject *object, const char *name) {
  JsonNode *node = json_object_get_member(object, name);
  fail_unless(node && json_node_get_value_type(node) == G_TYPE_INT64, "no integer '%s'", name);
  return json_node_get_int(node);
}

std::string JsonReply::string(JsonObject *object, const char *name) {
  JsonNode *node = json_object_get_member(object, name);
  fail_unless(node && json_node_get_value_type(node) == G_TYPE_STRING, "no string '%s'", name);
  return json_node_get_string(node);
}

JsonArray *JsonReply::array(JsonObject *object, const char *name) {
  JsonNode *node = json_object_get_member(object, name);
  fail_unless(node && JSON_NODE_HOLDS_ARRAY(node), "no array '%s'", name);
  return json_node_get_array(node);
}

JsonObject *JsonReply::with_mount(JsonArray *array, const std::string &mount) {
  for (guint i = 0; i < json_array_get_length(array); i++) {
    JsonObject *entry = json_array_get_object_element(array, i);
    if (entry && json_object_has_member(entry, "mount") && string(entry, "mount") == mount)
      return entry;
  }
  return nullptr;
}

}  // namespace mounts_test
