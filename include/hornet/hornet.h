/*
 * hornet.h: the one public header for hornet plugins.
 *
 * A plugin is a shared object (or a single .c file that hornet compiles) that
 * describes simulated users. It exports exactly one symbol, HN_PLUGIN_ENTRY
 * (define it with HN_PLUGIN()), and reaches hornet only through the function
 * table every user handle carries, so plugins need no host symbols and link
 * with -Wl,-z,defs.
 *
 * Threads: plugin init/fini run on the main thread before/after the run.
 * Every other callback (tasks, on_start, on_stop, think-time callbacks) runs
 * inside a user coroutine on a worker thread. A coroutine must never block
 * its thread: use hn_sleep(), hn_wait_fd() and the hn_http_* calls, which
 * yield to the worker's event loop. Keep large buffers off the stack (user
 * stacks are small; see stack_size) and per-user data in hn_state().
 *
 * ABI: structs are append-only. A new field bumps HN_ABI_MINOR; an
 * incompatible change bumps HN_ABI_MAJOR and renames the entry symbol.
 */
#ifndef HORNET_HORNET_H
#define HORNET_HORNET_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define HN_ABI_MAJOR 1
#define HN_ABI_MINOR 3

/* The entry symbol, versioned by ABI major. */
#define HN_PLUGIN_ENTRY hornet_plugin_entry_v1
#define HN_PLUGIN_ENTRY_NAME "hornet_plugin_entry_v1"

#if defined(__GNUC__)
#define HN_EXPORT __attribute__((visibility("default")))
#define HN_PRINTF(f, a) __attribute__((format(printf, f, a)))
#else
#define HN_EXPORT
#define HN_PRINTF(f, a)
#endif

/* Opaque handles. A user handle is valid only inside its own callbacks. */
struct hn_user;
struct hn_response;
struct hn_ws;

/* ---------------------------------------------------------------- */
/* Declaring users                                                   */
/* ---------------------------------------------------------------- */

/* Think time between tasks (Locust's wait_time). */
enum hn_wait_kind {
    HN_WAIT_NONE = 0,            /* no wait (constant(0)) */
    HN_WAIT_BETWEEN,             /* uniform in [a, b] seconds */
    HN_WAIT_CONSTANT,            /* a seconds */
    HN_WAIT_CONSTANT_PACING,     /* a task starts every a seconds (0 wait if overrun) */
    HN_WAIT_CONSTANT_THROUGHPUT, /* a tasks per second per user (pacing 1/a) */
    HN_WAIT_CUSTOM               /* fn(u) returns seconds */
};

struct hn_wait {
    enum hn_wait_kind kind;
    double a;
    double b;
    double (*fn)(struct hn_user *u);
};

#define hn_between(lo, hi) {.kind = HN_WAIT_BETWEEN, .a = (lo), .b = (hi)}
#define hn_constant(s) {.kind = HN_WAIT_CONSTANT, .a = (s)}
#define hn_constant_pacing(s) {.kind = HN_WAIT_CONSTANT_PACING, .a = (s)}
#define hn_constant_throughput(n) {.kind = HN_WAIT_CONSTANT_THROUGHPUT, .a = (n)}
#define hn_wait_custom(f) {.kind = HN_WAIT_CUSTOM, .fn = (f)}

/* A task: one iteration of user behaviour. */
struct hn_task {
    const char *name;               /* shown in the ratio table; required */
    void (*fn)(struct hn_user *u);  /* required */
    unsigned weight;                /* 0 counts as 1; ignored when sequential */
    const char *tags;               /* comma-separated, e.g. "browse,slow"; may be NULL */
    void *reserved[2];              /* zero; room for later minors (arrays cannot grow) */
};

/* User type flags. */
#define HN_USER_SEQUENTIAL 0x1u  /* run tasks in declaration order, cycling */
#define HN_USER_SHARED_POOL 0x2u /* share the worker's pool of connections */
/* ABI 1.2: requests go through hornet's fast HTTP/1.1 client instead of
 * libcurl (Locust's FastHttpUser): the same API, statistics and failure
 * messages at a fraction of the CPU per request. It serves http:// and
 * https:// (keep-alive, chunked, gzip when a request's Accept-Encoding asks
 * for it, redirects, cookies, the phase timeouts); a request needing what
 * only libcurl does (a proxy, credentials in the URL) fails saying so.
 * --http-client fast|curl overrides this for a whole run. */
#define HN_USER_FAST_HTTP 0x4u
/* ABI 1.3: requests speak HTTP/2 (libcurl with nghttp2): negotiated by
 * ALPN on https:// (HTTP/1.1 when the server does not offer h2); on
 * http:// spoken without asking (h2c, "prior knowledge") with libcurl 8.0
 * or later, HTTP/1.1 before (a warning says so). Each user keeps its own
 * connection, its requests streams on it. These users always use libcurl.
 * hn_req.http_version chooses per request. */
#define HN_USER_HTTP2 0x8u

/* A user type (Locust's User class). */
struct hn_user_type {
    const char *name;                 /* required, unique */
    unsigned weight;                  /* relative share of users; 0 with fixed_count 0 = unused */
    unsigned fixed_count;             /* exact number of users, spawned first; 0 = by weight */
    const char *host;                 /* overrides -H for this type; may be NULL */
    struct hn_wait wait;              /* think time after each task */
    const struct hn_task *tasks;      /* array terminated by an entry with fn == NULL */
    void (*on_start)(struct hn_user *u); /* may be NULL */
    void (*on_stop)(struct hn_user *u);  /* may be NULL; also runs on test stop */
    size_t state_size;                /* bytes of zeroed per-user state, see hn_state() */
    unsigned flags;                   /* HN_USER_* */
    size_t stack_size;                /* coroutine stack in bytes; 0 = default (64 KiB) */
    /* ABI 1.1: "Name: value" headers sent with every request of this type's
     * users (hn_set_header and a request's own headers override them by
     * name), NULL-terminated; may be NULL. */
    const char *const *headers;
    void *reserved[3];                /* zero; room for later minors (arrays cannot grow) */
};

/* ABI 1.1: a data feeder: the rows of a CSV file (its first row names the
 * columns) handed out to users with hn_feed_next / hn_feed_field. */
enum hn_feed_mode {
    HN_FEED_CYCLE = 0,                /* in order, wrapping around */
    HN_FEED_ONCE,                     /* every row exactly once; then the user stops */
    HN_FEED_RANDOM                    /* a random row per call (repeatable with --seed) */
};
#define HN_FEED_STOP_TEST 0x1u        /* ONCE: when rows run out, stop the whole test */
struct hn_feeder {
    const char *name;                 /* required, unique; --feed NAME=PATH overrides path */
    const char *path;                 /* the CSV file (relative to the working directory) */
    enum hn_feed_mode mode;
    unsigned flags;                   /* HN_FEED_* */
    void *reserved[2];                /* zero */
};

/* ABI 1.1: a parameter of the plugin, set for each run: --param NAME=VALUE
 * (also "param = NAME=VALUE" in hornet.conf and HORNET_PARAM), a field of
 * the dashboard's start form, "params" in POST /api/swarm. Users read it
 * with hn_param. A value is checked against its type before the run. */
enum hn_param_type {
    HN_PARAM_STRING = 0,
    HN_PARAM_INT,                     /* a whole number */
    HN_PARAM_FLOAT,                   /* a number */
    HN_PARAM_BOOL                     /* true/false, yes/no, on/off, 1/0 */
};
#define HN_PARAM_SECRET 0x1u          /* never shown: masked in the page and the reports */
struct hn_param {
    const char *name;                 /* required, unique: letters, digits, '_', '-', '.' */
    enum hn_param_type type;
    const char *default_value;        /* as text ("10", "true"); NULL = "" */
    const char *help;                 /* one line for the start form */
    unsigned flags;                   /* HN_PARAM_* */
    void *reserved[2];                /* zero */
};

/* ABI 1.1: what a load shape wants for the next second. hornet zeroes it
 * before each call. */
struct hn_shape_step {
    uint32_t users;                   /* users wanted (the open model: the pool's most) */
    double spawn_rate;                /* users started (or stopped) per second, > 0 */
    /* The open model instead: iterations per second. A first step with a
     * rate > 0 makes the whole run an open-model one (spawn_rate unused;
     * later steps may give 0: no arrivals for now); one without, a run of
     * users throughout. */
    double arrival_rate;
};
#define HN_SHAPE_CONTINUE 0
#define HN_SHAPE_DONE 1

/* The plugin descriptor returned by the entry function. */
struct hn_plugin {
    uint32_t abi_major;               /* HN_ABI_MAJOR */
    uint32_t abi_minor;               /* HN_ABI_MINOR */
    uint32_t struct_size;             /* sizeof(struct hn_plugin) */
    const char *name;
    const struct hn_user_type *user_types; /* terminated by an entry with name == NULL */
    /* Called once on the main thread before any user starts. Return 0, or
     * non-zero after writing a one-line reason into err. May be NULL. */
    int (*init)(char *err, size_t err_len);
    /* Called once on the main thread after every user stopped. May be NULL. */
    void (*fini)(void);
    /* ABI 1.1: a load shape in code (Locust's LoadTestShape). When set, it
     * drives every run instead of a fixed number of users: hornet calls it
     * about once a second with the run's active time (pauses excluded) and
     * applies *next, until it returns HN_SHAPE_DONE, which ends the run.
     * Called on hornet's control thread: be quick, never block. May be NULL. */
    int (*shape)(double run_time_s, struct hn_shape_step *next);
    /* ABI 1.1: data feeders, terminated by an entry with name == NULL;
     * loaded before any user starts (a bad file stops hornet with exit 2). */
    const struct hn_feeder *feeders;
    /* ABI 1.1: parameters, terminated by an entry with name == NULL. */
    const struct hn_param *params;
    void *reserved[5];                /* zero; room for later minors */
};

/* The host side of the handshake, passed to the entry function. */
struct hn_host_info {
    uint32_t abi_major;
    uint32_t abi_minor;
    uint32_t struct_size;
    const char *version;              /* hornet version string */
};

/* Defines the entry function. Use once per plugin:
 *     HN_PLUGIN(my_plugin);   where my_plugin is a struct hn_plugin */
#define HN_PLUGIN(desc)                                                              \
    HN_EXPORT const struct hn_plugin *HN_PLUGIN_ENTRY(const struct hn_host_info *host); \
    HN_EXPORT const struct hn_plugin *HN_PLUGIN_ENTRY(const struct hn_host_info *host) \
    {                                                                                \
        if (host == NULL || host->abi_major != HN_ABI_MAJOR)                         \
            return NULL;                                                             \
        return &(desc);                                                              \
    }

/* ---------------------------------------------------------------- */
/* Making requests                                                   */
/* ---------------------------------------------------------------- */

/* Options for hn_request(). Zero-initialise and set what you need. */
struct hn_req {
    const char *name;          /* stats name (e.g. "/item/[id]"); default: path with query */
    const char *const *headers;/* "Name: value" strings, NULL-terminated; may be NULL */
    const char *query;         /* appended after '?' (already encoded); may be NULL */
    const void *body;          /* request body; may be NULL */
    size_t body_len;           /* 0 with body != NULL means strlen(body) */
    const char *json;          /* JSON text body; sets Content-Type: application/json */
    double timeout;            /* seconds; 0 = default (60 s) */
    int catch_response;        /* 1: you decide success with hn_success/hn_failure */
    int no_redirects;          /* 1: do not follow redirects */
    /* ABI 1.1 */
    size_t max_body;           /* body bytes kept for hn_body; 0 = the run's (--max-body,
                                * default 1 MiB); the rest is counted, not kept */
    /* ABI 1.3 */
    int http_version;          /* 2 = HTTP/2 (libcurl users only), 1 = HTTP/1.1,
                                * 0 = the user type's (HN_USER_HTTP2) */
};

/* ABI 1.3: options for hn_ws_connect(). Zero-initialise and set what you
 * need. */
struct hn_ws_opts {
    const char *name;          /* stats name of the connect and of the connection's
                                * failures; default: the URL's path */
    const char *const *headers;/* "Name: value" strings for the handshake, NULL-terminated */
    const char *protocol;      /* Sec-WebSocket-Protocol to ask for; may be NULL */
    double timeout;            /* seconds for connecting (TCP, TLS, handshake) and for
                                * each send; 0 = the run's --connect-timeout (10 s) */
    void *reserved[4];         /* zero */
};
#define HN_WS_TEXT 1
#define HN_WS_BINARY 2

/* Log levels for hn_log(). */
enum hn_log_level { HN_LOG_DEBUG, HN_LOG_INFO, HN_LOG_WARNING, HN_LOG_ERROR };

/* Event bits for hn_wait_fd(). */
#define HN_FD_READ 0x1
#define HN_FD_WRITE 0x2

/*
 * The host function table. Reach it through the inline wrappers below;
 * call it directly only if you need something they do not expose.
 */
struct hn_api {
    uint32_t abi_major;
    uint32_t abi_minor;
    uint32_t struct_size;

    struct hn_response *(*request)(struct hn_user *u, const char *method, const char *path,
                                   const struct hn_req *opts);
    int (*status)(const struct hn_response *r);
    const char *(*body)(const struct hn_response *r, size_t *len);
    const char *(*header)(const struct hn_response *r, const char *name);
    const char *(*error)(const struct hn_response *r);
    double (*elapsed_ms)(const struct hn_response *r);
    void (*success)(struct hn_response *r);
    void (*failure)(struct hn_response *r, const char *message);
    const char *(*json_str)(const struct hn_response *r, const char *path);
    int (*json_num)(const struct hn_response *r, const char *path, double *out);

    void (*record)(struct hn_user *u, const char *type, const char *name, double elapsed_ms,
                   int64_t bytes, const char *error);
    int (*wait_fd)(struct hn_user *u, int fd, int events, double timeout);
    void (*sleep)(struct hn_user *u, double seconds);
    double (*now_ms)(struct hn_user *u);

    void *(*state)(struct hn_user *u);
    uint64_t (*user_id)(struct hn_user *u);
    const char *(*host)(struct hn_user *u);
    uint64_t (*rand)(struct hn_user *u);
    void (*log)(struct hn_user *u, int level, const char *message);

    void (*reschedule)(struct hn_user *u);
    void (*stop_user)(struct hn_user *u);
    void (*stop_test)(struct hn_user *u, const char *reason);
    void (*exception)(struct hn_user *u, const char *message);

    /* ABI 1.1 */
    int (*set_header)(struct hn_user *u, const char *name, const char *value);
    void (*feed_next)(struct hn_user *u, const char *feeder);
    const char *(*feed_field)(struct hn_user *u, const char *feeder, const char *column);
    const char *(*param)(struct hn_user *u, const char *name);
    double (*param_number)(struct hn_user *u, const char *name);
    int (*body_truncated)(const struct hn_response *r);

    /* ABI 1.3 */
    struct hn_ws *(*ws_connect)(struct hn_user *u, const char *url, const struct hn_ws_opts *o);
    int (*ws_send)(struct hn_ws *ws, const void *data, size_t len, int kind);
    int (*ws_recv)(struct hn_ws *ws, double timeout, const char **data, size_t *len);
    const char *(*ws_request)(struct hn_ws *ws, const char *name, const void *data, size_t len,
                              double timeout, size_t *reply_len);
    void (*ws_close)(struct hn_ws *ws);
    const char *(*ws_error)(const struct hn_ws *ws);
};

/* Every user handle starts with this, so the wrappers find the table. */
struct hn_user_head {
    const struct hn_api *api;
};

#define HN_API(u) (((const struct hn_user_head *)(const void *)(u))->api)

/* Issue a request and wait (yielding) for its response. The response is
 * recorded in the statistics when it completes (or, with catch_response,
 * when you call hn_success/hn_failure, issue the next request or the task
 * ends). It stays valid until this user's next request or the end of the
 * task. Never returns NULL. */
static inline struct hn_response *hn_request(struct hn_user *u, const char *method,
                                             const char *path, const struct hn_req *opts)
{
    return HN_API(u)->request(u, method, path, opts);
}
static inline struct hn_response *hn_get(struct hn_user *u, const char *path)
{
    return HN_API(u)->request(u, "GET", path, NULL);
}
static inline struct hn_response *hn_get_named(struct hn_user *u, const char *path,
                                               const char *name)
{
    struct hn_req o = {0};
    o.name = name;
    return HN_API(u)->request(u, "GET", path, &o);
}
static inline struct hn_response *hn_post_json(struct hn_user *u, const char *path,
                                               const char *json)
{
    struct hn_req o = {0};
    o.json = json;
    return HN_API(u)->request(u, "POST", path, &o);
}

/* The response handle of a request. The hn_response is owned by hornet. */
#define HN_RESP_API(r) (((const struct hn_user_head *)(const void *)(r))->api)
/* HTTP status, or 0 when the transfer failed (see hn_error). */
static inline int hn_status(const struct hn_response *r)
{
    return HN_RESP_API(r)->status(r);
}
/* Response body (NUL-terminated for convenience); len may be NULL. */
static inline const char *hn_body(const struct hn_response *r, size_t *len)
{
    return HN_RESP_API(r)->body(r, len);
}
/* 1 when the body was longer than what is kept (hn_req.max_body, or the
 * run's --max-body): hn_body then holds its first bytes only. */
static inline int hn_body_truncated(const struct hn_response *r)
{
    return HN_RESP_API(r)->body_truncated(r);
}
/* First header with that name (case-insensitive), or NULL. */
static inline const char *hn_header(const struct hn_response *r, const char *name)
{
    return HN_RESP_API(r)->header(r, name);
}
/* Transport error message ("connection refused", "timeout after 5 s"…), or NULL. */
static inline const char *hn_error(const struct hn_response *r)
{
    return HN_RESP_API(r)->error(r);
}
static inline double hn_elapsed_ms(const struct hn_response *r)
{
    return HN_RESP_API(r)->elapsed_ms(r);
}
/* With catch_response: mark the request as a success or a failure. */
static inline void hn_success(struct hn_response *r)
{
    HN_RESP_API(r)->success(r);
}
static inline void hn_failure(struct hn_response *r, const char *message)
{
    HN_RESP_API(r)->failure(r, message);
}
/* Body parsed as JSON: value at a dotted path ("cart.items.0.id"); string
 * values as text, numbers via hn_json_num (returns 0 on success). */
static inline const char *hn_json_str(const struct hn_response *r, const char *path)
{
    return HN_RESP_API(r)->json_str(r, path);
}
static inline int hn_json_num(const struct hn_response *r, const char *path, double *out)
{
    return HN_RESP_API(r)->json_num(r, path, out);
}

/* ---------------------------------------------------------------- */
/* Any protocol, time, state, randomness, flow control               */
/* ---------------------------------------------------------------- */

/* Record a custom operation (Locust's events.request.fire). error NULL = success. */
static inline void hn_record(struct hn_user *u, const char *type, const char *name,
                             double elapsed_ms, int64_t bytes, const char *error)
{
    HN_API(u)->record(u, type, name, elapsed_ms, bytes, error);
}
/* Wait (yielding) until fd is ready. Returns the ready HN_FD_* bits, 0 on
 * timeout (seconds; <= 0 waits forever), -1 on error. */
static inline int hn_wait_fd(struct hn_user *u, int fd, int events, double timeout)
{
    return HN_API(u)->wait_fd(u, fd, events, timeout);
}
static inline void hn_sleep(struct hn_user *u, double seconds)
{
    HN_API(u)->sleep(u, seconds);
}
/* Monotonic milliseconds, for timing custom operations. */
static inline double hn_now_ms(struct hn_user *u)
{
    return HN_API(u)->now_ms(u);
}
/* Per-user state of the type's state_size bytes, zeroed at spawn. */
static inline void *hn_state(struct hn_user *u)
{
    return HN_API(u)->state(u);
}
static inline uint64_t hn_user_id(struct hn_user *u)
{
    return HN_API(u)->user_id(u);
}
/* Base URL this user targets, e.g. "http://127.0.0.1:8080". */
static inline const char *hn_host(struct hn_user *u)
{
    return HN_API(u)->host(u);
}
/* Per-user deterministic random numbers (repeatable with --seed). */
static inline uint64_t hn_rand(struct hn_user *u)
{
    return HN_API(u)->rand(u);
}
/* Uniform integer in [lo, hi]. */
static inline long hn_rand_range(struct hn_user *u, long lo, long hi)
{
    if (hi <= lo)
        return lo;
    return lo + (long)(HN_API(u)->rand(u) % (uint64_t)(hi - lo + 1));
}
static inline void hn_log(struct hn_user *u, int level, const char *message)
{
    HN_API(u)->log(u, level, message);
}
/* Flow control: these do not return. */
/* End this task now and go on with the next one (after think time). */
static inline void hn_reschedule(struct hn_user *u)
{
    HN_API(u)->reschedule(u);
}
/* Stop this user (on_stop runs). */
static inline void hn_stop_user(struct hn_user *u)
{
    HN_API(u)->stop_user(u);
}
/* Stop the whole test. */
static inline void hn_stop_test(struct hn_user *u, const char *reason)
{
    HN_API(u)->stop_test(u, reason);
}
/* ABI 1.1. A header this user sends with every later request (Locust's
 * client.headers), e.g. hn_set_header(u, "Authorization", "Bearer ...")
 * after a login; value NULL removes it. Overrides the user type's headers
 * of that name; a request's own headers override it. Returns 0, or -1 for
 * a name that is empty or holds ':' or a blank, or a value with CR or LF. */
static inline int hn_set_header(struct hn_user *u, const char *name, const char *value)
{
    if (HN_API(u)->abi_minor < 1)
        return -1;
    return HN_API(u)->set_header(u, name, value);
}
/* ABI 1.1. Takes this user's next row of a feeder (struct hn_feeder):
 * the next in order (CYCLE), the next unused one (ONCE; when none is left
 * the user stops, or the test with HN_FEED_STOP_TEST: this call then does
 * not return), or a random one (RANDOM). An unknown feeder is an exception. */
static inline void hn_feed_next(struct hn_user *u, const char *feeder)
{
    HN_API(u)->feed_next(u, feeder);
}
/* ABI 1.1. A field of this user's current row of a feeder, by column name
 * (the file's header row). Valid until the user's next hn_feed_next of that
 * feeder. No current row or no such column is an exception (the task ends). */
static inline const char *hn_feed_field(struct hn_user *u, const char *feeder,
                                        const char *column)
{
    return HN_API(u)->feed_field(u, feeder, column);
}
/* ABI 1.1. The run's value of a parameter (struct hn_param), as text; the
 * helpers read it as its type says. An unknown name is an exception. Valid
 * for the whole run. */
static inline const char *hn_param(struct hn_user *u, const char *name)
{
    return HN_API(u)->param(u, name);
}
static inline long long hn_param_int(struct hn_user *u, const char *name)
{
    const char *v = hn_param(u, name);
    long long n = 0;
    int neg = v != NULL && *v == '-';
    for (const char *p = v ? v + (neg || *v == '+') : ""; *p >= '0' && *p <= '9'; p++)
        n = n * 10 + (*p - '0');
    return neg ? -n : n;
}
static inline double hn_param_float(struct hn_user *u, const char *name)
{
    return HN_API(u)->param_number(u, name);
}
static inline int hn_param_bool(struct hn_user *u, const char *name)
{
    const char *v = hn_param(u, name);
    return v != NULL && (v[0] == '1' || v[0] == 't' || v[0] == 'T' || v[0] == 'y' ||
                         v[0] == 'Y' || ((v[0] == 'o' || v[0] == 'O') && (v[1] == 'n' || v[1] == 'N')));
}
/* ---------------------------------------------------------------- */
/* WebSocket (ABI 1.3)                                               */
/* ---------------------------------------------------------------- */

/* A WebSocket connection of this user (RFC 6455, libwslay over hornet's
 * own sockets; wss:// with the run's TLS options). Every call yields like
 * a request (a paused run holds it, a stopping user ends there) and is
 * bounded in time. The connect is recorded as type "WS" under opts->name
 * (default: the path); hn_ws_request records each exchange under its own
 * name. A connection that breaks (an error, a close frame other than
 * 1000/1001, a close without one, a message over --max-body) is one
 * failure: in the row of the exchange that awaited a reply, or else in
 * the connect's row; after that every call fails at once. Pings are
 * answered whenever hornet reads the connection. The handle lives until
 * hn_ws_close or the user's end. */

/* Connects: url is a ws:// or wss:// URL, or a path on the user's host
 * (http becomes ws, https wss). Never returns NULL: check hn_ws_error. */
static inline struct hn_ws *hn_ws_connect(struct hn_user *u, const char *url,
                                          const struct hn_ws_opts *opts)
{
    return HN_API(u)->ws_connect(u, url, opts);
}
#define HN_WS_API(ws) (((const struct hn_user_head *)(const void *)(ws))->api)
/* Sends a message (HN_WS_TEXT or HN_WS_BINARY). 0, or -1 (hn_ws_error says
 * why). len 0 with data != NULL sends strlen(data). */
static inline int hn_ws_send(struct hn_ws *ws, const void *data, size_t len, int kind)
{
    return HN_WS_API(ws)->ws_send(ws, data, len, kind);
}
static inline int hn_ws_send_text(struct hn_ws *ws, const char *text)
{
    return HN_WS_API(ws)->ws_send(ws, text, 0, HN_WS_TEXT);
}
/* Waits (yielding) up to timeout seconds (<= 0: 60 s) for the next message:
 * HN_WS_TEXT or HN_WS_BINARY with *data (NUL-terminated, valid until the
 * next call on ws) and *len (may be NULL); 0 when none came in time (not
 * a failure: you decide); -1 when the connection ended (hn_ws_error). */
static inline int hn_ws_recv(struct hn_ws *ws, double timeout, const char **data, size_t *len)
{
    return HN_WS_API(ws)->ws_recv(ws, timeout, data, len);
}
/* Request/response protocols: sends a text message and waits up to timeout
 * seconds (<= 0: 60 s) for the next message, recorded as one exchange of
 * type "WS" under name (its time from send to reply). Returns the reply
 * (as hn_ws_recv's data), or NULL on failure (recorded; hn_ws_error says
 * why, "no reply within 5 s" for a timeout). len 0 = strlen(data). */
static inline const char *hn_ws_request(struct hn_ws *ws, const char *name, const char *data,
                                        size_t len, double timeout, size_t *reply_len)
{
    return HN_WS_API(ws)->ws_request(ws, name, data, len, timeout, reply_len);
}
/* Closes politely (a close frame; the server's answer awaited up to 2 s)
 * and frees the handle. */
static inline void hn_ws_close(struct hn_ws *ws)
{
    HN_WS_API(ws)->ws_close(ws);
}
/* Why the connection failed or ended, or NULL while it is open. */
static inline const char *hn_ws_error(const struct hn_ws *ws)
{
    return HN_WS_API(ws)->ws_error(ws);
}

/* Count an exception (Exceptions table) and end this task; the user goes on. */
static inline void hn_exception(struct hn_user *u, const char *message)
{
    HN_API(u)->exception(u, message);
}

#ifdef __cplusplus
}
#endif

#endif /* HORNET_HORNET_H */
