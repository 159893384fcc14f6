// Keeps the packaged binary (CAIRN_PACKAGE) within glibc 2.34 (EL9).
//
// libstdc++.a from Debian 12's GCC 12 was configured against glibc 2.36, so
// its std::random_device (random.o) calls arc4random, which glibc first
// exported in 2.36 (GLIBC_2.36). Linked statically, that reference would
// make the binary refuse to start on any older glibc. This definition
// satisfies it at link time instead: the executable exports no symbols, so
// it is used only by the code linked into it, and glibc's own callers keep
// their internal arc4random. Semantics as glibc's: uniform 32 random bits
// from the kernel, never failing (it aborts if the kernel has none to give).
#include <sys/random.h>
#include <unistd.h>

#include <cerrno>
#include <cstdint>
#include <cstdlib>

extern "C" uint32_t arc4random(void) {
  uint32_t v = 0;
  auto* p = reinterpret_cast<unsigned char*>(&v);
  size_t got = 0;
  while (got < sizeof v) {
    ssize_t n = getrandom(p + got, sizeof v - got, 0);
    if (n > 0) {
      got += static_cast<size_t>(n);
    } else if (n < 0 && errno != EINTR) {
      abort();
    }
  }
  return v;
}
