// NATS (libnats 3.4) for the output and control threads: a connection that reconnects with
// capped exponential backoff and counts its disconnects and reconnects, signal publishing
// with the subject formatted on the stack, and subscriptions whose messages wait in a small
// fixed queue (or, for the fleet's kill switch, set a flag the moment they arrive).
#include "CSupport.h"

#include <nats/nats.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define HP_NATS_QUEUE 65536  // calloc: pages are touched only as messages come
#define HP_NATS_MSG_MAX (1 << 20)
#define HP_NATS_SUBJECT_MAX 256

typedef struct {
    char subject[HP_NATS_SUBJECT_MAX];
    uint64_t at_ns;  // CLOCK_MONOTONIC when it arrived
    int length;
    char *data;  // malloc'd: a subscriber's cold path
} hp_nats_msg;

struct hp_nats {
    natsConnection *nc;
    natsSubscription *subs[4];
    int nsubs;
    _Atomic uint64_t disconnects, reconnects, dropped_messages;
    pthread_mutex_t lock;  // the message queue (a cold path: control and health messages)
    hp_nats_msg *queue;
    int head, count;
    // The control subject's kill/resume: written where the message arrives (libnats' thread).
    _Atomic(uint8_t) *kill_flag;
    _Atomic int fleet_killed;
    _Atomic uint64_t kills, resumes;
    char control[HP_NATS_SUBJECT_MAX];
};

static void on_disconnected(natsConnection *nc, void *closure) {
    (void)nc;
    atomic_fetch_add(&((hp_nats *)closure)->disconnects, 1);
}

static void on_reconnected(natsConnection *nc, void *closure) {
    (void)nc;
    atomic_fetch_add(&((hp_nats *)closure)->reconnects, 1);
}

// 50 ms doubling to 2 s, with up to 25 % jitter so that shards do not reconnect in step.
static int64_t reconnect_delay(natsConnection *nc, int attempts, void *closure) {
    (void)nc;
    (void)closure;
    int64_t ms = 50;
    for (int i = 1; i < attempts && ms < 2000; i++) ms *= 2;
    if (ms > 2000) ms = 2000;
    return ms + (int64_t)(rand() % (int)(ms / 4 + 1));
}

hp_nats *hp_nats_connect(const char *url, int reconnect_buffer_bytes, int send_asap, char *error, size_t error_length) {
    hp_nats *h = calloc(1, sizeof(hp_nats));
    if (!h) return NULL;
    h->queue = calloc(HP_NATS_QUEUE, sizeof(hp_nats_msg));
    pthread_mutex_init(&h->lock, NULL);
    natsOptions *opts = NULL;
    natsStatus s = natsOptions_Create(&opts);
    if (s == NATS_OK) s = natsOptions_SetURL(opts, url);
    if (s == NATS_OK) s = natsOptions_SetMaxReconnect(opts, -1);
    if (s == NATS_OK) s = natsOptions_SetCustomReconnectDelay(opts, reconnect_delay, h);
    if (s == NATS_OK) s = natsOptions_SetReconnectBufSize(opts, reconnect_buffer_bytes);
    if (s == NATS_OK) s = natsOptions_SetDisconnectedCB(opts, on_disconnected, h);
    if (s == NATS_OK) s = natsOptions_SetReconnectedCB(opts, on_reconnected, h);
    if (s == NATS_OK) s = natsOptions_SetTimeout(opts, 2000);
    if (s == NATS_OK) s = natsOptions_SetNoEcho(opts, true);
    if (s == NATS_OK && send_asap) s = natsOptions_SetSendAsap(opts, true);
    if (s == NATS_OK) s = natsConnection_Connect(&h->nc, opts);
    if (opts) natsOptions_Destroy(opts);
    if (s != NATS_OK || !h->queue) {
        snprintf(error, error_length, "%s", h->queue ? natsStatus_GetText(s) : "out of memory");
        free(h->queue);
        pthread_mutex_destroy(&h->lock);
        free(h);
        return NULL;
    }
    return h;
}

void hp_nats_close(hp_nats *h) {
    if (!h) return;
    for (int i = 0; i < h->nsubs; i++) natsSubscription_Destroy(h->subs[i]);
    natsConnection_FlushTimeout(h->nc, 1000);
    natsConnection_Destroy(h->nc);
    for (int i = 0; i < h->count; i++) free(h->queue[(h->head + i) % HP_NATS_QUEUE].data);
    free(h->queue);
    pthread_mutex_destroy(&h->lock);
    free(h);
}

static int publish_status(natsStatus s) {
    if (s == NATS_OK) return 0;
    return s == NATS_INSUFFICIENT_BUFFER ? 1 : -1;
}

int hp_nats_publish(hp_nats *h, const char *subject, const void *data, int length) {
    return publish_status(natsConnection_Publish(h->nc, subject, data, length));
}

int hp_nats_publish_signal(hp_nats *h, const char *prefix, uint32_t instrument, const void *record, int length) {
    char subject[HP_NATS_SUBJECT_MAX];
    int n = snprintf(subject, sizeof subject, "%s.%u", prefix, instrument);
    if (n < 0 || n >= (int)sizeof subject) return -1;
    return publish_status(natsConnection_Publish(h->nc, subject, record, length));
}

int hp_nats_flush(hp_nats *h, int timeout_ms) {
    return natsConnection_FlushTimeout(h->nc, timeout_ms) == NATS_OK ? 0 : -1;
}

int hp_nats_connected(hp_nats *h) { return natsConnection_Status(h->nc) == NATS_CONN_STATUS_CONNECTED; }

uint64_t hp_nats_disconnects(hp_nats *h) { return atomic_load(&h->disconnects); }
uint64_t hp_nats_reconnects(hp_nats *h) { return atomic_load(&h->reconnects); }
uint64_t hp_nats_dropped_messages(hp_nats *h) { return atomic_load(&h->dropped_messages); }
uint64_t hp_nats_kills(hp_nats *h) { return atomic_load(&h->kills); }
uint64_t hp_nats_resumes(hp_nats *h) { return atomic_load(&h->resumes); }
int hp_nats_fleet_killed(hp_nats *h) { return atomic_load(&h->fleet_killed); }

static void on_message(natsConnection *nc, natsSubscription *sub, natsMsg *msg, void *closure) {
    (void)nc;
    (void)sub;
    hp_nats *h = closure;
    const char *subject = natsMsg_GetSubject(msg);
    const char *data = natsMsg_GetData(msg);
    int length = natsMsg_GetDataLength(msg);
    if (h->kill_flag && strcmp(subject, h->control) == 0) {
        if (length == 4 && memcmp(data, "kill", 4) == 0) {
            atomic_store(&h->fleet_killed, 1);
            atomic_store_explicit(h->kill_flag, 1, memory_order_relaxed);
            atomic_fetch_add(&h->kills, 1);
        } else if (length == 6 && memcmp(data, "resume", 6) == 0) {
            atomic_store(&h->fleet_killed, 0);
            atomic_fetch_add(&h->resumes, 1);  // the output thread clears the flag (a kill file may hold it)
        }
    } else {
        pthread_mutex_lock(&h->lock);
        if (h->count == HP_NATS_QUEUE || length > HP_NATS_MSG_MAX || strlen(subject) >= HP_NATS_SUBJECT_MAX) {
            atomic_fetch_add(&h->dropped_messages, 1);
        } else {
            hp_nats_msg *m = &h->queue[(h->head + h->count) % HP_NATS_QUEUE];
            struct timespec now;
            clock_gettime(CLOCK_MONOTONIC, &now);
            m->at_ns = (uint64_t)now.tv_sec * 1000000000u + (uint64_t)now.tv_nsec;
            strcpy(m->subject, subject);
            m->data = malloc(length > 0 ? length : 1);
            if (m->data) {
                memcpy(m->data, data, length);
                m->length = length;
                h->count++;
            } else {
                atomic_fetch_add(&h->dropped_messages, 1);
            }
        }
        pthread_mutex_unlock(&h->lock);
    }
    natsMsg_Destroy(msg);
}

int hp_nats_subscribe(hp_nats *h, const char *subject) {
    if (h->nsubs == 4) return -1;
    natsStatus s = natsConnection_Subscribe(&h->subs[h->nsubs], h->nc, subject, on_message, h);
    if (s != NATS_OK) return -1;
    natsSubscription_SetPendingLimits(h->subs[h->nsubs], -1, -1);  // our queue counts what it drops
    h->nsubs++;
    return natsConnection_FlushTimeout(h->nc, 2000) == NATS_OK ? 0 : -1;
}

int hp_nats_watch_control(hp_nats *h, const char *subject, uint8_t *kill_flag) {
    snprintf(h->control, sizeof h->control, "%s", subject);
    h->kill_flag = (_Atomic(uint8_t) *)kill_flag;
    return hp_nats_subscribe(h, subject);
}

int hp_nats_next(hp_nats *h, char *subject, size_t subject_capacity, void *data, int capacity, uint64_t *at_ns) {
    int length = -1;
    pthread_mutex_lock(&h->lock);
    if (h->count > 0) {
        hp_nats_msg *m = &h->queue[h->head];
        snprintf(subject, subject_capacity, "%s", m->subject);
        length = m->length <= capacity ? m->length : capacity;
        memcpy(data, m->data, length);
        free(m->data);
        if (at_ns) *at_ns = m->at_ns;
        h->head = (h->head + 1) % HP_NATS_QUEUE;
        h->count--;
    }
    pthread_mutex_unlock(&h->lock);
    return length;
}
