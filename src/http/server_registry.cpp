// SPDX-License-Identifier: LGPL-2.1-or-later
#include "http/server_registry.h"

#include <algorithm>
#include <map>
#include <mutex>
#include <vector>

namespace mjpeghttp {

struct ServerLease::Entry {
  std::string key;
  std::unique_ptr<HttpServer> server;
  // Who holds the server, in order of arrival: named in conflict messages.
  std::vector<std::string> users;
};

namespace {

// Held while a server starts or stops, so a new user never finds a server
// half stopped (its port still bound) and fails to bind a second one.
std::mutex registry_mutex;
std::map<std::string, std::shared_ptr<ServerLease::Entry>> &registry() {
  static auto *servers = new std::map<std::string, std::shared_ptr<ServerLease::Entry>>();
  return *servers;
}

}  // namespace

std::unique_ptr<ServerLease> ServerLease::acquire(const ServerConfig &config,
                                                  const std::string &element_name,
                                                  const LogSink &server_log, Failure *failure,
                                                  std::string *error) {
  *failure = Failure::kNone;
  std::lock_guard<std::mutex> lock(registry_mutex);
  const bool shared = config.listen.shareable();
  if (shared) {
    auto found = registry().find(config.listen.key());
    if (found != registry().end()) {
      std::shared_ptr<Entry> entry = found->second;
      const std::string conflict = describe_conflict(entry->server->config(), config);
      if (!conflict.empty()) {
        *failure = Failure::kConflict;
        *error = "Cannot share the server on " + config.listen.describe() + " with element '" +
                 entry->users.front() + "': " + conflict;
        return nullptr;
      }
      entry->users.push_back(element_name);
      HttpServer *server = entry->server.get();
      return std::unique_ptr<ServerLease>(new ServerLease(std::move(entry), server, element_name));
    }
  }
  auto entry = std::make_shared<Entry>();
  entry->server = std::make_unique<HttpServer>(config, server_log);
  if (!entry->server->start(error)) {
    *failure = Failure::kListen;
    return nullptr;
  }
  entry->key = shared ? config.listen.key() : std::string();
  entry->users.push_back(element_name);
  if (shared) registry()[entry->key] = entry;
  HttpServer *server = entry->server.get();
  return std::unique_ptr<ServerLease>(new ServerLease(std::move(entry), server, element_name));
}

ServerLease::~ServerLease() { release(); }

bool ServerLease::release() {
  if (released_) return false;
  released_ = true;
  std::lock_guard<std::mutex> lock(registry_mutex);
  auto &users = entry_->users;
  users.erase(std::find(users.begin(), users.end(), element_name_));
  if (!users.empty()) return false;
  if (!entry_->key.empty()) registry().erase(entry_->key);
  // Joins the HTTP thread, which never takes registry_mutex.
  entry_->server->stop();
  return true;
}

}  // namespace mjpeghttp
