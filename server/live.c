/*
 * live.c: the WebSocket push (libwebsockets 4.1, stack-facts 1a).
 *
 * lws is single-threaded: apart from lws_cancel_service() no lws call may
 * come from another thread. So the other threads only leave things under
 * the mutex and wake the service thread:
 *   - the acceptor queues sockets to adopt;
 *   - the runner's tick callback (aggregator thread) serialises the
 *     snapshot once into a refcounted message and makes it the latest.
 * The service thread, woken in LWS_CALLBACK_EVENT_WAIT_CANCELLED, adopts
 * the queued sockets and asks every client for a writeable callback; each
 * SERVER_WRITEABLE writes the latest message if that client has not had it
 * (one lws_write per callback). A slow client simply gets the newest
 * message when it can take one: latest-value semantics, nothing queues up
 * behind it, and the engine never waits for a browser.
 *
 * Three details keep that true for big snapshots and slow links: a client
 * socket gets a fixed kernel send buffer (autotuned, the kernel would hold
 * megabytes of stale snapshots first); messages over 64 KiB go out as
 * fragments, so lws copies at most one fragment for a client it cannot
 * write to; and a client that skipped the message of a state change gets
 * the next one flagged "state_changed": true.
 */
#include "live.h"

#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <unistd.h>

#include <jansson.h>
#include <libwebsockets.h>

#include "log.h"
#include "report.h"
#include "runner.h"
#include "webctx.h"

#define ADOPT_QUEUE_MAX 4096   /* sockets waiting for the lws thread */
#define HEADER_MAX 8192        /* lws's header buffer: as large as the acceptor's peek */
#define FRAG_MAX (64 * 1024)   /* larger messages go out as fragments of this size */
#define SEND_MAX (FRAG_MAX + 64) /* lws may send a whole fragment in one send() */
#define SNDBUF (256 * 1024)    /* kernel send buffer per client (the kernel doubles it) */
#define LOG_RING 64            /* log lines a slow client can still catch up on */

/* One serialised envelope, shared by every client that sends it. */
struct msg {
    atomic_int refs;
    uint64_t seq;
    bool state_changed;
    size_t len;
    unsigned char data[];      /* LWS_PRE bytes of headroom for lws, then len bytes */
};

/* Per connection (lws's per-session data, zeroed by lws). */
struct client {
    struct client *prev, *next;
    struct lws *wsi;
    struct msg *sending;       /* a fragmented message still being written, or NULL */
    size_t offset;             /* how much of it is written */
    uint64_t sent_seq;         /* seq of the last message started */
    uint64_t seen_change;      /* latest state-change seq this client was told about */
    uint64_t log_sent;         /* seq of the last log line sent */
    bool listed;
};

struct hn_live {
    const struct hn_webctx *ctx;
    struct lws_context *lws;
    struct lws_vhost *vhost;
    pthread_t thread;
    bool thread_started;
    bool subscribed;
    atomic_bool stop;
    atomic_int n_clients;

    pthread_mutex_t mu;        /* guards the fields up to the next comment */
    bool closing;              /* no more adoptions */
    int *queue;
    size_t queue_n, queue_cap;
    struct msg *latest;
    uint64_t seq;              /* of latest */
    uint64_t change_seq;       /* seq of the latest message made for a state change */
    char *logs[LOG_RING];      /* recent log lines, logs[seq % LOG_RING] */
    uint64_t log_seq;          /* seq of the newest log line */

    /* lws thread only */
    struct client clients;     /* list sentinel */
    uint64_t notified_seq;     /* clients were asked to write up to this seq */
    uint64_t notified_log;     /* ... and up to this log line */
    struct msg *flagged;       /* latest with state_changed forced true, built on demand */
    unsigned char *scratch;    /* LWS_PRE + FRAG_MAX: one fragment with headroom */
};

static const char envelope_false[] = "{\"type\":\"snapshot\",\"state_changed\":false,\"data\":";
static const char envelope_true[] = "{\"type\":\"snapshot\",\"state_changed\":true,\"data\":";

static struct msg *msg_ref(struct msg *m)
{
    if (m != NULL)
        atomic_fetch_add_explicit(&m->refs, 1, memory_order_relaxed);
    return m;
}

static void msg_release(struct msg *m)
{
    if (m != NULL && atomic_fetch_sub_explicit(&m->refs, 1, memory_order_acq_rel) == 1)
        free(m);
}

/* {"type":"snapshot","state_changed":B,"data":JSON} with LWS_PRE headroom. */
static struct msg *msg_build(const char *data, size_t data_len, bool state_changed)
{
    const char *prefix = state_changed ? envelope_true : envelope_false;
    size_t plen = strlen(prefix);
    size_t len = plen + data_len + 1;
    struct msg *m = malloc(sizeof *m + LWS_PRE + len);
    if (m == NULL)
        return NULL;
    atomic_init(&m->refs, 1);
    m->seq = 0;
    m->state_changed = state_changed;
    m->len = len;
    unsigned char *p = m->data + LWS_PRE;
    memcpy(p, prefix, plen);
    memcpy(p + plen, data, data_len);
    p[plen + data_len] = '}';
    return m;
}

static struct msg *msg_from_snapshot(const struct hn_snapshot *snap, bool state_changed)
{
    json_t *j = hn_snapshot_to_json(snap);
    char *text = j ? json_dumps(j, JSON_COMPACT) : NULL;
    json_decref(j);
    if (text == NULL)
        return NULL;
    struct msg *m = msg_build(text, strlen(text), state_changed);
    free(text);
    return m;
}

/* Makes m the latest message and wakes the service thread. [any] */
static void publish(struct hn_live *l, struct msg *m)
{
    pthread_mutex_lock(&l->mu);
    struct msg *old = l->latest;
    m->seq = ++l->seq;
    if (m->state_changed)
        l->change_seq = m->seq;
    l->latest = m;
    pthread_mutex_unlock(&l->mu);
    msg_release(old);
    lws_cancel_service(l->lws);
}

/* The runner's tick: 1 Hz and on every state change. [aggregator] */
static void on_tick(void *ud, struct hn_snapshot *snap, int state_changed)
{
    struct hn_live *l = ud;
    struct msg *m = msg_from_snapshot(snap, state_changed != 0);
    if (m == NULL) {
        hn_logf(HN_ERROR, "websocket: cannot serialise the snapshot (out of memory)");
        return;
    }
    publish(l, m);
}

/* A client that missed the message of a state change (it was replaced
 * before the client could take it) must still hear that the state
 * changed, so it gets the latest message with the flag set. [lws] */
static struct msg *flagged_copy(struct hn_live *l, struct msg *m)
{
    if (l->flagged != NULL && l->flagged->seq == m->seq)
        return l->flagged;
    size_t plen = sizeof envelope_false - 1;
    const unsigned char *body = m->data + LWS_PRE + plen;
    struct msg *f = msg_build((const char *)body, m->len - plen - 1, true);
    if (f == NULL)
        return m;
    f->seq = m->seq;
    msg_release(l->flagged);
    l->flagged = f;
    return f;
}

static void client_link(struct hn_live *l, struct client *c)
{
    c->prev = &l->clients;
    c->next = l->clients.next;
    l->clients.next->prev = c;
    l->clients.next = c;
    c->listed = true;
    atomic_fetch_add(&l->n_clients, 1);
}

static void client_unlink(struct hn_live *l, struct client *c)
{
    if (!c->listed)
        return;
    c->prev->next = c->next;
    c->next->prev = c->prev;
    c->listed = false;
    atomic_fetch_sub(&l->n_clients, 1);
}

/* Every log line goes to the browsers as it happens, in order: unlike
 * snapshots, lines are not replaced by newer ones (a client that falls
 * more than LOG_RING lines behind skips to the oldest kept). [any] */
static void on_log(void *ud, int level, const char *line)
{
    struct hn_live *l = ud;
    (void)level;
    char *copy = strdup(line);
    if (copy == NULL)
        return;
    pthread_mutex_lock(&l->mu);
    uint64_t seq = ++l->log_seq;
    free(l->logs[seq % LOG_RING]);
    l->logs[seq % LOG_RING] = copy;
    pthread_mutex_unlock(&l->mu);
    lws_cancel_service(l->lws);
}

/* Sends the client's next log line as {"type":"log","seq":N,"line":"..."}.
 * Returns 1 when a line was written, 0 when none was due, -1 on error. [lws] */
static int send_log(struct hn_live *l, struct client *c)
{
    pthread_mutex_lock(&l->mu);
    uint64_t newest = l->log_seq;
    if (c->log_sent >= newest) {
        pthread_mutex_unlock(&l->mu);
        return 0;
    }
    uint64_t next = c->log_sent + 1;
    if (newest - next >= LOG_RING)
        next = newest - LOG_RING + 1;
    json_t *j = json_pack("{s:s, s:I, s:s}", "type", "log", "seq", (json_int_t)next, "line",
                          l->logs[next % LOG_RING] ? l->logs[next % LOG_RING] : "");
    pthread_mutex_unlock(&l->mu);
    char *text = j ? json_dumps(j, JSON_COMPACT) : NULL;
    json_decref(j);
    c->log_sent = next;
    if (text == NULL)
        return 0;
    size_t n = strlen(text);
    if (n > FRAG_MAX) /* a log line is at most ~1 KiB; never true */
        n = FRAG_MAX;
    memcpy(l->scratch + LWS_PRE, text, n);
    free(text);
    if (lws_write(c->wsi, l->scratch + LWS_PRE, n, LWS_WRITE_TEXT) < 0)
        return -1;
    lws_callback_on_writable(c->wsi); /* more lines, or the snapshot, next */
    return 1;
}

/* Adopts queued sockets and fans a new message out. [lws] */
static void on_wake(struct hn_live *l)
{
    pthread_mutex_lock(&l->mu);
    int *q = l->queue;
    size_t qn = l->queue_n;
    l->queue = NULL;
    l->queue_n = l->queue_cap = 0;
    uint64_t seq = l->seq;
    uint64_t log_seq = l->log_seq;
    pthread_mutex_unlock(&l->mu);

    for (size_t i = 0; i < qn; i++) {
        if (atomic_load(&l->stop)) {
            close(q[i]);
            continue;
        }
        lws_sock_file_fd_type fd = {.sockfd = q[i]};
        /* On failure lws closes the socket itself. */
        if (lws_adopt_descriptor_vhost(l->vhost, LWS_ADOPT_SOCKET | LWS_ADOPT_HTTP, fd, NULL,
                                       NULL) == NULL)
            hn_logf(HN_WARNING, "websocket: could not take over a connection");
    }
    free(q);

    if (seq > l->notified_seq || log_seq > l->notified_log) {
        l->notified_seq = seq;
        l->notified_log = log_seq;
        for (struct client *c = l->clients.next; c != &l->clients; c = c->next)
            lws_callback_on_writable(c->wsi);
    }
}

/* Writes the latest message if this client has not had it: one lws_write
 * per callback. A message larger than FRAG_MAX goes out as fragments, one
 * per callback, so lws never has to copy more than a fragment for a
 * client whose socket is full. [lws] */
static int on_writeable(struct hn_live *l, struct client *c)
{
    /* Log lines go between messages, never inside a fragmented one. */
    if (c->sending == NULL) {
        int rc = send_log(l, c);
        if (rc != 0)
            return rc < 0 ? -1 : 0;
    }
    if (c->sending == NULL) {
        pthread_mutex_lock(&l->mu);
        struct msg *m = msg_ref(l->latest);
        uint64_t change = l->change_seq;
        pthread_mutex_unlock(&l->mu);
        if (m == NULL || m->seq <= c->sent_seq) {
            msg_release(m);
            return 0;
        }
        struct msg *out = m;
        if (change > c->seen_change && !m->state_changed)
            out = flagged_copy(l, m);
        c->sending = msg_ref(out);
        c->offset = 0;
        c->sent_seq = m->seq;
        c->seen_change = change;
        msg_release(m);
    }

    struct msg *out = c->sending;
    size_t left = out->len - c->offset;
    size_t n = left < FRAG_MAX ? left : FRAG_MAX;
    bool first = c->offset == 0, last = n == left;
    unsigned char *p;
    if (first && last) {
        /* The common case. lws puts the frame header into the headroom
         * (the same bytes for every client) and copies whatever the
         * socket does not take, so the shared buffer is never kept. */
        p = out->data + LWS_PRE;
    } else {
        /* The headroom of a later fragment would overwrite message bytes
         * other clients still need: send it from a private copy. */
        p = l->scratch + LWS_PRE;
        memcpy(p, out->data + LWS_PRE + c->offset, n);
    }
    int flags = lws_write_ws_flags(LWS_WRITE_TEXT, first, last);
    if (lws_write(c->wsi, p, n, (enum lws_write_protocol)flags) < 0)
        return -1;
    c->offset += n;
    if (!last) {
        lws_callback_on_writable(c->wsi);
        return 0;
    }
    msg_release(c->sending);
    c->sending = NULL;

    pthread_mutex_lock(&l->mu);
    bool newer = l->seq > c->sent_seq;
    pthread_mutex_unlock(&l->mu);
    if (newer)
        lws_callback_on_writable(c->wsi);
    return 0;
}

/* Copies header h into buf (NUL-terminated); false when absent or too long. */
static bool header(struct lws *wsi, enum lws_token_indexes h, char *buf, int len)
{
    if (lws_hdr_total_length(wsi, h) <= 0)
        return false;
    return lws_hdr_copy(wsi, buf, len, h) > 0;
}

/* Splits "host[:port]" (host may be "[v6]") into a lower-cased host and
 * a port, default_port when none is given. */
static bool split_authority(const char *s, size_t n, char *host, size_t host_len, long *port,
                            long default_port)
{
    const char *colon = NULL;
    if (n > 0 && s[0] == '[') {
        const char *close = memchr(s, ']', n);
        if (close == NULL)
            return false;
        if ((size_t)(close + 1 - s) < n) {
            if (close[1] != ':')
                return false;
            colon = close + 1;
        }
    } else {
        colon = memchr(s, ':', n);
    }
    size_t hn = colon ? (size_t)(colon - s) : n;
    if (hn == 0 || hn >= host_len)
        return false;
    for (size_t i = 0; i < hn; i++)
        host[i] = (char)((s[i] >= 'A' && s[i] <= 'Z') ? s[i] + 32 : s[i]);
    host[hn] = '\0';
    *port = default_port;
    if (colon != NULL) {
        char *end;
        size_t pn = n - hn - 1;
        char digits[8];
        if (pn == 0 || pn >= sizeof digits)
            return false;
        memcpy(digits, colon + 1, pn);
        digits[pn] = '\0';
        errno = 0;
        *port = strtol(digits, &end, 10);
        if (*end != '\0' || errno != 0 || *port <= 0 || *port > 65535)
            return false;
    }
    return true;
}

/* A browser's Origin ("http://host:port") must name the Host it asked. */
static bool origin_matches(const char *origin, const char *host)
{
    long default_port;
    const char *rest;
    if (strncasecmp(origin, "http://", 7) == 0) {
        rest = origin + 7;
        default_port = 80;
    } else if (strncasecmp(origin, "https://", 8) == 0) {
        rest = origin + 8;
        default_port = 443;
    } else {
        return false; /* "null" (sandboxed pages, file://) or another scheme */
    }
    size_t rn = strcspn(rest, "/");
    char oh[256], hh[256];
    long op, hp;
    return split_authority(rest, rn, oh, sizeof oh, &op, default_port) &&
           split_authority(host, strlen(host), hh, sizeof hh, &hp, default_port) &&
           strcmp(oh, hh) == 0 && op == hp;
}

/* Answers a request lws will not upgrade with a JSON error (lws itself
 * would just drop the connection). The socket has written nothing yet, so
 * this small send completes. */
static void refuse(struct lws *wsi, const char *status, const char *why)
{
    char body[256], resp[512];
    int bl = snprintf(body, sizeof body, "{\"error\":\"%s\"}", why);
    int n = snprintf(resp, sizeof resp,
                     "HTTP/1.1 %s\r\nContent-Type: application/json\r\n"
                     "Content-Length: %d\r\nConnection: close\r\n\r\n%s",
                     status, bl, body);
    if (send(lws_get_socket_fd(wsi), resp, (size_t)n, MSG_NOSIGNAL | MSG_DONTWAIT) < 0)
        hn_logf(HN_DEBUG, "websocket: could not send \"%s\": %s", status, strerror(errno));
}

/* Only /ws, and only from a page served by this host. [lws] */
static int filter(struct lws *wsi)
{
    char uri[64], origin[512], host[300] = "";
    if (!header(wsi, WSI_TOKEN_GET_URI, uri, sizeof uri) || strcmp(uri, "/ws") != 0) {
        refuse(wsi, "404 Not Found", "the WebSocket endpoint is /ws");
        return -1;
    }
    struct hn_live *l = lws_context_user(lws_get_context(wsi));
    char host_hdr[300] = "";
    bool has_host = header(wsi, WSI_TOKEN_HOST, host_hdr, sizeof host_hdr);
    if (!hn_web_host_allowed(l->ctx, has_host ? host_hdr : NULL)) {
        refuse(wsi, "403 Forbidden", "Host is not this dashboard (DNS rebinding protection)");
        return -1;
    }
    if (lws_hdr_total_length(wsi, WSI_TOKEN_ORIGIN) <= 0)
        return 0; /* not a browser: no cross-site risk */
    if (!header(wsi, WSI_TOKEN_ORIGIN, origin, sizeof origin)) {
        refuse(wsi, "403 Forbidden", "WebSocket Origin too long");
        return -1;
    }
    if (!header(wsi, WSI_TOKEN_HOST, host, sizeof host) || !origin_matches(origin, host)) {
        hn_logf(HN_WARNING, "websocket: refused a connection from Origin %s (Host %s)", origin,
                host[0] ? host : "missing");
        refuse(wsi, "403 Forbidden", "WebSocket Origin does not match Host");
        return -1;
    }
    return 0;
}

static int callback(struct lws *wsi, enum lws_callback_reasons reason, void *user, void *in,
                    size_t len)
{
    struct hn_live *l = lws_context_user(lws_get_context(wsi));
    struct client *c = user;
    switch (reason) {
    case LWS_CALLBACK_EVENT_WAIT_CANCELLED:
        /* Delivered once per protocol of every vhost; ours is the only one. */
        on_wake(l);
        return 0;
    case LWS_CALLBACK_FILTER_PROTOCOL_CONNECTION:
        return filter(wsi);
    case LWS_CALLBACK_ESTABLISHED: {
        /* Latest-value only starts once the kernel stops taking data.
         * Autotuned, it would queue up to tcp_wmem's 4 MiB of stale
         * snapshots (minutes of them) for a slow client; a fixed buffer
         * bounds that and still lets a large snapshot through quickly. */
        int sndbuf = SNDBUF;
        setsockopt(lws_get_socket_fd(wsi), SOL_SOCKET, SO_SNDBUF, &sndbuf, sizeof sndbuf);
        c->wsi = wsi;
        c->sent_seq = 0;
        pthread_mutex_lock(&l->mu);
        c->seen_change = l->change_seq; /* a new client needs no "changed" flag */
        c->log_sent = l->log_seq;       /* older lines come from GET /api/logs */
        pthread_mutex_unlock(&l->mu);
        client_link(l, c);
        lws_callback_on_writable(wsi);
        return 0;
    }
    case LWS_CALLBACK_SERVER_WRITEABLE:
        return on_writeable(l, c);
    case LWS_CALLBACK_CLOSED:
        client_unlink(l, c);
        msg_release(c->sending);
        c->sending = NULL;
        return 0;
    case LWS_CALLBACK_RECEIVE:
        return 0; /* the page controls the run through the HTTP API */
    case LWS_CALLBACK_HTTP:
        /* Passed the acceptor's upgrade check but lws does not take it
         * as one (an unknown WebSocket version, for instance). */
        refuse(wsi, "400 Bad Request", "invalid WebSocket upgrade request");
        return -1;
    default:
        break;
    }
    return lws_callback_http_dummy(wsi, reason, user, in, len);
}

/* Protocol 0 is where lws binds clients that name no subprotocol. */
static const struct lws_protocols protocols[] = {
    {
        .name = "hornet",
        .callback = callback,
        .per_session_data_size = sizeof(struct client),
        .rx_buffer_size = 4096,
        .tx_packet_size = SEND_MAX,
    },
    {0},
};

/* lws's own errors and warnings go to our log. */
static void lws_log_emit(int level, const char *line)
{
    /* filter() has already logged why, in words a user can act on. */
    if (strncmp(line, "User code denied connection", 27) == 0)
        return;
    size_t n = strlen(line);
    while (n > 0 && (line[n - 1] == '\n' || line[n - 1] == '\r'))
        n--;
    hn_logf(level == LLL_ERR ? HN_ERROR : HN_WARNING, "websocket: %.*s", (int)n, line);
}

static void *service_main(void *arg)
{
    struct hn_live *l = arg;
    while (!atomic_load(&l->stop)) {
        if (lws_service(l->lws, 0) < 0) {
            hn_logf(HN_ERROR, "websocket: the service loop failed; live updates stop");
            break;
        }
    }
    return NULL;
}

static void live_free(struct hn_live *l)
{
    if (l->lws != NULL)
        lws_context_destroy(l->lws); /* closes the clients (CLOSED unlinks them) */
    for (size_t i = 0; i < l->queue_n; i++)
        close(l->queue[i]);
    free(l->queue);
    msg_release(l->latest);
    msg_release(l->flagged);
    for (size_t i = 0; i < LOG_RING; i++)
        free(l->logs[i]);
    free(l->scratch);
    pthread_mutex_destroy(&l->mu);
    free(l);
}

int hn_live_start(struct hn_live **out, const struct hn_webctx *ctx, char *err, size_t err_len)
{
    *out = NULL;
    struct hn_live *l = calloc(1, sizeof *l);
    if (l == NULL) {
        snprintf(err, err_len, "out of memory");
        return -1;
    }
    l->ctx = ctx;
    pthread_mutex_init(&l->mu, NULL);
    l->clients.prev = l->clients.next = &l->clients;

    /* The first client may connect before the first tick. */
    struct hn_snapshot *snap = hn_runner_snapshot(ctx->runner);
    struct msg *first = msg_from_snapshot(snap, false);
    hn_snapshot_release(snap);
    if (first == NULL) {
        snprintf(err, err_len, "websocket: cannot serialise the snapshot");
        goto fail;
    }
    first->seq = l->seq = 1;
    l->latest = first;
    l->scratch = malloc(LWS_PRE + FRAG_MAX);
    if (l->scratch == NULL) {
        snprintf(err, err_len, "out of memory");
        goto fail;
    }

    lws_set_log_level(LLL_ERR | LLL_WARN, lws_log_emit);
    struct lws_context_creation_info info;
    memset(&info, 0, sizeof info);
    /* A server vhost without a listener: every socket comes by adoption. */
    info.port = CONTEXT_PORT_NO_LISTEN_SERVER;
    /* A text frame that is not UTF-8 closes the connection (1007), as RFC
     * 6455 8.1 says. */
    info.options = LWS_SERVER_OPTION_EXPLICIT_VHOSTS | LWS_SERVER_OPTION_VALIDATE_UTF8;
    info.protocols = protocols;
    info.user = l;
    info.gid = -1;
    info.uid = -1;
    info.max_http_header_data = HEADER_MAX;
    info.vhost_name = "hornet";
    /* Note: creating the context makes the process ignore SIGPIPE. */
    l->lws = lws_create_context(&info);
    if (l->lws == NULL) {
        snprintf(err, err_len, "websocket: cannot create the libwebsockets context");
        goto fail;
    }
    l->vhost = lws_create_vhost(l->lws, &info);
    if (l->vhost == NULL) {
        snprintf(err, err_len, "websocket: cannot create the libwebsockets vhost");
        goto fail;
    }
    int rc = pthread_create(&l->thread, NULL, service_main, l);
    if (rc != 0) {
        snprintf(err, err_len, "websocket: cannot start the service thread: %s", strerror(rc));
        goto fail;
    }
    pthread_setname_np(l->thread, "hn-live");
    l->thread_started = true;
    hn_runner_subscribe(ctx->runner, on_tick, l);
    hn_log_set_sink(on_log, l);
    l->subscribed = true;
    *out = l;
    return 0;

fail:
    live_free(l);
    return -1;
}

void hn_live_adopt(struct hn_live *l, int fd)
{
    pthread_mutex_lock(&l->mu);
    bool ok = !l->closing && l->queue_n < ADOPT_QUEUE_MAX;
    if (ok && l->queue_n == l->queue_cap) {
        size_t cap = l->queue_cap ? l->queue_cap * 2 : 16;
        int *q = realloc(l->queue, cap * sizeof *q);
        if (q == NULL) {
            ok = false;
        } else {
            l->queue = q;
            l->queue_cap = cap;
        }
    }
    if (ok) {
        l->queue[l->queue_n++] = fd;
        /* Under the lock: once hn_live_stop has set closing, no adopter
         * can still be about to touch the context. */
        lws_cancel_service(l->lws);
    }
    pthread_mutex_unlock(&l->mu);
    if (!ok)
        close(fd);
}

int hn_live_clients(struct hn_live *l)
{
    return atomic_load(&l->n_clients);
}

void hn_live_stop(struct hn_live *l)
{
    if (l == NULL)
        return;
    /* No tick may touch the context once it is gone. */
    if (l->subscribed) {
        hn_log_set_sink(NULL, NULL);
        hn_runner_unsubscribe(l->ctx->runner, on_tick, l);
    }
    pthread_mutex_lock(&l->mu);
    l->closing = true;
    pthread_mutex_unlock(&l->mu);
    if (l->thread_started) {
        atomic_store(&l->stop, true);
        lws_cancel_service(l->lws);
        pthread_join(l->thread, NULL);
    }
    live_free(l);
}
