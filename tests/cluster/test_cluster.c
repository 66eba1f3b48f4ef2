/*
 * test_cluster.c: distributed mode's pieces in isolation.
 *
 * stats_wire: a table shipped as JSON and merged equals the table itself,
 * three workers' tables merged equal one table that recorded everything
 * (percentiles exact), and every kind of malformed input is refused
 * without touching the destination.
 *
 * feed_wire: a feeder table shipped to a worker arrives whole, with the
 * master's mode; its ONCE rows are then leased: taken in lease order, a
 * wait when none is left, none once the master has no more; malformed
 * tables are refused.
 *
 * The master's fleet, spoken to by a fake worker (a raw ZeroMQ DEALER on
 * 127.0.0.1): a hello from another protocol version or with another plugin
 * is refused with a clear reason; garbage is ignored; a good hello is
 * welcomed; reported statistics reach the runner's swap exactly; stale
 * epochs and broken statistics are dropped.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cmocka.h>
#include <jansson.h>
#include <zmq.h>

#include "cluster.h"
#include "feed_wire.h"
#include "feeder.h"
#include "hist.h"
#include "hornet/hornet.h"
#include "runner.h"
#include "stats.h"
#include "stats_wire.h"

/* ---------------------------------------------------------------- */
/* stats_wire                                                        */
/* ---------------------------------------------------------------- */

static void fill(struct hn_stats *s, unsigned seed, int n)
{
    srand(seed);
    for (int i = 0; i < n; i++) {
        uint64_t v = (uint64_t)(rand() % 2000000) + 1; /* 1 us .. 2 s, every octave */
        const char *name = i % 3 == 0 ? "/a" : i % 3 == 1 ? "/b \xe2\x9c\x93" : "/c";
        hn_stats_record(s, "GET", name, v, (uint64_t)(i % 700), i % 17 == 0 ? "HTTP 500" : NULL,
                        1000.0 + i * 0.001);
        if (i % 101 == 0)
            hn_stats_exception(s, "user", "task", "boom", 1000.0 + i * 0.001);
        if (i % 7 == 0)
            hn_stats_start_lag(s, v / 100); /* the open model's figures travel too */
    }
    hn_stats_dropped(s, (uint64_t)n / 50);
}

static void assert_same(const struct hn_stats *a, const struct hn_stats *b)
{
    static const double qs[] = {0, 0.5, 0.66, 0.9, 0.99, 0.999, 0.9999, 1};
    assert_int_equal(a->n_entries, b->n_entries);
    for (size_t i = 0; i < a->n_entries; i++) {
        const struct hn_stats_entry *x = a->entries[i];
        const struct hn_stats_entry *y = hn_stats_find(b, x->type, x->name);
        assert_non_null(y);
        assert_int_equal(x->requests, y->requests);
        assert_int_equal(x->failures, y->failures);
        assert_int_equal(x->bytes, y->bytes);
        assert_int_equal(x->hist.count, y->hist.count);
        assert_int_equal(x->hist.min, y->hist.min);
        assert_int_equal(x->hist.max, y->hist.max);
        assert_true(x->hist.sum == y->hist.sum);
        assert_true(x->first_ts == y->first_ts && x->last_ts == y->last_ts);
        for (size_t k = 0; k < sizeof qs / sizeof qs[0]; k++)
            assert_int_equal(hn_hist_quantile(&x->hist, qs[k]), hn_hist_quantile(&y->hist, qs[k]));
        unsigned ix = 0, iy = 0;
        uint64_t cx, cy;
        for (;;) {
            bool mx = hn_hist_next_bucket(&x->hist, &ix, &cx);
            bool my = hn_hist_next_bucket(&y->hist, &iy, &cy);
            assert_int_equal(mx, my);
            if (!mx)
                break;
            assert_int_equal(ix, iy);
            assert_int_equal(cx, cy);
            ix++;
            iy++;
        }
    }
    assert_int_equal(a->n_errors, b->n_errors);
    for (size_t i = 0; i < a->n_errors; i++)
        assert_int_equal(a->errors[i]->count, b->errors[i]->count);
    assert_int_equal(a->n_exceptions, b->n_exceptions);
    for (size_t i = 0; i < a->n_exceptions; i++)
        assert_int_equal(a->exceptions[i]->count, b->exceptions[i]->count);
    assert_int_equal(a->start_lag.count, b->start_lag.count);
    assert_int_equal(a->start_lag.max, b->start_lag.max);
    assert_true(a->start_lag.sum == b->start_lag.sum);
    assert_int_equal(hn_hist_quantile(&a->start_lag, 0.95), hn_hist_quantile(&b->start_lag, 0.95));
    assert_int_equal(a->dropped_iterations, b->dropped_iterations);
}

static void test_wire_roundtrip(void **state)
{
    (void)state;
    struct hn_stats src, dst;
    hn_stats_init(&src);
    hn_stats_init(&dst);
    fill(&src, 1, 5000);
    json_t *j = hn_stats_wire_encode(&src);
    assert_non_null(j);
    /* Through text, as on the wire. */
    char *text = json_dumps(j, JSON_COMPACT);
    json_decref(j);
    json_error_t jerr;
    j = json_loads(text, 0, &jerr);
    free(text);
    char err[256] = "";
    assert_int_equal(hn_stats_wire_merge(&dst, j, err, sizeof err), 0);
    json_decref(j);
    assert_same(&src, &dst);
    hn_stats_cleanup(&src);
    hn_stats_cleanup(&dst);
}

static void test_wire_three_workers_equal_one(void **state)
{
    (void)state;
    struct hn_stats one, master, w[3];
    hn_stats_init(&one);
    hn_stats_init(&master);
    for (int i = 0; i < 3; i++) {
        hn_stats_init(&w[i]);
        fill(&w[i], 10 + (unsigned)i, 3000 + 500 * i);
        fill(&one, 10 + (unsigned)i, 3000 + 500 * i);
        json_t *j = hn_stats_wire_encode(&w[i]);
        char err[256];
        assert_int_equal(hn_stats_wire_merge(&master, j, err, sizeof err), 0);
        json_decref(j);
        hn_stats_cleanup(&w[i]);
    }
    assert_same(&one, &master);
    hn_stats_cleanup(&one);
    hn_stats_cleanup(&master);
}

static void test_wire_rejects_bad_input(void **state)
{
    (void)state;
    static const char *const bad[] = {
        "[]",
        "{\"entries\":[],\"errors\":[]}",
        "{\"entries\":{},\"errors\":[],\"exceptions\":[]}",
        /* buckets do not add up to count */
        "{\"entries\":[{\"type\":\"GET\",\"name\":\"/\",\"requests\":2,\"failures\":0,\"bytes\":0,"
        "\"first\":1,\"last\":2,\"hist\":{\"count\":2,\"min\":1,\"max\":1,\"sum\":2,"
        "\"buckets\":[1,1]}}],\"errors\":[],\"exceptions\":[]}",
        /* bucket index out of range */
        "{\"entries\":[{\"type\":\"GET\",\"name\":\"/\",\"requests\":1,\"failures\":0,\"bytes\":0,"
        "\"first\":1,\"last\":2,\"hist\":{\"count\":1,\"min\":1,\"max\":1,\"sum\":1,"
        "\"buckets\":[999999,1]}}],\"errors\":[],\"exceptions\":[]}",
        /* more failures than requests */
        "{\"entries\":[{\"type\":\"GET\",\"name\":\"/\",\"requests\":1,\"failures\":2,\"bytes\":0,"
        "\"first\":1,\"last\":2,\"hist\":{\"count\":1,\"min\":1,\"max\":1,\"sum\":1,"
        "\"buckets\":[1,1]}}],\"errors\":[],\"exceptions\":[]}",
        /* requests and timings disagree */
        "{\"entries\":[{\"type\":\"GET\",\"name\":\"/\",\"requests\":5,\"failures\":0,\"bytes\":0,"
        "\"first\":1,\"last\":2,\"hist\":{\"count\":1,\"min\":1,\"max\":1,\"sum\":1,"
        "\"buckets\":[1,1]}}],\"errors\":[],\"exceptions\":[]}",
        /* negative count, string number */
        "{\"entries\":[{\"type\":\"GET\",\"name\":\"/\",\"requests\":-1,\"failures\":0,\"bytes\":0,"
        "\"first\":1,\"last\":2,\"hist\":{}}],\"errors\":[],\"exceptions\":[]}",
        "{\"entries\":[],\"errors\":[{\"type\":\"GET\",\"name\":\"/\",\"message\":\"x\","
        "\"count\":\"3\",\"first\":1,\"last\":1}],\"exceptions\":[]}",
        /* a valid entry followed by a broken one: nothing may be merged */
        "{\"entries\":[{\"type\":\"GET\",\"name\":\"/ok\",\"requests\":1,\"failures\":0,\"bytes\":0,"
        "\"first\":1,\"last\":2,\"hist\":{\"count\":1,\"min\":1,\"max\":1,\"sum\":1,"
        "\"buckets\":[1,1]}},{\"type\":\"GET\"}],\"errors\":[],\"exceptions\":[]}",
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        struct hn_stats dst;
        hn_stats_init(&dst);
        json_error_t jerr;
        json_t *j = json_loads(bad[i], 0, &jerr);
        assert_non_null(j);
        char err[256] = "";
        assert_int_equal(hn_stats_wire_merge(&dst, j, err, sizeof err), -1);
        assert_true(err[0] != '\0');
        assert_true(hn_stats_empty(&dst));
        json_decref(j);
        hn_stats_cleanup(&dst);
    }
}

/* ---------------------------------------------------------------- */
/* The fleet and a fake worker                                       */
/* ---------------------------------------------------------------- */

static void noop(struct hn_user *u)
{
    (void)u;
}

static const struct hn_task tasks[] = {{.name = "t", .fn = noop}, {0}};
static const struct hn_user_type types[] = {{.name = "A", .weight = 1, .tasks = tasks},
                                            {.name = "B", .weight = 2, .tasks = tasks},
                                            {0}};
static const struct hn_plugin plugin = {.abi_major = HN_ABI_MAJOR, .abi_minor = HN_ABI_MINOR,
                                        .struct_size = sizeof(struct hn_plugin), .name = "t",
                                        .user_types = types};
#define SHA "00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff"

struct rig {
    struct hn_fleet *fleet;
    void *ctx, *dealer;
};

static void *connect_fake(struct rig *g, const char *id)
{
    void *s = zmq_socket(g->ctx, ZMQ_DEALER);
    int zero = 0;
    zmq_setsockopt(s, ZMQ_ROUTING_ID, id, strlen(id));
    zmq_setsockopt(s, ZMQ_LINGER, &zero, sizeof zero);
    char ep[64];
    snprintf(ep, sizeof ep, "tcp://127.0.0.1:%u", hn_fleet_port(g->fleet));
    assert_int_equal(zmq_connect(s, ep), 0);
    return s;
}

static void send_text(void *s, const char *text)
{
    assert_true(zmq_send(s, text, strlen(text), 0) >= 0);
}

/* Receives messages until one of type `type` (others, e.g. state, skipped). */
static json_t *recv_type(void *s, const char *type, int timeout_ms)
{
    struct timespec t0;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    for (;;) {
        zmq_pollitem_t it = {.socket = s, .events = ZMQ_POLLIN};
        zmq_poll(&it, 1, 100);
        if (it.revents & ZMQ_POLLIN) {
            char buf[65536];
            int n = zmq_recv(s, buf, sizeof buf - 1, 0);
            assert_true(n >= 0);
            buf[n < (int)sizeof buf - 1 ? n : (int)sizeof buf - 1] = '\0';
            json_error_t e;
            json_t *j = json_loads(buf, 0, &e);
            assert_non_null(j);
            if (strcmp(json_string_value(json_object_get(j, "type")), type) == 0)
                return j;
            json_decref(j);
        }
        struct timespec t;
        clock_gettime(CLOCK_MONOTONIC, &t);
        if ((t.tv_sec - t0.tv_sec) * 1000 + (t.tv_nsec - t0.tv_nsec) / 1000000 > timeout_ms)
            return NULL;
    }
}

static char *hello(int version, const char *sha, const char *types_json)
{
    static char buf[1024];
    snprintf(buf, sizeof buf,
             "{\"type\":\"hello\",\"v\":%d,\"id\":\"x\",\"version\":\"0\",\"host\":\"h\","
             "\"pid\":1,\"threads\":1,\"plugin\":{\"sha256\":\"%s\",\"types\":%s}}",
             version, sha, types_json);
    return buf;
}

static int setup(void **state)
{
    struct rig *g = calloc(1, sizeof *g);
    struct hn_fleet_config fc = {.bind_host = "127.0.0.1", .bind_port = 0, .plugin = &plugin,
                                 .plugin_sha256 = SHA, .stop_timeout = 1};
    char err[256];
    assert_int_equal(hn_fleet_start(&g->fleet, &fc, err, sizeof err), 0);
    g->ctx = zmq_ctx_new();
    *state = g;
    return 0;
}

static int teardown(void **state)
{
    struct rig *g = *state;
    hn_fleet_stop(g->fleet);
    zmq_ctx_term(g->ctx);
    free(g);
    return 0;
}

static void assert_refused(struct rig *g, const char *id, const char *msg, const char *needle)
{
    void *s = connect_fake(g, id);
    send_text(s, msg);
    json_t *r = recv_type(s, "refuse", 30000);
    assert_non_null(r);
    const char *reason = json_string_value(json_object_get(r, "reason"));
    assert_non_null(reason);
    if (strstr(reason, needle) == NULL)
        fail_msg("reason '%s' lacks '%s'", reason, needle);
    json_decref(r);
    zmq_close(s);
    assert_int_equal(hn_fleet_ready(g->fleet), 0);
}

static void test_fleet_refuses(void **state)
{
    struct rig *g = *state;
    char want[64];
    snprintf(want, sizeof want, "protocol version %d is not this master's (%d",
             HN_CLUSTER_PROTOCOL + 1, HN_CLUSTER_PROTOCOL);
    assert_refused(g, "w-old", hello(HN_CLUSTER_PROTOCOL + 1, SHA, "[\"A\",\"B\"]"), want);
    assert_refused(g, "w-sha", hello(HN_CLUSTER_PROTOCOL, "ffff", "[\"A\",\"B\"]"), "plugin differs");
    assert_refused(g, "w-types", hello(HN_CLUSTER_PROTOCOL, SHA, "[\"A\"]"), "other user types");
    assert_refused(g, "w-nov", "{\"type\":\"hello\"}", "protocol version -1");
}

static void test_fleet_welcomes_and_merges(void **state)
{
    struct rig *g = *state;
    void *s = connect_fake(g, "w-good");
    /* Garbage first: ignored, nothing breaks. */
    send_text(s, "not json");
    send_text(s, "{\"type\":42}");
    send_text(s, "{\"type\":\"report\"}"); /* before hello: asked to say hello */
    json_t *r = recv_type(s, "rehello", 30000);
    assert_non_null(r);
    json_decref(r);
    send_text(s, hello(HN_CLUSTER_PROTOCOL, SHA, "[\"A\",\"B\"]"));
    r = recv_type(s, "welcome", 30000);
    assert_non_null(r);
    json_decref(r);
    assert_int_equal(hn_fleet_ready(g->fleet), 1);

    /* The runner's side: a new run with 3 users per type. */
    const struct hn_fleet_ops *ops = hn_fleet_runner_ops(g->fleet);
    ops->start_run(ops->ud, "http://127.0.0.1:9");
    uint32_t counts[2] = {3, 6};
    ops->set_targets(ops->ud, counts, 2, 10);
    json_t *st = NULL;
    for (int i = 0; i < 20; i++) {
        st = recv_type(s, "state", 10000);
        assert_non_null(st);
        if (json_integer_value(json_array_get(json_object_get(st, "counts"), 1)) == 6)
            break;
        json_decref(st);
        st = NULL;
    }
    assert_non_null(st);
    assert_string_equal(json_string_value(json_object_get(st, "phase")), "run");
    json_int_t epoch = json_integer_value(json_object_get(st, "epoch"));
    json_decref(st);

    /* Statistics of this epoch arrive in the runner's swap, exactly. */
    struct hn_stats sent;
    hn_stats_init(&sent);
    fill(&sent, 7, 2000);
    json_t *stats = hn_stats_wire_encode(&sent);
    json_t *rep = json_pack("{s:s, s:i, s:I, s:i, s:s, s:i, s:o}", "type", "report", "v", HN_CLUSTER_PROTOCOL,
                            "epoch", (json_int_t)epoch, "run", 1, "state", "running", "users", 9,
                            "stats", stats);
    char *text = json_dumps(rep, JSON_COMPACT);
    send_text(s, text);
    free(text);
    /* A stale epoch and a broken table are dropped. */
    json_object_set_new(rep, "epoch", json_integer(epoch - 1));
    text = json_dumps(rep, JSON_COMPACT);
    send_text(s, text);
    free(text);
    json_object_set_new(rep, "epoch", json_integer(epoch));
    json_object_set_new(rep, "stats", json_pack("{s:[], s:[], s:{}}", "entries", "errors",
                                                "exceptions"));
    text = json_dumps(rep, JSON_COMPACT);
    send_text(s, text);
    free(text);
    json_decref(rep);

    struct hn_stats *spare = calloc(1, sizeof *spare);
    struct hn_stats got;
    hn_stats_init(spare);
    hn_stats_init(&got);
    for (int i = 0; i < 600 && got.n_entries == 0; i++) { /* up to 30 s */
        struct timespec ts = {0, 50 * 1000 * 1000};
        nanosleep(&ts, NULL);
        ops->swap_stats(ops->ud, &spare);
        hn_stats_merge(&got, spare);
        hn_stats_reset(spare);
    }
    /* The stale and the broken report must have been handled (and dropped)
     * before the last swap: a repeated hello is answered with a welcome and
     * changes nothing, and the master reads this socket in order. */
    send_text(s, hello(HN_CLUSTER_PROTOCOL, SHA, "[\"A\",\"B\"]"));
    r = recv_type(s, "welcome", 30000);
    assert_non_null(r);
    json_decref(r);
    ops->swap_stats(ops->ud, &spare);
    hn_stats_merge(&got, spare);
    assert_same(&sent, &got);

    size_t n = 0;
    struct hn_worker_view *v = ops->workers(ops->ud, &n);
    assert_int_equal(n, 1);
    assert_string_equal(v[0].id, "w-good");
    assert_string_equal(v[0].state, "running");
    assert_int_equal(v[0].users, 9);
    hn_worker_views_free(v, n);

    hn_stats_cleanup(&sent);
    hn_stats_cleanup(&got);
    hn_stats_cleanup(spare);
    free(spare);
    zmq_close(s);
}

/* Counts in the latest state message for each of two fake workers. */
static void latest_counts(void *s, json_int_t out[2])
{
    json_t *st, *last = NULL;
    while ((st = recv_type(s, "state", 300)) != NULL) {
        json_decref(last);
        last = st;
    }
    assert_non_null(last);
    for (int i = 0; i < 2; i++)
        out[i] = json_integer_value(json_array_get(json_object_get(last, "counts"), (size_t)i));
    json_decref(last);
}

static void test_fleet_spreads_types(void **state)
{
    struct rig *g = *state;
    void *w[2];
    const char *ids[2] = {"w-1", "w-2"};
    for (int i = 0; i < 2; i++) {
        w[i] = connect_fake(g, ids[i]);
        send_text(w[i], hello(HN_CLUSTER_PROTOCOL, SHA, "[\"A\",\"B\"]"));
        json_t *r = recv_type(w[i], "welcome", 30000);
        assert_non_null(r);
        json_decref(r);
    }
    const struct hn_fleet_ops *ops = hn_fleet_runner_ops(g->fleet);
    ops->start_run(ops->ud, NULL);
    /* A ramp of one user at a time, types alternating (equal weights):
     * handing each new user to the first of the least loaded workers
     * would give one worker every A and the other every B. */
    static const uint32_t ramp[][2] = {{1, 0}, {1, 1}, {2, 1}, {2, 2}, {3, 2}, {3, 3}};
    for (size_t k = 0; k < sizeof ramp / sizeof ramp[0]; k++) {
        ops->set_targets(ops->ud, ramp[k], 2, 10);
        struct timespec ts = {0, 30 * 1000 * 1000};
        nanosleep(&ts, NULL);
    }
    json_int_t c[2][2];
    latest_counts(w[0], c[0]);
    latest_counts(w[1], c[1]);
    /* Totals exact, and both workers run both types. */
    assert_int_equal(c[0][0] + c[1][0], 3);
    assert_int_equal(c[0][1] + c[1][1], 3);
    for (int i = 0; i < 2; i++) {
        assert_in_range(c[i][0], 1, 2);
        assert_in_range(c[i][1], 1, 2);
    }
    for (int i = 0; i < 2; i++)
        zmq_close(w[i]);
}

/* ---------------------------------------------------------------- */
/* feed_wire and leases                                              */
/* ---------------------------------------------------------------- */

static struct hn_feeder feed_decl[] = {{.name = "items", .mode = HN_FEED_CYCLE}, {0}};
static const struct hn_plugin feed_plugin = {.abi_major = HN_ABI_MAJOR, .abi_minor = 1,
                                             .feeders = feed_decl};

static struct hn_feeders *one_table(void)
{
    struct hn_feeders *f = hn_feeders_new(1);
    assert_non_null(f);
    struct hn_feed_table *t = &f->tables[0];
    t->name = strdup("items");
    t->path = strdup("items.csv");
    t->mode = HN_FEED_ONCE; /* the master's, not the worker's declaration */
    t->flags = HN_FEED_STOP_TEST;
    t->n_columns = 2;
    t->columns = calloc(2, sizeof *t->columns);
    t->columns[0] = strdup("id");
    t->columns[1] = strdup("name, \"quoted\"\nline");
    t->n_rows = 5;
    t->rows = calloc(5, sizeof *t->rows);
    for (size_t i = 0; i < 5; i++) {
        t->rows[i] = calloc(2, sizeof *t->rows[i]);
        char id[8];
        snprintf(id, sizeof id, "%zu", i);
        t->rows[i][0] = strdup(id);
        t->rows[i][1] = strdup(i == 2 ? "" : "caf\xc3\xa9");
    }
    return f;
}

static void test_feed_wire_and_leases(void **state)
{
    (void)state;
    struct hn_feeders *src = one_table(), *dst = NULL;
    json_t *j = hn_feed_wire_encode(src);
    char *text = json_dumps(j, JSON_COMPACT);
    json_decref(j);
    json_error_t jerr;
    j = json_loads(text, 0, &jerr);
    free(text);
    char err[256] = "";
    assert_int_equal(hn_feed_wire_decode(j, &feed_plugin, &dst, err, sizeof err), 0);
    json_decref(j);
    struct hn_feed_table *a = &src->tables[0], *b = &dst->tables[0];
    assert_int_equal(b->mode, HN_FEED_ONCE);
    assert_int_equal(b->flags, HN_FEED_STOP_TEST);
    assert_true(b->leased);
    assert_int_equal(b->n_columns, 2);
    assert_int_equal(b->n_rows, 5);
    assert_string_equal(b->columns[1], a->columns[1]);
    for (size_t i = 0; i < 5; i++)
        for (size_t c = 0; c < 2; c++)
            assert_string_equal(b->rows[i][c], a->rows[i][c]);

    size_t row = 99;
    bool drained;
    assert_int_equal(hn_feed_take(b, 0, &row), HN_FEED_GOT_WAIT);
    hn_feed_lease_add(b, 3, 2);
    hn_feed_lease_add(b, 0, 1);
    assert_int_equal(hn_feed_lease_left(b, &drained), 3);
    assert_false(drained);
    size_t want[] = {3, 4, 0};
    for (size_t i = 0; i < 3; i++) {
        assert_int_equal(hn_feed_take(b, 0, &row), HN_FEED_GOT_ROW);
        assert_int_equal(row, want[i]);
    }
    assert_int_equal(hn_feed_take(b, 0, &row), HN_FEED_GOT_WAIT);
    for (uint64_t i = 0; i < 20; i++) /* the ring grows past its first size */
        hn_feed_lease_add(b, i, 1);
    for (uint64_t i = 0; i < 20; i++) {
        assert_int_equal(hn_feed_take(b, 0, &row), HN_FEED_GOT_ROW);
        assert_int_equal(row, i % 5);
    }
    hn_feed_lease_add(b, 0, 0);
    assert_int_equal(hn_feed_take(b, 0, &row), HN_FEED_GOT_NONE);
    assert_int_equal(atomic_load(&b->taken), 23);
    hn_feeders_free(dst);

    static const char *const bad[] = {
        "null",
        "[]",
        "[{\"name\":\"other\",\"mode\":0,\"flags\":0,\"columns\":[\"a\"],\"rows\":[[\"1\"]]}]",
        "[{\"name\":\"items\",\"mode\":7,\"flags\":0,\"columns\":[\"a\"],\"rows\":[[\"1\"]]}]",
        "[{\"name\":\"items\",\"mode\":0,\"flags\":0,\"columns\":[\"a\"],\"rows\":[]}]",
        "[{\"name\":\"items\",\"mode\":0,\"flags\":0,\"columns\":[\"a\",\"b\"],"
        "\"rows\":[[\"1\",\"2\"],[\"3\"]]}]",
        "[{\"name\":\"items\",\"mode\":0,\"flags\":0,\"columns\":[\"a\"],\"rows\":[[1]]}]",
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        json_t *jb = json_loads(bad[i], JSON_DECODE_ANY, &jerr);
        assert_non_null(jb);
        dst = (struct hn_feeders *)1;
        err[0] = '\0';
        assert_int_equal(hn_feed_wire_decode(jb, &feed_plugin, &dst, err, sizeof err), -1);
        assert_null(dst);
        assert_true(err[0] != '\0');
        json_decref(jb);
    }
    hn_feeders_free(src);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_wire_roundtrip),
        cmocka_unit_test(test_wire_three_workers_equal_one),
        cmocka_unit_test(test_wire_rejects_bad_input),
        cmocka_unit_test(test_feed_wire_and_leases),
        cmocka_unit_test_setup_teardown(test_fleet_refuses, setup, teardown),
        cmocka_unit_test_setup_teardown(test_fleet_welcomes_and_merges, setup, teardown),
        cmocka_unit_test_setup_teardown(test_fleet_spreads_types, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
