// SPDX-License-Identifier: LGPL-2.1-or-later
// A JSON document served by the element (/stats, /streams, /cam1/stats),
// fetched with the raw client and parsed with json-glib. Accessors fail the
// test when a member is missing or of another type.
#pragma once

#include <json-glib/json-glib.h>

#include <string>

#include "stream_client.h"

namespace mounts_test {

// The helpers every suite shares (tests/support).
using namespace test_support;

class JsonReply {
 public:
  // GET `path`; fails the test unless it is a 200 application/json object.
  JsonReply(const test_support::Endpoint &endpoint, const std::string &path);
  ~JsonReply();
  JsonReply(const JsonReply &) = delete;
  JsonReply &operator=(const JsonReply &) = delete;

  JsonObject *root() const { return root_; }
  const std::string &text() const { return text_; }

  static gint64 integer(JsonObject *object, const char *name);
  static std::string string(JsonObject *object, const char *name);
  static JsonArray *array(JsonObject *object, const char *name);
  // The object in `array` whose "mount" member is `mount`, or nullptr.
  static JsonObject *with_mount(JsonArray *array, const std::string &mount);

 private:
  JsonParser *parser_;
  JsonObject *root_ = nullptr;
  std::string text_;
};

}  // namespace mounts_test
