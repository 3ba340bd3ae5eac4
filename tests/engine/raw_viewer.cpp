// SPDX-License-Identifier: LGPL-2.1-or-later
#include "raw_viewer.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <cstdlib>
#include <cstring>

namespace enginetest {

namespace {

std::string lower(std::string text) {
  std::transform(text.begin(), text.end(), text.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return text;
}

std::string trim(const std::string &text) {
  size_t begin = text.find_first_not_of(" \t");
  if (begin == std::string::npos) return "";
  size_t end = text.find_last_not_of(" \t");
  return text.substr(begin, end - begin + 1);
}

// "Name: value" lines separated by CRLF into a map with lower-case names.
bool parse_header_lines(const std::string &block, size_t from,
                        std::map<std::string, std::string> *headers) {
  while (from < block.size()) {
    size_t end = block.find("\r\n", from);
    if (end == std::string::npos) end = block.size();
    std::string line = block.substr(from, end - from);
    size_t colon = line.find(':');
    if (colon == std::string::npos || colon == 0) return false;
    (*headers)[lower(line.substr(0, colon))] = trim(line.substr(colon + 1));
    from = end + 2;
  }
  return true;
}

int remaining_ms(RawViewer::Deadline deadline) {
  auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
      deadline - std::chrono::steady_clock::now());
  return left.count() < 0 ? 0 : static_cast<int>(left.count());
}

}  // namespace

std::string HttpHead::header(const std::string &name) const {
  auto it = headers.find(lower(name));
  return it == headers.end() ? "" : it->second;
}

RawViewer::~RawViewer() { close(); }

void RawViewer::close() {
  if (fd_ >= 0) ::close(fd_);
  fd_ = -1;
}

bool RawViewer::fail(const std::string &why) {
  if (error_.empty()) error_ = why;
  return false;
}

bool RawViewer::request(unsigned port, const std::string &method, const std::string &path) {
  fd_ = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd_ < 0) return fail(std::string("socket: ") + strerror(errno));
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_port = htons(static_cast<uint16_t>(port));
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (connect(fd_, reinterpret_cast<sockaddr *>(&address), sizeof address) != 0)
    return fail(std::string("connect: ") + strerror(errno));
  const std::string text =
      method + " " + path + " HTTP/1.1\r\nHost: 127.0.0.1\r\nUser-Agent: raw-viewer\r\n\r\n";
  size_t written = 0;
  while (written < text.size()) {
    ssize_t n = send(fd_, text.data() + written, text.size() - written, MSG_NOSIGNAL);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return fail(std::string("send: ") + strerror(errno));
    written += static_cast<size_t>(n);
  }
  return true;
}

bool RawViewer::fill(size_t size, Deadline deadline) {
  while (buffer_.size() - offset_ < size) {
    if (peer_closed_) return fail("connection closed early");
    pollfd pfd{fd_, POLLIN, 0};
    int ready = poll(&pfd, 1, remaining_ms(deadline));
    if (ready < 0 && errno == EINTR) continue;
    if (ready < 0) return fail(std::string("poll: ") + strerror(errno));
    if (ready == 0) return fail("timed out waiting for data");
    char chunk[65536];
    ssize_t n = recv(fd_, chunk, sizeof chunk, 0);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return fail(std::string("recv: ") + strerror(errno));
    if (n == 0) {
      peer_closed_ = true;
      continue;
    }
    // Keep the buffer from growing without bound over a long stream.
    if (offset_ > 0 && offset_ == buffer_.size()) {
      buffer_.clear();
      offset_ = 0;
    }
    buffer_.append(chunk, static_cast<size_t>(n));
  }
  return true;
}

bool RawViewer::read_header_block(std::string *block, Deadline deadline) {
  // Headers of this engine are far smaller; a runaway block is a bug.
  constexpr size_t kMaxHeaderBlock = 16384;
  for (;;) {
    size_t end = buffer_.find("\r\n\r\n", offset_);
    if (end != std::string::npos) {
      *block = buffer_.substr(offset_, end - offset_);
      offset_ = end + 4;
      return true;
    }
    if (buffer_.size() - offset_ > kMaxHeaderBlock) return fail("header block too long");
    if (!fill(buffer_.size() - offset_ + 1, deadline)) return false;
  }
}

bool RawViewer::expect(const std::string &bytes, Deadline deadline) {
  if (!fill(bytes.size(), deadline)) return false;
  if (buffer_.compare(offset_, bytes.size(), bytes) != 0) {
    std::string got = buffer_.substr(offset_, bytes.size());
    return fail("expected \"" + bytes + "\", got \"" + got + "\"");
  }
  offset_ += bytes.size();
  return true;
}

bool RawViewer::read_head(HttpHead *head, Deadline deadline) {
  std::string block;
  if (!read_header_block(&block, deadline)) return false;
  size_t line_end = block.find("\r\n");
  std::string status_line = block.substr(0, line_end);
  if (status_line.compare(0, 9, "HTTP/1.1 ") != 0 && status_line.compare(0, 9, "HTTP/1.0 ") != 0)
    return fail("bad status line: " + status_line);
  head->status = atoi(status_line.c_str() + 9);
  head->headers.clear();
  if (line_end != std::string::npos && !parse_header_lines(block, line_end + 2, &head->headers))
    return fail("bad header line in: " + block);
  const std::string type = head->header("Content-Type");
  const std::string marker = "boundary=";
  size_t at = type.find(marker);
  if (at != std::string::npos) boundary_ = type.substr(at + marker.size());
  return true;
}

bool RawViewer::read_part(Part *part, Deadline deadline) {
  if (boundary_.empty()) return fail("no multipart boundary");
  if (ended_) return fail("part requested after the close delimiter");
  if (!opened_) {
    if (!expect("--" + boundary_ + "\r\n", deadline)) return false;
    opened_ = true;
  }
  std::string block;
  if (!read_header_block(&block, deadline)) return false;
  part->headers.clear();
  if (!parse_header_lines(block, 0, &part->headers)) return fail("bad part header: " + block);
  auto length = part->headers.find("content-length");
  if (length == part->headers.end()) return fail("part without Content-Length");
  char *end = nullptr;
  unsigned long long size = strtoull(length->second.c_str(), &end, 10);
  if (length->second.empty() || *end != '\0') return fail("bad Content-Length " + length->second);
  if (!read_exactly(size, &part->body, deadline)) return false;
  // Every part is followed at once by the next delimiter (or the close).
  if (!expect("\r\n--" + boundary_, deadline)) return false;
  if (!fill(2, deadline)) return false;
  if (buffer_.compare(offset_, 2, "--") == 0) {
    if (!expect("--\r\n", deadline)) return false;
    part->last = true;
    ended_ = true;
    return true;
  }
  part->last = false;
  return expect("\r\n", deadline);
}

bool RawViewer::read_exactly(size_t size, std::string *out, Deadline deadline) {
  if (!fill(size, deadline)) return false;
  out->assign(buffer_, offset_, size);
  offset_ += size;
  return true;
}

bool RawViewer::await_close(Deadline deadline) {
  if (!fill(buffer_.size() - offset_ + 1, deadline)) {
    if (peer_closed_ && buffer_.size() == offset_) {
      error_.clear();
      return true;
    }
    return false;
  }
  return fail("unexpected bytes after the end: " + buffer_.substr(offset_, 64));
}

}  // namespace enginetest
