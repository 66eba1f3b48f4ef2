/* session.c: the process around the runner; see session.h. */
#include "session.h"

#include <errno.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <jansson.h>

#include "compare.h"
#include "fsutil.h"
#include "log.h"
#include "report.h"
#include "report_html.h"
#include "capacity.h"
#include "runner.h"

struct ticker {
    const struct hn_session_config *cfg;
    FILE *history;            /* PREFIX_stats_history.csv, appended live */
    struct hn_snapshot *pending; /* latest snapshot of the second not yet written */
    double last_table;
};

/* Runs on the aggregator thread after every snapshot. */
static void on_tick(void *ud, struct hn_snapshot *s, int state_changed)
{
    struct ticker *t = ud;
    (void)state_changed;
    if (s->state == HN_STATE_READY)
        return;
    /* One history row per second, holding that second's last snapshot: a
     * row is written once the next second has begun. */
    if (t->history != NULL) {
        if (t->pending != NULL && (long)t->pending->now != (long)s->now) {
            hn_csv_write_history_rows(t->history, t->pending, t->cfg->csv_full_history);
            fflush(t->history);
        }
        hn_snapshot_release(t->pending);
        t->pending = hn_snapshot_ref(s);
    }
    if (t->cfg->print_table && s->state != HN_STATE_STOPPED && s->now - t->last_table >= 2.0) {
        t->last_table = s->now;
        hn_console_table(stdout, s);
        fflush(stdout);
    }
}

static FILE *open_history(const char *prefix, char *err, size_t err_len)
{
    char path[4096];
    snprintf(path, sizeof path, "%s_stats_history.csv", prefix);
    /* Create the prefix's directory like the other CSV files do; a failure
     * shows up as fopen's error just below. */
    hn_mkdirs_parent(path, 0777, NULL, 0);
    FILE *f = fopen(path, "w");
    if (f == NULL) {
        snprintf(err, err_len, "cannot write '%.400s': %s", path, strerror(errno));
        return NULL;
    }
    fprintf(f, "%s\r\n", hn_csv_history_header);
    return f;
}

/* The run compared with --baseline, or NULL. */
static json_t *compare_with_baseline(const struct hn_snapshot *s,
                                     const struct hn_session_config *cfg)
{
    if (cfg->baseline == NULL)
        return NULL;
    json_t *doc = hn_result_to_json(s, NULL, 0, cfg->plugin_path, HN_VERSION);
    json_t *cmp = doc ? hn_compare_results(cfg->baseline, doc, cfg->tolerance) : NULL;
    json_decref(doc);
    return cmp;
}

static int write_json(const char *path, const struct hn_snapshot *s,
                      const struct hn_session_config *cfg, struct hn_runner *r,
                      json_t *comparison)
{
    size_t n = 0;
    struct hn_history_point *h = hn_runner_history(r, &n);
    json_t *doc = hn_result_to_json(s, h, n, cfg->plugin_path, HN_VERSION);
    free(h);
    if (doc != NULL && comparison != NULL)
        json_object_set(doc, "comparison", comparison);
    int rc = doc ? json_dump_file(doc, path, JSON_INDENT(2) | JSON_ENSURE_ASCII) : -1;
    json_decref(doc);
    if (rc != 0)
        fprintf(stderr, "hornet: cannot write '%s': %s\n", path, strerror(errno));
    return rc;
}

static double mono_s(void)
{
    struct timespec now;
    clock_gettime(CLOCK_MONOTONIC, &now);
    return (double)now.tv_sec + (double)now.tv_nsec / 1e9;
}

/* Distributed master: waits for --expect-workers before starting. Returns
 * 0, 1 on a signal, or 2 when the wait timed out. */
static int wait_for_workers(const struct hn_session_config *cfg)
{
    double start = mono_s(), last_log = 0;
    for (;;) {
        int ready = cfg->ready_workers(cfg->ready_ud);
        if (ready >= cfg->expect_workers)
            return 0;
        double now = mono_s();
        if (cfg->expect_workers_max_wait >= 0 && now - start >= cfg->expect_workers_max_wait) {
            fprintf(stderr, "hornet: only %d of %d workers connected within %g s "
                            "(--expect-workers-max-wait)\n",
                    ready, cfg->expect_workers, cfg->expect_workers_max_wait);
            return 2;
        }
        if (now - last_log >= 5) {
            hn_logf(HN_INFO, "waiting for workers: %d of %d ready", ready, cfg->expect_workers);
            last_log = now;
        }
        struct timespec wait = {0, 100 * 1000 * 1000};
        if (sigtimedwait(cfg->signals, NULL, &wait) > 0)
            return 1;
    }
}

int hn_session_run(const struct hn_session_config *cfg)
{
    char err[512] = "";
    struct ticker t = {.cfg = cfg};
    if (cfg->csv_prefix != NULL) {
        t.history = open_history(cfg->csv_prefix, err, sizeof err);
        if (t.history == NULL) {
            fprintf(stderr, "hornet: %s\n", err);
            return 2;
        }
    }
    hn_runner_subscribe(cfg->runner, on_tick, &t);

    int waited = cfg->start_now && cfg->expect_workers > 0 && cfg->ready_workers
                     ? wait_for_workers(cfg)
                     : 0;
    if (waited != 0) {
        hn_runner_unsubscribe(cfg->runner, on_tick, &t);
        if (t.history)
            fclose(t.history);
        return waited == 1 ? 0 : 2;
    }
    struct hn_capacity_plan plan = {
        .open = cfg->arrival_rate > 0,
        .start = cfg->arrival_rate > 0 ? cfg->arrival_rate : cfg->users,
        .hold_s = cfg->capacity_hold,
    };
    plan.step = cfg->capacity_step > 0 ? cfg->capacity_step : plan.start;
    if (cfg->start_now &&
        (cfg->find_capacity
             ? hn_runner_start_capacity(cfg->runner, &plan, cfg->users, cfg->spawn_rate,
                                        cfg->host, cfg->run_time, err, sizeof err)
         : cfg->arrival_rate > 0
             ? hn_runner_start_open(cfg->runner, cfg->arrival_rate, cfg->users, cfg->stages,
                                    cfg->n_stages, cfg->host, cfg->run_time, err, sizeof err)
         : cfg->n_stages > 0
             ? hn_runner_start_stages(cfg->runner, cfg->stages, cfg->n_stages, cfg->host,
                                      cfg->run_time, err, sizeof err)
             : hn_runner_start(cfg->runner, cfg->users, cfg->spawn_rate, cfg->host,
                               cfg->run_time, err, sizeof err)) != 0) {
        fprintf(stderr, "hornet: cannot start: %s\n", err);
        hn_runner_unsubscribe(cfg->runner, on_tick, &t);
        hn_snapshot_release(t.pending);
        if (t.history)
            fclose(t.history);
        return 2;
    }

    int signals = 0;
    bool quitting = false;
    double stopped_at = -1;
    for (;;) {
        struct timespec wait = {0, 200 * 1000 * 1000};
        int sig = sigtimedwait(cfg->signals, NULL, &wait);
        enum hn_state st = hn_runner_state(cfg->runner);
        if (sig > 0) {
            if (++signals > 1) {
                hn_logf(HN_WARNING, "second signal: quitting without waiting for users");
                break;
            }
            quitting = true;
            if (st != HN_STATE_READY && st != HN_STATE_STOPPED && st != HN_STATE_STOPPING) {
                hn_logf(HN_INFO, "%s received: stopping (again to quit at once)",
                        sig == SIGINT ? "SIGINT" : "SIGTERM");
                char e[128];
                hn_runner_stop(cfg->runner, sig == SIGINT ? "interrupted (SIGINT)"
                                                          : "terminated (SIGTERM)", e, sizeof e);
                continue;
            }
        }
        if (st == HN_STATE_READY && quitting)
            break;
        if (st != HN_STATE_STOPPED) {
            stopped_at = -1;
            continue;
        }
        if (!hn_runner_wait_stopped(cfg->runner, 0))
            continue; /* the stopped snapshot is not published yet */
        if (cfg->exit_when_stopped || quitting)
            break;
        if (cfg->autoquit >= 0) {
            struct timespec now;
            clock_gettime(CLOCK_MONOTONIC, &now);
            double t_now = (double)now.tv_sec + (double)now.tv_nsec / 1e9;
            if (stopped_at < 0) {
                stopped_at = t_now;
                hn_logf(HN_INFO, "run stopped; quitting in %g s (--autoquit)", cfg->autoquit);
            }
            if (t_now - stopped_at >= cfg->autoquit)
                break;
        }
    }

    struct hn_snapshot *s = hn_runner_snapshot_now(cfg->runner);
    hn_runner_unsubscribe(cfg->runner, on_tick, &t);
    int code = 0;
    json_t *comparison = s->start_time > 0 ? compare_with_baseline(s, cfg) : NULL;
    if (s->start_time > 0) {
        hn_console_summary(stdout, s);
        hn_console_comparison(stdout, comparison);
        fflush(stdout);
    }
    if (t.history != NULL) {
        /* The final second's row holds the final totals. */
        if (t.pending != NULL && (long)t.pending->now != (long)s->now)
            hn_csv_write_history_rows(t.history, t.pending, cfg->csv_full_history);
        hn_csv_write_history_rows(t.history, s, cfg->csv_full_history);
        if (fclose(t.history) != 0)
            code = 2;
        t.history = NULL;
    }
    if (cfg->csv_prefix != NULL && hn_csv_write_files(cfg->csv_prefix, s, err, sizeof err) != 0) {
        fprintf(stderr, "hornet: %s\n", err);
        code = 2;
    }
    if (cfg->json_path != NULL && write_json(cfg->json_path, s, cfg, cfg->runner, comparison) != 0)
        code = 2;
    if (cfg->html_path != NULL) {
        size_t n = 0;
        struct hn_history_point *h = hn_runner_history(cfg->runner, &n);
        struct hn_report_meta m = {.version = HN_VERSION, .plugin = cfg->plugin_path,
                                   .users = cfg->users, .spawn_rate = cfg->spawn_rate,
                                   .comparison = comparison};
        if (hn_report_html_write(cfg->html_path, s, h, n, &m, err, sizeof err) != 0) {
            fprintf(stderr, "hornet: %s\n", err);
            code = 2;
        }
        free(h);
    }
    if (cfg->junit_path != NULL && hn_junit_write(cfg->junit_path, s, err, sizeof err) != 0) {
        fprintf(stderr, "hornet: %s\n", err);
        code = 2;
    }
    /* 2 (an output was lost) > 3 (the release gate failed) > 1 (failures). */
    bool ran = s->start_time > 0;
    if (s->capacity != NULL) {
        /* Breaking a threshold is how a capacity search ends: it failed
         * only when not even its first step held. */
        if (code == 0 && ran && !(s->capacity->held > 0))
            code = 3;
    } else {
        if (code == 0 && ran && !hn_thresholds_passed(s))
            code = 3;
        if (code == 0 && (s->total.failures > 0 || s->n_exceptions > 0))
            code = cfg->exit_code_on_error;
    }
    json_decref(comparison);
    hn_snapshot_release(t.pending);
    hn_snapshot_release(s);
    return code;
}
