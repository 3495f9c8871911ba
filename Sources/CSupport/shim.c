#include "CSupport.h"
#include <errno.h>
#include <string.h>

_Static_assert(sizeof(uint64_t) == 8, "uint64_t must be 8 bytes");
_Static_assert(CPU_SETSIZE >= 64, "cpu_set_t too small");

int hp_cpu_setsize(void) { return CPU_SETSIZE; }

int hp_pin_thread(pthread_t thread, int cpu) {
    if (cpu < 0 || cpu >= CPU_SETSIZE) return EINVAL;
    cpu_set_t set;
    CPU_ZERO(&set);
    CPU_SET(cpu, &set);
    return pthread_setaffinity_np(thread, sizeof(set), &set);
}

int hp_current_affinity(int *cpus, int cap) {
    cpu_set_t set;
    CPU_ZERO(&set);
    if (sched_getaffinity(0, sizeof(set), &set) != 0) return -errno;
    int n = 0;
    for (int c = 0; c < CPU_SETSIZE; c++) {
        if (CPU_ISSET(c, &set)) {
            if (n < cap) cpus[n] = c;
            n++;
        }
    }
    return n;
}

int hp_set_thread_name(const char *name) {
    char buf[16];
    strncpy(buf, name, sizeof(buf) - 1);
    buf[sizeof(buf) - 1] = 0;
    return pthread_setname_np(pthread_self(), buf);
}

int hp_set_fifo(int priority) {
    struct sched_param p;
    memset(&p, 0, sizeof(p));
    p.sched_priority = priority;
    return pthread_setschedparam(pthread_self(), SCHED_FIFO, &p);
}
