// TLS client on OpenSSL for wss:// venues: a thin shim, since SNI and host-name checks are
// macros and flags Swift does not import. Cold set-up; hp_tls_read is the receive call.
#include "CSupport.h"

#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <stdio.h>
#include <string.h>
#include <arpa/inet.h>
#include <sys/socket.h>
#include <openssl/bio.h>
#include <openssl/err.h>
#include <openssl/x509v3.h>

struct hp_tls {
    SSL_CTX *ctx;
    SSL *ssl;
};

static void reason(char *err, size_t errlen, const char *what) {
    unsigned long e = ERR_peek_last_error();
    if (e) {
        char buf[256];
        ERR_error_string_n(e, buf, sizeof buf);
        snprintf(err, errlen, "%s: %s", what, buf);
    } else if (errno) {
        snprintf(err, errlen, "%s: %s", what, strerror(errno));
    } else {
        snprintf(err, errlen, "%s", what);
    }
    ERR_clear_error();
}

// OpenSSL's socket BIO writes with write(2): a peer that has gone raises SIGPIPE, which kills
// the process (it did, when a venue dropped a connection as a pong went out). This BIO is
// the socket BIO with its write done by send(2) with MSG_NOSIGNAL: the write fails with
// EPIPE instead, and the connection ends as any broken one does. Nothing process-wide.
static BIO_METHOD *quiet_socket;
static pthread_once_t quiet_socket_once = PTHREAD_ONCE_INIT;

static int quiet_write(BIO *b, const char *in, int n) {
    int fd = -1;
    BIO_get_fd(b, &fd);
    errno = 0;
    int r = (int)send(fd, in, (size_t)n, MSG_NOSIGNAL);
    BIO_clear_retry_flags(b);
    if (r <= 0 && BIO_sock_should_retry(r)) BIO_set_retry_write(b);
    return r;
}

static void make_quiet_socket(void) {
    const BIO_METHOD *base = BIO_s_socket();
    BIO_METHOD *m = BIO_meth_new(BIO_TYPE_SOCKET, "socket, no SIGPIPE");
    if (!m) return;
    BIO_meth_set_write(m, quiet_write);
    BIO_meth_set_read(m, BIO_meth_get_read(base));
    BIO_meth_set_puts(m, BIO_meth_get_puts(base));
    BIO_meth_set_ctrl(m, BIO_meth_get_ctrl(base));
    BIO_meth_set_create(m, BIO_meth_get_create(base));
    BIO_meth_set_destroy(m, BIO_meth_get_destroy(base));
    quiet_socket = m;
}

hp_tls *hp_tls_connect(int fd, const char *host, const char *ca_file, int insecure, int tls12_only, char *err,
                       size_t errlen) {
    ERR_clear_error();
    hp_tls *t = calloc(1, sizeof *t);
    if (!t) { snprintf(err, errlen, "out of memory"); return NULL; }
    t->ctx = SSL_CTX_new(TLS_client_method());
    if (!t->ctx) { reason(err, errlen, "SSL_CTX_new"); free(t); return NULL; }
    SSL_CTX_set_min_proto_version(t->ctx, TLS1_2_VERSION);
    if (tls12_only) SSL_CTX_set_max_proto_version(t->ctx, TLS1_2_VERSION);
    if (!insecure) {
        int loaded = ca_file ? SSL_CTX_load_verify_locations(t->ctx, ca_file, NULL)
                             : SSL_CTX_set_default_verify_paths(t->ctx);
        if (loaded != 1) {
            reason(err, errlen, ca_file ? "ca_file cannot be loaded" : "the system's CA store cannot be loaded");
            hp_tls_free(t);
            return NULL;
        }
        SSL_CTX_set_verify(t->ctx, SSL_VERIFY_PEER, NULL);
    } else {
        SSL_CTX_set_verify(t->ctx, SSL_VERIFY_NONE, NULL);
    }
    t->ssl = SSL_new(t->ctx);
    if (!t->ssl) { reason(err, errlen, "SSL_new"); hp_tls_free(t); return NULL; }
    struct in6_addr a6;
    struct in_addr a4;
    int is_ip = inet_pton(AF_INET, host, &a4) == 1 || inet_pton(AF_INET6, host, &a6) == 1;
    if (!is_ip) SSL_set_tlsext_host_name(t->ssl, host);
    if (!insecure) {
        X509_VERIFY_PARAM *param = SSL_get0_param(t->ssl);
        X509_VERIFY_PARAM_set_hostflags(param, X509_CHECK_FLAG_NO_PARTIAL_WILDCARDS);
        int set = is_ip ? X509_VERIFY_PARAM_set1_ip_asc(param, host) : X509_VERIFY_PARAM_set1_host(param, host, 0);
        if (set != 1) { reason(err, errlen, "the host name cannot be checked"); hp_tls_free(t); return NULL; }
    }
    pthread_once(&quiet_socket_once, make_quiet_socket);
    BIO *bio = quiet_socket ? BIO_new(quiet_socket) : NULL;
    if (!bio) { reason(err, errlen, "BIO_new"); hp_tls_free(t); return NULL; }
    BIO_set_fd(bio, fd, BIO_NOCLOSE);
    SSL_set_bio(t->ssl, bio, bio);
    for (;;) {
        errno = 0;
        int rc = SSL_connect(t->ssl);
        if (rc == 1) break;
        int e = SSL_get_error(t->ssl, rc);
        if ((e == SSL_ERROR_WANT_READ || e == SSL_ERROR_WANT_WRITE) && (errno == EAGAIN || errno == EINTR)) continue;
        long verify = SSL_get_verify_result(t->ssl);
        if (verify != X509_V_OK) {
            snprintf(err, errlen, "certificate verify failed: %s", X509_verify_cert_error_string(verify));
            ERR_clear_error();
        } else {
            reason(err, errlen, "TLS handshake failed");
        }
        hp_tls_free(t);
        return NULL;
    }
    return t;
}

long hp_tls_read(hp_tls *t, void *buf, size_t n, char *err, size_t errlen) {
    for (;;) {
        errno = 0;
        int rc = SSL_read(t->ssl, buf, (int)(n > 1 << 30 ? 1 << 30 : n));
        if (rc > 0) return rc;
        int e = SSL_get_error(t->ssl, rc);
        if (e == SSL_ERROR_ZERO_RETURN) return 0;
        if (e == SSL_ERROR_WANT_READ || e == SSL_ERROR_WANT_WRITE) {
            if (errno == EINTR) continue;
            return -2;
        }
        if (e == SSL_ERROR_SYSCALL && errno == 0) return 0;  // the peer closed without close_notify
        if (e == SSL_ERROR_SYSCALL && (errno == EAGAIN || errno == EWOULDBLOCK)) return -2;
        reason(err, errlen, "TLS read");
        return -1;
    }
}

long hp_tls_write(hp_tls *t, const void *buf, size_t n, char *err, size_t errlen) {
    size_t done = 0;
    while (done < n) {
        errno = 0;
        int rc = SSL_write(t->ssl, (const char *)buf + done, (int)(n - done));
        if (rc > 0) { done += (size_t)rc; continue; }
        int e = SSL_get_error(t->ssl, rc);
        if ((e == SSL_ERROR_WANT_WRITE || e == SSL_ERROR_WANT_READ) && (errno == EINTR || errno == EAGAIN)) continue;
        reason(err, errlen, "TLS write");
        return -1;
    }
    return (long)done;
}

void hp_tls_free(hp_tls *t) {
    if (!t) return;
    if (t->ssl) { SSL_shutdown(t->ssl); SSL_free(t->ssl); }
    if (t->ctx) SSL_CTX_free(t->ctx);
    free(t);
    // A shutdown of a broken connection queues errors on this thread; left there, they
    // would make SSL_get_error report the next connection's first WANT_READ as a failure.
    ERR_clear_error();
}

const char *hp_tls_version(hp_tls *t) { return SSL_get_version(t->ssl); }

void hp_sha1(const void *p, size_t n, unsigned char out[20]) { SHA1(p, n, out); }

#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rsa.h>

long hp_rsa_pss_sign(const char *pem_path, const void *msg, size_t n, unsigned char *sig, size_t cap, char *err,
                     size_t errlen) {
    ERR_clear_error();
    FILE *f = fopen(pem_path, "r");
    if (!f) { snprintf(err, errlen, "%s: %s", pem_path, strerror(errno)); return -1; }
    EVP_PKEY *key = PEM_read_PrivateKey(f, NULL, NULL, NULL);
    fclose(f);
    if (!key) { reason(err, errlen, "no private key in the PEM file"); return -1; }
    long result = -1;
    EVP_MD_CTX *md = EVP_MD_CTX_new();
    EVP_PKEY_CTX *pctx = NULL;
    size_t len = cap;
    if (md && EVP_DigestSignInit(md, &pctx, EVP_sha256(), NULL, key) == 1 &&
        EVP_PKEY_CTX_set_rsa_padding(pctx, RSA_PKCS1_PSS_PADDING) == 1 &&
        EVP_PKEY_CTX_set_rsa_pss_saltlen(pctx, RSA_PSS_SALTLEN_DIGEST) == 1 &&
        EVP_PKEY_CTX_set_rsa_mgf1_md(pctx, EVP_sha256()) == 1 &&
        EVP_DigestSign(md, sig, &len, msg, n) == 1) {
        result = (long)len;
    } else {
        reason(err, errlen, "RSA-PSS signing failed (is it an RSA key?)");
    }
    EVP_MD_CTX_free(md);
    EVP_PKEY_free(key);
    return result;
}
