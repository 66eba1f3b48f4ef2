/*
 * test_report_html.c: the self-contained HTML report (report/report_html.c).
 *
 * The data block is cut back out of the document and parsed, so the tests
 * see what a browser's JSON.parse sees: hostile names must come back byte
 * for byte, and the numbers must equal hn_snapshot_to_json's. With
 * HN_BUILD_DIR set, the sample documents the browser test opens are written
 * there (report-sample.html, a master's report with hostile worker ids, and
 * report-1h.html).
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <dirent.h>
#include <errno.h>
#include <jansson.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "report.h"
#include "report_html.h"

#define DATA_OPEN "<script id=\"data\" type=\"application/json\">"

/* Names that would break out of a <script> or inject markup if pasted raw. */
static const char *const hostile[] = {
    "</script><script>alert(1)</script>",
    "</SCRIPT ><img src=x onerror=alert(2)>",
    "\"quoted\" and 'single' and `back`",
    "<b>bold</b> & <i>amp</i>",
    "<!-- <script> -->",
    "h\xC3\xA9llo w\xC3\xB6rld \xE2\x9C\x93 \xE6\x97\xA5\xE6\x9C\xAC \xF0\x9F\x90\x9D",
    "line\xE2\x80\xA8sep\xE2\x80\xA9para",
    "back\\slash \\u003c and ]]> }",
};
#define N_HOSTILE (sizeof hostile / sizeof hostile[0])

/* ------------------------------------------------------------------------ */
/* Heap-built snapshots (freed by hn_snapshot_release)                       */

static char *xdup(const char *s)
{
    char *p = strdup(s);
    assert_non_null(p);
    return p;
}

static void fill_entry(struct hn_entry_view *e, const char *type, const char *name,
                       uint64_t requests, uint64_t failures, double scale, double active_s)
{
    static const double pct[HN_NPCT] = {12, 15, 18, 20, 30, 50, 80, 120, 200.4, 240.5, 250.6};
    memset(e, 0, sizeof *e);
    e->type = xdup(type);
    e->name = xdup(name);
    e->requests = requests;
    e->failures = failures;
    if (requests > 0) {
        e->avg_ms = 21.123456789 * scale;
        e->min_ms = 1.4 * scale;
        e->max_ms = 250.6 * scale;
        e->median_ms = 12 * scale;
        e->avg_bytes = 1024.5 + scale;
        for (int i = 0; i < HN_NPCT; i++)
            e->pct_ms[i] = pct[i] * scale;
        e->cur_p50_ms = 10 * scale;
        e->cur_p95_ms = 45 * scale;
        e->cur_p99_ms = 100 * scale;
    }
    e->total_rps = (double)requests / active_s;
    e->total_fail_s = (double)failures / active_s;
    e->current_rps = (double)requests / active_s * 1.01;
    e->current_fail_s = (double)failures / active_s * 0.99;
}

struct spec {
    size_t n_entries;          /* besides the hostile ones */
    bool hostile;              /* add one entry, error and exception per hostile name */
    bool stopped;
    double active_s;
    bool distributed;          /* a master's snapshot: add the workers below */
};

/* Worker ids and hosts come from the workers' own hello messages: untrusted. */
static const char *const worker_ids[] = {
    "</script><b>x",
    "node-a_4242_1f2e",
    "<!-- <script>alert(3)</script>",
};
static const char *const worker_hosts[] = {
    "<img src=x onerror=alert(4)>",
    "node-a",
    "h\xC3\xB6st & \"co\"",
};
static const char *const worker_states[] = {"running", "running", "missing"};
#define N_WORKERS (sizeof worker_ids / sizeof worker_ids[0])

static struct hn_snapshot *make_snapshot(const struct spec *sp)
{
    struct hn_snapshot *s = calloc(1, sizeof *s);
    assert_non_null(s);
    size_t nh = sp->hostile ? N_HOSTILE : 0;
    s->refs = 1;
    s->seq = 7;
    s->state = sp->stopped ? HN_STATE_STOPPED : HN_STATE_RUNNING;
    s->host = xdup("http://127.0.0.1:8089");
    s->users = 50;
    s->target_users = 50;
    s->spawn_rate = 10;
    s->start_time = 1714564800.25;
    s->active_s = sp->active_s;
    s->now = s->start_time + sp->active_s;
    s->end_time = sp->stopped ? s->now : 0;
    s->run_time_s = sp->stopped ? sp->active_s : 0;
    s->stop_reason = sp->stopped ? xdup("run time limit") : NULL;

    s->n_entries = sp->n_entries + nh;
    s->entries = calloc(s->n_entries, sizeof *s->entries);
    assert_non_null(s->entries);
    uint64_t req = 0, fail = 0;
    static const char *const types[] = {"GET", "POST", "PUT", "DELETE"};
    for (size_t i = 0; i < sp->n_entries; i++) {
        char name[64];
        snprintf(name, sizeof name, "/api/v1/items/%03zu/details", i);
        uint64_t r = 1000 + i * 37, f = i % 7 == 3 ? r / 50 : 0;
        fill_entry(&s->entries[i], types[i % 4], name, r, f, 1.0 + (double)(i % 9) * 0.3,
                   sp->active_s);
        req += r;
        fail += f;
    }
    for (size_t i = 0; i < nh; i++) {
        fill_entry(&s->entries[sp->n_entries + i], i % 2 ? "POST" : "GET", hostile[i], 10 + i,
                   i % 3, 2.0, sp->active_s);
        req += 10 + i;
        fail += i % 3;
    }
    fill_entry(&s->total, "", "Aggregated", req, fail, 1.5, sp->active_s);

    s->n_errors = nh + 1;
    s->errors = calloc(s->n_errors, sizeof *s->errors);
    assert_non_null(s->errors);
    s->errors[0] = (struct hn_error_view){xdup("GET"), xdup("/api/v1/items/003/details"),
                                          xdup("HTTP 500 Internal Server Error"), 41,
                                          s->start_time + 3, s->now - 1};
    for (size_t i = 0; i < nh; i++)
        s->errors[i + 1] = (struct hn_error_view){xdup("POST"), xdup(hostile[i]), xdup(hostile[i]),
                                                  1 + i, s->start_time + 5, s->now - 2};

    s->n_exceptions = nh > 0 ? nh : 1;
    s->exceptions = calloc(s->n_exceptions, sizeof *s->exceptions);
    assert_non_null(s->exceptions);
    for (size_t i = 0; i < s->n_exceptions; i++) {
        const char *msg = nh > 0 ? hostile[i] : "KeyError: 'cart'\n  in checkout()";
        s->exceptions[i] = (struct hn_exception_view){xdup("ShopUser"), xdup(nh ? msg : "checkout"),
                                                      xdup(msg), 2 + i, s->start_time + 10,
                                                      s->now - 5};
    }

    s->n_ratios = 2;
    s->ratios = calloc(2, sizeof *s->ratios);
    assert_non_null(s->ratios);
    const char *t1 = nh > 0 ? hostile[0] : "checkout";
    s->ratios[0] = (struct hn_ratio_view){xdup("ShopUser"), 40, 0.8, 3, NULL};
    s->ratios[0].tasks = calloc(3, sizeof(struct hn_task_ratio));
    assert_non_null(s->ratios[0].tasks);
    s->ratios[0].tasks[0] = (struct hn_task_ratio){xdup("browse"), 0.6};
    s->ratios[0].tasks[1] = (struct hn_task_ratio){xdup("view item"), 0.3};
    s->ratios[0].tasks[2] = (struct hn_task_ratio){xdup(t1), 0.1};
    s->ratios[1] = (struct hn_ratio_view){xdup(nh > 0 ? hostile[3] : "AdminUser"), 10, 0.2, 1,
                                          NULL};
    s->ratios[1].tasks = calloc(1, sizeof(struct hn_task_ratio));
    assert_non_null(s->ratios[1].tasks);
    s->ratios[1].tasks[0] = (struct hn_task_ratio){xdup("reports"), 1.0};

    /* Thresholds: one held, one broke, one without data; hostile expressions
     * when hostile (a name inside an expression is the plugin's text). */
    s->n_thresholds = 3;
    s->thresholds = calloc(3, sizeof *s->thresholds);
    assert_non_null(s->thresholds);
    s->thresholds[0] = (struct hn_threshold_view){xdup("p95<300ms"), xdup("p95"), "ms", 1, 212.5,
                                                  HN_VERDICT_PASS, 0};
    s->thresholds[1] = (struct hn_threshold_view){
        xdup(nh > 0 ? "GET </script><b>x:p99<1s" : "GET /cart:p99<1s"), xdup("p99"), "ms", 1,
        1340, HN_VERDICT_FAIL, 1};
    s->thresholds[2] = (struct hn_threshold_view){xdup("/never:requests>0"), xdup("requests"),
                                                  "count", 0, 0, HN_VERDICT_FAIL, 0};

    if (sp->distributed) {
        s->distributed = 1;
        s->n_workers = N_WORKERS;
        s->workers = calloc(N_WORKERS, sizeof *s->workers);
        assert_non_null(s->workers);
        for (size_t i = 0; i < N_WORKERS; i++) {
            bool missing = strcmp(worker_states[i], "missing") == 0;
            s->workers[i] = (struct hn_worker_view){
                .id = xdup(worker_ids[i]),
                .host = xdup(worker_hosts[i]),
                .state = xdup(worker_states[i]),
                .users = missing ? 0 : 25,
                .threads = 2,
                .cpu_percent = i == 1 ? 187.25 : 42.5,
                .rss_bytes = (uint64_t)(48 + i * 16) << 20,
                .last_heartbeat = missing ? s->now - 9.5 : s->now - 0.4,
            };
        }
    }
    return s;
}

/* A ramp to 50 users, a steady plateau with noise, one latency spike. */
static struct hn_history_point *make_history(size_t n, double start)
{
    struct hn_history_point *h = calloc(n != 0 ? n : 1, sizeof *h);
    assert_non_null(h);
    uint64_t req = 0, fail = 0;
    for (size_t i = 0; i < n; i++) {
        double t = (double)i;
        uint32_t users = i < 50 ? (uint32_t)(i + 1) : 50;
        double wave = sin(t / 37.0) * 0.08 + sin(t / 5.3) * 0.03;
        double rps = users * 4.0 * (1.0 + wave);
        double fs = i % 97 < 6 ? rps * 0.02 : 0.0;
        req += (uint64_t)rps;
        fail += (uint64_t)fs;
        h[i] = (struct hn_history_point){
            .time = start + 1.0 + t,
            .users = users,
            .rps = rps,
            .fail_s = fs,
            .p50_ms = 18.0 * (1.0 + wave),
            .p95_ms = 55.0 * (1.0 + wave * 2),
            .p99_ms = 110.0 * (1.0 + wave * 3),
            .requests = req,
            .failures = fail,
        };
    }
    if (n > 200) {
        h[n * 2 / 3].p99_ms = 950.0;
        h[n * 2 / 3].p95_ms = 610.0;
    }
    return h;
}

static const struct hn_report_meta test_meta = {
    .version = "0.1.0-test",
    .plugin = "plugins/shop.so",
    .host = NULL,
    .users = 50,
    .spawn_rate = 10,
    .stop_reason = NULL,
};

/* ------------------------------------------------------------------------ */
/* Reading the document back                                                 */

static size_t count_ci(const char *hay, const char *needle)
{
    size_t n = 0, k = strlen(needle);
    for (const char *p = hay; *p != '\0'; p++)
        if (strncasecmp(p, needle, k) == 0)
            n++;
    return n;
}

/* The data block's text (malloc'ed); fails the test if it is not there. */
static char *data_block(const char *doc)
{
    const char *a = strstr(doc, DATA_OPEN);
    assert_non_null(a);
    assert_null(strstr(a + 1, DATA_OPEN));
    a += strlen(DATA_OPEN);
    const char *b = strstr(a, "</script>");
    assert_non_null(b);
    char *text = strndup(a, (size_t)(b - a));
    assert_non_null(text);
    return text;
}

static json_t *parse_data(const char *doc)
{
    char *text = data_block(doc);
    /* Nothing in the block that an HTML parser could take for a tag, a
     * character reference or (in old parsers) a line end. */
    assert_null(strchr(text, '<'));
    assert_null(strchr(text, '>'));
    assert_null(strchr(text, '&'));
    assert_null(strstr(text, "\xE2\x80\xA8"));
    assert_null(strstr(text, "\xE2\x80\xA9"));
    json_error_t je;
    json_t *d = json_loads(text, 0, &je);
    if (d == NULL)
        fail_msg("data block is not JSON: %s at %d", je.text, je.position);
    free(text);
    return d;
}

static void assert_same(json_t *a, json_t *b, const char *what)
{
    if (!json_equal(a, b)) {
        char *x = json_dumps(a, JSON_COMPACT), *y = json_dumps(b, JSON_COMPACT);
        print_error("%s differs:\n  report: %.600s\n  json:   %.600s\n", what, x, y);
        free(x);
        free(y);
        fail();
    }
}

static const char *jget_str(json_t *o, const char *key)
{
    json_t *v = json_object_get(o, key);
    assert_true(json_is_string(v));
    return json_string_value(v);
}

/* ------------------------------------------------------------------------ */
/* Tests                                                                     */

static void test_hostile_names_intact_and_inert(void **state)
{
    (void)state;
    struct spec sp = {.n_entries = 3, .hostile = true, .stopped = true, .active_s = 120};
    struct hn_snapshot *s = make_snapshot(&sp);
    free(s->host);
    s->host = xdup("http://<b>evil</b>/\"x\"");
    struct hn_history_point *h = make_history(120, s->start_time);
    size_t len = 0;
    char *doc = hn_report_html(s, h, 120, &test_meta, &len);
    assert_non_null(doc);
    assert_int_equal(strlen(doc), len);
    assert_true(strncmp(doc, "<!DOCTYPE html>", 15) == 0);

    /* Exactly the three script elements of the page end, and only those
     * start: the data, Chart.js and report.js. */
    assert_int_equal(count_ci(doc, "</script"), 3);
    assert_int_equal(count_ci(doc, "<script"), 3);
    assert_int_equal(count_ci(doc, "</style"), 1);
    assert_null(strstr(doc, "<b>"));
    assert_null(strstr(doc, "@HN_"));

    /* The title is escaped text. */
    const char *t = strstr(doc, "<title>");
    assert_non_null(t);
    const char *te = strstr(t, "</title>");
    assert_non_null(te);
    char *title = strndup(t + 7, (size_t)(te - t - 7));
    assert_non_null(title);
    assert_null(strchr(title, '<'));
    assert_non_null(strstr(title, "http://&lt;b&gt;evil&lt;/b&gt;/&quot;x&quot;"));
    free(title);

    json_t *d = parse_data(doc);
    json_t *entries = json_object_get(d, "entries");
    assert_int_equal(json_array_size(entries), s->n_entries);
    for (size_t i = 0; i < N_HOSTILE; i++) {
        json_t *e = json_array_get(entries, sp.n_entries + i);
        assert_string_equal(jget_str(e, "name"), hostile[i]);
        json_t *er = json_array_get(json_object_get(d, "errors"), i + 1);
        assert_string_equal(jget_str(er, "name"), hostile[i]);
        assert_string_equal(jget_str(er, "message"), hostile[i]);
        json_t *x = json_array_get(json_object_get(d, "exceptions"), i);
        assert_string_equal(jget_str(x, "message"), hostile[i]);
    }
    json_t *r1 = json_array_get(json_object_get(d, "ratios"), 1);
    assert_string_equal(jget_str(r1, "user_type"), hostile[3]);
    json_t *th = json_object_get(d, "thresholds");
    assert_int_equal(json_array_size(th), 3);
    assert_string_equal(jget_str(json_array_get(th, 1), "expr"), "GET </script><b>x:p99<1s");
    assert_string_equal(jget_str(json_array_get(th, 1), "verdict"), "fail");
    assert_true(json_is_null(json_object_get(json_array_get(th, 2), "value")));
    assert_false(json_is_true(json_object_get(d, "thresholds_passed")));
    json_t *meta = json_object_get(json_object_get(d, "report"), "meta");
    assert_string_equal(jget_str(meta, "host"), "http://<b>evil</b>/\"x\"");
    json_decref(d);
    free(doc);
    free(h);
    hn_snapshot_release(s);
}

/* A master's report names its workers; their ids and hosts are the workers'
 * own words and must stay text. */
static void test_distributed_workers_escaped(void **state)
{
    (void)state;
    struct spec sp = {.n_entries = 3, .stopped = true, .active_s = 60, .distributed = true};
    struct hn_snapshot *s = make_snapshot(&sp);
    struct hn_history_point *h = make_history(60, s->start_time);
    char *doc = hn_report_html(s, h, 60, &test_meta, NULL);
    assert_non_null(doc);

    /* The hostile id ends no element and starts none. */
    assert_int_equal(count_ci(doc, "</script"), 3);
    assert_int_equal(count_ci(doc, "<script"), 3);
    assert_int_equal(count_ci(doc, "<!--"), 0);
    assert_null(strstr(doc, "<b>"));
    assert_null(strstr(doc, "<img"));
    char *block = data_block(doc);
    assert_non_null(strstr(block, "\\u003c/script\\u003e\\u003cb\\u003ex"));
    free(block);

    json_t *d = parse_data(doc);
    json_t *ws = json_object_get(d, "workers");
    assert_true(json_is_array(ws));
    assert_int_equal(json_array_size(ws), N_WORKERS);
    for (size_t i = 0; i < N_WORKERS; i++) {
        json_t *w = json_array_get(ws, i);
        assert_string_equal(jget_str(w, "id"), worker_ids[i]);
        assert_string_equal(jget_str(w, "host"), worker_hosts[i]);
        assert_string_equal(jget_str(w, "state"), worker_states[i]);
    }
    /* The same objects as the live snapshot's. */
    json_t *snap = hn_snapshot_to_json(s);
    assert_non_null(snap);
    assert_same(ws, json_object_get(snap, "workers"), "workers");
    json_t *w1 = json_array_get(ws, 1);
    assert_int_equal(json_integer_value(json_object_get(w1, "users")), 25);
    assert_int_equal(json_integer_value(json_object_get(w1, "threads")), 2);
    assert_true(json_real_value(json_object_get(w1, "cpu_percent")) == 187.25);
    assert_int_equal(json_integer_value(json_object_get(w1, "rss_bytes")), 64 << 20);
    json_decref(snap);
    json_decref(d);
    free(doc);
    hn_snapshot_release(s);

    /* Not distributed: no "workers" key at all. */
    sp.distributed = false;
    s = make_snapshot(&sp);
    doc = hn_report_html(s, h, 60, &test_meta, NULL);
    assert_non_null(doc);
    d = parse_data(doc);
    assert_null(json_object_get(d, "workers"));
    json_decref(d);
    free(doc);
    free(h);
    hn_snapshot_release(s);
}

/* Every object the report shows is the one /api/stats and /report.json send. */
static void test_numbers_match_snapshot_json(void **state)
{
    (void)state;
    struct spec sp = {.n_entries = 20, .hostile = true, .stopped = true, .active_s = 300};
    struct hn_snapshot *s = make_snapshot(&sp);
    struct hn_history_point *h = make_history(300, s->start_time);
    char *doc = hn_report_html(s, h, 300, &test_meta, NULL);
    assert_non_null(doc);
    json_t *d = parse_data(doc);
    json_t *snap = hn_snapshot_to_json(s);
    assert_non_null(snap);
    static const char *const keys[] = {"entries", "total", "errors", "exceptions", "ratios",
                                       "fail_ratio"};
    for (size_t i = 0; i < sizeof keys / sizeof keys[0]; i++)
        assert_same(json_object_get(d, keys[i]), json_object_get(snap, keys[i]), keys[i]);
    /* Short histories are not touched. */
    json_t *hist = hn_history_to_json(h, 300);
    assert_same(json_object_get(d, "history"), hist, "history");
    json_decref(hist);

    json_t *res = hn_result_to_json(s, h, 300, test_meta.plugin, test_meta.version);
    json_object_del(d, "report");
    assert_same(d, res, "result document");
    json_decref(res);
    json_decref(snap);
    json_decref(d);
    free(doc);
    free(h);
    hn_snapshot_release(s);
}

static void test_meta_fallbacks(void **state)
{
    (void)state;
    struct spec sp = {.n_entries = 2, .stopped = false, .active_s = 30};
    struct hn_snapshot *s = make_snapshot(&sp);
    s->target_users = 80;
    /* No meta at all: everything from the snapshot. */
    char *doc = hn_report_html(s, NULL, 5, NULL, NULL);
    assert_non_null(doc);
    json_t *d = parse_data(doc);
    json_t *rep = json_object_get(d, "report");
    json_t *m = json_object_get(rep, "meta");
    assert_true(json_is_null(json_object_get(m, "version")));
    assert_true(json_is_null(json_object_get(m, "plugin")));
    assert_true(json_is_null(json_object_get(m, "stop_reason")));
    assert_string_equal(jget_str(m, "host"), "http://127.0.0.1:8089");
    assert_int_equal(json_integer_value(json_object_get(m, "users")), 80);
    assert_true(json_real_value(json_object_get(m, "start_time")) == s->start_time);
    assert_true(json_real_value(json_object_get(m, "end_time")) == 0.0);
    assert_true(json_real_value(json_object_get(m, "duration_s")) == 30.0);
    assert_int_equal(json_array_size(json_object_get(d, "history")), 0);
    assert_int_equal(json_integer_value(json_object_get(rep, "history_points")), 0);
    json_decref(d);
    free(doc);

    /* The caller's values win; invalid UTF-8 becomes U+FFFD, not a gap. */
    struct hn_report_meta mm = {.version = "9.9", .plugin = "/tmp/bad\xFF.so", .host = "h",
                                .users = 7, .spawn_rate = 3.5, .start_time = 100,
                                .end_time = 200, .duration_s = 99, .stop_reason = "SIGINT"};
    doc = hn_report_html(s, NULL, 0, &mm, NULL);
    assert_non_null(doc);
    d = parse_data(doc);
    m = json_object_get(json_object_get(d, "report"), "meta");
    assert_string_equal(jget_str(m, "version"), "9.9");
    assert_string_equal(jget_str(m, "plugin"), "/tmp/bad\xEF\xBF\xBD.so");
    assert_string_equal(jget_str(m, "host"), "h");
    assert_string_equal(jget_str(m, "stop_reason"), "SIGINT");
    assert_int_equal(json_integer_value(json_object_get(m, "users")), 7);
    assert_true(json_real_value(json_object_get(m, "spawn_rate")) == 3.5);
    assert_true(json_real_value(json_object_get(m, "end_time")) == 200.0);
    assert_true(json_real_value(json_object_get(m, "duration_s")) == 99.0);
    assert_string_equal(jget_str(d, "hornet_version"), "9.9");
    json_decref(d);
    free(doc);

    /* Nothing to report on is an error, not a crash. */
    assert_null(hn_report_html(NULL, NULL, 0, NULL, NULL));
    hn_snapshot_release(s);
}

/* 3,600 seconds become at most HN_REPORT_MAX_POINTS points that keep the
 * peaks and end exactly where the run ended. */
static void test_long_history_downsampled_with_peaks(void **state)
{
    (void)state;
    struct spec sp = {.n_entries = 5, .stopped = true, .active_s = 3600};
    struct hn_snapshot *s = make_snapshot(&sp);
    size_t n = 3600;
    struct hn_history_point *h = make_history(n, s->start_time);
    h[1234].rps = 99999.5;
    h[2001].fail_s = 777.25;
    h[3001].users = 5000;
    char *doc = hn_report_html(s, h, n, &test_meta, NULL);
    assert_non_null(doc);
    json_t *d = parse_data(doc);
    json_t *hist = json_object_get(d, "history");
    size_t m = json_array_size(hist);
    assert_true(m > 0 && m <= HN_REPORT_MAX_POINTS);
    json_t *rep = json_object_get(d, "report");
    assert_int_equal(json_integer_value(json_object_get(rep, "history_points")), 3600);
    assert_int_equal(json_integer_value(json_object_get(rep, "history_bucket")), 4);
    assert_int_equal(m, 900);

    double max_rps = 0, max_fail = 0, max_p99 = 0, prev_t = 0;
    json_int_t max_users = 0;
    for (size_t i = 0; i < m; i++) {
        json_t *p = json_array_get(hist, i);
        double t = json_real_value(json_object_get(p, "time"));
        assert_true(t > prev_t);
        prev_t = t;
        max_rps = fmax(max_rps, json_real_value(json_object_get(p, "rps")));
        max_fail = fmax(max_fail, json_real_value(json_object_get(p, "fail_s")));
        max_p99 = fmax(max_p99, json_real_value(json_object_get(p, "p99_ms")));
        json_int_t u = json_integer_value(json_object_get(p, "users"));
        max_users = u > max_users ? u : max_users;
    }
    assert_true(max_rps == 99999.5);
    assert_true(max_fail == 777.25);
    assert_true(max_p99 == 950.0);
    assert_int_equal(max_users, 5000);
    json_t *last = json_array_get(hist, m - 1);
    assert_true(json_real_value(json_object_get(last, "time")) == h[n - 1].time);
    assert_int_equal(json_integer_value(json_object_get(last, "requests")), h[n - 1].requests);
    assert_int_equal(json_integer_value(json_object_get(last, "failures")), h[n - 1].failures);

    /* A history that does not divide evenly: 1001 points, buckets of 2. */
    free(doc);
    json_decref(d);
    doc = hn_report_html(s, h, 1001, &test_meta, NULL);
    assert_non_null(doc);
    d = parse_data(doc);
    hist = json_object_get(d, "history");
    assert_int_equal(json_array_size(hist), 501);
    last = json_array_get(hist, 500);
    assert_true(json_real_value(json_object_get(last, "time")) == h[1000].time);
    json_decref(d);
    free(doc);
    free(h);
    hn_snapshot_release(s);
}

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* One hour, 200 endpoints: a document of a few hundred KB, made quickly. */
static void test_one_hour_200_endpoints_size(void **state)
{
    (void)state;
    struct spec sp = {.n_entries = 200, .hostile = false, .stopped = true, .active_s = 3600};
    struct hn_snapshot *s = make_snapshot(&sp);
    struct hn_history_point *h = make_history(3600, s->start_time);
    double t0 = now_s();
    size_t len = 0;
    char *doc = hn_report_html(s, h, 3600, &test_meta, &len);
    double dt = now_s() - t0;
    assert_non_null(doc);
    printf("# 1 h / 200 endpoints: %zu bytes (%.0f KiB), made in %.1f ms\n", len,
           (double)len / 1024.0, dt * 1e3);
    assert_true(len < 3u * 1024 * 1024);
    json_t *d = parse_data(doc);
    assert_int_equal(json_array_size(json_object_get(d, "entries")), 200);
    json_decref(d);

    const char *dir = getenv("HN_BUILD_DIR");
    if (dir != NULL && *dir != '\0') {
        char path[4096];
        char err[256];
        snprintf(path, sizeof path, "%s/report-1h.html", dir);
        assert_int_equal(hn_report_html_write(path, s, h, 3600, &test_meta, err, sizeof err), 0);
        printf("# wrote %s\n", path);
    }
    free(doc);
    free(h);
    hn_snapshot_release(s);
}

/* The document the browser test opens when no real run can make one. */
static void test_write_sample(void **state)
{
    (void)state;
    const char *dir = getenv("HN_BUILD_DIR");
    if (dir == NULL || *dir == '\0')
        skip();
    struct spec sp = {.n_entries = 8, .hostile = true, .stopped = true, .active_s = 300,
                      .distributed = true};
    struct hn_snapshot *s = make_snapshot(&sp);
    struct hn_history_point *h = make_history(300, s->start_time);
    char path[4096];
    char err[256];
    snprintf(path, sizeof path, "%s/report-sample.html", dir);
    assert_int_equal(hn_report_html_write(path, s, h, 300, &test_meta, err, sizeof err), 0);
    printf("# wrote %s\n", path);
    free(h);
    hn_snapshot_release(s);
}

static size_t count_dir(const char *dir)
{
    DIR *d = opendir(dir);
    assert_non_null(d);
    size_t n = 0;
    struct dirent *e;
    while ((e = readdir(d)) != NULL)
        if (strcmp(e->d_name, ".") != 0 && strcmp(e->d_name, "..") != 0)
            n++;
    closedir(d);
    return n;
}

static char *slurp(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    assert_non_null(f);
    assert_int_equal(fseek(f, 0, SEEK_END), 0);
    long n = ftell(f);
    assert_true(n > 0);
    rewind(f);
    char *p = malloc((size_t)n + 1);
    assert_non_null(p);
    assert_int_equal(fread(p, 1, (size_t)n, f), (size_t)n);
    p[n] = '\0';
    fclose(f);
    *len = (size_t)n;
    return p;
}

static void test_write_file(void **state)
{
    (void)state;
    char tmpl[] = "/tmp/hn-report-html-XXXXXX";
    char *base = mkdtemp(tmpl);
    assert_non_null(base);
    struct spec sp = {.n_entries = 3, .stopped = true, .active_s = 10};
    struct hn_snapshot *s = make_snapshot(&sp);
    struct hn_history_point *h = make_history(10, s->start_time);
    char path[512], dir[512], err[256];

    /* Parent directories are created; only the report is left behind. */
    snprintf(path, sizeof path, "%s/a/b/report.html", base);
    snprintf(dir, sizeof dir, "%s/a/b", base);
    err[0] = '\0';
    assert_int_equal(hn_report_html_write(path, s, h, 10, &test_meta, err, sizeof err), 0);
    size_t len = 0;
    char *text = slurp(path, &len);
    assert_true(strncmp(text, "<!DOCTYPE html>", 15) == 0);
    assert_int_equal(strlen(text), len);
    json_t *d = parse_data(text);
    assert_int_equal(json_array_size(json_object_get(d, "entries")), 3);
    json_decref(d);
    free(text);
    assert_int_equal(count_dir(dir), 1);
    /* Overwriting works too. */
    assert_int_equal(hn_report_html_write(path, s, h, 10, &test_meta, err, sizeof err), 0);
    assert_int_equal(count_dir(dir), 1);

    /* Failures come back as one line naming the path. */
    assert_int_equal(hn_report_html_write("", s, h, 10, NULL, err, sizeof err), -1);
    assert_non_null(strstr(err, "no file name"));
    snprintf(path, sizeof path, "%s/a/b/report.html/x.html", base);
    assert_int_equal(hn_report_html_write(path, s, h, 10, NULL, err, sizeof err), -1);
    assert_non_null(strstr(err, "report.html"));
    assert_null(strchr(err, '\n'));
    assert_int_equal(hn_report_html_write(dir, s, h, 10, NULL, err, sizeof err), -1);
    assert_non_null(strstr(err, dir));
    assert_int_equal(count_dir(dir), 1);
    assert_int_equal(hn_report_html_write(path, NULL, h, 10, NULL, err, sizeof err), -1);
    assert_non_null(strstr(err, "no run data"));

    snprintf(path, sizeof path, "%s/a/b/report.html", base);
    unlink(path);
    rmdir(dir);
    snprintf(dir, sizeof dir, "%s/a", base);
    rmdir(dir);
    rmdir(base);
    free(h);
    hn_snapshot_release(s);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_hostile_names_intact_and_inert),
        cmocka_unit_test(test_distributed_workers_escaped),
        cmocka_unit_test(test_numbers_match_snapshot_json),
        cmocka_unit_test(test_meta_fallbacks),
        cmocka_unit_test(test_long_history_downsampled_with_peaks),
        cmocka_unit_test(test_one_hour_200_endpoints_size),
        cmocka_unit_test(test_write_sample),
        cmocka_unit_test(test_write_file),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
