/*
 * test_snapshot.c: building snapshots from stats tables: sorting, the
 * Aggregated row, rates, percentiles, deep copies and refcounting.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "hist.h"
#include "snapshot.h"
#include "stats.h"

#define assert_near(a, b) assert_true(fabs((double)(a) - (double)(b)) <= 1e-9 * (1 + fabs(b)))
/* Within the histogram's bucket error. */
#define assert_approx(a, b) assert_true(fabs((double)(a) - (double)(b)) <= 0.005 * fabs(b))

static void test_constants(void **state)
{
    assert_true(hn_report_quantiles[0] == 0.50);
    assert_true(hn_report_quantiles[HN_NPCT - 1] == 1.0);
    for (int i = 1; i < HN_NPCT; i++)
        assert_true(hn_report_quantiles[i] > hn_report_quantiles[i - 1]);
    assert_string_equal(hn_report_quantile_names[0], "50%");
    assert_string_equal(hn_report_quantile_names[8], "99.9%");
    assert_string_equal(hn_report_quantile_names[9], "99.99%");
    assert_string_equal(hn_report_quantile_names[10], "100%");
    assert_string_equal(hn_state_name(HN_STATE_READY), "ready");
    assert_string_equal(hn_state_name(HN_STATE_SPAWNING), "spawning");
    assert_string_equal(hn_state_name(HN_STATE_RUNNING), "running");
    assert_string_equal(hn_state_name(HN_STATE_PAUSED), "paused");
    assert_string_equal(hn_state_name(HN_STATE_STOPPING), "stopping");
    assert_string_equal(hn_state_name(HN_STATE_STOPPED), "stopped");
    assert_string_equal(hn_state_name((enum hn_state)99), "unknown");
}

/* Entries in this insertion order: B/GET, A/POST, A/GET, sorted A/GET,
 * A/POST, B/GET. */
static void fill_stats(struct hn_stats *s)
{
    for (int i = 1; i <= 100; i++) /* 1..100 ms */
        hn_stats_record(s, "GET", "/b", (uint64_t)i * 1000, 1000, i % 10 ? NULL : "HTTP 500",
                        100.0 + i);
    hn_stats_record(s, "POST", "/a", 7000, 50, "timeout", 150.0);
    hn_stats_record(s, "GET", "/a", 2000, 10, NULL, 120.0);
    hn_stats_record(s, "GET", "/a", 4000, 30, NULL, 130.0);
    hn_stats_record(s, "GET", "/a", 4000, 0, "HTTP 404", 131.0);
    hn_stats_exception(s, "User", "browse", "rare", 100.0);
    for (int i = 0; i < 3; i++)
        hn_stats_exception(s, "User", "login", "often", 101.0 + i);
}

static void test_build(void **state)
{
    struct hn_stats s;
    hn_stats_init(&s);
    fill_stats(&s);

    /* Window counts follow cum->entries order (B/GET, A/POST, A/GET). */
    uint64_t win_req[3] = {40, 2, 6};
    uint64_t win_fail[3] = {4, 2, 1};
    struct hn_hist win;
    hn_hist_init(&win);
    for (int i = 1; i <= 200; i++)
        hn_hist_record(&win, (uint64_t)i * 500); /* 0.5..100 ms */

    struct hn_task_ratio tasks[2] = {{(char *)"browse", 0.75}, {(char *)"login", 0.25}};
    struct hn_ratio_view ratios[1] = {{(char *)"User", 10, 1.0, 2, tasks}};
    char host[] = "http://127.0.0.1:8089";
    char reason[] = "run time limit";

    struct hn_snapshot_input in;
    memset(&in, 0, sizeof(in));
    in.cum = &s;
    in.win_requests = win_req;
    in.win_failures = win_fail;
    in.window_s = 2.0;
    in.win_total = &win;
    in.seq = 7;
    in.state = HN_STATE_RUNNING;
    in.host = host;
    in.users = 10;
    in.target_users = 20;
    in.spawn_rate = 2.5;
    in.start_time = 100.0;
    in.now = 160.0;
    in.active_s = 50.0;
    in.run_time_s = 60.0;
    in.stop_reason = reason;
    in.ratios = ratios;
    in.n_ratios = 1;

    struct hn_snapshot *snap = hn_snapshot_build(&in);
    assert_non_null(snap);

    /* Nothing may point into the input: scribble over it and free it. */
    memset(host, 'x', sizeof(host) - 1);
    memset(reason, 'x', sizeof(reason) - 1);
    tasks[0].ratio = 0.5;
    hn_stats_cleanup(&s);
    hn_hist_cleanup(&win);
    memset(win_req, 0, sizeof(win_req));

    assert_int_equal(snap->refs, 1);
    assert_int_equal(snap->seq, 7);
    assert_int_equal(snap->state, HN_STATE_RUNNING);
    assert_string_equal(snap->host, "http://127.0.0.1:8089");
    assert_string_equal(snap->stop_reason, "run time limit");
    assert_int_equal(snap->users, 10);
    assert_int_equal(snap->target_users, 20);
    assert_true(snap->spawn_rate == 2.5);
    assert_true(snap->active_s == 50.0);
    assert_true(snap->run_time_s == 60.0);

    /* Sorted by (name, type). */
    assert_int_equal(snap->n_entries, 3);
    struct hn_entry_view *ag = &snap->entries[0], *ap = &snap->entries[1], *bg = &snap->entries[2];
    assert_string_equal(ag->name, "/a");
    assert_string_equal(ag->type, "GET");
    assert_string_equal(ap->name, "/a");
    assert_string_equal(ap->type, "POST");
    assert_string_equal(bg->name, "/b");
    assert_string_equal(bg->type, "GET");

    /* /b GET: 1..100 ms, 10 failures, 1000 bytes each. */
    assert_int_equal(bg->requests, 100);
    assert_int_equal(bg->failures, 10);
    assert_near(bg->avg_ms, 50.5);
    assert_near(bg->min_ms, 1.0);
    assert_near(bg->max_ms, 100.0);
    assert_approx(bg->median_ms, 50.0);
    assert_near(bg->median_ms, bg->pct_ms[0]);
    static const double exact_b[HN_NPCT] = {50, 66, 75, 80, 90, 95, 98, 99, 100, 100, 100};
    for (int i = 0; i < HN_NPCT; i++)
        assert_approx(bg->pct_ms[i], exact_b[i]);
    assert_near(bg->pct_ms[HN_NPCT - 1], 100.0);
    assert_near(bg->avg_bytes, 1000.0);
    assert_near(bg->total_rps, 2.0);
    assert_near(bg->total_fail_s, 0.2);
    assert_near(bg->current_rps, 20.0);
    assert_near(bg->current_fail_s, 2.0);
    assert_true(bg->cur_p50_ms == 0.0);

    /* /a GET: 2, 4, 4 ms. */
    assert_int_equal(ag->requests, 3);
    assert_int_equal(ag->failures, 1);
    assert_near(ag->avg_ms, 10.0 / 3.0);
    assert_near(ag->min_ms, 2.0);
    assert_near(ag->max_ms, 4.0);
    assert_approx(ag->median_ms, 4.0);
    assert_near(ag->avg_bytes, 40.0 / 3.0);
    assert_near(ag->current_rps, 3.0);
    assert_near(ag->current_fail_s, 0.5);
    assert_near(ap->current_rps, 1.0);
    assert_near(ap->current_fail_s, 1.0);
    assert_near(ap->median_ms, 7.0);

    /* Aggregated. */
    struct hn_entry_view *t = &snap->total;
    assert_string_equal(t->type, "");
    assert_string_equal(t->name, "Aggregated");
    assert_int_equal(t->requests, 104);
    assert_int_equal(t->failures, 12);
    assert_near(t->min_ms, 1.0);
    assert_near(t->max_ms, 100.0);
    assert_near(t->avg_ms, (5050.0 + 7 + 2 + 4 + 4) / 104.0);
    assert_near(t->avg_bytes, (100000.0 + 90) / 104.0);
    assert_near(t->total_rps, 104.0 / 50.0);
    assert_near(t->total_fail_s, 12.0 / 50.0);
    assert_near(t->current_rps, 48.0 / 2.0);
    assert_near(t->current_fail_s, 7.0 / 2.0);
    assert_approx(t->cur_p50_ms, 50.0);
    assert_approx(t->cur_p95_ms, 95.0);
    assert_approx(t->cur_p99_ms, 99.0);

    /* Errors by count, descending. */
    assert_int_equal(snap->n_errors, 3);
    assert_string_equal(snap->errors[0].message, "HTTP 500");
    assert_int_equal(snap->errors[0].count, 10);
    assert_true(snap->errors[0].first_seen == 110.0);
    assert_true(snap->errors[0].last_seen == 200.0);
    assert_int_equal(snap->errors[1].count, 1);
    assert_int_equal(snap->errors[2].count, 1);
    /* Ties in (name, type, message) order. */
    assert_string_equal(snap->errors[1].type, "GET");
    assert_string_equal(snap->errors[1].message, "HTTP 404");
    assert_string_equal(snap->errors[2].type, "POST");

    assert_int_equal(snap->n_exceptions, 2);
    assert_string_equal(snap->exceptions[0].message, "often");
    assert_int_equal(snap->exceptions[0].count, 3);
    assert_true(snap->exceptions[0].first_seen == 101.0);
    assert_true(snap->exceptions[0].last_seen == 103.0);
    assert_string_equal(snap->exceptions[1].task, "browse");

    assert_int_equal(snap->n_ratios, 1);
    assert_string_equal(snap->ratios[0].user_type, "User");
    assert_int_equal(snap->ratios[0].users, 10);
    assert_int_equal(snap->ratios[0].n_tasks, 2);
    assert_ptr_not_equal(snap->ratios[0].tasks, tasks);
    assert_string_equal(snap->ratios[0].tasks[1].task, "login");
    assert_true(snap->ratios[0].tasks[0].ratio == 0.75);

    /* Refcount: the snapshot survives until the last release (ASan checks
     * that it is then freed completely). */
    assert_ptr_equal(hn_snapshot_ref(snap), snap);
    assert_int_equal(snap->refs, 2);
    hn_snapshot_release(snap);
    assert_int_equal(snap->refs, 1);
    assert_string_equal(snap->entries[0].name, "/a");
    hn_snapshot_release(snap);
}

static void test_no_rates(void **state)
{
    struct hn_stats s;
    hn_stats_init(&s);
    fill_stats(&s);
    struct hn_snapshot_input in;
    memset(&in, 0, sizeof(in));
    in.cum = &s;
    /* No window yet, no active time, no window histogram or counts. */
    struct hn_snapshot *snap = hn_snapshot_build(&in);
    hn_stats_cleanup(&s);
    assert_non_null(snap);
    assert_string_equal(snap->host, "");
    assert_null(snap->stop_reason);
    assert_int_equal(snap->n_ratios, 0);
    for (size_t i = 0; i < snap->n_entries; i++) {
        assert_true(snap->entries[i].total_rps == 0.0);
        assert_true(snap->entries[i].current_rps == 0.0);
        assert_true(snap->entries[i].current_fail_s == 0.0);
    }
    assert_true(snap->total.total_rps == 0.0);
    assert_true(snap->total.total_fail_s == 0.0);
    assert_true(snap->total.current_rps == 0.0);
    assert_true(snap->total.cur_p50_ms == 0.0);
    assert_true(snap->total.cur_p99_ms == 0.0);
    assert_int_equal(snap->total.requests, 104);
    hn_snapshot_release(snap);
}

static void test_empty(void **state)
{
    struct hn_stats s;
    hn_stats_init(&s);
    struct hn_hist win;
    hn_hist_init(&win);
    struct hn_snapshot_input in;
    memset(&in, 0, sizeof(in));
    in.cum = &s;
    in.window_s = 10.0;
    in.active_s = 5.0;
    in.win_total = &win;
    in.state = HN_STATE_READY;
    struct hn_snapshot *snap = hn_snapshot_build(&in);
    assert_non_null(snap);
    assert_int_equal(snap->n_entries, 0);
    assert_int_equal(snap->n_errors, 0);
    assert_int_equal(snap->n_exceptions, 0);
    assert_string_equal(snap->total.name, "Aggregated");
    assert_int_equal(snap->total.requests, 0);
    assert_true(snap->total.min_ms == 0.0);
    assert_true(snap->total.max_ms == 0.0);
    assert_true(snap->total.avg_ms == 0.0);
    assert_true(snap->total.median_ms == 0.0);
    assert_true(snap->total.pct_ms[HN_NPCT - 1] == 0.0);
    assert_true(snap->total.avg_bytes == 0.0);
    assert_true(snap->total.total_rps == 0.0);
    assert_true(snap->total.cur_p95_ms == 0.0);
    hn_snapshot_release(snap);

    /* A missing stats table reads as empty; bad calls are harmless. */
    in.cum = NULL;
    snap = hn_snapshot_build(&in);
    assert_non_null(snap);
    assert_int_equal(snap->n_entries, 0);
    hn_snapshot_release(snap);
    assert_null(hn_snapshot_build(NULL));
    hn_snapshot_release(NULL);
    assert_null(hn_snapshot_ref(NULL));
    hn_hist_cleanup(&win);
    hn_stats_cleanup(&s);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_constants),
        cmocka_unit_test(test_build),
        cmocka_unit_test(test_no_rates),
        cmocka_unit_test(test_empty),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
