#include "health/probe_ring.hpp"

#include <liburing.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>

#include <cerrno>
#include <cstring>
#include <vector>

#include "health/uring_setsockopt.hpp"

namespace cairn::health {
namespace {

using Clock = std::chrono::steady_clock;

// What a completion is for; with the slot and the slot's generation it makes
// the completion's user_data.
enum Op : uint64_t { kSocket, kConnect, kSend, kRecv, kClose, kCancel, kLinger, kQuickAck };

// Each enter runs a bounded share of the completion work waiting (about
// twenty items); poll() enters again while the ring says more is left.
constexpr int kMaxEnters = 64;

constexpr unsigned kOpBits = 4;
constexpr unsigned kSlotBits = 20;

struct Slot {
  std::shared_ptr<RingProbe> probe;  // null: free
  uint64_t generation = 0;
  unsigned pending = 0;  // operations submitted whose completion has not come
  bool ended = false;    // end() called
  bool closing = false;  // the close is queued
  bool sends = false;    // an HTTP probe (send + receive), not connect-only
  bool reset = false;    // close with an RST (SO_LINGER 0) once connected
  bool connected = false;
  std::string_view send;
  Clock::time_point deadline;
  sockaddr_storage address{};
  socklen_t addressLength = 0;
  size_t liveIndex = 0;  // in RingImpl::live_ while not ended
};

class RingImpl final : public ProbeRing {
 public:
  explicit RingImpl(unsigned slots) : slots_(slots) {
    free_.reserve(slots);
    for (unsigned i = slots; i > 0; --i) free_.push_back(i - 1);
    live_.reserve(slots);
  }
  ~RingImpl() override {
    if (ready_) io_uring_queue_exit(&ring_);
  }

  bool init(std::string* why) {
    io_uring_params params{};
    // TASKRUN_FLAG: the kernel flags the submission ring while completion
    // work waits to be run, so poll() knows when to enter again.
    params.flags = IORING_SETUP_SINGLE_ISSUER | IORING_SETUP_DEFER_TASKRUN |
                   IORING_SETUP_TASKRUN_FLAG | IORING_SETUP_CQSIZE | IORING_SETUP_SUBMIT_ALL;
    // Up to seven completions per probe in flight (socket, connect, send,
    // receive, a cancel, SO_LINGER, close); the TCP_QUICKACK commands post
    // one only when they fail (then the kernel's overflow list keeps any
    // extra: IORING_FEAT_NODROP, Linux 5.5).
    params.cq_entries = 8 * static_cast<unsigned>(slots_.size());
    int rc = io_uring_queue_init_params(static_cast<unsigned>(slots_.size()), &ring_, &params);
    if (rc < 0) return fail(why, "io_uring_setup", -rc);
    ready_ = true;
    io_uring_probe* probe = io_uring_get_probe_ring(&ring_);
    if (!probe) return fail(why, "io_uring probe", ENOSYS);
    bool all = true;
    for (int op : {IORING_OP_SOCKET, IORING_OP_CONNECT, IORING_OP_SEND, IORING_OP_RECV,
                   IORING_OP_CLOSE, IORING_OP_ASYNC_CANCEL})
      all = all && io_uring_opcode_supported(probe, op);
    io_uring_free_probe(probe);
    if (!all) return fail(why, "io_uring socket operations", EOPNOTSUPP);
    rc = io_uring_register_files_sparse(&ring_, static_cast<unsigned>(slots_.size()));
    if (rc < 0) return fail(why, "io_uring_register_files_sparse", -rc);
    return true;
  }

  bool start(const RingStart& s, std::shared_ptr<RingProbe> probe) override {
    if (broken_ || free_.empty() || s.addressLength > sizeof(sockaddr_storage)) return false;
    room(6);  // a linked chain must not be split across two submissions
    unsigned i = free_.back();
    free_.pop_back();
    Slot& slot = slots_[i];
    slot.probe = std::move(probe);
    slot.generation = ++generation_;
    slot.pending = 0;
    slot.ended = false;
    slot.closing = false;
    slot.sends = !s.send.empty();
    slot.reset = s.reset;
    slot.connected = false;
    slot.send = s.send;
    slot.deadline = s.deadline;
    std::memcpy(&slot.address, s.address, s.addressLength);
    slot.addressLength = s.addressLength;
    slot.liveIndex = live_.size();
    live_.push_back(i);

    io_uring_sqe* e = sqe();
    io_uring_prep_socket_direct(e, slot.address.ss_family, SOCK_STREAM, 0, i, 0);
    e->flags |= IOSQE_IO_LINK;
    tag(e, i, kSocket);
    // The handshake's last ACK is delayed (TCP_QUICKACK off before the
    // connect, as the kernel does itself for a socket with data waiting), so
    // it rides on the request, or for a connect-only probe on its FIN: one
    // segment less per probe for both ends. Not for a connect-only probe
    // that resets: its RST would then reach a target that never accepted.
    // Hard links: a kernel that refuses the option still makes the probe.
    bool delayAck = quickAckWorks_ && (slot.sends || !slot.reset);
    if (delayAck) {
      e = sqe();
      prepQuickAck(e, i, &kQuickAckOff);
      tag(e, i, kQuickAck);
    }
    e = sqe();
    io_uring_prep_connect(e, static_cast<int>(i), reinterpret_cast<sockaddr*>(&slot.address),
                          slot.addressLength);
    e->flags |= IOSQE_FIXED_FILE | (slot.sends ? IOSQE_IO_LINK : 0);
    tag(e, i, kConnect);
    if (slot.sends) {
      e = sqe();
      // MSG_WAITALL: the kernel sends it all or fails (a short send would
      // otherwise let the receive go ahead of the rest of the request).
      io_uring_prep_send(e, static_cast<int>(i), slot.send.data(), slot.send.size(),
                         MSG_WAITALL | MSG_NOSIGNAL);
      e->flags |= IOSQE_FIXED_FILE | IOSQE_IO_LINK;
      tag(e, i, kSend);
      if (delayAck) {
        // The answer is acknowledged at once again: a delayed ACK of it
        // would make the target retransmit before the next poll reads it.
        e = sqe();
        prepQuickAck(e, i, &kQuickAckOn);
        tag(e, i, kQuickAck);
      }
      queueRecv(i);
    }
    return true;
  }

  void poll(bool enter) override {
    Clock::time_point now = Clock::now();
    for (size_t k = 0; k < live_.size();) {
      unsigned i = live_[k];
      if (slots_[i].deadline > now) {
        ++k;
        continue;
      }
      // The receive or connect still waiting is cancelled before the close
      // (which alone would leave it waiting for the peer).
      io_uring_sqe* e = sqe();
      io_uring_prep_cancel_fd(e, static_cast<int>(i),
                              IORING_ASYNC_CANCEL_FD_FIXED | IORING_ASYNC_CANCEL_ALL);
      tag(e, i, kCancel);
      end(i, ETIMEDOUT, false);  // takes slot i out of live_ (swap with the last)
    }
    // Without `enter`, no system call when nothing is queued and the kernel
    // flags no completion work (what is posted is read from the shared
    // ring): the owner may poll twice in one wake-up.
    reap();
    for (int round = 0; round < kMaxEnters && !broken_; ++round) {
      bool work = IO_URING_READ_ONCE(*ring_.sq.kflags) & IORING_SQ_TASKRUN;
      if ((round > 0 || !enter) && !work && io_uring_sq_ready(&ring_) == 0) break;
      int rc = io_uring_submit_and_get_events(&ring_);
      if (rc < 0 && rc != -EINTR && rc != -EAGAIN && rc != -EBUSY)
        // Nothing can be submitted or completed any more: end every probe
        // (the caller's next probes go another way once start() refuses).
        broken_ = -rc;
      reap();
    }
    if (broken_) {
      while (!live_.empty()) end(live_.back(), broken_, false);
    }
  }

  size_t active() const override { return live_.size(); }

  bool resetWorks() const override { return resetWorks_; }

  bool idle() const override {
    return broken_ || (free_.size() == slots_.size() && io_uring_sq_ready(&ring_) == 0);
  }

 private:
  static bool fail(std::string* why, const char* what, int err) {
    if (why) *why = std::string(what) + ": " + std::strerror(err);
    return false;
  }

  // Submits what is queued unless n more entries fit.
  void room(unsigned n) {
    if (io_uring_sq_space_left(&ring_) < n) io_uring_submit(&ring_);
  }

  io_uring_sqe* sqe() {
    io_uring_sqe* e = io_uring_get_sqe(&ring_);
    while (!e) {  // the submission queue is full: hand it to the kernel
      io_uring_submit(&ring_);
      e = io_uring_get_sqe(&ring_);
    }
    return e;
  }

  void tag(io_uring_sqe* e, unsigned i, Op op) {
    Slot& slot = slots_[i];
    if (op != kQuickAck) ++slot.pending;  // it completes only when it fails
    io_uring_sqe_set_data64(
        e, (slot.generation << (kOpBits + kSlotBits)) | (uint64_t{i} << kOpBits) | op);
  }

  void queueRecv(unsigned i) {
    std::span<char> buf = slots_[i].probe->buffer();
    io_uring_sqe* e = sqe();
    io_uring_prep_recv(e, static_cast<int>(i), buf.data(), buf.size(), 0);
    e->flags |= IOSQE_FIXED_FILE;
    tag(e, i, kRecv);
  }

  void reap() {
    io_uring_cqe* cqe = nullptr;
    unsigned head = 0, seen = 0;
    io_uring_for_each_cqe(&ring_, head, cqe) {
      ++seen;
      complete(io_uring_cqe_get_data64(cqe), cqe->res);
    }
    io_uring_cq_advance(&ring_, seen);
  }

  void complete(uint64_t data, int res) {
    auto op = static_cast<Op>(data & ((1u << kOpBits) - 1));
    auto i = static_cast<unsigned>((data >> kOpBits) & ((1u << kSlotBits) - 1));
    if (i >= slots_.size()) return;
    Slot& slot = slots_[i];
    if (!slot.probe || slot.generation != data >> (kOpBits + kSlotBits)) return;
    if (op == kQuickAck) {
      // Refused (no socket commands before Linux 6.7): ACKs are not delayed
      // any more. -ECANCELED: the chain failed before it.
      if (res < 0 && res != -ECANCELED) quickAckWorks_ = false;
      return;
    }
    --slot.pending;
    if (!slot.ended) {
      switch (op) {
        case kSocket:
        case kConnect:
        case kSend:
          // A failed step cancels the rest of its chain: the first error
          // ends the probe, the -ECANCELED of the steps after it are not news.
          if (op == kConnect && res == 0) slot.connected = true;
          if (res < 0)
            end(i, -res, false);
          else if (op == kConnect && !slot.sends)
            end(i, 0, false);
          else if (op == kSend && static_cast<size_t>(res) < slot.send.size())
            end(i, EIO, false);
          break;
        case kRecv:
          if (res < 0)
            end(i, -res, false);
          else if (res == 0)
            end(i, 0, true);
          else if (slot.probe->received(static_cast<size_t>(res)))
            queueRecv(i);
          else
            end(i, 0, false);
          break;
        case kClose:
        case kCancel:
        case kLinger:
        case kQuickAck:  // handled above
          break;
      }
    }
    if (op == kLinger && res < 0) {
      // The close linked to it was cancelled: close plainly. Refused (no
      // socket commands before Linux 6.7): reset no more.
      if (res != -ECANCELED) resetWorks_ = false;
      io_uring_sqe* e = sqe();
      io_uring_prep_close_direct(e, i);
      tag(e, i, kClose);
    }
    if (slot.closing && slot.pending == 0) release(i);
  }

  // Ends the probe in slot i and queues its close (after what is queued
  // for it already). The slot is released once every completion is in.
  void end(unsigned i, int err, bool eof) {
    Slot& slot = slots_[i];
    slot.ended = true;
    unsigned last = live_.back();
    live_[slot.liveIndex] = last;
    slots_[last].liveIndex = slot.liveIndex;
    live_.pop_back();
    if (!broken_) {
      room(2);
      if (slot.reset && slot.connected && resetWorks_) {
        // SO_LINGER {1, 0}, linked to the close: one RST, no FIN exchange
        // and no TIME_WAIT (as the epoll probes' reset close).
        io_uring_sqe* e = sqe();
        prepLingerReset(e, i);
        tag(e, i, kLinger);
      }
      io_uring_sqe* e = sqe();
      io_uring_prep_close_direct(e, i);
      tag(e, i, kClose);
    } else {
      slot.pending = 0;  // nothing will complete any more
    }
    slot.closing = true;
    std::shared_ptr<RingProbe> p = slot.probe;  // end() may start other probes
    p->end(err, eof);
    if (broken_) release(i);
  }

  void release(unsigned i) {
    Slot& slot = slots_[i];
    slot.probe.reset();
    slot.closing = false;
    free_.push_back(i);
  }

  io_uring ring_{};
  bool ready_ = false;
  int broken_ = 0;
  bool resetWorks_ = true;     // false once the kernel refused a socket command
  bool quickAckWorks_ = true;  // the same, for TCP_QUICKACK
  uint64_t generation_ = 0;
  std::vector<Slot> slots_;
  std::vector<unsigned> free_;  // slot numbers not in use
  std::vector<unsigned> live_;  // slots whose probe has not ended
};

}  // namespace

std::unique_ptr<ProbeRing> ProbeRing::create(unsigned slots, std::string* why) {
  if (slots == 0 || slots >= (1u << kSlotBits)) {
    if (why) *why = "io_uring: slots out of range";
    return nullptr;
  }
  auto ring = std::make_unique<RingImpl>(slots);
  if (!ring->init(why)) return nullptr;
  return ring;
}

}  // namespace cairn::health
