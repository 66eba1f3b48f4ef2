/*
 * threshold.h: service-level thresholds, the release gate of a run.
 *
 * An expression is [ENTRY:]METRIC OP VALUE[:abort[=GRACE]], for example
 *   p95<300ms   GET /cart:p99<1s   fail_ratio<1%   rps>500   failures==0
 * METRIC: p50 p66 p75 p80 p90 p95 p98 p99 p99.9 p99.99 p100 avg min max
 * (times: a number with ms or s, bare = ms), rps, fail_ratio (a fraction,
 * or a percentage with %), failures, requests, dropped_iterations (the open
 * model's; no ENTRY). OP: < <= > >= == !=.
 * ENTRY is an entry's name, or "METHOD name" (an entry whose whole name is
 * the ENTRY text matches too); without it the Aggregated row. A name shared
 * by several entries (methods) must hold for each.
 * ":abort" ends the run as soon as the threshold is broken, once the run
 * has been active GRACE (a timespan, default 10 s) so early samples do not
 * decide alone. Values are judged on the whole run (cumulative).
 *
 * The runner judges its thresholds into every snapshot
 * (struct hn_threshold_view); readers only read the views.
 *
 * Threads: any; a threshold is immutable once parsed.
 */
#ifndef HN_THRESHOLD_H
#define HN_THRESHOLD_H

#include <stdbool.h>
#include <stddef.h>

struct hn_snapshot;

enum hn_metric {
    HN_METRIC_PCT,        /* pct_index into hn_report_quantiles */
    HN_METRIC_AVG,
    HN_METRIC_MIN,
    HN_METRIC_MAX,
    HN_METRIC_RPS,
    HN_METRIC_FAIL_RATIO,
    HN_METRIC_FAILURES,
    HN_METRIC_REQUESTS,
    HN_METRIC_DROPPED     /* dropped iterations of the open model (the whole run) */
};

enum hn_op { HN_OP_LT, HN_OP_LE, HN_OP_GT, HN_OP_GE, HN_OP_EQ, HN_OP_NE };

#define HN_THRESHOLD_GRACE_S 10.0

struct hn_threshold {
    char *expr;           /* as written, without surrounding blanks */
    char *entry_type;     /* "GET" in "GET /cart:..."; NULL = any method */
    char *entry_name;     /* NULL = the Aggregated row */
    char *entry_full;     /* ENTRY as written ("API health"), also matched as a name */
    char *metric_name;    /* "p95", "fail_ratio", ... */
    enum hn_metric metric;
    int pct_index;        /* HN_METRIC_PCT only */
    enum hn_op op;
    double limit;         /* ms for times, a fraction for fail_ratio */
    bool abort;
    double grace_s;       /* abort only once the run was active this long */
};

/* Parses one expression into *out (owned strings; hn_threshold_free).
 * Returns 0, or -1 with what was expected in err (no prefix), e.g.
 *   "unknown metric 'p97' (expected p50, p66, ... requests)". */
int hn_threshold_parse(const char *text, struct hn_threshold *out, char *err, size_t err_len);
void hn_threshold_free(struct hn_threshold *t);
/* Deep copy of n thresholds (malloc'ed array); NULL when n is 0 or on OOM. */
struct hn_threshold *hn_thresholds_copy(const struct hn_threshold *t, size_t n);
void hn_thresholds_free(struct hn_threshold *t, size_t n);

/* Judges each threshold against the snapshot and stores the results in
 * s->thresholds (s must not be published yet). final: the run is over, so
 * a threshold without data fails instead of waiting. [the snapshot's builder] */
void hn_thresholds_judge(const struct hn_threshold *t, size_t n, struct hn_snapshot *s,
                         bool final);

#endif
