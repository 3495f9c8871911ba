// UDP receive for live feeds: one receiver, three ways to fill it (see CSupport.h).
//
// Everything is allocated in hp_udp_rx_create; hp_udp_rx_poll only reads completions (io_uring)
// or calls recvmmsg/recvmsg, and hands out pointers into the preallocated slots. A poll's
// datagrams stay valid until the next hp_udp_rx_release.
#include "CSupport.h"
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <net/if.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

enum { HP_BGID = 7, HP_CONTROL_BYTES = 64 };

struct hp_udp_rx {
    int fd;
    int mode;
    int flags;            // the io_uring setup flags the kernel took
    int slots;
    int slot_bytes;
    uint8_t *data;        // slots × slot_bytes
    int handed;           // datagrams handed out by the last poll (recvmmsg/recvfrom)
    // recvmmsg / recvfrom
    struct mmsghdr *msgs;
    struct iovec *iov;
    uint8_t *control;     // slots × HP_CONTROL_BYTES
    // io_uring
    struct io_uring ring;
    int ring_ready;
    struct io_uring_buf_ring *buf_ring;
    size_t buf_ring_bytes;
    struct msghdr uring_msg;
    int armed;
    uint16_t handed_bids[1024];
    int handed_count;
};

int hp_udp_rx_mode(const hp_udp_rx *rx) { return rx->mode; }
int hp_udp_rx_uring_flags(const hp_udp_rx *rx) { return rx->flags; }

int hp_ipv4(const char *text, struct sockaddr_in *out, uint16_t port) {
    memset(out, 0, sizeof(*out));
    out->sin_family = AF_INET;
    out->sin_port = htons(port);
    return inet_pton(AF_INET, text, &out->sin_addr) == 1 ? 0 : -1;
}

int hp_udp_open_rx(const char *host, uint16_t port, const char *interface_ip, int rcvbuf, const char **failed) {
    struct sockaddr_in addr;
    if (hp_ipv4(host, &addr, port) != 0) { *failed = "inet_pton"; return -EINVAL; }
    int fd = socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0) { *failed = "socket"; return -errno; }
    int one = 1;
    int multicast = IN_MULTICAST(ntohl(addr.sin_addr.s_addr));
    if (multicast && setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) != 0) { *failed = "SO_REUSEADDR"; goto fail; }
    // SO_RCVBUFFORCE goes past net.core.rmem_max where the process may (CAP_NET_ADMIN).
    if (rcvbuf > 0 && setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, &rcvbuf, sizeof(rcvbuf)) != 0 &&
        setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &rcvbuf, sizeof(rcvbuf)) != 0) { *failed = "SO_RCVBUF"; goto fail; }
    if (setsockopt(fd, SOL_SOCKET, SO_TIMESTAMPNS, &one, sizeof(one)) != 0) { *failed = "SO_TIMESTAMPNS"; goto fail; }
    if (bind(fd, (struct sockaddr *)&addr, sizeof(addr)) != 0) { *failed = "bind"; goto fail; }
    if (multicast) {
        struct ip_mreqn mreq;
        memset(&mreq, 0, sizeof(mreq));
        mreq.imr_multiaddr = addr.sin_addr;
        if (interface_ip && *interface_ip && inet_pton(AF_INET, interface_ip, &mreq.imr_address) != 1) {
            *failed = "inet_pton (interface)";
            close(fd);
            return -EINVAL;
        }
        if (setsockopt(fd, IPPROTO_IP, IP_ADD_MEMBERSHIP, &mreq, sizeof(mreq)) != 0) { *failed = "IP_ADD_MEMBERSHIP"; goto fail; }
    }
    return fd;
fail:;
    int e = errno;
    close(fd);
    return -e;
}

int hp_udp_open_tx(const char *interface_ip, const char **failed) {
    int fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    if (fd < 0) { *failed = "socket"; return -errno; }
    if (interface_ip && *interface_ip) {
        struct in_addr a;
        if (inet_pton(AF_INET, interface_ip, &a) != 1) { *failed = "inet_pton (interface)"; close(fd); return -EINVAL; }
        if (setsockopt(fd, IPPROTO_IP, IP_MULTICAST_IF, &a, sizeof(a)) != 0) {
            int e = errno;
            *failed = "IP_MULTICAST_IF";
            close(fd);
            return -e;
        }
    }
    unsigned char loop = 1;
    setsockopt(fd, IPPROTO_IP, IP_MULTICAST_LOOP, &loop, sizeof(loop));
    return fd;
}

int hp_udp_bind_any(int fd, uint16_t port) {
    struct sockaddr_in a;
    memset(&a, 0, sizeof(a));
    a.sin_family = AF_INET;
    a.sin_port = htons(port);
    a.sin_addr.s_addr = htonl(INADDR_ANY);
    return bind(fd, (struct sockaddr *)&a, sizeof(a)) == 0 ? 0 : -errno;
}

int hp_udp_local_port(int fd) {
    struct sockaddr_in a;
    socklen_t n = sizeof(a);
    if (getsockname(fd, (struct sockaddr *)&a, &n) != 0) return -errno;
    return ntohs(a.sin_port);
}

long hp_udp_sendto(int fd, const void *data, size_t length, const struct sockaddr_in *to) {
    long n = sendto(fd, data, length, MSG_DONTWAIT, (const struct sockaddr *)to, sizeof(*to));
    return n < 0 ? -errno : n;
}

long hp_udp_recvfrom(int fd, void *data, size_t capacity, struct sockaddr_in *from) {
    socklen_t n = sizeof(*from);
    long got = recvfrom(fd, data, capacity, MSG_DONTWAIT, (struct sockaddr *)from, &n);
    return got < 0 ? -errno : got;
}

static uint64_t hp_cmsg_rx_ns(struct msghdr *m) {
    for (struct cmsghdr *c = CMSG_FIRSTHDR(m); c; c = CMSG_NXTHDR(m, c)) {
        if (c->cmsg_level == SOL_SOCKET && c->cmsg_type == SCM_TIMESTAMPNS) {
            struct timespec ts;
            memcpy(&ts, CMSG_DATA(c), sizeof(ts));
            return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
        }
    }
    return 0;
}

static int hp_uring_arm(hp_udp_rx *rx) {
    struct io_uring_sqe *sqe = io_uring_get_sqe(&rx->ring);
    if (!sqe) return -EBUSY;
    io_uring_prep_recvmsg_multishot(sqe, rx->fd, &rx->uring_msg, MSG_TRUNC);
    sqe->flags |= IOSQE_BUFFER_SELECT;
    sqe->buf_group = HP_BGID;
    int rc = io_uring_submit(&rx->ring);
    if (rc < 0) return rc;
    rx->armed = 1;
    return 0;
}

static int hp_uring_setup(hp_udp_rx *rx) {
    if (getenv("HOTPATH_NO_URING")) return -EPERM;  // tests force the fallback this way
    struct io_uring_params p;
    const unsigned tries[] = {
        IORING_SETUP_SINGLE_ISSUER | IORING_SETUP_DEFER_TASKRUN,
        IORING_SETUP_SINGLE_ISSUER | IORING_SETUP_COOP_TASKRUN,
        0,
    };
    int rc = -EINVAL;
    // HOTPATH_URING_SETUP=N starts at the N-th choice (the benchmark compares them).
    const char *start = getenv("HOTPATH_URING_SETUP");
    unsigned first = start ? (unsigned)atoi(start) : 0;
    for (unsigned i = first < 3 ? first : 0; i < sizeof(tries) / sizeof(tries[0]); i++) {
        memset(&p, 0, sizeof(p));
        p.flags = tries[i];
        rc = io_uring_queue_init_params(64, &rx->ring, &p);
        if (rc == 0) { rx->flags = (int)tries[i]; break; }
        if (rc != -EINVAL) return rc;  // EPERM, ENOSYS: io_uring is refused outright
    }
    if (rc != 0) return rc;
    rx->ring_ready = 1;
    rx->buf_ring_bytes = (size_t)rx->slots * sizeof(struct io_uring_buf);
    void *mem = mmap(NULL, rx->buf_ring_bytes, PROT_READ | PROT_WRITE, MAP_ANONYMOUS | MAP_PRIVATE, -1, 0);
    if (mem == MAP_FAILED) return -errno;
    rx->buf_ring = mem;
    struct io_uring_buf_reg reg;
    memset(&reg, 0, sizeof(reg));
    reg.ring_addr = (unsigned long)mem;
    reg.ring_entries = (unsigned)rx->slots;
    reg.bgid = HP_BGID;
    rc = io_uring_register_buf_ring(&rx->ring, &reg, 0);
    if (rc != 0) return rc;
    io_uring_buf_ring_init(rx->buf_ring);
    int mask = io_uring_buf_ring_mask((unsigned)rx->slots);
    for (int i = 0; i < rx->slots; i++)
        io_uring_buf_ring_add(rx->buf_ring, rx->data + (size_t)i * rx->slot_bytes, (unsigned)rx->slot_bytes, (unsigned short)i, mask, i);
    io_uring_buf_ring_advance(rx->buf_ring, rx->slots);
    memset(&rx->uring_msg, 0, sizeof(rx->uring_msg));
    rx->uring_msg.msg_controllen = HP_CONTROL_BYTES;
    return hp_uring_arm(rx);
}

void hp_udp_rx_destroy(hp_udp_rx *rx) {
    if (!rx) return;
    if (rx->ring_ready) io_uring_queue_exit(&rx->ring);
    if (rx->buf_ring) munmap(rx->buf_ring, rx->buf_ring_bytes);
    free(rx->data);
    free(rx->msgs);
    free(rx->iov);
    free(rx->control);
    free(rx);
}

hp_udp_rx *hp_udp_rx_create(int fd, int mode, int slots, int slot_bytes, int *uring_error) {
    *uring_error = 0;
    if (slots < 1 || slots > 1024 || (slots & (slots - 1)) != 0 || slot_bytes < 256) return NULL;
    hp_udp_rx *rx = calloc(1, sizeof(*rx));
    if (!rx) return NULL;
    rx->fd = fd;
    rx->slots = slots;
    rx->slot_bytes = slot_bytes;
    rx->data = aligned_alloc(64, (size_t)slots * slot_bytes);
    if (!rx->data) { hp_udp_rx_destroy(rx); return NULL; }
    if (mode == HP_RX_URING) {
        int rc = hp_uring_setup(rx);
        if (rc == 0) { rx->mode = HP_RX_URING; return rx; }
        *uring_error = -rc;
        if (rx->ring_ready) { io_uring_queue_exit(&rx->ring); rx->ring_ready = 0; }
        if (rx->buf_ring) { munmap(rx->buf_ring, rx->buf_ring_bytes); rx->buf_ring = NULL; }
        mode = HP_RX_RECVMMSG;
    }
    rx->mode = mode;
    rx->msgs = calloc((size_t)slots, sizeof(struct mmsghdr));
    rx->iov = calloc((size_t)slots, sizeof(struct iovec));
    rx->control = calloc((size_t)slots, HP_CONTROL_BYTES);
    if (!rx->msgs || !rx->iov || !rx->control) { hp_udp_rx_destroy(rx); return NULL; }
    for (int i = 0; i < slots; i++) {
        rx->iov[i].iov_base = rx->data + (size_t)i * slot_bytes;
        rx->iov[i].iov_len = (size_t)slot_bytes;
        rx->msgs[i].msg_hdr.msg_iov = &rx->iov[i];
        rx->msgs[i].msg_hdr.msg_iovlen = 1;
        rx->msgs[i].msg_hdr.msg_control = rx->control + (size_t)i * HP_CONTROL_BYTES;
    }
    if (mode == HP_RX_RECVFROM) {
        struct timeval tv = {0, 100000};  // a blocking read that still lets the caller look at its stop flag
        int flags = fcntl(fd, F_GETFL);
        fcntl(fd, F_SETFL, flags & ~O_NONBLOCK);
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
    }
    return rx;
}

static int hp_poll_uring(hp_udp_rx *rx, hp_datagram *out, int max) {
    if (max > 1024) max = 1024;
    if (!rx->armed) {
        int rc = hp_uring_arm(rx);
        if (rc < 0) return rc;
    }
    struct io_uring_cqe *cqe;
    if (io_uring_peek_cqe(&rx->ring, &cqe) != 0) {
        if (rx->flags & (IORING_SETUP_DEFER_TASKRUN | IORING_SETUP_COOP_TASKRUN)) io_uring_get_events(&rx->ring);
        if (io_uring_peek_cqe(&rx->ring, &cqe) != 0) return 0;
    }
    int n = 0;
    unsigned head, seen = 0;
    io_uring_for_each_cqe(&rx->ring, head, cqe) {
        if (n == max) break;
        seen++;
        if (!(cqe->flags & IORING_CQE_F_MORE)) rx->armed = 0;
        if (cqe->res < 0) {
            if (cqe->res == -ENOBUFS) continue;  // re-armed on the next poll, after buffers come back
            io_uring_cq_advance(&rx->ring, seen);
            return n > 0 ? n : cqe->res;
        }
        if (!(cqe->flags & IORING_CQE_F_BUFFER)) continue;
        uint16_t bid = (uint16_t)(cqe->flags >> IORING_CQE_BUFFER_SHIFT);
        rx->handed_bids[rx->handed_count++] = bid;
        uint8_t *buf = rx->data + (size_t)bid * rx->slot_bytes;
        struct io_uring_recvmsg_out *o = io_uring_recvmsg_validate(buf, cqe->res, &rx->uring_msg);
        if (!o) continue;
        out[n].data = io_uring_recvmsg_payload(o, &rx->uring_msg);
        out[n].length = io_uring_recvmsg_payload_length(o, cqe->res, &rx->uring_msg);
        out[n].truncated = (o->flags & MSG_TRUNC) != 0;
        out[n].rx_ns = 0;
        for (struct cmsghdr *c = io_uring_recvmsg_cmsg_firsthdr(o, &rx->uring_msg); c;
             c = io_uring_recvmsg_cmsg_nexthdr(o, &rx->uring_msg, c)) {
            if (c->cmsg_level == SOL_SOCKET && c->cmsg_type == SCM_TIMESTAMPNS) {
                struct timespec ts;
                memcpy(&ts, CMSG_DATA(c), sizeof(ts));
                out[n].rx_ns = (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
            }
        }
        n++;
    }
    io_uring_cq_advance(&rx->ring, seen);
    return n;
}

int hp_udp_rx_poll(hp_udp_rx *rx, hp_datagram *out, int max) {
    if (rx->mode == HP_RX_URING) return hp_poll_uring(rx, out, max);
    if (max > rx->slots) max = rx->slots;
    int n;
    if (rx->mode == HP_RX_RECVFROM) {
        struct msghdr *m = &rx->msgs[0].msg_hdr;
        m->msg_controllen = HP_CONTROL_BYTES;
        long got = recvmsg(rx->fd, m, 0);
        if (got < 0) return errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR ? 0 : -errno;
        rx->msgs[0].msg_len = (unsigned)got;
        n = 1;
    } else {
        for (int i = 0; i < max; i++) rx->msgs[i].msg_hdr.msg_controllen = HP_CONTROL_BYTES;
        n = recvmmsg(rx->fd, rx->msgs, (unsigned)max, MSG_DONTWAIT, NULL);
        if (n < 0) return errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR ? 0 : -errno;
    }
    for (int i = 0; i < n; i++) {
        out[i].data = rx->data + (size_t)i * rx->slot_bytes;
        out[i].length = rx->msgs[i].msg_len;
        out[i].truncated = (rx->msgs[i].msg_hdr.msg_flags & MSG_TRUNC) != 0;
        out[i].rx_ns = hp_cmsg_rx_ns(&rx->msgs[i].msg_hdr);
    }
    return n;
}

void hp_udp_rx_release(hp_udp_rx *rx) {
    if (rx->mode != HP_RX_URING || rx->handed_count == 0) return;
    int mask = io_uring_buf_ring_mask((unsigned)rx->slots);
    for (int i = 0; i < rx->handed_count; i++) {
        uint16_t bid = rx->handed_bids[i];
        io_uring_buf_ring_add(rx->buf_ring, rx->data + (size_t)bid * rx->slot_bytes, (unsigned)rx->slot_bytes, bid, mask, i);
    }
    io_uring_buf_ring_advance(rx->buf_ring, rx->handed_count);
    rx->handed_count = 0;
}

uint64_t hp_realtime_ns(void) {
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

// ---- egress ----

struct hp_udp_tx {
    int fd;
    int uring;
    struct io_uring ring;
    uint8_t *slots;  // 64 bytes each, `entries` of them, reused in turn
    unsigned entries, next;
};

hp_udp_tx *hp_udp_tx_create(int fd, unsigned entries, int *uring_error) {
    *uring_error = 0;
    hp_udp_tx *tx = calloc(1, sizeof(*tx));
    if (!tx) return NULL;
    tx->fd = fd;
    tx->entries = entries;
    tx->slots = aligned_alloc(64, (size_t)entries * 64);
    if (!tx->slots) { free(tx); return NULL; }
    int rc = getenv("HOTPATH_NO_URING") ? -EPERM : io_uring_queue_init(entries, &tx->ring, 0);
    if (rc == 0) tx->uring = 1; else *uring_error = -rc;
    return tx;
}

int hp_udp_tx_uses_uring(const hp_udp_tx *tx) { return tx->uring; }

static int hp_tx_reap(hp_udp_tx *tx, int *last) {
    struct io_uring_cqe *cqe;
    unsigned head, seen = 0;
    int errors = 0;
    io_uring_for_each_cqe(&tx->ring, head, cqe) {
        seen++;
        if (cqe->res < 0) errors++;
        *last = cqe->res;
    }
    io_uring_cq_advance(&tx->ring, seen);
    return errors;
}

long hp_udp_tx_send(hp_udp_tx *tx, const void *data, size_t length, int *failures) {
    if (length > 64) return -EMSGSIZE;
    if (!tx->uring) {
        long n = send(tx->fd, data, length, MSG_DONTWAIT);
        if (n < 0) { (*failures)++; return -errno; }
        return n;
    }
    uint8_t *slot = tx->slots + (size_t)(tx->next++ % tx->entries) * 64;
    memcpy(slot, data, length);
    struct io_uring_sqe *sqe = io_uring_get_sqe(&tx->ring);
    if (!sqe) { (*failures)++; return -EBUSY; }
    io_uring_prep_send(sqe, tx->fd, slot, length, MSG_DONTWAIT);
    int rc = io_uring_submit(&tx->ring);
    if (rc < 0) { (*failures)++; return rc; }
    int last = 0;
    *failures += hp_tx_reap(tx, &last);
    return last;  // 0 while the completion is still pending
}

void hp_udp_tx_destroy(hp_udp_tx *tx) {
    if (!tx) return;
    if (tx->uring) io_uring_queue_exit(&tx->ring);
    free(tx->slots);
    free(tx);
}

int hp_udp_connect(int fd, const struct sockaddr_in *to) {
    return connect(fd, (const struct sockaddr *)to, sizeof(*to)) == 0 ? 0 : -errno;
}

int hp_udp_rcvbuf(int fd) {
    int v = 0;
    socklen_t n = sizeof(v);
    return getsockopt(fd, SOL_SOCKET, SO_RCVBUF, &v, &n) == 0 ? v : -errno;
}
