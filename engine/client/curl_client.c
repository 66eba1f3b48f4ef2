/*
 * curl_client.c: HTTP over libcurl's multi interface, driven by a worker's
 * epoll loop (curl_multi_socket_action). Users are never resumed from a
 * curl callback (curl 7.88 refuses re-entrant multi calls): finished
 * transfers are collected after curl returns and handed to the done
 * callback.
 */
#include "curl_client.h"

#include <errno.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/epoll.h>
#include <unistd.h>

#include <curl/curl.h>

#include "clock.h"
#include "log.h"

/*
 * A curl socket's epoll state. curl asks to stop watching a keep-alive
 * socket after every transfer (CURL_POLL_REMOVE) and to watch it again on
 * the next one: done literally that is an EPOLL_CTL_DEL + ADD per request,
 * and with a syscall costing several µs in this VM that was 10-15 % of the
 * CPU per request. So a removed socket stays registered ("dormant") for as
 * long as it is open: an idle keep-alive connection raises no events, and
 * if one comes anyway (the server closed it) the socket is deregistered
 * then. Registration is forgotten when curl closes the socket (the close
 * callback below), since close() drops it from epoll and the fd number may
 * be reused.
 */
struct sockinfo {
    struct hn_pollent pe;
    curl_socket_t fd;
    uint32_t registered; /* events epoll has for fd, 0 = not registered */
    bool active;         /* curl is watching it */
};

struct hn_curl_client {
    int epfd;
    CURLM *multi;
    uint64_t deadline;
    hn_http_done_cb done;
    /* Sockets by fd number: entries live as long as the client, so epoll
     * data pointers never dangle. */
    struct sockinfo **fdtab;
    size_t fdtab_cap;
    /* Idle easy handles lent to pooled conns per transfer. */
    CURL **easy_pool;
    size_t n_easy_pool, cap_easy_pool;
    struct hn_transport transport;   /* the run's TLS trust and identity */
    struct hn_source_addrs *sources; /* --source-ips as curl's "host!ADDR", or NULL */
};

/* ---------------------------------------------------------------- */
/* Sockets and timers                                                */
/* ---------------------------------------------------------------- */

static struct sockinfo *sock_get(struct hn_curl_client *c, curl_socket_t fd)
{
    if (fd < 0)
        return NULL;
    if ((size_t)fd >= c->fdtab_cap) {
        size_t cap = c->fdtab_cap ? c->fdtab_cap : 64;
        while (cap <= (size_t)fd)
            cap *= 2;
        struct sockinfo **t = realloc(c->fdtab, cap * sizeof *t);
        if (t == NULL)
            return NULL;
        memset(t + c->fdtab_cap, 0, (cap - c->fdtab_cap) * sizeof *t);
        c->fdtab = t;
        c->fdtab_cap = cap;
    }
    struct sockinfo *si = c->fdtab[fd];
    if (si == NULL) {
        si = calloc(1, sizeof *si);
        if (si == NULL)
            return NULL;
        si->pe.kind = HN_POLL_CURL;
        si->fd = fd;
        c->fdtab[fd] = si;
    }
    return si;
}

static int sock_register(struct hn_curl_client *c, struct sockinfo *si, uint32_t events)
{
    if (si->registered == events)
        return 0;
    struct epoll_event ev = {.events = events, .data.ptr = si};
    int op = si->registered ? EPOLL_CTL_MOD : EPOLL_CTL_ADD;
    int rc = epoll_ctl(c->epfd, op, si->fd, &ev);
    /* A stale belief (fd closed behind our back) corrects itself here. */
    if (rc != 0 && errno == ENOENT)
        rc = epoll_ctl(c->epfd, EPOLL_CTL_ADD, si->fd, &ev);
    else if (rc != 0 && errno == EEXIST)
        rc = epoll_ctl(c->epfd, EPOLL_CTL_MOD, si->fd, &ev);
    si->registered = rc == 0 ? events : 0;
    return rc;
}

static void sock_unregister(struct hn_curl_client *c, struct sockinfo *si)
{
    if (si->registered)
        epoll_ctl(c->epfd, EPOLL_CTL_DEL, si->fd, NULL);
    si->registered = 0;
}

static int on_curl_socket(CURL *e, curl_socket_t fd, int what, void *userp, void *socketp)
{
    struct hn_curl_client *c = userp;
    (void)e;
    (void)socketp;
    struct sockinfo *si = sock_get(c, fd);
    if (si == NULL)
        return -1;
    if (what == CURL_POLL_REMOVE) {
        si->active = false;
        /* Writability would fire at once, over and over: drop it now. */
        if (si->registered & EPOLLOUT)
            sock_unregister(c, si);
        return 0;
    }
    uint32_t events = 0;
    if (what & CURL_POLL_IN)
        events |= EPOLLIN;
    if (what & CURL_POLL_OUT)
        events |= EPOLLOUT;
    si->active = true;
    return sock_register(c, si, events);
}

/* CURLOPT_CLOSESOCKETFUNCTION: the socket leaves epoll with close(). */
static int on_close_socket(void *clientp, curl_socket_t fd)
{
    struct hn_curl_client *c = clientp;
    if (c != NULL && fd >= 0 && (size_t)fd < c->fdtab_cap && c->fdtab[fd] != NULL) {
        c->fdtab[fd]->registered = 0;
        c->fdtab[fd]->active = false;
    }
    return close(fd);
}

static int on_curl_timer(CURLM *m, long timeout_ms, void *userp)
{
    struct hn_curl_client *c = userp;
    (void)m;
    if (timeout_ms < 0)
        c->deadline = UINT64_MAX;
    else
        c->deadline = hn_mono_us() + (uint64_t)timeout_ms * 1000u;
    return 0;
}

/* ---------------------------------------------------------------- */
/* Responses                                                         */
/* ---------------------------------------------------------------- */

static size_t on_body(char *data, size_t size, size_t nmemb, void *ud)
{
    struct hn_http_response *r = ud;
    size_t n = size * nmemb;
    r->last_byte_us = hn_mono_us();
    hn_http_response_add_body(r, data, n);
    return n;
}

static size_t on_header(char *data, size_t size, size_t nmemb, void *ud)
{
    struct hn_http_response *r = ud;
    size_t n = size * nmemb;
    r->last_byte_us = hn_mono_us();
    /* A new status line (redirect, 100-continue) starts a new header set. */
    if (n >= 5 && memcmp(data, "HTTP/", 5) == 0) {
        r->hlen = 0;
        r->head_started = true;
        const char *sp = memchr(data, ' ', n);
        r->status_1xx = sp != NULL && (size_t)(sp - data) + 1 < n && sp[1] == '1';
        /* Each response's time, kept for the redirects curl follows (the
         * last one is the request's own). */
        if (!r->status_1xx && r->hop_n < HN_REDIRECTS_MAX + 1) {
            uint64_t us = r->last_byte_us - r->last_send_us;
            if (r->hop_n < HN_REDIRECTS_MAX)
                r->redirect_us[r->hop_n] = us > UINT32_MAX ? UINT32_MAX : (uint32_t)us;
            r->hop_n++;
        }
        return n;
    }
    size_t len = n;
    while (len > 0 && (data[len - 1] == '\r' || data[len - 1] == '\n'))
        len--;
    if (len == 0) {
        /* The head's end; an interim 1xx head is not the response's. */
        r->head_done = r->head_done || !r->status_1xx;
        return n;
    }
    hn_http_response_add_header(r, data, len);
    return n;
}

/* curl calls this at least once a second during a transfer (the low-speed
 * check keeps a timer running): the phase limits are judged here, since
 * curl has none for a head that never ends or a body that stops. */
static int on_progress(void *ud, curl_off_t dltotal, curl_off_t dlnow, curl_off_t ultotal,
                       curl_off_t ulnow)
{
    (void)dltotal;
    (void)dlnow;
    (void)ultotal;
    (void)ulnow;
    struct hn_http_response *r = ud;
    return hn_http_phase_expired(r, hn_mono_us());
}

/* Called by curl each time it is about to send the request. More than one
 * call means curl retried on a fresh connection after the reused one died
 * (or followed a redirect): the target saw the first attempt too. */
static int on_prereq(void *ud, char *conn_primary_ip, char *conn_local_ip, int conn_primary_port,
                     int conn_local_port)
{
    struct hn_http_conn *conn = ud;
    (void)conn_primary_ip;
    (void)conn_local_ip;
    (void)conn_primary_port;
    (void)conn_local_port;
    uint64_t now = hn_mono_us();
    if (conn->resp.sends == 0)
        conn->resp.first_send_us = now;
    conn->resp.last_send_us = now;
    conn->resp.sends++;
    return CURL_PREREQFUNC_OK;
}

/* A stable, readable message for a transport failure (stable so the
 * failures table groups them: no timings or addresses in it). curl's own
 * text for this transfer (said) names the cause where its code is too
 * broad; the OS error number is only trusted when said reports one: curl
 * never resets it, so a user that once met a reset would blame every later
 * fault on it. */
static char *transport_error(CURL *e, CURLcode code, const struct hn_http_response *r,
                             const char *said)
{
    double timeout_s = r->timeout_s;
    long os_errno = 0;
    curl_easy_getinfo(e, CURLINFO_OS_ERRNO, &os_errno);
    bool os_said = strstr(said, "failure") != NULL || strstr(said, "Failed to connect") != NULL;
    if (!os_said && code != CURLE_COULDNT_CONNECT)
        os_errno = 0;
    char buf[160];
    switch (code) {
    case CURLE_COULDNT_CONNECT:
        hn_http_connect_error((int)os_errno, buf, sizeof buf);
        break;
    case CURLE_OPERATION_TIMEDOUT:
        if (strstr(said, "Connection timed out") != NULL || strstr(said, "connect") != NULL)
            snprintf(buf, sizeof buf, "could not connect within %g s", r->limits.connect_s);
        else
            snprintf(buf, sizeof buf, "timeout after %g s", timeout_s);
        break;
    case CURLE_ABORTED_BY_CALLBACK:
        if (r->phase_failed != NULL)
            hn_http_phase_message(r, buf, sizeof buf);
        else
            snprintf(buf, sizeof buf, "aborted");
        break;
    case CURLE_GOT_NOTHING:
        snprintf(buf, sizeof buf, "connection closed without a response");
        break;
    case CURLE_RECV_ERROR:
    case CURLE_SEND_ERROR:
        if (strstr(said, "SSL routines::") != NULL)
            hn_tls_failure_message("TLS error", said, buf, sizeof buf);
        else if (strstr(said, "chunk") != NULL)
            snprintf(buf, sizeof buf, "malformed chunked body");
        else if (strstr(said, "header") != NULL || strstr(said, "Header") != NULL)
            snprintf(buf, sizeof buf, "too many or too large response headers");
        else if (os_errno == ECONNRESET || os_errno == EPIPE)
            snprintf(buf, sizeof buf, "connection reset by peer");
        else if (os_errno != 0)
            snprintf(buf, sizeof buf, "%s error (%s)", code == CURLE_RECV_ERROR ? "receive" : "send",
                     strerror((int)os_errno));
        else
            snprintf(buf, sizeof buf, "%s error", code == CURLE_RECV_ERROR ? "receive" : "send");
        break;
    case CURLE_PARTIAL_FILE:
        snprintf(buf, sizeof buf, "connection closed before the body was complete");
        break;
    case CURLE_COULDNT_RESOLVE_HOST:
        snprintf(buf, sizeof buf, "could not resolve host");
        break;
    case CURLE_TOO_MANY_REDIRECTS:
        snprintf(buf, sizeof buf, "too many redirects");
        break;
    case CURLE_UNSUPPORTED_PROTOCOL:
        /* Also what curl says of a reply that is not HTTP at all. */
        snprintf(buf, sizeof buf, strstr(said, "HTTP/0.9") ? "not an HTTP response"
                                  : strstr(said, "HTTP version")
                                      ? "malformed HTTP response (no valid status line)"
                                  : strstr(said, "response code")
                                      ? "malformed HTTP response (status code not 100-999)"
                                      : "unsupported URL scheme");
        break;
    case CURLE_URL_MALFORMAT:
        snprintf(buf, sizeof buf, "invalid URL");
        break;
    case CURLE_WEIRD_SERVER_REPLY:
        snprintf(buf, sizeof buf, strstr(said, "status") || strstr(said, "Status")
                                      ? "malformed HTTP response (no valid status line)"
                                      : "malformed HTTP response");
        break;
    case CURLE_OUT_OF_MEMORY:
        /* What curl 7.88 answers to a header line over its 100 KiB limit
         * (newer ones say so). Its own allocations failing would mean a
         * machine out of memory, which hornet's own would report first;
         * the fast client names the same fault the same way. */
        snprintf(buf, sizeof buf, "response header too large");
        break;
    case CURLE_PEER_FAILED_VERIFICATION:
        /* "SSL certificate problem: certificate has expired", or curl's own
         * host name check. */
        hn_tls_verify_message(
            strncmp(said, "SSL certificate problem: ", 25) == 0 ? said + 25 : said, buf, sizeof buf);
        break;
    case CURLE_SSL_CONNECT_ERROR:
        hn_tls_failure_message("TLS handshake failed", said, buf, sizeof buf);
        break;
    case CURLE_SSL_CERTPROBLEM:
        hn_tls_failure_message("TLS client certificate unusable", said, buf, sizeof buf);
        break;
    case CURLE_SSL_CACERT_BADFILE:
        snprintf(buf, sizeof buf, "TLS CA file unusable");
        break;
    case CURLE_INTERFACE_FAILED:
        snprintf(buf, sizeof buf, "cannot connect from the source address");
        break;
    case CURLE_BAD_CONTENT_ENCODING:
        snprintf(buf, sizeof buf, "malformed body encoding");
        break;
    default:
        snprintf(buf, sizeof buf, "%s", curl_easy_strerror(code));
        buf[0] = (char)((buf[0] >= 'A' && buf[0] <= 'Z') ? buf[0] + 32 : buf[0]);
        break;
    }
    return strdup(buf);
}

/* ---------------------------------------------------------------- */
/* Easy handles                                                      */
/* ---------------------------------------------------------------- */

/* The options an easy handle keeps for its whole life. */
static CURL *new_easy(struct hn_curl_client *c)
{
    CURL *e = curl_easy_init();
    if (e == NULL)
        return NULL;
    /* Idle keep-alive sockets stay in epoll: the client must learn when
     * one is closed (struct sockinfo). */
    curl_easy_setopt(e, CURLOPT_CLOSESOCKETFUNCTION, on_close_socket);
    curl_easy_setopt(e, CURLOPT_CLOSESOCKETDATA, c);
    curl_easy_setopt(e, CURLOPT_COOKIEFILE, ""); /* cookie engine on, jar in memory */
    curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(e, CURLOPT_USERAGENT, "hornet/" HN_VERSION);
    curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, on_body);
    curl_easy_setopt(e, CURLOPT_HEADERFUNCTION, on_header);
    curl_easy_setopt(e, CURLOPT_PREREQFUNCTION, on_prereq);
    curl_easy_setopt(e, CURLOPT_MAXREDIRS, (long)HN_REDIRECTS_MAX);
    curl_easy_setopt(e, CURLOPT_PROTOCOLS_STR, "http,https");
    curl_easy_setopt(e, CURLOPT_REDIR_PROTOCOLS_STR, "http,https");
    const struct hn_transport *t = &c->transport;
    if (t->insecure) {
        curl_easy_setopt(e, CURLOPT_SSL_VERIFYPEER, 0L);
        curl_easy_setopt(e, CURLOPT_SSL_VERIFYHOST, 0L);
    }
    if (t->ca_file != NULL) {
        /* Instead of the system's, as the fast client does. */
        curl_easy_setopt(e, CURLOPT_CAINFO, t->ca_file);
        curl_easy_setopt(e, CURLOPT_CAPATH, NULL);
    }
    if (t->cert_file != NULL) {
        curl_easy_setopt(e, CURLOPT_SSLCERT, t->cert_file);
        curl_easy_setopt(e, CURLOPT_SSLKEY, t->key_file ? t->key_file : t->cert_file);
    }
    return e;
}

/*
 * Gives the conn an easy handle for its next request; per-request options
 * are set by hn_curl_start. No curl_easy_reset: it would drop the queued
 * cookie-jar load (a leak) and redo the one-time setup on every request.
 *
 * A conn that owns its connections (the default) keeps its own easy handle
 * and a private connection cache, as a browser does. Pooled conns (users of
 * a HN_USER_SHARED_POOL type) borrow an easy handle from the pool for the
 * length of one transfer and return it in release_easy: an easy handle
 * costs about 9 KiB once it has made a request, which was most of a
 * sleeping user's memory (14.4 KiB per user measured; 100,000 users are
 * meant to fit in 1.5 GB) and, through page faults, most of the cost of
 * spawning. Their cookies stay per user in a small per-conn share (0.8 KiB,
 * measured) attached to whichever handle the conn holds.
 */
static bool setup_easy(struct hn_curl_client *c, struct hn_http_conn *conn)
{
    if (conn->easy != NULL)
        return true;
    if (conn->share == NULL) {
        CURLSH *sh = curl_share_init();
        if (sh == NULL)
            return false;
        curl_share_setopt(sh, CURLSHOPT_SHARE,
                          conn->pooled ? CURL_LOCK_DATA_COOKIE : CURL_LOCK_DATA_CONNECT);
        conn->share = sh;
    }
    CURL *e = conn->pooled && c->n_easy_pool > 0 ? c->easy_pool[--c->n_easy_pool] : new_easy(c);
    if (e == NULL)
        return false;
    conn->easy = e;
    curl_easy_setopt(e, CURLOPT_SHARE, (CURLSH *)conn->share);
    curl_easy_setopt(e, CURLOPT_PRIVATE, (char *)conn);
    curl_easy_setopt(e, CURLOPT_WRITEDATA, &conn->resp);
    curl_easy_setopt(e, CURLOPT_HEADERDATA, &conn->resp);
    curl_easy_setopt(e, CURLOPT_PREREQDATA, conn);
    return true;
}

/* Returns a borrowed easy handle to the pool once its transfer is over and
 * read (see setup_easy); a no-op for conns that own theirs. */
static void release_easy(struct hn_curl_client *c, struct hn_http_conn *conn)
{
    CURL *e = conn->easy;
    if (e == NULL || !conn->pooled)
        return;
    conn->easy = NULL;
    /* Detaching takes the conn's cookie jar and error buffer off the handle. */
    curl_easy_setopt(e, CURLOPT_SHARE, NULL);
    curl_easy_setopt(e, CURLOPT_ERRORBUFFER, NULL);
    curl_easy_setopt(e, CURLOPT_PRIVATE, NULL);
    if (c->n_easy_pool == c->cap_easy_pool) {
        size_t cap = c->cap_easy_pool ? c->cap_easy_pool * 2 : 64;
        CURL **pool = realloc(c->easy_pool, cap * sizeof *pool);
        if (pool == NULL) {
            curl_easy_cleanup(e);
            return;
        }
        c->easy_pool = pool;
        c->cap_easy_pool = cap;
    }
    c->easy_pool[c->n_easy_pool++] = e;
}

/* ---------------------------------------------------------------- */
/* Transfers                                                         */
/* ---------------------------------------------------------------- */

static void end_transfer(struct hn_curl_client *c, struct hn_http_conn *conn)
{
    if (!conn->in_transfer)
        return;
    conn->in_transfer = false;
    curl_multi_remove_handle(c->multi, conn->easy);
}

/* HTTP/1.1 unless asked (as Locust's users and the fast client speak):
 * curl would otherwise offer h2 to every https:// server. */
static long http_version(const struct hn_http_request *rq)
{
    if (!rq->http2)
        return CURL_HTTP_VERSION_1_1;
    if (strncasecmp(rq->url, "https:", 6) == 0)
        return CURL_HTTP_VERSION_2TLS;
    /* h2c: before 8.0, libcurl fails every request after the first on a
     * reused prior-knowledge connection ("error in the HTTP2 framing
     * layer", curl issue 10634); browsers never speak h2c either. */
    const curl_version_info_data *v = curl_version_info(CURLVERSION_NOW);
    if (v->version_num >= 0x080000)
        return CURL_HTTP_VERSION_2_PRIOR_KNOWLEDGE;
    static atomic_bool warned;
    if (!atomic_exchange(&warned, true))
        hn_logf(HN_WARNING, "HTTP/2 on http:// (h2c) needs libcurl 8.0 or later (this is %s): "
                            "those requests use HTTP/1.1; HTTP/2 over https:// works",
                v->version);
    return CURL_HTTP_VERSION_1_1;
}

int hn_curl_start(struct hn_curl_client *c, struct hn_http_conn *conn,
                  const struct hn_http_request *rq)
{
    struct hn_http_response *r = &conn->resp;
    hn_http_response_begin(r, rq, hn_mono_us());
    curl_slist_free_all(conn->req_headers);
    conn->req_headers = NULL;
    if (!setup_easy(c, conn)) {
        r->error = strdup("out of memory");
        return -1;
    }
    CURL *e = conn->easy;
    curl_easy_setopt(e, CURLOPT_URL, rq->url);
    curl_easy_setopt(e, CURLOPT_TIMEOUT_MS, (long)(rq->timeout_s * 1000.0));
    curl_easy_setopt(e, CURLOPT_CONNECTTIMEOUT_MS, (long)(r->limits.connect_s * 1000.0));
    /* Only for the timer it keeps (a progress call a second): the phases
     * are judged in on_progress, long before this would fire. */
    curl_easy_setopt(e, CURLOPT_LOW_SPEED_LIMIT, 1L);
    curl_easy_setopt(e, CURLOPT_LOW_SPEED_TIME, (long)(rq->timeout_s + 2.0));
    curl_easy_setopt(e, CURLOPT_NOPROGRESS, 0L);
    curl_easy_setopt(e, CURLOPT_XFERINFOFUNCTION, on_progress);
    curl_easy_setopt(e, CURLOPT_XFERINFODATA, r);
    curl_easy_setopt(e, CURLOPT_FOLLOWLOCATION, rq->no_redirects ? 0L : 1L);
    curl_easy_setopt(e, CURLOPT_HTTP_VERSION, http_version(rq));
    /* Pooled users' HTTP/2 requests wait for a connection that may carry
     * them as streams rather than each opening one. */
    curl_easy_setopt(e, CURLOPT_PIPEWAIT, rq->http2 && conn->pooled ? 1L : 0L);
    if (c->sources != NULL)
        curl_easy_setopt(e, CURLOPT_INTERFACE,
                         c->sources->text[conn->source_slot % c->sources->n]);

    struct curl_slist *h = NULL;
    bool inflate = false;
    if (rq->json)
        h = curl_slist_append(h, "Content-Type: application/json");
    if (rq->headers)
        for (const char *const *p = rq->headers; *p; p++) {
            h = curl_slist_append(h, *p);
            /* A request that asks for a compressed body gets it inflated
             * (the fast client does the same); the header sent is its own. */
            if (strncasecmp(*p, "Accept-Encoding:", 16) == 0 &&
                (strstr(*p + 16, "gzip") != NULL || strstr(*p + 16, "deflate") != NULL))
                inflate = true;
        }
    curl_easy_setopt(e, CURLOPT_ACCEPT_ENCODING, inflate ? "" : NULL);
    conn->req_headers = h;
    curl_easy_setopt(e, CURLOPT_HTTPHEADER, h);

    /* Undo the previous request's method before setting this one. */
    const char *method = rq->method;
    curl_easy_setopt(e, CURLOPT_CUSTOMREQUEST, NULL);
    curl_easy_setopt(e, CURLOPT_NOBODY, 0L);
    if (strcmp(method, "GET") == 0 && rq->body == NULL) {
        curl_easy_setopt(e, CURLOPT_HTTPGET, 1L);
    } else if (strcmp(method, "HEAD") == 0) {
        curl_easy_setopt(e, CURLOPT_NOBODY, 1L);
    } else {
        if (rq->body != NULL || strcmp(method, "POST") == 0) {
            curl_easy_setopt(e, CURLOPT_POSTFIELDSIZE_LARGE,
                             (curl_off_t)(rq->body ? rq->body_len : 0));
            curl_easy_setopt(e, CURLOPT_POSTFIELDS, rq->body ? (const char *)rq->body : "");
        } else {
            curl_easy_setopt(e, CURLOPT_HTTPGET, 1L);
        }
        if (strcmp(method, "POST") != 0)
            curl_easy_setopt(e, CURLOPT_CUSTOMREQUEST, method);
    }

    /* Its own words for this transfer only (a pooled handle serves many). */
    conn->errbuf[0] = '\0';
    curl_easy_setopt(e, CURLOPT_ERRORBUFFER, conn->errbuf);
    if (curl_multi_add_handle(c->multi, e) != CURLM_OK) {
        release_easy(c, conn);
        r->error = strdup("could not start the transfer");
        return -1;
    }
    conn->in_transfer = true;
    return 0;
}

void hn_curl_cancel(struct hn_curl_client *c, struct hn_http_conn *conn, const char *why)
{
    if (!conn->in_transfer)
        return;
    end_transfer(c, conn);
    struct hn_http_response *r = &conn->resp;
    r->status = 0;
    free(r->error);
    r->error = strdup(why);
    curl_off_t total_us = 0;
    curl_easy_getinfo(conn->easy, CURLINFO_TOTAL_TIME_T, &total_us);
    r->total_us = total_us > 0 ? (uint64_t)total_us : 0;
    release_easy(c, conn);
}

/* Fills in what curl knows of a finished transfer. */
static void transfer_done(struct hn_curl_client *c, struct hn_http_conn *conn, CURLcode code)
{
    struct hn_http_response *r = &conn->resp;
    CURL *e = conn->easy;
    curl_off_t total_us = 0;
    long status = 0, redirects = 0;
    curl_easy_getinfo(e, CURLINFO_TOTAL_TIME_T, &total_us);
    curl_easy_getinfo(e, CURLINFO_RESPONSE_CODE, &status);
    curl_easy_getinfo(e, CURLINFO_REDIRECT_COUNT, &redirects);
    r->total_us = total_us > 0 ? (uint64_t)total_us : 0;
    r->status = code == CURLE_OK ? (int)status : 0;
    if (code != CURLE_OK) {
        r->error = transport_error(e, code, r, conn->errbuf);
    } else if (!r->head_done) {
        /* curl takes a head cut short by the close for a whole response
         * with an empty body: it is not one. */
        r->status = 0;
        r->error = strdup("connection closed before the response's head was complete");
    }
    /* Redirects also send again, but then a response was received first:
     * only sends that got no response remain (curl's silent retry). */
    r->redirects = redirects > 0 ? (unsigned)(redirects < (long)r->hop_n ? redirects : r->hop_n) : 0;
    if (r->redirects > HN_REDIRECTS_MAX)
        r->redirects = HN_REDIRECTS_MAX;
    long extra = (long)r->sends - 1 - redirects;
    r->unanswered_sends = extra > 0 ? (unsigned)extra : 0;
    release_easy(c, conn);
}

void hn_curl_client_collect(struct hn_curl_client *c)
{
    CURLMsg *msg;
    int left;
    while ((msg = curl_multi_info_read(c->multi, &left)) != NULL) {
        if (msg->msg != CURLMSG_DONE)
            continue;
        CURL *e = msg->easy_handle;
        CURLcode code = msg->data.result;
        struct hn_http_conn *conn = NULL;
        curl_easy_getinfo(e, CURLINFO_PRIVATE, (char **)&conn);
        curl_multi_remove_handle(c->multi, e);
        if (conn == NULL)
            continue;
        conn->in_transfer = false;
        transfer_done(c, conn, code);
        c->done(conn->owner);
    }
}

void hn_curl_conn_cleanup(struct hn_curl_client *c, struct hn_http_conn *conn)
{
    end_transfer(c, conn);
    release_easy(c, conn);
    if (conn->easy)
        curl_easy_cleanup(conn->easy);
    if (conn->share)
        curl_share_cleanup(conn->share);
    curl_slist_free_all(conn->req_headers);
    conn->easy = conn->share = conn->req_headers = NULL;
}

/* ---------------------------------------------------------------- */
/* The client                                                        */
/* ---------------------------------------------------------------- */

struct hn_curl_client *hn_curl_client_new(int epfd, long max_connections, hn_http_done_cb done,
                                          const struct hn_transport *t)
{
    struct hn_curl_client *c = calloc(1, sizeof *c);
    if (c == NULL)
        return NULL;
    c->transport = *t;
    if (hn_source_addrs_load(t, &c->sources) != 0) {
        free(c);
        return NULL;
    }
    if (c->sources != NULL) {
        /* "host!" binds to the address, never an interface of that name. */
        for (unsigned i = 0; i < c->sources->n; i++) {
            char tmp[56];
            snprintf(tmp, sizeof tmp, "%s", c->sources->text[i]);
            snprintf(c->sources->text[i], sizeof c->sources->text[i], "host!%.48s", tmp);
        }
    }
    c->epfd = epfd;
    c->done = done;
    c->deadline = UINT64_MAX;
    c->multi = curl_multi_init();
    if (c->multi == NULL) {
        free(c->sources);
        free(c);
        return NULL;
    }
    curl_multi_setopt(c->multi, CURLMOPT_SOCKETFUNCTION, on_curl_socket);
    curl_multi_setopt(c->multi, CURLMOPT_SOCKETDATA, c);
    curl_multi_setopt(c->multi, CURLMOPT_TIMERFUNCTION, on_curl_timer);
    curl_multi_setopt(c->multi, CURLMOPT_TIMERDATA, c);
    curl_multi_setopt(c->multi, CURLMOPT_MAXCONNECTS, max_connections);
    return c;
}

void hn_curl_client_free(struct hn_curl_client *c)
{
    if (c == NULL)
        return;
    for (size_t i = 0; i < c->n_easy_pool; i++)
        curl_easy_cleanup(c->easy_pool[i]);
    free(c->easy_pool);
    curl_multi_cleanup(c->multi); /* may still close sockets: fdtab after */
    for (size_t i = 0; i < c->fdtab_cap; i++)
        free(c->fdtab[i]);
    free(c->fdtab);
    free(c->sources);
    free(c);
}

uint64_t hn_curl_client_deadline(const struct hn_curl_client *c)
{
    return c->deadline;
}

void hn_curl_client_run_timers(struct hn_curl_client *c)
{
    int running;
    c->deadline = UINT64_MAX;
    curl_multi_socket_action(c->multi, CURL_SOCKET_TIMEOUT, 0, &running);
    hn_curl_client_collect(c);
}

void hn_curl_client_on_event(struct hn_curl_client *c, struct hn_pollent *pe, uint32_t events)
{
    struct sockinfo *si = (struct sockinfo *)pe;
    if (!si->active) {
        /* Dormant keep-alive socket: data or a close from the server. curl
         * finds out when it next checks the connection; stop hearing about
         * it until then. */
        sock_unregister(c, si);
        return;
    }
    int flags = 0;
    if (events & (EPOLLIN | EPOLLHUP | EPOLLRDHUP))
        flags |= CURL_CSELECT_IN;
    if (events & EPOLLOUT)
        flags |= CURL_CSELECT_OUT;
    if (events & EPOLLERR)
        flags |= CURL_CSELECT_ERR;
    int running;
    curl_multi_socket_action(c->multi, si->fd, flags, &running);
}
