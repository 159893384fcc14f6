// The SO_LINGER {1, 0} socket command through io_uring, shared by the
// agent's ProbeRing and bench/health_floor_uring: liburing only, no Asio.
#pragma once

#include <liburing.h>
#include <sys/socket.h>

#include <cstdint>

namespace cairn::health {

// io_uring's setsockopt socket command (IORING_OP_URING_CMD on a socket,
// Linux 6.7; liburing 2.3 does not name it).
inline constexpr uint32_t kSocketUringOpSetsockopt = 3;
// Static storage: the kernel reads the option value when it runs the SQE,
// after the call that queued it has returned.
inline constexpr linger kLingerReset{1, 0};

// Prepares e as SO_LINGER {on, 0 s} on registered descriptor `fixedFile`,
// linked to the SQE queued next (the close): one RST, no FIN exchange and no
// TIME_WAIT. The caller sets e's user_data. A kernel without socket commands
// completes it with an error (and the linked close with -ECANCELED).
inline void prepLingerReset(io_uring_sqe* e, unsigned fixedFile) {
  io_uring_prep_rw(IORING_OP_URING_CMD, e, static_cast<int>(fixedFile), nullptr, 0, 0);
  e->cmd_op = kSocketUringOpSetsockopt;
  e->addr = uint64_t{SOL_SOCKET} | (uint64_t{SO_LINGER} << 32);  // level, optname
  e->file_index = sizeof kLingerReset;                           // optlen
  e->addr3 = reinterpret_cast<uint64_t>(&kLingerReset);          // optval
  e->flags |= IOSQE_FIXED_FILE | IOSQE_IO_LINK;
}

}  // namespace cairn::health
