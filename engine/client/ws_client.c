/*
 * ws_client.c: WebSocket connections over the worker's own sockets, frames
 * by libwslay; see ws_client.h.
 */
#include "ws_client.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <unistd.h>

#include <curl/curl.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/rand.h>
#include <openssl/sha.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>
#include <wslay/wslay.h>

#include "clock.h"
#include "http_message.h"

#define HEAD_MAX (16u * 1024u) /* bytes of the handshake's answer */
#define READ_BUDGET (256u * 1024u) /* bytes one wslay_event_recv may read: a stream of
                                    * pings must not keep a worker thread in it */
#define QUEUED_MAX (1u << 20) /* our queued bytes (pongs) before the server counts as
                               * flooding: it sends faster than it reads */
#define WS_GUID "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"

struct hn_ws_client {
    struct hn_transport transport;
    struct hn_source_addrs *sources;
    SSL_CTX *ssl_ctx;
};

/* A received message, queued until the user takes it. */
struct msg {
    struct msg *next;
    int opcode;
    size_t len;
    char data[];
};

struct hn_ws_conn {
    int fd;
    SSL *ssl;
    wslay_event_context_ptr ev;
    const struct hn_ws_io *io;
    char *early;              /* frames that came with the handshake's answer */
    size_t early_len, early_off;
    struct msg *head, *tail;
    struct msg *taken;        /* the message last handed out (freed on the next call) */
    size_t max_message;
    bool eof, io_failed;
    int io_errno;
    bool ssl_wants_write;     /* a TLS read needs the socket writable */
    bool insecure;            /* --insecure: a verify result means nothing */
    size_t read_budget;       /* left for this wslay_event_recv (READ_BUDGET) */
};

/* ---------------------------------------------------------------- */
/* The client                                                        */
/* ---------------------------------------------------------------- */

struct hn_ws_client *hn_ws_client_new(const struct hn_transport *t)
{
    struct hn_ws_client *c = calloc(1, sizeof *c);
    if (c == NULL)
        return NULL;
    c->transport = *t;
    if (hn_source_addrs_load(t, &c->sources) != 0) {
        free(c);
        return NULL;
    }
    return c;
}

void hn_ws_client_free(struct hn_ws_client *c)
{
    if (c == NULL)
        return;
    SSL_CTX_free(c->ssl_ctx);
    free(c->sources);
    free(c);
}

static SSL_CTX *ssl_ctx(struct hn_ws_client *c, char *err, size_t err_len)
{
    if (c->ssl_ctx == NULL)
        c->ssl_ctx = hn_transport_ssl_ctx(&c->transport, err, err_len);
    return c->ssl_ctx;
}

/* ---------------------------------------------------------------- */
/* Bytes in and out, TLS or not                                      */
/* ---------------------------------------------------------------- */

/* > 0 bytes; 0 at the end; -1 error (errno in w->io_errno); -2 not now
 * (w->ssl_wants_write says whether it waits for writable). */
static ssize_t conn_read(struct hn_ws_conn *w, void *buf, size_t n)
{
    w->ssl_wants_write = false;
    if (w->ssl == NULL) {
        ssize_t r = recv(w->fd, buf, n, 0);
        if (r >= 0)
            return r;
        if (errno == EAGAIN || errno == EINTR)
            return -2;
        w->io_errno = errno;
        return -1;
    }
    ERR_clear_error();
    int r = SSL_read(w->ssl, buf, n > INT32_MAX ? INT32_MAX : (int)n);
    if (r > 0)
        return r;
    int e = SSL_get_error(w->ssl, r);
    if (e == SSL_ERROR_WANT_READ)
        return -2;
    if (e == SSL_ERROR_WANT_WRITE) {
        w->ssl_wants_write = true;
        return -2;
    }
    if (e == SSL_ERROR_ZERO_RETURN)
        return 0;
    w->io_errno = e == SSL_ERROR_SYSCALL && errno != 0 ? errno : ECONNRESET;
    return -1;
}

static ssize_t conn_write(struct hn_ws_conn *w, const void *buf, size_t n)
{
    if (w->ssl == NULL) {
        ssize_t r = send(w->fd, buf, n, MSG_NOSIGNAL);
        if (r >= 0)
            return r;
        if (errno == EAGAIN || errno == EINTR)
            return -2;
        w->io_errno = errno;
        return -1;
    }
    ERR_clear_error();
    int r = SSL_write(w->ssl, buf, n > INT32_MAX ? INT32_MAX : (int)n);
    if (r > 0)
        return r;
    int e = SSL_get_error(w->ssl, r);
    if (e == SSL_ERROR_WANT_READ || e == SSL_ERROR_WANT_WRITE)
        return -2;
    w->io_errno = e == SSL_ERROR_SYSCALL && errno != 0 ? errno : EPIPE;
    return -1;
}

static void io_message(int os_errno, char *err, size_t err_len)
{
    if (os_errno == ECONNRESET || os_errno == EPIPE)
        snprintf(err, err_len, "connection reset by peer");
    else
        snprintf(err, err_len, "socket error (%s)", strerror(os_errno));
}

/* Writes all of buf before the deadline. 0, or -1 with err. */
static int write_all(struct hn_ws_conn *w, const char *buf, size_t n, uint64_t deadline,
                     char *err, size_t err_len)
{
    size_t off = 0;
    while (off < n) {
        ssize_t r = conn_write(w, buf + off, n - off);
        if (r > 0) {
            off += (size_t)r;
            continue;
        }
        if (r == -1) {
            io_message(w->io_errno, err, err_len);
            return -1;
        }
        int got = w->io->wait(w->io->ctx, w->fd, HN_WS_WAIT_WRITE, deadline);
        if (got <= 0) {
            snprintf(err, err_len, got == 0 ? "handshake not sent in time" : "cannot wait");
            return -1;
        }
    }
    return 0;
}

/* ---------------------------------------------------------------- */
/* Connecting                                                        */
/* ---------------------------------------------------------------- */

struct target {
    char *host, *port;        /* curl's (curl_free) */
    char *path;               /* with the query; ours (free) */
    bool tls;
};

static void target_free(struct target *t)
{
    curl_free(t->host);
    curl_free(t->port);
    free(t->path);
}

/* ws://host:port/path?query taken apart by curl's URL API. */
static int parse_url(const char *url, struct target *t, char *err, size_t err_len)
{
    memset(t, 0, sizeof *t);
    CURLU *u = curl_url();
    char *scheme = NULL, *query = NULL;
    int rc = -1;
    if (u == NULL) {
        snprintf(err, err_len, "out of memory");
        return -1;
    }
    if (curl_url_set(u, CURLUPART_URL, url, CURLU_NON_SUPPORT_SCHEME) != CURLUE_OK ||
        curl_url_get(u, CURLUPART_SCHEME, &scheme, 0) != CURLUE_OK ||
        curl_url_get(u, CURLUPART_HOST, &t->host, 0) != CURLUE_OK) {
        snprintf(err, err_len, "invalid WebSocket URL");
        goto out;
    }
    if (strcasecmp(scheme, "ws") != 0 && strcasecmp(scheme, "wss") != 0) {
        snprintf(err, err_len, "not a WebSocket URL (ws:// or wss://)");
        goto out;
    }
    t->tls = strcasecmp(scheme, "wss") == 0;
    if (curl_url_get(u, CURLUPART_PORT, &t->port, 0) != CURLUE_OK)
        t->port = NULL;
    char *path = NULL;
    curl_url_get(u, CURLUPART_PATH, &path, 0);
    curl_url_get(u, CURLUPART_QUERY, &query, 0);
    size_t n = (path ? strlen(path) : 1) + (query ? strlen(query) + 1 : 0) + 2;
    t->path = malloc(n);
    if (t->path != NULL)
        snprintf(t->path, n, "%s%s%s", path ? path : "/", query ? "?" : "", query ? query : "");
    curl_free(path);
    if (t->path == NULL) {
        snprintf(err, err_len, "out of memory");
        goto out;
    }
    /* IPv6 literals come bracketed */
    size_t hl = strlen(t->host);
    if (hl > 2 && t->host[0] == '[' && t->host[hl - 1] == ']') {
        memmove(t->host, t->host + 1, hl - 2);
        t->host[hl - 2] = '\0';
    }
    rc = 0;
out:
    curl_free(scheme);
    curl_free(query);
    curl_url_cleanup(u);
    if (rc != 0)
        target_free(t);
    return rc;
}

/* A connected TCP socket (or -1 with err), from the user's source address. */
static int tcp_connect(struct hn_ws_client *c, const struct target *t, unsigned source_slot,
                       const struct hn_ws_io *io, uint64_t deadline, char *err, size_t err_len)
{
    struct addrinfo hints = {.ai_socktype = SOCK_STREAM}, *ai = NULL;
    /* From a source address, only addresses of its family will do. */
    if (c->sources != NULL)
        hints.ai_family = c->sources->addr[source_slot % c->sources->n].ss_family;
    /* Names block in getaddrinfo: loopback tests and most load tests give
     * addresses; a name is looked up here, on the worker thread. */
    int g = getaddrinfo(t->host, t->port ? t->port : t->tls ? "443" : "80", &hints, &ai);
    if (g != 0 || ai == NULL) {
        snprintf(err, err_len, "could not resolve host");
        return -1;
    }
    int fd = socket(ai->ai_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0) {
        hn_http_connect_error(errno, err, err_len);
        freeaddrinfo(ai);
        return -1;
    }
    int one = 1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    if (c->sources != NULL) {
        unsigned i = source_slot % c->sources->n;
        if (bind(fd, (struct sockaddr *)&c->sources->addr[i], c->sources->len[i]) != 0) {
            snprintf(err, err_len, "cannot connect from %s (%s)", c->sources->text[i],
                     strerror(errno));
            goto fail;
        }
    }
    if (connect(fd, ai->ai_addr, ai->ai_addrlen) != 0 && errno != EINPROGRESS) {
        hn_http_connect_error(errno, err, err_len);
        goto fail;
    }
    int got = io->wait(io->ctx, fd, HN_WS_WAIT_WRITE, deadline);
    if (got <= 0) {
        snprintf(err, err_len, got == 0 ? "could not connect in time" : "cannot wait");
        goto fail;
    }
    int soerr = 0;
    socklen_t sl = sizeof soerr;
    getsockopt(fd, SOL_SOCKET, SO_ERROR, &soerr, &sl);
    if (soerr != 0) {
        hn_http_connect_error(soerr, err, err_len);
        goto fail;
    }
    freeaddrinfo(ai);
    return fd;
fail:
    close(fd);
    freeaddrinfo(ai);
    return -1;
}

static int tls_handshake(struct hn_ws_client *c, struct hn_ws_conn *w, const char *host,
                         uint64_t deadline, char *err, size_t err_len)
{
    SSL_CTX *ctx = ssl_ctx(c, err, err_len);
    if (ctx == NULL)
        return -1;
    if ((w->ssl = SSL_new(ctx)) == NULL) {
        snprintf(err, err_len, "TLS setup failed (out of memory)");
        return -1;
    }
    SSL_set_fd(w->ssl, w->fd);
    unsigned char ip[16];
    if (inet_pton(AF_INET, host, ip) == 1 || inet_pton(AF_INET6, host, ip) == 1) {
        X509_VERIFY_PARAM_set1_ip_asc(SSL_get0_param(w->ssl), host);
    } else {
        SSL_set_tlsext_host_name(w->ssl, host);
        SSL_set1_host(w->ssl, host);
    }
    SSL_set_connect_state(w->ssl);
    for (;;) {
        ERR_clear_error();
        int r = SSL_do_handshake(w->ssl);
        if (r == 1)
            return 0;
        int e = SSL_get_error(w->ssl, r);
        if (e == SSL_ERROR_WANT_READ || e == SSL_ERROR_WANT_WRITE) {
            int got = w->io->wait(w->io->ctx, w->fd,
                                  e == SSL_ERROR_WANT_READ ? HN_WS_WAIT_READ : HN_WS_WAIT_WRITE,
                                  deadline);
            if (got <= 0) {
                snprintf(err, err_len, got == 0 ? "TLS handshake not done in time" : "cannot wait");
                return -1;
            }
            continue;
        }
        long v = c->transport.insecure ? X509_V_OK : SSL_get_verify_result(w->ssl);
        if (v != X509_V_OK)
            hn_tls_verify_message(X509_verify_cert_error_string(v), err, err_len);
        else if (e == SSL_ERROR_SYSCALL || e == SSL_ERROR_ZERO_RETURN)
            snprintf(err, err_len, "connection closed during the TLS handshake");
        else
            hn_tls_failure_message("TLS handshake failed",
                                   ERR_reason_error_string(ERR_peek_error()), err, err_len);
        return -1;
    }
}

/* The Sec-WebSocket-Accept a key must get back. */
static void accept_for(const char *key, char out[32])
{
    char buf[64 + sizeof WS_GUID];
    unsigned char sha[SHA_DIGEST_LENGTH];
    int n = snprintf(buf, sizeof buf, "%s%s", key, WS_GUID);
    SHA1((const unsigned char *)buf, (size_t)n, sha);
    EVP_EncodeBlock((unsigned char *)out, sha, SHA_DIGEST_LENGTH);
}

/* The value of header name in the answer's head (lines after the status),
 * or NULL; *len its length. */
static const char *head_value(const char *head, const char *name, size_t *len)
{
    size_t nl = strlen(name);
    for (const char *p = strstr(head, "\r\n"); p && p[2] != '\r'; p = strstr(p + 2, "\r\n")) {
        const char *line = p + 2;
        if (strncasecmp(line, name, nl) == 0 && line[nl] == ':') {
            const char *v = line + nl + 1;
            while (*v == ' ' || *v == '\t')
                v++;
            const char *end = strstr(v, "\r\n");
            *len = end ? (size_t)(end - v) : strlen(v);
            while (*len > 0 && (v[*len - 1] == ' ' || v[*len - 1] == '\t'))
                (*len)--;
            return v;
        }
    }
    return NULL;
}

static bool contains_token(const char *v, size_t len, const char *token)
{
    size_t tl = strlen(token);
    for (size_t i = 0; i + tl <= len; i++)
        if (strncasecmp(v + i, token, tl) == 0)
            return true;
    return false;
}

static int handshake(struct hn_ws_conn *w, const struct target *t, const char *const *headers,
                     const char *protocol, uint64_t deadline, char *err, size_t err_len)
{
    unsigned char raw[16];
    char key[32], want[32];
    RAND_bytes(raw, sizeof raw);
    EVP_EncodeBlock((unsigned char *)key, raw, sizeof raw);
    accept_for(key, want);

    /* The request: a few hundred bytes plus the plugin's headers. */
    size_t cap = 512 + strlen(t->path) + strlen(t->host) + (protocol ? strlen(protocol) : 0);
    for (const char *const *h = headers; h && *h; h++)
        cap += strlen(*h) + 2;
    char *req = malloc(cap);
    if (req == NULL) {
        snprintf(err, err_len, "out of memory");
        return -1;
    }
    bool v6 = strchr(t->host, ':') != NULL;
    size_t n = (size_t)snprintf(req, cap,
                                "GET %s HTTP/1.1\r\nHost: %s%s%s%s%s\r\nUpgrade: websocket\r\n"
                                "Connection: Upgrade\r\nSec-WebSocket-Key: %s\r\n"
                                "Sec-WebSocket-Version: 13\r\n"
                                "User-Agent: hornet/" HN_VERSION "\r\n",
                                t->path, v6 ? "[" : "", t->host, v6 ? "]" : "", t->port ? ":" : "",
                                t->port ? t->port : "", key);
    if (protocol != NULL)
        n += (size_t)snprintf(req + n, cap - n, "Sec-WebSocket-Protocol: %s\r\n", protocol);
    for (const char *const *h = headers; h && *h; h++)
        n += (size_t)snprintf(req + n, cap - n, "%s\r\n", *h);
    n += (size_t)snprintf(req + n, cap - n, "\r\n");
    int rc = write_all(w, req, n, deadline, err, err_len);
    free(req);
    if (rc != 0)
        return -1;

    /* The answer's head, then whatever frames came with it. */
    char *head = malloc(HEAD_MAX + 1);
    if (head == NULL) {
        snprintf(err, err_len, "out of memory");
        return -1;
    }
    size_t got = 0;
    char *end = NULL;
    rc = -1;
    while (end == NULL) {
        if (got == HEAD_MAX) {
            snprintf(err, err_len, "handshake answer too large");
            goto out;
        }
        ssize_t r = conn_read(w, head + got, HEAD_MAX - got);
        if (r == 0) {
            snprintf(err, err_len, got ? "connection closed during the handshake"
                                       : "connection closed without a response");
            goto out;
        }
        if (r == -1) {
            io_message(w->io_errno, err, err_len);
            goto out;
        }
        if (r == -2) {
            int ready = w->io->wait(w->io->ctx, w->fd,
                                    w->ssl_wants_write ? HN_WS_WAIT_WRITE : HN_WS_WAIT_READ,
                                    deadline);
            if (ready <= 0) {
                snprintf(err, err_len, ready == 0 ? "no handshake answer in time" : "cannot wait");
                goto out;
            }
            continue;
        }
        got += (size_t)r;
        head[got] = '\0';
        end = strstr(head, "\r\n\r\n");
    }
    end += 4;
    /* "HTTP/1.1 101 ...": exactly, or it is no answer of the protocol. */
    if (strncmp(head, "HTTP/1.", 7) != 0 || (head[7] != '0' && head[7] != '1') ||
        head[8] != ' ' || head[9] < '1' || head[9] > '9' || head[10] < '0' || head[10] > '9' ||
        head[11] < '0' || head[11] > '9' || (head[12] != ' ' && head[12] != '\r')) {
        snprintf(err, err_len, "handshake refused: not an HTTP response");
        goto out;
    }
    if (strncmp(head + 9, "101", 3) != 0) {
        /* "HTTP/1.1 403 Forbidden": the status line says it. */
        size_t ll = strcspn(head + 9, "\r\n");
        snprintf(err, err_len, "handshake refused: HTTP %.*s", (int)(ll > 80 ? 80 : ll), head + 9);
        goto out;
    }
    size_t vl = 0;
    const char *v = head_value(head, "Upgrade", &vl);
    if (v == NULL || !contains_token(v, vl, "websocket")) {
        snprintf(err, err_len, "handshake answer without Upgrade: websocket");
        goto out;
    }
    v = head_value(head, "Sec-WebSocket-Accept", &vl);
    if (v == NULL || vl != strlen(want) || strncmp(v, want, vl) != 0) {
        snprintf(err, err_len, "handshake answer with a wrong Sec-WebSocket-Accept");
        goto out;
    }
    size_t early = got - (size_t)(end - head);
    if (early > 0) {
        w->early = malloc(early);
        if (w->early == NULL) {
            snprintf(err, err_len, "out of memory");
            goto out;
        }
        memcpy(w->early, end, early);
        w->early_len = early;
    }
    rc = 0;
out:
    free(head);
    return rc;
}

/* ---------------------------------------------------------------- */
/* libwslay's callbacks                                              */
/* ---------------------------------------------------------------- */

static ssize_t on_recv(wslay_event_context_ptr ctx, uint8_t *buf, size_t len, int flags,
                       void *user_data)
{
    (void)flags;
    struct hn_ws_conn *w = user_data;
    if (w->early_off < w->early_len) {
        size_t n = w->early_len - w->early_off;
        n = n < len ? n : len;
        memcpy(buf, w->early + w->early_off, n);
        w->early_off += n;
        return (ssize_t)n;
    }
    /* A message is waiting for the user, or this call read its share:
     * read no further, so what is queued stays small and the caller gets
     * back to its deadline, whatever the server sends. */
    if (w->head != NULL || w->read_budget == 0) {
        wslay_event_set_error(ctx, WSLAY_ERR_WOULDBLOCK);
        return -1;
    }
    ssize_t r = conn_read(w, buf, len < w->read_budget ? len : w->read_budget);
    if (r > 0) {
        w->read_budget -= (size_t)r;
        return r;
    }
    if (r == -2) {
        wslay_event_set_error(ctx, WSLAY_ERR_WOULDBLOCK);
        return -1;
    }
    if (r == 0)
        w->eof = true;
    else
        w->io_failed = true;
    wslay_event_set_error(ctx, WSLAY_ERR_CALLBACK_FAILURE);
    return -1;
}

static ssize_t on_send(wslay_event_context_ptr ctx, const uint8_t *data, size_t len, int flags,
                       void *user_data)
{
    (void)flags;
    struct hn_ws_conn *w = user_data;
    ssize_t r = conn_write(w, data, len);
    if (r > 0)
        return r;
    if (r == -2) {
        wslay_event_set_error(ctx, WSLAY_ERR_WOULDBLOCK);
        return -1;
    }
    w->io_failed = true;
    wslay_event_set_error(ctx, WSLAY_ERR_CALLBACK_FAILURE);
    return -1;
}

static int on_genmask(wslay_event_context_ptr ctx, uint8_t *buf, size_t len, void *user_data)
{
    (void)ctx;
    (void)user_data;
    return RAND_bytes(buf, (int)len) == 1 ? 0 : -1;
}

static void on_message(wslay_event_context_ptr ctx, const struct wslay_event_on_msg_recv_arg *arg,
                       void *user_data)
{
    struct hn_ws_conn *w = user_data;
    if (arg->opcode != WSLAY_TEXT_FRAME && arg->opcode != WSLAY_BINARY_FRAME)
        return; /* ping (answered by wslay), pong, close (seen by its status) */
    struct msg *m = malloc(sizeof *m + arg->msg_length + 1);
    if (m == NULL) {
        wslay_event_set_error(ctx, WSLAY_ERR_NOMEM);
        w->io_failed = true;
        return;
    }
    m->next = NULL;
    m->opcode = arg->opcode == WSLAY_TEXT_FRAME ? HN_WS_OP_TEXT : HN_WS_OP_BINARY;
    m->len = arg->msg_length;
    memcpy(m->data, arg->msg, arg->msg_length);
    m->data[arg->msg_length] = '\0';
    if (w->tail)
        w->tail->next = m;
    else
        w->head = m;
    w->tail = m;
}

struct hn_ws_conn *hn_ws_conn_open(struct hn_ws_client *c, const char *url,
                                   const char *const *headers, const char *protocol,
                                   unsigned source_slot, size_t max_message,
                                   const struct hn_ws_io *io, uint64_t deadline_us, char *err,
                                   size_t err_len)
{
    struct target t;
    if (parse_url(url, &t, err, err_len) != 0)
        return NULL;
    struct hn_ws_conn *w = calloc(1, sizeof *w);
    if (w == NULL) {
        snprintf(err, err_len, "out of memory");
        target_free(&t);
        return NULL;
    }
    w->io = io;
    w->max_message = max_message;
    w->fd = tcp_connect(c, &t, source_slot, io, deadline_us, err, err_len);
    if (w->fd < 0 || (t.tls && tls_handshake(c, w, t.host, deadline_us, err, err_len) != 0) ||
        handshake(w, &t, headers, protocol, deadline_us, err, err_len) != 0)
        goto fail;
    static const struct wslay_event_callbacks cb = {
        .recv_callback = on_recv,
        .send_callback = on_send,
        .genmask_callback = on_genmask,
        .on_msg_recv_callback = on_message,
    };
    if (wslay_event_context_client_init(&w->ev, &cb, w) != 0) {
        snprintf(err, err_len, "out of memory");
        goto fail;
    }
    wslay_event_config_set_max_recv_msg_length(w->ev, max_message);
    target_free(&t);
    return w;
fail:
    target_free(&t);
    hn_ws_conn_abandon(w);
    return NULL;
}

/* ---------------------------------------------------------------- */
/* Messages                                                          */
/* ---------------------------------------------------------------- */

/* Why the connection ended, once wslay or the socket says it did. */
static void ended_message(struct hn_ws_conn *w, int *close_code, char *err, size_t err_len)
{
    *close_code = 0;
    if (wslay_event_get_status_code_sent(w->ev) == WSLAY_CODE_MESSAGE_TOO_BIG)
        snprintf(err, err_len, "message of more than %zu bytes (--max-body)", w->max_message);
    else if (wslay_event_get_close_received(w->ev)) {
        *close_code = wslay_event_get_status_code_received(w->ev);
        snprintf(err, err_len, "closed by the server (%d)", *close_code);
    } else if (w->eof)
        snprintf(err, err_len, "connection closed without a close frame");
    else if (w->io_failed && w->io_errno != 0)
        io_message(w->io_errno, err, err_len);
    else if (w->io_failed)
        snprintf(err, err_len, "out of memory");
    else
        snprintf(err, err_len, "WebSocket protocol error");
}

/* Sends what wslay has queued (pongs, close answers), without waiting. */
static void flush_queued(struct hn_ws_conn *w)
{
    if (wslay_event_want_write(w->ev))
        wslay_event_send(w->ev);
}

int hn_ws_conn_send(struct hn_ws_conn *w, int opcode, const void *data, size_t len,
                    uint64_t deadline_us, char *err, size_t err_len)
{
    int code;
    struct wslay_event_msg m = {
        .opcode = opcode == HN_WS_OP_BINARY ? WSLAY_BINARY_FRAME : WSLAY_TEXT_FRAME,
        .msg = data,
        .msg_length = len,
    };
    if (wslay_event_queue_msg(w->ev, &m) != 0) {
        ended_message(w, &code, err, err_len);
        return -1;
    }
    while (wslay_event_want_write(w->ev)) {
        if (wslay_event_send(w->ev) != 0) {
            ended_message(w, &code, err, err_len);
            return -1;
        }
        if (!wslay_event_want_write(w->ev))
            break;
        int got = w->io->wait(w->io->ctx, w->fd, HN_WS_WAIT_WRITE, deadline_us);
        if (got <= 0) {
            snprintf(err, err_len, got == 0 ? "message not sent in time" : "cannot wait");
            return -1;
        }
    }
    return 0;
}

int hn_ws_conn_recv(struct hn_ws_conn *w, uint64_t deadline_us, int *opcode, const char **data,
                    size_t *len, int *close_code, char *err, size_t err_len)
{
    free(w->taken);
    w->taken = NULL;
    for (;;) {
        if (w->head != NULL) {
            struct msg *m = w->head;
            w->head = m->next;
            if (w->head == NULL)
                w->tail = NULL;
            w->taken = m;
            *opcode = m->opcode;
            *data = m->data;
            *len = m->len;
            return 1;
        }
        w->read_budget = READ_BUDGET;
        int rc = wslay_event_get_read_enabled(w->ev) ? wslay_event_recv(w->ev) : -1;
        if (w->head != NULL)
            continue;
        flush_queued(w); /* a pong, or the answer to a close */
        if (rc != 0 || w->io_failed || !wslay_event_get_read_enabled(w->ev)) {
            ended_message(w, close_code, err, err_len);
            return -1;
        }
        if (wslay_event_get_queued_msg_length(w->ev) > QUEUED_MAX) {
            snprintf(err, err_len, "the server sends faster than it reads (pings flood)");
            *close_code = 0;
            return -1;
        }
        if (hn_mono_us() >= deadline_us)
            return 0;
        if (w->read_budget == 0 || (w->ssl != NULL && SSL_pending(w->ssl) > 0))
            continue; /* more is there: read it after the deadline check */
        int events = HN_WS_WAIT_READ;
        if (w->ssl_wants_write || wslay_event_want_write(w->ev))
            events |= HN_WS_WAIT_WRITE;
        int got = w->io->wait(w->io->ctx, w->fd, events, deadline_us);
        if (got == 0)
            return 0;
        if (got < 0) {
            snprintf(err, err_len, "cannot wait");
            *close_code = 0;
            return -1;
        }
    }
}

void hn_ws_conn_close(struct hn_ws_conn *w, uint64_t deadline_us)
{
    if (w == NULL)
        return;
    /* Our close frame, then the server's until the deadline: a polite
     * close lets the server count the session as ended well. */
    if (wslay_event_get_write_enabled(w->ev) &&
        wslay_event_queue_close(w->ev, WSLAY_CODE_NORMAL_CLOSURE, NULL, 0) == 0) {
        while (wslay_event_want_write(w->ev) && wslay_event_send(w->ev) == 0 &&
               wslay_event_want_write(w->ev))
            if (w->io->wait(w->io->ctx, w->fd, HN_WS_WAIT_WRITE, deadline_us) <= 0)
                break;
        /* Drop what the user did not take; read until the answer. */
        for (struct msg *m = w->head, *nx; m; m = nx) {
            nx = m->next;
            free(m);
        }
        w->head = w->tail = NULL;
        while (!wslay_event_get_close_received(w->ev) && wslay_event_get_read_enabled(w->ev) &&
               hn_mono_us() < deadline_us) {
            w->read_budget = READ_BUDGET;
            if (wslay_event_recv(w->ev) != 0 ||
                wslay_event_get_queued_msg_length(w->ev) > QUEUED_MAX)
                break;
            for (struct msg *m = w->head, *nx; m; m = nx) {
                nx = m->next;
                free(m);
            }
            w->head = w->tail = NULL;
            if (wslay_event_get_close_received(w->ev))
                break;
            if (w->read_budget == 0 || (w->ssl != NULL && SSL_pending(w->ssl) > 0))
                continue;
            if (w->io->wait(w->io->ctx, w->fd, HN_WS_WAIT_READ, deadline_us) <= 0)
                break;
        }
    }
    if (w->ssl != NULL) {
        ERR_clear_error();
        SSL_shutdown(w->ssl); /* one try: no waiting for the peer's notify */
    }
    hn_ws_conn_abandon(w);
}

void hn_ws_conn_abandon(struct hn_ws_conn *w)
{
    if (w == NULL)
        return;
    if (w->ev)
        wslay_event_context_free(w->ev);
    if (w->ssl)
        SSL_free(w->ssl);
    if (w->fd >= 0)
        close(w->fd);
    for (struct msg *m = w->head, *nx; m; m = nx) {
        nx = m->next;
        free(m);
    }
    free(w->taken);
    free(w->early);
    free(w);
}
