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
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/epoll.h>

#include "clock.h"
#include "coro.h"
#include "feeder.h"
#include "params.h"
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

bool hn_user_in_own_coroutine(struct hn_user *u, const char *what)
{
    if (u != NULL && u->coro != NULL && hn_coro_current() == u->coro)
        return true;
    hn_logf(HN_ERROR, "plugin called %s outside its user's task (ignored)", what);
    return false;
}

/* Leaves the user's task loop for good (stop requested). */
void hn_user_exit(struct hn_user *u)
{
    if (u->exit_jmp_set)
        longjmp(u->exit_jmp, 1);
}

/* Blocks while paused; unwinds when stopping. */
void hn_user_gate(struct hn_user *u)
{
    for (;;) {
        if (u->aborted || (u->stopping && !u->in_stop_hook))
            hn_user_exit(u);
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

/* Records the pending response with the verdict or the default rule. */
void hn_user_finish_pending(struct hn_user *u)
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
        err = r->http->error ? r->http->error : "marked as failure";
    } else if (r->http->error != NULL) {
        err = r->http->error;
    } else if (r->http->status >= 400) {
        const char *phrase = reason_phrase(r->http->status);
        snprintf(buf, sizeof buf, "HTTP %d%s%s", r->http->status, phrase ? " " : "",
                 phrase ? phrase : "");
        err = buf;
    }
    hn_worker_record(u->w, r->method, r->name, (uint64_t)llround(r->elapsed_ms * 1000.0),
                     r->http->bytes, err);
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
    hn_http_response_reset(r->http);
    r->elapsed_ms = 0;
    r->slot_wait_us = 0;
    r->pending = false;
    r->verdict = 0;
    if (r->json)
        json_decref(r->json);
    r->json = NULL;
    r->json_parsed = false;
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
    u->resp.http->error = strdup(message);
    if (record) {
        u->resp.pending = true;
        hn_user_finish_pending(u);
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

static void release_slot(struct hn_worker *w);

/* ---------------------------------------------------------------- */
/* Per-user headers                                                  */
/* ---------------------------------------------------------------- */

/* Length of the name of a "Name: value" line (up to the colon). */
static size_t header_name_len(const char *line)
{
    const char *c = strchr(line, ':');
    return c ? (size_t)(c - line) : strlen(line);
}

/* Whether list (n lines, or NULL-terminated when n is SIZE_MAX) already
 * has a header named like line. */
static bool has_header(const char *const *list, size_t n, const char *line)
{
    size_t ln = header_name_len(line);
    for (size_t i = 0; list != NULL && i < n && list[i] != NULL; i++)
        if (header_name_len(list[i]) == ln && strncasecmp(list[i], line, ln) == 0)
            return true;
    return false;
}

/* The request's headers, a JSON body's Content-Type, then the user's, then
 * the type's, each only when no earlier one has its name. */
static const char *const *merged_headers(struct hn_user *u, const char *const *own, bool json)
{
    static const char json_type[] = "Content-Type: application/json";
    const char *const *type = u->plan->headers;
    size_t n_own = 0, n_type = 0;
    while (own && own[n_own])
        n_own++;
    while (type && type[n_type])
        n_type++;
    if (u->n_headers == 0 && n_type == 0 && !json)
        return own;
    size_t need = n_own + 1 + u->n_headers + n_type + 1;
    if (need > u->cap_req_headers) {
        const char **grown = realloc(u->req_headers, need * sizeof *grown);
        if (grown == NULL)
            return own;
        u->req_headers = grown;
        u->cap_req_headers = need;
    }
    size_t n = 0;
    for (size_t i = 0; i < n_own; i++)
        u->req_headers[n++] = own[i];
    /* A JSON body's type comes next: the request's own headers may
     * override it, the user's and the type's may not. */
    if (json && !has_header(u->req_headers, n, json_type))
        u->req_headers[n++] = json_type;
    for (size_t i = 0; i < u->n_headers; i++)
        if (!has_header(u->req_headers, n, u->headers[i]))
            u->req_headers[n++] = u->headers[i];
    for (size_t i = 0; i < n_type; i++)
        if (!has_header(u->req_headers, n, type[i]))
            u->req_headers[n++] = type[i];
    u->req_headers[n] = NULL;
    return u->req_headers;
}

static int api_set_header(struct hn_user *u, const char *name, const char *value)
{
    if (!hn_user_in_own_coroutine(u, "hn_set_header"))
        return -1;
    size_t nl = name ? strlen(name) : 0;
    if (nl == 0 || strpbrk(name, ": \t\r\n") != NULL ||
        (value != NULL && strpbrk(value, "\r\n") != NULL))
        return -1;
    size_t at = u->n_headers;
    for (size_t i = 0; i < u->n_headers; i++)
        if (header_name_len(u->headers[i]) == nl && strncasecmp(u->headers[i], name, nl) == 0)
            at = i;
    if (value == NULL) {
        if (at < u->n_headers) {
            free(u->headers[at]);
            memmove(&u->headers[at], &u->headers[at + 1],
                    (u->n_headers - at - 1) * sizeof *u->headers);
            u->n_headers--;
        }
        return 0;
    }
    size_t len = nl + 2 + strlen(value) + 1;
    char *line = malloc(len);
    if (line == NULL)
        return -1;
    snprintf(line, len, "%s: %s", name, value);
    if (at == u->n_headers) {
        char **grown = realloc(u->headers, (u->n_headers + 1) * sizeof *grown);
        if (grown == NULL) {
            free(line);
            return -1;
        }
        u->headers = grown;
        u->n_headers++;
    } else {
        free(u->headers[at]);
    }
    u->headers[at] = line;
    return 0;
}

static struct hn_response *api_request(struct hn_user *u, const char *method, const char *path,
                                       const struct hn_req *opts)
{
    if (!hn_user_in_own_coroutine(u, "hn_request")) {
        /* The header promises never NULL: a shared, inert failure. Its
         * accessors only read it; success/failure ignore it (not pending). */
        static char misuse_error[] = "hn_request called outside its user's task";
        static struct hn_http_response misuse_http = {.error = misuse_error};
        static struct hn_response misuse = {.api = &api_table, .http = &misuse_http};
        return &misuse;
    }
    static const struct hn_req no_opts;
    if (opts == NULL)
        opts = &no_opts;
    hn_user_finish_pending(u);
    hn_user_gate(u);
    if (u->aborted)
        hn_user_exit(u);

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
    if (u->plan->abi_1_3 && (opts->http_version < 0 || opts->http_version > 2)) {
        struct hn_response *r =
            local_failure(u, method, name, "hn_req.http_version must be 0, 1 or 2", true);
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
            hn_user_exit(u);
        }
    }

    reset_response(&u->resp);
    struct hn_response *r = &u->resp;
    /* Open model: the iteration's late start counts in its first request,
     * measured from the intended start (no coordinated omission). */
    r->slot_wait_us = hn_mono_us() - called_us + u->start_lag_us;
    u->start_lag_us = 0;
    set_str(&r->method, method);
    set_str(&r->name, name);
    free(default_name);

    free(u->url);
    u->url = build_url(u->host, path, opts->query);
    if (u->url == NULL) {
        release_slot(w);
        return local_failure(u, method, r->name, "out of memory", true);
    }
    struct hn_http_request rq = {
        .method = method,
        .url = u->url,
        .headers = merged_headers(u, opts->headers, opts->json != NULL),
        .body = opts->json ? opts->json : opts->body,
        .body_len = opts->json ? strlen(opts->json)
                    : opts->body != NULL && opts->body_len == 0 ? strlen(opts->body)
                                                                : opts->body_len,
        /* Bounded so the conversion to curl's milliseconds stays defined. */
        .timeout_s = opts->timeout > 0 ? fmin(opts->timeout, 1e6) : 60.0,
        .no_redirects = opts->no_redirects,
        .limits = w->limits,
    };
    if (u->plan->abi_1_1 && opts->max_body > 0)
        rq.limits.max_body = opts->max_body;
    int version = u->plan->abi_1_3 ? opts->http_version : 0;
    rq.http2 = version == 2 || (version == 0 && u->plan->abi_1_3 &&
                                (u->plan->type->flags & HN_USER_HTTP2));
    if (hn_http_client_start(w->http, &u->conn, &rq) != 0) {
        release_slot(w);
        r->pending = true; /* resp.error says why */
        hn_user_finish_pending(u);
        return r;
    }
    u->wait = HN_BLOCK_HTTP;
    hn_coro_yield();
    u->wait = HN_BLOCK_NONE;

    /* The transfer is complete (or was aborted): it counts exactly once. */
    r->pending = true;
    if (!opts->catch_response)
        hn_user_finish_pending(u);
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

void hn_user_transfer_done(void *owner)
{
    struct hn_user *u = owner;
    struct hn_response *r = &u->resp;
    const struct hn_http_response *http = r->http;
    r->elapsed_ms = (double)(http->total_us + r->slot_wait_us) / 1000.0;
    /* curl resent the request on a new connection after a reused one died
     * without answering: the target saw those sends, so they count. */
    for (unsigned k = 0; k < http->unanswered_sends; k++)
        hn_worker_record(u->w, r->method, r->name, http->last_send_us - http->first_send_us, 0,
                         "connection closed without a response (retried on a new connection)");
    /* Every redirect curl followed was a request the target answered: each
     * is a row of its own, "<name> (redirect)" (the request's own row
     * counts the whole chain's time, as Locust's does). */
    if (http->redirects > 0) {
        char name[512];
        snprintf(name, sizeof name, "%s (redirect)", r->name);
        for (unsigned k = 0; k < http->redirects; k++)
            hn_worker_record(u->w, r->method, name, http->redirect_us[k], 0, NULL);
    }
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
    return r ? r->http->status : 0;
}

static const char *api_body(const struct hn_response *r, size_t *len)
{
    if (len)
        *len = r && r->http->body ? r->http->len : 0;
    return r && r->http->body ? r->http->body : "";
}

static const char *api_header(const struct hn_response *r, const char *name)
{
    return r ? hn_http_response_header(r->http, name) : NULL;
}

static const char *api_error(const struct hn_response *r)
{
    return r ? r->http->error : NULL;
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
    hn_user_finish_pending(r->user);
}

static void api_failure(struct hn_response *r, const char *message)
{
    if (r == NULL || !r->pending)
        return;
    r->verdict = -1;
    free(r->http->error);
    r->http->error = strdup(message && *message ? message : "marked as failure");
    hn_user_finish_pending(r->user);
}

static json_t *response_json(const struct hn_response *rc)
{
    struct hn_response *r = (struct hn_response *)rc; /* lazily parsed cache */
    if (!r->json_parsed) {
        r->json_parsed = true;
        if (r->http->body && r->http->len > 0)
            r->json = json_loadb(r->http->body, r->http->len, JSON_DECODE_ANY, NULL);
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
    if (!hn_user_in_own_coroutine(u, "hn_record"))
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
    if (!hn_user_in_own_coroutine(u, "hn_sleep"))
        return;
    hn_user_finish_pending(u);
    hn_user_gate(u);
    if (!(seconds > 0))
        seconds = 0;
    if (seconds > 1e7)
        seconds = 1e7;
    sleep_until(u, hn_mono_us() + (uint64_t)(seconds * 1e6));
    hn_user_gate(u);
}

int hn_user_wait_fd(struct hn_user *u, int fd, int events, uint64_t deadline_us)
{
    if (u->aborted)
        return -1;
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
    if (deadline_us != UINT64_MAX)
        hn_worker_timer_add(u->w, u, deadline_us);
    hn_coro_yield();
    u->wait = HN_BLOCK_NONE;
    hn_worker_timer_del(u->w, u);
    hn_worker_unwatch_fd(u->w, fd);
    u->fd = -1;
    uint32_t got = u->fd_events;
    if (u->aborted)
        return -1;
    int out = 0;
    if (got & (EPOLLIN | EPOLLRDHUP | EPOLLHUP | EPOLLERR))
        out |= HN_FD_READ & events;
    if (got & (EPOLLOUT | EPOLLERR | EPOLLHUP))
        out |= HN_FD_WRITE & events;
    if (got != 0 && out == 0)
        out = events & (HN_FD_READ | HN_FD_WRITE);
    return out;
}

static int api_wait_fd(struct hn_user *u, int fd, int events, double timeout)
{
    if (!hn_user_in_own_coroutine(u, "hn_wait_fd"))
        return -1;
    /* Like an HTTP request in flight, a custom operation finishes even when
     * the user is asked to stop (its send may already have reached the
     * target): only an abort at the stop timeout cuts it short. */
    if (u->aborted)
        hn_user_exit(u);
    int got = hn_user_wait_fd(u, fd, events,
                              timeout > 0 ? hn_mono_us() + (uint64_t)(fmin(timeout, 1e7) * 1e6)
                                          : UINT64_MAX);
    if (u->aborted)
        hn_user_exit(u);
    return got;
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
    if (!hn_user_in_own_coroutine(u, "hn_reschedule"))
        return;
    if (u->task_jmp_set)
        longjmp(u->task_jmp, 1);
}

static void api_stop_user(struct hn_user *u)
{
    if (!hn_user_in_own_coroutine(u, "hn_stop_user"))
        return;
    u->stopping = true;
    hn_user_exit(u);
}

static void api_stop_test(struct hn_user *u, const char *reason)
{
    if (!hn_user_in_own_coroutine(u, "hn_stop_test"))
        return;
    if (u->w->stop_test)
        u->w->stop_test(u->w->stop_test_ud, reason && *reason ? reason : "stopped by a user");
    u->stopping = true;
    hn_user_exit(u);
}

static void api_exception(struct hn_user *u, const char *message)
{
    if (!hn_user_in_own_coroutine(u, "hn_exception"))
        return;
    hn_worker_record_exception(u->w, u->plan->type->name, u->task_name ? u->task_name : "",
                               message && *message ? message : "exception");
    if (u->task_jmp_set)
        longjmp(u->task_jmp, 2);
}

/* ---------------------------------------------------------------- */
/* Data feeders                                                      */
/* ---------------------------------------------------------------- */

/* The feeder of that name, or an exception (which does not return when a
 * task is running; NULL otherwise). */
static struct hn_feed_table *feeder_of(struct hn_user *u, const char *name)
{
    struct hn_feed_table *t = hn_feeders_find(u->w->feeders, name);
    if (t == NULL) {
        char msg[160];
        snprintf(msg, sizeof msg, "no feeder '%.60s' (see the plugin's feeders)", name ? name : "");
        api_exception(u, msg);
        return NULL;
    }
    if (u->feed_row == NULL &&
        (u->feed_row = calloc(u->w->feeders->n, sizeof *u->feed_row)) == NULL) {
        api_exception(u, "out of memory");
        return NULL;
    }
    return t;
}

static void api_feed_next(struct hn_user *u, const char *name)
{
    if (!hn_user_in_own_coroutine(u, "hn_feed_next"))
        return;
    struct hn_feed_table *t = feeder_of(u, name);
    if (t == NULL)
        return;
    size_t row;
    enum hn_feed_got got;
    while ((got = hn_feed_take(t, t->mode == HN_FEED_RANDOM ? next_rand(&u->rng) : 0, &row)) ==
           HN_FEED_GOT_WAIT) {
        /* A distributed worker whose lease ran dry: the next one is on its
         * way from the master. */
        sleep_until(u, hn_mono_us() + 2000);
        hn_user_gate(u);
    }
    if (got == HN_FEED_GOT_NONE) {
        char why[160];
        snprintf(why, sizeof why, "feeder '%.60s' ran out of rows", t->name);
        /* A worker's master stops the test once every worker is out, so
         * that the rows leased to the others are still used. */
        if ((t->flags & HN_FEED_STOP_TEST) && !t->leased)
            api_stop_test(u, why);
        api_stop_user(u);
        return;
    }
    u->feed_row[hn_feeders_index(u->w->feeders, t)] = row + 1;
}

static const char *api_feed_field(struct hn_user *u, const char *name, const char *column)
{
    if (!hn_user_in_own_coroutine(u, "hn_feed_field"))
        return NULL;
    struct hn_feed_table *t = feeder_of(u, name);
    if (t == NULL)
        return NULL;
    size_t row = u->feed_row[hn_feeders_index(u->w->feeders, t)];
    long col = hn_feed_column(t, column);
    char msg[240];
    if (row == 0) {
        snprintf(msg, sizeof msg, "feeder '%.60s': no current row (call hn_feed_next first)",
                 t->name);
    } else if (col < 0) {
        int n = snprintf(msg, sizeof msg, "feeder '%.60s': no column '%.40s' (columns:", t->name,
                         column ? column : "");
        for (size_t i = 0; i < t->n_columns && n > 0 && (size_t)n < sizeof msg - 50; i++)
            n += snprintf(msg + n, sizeof msg - (size_t)n, "%s %.30s", i ? "," : "",
                          t->columns[i]);
        snprintf(msg + strlen(msg), sizeof msg - strlen(msg), ")");
    } else {
        return t->rows[row - 1][col];
    }
    api_exception(u, msg);
    return NULL;
}

/* ---------------------------------------------------------------- */
/* Parameters                                                        */
/* ---------------------------------------------------------------- */

static const char *api_param(struct hn_user *u, const char *name)
{
    if (!hn_user_in_own_coroutine(u, "hn_param"))
        return NULL;
    long i = hn_params_find(u->w->params, name);
    if (i < 0) {
        char msg[160];
        snprintf(msg, sizeof msg, "no parameter '%.60s' (see the plugin's params)",
                 name ? name : "");
        api_exception(u, msg);
        return NULL;
    }
    return u->w->params->values[i];
}

static double api_param_number(struct hn_user *u, const char *name)
{
    return hn_params_number(api_param(u, name));
}

static int api_body_truncated(const struct hn_response *r)
{
    return r != NULL && r->http->truncated;
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
    .set_header = api_set_header,
    .feed_next = api_feed_next,
    .feed_field = api_feed_field,
    .param = api_param,
    .param_number = api_param_number,
    .body_truncated = api_body_truncated,
    .ws_connect = hn_user_ws_connect,
    .ws_send = hn_user_ws_send,
    .ws_recv = hn_user_ws_recv,
    .ws_request = hn_user_ws_request,
    .ws_close = hn_user_ws_close,
    .ws_error = hn_user_ws_error,
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
    hn_user_finish_pending(u);
}

/* The open model: the user waits in its worker's pool until the runner
 * assigns it an iteration, starts it at its intended time (or as soon as it
 * can: the lag is recorded and added to the iteration's first request, so a
 * slow start shows in the latency), runs one task, and goes back. No think
 * time: the arrival rate paces the iterations. */
/* A task ended: its last response is recorded (a catch_response left
 * open counts by the default rule) and its buffers go, so users that think
 * hold no bodies. */
static void end_task(struct hn_user *u)
{
    hn_user_finish_pending(u);
    json_decref(u->resp.json);
    u->resp.json = NULL;
    u->resp.json_parsed = false;
    hn_http_conn_trim(&u->conn);
}

static void open_loop(struct hn_user *u)
{
    for (;;) {
        hn_user_gate(u);
        if (!u->iteration_due) {
            u->wait = HN_BLOCK_IDLE;
            hn_ulist_push(&u->w->idle_users, u);
            hn_coro_yield();
            u->wait = HN_BLOCK_NONE;
            continue; /* the gate decides first: a stop wakes it too */
        }
        u->iteration_due = false;
        if (u->iteration_at > hn_mono_us()) {
            sleep_until(u, u->iteration_at);
            hn_user_gate(u); /* a stop meanwhile cancels it: it never started */
        }
        uint64_t now = hn_mono_us();
        u->start_lag_us = now > u->iteration_at ? now - u->iteration_at : 0;
        hn_worker_record_start_lag(u->w, u->start_lag_us);
        const struct hn_task *task = pick_task(u);
        u->task_name = task->name;
        u->task_start_us = now;
        run_hook(u, task->fn);
        u->start_lag_us = 0;
        end_task(u); /* the iteration's last response is its own */
        atomic_fetch_add(&u->w->iterations_done[u->plan->slot], 1);
    }
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
        if (u->open)
            open_loop(u); /* never returns: the user leaves through exit_jmp */
        for (;;) {
            hn_user_gate(u);
            const struct hn_task *task = pick_task(u);
            u->task_name = task->name;
            u->task_start_us = hn_mono_us();
            uint64_t resumes = u->resumes;
            run_hook(u, task->fn);
            end_task(u);
            double s = think_seconds(u);
            hn_user_gate(u);
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
    hn_user_finish_pending(u);
    if (t->on_stop && !u->aborted) {
        u->in_stop_hook = true;
        if (setjmp(u->exit_jmp) == 0) {
            u->exit_jmp_set = true;
            u->task_name = "on_stop";
            run_hook(u, t->on_stop);
        }
        u->exit_jmp_set = false;
        hn_user_finish_pending(u);
    }
}

static void coro_entry(void *arg)
{
    struct hn_user *u = arg;
    user_main(u);
    u->finished = true;
}

bool hn_user_iterate(struct hn_worker *w, const struct hn_type_plan *plan, uint64_t at_us)
{
    for (struct hn_user *u = w->idle_users.head; u != NULL; u = u->next) {
        if (u->plan != plan || u->stopping)
            continue;
        hn_ulist_remove(u);
        u->wait = HN_BLOCK_NONE;
        u->iteration_due = true;
        u->iteration_at = at_us;
        hn_worker_make_runnable(w, u);
        return true;
    }
    return false;
}

void hn_user_spawn(struct hn_worker *w, const struct hn_type_plan *plan, uint64_t id,
                   uint64_t at_us)
{
    struct hn_user *u = calloc(1, sizeof *u);
    if (u == NULL)
        goto oom;
    u->api = &api_table;
    u->resp.api = &api_table;
    u->resp.user = u;
    /* HTTP/2 users are libcurl's whatever the run's client (the fast one
     * speaks HTTP/1.1); each user connects from the next source address. */
    bool http2 = plan->abi_1_3 && (plan->type->flags & HN_USER_HTTP2);
    hn_http_conn_init(&u->conn, u, plan->type->flags & HN_USER_SHARED_POOL,
                      !http2 && (w->limits.client == HN_HTTP_CLIENT_FAST ||
                                 (w->limits.client == HN_HTTP_CLIENT_BY_TYPE &&
                                  (plan->type->flags & HN_USER_FAST_HTTP))),
                      (unsigned)id);
    u->resp.http = &u->conn.resp;
    u->pe.kind = HN_POLL_USER;
    u->w = w;
    u->plan = plan;
    u->id = id;
    u->rng = w->seed ^ (id * 0x9e3779b97f4a7c15ull);
    next_rand(&u->rng);
    u->heap_idx = HN_NOT_IN_HEAP;
    u->fd = -1;
    if (at_us != 0) {
        u->open = true;
        u->iteration_due = true;
        u->iteration_at = at_us;
    }
    const struct hn_user_type *t = plan->type;
    const char *host = plan->host ? plan->host : t->host && *t->host ? t->host : w->host;
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
    case HN_BLOCK_IDLE:
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
        hn_http_client_cancel(u->w->http, &u->conn, "aborted: stop timeout reached");
        u->resp.elapsed_ms = (double)(u->conn.resp.total_us + u->resp.slot_wait_us) / 1000.0;
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
    hn_http_conn_cleanup(u->w->http, &u->conn);
    hn_user_ws_free_all(u);
    for (size_t i = 0; i < u->n_headers; i++)
        free(u->headers[i]);
    free(u->headers);
    free(u->req_headers);
    free(u->feed_row);
    free(u->url);
    free(u->state);
    free(u->host);
    free(u);
}

const struct hn_api *hn_user_api_table(void)
{
    return &api_table;
}
