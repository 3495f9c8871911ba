#define _GNU_SOURCE
#include "MallocCounter.h"
#include <stddef.h>
#include <errno.h>
#include <dlfcn.h>
#include <malloc.h>

extern void *__libc_malloc(size_t);
extern void *__libc_calloc(size_t, size_t);
extern void *__libc_realloc(void *, size_t);
extern void *__libc_memalign(size_t, size_t);

static __thread uint64_t thread_count __attribute__((tls_model("initial-exec")));

uint64_t hp_thread_malloc_count(void) { return thread_count; }
uint64_t hp_heap_in_use(void) { return mallinfo2().uordblks; }

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

// Reference counting: the test binary defines swift_retain and swift_retain_n too, so every
// retain the code linked into it makes (HotPath's included) is counted here and forwarded to
// the runtime's own (calls inside the runtime itself are not seen).
static void *(*runtime_retain)(void *);
static void *(*runtime_retain_n)(void *, uint32_t);
static __thread uint64_t retain_count __attribute__((tls_model("initial-exec")));

void *swift_retain(void *object) {
    retain_count++;
    if (!runtime_retain) runtime_retain = (void *(*)(void *))dlsym(RTLD_NEXT, "swift_retain");
    return runtime_retain(object);
}

void *swift_retain_n(void *object, uint32_t n) {
    retain_count += n;
    if (!runtime_retain_n) runtime_retain_n = (void *(*)(void *, uint32_t))dlsym(RTLD_NEXT, "swift_retain_n");
    return runtime_retain_n(object, n);
}

uint64_t hp_thread_retain_count(void) { return retain_count; }
