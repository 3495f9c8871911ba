// NATS (libnats 3.4) for the output and control threads: a connection that reconnects with
// capped exponential backoff and counts its disconnects and reconnects, signal publishing
// with the subject formatted on the stack, and subscriptions whose messages wait in a small
// fixed queue (or, for the fleet's kill switch, set a flag the moment they arrive); and
// JetStream publishing with a retry queue for publishes a server restart left unacknowledged.
#include "CSupport.h"

#include <nats/nats.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define HP_NATS_QUEUE 65536  // calloc: pages are touched only as messages come
#define HP_NATS_MSG_MAX (1 << 20)
#define HP_NATS_SUBJECT_MAX 256
#define HP_JS_RETRY 65536          // publishes waiting to be re-sent
#define HP_JS_MAX_PENDING 65536    // unacknowledged publishes in flight
#define HP_JS_ACK_WAIT_MS 2000     // then a publish is taken as lost in flight, and re-sent

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
    // JetStream (hp_nats_js_enable, or a reader's first call).
    jsCtx *js;
    pthread_mutex_t retry_lock;  // the retry ring: libnats' ack thread pushes, the output thread pops
    natsMsg **retry;
    int retry_head;
    _Atomic int retry_count;
    _Atomic uint64_t js_counts[5];  // acked, duplicates, retried, refused, lost
};

enum { JS_ACKED, JS_DUPLICATES, JS_RETRIED, JS_REFUSED, JS_LOST };

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
    pthread_mutex_init(&h->retry_lock, NULL);
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
        pthread_mutex_destroy(&h->retry_lock);
        free(h);
        return NULL;
    }
    return h;
}

void hp_nats_close(hp_nats *h) {
    if (!h) return;
    for (int i = 0; i < h->nsubs; i++) natsSubscription_Destroy(h->subs[i]);
    natsConnection_FlushTimeout(h->nc, 1000);
    if (h->js) jsCtx_Destroy(h->js);
    natsConnection_Destroy(h->nc);
    if (h->retry) {
        for (int i = 0; i < h->retry_count; i++) natsMsg_Destroy(h->retry[(h->retry_head + i) % HP_JS_RETRY]);
        free(h->retry);
    }
    pthread_mutex_destroy(&h->retry_lock);
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

// ---- JetStream ----

static int retry_push(hp_nats *h, natsMsg *m) {
    pthread_mutex_lock(&h->retry_lock);
    int n = atomic_load(&h->retry_count), ok = n < HP_JS_RETRY;
    if (ok) {
        h->retry[(h->retry_head + n) % HP_JS_RETRY] = m;
        atomic_store(&h->retry_count, n + 1);
    }
    pthread_mutex_unlock(&h->retry_lock);
    return ok;
}

static natsMsg *retry_pop(hp_nats *h) {
    natsMsg *m = NULL;
    pthread_mutex_lock(&h->retry_lock);
    int n = atomic_load(&h->retry_count);
    if (n > 0) {
        m = h->retry[h->retry_head];
        h->retry_head = (h->retry_head + 1) % HP_JS_RETRY;
        atomic_store(&h->retry_count, n - 1);
    }
    pthread_mutex_unlock(&h->retry_lock);
    return m;
}

// libnats' thread, once per publish: an ack, a server's refusal (it has an error code), or a
// failure of the way there (a timeout, no responders while the server recovers): re-sent.
static void on_js_ack(jsCtx *js, natsMsg *msg, jsPubAck *pa, jsPubAckErr *pae, void *closure) {
    (void)js;
    hp_nats *h = closure;
    if (pa) {
        atomic_fetch_add(&h->js_counts[pa->Duplicate ? JS_DUPLICATES : JS_ACKED], 1);
    } else if (pae && pae->ErrCode != 0) {
        atomic_fetch_add(&h->js_counts[JS_REFUSED], 1);
    } else if (retry_push(h, msg)) {
        msg = NULL;
    } else {
        atomic_fetch_add(&h->js_counts[JS_LOST], 1);
    }
    natsMsg_Destroy(msg);
}

static natsStatus ensure_js(hp_nats *h, int publishing) {
    if (h->js) return NATS_OK;
    jsOptions o;
    jsOptions_Init(&o);
    if (publishing) {
        o.PublishAsync.MaxPending = HP_JS_MAX_PENDING;
        o.PublishAsync.AckHandler = on_js_ack;
        o.PublishAsync.AckHandlerClosure = h;
        o.PublishAsync.StallWait = 1;  // never hold the output thread: a refused publish is queued
    }
    return natsConnection_JetStream(&h->js, h->nc, &o);
}

int hp_nats_js_enable(hp_nats *h, const char *stream, const char *subject, char *error, size_t error_length) {
    if (h->js || h->retry) {  // a context made for reading has no acknowledgment handler
        snprintf(error, error_length, "JetStream publishing must be enabled once, before any read");
        return -1;
    }
    h->retry = calloc(HP_JS_RETRY, sizeof(natsMsg *));
    natsStatus s = h->retry ? ensure_js(h, 1) : NATS_NO_MEMORY;
    jsStreamInfo *si = NULL;
    jsErrCode jerr = 0;
    if (s == NATS_OK) s = js_GetStreamInfo(&si, h->js, stream, NULL, &jerr);
    if (s == NATS_NOT_FOUND) {
        jsStreamConfig c;
        jsStreamConfig_Init(&c);
        c.Name = stream;
        c.Subjects = &subject;
        c.SubjectsLen = 1;
        c.Storage = js_FileStorage;
        c.Duplicates = (int64_t)120 * 1000000000;
        s = js_AddStream(&si, h->js, &c, NULL, &jerr);
    }
    if (s != NATS_OK) {
        snprintf(error, error_length, "stream %s: %s%s", stream, natsStatus_GetText(s),
                 s == NATS_NO_RESPONDERS ? " (is JetStream on? nats-server -js)" : "");
        return -1;
    }
    int captured = 0;
    for (int i = 0; si->Config && i < si->Config->SubjectsLen; i++) {
        captured |= strcmp(si->Config->Subjects[i], subject) == 0;
    }
    jsStreamInfo_Destroy(si);
    if (!captured) {
        snprintf(error, error_length, "stream %s exists but does not capture %s", stream, subject);
        return -1;
    }
    return 0;
}

static int js_send(hp_nats *h, natsMsg **m) {
    jsPubOptions o;
    jsPubOptions_Init(&o);
    o.MaxWait = HP_JS_ACK_WAIT_MS;
    if (js_PublishMsgAsync(h->js, m, &o) == NATS_OK) return 0;
    if (retry_push(h, *m)) {
        *m = NULL;
        return 1;
    }
    natsMsg_Destroy(*m);
    *m = NULL;
    atomic_fetch_add(&h->js_counts[JS_LOST], 1);
    return -1;
}

int hp_nats_js_publish_signal(
    hp_nats *h, const char *prefix, uint32_t instrument, const void *record, int length, uint64_t run, uint64_t seq) {
    char subject[HP_NATS_SUBJECT_MAX], msg_id[48];
    int n = snprintf(subject, sizeof subject, "%s.%u", prefix, instrument);
    snprintf(msg_id, sizeof msg_id, "%016llx-%llu", (unsigned long long)run, (unsigned long long)seq);
    natsMsg *m = NULL;
    if (n < 0 || n >= (int)sizeof subject || natsMsg_Create(&m, subject, NULL, record, length) != NATS_OK
        || natsMsgHeader_Set(m, "Nats-Msg-Id", msg_id) != NATS_OK) {
        natsMsg_Destroy(m);
        atomic_fetch_add(&h->js_counts[JS_LOST], 1);
        return -1;
    }
    return js_send(h, &m);
}

int hp_nats_js_service(hp_nats *h) {
    if (!h->js || atomic_load(&h->retry_count) == 0 || !hp_nats_connected(h)) return 0;
    int sent = 0;
    for (int n = atomic_load(&h->retry_count); sent < n && sent < 4096; sent++) {
        natsMsg *m = retry_pop(h);
        if (!m) break;
        atomic_fetch_add(&h->js_counts[JS_RETRIED], 1);
        if (js_send(h, &m) != 0) break;  // refused again: wait for the next call
    }
    return sent;
}

int hp_nats_js_complete(hp_nats *h, int timeout_ms) {
    if (!h->js) return 0;
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    int64_t deadline = (int64_t)t.tv_sec * 1000 + t.tv_nsec / 1000000 + timeout_ms;
    jsPubOptions o;
    jsPubOptions_Init(&o);
    o.MaxWait = 50;
    for (int settled = 0; settled < 2;) {
        hp_nats_js_service(h);
        int done = js_PublishAsyncComplete(h->js, &o) == NATS_OK && atomic_load(&h->retry_count) == 0;
        settled = done ? settled + 1 : 0;  // twice: an ack handler may still be queueing a re-send
        clock_gettime(CLOCK_MONOTONIC, &t);
        if ((int64_t)t.tv_sec * 1000 + t.tv_nsec / 1000000 >= deadline) break;
        if (!done) usleep(10000);
    }
    natsMsgList pending = {0};
    int left = atomic_load(&h->retry_count);
    if (js_PublishAsyncGetPendingList(&pending, h->js) == NATS_OK) {
        left += pending.Count;
        natsMsgList_Destroy(&pending);
    }
    for (natsMsg *m; (m = retry_pop(h));) natsMsg_Destroy(m);
    atomic_fetch_add(&h->js_counts[JS_LOST], (uint64_t)left);
    return left;
}

uint64_t hp_nats_js_count(hp_nats *h, int which) {
    return which >= 0 && which < 5 ? atomic_load(&h->js_counts[which]) : 0;
}

int hp_nats_js_streams(hp_nats *h, const char *prefix, char *names, size_t capacity) {
    jsStreamNamesList *list = NULL;
    jsErrCode jerr = 0;
    if (ensure_js(h, 0) != NATS_OK) return -1;
    natsStatus s = js_StreamNames(&list, h->js, NULL, &jerr);
    if (s == NATS_NOT_FOUND) return 0;
    if (s != NATS_OK) return -1;
    int found = 0;
    size_t used = 0, plen = strlen(prefix);
    names[0] = 0;
    for (int i = 0; i < list->Count; i++) {
        size_t n = strlen(list->List[i]);
        if (strncmp(list->List[i], prefix, plen) != 0 || used + n + 2 > capacity) continue;
        memcpy(names + used, list->List[i], n);
        used += n;
        names[used++] = '\n';
        names[used] = 0;
        found++;
    }
    jsStreamNamesList_Destroy(list);
    return found;
}

int hp_nats_js_delete(hp_nats *h, const char *stream) {
    jsErrCode jerr = 0;
    return ensure_js(h, 0) == NATS_OK && js_DeleteStream(h->js, stream, NULL, &jerr) == NATS_OK ? 0 : -1;
}

int hp_nats_js_bounds(hp_nats *h, const char *stream, uint64_t *first, uint64_t *last) {
    jsStreamInfo *si = NULL;
    jsErrCode jerr = 0;
    if (ensure_js(h, 0) != NATS_OK || js_GetStreamInfo(&si, h->js, stream, NULL, &jerr) != NATS_OK) return -1;
    *first = si->State.FirstSeq;
    *last = si->State.LastSeq;
    jsStreamInfo_Destroy(si);
    return 0;
}

int hp_nats_js_get(hp_nats *h, const char *stream, uint64_t seq, char *msg_id, size_t msg_id_capacity, void *data,
                   int capacity) {
    natsMsg *m = NULL;
    jsErrCode jerr = 0;
    if (ensure_js(h, 0) != NATS_OK) return -2;
    natsStatus s = js_GetMsg(&m, h->js, stream, seq, NULL, &jerr);
    if (s != NATS_OK) return s == NATS_NOT_FOUND ? -1 : -2;
    int length = natsMsg_GetDataLength(m);
    if (length > capacity) length = capacity;
    memcpy(data, natsMsg_GetData(m), length);
    const char *id = NULL;
    snprintf(msg_id, msg_id_capacity, "%s", natsMsgHeader_Get(m, "Nats-Msg-Id", &id) == NATS_OK ? id : "");
    natsMsg_Destroy(m);
    return length;
}
