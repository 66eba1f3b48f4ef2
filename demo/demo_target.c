/*
 * demo_target.c: the built-in demo target (BRIEF 1.10).
 *
 * An httpbin-like shop API served by libmicrohttpd, plus a tiny Redis-like
 * line protocol ("KV") on a second port, both counting exactly what they
 * served so tests can check that hornet reports every request once.
 *
 * Threads:
 *   - MHD worker threads (thread pool, epoll) run the access handler.
 *   - The "park" thread resumes connections suspended by /delay, /hang and
 *     /slow-body when their time is due, so waiting costs no thread.
 *   - The KV thread runs its own epoll loop over non-blocking sockets.
 *   - The WS thread does the same for the WebSocket connections that MHD
 *     hands over after a GET /ws/chat upgrade (frames by libwslay).
 * Lock order: park_lock before MHD's internal mutexes (MHD_resume_connection
 * is called with park_lock held); paths_lock, sess_lock and ws_lock are
 * leaves (MHD_upgrade_action is never called with ws_lock held).
 */
#include "demo_target.h"

#include "log.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <limits.h>
#include <math.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/random.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/types.h>
#include <time.h>
#include <unistd.h>

#include <microhttpd.h>
#include <openssl/evp.h>
#include <openssl/sha.h>
#include <wslay/wslay.h>

#define ITEM_COUNT 100       /* ids 1..100 */
#define ITEMS_LISTED 20      /* GET /items sends the first page only */
#define BODY_MAX (64 * 1024) /* request bodies above this get 413 */
#define DELAY_MAX_S 60.0     /* /delay and /slow-body upper bound */
#define BYTES_MAX 10000000UL /* /bytes upper bound */
#define REDIRECT_MAX 10
#define PATHS_MAX 10000   /* distinct by_path keys before folding */
#define PATHS_CAP 16384   /* hash slots, power of two > PATHS_MAX / 0.7 */
#define PATH_KEY_MAX 1024 /* longer "METHOD path" keys fold into (other) */
#define SESSIONS 16384    /* live sessions; the oldest is evicted (power of two) */
#define USER_MAX 64
#define CART_LINES 16      /* distinct items per cart */
#define CART_QTY_MAX 10000 /* per line */
#define SLOW_PIECES 10     /* /slow-body sends its body in this many pieces */
#define SLOW_PIECE_LEN 10
#define SWEEP_US 1000000     /* how often parked connections are checked for EOF */
#define STOP_WAIT_US 3000000 /* bound on waiting for parked connections at stop */
#define CONN_LIMIT 30000
#define CONN_TIMEOUT_S 120 /* idle keep-alive connections are closed after this */
#define KV_LINE_MAX 4096
#define KV_IN_CAP (KV_LINE_MAX + 2)
#define KV_KEYS_MAX 10000
#define KV_SLOTS 16384 /* power of two > KV_KEYS_MAX / 0.7 */
#define KV_CONNS_MAX 4096
#define KV_OUT_HIGH (64 * 1024) /* stop reading while this much output is pending */
#define NOT_PARKED SIZE_MAX
#define WS_CONNS_MAX 10000         /* live WebSocket connections; more get 503 */
#define WS_MSG_MAX (64 * 1024)     /* longer messages: wslay closes with 1009 */
#define WS_OUT_MAX (1024 * 1024)   /* queued output bytes before a slow reader is dropped */
#define WS_OUT_MSGS_MAX 16384      /* queued output messages, likewise */
#define WS_ROOM_MAX 128            /* bytes of a room name */
#define WS_ROOM_SLOTS 1024         /* room hash chains (power of two) */
#define WS_LINGER_US 2000000       /* wait this long for the peer's EOF after our close */
#define WS_GUID "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"

/* ---------------------------------------------------------------------- */
/* Small helpers                                                           */

static int64_t now_us(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

/* Growable byte buffer; an allocation failure sets oom and drops output. */
struct sbuf {
    char *p;
    size_t len, cap;
    bool oom;
};

static bool sb_reserve(struct sbuf *b, size_t extra)
{
    if (b->oom)
        return false;
    if (b->len + extra + 1 <= b->cap)
        return true;
    size_t cap = b->cap ? b->cap : 256;
    while (cap < b->len + extra + 1)
        cap *= 2;
    char *p = realloc(b->p, cap);
    if (p == NULL) {
        b->oom = true;
        return false;
    }
    b->p = p;
    b->cap = cap;
    return true;
}

static void sb_add(struct sbuf *b, const char *s, size_t n)
{
    if (!sb_reserve(b, n))
        return;
    memcpy(b->p + b->len, s, n);
    b->len += n;
    b->p[b->len] = '\0';
}

static void sb_puts(struct sbuf *b, const char *s)
{
    sb_add(b, s, strlen(s));
}

static void sb_addc(struct sbuf *b, char c)
{
    sb_add(b, &c, 1);
}

__attribute__((format(printf, 2, 3))) static void sb_printf(struct sbuf *b, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(NULL, 0, fmt, ap);
    va_end(ap);
    if (n < 0 || !sb_reserve(b, (size_t)n))
        return;
    va_start(ap, fmt);
    vsnprintf(b->p + b->len, (size_t)n + 1, fmt, ap);
    va_end(ap);
    b->len += (size_t)n;
}

static void sb_free(struct sbuf *b)
{
    free(b->p);
    memset(b, 0, sizeof *b);
}

/* Length of the valid UTF-8 sequence at s, or 0 if it is not one. */
static size_t utf8_len(const unsigned char *s, size_t n)
{
    unsigned char c = s[0];
    size_t len;
    unsigned char lo = 0x80, hi = 0xBF;
    if (c >= 0xC2 && c <= 0xDF) {
        len = 2;
    } else if (c >= 0xE0 && c <= 0xEF) {
        len = 3;
        if (c == 0xE0)
            lo = 0xA0;
        else if (c == 0xED)
            hi = 0x9F; /* no surrogates */
    } else if (c >= 0xF0 && c <= 0xF4) {
        len = 4;
        if (c == 0xF0)
            lo = 0x90;
        else if (c == 0xF4)
            hi = 0x8F;
    } else {
        return 0;
    }
    if (n < len || s[1] < lo || s[1] > hi)
        return 0;
    for (size_t i = 2; i < len; i++)
        if (s[i] < 0x80 || s[i] > 0xBF)
            return 0;
    return len;
}

/* Appends s as a JSON string. Paths and headers are client bytes, so
 * invalid UTF-8 becomes U+FFFD: the output is always valid JSON. */
static void sb_json_str(struct sbuf *b, const char *s, size_t n)
{
    const unsigned char *u = (const unsigned char *)s;
    sb_addc(b, '"');
    for (size_t i = 0; i < n;) {
        unsigned char c = u[i];
        if (c == '"' || c == '\\') {
            char esc[2] = {'\\', (char)c};
            sb_add(b, esc, 2);
            i++;
        } else if (c < 0x20) {
            if (c == '\n')
                sb_puts(b, "\\n");
            else if (c == '\r')
                sb_puts(b, "\\r");
            else if (c == '\t')
                sb_puts(b, "\\t");
            else
                sb_printf(b, "\\u%04x", c);
            i++;
        } else if (c < 0x80) {
            size_t j = i;
            while (j < n && u[j] >= 0x20 && u[j] < 0x80 && u[j] != '"' && u[j] != '\\')
                j++;
            sb_add(b, s + i, j - i);
            i = j;
        } else {
            size_t l = utf8_len(u + i, n - i);
            if (l > 0) {
                sb_add(b, s + i, l);
                i += l;
            } else {
                sb_puts(b, "\\ufffd");
                i++;
            }
        }
    }
    sb_addc(b, '"');
}

static uint64_t fnv1a(const char *s, size_t n)
{
    uint64_t h = 1469598103934665603ULL;
    for (size_t i = 0; i < n; i++) {
        h ^= (unsigned char)s[i];
        h *= 1099511628211ULL;
    }
    return h;
}

/* Strict decimal: digits only, no sign, at most max. */
static bool parse_uint(const char *s, unsigned long max, unsigned long *out)
{
    if (*s == '\0')
        return false;
    unsigned long v = 0;
    for (; *s != '\0'; s++) {
        if (*s < '0' || *s > '9')
            return false;
        v = v * 10 + (unsigned long)(*s - '0');
        if (v > max)
            return false;
    }
    *out = v;
    return true;
}

/* Seconds as plain decimal ("2", "0.5"), 0..DELAY_MAX_S. strtod alone
 * would also take "inf", "1e3" and hex. */
static bool parse_seconds(const char *s, double *out)
{
    size_t n = strlen(s), dots = 0, digits = 0;
    if (n == 0 || n > 16)
        return false;
    for (size_t i = 0; i < n; i++) {
        if (s[i] == '.')
            dots++;
        else if (s[i] >= '0' && s[i] <= '9')
            digits++;
        else
            return false;
    }
    if (dots > 1 || digits == 0)
        return false;
    double v = strtod(s, NULL);
    if (!(v >= 0.0 && v <= DELAY_MAX_S))
        return false;
    *out = v;
    return true;
}

/* ---------------------------------------------------------------------- */
/* Catalogue: 100 deterministic items                                      */

static const char *const adjectives[10] = {"Red",   "Blue", "Green", "Golden", "Silent",
                                           "Rapid", "Tiny", "Giant", "Shiny",  "Rustic"};
static const char *const nouns[10] = {"Widget", "Gadget", "Lamp",   "Kettle", "Backpack",
                                      "Clock",  "Mug",    "Hammer", "Scarf",  "Drone"};

static void item_name(int id, char *buf, size_t len)
{
    snprintf(buf, len, "%s %s", adjectives[(id - 1) % 10], nouns[(id - 1) / 10]);
}

static int item_price_cents(int id)
{
    return 199 + (id * 7919) % 9800;
}

static void sb_item(struct sbuf *b, int id)
{
    char name[40];
    item_name(id, name, sizeof name);
    int cents = item_price_cents(id);
    sb_printf(b, "{\"id\":%d,\"name\":\"%s\",\"price\":%d.%02d}", id, name, cents / 100,
              cents % 100);
}

/* ---------------------------------------------------------------------- */
/* Routes and counters                                                     */

enum route {
    R_ROOT,
    R_STATUS,
    R_DELAY,
    R_BYTES,
    R_JSON,
    R_HEADERS,
    R_REDIRECT,
    R_LOGIN,
    R_ITEMS,
    R_ITEM,
    R_CART,
    R_CHECKOUT,
    R_DROP,
    R_HANG,
    R_SLOW_BODY,
    R_WS_CHAT,
    R_OTHER,
    R_COUNT
};

/* The patterns reported in /__counts "by_route". */
static const char *const route_names[R_COUNT] = {
    [R_ROOT] = "/",
    [R_STATUS] = "/status/{code}",
    [R_DELAY] = "/delay/{s}",
    [R_BYTES] = "/bytes/{n}",
    [R_JSON] = "/json",
    [R_HEADERS] = "/headers",
    [R_REDIRECT] = "/redirect/{n}",
    [R_LOGIN] = "/login",
    [R_ITEMS] = "/items",
    [R_ITEM] = "/item/{id}",
    [R_CART] = "/cart",
    [R_CHECKOUT] = "/checkout",
    [R_DROP] = "/drop",
    [R_HANG] = "/hang",
    [R_SLOW_BODY] = "/slow-body/{s}",
    [R_WS_CHAT] = "/ws/chat",
    [R_OTHER] = "other",
};

/* Allowed methods per route (GET implies HEAD). */
#define A_GET 1u
#define A_POST 2u
static const unsigned route_allow[R_COUNT] = {
    [R_ROOT] = A_GET,  [R_STATUS] = A_GET,  [R_DELAY] = A_GET,         [R_BYTES] = A_GET,
    [R_JSON] = A_GET,  [R_HEADERS] = A_GET, [R_REDIRECT] = A_GET,      [R_LOGIN] = A_POST,
    [R_ITEMS] = A_GET, [R_ITEM] = A_GET,    [R_CART] = A_GET | A_POST, [R_CHECKOUT] = A_POST,
    [R_DROP] = A_GET,  [R_HANG] = A_GET,    [R_SLOW_BODY] = A_GET,     [R_WS_CHAT] = A_GET,
    [R_OTHER] = 0,
};

enum method { M_GET, M_HEAD, M_POST, M_PUT, M_DELETE, M_PATCH, M_OPTIONS, M_OTHER, M_COUNT };
static const char *const method_names[M_COUNT] = {"GET",    "HEAD",  "POST",    "PUT",
                                                  "DELETE", "PATCH", "OPTIONS", "OTHER"};

static enum method method_of(const char *m)
{
    for (int i = 0; i < M_OTHER; i++)
        if (strcmp(m, method_names[i]) == 0)
            return (enum method)i;
    return M_OTHER;
}

enum kv_cmd { KV_PING, KV_SET, KV_GET, KV_INCR, KV_OTHER, KV_CMD_COUNT };
static const char *const kv_cmd_names[KV_CMD_COUNT] = {"PING", "SET", "GET", "INCR", "other"};

struct path_slot {
    char *key; /* "METHOD /path"; NULL when free */
    uint64_t count;
};

/* A connection parked by /delay, /hang or /slow-body until due_us. */
enum park_kind { PARK_DELAY, PARK_HANG, PARK_SLOW };
struct park {
    struct MHD_Connection *conn;
    int64_t due_us;      /* INT64_MAX for /hang */
    size_t idx;          /* heap index, NOT_PARKED; guarded by park_lock */
    atomic_bool aborted; /* resumed to be closed (stop, or the client left) */
    bool suspended;      /* MHD thread only: suspended and not yet re-entered */
};

struct cart_line {
    uint8_t id;
    uint32_t qty;
};

struct session {
    uint64_t seq; /* 0 = free */
    uint64_t secret;
    char user[USER_MAX + 1];
    unsigned nlines;
    struct cart_line lines[CART_LINES];
};

struct kv_entry {
    char *key;
    char *val;
};

struct kv_conn {
    struct kv_conn *prev, *next;
    int fd;
    uint32_t events; /* what epoll currently watches */
    bool closing;    /* close once the output is flushed */
    size_t in_len;
    struct sbuf out;
    size_t out_off;
    char in[KV_IN_CAP];
};

/* A chat room: its members are linked through ws_conn.rprev/rnext. */
struct ws_room {
    struct ws_room *next; /* hash chain */
    struct ws_conn *members;
    size_t nmembers;
    size_t name_len;
    char name[]; /* NUL-terminated */
};

/* An upgraded WebSocket connection. Created by the MHD thread that ran
 * the upgrade, then owned by the WS thread (or by stop). */
struct ws_conn {
    struct ws_conn *prev, *next; /* t->ws_conns; next only while pending */
    struct ws_conn *rprev, *rnext;
    struct ws_conn *dirty_next; /* t->ws_dirty while dirty */
    struct hn_demo_target *t;
    int fd;
    struct MHD_UpgradeResponseHandle *urh;
    wslay_event_context_ptr ctx;
    uint32_t events; /* what epoll currently watches */
    bool dirty;      /* needs a send and an epoll re-arm */
    bool dead;       /* dropped; freed after the current epoll batch */
    bool lingering;  /* our close frame is out: drain until EOF or linger_until */
    int64_t linger_until;
    struct ws_room *room;
    char user[USER_MAX + 1];
    char *extra; /* bytes MHD read past the handshake, served first */
    size_t extra_len, extra_off;
    size_t read_budget; /* bytes one event may read: a flood cannot hold the thread */
};

struct hn_demo_target {
    struct MHD_Daemon *mhd;
    int http_fd;
    uint16_t http_port, kv_port;

    /* Counters: atomics, plus the path map under paths_lock. */
    atomic_uint_fast64_t total;
    atomic_uint_fast64_t by_route[R_COUNT][M_COUNT];
    atomic_uint_fast64_t kv_counts[KV_CMD_COUNT];
    pthread_mutex_t paths_lock;
    struct path_slot *paths; /* PATHS_CAP slots */
    size_t npaths;
    uint64_t paths_other;

    /* Sessions: slot = seq % SESSIONS, so a new login evicts the oldest. */
    pthread_mutex_t sess_lock;
    struct session *sessions;
    uint64_t next_seq;
    uint64_t rng; /* xorshift state for secrets, under sess_lock */
    atomic_uint_fast64_t checkouts;

    /* Shared, prebuilt responses (MHD responses are refcounted). */
    struct MHD_Response *r_root, *r_json, *r_items, *r_item[ITEM_COUNT + 1], *r_not_found;

    /* Parked connections: a min-heap on due_us. */
    pthread_mutex_t park_lock;
    pthread_cond_t park_cond;
    struct park **heap;
    size_t heap_len, heap_cap;
    bool stopping; /* under park_lock */
    bool park_started;
    pthread_t park_thread;
    atomic_int parked; /* suspended connections not yet re-entered */

    /* KV service, touched only by its thread after start. */
    int kv_fd, kv_ep, kv_ev;
    bool kv_started;
    pthread_t kv_thread;
    struct kv_conn *kv_conns;
    size_t kv_nconns;
    struct kv_entry *kv_table; /* KV_SLOTS slots */
    size_t kv_nkeys;

    /* WebSocket chat. Counters and ws_live are atomics; ws_pending and
     * ws_stopping are under ws_lock; the rest is the WS thread's. */
    atomic_uint_fast64_t ws_connections, ws_messages_in, ws_messages_out;
    atomic_int ws_live; /* accepted handshakes not yet closed */
    atomic_bool ws_closed; /* stop began: refuse handshakes */
    pthread_mutex_t ws_lock;
    struct ws_conn *ws_pending; /* handed over by MHD, not yet registered */
    bool ws_stopping;
    int ws_ep, ws_ev;
    bool ws_started;
    pthread_t ws_thread;
    struct ws_conn *ws_conns;
    struct ws_conn *ws_dead;  /* dropped in this batch, via next */
    struct ws_conn *ws_dirty; /* via dirty_next */
    size_t ws_nlinger;
    struct ws_room **ws_rooms; /* WS_ROOM_SLOTS chains */
};

static void count_path(struct hn_demo_target *t, const char *key, size_t n)
{
    pthread_mutex_lock(&t->paths_lock);
    if (n > PATH_KEY_MAX) {
        t->paths_other++;
        goto out;
    }
    size_t i = fnv1a(key, n) & (PATHS_CAP - 1);
    for (;;) {
        struct path_slot *s = &t->paths[i];
        if (s->key == NULL)
            break;
        if (strcmp(s->key, key) == 0) {
            s->count++;
            goto out;
        }
        i = (i + 1) & (PATHS_CAP - 1);
    }
    if (t->npaths >= PATHS_MAX) {
        t->paths_other++;
        goto out;
    }
    t->paths[i].key = strdup(key);
    if (t->paths[i].key == NULL) {
        t->paths_other++;
        goto out;
    }
    t->paths[i].count = 1;
    t->npaths++;
out:
    pthread_mutex_unlock(&t->paths_lock);
}

static void count_request(struct hn_demo_target *t, enum route r, enum method m, const char *path)
{
    atomic_fetch_add_explicit(&t->total, 1, memory_order_relaxed);
    atomic_fetch_add_explicit(&t->by_route[r][m], 1, memory_order_relaxed);
    char key[PATH_KEY_MAX + 2];
    int n = snprintf(key, sizeof key, "%s %s", method_names[m], path);
    count_path(t, key, n < 0 ? SIZE_MAX : (size_t)n);
}

static void reset_counts(struct hn_demo_target *t)
{
    atomic_store(&t->total, 0);
    for (int r = 0; r < R_COUNT; r++)
        for (int m = 0; m < M_COUNT; m++)
            atomic_store(&t->by_route[r][m], 0);
    for (int k = 0; k < KV_CMD_COUNT; k++)
        atomic_store(&t->kv_counts[k], 0);
    atomic_store(&t->ws_connections, 0);
    atomic_store(&t->ws_messages_in, 0);
    atomic_store(&t->ws_messages_out, 0);
    pthread_mutex_lock(&t->paths_lock);
    for (size_t i = 0; i < PATHS_CAP; i++) {
        free(t->paths[i].key);
        t->paths[i].key = NULL;
        t->paths[i].count = 0;
    }
    t->npaths = 0;
    t->paths_other = 0;
    pthread_mutex_unlock(&t->paths_lock);
}

static void counts_json(struct hn_demo_target *t, struct sbuf *b)
{
    sb_printf(b, "{\"total\":%llu,\"by_route\":{", (unsigned long long)atomic_load(&t->total));
    bool first = true;
    for (int r = 0; r < R_COUNT; r++) {
        for (int m = 0; m < M_COUNT; m++) {
            uint64_t v = atomic_load(&t->by_route[r][m]);
            if (v == 0)
                continue;
            sb_printf(b, "%s\"%s %s\":%llu", first ? "" : ",", method_names[m], route_names[r],
                      (unsigned long long)v);
            first = false;
        }
    }
    sb_puts(b, "},\"by_path\":{");
    first = true;
    pthread_mutex_lock(&t->paths_lock);
    for (size_t i = 0; i < PATHS_CAP; i++) {
        const struct path_slot *s = &t->paths[i];
        if (s->key == NULL)
            continue;
        if (!first)
            sb_addc(b, ',');
        sb_json_str(b, s->key, strlen(s->key));
        sb_printf(b, ":%llu", (unsigned long long)s->count);
        first = false;
    }
    if (t->paths_other > 0)
        sb_printf(b, "%s\"(other)\":%llu", first ? "" : ",", (unsigned long long)t->paths_other);
    pthread_mutex_unlock(&t->paths_lock);
    sb_puts(b, "},\"kv\":{");
    first = true;
    for (int k = 0; k < KV_CMD_COUNT; k++) {
        uint64_t v = atomic_load(&t->kv_counts[k]);
        if (v == 0)
            continue;
        sb_printf(b, "%s\"%s\":%llu", first ? "" : ",", kv_cmd_names[k], (unsigned long long)v);
        first = false;
    }
    sb_printf(b,
              "},\"ws_connections\":%llu,\"ws_messages_in\":%llu,\"ws_messages_out\":%llu,"
              "\"ws_open\":%d}\n",
              (unsigned long long)atomic_load(&t->ws_connections),
              (unsigned long long)atomic_load(&t->ws_messages_in),
              (unsigned long long)atomic_load(&t->ws_messages_out), atomic_load(&t->ws_live));
}

/* ---------------------------------------------------------------------- */
/* Parking: suspended connections resumed by a timer thread                */

static void heap_swap(struct park **h, size_t a, size_t b)
{
    struct park *x = h[a];
    h[a] = h[b];
    h[b] = x;
    h[a]->idx = a;
    h[b]->idx = b;
}

static void heap_up(struct park **h, size_t i)
{
    while (i > 0) {
        size_t p = (i - 1) / 2;
        if (h[p]->due_us <= h[i]->due_us)
            break;
        heap_swap(h, p, i);
        i = p;
    }
}

static void heap_down(struct park **h, size_t len, size_t i)
{
    for (;;) {
        size_t l = 2 * i + 1, r = l + 1, m = i;
        if (l < len && h[l]->due_us < h[m]->due_us)
            m = l;
        if (r < len && h[r]->due_us < h[m]->due_us)
            m = r;
        if (m == i)
            return;
        heap_swap(h, i, m);
        i = m;
    }
}

/* Caller holds park_lock. */
static void heap_remove(struct hn_demo_target *t, struct park *p)
{
    size_t i = p->idx;
    if (i == NOT_PARKED)
        return;
    p->idx = NOT_PARKED;
    t->heap_len--;
    if (i == t->heap_len)
        return;
    t->heap[i] = t->heap[t->heap_len];
    t->heap[i]->idx = i;
    heap_up(t->heap, i);
    heap_down(t->heap, t->heap_len, t->heap[i]->idx);
}

/* Suspends the connection (MHD thread, from the access handler or the
 * content reader) until due_us; MHD calls back when it is resumed, and the
 * caller must then call unpark(). Suspending before queueing means the
 * timer can never resume a connection that is not suspended yet. */
static void park(struct hn_demo_target *t, struct park *p, struct MHD_Connection *conn,
                 int64_t due_us)
{
    p->conn = conn;
    p->due_us = due_us;
    MHD_suspend_connection(conn);
    p->suspended = true;
    atomic_fetch_add(&t->parked, 1);
    pthread_mutex_lock(&t->park_lock);
    bool queued = false;
    if (!t->stopping) {
        if (t->heap_len == t->heap_cap) {
            size_t cap = t->heap_cap ? t->heap_cap * 2 : 256;
            struct park **h = realloc(t->heap, cap * sizeof *h);
            if (h != NULL) {
                t->heap = h;
                t->heap_cap = cap;
            }
        }
        if (t->heap_len < t->heap_cap) {
            p->idx = t->heap_len;
            t->heap[t->heap_len++] = p;
            heap_up(t->heap, p->idx);
            if (p->idx == 0)
                pthread_cond_signal(&t->park_cond);
            queued = true;
        }
    }
    if (!queued) {
        atomic_store(&p->aborted, true);
        MHD_resume_connection(conn);
    }
    pthread_mutex_unlock(&t->park_lock);
}

/* Called on the MHD thread when a parked connection comes back (or is
 * finished). Returns false when the connection must be closed. */
static bool unpark(struct hn_demo_target *t, struct park *p)
{
    if (p->suspended) {
        p->suspended = false;
        atomic_fetch_sub(&t->parked, 1);
    }
    if (p->conn != NULL) {
        /* Normally already out of the heap; this only matters if MHD ever
         * finished a connection we thought suspended. idx is guarded by
         * park_lock, so it is only read under it. */
        pthread_mutex_lock(&t->park_lock);
        heap_remove(t, p);
        pthread_mutex_unlock(&t->park_lock);
    }
    return !atomic_load(&p->aborted);
}

/* True when the client of a suspended connection has gone (EOF or error).
 * MHD does not watch suspended sockets, so /hang would otherwise keep the
 * fd until shutdown. */
static bool peer_gone(struct MHD_Connection *conn)
{
    const union MHD_ConnectionInfo *ci =
        MHD_get_connection_info(conn, MHD_CONNECTION_INFO_CONNECTION_FD);
    if (ci == NULL)
        return false;
    char c;
    ssize_t n = recv(ci->connect_fd, &c, 1, MSG_PEEK | MSG_DONTWAIT);
    if (n > 0)
        return false;
    return n == 0 || (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR);
}

static void *park_main(void *arg)
{
    struct hn_demo_target *t = arg;
    int64_t next_sweep = now_us() + SWEEP_US;
    pthread_mutex_lock(&t->park_lock);
    while (!t->stopping) {
        int64_t now = now_us();
        while (t->heap_len > 0 && t->heap[0]->due_us <= now) {
            struct park *p = t->heap[0];
            heap_remove(t, p);
            MHD_resume_connection(p->conn);
        }
        if (now >= next_sweep) {
            for (size_t i = 0; i < t->heap_len;) {
                struct park *p = t->heap[i];
                if (peer_gone(p->conn)) {
                    heap_remove(t, p);
                    atomic_store(&p->aborted, true);
                    MHD_resume_connection(p->conn);
                } else {
                    i++;
                }
            }
            next_sweep = now + SWEEP_US;
        }
        int64_t wake = next_sweep;
        if (t->heap_len > 0 && t->heap[0]->due_us < wake)
            wake = t->heap[0]->due_us;
        struct timespec ts = {.tv_sec = wake / 1000000, .tv_nsec = (wake % 1000000) * 1000};
        pthread_cond_timedwait(&t->park_cond, &t->park_lock, &ts);
    }
    /* Stopping: everything parked is resumed to be closed. */
    while (t->heap_len > 0) {
        struct park *p = t->heap[0];
        heap_remove(t, p);
        atomic_store(&p->aborted, true);
        MHD_resume_connection(p->conn);
    }
    pthread_mutex_unlock(&t->park_lock);
    return NULL;
}

/* ---------------------------------------------------------------------- */
/* Sessions and carts                                                      */

static uint64_t next_random(struct hn_demo_target *t)
{
    /* xorshift64*, seeded from getrandom(); tokens need only be unguessable
     * enough that one user cannot stumble onto another's cart. */
    uint64_t x = t->rng;
    x ^= x >> 12;
    x ^= x << 25;
    x ^= x >> 27;
    t->rng = x;
    return x * 2685821657736338717ULL;
}

static void session_create(struct hn_demo_target *t, const char *user, char *token, size_t len)
{
    pthread_mutex_lock(&t->sess_lock);
    uint64_t seq = ++t->next_seq;
    struct session *s = &t->sessions[seq & (SESSIONS - 1)];
    memset(s, 0, sizeof *s);
    s->seq = seq;
    s->secret = next_random(t);
    snprintf(s->user, sizeof s->user, "%s", user);
    snprintf(token, len, "%llx.%016llx", (unsigned long long)seq, (unsigned long long)s->secret);
    pthread_mutex_unlock(&t->sess_lock);
}

/* Finds the session named by the request's cookie and returns it with
 * sess_lock HELD, or NULL (lock not held). */
static struct session *session_lock(struct hn_demo_target *t, struct MHD_Connection *c)
{
    const char *tok = MHD_lookup_connection_value(c, MHD_COOKIE_KIND, "session");
    if (tok == NULL)
        return NULL;
    char *end;
    errno = 0;
    unsigned long long seq = strtoull(tok, &end, 16);
    if (errno != 0 || end == tok || *end != '.' || seq == 0)
        return NULL;
    const char *sec = end + 1;
    if (strlen(sec) != 16)
        return NULL;
    unsigned long long secret = strtoull(sec, &end, 16);
    if (*end != '\0')
        return NULL;
    pthread_mutex_lock(&t->sess_lock);
    struct session *s = &t->sessions[seq & (SESSIONS - 1)];
    if (s->seq == seq && s->secret == secret)
        return s;
    pthread_mutex_unlock(&t->sess_lock);
    return NULL;
}

static unsigned cart_count(const struct session *s)
{
    unsigned n = 0;
    for (unsigned i = 0; i < s->nlines; i++)
        n += s->lines[i].qty;
    return n;
}

/* ---------------------------------------------------------------------- */
/* HTTP responses                                                          */

static const char CT_JSON[] = "application/json";
static const char CT_TEXT[] = "text/plain; charset=utf-8";

static struct MHD_Response *make_response(const char *ctype, char *data, size_t len,
                                          enum MHD_ResponseMemoryMode mode)
{
    struct MHD_Response *r = MHD_create_response_from_buffer(len, data, mode);
    if (r == NULL)
        return NULL;
    if (MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE, ctype) != MHD_YES) {
        MHD_destroy_response(r);
        return NULL;
    }
    return r;
}

static enum MHD_Result queue(struct MHD_Connection *c, unsigned status, struct MHD_Response *r)
{
    if (r == NULL)
        return MHD_NO;
    enum MHD_Result ret = MHD_queue_response(c, status, r);
    MHD_destroy_response(r);
    return ret;
}

static enum MHD_Result send_shared(struct MHD_Connection *c, unsigned status,
                                   struct MHD_Response *r)
{
    return r == NULL ? MHD_NO : MHD_queue_response(c, status, r);
}

static enum MHD_Result send_text(struct MHD_Connection *c, unsigned status, const char *ctype,
                                 const char *body)
{
    return queue(c, status,
                 make_response(ctype, (char *)body, strlen(body), MHD_RESPMEM_MUST_COPY));
}

/* Sends b's bytes (taking ownership of them) as JSON. */
static enum MHD_Result send_sbuf(struct MHD_Connection *c, unsigned status, struct sbuf *b)
{
    if (b->oom) {
        sb_free(b);
        return MHD_NO;
    }
    struct MHD_Response *r = make_response(CT_JSON, b->p, b->len, MHD_RESPMEM_MUST_FREE);
    if (r == NULL) {
        sb_free(b);
        return MHD_NO;
    }
    b->p = NULL;
    return queue(c, status, r);
}

static enum MHD_Result send_error(struct MHD_Connection *c, unsigned status, const char *msg)
{
    struct sbuf b = {0};
    sb_puts(&b, "{\"error\":");
    sb_json_str(&b, msg, strlen(msg));
    sb_puts(&b, "}\n");
    return send_sbuf(c, status, &b);
}

static enum MHD_Result send_405(struct MHD_Connection *c, enum route r)
{
    struct MHD_Response *resp =
        make_response(CT_JSON, (char *)"{\"error\":\"method not allowed\"}\n",
                      strlen("{\"error\":\"method not allowed\"}\n"), MHD_RESPMEM_PERSISTENT);
    if (resp == NULL)
        return MHD_NO;
    const char *allow = route_allow[r] == A_POST             ? "POST"
                        : route_allow[r] == (A_GET | A_POST) ? "GET, HEAD, POST"
                                                             : "GET, HEAD";
    MHD_add_response_header(resp, MHD_HTTP_HEADER_ALLOW, allow);
    return queue(c, MHD_HTTP_METHOD_NOT_ALLOWED, resp);
}

static int build_shared(struct hn_demo_target *t)
{
    static char root[] = "hornet demo target\n";
    t->r_root = make_response(CT_TEXT, root, strlen(root), MHD_RESPMEM_PERSISTENT);
    static char nf[] = "{\"error\":\"not found\"}\n";
    t->r_not_found = make_response(CT_JSON, nf, strlen(nf), MHD_RESPMEM_PERSISTENT);

    struct sbuf b = {0};
    sb_puts(&b, "{\"shop\":{\"name\":\"Hornet Demo Shop\",\"currency\":\"EUR\",\"open\":true,"
                "\"categories\":[\"tools\",\"home\",\"outdoor\"],\"featured\":[");
    for (int id = 1; id <= 3; id++) {
        if (id > 1)
            sb_addc(&b, ',');
        sb_item(&b, id);
    }
    sb_puts(&b, "],\"item_count\":100}}\n");
    if (!b.oom && (t->r_json = make_response(CT_JSON, b.p, b.len, MHD_RESPMEM_MUST_FREE)) != NULL)
        b.p = NULL;
    sb_free(&b);

    sb_puts(&b, "{\"items\":[");
    for (int id = 1; id <= ITEMS_LISTED; id++) {
        if (id > 1)
            sb_addc(&b, ',');
        sb_item(&b, id);
    }
    sb_printf(&b, "],\"total\":%d}\n", ITEM_COUNT);
    if (!b.oom && (t->r_items = make_response(CT_JSON, b.p, b.len, MHD_RESPMEM_MUST_FREE)) != NULL)
        b.p = NULL;
    sb_free(&b);

    for (int id = 1; id <= ITEM_COUNT; id++) {
        sb_item(&b, id);
        sb_addc(&b, '\n');
        if (!b.oom &&
            (t->r_item[id] = make_response(CT_JSON, b.p, b.len, MHD_RESPMEM_MUST_FREE)) != NULL)
            b.p = NULL;
        sb_free(&b);
        if (t->r_item[id] == NULL)
            return -1;
    }
    return t->r_root && t->r_not_found && t->r_json && t->r_items ? 0 : -1;
}

static void free_shared(struct hn_demo_target *t)
{
    struct MHD_Response **all[] = {&t->r_root, &t->r_json, &t->r_items, &t->r_not_found};
    for (size_t i = 0; i < sizeof all / sizeof all[0]; i++) {
        if (*all[i] != NULL)
            MHD_destroy_response(*all[i]);
        *all[i] = NULL;
    }
    for (int id = 0; id <= ITEM_COUNT; id++) {
        if (t->r_item[id] != NULL)
            MHD_destroy_response(t->r_item[id]);
        t->r_item[id] = NULL;
    }
}

/* ---------------------------------------------------------------------- */
/* Request state and handlers                                              */

struct req {
    struct hn_demo_target *t;
    bool done;         /* complete request seen (and counted) */
    bool parked_route; /* /delay or /hang parked */
    bool body_too_big;
    bool http11;      /* HTTP/1.1 request (a WebSocket handshake needs it) */
    bool ws_reserved; /* holds a ws_live slot until the upgrade handler takes it */
    enum route route;
    double delay_s;
    struct sbuf body;
    struct park park;
};

/* /slow-body state; owned by its response (freed by MHD via slow_free),
 * which may outlive the request's own state. */
struct slow {
    struct hn_demo_target *t;
    struct MHD_Connection *conn;
    int64_t start_us, dur_us;
    struct park park;
};

static const char x_block[4096] = {[0 ... 4095] = 'x'};

static ssize_t bytes_read(void *cls, uint64_t pos, char *buf, size_t max)
{
    uint64_t total = (uint64_t)(uintptr_t)cls;
    if (pos >= total)
        return MHD_CONTENT_READER_END_OF_STREAM;
    size_t n = max;
    if (n > total - pos)
        n = (size_t)(total - pos);
    for (size_t off = 0; off < n;) {
        size_t k = n - off < sizeof x_block ? n - off : sizeof x_block;
        memcpy(buf + off, x_block, k);
        off += k;
    }
    return (ssize_t)n;
}

static ssize_t slow_read(void *cls, uint64_t pos, char *buf, size_t max)
{
    struct slow *s = cls;
    if (!unpark(s->t, &s->park))
        return MHD_CONTENT_READER_END_WITH_ERROR;
    const uint64_t total = SLOW_PIECES * SLOW_PIECE_LEN;
    if (pos >= total)
        return MHD_CONTENT_READER_END_OF_STREAM;
    int64_t elapsed = now_us() - s->start_us;
    uint64_t pieces = SLOW_PIECES;
    if (s->dur_us > 0 && elapsed < s->dur_us)
        pieces = (uint64_t)elapsed * SLOW_PIECES / (uint64_t)s->dur_us;
    uint64_t due = pieces * SLOW_PIECE_LEN;
    if (pos < due) {
        size_t n = (size_t)(due - pos) < max ? (size_t)(due - pos) : max;
        for (size_t i = 0; i < n; i++)
            buf[i] = (pos + i) % SLOW_PIECE_LEN == SLOW_PIECE_LEN - 1 ? '\n' : 'x';
        return (ssize_t)n;
    }
    /* Nothing due yet: sleep until the next piece instead of being polled. */
    uint64_t next = pos / SLOW_PIECE_LEN + 1;
    int64_t due_us = s->start_us + (int64_t)((uint64_t)s->dur_us * next / SLOW_PIECES);
    park(s->t, &s->park, s->conn, due_us);
    return 0;
}

static void slow_free(void *cls)
{
    struct slow *s = cls;
    unpark(s->t, &s->park);
    free(s);
}

static enum MHD_Result h_status(struct MHD_Connection *c, const char *arg)
{
    unsigned long code;
    if (!parse_uint(arg, 999, &code) || code < 100 || code > 599)
        return send_error(c, MHD_HTTP_BAD_REQUEST, "status code must be 100..599");
    char body[48];
    /* 1xx, 204 and 304 responses carry no body. */
    if (code < 200 || code == 204 || code == 304)
        body[0] = '\0';
    else
        snprintf(body, sizeof body, "{\"status\":%lu}\n", code);
    struct MHD_Response *r = make_response(CT_JSON, body, strlen(body), MHD_RESPMEM_MUST_COPY);
    /* A 1xx is an interim response in HTTP: a client would wait for the
     * final one forever, so close the connection to make it fail fast. */
    if (r != NULL && code < 200)
        MHD_add_response_header(r, MHD_HTTP_HEADER_CONNECTION, "close");
    return queue(c, (unsigned)code, r);
}

static enum MHD_Result send_delay(struct MHD_Connection *c, double s)
{
    char body[64];
    snprintf(body, sizeof body, "{\"delay\":%g}\n", s);
    return send_text(c, MHD_HTTP_OK, CT_JSON, body);
}

static enum MHD_Result h_delay(struct req *rq, struct MHD_Connection *c, const char *arg)
{
    double s;
    if (!parse_seconds(arg, &s))
        return send_error(c, MHD_HTTP_BAD_REQUEST, "delay must be 0..60 seconds");
    if (s <= 0.0)
        return send_delay(c, s);
    rq->delay_s = s;
    rq->parked_route = true;
    park(rq->t, &rq->park, c, now_us() + (int64_t)(s * 1e6));
    return MHD_YES;
}

static enum MHD_Result h_bytes(struct MHD_Connection *c, const char *arg)
{
    unsigned long n;
    if (!parse_uint(arg, BYTES_MAX, &n))
        return send_error(c, MHD_HTTP_BAD_REQUEST, "bytes must be 0..10000000");
    struct MHD_Response *r;
    if (n <= sizeof x_block) {
        r = MHD_create_response_from_buffer(n, (void *)x_block, MHD_RESPMEM_PERSISTENT);
    } else {
        r = MHD_create_response_from_callback(n, 64 * 1024, bytes_read, (void *)(uintptr_t)n, NULL);
    }
    if (r == NULL)
        return MHD_NO;
    MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE, "application/octet-stream");
    return queue(c, MHD_HTTP_OK, r);
}

struct hdr_list {
    size_t n;
    const char *k[64];
    const char *v[64];
};

static enum MHD_Result collect_header(void *cls, enum MHD_ValueKind kind, const char *key,
                                      const char *value)
{
    struct hdr_list *l = cls;
    if (l->n >= sizeof l->k / sizeof l->k[0])
        return MHD_NO;
    l->k[l->n] = key;
    l->v[l->n] = value ? value : "";
    l->n++;
    return MHD_YES;
}

static enum MHD_Result h_headers(struct MHD_Connection *c)
{
    struct hdr_list l = {0};
    MHD_get_connection_values(c, MHD_HEADER_KIND, collect_header, &l);
    struct sbuf b = {0};
    sb_puts(&b, "{\"headers\":{");
    bool first = true;
    for (size_t i = 0; i < l.n; i++) {
        bool seen = false;
        for (size_t j = 0; j < i && !seen; j++)
            seen = strcasecmp(l.k[i], l.k[j]) == 0;
        if (seen)
            continue;
        /* Repeated headers are joined with ", " as RFC 9110 allows. */
        struct sbuf v = {0};
        for (size_t j = i; j < l.n; j++) {
            if (strcasecmp(l.k[i], l.k[j]) != 0)
                continue;
            if (v.len > 0)
                sb_puts(&v, ", ");
            sb_puts(&v, l.v[j]);
        }
        if (!first)
            sb_addc(&b, ',');
        sb_json_str(&b, l.k[i], strlen(l.k[i]));
        sb_addc(&b, ':');
        sb_json_str(&b, v.p ? v.p : "", v.len);
        b.oom |= v.oom;
        sb_free(&v);
        first = false;
    }
    sb_puts(&b, "}}\n");
    return send_sbuf(c, MHD_HTTP_OK, &b);
}

static enum MHD_Result h_redirect(struct MHD_Connection *c, const char *arg)
{
    unsigned long n;
    if (!parse_uint(arg, REDIRECT_MAX, &n) || n < 1)
        return send_error(c, MHD_HTTP_BAD_REQUEST, "redirect count must be 1..10");
    char loc[32], body[64];
    if (n == 1)
        snprintf(loc, sizeof loc, "/");
    else
        snprintf(loc, sizeof loc, "/redirect/%lu", n - 1);
    snprintf(body, sizeof body, "{\"location\":\"%s\"}\n", loc);
    struct MHD_Response *r = make_response(CT_JSON, body, strlen(body), MHD_RESPMEM_MUST_COPY);
    if (r == NULL)
        return MHD_NO;
    MHD_add_response_header(r, MHD_HTTP_HEADER_LOCATION, loc);
    return queue(c, MHD_HTTP_FOUND, r);
}

static int hexval(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

/* Finds key in an application/x-www-form-urlencoded body and decodes its
 * value into out. Returns the decoded length, or -1 if absent/too long. */
static int form_value(const char *body, size_t len, const char *key, char *out, size_t cap)
{
    size_t klen = strlen(key);
    for (size_t i = 0; i < len;) {
        size_t end = i;
        while (end < len && body[end] != '&')
            end++;
        if (end - i > klen && memcmp(body + i, key, klen) == 0 && body[i + klen] == '=') {
            size_t n = 0;
            for (size_t j = i + klen + 1; j < end; j++) {
                char ch = body[j];
                if (ch == '+') {
                    ch = ' ';
                } else if (ch == '%' && j + 2 < end + 1 && hexval(body[j + 1]) >= 0 &&
                           hexval(body[j + 2]) >= 0) {
                    ch = (char)(hexval(body[j + 1]) * 16 + hexval(body[j + 2]));
                    j += 2;
                }
                if (ch == '\0' || n + 1 >= cap)
                    return -1;
                out[n++] = ch;
            }
            out[n] = '\0';
            return (int)n;
        }
        i = end + 1;
    }
    return -1;
}

static enum MHD_Result h_login(struct req *rq, struct MHD_Connection *c)
{
    char user[USER_MAX + 1];
    int ulen = -1;
    const char *body = rq->body.p ? rq->body.p : "";
    size_t blen = rq->body.len;
    size_t skip = 0;
    while (skip < blen &&
           (body[skip] == ' ' || body[skip] == '\t' || body[skip] == '\r' || body[skip] == '\n'))
        skip++;
    if (skip < blen && body[skip] == '{') {
        json_error_t jerr;
        json_t *doc = json_loadb(body, blen, 0, &jerr);
        if (doc == NULL)
            return send_error(c, MHD_HTTP_BAD_REQUEST, "body is not valid JSON");
        json_t *u = json_object_get(doc, "user");
        if (json_is_string(u) && json_string_length(u) <= USER_MAX) {
            memcpy(user, json_string_value(u), json_string_length(u) + 1);
            ulen = (int)json_string_length(u);
        }
        json_decref(doc);
    } else {
        ulen = form_value(body, blen, "user", user, sizeof user);
    }
    if (ulen <= 0)
        return send_error(c, MHD_HTTP_BAD_REQUEST, "user (1..64 bytes) is required");

    char token[48], cookie[80];
    session_create(rq->t, user, token, sizeof token);
    snprintf(cookie, sizeof cookie, "session=%s; Path=/", token);
    struct sbuf b = {0};
    sb_puts(&b, "{\"user\":");
    sb_json_str(&b, user, (size_t)ulen);
    sb_puts(&b, "}\n");
    if (b.oom) {
        sb_free(&b);
        return MHD_NO;
    }
    struct MHD_Response *r = make_response(CT_JSON, b.p, b.len, MHD_RESPMEM_MUST_FREE);
    if (r == NULL) {
        sb_free(&b);
        return MHD_NO;
    }
    MHD_add_response_header(r, MHD_HTTP_HEADER_SET_COOKIE, cookie);
    return queue(c, MHD_HTTP_OK, r);
}

static enum MHD_Result h_item(struct hn_demo_target *t, struct MHD_Connection *c, const char *arg)
{
    unsigned long id;
    if (!parse_uint(arg, ITEM_COUNT, &id) || id < 1)
        return send_error(c, MHD_HTTP_NOT_FOUND, "no such item");
    return send_shared(c, MHD_HTTP_OK, t->r_item[id]);
}

static enum MHD_Result h_cart_get(struct hn_demo_target *t, struct MHD_Connection *c)
{
    struct session *s = session_lock(t, c);
    if (s == NULL)
        return send_error(c, MHD_HTTP_UNAUTHORIZED, "login required");
    struct sbuf b = {0};
    sb_puts(&b, "{\"user\":");
    sb_json_str(&b, s->user, strlen(s->user));
    sb_puts(&b, ",\"items\":[");
    long long total = 0;
    for (unsigned i = 0; i < s->nlines; i++) {
        int id = s->lines[i].id;
        char name[40];
        item_name(id, name, sizeof name);
        int cents = item_price_cents(id);
        total += (long long)cents * s->lines[i].qty;
        sb_printf(&b, "%s{\"id\":%d,\"name\":\"%s\",\"price\":%d.%02d,\"qty\":%u}", i ? "," : "",
                  id, name, cents / 100, cents % 100, (unsigned)s->lines[i].qty);
    }
    sb_printf(&b, "],\"count\":%u,\"total\":%lld.%02lld}\n", cart_count(s), total / 100,
              total % 100);
    pthread_mutex_unlock(&t->sess_lock);
    return send_sbuf(c, MHD_HTTP_OK, &b);
}

static enum MHD_Result h_cart_post(struct req *rq, struct MHD_Connection *c)
{
    struct hn_demo_target *t = rq->t;
    json_error_t jerr;
    json_t *doc = json_loadb(rq->body.p ? rq->body.p : "", rq->body.len, 0, &jerr);
    json_int_t id = 0, qty = 1;
    const char *bad = NULL;
    if (!json_is_object(doc)) {
        bad = "body must be a JSON object";
    } else {
        json_t *jid = json_object_get(doc, "item_id");
        json_t *jq = json_object_get(doc, "qty");
        if (!json_is_integer(jid))
            bad = "item_id (integer 1..100) is required";
        else if ((id = json_integer_value(jid)) < 1 || id > ITEM_COUNT)
            bad = "item_id must be 1..100";
        else if (jq != NULL && !json_is_integer(jq))
            bad = "qty must be an integer 1..100";
        else if (jq != NULL && ((qty = json_integer_value(jq)) < 1 || qty > 100))
            bad = "qty must be an integer 1..100";
    }
    json_decref(doc);

    struct session *s = session_lock(t, c);
    if (s == NULL)
        return send_error(c, MHD_HTTP_UNAUTHORIZED, "login required");
    if (bad != NULL) {
        pthread_mutex_unlock(&t->sess_lock);
        return send_error(c, MHD_HTTP_BAD_REQUEST, bad);
    }
    struct cart_line *line = NULL;
    for (unsigned i = 0; i < s->nlines && line == NULL; i++)
        if (s->lines[i].id == id)
            line = &s->lines[i];
    if (line == NULL && s->nlines < CART_LINES) {
        line = &s->lines[s->nlines++];
        line->id = (uint8_t)id;
        line->qty = 0;
    }
    if (line == NULL || line->qty + (uint32_t)qty > CART_QTY_MAX) {
        pthread_mutex_unlock(&t->sess_lock);
        return send_error(c, MHD_HTTP_BAD_REQUEST, "cart is full");
    }
    line->qty += (uint32_t)qty;
    char body[48];
    snprintf(body, sizeof body, "{\"count\":%u}\n", cart_count(s));
    pthread_mutex_unlock(&t->sess_lock);
    return send_text(c, MHD_HTTP_OK, CT_JSON, body);
}

static enum MHD_Result h_checkout(struct hn_demo_target *t, struct MHD_Connection *c)
{
    struct session *s = session_lock(t, c);
    if (s == NULL)
        return send_error(c, MHD_HTTP_UNAUTHORIZED, "login required");
    if (s->nlines == 0) {
        pthread_mutex_unlock(&t->sess_lock);
        return send_error(c, MHD_HTTP_BAD_REQUEST, "cart is empty");
    }
    s->nlines = 0;
    pthread_mutex_unlock(&t->sess_lock);
    uint64_t n = atomic_fetch_add(&t->checkouts, 1) + 1;
    char body[96];
    /* Every 20th checkout is declined with a 200, so plugins must check
     * the content, not just the status. */
    if (n % 20 == 0)
        snprintf(body, sizeof body, "{\"status\":\"declined\",\"reason\":\"card declined\"}\n");
    else
        snprintf(body, sizeof body, "{\"status\":\"ok\",\"order_id\":%llu}\n",
                 (unsigned long long)n);
    return send_text(c, MHD_HTTP_OK, CT_JSON, body);
}

static enum MHD_Result h_slow_body(struct req *rq, struct MHD_Connection *c, const char *arg)
{
    double secs;
    if (!parse_seconds(arg, &secs))
        return send_error(c, MHD_HTTP_BAD_REQUEST, "slow-body must be 0..60 seconds");
    struct slow *s = calloc(1, sizeof *s);
    if (s == NULL)
        return MHD_NO;
    s->t = rq->t;
    s->conn = c;
    s->start_us = now_us();
    s->dur_us = (int64_t)(secs * 1e6);
    s->park.idx = NOT_PARKED;
    struct MHD_Response *r = MHD_create_response_from_callback(
        SLOW_PIECES * SLOW_PIECE_LEN, SLOW_PIECE_LEN, slow_read, s, slow_free);
    if (r == NULL) {
        free(s);
        return MHD_NO;
    }
    MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE, CT_TEXT);
    return queue(c, MHD_HTTP_OK, r);
}

/* True if the comma-separated header value holds token (case-insensitive). */
static bool header_has_token(const char *value, const char *token)
{
    size_t tl = strlen(token);
    const char *p = value;
    while (p != NULL && *p != '\0') {
        while (*p == ' ' || *p == '\t' || *p == ',')
            p++;
        const char *end = strchr(p, ',');
        size_t n = end != NULL ? (size_t)(end - p) : strlen(p);
        while (n > 0 && (p[n - 1] == ' ' || p[n - 1] == '\t'))
            n--;
        if (n == tl && strncasecmp(p, token, tl) == 0)
            return true;
        p = end;
    }
    return false;
}

static void ws_upgraded(void *cls, struct MHD_Connection *c, void *con_cls, const char *extra_in,
                        size_t extra_in_size, MHD_socket sock,
                        struct MHD_UpgradeResponseHandle *urh);

/* GET /ws/chat: the RFC 6455 handshake; the upgraded socket then goes to
 * the WS thread (ws_upgraded). */
static enum MHD_Result h_ws_chat(struct req *rq, struct MHD_Connection *c, enum method m)
{
    struct hn_demo_target *t = rq->t;
    const char *upgrade = MHD_lookup_connection_value(c, MHD_HEADER_KIND, "Upgrade");
    const char *connection = MHD_lookup_connection_value(c, MHD_HEADER_KIND, "Connection");
    const char *version = MHD_lookup_connection_value(c, MHD_HEADER_KIND, "Sec-WebSocket-Version");
    const char *key = MHD_lookup_connection_value(c, MHD_HEADER_KIND, "Sec-WebSocket-Key");
    if (m != M_GET || !rq->http11 || upgrade == NULL || !header_has_token(upgrade, "websocket") ||
        connection == NULL || !header_has_token(connection, "upgrade"))
        return send_error(c, MHD_HTTP_BAD_REQUEST, "websocket upgrade required");
    if (version == NULL || strcmp(version, "13") != 0)
        return send_error(c, MHD_HTTP_BAD_REQUEST, "Sec-WebSocket-Version must be 13");
    /* The key is 16 random bytes in base64: 22 characters and "==". */
    unsigned char nonce[20];
    if (key == NULL || strlen(key) != 24 || key[22] != '=' || key[23] != '=' ||
        EVP_DecodeBlock(nonce, (const unsigned char *)key, 24) != 18)
        return send_error(c, MHD_HTTP_BAD_REQUEST, "bad Sec-WebSocket-Key");
    if (atomic_load(&t->ws_closed))
        return send_error(c, MHD_HTTP_SERVICE_UNAVAILABLE, "shutting down");
    if (atomic_fetch_add(&t->ws_live, 1) >= WS_CONNS_MAX) {
        atomic_fetch_sub(&t->ws_live, 1);
        return send_error(c, MHD_HTTP_SERVICE_UNAVAILABLE, "too many websocket connections");
    }
    rq->ws_reserved = true; /* released by on_completed unless ws_upgraded takes it */

    char buf[24 + sizeof WS_GUID];
    memcpy(buf, key, 24);
    memcpy(buf + 24, WS_GUID, sizeof WS_GUID);
    unsigned char digest[SHA_DIGEST_LENGTH];
    SHA1((const unsigned char *)buf, 24 + sizeof WS_GUID - 1, digest);
    char accept[4 * ((SHA_DIGEST_LENGTH + 2) / 3) + 1];
    EVP_EncodeBlock((unsigned char *)accept, digest, SHA_DIGEST_LENGTH);

    struct MHD_Response *r = MHD_create_response_for_upgrade(ws_upgraded, t);
    if (r == NULL)
        return MHD_NO;
    if (MHD_add_response_header(r, MHD_HTTP_HEADER_UPGRADE, "websocket") != MHD_YES ||
        MHD_add_response_header(r, "Sec-WebSocket-Accept", accept) != MHD_YES) {
        MHD_destroy_response(r);
        return MHD_NO;
    }
    enum MHD_Result ret = queue(c, MHD_HTTP_SWITCHING_PROTOCOLS, r);
    if (ret == MHD_YES)
        atomic_fetch_add_explicit(&t->ws_connections, 1, memory_order_relaxed);
    return ret;
}

/* Maps a path to its route; *arg gets the trailing parameter if any. */
static enum route classify(const char *url, const char **arg)
{
    static const struct {
        const char *path;
        enum route r;
    } exact[] = {
        {"/", R_ROOT},       {"/json", R_JSON}, {"/headers", R_HEADERS},   {"/login", R_LOGIN},
        {"/items", R_ITEMS}, {"/cart", R_CART}, {"/checkout", R_CHECKOUT}, {"/drop", R_DROP},
        {"/hang", R_HANG},   {"/ws/chat", R_WS_CHAT}};
    static const struct {
        const char *prefix;
        enum route r;
    } param[] = {{"/status/", R_STATUS},     {"/delay/", R_DELAY}, {"/bytes/", R_BYTES},
                 {"/redirect/", R_REDIRECT}, {"/item/", R_ITEM},   {"/slow-body/", R_SLOW_BODY}};
    *arg = "";
    for (size_t i = 0; i < sizeof exact / sizeof exact[0]; i++)
        if (strcmp(url, exact[i].path) == 0)
            return exact[i].r;
    for (size_t i = 0; i < sizeof param / sizeof param[0]; i++) {
        size_t n = strlen(param[i].prefix);
        if (strncmp(url, param[i].prefix, n) == 0 && url[n] != '\0' &&
            strchr(url + n, '/') == NULL) {
            *arg = url + n;
            return param[i].r;
        }
    }
    return R_OTHER;
}

static enum MHD_Result dispatch(struct req *rq, struct MHD_Connection *c, enum route r,
                                enum method m, const char *arg)
{
    struct hn_demo_target *t = rq->t;
    if (r == R_OTHER)
        return send_shared(c, MHD_HTTP_NOT_FOUND, t->r_not_found);
    unsigned want = (m == M_GET || m == M_HEAD) ? A_GET : m == M_POST ? A_POST : 0;
    if ((route_allow[r] & want) == 0)
        return send_405(c, r);
    if (rq->body_too_big)
        return send_error(c, MHD_HTTP_CONTENT_TOO_LARGE, "request body too large");
    switch (r) {
    case R_ROOT:
        return send_shared(c, MHD_HTTP_OK, t->r_root);
    case R_STATUS:
        return h_status(c, arg);
    case R_DELAY:
        return h_delay(rq, c, arg);
    case R_BYTES:
        return h_bytes(c, arg);
    case R_JSON:
        return send_shared(c, MHD_HTTP_OK, t->r_json);
    case R_HEADERS:
        return h_headers(c);
    case R_REDIRECT:
        return h_redirect(c, arg);
    case R_LOGIN:
        return h_login(rq, c);
    case R_ITEMS:
        return send_shared(c, MHD_HTTP_OK, t->r_items);
    case R_ITEM:
        return h_item(t, c, arg);
    case R_CART:
        return m == M_POST ? h_cart_post(rq, c) : h_cart_get(t, c);
    case R_CHECKOUT:
        return h_checkout(t, c);
    case R_DROP:
        return MHD_NO; /* MHD closes the connection without a response */
    case R_HANG:
        rq->parked_route = true;
        park(t, &rq->park, c, INT64_MAX);
        return MHD_YES;
    case R_SLOW_BODY:
        return h_slow_body(rq, c, arg);
    case R_WS_CHAT:
        return h_ws_chat(rq, c, m);
    case R_OTHER:
    case R_COUNT:
        break;
    }
    return send_shared(c, MHD_HTTP_NOT_FOUND, t->r_not_found);
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *c, const char *url,
                                  const char *method, const char *version, const char *upload_data,
                                  size_t *upload_data_size, void **con_cls)
{
    struct hn_demo_target *t = cls;
    struct req *rq = *con_cls;
    if (rq == NULL) {
        /* First call: headers only. Answering now would make MHD 0.9.75
         * close the connection, so only set up state. */
        rq = calloc(1, sizeof *rq);
        if (rq == NULL)
            return MHD_NO;
        rq->t = t;
        rq->park.idx = NOT_PARKED;
        rq->http11 = strcmp(version, MHD_HTTP_VERSION_1_1) == 0;
        *con_cls = rq;
        return MHD_YES;
    }
    if (*upload_data_size > 0) {
        if (rq->body.len + *upload_data_size > BODY_MAX)
            rq->body_too_big = true;
        else
            sb_add(&rq->body, upload_data, *upload_data_size);
        *upload_data_size = 0;
        return MHD_YES;
    }
    if (rq->parked_route) {
        /* Back from the park thread: the delay is over, or we are closing. */
        if (!unpark(t, &rq->park) || rq->route == R_HANG)
            return MHD_NO;
        rq->parked_route = false;
        return send_delay(c, rq->delay_s);
    }
    if (rq->done)
        return MHD_NO; /* not expected: a response is already queued */
    rq->done = true;
    if (rq->body.oom)
        return MHD_NO;

    enum method m = method_of(method);
    if (strcmp(url, "/__counts") == 0 || strcmp(url, "/__reset") == 0) {
        bool counts = strcmp(url, "/__counts") == 0;
        if (counts && (m == M_GET || m == M_HEAD)) {
            struct sbuf b = {0};
            counts_json(t, &b);
            return send_sbuf(c, MHD_HTTP_OK, &b);
        }
        if (!counts && m == M_POST) {
            reset_counts(t);
            return send_text(c, MHD_HTTP_OK, CT_JSON, "{\"status\":\"ok\"}\n");
        }
        return send_text(c, MHD_HTTP_METHOD_NOT_ALLOWED, CT_JSON,
                         "{\"error\":\"method not allowed\"}\n");
    }
    const char *arg;
    enum route r = classify(url, &arg);
    rq->route = r;
    count_request(t, r, m, url);
    return dispatch(rq, c, r, m, arg);
}

static void on_completed(void *cls, struct MHD_Connection *c, void **con_cls,
                         enum MHD_RequestTerminationCode toe)
{
    struct req *rq = *con_cls;
    if (rq == NULL)
        return;
    unpark(rq->t, &rq->park);
    if (rq->ws_reserved) /* the 101 never made it to the upgrade handler */
        atomic_fetch_sub(&rq->t->ws_live, 1);
    sb_free(&rq->body);
    free(rq);
    *con_cls = NULL;
}

__attribute__((format(printf, 2, 0))) static void on_mhd_log(void *cls, const char *fmt, va_list ap)
{
    char msg[512];
    vsnprintf(msg, sizeof msg, fmt, ap);
    size_t n = strlen(msg);
    while (n > 0 && (msg[n - 1] == '\n' || msg[n - 1] == '\r'))
        msg[--n] = '\0';
    hn_logf(HN_DEBUG, "demo-target: %s", msg);
}

/* ---------------------------------------------------------------------- */
/* KV service                                                              */

static struct kv_entry *kv_find(struct hn_demo_target *t, const char *key, size_t klen, bool *found)
{
    size_t i = fnv1a(key, klen) & (KV_SLOTS - 1);
    for (;;) {
        struct kv_entry *e = &t->kv_table[i];
        if (e->key == NULL) {
            *found = false;
            return e;
        }
        if (strlen(e->key) == klen && memcmp(e->key, key, klen) == 0) {
            *found = true;
            return e;
        }
        i = (i + 1) & (KV_SLOTS - 1);
    }
}

/* Stores a copy of val under key; returns an error line or NULL. */
static const char *kv_store(struct hn_demo_target *t, const char *key, size_t klen, const char *val,
                            size_t vlen)
{
    bool found;
    struct kv_entry *e = kv_find(t, key, klen, &found);
    if (!found && t->kv_nkeys >= KV_KEYS_MAX)
        return "-ERR too many keys\r\n";
    char *v = strndup(val, vlen);
    if (v == NULL)
        return "-ERR out of memory\r\n";
    if (!found) {
        e->key = strndup(key, klen);
        if (e->key == NULL) {
            free(v);
            return "-ERR out of memory\r\n";
        }
        t->kv_nkeys++;
    }
    free(e->val);
    e->val = v;
    return NULL;
}

/* Handles one command line (without its line ending). */
static void kv_command(struct hn_demo_target *t, struct kv_conn *kc, char *line, size_t len)
{
    size_t i = 0;
    while (i < len && line[i] == ' ')
        i++;
    if (i == len)
        return; /* empty lines are ignored, as Redis's inline protocol does */
    size_t c0 = i;
    while (i < len && line[i] != ' ')
        i++;
    size_t clen = i - c0;
    while (i < len && line[i] == ' ')
        i++;
    size_t k0 = i;
    while (i < len && line[i] != ' ')
        i++;
    size_t klen = i - k0;
    size_t v0 = i < len ? i + 1 : len;
    const char *cmd = line + c0, *key = line + k0;
    struct sbuf *o = &kc->out;

    enum kv_cmd which = KV_OTHER;
    for (int k = 0; k < KV_OTHER; k++)
        if (strlen(kv_cmd_names[k]) == clen && strncasecmp(cmd, kv_cmd_names[k], clen) == 0)
            which = (enum kv_cmd)k;
    atomic_fetch_add_explicit(&t->kv_counts[which], 1, memory_order_relaxed);

    switch (which) {
    case KV_PING:
        sb_puts(o, "+PONG\r\n");
        break;
    case KV_SET: {
        if (klen == 0 || v0 > len || i >= len) {
            sb_puts(o, "-ERR usage: SET key value\r\n");
            break;
        }
        const char *err = kv_store(t, key, klen, line + v0, len - v0);
        sb_puts(o, err ? err : "+OK\r\n");
        break;
    }
    case KV_GET:
    case KV_INCR: {
        if (klen == 0 || i < len) {
            sb_puts(o, which == KV_GET ? "-ERR usage: GET key\r\n" : "-ERR usage: INCR key\r\n");
            break;
        }
        bool found;
        struct kv_entry *e = kv_find(t, key, klen, &found);
        if (which == KV_GET) {
            if (!found) {
                sb_puts(o, "-ERR not found\r\n");
            } else {
                sb_addc(o, '$');
                sb_puts(o, e->val);
                sb_puts(o, "\r\n");
            }
            break;
        }
        long long v = 0;
        if (found) {
            char *end;
            errno = 0;
            v = strtoll(e->val, &end, 10);
            if (errno != 0 || end == e->val || *end != '\0') {
                sb_puts(o, "-ERR value is not an integer\r\n");
                break;
            }
        }
        if (v == LLONG_MAX) {
            sb_puts(o, "-ERR increment would overflow\r\n");
            break;
        }
        char num[24];
        int n = snprintf(num, sizeof num, "%lld", v + 1);
        const char *err = kv_store(t, key, klen, num, (size_t)n);
        if (err != NULL)
            sb_puts(o, err);
        else
            sb_printf(o, ":%s\r\n", num);
        break;
    }
    case KV_OTHER:
    case KV_CMD_COUNT:
        sb_puts(o, "-ERR unknown command\r\n");
        break;
    }
}

static void kv_close(struct hn_demo_target *t, struct kv_conn *kc)
{
    epoll_ctl(t->kv_ep, EPOLL_CTL_DEL, kc->fd, NULL);
    close(kc->fd);
    if (kc->prev != NULL)
        kc->prev->next = kc->next;
    else
        t->kv_conns = kc->next;
    if (kc->next != NULL)
        kc->next->prev = kc->prev;
    t->kv_nconns--;
    sb_free(&kc->out);
    free(kc);
}

/* Writes what it can, then re-arms epoll for what the connection needs.
 * Returns false if the connection was closed. */
static bool kv_flush(struct hn_demo_target *t, struct kv_conn *kc)
{
    if (kc->out.oom) {
        kv_close(t, kc);
        return false;
    }
    while (kc->out_off < kc->out.len) {
        ssize_t n = send(kc->fd, kc->out.p + kc->out_off, kc->out.len - kc->out_off, MSG_NOSIGNAL);
        if (n > 0) {
            kc->out_off += (size_t)n;
        } else if (n < 0 && errno == EINTR) {
            continue;
        } else if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
            break;
        } else {
            kv_close(t, kc);
            return false;
        }
    }
    size_t pending = kc->out.len - kc->out_off;
    if (pending == 0) {
        kc->out.len = 0;
        kc->out_off = 0;
        if (kc->closing) {
            kv_close(t, kc);
            return false;
        }
    }
    uint32_t ev = 0;
    if (!kc->closing && pending < KV_OUT_HIGH)
        ev |= EPOLLIN;
    if (pending > 0)
        ev |= EPOLLOUT;
    if (ev != kc->events) {
        struct epoll_event ee = {.events = ev, .data.ptr = kc};
        epoll_ctl(t->kv_ep, EPOLL_CTL_MOD, kc->fd, &ee);
        kc->events = ev;
    }
    return true;
}

static void kv_readable(struct hn_demo_target *t, struct kv_conn *kc)
{
    ssize_t n = recv(kc->fd, kc->in + kc->in_len, KV_IN_CAP - kc->in_len, 0);
    if (n == 0 || (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR)) {
        kv_close(t, kc);
        return;
    }
    if (n < 0)
        return;
    kc->in_len += (size_t)n;
    size_t start = 0;
    for (;;) {
        char *nl = memchr(kc->in + start, '\n', kc->in_len - start);
        if (nl == NULL)
            break;
        size_t end = (size_t)(nl - kc->in);
        size_t len = end - start;
        if (len > 0 && kc->in[start + len - 1] == '\r')
            len--;
        if (len > KV_LINE_MAX) {
            sb_puts(&kc->out, "-ERR line too long\r\n");
            kc->closing = true;
            break;
        }
        kv_command(t, kc, kc->in + start, len);
        start = end + 1;
    }
    if (!kc->closing) {
        memmove(kc->in, kc->in + start, kc->in_len - start);
        kc->in_len -= start;
        if (kc->in_len == KV_IN_CAP) {
            sb_puts(&kc->out, "-ERR line too long\r\n");
            kc->closing = true;
        }
    }
    kv_flush(t, kc);
}

static void kv_accept(struct hn_demo_target *t)
{
    for (;;) {
        int fd = accept4(t->kv_fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
        if (fd < 0) {
            if (errno == EINTR || errno == ECONNABORTED)
                continue;
            if (errno != EAGAIN && errno != EWOULDBLOCK)
                hn_logf(HN_DEBUG, "demo-target: kv accept: %s", strerror(errno));
            return;
        }
        struct kv_conn *kc = NULL;
        if (t->kv_nconns < KV_CONNS_MAX)
            kc = calloc(1, sizeof *kc);
        if (kc == NULL) {
            close(fd);
            continue;
        }
        int one = 1;
        setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
        kc->fd = fd;
        kc->events = EPOLLIN;
        struct epoll_event ee = {.events = EPOLLIN, .data.ptr = kc};
        if (epoll_ctl(t->kv_ep, EPOLL_CTL_ADD, fd, &ee) != 0) {
            close(fd);
            free(kc);
            continue;
        }
        kc->next = t->kv_conns;
        if (kc->next != NULL)
            kc->next->prev = kc;
        t->kv_conns = kc;
        t->kv_nconns++;
    }
}

static void *kv_main(void *arg)
{
    struct hn_demo_target *t = arg;
    struct epoll_event evs[64];
    for (;;) {
        int n = epoll_wait(t->kv_ep, evs, 64, -1);
        if (n < 0) {
            if (errno == EINTR)
                continue;
            hn_logf(HN_ERROR, "demo-target: kv epoll_wait: %s", strerror(errno));
            return NULL;
        }
        for (int i = 0; i < n; i++) {
            void *p = evs[i].data.ptr;
            if (p == &t->kv_ev)
                return NULL; /* stop requested */
            if (p == &t->kv_fd) {
                kv_accept(t);
                continue;
            }
            /* Each fd appears at most once per batch, so a connection
             * closed while handling an earlier event is never seen here. */
            struct kv_conn *kc = p;
            if (evs[i].events & EPOLLIN)
                kv_readable(t, kc); /* reads what is left; EOF closes */
            else if (evs[i].events & (EPOLLERR | EPOLLHUP))
                kv_close(t, kc);
            else if (evs[i].events & EPOLLOUT)
                kv_flush(t, kc);
        }
    }
}

/* ---------------------------------------------------------------------- */
/* WebSocket chat (GET /ws/chat)                                           */

static void ws_kill(struct ws_conn *wc);

static void ws_mark_dirty(struct ws_conn *wc)
{
    if (wc->dirty || wc->dead)
        return;
    wc->dirty = true;
    wc->dirty_next = wc->t->ws_dirty;
    wc->t->ws_dirty = wc;
}

static struct ws_room **ws_room_slot(struct hn_demo_target *t, const char *name, size_t len)
{
    struct ws_room **pp = &t->ws_rooms[fnv1a(name, len) & (WS_ROOM_SLOTS - 1)];
    while (*pp != NULL && ((*pp)->name_len != len || memcmp((*pp)->name, name, len) != 0))
        pp = &(*pp)->next;
    return pp;
}

static void ws_leave(struct ws_conn *wc)
{
    struct ws_room *r = wc->room;
    if (r == NULL)
        return;
    if (wc->rprev != NULL)
        wc->rprev->rnext = wc->rnext;
    else
        r->members = wc->rnext;
    if (wc->rnext != NULL)
        wc->rnext->rprev = wc->rprev;
    wc->rprev = wc->rnext = NULL;
    wc->room = NULL;
    if (--r->nmembers == 0) {
        struct ws_room **pp = ws_room_slot(wc->t, r->name, r->name_len);
        *pp = r->next;
        free(r);
    }
}

/* Returns false (and leaves wc roomless) if the room cannot be allocated. */
static bool ws_join(struct ws_conn *wc, const char *name, size_t len)
{
    ws_leave(wc);
    struct ws_room **pp = ws_room_slot(wc->t, name, len);
    struct ws_room *r = *pp;
    if (r == NULL) {
        r = calloc(1, sizeof *r + len + 1);
        if (r == NULL)
            return false;
        memcpy(r->name, name, len);
        r->name_len = len;
        *pp = r;
    }
    wc->rnext = r->members;
    if (r->members != NULL)
        r->members->rprev = wc;
    r->members = wc;
    r->nmembers++;
    wc->room = r;
    return true;
}

/* Queues one text message; drops wc if its output passes the bounds. */
static void ws_queue(struct ws_conn *wc, const char *data, size_t len)
{
    if (wc->dead || wc->lingering)
        return;
    struct wslay_event_msg msg = {
        .opcode = WSLAY_TEXT_FRAME, .msg = (const uint8_t *)data, .msg_length = len};
    int rc = wslay_event_queue_msg(wc->ctx, &msg);
    if (rc == WSLAY_ERR_NO_MORE_MSG)
        return; /* closing */
    if (rc != 0) {
        ws_kill(wc);
        return;
    }
    atomic_fetch_add_explicit(&wc->t->ws_messages_out, 1, memory_order_relaxed);
    if (wslay_event_get_queued_msg_length(wc->ctx) > WS_OUT_MAX ||
        wslay_event_get_queued_msg_count(wc->ctx) > WS_OUT_MSGS_MAX) {
        hn_logf(HN_DEBUG, "demo-target: ws: dropping a slow reader");
        ws_kill(wc);
        return;
    }
    ws_mark_dirty(wc);
}

/* Queues a JSON object (stolen) to wc. */
static void ws_send_json(struct ws_conn *wc, json_t *doc)
{
    char *s = doc != NULL ? json_dumps(doc, JSON_COMPACT) : NULL;
    json_decref(doc);
    if (s == NULL) {
        ws_kill(wc);
        return;
    }
    ws_queue(wc, s, strlen(s));
    free(s);
}

static void ws_error(struct ws_conn *wc, const char *msg)
{
    ws_send_json(wc, json_pack("{s:s,s:s}", "type", "error", "error", msg));
}

/* A JSON string member of doc without NUL bytes, 1..max bytes long. */
static const char *ws_str(json_t *doc, const char *key, size_t max, size_t *len)
{
    json_t *v = json_object_get(doc, key);
    if (!json_is_string(v))
        return NULL;
    const char *s = json_string_value(v);
    *len = json_string_length(v);
    if (*len == 0 || *len > max || strlen(s) != *len)
        return NULL;
    return s;
}

static void ws_on_text(struct ws_conn *wc, const uint8_t *data, size_t len)
{
    json_error_t jerr;
    json_t *doc = json_loadb((const char *)data, len, 0, &jerr);
    if (doc == NULL || !json_is_object(doc)) {
        json_decref(doc);
        ws_error(wc, "expected a JSON object");
        return;
    }
    const char *type = json_string_value(json_object_get(doc, "type"));
    if (type != NULL && strcmp(type, "join") == 0) {
        size_t rlen, ulen;
        const char *room = ws_str(doc, "room", WS_ROOM_MAX, &rlen);
        const char *user = ws_str(doc, "user", USER_MAX, &ulen);
        if (room == NULL || user == NULL) {
            ws_error(wc, "join needs \"room\" (1..128 bytes) and \"user\" (1..64 bytes)");
        } else if (!ws_join(wc, room, rlen)) {
            ws_kill(wc);
        } else {
            memcpy(wc->user, user, ulen + 1);
            ws_send_json(wc, json_pack("{s:s,s:s%,s:I}", "type", "joined", "room", room, rlen,
                                       "members", (json_int_t)wc->room->nmembers));
        }
    } else if (type != NULL && strcmp(type, "say") == 0) {
        json_t *text = json_object_get(doc, "text");
        if (!json_is_string(text)) {
            ws_error(wc, "say needs a \"text\" string");
        } else if (wc->room == NULL) {
            ws_error(wc, "join a room first");
        } else {
            struct ws_room *r = wc->room;
            json_t *out = json_pack("{s:s,s:s%,s:s,s:O}", "type", "message", "room", r->name,
                                    r->name_len, "user", wc->user, "text", text);
            char *s = out != NULL ? json_dumps(out, JSON_COMPACT) : NULL;
            json_decref(out);
            if (s == NULL) {
                ws_kill(wc);
            } else {
                size_t n = strlen(s);
                /* ws_queue may drop (and unlink) the member at hand only;
                 * the room lives while the sender is in it, unless the
                 * sender itself is dropped: then stop. */
                for (struct ws_conn *m = r->members, *next; m != NULL; m = next) {
                    next = m->rnext;
                    ws_queue(m, s, n);
                    if (wc->room != r)
                        break;
                }
                free(s);
            }
        }
    } else {
        ws_error(wc, type == NULL ? "missing \"type\"" : "unknown type");
    }
    json_decref(doc);
}

static void ws_on_msg(wslay_event_context_ptr ctx, const struct wslay_event_on_msg_recv_arg *arg,
                      void *user_data)
{
    (void)ctx;
    struct ws_conn *wc = user_data;
    if (wc->dead || wc->lingering)
        return;
    if (arg->opcode == WSLAY_TEXT_FRAME) {
        atomic_fetch_add_explicit(&wc->t->ws_messages_in, 1, memory_order_relaxed);
        ws_on_text(wc, arg->msg, arg->msg_length);
    } else if (arg->opcode == WSLAY_BINARY_FRAME) {
        ws_error(wc, "binary frames are not supported");
    }
    /* close, ping and pong are answered by wslay */
}

static ssize_t ws_recv_cb(wslay_event_context_ptr ctx, uint8_t *buf, size_t len, int flags,
                          void *user_data)
{
    (void)flags;
    struct ws_conn *wc = user_data;
    if (wc->dead) {
        wslay_event_set_error(ctx, WSLAY_ERR_CALLBACK_FAILURE);
        return -1;
    }
    if (wc->extra != NULL) {
        size_t n = wc->extra_len - wc->extra_off;
        if (n > len)
            n = len;
        memcpy(buf, wc->extra + wc->extra_off, n);
        wc->extra_off += n;
        if (wc->extra_off == wc->extra_len) {
            free(wc->extra);
            wc->extra = NULL;
        }
        return (ssize_t)n;
    }
    if (wc->read_budget == 0) {
        wslay_event_set_error(ctx, WSLAY_ERR_WOULDBLOCK); /* epoll says when more is in */
        return -1;
    }
    if (len > wc->read_budget)
        len = wc->read_budget;
    for (;;) {
        ssize_t n = recv(wc->fd, buf, len, 0);
        if (n > 0) {
            wc->read_budget -= (size_t)n;
            return n;
        }
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
            wslay_event_set_error(ctx, WSLAY_ERR_WOULDBLOCK);
        else
            wslay_event_set_error(ctx, WSLAY_ERR_CALLBACK_FAILURE); /* EOF or error */
        return -1;
    }
}

static ssize_t ws_send_cb(wslay_event_context_ptr ctx, const uint8_t *data, size_t len, int flags,
                          void *user_data)
{
    struct ws_conn *wc = user_data;
    int sflags = MSG_NOSIGNAL | ((flags & WSLAY_MSG_MORE) ? MSG_MORE : 0);
    for (;;) {
        ssize_t n = send(wc->fd, data, len, sflags);
        if (n >= 0)
            return n;
        if (errno == EINTR)
            continue;
        wslay_event_set_error(ctx, errno == EAGAIN || errno == EWOULDBLOCK
                                       ? WSLAY_ERR_WOULDBLOCK
                                       : WSLAY_ERR_CALLBACK_FAILURE);
        return -1;
    }
}

static const struct wslay_event_callbacks ws_callbacks = {
    .recv_callback = ws_recv_cb,
    .send_callback = ws_send_cb,
    .on_msg_recv_callback = ws_on_msg,
};

static void ws_set_events(struct ws_conn *wc, uint32_t ev)
{
    if (ev == wc->events)
        return;
    struct epoll_event ee = {.events = ev, .data.ptr = wc};
    epoll_ctl(wc->t->ws_ep, EPOLL_CTL_MOD, wc->fd, &ee);
    wc->events = ev;
}

/* Drops wc: out of its room and of epoll now; freed (and its socket
 * handed back to MHD) by ws_reap after the current epoll batch. */
static void ws_kill(struct ws_conn *wc)
{
    struct hn_demo_target *t = wc->t;
    if (wc->dead)
        return;
    wc->dead = true;
    ws_leave(wc);
    if (wc->lingering)
        t->ws_nlinger--;
    epoll_ctl(t->ws_ep, EPOLL_CTL_DEL, wc->fd, NULL);
    if (wc->prev != NULL)
        wc->prev->next = wc->next;
    else
        t->ws_conns = wc->next;
    if (wc->next != NULL)
        wc->next->prev = wc->prev;
    wc->prev = NULL;
    wc->next = t->ws_dead;
    t->ws_dead = wc;
}

/* Frees a connection that is in no list and no epoll set. */
static void ws_free(struct hn_demo_target *t, struct ws_conn *wc)
{
    if (wc->ctx != NULL)
        wslay_event_context_free(wc->ctx);
    /* MHD closes the socket; wc->fd must not be used after this. */
    MHD_upgrade_action(wc->urh, MHD_UPGRADE_ACTION_CLOSE);
    free(wc->extra);
    free(wc);
    atomic_fetch_sub(&t->ws_live, 1);
}

static void ws_reap(struct hn_demo_target *t)
{
    while (t->ws_dead != NULL) {
        struct ws_conn *wc = t->ws_dead;
        t->ws_dead = wc->next;
        ws_free(t, wc);
    }
}

/* Sends what wslay has queued, then re-arms epoll (EPOLLOUT only while
 * wslay wants to write); once both directions are done, lingers. */
static void ws_progress(struct ws_conn *wc)
{
    if (wc->dead || wc->lingering)
        return;
    if (wslay_event_want_write(wc->ctx) && wslay_event_send(wc->ctx) != 0) {
        ws_kill(wc);
        return;
    }
    bool rd = wslay_event_want_read(wc->ctx), wr = wslay_event_want_write(wc->ctx);
    if (rd || wr) {
        ws_set_events(wc, (rd ? EPOLLIN : 0u) | (wr ? EPOLLOUT : 0u));
        return;
    }
    if (!wslay_event_get_close_sent(wc->ctx)) {
        ws_kill(wc);
        return;
    }
    /* Our close frame is out: say EOF and wait for the peer's, so unread
     * input (e.g. the rest of an oversized message) does not turn our
     * close into a reset that may destroy the close frame. */
    ws_leave(wc);
    shutdown(wc->fd, SHUT_WR);
    wc->lingering = true;
    wc->linger_until = now_us() + WS_LINGER_US;
    wc->t->ws_nlinger++;
    ws_set_events(wc, EPOLLIN);
}

static void ws_drain(struct ws_conn *wc)
{
    char buf[16384];
    for (;;) {
        ssize_t n = recv(wc->fd, buf, sizeof buf, 0);
        if (n > 0)
            continue;
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
            return;
        ws_kill(wc); /* EOF or error */
        return;
    }
}

static void ws_event(struct ws_conn *wc, uint32_t ev)
{
    if (wc->dead)
        return; /* dropped earlier in this batch */
    if (wc->lingering) {
        ws_drain(wc);
        return;
    }
    if (ev & (EPOLLIN | EPOLLERR | EPOLLHUP)) {
        if (!wslay_event_want_read(wc->ctx) && !(ev & EPOLLIN)) {
            ws_kill(wc);
            return;
        }
        wc->read_budget = 256 * 1024;
        if (wslay_event_want_read(wc->ctx) && wslay_event_recv(wc->ctx) != 0) {
            ws_kill(wc); /* EOF, error, or a protocol error wslay could not answer */
            return;
        }
        /* Pongs wslay queued itself bypass ws_queue's bound: a client
         * pinging faster than it reads is dropped the same way. */
        if (wslay_event_get_queued_msg_length(wc->ctx) > WS_OUT_MAX) {
            ws_kill(wc);
            return;
        }
    }
    ws_mark_dirty(wc);
}

static void ws_flush_dirty(struct hn_demo_target *t)
{
    while (t->ws_dirty != NULL) {
        struct ws_conn *wc = t->ws_dirty;
        t->ws_dirty = wc->dirty_next;
        wc->dirty = false;
        ws_progress(wc);
    }
}

/* Registers the connections MHD handed over. */
static void ws_adopt(struct hn_demo_target *t)
{
    pthread_mutex_lock(&t->ws_lock);
    struct ws_conn *list = t->ws_pending;
    t->ws_pending = NULL;
    pthread_mutex_unlock(&t->ws_lock);
    while (list != NULL) {
        struct ws_conn *wc = list;
        list = wc->next;
        wc->next = wc->prev = NULL;
        wc->events = EPOLLIN;
        struct epoll_event ee = {.events = EPOLLIN, .data.ptr = wc};
        if (epoll_ctl(t->ws_ep, EPOLL_CTL_ADD, wc->fd, &ee) != 0) {
            ws_free(t, wc);
            continue;
        }
        wc->next = t->ws_conns;
        if (wc->next != NULL)
            wc->next->prev = wc;
        t->ws_conns = wc;
        if (wc->extra != NULL)
            ws_event(wc, EPOLLIN); /* bytes MHD already read raise no event */
        else
            ws_mark_dirty(wc);
    }
}

static void ws_linger_check(struct hn_demo_target *t)
{
    int64_t now = now_us();
    for (struct ws_conn *wc = t->ws_conns, *next; wc != NULL && t->ws_nlinger > 0; wc = next) {
        next = wc->next;
        if (wc->lingering && now >= wc->linger_until)
            ws_kill(wc);
    }
}

static void *ws_main(void *arg)
{
    struct hn_demo_target *t = arg;
    struct epoll_event evs[64];
    for (;;) {
        int n = epoll_wait(t->ws_ep, evs, 64, t->ws_nlinger > 0 ? 100 : -1);
        if (n < 0) {
            if (errno == EINTR)
                continue;
            hn_logf(HN_ERROR, "demo-target: ws epoll_wait: %s", strerror(errno));
            return NULL;
        }
        for (int i = 0; i < n; i++) {
            void *p = evs[i].data.ptr;
            if (p == &t->ws_ev) {
                uint64_t v;
                if (read(t->ws_ev, &v, sizeof v) < 0 && errno != EAGAIN)
                    hn_logf(HN_DEBUG, "demo-target: ws eventfd: %s", strerror(errno));
                pthread_mutex_lock(&t->ws_lock);
                bool stop = t->ws_stopping;
                pthread_mutex_unlock(&t->ws_lock);
                if (stop) {
                    ws_flush_dirty(t);
                    ws_reap(t);
                    return NULL;
                }
                ws_adopt(t);
                continue;
            }
            ws_event(p, evs[i].events);
        }
        ws_flush_dirty(t);
        if (t->ws_nlinger > 0)
            ws_linger_check(t);
        ws_reap(t);
    }
}

/* MHD's upgrade handler (an MHD worker thread): hands the socket to the
 * WS thread, or closes it at once if the target is stopping. */
static void ws_upgraded(void *cls, struct MHD_Connection *c, void *con_cls, const char *extra_in,
                        size_t extra_in_size, MHD_socket sock,
                        struct MHD_UpgradeResponseHandle *urh)
{
    (void)c;
    struct hn_demo_target *t = cls;
    struct req *rq = con_cls;
    if (rq != NULL)
        rq->ws_reserved = false; /* the slot now belongs to the connection */
    struct ws_conn *wc = calloc(1, sizeof *wc);
    if (wc == NULL) {
        MHD_upgrade_action(urh, MHD_UPGRADE_ACTION_CLOSE);
        atomic_fetch_sub(&t->ws_live, 1);
        return;
    }
    wc->t = t;
    wc->fd = sock;
    wc->urh = urh;
    bool ok = wslay_event_context_server_init(&wc->ctx, &ws_callbacks, wc) == 0;
    if (ok)
        wslay_event_config_set_max_recv_msg_length(wc->ctx, WS_MSG_MAX);
    if (ok && extra_in_size > 0) {
        wc->extra = malloc(extra_in_size);
        ok = wc->extra != NULL;
        if (ok) {
            memcpy(wc->extra, extra_in, extra_in_size);
            wc->extra_len = extra_in_size;
        }
    }
    int fl = fcntl(sock, F_GETFL);
    if (fl < 0 || (!(fl & O_NONBLOCK) && fcntl(sock, F_SETFL, fl | O_NONBLOCK) != 0))
        ok = false;
    int one = 1;
    setsockopt(sock, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    if (ok) {
        pthread_mutex_lock(&t->ws_lock);
        ok = !t->ws_stopping;
        if (ok) {
            wc->next = t->ws_pending;
            t->ws_pending = wc;
            /* Under ws_lock: ws_stop closes ws_ev only after it set
             * ws_stopping under the same lock. */
            uint64_t v = 1;
            if (write(t->ws_ev, &v, sizeof v) != (ssize_t)sizeof v)
                hn_logf(HN_ERROR, "demo-target: cannot wake the ws thread");
        }
        pthread_mutex_unlock(&t->ws_lock);
    }
    if (!ok)
        ws_free(t, wc);
}

static int ws_start(struct hn_demo_target *t, char *err, size_t err_len)
{
    t->ws_rooms = calloc(WS_ROOM_SLOTS, sizeof *t->ws_rooms);
    t->ws_ep = epoll_create1(EPOLL_CLOEXEC);
    t->ws_ev = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
    if (t->ws_rooms == NULL || t->ws_ep < 0 || t->ws_ev < 0) {
        snprintf(err, err_len, "ws setup: %s", strerror(errno ? errno : ENOMEM));
        return -1;
    }
    struct epoll_event ee = {.events = EPOLLIN, .data.ptr = &t->ws_ev};
    if (epoll_ctl(t->ws_ep, EPOLL_CTL_ADD, t->ws_ev, &ee) != 0) {
        snprintf(err, err_len, "ws epoll: %s", strerror(errno));
        return -1;
    }
    int rc = pthread_create(&t->ws_thread, NULL, ws_main, t);
    if (rc != 0) {
        snprintf(err, err_len, "ws thread: %s", strerror(rc));
        return -1;
    }
    t->ws_started = true;
    return 0;
}

/* Closes every WebSocket connection (MHD must still be running: each
 * socket goes back to it through MHD_upgrade_action) and frees all. */
static void ws_stop(struct hn_demo_target *t)
{
    atomic_store(&t->ws_closed, true);
    pthread_mutex_lock(&t->ws_lock);
    t->ws_stopping = true; /* from now on ws_upgraded closes at once */
    pthread_mutex_unlock(&t->ws_lock);
    if (t->ws_started) {
        uint64_t one = 1;
        if (write(t->ws_ev, &one, sizeof one) != (ssize_t)sizeof one)
            hn_logf(HN_ERROR, "demo-target: cannot wake the ws thread");
        pthread_join(t->ws_thread, NULL);
        t->ws_started = false;
    }
    /* The thread is gone: this thread owns the WS state now. */
    while (t->ws_conns != NULL) {
        struct ws_conn *wc = t->ws_conns;
        if (!wc->lingering && wslay_event_queue_close(wc->ctx, WSLAY_CODE_GOING_AWAY, NULL, 0) == 0)
            wslay_event_send(wc->ctx); /* best effort, non-blocking */
        ws_kill(wc);
    }
    ws_reap(t);
    pthread_mutex_lock(&t->ws_lock);
    struct ws_conn *pending = t->ws_pending;
    t->ws_pending = NULL;
    pthread_mutex_unlock(&t->ws_lock);
    while (pending != NULL) {
        struct ws_conn *wc = pending;
        pending = wc->next;
        ws_free(t, wc);
    }
    free(t->ws_rooms); /* every room went with its last member */
    t->ws_rooms = NULL;
    if (t->ws_ep >= 0)
        close(t->ws_ep);
    if (t->ws_ev >= 0)
        close(t->ws_ev);
    t->ws_ep = t->ws_ev = -1;
}

/* ---------------------------------------------------------------------- */
/* Start / stop                                                            */

static int listen_on(const char *addr, uint16_t port, uint16_t *bound, char *err, size_t err_len,
                     const char *what)
{
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons(port)};
    if (inet_pton(AF_INET, addr, &sa.sin_addr) != 1) {
        snprintf(err, err_len, "bind address '%s' is not an IPv4 address", addr);
        return -1;
    }
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0) {
        snprintf(err, err_len, "%s socket: %s", what, strerror(errno));
        return -1;
    }
    int one = 1;
    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    if (bind(fd, (struct sockaddr *)&sa, sizeof sa) != 0 || listen(fd, 4096) != 0) {
        snprintf(err, err_len, "cannot listen for %s on %s:%u: %s", what, addr, port,
                 strerror(errno));
        close(fd);
        return -1;
    }
    socklen_t len = sizeof sa;
    getsockname(fd, (struct sockaddr *)&sa, &len);
    *bound = ntohs(sa.sin_port);
    return fd;
}

static int kv_start(struct hn_demo_target *t, char *err, size_t err_len)
{
    t->kv_table = calloc(KV_SLOTS, sizeof *t->kv_table);
    t->kv_ep = epoll_create1(EPOLL_CLOEXEC);
    t->kv_ev = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
    if (t->kv_table == NULL || t->kv_ep < 0 || t->kv_ev < 0) {
        snprintf(err, err_len, "kv setup: %s", strerror(errno ? errno : ENOMEM));
        return -1;
    }
    struct epoll_event a = {.events = EPOLLIN, .data.ptr = &t->kv_fd};
    struct epoll_event b = {.events = EPOLLIN, .data.ptr = &t->kv_ev};
    if (epoll_ctl(t->kv_ep, EPOLL_CTL_ADD, t->kv_fd, &a) != 0 ||
        epoll_ctl(t->kv_ep, EPOLL_CTL_ADD, t->kv_ev, &b) != 0) {
        snprintf(err, err_len, "kv epoll: %s", strerror(errno));
        return -1;
    }
    int rc = pthread_create(&t->kv_thread, NULL, kv_main, t);
    if (rc != 0) {
        snprintf(err, err_len, "kv thread: %s", strerror(rc));
        return -1;
    }
    t->kv_started = true;
    return 0;
}

static void kv_stop(struct hn_demo_target *t)
{
    if (t->kv_started) {
        uint64_t one = 1;
        if (write(t->kv_ev, &one, sizeof one) != (ssize_t)sizeof one)
            hn_logf(HN_ERROR, "demo-target: cannot wake the kv thread");
        pthread_join(t->kv_thread, NULL);
        t->kv_started = false;
    }
    while (t->kv_conns != NULL)
        kv_close(t, t->kv_conns);
    if (t->kv_table != NULL) {
        for (size_t i = 0; i < KV_SLOTS; i++) {
            free(t->kv_table[i].key);
            free(t->kv_table[i].val);
        }
        free(t->kv_table);
        t->kv_table = NULL;
    }
    if (t->kv_ep >= 0)
        close(t->kv_ep);
    if (t->kv_ev >= 0)
        close(t->kv_ev);
    if (t->kv_fd >= 0)
        close(t->kv_fd);
    t->kv_ep = t->kv_ev = t->kv_fd = -1;
}

static unsigned pool_size(void)
{
    long n = sysconf(_SC_NPROCESSORS_ONLN);
    if (n < 2)
        return 2;
    return n > 4 ? 4 : (unsigned)n;
}

int hn_demo_target_start(struct hn_demo_target **out, const char *bind_addr, uint16_t http_port,
                         uint16_t kv_port, char *err, size_t err_len)
{
    *out = NULL;
    if (bind_addr == NULL)
        bind_addr = "127.0.0.1";
    struct hn_demo_target *t = calloc(1, sizeof *t);
    if (t == NULL) {
        snprintf(err, err_len, "out of memory");
        return -1;
    }
    t->http_fd = t->kv_fd = t->kv_ep = t->kv_ev = t->ws_ep = t->ws_ev = -1;
    pthread_mutex_init(&t->paths_lock, NULL);
    pthread_mutex_init(&t->ws_lock, NULL);
    pthread_mutex_init(&t->sess_lock, NULL);
    pthread_mutex_init(&t->park_lock, NULL);
    pthread_condattr_t ca;
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    pthread_cond_init(&t->park_cond, &ca);
    pthread_condattr_destroy(&ca);

    t->paths = calloc(PATHS_CAP, sizeof *t->paths);
    t->sessions = calloc(SESSIONS, sizeof *t->sessions);
    if (getrandom(&t->rng, sizeof t->rng, 0) != (ssize_t)sizeof t->rng)
        t->rng = (uint64_t)now_us();
    t->rng |= 1; /* xorshift must not start at 0 */
    if (t->paths == NULL || t->sessions == NULL || build_shared(t) != 0) {
        snprintf(err, err_len, "out of memory");
        goto fail;
    }

    t->http_fd = listen_on(bind_addr, http_port, &t->http_port, err, err_len, "http");
    if (t->http_fd < 0)
        goto fail;
    t->kv_fd = listen_on(bind_addr, kv_port, &t->kv_port, err, err_len, "kv");
    if (t->kv_fd < 0)
        goto fail;

    int rc = pthread_create(&t->park_thread, NULL, park_main, t);
    if (rc != 0) {
        snprintf(err, err_len, "park thread: %s", strerror(rc));
        goto fail;
    }
    t->park_started = true;
    if (kv_start(t, err, err_len) != 0)
        goto fail;
    if (ws_start(t, err, err_len) != 0)
        goto fail;

    unsigned int flags = MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_EPOLL |
                         MHD_ALLOW_SUSPEND_RESUME | MHD_ALLOW_UPGRADE | MHD_USE_ERROR_LOG;
    t->mhd =
        MHD_start_daemon(flags, 0, NULL, NULL, on_request, t, MHD_OPTION_LISTEN_SOCKET, t->http_fd,
                         MHD_OPTION_THREAD_POOL_SIZE, pool_size(), MHD_OPTION_CONNECTION_LIMIT,
                         (unsigned int)CONN_LIMIT, MHD_OPTION_CONNECTION_TIMEOUT,
                         (unsigned int)CONN_TIMEOUT_S, MHD_OPTION_NOTIFY_COMPLETED, on_completed, t,
                         MHD_OPTION_EXTERNAL_LOGGER, on_mhd_log, t, MHD_OPTION_END);
    if (t->mhd == NULL) {
        /* Whether MHD already closed the socket depends on where it failed;
         * leaking one fd on this path beats a double close in a threaded
         * process. */
        t->http_fd = -1;
        snprintf(err, err_len, "cannot start the HTTP server (libmicrohttpd)");
        goto fail;
    }
    *out = t;
    return 0;

fail:
    hn_demo_target_stop(t);
    return -1;
}

uint16_t hn_demo_target_http_port(const struct hn_demo_target *t)
{
    return t->http_port;
}

uint16_t hn_demo_target_kv_port(const struct hn_demo_target *t)
{
    return t->kv_port;
}

void hn_demo_target_stop(struct hn_demo_target *t)
{
    if (t == NULL)
        return;
    kv_stop(t);
    ws_stop(t); /* before MHD stops: the upgraded sockets go back to it */

    /* Parked connections must all be resumed (and seen again by MHD)
     * before MHD_stop_daemon, which must never meet a suspended one. */
    MHD_socket quiesced = MHD_INVALID_SOCKET;
    if (t->mhd != NULL)
        quiesced = MHD_quiesce_daemon(t->mhd);
    pthread_mutex_lock(&t->park_lock);
    t->stopping = true;
    pthread_cond_broadcast(&t->park_cond);
    pthread_mutex_unlock(&t->park_lock);
    if (t->park_started)
        pthread_join(t->park_thread, NULL);
    for (int64_t until = now_us() + STOP_WAIT_US; atomic_load(&t->parked) > 0 && now_us() < until;)
        usleep(1000);
    if (atomic_load(&t->parked) > 0)
        hn_logf(HN_WARNING, "demo-target: %d connections still parked at stop",
                atomic_load(&t->parked));
    if (t->mhd != NULL) {
        MHD_stop_daemon(t->mhd);
        /* After quiesce the socket is ours again; otherwise MHD closed it. */
        if (quiesced != MHD_INVALID_SOCKET)
            close(quiesced);
    } else if (t->http_fd >= 0) {
        close(t->http_fd);
    }

    free_shared(t);
    if (t->paths != NULL)
        for (size_t i = 0; i < PATHS_CAP; i++)
            free(t->paths[i].key);
    free(t->paths);
    free(t->sessions);
    free(t->heap);
    pthread_cond_destroy(&t->park_cond);
    pthread_mutex_destroy(&t->park_lock);
    pthread_mutex_destroy(&t->sess_lock);
    pthread_mutex_destroy(&t->paths_lock);
    pthread_mutex_destroy(&t->ws_lock);
    free(t);
}

/* ---------------------------------------------------------------------- */
/* `hornet demo-target`                                                    */

static void usage(FILE *f)
{
    fputs("usage: hornet demo-target [--port N] [--kv-port N] [--bind ADDR]\n"
          "\n"
          "Runs the built-in demo target (an httpbin-like shop API) until SIGINT/SIGTERM.\n"
          "  --port N      HTTP port (default 0: pick a free port)\n"
          "  --kv-port N   line-protocol KV service port (default 0: pick)\n"
          "  --bind ADDR   IPv4 address to listen on (default 127.0.0.1)\n"
          "  -h, --help    show this help\n"
          "Prints \"demo-target http://ADDR:PORT kv ADDR:KVPORT\" once listening.\n",
          f);
}

static bool parse_port(const char *s, uint16_t *out)
{
    unsigned long v;
    if (s == NULL || !parse_uint(s, 65535, &v))
        return false;
    *out = (uint16_t)v;
    return true;
}

/* Matches "--name VALUE" and "--name=VALUE"; *val is NULL if missing. */
static bool opt_match(char **argv, int argc, int *i, const char *name, const char **val)
{
    const char *a = argv[*i];
    size_t n = strlen(name);
    if (strncmp(a, name, n) != 0)
        return false;
    if (a[n] == '=') {
        *val = a + n + 1;
        return true;
    }
    if (a[n] != '\0')
        return false;
    *val = *i + 1 < argc ? argv[++*i] : NULL;
    return true;
}

static void raise_nofile(void)
{
    struct rlimit rl;
    if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
        rl.rlim_cur = rl.rlim_max;
        setrlimit(RLIMIT_NOFILE, &rl);
    }
}

int hn_demo_target_main(int argc, char **argv)
{
    uint16_t port = 0, kv_port = 0;
    const char *bind_addr = "127.0.0.1";
    for (int i = 1; i < argc; i++) {
        const char *val;
        if (strcmp(argv[i], "-h") == 0 || strcmp(argv[i], "--help") == 0) {
            usage(stdout);
            return 0;
        } else if (opt_match(argv, argc, &i, "--port", &val)) {
            if (!parse_port(val, &port)) {
                fprintf(stderr, "hornet demo-target: --port expects a number 0..65535\n");
                return 2;
            }
        } else if (opt_match(argv, argc, &i, "--kv-port", &val)) {
            if (!parse_port(val, &kv_port)) {
                fprintf(stderr, "hornet demo-target: --kv-port expects a number 0..65535\n");
                return 2;
            }
        } else if (opt_match(argv, argc, &i, "--bind", &val)) {
            struct in_addr ia;
            if (val == NULL || inet_pton(AF_INET, val, &ia) != 1) {
                fprintf(stderr, "hornet demo-target: --bind expects an IPv4 address\n");
                return 2;
            }
            bind_addr = val;
        } else {
            fprintf(stderr, "hornet demo-target: unknown option '%s' (see --help)\n", argv[i]);
            return 2;
        }
    }

    raise_nofile();
    /* Block the stop signals before any thread exists, so every thread
     * inherits the mask and only sigwait() below receives them. */
    sigset_t stop, old;
    sigemptyset(&stop);
    sigaddset(&stop, SIGINT);
    sigaddset(&stop, SIGTERM);
    pthread_sigmask(SIG_BLOCK, &stop, &old);
    signal(SIGPIPE, SIG_IGN);

    struct hn_demo_target *t;
    char err[256];
    if (hn_demo_target_start(&t, bind_addr, port, kv_port, err, sizeof err) != 0) {
        fprintf(stderr, "hornet demo-target: %s\n", err);
        pthread_sigmask(SIG_SETMASK, &old, NULL);
        return 1;
    }
    printf("demo-target http://%s:%u kv %s:%u\n", bind_addr, hn_demo_target_http_port(t), bind_addr,
           hn_demo_target_kv_port(t));
    fflush(stdout);

    int sig = 0;
    while (sigwait(&stop, &sig) != 0)
        ;
    hn_demo_target_stop(t);
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    return 0;
}
