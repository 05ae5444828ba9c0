// Names the calling thread (Linux: /proc/<pid>/task/<tid>/comm, at most 15 characters), so
// that top, perf and the benchmarks' per-thread CPU split can tell Cairn's threads apart.
#pragma once

#include <pthread.h>

namespace cairn {

inline void NameThisThread(const char* name) { (void)pthread_setname_np(pthread_self(), name); }

}  // namespace cairn
