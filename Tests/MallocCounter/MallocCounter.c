#define _GNU_SOURCE
#include "MallocCounter.h"
#include <stddef.h>
#include <errno.h>

extern void *__libc_malloc(size_t);
extern void *__libc_calloc(size_t, size_t);
extern void *__libc_realloc(void *, size_t);
extern void *__libc_memalign(size_t, size_t);

static __thread uint64_t thread_count __attribute__((tls_model("initial-exec")));

uint64_t hp_thread_malloc_count(void) { return thread_count; }

void *malloc(size_t n) { thread_count++; return __libc_malloc(n); }
void *calloc(size_t a, size_t b) { thread_count++; return __libc_calloc(a, b); }
void *realloc(void *p, size_t n) { thread_count++; return __libc_realloc(p, n); }
void *memalign(size_t a, size_t n) { thread_count++; return __libc_memalign(a, n); }
void *aligned_alloc(size_t a, size_t n) { thread_count++; return __libc_memalign(a, n); }
int posix_memalign(void **out, size_t a, size_t n) {
    thread_count++;
    void *p = __libc_memalign(a, n);
    if (!p) return ENOMEM;
    *out = p;
    return 0;
}
