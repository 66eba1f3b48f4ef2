/*
 * fleet.c: the master's side of distributed mode (see cluster.h).
 *
 * One thread owns the ROUTER socket: it welcomes or refuses workers, merges
 * the statistics they report into a pending table the runner swaps each
 * second, marks silent workers missing, and sends every worker its desired
 * state on each change and once a second. The runner's control thread
 * only sets the cluster-wide desired state (through hn_fleet_ops) and
 * wakes the thread with an eventfd.
 *
 * Spreading users: each worker holds a count per user type. Changes are
 * incremental so a ramp or a resize never restarts users elsewhere: new
 * users go to the worker with the fewest, surplus ones leave the worker
 * with the most of that type, a missing worker's users are re-spread over
 * the others, and a worker that joins takes users one at a time from the
 * busiest until totals differ by at most one.
 *
 * The open model: the arrival rate and the pool are split evenly over the
 * live workers, each scheduling its share; a worker that joins or goes
 * missing changes every share at once (the rate asked stays whole).
 *
 * Locks: f->lock guards everything below it in struct hn_fleet; it is
 * never held while calling into the runner.
 */
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <time.h>
#include <unistd.h>

#include <zmq.h>

#include "clock.h"
#include "cluster.h"
#include "feed_wire.h"
#include "feeder.h"
#include "params.h"
#include "hornet/hornet.h"
#include "log.h"
#include "runner.h"
#include "snapshot.h"
#include "stats.h"
#include "stats_wire.h"
#include "textutil.h"

#define MAX_ID 128
#define PLUGIN_MAX (16u << 20) /* largest plugin file shipped to workers */
#define MISSING_FORGET_S 600   /* a worker missing this long leaves the table */
#define MAX_MEMBERS 4096       /* hellos beyond this are refused */
#define QUIT_WAIT_MS 3000      /* how long a quitting master waits for its workers' byes */

enum phase { PHASE_IDLE, PHASE_RUN, PHASE_STOP };
static const char *const phase_names[] = {"idle", "run", "stop"};

struct member {
    char id[MAX_ID + 1];
    char *host;
    long pid;
    int threads;
    char state[16];            /* as it last reported */
    uint32_t users;            /* as it last reported */
    double cpu;
    uint64_t rss;
    uint64_t last_seen_us;     /* monotonic */
    double last_seen_wall;
    uint64_t last_sent_us;
    bool missing;
    bool dirty;                /* its desired state changed: send now */
    uint64_t stopped_run;      /* last run it confirmed stopped */
    json_int_t session;        /* of its last hello: repeats are not a new join */
    uint32_t *counts;          /* its users per user type */
    uint64_t *feed_lease;      /* per feeder: the last lease answered */
    uint64_t *feed_seen;       /* ... the last lease its reports said it had */
    uint64_t *feed_left;       /* ... and the rows it had left then */
};

struct hn_fleet {
    struct hn_fleet_config cfg;
    struct hn_http_options limits; /* the configured ones, defaults filled in */
    struct hn_fleet_ops ops;
    /* The plugin's parts (hn_fleet_set_plugin swaps them; f->lock). */
    size_t n_types;
    const char **type_names;
    uint32_t *totals;          /* cluster-wide users per type */
    char sha[65];              /* the plugin's sha256 */
    json_t *plugin_file;       /* {name, sha256, data} for workers without -f, or NULL */
    const struct hn_feeders *feed_tables; /* the plugin's feeders, or NULL */
    json_t *feeders;           /* {sha256, tables} for the welcome, or NULL */
    size_t n_feeds;
    uint64_t *feed_cursor;     /* per feeder: rows handed out in the cluster */
    char instance[40];         /* random: tells workers a restarted master from this one */
    bool started;              /* the thread runs */
    void *zctx, *sock;
    void *zap;                 /* --cluster-key: ZAP socket checking workers' keys */
    pthread_t zap_thread;
    bool zap_started;
    int wakefd;
    uint16_t port;
    pthread_t thread;

    pthread_mutex_t lock;
    bool quit;

    pthread_mutex_t cb_lock;   /* guards the callback below and its calls */
    void (*stop_test)(void *ud, const char *reason);
    void *stop_test_ud;
    struct member **members;
    size_t n_members, cap_members;
    uint64_t run, epoch;
    enum phase phase;
    char *host;
    bool paused;
    double spawn_rate;
    json_t *params;            /* {name: value} for the run, or NULL */
    json_t *types;             /* the picker: [{host, tasks}] per user type, or NULL */
    bool open;                 /* the open model: arrival_rate and pool_max rule */
    double arrival_rate;       /* cluster-wide iterations per second */
    uint32_t pool_max;         /* cluster-wide */
    bool respread;             /* membership or totals changed */
    struct hn_stats *pending;  /* received since the runner's last swap */
    bool feed_out_said;        /* this run was stopped for a feeder already */
};

static void wake(struct hn_fleet *f)
{
    uint64_t one = 1;
    ssize_t rc = write(f->wakefd, &one, sizeof one);
    (void)rc; /* EAGAIN: a wake-up is pending already */
}

static uint32_t member_total(const struct hn_fleet *f, const struct member *m)
{
    uint64_t t = 0;
    for (size_t i = 0; i < f->n_types; i++)
        t += m->counts[i];
    return (uint32_t)t;
}

static struct member *find_member(struct hn_fleet *f, const char *id)
{
    for (size_t i = 0; i < f->n_members; i++)
        if (strcmp(f->members[i]->id, id) == 0)
            return f->members[i];
    return NULL;
}

static void remove_member(struct hn_fleet *f, struct member *m)
{
    for (size_t i = 0; i < f->n_members; i++) {
        if (f->members[i] == m) {
            memmove(&f->members[i], &f->members[i + 1],
                    (f->n_members - i - 1) * sizeof *f->members);
            f->n_members--;
            break;
        }
    }
    free(m->host);
    free(m->counts);
    free(m->feed_lease);
    free(m->feed_seen);
    free(m->feed_left);
    free(m);
}

/* ---------------------------------------------------------------- */
/* Spreading users over workers                                      */
/* ---------------------------------------------------------------- */

/* The live worker with the fewest users (most = false) or the most. With
 * t >= 0 the count of type t decides: first for the most (whom to take a
 * user of that type from), as a tie-break for the fewest (so each worker
 * gets the weighted mix of types, not one type each). */
static struct member *pick(struct hn_fleet *f, bool most, long t)
{
    struct member *best = NULL;
    uint64_t best_v = 0;
    for (size_t i = 0; i < f->n_members; i++) {
        struct member *m = f->members[i];
        if (m->missing)
            continue;
        uint64_t total = member_total(f, m), of_t = t >= 0 ? m->counts[t] : 0;
        uint64_t v = most ? (t >= 0 ? of_t : total) : (total << 32) | of_t;
        if (best == NULL || (most ? v > best_v : v < best_v)) {
            best = m;
            best_v = v;
        }
    }
    return best;
}

static void respread(struct hn_fleet *f)
{
    /* A missing worker's users are counted nowhere, so they get re-spread. */
    for (size_t i = 0; i < f->n_members; i++) {
        struct member *m = f->members[i];
        if (m->missing && member_total(f, m) > 0) {
            memset(m->counts, 0, f->n_types * sizeof *m->counts);
            m->dirty = true;
        }
    }
    if (pick(f, false, -1) == NULL)
        return; /* nobody to run users */
    for (size_t t = 0; t < f->n_types; t++) {
        uint64_t have = 0;
        for (size_t i = 0; i < f->n_members; i++)
            have += f->members[i]->counts[t];
        for (; have < f->totals[t]; have++) {
            struct member *m = pick(f, false, (long)t);
            m->counts[t]++;
            m->dirty = true;
        }
        for (; have > f->totals[t]; have--) {
            struct member *m = pick(f, true, (long)t);
            m->counts[t]--;
            m->dirty = true;
        }
    }
    /* Level totals (a worker joined or came back): move one user at a time
     * from the busiest to the idlest, of the type where they differ most. */
    for (;;) {
        struct member *hi = pick(f, true, -1), *lo = pick(f, false, -1);
        if (hi == lo || member_total(f, hi) <= member_total(f, lo) + 1)
            break;
        size_t t = 0;
        for (size_t k = 1; k < f->n_types; k++)
            if ((int64_t)hi->counts[k] - lo->counts[k] > (int64_t)hi->counts[t] - lo->counts[t])
                t = k;
        hi->counts[t]--;
        lo->counts[t]++;
        hi->dirty = lo->dirty = true;
    }
}

static int live_count(const struct hn_fleet *f)
{
    int n = 0;
    for (size_t i = 0; i < f->n_members; i++)
        n += !f->members[i]->missing;
    return n;
}

/* ---------------------------------------------------------------- */
/* Messages                                                          */
/* ---------------------------------------------------------------- */

static json_t *string_list(const char *const *l)
{
    json_t *a = json_array();
    for (size_t i = 0; l && l[i]; i++)
        json_array_append_new(a, hn_json_text(l[i]));
    return a;
}

/* m's place among the live workers (its share of a pool's remainder). */
static int live_index(const struct hn_fleet *f, const struct member *m)
{
    int k = 0;
    for (size_t i = 0; i < f->n_members && f->members[i] != m; i++)
        k += !f->members[i]->missing;
    return k;
}

static void send_state(struct hn_fleet *f, struct member *m, uint64_t now)
{
    json_t *msg = hn_cluster_msg("state");
    json_t *counts = json_array();
    for (size_t t = 0; t < f->n_types; t++)
        json_array_append_new(counts, json_integer(m->counts[t]));
    int live = live_count(f);
    json_object_set_new(msg, "run", json_integer((json_int_t)f->run));
    json_object_set_new(msg, "epoch", json_integer((json_int_t)f->epoch));
    json_object_set_new(msg, "phase", json_string(phase_names[f->phase]));
    json_object_set_new(msg, "counts", counts);
    json_object_set_new(msg, "spawn_rate", json_real(f->spawn_rate / (live > 0 ? live : 1)));
    json_object_set_new(msg, "host", hn_json_text_or_null(f->host));
    json_object_set_new(msg, "paused", json_boolean(f->paused));
    if (f->params != NULL)
        json_object_set(msg, "params", f->params);
    if (f->types != NULL)
        json_object_set(msg, "types", f->types);
    if (f->open) {
        /* Every live worker has a pool of at least one user. */
        int n = live > 0 ? live : 1, k = live_index(f, m);
        uint32_t pool = f->pool_max / (uint32_t)n + ((uint32_t)k < f->pool_max % (uint32_t)n);
        json_object_set_new(msg, "arrival",
                            json_pack("{s:f, s:I}", "rate", f->arrival_rate / n, "pool",
                                      (json_int_t)(pool > 0 ? pool : 1)));
    }
    hn_cluster_send(f->sock, m->id, msg);
    m->dirty = false;
    m->last_sent_us = now;
}

static void refuse(struct hn_fleet *f, const char *id, const char *who, const char *reason)
{
    json_t *msg = hn_cluster_msg("refuse");
    json_object_set_new(msg, "reason", json_string(reason));
    hn_cluster_send(f->sock, id, msg);
    hn_logf(HN_WARNING, "refused worker %s: %s", who, reason);
}

static bool same_types(struct hn_fleet *f, const json_t *types)
{
    if (!json_is_array(types) || json_array_size(types) != f->n_types)
        return false;
    for (size_t i = 0; i < f->n_types; i++) {
        const json_t *v = json_array_get(types, i);
        if (!json_is_string(v) || strcmp(json_string_value(v), f->type_names[i]) != 0)
            return false;
    }
    return true;
}

static void send_welcome(struct hn_fleet *f, const char *id, bool with_plugin)
{
    json_t *w = hn_cluster_msg("welcome");
    json_object_set_new(w, "master", json_string(f->instance));
    json_object_set_new(w, "tags", string_list(f->cfg.tags));
    json_object_set_new(w, "exclude_tags", string_list(f->cfg.exclude_tags));
    json_object_set_new(w, "stop_timeout", json_real(f->cfg.stop_timeout));
    json_object_set_new(w, "version", json_string(HN_VERSION));
    const struct hn_http_options *l = &f->limits;
    json_t *lj = json_pack("{s:I, s:f, s:f, s:f}", "max_body", (json_int_t)l->max_body, "connect",
                           l->connect_s, "response", l->response_s, "idle", l->idle_s);
    if (hn_http_client_name(l->client) != NULL)
        json_object_set_new(lj, "client", json_string(hn_http_client_name(l->client)));
    const struct hn_transport *t = &l->transport;
    if (t->insecure || t->ca_file || t->cert_file || t->key_file || t->source_ips) {
        /* Paths and addresses: each worker reads them on its own machine. */
        json_t *tj = json_object();
        json_object_set_new(tj, "insecure", json_boolean(t->insecure));
        const char *keys[] = {"ca_cert", "client_cert", "client_key", "source_ips"};
        const char *vals[] = {t->ca_file, t->cert_file, t->key_file, t->source_ips};
        for (size_t i = 0; i < 4; i++)
            if (vals[i] != NULL)
                json_object_set_new(tj, keys[i], json_string(vals[i]));
        json_object_set_new(lj, "transport", tj);
    }
    json_object_set_new(w, "limits", lj);
    if (with_plugin)
        json_object_set(w, "plugin_file", f->plugin_file);
    if (f->feeders)
        json_object_set(w, "feeders", f->feeders);
    hn_cluster_send(f->sock, id, w);
}

static void on_hello(struct hn_fleet *f, const char *id, const json_t *msg, uint64_t now)
{
    const json_t *v = json_object_get(msg, "v");
    const char *version = json_string_value(json_object_get(msg, "version"));
    const char *host = json_string_value(json_object_get(msg, "host"));
    const json_t *plugin = json_object_get(msg, "plugin");
    const char *sha = json_string_value(json_object_get(plugin, "sha256"));
    char who[MAX_ID + 64], reason[512];
    snprintf(who, sizeof who, "%s", id);
    if (!json_is_integer(v) || json_integer_value(v) != HN_CLUSTER_PROTOCOL) {
        snprintf(reason, sizeof reason,
                 "protocol version %lld is not this master's (%d; hornet %s): run the same "
                 "hornet version on the master and every worker",
                 json_is_integer(v) ? (long long)json_integer_value(v) : -1LL,
                 HN_CLUSTER_PROTOCOL, HN_VERSION);
        refuse(f, id, who, reason);
        return;
    }
    bool wants_plugin = json_is_null(plugin);
    if (wants_plugin && f->plugin_file == NULL) {
        refuse(f, id, who, "it has no plugin and the master's is built in: start the worker "
                           "with -f");
        return;
    }
    if (!wants_plugin && (sha == NULL || strcmp(sha, f->sha) != 0)) {
        snprintf(reason, sizeof reason,
                 "its plugin differs from the master's (sha256 %.12s... vs %.12s...): give "
                 "every worker the same plugin file",
                 sha ? sha : "none", f->sha);
        refuse(f, id, who, reason);
        return;
    }
    if (!wants_plugin && !same_types(f, json_object_get(plugin, "types"))) {
        refuse(f, id, who, "its plugin declares other user types than the master's");
        return;
    }
    json_int_t session = json_integer_value(json_object_get(msg, "session"));
    struct member *m = find_member(f, id);
    bool back = m != NULL;
    if (m != NULL && !m->missing && m->session == session) {
        /* A hello repeated while this one was on its way: welcome again,
         * nothing else changes. */
        send_welcome(f, id, wants_plugin);
        return;
    }
    if (m == NULL && f->n_members >= MAX_MEMBERS) {
        refuse(f, id, who, "this master has too many workers");
        return;
    }
    if (m == NULL) {
        if (f->n_members == f->cap_members) {
            f->cap_members = f->cap_members ? f->cap_members * 2 : 8;
            f->members = realloc(f->members, f->cap_members * sizeof *f->members);
            if (f->members == NULL)
                abort();
        }
        m = calloc(1, sizeof *m);
        size_t nf = f->n_feeds ? f->n_feeds : 1;
        if (m == NULL || (m->counts = calloc(f->n_types ? f->n_types : 1, sizeof *m->counts)) ==
                             NULL || (m->feed_lease = calloc(nf, sizeof *m->feed_lease)) == NULL ||
            (m->feed_seen = calloc(nf, sizeof *m->feed_seen)) == NULL ||
            (m->feed_left = calloc(nf, sizeof *m->feed_left)) == NULL)
            abort();
        snprintf(m->id, sizeof m->id, "%s", id);
        f->members[f->n_members++] = m;
    }
    free(m->host);
    m->host = strdup(host ? host : "?");
    m->pid = (long)json_integer_value(json_object_get(msg, "pid"));
    m->threads = (int)json_integer_value(json_object_get(msg, "threads"));
    snprintf(m->state, sizeof m->state, "ready");
    m->session = session;
    m->missing = false;
    m->last_seen_us = now;
    m->last_seen_wall = hn_wall_s();
    /* It starts from nothing: whatever it ran before was re-spread. */
    memset(m->counts, 0, f->n_types * sizeof *m->counts);
    m->dirty = true;
    f->respread = true;

    send_welcome(f, id, wants_plugin);
    hn_logf(HN_INFO, "worker %s (%s, hornet %s) %s; %d worker%s ready", id, m->host,
            version ? version : "?", back ? "connected again" : "connected", live_count(f),
            live_count(f) == 1 ? "" : "s");
}

static void on_report(struct hn_fleet *f, struct member *m, const json_t *msg, uint64_t now)
{
    const char *state = json_string_value(json_object_get(msg, "state"));
    if (state != NULL)
        snprintf(m->state, sizeof m->state, "%s", state);
    json_int_t users = json_integer_value(json_object_get(msg, "users"));
    m->users = users > 0 && users <= UINT32_MAX ? (uint32_t)users : 0;
    m->cpu = json_number_value(json_object_get(msg, "cpu"));
    json_int_t rss = json_integer_value(json_object_get(msg, "rss"));
    m->rss = rss > 0 ? (uint64_t)rss : 0;
    json_int_t threads = json_integer_value(json_object_get(msg, "threads"));
    if (threads > 0)
        m->threads = (int)threads;
    const json_t *feeds = json_object_get(msg, "feeds");
    for (size_t k = 0; k < f->n_feeds && k < json_array_size(feeds); k++) {
        json_int_t lease = json_integer_value(json_array_get(json_array_get(feeds, k), 0));
        json_int_t left = json_integer_value(json_array_get(json_array_get(feeds, k), 1));
        m->feed_seen[k] = lease > 0 ? (uint64_t)lease : 0;
        m->feed_left[k] = left > 0 ? (uint64_t)left : 0;
    }

    const json_t *stats = json_object_get(msg, "stats");
    const json_t *epoch = json_object_get(msg, "epoch");
    if (stats != NULL && json_is_integer(epoch) &&
        (uint64_t)json_integer_value(epoch) == f->epoch) {
        char err[256];
        if (hn_stats_wire_merge(f->pending, stats, err, sizeof err) != 0)
            hn_logf(HN_WARNING, "worker %s sent unreadable statistics (%s); dropped", m->id, err);
    }
    size_t i;
    const json_t *line;
    json_array_foreach(json_object_get(msg, "logs"), i, line) {
        json_int_t level = json_integer_value(json_array_get(line, 0));
        const char *text = json_string_value(json_array_get(line, 1));
        if (text != NULL)
            hn_logf(level >= HN_DEBUG && level <= HN_CRITICAL ? (int)level : HN_INFO, "[%s] %s",
                    m->id, text);
    }
    (void)now;
}

/* A worker asks for rows of a ONCE or CYCLE feeder: the next ones of the
 * cluster's cursor. A ONCE feeder's last rows are spread over the live
 * workers, so that none sits on many while the others run dry. */
static void on_feed(struct hn_fleet *f, struct member *m, const json_t *msg)
{
    json_int_t k = json_integer_value(json_object_get(msg, "feeder"));
    json_int_t lease = json_integer_value(json_object_get(msg, "lease"));
    json_int_t want = json_integer_value(json_object_get(msg, "want"));
    if (k < 0 || (size_t)k >= f->n_feeds || lease <= 0 || want <= 0 ||
        (uint64_t)lease <= m->feed_lease[k])
        return; /* malformed, or answered already */
    const struct hn_feed_table *t = &f->feed_tables->tables[k];
    if (t->mode == HN_FEED_RANDOM)
        return;
    uint64_t from = f->feed_cursor[k], count = (uint64_t)want > 65536 ? 65536 : (uint64_t)want;
    if (t->mode == HN_FEED_ONCE) {
        uint64_t rest = t->n_rows > from ? t->n_rows - from : 0;
        int live = live_count(f);
        uint64_t fair = (rest + (uint64_t)live - 1) / (uint64_t)(live > 0 ? live : 1);
        count = count < fair ? count : fair;
    }
    f->feed_cursor[k] += count;
    m->feed_lease[k] = (uint64_t)lease;
    json_t *rows = hn_cluster_msg("rows");
    json_object_set_new(rows, "feeder", json_integer(k));
    json_object_set_new(rows, "lease", json_integer(lease));
    json_object_set_new(rows, "from", json_integer((json_int_t)from));
    json_object_set_new(rows, "count", json_integer((json_int_t)count));
    hn_cluster_send(f->sock, m->id, rows);
}

/* The name of a ONCE feeder that stops the test and is used up: every row
 * handed out, and every live worker has said (after its last lease) that
 * it has none left. NULL otherwise. [fleet thread, f->lock held] */
static const char *feeder_used_up(struct hn_fleet *f)
{
    for (size_t k = 0; f->phase == PHASE_RUN && !f->feed_out_said && k < f->n_feeds; k++) {
        const struct hn_feed_table *t = &f->feed_tables->tables[k];
        if (t->mode != HN_FEED_ONCE || !(t->flags & HN_FEED_STOP_TEST) ||
            f->feed_cursor[k] < t->n_rows)
            continue;
        bool out = true;
        for (size_t i = 0; out && i < f->n_members; i++) {
            const struct member *m = f->members[i];
            out = m->missing || (m->feed_seen[k] == m->feed_lease[k] && m->feed_left[k] == 0);
        }
        if (out)
            return t->name;
    }
    return NULL;
}

static void handle(struct hn_fleet *f, const char *id, const char *text, size_t len,
                   uint64_t now)
{
    json_error_t jerr;
    json_t *msg = json_loadb(text, len, 0, &jerr);
    const char *type = json_string_value(json_object_get(msg, "type"));
    if (type == NULL) {
        hn_logf(HN_WARNING, "ignored a malformed message from %s", id);
        json_decref(msg);
        return;
    }
    char stop_reason[256] = "";
    pthread_mutex_lock(&f->lock);
    if (strcmp(type, "hello") == 0) {
        on_hello(f, id, msg, now);
        pthread_mutex_unlock(&f->lock);
        json_decref(msg);
        return;
    }
    struct member *m = find_member(f, id);
    if (m == NULL) {
        /* Not known here (this master restarted): ask it to say hello. */
        if (strcmp(type, "bye") != 0)
            hn_cluster_send(f->sock, id, hn_cluster_msg("rehello"));
        pthread_mutex_unlock(&f->lock);
        json_decref(msg);
        return;
    }
    m->last_seen_us = now;
    m->last_seen_wall = hn_wall_s();
    if (m->missing) {
        m->missing = false;
        f->respread = true;
        hn_logf(HN_INFO, "worker %s is back; %d worker%s ready", m->id, live_count(f),
                live_count(f) == 1 ? "" : "s");
    }
    if (strcmp(type, "report") == 0) {
        on_report(f, m, msg, now);
        const char *used_up = feeder_used_up(f);
        if (used_up != NULL) {
            f->feed_out_said = true;
            snprintf(stop_reason, sizeof stop_reason, "feeder '%.100s' ran out of rows",
                     used_up);
        }
    } else if (strcmp(type, "feed") == 0) {
        on_feed(f, m, msg);
    } else if (strcmp(type, "stopped") == 0) {
        json_int_t run = json_integer_value(json_object_get(msg, "run"));
        if (run > 0 && (uint64_t)run <= f->run && (uint64_t)run > m->stopped_run)
            m->stopped_run = (uint64_t)run;
    } else if (strcmp(type, "stop_test") == 0) {
        json_int_t run = json_integer_value(json_object_get(msg, "run"));
        const char *why = json_string_value(json_object_get(msg, "reason"));
        if (run > 0 && (uint64_t)run == f->run && f->phase == PHASE_RUN)
            snprintf(stop_reason, sizeof stop_reason, "%s (on worker %s)",
                     why && *why ? why : "stop_test", m->id);
    } else if (strcmp(type, "bye") == 0) {
        int left = live_count(f) - (m->missing ? 0 : 1);
        hn_logf(HN_INFO, "worker %s quit; %d worker%s left", m->id, left, left == 1 ? "" : "s");
        remove_member(f, m);
        f->respread = true;
    } else {
        hn_logf(HN_WARNING, "ignored a '%.40s' message from worker %s", type, m->id);
    }
    pthread_mutex_unlock(&f->lock);
    json_decref(msg);
    if (stop_reason[0]) {
        /* Its own lock: clearing the callback waits for a call in progress. */
        pthread_mutex_lock(&f->cb_lock);
        if (f->stop_test)
            f->stop_test(f->stop_test_ud, stop_reason);
        pthread_mutex_unlock(&f->cb_lock);
    }
}

/* Reads one message if any; returns false when there was none. */
static bool receive(struct hn_fleet *f, uint64_t now)
{
    zmq_msg_t idm, body;
    zmq_msg_init(&idm);
    if (zmq_msg_recv(&idm, f->sock, ZMQ_DONTWAIT) < 0) {
        zmq_msg_close(&idm);
        return false;
    }
    char id[MAX_ID + 1];
    size_t idlen = zmq_msg_size(&idm);
    bool ok = idlen > 0 && idlen <= MAX_ID;
    for (size_t i = 0; ok && i < idlen; i++) {
        unsigned char c = ((unsigned char *)zmq_msg_data(&idm))[i];
        ok = c > 32 && c < 127;
    }
    if (ok)
        memcpy(id, zmq_msg_data(&idm), idlen);
    id[ok ? idlen : 0] = '\0';
    zmq_msg_close(&idm);
    /* The payload, and any further frames (a stray client's), are read. */
    bool first = true;
    for (;;) {
        zmq_msg_init(&body);
        if (zmq_msg_recv(&body, f->sock, ZMQ_DONTWAIT) < 0) {
            zmq_msg_close(&body);
            break;
        }
        if (first && ok)
            handle(f, id, zmq_msg_data(&body), zmq_msg_size(&body), now);
        first = false;
        bool more = zmq_msg_more(&body);
        zmq_msg_close(&body);
        if (!more)
            break;
    }
    return true;
}

/* Missing workers, re-spreading, and the state messages due. [fleet thread] */
static void maintain(struct hn_fleet *f, uint64_t now)
{
    pthread_mutex_lock(&f->lock);
    for (size_t i = 0; i < f->n_members; i++) {
        struct member *m = f->members[i];
        if (!m->missing && now - m->last_seen_us > HN_CLUSTER_WORKER_LOST_MS * 1000u) {
            m->missing = true;
            snprintf(m->state, sizeof m->state, "missing");
            f->respread = true;
            hn_logf(HN_WARNING,
                    "worker %s is missing (no heartbeat for %d s); its %u users are re-spread "
                    "over %d worker(s)",
                    m->id, HN_CLUSTER_WORKER_LOST_MS / 1000, member_total(f, m), live_count(f));
        }
    }
    for (size_t i = 0; i < f->n_members;) {
        struct member *m = f->members[i];
        if (m->missing && now - m->last_seen_us > MISSING_FORGET_S * 1000000ull) {
            hn_logf(HN_INFO, "forgetting worker %s (missing for %d s)", m->id, MISSING_FORGET_S);
            remove_member(f, m);
            continue;
        }
        i++;
    }
    if (f->respread) {
        f->respread = false;
        respread(f);
        for (size_t i = 0; f->open && i < f->n_members; i++)
            f->members[i]->dirty = true; /* the shares changed */
    }
    for (size_t i = 0; i < f->n_members; i++) {
        struct member *m = f->members[i];
        if (!m->missing && (m->dirty || now - m->last_sent_us >= HN_CLUSTER_HEARTBEAT_MS * 1000u))
            send_state(f, m, now);
    }
    pthread_mutex_unlock(&f->lock);
}

/* Tells every worker to quit and waits (a bounded time) until each live
 * one said bye, repeating the message: a worker must not be left waiting
 * for a master that is gone for good. */
static void say_quit(struct hn_fleet *f)
{
    uint64_t start = hn_mono_us(), last_sent = 0;
    for (;;) {
        uint64_t now = hn_mono_us();
        pthread_mutex_lock(&f->lock);
        int waiting = 0;
        for (size_t i = 0; i < f->n_members; i++) {
            struct member *m = f->members[i];
            if (m->missing)
                continue;
            waiting++;
            if (now - last_sent >= 250000u)
                hn_cluster_send(f->sock, m->id, hn_cluster_msg("quit"));
        }
        pthread_mutex_unlock(&f->lock);
        if (now - last_sent >= 250000u)
            last_sent = now;
        if (waiting == 0)
            return;
        if (now - start > QUIT_WAIT_MS * 1000u) {
            hn_logf(HN_WARNING, "%d worker%s did not confirm the quit", waiting,
                    waiting == 1 ? "" : "s");
            return;
        }
        zmq_pollitem_t item = {.socket = f->sock, .events = ZMQ_POLLIN};
        zmq_poll(&item, 1, 50);
        while (receive(f, hn_mono_us()))
            ;
    }
}

static void *fleet_main(void *arg)
{
    struct hn_fleet *f = arg;
    for (;;) {
        zmq_pollitem_t items[2] = {{.socket = f->sock, .events = ZMQ_POLLIN},
                                   {.fd = f->wakefd, .events = ZMQ_POLLIN}};
        zmq_poll(items, 2, 200);
        if (items[1].revents & ZMQ_POLLIN) {
            uint64_t v;
            ssize_t rc = read(f->wakefd, &v, sizeof v);
            (void)rc;
        }
        uint64_t now = hn_mono_us();
        for (int k = 0; k < 1000 && receive(f, now); k++)
            ;
        pthread_mutex_lock(&f->lock);
        bool quit = f->quit;
        pthread_mutex_unlock(&f->lock);
        if (quit)
            break;
        maintain(f, now);
    }
    say_quit(f);
    return NULL;
}

/* ---------------------------------------------------------------- */
/* The runner's callbacks [runner control thread]                    */
/* ---------------------------------------------------------------- */

static void ops_start_run(void *ud, const char *host)
{
    struct hn_fleet *f = ud;
    pthread_mutex_lock(&f->lock);
    f->run++;
    f->epoch++;
    f->phase = PHASE_RUN;
    f->paused = false; /* open stays: set_arrival comes first for the open model */
    f->feed_out_said = false;
    free(f->host);
    f->host = host ? strdup(host) : NULL;
    hn_stats_reset(f->pending);
    for (size_t i = 0; i < f->n_members; i++)
        f->members[i]->dirty = true;
    pthread_mutex_unlock(&f->lock);
    wake(f);
}

static void ops_set_targets(void *ud, const uint32_t *counts, size_t n, double spawn_rate)
{
    struct hn_fleet *f = ud;
    pthread_mutex_lock(&f->lock);
    for (size_t t = 0; t < f->n_types; t++)
        f->totals[t] = t < n ? counts[t] : 0;
    if (spawn_rate != f->spawn_rate) {
        f->spawn_rate = spawn_rate;
        for (size_t i = 0; i < f->n_members; i++)
            f->members[i]->dirty = true;
    }
    f->respread = true;
    pthread_mutex_unlock(&f->lock);
    wake(f);
}

static void ops_set_arrival(void *ud, double rate, uint32_t pool_max)
{
    struct hn_fleet *f = ud;
    pthread_mutex_lock(&f->lock);
    f->open = true;
    f->arrival_rate = rate;
    f->pool_max = pool_max;
    for (size_t i = 0; i < f->n_members; i++)
        f->members[i]->dirty = true;
    pthread_mutex_unlock(&f->lock);
    wake(f);
}

static void ops_set_params(void *ud, const struct hn_params *ps)
{
    struct hn_fleet *f = ud;
    json_t *o = json_object();
    for (size_t i = 0; o != NULL && ps != NULL && i < ps->n; i++)
        json_object_set_new(o, ps->decl[i].name, hn_json_text(ps->values[i]));
    pthread_mutex_lock(&f->lock);
    json_decref(f->params);
    f->params = o;
    pthread_mutex_unlock(&f->lock);
}

static void ops_set_type_choice(void *ud, size_t type_index, const char *host,
                                const char *const *tasks)
{
    struct hn_fleet *f = ud;
    json_t *choice = json_pack("{s:o, s:o}", "host", hn_json_text_or_null(host), "tasks",
                               tasks ? string_list(tasks) : json_null());
    pthread_mutex_lock(&f->lock);
    if (f->types == NULL) {
        f->types = json_array();
        for (size_t i = 0; f->types != NULL && i < f->n_types; i++)
            json_array_append_new(f->types, json_pack("{s:n, s:n}", "host", "tasks"));
    }
    if (type_index < f->n_types && choice != NULL)
        json_array_set_new(f->types, type_index, choice);
    else
        json_decref(choice);
    pthread_mutex_unlock(&f->lock);
}

static void ops_set_host(void *ud, const char *host)
{
    struct hn_fleet *f = ud;
    pthread_mutex_lock(&f->lock);
    free(f->host);
    f->host = host ? strdup(host) : NULL;
    for (size_t i = 0; i < f->n_members; i++)
        f->members[i]->dirty = true;
    pthread_mutex_unlock(&f->lock);
    wake(f);
}

static void ops_pause(void *ud, bool paused)
{
    struct hn_fleet *f = ud;
    pthread_mutex_lock(&f->lock);
    f->paused = paused;
    for (size_t i = 0; i < f->n_members; i++)
        f->members[i]->dirty = true;
    pthread_mutex_unlock(&f->lock);
    wake(f);
}

static void ops_stop(void *ud)
{
    struct hn_fleet *f = ud;
    pthread_mutex_lock(&f->lock);
    f->phase = PHASE_STOP;
    f->paused = false;
    f->open = false;
    memset(f->totals, 0, f->n_types * sizeof *f->totals);
    for (size_t i = 0; i < f->n_members; i++) {
        memset(f->members[i]->counts, 0, f->n_types * sizeof *f->members[i]->counts);
        f->members[i]->dirty = true;
    }
    pthread_mutex_unlock(&f->lock);
    wake(f);
}

static bool ops_stopped(void *ud)
{
    struct hn_fleet *f = ud;
    pthread_mutex_lock(&f->lock);
    bool done = true;
    for (size_t i = 0; i < f->n_members; i++)
        if (!f->members[i]->missing && f->members[i]->stopped_run < f->run)
            done = false;
    pthread_mutex_unlock(&f->lock);
    return done;
}

static void ops_reset(void *ud)
{
    struct hn_fleet *f = ud;
    pthread_mutex_lock(&f->lock);
    f->epoch++;
    hn_stats_reset(f->pending);
    for (size_t i = 0; i < f->n_members; i++)
        f->members[i]->dirty = true;
    pthread_mutex_unlock(&f->lock);
    wake(f);
}

static void ops_swap_stats(void *ud, struct hn_stats **spare)
{
    struct hn_fleet *f = ud;
    pthread_mutex_lock(&f->lock);
    struct hn_stats *full = f->pending;
    f->pending = *spare;
    *spare = full;
    pthread_mutex_unlock(&f->lock);
}

static int ops_ready(void *ud)
{
    return hn_fleet_ready(ud);
}

static int by_id(const void *a, const void *b)
{
    return strcmp(((const struct hn_worker_view *)a)->id, ((const struct hn_worker_view *)b)->id);
}

static struct hn_worker_view *ops_workers(void *ud, size_t *n)
{
    struct hn_fleet *f = ud;
    pthread_mutex_lock(&f->lock);
    struct hn_worker_view *v = calloc(f->n_members ? f->n_members : 1, sizeof *v);
    *n = v ? f->n_members : 0;
    for (size_t i = 0; v && i < f->n_members; i++) {
        const struct member *m = f->members[i];
        v[i] = (struct hn_worker_view){
            .id = strdup(m->id),
            .host = strdup(m->host ? m->host : "?"),
            .state = strdup(m->missing ? "missing" : m->state),
            .users = m->missing ? 0 : m->users,
            .threads = m->threads,
            .cpu_percent = m->cpu,
            .rss_bytes = m->rss,
            .last_heartbeat = m->last_seen_wall,
        };
    }
    pthread_mutex_unlock(&f->lock);
    if (v && *n > 1)
        qsort(v, *n, sizeof *v, by_id);
    return v;
}

/* What the master keeps of its plugin: the user types' names, the file
 * and the feeder tables sent to workers, and the per-type and per-feeder
 * counters that go with them. */
struct plugin_parts {
    size_t n_types;
    const char **type_names;
    uint32_t *totals;
    char sha[65];
    json_t *plugin_file;
    const struct hn_feeders *feed_tables;
    json_t *feeders;
    size_t n_feeds;
    uint64_t *feed_cursor;
};

static void free_parts(struct plugin_parts *pp)
{
    free(pp->type_names);
    free(pp->totals);
    json_decref(pp->plugin_file);
    json_decref(pp->feeders);
    free(pp->feed_cursor);
}

/* path = NULL: a built-in plugin (no file to send). */
static int make_parts(const struct hn_plugin *plugin, const char *path, const char *sha,
                      const struct hn_feeders *feeders, struct plugin_parts *pp, char *err,
                      size_t err_len)
{
    memset(pp, 0, sizeof *pp);
    while (plugin->user_types[pp->n_types].name != NULL)
        pp->n_types++;
    pp->type_names = calloc(pp->n_types ? pp->n_types : 1, sizeof *pp->type_names);
    pp->totals = calloc(pp->n_types ? pp->n_types : 1, sizeof *pp->totals);
    pp->n_feeds = feeders ? feeders->n : 0;
    pp->feed_cursor = calloc(pp->n_feeds ? pp->n_feeds : 1, sizeof *pp->feed_cursor);
    if (pp->type_names == NULL || pp->totals == NULL || pp->feed_cursor == NULL)
        abort();
    for (size_t i = 0; i < pp->n_types; i++)
        pp->type_names[i] = plugin->user_types[i].name;
    snprintf(pp->sha, sizeof pp->sha, "%s", sha);
    pp->feed_tables = feeders;
    if (pp->n_feeds > 0) {
        /* Sent with every welcome: workers need none of the files. */
        json_t *tables = hn_feed_wire_encode(feeders);
        char *text = tables ? json_dumps(tables, JSON_COMPACT) : NULL;
        char tsha[65];
        if (text != NULL)
            hn_cluster_sha256(text, strlen(text), tsha);
        if (text == NULL || strlen(text) > PLUGIN_MAX * 2) {
            snprintf(err, err_len, text ? "the feeders' files are too large to send to "
                                          "workers (at most %u MB in all)"
                                        : "out of memory", PLUGIN_MAX * 2 >> 20);
            free(text);
            json_decref(tables);
            free_parts(pp);
            return -1;
        }
        pp->feeders = json_pack("{s:s, s:o}", "sha256", tsha, "tables", tables);
        free(text);
    }
    if (path != NULL) {
        /* Kept encoded for workers started without -f. */
        FILE *pf = fopen(path, "rb");
        unsigned char *bytes = pf ? malloc(PLUGIN_MAX + 1) : NULL;
        size_t n = bytes ? fread(bytes, 1, PLUGIN_MAX + 1, pf) : 0;
        if (pf)
            fclose(pf);
        char *b64 = bytes && n <= PLUGIN_MAX ? hn_cluster_b64_encode(bytes, n) : NULL;
        const char *base = strrchr(path, '/');
        if (b64 != NULL)
            pp->plugin_file = json_pack("{s:s, s:s, s:s}", "name", base ? base + 1 : path,
                                        "sha256", sha, "data", b64);
        free(b64);
        free(bytes);
    }
    return 0;
}

/* Exchanges f's parts with pp's (under f->lock, or before the thread runs). */
static void swap_parts(struct hn_fleet *f, struct plugin_parts *pp)
{
    struct plugin_parts old = {
        .n_types = f->n_types, .type_names = f->type_names, .totals = f->totals,
        .plugin_file = f->plugin_file, .feed_tables = f->feed_tables, .feeders = f->feeders,
        .n_feeds = f->n_feeds, .feed_cursor = f->feed_cursor,
    };
    memcpy(old.sha, f->sha, sizeof old.sha);
    f->n_types = pp->n_types;
    f->type_names = pp->type_names;
    f->totals = pp->totals;
    memcpy(f->sha, pp->sha, sizeof f->sha);
    f->plugin_file = pp->plugin_file;
    f->feed_tables = pp->feed_tables;
    f->feeders = pp->feeders;
    f->n_feeds = pp->n_feeds;
    f->feed_cursor = pp->feed_cursor;
    *pp = old;
}

/* ZeroMQ's authentication (ZAP, RFC 27): libzmq asks this socket about
 * every CURVE handshake; only the key derived from the cluster secret is
 * let in. Runs on its own thread until the context ends. */
static void *zap_main(void *arg)
{
    struct hn_fleet *f = arg;
    unsigned char want[32];
    zmq_z85_decode(want, f->cfg.curve->client_public);
    for (;;) {
        char part[7][256];
        size_t len[7] = {0};
        int n = 0, more = 1;
        while (more) {
            int got = zmq_recv(f->zap, n < 7 ? part[n] : part[6], sizeof part[0], 0);
            if (got < 0)
                return NULL; /* the context is ending */
            if (n < 7)
                len[n] = (size_t)got < sizeof part[0] ? (size_t)got : sizeof part[0];
            n++;
            size_t sz = sizeof more;
            zmq_getsockopt(f->zap, ZMQ_RCVMORE, &more, &sz);
        }
        /* version, request id, domain, address, identity, mechanism, key */
        bool ok = n == 7 && len[5] == 5 && memcmp(part[5], "CURVE", 5) == 0 && len[6] == 32 &&
                  memcmp(part[6], want, 32) == 0;
        if (!ok) {
            char addr[64] = "?";
            if (n > 3)
                snprintf(addr, sizeof addr, "%.*s", (int)(len[3] < 63 ? len[3] : 63), part[3]);
            hn_logf(HN_WARNING, "master: refused a worker from %s: its --cluster-key differs",
                    addr);
        }
        const char *code = ok ? "200" : "400";
        const char *text = ok ? "OK" : "wrong cluster key";
        zmq_send(f->zap, "1.0", 3, ZMQ_SNDMORE);
        zmq_send(f->zap, part[1], n > 1 ? len[1] : 0, ZMQ_SNDMORE);
        zmq_send(f->zap, code, 3, ZMQ_SNDMORE);
        zmq_send(f->zap, text, strlen(text), ZMQ_SNDMORE);
        zmq_send(f->zap, "", 0, ZMQ_SNDMORE);
        zmq_send(f->zap, "", 0, 0);
    }
}

/* ---------------------------------------------------------------- */
/* Public                                                            */
/* ---------------------------------------------------------------- */

int hn_fleet_set_plugin(struct hn_fleet *f, const struct hn_plugin *plugin, const char *path,
                        const char *sha256, const struct hn_feeders *feeders, char *err,
                        size_t err_len)
{
    struct plugin_parts pp;
    if (make_parts(plugin, path, sha256, feeders, &pp, err, err_len) != 0)
        return -1;
    pthread_mutex_lock(&f->lock);
    swap_parts(f, &pp);
    /* Every worker is welcomed again, with the new plugin: each one's next
     * message finds it unknown and is answered with "rehello". */
    size_t n = f->n_members;
    while (f->n_members > 0)
        remove_member(f, f->members[f->n_members - 1]);
    f->respread = true;
    pthread_mutex_unlock(&f->lock);
    free_parts(&pp);
    hn_logf(HN_INFO, "master: plugin reloaded (sha256 %.12s...); %zu worker%s to welcome again",
            sha256, n, n == 1 ? "" : "s");
    return 0;
}

int hn_fleet_start(struct hn_fleet **out, const struct hn_fleet_config *cfg, char *err,
                   size_t err_len)
{
    *out = NULL;
    struct hn_fleet *f = calloc(1, sizeof *f);
    if (f == NULL)
        return -1;
    f->cfg = *cfg;
    f->limits = hn_http_options_or_defaults(cfg->limits);
    f->cfg.limits = NULL;
    f->wakefd = -1;
    pthread_mutex_init(&f->lock, NULL);
    pthread_mutex_init(&f->cb_lock, NULL);
    f->pending = calloc(1, sizeof *f->pending);
    if (f->pending == NULL)
        abort();
    hn_stats_init(f->pending);
    struct plugin_parts pp;
    if (make_parts(cfg->plugin, cfg->plugin_path, cfg->plugin_sha256, cfg->feeders, &pp, err,
                   err_len) != 0) {
        hn_fleet_stop(f);
        return -1;
    }
    swap_parts(f, &pp);
    f->ops = (struct hn_fleet_ops){
        .ud = f,
        .start_run = ops_start_run,
        .set_targets = ops_set_targets,
        .set_arrival = ops_set_arrival,
        .set_params = ops_set_params,
        .set_type_choice = ops_set_type_choice,
        .set_host = ops_set_host,
        .pause = ops_pause,
        .stop = ops_stop,
        .stopped = ops_stopped,
        .reset = ops_reset,
        .swap_stats = ops_swap_stats,
        .workers = ops_workers,
        .ready = ops_ready,
    };

    f->wakefd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
    f->zctx = zmq_ctx_new();
    f->sock = f->zctx ? zmq_socket(f->zctx, ZMQ_ROUTER) : NULL;
    if (f->wakefd < 0 || f->sock == NULL) {
        snprintf(err, err_len, "cannot create the master's socket: %s", zmq_strerror(errno));
        hn_fleet_stop(f);
        return -1;
    }
    int one = 1, zero = 0;
    int64_t max_msg = 16 << 20; /* a statistics delta is far smaller */
    int rcvhwm = 100;           /* per worker; it sends about one message a second */
    zmq_setsockopt(f->sock, ZMQ_ROUTER_HANDOVER, &one, sizeof one);
    zmq_setsockopt(f->sock, ZMQ_ROUTER_MANDATORY, &one, sizeof one);
    if (cfg->curve != NULL) {
        /* Encrypted, and only workers that hold the secret get in. */
        f->zap = zmq_socket(f->zctx, ZMQ_REP);
        if (f->zap == NULL || zmq_bind(f->zap, "inproc://zeromq.zap.01") != 0 ||
            pthread_create(&f->zap_thread, NULL, zap_main, f) != 0) {
            snprintf(err, err_len, "cannot start the master's key check: %s",
                     zmq_strerror(errno));
            hn_fleet_stop(f);
            return -1;
        }
        f->zap_started = true;
        zmq_setsockopt(f->sock, ZMQ_CURVE_SERVER, &one, sizeof one);
        zmq_setsockopt(f->sock, ZMQ_CURVE_SECRETKEY, cfg->curve->server_secret, 41);
        zmq_setsockopt(f->sock, ZMQ_ZAP_DOMAIN, "hornet", 6);
    }
    zmq_setsockopt(f->sock, ZMQ_LINGER, &zero, sizeof zero);
    zmq_setsockopt(f->sock, ZMQ_MAXMSGSIZE, &max_msg, sizeof max_msg);
    zmq_setsockopt(f->sock, ZMQ_RCVHWM, &rcvhwm, sizeof rcvhwm);
    bool v6 = strchr(cfg->bind_host, ':') != NULL;
    if (v6)
        zmq_setsockopt(f->sock, ZMQ_IPV6, &one, sizeof one);
    const char *host = strcmp(cfg->bind_host, "0.0.0.0") == 0 ? "*" : cfg->bind_host;
    char endpoint[300];
    if (cfg->bind_port)
        snprintf(endpoint, sizeof endpoint, "tcp://%s%s%s:%u", v6 ? "[" : "", host,
                 v6 ? "]" : "", cfg->bind_port);
    else
        snprintf(endpoint, sizeof endpoint, "tcp://%s%s%s:*", v6 ? "[" : "", host,
                 v6 ? "]" : "");
    if (zmq_bind(f->sock, endpoint) != 0) {
        snprintf(err, err_len, "--master-bind-host/--master-bind-port: cannot listen on %s: %s",
                 endpoint + 6, zmq_strerror(errno));
        hn_fleet_stop(f);
        return -1;
    }
    char last[300] = "";
    size_t last_len = sizeof last;
    zmq_getsockopt(f->sock, ZMQ_LAST_ENDPOINT, last, &last_len);
    const char *colon = strrchr(last, ':');
    f->port = colon ? (uint16_t)atoi(colon + 1) : cfg->bind_port;

    /* Names this master's runs and epochs apart from a restarted one's. */
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    snprintf(f->instance, sizeof f->instance, "%lx-%lx-%x", (long)ts.tv_sec, ts.tv_nsec,
             (unsigned)getpid());
    if (pthread_create(&f->thread, NULL, fleet_main, f) != 0) {
        snprintf(err, err_len, "cannot start the master's thread");
        hn_fleet_stop(f);
        return -1;
    }
    f->started = true;
    *out = f;
    return 0;
}

uint16_t hn_fleet_port(const struct hn_fleet *f)
{
    return f->port;
}

const struct hn_fleet_ops *hn_fleet_runner_ops(struct hn_fleet *f)
{
    return &f->ops;
}

void hn_fleet_on_stop_test(struct hn_fleet *f, void (*cb)(void *ud, const char *reason), void *ud)
{
    pthread_mutex_lock(&f->cb_lock);
    f->stop_test = cb;
    f->stop_test_ud = ud;
    pthread_mutex_unlock(&f->cb_lock);
}

int hn_fleet_ready(struct hn_fleet *f)
{
    pthread_mutex_lock(&f->lock);
    int n = live_count(f);
    pthread_mutex_unlock(&f->lock);
    return n;
}

void hn_fleet_stop(struct hn_fleet *f)
{
    if (f == NULL)
        return;
    if (f->started) {
        pthread_mutex_lock(&f->lock);
        f->quit = true;
        pthread_mutex_unlock(&f->lock);
        wake(f);
        pthread_join(f->thread, NULL);
    }
    if (f->sock) {
        int linger = 1000; /* let the quit messages out */
        zmq_setsockopt(f->sock, ZMQ_LINGER, &linger, sizeof linger);
        zmq_close(f->sock);
    }
    if (f->zap_started) {
        /* zmq_ctx_shutdown makes its blocked zmq_recv return: then close. */
        zmq_ctx_shutdown(f->zctx);
        pthread_join(f->zap_thread, NULL);
    }
    if (f->zap)
        zmq_close(f->zap);
    if (f->zctx)
        zmq_ctx_term(f->zctx);
    if (f->wakefd >= 0)
        close(f->wakefd);
    while (f->n_members > 0)
        remove_member(f, f->members[f->n_members - 1]);
    free(f->members);
    if (f->pending) {
        hn_stats_cleanup(f->pending);
        free(f->pending);
    }
    struct plugin_parts none = {0};
    swap_parts(f, &none);
    free_parts(&none);
    json_decref(f->params);
    json_decref(f->types);
    free(f->host);
    pthread_mutex_destroy(&f->lock);
    pthread_mutex_destroy(&f->cb_lock);
    free(f);
}
