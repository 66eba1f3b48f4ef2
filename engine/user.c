/*
 * user.c: a simulated user's life (spawn, tasks, think time, stop) and the
 * plugin API table (struct hn_api) its coroutine calls.
 *
 * Every API call that waits (request, sleep, wait_fd) yields to the worker
 * loop and passes the user's "gates" on the way: a stopping user unwinds
 * to its exit (longjmp within its own stack, so no C frames outlive it), a
 * paused user parks until resume.
 */
#include <errno.h>
#include <math.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/epoll.h>

#include "clock.h"
#include "coro.h"
#include "log.h"
#include "user.h"

static const struct hn_api api_table;

/* ---------------------------------------------------------------- */
/* Random numbers: splitmix64, one stream per user.                  */
/* ---------------------------------------------------------------- */

static uint64_t next_rand(uint64_t *s)
{
    uint64_t z = (*s += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}

static double rand_unit(struct hn_user *u)
{
    return (double)(next_rand(&u->rng) >> 11) * (1.0 / 9007199254740992.0);
}

/* ---------------------------------------------------------------- */
/* Context checks: API calls are only valid from the user's own      */
/* coroutine. Misuse is logged, never a crash.                       */
/* ---------------------------------------------------------------- */

static bool in_own_coroutine(struct hn_user *u, const char *what)
{
    if (u != NULL && u->coro != NULL && hn_coro_current() == u->coro)
        return true;
    hn_logf(HN_ERROR, "plugin called %s outside its user's task (ignored)", what);
    return false;
}

/* Leaves the user's task loop for good (stop requested). */
static void exit_user(struct hn_user *u)
{
    if (u->exit_jmp_set)
        longjmp(u->exit_jmp, 1);
}

/* Blocks while paused; unwinds when stopping. */
static void gate(struct hn_user *u)
{
    for (;;) {
        if (u->aborted || (u->stopping && !u->in_stop_hook))
            exit_user(u);
        if (!u->w->paused || u->in_stop_hook)
            return;
        u->wait = HN_BLOCK_PAUSED;
        hn_ulist_push(&u->w->paused_users, u);
        hn_coro_yield();
        u->wait = HN_BLOCK_NONE;
    }
}

/* ---------------------------------------------------------------- */
/* Responses                                                         */
/* ---------------------------------------------------------------- */

static const char *reason_phrase(int status)
{
    switch (status) {
    case 400: return "Bad Request";
    case 401: return "Unauthorized";
    case 403: return "Forbidden";
    case 404: return "Not Found";
    case 405: return "Method Not Allowed";
    case 408: return "Request Timeout";
    case 409: return "Conflict";
    case 413: return "Payload Too Large";
    case 429: return "Too Many Requests";
    case 500: return "Internal Server Error";
    case 501: return "Not Implemented";
    case 502: return "Bad Gateway";
    case 503: return "Service Unavailable";
    case 504: return "Gateway Timeout";
    default: return NULL;
    }
}

/* A stable, readable message for a transport failure (stable so the
 * failures table groups them: no timings or addresses in it). */
static char *transport_error(struct hn_user *u, CURLcode code)
{
    long os_errno = 0;
    curl_easy_getinfo(u->easy, CURLINFO_OS_ERRNO, &os_errno);
    char buf[160];
    switch (code) {
    case CURLE_COULDNT_CONNECT:
        if (os_errno == ECONNREFUSED)
            snprintf(buf, sizeof buf, "connection refused");
        else if (os_errno == EMFILE || os_errno == ENFILE)
            snprintf(buf, sizeof buf, "too many open files (EMFILE): raise ulimit -n or use "
                                      "HN_USER_SHARED_POOL");
        else if (os_errno == EADDRNOTAVAIL)
            snprintf(buf, sizeof buf, "no free local port (EADDRNOTAVAIL): too many connections "
                                      "from one source address");
        else
            snprintf(buf, sizeof buf, "could not connect (%s)",
                     os_errno ? strerror((int)os_errno) : "unknown reason");
        break;
    case CURLE_OPERATION_TIMEDOUT:
        snprintf(buf, sizeof buf, "timeout after %g s", u->resp.timeout_s);
        break;
    case CURLE_GOT_NOTHING:
        snprintf(buf, sizeof buf, "connection closed without a response");
        break;
    case CURLE_RECV_ERROR:
    case CURLE_SEND_ERROR:
        if (os_errno == ECONNRESET || os_errno == EPIPE)
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
    case CURLE_URL_MALFORMAT:
    case CURLE_UNSUPPORTED_PROTOCOL:
        snprintf(buf, sizeof buf, "invalid URL");
        break;
    case CURLE_WEIRD_SERVER_REPLY:
        snprintf(buf, sizeof buf, "malformed HTTP response");
        break;
    default:
        snprintf(buf, sizeof buf, "%s", curl_easy_strerror(code));
        buf[0] = (char)((buf[0] >= 'A' && buf[0] <= 'Z') ? buf[0] + 32 : buf[0]);
        break;
    }
    return strdup(buf);
}

/* Records the pending response with the verdict or the default rule. */
static void finish_pending(struct hn_user *u)
{
    struct hn_response *r = &u->resp;
    if (!r->pending)
        return;
    r->pending = false;
    const char *err = NULL;
    char buf[96];
    if (r->verdict > 0) {
        err = NULL;
    } else if (r->verdict < 0) {
        err = r->error ? r->error : "marked as failure";
    } else if (r->error != NULL) {
        err = r->error;
    } else if (r->status >= 400) {
        const char *phrase = reason_phrase(r->status);
        snprintf(buf, sizeof buf, "HTTP %d%s%s", r->status, phrase ? " " : "",
                 phrase ? phrase : "");
        err = buf;
    }
    hn_worker_record(u->w, r->method, r->name, (uint64_t)llround(r->elapsed_ms * 1000.0),
                     r->bytes, err);
}

/* Sets *slot to a copy of v, keeping the old copy when it is equal: a task
 * repeats the same method and name, and a malloc/free pair per request is
 * measurable at 100k requests/s. Returns false when out of memory. */
static bool set_str(char **slot, const char *v)
{
    if (*slot != NULL && strcmp(*slot, v) == 0)
        return true;
    char *copy = strdup(v);
    free(*slot);
    *slot = copy;
    return copy != NULL;
}

/* Clears the response for the next request. method and name stay
 * allocated for set_str to reuse; hn_user_free releases them. */
static void reset_response(struct hn_response *r)
{
    free(r->error);
    r->error = NULL;
    r->status = 0;
    r->code = CURLE_OK;
    r->len = 0;
    r->bytes = 0;
    r->hlen = 0;
    r->elapsed_ms = 0;
    r->attempts = 0;
    r->slot_wait_us = 0;
    r->pending = false;
    r->verdict = 0;
    if (r->json)
        json_decref(r->json);
    r->json = NULL;
    r->json_parsed = false;
    if (r->cap > 256u * 1024u) {
        /* A large body is not kept across requests: thousands of users
         * that each met one huge response must not pin gigabytes. */
        free(r->body);
        r->body = NULL;
        r->cap = 0;
    }
    if (r->body)
        r->body[0] = '\0';
}

static bool grow(char **buf, size_t *cap, size_t need)
{
    if (need <= *cap)
        return true;
    /* Small first: the buffers live as long as the user, and most
     * sleeping users hold a short response (1 KiB each cost 2 KiB/user). */
    size_t c = *cap ? *cap : 256;
    while (c < need)
        c *= 2;
    char *p = realloc(*buf, c);
    if (p == NULL)
        return false;
    *buf = p;
    *cap = c;
    return true;
}

static size_t on_body(char *data, size_t size, size_t nmemb, void *ud)
{
    struct hn_response *r = ud;
    size_t n = size * nmemb;
    r->bytes += n;
    /* Keep at most HN_BODY_MAX bytes: a hostile target cannot exhaust memory. */
    size_t keep = r->len < HN_BODY_MAX ? HN_BODY_MAX - r->len : 0;
    if (keep > n)
        keep = n;
    if (keep > 0 && grow(&r->body, &r->cap, r->len + keep + 1)) {
        memcpy(r->body + r->len, data, keep);
        r->len += keep;
        r->body[r->len] = '\0';
    }
    return n;
}

static size_t on_header(char *data, size_t size, size_t nmemb, void *ud)
{
    struct hn_response *r = ud;
    size_t n = size * nmemb;
    /* A new status line (redirect, 100-continue) starts a new header set. */
    if (n >= 5 && memcmp(data, "HTTP/", 5) == 0) {
        r->hlen = 0;
        return n;
    }
    size_t len = n;
    while (len > 0 && (data[len - 1] == '\r' || data[len - 1] == '\n'))
        len--;
    if (len == 0 || r->hlen + len + 1 > HN_HEADERS_MAX)
        return n;
    if (!grow(&r->headers, &r->hcap, r->hlen + len + 1))
        return n;
    memcpy(r->headers + r->hlen, data, len);
    r->headers[r->hlen + len] = '\0';
    r->hlen += len + 1;
    return n;
}

/* ---------------------------------------------------------------- */
/* The API                                                           */
/* ---------------------------------------------------------------- */

/* A response that never went on the wire (bad call, no host, aborted). */
static struct hn_response *local_failure(struct hn_user *u, const char *method, const char *name,
                                         const char *message, bool record)
{
    reset_response(&u->resp);
    set_str(&u->resp.method, method);
    set_str(&u->resp.name, name);
    u->resp.error = strdup(message);
    if (record) {
        u->resp.pending = true;
        finish_pending(u);
    }
    return &u->resp;
}

static bool valid_method(const char *m)
{
    if (m == NULL || *m == '\0' || strlen(m) > 16)
        return false;
    for (const char *p = m; *p; p++)
        if (*p < 'A' || *p > 'Z')
            return false;
    return true;
}

static char *build_url(const char *host, const char *path, const char *query)
{
    size_t hl = host ? strlen(host) : 0;
    bool absolute = strncmp(path, "http://", 7) == 0 || strncmp(path, "https://", 8) == 0;
    size_t n = (absolute ? 0 : hl) + strlen(path) + (query ? strlen(query) + 1 : 0) + 2;
    char *url = malloc(n);
    if (url == NULL)
        return NULL;
    if (absolute) {
        snprintf(url, n, "%s", path);
    } else {
        bool host_slash = hl > 0 && host[hl - 1] == '/';
        bool path_slash = path[0] == '/';
        if (host_slash && path_slash)
            snprintf(url, n, "%.*s%s", (int)hl - 1, host, path);
        else if (!host_slash && !path_slash)
            snprintf(url, n, "%s/%s", host, path);
        else
            snprintf(url, n, "%s%s", host, path);
    }
    if (query && *query) {
        strcat(url, strchr(url, '?') ? "&" : "?");
        strcat(url, query);
    }
    return url;
}

/* Called by curl each time it is about to send the request. More than one
 * call means curl retried on a fresh connection after the reused one died:
 * the target saw the first attempt too, so it must be counted. */
static int on_prereq(void *ud, char *conn_primary_ip, char *conn_local_ip, int conn_primary_port,
                     int conn_local_port)
{
    struct hn_response *r = ud;
    (void)conn_primary_ip;
    (void)conn_local_ip;
    (void)conn_primary_port;
    (void)conn_local_port;
    uint64_t now = hn_mono_us();
    if (r->attempts == 0)
        r->first_send_us = now;
    r->last_send_us = now;
    r->attempts++;
    return CURL_PREREQFUNC_OK;
}

/* The options an easy handle keeps for its whole life. */
static CURL *new_easy(struct hn_worker *w)
{
    CURL *e = curl_easy_init();
    if (e == NULL)
        return NULL;
    /* The worker keeps idle keep-alive sockets in epoll and must learn
     * when one is closed (worker.c, struct sockinfo). */
    curl_easy_setopt(e, CURLOPT_CLOSESOCKETFUNCTION, hn_worker_close_socket);
    curl_easy_setopt(e, CURLOPT_CLOSESOCKETDATA, w);
    curl_easy_setopt(e, CURLOPT_COOKIEFILE, ""); /* cookie engine on, jar in memory */
    curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(e, CURLOPT_USERAGENT, "hornet/" HN_VERSION);
    curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, on_body);
    curl_easy_setopt(e, CURLOPT_HEADERFUNCTION, on_header);
    curl_easy_setopt(e, CURLOPT_PREREQFUNCTION, on_prereq);
    curl_easy_setopt(e, CURLOPT_MAXREDIRS, 30L);
    curl_easy_setopt(e, CURLOPT_PROTOCOLS_STR, "http,https");
    curl_easy_setopt(e, CURLOPT_REDIR_PROTOCOLS_STR, "http,https");
    return e;
}

/*
 * Gives the user an easy handle for its next request; per-request options
 * are set by api_request. No curl_easy_reset: it would drop the queued
 * cookie-jar load (a leak) and redo the one-time setup on every request.
 *
 * A user that owns its connections (the default) keeps its own easy handle
 * and a private connection cache, as a browser does. Users of a
 * HN_USER_SHARED_POOL type borrow an easy handle from the worker's pool for
 * the length of one transfer and return it in release_easy: an easy handle
 * costs about 9 KiB once it has made a request, which was most of a
 * sleeping user's memory (14.4 KiB per user measured; 100,000 users are
 * meant to fit in 1.5 GB) and, through page faults, most of the cost of
 * spawning. Their cookies stay per user in a small per-user share (0.8 KiB,
 * measured) attached to whichever handle the user holds.
 */
static bool setup_easy(struct hn_user *u)
{
    if (u->easy != NULL)
        return true;
    struct hn_worker *w = u->w;
    bool pooled = u->plan->type->flags & HN_USER_SHARED_POOL;
    if (u->share == NULL) {
        u->share = curl_share_init();
        if (u->share == NULL)
            return false;
        curl_share_setopt(u->share, CURLSHOPT_SHARE,
                          pooled ? CURL_LOCK_DATA_COOKIE : CURL_LOCK_DATA_CONNECT);
    }
    CURL *e = pooled && w->n_easy_pool > 0 ? w->easy_pool[--w->n_easy_pool] : new_easy(w);
    if (e == NULL)
        return false;
    u->easy = e;
    curl_easy_setopt(e, CURLOPT_SHARE, u->share);
    curl_easy_setopt(e, CURLOPT_PRIVATE, (char *)u);
    curl_easy_setopt(e, CURLOPT_WRITEDATA, &u->resp);
    curl_easy_setopt(e, CURLOPT_HEADERDATA, &u->resp);
    curl_easy_setopt(e, CURLOPT_PREREQDATA, &u->resp);
    return true;
}

/* Returns a borrowed easy handle to the worker's pool once its transfer is
 * over and read (see setup_easy); a no-op for users that own theirs. */
static void release_easy(struct hn_user *u)
{
    struct hn_worker *w = u->w;
    CURL *e = u->easy;
    if (e == NULL || !(u->plan->type->flags & HN_USER_SHARED_POOL))
        return;
    u->easy = NULL;
    /* Detaching takes the user's cookie jar off the handle. */
    curl_easy_setopt(e, CURLOPT_SHARE, NULL);
    curl_easy_setopt(e, CURLOPT_PRIVATE, NULL);
    if (w->n_easy_pool == w->cap_easy_pool) {
        size_t cap = w->cap_easy_pool ? w->cap_easy_pool * 2 : 64;
        CURL **pool = realloc(w->easy_pool, cap * sizeof *pool);
        if (pool == NULL) {
            curl_easy_cleanup(e);
            return;
        }
        w->easy_pool = pool;
        w->cap_easy_pool = cap;
    }
    w->easy_pool[w->n_easy_pool++] = e;
}

static void release_slot(struct hn_worker *w);

static struct hn_response *api_request(struct hn_user *u, const char *method, const char *path,
                                       const struct hn_req *opts)
{
    if (!in_own_coroutine(u, "hn_request")) {
        /* The header promises never NULL: a shared, inert failure. Its
         * accessors only read it; success/failure ignore it (not pending). */
        static char misuse_error[] = "hn_request called outside its user's task";
        static struct hn_response misuse = {.api = &api_table, .error = misuse_error};
        return &misuse;
    }
    static const struct hn_req no_opts;
    if (opts == NULL)
        opts = &no_opts;
    finish_pending(u);
    gate(u);
    if (u->aborted)
        exit_user(u);

    if (path == NULL)
        path = "";
    const char *name = opts->name;
    char *default_name = NULL;
    if (name == NULL) {
        if (opts->query && *opts->query) {
            size_t n = strlen(path) + strlen(opts->query) + 2;
            default_name = malloc(n);
            if (default_name)
                snprintf(default_name, n, "%s?%s", path, opts->query);
        }
        name = default_name ? default_name : path;
    }
    if (!valid_method(method)) {
        struct hn_response *r = local_failure(u, "INVALID", name, "invalid HTTP method", true);
        free(default_name);
        return r;
    }
    bool absolute = strncmp(path, "http://", 7) == 0 || strncmp(path, "https://", 8) == 0;
    if (!absolute && (u->host == NULL || *u->host == '\0')) {
        struct hn_response *r = local_failure(
            u, method, name, "no host: pass -H/--host or set the user type's host", true);
        free(default_name);
        return r;
    }

    /* Wait for an in-flight slot: curl must never queue thousands of
     * transfers itself (its pending list is scanned linearly). The wait is
     * part of the latency the user saw, so it is added to the response
     * time: an overloaded generator must not make the target look fast. */
    struct hn_worker *w = u->w;
    uint64_t called_us = hn_mono_us();
    if (w->in_flight < w->in_flight_cap) {
        w->in_flight++;
    } else {
        u->wait = HN_BLOCK_SLOT;
        hn_ulist_push(&w->slot_waiters, u);
        hn_coro_yield();
        u->wait = HN_BLOCK_NONE;
        /* Woken either with the slot (release_slot) or to stop (kick). A
         * slot granted just before a stop must be handed on, or it leaks
         * and the worker ends up with no request slots at all. */
        bool granted = u->slot_granted;
        u->slot_granted = false;
        if (u->aborted || (u->stopping && !u->in_stop_hook) || !granted) {
            if (granted)
                release_slot(w);
            free(default_name);
            exit_user(u);
        }
    }

    reset_response(&u->resp);
    struct hn_response *r = &u->resp;
    r->slot_wait_us = hn_mono_us() - called_us;
    set_str(&r->method, method);
    set_str(&r->name, name);
    /* Bounded so the conversion to curl's milliseconds stays defined. */
    r->timeout_s = opts->timeout > 0 ? fmin(opts->timeout, 1e6) : 60.0;

    free(u->url);
    u->url = build_url(u->host, path, opts->query);
    curl_slist_free_all(u->req_headers);
    u->req_headers = NULL;
    if (!setup_easy(u) || u->url == NULL) {
        release_slot(w);
        release_easy(u);
        struct hn_response *fail = local_failure(u, method, name, "out of memory", true);
        free(default_name);
        return fail;
    }
    free(default_name);
    CURL *e = u->easy;
    curl_easy_setopt(e, CURLOPT_URL, u->url);
    curl_easy_setopt(e, CURLOPT_TIMEOUT_MS, (long)(r->timeout_s * 1000.0));
    curl_easy_setopt(e, CURLOPT_FOLLOWLOCATION, opts->no_redirects ? 0L : 1L);

    const void *body = opts->body;
    size_t body_len = opts->body_len;
    if (opts->json != NULL) {
        body = opts->json;
        body_len = strlen(opts->json);
        u->req_headers = curl_slist_append(u->req_headers, "Content-Type: application/json");
    } else if (body != NULL && body_len == 0) {
        body_len = strlen(body);
    }
    if (opts->headers)
        for (const char *const *h = opts->headers; *h; h++)
            u->req_headers = curl_slist_append(u->req_headers, *h);
    curl_easy_setopt(e, CURLOPT_HTTPHEADER, u->req_headers);

    /* Undo the previous request's method before setting this one. */
    curl_easy_setopt(e, CURLOPT_CUSTOMREQUEST, NULL);
    curl_easy_setopt(e, CURLOPT_NOBODY, 0L);
    if (strcmp(method, "GET") == 0 && body == NULL) {
        curl_easy_setopt(e, CURLOPT_HTTPGET, 1L);
    } else if (strcmp(method, "HEAD") == 0) {
        curl_easy_setopt(e, CURLOPT_NOBODY, 1L);
    } else {
        if (body != NULL || strcmp(method, "POST") == 0) {
            curl_easy_setopt(e, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)(body ? body_len : 0));
            curl_easy_setopt(e, CURLOPT_POSTFIELDS, body ? (const char *)body : "");
        } else {
            curl_easy_setopt(e, CURLOPT_HTTPGET, 1L);
        }
        if (strcmp(method, "POST") != 0)
            curl_easy_setopt(e, CURLOPT_CUSTOMREQUEST, method);
    }

    if (hn_worker_add_transfer(w, u) != 0) {
        w->in_flight--;
        release_easy(u);
        return local_failure(u, method, r->name, "could not start the transfer", true);
    }
    u->wait = HN_BLOCK_HTTP;
    hn_coro_yield();
    u->wait = HN_BLOCK_NONE;

    /* The transfer is complete (or was aborted): it counts exactly once. */
    r->pending = true;
    if (!opts->catch_response)
        finish_pending(u);
    return r;
}

/* Gives the finished transfer's slot to the next waiter, or frees it. */
static void release_slot(struct hn_worker *w)
{
    struct hn_user *next = w->slot_waiters.head;
    if (next != NULL) {
        hn_ulist_remove(next);
        next->slot_granted = true;
        next->wait = HN_BLOCK_NONE; /* granted: a stop must not "un-wait" it */
        hn_worker_make_runnable(w, next);
    } else {
        w->in_flight--;
    }
}

void hn_user_transfer_done(struct hn_user *u, CURLcode code)
{
    struct hn_response *r = &u->resp;
    curl_off_t total_us = 0;
    long status = 0;
    curl_easy_getinfo(u->easy, CURLINFO_TOTAL_TIME_T, &total_us);
    curl_easy_getinfo(u->easy, CURLINFO_RESPONSE_CODE, &status);
    r->code = code;
    r->status = code == CURLE_OK ? (int)status : 0;
    r->elapsed_ms = (double)(total_us + (curl_off_t)r->slot_wait_us) / 1000.0;
    if (code != CURLE_OK)
        r->error = transport_error(u, code);
    /* Redirects also send again, but then a response was received first:
     * only count sends that got no response (curl's silent retry). */
    long redirects = 0;
    curl_easy_getinfo(u->easy, CURLINFO_REDIRECT_COUNT, &redirects);
    for (long extra = (long)r->attempts - 1 - redirects; extra > 0; extra--)
        hn_worker_record(u->w, r->method, r->name, r->last_send_us - r->first_send_us, 0,
                         "connection closed without a response (retried on a new connection)");
    release_easy(u);
    release_slot(u->w);
    if (u->wait == HN_BLOCK_HTTP) {
        /* Done: an abort arriving before the user runs must not release
         * the slot again or overwrite the real response. */
        u->wait = HN_BLOCK_NONE;
        hn_worker_make_runnable(u->w, u);
    }
}

static int api_status(const struct hn_response *r)
{
    return r ? r->status : 0;
}

static const char *api_body(const struct hn_response *r, size_t *len)
{
    if (len)
        *len = r && r->body ? r->len : 0;
    return r && r->body ? r->body : "";
}

static const char *api_header(const struct hn_response *r, const char *name)
{
    if (r == NULL || name == NULL || r->headers == NULL)
        return NULL;
    size_t nl = strlen(name);
    for (size_t off = 0; off < r->hlen;) {
        const char *line = r->headers + off;
        size_t ll = strlen(line);
        if (ll > nl && line[nl] == ':' && strncasecmp(line, name, nl) == 0) {
            const char *v = line + nl + 1;
            while (*v == ' ' || *v == '\t')
                v++;
            return v;
        }
        off += ll + 1;
    }
    return NULL;
}

static const char *api_error(const struct hn_response *r)
{
    return r ? r->error : NULL;
}

static double api_elapsed_ms(const struct hn_response *r)
{
    return r ? r->elapsed_ms : 0;
}

static void api_success(struct hn_response *r)
{
    if (r == NULL || !r->pending)
        return;
    r->verdict = 1;
    finish_pending(r->user);
}

static void api_failure(struct hn_response *r, const char *message)
{
    if (r == NULL || !r->pending)
        return;
    r->verdict = -1;
    free(r->error);
    r->error = strdup(message && *message ? message : "marked as failure");
    finish_pending(r->user);
}

static json_t *response_json(const struct hn_response *rc)
{
    struct hn_response *r = (struct hn_response *)rc; /* lazily parsed cache */
    if (!r->json_parsed) {
        r->json_parsed = true;
        if (r->body && r->len > 0)
            r->json = json_loadb(r->body, r->len, JSON_DECODE_ANY, NULL);
    }
    return r->json;
}

/* Walks "a.b.0.c" through objects and arrays. */
static json_t *json_at(json_t *root, const char *path)
{
    json_t *cur = root;
    if (cur == NULL || path == NULL)
        return NULL;
    char key[256];
    const char *p = path;
    while (*p && cur) {
        size_t n = strcspn(p, ".");
        if (n >= sizeof key)
            return NULL;
        memcpy(key, p, n);
        key[n] = '\0';
        if (json_is_object(cur)) {
            cur = json_object_get(cur, key);
        } else if (json_is_array(cur)) {
            char *end;
            unsigned long i = strtoul(key, &end, 10);
            cur = (*key && *end == '\0') ? json_array_get(cur, i) : NULL;
        } else {
            return NULL;
        }
        p += n;
        if (*p == '.')
            p++;
    }
    return cur;
}

static const char *api_json_str(const struct hn_response *r, const char *path)
{
    if (r == NULL)
        return NULL;
    json_t *v = json_at(response_json(r), path);
    return json_is_string(v) ? json_string_value(v) : NULL;
}

static int api_json_num(const struct hn_response *r, const char *path, double *out)
{
    if (r == NULL)
        return -1;
    json_t *v = json_at(response_json(r), path);
    if (!json_is_number(v))
        return -1;
    if (out)
        *out = json_number_value(v);
    return 0;
}

static void api_record(struct hn_user *u, const char *type, const char *name, double elapsed_ms,
                       int64_t bytes, const char *error)
{
    if (!in_own_coroutine(u, "hn_record"))
        return;
    if (type == NULL || name == NULL || *type == '\0' || *name == '\0') {
        hn_logf(HN_ERROR, "hn_record needs a non-empty type and name (ignored)");
        return;
    }
    if (!(elapsed_ms >= 0) || elapsed_ms > 1e12)
        elapsed_ms = 0;
    /* Bounded so a bogus size cannot overflow the entry's byte total. */
    uint64_t b = bytes > 0 ? (uint64_t)bytes : 0;
    if (b > (1ull << 40))
        b = 1ull << 40;
    hn_worker_record(u->w, type, name, (uint64_t)llround(elapsed_ms * 1000.0), b, error);
}

static void sleep_until(struct hn_user *u, uint64_t deadline)
{
    u->wait = HN_BLOCK_SLEEP;
    hn_worker_timer_add(u->w, u, deadline);
    hn_coro_yield();
    u->wait = HN_BLOCK_NONE;
}

static void api_sleep(struct hn_user *u, double seconds)
{
    if (!in_own_coroutine(u, "hn_sleep"))
        return;
    finish_pending(u);
    gate(u);
    if (!(seconds > 0))
        seconds = 0;
    if (seconds > 1e7)
        seconds = 1e7;
    sleep_until(u, hn_mono_us() + (uint64_t)(seconds * 1e6));
    gate(u);
}

static int api_wait_fd(struct hn_user *u, int fd, int events, double timeout)
{
    if (!in_own_coroutine(u, "hn_wait_fd"))
        return -1;
    /* Like an HTTP request in flight, a custom operation finishes even when
     * the user is asked to stop (its send may already have reached the
     * target): only an abort at the stop timeout cuts it short. */
    if (u->aborted)
        exit_user(u);
    uint32_t ev = 0;
    if (events & HN_FD_READ)
        ev |= EPOLLIN | EPOLLRDHUP;
    if (events & HN_FD_WRITE)
        ev |= EPOLLOUT;
    if (ev == 0 || fd < 0)
        return -1;
    if (hn_worker_watch_fd(u->w, u, fd, ev) != 0)
        return -1;
    u->fd = fd;
    u->fd_events = 0;
    u->wait = HN_BLOCK_FD;
    if (timeout > 0)
        hn_worker_timer_add(u->w, u, hn_mono_us() + (uint64_t)(fmin(timeout, 1e7) * 1e6));
    hn_coro_yield();
    u->wait = HN_BLOCK_NONE;
    hn_worker_timer_del(u->w, u);
    hn_worker_unwatch_fd(u->w, fd);
    u->fd = -1;
    uint32_t got = u->fd_events;
    if (u->aborted)
        exit_user(u);
    int out = 0;
    if (got & (EPOLLIN | EPOLLRDHUP | EPOLLHUP | EPOLLERR))
        out |= HN_FD_READ & events;
    if (got & (EPOLLOUT | EPOLLERR | EPOLLHUP))
        out |= HN_FD_WRITE & events;
    if (got != 0 && out == 0)
        out = events & (HN_FD_READ | HN_FD_WRITE);
    return out;
}

static double api_now_ms(struct hn_user *u)
{
    (void)u;
    return (double)hn_mono_us() / 1000.0;
}

static void *api_state(struct hn_user *u)
{
    return u ? u->state : NULL;
}

static uint64_t api_user_id(struct hn_user *u)
{
    return u ? u->id : 0;
}

static const char *api_host(struct hn_user *u)
{
    return u && u->host ? u->host : "";
}

static uint64_t api_rand(struct hn_user *u)
{
    return u ? next_rand(&u->rng) : 0;
}

static void api_log(struct hn_user *u, int level, const char *message)
{
    static const int map[] = {HN_DEBUG, HN_INFO, HN_WARNING, HN_ERROR};
    if (level < 0 || level > 3)
        level = 1;
    hn_logf(map[level], "[%s #%llu] %s", u ? u->plan->type->name : "?",
            u ? (unsigned long long)u->id : 0ull, message ? message : "");
}

static void api_reschedule(struct hn_user *u)
{
    if (!in_own_coroutine(u, "hn_reschedule"))
        return;
    if (u->task_jmp_set)
        longjmp(u->task_jmp, 1);
}

static void api_stop_user(struct hn_user *u)
{
    if (!in_own_coroutine(u, "hn_stop_user"))
        return;
    u->stopping = true;
    exit_user(u);
}

static void api_stop_test(struct hn_user *u, const char *reason)
{
    if (!in_own_coroutine(u, "hn_stop_test"))
        return;
    hn_runner_user_stop_test(u->w->runner, reason && *reason ? reason : "stopped by a user");
    u->stopping = true;
    exit_user(u);
}

static void api_exception(struct hn_user *u, const char *message)
{
    if (!in_own_coroutine(u, "hn_exception"))
        return;
    hn_worker_record_exception(u->w, u->plan->type->name, u->task_name ? u->task_name : "",
                               message && *message ? message : "exception");
    if (u->task_jmp_set)
        longjmp(u->task_jmp, 2);
}

static const struct hn_api api_table = {
    .abi_major = HN_ABI_MAJOR,
    .abi_minor = HN_ABI_MINOR,
    .struct_size = sizeof(struct hn_api),
    .request = api_request,
    .status = api_status,
    .body = api_body,
    .header = api_header,
    .error = api_error,
    .elapsed_ms = api_elapsed_ms,
    .success = api_success,
    .failure = api_failure,
    .json_str = api_json_str,
    .json_num = api_json_num,
    .record = api_record,
    .wait_fd = api_wait_fd,
    .sleep = api_sleep,
    .now_ms = api_now_ms,
    .state = api_state,
    .user_id = api_user_id,
    .host = api_host,
    .rand = api_rand,
    .log = api_log,
    .reschedule = api_reschedule,
    .stop_user = api_stop_user,
    .stop_test = api_stop_test,
    .exception = api_exception,
};

/* ---------------------------------------------------------------- */
/* The user's life                                                   */
/* ---------------------------------------------------------------- */

static const struct hn_task *pick_task(struct hn_user *u)
{
    const struct hn_type_plan *p = u->plan;
    if (p->type->flags & HN_USER_SEQUENTIAL) {
        const struct hn_task *t = p->tasks[u->seq_next % p->n_tasks];
        u->seq_next++;
        return t;
    }
    uint64_t x = next_rand(&u->rng) % p->total_weight;
    size_t lo = 0, hi = p->n_tasks - 1;
    while (lo < hi) { /* first cum_weights[i] > x */
        size_t mid = (lo + hi) / 2;
        if (p->cum_weights[mid] > x)
            hi = mid;
        else
            lo = mid + 1;
    }
    return p->tasks[lo];
}

static double think_seconds(struct hn_user *u)
{
    const struct hn_wait *wt = &u->plan->type->wait;
    double s = 0;
    switch (wt->kind) {
    case HN_WAIT_NONE:
        break;
    case HN_WAIT_BETWEEN:
        s = wt->a + rand_unit(u) * (wt->b - wt->a);
        break;
    case HN_WAIT_CONSTANT:
        s = wt->a;
        break;
    case HN_WAIT_CONSTANT_PACING:
    case HN_WAIT_CONSTANT_THROUGHPUT: {
        double period = wt->kind == HN_WAIT_CONSTANT_PACING ? wt->a : 1.0 / wt->a;
        double spent = (double)(hn_mono_us() - u->task_start_us) / 1e6;
        s = period - spent;
        break;
    }
    case HN_WAIT_CUSTOM:
        s = wt->fn ? wt->fn(u) : 0;
        break;
    }
    return s > 0 && isfinite(s) ? fmin(s, 1e7) : 0;
}

static void run_hook(struct hn_user *u, void (*fn)(struct hn_user *))
{
    if (setjmp(u->task_jmp) == 0) {
        u->task_jmp_set = true;
        fn(u);
    }
    u->task_jmp_set = false;
    finish_pending(u);
}

static void user_main(void *arg)
{
    struct hn_user *u = arg;
    const struct hn_user_type *t = u->plan->type;

    if (setjmp(u->exit_jmp) == 0) {
        u->exit_jmp_set = true;
        if (t->on_start) {
            u->task_name = "on_start";
            u->task_start_us = hn_mono_us();
            run_hook(u, t->on_start);
        }
        for (;;) {
            gate(u);
            const struct hn_task *task = pick_task(u);
            u->task_name = task->name;
            u->task_start_us = hn_mono_us();
            uint64_t resumes = u->resumes;
            run_hook(u, task->fn);
            double s = think_seconds(u);
            gate(u);
            if (s > 0) {
                sleep_until(u, hn_mono_us() + (uint64_t)(s * 1e6));
            } else if (u->resumes == resumes) {
                /* A task that never waited and no think time: yield anyway,
                 * or this user would own the worker thread for ever (no
                 * commands, no stop, no other user). */
                hn_worker_make_runnable(u->w, u);
                hn_coro_yield();
            }
        }
    }
    u->exit_jmp_set = false;
    finish_pending(u);
    if (t->on_stop && !u->aborted) {
        u->in_stop_hook = true;
        if (setjmp(u->exit_jmp) == 0) {
            u->exit_jmp_set = true;
            u->task_name = "on_stop";
            run_hook(u, t->on_stop);
        }
        u->exit_jmp_set = false;
        finish_pending(u);
    }
}

static void coro_entry(void *arg)
{
    struct hn_user *u = arg;
    user_main(u);
    u->finished = true;
}

void hn_user_spawn(struct hn_worker *w, const struct hn_type_plan *plan, uint64_t id)
{
    struct hn_user *u = calloc(1, sizeof *u);
    if (u == NULL)
        goto oom;
    u->api = &api_table;
    u->resp.api = &api_table;
    u->resp.user = u;
    u->pe.kind = 3; /* KIND_USER in worker.c */
    u->w = w;
    u->plan = plan;
    u->id = id;
    u->rng = w->seed ^ (id * 0x9e3779b97f4a7c15ull);
    next_rand(&u->rng);
    u->heap_idx = HN_NOT_IN_HEAP;
    u->fd = -1;
    const struct hn_user_type *t = plan->type;
    const char *host = t->host && *t->host ? t->host : w->host;
    u->host = host ? strdup(host) : NULL;
    if (t->state_size > 0 && (u->state = calloc(1, t->state_size)) == NULL)
        goto oom;
    size_t stack = t->stack_size;
#ifdef HN_ASAN
    if (stack < HN_CORO_DEFAULT_STACK)
        stack = HN_CORO_DEFAULT_STACK;
#endif
    if (hn_coro_create(&u->coro, stack, coro_entry, u) != 0)
        goto oom;
    if (w->n_users == w->cap_users) {
        size_t cap = w->cap_users ? w->cap_users * 2 : 256;
        struct hn_user **users = realloc(w->users, cap * sizeof *users);
        if (users == NULL)
            goto oom;
        w->users = users;
        w->cap_users = cap;
    }
    w->users[w->n_users++] = u;
    hn_worker_make_runnable(w, u);
    return;
oom:
    hn_logf(HN_ERROR, "could not spawn user %llu: out of memory", (unsigned long long)id);
    if (u) {
        hn_coro_destroy(u->coro);
        free(u->state);
        free(u->host);
        free(u);
    }
}

void hn_user_resume(struct hn_user *u)
{
    u->resumes++;
    hn_coro_resume(u->coro);
}

/* Wakes a blocked user so it can notice stopping/aborted at its gate. */
static void kick(struct hn_user *u)
{
    struct hn_worker *w = u->w;
    switch (u->wait) {
    case HN_BLOCK_FD:
        if (!u->aborted)
            break; /* the operation completes first, see api_wait_fd */
        hn_worker_timer_del(w, u);
        hn_worker_make_runnable(w, u);
        break;
    case HN_BLOCK_SLEEP:
        hn_worker_timer_del(w, u);
        hn_worker_make_runnable(w, u);
        break;
    case HN_BLOCK_SLOT:
    case HN_BLOCK_PAUSED:
        hn_ulist_remove(u);
        hn_worker_make_runnable(w, u);
        break;
    case HN_BLOCK_HTTP:
    case HN_BLOCK_NONE:
        break;
    }
}

void hn_user_request_stop(struct hn_user *u)
{
    if (u->stopping)
        return;
    u->stopping = true;
    kick(u);
}

void hn_user_abort(struct hn_user *u)
{
    if (u->aborted || u->finished)
        return;
    u->aborted = true;
    u->stopping = true;
    if (u->wait == HN_BLOCK_HTTP) {
        /* The request went out and may have been served: it still counts,
         * as a failure, so nothing is lost. */
        hn_worker_cancel_transfer(u->w, u);
        u->resp.code = CURLE_ABORTED_BY_CALLBACK;
        u->resp.status = 0;
        free(u->resp.error);
        u->resp.error = strdup("aborted: stop timeout reached");
        curl_off_t total_us = 0;
        curl_easy_getinfo(u->easy, CURLINFO_TOTAL_TIME_T, &total_us);
        u->resp.elapsed_ms = (double)(total_us + (curl_off_t)u->resp.slot_wait_us) / 1000.0;
        release_easy(u);
        release_slot(u->w);
        hn_worker_make_runnable(u->w, u);
        return;
    }
    kick(u);
}

void hn_user_timer_expired(struct hn_user *u)
{
    hn_worker_make_runnable(u->w, u);
}

void hn_user_fd_ready(struct hn_user *u, uint32_t events)
{
    if (u->wait != HN_BLOCK_FD)
        return;
    u->fd_events |= events;
    hn_worker_timer_del(u->w, u);
    hn_worker_make_runnable(u->w, u);
}

struct hn_user *hn_user_from_pollent(struct hn_pollent *pe)
{
    return (struct hn_user *)((char *)pe - offsetof(struct hn_user, pe));
}

void hn_user_free(struct hn_user *u)
{
    if (u == NULL)
        return;
    hn_worker_timer_del(u->w, u);
    hn_ulist_remove(u);
    hn_coro_destroy(u->coro);
    reset_response(&u->resp);
    free(u->resp.method);
    free(u->resp.name);
    free(u->resp.body);
    free(u->resp.headers);
    release_easy(u);
    if (u->easy)
        curl_easy_cleanup(u->easy);
    if (u->share)
        curl_share_cleanup(u->share);
    curl_slist_free_all(u->req_headers);
    free(u->url);
    free(u->state);
    free(u->host);
    free(u);
}
