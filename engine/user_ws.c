/*
 * user_ws.c: the plugin API's WebSocket calls (ABI 1.3): a user's handles
 * on engine/client/ws_client.c's connections, their waits as the user's
 * yields, and what is recorded in the statistics.
 *
 * Threads: everything runs in a user coroutine on its worker thread.
 */
#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "clock.h"
#include "log.h"
#include "user.h"

#define RECV_DEFAULT_S 60.0   /* hn_ws_recv / hn_ws_request with no timeout */
#define CLOSE_WAIT_S 2.0      /* hn_ws_close: the server's close frame */

struct hn_ws {
    const struct hn_api *api;  /* first: struct hn_user_head */
    struct hn_user *user;      /* NULL: the shared handle of a misplaced call */
    struct hn_ws *prev, *next; /* the user's handles */
    struct hn_ws_conn *conn;   /* NULL once failed or ended */
    struct hn_ws_io io;        /* the conn's waits: the user's */
    char *name;
    char *error;               /* why it failed or ended; NULL while open */
    double timeout_s;          /* connect and each send */
};

/* A call from outside the user's task gets this inert, failed handle. */
static char misplaced_error[] = "hn_ws called outside its user's task";
static struct hn_ws misplaced = {.error = misplaced_error};

static void init_misplaced(void)
{
    misplaced.api = hn_user_api_table();
}

static struct hn_ws *misplaced_handle(void)
{
    static pthread_once_t once = PTHREAD_ONCE_INIT;
    pthread_once(&once, init_misplaced);
    return &misplaced;
}

static bool usable(const struct hn_ws *ws, const char *what)
{
    return ws != NULL && ws->user != NULL && hn_user_in_own_coroutine(ws->user, what);
}

/* Before a new operation, as before a request: a pending catch_response
 * is recorded, a paused run holds the user, a stopping one unwinds it. */
static void gate(struct hn_ws *ws)
{
    hn_user_finish_pending(ws->user);
    hn_user_gate(ws->user);
}

static uint64_t deadline_after(double s)
{
    return hn_mono_us() + (uint64_t)(fmin(s, 1e7) * 1e6);
}

static int wait_as_user(void *ctx, int fd, int events, uint64_t deadline_us)
{
    struct hn_user *u = ctx;
    if (hn_mono_us() >= deadline_us)
        return 0;
    int got = hn_user_wait_fd(u, fd,
                              ((events & HN_WS_WAIT_READ) ? HN_FD_READ : 0) |
                                  ((events & HN_WS_WAIT_WRITE) ? HN_FD_WRITE : 0),
                              deadline_us);
    if (got <= 0)
        return got;
    return ((got & HN_FD_READ) ? HN_WS_WAIT_READ : 0) |
           ((got & HN_FD_WRITE) ? HN_WS_WAIT_WRITE : 0);
}

static void set_error(struct hn_ws *ws, const char *msg)
{
    free(ws->error);
    ws->error = msg ? strdup(msg) : NULL;
}

static void record(struct hn_user *u, const char *name, uint64_t start_us, uint64_t bytes,
                   const char *error)
{
    hn_worker_record(u->w, "WS", name, hn_mono_us() - start_us, bytes, error);
}

/* The connection ended: recorded under name once, then dropped. A close
 * the server began with 1000 or 1001 is an ending, not a failure, unless
 * an exchange was waiting for its reply (exchange). */
static void ended(struct hn_ws *ws, const char *name, const char *why, int close_code,
                  bool exchange)
{
    set_error(ws, why);
    if (exchange || (close_code != 1000 && close_code != 1001))
        hn_worker_record(ws->user->w, "WS", name, 0, 0, why);
    hn_ws_conn_abandon(ws->conn);
    ws->conn = NULL;
}

/* After a wait: a user aborted at the stop timeout unwinds now that
 * nothing of the call is left half done. */
static void unwind_if_aborted(struct hn_user *u)
{
    if (u->aborted)
        hn_user_exit(u);
}

/* url as given when it is a ws:// or wss:// one; a path joins the user's
 * host, and http(s):// become ws(s)://. */
static char *ws_url(struct hn_user *u, const char *url)
{
    if (strncmp(url, "ws://", 5) == 0 || strncmp(url, "wss://", 6) == 0)
        return strdup(url);
    const char *base = url[0] == '/' ? u->host : url;
    const char *path = url[0] == '/' ? url : "";
    if (base == NULL)
        return NULL;
    bool tls = strncmp(base, "https://", 8) == 0;
    if (!tls && strncmp(base, "http://", 7) != 0)
        return NULL;
    const char *rest = base + (tls ? 8 : 7);
    size_t rl = strlen(rest);
    if (path[0] != '\0' && rl > 0 && rest[rl - 1] == '/')
        rl--;
    size_t n = rl + strlen(path) + 8;
    char *out = malloc(n);
    if (out != NULL)
        snprintf(out, n, "%s://%.*s%s", tls ? "wss" : "ws", (int)rl, rest, path);
    return out;
}

/* The URL's path, for the default stats name. */
static const char *url_path(const char *url)
{
    const char *p = strstr(url, "://");
    p = p ? strchr(p + 3, '/') : NULL;
    return p ? p : "/";
}

struct hn_ws *hn_user_ws_connect(struct hn_user *u, const char *url, const struct hn_ws_opts *o)
{
    if (!hn_user_in_own_coroutine(u, "hn_ws_connect"))
        return misplaced_handle();
    static const struct hn_ws_opts no_opts;
    if (o == NULL)
        o = &no_opts;
    hn_user_finish_pending(u);
    hn_user_gate(u);
    struct hn_ws *ws = calloc(1, sizeof *ws);
    if (ws == NULL) {
        hn_logf(HN_ERROR, "hn_ws_connect: out of memory");
        return misplaced_handle();
    }
    ws->api = u->api;
    ws->user = u;
    ws->io = (struct hn_ws_io){.wait = wait_as_user, .ctx = u};
    ws->next = u->ws;
    if (u->ws)
        u->ws->prev = ws;
    u->ws = ws;
    struct hn_http_options limits = hn_http_options_or_defaults(&u->w->limits);
    ws->timeout_s = o->timeout > 0 ? o->timeout : limits.connect_s;
    char *full = url ? ws_url(u, url) : NULL;
    ws->name = strdup(o->name && *o->name ? o->name : full ? url_path(full) : url ? url : "?");
    uint64_t start = hn_mono_us();
    char err[256];
    if (full == NULL) {
        snprintf(err, sizeof err, url == NULL || (url[0] == '/' && u->host == NULL)
                                      ? "no WebSocket URL: give ws://... or a path and -H"
                                      : "not a WebSocket URL (ws:// or wss://)");
    } else {
        ws->conn = hn_ws_conn_open(u->w->ws, full, o->headers, o->protocol, (unsigned)u->id,
                              limits.max_body, &ws->io, deadline_after(ws->timeout_s), err,
                              sizeof err);
        if (ws->conn == NULL && u->aborted)
            snprintf(err, sizeof err, "aborted");
    }
    free(full);
    if (ws->conn == NULL) {
        set_error(ws, err);
        record(u, ws->name, start, 0, err);
    } else {
        record(u, ws->name, start, 0, NULL);
    }
    unwind_if_aborted(u);
    return ws;
}

int hn_user_ws_send(struct hn_ws *ws, const void *data, size_t len, int kind)
{
    if (!usable(ws, "hn_ws_send") || ws->conn == NULL)
        return -1;
    gate(ws);
    set_error(ws, NULL); /* a reply that timed out before is forgotten */
    if (data == NULL || (kind != HN_WS_TEXT && kind != HN_WS_BINARY)) {
        hn_logf(HN_ERROR, "hn_ws_send needs data and HN_WS_TEXT or HN_WS_BINARY (ignored)");
        return -1;
    }
    if (len == 0)
        len = strlen(data);
    char err[256];
    int op = kind == HN_WS_BINARY ? HN_WS_OP_BINARY : HN_WS_OP_TEXT;
    int rc = hn_ws_conn_send(ws->conn, op, data, len, deadline_after(ws->timeout_s), err,
                             sizeof err);
    if (rc != 0)
        ended(ws, ws->name, ws->user->aborted ? "aborted" : err, 0, false);
    unwind_if_aborted(ws->user);
    return rc;
}

/* The next message before the deadline; on an ending, recorded under
 * name. */
static int receive(struct hn_ws *ws, const char *name, bool exchange, uint64_t deadline,
                   const char **data, size_t *len)
{
    int opcode = 0, close_code = 0;
    size_t n = 0;
    char err[256];
    int rc = hn_ws_conn_recv(ws->conn, deadline, &opcode, data, &n, &close_code, err, sizeof err);
    if (len)
        *len = n;
    if (rc < 0)
        ended(ws, name, ws->user->aborted ? "aborted" : err, close_code, exchange);
    return rc < 0 ? -1 : rc == 0 ? 0 : opcode == HN_WS_OP_BINARY ? HN_WS_BINARY : HN_WS_TEXT;
}

int hn_user_ws_recv(struct hn_ws *ws, double timeout, const char **data, size_t *len)
{
    const char *ignored;
    if (data == NULL)
        data = &ignored;
    *data = NULL;
    if (len)
        *len = 0;
    if (!usable(ws, "hn_ws_recv") || ws->conn == NULL)
        return -1;
    gate(ws);
    set_error(ws, NULL);
    uint64_t deadline = deadline_after(timeout > 0 ? timeout : RECV_DEFAULT_S);
    int rc = receive(ws, ws->name, false, deadline, data, len);
    unwind_if_aborted(ws->user);
    return rc;
}

const char *hn_user_ws_request(struct hn_ws *ws, const char *name, const void *data, size_t len,
                               double timeout, size_t *reply_len)
{
    if (reply_len)
        *reply_len = 0;
    if (!usable(ws, "hn_ws_request"))
        return NULL;
    gate(ws);
    struct hn_user *u = ws->user;
    if (name == NULL || *name == '\0')
        name = ws->name;
    if (ws->conn == NULL) {
        /* Asked of a broken connection: the exchange fails, saying why. */
        hn_worker_record(u->w, "WS", name, 0, 0, ws->error ? ws->error : "not connected");
        return NULL;
    }
    if (data == NULL) {
        hn_logf(HN_ERROR, "hn_ws_request needs data (ignored)");
        return NULL;
    }
    if (len == 0)
        len = strlen(data);
    set_error(ws, NULL);
    double wait_s = timeout > 0 ? timeout : RECV_DEFAULT_S;
    uint64_t start = hn_mono_us();
    char err[256];
    uint64_t send_deadline = deadline_after(fmin(ws->timeout_s, wait_s));
    if (hn_ws_conn_send(ws->conn, HN_WS_OP_TEXT, data, len, send_deadline, err, sizeof err) != 0) {
        ended(ws, name, u->aborted ? "aborted" : err, 0, true);
        unwind_if_aborted(u);
        return NULL;
    }
    const char *reply = NULL;
    size_t n = 0;
    int rc = receive(ws, name, true, start + (uint64_t)(fmin(wait_s, 1e7) * 1e6), &reply, &n);
    if (rc > 0) {
        record(u, name, start, n, NULL);
        if (reply_len)
            *reply_len = n;
    } else if (rc == 0) {
        snprintf(err, sizeof err, "no reply within %g s", wait_s);
        set_error(ws, err);
        record(u, name, start, 0, err);
        reply = NULL;
    }
    unwind_if_aborted(u);
    return rc > 0 ? reply : NULL;
}

static void unlink_handle(struct hn_ws *ws)
{
    struct hn_user *u = ws->user;
    if (ws->prev)
        ws->prev->next = ws->next;
    else
        u->ws = ws->next;
    if (ws->next)
        ws->next->prev = ws->prev;
}

static void free_handle(struct hn_ws *ws)
{
    hn_ws_conn_abandon(ws->conn);
    free(ws->name);
    free(ws->error);
    free(ws);
}

void hn_user_ws_close(struct hn_ws *ws)
{
    if (!usable(ws, "hn_ws_close"))
        return;
    struct hn_user *u = ws->user;
    unlink_handle(ws);
    hn_ws_conn_close(ws->conn, deadline_after(CLOSE_WAIT_S));
    ws->conn = NULL;
    free_handle(ws);
    unwind_if_aborted(u);
}

const char *hn_user_ws_error(const struct hn_ws *ws)
{
    return ws ? ws->error : "no WebSocket handle";
}

void hn_user_ws_free_all(struct hn_user *u)
{
    for (struct hn_ws *ws = u->ws, *nx; ws; ws = nx) {
        nx = ws->next;
        free_handle(ws);
    }
    u->ws = NULL;
}
