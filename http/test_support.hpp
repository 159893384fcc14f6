// Test support for http/: a synchronous Replicator over a real Catalog on an
// in-memory store, a request builder and an answer reader for Api::handle,
// and a raw-socket HTTP exchange helper.
#pragma once

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <mutex>
#include <optional>
#include <string>

#include "http/types.hpp"
#include "registry/catalog.hpp"
#include "registry/command.hpp"
#include "registry/memory_store_test_util.hpp"
#include "registry/replicator.hpp"

namespace cairn::http::testing {

class SyncReplicator final : public registry::Replicator {
 public:
  SyncReplicator() : catalog_(std::move(registry::Catalog::open(store_).value())) {}
  void propose(std::string command, Done done) override {
    std::unique_lock lock(mu_);
    uint64_t idx = catalog_->appliedIndex() + 1;
    Status st = catalog_->apply(idx, command);
    Status fst = catalog_->flush();
    lock.unlock();
    if (!fst.ok()) return done(fst.error());
    if (!st.ok()) return done(st.error());
    done(idx);
  }
  std::string leader() const override { return "127.0.0.1:8300"; }
  std::vector<std::string> peers() const override { return {"127.0.0.1:8300"}; }
  std::vector<ServerInfo> servers() const override {
    return {{"1", "node1", "127.0.0.1:8300", true, true}};
  }
  uint32_t clusterCommandVersion() const override { return commandVersion; }
  registry::Catalog& catalog() { return *catalog_; }

  uint32_t commandVersion = registry::kCommandVersion;  // as the cluster would say

 private:
  std::mutex mu_;
  registry::testing::MemoryStore store_;
  std::unique_ptr<registry::Catalog> catalog_;
};

// A request as the session hands it to Api::handle, from 127.0.0.1: `target`
// split into the path and the query parameters in order ("?a=1&b" gives
// {a, 1}, {b, ""}; nothing percent-decoded).
inline Request requestFor(std::string method, const std::string& target, std::string body = "") {
  Request req;
  req.method = std::move(method);
  auto qm = target.find('?');
  req.path = target.substr(0, qm);
  if (qm != std::string::npos) {
    std::string rest = target.substr(qm + 1);
    size_t pos = 0;
    while (pos <= rest.size()) {
      auto amp = rest.find('&', pos);
      std::string part = rest.substr(pos, amp == std::string::npos ? amp : amp - pos);
      auto eq = part.find('=');
      req.query.emplace_back(part.substr(0, eq),
                             eq == std::string::npos ? "" : part.substr(eq + 1));
      if (amp == std::string::npos) break;
      pos = amp + 1;
    }
  }
  req.body = std::move(body);
  req.remoteAddr = "127.0.0.1";
  return req;
}

// What an outcome answers with no session to carry it: a Response as it is,
// a Deferred's answer once started (SyncReplicator answers at once; a default
// Response if it did not); nullopt for Blocking and Gated.
inline std::optional<Response> answerOf(Outcome out) {
  if (auto* r = std::get_if<Response>(&out)) return std::move(*r);
  if (auto* d = std::get_if<Deferred>(&out)) {
    Response got;
    d->start([&](Response r) { got = std::move(r); });
    return got;
  }
  return std::nullopt;
}

// Connects to 127.0.0.1:port; returns the fd or -1.
inline int connectTo(uint16_t port) {
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_port = htons(port);
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (::connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0) {
    ::close(fd);
    return -1;
  }
  timeval tv{10, 0};
  setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  return fd;
}

inline bool sendAll(int fd, const std::string& s) {
  size_t off = 0;
  while (off < s.size()) {
    ssize_t n = ::send(fd, s.data() + off, s.size() - off, MSG_NOSIGNAL);
    if (n <= 0) return false;
    off += static_cast<size_t>(n);
  }
  return true;
}

// Reads one HTTP response (headers + Content-Length body). "" on EOF/timeout.
inline std::string readResponse(int fd) {
  std::string buf;
  char tmp[4096];
  size_t headerEnd = std::string::npos;
  while (true) {
    headerEnd = buf.find("\r\n\r\n");
    if (headerEnd != std::string::npos) {
      size_t cl = 0;
      auto p = buf.find("Content-Length: ");
      if (p != std::string::npos && p < headerEnd) cl = std::stoul(buf.substr(p + 16));
      if (buf.size() >= headerEnd + 4 + cl) return buf.substr(0, headerEnd + 4 + cl);
    }
    ssize_t n = ::recv(fd, tmp, sizeof tmp, 0);
    if (n <= 0) return buf;
    buf.append(tmp, static_cast<size_t>(n));
  }
}

inline std::string roundTrip(uint16_t port, const std::string& raw) {
  int fd = connectTo(port);
  if (fd < 0) return "";
  sendAll(fd, raw);
  std::string r = readResponse(fd);
  ::close(fd);
  return r;
}

inline int statusOf(const std::string& response) {
  if (response.size() < 12) return 0;
  return std::stoi(response.substr(9, 3));
}

}  // namespace cairn::http::testing
