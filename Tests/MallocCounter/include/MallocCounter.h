// Test-only: counts allocation calls made by the calling thread. The test binary defines
// malloc/calloc/realloc/posix_memalign/aligned_alloc/memalign, which preempt glibc's and
// forward to glibc's __libc_* entry points, so every allocation in the process is seen.
#ifndef HOTPATH_MALLOC_COUNTER_H
#define HOTPATH_MALLOC_COUNTER_H
#include <stdint.h>
/// Allocation calls made so far by the calling thread.
uint64_t hp_thread_malloc_count(void);
/// The heap's bytes in use (glibc's mallinfo2: every thread's).
uint64_t hp_heap_in_use(void);
/// Swift retains (swift_retain, swift_retain_n) made so far by the calling thread.
uint64_t hp_thread_retain_count(void);
#endif
