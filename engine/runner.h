/*
 * runner.h: the engine's facade. A runner owns the worker threads, the
 * simulated users, the aggregator and the run state machine
 * (ready -> spawning -> running <-> paused -> stopping -> stopped, and back
 * to spawning on a new start or resize). The CLI, the HTTP API and
 * distributed mode drive it only through these calls.
 *
 * Threads: every function is safe to call from any thread unless noted.
 * Commands return 0, -EINVAL (bad argument; err names the field) or
 * -EBUSY (illegal in the current state; err says why).
 */
#ifndef HN_RUNNER_H
#define HN_RUNNER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "http_message.h"
#include "snapshot.h"
#include "stages.h"

struct hn_params;
struct hn_plugin;
struct hn_runner;
struct hn_stats;
struct hn_threshold;

/* Distributed master: a runner with a fleet runs no users itself. Its
 * spawner still ramps the swarm and picks user types, and tells the fleet
 * how many users of each type the cluster must run; the fleet spreads them
 * over its worker processes and hands back the statistics they send.
 * Every callback runs on the runner's control thread and must not block. */
struct hn_fleet_ops {
    void *ud;
    /* A new run begins (statistics were just reset). */
    void (*start_run)(void *ud, const char *host);
    /* Users per user type for the whole cluster (index = position in the
     * plugin's user_types, n = their number), ramped at spawn_rate. */
    void (*set_targets)(void *ud, const uint32_t *counts, size_t n, double spawn_rate);
    /* The open model: iterations per second for the whole cluster (0 =
     * none for now) and the most users its pools may hold in all. */
    void (*set_arrival)(void *ud, double rate, uint32_t pool_max);
    /* The parameters' values for the run about to start (may be NULL). */
    void (*set_params)(void *ud, const struct hn_params *params);
    /* The picker's choice for the run about to start, per user type
     * (index in the plugin's user_types): its host (NULL = its own) and
     * tasks (NULL = all; else NULL-terminated names). May be NULL. */
    void (*set_type_choice)(void *ud, size_t type_index, const char *host,
                            const char *const *tasks);
    void (*set_host)(void *ud, const char *host);
    void (*pause)(void *ud, bool paused);
    /* Stop every user; workers apply their own stop timeout. */
    void (*stop)(void *ud);
    /* True once every worker has stopped and sent its last statistics. */
    bool (*stopped)(void *ud);
    /* Statistics were reset: statistics gathered before must be dropped. */
    void (*reset)(void *ud);
    /* Swaps the statistics received since the last call with *spare (an
     * empty table), as hn_worker_swap_shard does for a worker thread. */
    void (*swap_stats)(void *ud, struct hn_stats **spare);
    /* Workers connected and not missing (a run needs one). */
    int (*ready)(void *ud);
    /* The worker rows for a snapshot (malloc'ed, freed with
     * hn_worker_views_free). */
    struct hn_worker_view *(*workers)(void *ud, size_t *n);
};


struct hn_runner_config {
    const struct hn_plugin *plugin;  /* validated descriptor; must outlive the runner */
    int threads;                     /* worker threads; 0 = number of CPUs */
    uint64_t seed;                   /* base of per-user RNG seeds */
    double stop_timeout;             /* seconds users get to finish in-flight work */
    const char *host;                /* default base URL; may be NULL */
    const char *const *tags;         /* run only tasks with one of these tags; NULL = all */
    const char *const *exclude_tags; /* skip tasks with one of these tags; NULL = none */
    uint32_t max_users;              /* upper bound for users; 0 = 1,000,000 */
    uint32_t in_flight_cap;          /* per worker; 0 = 1024 (waits count in the latency) */
    size_t history_max;              /* history points kept; 0 = 7200 */
    const struct hn_fleet_ops *fleet; /* distributed master; NULL = run users here */
    const struct hn_feeders *feeders; /* the plugin's data feeders (must outlive the runner) */
    const struct hn_params *params;   /* the parameters' first values (copied); NULL = none */
    struct hn_http_options limits;    /* requests' client, phase timeouts, body kept; 0s = defaults */
    const struct hn_threshold *thresholds; /* judged into every snapshot (copied) */
    size_t n_thresholds;
    double le_s[HN_LE_MAX];           /* response-time bucket bounds (s, ascending) for */
    size_t n_le;                      /* Prometheus; 0 = hn_default_le_s */
};

/* Called after every snapshot (1 Hz and on state changes) on the
 * aggregator thread. Must be quick and must not call back into the runner
 * except hn_runner_snapshot/hn_runner_history (it runs under the
 * subscribers' lock). */
typedef void (*hn_runner_tick_cb)(void *ud, struct hn_snapshot *snap, int state_changed);

/* Creates the runner and starts its threads (users start on hn_runner_start).
 * Returns 0 or -errno with err set. [main] */
int hn_runner_create(struct hn_runner **out, const struct hn_runner_config *cfg, char *err,
                     size_t err_len);
/* Stops everything and frees. [main] */
void hn_runner_destroy(struct hn_runner *r);

/* Registers a tick subscriber (at most 8). [any] */
void hn_runner_subscribe(struct hn_runner *r, hn_runner_tick_cb cb, void *ud);
/* Removes it; once this returns the callback is not running and will not
 * run again. Must not be called from a callback. [any] */
void hn_runner_unsubscribe(struct hn_runner *r, hn_runner_tick_cb cb, void *ud);

/* Starts a run from ready/stopped (stats are reset), or acts as resize
 * while spawning/running/paused. host NULL keeps the configured host.
 * run_time_s 0 = unlimited. */
int hn_runner_start(struct hn_runner *r, uint32_t users, double spawn_rate, const char *host,
                    double run_time_s, char *err, size_t err_len);
/* Starts a run (from ready/stopped) that follows a load profile: the user
 * count ramps through the stages in order and the run stops when the last
 * one ends ("load profile complete"), or at run_time_s (0 = none) if that
 * comes first. Resizing such a run is refused with the reason. */
int hn_runner_start_stages(struct hn_runner *r, const struct hn_stage *stages, size_t n,
                           const char *host, double run_time_s, char *err, size_t err_len);
/* Starts a run (from ready/stopped) in the open model: iterations start at
 * rate per second whatever the target does, each one task of a user type
 * picked by weight, run by an idle user of a pool that grows up to pool_max
 * users; when none is idle and the pool is full the iteration is dropped
 * (counted). With stages (n_stages > 0), they give the rate instead of
 * rate (their users are iterations per second) and end the run. Latency
 * counts from each iteration's intended start. On a master the fleet splits
 * the rate and the pool over the workers. Resizing such a run is refused. */
int hn_runner_start_open(struct hn_runner *r, double rate, uint32_t pool_max,
                         const struct hn_stage *stages, size_t n_stages, const char *host,
                         double run_time_s, char *err, size_t err_len);
/* Starts a capacity search (from ready/stopped; capacity.h): the load
 * (users at spawn_rate, at least a step a second, or with plan->open the
 * arrival rate with a pool of up to pool_max users) starts at plan->start
 * and rises by plan->step; each step is held plan->hold_s and judged on
 * its own statistics against the thresholds (at least one is needed); the
 * first that breaks one ends the run, its stop reason saying what was
 * found. plan->max is set here (the most users, or 1e6/s). */
struct hn_capacity_plan;
int hn_runner_start_capacity(struct hn_runner *r, const struct hn_capacity_plan *plan,
                             uint32_t pool_max, double spawn_rate, const char *host,
                             double run_time_s, char *err, size_t err_len);
/* Sets parameter values for the next runs (names[i] = values[i], each
 * checked against its type; all or nothing). From ready or stopped only.
 * Returns 0, -EINVAL or -EBUSY with err. [any] */
int hn_runner_set_params(struct hn_runner *r, const char *const *names,
                         const char *const *values, size_t n, char *err, size_t err_len);
/* Replaces the plugin between runs (ready or stopped; the reload): user
 * types, tasks, load shape and feeders become the new plugin's, parameter
 * values set before carry over where it declares the same name and type,
 * the picker's choice is dropped and the worker threads are started anew.
 * The last run's statistics stay until the next start. Returns 0, or
 * -EBUSY (a run is on) or -EINVAL (the new plugin leaves nothing to run
 * with the runner's tags) with err, the old plugin still in use. Once it
 * returns 0 nothing of the runner's uses the old plugin or feeders.
 * [any thread but the runner's own] */
struct hn_feeders;
int hn_runner_set_plugin(struct hn_runner *r, const struct hn_plugin *plugin,
                         const struct hn_feeders *feeders, char *err, size_t err_len);
/* A copy of the parameters' values now (NULL when the plugin has none). */
struct hn_params *hn_runner_params(struct hn_runner *r);
/* The run's choice of user types (the picker, Locust's --class-picker). */
struct hn_type_choice {
    const char *name;             /* a user type of the plugin */
    int64_t weight;               /* < 0: the type's own */
    int64_t fixed_count;          /* < 0: the type's own */
    const char *host;             /* NULL or "": the type's own */
    const char *const *tasks;     /* NULL: every task; else these (NULL-terminated) */
};
/* Chooses which user types the next runs start and how: only those listed
 * run (n == 0: every type, as the plugin declares them). From ready or
 * stopped only; checked whole first (unknown types or tasks, a type that
 * would never run). Returns 0, -EINVAL or -EBUSY with err. [any] */
int hn_runner_choose_types(struct hn_runner *r, const struct hn_type_choice *c, size_t n,
                           char *err, size_t err_len);
/* Distributed worker: as hn_runner_start, but the number of users of each
 * user type is given (index = position in the plugin's user_types, n =
 * their number; types without tasks after tag filtering are ignored)
 * instead of chosen by weight. Surplus users of a type stop newest first. */
int hn_runner_start_types(struct hn_runner *r, const uint32_t *counts, size_t n,
                          double spawn_rate, const char *host, char *err, size_t err_len);
/* Distributed worker: its share of the master's open model. Starts an
 * open-model run (from ready/stopped) at rate (0 = no arrivals for now)
 * with a pool of up to pool_max users, or changes both on the running one
 * (a smaller pool stops growing; users it has keep serving). */
int hn_runner_follow_arrival(struct hn_runner *r, double rate, uint32_t pool_max,
                             const char *host, char *err, size_t err_len);
/* Called with each second's statistics delta (the merged shards) on the
 * control thread, before it enters the cumulative table; for a worker
 * process to ship. Set once, before the first start. */
typedef void (*hn_runner_delta_cb)(void *ud, const struct hn_stats *delta);
void hn_runner_set_delta_sink(struct hn_runner *r, hn_runner_delta_cb cb, void *ud);
/* Changes the target user count (and spawn rate if > 0) of a running swarm. */
int hn_runner_resize(struct hn_runner *r, uint32_t users, double spawn_rate, char *err,
                     size_t err_len);
int hn_runner_pause(struct hn_runner *r, char *err, size_t err_len);
int hn_runner_resume(struct hn_runner *r, char *err, size_t err_len);
/* Stops the run: no new tasks, in-flight requests get stop_timeout to
 * complete, on_stop runs, then state becomes stopped. Asynchronous. */
int hn_runner_stop(struct hn_runner *r, const char *reason, char *err, size_t err_len);
/* Replaces the thresholds judged into every snapshot from now on (copied;
 * an abort threshold broken past its grace ends the run). */
int hn_runner_set_thresholds(struct hn_runner *r, const struct hn_threshold *t, size_t n,
                             char *err, size_t err_len);
/* Clears statistics and history (any state). */
int hn_runner_reset_stats(struct hn_runner *r, char *err, size_t err_len);

enum hn_state hn_runner_state(struct hn_runner *r);
/* Waits until the state is stopped or timeout_s passes (<0 = forever).
 * Returns 1 when stopped. */
int hn_runner_wait_stopped(struct hn_runner *r, double timeout_s);

/* Latest snapshot, with a reference the caller releases. Never NULL. */
struct hn_snapshot *hn_runner_snapshot(struct hn_runner *r);
/* Forces a fresh snapshot now (used at the end of a run). */
struct hn_snapshot *hn_runner_snapshot_now(struct hn_runner *r);
/* One entry in detail, for the drill-down: its own history (once a
 * second, the whole run at a resolution that halves as it grows) and its
 * response-time distribution (the histogram in bins of a quarter octave). */
#define HN_ENTRY_BINS_PER_OCTAVE 4
struct hn_entry_point;
struct hn_entry_detail {
    bool found;                       /* no such entry (yet): false */
    uint64_t requests, failures;
    size_t n_points;
    struct hn_entry_point *points;    /* entry_history.h */
    size_t n_bins;
    uint64_t bin_upper_us[40 * HN_ENTRY_BINS_PER_OCTAVE], bin_count[40 * HN_ENTRY_BINS_PER_OCTAVE];
};
/* Free with hn_entry_detail_free; NULL when out of memory. [any] */
struct hn_entry_detail *hn_runner_entry_detail(struct hn_runner *r, const char *type,
                                               const char *name);
void hn_entry_detail_free(struct hn_entry_detail *d);
/* Copies the history into a malloc'ed array (*n points). Caller frees. */
struct hn_history_point *hn_runner_history(struct hn_runner *r, size_t *n);

#endif
