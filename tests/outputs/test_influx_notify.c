/*
 * test_influx_notify.c: the renderers of outputs/ on snapshots built by
 * the engine: InfluxDB's counts per interval across a reset and a new run,
 * when points are due, tag escaping and timestamps; and which notices a
 * run's snapshots make due, each once.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "influx.h"
#include "notify.h"
#include "snapshot.h"
#include "stats.h"

static uint64_t seq;

static struct hn_snapshot *snap(const struct hn_stats *cum, enum hn_state state, double start,
                                double now)
{
    struct hn_snapshot_input in = {
        .cum = cum, .seq = ++seq, .state = state, .host = "http://t", .start_time = start,
        .now = now, .active_s = now - start, .stage = -1};
    return hn_snapshot_build(&in);
}

/* The lines rendered for s (malloc'ed), and how many points. */
static char *render(struct hn_influx *x, struct hn_snapshot *s, size_t *points)
{
    char *buf = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&buf, &len);
    *points = hn_influx_render(x, s, f);
    fclose(f);
    return buf;
}

/* The requests=Ni field of the point for name in text, or -1. */
static long requests_of(const char *text, const char *name)
{
    char key[128];
    snprintf(key, sizeof key, ",name=%s requests=", name);
    const char *p = strstr(text, key);
    return p ? strtol(p + strlen(key), NULL, 10) : -1;
}

static void test_counts_per_interval(void **state)
{
    (void)state;
    struct hn_stats st;
    hn_stats_init(&st);
    struct hn_influx *x = hn_influx_new();
    size_t points;

    for (int i = 0; i < 3; i++)
        hn_stats_record(&st, "GET", "/a", 1000, 10, NULL, 100);
    struct hn_snapshot *s = snap(&st, HN_STATE_RUNNING, 100, 101);
    char *t = render(x, s, &points);
    assert_int_equal(points, 2); /* /a and the run */
    assert_int_equal(requests_of(t, "/a"), 3);
    assert_non_null(strstr(t, "requests_total=3i"));
    assert_non_null(strstr(t, "\nhornet_run user_count=0i,"));
    free(t);
    hn_snapshot_release(s);

    hn_stats_record(&st, "GET", "/a", 1000, 10, NULL, 100);
    hn_stats_record(&st, "GET", "/a", 1000, 10, "boom", 100);
    hn_stats_record(&st, "GET", "/b", 1000, 10, NULL, 100);
    s = snap(&st, HN_STATE_RUNNING, 100, 102);
    t = render(x, s, &points);
    assert_int_equal(requests_of(t, "/a"), 2);
    assert_non_null(strstr(t, "name=/a requests=2i,failures=1i,requests_total=5i,failures_total=1i"));
    assert_int_equal(requests_of(t, "/b"), 1);
    free(t);
    hn_snapshot_release(s);

    /* A reset: what is counted now happened since. */
    hn_stats_reset(&st);
    hn_stats_record(&st, "GET", "/a", 1000, 10, NULL, 100);
    s = snap(&st, HN_STATE_RUNNING, 100, 103);
    t = render(x, s, &points);
    assert_int_equal(requests_of(t, "/a"), 1);
    assert_int_equal(requests_of(t, "/b"), -1);
    free(t);
    hn_snapshot_release(s);

    /* A new run counts from zero, even when its count is above the last. */
    for (int i = 0; i < 4; i++)
        hn_stats_record(&st, "GET", "/a", 1000, 10, NULL, 100);
    s = snap(&st, HN_STATE_RUNNING, 200, 201);
    t = render(x, s, &points);
    assert_int_equal(requests_of(t, "/a"), 5);
    free(t);
    hn_snapshot_release(s);

    hn_influx_free(x);
    hn_stats_cleanup(&st);
}

static void test_due(void **state)
{
    (void)state;
    struct hn_stats st;
    hn_stats_init(&st);
    struct hn_influx *x = hn_influx_new();
    size_t points;
    struct hn_snapshot *s = snap(&st, HN_STATE_READY, 0, 50);
    assert_false(hn_influx_due(x, s)); /* no run yet */
    hn_snapshot_release(s);

    hn_stats_record(&st, "GET", "/a", 1000, 10, NULL, 100);
    s = snap(&st, HN_STATE_RUNNING, 100, 101);
    assert_true(hn_influx_due(x, s));
    free(render(x, s, &points));
    hn_snapshot_release(s);
    s = snap(&st, HN_STATE_STOPPED, 100, 102);
    assert_true(hn_influx_due(x, s)); /* the last second of the run */
    free(render(x, s, &points));
    hn_snapshot_release(s);
    s = snap(&st, HN_STATE_STOPPED, 100, 103);
    assert_false(hn_influx_due(x, s)); /* and then nothing while idle */
    char *t = render(x, s, &points);
    assert_int_equal(points, 0);
    free(t);
    hn_snapshot_release(s);
    hn_influx_free(x);
    hn_stats_cleanup(&st);
}

static void test_tags_and_timestamps(void **state)
{
    (void)state;
    struct hn_stats st;
    hn_stats_init(&st);
    struct hn_influx *x = hn_influx_new();
    size_t points;
    hn_stats_record(&st, "MY TYPE", "a,b=c d\\", 1000, 10, NULL, 100);
    hn_stats_record(&st, "GET", "x\ny\\z\xff", 1000, 10, NULL, 100);
    hn_stats_record(&st, "", "untyped", 1000, 10, NULL, 100);
    struct hn_snapshot *s = snap(&st, HN_STATE_RUNNING, 100, 101.5);
    char *t = render(x, s, &points);
    assert_non_null(strstr(t, "hornet_requests,method=MY\\ TYPE,name=a\\,b\\=c\\ d\xEF\xBC\xBC "));
    assert_non_null(strstr(t, "hornet_requests,method=GET,name=x\\ny\\z\xEF\xBF\xBD "));
    assert_non_null(strstr(t, "hornet_requests,name=untyped ")); /* no empty tag */
    assert_non_null(strstr(t, " 101500\n"));
    free(t);
    hn_snapshot_release(s);
    /* The same millisecond again: a later timestamp, never an overwrite. */
    s = snap(&st, HN_STATE_RUNNING, 100, 101.5);
    t = render(x, s, &points);
    assert_non_null(strstr(t, " 101501\n"));
    assert_null(strstr(t, " 101500\n"));
    free(t);
    hn_snapshot_release(s);
    hn_influx_free(x);
    hn_stats_cleanup(&st);
}

/* A snapshot with one threshold of the given verdict. */
static struct hn_snapshot *with_threshold(struct hn_snapshot *s, enum hn_verdict v)
{
    s->n_thresholds = 1;
    s->thresholds = calloc(1, sizeof(*s->thresholds));
    s->thresholds[0].expr = strdup("p95<10ms");
    s->thresholds[0].metric = strdup("p95");
    s->thresholds[0].unit = "ms";
    s->thresholds[0].measured = v != HN_VERDICT_NO_DATA;
    s->thresholds[0].value = 19;
    s->thresholds[0].verdict = v;
    return s;
}

static size_t due(struct hn_notify *n, struct hn_snapshot *s, enum hn_notify_kind *kinds)
{
    struct hn_notify_event ev[8];
    size_t k = hn_notify_due(n, s, ev, 8);
    for (size_t i = 0; i < k; i++)
        kinds[i] = ev[i].kind;
    hn_snapshot_release(s);
    return k;
}

static void test_notices_once_each(void **state)
{
    (void)state;
    struct hn_stats st;
    hn_stats_init(&st);
    struct hn_notify *n = hn_notify_new();
    enum hn_notify_kind k[8];
    assert_int_equal(due(n, snap(&st, HN_STATE_READY, 0, 1), k), 0);
    assert_int_equal(due(n, with_threshold(snap(&st, HN_STATE_SPAWNING, 10, 11),
                                           HN_VERDICT_NO_DATA), k), 1);
    assert_int_equal(k[0], HN_NOTIFY_START);
    assert_int_equal(due(n, with_threshold(snap(&st, HN_STATE_RUNNING, 10, 12),
                                           HN_VERDICT_FAIL), k), 1);
    assert_int_equal(k[0], HN_NOTIFY_THRESHOLD);
    assert_int_equal(due(n, with_threshold(snap(&st, HN_STATE_RUNNING, 10, 13),
                                           HN_VERDICT_FAIL), k), 0); /* once per run */
    assert_int_equal(due(n, with_threshold(snap(&st, HN_STATE_STOPPED, 10, 14),
                                           HN_VERDICT_FAIL), k), 1);
    assert_int_equal(k[0], HN_NOTIFY_STOP);
    assert_int_equal(due(n, snap(&st, HN_STATE_STOPPED, 10, 15), k), 0);
    /* A run that started and stopped between two snapshots: both. */
    assert_int_equal(due(n, snap(&st, HN_STATE_STOPPED, 20, 21), k), 2);
    assert_int_equal(k[0], HN_NOTIFY_START);
    assert_int_equal(k[1], HN_NOTIFY_STOP);
    /* The next run may break the threshold again. */
    assert_int_equal(due(n, with_threshold(snap(&st, HN_STATE_RUNNING, 30, 31),
                                           HN_VERDICT_FAIL), k), 2);
    assert_int_equal(k[1], HN_NOTIFY_THRESHOLD);
    hn_notify_free(n);
    hn_stats_cleanup(&st);
}

static void test_slack_escapes_and_limits(void **state)
{
    (void)state;
    struct hn_stats st;
    hn_stats_init(&st);
    hn_stats_record(&st, "GET", "/a", 19000, 10, NULL, 100);
    struct hn_snapshot *s = with_threshold(snap(&st, HN_STATE_RUNNING, 10, 12), HN_VERDICT_FAIL);
    free(s->host);
    s->host = strdup("http://t/<b>&amp");
    struct hn_notify_info info = {.plugin = "p.c", .version = "1"};
    struct hn_notify_event ev = {.kind = HN_NOTIFY_THRESHOLD, .threshold = 0};
    char *body = hn_notify_slack_body(&info, s, &ev);
    assert_non_null(body);
    assert_non_null(strstr(body, "http://t/&lt;b&gt;&amp;amp"));
    assert_non_null(strstr(body, ":x: `p95&lt;10ms` 19.0 ms"));
    assert_null(strstr(body, "Open the dashboard")); /* headless: no links */
    free(body);
    body = hn_notify_webhook_body(&info, s, &ev);
    assert_non_null(strstr(body, "\"event\":\"threshold_broken\""));
    assert_non_null(strstr(body, "\"threshold\":{"));
    assert_non_null(strstr(body, "\"report_url\":null"));
    free(body);
    hn_snapshot_release(s);
    hn_stats_cleanup(&st);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_counts_per_interval),
        cmocka_unit_test(test_due),
        cmocka_unit_test(test_tags_and_timestamps),
        cmocka_unit_test(test_notices_once_each),
        cmocka_unit_test(test_slack_escapes_and_limits),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
