/*
 * snapshot.c: building, sharing and freeing run snapshots.
 *
 * A snapshot owns every string and array it points to (nothing points back
 * into the stats tables it was built from), so it can outlive them and be
 * read from any thread while the aggregator goes on recording.
 */
#include "snapshot.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "capacity.h"
#include "hornet/hornet.h"
#include "params.h"
#include "hist.h"
#include "stats.h"

const double hn_report_quantiles[HN_NPCT] = {0.50, 0.66, 0.75,  0.80,   0.90, 0.95,
                                             0.98, 0.99, 0.999, 0.9999, 1.0};
const char *const hn_report_quantile_names[HN_NPCT] = {
    "50%", "66%", "75%", "80%", "90%", "95%", "98%", "99%", "99.9%", "99.99%", "100%"};

const double hn_default_le_s[] = {0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25,
                                   0.5,   1,      2.5,   5,    10,    30,    60};
const size_t hn_default_n_le = sizeof(hn_default_le_s) / sizeof(hn_default_le_s[0]);

static const double cur_quantiles[3] = {0.50, 0.95, 0.99};

const char *hn_state_name(enum hn_state s)
{
    switch (s) {
    case HN_STATE_READY:
        return "ready";
    case HN_STATE_SPAWNING:
        return "spawning";
    case HN_STATE_RUNNING:
        return "running";
    case HN_STATE_PAUSED:
        return "paused";
    case HN_STATE_STOPPING:
        return "stopping";
    case HN_STATE_STOPPED:
        return "stopped";
    }
    return "unknown";
}

const char *hn_verdict_name(enum hn_verdict v)
{
    switch (v) {
    case HN_VERDICT_PASS:
        return "pass";
    case HN_VERDICT_FAIL:
        return "fail";
    case HN_VERDICT_NO_DATA:
        break;
    }
    return "no data";
}

static void *xcalloc(size_t n, size_t size)
{
    void *p = calloc(n ? n : 1, size ? size : 1);
    if (!p) {
        fprintf(stderr, "hornet: out of memory (%s:%d)\n", __FILE__, __LINE__);
        abort();
    }
    return p;
}

/* Copies s, or "" when s is NULL: readers never see a NULL name. */
static char *dup_str(const char *s)
{
    if (!s)
        s = "";
    size_t n = strlen(s) + 1;
    char *d = xcalloc(n, 1);
    memcpy(d, s, n);
    return d;
}

static double per_s(uint64_t count, double seconds)
{
    return seconds > 0 ? (double)count / seconds : 0.0;
}

/* Fills the cumulative part of a view from an entry (type/name excluded). */
static void fill_view(struct hn_entry_view *v, const struct hn_stats_entry *e, double active_s)
{
    const struct hn_hist *h = &e->hist;
    v->requests = e->requests;
    v->failures = e->failures;
    if (h->count) {
        uint64_t pct[HN_NPCT];
        hn_hist_quantiles(h, hn_report_quantiles, HN_NPCT, pct);
        for (int i = 0; i < HN_NPCT; i++)
            v->pct_ms[i] = (double)pct[i] / 1000.0;
        v->median_ms = v->pct_ms[0];
        v->avg_ms = hn_hist_mean(h) / 1000.0;
        v->min_ms = (double)h->min / 1000.0;
        v->max_ms = (double)h->max / 1000.0;
        v->sum_ms = h->sum / 1000.0;
    }
    v->avg_bytes = e->requests ? (double)e->bytes / (double)e->requests : 0.0;
    v->total_rps = per_s(e->requests, active_s);
    v->total_fail_s = per_s(e->failures, active_s);
}

static int cmp_entry_view(const void *a, const void *b)
{
    const struct hn_entry_view *x = a, *y = b;
    int c = strcmp(x->name, y->name);
    return c ? c : strcmp(x->type, y->type);
}

/* Most frequent first; ties in a fixed order so output does not flicker. */
static int cmp_error_view(const void *a, const void *b)
{
    const struct hn_error_view *x = a, *y = b;
    if (x->count != y->count)
        return x->count > y->count ? -1 : 1;
    int c = strcmp(x->name, y->name);
    if (!c)
        c = strcmp(x->type, y->type);
    return c ? c : strcmp(x->message, y->message);
}

static int cmp_exception_view(const void *a, const void *b)
{
    const struct hn_exception_view *x = a, *y = b;
    if (x->count != y->count)
        return x->count > y->count ? -1 : 1;
    int c = strcmp(x->user_type, y->user_type);
    if (!c)
        c = strcmp(x->task, y->task);
    return c ? c : strcmp(x->message, y->message);
}

static void build_entries(struct hn_snapshot *snap, const struct hn_snapshot_input *in,
                          const struct hn_stats *cum)
{
    size_t n = cum ? cum->n_entries : 0;
    snap->n_entries = n;
    snap->n_le = in->le_s && in->n_le <= HN_LE_MAX ? in->n_le : 0;
    uint64_t le_us[HN_LE_MAX];
    for (size_t b = 0; b < snap->n_le; b++) {
        snap->le_s[b] = in->le_s[b];
        le_us[b] = (uint64_t)llround(in->le_s[b] * 1e6);
    }
    snap->entries = xcalloc(n, sizeof(*snap->entries));
    uint64_t win_req = 0, win_fail = 0;
    for (size_t i = 0; i < n; i++) {
        const struct hn_stats_entry *e = cum->entries[i];
        struct hn_entry_view *v = &snap->entries[i];
        v->type = dup_str(e->type);
        v->name = dup_str(e->name);
        fill_view(v, e, in->active_s);
        if (snap->n_le) {
            v->le_counts = xcalloc(snap->n_le, sizeof(*v->le_counts));
            hn_hist_count_le(&e->hist, le_us, snap->n_le, v->le_counts);
        }
        uint64_t wr = in->win_requests ? in->win_requests[i] : 0;
        uint64_t wf = in->win_failures ? in->win_failures[i] : 0;
        v->current_rps = per_s(wr, in->window_s);
        v->current_fail_s = per_s(wf, in->window_s);
        win_req += wr;
        win_fail += wf;
    }
    if (n > 1)
        qsort(snap->entries, n, sizeof(*snap->entries), cmp_entry_view);

    struct hn_stats_entry total;
    memset(&total, 0, sizeof(total));
    hn_hist_init(&total.hist);
    if (cum)
        hn_stats_total(cum, &total);
    struct hn_entry_view *t = &snap->total;
    t->type = dup_str("");
    t->name = dup_str("Aggregated");
    fill_view(t, &total, in->active_s);
    hn_hist_cleanup(&total.hist);
    t->current_rps = per_s(win_req, in->window_s);
    t->current_fail_s = per_s(win_fail, in->window_s);
    if (in->win_total && in->win_total->count) {
        uint64_t cur[3];
        hn_hist_quantiles(in->win_total, cur_quantiles, 3, cur);
        t->cur_p50_ms = (double)cur[0] / 1000.0;
        t->cur_p95_ms = (double)cur[1] / 1000.0;
        t->cur_p99_ms = (double)cur[2] / 1000.0;
    }
}

static void build_errors(struct hn_snapshot *snap, const struct hn_stats *cum)
{
    size_t n = cum ? cum->n_errors : 0;
    snap->n_errors = n;
    snap->errors = xcalloc(n, sizeof(*snap->errors));
    for (size_t i = 0; i < n; i++) {
        const struct hn_stats_error *e = cum->errors[i];
        struct hn_error_view *v = &snap->errors[i];
        v->type = dup_str(e->type);
        v->name = dup_str(e->name);
        v->message = dup_str(e->message);
        v->count = e->count;
        v->first_seen = e->first_seen;
        v->last_seen = e->last_seen;
    }
    if (n > 1)
        qsort(snap->errors, n, sizeof(*snap->errors), cmp_error_view);

    n = cum ? cum->n_exceptions : 0;
    snap->n_exceptions = n;
    snap->exceptions = xcalloc(n, sizeof(*snap->exceptions));
    for (size_t i = 0; i < n; i++) {
        const struct hn_stats_exception *e = cum->exceptions[i];
        struct hn_exception_view *v = &snap->exceptions[i];
        v->user_type = dup_str(e->user_type);
        v->task = dup_str(e->task);
        v->message = dup_str(e->message);
        v->count = e->count;
        v->first_seen = e->first_seen;
        v->last_seen = e->last_seen;
    }
    if (n > 1)
        qsort(snap->exceptions, n, sizeof(*snap->exceptions), cmp_exception_view);
}

static void build_ratios(struct hn_snapshot *snap, const struct hn_snapshot_input *in)
{
    size_t n = in->ratios ? in->n_ratios : 0;
    snap->n_ratios = n;
    snap->ratios = xcalloc(n, sizeof(*snap->ratios));
    for (size_t i = 0; i < n; i++) {
        const struct hn_ratio_view *r = &in->ratios[i];
        struct hn_ratio_view *v = &snap->ratios[i];
        v->user_type = dup_str(r->user_type);
        v->users = r->users;
        v->ratio = r->ratio;
        v->n_tasks = r->tasks ? r->n_tasks : 0;
        v->tasks = xcalloc(v->n_tasks, sizeof(*v->tasks));
        for (size_t k = 0; k < v->n_tasks; k++) {
            v->tasks[k].task = dup_str(r->tasks[k].task);
            v->tasks[k].ratio = r->tasks[k].ratio;
        }
    }
}

struct hn_snapshot *hn_snapshot_build(const struct hn_snapshot_input *in)
{
    if (!in)
        return NULL;
    struct hn_snapshot *snap = xcalloc(1, sizeof(*snap));
    snap->refs = 1;
    snap->seq = in->seq;
    snap->state = in->state;
    snap->host = dup_str(in->host);
    snap->users = in->users;
    snap->target_users = in->target_users;
    snap->spawn_rate = in->spawn_rate;
    snap->start_time = in->start_time;
    snap->end_time = in->end_time;
    snap->now = in->now;
    snap->active_s = in->active_s;
    snap->run_time_s = in->run_time_s;
    snap->stop_reason = in->stop_reason ? dup_str(in->stop_reason) : NULL;
    build_entries(snap, in, in->cum);
    build_errors(snap, in->cum);
    build_ratios(snap, in);
    snap->distributed = in->distributed;
    snap->n_workers = in->workers ? in->n_workers : 0;
    snap->workers = xcalloc(snap->n_workers ? snap->n_workers : 1, sizeof(*snap->workers));
    for (size_t i = 0; i < snap->n_workers; i++) {
        snap->workers[i] = in->workers[i];
        snap->workers[i].id = dup_str(in->workers[i].id);
        snap->workers[i].host = dup_str(in->workers[i].host);
        snap->workers[i].state = dup_str(in->workers[i].state);
    }
    snap->n_stages = in->stages ? in->n_stages : 0;
    snap->stages = NULL;
    if (snap->n_stages > 0) {
        snap->stages = xcalloc(snap->n_stages, sizeof(*snap->stages));
        memcpy(snap->stages, in->stages, snap->n_stages * sizeof(*snap->stages));
    }
    snap->stage = snap->n_stages > 0 ? in->stage : -1;
    snap->shape = in->shape;
    snap->capacity = in->capacity ? hn_capacity_view(in->capacity) : NULL;
    snap->n_params = in->params ? in->params->n : 0;
    snap->params = snap->n_params ? xcalloc(snap->n_params, sizeof(*snap->params)) : NULL;
    for (size_t i = 0; i < snap->n_params; i++) {
        snap->params[i].name = dup_str(in->params->decl[i].name);
        snap->params[i].value = dup_str(hn_params_shown(in->params, i));
        snap->params[i].type = hn_param_type_name(in->params->decl[i].type);
        snap->params[i].secret = (in->params->decl[i].flags & HN_PARAM_SECRET) != 0;
    }
    snap->loop_lag_ms = in->loop_lag_ms;
    snap->worker_cpu_percent = in->worker_cpu_percent;
    snap->max_loop_lag_ms = in->max_loop_lag_ms;
    snap->max_worker_cpu_percent = in->max_worker_cpu_percent;
    snap->overloaded_s = in->overloaded_s;
    snap->overloaded = in->overloaded && in->state != HN_STATE_STOPPED &&
                       in->state != HN_STATE_READY;
    if (in->overloaded_s > 0) {
        char text[400];
        snprintf(text, sizeof text,
                 "hornet itself was the bottleneck for %.0f s of the run: a worker thread at up to "
                 "%.0f%% CPU, its timers firing up to %.1f ms late (added to the latencies "
                 "measured then); use more --threads or worker processes",
                 in->overloaded_s, in->max_worker_cpu_percent, in->max_loop_lag_ms);
        snap->loadgen_warning = dup_str(text);
    }
    if (in->capacity != NULL && snap->capacity == NULL)
        abort(); /* as xcalloc */
    snap->open = in->open;
    snap->arrival_rate = in->arrival_rate;
    snap->iterations = in->iterations;
    snap->achieved_rate = in->arrivals_s > 0 ? (double)in->iterations / in->arrivals_s : 0;
    snap->dropped_iterations = in->dropped_iterations;
    if (in->cum != NULL && in->cum->start_lag.count > 0) {
        static const double lag_q[3] = {0.5, 0.95, 1.0};
        uint64_t lag[3];
        hn_hist_quantiles(&in->cum->start_lag, lag_q, 3, lag);
        snap->start_lag_p50_ms = (double)lag[0] / 1000.0;
        snap->start_lag_p95_ms = (double)lag[1] / 1000.0;
        snap->start_lag_max_ms = (double)lag[2] / 1000.0;
    }
    return snap;
}

void hn_worker_views_free(struct hn_worker_view *v, size_t n)
{
    for (size_t i = 0; v && i < n; i++) {
        free(v[i].id);
        free(v[i].host);
        free(v[i].state);
    }
    free(v);
}

struct hn_snapshot *hn_snapshot_ref(struct hn_snapshot *s)
{
    if (s)
        __atomic_add_fetch(&s->refs, 1, __ATOMIC_RELAXED);
    return s;
}

static void free_view(struct hn_entry_view *v)
{
    free(v->type);
    free(v->name);
    free(v->le_counts);
}

void hn_snapshot_release(struct hn_snapshot *s)
{
    if (!s)
        return;
    if (__atomic_sub_fetch(&s->refs, 1, __ATOMIC_ACQ_REL) != 0)
        return;
    for (size_t i = 0; i < s->n_entries; i++)
        free_view(&s->entries[i]);
    free(s->entries);
    free_view(&s->total);
    for (size_t i = 0; i < s->n_errors; i++) {
        free(s->errors[i].type);
        free(s->errors[i].name);
        free(s->errors[i].message);
    }
    free(s->errors);
    for (size_t i = 0; i < s->n_exceptions; i++) {
        free(s->exceptions[i].user_type);
        free(s->exceptions[i].task);
        free(s->exceptions[i].message);
    }
    free(s->exceptions);
    for (size_t i = 0; i < s->n_ratios; i++) {
        free(s->ratios[i].user_type);
        for (size_t k = 0; k < s->ratios[i].n_tasks; k++)
            free(s->ratios[i].tasks[k].task);
        free(s->ratios[i].tasks);
    }
    free(s->ratios);
    hn_worker_views_free(s->workers, s->n_workers);
    hn_capacity_view_free(s->capacity);
    free(s->loadgen_warning);
    for (size_t i = 0; i < s->n_params; i++) {
        free(s->params[i].name);
        free(s->params[i].value);
    }
    free(s->params);
    for (size_t i = 0; i < s->n_thresholds; i++) {
        free(s->thresholds[i].expr);
        free(s->thresholds[i].metric);
    }
    free(s->thresholds);
    free(s->stages);
    free(s->host);
    free(s->stop_reason);
    free(s);
}
