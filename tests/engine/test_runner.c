/*
 * test_runner.c: the engine through its real path: plugins built as .so
 * files, the demo target on 127.0.0.1, real sockets. Every count hornet
 * reports is checked against what the target says it served.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <errno.h>
#include <stdbool.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>
#include <curl/curl.h>
#include <jansson.h>

#include "demo_target.h"
#include "log.h"
#include "plugin_host.h"
#include "runner.h"

struct fixture {
    struct hn_demo_target *target;
    char host[64];
    struct hn_loaded_plugin *plugin;
    struct hn_runner *runner;
};

static size_t collect(char *data, size_t size, size_t n, void *ud)
{
    char **s = ud;
    size_t old = *s ? strlen(*s) : 0;
    char *p = realloc(*s, old + size * n + 1);
    assert_non_null(p);
    memcpy(p + old, data, size * n);
    p[old + size * n] = '\0';
    *s = p;
    return size * n;
}

/* GETs or POSTs a path on the demo target and returns the body as JSON. */
static json_t *target_call(struct fixture *f, const char *method, const char *path)
{
    char url[128];
    snprintf(url, sizeof url, "%s%s", f->host, path);
    CURL *e = curl_easy_init();
    char *body = NULL;
    curl_easy_setopt(e, CURLOPT_URL, url);
    curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, collect);
    curl_easy_setopt(e, CURLOPT_WRITEDATA, &body);
    if (strcmp(method, "POST") == 0)
        curl_easy_setopt(e, CURLOPT_POSTFIELDS, "");
    assert_int_equal(curl_easy_perform(e), CURLE_OK);
    curl_easy_cleanup(e);
    json_t *j = json_loads(body ? body : "null", JSON_DECODE_ANY, NULL);
    free(body);
    return j;
}

static uint64_t count_of(json_t *counts, const char *table, const char *key)
{
    json_t *v = json_object_get(json_object_get(counts, table), key);
    return json_is_integer(v) ? (uint64_t)json_integer_value(v) : 0;
}

static const struct hn_entry_view *entry(const struct hn_snapshot *s, const char *type,
                                         const char *name)
{
    for (size_t i = 0; i < s->n_entries; i++)
        if (strcmp(s->entries[i].type, type) == 0 && strcmp(s->entries[i].name, name) == 0)
            return &s->entries[i];
    return NULL;
}

static uint64_t requests_of(const struct hn_snapshot *s, const char *type, const char *name)
{
    const struct hn_entry_view *e = entry(s, type, name);
    return e ? e->requests : 0;
}

static void setup_plugin_cap(struct fixture *f, const char *plugin, const char *const *tags,
                             double stop_timeout, int threads, uint32_t cap);

static void setup_plugin(struct fixture *f, const char *plugin, const char *const *tags,
                         double stop_timeout)
{
    setup_plugin_cap(f, plugin, tags, stop_timeout, 2, 0);
}

static void setup_plugin_cap(struct fixture *f, const char *plugin, const char *const *tags,
                             double stop_timeout, int threads, uint32_t cap)
{
    char err[4096] = "";
    memset(f, 0, sizeof *f);
    assert_int_equal(hn_demo_target_start(&f->target, "127.0.0.1", 0, 0, err, sizeof err), 0);
    snprintf(f->host, sizeof f->host, "http://127.0.0.1:%u",
             hn_demo_target_http_port(f->target));
    char path[1024];
    snprintf(path, sizeof path, "%s/tests/plugins/%s.so", getenv("HN_BUILD_DIR"), plugin);
    if (hn_plugin_load(path, NULL, &f->plugin, err, sizeof err) != 0)
        fail_msg("load %s: %s", path, err);
    struct hn_runner_config rc = {
        .plugin = hn_plugin_descriptor(f->plugin),
        .threads = threads,
        .in_flight_cap = cap,
        .seed = 42,
        .stop_timeout = stop_timeout,
        .host = f->host,
        .tags = tags,
    };
    if (hn_runner_create(&f->runner, &rc, err, sizeof err) != 0)
        fail_msg("runner: %s", err);
}

static void teardown_plugin(struct fixture *f)
{
    hn_runner_destroy(f->runner);
    hn_plugin_unload(f->plugin);
    hn_demo_target_stop(f->target);
}

static void sleep_s(double s)
{
    struct timespec ts = {(time_t)s, (long)((s - (double)(time_t)s) * 1e9)};
    nanosleep(&ts, NULL);
}

/* Waits until the swarm reports `users` users in state running. */
static void wait_running(struct hn_runner *r, uint32_t users, double timeout)
{
    for (double t = 0; t < timeout; t += 0.02) {
        struct hn_snapshot *s = hn_runner_snapshot_now(r);
        bool ok = s->state == HN_STATE_RUNNING && s->users == users;
        hn_snapshot_release(s);
        if (ok)
            return;
        sleep_s(0.02);
    }
    fail_msg("swarm did not reach %u running users in %g s", users, timeout);
}

/* Every request the target served is counted exactly once, per endpoint. */
static void test_counts_match_target(void **state)
{
    (void)state;
    struct fixture f;
    char err[256];
    setup_plugin(&f, "engine_probe", NULL, 5);
    assert_int_equal(hn_runner_start(f.runner, 20, 200, NULL, 3.0, err, sizeof err), 0);
    assert_int_equal(hn_runner_wait_stopped(f.runner, 30), 1);
    struct hn_snapshot *s = hn_runner_snapshot_now(f.runner);
    json_t *c = target_call(&f, "GET", "/__counts");

    assert_string_equal(s->stop_reason, "run time limit reached");
    uint64_t root = requests_of(s, "GET", "/");
    assert_true(root > 100);
    assert_int_equal(root, count_of(c, "by_path", "GET /"));
    assert_int_equal(requests_of(s, "GET", "/status/500"), count_of(c, "by_path", "GET /status/500"));
    assert_int_equal(requests_of(s, "GET", "/delay/[s]"), count_of(c, "by_route", "GET /delay/{s}"));
    assert_int_equal(requests_of(s, "GET", "/item/[id]"), count_of(c, "by_route", "GET /item/{id}"));
    assert_int_equal(requests_of(s, "GET", "/drop"), count_of(c, "by_path", "GET /drop"));
    assert_int_equal(requests_of(s, "GET", "/hang"), count_of(c, "by_path", "GET /hang"));
    assert_int_equal(requests_of(s, "GET", "/json"), count_of(c, "by_path", "GET /json"));
    assert_null(entry(s, "GET", "/never-reached"));

    uint64_t http_total = 0;
    for (size_t i = 0; i < s->n_entries; i++)
        if (strcmp(s->entries[i].type, "KV") != 0)
            http_total += s->entries[i].requests;
    assert_int_equal(http_total, (uint64_t)json_integer_value(json_object_get(c, "total")));

    /* Failures: every 500, drop and hang, with readable messages. */
    const struct hn_entry_view *e500 = entry(s, "GET", "/status/500");
    assert_non_null(e500);
    assert_int_equal(e500->failures, e500->requests);
    assert_int_equal(entry(s, "GET", "/")->failures, 0);
    bool seen500 = false, seen_drop = false, seen_timeout = false;
    uint64_t drop_failures = 0;
    for (size_t i = 0; i < s->n_errors; i++) {
        const struct hn_error_view *ev = &s->errors[i];
        if (strcmp(ev->name, "/status/500") == 0) {
            assert_string_equal(ev->message, "HTTP 500 Internal Server Error");
            seen500 = true;
        } else if (strcmp(ev->name, "/drop") == 0) {
            /* curl silently retries a request whose reused connection died;
             * the target saw both sends, so both are failures. */
            if (strcmp(ev->message, "connection closed without a response") == 0)
                seen_drop = true;
            drop_failures += ev->count;
        } else if (strcmp(ev->name, "/hang") == 0) {
            assert_string_equal(ev->message, "timeout after 0.3 s");
            assert_int_equal(ev->count, requests_of(s, "GET", "/hang"));
            seen_timeout = true;
        }
    }
    assert_true(seen500 && seen_drop && seen_timeout);
    assert_int_equal(drop_failures, requests_of(s, "GET", "/drop"));

    /* /delay/0.05 shows up in the percentiles (50 ms + a little overhead). */
    const struct hn_entry_view *d = entry(s, "GET", "/delay/[s]");
    assert_non_null(d);
    assert_true(d->median_ms >= 49.0 && d->median_ms < 75.0);
    assert_true(d->min_ms >= 49.0);

    /* Exceptions: one per boom task, i.e. one per GET /json. */
    assert_int_equal(s->n_exceptions, 1);
    assert_string_equal(s->exceptions[0].message, "boom: something went wrong");
    assert_string_equal(s->exceptions[0].task, "boom");
    assert_int_equal(s->exceptions[0].count, requests_of(s, "GET", "/json"));

    /* The custom protocol is recorded with its own type. */
    const struct hn_entry_view *kv = entry(s, "KV", "sleep10ms");
    assert_non_null(kv);
    assert_true(kv->median_ms >= 9.9 && kv->median_ms < 40);
    assert_int_equal(s->users, 0);

    json_decref(c);
    hn_snapshot_release(s);
    teardown_plugin(&f);
}

/* Resize up and down, pause, resume and stop mid-run: nothing lost. */
static void test_resize_pause_stop_conserve_counts(void **state)
{
    (void)state;
    struct fixture f;
    char err[256];
    static const char *const tags[] = {"basic", "delay", NULL};
    setup_plugin(&f, "engine_probe", tags, 5);
    assert_int_equal(hn_runner_start(f.runner, 10, 100, NULL, 0, err, sizeof err), 0);
    wait_running(f.runner, 10, 30);
    assert_int_equal(hn_runner_resize(f.runner, 40, 200, err, sizeof err), 0);
    wait_running(f.runner, 40, 30);
    assert_int_equal(hn_runner_resize(f.runner, 5, 100, err, sizeof err), 0);
    wait_running(f.runner, 5, 30);

    assert_int_equal(hn_runner_pause(f.runner, err, sizeof err), 0);
    assert_int_equal(hn_runner_state(f.runner), HN_STATE_PAUSED);
    assert_int_equal(hn_runner_pause(f.runner, err, sizeof err), -EBUSY);
    /* In-flight requests finish (every request the target got is counted),
     * then users hold: nothing may change for a second. */
    struct hn_snapshot *a = NULL;
    /* Twice in a row, so a request sent but not yet arrived cannot pass
     * for a settled count. */
    for (double t = 0, settled_polls = 0;; t += 0.05) {
        hn_snapshot_release(a);
        a = hn_runner_snapshot_now(f.runner);
        json_t *c = target_call(&f, "GET", "/__counts");
        bool settled = a->total.requests == (uint64_t)json_integer_value(json_object_get(c, "total"));
        json_decref(c);
        settled_polls = settled ? settled_polls + 1 : 0;
        if (settled_polls >= 2)
            break;
        if (t > 30)
            fail_msg("in-flight requests did not finish within 30 s of the pause");
        sleep_s(0.05);
    }
    sleep_s(1.0); /* an observation window */
    struct hn_snapshot *b = hn_runner_snapshot_now(f.runner);
    assert_int_equal(a->total.requests, b->total.requests);
    assert_int_equal(b->state, HN_STATE_PAUSED);
    hn_snapshot_release(a);

    assert_int_equal(hn_runner_resume(f.runner, err, sizeof err), 0);
    /* Stop mid-run, once requests flow again. */
    for (double t = 0;; t += 0.02) {
        struct hn_snapshot *r = hn_runner_snapshot_now(f.runner);
        bool more = r->total.requests > b->total.requests;
        hn_snapshot_release(r);
        if (more)
            break;
        if (t > 30)
            fail_msg("no request within 30 s of the resume");
        sleep_s(0.02);
    }
    hn_snapshot_release(b);
    assert_int_equal(hn_runner_stop(f.runner, "test", err, sizeof err), 0);
    assert_int_equal(hn_runner_wait_stopped(f.runner, 30), 1);
    assert_int_equal(hn_runner_stop(f.runner, "again", err, sizeof err), -EBUSY);
    assert_int_equal(hn_runner_resize(f.runner, 3, 1, err, sizeof err), -EBUSY);

    struct hn_snapshot *s = hn_runner_snapshot_now(f.runner);
    json_t *c = target_call(&f, "GET", "/__counts");
    assert_int_equal(s->total.requests, (uint64_t)json_integer_value(json_object_get(c, "total")));
    assert_int_equal(requests_of(s, "GET", "/"), count_of(c, "by_path", "GET /"));
    assert_int_equal(requests_of(s, "GET", "/delay/[s]"), count_of(c, "by_route", "GET /delay/{s}"));
    /* Tags: only basic and delay tasks ran. */
    assert_null(entry(s, "GET", "/drop"));
    assert_null(entry(s, "GET", "/hang"));
    assert_null(entry(s, "GET", "/json"));
    json_decref(c);
    hn_snapshot_release(s);

    /* A new run starts from zero. */
    json_decref(target_call(&f, "POST", "/__reset"));
    assert_int_equal(hn_runner_start(f.runner, 3, 100, NULL, 1.0, err, sizeof err), 0);
    assert_int_equal(hn_runner_wait_stopped(f.runner, 30), 1);
    s = hn_runner_snapshot_now(f.runner);
    c = target_call(&f, "GET", "/__counts");
    assert_int_equal(s->total.requests, (uint64_t)json_integer_value(json_object_get(c, "total")));
    json_decref(c);
    hn_snapshot_release(s);
    teardown_plugin(&f);
}

static const struct hn_ratio_view *ratio(const struct hn_snapshot *s, const char *type)
{
    for (size_t i = 0; i < s->n_ratios; i++)
        if (strcmp(s->ratios[i].user_type, type) == 0)
            return &s->ratios[i];
    fail_msg("no ratio for %s", type);
    return NULL;
}

/* Fixed counts first, then weights 3:1; ramp-down removes the newest. */
static void test_weights_and_fixed_counts(void **state)
{
    (void)state;
    struct fixture f;
    char err[256];
    setup_plugin(&f, "engine_mix", NULL, 1);
    assert_int_equal(hn_runner_start(f.runner, 42, 1000, NULL, 0, err, sizeof err), 0);
    wait_running(f.runner, 42, 30);
    struct hn_snapshot *s = hn_runner_snapshot_now(f.runner);
    assert_int_equal(ratio(s, "admin")->users, 2);
    assert_int_equal(ratio(s, "heavy")->users, 30);
    assert_int_equal(ratio(s, "light")->users, 10);
    hn_snapshot_release(s);

    assert_int_equal(hn_runner_resize(f.runner, 22, 1000, err, sizeof err), 0);
    wait_running(f.runner, 22, 30);
    s = hn_runner_snapshot_now(f.runner);
    assert_int_equal(ratio(s, "admin")->users, 2);
    assert_int_equal(ratio(s, "heavy")->users, 15);
    assert_int_equal(ratio(s, "light")->users, 5);
    hn_snapshot_release(s);

    /* Sleeping users stop at once. */
    assert_int_equal(hn_runner_stop(f.runner, NULL, err, sizeof err), 0);
    assert_int_equal(hn_runner_wait_stopped(f.runner, 5), 1);
    teardown_plugin(&f);
}

/* constant_pacing(0.25): about four tasks per user per second; on_stop runs. */
static void test_pacing_and_on_stop(void **state)
{
    (void)state;
    struct fixture f;
    char err[256];
    setup_plugin(&f, "engine_paced", NULL, 5);
    assert_int_equal(hn_runner_start(f.runner, 4, 100, NULL, 2.0, err, sizeof err), 0);
    assert_int_equal(hn_runner_wait_stopped(f.runner, 30), 1);
    struct hn_snapshot *s = hn_runner_snapshot_now(f.runner);
    uint64_t n = requests_of(s, "GET", "/");
    assert_true(n >= 4 * 7 && n <= 4 * 10);
    assert_int_equal(requests_of(s, "GET", "/json"), 4); /* on_stop, once per user */
    json_t *c = target_call(&f, "GET", "/__counts");
    assert_int_equal(s->total.requests, (uint64_t)json_integer_value(json_object_get(c, "total")));
    json_decref(c);
    hn_snapshot_release(s);
    teardown_plugin(&f);
}

/* 20,000 sleeping users spawn, each makes one request, and all stop.
 * ThreadSanitizer keeps a thread slot per coroutine and has 8,128: there
 * the same test runs 4,000. */
static void test_many_sleeping_users(void **state)
{
    (void)state;
    struct fixture f;
    char err[256];
#ifdef HN_TSAN
    uint32_t n = 4000;
#else
    uint32_t n = 20000;
#endif
    setup_plugin(&f, "engine_sleepers", NULL, 5);
    assert_int_equal(hn_runner_start(f.runner, n, 10000, NULL, 0, err, sizeof err), 0);
    wait_running(f.runner, n, 60);
    /* Every user's first request completes and is counted once. */
    struct hn_snapshot *s = NULL;
    for (int i = 0; i < 600; i++) {
        hn_snapshot_release(s);
        s = hn_runner_snapshot_now(f.runner);
        if (requests_of(s, "GET", "/") >= n)
            break;
        sleep_s(0.1);
    }
    assert_int_equal(requests_of(s, "GET", "/"), n);
    assert_int_equal(s->total.failures, 0);
    json_t *c = target_call(&f, "GET", "/__counts");
    assert_int_equal(count_of(c, "by_path", "GET /"), n);
    json_decref(c);
    hn_snapshot_release(s);
    assert_int_equal(hn_runner_stop(f.runner, NULL, err, sizeof err), 0);
    assert_int_equal(hn_runner_wait_stopped(f.runner, 30), 1);
    teardown_plugin(&f);
}

/* More users than request slots, resized up and down and stopped with an
 * immediate abort, many times: no slot may leak, so a later run still
 * makes requests (a leaked slot once left a worker with none). */
static void test_slots_survive_resize_and_abort(void **state)
{
    (void)state;
    struct fixture f;
    char err[256];
    static const char *const tags[] = {"basic", NULL};
    setup_plugin_cap(&f, "engine_probe", tags, 0, 1, 4);
    for (int run = 0; run < 3; run++) {
        assert_int_equal(hn_runner_start(f.runner, 60, 1000, NULL, 0, err, sizeof err), 0);
        for (int i = 0; i < 6; i++) {
            sleep_s(0.05);
            assert_int_equal(hn_runner_resize(f.runner, i % 2 ? 60 : 20, 1000, err, sizeof err),
                             0);
        }
        sleep_s(0.2);
        assert_int_equal(hn_runner_stop(f.runner, NULL, err, sizeof err), 0);
        assert_int_equal(hn_runner_wait_stopped(f.runner, 10), 1);
    }
    json_decref(target_call(&f, "POST", "/__reset"));
    assert_int_equal(hn_runner_start(f.runner, 10, 1000, NULL, 1.0, err, sizeof err), 0);
    assert_int_equal(hn_runner_wait_stopped(f.runner, 10), 1);
    struct hn_snapshot *s = hn_runner_snapshot_now(f.runner);
    assert_true(s->total.requests > 50);
    json_t *c = target_call(&f, "GET", "/__counts");
    assert_int_equal(s->total.requests, (uint64_t)json_integer_value(json_object_get(c, "total")));
    json_decref(c);
    hn_snapshot_release(s);
    teardown_plugin(&f);
}

/* Waiting for a request slot is part of the latency a user saw: with one
 * slot and four users, a 50 ms endpoint takes about 150-200 ms each. */
static void test_slot_wait_counts_in_latency(void **state)
{
    (void)state;
    struct fixture f;
    char err[256];
    static const char *const tags[] = {"delay", NULL};
    setup_plugin_cap(&f, "engine_probe", tags, 5, 1, 1);
    assert_int_equal(hn_runner_start(f.runner, 4, 100, NULL, 2.0, err, sizeof err), 0);
    assert_int_equal(hn_runner_wait_stopped(f.runner, 15), 1);
    struct hn_snapshot *s = hn_runner_snapshot_now(f.runner);
    const struct hn_entry_view *d = entry(s, "GET", "/delay/[s]");
    assert_non_null(d);
    assert_true(d->median_ms >= 100.0);
    hn_snapshot_release(s);
    teardown_plugin(&f);
}

/* A task that never waits still lets its worker run commands: the run
 * stops on time and the process is not stuck. */
static void test_task_that_never_waits(void **state)
{
    (void)state;
    struct fixture f;
    char err[256];
    setup_plugin_cap(&f, "engine_spin", NULL, 1, 1, 0);
    assert_int_equal(hn_runner_start(f.runner, 2, 100, NULL, 1.0, err, sizeof err), 0);
    assert_int_equal(hn_runner_wait_stopped(f.runner, 10), 1);
    struct hn_snapshot *s = hn_runner_snapshot_now(f.runner);
    assert_true(requests_of(s, "CPU", "spin") > 1000);
    hn_snapshot_release(s);
    teardown_plugin(&f);
}

/* Bad commands are refused with a reason. */
static void test_command_validation(void **state)
{
    (void)state;
    struct fixture f;
    char err[256] = "";
    setup_plugin(&f, "engine_mix", NULL, 1);
    assert_int_equal(hn_runner_start(f.runner, 10, 0, NULL, 0, err, sizeof err), -EINVAL);
    assert_non_null(strstr(err, "spawn_rate"));
    assert_int_equal(hn_runner_start(f.runner, 2000000, 1, NULL, 0, err, sizeof err), -EINVAL);
    assert_non_null(strstr(err, "users"));
    assert_int_equal(hn_runner_pause(f.runner, err, sizeof err), -EBUSY);
    assert_non_null(strstr(err, "ready"));
    assert_int_equal(hn_runner_resume(f.runner, err, sizeof err), -EBUSY);
    assert_int_equal(hn_runner_stop(f.runner, NULL, err, sizeof err), -EBUSY);
    assert_int_equal(hn_runner_resize(f.runner, 1, 1, err, sizeof err), -EBUSY);
    teardown_plugin(&f);
}

/* A fleet that has one worker and does nothing: enough for a master runner. */
static void fake_start_run(void *ud, const char *host) {}
static void fake_set_targets(void *ud, const uint32_t *c, size_t n, double rate) {}
static void fake_set_host(void *ud, const char *host) {}
static void fake_pause(void *ud, bool paused) {}
static void fake_stop(void *ud) {}
static bool fake_stopped(void *ud) { return true; }
static void fake_reset(void *ud) {}
static void fake_swap_stats(void *ud, struct hn_stats **spare) {}
static int fake_ready(void *ud) { return 1; }
static struct hn_worker_view *fake_workers(void *ud, size_t *n)
{
    struct hn_worker_view *v = calloc(1, sizeof *v);
    assert_non_null(v);
    v->id = strdup("w1");
    v->host = strdup("h");
    v->state = strdup("ready");
    *n = 1;
    return v;
}

/* The very first snapshot (seq 0, published before the control thread's
 * first tick) has the same shape as every later one: a master's says
 * distributed and lists its workers; a plain runner's lists its user types. */
static void test_first_snapshot_has_the_full_shape(void **state)
{
    (void)state;
    char err[256] = "";
    struct hn_loaded_plugin *p = NULL;
    char path[1024];
    snprintf(path, sizeof path, "%s/tests/plugins/engine_mix.so", getenv("HN_BUILD_DIR"));
    if (hn_plugin_load(path, NULL, &p, err, sizeof err) != 0)
        fail_msg("load %s: %s", path, err);
    const struct hn_fleet_ops ops = {
        .start_run = fake_start_run, .set_targets = fake_set_targets, .set_host = fake_set_host,
        .pause = fake_pause, .stop = fake_stop, .stopped = fake_stopped, .reset = fake_reset,
        .swap_stats = fake_swap_stats, .ready = fake_ready, .workers = fake_workers,
    };
    for (int master = 0; master < 2; master++) {
        struct hn_runner_config rc = {.plugin = hn_plugin_descriptor(p), .threads = 1,
                                      .host = "http://127.0.0.1:9",
                                      .fleet = master ? &ops : NULL};
        struct hn_runner *r = NULL;
        if (hn_runner_create(&r, &rc, err, sizeof err) != 0)
            fail_msg("runner: %s", err);
        struct hn_snapshot *first = hn_runner_snapshot(r);
        assert_int_equal(first->seq, 0);
        assert_int_equal(first->distributed, master);
        assert_int_equal(first->n_workers, master ? 1 : 0);
        assert_int_equal(first->n_ratios, 3);
        struct hn_snapshot *later = hn_runner_snapshot_now(r);
        assert_true(later->seq > first->seq);
        assert_int_equal(later->distributed, first->distributed);
        assert_int_equal(later->n_workers, first->n_workers);
        assert_int_equal(later->n_ratios, first->n_ratios);
        hn_snapshot_release(later);
        hn_snapshot_release(first);
        hn_runner_destroy(r);
    }
    hn_plugin_unload(p);
}

int main(void)
{
    curl_global_init(CURL_GLOBAL_DEFAULT);
    hn_log_set_level(HN_WARNING);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_command_validation),
        cmocka_unit_test(test_first_snapshot_has_the_full_shape),
        cmocka_unit_test(test_counts_match_target),
        cmocka_unit_test(test_resize_pause_stop_conserve_counts),
        cmocka_unit_test(test_weights_and_fixed_counts),
        cmocka_unit_test(test_pacing_and_on_stop),
        cmocka_unit_test(test_many_sleeping_users),
        cmocka_unit_test(test_slots_survive_resize_and_abort),
        cmocka_unit_test(test_task_that_never_waits),
        cmocka_unit_test(test_slot_wait_counts_in_latency),
    };
    int rc = cmocka_run_group_tests(tests, NULL, NULL);
    curl_global_cleanup();
    return rc;
}
