/*
 * runs.c: the session's finished runs and uploaded results (runs.h).
 */
#include "runs.h"

#include <pthread.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "compare.h"
#include "errbuf.h"
#include "report.h"
#include "runner.h"
#include "snapshot.h"

struct run {
    long id;
    bool uploaded;
    char *label;
    json_t *doc;
};

struct hn_runs {
    struct hn_runner *runner;
    char *plugin, *version;
    pthread_mutex_t lock;
    struct run runs[HN_RUNS_KEPT]; /* oldest first */
    size_t n;
    long next_id;
    double last_start;             /* the run last kept (a run ends once) */
};

static void drop_oldest(struct hn_runs *rs)
{
    free(rs->runs[0].label);
    json_decref(rs->runs[0].doc);
    memmove(&rs->runs[0], &rs->runs[1], (rs->n - 1) * sizeof rs->runs[0]);
    rs->n--;
}

static long keep(struct hn_runs *rs, json_t *doc, bool uploaded, const char *label)
{
    pthread_mutex_lock(&rs->lock);
    if (rs->n == HN_RUNS_KEPT)
        drop_oldest(rs);
    long id = ++rs->next_id;
    rs->runs[rs->n++] = (struct run){.id = id, .uploaded = uploaded,
                                     .label = strdup(label ? label : ""), .doc = doc};
    pthread_mutex_unlock(&rs->lock);
    return id;
}

/* A run that just stopped is kept once. [aggregator] */
static void on_tick(void *ud, struct hn_snapshot *s, int state_changed)
{
    struct hn_runs *rs = ud;
    if (!state_changed || s->state != HN_STATE_STOPPED || !(s->start_time > 0) ||
        s->start_time == rs->last_start)
        return;
    rs->last_start = s->start_time;
    size_t n = 0;
    struct hn_history_point *h = hn_runner_history(rs->runner, &n);
    json_t *doc = hn_result_to_json(s, h, n, rs->plugin, rs->version);
    free(h);
    if (doc != NULL)
        keep(rs, doc, false, NULL);
}

int hn_runs_start(struct hn_runs **out, struct hn_runner *r, const char *plugin,
                  const char *version)
{
    struct hn_runs *rs = calloc(1, sizeof *rs);
    if (rs == NULL)
        return -1;
    rs->runner = r;
    rs->plugin = plugin ? strdup(plugin) : NULL;
    rs->version = version ? strdup(version) : NULL;
    pthread_mutex_init(&rs->lock, NULL);
    hn_runner_subscribe(r, on_tick, rs);
    *out = rs;
    return 0;
}

void hn_runs_stop(struct hn_runs *rs)
{
    if (rs == NULL)
        return;
    hn_runner_unsubscribe(rs->runner, on_tick, rs);
    while (rs->n > 0)
        drop_oldest(rs);
    pthread_mutex_destroy(&rs->lock);
    free(rs->plugin);
    free(rs->version);
    free(rs);
}

static json_t *get_path(const json_t *doc, const char *a, const char *b)
{
    json_t *v = json_object_get(doc, a);
    return b ? json_object_get(v, b) : v;
}

static json_t *copy_or_null(json_t *v)
{
    return v ? json_incref(v) : json_null();
}

json_t *hn_runs_list(struct hn_runs *rs)
{
    json_t *out = json_array();
    pthread_mutex_lock(&rs->lock);
    for (size_t k = rs->n; out != NULL && k-- > 0;) {
        const struct run *r = &rs->runs[k];
        json_t *total = json_object_get(r->doc, "total");
        json_array_append_new(
            out, json_pack("{s:I, s:s, s:s, s:o, s:o, s:o, s:o, s:o, s:o, s:o, s:o}", "id",
                           (json_int_t)r->id, "source", r->uploaded ? "upload" : "run", "label",
                           r->label, "start_time", copy_or_null(get_path(r->doc, "run", "start_time")),
                           "duration_s", copy_or_null(get_path(r->doc, "run", "duration_s")),
                           "requests", copy_or_null(json_object_get(total, "requests")),
                           "failures", copy_or_null(json_object_get(total, "failures")),
                           "fail_ratio", copy_or_null(json_object_get(r->doc, "fail_ratio")),
                           "rps", copy_or_null(json_object_get(total, "total_rps")), "p95_ms",
                           copy_or_null(json_object_get(json_object_get(total, "percentiles"), "95")),
                           "stop_reason", copy_or_null(get_path(r->doc, "run", "stop_reason"))));
    }
    pthread_mutex_unlock(&rs->lock);
    return out;
}

json_t *hn_runs_get(struct hn_runs *rs, long id)
{
    json_t *doc = NULL;
    pthread_mutex_lock(&rs->lock);
    for (size_t k = 0; k < rs->n && doc == NULL; k++)
        if (rs->runs[k].id == id)
            doc = json_incref(rs->runs[k].doc);
    pthread_mutex_unlock(&rs->lock);
    return doc;
}

long hn_runs_add(struct hn_runs *rs, json_t *doc, const char *label, char *err, size_t err_len)
{
    if (hn_result_check(doc, err, err_len) != 0)
        return -1;
    return keep(rs, json_incref(doc), true, label);
}
