// SPDX-License-Identifier: LGPL-2.1-or-later
// Lets several engines (several elements, in one pipeline or in several)
// share one HTTP server when they listen on the same place. The server starts
// with its first user and stops when its last one leaves; users come and go
// without disturbing the others' viewers. Process-wide.
#pragma once

#include <memory>
#include <string>

#include "base/log.h"
#include "http/http_server.h"

namespace mjpeghttp {

// One user's hold on a shared server. Destroying it lets go; the last one to
// let go stops the server (and removes its unix socket file).
class ServerLease {
 public:
  enum class Failure { kNone, kListen, kConflict };

  // The server listening on `config.listen`, started now if none is. Fails
  // (kListen) when the socket cannot be made, or (kConflict) when a running
  // server on the same place has other settings; `error` names the place, the
  // element already there and the difference. `server_log` receives the
  // server's own messages (those about no mount in particular) and must stay
  // valid for as long as the process may run servers.
  static std::unique_ptr<ServerLease> acquire(const ServerConfig &config,
                                              const std::string &element_name,
                                              const LogSink &server_log, Failure *failure,
                                              std::string *error);
  ~ServerLease();
  // Lets go now instead of in the destructor. True when this was the last
  // user, so the server has stopped; false when others keep it running.
  bool release();
  ServerLease(const ServerLease &) = delete;
  ServerLease &operator=(const ServerLease &) = delete;

  HttpServer &server() const { return *server_; }

  // The registry's record of one running server (server_registry.cpp).
  struct Entry;

 private:
  ServerLease(std::shared_ptr<Entry> entry, HttpServer *server, std::string element_name)
      : entry_(std::move(entry)), server_(server), element_name_(std::move(element_name)) {}

  std::shared_ptr<Entry> entry_;
  HttpServer *server_;
  std::string element_name_;
  bool released_ = false;
};

}  // namespace mjpeghttp
