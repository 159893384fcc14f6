#include "dns/udp_server.hpp"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstring>

#include "common/log.hpp"

namespace cairn::dns {
namespace {

constexpr int kBatch = 32;
constexpr size_t kMaxQuery = 4096;  // a longer datagram is dropped (MSG_TRUNC)
constexpr size_t kCtlSize = 64;     // == sizeof(UdpServer::Ctl)

// Rewrites the received packet-info control message into the one that makes
// the reply leave from the address the query was sent to. Returns its size.
size_t replyControl(const msghdr& in, char* out) {
  for (cmsghdr* c = CMSG_FIRSTHDR(const_cast<msghdr*>(&in)); c;
       c = CMSG_NXTHDR(const_cast<msghdr*>(&in), c)) {
    if (c->cmsg_level == IPPROTO_IP && c->cmsg_type == IP_PKTINFO) {
      in_pktinfo info;
      std::memcpy(&info, CMSG_DATA(c), sizeof info);
      info.ipi_spec_dst = info.ipi_addr;
      info.ipi_ifindex = 0;
      auto* o = reinterpret_cast<cmsghdr*>(out);
      o->cmsg_level = IPPROTO_IP;
      o->cmsg_type = IP_PKTINFO;
      o->cmsg_len = CMSG_LEN(sizeof info);
      std::memcpy(CMSG_DATA(o), &info, sizeof info);
      return CMSG_SPACE(sizeof info);
    }
    if (c->cmsg_level == IPPROTO_IPV6 && c->cmsg_type == IPV6_PKTINFO) {
      auto* o = reinterpret_cast<cmsghdr*>(out);
      o->cmsg_level = IPPROTO_IPV6;
      o->cmsg_type = IPV6_PKTINFO;
      o->cmsg_len = CMSG_LEN(sizeof(in6_pktinfo));
      std::memcpy(CMSG_DATA(o), CMSG_DATA(c), sizeof(in6_pktinfo));
      return CMSG_SPACE(sizeof(in6_pktinfo));
    }
  }
  return 0;
}

uint64_t monotonicNs() {
  return static_cast<uint64_t>(std::chrono::duration_cast<std::chrono::nanoseconds>(
                                   std::chrono::steady_clock::now().time_since_epoch())
                                   .count());
}

}  // namespace

Result<std::unique_ptr<UdpServer>> UdpServer::create(const std::string& address, uint16_t port,
                                                     int workers, const AnswerConfig& cfg,
                                                     const registry::WatchHub& hub,
                                                     MakeResponder make, Forwarder* forwarder,
                                                     DnsMetrics& metrics,
                                                     const ClientPolicy& policy) {
  std::unique_ptr<UdpServer> s(new UdpServer(cfg, hub, metrics, policy));
  s->make_ = std::move(make);
  s->forwarder_ = forwarder;
  sockaddr_storage ss{};
  socklen_t len = 0;
  auto* v4 = reinterpret_cast<sockaddr_in*>(&ss);
  auto* v6 = reinterpret_cast<sockaddr_in6*>(&ss);
  if (inet_pton(AF_INET, address.c_str(), &v4->sin_addr) == 1) {
    v4->sin_family = AF_INET;
    len = sizeof *v4;
    s->pktinfo_ = v4->sin_addr.s_addr == htonl(INADDR_ANY);
  } else if (inet_pton(AF_INET6, address.c_str(), &v6->sin6_addr) == 1) {
    v6->sin6_family = AF_INET6;
    len = sizeof *v6;
    s->v6_ = true;
    s->pktinfo_ = IN6_IS_ADDR_UNSPECIFIED(&v6->sin6_addr);
  } else {
    return invalidArgument("client_addr: \"" + address + "\" is not an IP address");
  }
  for (int w = 0; w < workers; ++w) {
    int fd = ::socket(ss.ss_family, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    if (fd < 0) return ioError(std::string("dns: socket: ") + std::strerror(errno));
    s->fds_.push_back(fd);
    int one = 1;
    ::setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &one, sizeof one);
    int rcvbuf = 4 << 20;
    ::setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &rcvbuf, sizeof rcvbuf);
    if (s->pktinfo_) {
      if (s->v6_)
        ::setsockopt(fd, IPPROTO_IPV6, IPV6_RECVPKTINFO, &one, sizeof one);
      else
        ::setsockopt(fd, IPPROTO_IP, IP_PKTINFO, &one, sizeof one);
    }
    if (s->v6_)
      v6->sin6_port = htons(port);
    else
      v4->sin_port = htons(port);
    if (::bind(fd, reinterpret_cast<sockaddr*>(&ss), len) != 0)
      return ioError("dns: cannot bind UDP " + address + ":" + std::to_string(port) + ": " +
                     std::strerror(errno));
    if (port == 0) {
      sockaddr_storage got{};
      socklen_t gl = sizeof got;
      ::getsockname(fd, reinterpret_cast<sockaddr*>(&got), &gl);
      port = ntohs(s->v6_ ? reinterpret_cast<sockaddr_in6*>(&got)->sin6_port
                          : reinterpret_cast<sockaddr_in*>(&got)->sin_port);
    }
  }
  s->port_ = port;
  s->stopFd_ = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
  if (s->stopFd_ < 0) return ioError("dns: eventfd failed");
  return s;
}

UdpServer::~UdpServer() {
  stop();
  for (int fd : fds_) ::close(fd);
  if (stopFd_ >= 0) ::close(stopFd_);
}

void UdpServer::start() {
  for (size_t w = 0; w < fds_.size(); ++w)
    threads_.emplace_back([this, w] { run(static_cast<int>(w)); });
}

void UdpServer::stop() {
  stopping_.store(true);
  uint64_t one = 1;
  if (stopFd_ >= 0) (void)!::write(stopFd_, &one, sizeof one);
  for (auto& t : threads_)
    if (t.joinable()) t.join();
  threads_.clear();
}

void UdpServer::run(int worker) {
  int fd = fds_[worker];
  auto responder = make_(worker);
  ThreadCounters* counters = responder->counters();
  const size_t outSize = cfg_.maxUdpSize;
  std::vector<uint8_t> inBuf(kBatch * kMaxQuery), outBuf(kBatch * outSize);
  std::vector<mmsghdr> in(kBatch), out(kBatch);
  std::vector<iovec> inIov(kBatch), outIov(kBatch);
  std::vector<sockaddr_storage> peers(kBatch);
  std::vector<Ctl> inCtl(kBatch), outCtl(kBatch);
  for (int i = 0; i < kBatch; ++i) inIov[i] = {inBuf.data() + i * kMaxQuery, kMaxQuery};

  while (!stopping_.load(std::memory_order_relaxed)) {
    for (int i = 0; i < kBatch; ++i) {
      msghdr& h = in[i].msg_hdr;
      h = {};
      h.msg_name = &peers[i];
      h.msg_namelen = sizeof peers[i];
      h.msg_iov = &inIov[i];
      h.msg_iovlen = 1;
      if (pktinfo_) {
        h.msg_control = inCtl[i].b;
        h.msg_controllen = kCtlSize;
      }
    }
    int n = ::recvmmsg(fd, in.data(), kBatch, MSG_DONTWAIT, nullptr);
    if (n <= 0) {
      if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
        pollfd p[2] = {{fd, POLLIN, 0}, {stopFd_, POLLIN, 0}};
        ::poll(p, 2, -1);
      }
      continue;
    }
    registry::ViewPtr view = hub_.view();  // one view per batch
    uint64_t nowNs = policy_.rateLimiter ? monotonicNs() : 0;
    unsigned m = 0;
    for (int i = 0; i < n; ++i) {
      const msghdr& h = in[i].msg_hdr;
      if (h.msg_flags & MSG_TRUNC) {  // larger than any query we take
        if (counters) {
          counters->queries[0].inc();
          counters->dropped.inc();
        }
        continue;
      }
      std::span<const uint8_t> query(inBuf.data() + i * kMaxQuery, in[i].msg_len);
      uint8_t* o = outBuf.data() + m * outSize;
      const auto* peer = static_cast<const sockaddr*>(h.msg_name);
      Responder::Outcome res;
      auto verdict = policy_.rateLimiter ? policy_.rateLimiter->admit(peer, nowNs)
                                         : RateLimiter::Verdict::kAnswer;
      if (verdict == RateLimiter::Verdict::kAnswer) {
        res = responder->respond(view, query, false, {o, outSize});
      } else {
        // Over the rate limit: nothing, or a truncated answer with no
        // records that sends a real client to TCP.
        if (counters) {
          counters->queries[0].inc();
          counters->rateLimited[verdict == RateLimiter::Verdict::kSlip].inc();
        }
        if (verdict == RateLimiter::Verdict::kDrop) continue;
        res.action = Responder::Action::kReply;
        res.len = writeErrorAnswer(cfg_, query, rcode::kNoError, {o, outSize});
        if (res.len) o[2] |= flag::kTc >> 8;
      }
      if (res.action == Responder::Action::kForward && forwarder_) {
        if (policy_.mayRecurse(peer)) {
          forwardUdp(fd, query, h);
          continue;
        }
        // No open resolver: outside names only for the allowed networks.
        if (counters) counters->recursionRefused.inc();
        res.action = Responder::Action::kReply;
        res.len = writeErrorAnswer(cfg_, query, rcode::kRefused, {o, outSize});
      }
      if (res.action != Responder::Action::kReply || res.len == 0) continue;
      msghdr& oh = out[m].msg_hdr;
      oh = {};
      oh.msg_name = &peers[i];
      oh.msg_namelen = h.msg_namelen;
      outIov[m] = {o, res.len};
      oh.msg_iov = &outIov[m];
      oh.msg_iovlen = 1;
      if (pktinfo_) {
        oh.msg_control = outCtl[m].b;
        oh.msg_controllen = replyControl(h, outCtl[m].b);
        if (!oh.msg_controllen) oh.msg_control = nullptr;
      }
      ++m;
    }
    for (unsigned sent = 0; sent < m;) {
      int k = ::sendmmsg(fd, out.data() + sent, m - sent, 0);
      if (k < 0 && errno == EINTR) continue;
      sent += k > 0 ? static_cast<unsigned>(k) : 1;  // skip a datagram the kernel refused
    }
  }
}

void UdpServer::forwardUdp(int fd, std::span<const uint8_t> query, const msghdr& h) {
  struct Reply {
    int fd;
    sockaddr_storage peer;
    socklen_t peerLen;
    Ctl ctl;
    size_t ctlLen;
    std::vector<uint8_t> query;
  };
  auto r = std::make_shared<Reply>();
  r->fd = fd;
  std::memcpy(&r->peer, h.msg_name, h.msg_namelen);
  r->peerLen = h.msg_namelen;
  r->ctlLen = pktinfo_ ? replyControl(h, r->ctl.b) : 0;
  r->query.assign(query.begin(), query.end());
  const AnswerConfig& cfg = cfg_;
  DnsMetrics& metrics = metrics_;
  forwarder_->forward(query, false, [r, &cfg, &metrics](std::span<const uint8_t> answer) {
    uint8_t err[kMaxUdpPlain];
    if (answer.empty() || answer.size() > udpAnswerLimit(cfg, r->query)) {
      metrics.forwardFailed();
      size_t n = writeErrorAnswer(cfg, r->query, rcode::kServFail, {err, sizeof err});
      if (!n) return;
      answer = {err, n};
    }
    iovec iov{const_cast<uint8_t*>(answer.data()), answer.size()};
    msghdr m{};
    m.msg_name = &r->peer;
    m.msg_namelen = r->peerLen;
    m.msg_iov = &iov;
    m.msg_iovlen = 1;
    if (r->ctlLen) {
      m.msg_control = r->ctl.b;
      m.msg_controllen = r->ctlLen;
    }
    ::sendmsg(r->fd, &m, MSG_DONTWAIT);
  });
}

}  // namespace cairn::dns
