/*
 * json.c: the snapshot as JSON (what /api/stats and the live push send),
 * the history, and the full result document (docs/json-result.md).
 */
#include "report.h"

#include <limits.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "format.h"
#include "snapshot.h"
#include "textutil.h"

/* JSON keys of the percentile object, in hn_report_quantiles order. */
static const char *const pct_keys[HN_NPCT] = {"50", "66", "75",   "80",    "90", "95",
                                              "98", "99", "99.9", "99.99", "100"};

static json_t *jreal(double v)
{
    return json_real(hn_finite_or_zero(v));
}

static json_t *jcount(uint64_t v)
{
    return json_integer(v > (uint64_t)LLONG_MAX ? LLONG_MAX : (json_int_t)v);
}

static void put(json_t *o, const char *key, json_t *v)
{
    /* json_object_set_new() takes v even on failure, and ignores NULL. */
    json_object_set_new(o, key, v);
}

static json_t *entry_json(const struct hn_entry_view *e, bool total)
{
    json_t *o = json_object();
    if (o == NULL)
        return NULL;
    bool any = e->requests > 0;
    put(o, "type", hn_json_text(total && e->type == NULL ? "" : e->type));
    put(o, "name", hn_json_text(total && e->name == NULL ? "Aggregated" : e->name));
    put(o, "requests", jcount(e->requests));
    put(o, "failures", jcount(e->failures));
    put(o, "avg_ms", jreal(any ? e->avg_ms : 0.0));
    put(o, "min_ms", jreal(any ? e->min_ms : 0.0));
    put(o, "max_ms", jreal(any ? e->max_ms : 0.0));
    put(o, "median_ms", jreal(any ? e->median_ms : 0.0));
    put(o, "avg_bytes", jreal(any ? e->avg_bytes : 0.0));
    put(o, "total_rps", jreal(e->total_rps));
    put(o, "total_fail_s", jreal(e->total_fail_s));
    put(o, "current_rps", jreal(e->current_rps));
    put(o, "current_fail_s", jreal(e->current_fail_s));
    if (total) {
        /* The 10 s window's percentiles are kept for the aggregate only
         * (the live charts); per entry there are the cumulative ones. */
        put(o, "cur_p50_ms", jreal(e->cur_p50_ms));
        put(o, "cur_p95_ms", jreal(e->cur_p95_ms));
        put(o, "cur_p99_ms", jreal(e->cur_p99_ms));
    }
    put(o, "fail_ratio", jreal(hn_fail_ratio(e->requests, e->failures)));
    json_t *pct = json_object();
    if (pct != NULL)
        for (int i = 0; i < HN_NPCT; i++)
            put(pct, pct_keys[i], any ? jreal(e->pct_ms[i]) : json_null());
    put(o, "percentiles", pct);
    return o;
}

static json_t *entries_json(const struct hn_snapshot *s)
{
    json_t *a = json_array();
    size_t n = hn_entry_count(s);
    for (size_t i = 0; a != NULL && i < n; i++)
        json_array_append_new(a, entry_json(&s->entries[i], false));
    return a;
}

static json_t *errors_json(const struct hn_snapshot *s)
{
    json_t *a = json_array();
    size_t n = s->errors ? s->n_errors : 0;
    for (size_t i = 0; a != NULL && i < n; i++) {
        const struct hn_error_view *e = &s->errors[i];
        json_t *o = json_object();
        if (o == NULL)
            break;
        put(o, "type", hn_json_text(e->type));
        put(o, "name", hn_json_text(e->name));
        put(o, "message", hn_json_text(e->message));
        put(o, "count", jcount(e->count));
        put(o, "first_seen", jreal(e->first_seen));
        put(o, "last_seen", jreal(e->last_seen));
        json_array_append_new(a, o);
    }
    return a;
}

static json_t *exceptions_json(const struct hn_snapshot *s)
{
    json_t *a = json_array();
    size_t n = s->exceptions ? s->n_exceptions : 0;
    for (size_t i = 0; a != NULL && i < n; i++) {
        const struct hn_exception_view *x = &s->exceptions[i];
        json_t *o = json_object();
        if (o == NULL)
            break;
        put(o, "user_type", hn_json_text(x->user_type));
        put(o, "task", hn_json_text(x->task));
        put(o, "message", hn_json_text(x->message));
        put(o, "count", jcount(x->count));
        put(o, "first_seen", jreal(x->first_seen));
        put(o, "last_seen", jreal(x->last_seen));
        json_array_append_new(a, o);
    }
    return a;
}

static json_t *ratios_json(const struct hn_snapshot *s)
{
    json_t *a = json_array();
    size_t n = s->ratios ? s->n_ratios : 0;
    for (size_t i = 0; a != NULL && i < n; i++) {
        const struct hn_ratio_view *r = &s->ratios[i];
        json_t *o = json_object();
        if (o == NULL)
            break;
        put(o, "user_type", hn_json_text(r->user_type));
        put(o, "users", json_integer(r->users));
        put(o, "ratio", jreal(r->ratio));
        json_t *tasks = json_array();
        size_t nt = r->tasks ? r->n_tasks : 0;
        for (size_t k = 0; tasks != NULL && k < nt; k++) {
            json_t *t = json_object();
            if (t == NULL)
                break;
            put(t, "task", hn_json_text(r->tasks[k].task));
            put(t, "ratio", jreal(r->tasks[k].ratio));
            json_array_append_new(tasks, t);
        }
        put(o, "tasks", tasks);
        json_array_append_new(a, o);
    }
    return a;
}

static json_t *workers_json(const struct hn_snapshot *s)
{
    json_t *a = json_array();
    for (size_t i = 0; a != NULL && i < s->n_workers; i++) {
        const struct hn_worker_view *w = &s->workers[i];
        json_t *o = json_object();
        if (o == NULL)
            break;
        put(o, "id", hn_json_text(w->id));
        put(o, "host", hn_json_text(w->host));
        put(o, "state", hn_json_text(w->state));
        put(o, "users", json_integer(w->users));
        put(o, "threads", json_integer(w->threads));
        put(o, "cpu_percent", jreal(w->cpu_percent));
        put(o, "rss_bytes", jcount(w->rss_bytes));
        put(o, "last_heartbeat", jreal(w->last_heartbeat));
        json_array_append_new(a, o);
    }
    return a;
}

json_t *hn_thresholds_to_json(const struct hn_snapshot *s)
{
    json_t *a = json_array();
    for (size_t i = 0; a != NULL && s->thresholds != NULL && i < s->n_thresholds; i++) {
        const struct hn_threshold_view *t = &s->thresholds[i];
        json_t *o = json_object();
        if (o == NULL)
            break;
        put(o, "expr", hn_json_text(t->expr));
        put(o, "metric", hn_json_text(t->metric));
        put(o, "unit", json_string(t->unit));
        put(o, "value", t->measured ? jreal(t->value) : json_null());
        put(o, "verdict", json_string(hn_verdict_name(t->verdict)));
        put(o, "abort", json_boolean(t->abort));
        json_array_append_new(a, o);
    }
    return a;
}

static json_t *stages_json(const struct hn_snapshot *s)
{
    json_t *a = json_array();
    for (size_t i = 0; a != NULL && s->stages != NULL && i < s->n_stages; i++)
        json_array_append_new(a, json_pack("{s:o,s:I}", "duration_s", jreal(s->stages[i].duration_s),
                                           "users", (json_int_t)s->stages[i].users));
    return a;
}

/* The plugin's parameters for the run, secrets masked. */
static json_t *params_json(const struct hn_snapshot *s)
{
    json_t *a = json_array();
    for (size_t i = 0; a != NULL && i < s->n_params; i++)
        json_array_append_new(a, json_pack("{s:o,s:o,s:s,s:b}", "name",
                                           hn_json_text(s->params[i].name), "value",
                                           hn_json_text(s->params[i].value), "type",
                                           s->params[i].type, "secret", s->params[i].secret));
    return a ? a : json_array();
}

/* Is hornet itself the bottleneck? Its worst worker thread. */
static json_t *loadgen_json(const struct hn_snapshot *s)
{
    return json_pack("{s:o,s:o,s:o,s:o,s:o,s:b,s:o}", "loop_lag_ms", jreal(s->loop_lag_ms),
                     "cpu_percent", jreal(s->worker_cpu_percent), "max_loop_lag_ms",
                     jreal(s->max_loop_lag_ms), "max_cpu_percent",
                     jreal(s->max_worker_cpu_percent), "overloaded_s", jreal(s->overloaded_s),
                     "overloaded", s->overloaded, "warning",
                     hn_json_text_or_null(s->loadgen_warning));
}

/* The capacity search, or null. */
static json_t *capacity_json(const struct hn_snapshot *s)
{
    const struct hn_capacity_view *c = s->capacity;
    if (c == NULL)
        return json_null();
    json_t *steps = json_array();
    for (size_t i = 0; steps != NULL && i < c->n_steps; i++) {
        const struct hn_capacity_step *st = &c->steps[i];
        json_array_append_new(
            steps, json_pack("{s:o,s:o,s:o,s:o,s:o,s:o,s:b,s:o}", "load", jreal(st->load), "rps",
                             jreal(st->rps), "p50_ms", jreal(st->p50_ms), "p95_ms",
                             jreal(st->p95_ms), "p99_ms", jreal(st->p99_ms), "fail_ratio",
                             jreal(st->fail_ratio), "held", st->held, "broken",
                             hn_json_text_or_null(st->broken)));
    }
    return json_pack("{s:s,s:o,s:o,s:o,s:o,s:o,s:o,s:b,s:o}", "model",
                     c->plan.open ? "arrival_rate" : "users", "start", jreal(c->plan.start),
                     "step", jreal(c->plan.step), "hold_s", jreal(c->plan.hold_s), "steps",
                     steps ? steps : json_array(), "held", jreal(c->held), "knee",
                     c->knee > 0 ? jreal(c->knee) : json_null(), "done", c->done, "outcome",
                     hn_json_text_or_null(c->outcome));
}

/* The open model's figures, or null for a closed-model run. */
static json_t *open_json(const struct hn_snapshot *s)
{
    if (!s->open)
        return json_null();
    return json_pack("{s:o,s:o,s:o,s:o,s:{s:o,s:o,s:o}}", "arrival_rate", jreal(s->arrival_rate),
                     "achieved_rate", jreal(s->achieved_rate), "iterations", jcount(s->iterations),
                     "dropped_iterations", jcount(s->dropped_iterations), "start_lag_ms", "p50",
                     jreal(s->start_lag_p50_ms), "p95", jreal(s->start_lag_p95_ms), "max",
                     jreal(s->start_lag_max_ms));
}

static size_t workers_ready(const struct hn_snapshot *s)
{
    size_t n = 0;
    for (size_t i = 0; i < s->n_workers; i++)
        n += strcmp(s->workers[i].state, "missing") != 0;
    return n;
}

json_t *hn_snapshot_to_json(const struct hn_snapshot *s)
{
    if (s == NULL)
        return NULL;
    json_t *o = json_object();
    if (o == NULL)
        return NULL;
    put(o, "seq", jcount(s->seq));
    put(o, "state", hn_json_text(hn_state_name(s->state)));
    put(o, "host", hn_json_text(s->host));
    put(o, "users", json_integer(s->users));
    put(o, "target_users", json_integer(s->target_users));
    put(o, "spawn_rate", jreal(s->spawn_rate));
    put(o, "start_time", jreal(s->start_time));
    put(o, "end_time", jreal(s->end_time));
    put(o, "now", jreal(s->now));
    put(o, "active_s", jreal(s->active_s));
    put(o, "run_time_s", jreal(s->run_time_s));
    put(o, "stop_reason", hn_json_text_or_null(s->stop_reason));
    put(o, "entries", entries_json(s));
    put(o, "total", entry_json(&s->total, true));
    put(o, "errors", errors_json(s));
    put(o, "exceptions", exceptions_json(s));
    put(o, "ratios", ratios_json(s));
    put(o, "fail_ratio", jreal(hn_fail_ratio(s->total.requests, s->total.failures)));
    put(o, "distributed", json_boolean(s->distributed));
    put(o, "worker_count", json_integer((json_int_t)workers_ready(s)));
    put(o, "workers", workers_json(s));
    put(o, "thresholds", hn_thresholds_to_json(s));
    put(o, "stages", stages_json(s));
    put(o, "stage", s->n_stages > 0 && s->stage >= 0 ? json_integer(s->stage) : json_null());
    put(o, "shape", json_boolean(s->shape));
    put(o, "open", open_json(s));
    put(o, "capacity", capacity_json(s));
    put(o, "load_generator", loadgen_json(s));
    put(o, "params", params_json(s));
    return o;
}

json_t *hn_history_to_json(const struct hn_history_point *h, size_t n)
{
    json_t *a = json_array();
    if (h == NULL)
        n = 0;
    for (size_t i = 0; a != NULL && i < n; i++) {
        json_t *o = json_object();
        if (o == NULL)
            break;
        put(o, "time", jreal(h[i].time));
        put(o, "users", json_integer(h[i].users));
        put(o, "rps", jreal(h[i].rps));
        put(o, "fail_s", jreal(h[i].fail_s));
        put(o, "p50_ms", jreal(h[i].p50_ms));
        put(o, "p95_ms", jreal(h[i].p95_ms));
        put(o, "p99_ms", jreal(h[i].p99_ms));
        put(o, "requests", jcount(h[i].requests));
        put(o, "failures", jcount(h[i].failures));
        json_array_append_new(a, o);
    }
    return a;
}

json_t *hn_result_to_json(const struct hn_snapshot *s, const struct hn_history_point *h, size_t n,
                          const char *plugin_path, const char *version)
{
    if (s == NULL)
        return NULL;
    json_t *o = json_object();
    json_t *run = json_object();
    if (o == NULL || run == NULL) {
        json_decref(o);
        json_decref(run);
        return NULL;
    }
    put(o, "format", json_string("hornet-result"));
    put(o, "version", json_integer(1));
    put(o, "hornet_version", hn_json_text_or_null(version));
    put(o, "plugin", hn_json_text_or_null(plugin_path));
    put(run, "state", hn_json_text(hn_state_name(s->state)));
    put(run, "host", hn_json_text(s->host));
    put(run, "users", json_integer(s->users));
    put(run, "target_users", json_integer(s->target_users));
    put(run, "spawn_rate", jreal(s->spawn_rate));
    put(run, "start_time", jreal(s->start_time));
    put(run, "end_time", jreal(s->end_time));
    put(run, "duration_s", jreal(s->active_s));
    put(run, "run_time_s", jreal(s->run_time_s));
    put(run, "stop_reason", hn_json_text_or_null(s->stop_reason));
    put(run, "stages", stages_json(s));
    put(run, "shape", json_boolean(s->shape));
    put(run, "open", open_json(s));
    put(run, "capacity", capacity_json(s));
    put(run, "load_generator", loadgen_json(s));
    put(run, "params", params_json(s));
    put(o, "run", run);
    put(o, "fail_ratio", jreal(hn_fail_ratio(s->total.requests, s->total.failures)));
    put(o, "total", entry_json(&s->total, true));
    put(o, "entries", entries_json(s));
    if (s->distributed)
        put(o, "workers", workers_json(s));
    put(o, "errors", errors_json(s));
    put(o, "exceptions", exceptions_json(s));
    put(o, "ratios", ratios_json(s));
    put(o, "thresholds", hn_thresholds_to_json(s));
    put(o, "thresholds_passed", json_boolean(hn_thresholds_passed(s)));
    put(o, "history", hn_history_to_json(h, n));
    return o;
}
