/*
 * agent.c: the worker's side of distributed mode (see cluster.h).
 *
 * The agent runs on the main thread, which never runs user code, so its
 * heartbeat (the report) goes out every second however busy the worker
 * threads are. It reconciles the local runner with the master's latest
 * desired state instead of replaying commands: a lost or repeated message
 * changes nothing, and a worker that reconnects simply converges.
 *
 * Statistics: the runner hands each second's delta to a sink (its control
 * thread) that merges it into the outbox; each report ships and empties
 * the outbox. Log lines go the same way.
 */
#include <errno.h>
#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

#include <zmq.h>

#include "clock.h"
#include "cluster.h"
#include "feed_wire.h"
#include "feeder.h"
#include "hornet/hornet.h"
#include "log.h"
#include "plugin_host.h"
#include "runner.h"
#include "snapshot.h"
#include "stats.h"
#include "stats_wire.h"
#include "textutil.h"

#define MAX_LOG_LINES 200 /* per report; more are counted, not sent */

struct outbox {
    pthread_mutex_t lock;
    struct hn_stats stats;
    json_t *logs;
    unsigned dropped_logs;
};

struct desired {
    bool known;               /* a state message arrived since the welcome */
    uint64_t run, epoch;
    char phase[8];
    uint32_t *counts;
    double spawn_rate;
    char *host;
    bool paused;
    json_t *params;           /* the plugin's parameters for the run, or NULL */
    json_t *types;            /* the picker's [{host, tasks}] per user type, or NULL */
    bool open;                /* the open model: its share of the arrival rate */
    double arrival_rate;
    uint32_t pool;
};

struct agent {
    const struct hn_agent_config *cfg;
    char id[128];
    char hostname[64];
    void *zctx, *sock;
    void *monitor;            /* PAIR: the socket's handshake events */
    int drops;                /* connections dropped before a handshake completed */
    const struct hn_plugin *plugin;   /* -f's, or the one the master sent */
    char sha[65];
    struct hn_loaded_plugin *shipped; /* loaded from the master's bytes */
    size_t n_types;
    struct hn_runner *runner;
    char **tags, **exclude_tags;  /* from the welcome */
    double stop_timeout;
    struct outbox out;

    bool welcomed;
    char master_id[40];           /* the welcoming master's instance: runs and epochs
                                   * are numbered per master */
    uint64_t hello_session;       /* same in every hello of one (re)connection */
    uint64_t last_master_us, last_hello_us, last_report_us, waiting_logged_us;
    struct desired want;
    uint64_t epoch;               /* statistics belong to this epoch */
    uint64_t local_run;           /* the master's run the runner is running */
    uint64_t confirmed_run;       /* last run reported stopped */
    uint32_t *applied;            /* counts last given to the runner */
    double applied_rate;
    bool applied_open;
    double applied_arrival;
    uint32_t applied_pool;
    char *applied_host;
    bool stop_test_sent;
    bool self_stopped;            /* the agent stopped the runner (not a user) */

    struct rusage last_ru;
    uint64_t last_ru_us;

    /* The master's feeder tables; ONCE and CYCLE rows come in leases. */
    struct hn_feeders *feeders;
    char feeders_sha[65];
    const struct hn_plugin *feeders_for; /* the plugin they were checked against */
    struct hn_http_options limits;       /* the master's, as the runner has them */
    json_t *transport;                   /* the master's TLS files and source addresses:
                                          * limits.transport's strings point into it */
    struct feed_state {
        uint64_t asked, got;      /* last lease asked for, last one received */
        uint64_t asked_us;
        uint64_t pace_taken, pace_us; /* taken count at the start of this second */
        uint64_t pace;            /* rows taken in the last second */
    } *feed;
};

/* ---------------------------------------------------------------- */
/* Outbox                                                            */
/* ---------------------------------------------------------------- */

static void on_delta(void *ud, const struct hn_stats *delta)
{
    struct outbox *o = ud;
    pthread_mutex_lock(&o->lock);
    hn_stats_merge(&o->stats, delta);
    pthread_mutex_unlock(&o->lock);
}

static void on_log(void *ud, int level, const char *line)
{
    struct outbox *o = ud;
    /* "[stamp] LEVEL: text": the master adds its own stamp and level. */
    const char *text = strstr(line, "] ");
    text = text ? strchr(text, ':') : NULL;
    text = text ? text + 2 : line;
    pthread_mutex_lock(&o->lock);
    if (json_array_size(o->logs) < MAX_LOG_LINES)
        json_array_append_new(o->logs, json_pack("[i, o]", level, hn_json_text(text)));
    else
        o->dropped_logs++;
    pthread_mutex_unlock(&o->lock);
}

static void outbox_clear(struct outbox *o)
{
    pthread_mutex_lock(&o->lock);
    hn_stats_reset(&o->stats);
    pthread_mutex_unlock(&o->lock);
}

/* ---------------------------------------------------------------- */
/* Messages                                                          */
/* ---------------------------------------------------------------- */

static void send_hello(struct agent *a, uint64_t now)
{
    json_t *msg = hn_cluster_msg("hello");
    json_object_set_new(msg, "id", json_string(a->id));
    json_object_set_new(msg, "version", json_string(HN_VERSION));
    json_object_set_new(msg, "host", hn_json_text(a->hostname));
    json_object_set_new(msg, "pid", json_integer(getpid()));
    json_object_set_new(msg, "session", json_integer((json_int_t)a->hello_session));
    json_object_set_new(msg, "threads", json_integer(a->cfg->threads));
    if (a->cfg->plugin != NULL) {
        json_t *types = json_array();
        for (size_t i = 0; i < a->n_types; i++)
            json_array_append_new(types, hn_json_text(a->plugin->user_types[i].name));
        json_object_set_new(msg, "plugin",
                            json_pack("{s:s, s:o}", "sha256", a->sha, "types", types));
    } else {
        json_object_set_new(msg, "plugin", json_null()); /* send me yours */
    }
    hn_cluster_send(a->sock, NULL, msg); /* EAGAIN while not connected: retried */
    a->last_hello_us = now;
}

static double cpu_percent(struct agent *a, uint64_t now)
{
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    double used = (double)(ru.ru_utime.tv_sec - a->last_ru.ru_utime.tv_sec) +
                  (double)(ru.ru_stime.tv_sec - a->last_ru.ru_stime.tv_sec) +
                  (double)(ru.ru_utime.tv_usec - a->last_ru.ru_utime.tv_usec) / 1e6 +
                  (double)(ru.ru_stime.tv_usec - a->last_ru.ru_stime.tv_usec) / 1e6;
    double wall = (double)(now - a->last_ru_us) / 1e6;
    a->last_ru = ru;
    a->last_ru_us = now;
    return wall > 0 ? 100.0 * used / wall : 0;
}

static uint64_t rss_bytes(void)
{
    long pages = 0, rss = 0;
    FILE *f = fopen("/proc/self/statm", "r");
    if (f != NULL) {
        if (fscanf(f, "%ld %ld", &pages, &rss) != 2)
            rss = 0;
        fclose(f);
    }
    return (uint64_t)rss * (uint64_t)sysconf(_SC_PAGESIZE);
}

/* The heartbeat: state, load, and the statistics gathered since the last.
 * Returns 0 once handed to ZeroMQ. */
static int send_report(struct agent *a, uint64_t now)
{
    struct hn_stats *stats = calloc(1, sizeof *stats);
    if (stats == NULL)
        abort();
    hn_stats_init(stats);
    pthread_mutex_lock(&a->out.lock);
    hn_stats_merge(stats, &a->out.stats);
    hn_stats_reset(&a->out.stats);
    json_t *logs = a->out.logs;
    a->out.logs = json_array();
    unsigned dropped = a->out.dropped_logs;
    a->out.dropped_logs = 0;
    pthread_mutex_unlock(&a->out.lock);
    if (dropped)
        json_array_append_new(logs, json_pack("[i, s+]", HN_WARNING, "", "(log lines dropped)"));

    uint32_t users = 0;
    enum hn_state st = HN_STATE_READY;
    if (a->runner) {
        struct hn_snapshot *s = hn_runner_snapshot(a->runner);
        users = s->users;
        hn_snapshot_release(s);
        st = hn_runner_state(a->runner);
    }
    json_t *msg = hn_cluster_msg("report");
    json_object_set_new(msg, "epoch", json_integer((json_int_t)a->epoch));
    json_object_set_new(msg, "run", json_integer((json_int_t)a->local_run));
    json_object_set_new(msg, "state", json_string(hn_state_name(st)));
    json_object_set_new(msg, "users", json_integer(users));
    json_object_set_new(msg, "threads",
                        json_integer(a->cfg->threads > 0 ? a->cfg->threads
                                                         : sysconf(_SC_NPROCESSORS_ONLN)));
    json_object_set_new(msg, "cpu", json_real(round(cpu_percent(a, now) * 10) / 10));
    json_object_set_new(msg, "rss", json_integer((json_int_t)rss_bytes()));
    if (!hn_stats_empty(stats))
        json_object_set_new(msg, "stats", hn_stats_wire_encode(stats));
    json_object_set_new(msg, "logs", logs);
    if (a->feeders != NULL) {
        /* The master stops a test when every worker used up its rows. */
        json_t *feeds = json_array();
        for (size_t k = 0; k < a->feeders->n; k++) {
            bool drained;
            uint64_t left = hn_feed_lease_left(&a->feeders->tables[k], &drained);
            json_array_append_new(feeds, json_pack("[I, I]", (json_int_t)a->feed[k].got,
                                                   (json_int_t)left));
        }
        json_object_set_new(msg, "feeds", feeds);
    }
    int rc = hn_cluster_send(a->sock, NULL, msg);
    if (rc != 0) {
        /* Not sent (reconnecting): keep the statistics for the next report. */
        pthread_mutex_lock(&a->out.lock);
        hn_stats_merge(&a->out.stats, stats);
        pthread_mutex_unlock(&a->out.lock);
    }
    hn_stats_cleanup(stats);
    free(stats);
    a->last_report_us = now;
    return rc;
}

static int send_simple(struct agent *a, const char *type, uint64_t run, const char *reason)
{
    json_t *msg = hn_cluster_msg(type);
    json_object_set_new(msg, "run", json_integer((json_int_t)run));
    if (reason)
        json_object_set_new(msg, "reason", hn_json_text(reason));
    return hn_cluster_send(a->sock, NULL, msg);
}

/* ---------------------------------------------------------------- */
/* The local runner                                                  */
/* ---------------------------------------------------------------- */

static void free_list(char **l)
{
    for (size_t i = 0; l && l[i]; i++)
        free(l[i]);
    free(l);
}

static char **json_list(const json_t *a)
{
    if (!json_is_array(a) || json_array_size(a) == 0)
        return NULL;
    char **l = calloc(json_array_size(a) + 1, sizeof *l);
    size_t n = 0, i;
    const json_t *v;
    json_array_foreach(a, i, v) {
        if (json_is_string(v))
            l[n++] = strdup(json_string_value(v));
    }
    return l;
}

static bool same_list(char **a, char **b)
{
    size_t i = 0;
    for (; a && b && a[i] && b[i]; i++)
        if (strcmp(a[i], b[i]) != 0)
            return false;
    return (a == NULL || a[i] == NULL) && (b == NULL || b[i] == NULL);
}

static void destroy_runner(struct agent *a)
{
    if (a->runner == NULL)
        return;
    hn_runner_destroy(a->runner);
    a->runner = NULL;
    a->local_run = 0;
}

/* A worker started without -f runs the plugin file the master sends with
 * its welcome, checked against its hash; a new master may send another. */
static int use_shipped_plugin(struct agent *a, const json_t *welcome, char *err, size_t err_len)
{
    const json_t *pf = json_object_get(welcome, "plugin_file");
    const char *name = json_string_value(json_object_get(pf, "name"));
    const char *sha = json_string_value(json_object_get(pf, "sha256"));
    const char *data = json_string_value(json_object_get(pf, "data"));
    if (name == NULL || sha == NULL || data == NULL) {
        snprintf(err, err_len, "the master sent no plugin: start the worker with -f");
        return -1;
    }
    if (a->shipped != NULL && strcmp(sha, a->sha) == 0)
        return 0;
    size_t len = 0;
    unsigned char *bytes = hn_cluster_b64_decode(data, &len);
    char got[65];
    if (bytes != NULL)
        hn_cluster_sha256(bytes, len, got);
    if (bytes == NULL || strcmp(got, sha) != 0) {
        snprintf(err, err_len, "the plugin received from the master is damaged (bad encoding "
                               "or hash)");
        free(bytes);
        return -1;
    }
    destroy_runner(a);
    hn_plugin_unload(a->shipped);
    a->shipped = NULL;
    a->plugin = NULL;
    a->feeders_for = NULL; /* decoded against the old plugin: decode again */
    int rc = hn_plugin_load_bytes(name, sha, bytes, len, &a->shipped, err, err_len);
    free(bytes);
    if (rc != 0)
        return -1;
    a->plugin = hn_plugin_descriptor(a->shipped);
    snprintf(a->sha, sizeof a->sha, "%s", sha);
    size_t n = 0;
    while (a->plugin->user_types[n].name != NULL)
        n++;
    free(a->want.counts);
    free(a->applied);
    a->want.counts = calloc(n ? n : 1, sizeof *a->want.counts);
    a->applied = calloc(n ? n : 1, sizeof *a->applied);
    if (a->want.counts == NULL || a->applied == NULL)
        abort();
    a->n_types = n;
    hn_logf(HN_INFO, "running the master's plugin %s (sha256 %.12s...)", name, sha);
    return 0;
}

/* Takes the feeder tables the master sent (when they are not the ones
 * this worker has): the runner that reads them is made again. */
static int use_feeders(struct agent *a, const json_t *welcome, char *err, size_t err_len)
{
    const json_t *fj = json_object_get(welcome, "feeders");
    const char *sha = json_string_value(json_object_get(fj, "sha256"));
    bool declares = a->plugin->abi_minor >= 1 && a->plugin->feeders != NULL &&
                    a->plugin->feeders[0].name != NULL;
    if (!declares && a->feeders != NULL) { /* the previous plugin's */
        destroy_runner(a);
        hn_feeders_free(a->feeders);
        free(a->feed);
        a->feeders = NULL;
        a->feed = NULL;
    }
    if (!declares)
        return 0;
    if (sha != NULL && a->feeders != NULL && strcmp(sha, a->feeders_sha) == 0 &&
        a->feeders_for == a->plugin)
        return 0;
    struct hn_feeders *f = NULL;
    char why[256];
    if (hn_feed_wire_decode(json_object_get(fj, "tables"), a->plugin, &f, why, sizeof why) != 0) {
        snprintf(err, err_len, "cannot use the master's feeders: %s", why);
        return -1;
    }
    destroy_runner(a);
    hn_feeders_free(a->feeders);
    free(a->feed);
    a->feeders = f;
    a->feed = calloc(f ? f->n : 1, sizeof *a->feed);
    if (a->feed == NULL)
        abort();
    snprintf(a->feeders_sha, sizeof a->feeders_sha, "%s", sha ? sha : "");
    a->feeders_for = a->plugin;
    return 0;
}

/* Asks the master for more rows of a leased feeder before its users run
 * dry, during a run: when fewer are left than half a second's worth, for
 * two seconds' worth (at least 64). A request unanswered for 2 s is asked again under a
 * new lease number (the master answers each number once). */
static void refill_feeders(struct agent *a, uint64_t now)
{
    /* Only while running: an idle worker must not sit on ONCE rows. */
    if (!a->want.known || strcmp(a->want.phase, "run") != 0 || a->local_run != a->want.run)
        return;
    for (size_t k = 0; a->feeders != NULL && k < a->feeders->n; k++) {
        struct hn_feed_table *t = &a->feeders->tables[k];
        struct feed_state *fs = &a->feed[k];
        if (!t->leased)
            continue;
        uint64_t taken = atomic_load(&t->taken);
        if (now - fs->pace_us >= 1000000u) {
            fs->pace = taken - fs->pace_taken;
            fs->pace_taken = taken;
            fs->pace_us = now;
        }
        bool drained;
        uint64_t left = hn_feed_lease_left(t, &drained);
        if (drained || left >= 16 + fs->pace / 2 ||
            (fs->asked > fs->got && now - fs->asked_us < 2000000u))
            continue;
        json_t *msg = hn_cluster_msg("feed");
        json_object_set_new(msg, "feeder", json_integer((json_int_t)k));
        json_object_set_new(msg, "lease", json_integer((json_int_t)++fs->asked));
        json_object_set_new(msg, "want", json_integer((json_int_t)(fs->pace * 2 > 64 ? fs->pace * 2
                                                                                    : 64)));
        hn_cluster_send(a->sock, NULL, msg);
        fs->asked_us = now;
    }
}

static void on_rows(struct agent *a, const json_t *msg)
{
    json_int_t k = json_integer_value(json_object_get(msg, "feeder"));
    json_int_t lease = json_integer_value(json_object_get(msg, "lease"));
    json_int_t from = json_integer_value(json_object_get(msg, "from"));
    json_int_t count = json_integer_value(json_object_get(msg, "count"));
    if (a->feeders == NULL || k < 0 || (size_t)k >= a->feeders->n || lease <= 0 || from < 0 ||
        count < 0 || !a->feeders->tables[k].leased) {
        hn_logf(HN_WARNING, "ignored a malformed rows message from the master");
        return;
    }
    /* Every answer is rows this worker owns, a late one included. */
    hn_feed_lease_add(&a->feeders->tables[k], (uint64_t)from, (uint64_t)count);
    if ((uint64_t)lease > a->feed[k].got)
        a->feed[k].got = (uint64_t)lease;
}

/* (Re)creates the runner with the master's tags and stop timeout. Returns
 * 0, or -1 with err (e.g. the tags leave no task). */
static int make_runner(struct agent *a, const json_t *welcome, char *err, size_t err_len)
{
    char **tags = json_list(json_object_get(welcome, "tags"));
    char **xtags = json_list(json_object_get(welcome, "exclude_tags"));
    double stop_timeout = json_number_value(json_object_get(welcome, "stop_timeout"));
    if (!(stop_timeout >= 0) || !isfinite(stop_timeout))
        stop_timeout = 10;
    /* The master's limits; anything odd in them means its default. */
    const json_t *lj = json_object_get(welcome, "limits");
    json_int_t max_body = json_integer_value(json_object_get(lj, "max_body"));
    struct hn_http_options limits = {
        .max_body = max_body > 0 && max_body <= ((json_int_t)1 << 40) ? (size_t)max_body : 0,
        .connect_s = json_number_value(json_object_get(lj, "connect")),
        .response_s = json_number_value(json_object_get(lj, "response")),
        .idle_s = json_number_value(json_object_get(lj, "idle")),
        .client = hn_http_client_parse(json_string_value(json_object_get(lj, "client"))),
    };
    limits = hn_http_options_or_defaults(&limits);
    json_t *tj = json_object_get(lj, "transport");
    if (!json_is_object(tj))
        tj = NULL;
    bool same_transport = tj == NULL ? a->transport == NULL
                                     : a->transport != NULL && json_equal(tj, a->transport);
    if (a->runner && same_list(tags, a->tags) && same_list(xtags, a->exclude_tags) &&
        stop_timeout == a->stop_timeout && same_transport &&
        limits.max_body == a->limits.max_body && limits.connect_s == a->limits.connect_s &&
        limits.response_s == a->limits.response_s && limits.idle_s == a->limits.idle_s &&
        limits.client == a->limits.client) {
        free_list(tags);
        free_list(xtags);
        return 0;
    }
    destroy_runner(a);
    free_list(a->tags);
    free_list(a->exclude_tags);
    a->tags = tags;
    a->exclude_tags = xtags;
    a->stop_timeout = stop_timeout;
    json_decref(a->transport);
    a->transport = tj ? json_deep_copy(tj) : NULL;
    limits.transport = (struct hn_transport){
        .insecure = json_is_true(json_object_get(a->transport, "insecure")),
        .ca_file = json_string_value(json_object_get(a->transport, "ca_cert")),
        .cert_file = json_string_value(json_object_get(a->transport, "client_cert")),
        .key_file = json_string_value(json_object_get(a->transport, "client_key")),
        .source_ips = json_string_value(json_object_get(a->transport, "source_ips")),
    };
    /* The master's paths and addresses, read on this machine. */
    char why[400];
    if (hn_transport_check(&limits.transport, true, why, sizeof why) != 0) {
        snprintf(err, err_len, "the master's options do not work here: %s", why);
        return -1;
    }
    a->limits = limits;
    struct hn_runner_config rc = {
        .plugin = a->plugin,
        .threads = a->cfg->threads,
        .seed = a->cfg->seed,
        .stop_timeout = stop_timeout,
        .host = a->cfg->host,
        .tags = (const char *const *)tags,
        .exclude_tags = (const char *const *)xtags,
        .feeders = a->feeders,
        .limits = limits,
    };
    if (hn_runner_create(&a->runner, &rc, err, err_len) != 0)
        return -1;
    hn_runner_set_delta_sink(a->runner, on_delta, &a->out);
    return 0;
}

static bool counts_differ(const struct agent *a)
{
    for (size_t i = 0; i < a->n_types; i++)
        if (a->applied[i] != a->want.counts[i])
            return true;
    if (a->want.open != a->applied_open ||
        (a->want.open && (a->want.arrival_rate != a->applied_arrival ||
                          a->want.pool != a->applied_pool)))
        return true;
    return a->applied_rate != a->want.spawn_rate ||
           (a->want.host && (!a->applied_host || strcmp(a->want.host, a->applied_host) != 0));
}

static bool apply_counts(struct agent *a)
{
    char err[256];
    double rate = a->want.spawn_rate > 0 ? a->want.spawn_rate : 1;
    if (a->want.open) {
        if (hn_runner_follow_arrival(a->runner, a->want.arrival_rate, a->want.pool, a->want.host,
                                     err, sizeof err) != 0) {
            hn_logf(HN_WARNING, "cannot apply the master's arrival rate: %s", err);
            return false;
        }
    } else if (hn_runner_start_types(a->runner, a->want.counts, a->n_types, rate, a->want.host,
                                     err, sizeof err) != 0) {
        hn_logf(HN_WARNING, "cannot apply the master's user counts: %s", err);
        return false;
    }
    a->applied_open = a->want.open;
    a->applied_arrival = a->want.arrival_rate;
    a->applied_pool = a->want.pool;
    memcpy(a->applied, a->want.counts, a->n_types * sizeof *a->applied);
    a->applied_rate = a->want.spawn_rate;
    free(a->applied_host);
    a->applied_host = a->want.host ? strdup(a->want.host) : NULL;
    return true;
}

static void stop_local(struct agent *a, const char *reason)
{
    enum hn_state st = a->runner ? hn_runner_state(a->runner) : HN_STATE_READY;
    if (st == HN_STATE_SPAWNING || st == HN_STATE_RUNNING || st == HN_STATE_PAUSED) {
        char err[128];
        hn_runner_stop(a->runner, reason, err, sizeof err);
    }
    a->self_stopped = true;
}

static void apply_params(struct agent *a);
static void apply_types(struct agent *a);

/* Moves the runner toward the master's desired state. */
static void reconcile(struct agent *a, uint64_t now)
{
    if (a->runner == NULL || !a->want.known)
        return;
    enum hn_state st = hn_runner_state(a->runner);
    bool active = st == HN_STATE_SPAWNING || st == HN_STATE_RUNNING || st == HN_STATE_PAUSED;
    if (strcmp(a->want.phase, "run") == 0) {
        if (a->local_run != a->want.run) {
            if (active) {
                stop_local(a, "a new run began");
            } else if (st == HN_STATE_READY || st == HN_STATE_STOPPED) {
                hn_logf(HN_DEBUG, "the master started run %llu", (unsigned long long)a->want.run);
                a->stop_test_sent = false;
                a->self_stopped = false;
                apply_params(a);
                apply_types(a);
                /* Retried on the next turn if the runner refused. */
                if (apply_counts(a))
                    a->local_run = a->want.run;
            }
            return;
        }
        if (st == HN_STATE_STOPPED && !a->stop_test_sent && !a->self_stopped) {
            /* A user called hn_stop_test: the whole cluster stops. */
            struct hn_snapshot *s = hn_runner_snapshot(a->runner);
            send_simple(a, "stop_test", a->local_run, s->stop_reason);
            hn_snapshot_release(s);
            a->stop_test_sent = true;
            return;
        }
        if (!active)
            return;
        if (counts_differ(a))
            apply_counts(a);
        char err[128];
        if (a->want.paused && (st == HN_STATE_SPAWNING || st == HN_STATE_RUNNING))
            hn_runner_pause(a->runner, err, sizeof err);
        else if (!a->want.paused && st == HN_STATE_PAUSED)
            hn_runner_resume(a->runner, err, sizeof err);
        return;
    }
    /* idle or stop */
    if (active) {
        stop_local(a, "stopped by the master");
        return;
    }
    bool done = st == HN_STATE_READY ||
                (st == HN_STATE_STOPPED && hn_runner_wait_stopped(a->runner, 0) == 1);
    if (strcmp(a->want.phase, "stop") == 0 && done && a->confirmed_run != a->want.run) {
        /* The final statistics first, then the confirmation, in order;
         * both again on the next turn if they could not be sent. */
        if (send_report(a, now) == 0 && send_simple(a, "stopped", a->want.run, NULL) == 0)
            a->confirmed_run = a->want.run;
    }
}

static void on_state(struct agent *a, const json_t *msg)
{
    struct desired *w = &a->want;
    const char *phase = json_string_value(json_object_get(msg, "phase"));
    const json_t *counts = json_object_get(msg, "counts");
    if (phase == NULL || !json_is_array(counts) || json_array_size(counts) != a->n_types) {
        hn_logf(HN_WARNING, "ignored a malformed state message from the master");
        return;
    }
    uint64_t epoch = (uint64_t)json_integer_value(json_object_get(msg, "epoch"));
    if (epoch != a->epoch) {
        /* Statistics were reset (or a run began): drop what was gathered,
         * here and in the runner's shards. */
        if (a->runner != NULL) {
            char err[64];
            hn_runner_reset_stats(a->runner, err, sizeof err);
        }
        outbox_clear(&a->out);
        a->epoch = epoch;
    }
    w->known = true;
    w->run = (uint64_t)json_integer_value(json_object_get(msg, "run"));
    w->epoch = epoch;
    snprintf(w->phase, sizeof w->phase, "%s", phase);
    for (size_t i = 0; i < a->n_types; i++) {
        json_int_t c = json_integer_value(json_array_get(counts, i));
        w->counts[i] = c > 0 && c <= 1000000 ? (uint32_t)c : 0;
    }
    w->spawn_rate = json_number_value(json_object_get(msg, "spawn_rate"));
    if (!(w->spawn_rate > 0) || !isfinite(w->spawn_rate))
        w->spawn_rate = 1;
    const char *host = json_string_value(json_object_get(msg, "host"));
    free(w->host);
    w->host = host ? strdup(host) : NULL;
    w->paused = json_is_true(json_object_get(msg, "paused"));
    const json_t *arrival = json_object_get(msg, "arrival");
    double rate = json_number_value(json_object_get(arrival, "rate"));
    json_int_t pool = json_integer_value(json_object_get(arrival, "pool"));
    w->open = json_is_object(arrival) && rate >= 0 && isfinite(rate) && pool > 0 &&
              pool <= 1000000;
    w->arrival_rate = w->open ? rate : 0;
    w->pool = w->open ? (uint32_t)pool : 0;
    json_t *params = json_object_get(msg, "params");
    json_decref(w->params);
    w->params = json_is_object(params) ? json_incref(params) : NULL;
    json_t *types = json_object_get(msg, "types");
    json_decref(w->types);
    w->types = json_is_array(types) && json_array_size(types) == a->n_types ? json_incref(types)
                                                                            : NULL;
}

/* The picker's host and tasks per type, set before a new run starts (the
 * master sends the counts; weights do not matter here). */
static void apply_types(struct agent *a)
{
    struct hn_type_choice *c = calloc(a->n_types ? a->n_types : 1, sizeof *c);
    const char ***names = calloc(a->n_types ? a->n_types : 1, sizeof *names);
    char err[256];
    for (size_t i = 0; c && names && a->want.types && i < a->n_types; i++) {
        const json_t *t = json_array_get(a->want.types, i);
        const json_t *tasks = json_object_get(t, "tasks");
        c[i] = (struct hn_type_choice){.name = a->plugin->user_types[i].name, .weight = -1,
                                       .fixed_count = -1,
                                       .host = json_string_value(json_object_get(t, "host"))};
        if (json_is_array(tasks) && (names[i] = calloc(json_array_size(tasks) + 1,
                                                       sizeof *names[i])) != NULL) {
            for (size_t k = 0; k < json_array_size(tasks); k++)
                names[i][k] = json_string_value(json_array_get(tasks, k));
            c[i].tasks = names[i];
        }
    }
    if (c && names &&
        hn_runner_choose_types(a->runner, c, a->want.types ? a->n_types : 0, err, sizeof err) != 0)
        hn_logf(HN_WARNING, "cannot use the master's choice of user types: %s", err);
    for (size_t i = 0; names && i < a->n_types; i++)
        free(names[i]);
    free(names);
    free(c);
}

/* The master's parameter values, set before a new run starts. */
static void apply_params(struct agent *a)
{
    size_t n = json_object_size(a->want.params), i = 0;
    if (n == 0)
        return;
    const char **names = calloc(n, sizeof *names), **values = calloc(n, sizeof *values);
    const char *key;
    json_t *val;
    json_object_foreach(a->want.params, key, val) {
        if (names == NULL || values == NULL || !json_is_string(val))
            continue;
        names[i] = key;
        values[i++] = json_string_value(val);
    }
    char err[256];
    if (names && values && hn_runner_set_params(a->runner, names, values, i, err, sizeof err) != 0)
        hn_logf(HN_WARNING, "cannot use the master's parameters: %s", err);
    free(names);
    free(values);
}

/* Handles one message; returns 1 to quit, 2 when refused, else 0. */
static int on_message(struct agent *a, const char *text, size_t len, uint64_t now, char *err,
                      size_t err_len)
{
    json_error_t jerr;
    json_t *msg = json_loadb(text, len, 0, &jerr);
    const char *type = json_string_value(json_object_get(msg, "type"));
    int rc = 0;
    if (type == NULL) {
        hn_logf(HN_WARNING, "ignored a malformed message from the master");
    } else if (strcmp(type, "refuse") == 0) {
        const char *reason = json_string_value(json_object_get(msg, "reason"));
        snprintf(err, err_len, "the master refused this worker: %s",
                 reason ? reason : "no reason given");
        rc = 2;
    } else if (strcmp(type, "welcome") == 0) {
        a->last_master_us = now;
        if ((a->cfg->plugin == NULL && use_shipped_plugin(a, msg, err, err_len) != 0) ||
            use_feeders(a, msg, err, err_len) != 0 || make_runner(a, msg, err, err_len) != 0) {
            rc = 2;
        } else {
            const char *master = json_string_value(json_object_get(msg, "master"));
            if (master == NULL || strcmp(master, a->master_id) != 0) {
                /* Another master (or a restarted one): its runs and epochs
                 * start over, and nothing gathered for the old one counts. */
                snprintf(a->master_id, sizeof a->master_id, "%s", master ? master : "");
                a->local_run = a->confirmed_run = a->epoch = 0;
                outbox_clear(&a->out);
                /* Its feeders' cursors start again: rows leased by the old
                 * one are not this one's to hand out. */
                for (size_t k = 0; a->feeders != NULL && k < a->feeders->n; k++) {
                    hn_feed_lease_reset(&a->feeders->tables[k]);
                    a->feed[k].asked = a->feed[k].got = 0;
                }
            }
            if (!a->welcomed)
                hn_logf(HN_INFO, "connected to the master at %s:%u as %s",
                        a->cfg->master_host, a->cfg->master_port, a->id);
            a->welcomed = true;
            a->want.known = false;
            send_report(a, now);
        }
    } else if (!a->welcomed) {
        /* Anything else before a welcome is stale (a previous master's). */
    } else if (strcmp(type, "state") == 0) {
        a->last_master_us = now;
        on_state(a, msg);
    } else if (strcmp(type, "rows") == 0) {
        a->last_master_us = now;
        on_rows(a, msg);
    } else if (strcmp(type, "rehello") == 0) {
        a->welcomed = false;
        a->hello_session++;
        send_hello(a, now);
    } else if (strcmp(type, "quit") == 0) {
        hn_logf(HN_INFO, "the master quit; stopping");
        send_simple(a, "bye", a->local_run, NULL); /* the master waits for this */
        rc = 1;
    }
    json_decref(msg);
    return rc;
}

/* ---------------------------------------------------------------- */
/* The loop                                                          */
/* ---------------------------------------------------------------- */

static int setup(struct agent *a, char *err, size_t err_len)
{
    const struct hn_agent_config *cfg = a->cfg;
    a->plugin = cfg->plugin;
    if (cfg->plugin != NULL) {
        snprintf(a->sha, sizeof a->sha, "%s", cfg->plugin_sha256);
        while (cfg->plugin->user_types[a->n_types].name != NULL)
            a->n_types++;
    }
    a->want.counts = calloc(a->n_types ? a->n_types : 1, sizeof *a->want.counts);
    a->applied = calloc(a->n_types ? a->n_types : 1, sizeof *a->applied);
    a->out.logs = json_array();
    if (a->want.counts == NULL || a->applied == NULL || a->out.logs == NULL)
        return -1;
    pthread_mutex_init(&a->out.lock, NULL);
    hn_stats_init(&a->out.stats);
    if (gethostname(a->hostname, sizeof a->hostname) != 0)
        snprintf(a->hostname, sizeof a->hostname, "unknown");
    a->hostname[sizeof a->hostname - 1] = '\0';
    for (char *p = a->hostname; *p; p++)
        if (*p <= 32 || *p >= 127)
            *p = '_';
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    snprintf(a->id, sizeof a->id, "%.60s_%ld_%04lx", a->hostname, (long)getpid(),
             (unsigned long)((ts.tv_nsec ^ (long)getpid() * 2654435761u) & 0xffff));

    a->zctx = zmq_ctx_new();
    a->sock = a->zctx ? zmq_socket(a->zctx, ZMQ_DEALER) : NULL;
    if (a->sock == NULL) {
        snprintf(err, err_len, "cannot create the worker's socket: %s", zmq_strerror(errno));
        return -1;
    }
    int one = 1, linger = 1000, ivl = 200, ivl_max = 2000;
    int64_t max_msg = 64 << 20;
    zmq_setsockopt(a->sock, ZMQ_ROUTING_ID, a->id, strlen(a->id));
    /* Queue nothing while disconnected: no stale hellos or reports. */
    zmq_setsockopt(a->sock, ZMQ_IMMEDIATE, &one, sizeof one);
    zmq_setsockopt(a->sock, ZMQ_LINGER, &linger, sizeof linger);
    zmq_setsockopt(a->sock, ZMQ_RECONNECT_IVL, &ivl, sizeof ivl);
    zmq_setsockopt(a->sock, ZMQ_RECONNECT_IVL_MAX, &ivl_max, sizeof ivl_max);
    zmq_setsockopt(a->sock, ZMQ_MAXMSGSIZE, &max_msg, sizeof max_msg);
    bool v6 = strchr(cfg->master_host, ':') != NULL;
    if (v6)
        zmq_setsockopt(a->sock, ZMQ_IPV6, &one, sizeof one);
    if (cfg->curve != NULL) {
        /* The master's public key, and ours: both derived from the secret. */
        zmq_setsockopt(a->sock, ZMQ_CURVE_SERVERKEY, cfg->curve->server_public, 41);
        zmq_setsockopt(a->sock, ZMQ_CURVE_PUBLICKEY, cfg->curve->client_public, 41);
        zmq_setsockopt(a->sock, ZMQ_CURVE_SECRETKEY, cfg->curve->client_secret, 41);
    }
    /* Handshake events tell a master that wants another key (or none) from
     * one that is not there yet. */
    char mon[64];
    snprintf(mon, sizeof mon, "inproc://hn-agent-monitor-%p", (void *)a);
    if (zmq_socket_monitor(a->sock, mon,
                           ZMQ_EVENT_HANDSHAKE_FAILED_NO_DETAIL |
                               ZMQ_EVENT_HANDSHAKE_FAILED_PROTOCOL |
                               ZMQ_EVENT_HANDSHAKE_FAILED_AUTH | ZMQ_EVENT_HANDSHAKE_SUCCEEDED |
                               ZMQ_EVENT_DISCONNECTED) == 0 &&
        (a->monitor = zmq_socket(a->zctx, ZMQ_PAIR)) != NULL)
        zmq_connect(a->monitor, mon);
    char endpoint[300];
    snprintf(endpoint, sizeof endpoint, "tcp://%s%s%s:%u", v6 ? "[" : "", cfg->master_host,
             v6 ? "]" : "", cfg->master_port);
    if (zmq_connect(a->sock, endpoint) != 0) {
        snprintf(err, err_len, "--master-host/--master-port: cannot connect to %s: %s",
                 endpoint + 6, zmq_strerror(errno));
        return -1;
    }
    getrusage(RUSAGE_SELF, &a->last_ru);
    a->last_ru_us = hn_mono_us();
    hn_log_set_sink(on_log, &a->out);
    return 0;
}

static void teardown(struct agent *a)
{
    hn_log_set_sink(NULL, NULL);
    destroy_runner(a);
    hn_plugin_unload(a->shipped);
    if (a->monitor)
        zmq_close(a->monitor);
    if (a->sock)
        zmq_close(a->sock);
    if (a->zctx)
        zmq_ctx_term(a->zctx);
    if (a->out.logs) {
        json_decref(a->out.logs);
        hn_stats_cleanup(&a->out.stats);
        pthread_mutex_destroy(&a->out.lock);
    }
    free_list(a->tags);
    free_list(a->exclude_tags);
    json_decref(a->transport);
    free(a->want.counts);
    free(a->want.host);
    json_decref(a->want.params);
    json_decref(a->want.types);
    free(a->applied);
    free(a->applied_host);
    hn_feeders_free(a->feeders); /* after the runner: its users read them */
    free(a->feed);
}

/* Reads the socket's handshake events: returns -1 with the reason when the
 * master will not take this worker's key (or lack of one). */
static int check_handshakes(struct agent *a, char *err, size_t err_len)
{
    const char *fix = a->cfg->curve ? "give the master and this worker the same --cluster-key"
                                    : "the master needs a --cluster-key: give this worker its key";
    for (;;) {
        zmq_msg_t ev, addr;
        zmq_msg_init(&ev);
        if (a->monitor == NULL || zmq_msg_recv(&ev, a->monitor, ZMQ_DONTWAIT) < 0) {
            zmq_msg_close(&ev);
            return 0;
        }
        uint16_t event = 0;
        uint32_t value = 0;
        if (zmq_msg_size(&ev) >= 6) {
            memcpy(&event, zmq_msg_data(&ev), sizeof event);
            memcpy(&value, (const char *)zmq_msg_data(&ev) + 2, sizeof value);
        }
        zmq_msg_close(&ev);
        zmq_msg_init(&addr); /* the endpoint frame */
        zmq_msg_recv(&addr, a->monitor, 0);
        zmq_msg_close(&addr);
        bool mismatch = event == ZMQ_EVENT_HANDSHAKE_FAILED_PROTOCOL &&
                        value == ZMQ_PROTOCOL_ERROR_ZMTP_MECHANISM_MISMATCH;
        if (event == ZMQ_EVENT_HANDSHAKE_SUCCEEDED) {
            a->drops = 0;
        } else if (!mismatch && event != ZMQ_EVENT_HANDSHAKE_FAILED_AUTH) {
            /* A master that cannot open our key's hello just hangs up (a
             * reset mid-handshake, a master going away, look the same). */
            if (a->cfg->curve != NULL && !a->welcomed && ++a->drops >= 3) {
                snprintf(err, err_len, "the master at %s:%u drops this worker's CURVE "
                                       "handshake: %s", a->cfg->master_host,
                         a->cfg->master_port, fix);
                return -1;
            }
        } else {
            snprintf(err, err_len, "the master at %s:%u refused this worker's handshake (%s): "
                                   "%s", a->cfg->master_host, a->cfg->master_port,
                     event == ZMQ_EVENT_HANDSHAKE_FAILED_AUTH ? "wrong key"
                                                               : "no matching security",
                     fix);
            return -1;
        }
    }
}

int hn_agent_run(const struct hn_agent_config *cfg, char *err, size_t err_len)
{
    struct agent a = {.cfg = cfg};
    if (setup(&a, err, err_len) != 0) {
        teardown(&a);
        return 2;
    }
    hn_logf(HN_INFO, "worker %s: connecting to the master at %s:%u", a.id, cfg->master_host,
            cfg->master_port);
    int code = 0;
    bool quitting = false;      /* stop users, then leave */
    bool say_bye = true;
    uint64_t quit_deadline = 0;
    for (;;) {
        zmq_pollitem_t item = {.socket = a.sock, .events = ZMQ_POLLIN};
        /* Leased feeders are topped up every 10 ms, so users seldom wait. */
        zmq_poll(&item, 1, a.feeders != NULL && a.welcomed ? 10 : 100);
        uint64_t now = hn_mono_us();
        if (check_handshakes(&a, err, err_len) != 0) {
            code = 2;
            say_bye = false;
            goto out;
        }

        for (int k = 0; k < 1000; k++) {
            zmq_msg_t m;
            zmq_msg_init(&m);
            if (zmq_msg_recv(&m, a.sock, ZMQ_DONTWAIT) < 0) {
                zmq_msg_close(&m);
                break;
            }
            int rc = on_message(&a, zmq_msg_data(&m), zmq_msg_size(&m), now, err, err_len);
            zmq_msg_close(&m);
            if (rc == 2) {
                code = 2;
                say_bye = false;
                goto out;
            }
            if (rc == 1 && !quitting) {
                quitting = true;
                say_bye = false;
                quit_deadline = now + (uint64_t)((a.stop_timeout + 2) * 1e6);
            }
        }

        struct timespec zero = {0, 0};
        int sig = sigtimedwait(cfg->signals, NULL, &zero);
        if (sig > 0) {
            if (quitting)
                break; /* a second signal: leave at once */
            hn_logf(HN_INFO, "%s received: stopping users, then quitting (again to quit at once)",
                    sig == SIGINT ? "SIGINT" : "SIGTERM");
            quitting = true;
            quit_deadline = now + (uint64_t)((a.stop_timeout + 2) * 1e6);
        }

        if (quitting) {
            stop_local(&a, "the worker is quitting");
            enum hn_state st = a.runner ? hn_runner_state(a.runner) : HN_STATE_READY;
            bool done = st == HN_STATE_READY ||
                        (st == HN_STATE_STOPPED && hn_runner_wait_stopped(a.runner, 0) == 1);
            if (done || now >= quit_deadline)
                break;
        } else if (a.welcomed && now - a.last_master_us > HN_CLUSTER_MASTER_LOST_MS * 1000u) {
            hn_logf(HN_WARNING, "lost the master (nothing for %d s): stopping users and waiting "
                                "for it to come back",
                    HN_CLUSTER_MASTER_LOST_MS / 1000);
            a.welcomed = false;
            a.want.known = false;
            a.hello_session++;
            stop_local(&a, "lost the master");
            /* Whatever it runs next starts afresh. */
            a.local_run = 0;
        } else if (a.welcomed) {
            reconcile(&a, now);
            refill_feeders(&a, now);
        }

        if (!a.welcomed && !quitting && now - a.last_hello_us >= HN_CLUSTER_HEARTBEAT_MS * 1000u) {
            send_hello(&a, now);
            if (now - a.waiting_logged_us >= 10000000u) {
                if (a.waiting_logged_us)
                    hn_logf(HN_INFO, "still waiting for the master at %s:%u", cfg->master_host,
                            cfg->master_port);
                a.waiting_logged_us = now;
            }
        }
        if (a.welcomed && now - a.last_report_us >= HN_CLUSTER_HEARTBEAT_MS * 1000u)
            send_report(&a, now);
    }
out:
    if (say_bye && a.welcomed) {
        send_report(&a, hn_mono_us());
        send_simple(&a, "bye", a.local_run, NULL);
    }
    teardown(&a);
    return code;
}
