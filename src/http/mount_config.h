// SPDX-License-Identifier: LGPL-2.1-or-later
// Where one stream lives on a server: its mount and the paths of its
// endpoints. Shared by the HTTP front (routing) and the pages it renders.
#pragma once

#include <string>

namespace mjpeghttp {

// One stream's place on the server. Paths are relative to the mount.
struct MountConfig {
  std::string mount = "/";  // "/" = the root mount; else "/name", no trailing '/'
  std::string stream_path = "/stream";
  std::string snapshot_path = "/snapshot";
  std::string stats_path = "/stats";
  std::string metrics_path = "/metrics";
  std::string element_name;  // names the mount's owner in /stats, /metrics and errors

  bool is_root() const { return mount == "/"; }
  // The absolute path of one of the mount's endpoints.
  std::string at(const std::string &path) const { return is_root() ? path : mount + path; }
  // Where the mount's viewer page is.
  std::string page_path() const { return is_root() ? "/" : mount + "/"; }
};

// "/" or "/a/b" with no trailing '/', no empty, "." or ".." segment, and
// only characters a URL path carries unescaped. Empty means "/".
bool normalize_mount(const std::string &text, std::string *mount);

}  // namespace mjpeghttp
