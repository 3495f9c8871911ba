// HotPath's C shims: only what Swift cannot import directly (macros, compiler builtins).
// Every symbol is prefixed hp_. System headers are included here so Swift sees liburing,
// libnuma, OpenSSL, zstd and zlib through this one module.
#ifndef HOTPATH_CSUPPORT_H
#define HOTPATH_CSUPPORT_H

#include <stdint.h>
#include <pthread.h>
#include <sched.h>
#include <sys/resource.h>
#include <netinet/in.h>
#include <liburing.h>
#include <numa.h>
#include <openssl/ssl.h>
#include <openssl/sha.h>
#define ZSTD_STATIC_LINKING_ONLY /* ZSTD_findDecompressedSize, exported by libzstd */
#include <zstd.h>
#include <zlib.h>

#ifdef __cplusplus
extern "C" {
#endif

/// 1 when this build can read the x86 time-stamp counter, else 0.
static inline int hp_has_tsc(void) {
#if defined(__x86_64__)
    return 1;
#else
    return 0;
#endif
}

/// rdtscp: waits for earlier instructions to retire; *aux receives IA32_TSC_AUX (cpu id).
static inline uint64_t hp_rdtscp(uint32_t *aux) {
#if defined(__x86_64__)
    unsigned int a = 0;
    uint64_t t = __builtin_ia32_rdtscp(&a);
    if (aux) *aux = a;
    return t;
#else
    if (aux) *aux = 0;
    return 0;
#endif
}

/// rdtsc: cheaper, not ordered against earlier instructions.
static inline uint64_t hp_rdtsc(void) {
#if defined(__x86_64__)
    return __builtin_ia32_rdtsc();
#else
    return 0;
#endif
}

/// lfence; rdtsc: the read waits until every earlier instruction has completed (LFENCE is
/// dispatch-serialising on Intel, and on AMD once the kernel sets the DE_CFG bit, as Linux
/// does; the vDSO's clock_gettime reads the TSC the same way), so a stamp taken after a call
/// includes all of the call's work. For benchmarks that time single calls.
static inline uint64_t hp_rdtsc_ordered(void) {
#if defined(__x86_64__)
    __builtin_ia32_lfence();
    return __builtin_ia32_rdtsc();
#else
    return 0;
#endif
}

/// The spin-wait hint (PAUSE on x86, YIELD on arm64).
static inline void hp_cpu_relax(void) {
#if defined(__x86_64__)
    __builtin_ia32_pause();
#elif defined(__aarch64__)
    __asm__ __volatile__("yield");
#endif
}

/// Prefetches the cache line at `p` for writing (a hint; never faults).
static inline void hp_prefetch_write(const void *p) { __builtin_prefetch(p, 1, 3); }

/// Compiler-only barrier: keeps a benchmarked value from being optimised away.
/// Double to integer by truncation, with no range check: for values the caller has already
/// clamped into range (Swift's Int(Double) checks and traps).
static inline long hp_truncate(double x) { return (long)x; }

static inline void hp_compiler_barrier(void) { __asm__ __volatile__("" ::: "memory"); }

/// Keeps a benchmark's result alive: the compiler must compute `v`, and cannot see it unused.
static inline void hp_black_hole(uint64_t v) { __asm__ __volatile__("" : : "r"(v) : "memory"); }

/// RLIMIT_MEMLOCK (an enum constant Swift does not see as an Int32).
static inline int hp_rlimit_memlock(void) { return RLIMIT_MEMLOCK; }

/// Number of CPUs a cpu_set_t can describe.
int hp_cpu_setsize(void);

/// Pins `thread` to exactly one CPU. Returns 0 or an errno value.
int hp_pin_thread(pthread_t thread, int cpu);

/// The calling thread's affinity: writes up to `cap` allowed CPU ids into `cpus` and
/// returns how many CPUs are allowed, or -errno.
int hp_current_affinity(int *cpus, int cap);

/// Whether HOTPATH_PORTABLE is set: every kernel selector then picks the portable path (one
/// ISA path for instruction counts that must not depend on the host's CPU).
int hp_portable_forced(void);

/// Sets the calling thread's timer slack (PR_SET_TIMERSLACK; prctl is variadic, which Swift
/// cannot call), so a sleep wakes when asked instead of up to 50 µs later. Returns errno.
int hp_set_timer_slack_ns(unsigned long ns);
/// This thread's load-time allocation log (LoadTimeLog), or NULL: a thread-local slot.
void *hp_load_log(void);
void hp_set_load_log(void *log);

/// Sets the calling thread's name (truncated to the kernel's 15 characters). Returns errno.
int hp_set_thread_name(const char *name);

/// Sets SCHED_FIFO with `priority` on the calling thread. Returns 0 or an errno value.
int hp_set_fifo(int priority);

/// y[0..<out] = b + x·W for W stored [in][out] (row-major by input), through ReLU when `relu`
/// is non-zero (max(0, y); NaN stays NaN). y may be b (each output's bias is read before
/// its sum is stored; the recurrent steps add h·R onto x·W that way); x must not overlap y.
typedef void (*hp_dense_f32_fn)(const float *x, const float *w, const float *b, float *y, int in, int out, int relu);

/// An activation applied in place to y[0..<n] (see dense.c).
typedef void (*hp_activation_f32_fn)(float *y, int n);

/// The network kernels, one set chosen at load time: dense layers ([in][out] weights), narrow
/// layers (fewer outputs than a vector; [out][in] weights), and tanh and the logistic sigmoid
/// in place (eight at a time, absolute error ~1e-7 against libm). `avx2` says whether the
/// set is the AVX2+FMA one.
typedef struct {
    hp_dense_f32_fn dense, narrow;
    hp_activation_f32_fn tanh, sigmoid;
    int32_t avx2;
} hp_nn_kernels;

/// The AVX2+FMA set where the CPU has them and `portable` is 0, else the portable one (plain
/// loops, libm's activations).
hp_nn_kernels hp_nn_kernels_select(int portable);

/// Walks `trees` trees laid out as 64-byte three-level blocks (see forest.c) for one row's
/// u16 rank slots; writes each tree's leaf (its node index counted from the tree's root) to
/// `leaves`.
typedef void (*hp_forest_walk_fn)(const uint8_t *blocks, const int32_t *roots, const int32_t *depths, long trees,
                                  const uint16_t *ranks, const uint8_t *path, int32_t *leaves);

/// The blocked walk for a model with `slots` rank slots (up to 256; `ranks` then holds 64, 128
/// or 256 of them) when this CPU runs it (AVX-512 BW/VL/DQ), else NULL.
hp_forest_walk_fn hp_forest_walk_blocks(int slots);

/// A feature QuickScorer's compare kernel ranks (see quickscore.c): x[index] against `blocks`
/// groups of eight ascending thresholds (padded with +inf); the rows for ranks 0, 1, … start at
/// byte `first_row` of the table, the NaN row at `nan_row`.
typedef struct {
    int32_t index, blocks, first_row, nan_row;
} hp_qs_feature;

/// A small QuickScorer model for the compare kernel, all in memory built at load time.
typedef struct {
    const hp_qs_feature *features;  // `used` of them
    const double *thresholds;       // 64-byte aligned, each feature's blocks in turn
    const uint8_t *table;           // prefix rows of `row_bytes` (32 · 1…8), 32-byte aligned
    const double *leaves;           // tree t's leaf i at t · 8 · word_bytes + i
    int32_t used, word_bytes, trees, classes;
} hp_qs_plan;

typedef void (*hp_qs_scores_fn)(const hp_qs_plan *plan, const double *x, double *out);

/// The compare kernel for rows of `row_bytes` (a multiple of 32, at most 256) when this CPU runs it (AVX-512
/// BW/VL/DQ), else NULL. It writes each class's raw score, summed in tree order.
hp_qs_scores_fn hp_qs_scores_best(int32_t row_bytes);

/// SIGINT and SIGTERM set a flag instead of killing the process (the engine then drains its
/// rings, flushes and reports); a second signal of either kind takes the default action.
void hp_install_stop_handlers(void);

/// The signal number that asked the process to stop, or 0.
int hp_stop_signal(void);

/// Forgets a stop request (a process that runs the engine again, such as the test suite).
void hp_clear_stop_signal(void);

/// SIGHUP asks for the models to be reloaded (`hotpath run`/`replay`), not for an exit.
void hp_install_reload_handler(void);

/// 1 if SIGHUP arrived since the last call, and forgets it; else 0.
int hp_take_reload_request(void);


// ---- UDP for live feeds (udp.c) ----

/// How a receiver takes datagrams: multishot recvmsg on io_uring into a provided-buffer ring,
/// non-blocking recvmmsg busy-poll, or one blocking recvmsg at a time (a benchmark reference).
enum { HP_RX_URING = 1, HP_RX_RECVMMSG = 2, HP_RX_RECVFROM = 3 };

/// One received datagram: its bytes (valid until the next hp_udp_rx_release), whether the
/// kernel cut it to the slot, and the kernel's receive time (CLOCK_REALTIME ns; 0 if none).
typedef struct {
    const uint8_t *data;
    uint32_t length;
    uint32_t truncated;
    uint64_t rx_ns;
} hp_datagram;

typedef struct hp_udp_rx hp_udp_rx;

/// Parses a dotted IPv4 address into `out` with `port`. Returns 0, or -1 when it is not one.
int hp_ipv4(const char *text, struct sockaddr_in *out, uint16_t port);

/// A non-blocking UDP socket bound to host:port with kernel receive timestamps on; a
/// multicast host is joined on the interface with address `interface_ip` (NULL or "": any).
/// `rcvbuf` > 0 sets SO_RCVBUFFORCE where permitted, else SO_RCVBUF. Returns the fd, or -errno with *failed naming the call.
int hp_udp_open_rx(const char *host, uint16_t port, const char *interface_ip, int rcvbuf, const char **failed);

/// A blocking UDP socket for sending; multicast goes out of `interface_ip` when given, and
/// loops back to local receivers. Returns the fd, or -errno with *failed naming the call.
int hp_udp_open_tx(const char *interface_ip, const char **failed);

/// Binds `fd` to 0.0.0.0:port (0: any free port). Returns 0 or -errno.
int hp_udp_bind_any(int fd, uint16_t port);

/// The receive buffer the kernel granted `fd` (bytes, as SO_RCVBUF reports it), or -errno.
int hp_udp_rcvbuf(int fd);

/// The local port `fd` is bound to, or -errno.
int hp_udp_local_port(int fd);

/// sendto without blocking. Returns the bytes sent or -errno.
long hp_udp_sendto(int fd, const void *data, size_t length, const struct sockaddr_in *to);

/// recvfrom without blocking. Returns the bytes read, or -errno (-EAGAIN: nothing waiting).
long hp_udp_recvfrom(int fd, void *data, size_t capacity, struct sockaddr_in *from);

/// A receiver on `fd` with `slots` (a power of two, at most 1024) buffers of `slot_bytes`,
/// all allocated here. Asking for HP_RX_URING falls back to HP_RX_RECVMMSG when io_uring
/// setup is refused (or HOTPATH_NO_URING is set); *uring_error then holds the errno.
/// NULL on bad sizes or no memory. With io_uring, create it on the thread that polls it.
hp_udp_rx *hp_udp_rx_create(int fd, int mode, int slots, int slot_bytes, int *uring_error);

/// Up to `max` datagrams, without blocking (HP_RX_RECVFROM blocks up to 100 ms). Returns
/// how many, or -errno. Call hp_udp_rx_release once they have been consumed.
int hp_udp_rx_poll(hp_udp_rx *rx, hp_datagram *out, int max);

/// Gives the last poll's buffers back to the kernel (io_uring; a no-op otherwise).
void hp_udp_rx_release(hp_udp_rx *rx);

/// The mode in use, and the io_uring setup flags the kernel took.
int hp_udp_rx_mode(const hp_udp_rx *rx);
int hp_udp_rx_uring_flags(const hp_udp_rx *rx);

void hp_udp_rx_destroy(hp_udp_rx *rx);

/// Sends small records (up to 64 bytes) on a connected UDP socket through io_uring: each
/// send is copied into one of `entries` slots, submitted at once (one io_uring_enter), and
/// the completions already posted are reaped. Falls back to send(2) when io_uring is refused
/// (*uring_error then holds the errno).
typedef struct hp_udp_tx hp_udp_tx;
hp_udp_tx *hp_udp_tx_create(int fd, unsigned entries, int *uring_error);
int hp_udp_tx_uses_uring(const hp_udp_tx *tx);
/// Bytes sent by the latest completion seen, 0 while it is pending, or -errno; *failures
/// grows by the failed completions reaped.
long hp_udp_tx_send(hp_udp_tx *tx, const void *data, size_t length, int *failures);
void hp_udp_tx_destroy(hp_udp_tx *tx);

/// connect(2) for a UDP socket. Returns 0 or -errno.
int hp_udp_connect(int fd, const struct sockaddr_in *to);

/// CLOCK_REALTIME in ns (the vDSO; no system call).
uint64_t hp_realtime_ns(void);

#ifdef __cplusplus
}
#endif
#endif

// ---- TLS client (OpenSSL), for wss:// venues (tls.c) ----
/// A TLS session over a connected socket. Opaque to Swift.
typedef struct hp_tls hp_tls;

/// Handshakes TLS 1.2+ over the connected `fd`: SNI and host-name (or IP) verification for
/// `host`, the peer's certificate checked against `ca_file` (a PEM bundle) or, when it is
/// NULL, the system's store; `insecure` != 0 turns verification off; `tls12_only` caps the
/// version at TLS 1.2. NULL on failure, with a one-line reason in `err`.
hp_tls *hp_tls_connect(int fd, const char *host, const char *ca_file, int insecure, int tls12_only, char *err,
                       size_t errlen);
/// Up to `n` bytes: how many, 0 when the peer closed, -1 on an error (reason in `err`), -2
/// when the socket's receive time-out passed with nothing.
long hp_tls_read(hp_tls *t, void *buf, size_t n, char *err, size_t errlen);
/// All of `n` bytes, or -1 (reason in `err`).
long hp_tls_write(hp_tls *t, const void *buf, size_t n, char *err, size_t errlen);
/// Sends close_notify (best effort) and frees the session; the socket stays open.
void hp_tls_free(hp_tls *t);
/// The negotiated protocol ("TLSv1.3").
const char *hp_tls_version(hp_tls *t);
/// SHA-1 of `n` bytes (the WebSocket accept key).
void hp_sha1(const void *p, size_t n, unsigned char out[20]);
/// RSA-PSS-SHA256 (MGF1-SHA256, salt length = digest length) of `n` bytes with the private
/// key in the PEM file `pem_path` (Kalshi's request signature). Writes up to `cap` bytes of
/// signature; returns its length, or -1 with a one-line reason in `err`.
long hp_rsa_pss_sign(const char *pem_path, const void *msg, size_t n, unsigned char *sig, size_t cap, char *err,
                     size_t errlen);

// ---- NATS (nats.c, libnats): the output thread's signals and the fleet's health and control ----

typedef struct hp_nats hp_nats;

/// Connects to `url` (nats://HOST:PORT), reconnecting forever with backoff (50 ms doubling to
/// 2 s, jittered) and buffering up to `reconnect_buffer_bytes` while disconnected. `send_asap`:
/// each publish is written at once (lowest latency) instead of by libnats' flusher thread
/// (batched: higher throughput, about 0.5 ms later; BENCHMARKS.md). NULL with a reason in
/// `error` when the first connection fails.
hp_nats *hp_nats_connect(const char *url, int reconnect_buffer_bytes, int send_asap, char *error, size_t error_length);
void hp_nats_close(hp_nats *h);

/// 0 published (buffered), 1 the reconnect buffer is full (dropped), -1 another failure.
int hp_nats_publish(hp_nats *h, const char *subject, const void *data, int length);
/// The same on subject "<prefix>.<instrument>", formatted on the stack.
int hp_nats_publish_signal(hp_nats *h, const char *prefix, uint32_t instrument, const void *record, int length);
int hp_nats_flush(hp_nats *h, int timeout_ms);
int hp_nats_connected(hp_nats *h);
uint64_t hp_nats_disconnects(hp_nats *h);
uint64_t hp_nats_reconnects(hp_nats *h);

/// Subscribes to `subject` (wildcards allowed); its messages wait for hp_nats_next in a fixed
/// queue (a full queue drops and counts: hp_nats_dropped_messages).
int hp_nats_subscribe(hp_nats *h, const char *subject);
/// The next queued message: its length (cut to `capacity`), or -1 when none is waiting;
/// `at_ns` (if not NULL) gets when it arrived (CLOCK_MONOTONIC).
int hp_nats_next(hp_nats *h, char *subject, size_t subject_capacity, void *data, int capacity, uint64_t *at_ns);
uint64_t hp_nats_dropped_messages(hp_nats *h);

/// Subscribes to the fleet's control subject: "kill" sets `*kill_flag` (the risk gates'
/// atomic) the moment it arrives; "resume" clears hp_nats_fleet_killed, and the caller then
/// clears the flag (a kill-switch file may still hold it). Both are counted.
int hp_nats_watch_control(hp_nats *h, const char *subject, uint8_t *kill_flag);
int hp_nats_fleet_killed(hp_nats *h);
uint64_t hp_nats_kills(hp_nats *h);
uint64_t hp_nats_resumes(hp_nats *h);

// JetStream: a durable signal log, one stream per shard. Publishes are asynchronous, each
// with a message id (Nats-Msg-Id) so that the stream drops a re-sent copy. A publish that
// times out unacknowledged (the server went away) or that libnats refuses waits in a retry
// queue until the connection is back; a server's refusal (the stream is full, say) is counted.

/// Binds `stream` (file storage, subjects [`subject`], a 2-minute duplicate window), creating
/// it when absent. −1 with `error` set when it cannot, or when an existing stream does not
/// capture `subject`.
int hp_nats_js_enable(hp_nats *h, const char *stream, const char *subject, char *error, size_t error_length);
/// Publishes a signal on PREFIX.<instrument> with the id RUN-SEQ (RUN in hex: a process's own,
/// so that a new run's sequence 1 is not the last run's): 0 accepted, 1 queued for a retry, −1
/// lost (the retry queue is full).
int hp_nats_js_publish_signal(
    hp_nats *h, const char *prefix, uint32_t instrument, const void *record, int length, uint64_t run, uint64_t seq);
/// Re-sends what the retry queue holds when connected; how many were re-sent.
int hp_nats_js_service(hp_nats *h);
/// Waits up to `timeout_ms` for every publish to be acknowledged, re-sending as it goes;
/// how many are still unacknowledged (then counted as lost).
int hp_nats_js_complete(hp_nats *h, int timeout_ms);
/// 0 acked, 1 duplicates (a re-sent copy the stream had), 2 retried, 3 refused by the server,
/// 4 lost (a full retry queue, or unacknowledged at the end).
uint64_t hp_nats_js_count(hp_nats *h, int which);
/// The names of the streams whose names begin with `prefix`, '\n'-separated into `names`;
/// how many, or −1.
int hp_nats_js_streams(hp_nats *h, const char *prefix, char *names, size_t capacity);
/// Deletes `stream` and what it holds (`bench nats` cleans up after itself); −1 when it cannot.
int hp_nats_js_delete(hp_nats *h, const char *stream);
/// `stream`'s first and last sequence; −1 when it cannot be read.
int hp_nats_js_bounds(hp_nats *h, const char *stream, uint64_t *first, uint64_t *last);
/// The message at `seq` of `stream`: its data (cut to `capacity`), its Nats-Msg-Id, and its
/// length; −1 when there is none (deleted, or past the end), −2 when it cannot be read.
int hp_nats_js_get(hp_nats *h, const char *stream, uint64_t seq, char *msg_id, size_t msg_id_capacity, void *data,
                   int capacity);
