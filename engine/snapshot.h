/*
 * snapshot.h: an immutable picture of a run, built once per second by the
 * aggregator and shared, read-only and refcounted, with every reader:
 * console, CSV/JSON writers, the HTTP API and the live push.
 *
 * Threads: built on the aggregator thread; once published, any thread may
 * read it and must call hn_snapshot_release() once per reference taken.
 */
#ifndef HN_SNAPSHOT_H
#define HN_SNAPSHOT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define HN_NPCT 11
/* Locust's PERCENTILES_TO_REPORT and their CSV column names. */
extern const double hn_report_quantiles[HN_NPCT];
extern const char *const hn_report_quantile_names[HN_NPCT];

enum hn_state {
    HN_STATE_READY,
    HN_STATE_SPAWNING,
    HN_STATE_RUNNING,
    HN_STATE_PAUSED,
    HN_STATE_STOPPING,
    HN_STATE_STOPPED
};
/* "ready", "spawning", ... */
const char *hn_state_name(enum hn_state s);

struct hn_entry_view {
    char *type;              /* "" for the Aggregated row */
    char *name;              /* "Aggregated" for the total */
    uint64_t requests;
    uint64_t failures;
    double avg_ms, min_ms, max_ms, median_ms;
    double avg_bytes;
    double total_rps, total_fail_s;     /* over the run's active time */
    double current_rps, current_fail_s; /* over the last 10 s */
    double pct_ms[HN_NPCT];             /* cumulative, hn_report_quantiles */
    double cur_p50_ms, cur_p95_ms, cur_p99_ms; /* last 10 s (0 when none) */
    double sum_ms;                      /* response times summed */
    uint64_t *le_counts;                /* per snapshot le_s[i]: requests that took at most
                                         * that long (cumulative; NULL for the total) */
};

struct hn_error_view {
    char *type, *name, *message;
    uint64_t count;
    double first_seen, last_seen;       /* wall seconds */
};

struct hn_exception_view {
    char *user_type, *task, *message;
    uint64_t count;
    double first_seen, last_seen;
};

struct hn_task_ratio {
    char *task;
    double ratio;                       /* within its user type, 0..1 */
};

struct hn_ratio_view {
    char *user_type;
    uint32_t users;                     /* currently running */
    double ratio;                       /* share of all running users, 0..1 */
    size_t n_tasks;
    struct hn_task_ratio *tasks;
};

/* A worker process in distributed mode (not a worker thread). */
struct hn_worker_view {
    char *id;                           /* unique per process: host_pid_random */
    char *host;                         /* its hostname */
    char *state;                        /* ready, spawning, running, paused, stopping,
                                         * stopped, missing */
    uint32_t users;                     /* running now, as it last reported */
    int threads;                        /* its worker threads */
    double cpu_percent;                 /* of one core, over the last report */
    uint64_t rss_bytes;
    double last_heartbeat;              /* wall seconds */
};
/* Frees an array of n views. */
void hn_worker_views_free(struct hn_worker_view *v, size_t n);

/* A threshold (engine/threshold.h) judged against this snapshot. */
enum hn_verdict {
    HN_VERDICT_NO_DATA,                 /* nothing to judge yet */
    HN_VERDICT_PASS,
    HN_VERDICT_FAIL
};
struct hn_threshold_view {
    char *expr;                         /* as written */
    char *metric;                       /* "p95", "fail_ratio", ... */
    const char *unit;                   /* "ms", "ratio", "rps" or "count" (static) */
    int measured;                       /* 0: nothing to measure (no requests) */
    double value;                       /* measured, when measured */
    enum hn_verdict verdict;            /* FAIL without a measure: the run ended without data */
    int abort;                          /* 1: a broken threshold ends the run */
};
/* "pass", "fail", "no data". */
const char *hn_verdict_name(enum hn_verdict v);

/* A stage of the run's load profile. */
struct hn_stage_view {
    double duration_s;
    uint32_t users;
};

/* A parameter of the plugin and its value for the run. */
struct hn_param_view {
    char *name;
    char *value;                        /* as shown: "********" for a secret */
    const char *type;                   /* "string", "int", "float", "bool" (static) */
    int secret;
};

/* A capacity search (engine/capacity.h): its plan, judged steps and what
 * it found. */
struct hn_capacity_plan {
    bool open;                /* the load is an arrival rate (iterations/s), else users */
    double start, step;       /* first load, and what each step adds (> 0) */
    double hold_s;            /* how long each step is held and measured */
    double max;               /* the search ends (without an answer) above this load */
};

/* One judged step. */
struct hn_capacity_step {
    double load;              /* users or iterations/s */
    double rps;               /* requests/s during the hold */
    double p50_ms, p95_ms, p99_ms;
    double fail_ratio;
    bool held;                /* every threshold passed */
    char *broken;             /* the thresholds it broke ("p95<300ms, fail_ratio<1%") or NULL */
};

/* What a snapshot shows. */
struct hn_capacity_view {
    struct hn_capacity_plan plan;
    size_t n_steps;
    struct hn_capacity_step *steps;
    double held;              /* the highest load that held; 0 = none did */
    double knee;              /* load at the knee; 0 = none seen */
    bool done;                /* the search is over (a step broke, or the maximum) */
    char *outcome;            /* one line: what was found, or NULL while searching */
};

/* Response-time bucket bounds (seconds) for Prometheus histograms: at most
 * HN_LE_MAX; the default runs from 1 ms to 60 s. */
#define HN_LE_MAX 32
extern const double hn_default_le_s[];
extern const size_t hn_default_n_le;

struct hn_snapshot {
    int refs;                           /* atomic; use acquire/release */
    uint64_t seq;                       /* increases with every snapshot */
    enum hn_state state;
    char *host;
    uint32_t users;                     /* running now */
    uint32_t target_users;
    double spawn_rate;
    double start_time;                  /* wall seconds when the run started; 0 if never */
    double end_time;                    /* wall seconds when it stopped; 0 while running */
    double now;                         /* wall seconds of this snapshot */
    double active_s;                    /* run time excluding pauses */
    double run_time_s;                  /* configured limit, 0 = none */
    size_t n_entries;
    struct hn_entry_view *entries;      /* sorted by (name, type) */
    size_t n_le;
    double le_s[HN_LE_MAX];             /* the entries' bucket bounds (s, ascending) */
    struct hn_entry_view total;         /* Aggregated */
    size_t n_errors;
    struct hn_error_view *errors;       /* by count, descending */
    size_t n_exceptions;
    struct hn_exception_view *exceptions;
    size_t n_ratios;
    struct hn_ratio_view *ratios;
    char *stop_reason;                  /* why the run stopped (run time, stop_test, …) or NULL */
    int distributed;                    /* 1 on a master: the workers below run the users */
    size_t n_workers;
    struct hn_worker_view *workers;     /* by id */
    size_t n_thresholds;
    struct hn_threshold_view *thresholds; /* in the order given */
    size_t n_stages;                    /* a load profile drives the run (0: fixed users) */
    struct hn_stage_view *stages;
    int stage;                          /* the stage running now (-1: none) */
    int shape;                          /* 1: the plugin's load shape drives runs */
    /* The open model (--arrival-rate); zeros otherwise. */
    int open;                           /* 1: an arrival rate drives the run */
    double arrival_rate;                /* iterations per second asked */
    uint64_t iterations;                /* started since the run started (or a reset) */
    double achieved_rate;               /* iterations / the time arrivals ran (until the
                                         * stop began: stopping adds none) */
    uint64_t dropped_iterations;        /* due, but no user was free and the pool was full */
    double start_lag_p50_ms, start_lag_p95_ms, start_lag_max_ms; /* how late they started */
    struct hn_capacity_view *capacity;  /* a capacity search (capacity.h); NULL otherwise */
    /* Is hornet itself the bottleneck? Its worst worker thread: how late
     * its timers fired and its CPU, in the last second and at worst in
     * the run (zeros on a master: its workers measure their own). */
    double loop_lag_ms, worker_cpu_percent;
    double max_loop_lag_ms, max_worker_cpu_percent;
    double overloaded_s;                /* seconds of the run over either limit */
    int overloaded;                     /* over a limit for some seconds in a row, now */
    char *loadgen_warning;              /* one line when the run was ever over; else NULL */
    size_t n_params;
    struct hn_param_view *params;       /* the plugin's parameters, in declaration order */
};

/* Takes one more reference. [any] */
struct hn_snapshot *hn_snapshot_ref(struct hn_snapshot *s);
/* Drops one reference; frees on the last. NULL is ignored. [any] */
void hn_snapshot_release(struct hn_snapshot *s);

/* One point of per-second history (aggregate). */
struct hn_history_point {
    double time;                        /* wall seconds */
    uint32_t users;
    double rps, fail_s;                 /* current (10 s window) */
    double p50_ms, p95_ms, p99_ms;      /* current (10 s window) */
    uint64_t requests, failures;        /* totals so far */
};

struct hn_stats;
struct hn_hist;
struct hn_capacity;

/* What the aggregator knows when it builds a snapshot. */
struct hn_snapshot_input {
    const struct hn_stats *cum;          /* cumulative since start/reset */
    const uint64_t *win_requests;        /* per cum->entries[i]: requests in the window */
    const uint64_t *win_failures;        /* per cum->entries[i]: failures in the window */
    double window_s;                     /* seconds the window covers (0 = none yet) */
    const struct hn_hist *win_total;     /* all requests in the window */
    uint64_t seq;
    enum hn_state state;
    const char *host;
    uint32_t users, target_users;
    double spawn_rate;
    double start_time, end_time, now, active_s, run_time_s;
    const char *stop_reason;             /* may be NULL */
    const struct hn_ratio_view *ratios;  /* copied */
    size_t n_ratios;
    int distributed;
    const struct hn_worker_view *workers; /* copied */
    size_t n_workers;
    const struct hn_stage_view *stages;  /* copied */
    size_t n_stages;
    int stage;
    int shape;
    int open;
    double arrival_rate;
    uint64_t iterations, dropped_iterations; /* lag comes from cum->start_lag */
    double arrivals_s;                  /* active time during which arrivals ran */
    const struct hn_capacity *capacity;  /* viewed (copied); NULL = none */
    double loop_lag_ms, worker_cpu_percent, max_loop_lag_ms, max_worker_cpu_percent;
    double overloaded_s;
    int overloaded;                      /* over a limit for some seconds in a row now */
    const struct hn_params *params;      /* copied (values as shown); NULL = none */
    const double *le_s;                  /* bucket bounds (s, ascending, <= HN_LE_MAX) */
    size_t n_le;                         /* 0: no buckets */
};

/* Builds a snapshot with one reference. total_rps = requests / active_s
 * (0 when active_s is 0); current rates = window counts / window_s.
 * [aggregator] */
struct hn_snapshot *hn_snapshot_build(const struct hn_snapshot_input *in);

#endif
