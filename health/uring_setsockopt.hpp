// setsockopt through io_uring (IORING_OP_URING_CMD on a socket, Linux 6.7),
// shared by the agent's ProbeRing and bench/health_floor_uring: liburing
// only, no Asio.
#pragma once

#include <liburing.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>

#include <cstdint>

namespace cairn::health {

// io_uring's setsockopt socket command (liburing 2.3 does not name it).
inline constexpr uint32_t kSocketUringOpSetsockopt = 3;
// Option values with static storage: the kernel reads a value when it runs
// the SQE, after the call that queued it has returned.
inline constexpr linger kLingerReset{1, 0};
inline constexpr int kQuickAckOff = 0;
inline constexpr int kQuickAckOn = 1;

// Prepares e as setsockopt(level, name, value, length) on the registered
// descriptor `fixedFile`. The caller adds any link flags and the user_data.
inline void prepSetsockopt(io_uring_sqe* e, unsigned fixedFile, int level, int name,
                           const void* value, unsigned length) {
  io_uring_prep_rw(IORING_OP_URING_CMD, e, static_cast<int>(fixedFile), nullptr, 0, 0);
  e->cmd_op = kSocketUringOpSetsockopt;
  e->addr = static_cast<uint32_t>(level) | (uint64_t{static_cast<uint32_t>(name)} << 32);
  e->file_index = length;
  e->addr3 = reinterpret_cast<uint64_t>(value);
  e->flags |= IOSQE_FIXED_FILE;
}

// SO_LINGER {on, 0 s}, linked to the SQE queued next (the close): one RST, no
// FIN exchange and no TIME_WAIT. If it fails (no socket commands), the
// linked close completes with -ECANCELED.
inline void prepLingerReset(io_uring_sqe* e, unsigned fixedFile) {
  prepSetsockopt(e, fixedFile, SOL_SOCKET, SO_LINGER, &kLingerReset, sizeof kLingerReset);
  e->flags |= IOSQE_IO_LINK;
}

// TCP_QUICKACK to *value (kQuickAckOff or kQuickAckOn), hard-linked to the
// SQE queued next (a refusal does not stop the chain) and completing only
// when it fails.
inline void prepQuickAck(io_uring_sqe* e, unsigned fixedFile, const int* value) {
  prepSetsockopt(e, fixedFile, IPPROTO_TCP, TCP_QUICKACK, value, sizeof *value);
  e->flags |= IOSQE_IO_HARDLINK | IOSQE_CQE_SKIP_SUCCESS;
}

}  // namespace cairn::health
