// UdpServer: one SO_REUSEPORT socket and one thread per worker, batched
// with recvmmsg/sendmmsg. Each worker owns a Responder. Replies leave from
// the address the query arrived on (IP_PKTINFO when bound to a wildcard).
// Internal to dns/.
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>
#include <span>

struct msghdr;
#include <string>
#include <thread>
#include <vector>

#include "common/result.hpp"
#include "dns/client_policy.hpp"
#include "dns/config.hpp"
#include "dns/forwarder.hpp"
#include "dns/metrics.hpp"
#include "dns/responder.hpp"

namespace cairn::dns {

class UdpServer {
 public:
  using MakeResponder = std::function<std::unique_ptr<Responder>(int worker)>;

  // Binds `workers` sockets on address:port (port 0: a free one, the same
  // for all). `forwarder` may be null; it and `metrics` must outlive the
  // server's sockets, as must `policy`. `make` is called on each worker's thread.
  static Result<std::unique_ptr<UdpServer>> create(const std::string& address, uint16_t port,
                                                   int workers, const AnswerConfig& cfg,
                                                   const registry::WatchHub& hub,
                                                   MakeResponder make, Forwarder* forwarder,
                                                   DnsMetrics& metrics, const ClientPolicy& policy);
  ~UdpServer();

  uint16_t port() const { return port_; }
  void start();
  // Joins the workers. Sockets stay open until destruction, so replies to
  // forwarded queries can still be sent.
  void stop();

 private:
  UdpServer(const AnswerConfig& cfg, const registry::WatchHub& hub, DnsMetrics& metrics,
            const ClientPolicy& policy)
      : cfg_(cfg), hub_(hub), metrics_(metrics), policy_(policy) {}
  void run(int worker);
  // Hands a query to the forwarder; the answer (or SERVFAIL) is sent from
  // the forwarder's thread to the query's source, from its destination.
  void forwardUdp(int fd, std::span<const uint8_t> query, const ::msghdr& h);

  struct alignas(16) Ctl {
    char b[64];
  };

  const AnswerConfig& cfg_;
  const registry::WatchHub& hub_;
  DnsMetrics& metrics_;
  const ClientPolicy& policy_;
  MakeResponder make_;
  Forwarder* forwarder_ = nullptr;
  std::vector<int> fds_;
  int stopFd_ = -1;
  bool pktinfo_ = false;  // bound to a wildcard address: reply from the query's destination
  bool v6_ = false;
  uint16_t port_ = 0;
  std::vector<std::thread> threads_;
  std::atomic<bool> stopping_{false};
};

}  // namespace cairn::dns
