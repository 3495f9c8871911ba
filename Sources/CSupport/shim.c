#include "CSupport.h"
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <signal.h>
#include <sys/prctl.h>

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

static volatile sig_atomic_t hp_stop_flag = 0;

static void hp_on_stop(int sig) { hp_stop_flag = sig; }

void hp_install_stop_handlers(void) {
    struct sigaction sa;
    memset(&sa, 0, sizeof(sa));
    sa.sa_handler = hp_on_stop;
    sa.sa_flags = SA_RESETHAND;  // the second signal is not caught
    sigemptyset(&sa.sa_mask);
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
}

int hp_stop_signal(void) { return hp_stop_flag; }

void hp_clear_stop_signal(void) { hp_stop_flag = 0; }

static volatile sig_atomic_t hp_reload_flag = 0;

static void hp_on_reload(int sig) { (void)sig; hp_reload_flag = 1; }

void hp_install_reload_handler(void) {
    struct sigaction sa;
    memset(&sa, 0, sizeof(sa));
    sa.sa_handler = hp_on_reload;
    sa.sa_flags = SA_RESTART;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGHUP, &sa, NULL);
}

int hp_take_reload_request(void) {
    if (!hp_reload_flag) return 0;
    hp_reload_flag = 0;
    return 1;
}

static _Thread_local void *load_log;
void *hp_load_log(void) { return load_log; }
void hp_set_load_log(void *log) { load_log = log; }

int hp_set_timer_slack_ns(unsigned long ns) {
    return prctl(PR_SET_TIMERSLACK, ns, 0, 0, 0) == 0 ? 0 : errno;
}

int hp_portable_forced(void) { return getenv("HOTPATH_PORTABLE") != NULL; }
