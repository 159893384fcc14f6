// LD_PRELOAD shim for start-up race tests: whoever calls pthread_create
// sleeps 30 ms after the new thread starts. Every window in which a thread
// runs before its owner has finished wiring it up becomes wide enough to hit
// on purpose (tests/e2e/test_startup_race.py).
#include <dlfcn.h>
#include <pthread.h>
#include <unistd.h>

extern "C" int pthread_create(pthread_t* thread, const pthread_attr_t* attr, void* (*start)(void*),
                              void* arg) {
  using Fn = int (*)(pthread_t*, const pthread_attr_t*, void* (*)(void*), void*);
  static Fn real = reinterpret_cast<Fn>(dlsym(RTLD_NEXT, "pthread_create"));
  int r = real(thread, attr, start, arg);
  usleep(30'000);
  return r;
}
