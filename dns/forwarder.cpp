// ForwarderImpl: two c-ares channels (UDP, and TCP for queries that came
// over TCP) driven by one thread with poll(). Requests arrive through a
// mutex-guarded queue and an eventfd.
#include "dns/forwarder.hpp"

#include <ares.h>
#include <poll.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include <atomic>
#include <deque>
#include <mutex>
#include <thread>

#include "common/log.hpp"
#include "dns/wire.hpp"

namespace cairn::dns {
namespace {

struct Pending {
  std::vector<uint8_t> query;
  bool tcp = false;
  Forwarder::Done done;
};

class ForwarderImpl final : public Forwarder {
 public:
  ForwarderImpl(int maxInFlight) : maxInFlight_(maxInFlight) {}

  Status init(const std::vector<std::string>& servers, std::chrono::milliseconds timeout) {
    static std::once_flag once;
    std::call_once(once, [] { ares_library_init(ARES_LIB_INIT_ALL); });
    std::string csv;
    for (const auto& s : servers) csv += (csv.empty() ? "" : ",") + s;
    for (int i = 0; i < 2; ++i) {
      ares_options o{};
      // NOCHECKRESP: pass SERVFAIL/REFUSED answers through as they are;
      // IGNTC: a truncated UDP answer goes back to the client, who retries
      // over TCP (and then we use the TCP channel).
      o.flags = ARES_FLAG_NOCHECKRESP | ARES_FLAG_IGNTC | (i == 1 ? ARES_FLAG_USEVC : 0);
      o.timeout = static_cast<int>(timeout.count());
      o.tries = 1;
      int rc = ares_init_options(&ch_[i], &o, ARES_OPT_FLAGS | ARES_OPT_TIMEOUTMS | ARES_OPT_TRIES);
      if (rc != ARES_SUCCESS) return ioError(std::string("c-ares init: ") + ares_strerror(rc));
      rc = ares_set_servers_ports_csv(ch_[i], csv.c_str());
      if (rc != ARES_SUCCESS)
        return invalidArgument("recursors: \"" + csv + "\": " + ares_strerror(rc));
    }
    wake_ = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
    if (wake_ < 0) return ioError("eventfd failed");
    thread_ = std::thread([this] { run(); });
    return {};
  }

  ~ForwarderImpl() override {
    stop();
    for (auto* c : ch_)
      if (c) ares_destroy(c);
    if (wake_ >= 0) ::close(wake_);
  }

  void forward(std::span<const uint8_t> query, bool tcp, Done done) override {
    if (query.size() < kHeaderSize) return done({});
    {
      std::unique_lock lock(mu_);
      if (closed_) {
        lock.unlock();
        return done({});
      }
      queue_.push_back({{query.begin(), query.end()}, tcp, std::move(done)});
    }
    uint64_t one = 1;
    (void)!::write(wake_, &one, sizeof one);
  }

  void stop() override {
    if (stopping_.exchange(true)) return;
    uint64_t one = 1;
    if (wake_ >= 0) (void)!::write(wake_, &one, sizeof one);
    if (thread_.joinable()) thread_.join();
  }

  uint64_t forwardedTotal() const override { return forwarded_.load(); }
  uint64_t failedTotal() const override { return failed_.load(); }

 private:
  struct Call {
    ForwarderImpl* self;
    uint16_t id;
    Done done;
  };

  static void onAnswer(void* arg, int status, int, unsigned char* abuf, int alen) {
    std::unique_ptr<Call> call(static_cast<Call*>(arg));
    --call->self->inFlight_;
    if (status != ARES_SUCCESS || !abuf || alen < static_cast<int>(kHeaderSize)) {
      ++call->self->failed_;
      return call->done({});
    }
    put16(abuf, call->id);  // c-ares sent it with an ID of its own
    call->done({abuf, static_cast<size_t>(alen)});
  }

  void startQueued() {
    std::deque<Pending> batch;
    {
      std::lock_guard lock(mu_);
      batch.swap(queue_);
    }
    for (auto& p : batch) {
      if (inFlight_ >= maxInFlight_) {
        ++failed_;
        p.done({});
        continue;
      }
      ++inFlight_;
      ++forwarded_;
      auto* call = new Call{this, get16(p.query.data()), std::move(p.done)};
      ares_send(ch_[p.tcp ? 1 : 0], p.query.data(), static_cast<int>(p.query.size()), onAnswer,
                call);
    }
  }

  void run() {
    while (!stopping_.load()) {
      pollfd fds[1 + 2 * ARES_GETSOCK_MAXNUM];
      int nfds = 0;
      fds[nfds++] = {wake_, POLLIN, 0};
      ares_socket_t socks[2][ARES_GETSOCK_MAXNUM];
      int owner[1 + 2 * ARES_GETSOCK_MAXNUM];
      for (int c = 0; c < 2; ++c) {
        int bits = ares_getsock(ch_[c], socks[c], ARES_GETSOCK_MAXNUM);
        for (int i = 0; i < ARES_GETSOCK_MAXNUM; ++i) {
          short ev = 0;
          if (ARES_GETSOCK_READABLE(bits, i)) ev |= POLLIN;
          if (ARES_GETSOCK_WRITABLE(bits, i)) ev |= POLLOUT;
          if (!ev) continue;
          owner[nfds] = c;
          fds[nfds++] = {socks[c][i], ev, 0};
        }
      }
      timeval maxTv{1, 0}, tv{}, *t = &maxTv;
      for (auto* c : ch_) t = ares_timeout(c, t, &tv);
      int ms = static_cast<int>(t->tv_sec * 1000 + (t->tv_usec + 999) / 1000);
      int n = ::poll(fds, static_cast<nfds_t>(nfds), ms);
      if (n < 0) continue;
      if (fds[0].revents) {
        uint64_t v;
        (void)!::read(wake_, &v, sizeof v);
      }
      for (int i = 1; i < nfds; ++i) {
        if (!fds[i].revents) continue;
        bool r = fds[i].revents & (POLLIN | POLLERR | POLLHUP);
        bool w = fds[i].revents & POLLOUT;
        ares_process_fd(ch_[owner[i]], r ? fds[i].fd : ARES_SOCKET_BAD,
                        w ? fds[i].fd : ARES_SOCKET_BAD);
      }
      for (auto* c : ch_) ares_process_fd(c, ARES_SOCKET_BAD, ARES_SOCKET_BAD);  // timeouts
      startQueued();
    }
    // Fail what is queued; ares_cancel fails what is in flight.
    std::deque<Pending> left;
    {
      std::lock_guard lock(mu_);
      closed_ = true;
      left.swap(queue_);
    }
    for (auto& p : left) p.done({});
    for (auto* c : ch_) ares_cancel(c);
  }

  int maxInFlight_;
  ares_channel ch_[2] = {nullptr, nullptr};
  int wake_ = -1;
  std::thread thread_;
  std::atomic<bool> stopping_{false};
  std::mutex mu_;
  std::deque<Pending> queue_;  // guarded by mu_
  bool closed_ = false;        // guarded by mu_: the thread has ended
  int inFlight_ = 0;           // forwarder thread only
  std::atomic<uint64_t> forwarded_{0}, failed_{0};
};

}  // namespace

Result<std::unique_ptr<Forwarder>> Forwarder::create(const std::vector<std::string>& servers,
                                                     std::chrono::milliseconds timeout,
                                                     int maxInFlight) {
  if (servers.empty()) return invalidArgument("recursors: none given");
  auto f = std::make_unique<ForwarderImpl>(maxInFlight);
  if (Status st = f->init(servers, timeout); !st.ok()) return st.error();
  return std::unique_ptr<Forwarder>(std::move(f));
}

}  // namespace cairn::dns
