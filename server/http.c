/*
 * http.c: the dashboard's HTTP side on libmicrohttpd. The daemon has no
 * listening socket: the acceptor (acceptor.c) owns the port and hands each
 * plain-HTTP connection over with hn_http_adopt(). One internal MHD thread
 * (epoll) serves the embedded page, the JSON API and the downloads.
 *
 * Request flow (MHD calls the access handler several times per request):
 *   1st call  headers only: allocate the request state and return. Queueing
 *             a response here makes libmicrohttpd 0.9.75 close the
 *             connection, so only bodies too large to drain are refused now.
 *   Nth call  a piece of the body: kept up to hn_api_body_max(path), then dropped.
 *   last call no more data: route and answer (api.c or an asset).
 */
#include "http.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include <microhttpd.h>
#include <pthread.h>
#include <sys/socket.h>

#include "api.h"
#include "assets.h"
#include "log.h"
#include "webctx.h"

/* Bodies declared larger than this are refused before any is read (and the
 * connection closed); smaller ones over HN_API_BODY_MAX are read and
 * dropped, so the connection can stay open. */
#define DRAIN_MAX (1024 * 1024)
/* Idle keep-alive connections are closed after this many seconds. */
#define CONN_TIMEOUT_S 60u
/* Connections held at once. At this many, a new one closes the one that
 * has waited longest without a request (an idle keep-alive: heads arrive
 * whole, the acceptor waits for them), as nginx reuses idle keep-alives; only when
 * CONN_HARD are open (closes still under way) is it refused with a 503.
 * MHD's own limit is above both and never met: libmicrohttpd 0.9.75 blocks
 * its thread for good on its own mutex when a connection handed over with
 * MHD_add_connection meets that limit (seen with 1,100 idle keep-alives:
 * every later connection reset, and MHD_stop_daemon hung). */
#define CONN_MAX 1000u
#define CONN_HARD (CONN_MAX + 48u)
#define MHD_CONN_LIMIT (CONN_HARD + 64u)

/* One connection, from MHD's start notification to its close. */
struct conn {
    int fd;
    bool busy;                /* a request is being read or answered */
    struct conn *prev, *next; /* in the evictable list when !busy */
};

struct hn_http {
    struct MHD_Daemon *daemon;
    const struct hn_webctx *ctx;
    pthread_mutex_t lock;     /* the acceptor and MHD's thread: what follows */
    unsigned open;            /* handed over and not yet closed */
    struct conn *oldest, *newest; /* evictable connections, least recently used first */
    uint64_t evicted, refused;
};

/* Per-request state, from the first access-handler call to completion. */
struct request {
    char *body; /* NUL-terminated; NULL until data arrives */
    size_t len, cap;
    bool too_large; /* more than max arrived */
    size_t max;     /* hn_api_body_max of its path */
    bool oom;
};

/* ------------------------------------------------------------------------ */
/* Responses                                                                 */

/* Queues r (NULL = could not build it: drop the connection) and drops our
 * reference. */
static enum MHD_Result queue(struct MHD_Connection *c, unsigned status, struct MHD_Response *r)
{
    if (r == NULL)
        return MHD_NO;
    /* No other site may frame the page and click its buttons for the user
     * (clickjacking): the old header and the CSP one. */
    MHD_add_response_header(r, "X-Frame-Options", "DENY");
    MHD_add_response_header(r, "Content-Security-Policy", "frame-ancestors 'none'");
    enum MHD_Result ret = MHD_queue_response(c, status, r);
    MHD_destroy_response(r);
    return ret;
}

/* Sends an API reply (its body is handed to MHD). */
static enum MHD_Result send_reply(struct MHD_Connection *c, struct hn_api_reply *rp,
                                  const char *allow)
{
    struct MHD_Response *r;
    if (rp->body != NULL) {
        r = MHD_create_response_from_buffer(rp->len, rp->body, MHD_RESPMEM_MUST_FREE);
        if (r == NULL)
            free(rp->body);
    } else {
        r = MHD_create_response_from_buffer(0, NULL, MHD_RESPMEM_PERSISTENT);
    }
    rp->body = NULL;
    if (r == NULL)
        return MHD_NO;
    MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE,
                            rp->content_type ? rp->content_type : "application/json");
    MHD_add_response_header(r, MHD_HTTP_HEADER_CACHE_CONTROL, "no-store");
    MHD_add_response_header(r, "X-Content-Type-Options", "nosniff");
    if (allow != NULL)
        MHD_add_response_header(r, MHD_HTTP_HEADER_ALLOW, allow);
    if (rp->status == MHD_HTTP_UNAUTHORIZED)
        MHD_add_response_header(r, MHD_HTTP_HEADER_WWW_AUTHENTICATE, HN_WEB_AUTH_CHALLENGE);
    if (rp->filename[0] != '\0') {
        char cd[sizeof rp->filename + 32];
        snprintf(cd, sizeof cd, "attachment; filename=\"%s\"", rp->filename);
        MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_DISPOSITION, cd);
    }
    return queue(c, rp->status, r);
}

static enum MHD_Result send_error(struct MHD_Connection *c, unsigned status, const char *allow,
                                  const char *fmt, ...) __attribute__((format(printf, 4, 5)));

/* {"error": "..."} with status (and an Allow header for 405). */
static enum MHD_Result send_error(struct MHD_Connection *c, unsigned status, const char *allow,
                                  const char *fmt, ...)
{
    char msg[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    struct hn_api_reply rp = {0};
    hn_api_error(&rp, status, "%s", msg);
    return send_reply(c, &rp, allow);
}

/* ------------------------------------------------------------------------ */
/* Assets                                                                    */

/* Copies the next entity tag of an If-None-Match list into tag (without a
 * weak "W/" prefix: If-None-Match compares weakly). Returns where the next
 * one starts, or NULL at the end. */
static const char *next_tag(const char *p, char *tag, size_t n)
{
    while (*p == ' ' || *p == '\t' || *p == ',')
        p++;
    if (*p == '\0')
        return NULL;
    if (strncmp(p, "W/", 2) == 0)
        p += 2;
    size_t len = strcspn(p, ",");
    while (len > 0 && (p[len - 1] == ' ' || p[len - 1] == '\t'))
        len--;
    snprintf(tag, n, "%.*s", (int)(len < n ? len : n - 1), p);
    p += strcspn(p, ",");
    return p;
}

/* True when the request's If-None-Match holds etag (or "*"). */
static bool not_modified(struct MHD_Connection *c, const char *etag)
{
    const char *inm =
        MHD_lookup_connection_value(c, MHD_HEADER_KIND, MHD_HTTP_HEADER_IF_NONE_MATCH);
    if (inm == NULL || etag == NULL)
        return false;
    if (strncmp(etag, "W/", 2) == 0)
        etag += 2;
    char tag[128];
    for (const char *p = inm; (p = next_tag(p, tag, sizeof tag)) != NULL;)
        if (strcmp(tag, "*") == 0 || strcmp(tag, etag) == 0)
            return true;
    return false;
}

/* Sends a file body r (taken) with its validators, or 304 when the
 * browser's copy is current. */
static enum MHD_Result send_file(struct MHD_Connection *c, struct MHD_Response *r, const char *mime,
                                 const char *etag)
{
    unsigned status = MHD_HTTP_OK;
    if (not_modified(c, etag)) {
        if (r != NULL)
            MHD_destroy_response(r);
        r = MHD_create_response_from_buffer(0, NULL, MHD_RESPMEM_PERSISTENT);
        status = MHD_HTTP_NOT_MODIFIED;
    }
    if (r == NULL)
        return MHD_NO;
    if (status == MHD_HTTP_OK)
        MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE, mime);
    MHD_add_response_header(r, MHD_HTTP_HEADER_ETAG, etag);
    /* Revalidate every time: a rebuilt binary must never serve a stale page. */
    MHD_add_response_header(r, MHD_HTTP_HEADER_CACHE_CONTROL, "no-cache");
    MHD_add_response_header(r, "X-Content-Type-Options", "nosniff");
    return queue(c, status, r);
}

static enum MHD_Result send_embedded(struct MHD_Connection *c, const struct hn_asset *a)
{
    /* The arrays live in .rodata for the life of the process: no copy. */
    struct MHD_Response *r =
        MHD_create_response_from_buffer(a->len, (void *)a->data, MHD_RESPMEM_PERSISTENT);
    return send_file(c, r, a->mime, a->etag);
}

enum disk_result { DISK_SENT, DISK_MISSING, DISK_REFUSED };

/* --web-root: serves url from the directory. Refuses any path with a
 * component starting with '.' (so no "..", no hidden files) and anything but
 * regular files. DISK_MISSING lets the caller fall back to the embedded
 * copy (Chart.js is not in web/). */
static enum disk_result send_from_disk(struct MHD_Connection *c, const char *root, const char *url,
                                       enum MHD_Result *ret)
{
    if (strcmp(url, "/") == 0)
        url = "/index.html";
    if (url[0] != '/' || strstr(url, "/.") != NULL)
        return DISK_REFUSED;
    char path[PATH_MAX];
    int n = snprintf(path, sizeof path, "%s%s", root, url);
    if (n < 0 || (size_t)n >= sizeof path)
        return DISK_REFUSED;
    /* O_NONBLOCK: opening a FIFO must not wait for a writer. */
    int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
    if (fd < 0)
        return errno == ENOENT || errno == ENOTDIR ? DISK_MISSING : DISK_REFUSED;
    struct stat st;
    if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
        close(fd);
        return DISK_REFUSED;
    }
    char etag[96];
    snprintf(etag, sizeof etag, "W/\"%jx-%jx-%lx\"", (uintmax_t)st.st_size,
             (uintmax_t)st.st_mtim.tv_sec, (unsigned long)st.st_mtim.tv_nsec);
    /* MHD owns fd from here (and closes it when the response is freed). */
    struct MHD_Response *r = MHD_create_response_from_fd((size_t)st.st_size, fd);
    if (r == NULL)
        close(fd);
    *ret = send_file(c, r, hn_asset_mime(url), etag);
    return DISK_SENT;
}

static enum MHD_Result serve_asset(const struct hn_http *h, struct MHD_Connection *c,
                                   const char *url)
{
    if (h->ctx->web_root != NULL) {
        enum MHD_Result ret = MHD_NO;
        enum disk_result d = send_from_disk(c, h->ctx->web_root, url, &ret);
        if (d == DISK_SENT)
            return ret;
        if (d == DISK_REFUSED)
            return send_error(c, MHD_HTTP_NOT_FOUND, NULL, "not found: %.200s", url);
    }
    const struct hn_asset *a = hn_asset_find(url);
    if (a == NULL)
        return send_error(c, MHD_HTTP_NOT_FOUND, NULL, "not found: %.200s", url);
    return send_embedded(c, a);
}

/* ------------------------------------------------------------------------ */
/* Requests                                                                  */

/* A request another site's page made the browser send (a form, an
 * <img src=".../stop">, fetch): the browser says so in Sec-Fetch-Site, or
 * names that page in Origin or, failing both, in Referer. Requests with
 * none of them (curl, scripts) are not a browser's and pass. */
static bool cross_site(struct MHD_Connection *c)
{
    const char *site = MHD_lookup_connection_value(c, MHD_HEADER_KIND, "Sec-Fetch-Site");
    if (site != NULL)
        return strcmp(site, "same-origin") != 0 && strcmp(site, "none") != 0;
    const char *from = MHD_lookup_connection_value(c, MHD_HEADER_KIND, MHD_HTTP_HEADER_ORIGIN);
    if (from == NULL)
        from = MHD_lookup_connection_value(c, MHD_HEADER_KIND, MHD_HTTP_HEADER_REFERER);
    if (from == NULL)
        return false;
    const char *host = MHD_lookup_connection_value(c, MHD_HEADER_KIND, MHD_HTTP_HEADER_HOST);
    const char *sep = strstr(from, "://");
    if (host == NULL || sep == NULL)
        return true;
    /* scheme://host[:port] then the end, or a path (Referer). */
    size_t n = strlen(host);
    return strncasecmp(sep + 3, host, n) != 0 || (sep[3 + n] != '\0' && sep[3 + n] != '/');
}

static void take_body(struct request *rq, const char *data, size_t n)
{
    if (rq->too_large || rq->oom)
        return;
    if (n > rq->max - rq->len) {
        rq->too_large = true;
        free(rq->body);
        rq->body = NULL;
        rq->len = rq->cap = 0;
        return;
    }
    if (rq->len + n + 1 > rq->cap) {
        size_t cap = rq->cap ? rq->cap * 2 : 1024;
        while (cap < rq->len + n + 1)
            cap *= 2;
        if (cap > rq->max + 1)
            cap = rq->max + 1;
        char *b = realloc(rq->body, cap);
        if (b == NULL) {
            rq->oom = true;
            return;
        }
        rq->body = b;
        rq->cap = cap;
    }
    memcpy(rq->body + rq->len, data, n);
    rq->len += n;
    rq->body[rq->len] = '\0';
}

static enum MHD_Result dispatch(const struct hn_http *h, struct MHD_Connection *c, const char *url,
                                const char *method, struct request *rq)
{
    if (rq->too_large)
        return send_error(c, MHD_HTTP_CONTENT_TOO_LARGE, NULL,
                          "request body too large (the limit is %zu bytes)", rq->max);
    if (rq->oom)
        return send_error(c, MHD_HTTP_INTERNAL_SERVER_ERROR, NULL, "out of memory");
    /* Every request of a keep-alive connection shows its credentials. */
    if (!hn_web_auth_ok(h->ctx, MHD_lookup_connection_value(c, MHD_HEADER_KIND,
                                                            MHD_HTTP_HEADER_AUTHORIZATION)))
        return send_error(c, MHD_HTTP_UNAUTHORIZED, NULL,
                          "this dashboard needs a user name and password (--web-auth)");
    const char *host = MHD_lookup_connection_value(c, MHD_HEADER_KIND, MHD_HTTP_HEADER_HOST);
    if (!hn_web_host_allowed(h->ctx, host))
        return send_error(c, MHD_HTTP_FORBIDDEN, NULL,
                          "Host '%.100s' is not this dashboard (DNS rebinding protection); use "
                          "its address, or --web-host NAME", host);
    /* Locust's GET aliases change state: refuse them from other sites' pages
     * (an <img src=".../stop"> sends no Origin, but Sec-Fetch-Site). */
    if ((strcmp(url, "/stop") == 0 || strcmp(url, "/stats/reset") == 0) && cross_site(c))
        return send_error(c, MHD_HTTP_FORBIDDEN, NULL,
                          "cross-site request refused: %s changes the run", url);
    /* A keep-alive connection stays with MHD even if it later asks for an
     * upgrade; browsers always open a new connection for WebSocket. */
    if (strcmp(url, "/ws") == 0)
        return send_error(c, MHD_HTTP_BAD_REQUEST, NULL,
                          "/ws is a WebSocket endpoint: connect with a WebSocket client");

    const char *allow;
    hn_api_handler_cb fn = hn_api_route(method, url, &allow);
    if (fn != NULL) {
        if (strcmp(method, "POST") == 0 && cross_site(c))
            return send_error(c, MHD_HTTP_FORBIDDEN, NULL,
                              "cross-origin request refused: it comes from another site's page");
        struct hn_api_request req = {
            .ctx = h->ctx,
            .path = url,
            .content_type =
                MHD_lookup_connection_value(c, MHD_HEADER_KIND, MHD_HTTP_HEADER_CONTENT_TYPE),
            .body = rq->body != NULL ? rq->body : "",
            .body_len = rq->len,
            .download = MHD_lookup_connection_value(c, MHD_GET_ARGUMENT_KIND, "download"),
            .arg_id = MHD_lookup_connection_value(c, MHD_GET_ARGUMENT_KIND, "id"),
            .arg_base = MHD_lookup_connection_value(c, MHD_GET_ARGUMENT_KIND, "base"),
            .arg_new = MHD_lookup_connection_value(c, MHD_GET_ARGUMENT_KIND, "new"),
            .arg_tolerance = MHD_lookup_connection_value(c, MHD_GET_ARGUMENT_KIND, "tolerance"),
            .arg_type = MHD_lookup_connection_value(c, MHD_GET_ARGUMENT_KIND, "type"),
            .arg_name = MHD_lookup_connection_value(c, MHD_GET_ARGUMENT_KIND, "name"),
        };
        struct hn_api_reply rp = {0};
        fn(&req, &rp);
        return send_reply(c, &rp, NULL);
    }
    if (allow != NULL)
        return send_error(c, MHD_HTTP_METHOD_NOT_ALLOWED, allow,
                          "method %.20s is not allowed on %.200s (use %s)", method, url, allow);
    if (strcmp(method, "GET") == 0 || strcmp(method, "HEAD") == 0)
        return serve_asset(h, c, url);
    if (hn_asset_find(url) != NULL)
        return send_error(c, MHD_HTTP_METHOD_NOT_ALLOWED, "GET, HEAD",
                          "method %.20s is not allowed on %.200s (use GET, HEAD)", method, url);
    return send_error(c, MHD_HTTP_NOT_FOUND, NULL, "not found: %.200s", url);
}

/* ------------------------------------------------------------------------ */
/* Connections: a bound, with the least recently used idle one closed first  */

static void unlink_conn(struct hn_http *h, struct conn *k)
{
    if (k->prev)
        k->prev->next = k->next;
    else if (h->oldest == k)
        h->oldest = k->next;
    if (k->next)
        k->next->prev = k->prev;
    else if (h->newest == k)
        h->newest = k->prev;
    k->prev = k->next = NULL;
}

static void append_conn(struct hn_http *h, struct conn *k)
{
    k->prev = h->newest;
    k->next = NULL;
    if (h->newest)
        h->newest->next = k;
    else
        h->oldest = k;
    h->newest = k;
}

static struct conn *conn_of(struct MHD_Connection *c)
{
    const union MHD_ConnectionInfo *i =
        MHD_get_connection_info(c, MHD_CONNECTION_INFO_SOCKET_CONTEXT);
    return i ? i->socket_context : NULL;
}

/* A request's head arrived (busy: not to be evicted), or it was answered. */
static void set_busy(struct hn_http *h, struct MHD_Connection *c, bool busy)
{
    struct conn *k = conn_of(c);
    pthread_mutex_lock(&h->lock);
    if (k != NULL && k->busy != busy) {
        k->busy = busy;
        if (busy)
            unlink_conn(h, k);
        else
            append_conn(h, k);
    }
    pthread_mutex_unlock(&h->lock);
}

/* MHD notifies the close before it closes the socket, so an fd in the
 * list is always the connection's own. */
static void on_connection(void *cls, struct MHD_Connection *c, void **socket_context,
                          enum MHD_ConnectionNotificationCode code)
{
    struct hn_http *h = cls;
    pthread_mutex_lock(&h->lock);
    if (code == MHD_CONNECTION_NOTIFY_STARTED) {
        const union MHD_ConnectionInfo *i =
            MHD_get_connection_info(c, MHD_CONNECTION_INFO_CONNECTION_FD);
        struct conn *k = calloc(1, sizeof *k);
        if (k != NULL && i != NULL) {
            k->fd = i->connect_fd;
            append_conn(h, k);
        }
        *socket_context = k;
    } else {
        struct conn *k = *socket_context;
        if (k != NULL) {
            if (!k->busy)
                unlink_conn(h, k);
            free(k);
            *socket_context = NULL;
        }
        if (h->open > 0)
            h->open--;
    }
    pthread_mutex_unlock(&h->lock);
}

static enum MHD_Result on_access(void *cls, struct MHD_Connection *c, const char *url,
                                 const char *method, const char *version, const char *upload,
                                 size_t *upload_size, void **con_cls)
{
    (void)version;
    struct hn_http *h = cls;
    struct request *rq = *con_cls;
    if (rq == NULL) {
        rq = calloc(1, sizeof *rq);
        if (rq == NULL)
            return MHD_NO;
        *con_cls = rq;
        set_busy(h, c, true);
        rq->max = hn_api_body_max(url);
        const char *cl =
            MHD_lookup_connection_value(c, MHD_HEADER_KIND, MHD_HTTP_HEADER_CONTENT_LENGTH);
        if (cl != NULL && strtoull(cl, NULL, 10) > (rq->max > DRAIN_MAX ? rq->max : DRAIN_MAX))
            return send_error(c, MHD_HTTP_CONTENT_TOO_LARGE, NULL,
                              "request body too large (the limit is %zu bytes)", rq->max);
        return MHD_YES;
    }
    if (*upload_size > 0) {
        take_body(rq, upload, *upload_size);
        *upload_size = 0;
        return MHD_YES;
    }
    return dispatch(h, c, url, method, rq);
}

static void on_completed(void *cls, struct MHD_Connection *c, void **con_cls,
                         enum MHD_RequestTerminationCode toe)
{
    (void)toe;
    struct request *rq = *con_cls;
    if (rq != NULL) {
        set_busy(cls, c, false); /* idle until the next head arrives */
        free(rq->body);
        free(rq);
        *con_cls = NULL;
    }
}

__attribute__((format(printf, 2, 0))) static void on_mhd_log(void *cls, const char *fmt, va_list ap)
{
    (void)cls;
    char msg[512];
    vsnprintf(msg, sizeof msg, fmt, ap);
    size_t n = strlen(msg);
    while (n > 0 && (msg[n - 1] == '\n' || msg[n - 1] == '\r'))
        msg[--n] = '\0';
    /* Clients that hang up or go idle are routine (browsers do both); only
     * the daemon's own trouble deserves a warning. HTTPS connections come
     * over a local socket (tls_pipe.h), where TCP's options do not apply. */
    static const char *const routine[] = {"closed by remote", "timed out", "incomplete request",
                                          "Connection reset", "TCP_NODELAY", "TCP_CORK",
                                          "Failed to push the data"};
    int level = HN_WARNING;
    for (size_t i = 0; i < sizeof routine / sizeof routine[0]; i++)
        if (strstr(msg, routine[i]) != NULL)
            level = HN_DEBUG;
    hn_logf(level, "http: %s", msg);
}

/* ------------------------------------------------------------------------ */
/* Daemon                                                                    */

int hn_http_start(struct hn_http **out, const struct hn_webctx *ctx, char *err, size_t err_len)
{
    *out = NULL;
    struct hn_http *h = calloc(1, sizeof *h);
    if (h == NULL) {
        snprintf(err, err_len, "out of memory");
        return -1;
    }
    h->ctx = ctx;
    pthread_mutex_init(&h->lock, NULL);
    /* No listen socket: connections arrive through MHD_add_connection(),
     * which the ITC makes safe to call from the acceptor thread. */
    unsigned flags = MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_EPOLL | MHD_USE_NO_LISTEN_SOCKET |
                     MHD_USE_ITC | MHD_USE_ERROR_LOG;
    h->daemon = MHD_start_daemon(flags, 0, NULL, NULL, on_access, h, MHD_OPTION_EXTERNAL_LOGGER,
                                 on_mhd_log, NULL, MHD_OPTION_NOTIFY_COMPLETED, on_completed, h,
                                 MHD_OPTION_NOTIFY_CONNECTION, on_connection, h,
                                 MHD_OPTION_CONNECTION_TIMEOUT, CONN_TIMEOUT_S,
                                 MHD_OPTION_CONNECTION_LIMIT, MHD_CONN_LIMIT, MHD_OPTION_END);
    if (h->daemon == NULL) {
        snprintf(err, err_len, "could not start the HTTP server (libmicrohttpd)");
        pthread_mutex_destroy(&h->lock);
        free(h);
        return -1;
    }
    *out = h;
    return 0;
}

/* Too many connections and none to close: a 503 said at once (the head the
 * acceptor peeked at is read first, so the close sends no reset). */
static void refuse(int fd)
{
    static const char reply[] =
        "HTTP/1.1 503 Service Unavailable\r\nContent-Type: application/json\r\n"
        "Retry-After: 1\r\nConnection: close\r\nContent-Length: 52\r\n\r\n"
        "{\"error\": \"too many connections to the dashboard\"}\n";
    char sink[4096];
    while (recv(fd, sink, sizeof sink, MSG_DONTWAIT) > 0)
        ;
    ssize_t n = send(fd, reply, sizeof reply - 1, MSG_DONTWAIT | MSG_NOSIGNAL);
    (void)n; /* a client that cannot take 200 bytes gets the close alone */
    close(fd);
}

void hn_http_adopt(struct hn_http *h, int fd, const struct sockaddr *addr, socklen_t addr_len)
{
    struct sockaddr_storage ss;
    if (addr == NULL || addr_len == 0) {
        socklen_t len = sizeof ss;
        if (getpeername(fd, (struct sockaddr *)&ss, &len) != 0) {
            close(fd);
            return;
        }
        addr = (const struct sockaddr *)&ss;
        addr_len = len;
    }
    if (h == NULL || h->daemon == NULL) {
        close(fd);
        return;
    }
    pthread_mutex_lock(&h->lock);
    bool full = h->open >= CONN_HARD, evicted_one = false;
    if (!full && h->open >= CONN_MAX) {
        struct conn *victim = h->oldest;
        if (victim != NULL) {
            /* MHD sees the end of the stream and closes it. */
            unlink_conn(h, victim);
            victim->busy = true; /* not picked twice */
            shutdown(victim->fd, SHUT_RDWR);
            h->evicted++;
            evicted_one = true;
        } else {
            full = true;
        }
    }
    if (full)
        h->refused++;
    else
        h->open++;
    uint64_t evicted = h->evicted, refused = h->refused;
    pthread_mutex_unlock(&h->lock);
    /* Said once per thousand, so a flood does not flood the log. */
    if (full && refused % 1000 == 1)
        hn_logf(HN_WARNING, "http: %u connections open, none idle to close: refused one with "
                            "503 (%" PRIu64 " so far)", CONN_HARD, refused);
    else if (evicted_one && evicted % 1000 == 1)
        hn_logf(HN_WARNING, "http: %u connections open: closing the longest idle ones to take "
                            "new ones (%" PRIu64 " so far)", CONN_MAX, evicted);
    if (full) {
        refuse(fd);
        return;
    }
    /* MHD closes fd itself when it cannot take it. */
    if (MHD_add_connection(h->daemon, fd, addr, addr_len) != MHD_YES) {
        hn_logf(HN_WARNING, "http: could not take a new connection (%s)", strerror(errno));
        pthread_mutex_lock(&h->lock);
        h->open--;
        pthread_mutex_unlock(&h->lock);
    }
}

void hn_http_stop(struct hn_http *h)
{
    if (h == NULL)
        return;
    if (h->daemon != NULL)
        MHD_stop_daemon(h->daemon);
    pthread_mutex_destroy(&h->lock);
    free(h);
}
