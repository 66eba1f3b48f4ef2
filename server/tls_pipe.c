/*
 * tls_pipe.c: a TLS connection bridged to a socket pair (tls_pipe.h).
 *
 * Each direction has one buffer: bytes read from one side wait there
 * until the other side takes them, and that side is not read again before
 * (so a slow reader holds back its writer, never memory). OpenSSL works on
 * the non-blocking TCP socket itself. Both descriptors are watched
 * edge-triggered for everything, and a run retries both ways until neither
 * moves: whatever one waits for (data, room, OpenSSL's WANT_READ or
 * WANT_WRITE) comes as a new edge on one of the two.
 */
#include "tls_pipe.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>

#include "fsutil.h"

#define BUF 16384     /* one TLS record */
#define FLUSH_MS 10000 /* once the server side closed: time for the client to take the rest */
#define LINGER_MS 2000 /* after our close_notify: reading what the client still sends */

struct hn_tls {
    SSL_CTX *ctx;
};

struct half {
    char buf[BUF];
    size_t off, len;          /* bytes waiting to go out: buf[off..off+len) */
};

struct hn_tls_pipe {
    SSL *ssl;
    int net_fd;               /* the client's TCP socket */
    int plain_fd;             /* our end of the pair */
    bool open;                /* handshake done */
    bool net_eof, plain_eof;  /* that side will send no more */
    bool lingering;           /* all said: reading the client's last bytes before closing */
    uint64_t deadline_ms;     /* 0, or when the pipe is closed whatever it waits for */
    struct half to_plain, to_net;
};

static uint64_t now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

/* OpenSSL's first reason ("no start line"), for a message of ours. */
static const char *first_reason(void)
{
    const char *r = ERR_reason_error_string(ERR_peek_error());
    return r ? r : "unknown reason";
}


int hn_tls_load(struct hn_tls **out, const char *cert_file, const char *key_file, char *err,
                size_t err_len)
{
    *out = NULL;
    struct hn_tls *t = calloc(1, sizeof *t);
    if (t == NULL || (t->ctx = SSL_CTX_new(TLS_server_method())) == NULL) {
        snprintf(err, err_len, "TLS: out of memory");
        free(t);
        return -1;
    }
    SSL_CTX_set_min_proto_version(t->ctx, TLS1_2_VERSION);
#ifdef SSL_OP_IGNORE_UNEXPECTED_EOF
    /* A client that closes without close_notify has still said all it had
     * to: OpenSSL 3 would call that an error and lose the answer. */
    SSL_CTX_set_options(t->ctx, SSL_OP_IGNORE_UNEXPECTED_EOF);
#endif
    SSL_CTX_set_mode(t->ctx, SSL_MODE_ENABLE_PARTIAL_WRITE | SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER);
    ERR_clear_error();
    bool ok = false;
    if (!hn_file_readable("--tls-cert", cert_file, err, err_len) ||
        !hn_file_readable("--tls-key", key_file, err, err_len))
        ; /* said */
    else if (SSL_CTX_use_certificate_chain_file(t->ctx, cert_file) != 1)
        snprintf(err, err_len, "--tls-cert %s: not a PEM certificate (%s)", cert_file,
                 first_reason());
    else if (SSL_CTX_use_PrivateKey_file(t->ctx, key_file, SSL_FILETYPE_PEM) != 1 &&
             ERR_GET_REASON(ERR_peek_error()) != X509_R_KEY_VALUES_MISMATCH)
        snprintf(err, err_len, "--tls-key %s: not a PEM private key (%s)", key_file,
                 first_reason());
    else if (SSL_CTX_check_private_key(t->ctx) != 1)
        snprintf(err, err_len, "--tls-key %s: not the key of the certificate in %s", key_file,
                 cert_file);
    else
        ok = true;
    ERR_clear_error();
    if (!ok) {
        hn_tls_free(t);
        return -1;
    }
    *out = t;
    return 0;
}

void hn_tls_free(struct hn_tls *t)
{
    if (t == NULL)
        return;
    SSL_CTX_free(t->ctx);
    free(t);
}

struct hn_tls_pipe *hn_tls_pipe_new(struct hn_tls *tls, int tcp_fd, int *plain_fd)
{
    int pair[2];
    struct hn_tls_pipe *p = calloc(1, sizeof *p);
    if (p == NULL ||
        socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0, pair) != 0) {
        free(p);
        close(tcp_fd);
        return NULL;
    }
    p->net_fd = tcp_fd;
    p->plain_fd = pair[0];
    p->ssl = SSL_new(tls->ctx);
    if (p->ssl == NULL || SSL_set_fd(p->ssl, tcp_fd) != 1) {
        close(pair[1]);
        hn_tls_pipe_free(p);
        return NULL;
    }
    SSL_set_accept_state(p->ssl);
    *plain_fd = pair[1];
    return p;
}

int hn_tls_pipe_fd(const struct hn_tls_pipe *p, enum hn_tls_side side)
{
    return side == HN_TLS_NET ? p->net_fd : p->plain_fd;
}

/* What OpenSSL's result r means: 1 = try again on the next event, 0 = the
 * peer closed, -1 = an error. */
static int ssl_result(struct hn_tls_pipe *p, int r)
{
    switch (SSL_get_error(p->ssl, r)) {
    case SSL_ERROR_WANT_READ:
    case SSL_ERROR_WANT_WRITE:
        return 1;
    case SSL_ERROR_ZERO_RETURN:
        return 0;
    case SSL_ERROR_SYSCALL:
        return ERR_peek_error() == 0 && (r == 0 || errno == 0) ? 0 : -1;
    default:
        return -1;
    }
}

/* A plain HTTP request on the TLS port gets a plain answer that says so. */
static void plain_http_answer(struct hn_tls_pipe *p)
{
    static const char body[] = "{\"error\":\"this dashboard serves HTTPS: use https://\"}";
    char resp[256];
    int n = snprintf(resp, sizeof resp,
                     "HTTP/1.1 400 Bad Request\r\nContent-Type: application/json\r\n"
                     "Content-Length: %zu\r\nConnection: close\r\n\r\n%s",
                     sizeof body - 1, body);
    if (send(p->net_fd, resp, (size_t)n, MSG_NOSIGNAL | MSG_DONTWAIT) == n)
        shutdown(p->net_fd, SHUT_WR);
    /* Closing with the request unread would send a reset, which can destroy
     * the answer before the client reads it: read what has come. */
    char sink[4096];
    while (recv(p->net_fd, sink, sizeof sink, MSG_DONTWAIT) > 0)
        ;
}

static bool handshake(struct hn_tls_pipe *p)
{
    ERR_clear_error();
    int r = SSL_accept(p->ssl);
    if (r == 1) {
        p->open = true;
        return true;
    }
    int e = SSL_get_error(p->ssl, r);
    if (e == SSL_ERROR_SSL && ERR_GET_REASON(ERR_peek_error()) == SSL_R_HTTP_REQUEST)
        plain_http_answer(p);
    ERR_clear_error();
    return ssl_result(p, r) == 1;
}

/* Returns -1 on an error, else whether anything moved. */
static int net_to_plain(struct hn_tls_pipe *p)
{
    int moved = 0;
    struct half *h = &p->to_plain;
    if (h->len == 0 && !p->net_eof) {
        ERR_clear_error();
        int r = SSL_read(p->ssl, h->buf, BUF);
        if (r > 0) {
            h->off = 0;
            h->len = (size_t)r;
            moved = 1;
        } else {
            int k = ssl_result(p, r);
            if (k < 0)
                return -1;
            if (k == 0) { /* the client is done: so is what it sends on */
                p->net_eof = true;
                shutdown(p->plain_fd, SHUT_WR);
                moved = 1;
            }
        }
    }
    if (h->len > 0) {
        ssize_t w = send(p->plain_fd, h->buf + h->off, h->len, MSG_NOSIGNAL | MSG_DONTWAIT);
        if (w > 0) {
            h->off += (size_t)w;
            h->len -= (size_t)w;
            moved = 1;
        } else if (w < 0 && errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR) {
            return -1; /* the server's end is gone */
        }
    }
    return moved;
}

static int plain_to_net(struct hn_tls_pipe *p)
{
    int moved = 0;
    struct half *h = &p->to_net;
    if (h->len == 0 && !p->plain_eof) {
        ssize_t r = recv(p->plain_fd, h->buf, BUF, MSG_DONTWAIT);
        if (r > 0) {
            h->off = 0;
            h->len = (size_t)r;
            moved = 1;
        } else if (r == 0) {
            p->plain_eof = true;
            p->deadline_ms = now_ms() + FLUSH_MS; /* a client that stops reading */
            moved = 1;
        } else if (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR) {
            return -1;
        }
    }
    if (h->len > 0) {
        ERR_clear_error();
        int w = SSL_write(p->ssl, h->buf + h->off, (int)h->len);
        if (w > 0) {
            h->off += (size_t)w;
            h->len -= (size_t)w;
            moved = 1;
        } else if (ssl_result(p, w) != 1) {
            return -1;
        }
    }
    return moved;
}

/* Reads and drops what the client still sends; false once it is done. */
static bool linger(struct hn_tls_pipe *p)
{
    char sink[4096];
    for (;;) {
        ssize_t r = recv(p->net_fd, sink, sizeof sink, MSG_DONTWAIT);
        if (r > 0)
            continue;
        return r < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR);
    }
}

bool hn_tls_pipe_run(struct hn_tls_pipe *p)
{
    if (p->lingering)
        return linger(p);
    if (!p->open) {
        /* The acceptor closes the plain end of a connection whose head does
         * not come in time: a handshake that never completes ends with it. */
        char b;
        ssize_t r = recv(p->plain_fd, &b, 1, MSG_PEEK | MSG_DONTWAIT);
        if (r == 0 || (r < 0 && errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR))
            return false;
        if (!handshake(p))
            return false;
        if (!p->open)
            return true;
    }
    for (;;) {
        int a = net_to_plain(p);
        int b = a < 0 ? -1 : plain_to_net(p);
        if (a < 0 || b < 0)
            return false;
        /* The server closed and everything it sent is out: say goodbye,
         * then read what the client still sends, so that the close is not
         * a reset that could destroy the answer before it is read. */
        if (p->plain_eof && p->to_net.len == 0) {
            ERR_clear_error();
            SSL_shutdown(p->ssl);
            ERR_clear_error();
            shutdown(p->net_fd, SHUT_WR);
            p->lingering = true;
            p->deadline_ms = now_ms() + LINGER_MS;
            return linger(p);
        }
        if (!a && !b)
            return true;
    }
}

bool hn_tls_pipe_expired(const struct hn_tls_pipe *p, uint64_t now)
{
    return p->deadline_ms != 0 && now >= p->deadline_ms;
}

void hn_tls_pipe_free(struct hn_tls_pipe *p)
{
    if (p == NULL)
        return;
    SSL_free(p->ssl);
    close(p->net_fd);
    close(p->plain_fd);
    free(p);
}
