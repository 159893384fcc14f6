// Returning freed heap memory to the operating system.
#pragma once

namespace cairn {

// Hands the allocator's free pages back to the OS (glibc keeps them
// otherwise: after the catalog is replaced wholesale, the old catalog and
// the decoding buffers stay in the process's RSS). Costs a walk of the heap,
// tens of milliseconds for a large one: call it after rare, large frees
// only. A no-op where the allocator has no such call.
void releaseFreeMemory();

}  // namespace cairn
