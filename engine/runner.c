/*
 * runner.c: the run state machine, the spawner and the 1 Hz aggregator.
 *
 * One control thread does all of it: every 10 ms it moves the user count
 * toward the target at the spawn rate (deterministic weighted interleaving
 * of user types, fixed counts first, LIFO ramp-down) — a target that load
 * profiles (stages) and load shapes move, or, in the open model, hands out
 * the iterations due to a pool of users — applies pause/resume and stop,
 * and once per second swaps the workers' stats shards, merges them into
 * the cumulative table, publishes an immutable snapshot with the
 * thresholds judged into it, and ends the run when an abort threshold
 * breaks.
 *
 * Locks: r->lock guards the command fields (state, targets, flags);
 * r->snap_lock guards latest/history. Order: r->lock, then a worker's
 * cmd_lock. Neither is held while merging statistics.
 */
#include "runner.h"

#include <errno.h>
#include <math.h>
#include <stdbool.h>
#include <stdio.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "capacity.h"
#include "entry_history.h"
#include "clock.h"
#include "params.h"
#include "errbuf.h"
#include "hornet/hornet.h"
#include "log.h"
#include "stats.h"
#include "threshold.h"
#include "units.h"
#include "worker.h"

#define TICK_US 10000u       /* control loop period */

/* A worker thread whose timers fire this late, or that uses this much of
 * its core, distorts the latencies it measures. */
#define LOADGEN_LAG_MS 20.0
#define LOADGEN_CPU_PERCENT 90.0
/* Only a sustained overload distorts a run's figures (a busy machine can
 * stall any thread for a moment): this many seconds in a row. */
#define LOADGEN_STREAK 3
#define WINDOW 10            /* seconds of the "current" window */
#define MAX_SUBSCRIBERS 8

struct window_slot {
    double time;             /* monotonic seconds of the tick */
    size_t n;                /* entries known then */
    uint64_t *requests;      /* cumulative per entry at that tick */
    uint64_t *failures;
    struct hn_hist total;    /* requests recorded in that second */
};

/* A plugin to swap in (hn_runner_set_plugin): built by the caller, swapped
 * by the control thread between runs, the old one's parts handed back to
 * be freed. */
struct plugin_swap {
    const struct hn_plugin *plugin;
    const struct hn_feeders *feeders;
    struct hn_type_plan *plans;
    size_t n_plans;
    struct hn_params *params;
    uint32_t *type_counts, *type_targets, *open_spawned;
    int64_t *swrr, *open_swrr;
    uint64_t *open_assigned;
    struct hn_worker **workers;
    int rc;
    bool done;
    char err[256];
};

struct hn_runner {
    struct hn_runner_config cfg;
    char *default_host;
    const char **tags;       /* owned copies */
    const char **exclude_tags;

    size_t n_plans;
    struct hn_type_plan *plans;

    int n_workers;
    struct hn_worker **workers;
    int n_spares;
    struct hn_stats **spares;           /* one empty table per worker, swapped each second */

    pthread_t control;
    pthread_mutex_t lock;
    pthread_cond_t cond;

    /* Guarded by lock. */
    enum hn_state state;
    bool state_changed;
    uint32_t target_users;
    double spawn_rate;
    char *host;
    bool host_changed;
    double run_time_s;
    struct hn_threshold *thresholds;    /* judged into every snapshot */
    size_t n_thresholds;
    struct hn_stage *stages;            /* load profile of the run; NULL = fixed users */
    size_t n_stages;
    int stage;                          /* the stage running now, -1 before/after */
    bool shape;                         /* the plugin's load shape drives this run */
    /* The open model (--arrival-rate): iterations start on a schedule,
     * each run by an idle user of the pool, which grows up to pool_max. */
    bool open;
    double arrival_rate;                /* iterations per second */
    uint32_t pool_max;
    double arrival_acc;                 /* arrivals due so far (the rate's integral) */
    double arrival_until;               /* ... up to this active run time; < 0 = not begun */
    uint64_t iterations, dropped;       /* since the run started or stats were reset */
    uint64_t missed_base;               /* workers' missed count at that moment */
    uint64_t arrivals_end_us;           /* active time when the stop ended arrivals; 0 = not yet */
    uint64_t dropped_counted;           /* dropped ones already in the statistics */
    double fleet_rate_sent;             /* a master: the rate the fleet has, < 0 = none */
    uint32_t fleet_pool_sent;           /* ... and the pool */
    uint64_t fleet_rate_at;             /* ... since then (mono us) */
    uint32_t *open_spawned;             /* [worker * n_plans + plan]: users in the pool */
    uint64_t *open_assigned;            /* [same]: iterations handed to them */
    int64_t *open_swrr;                 /* per plan: smooth weighted round robin */
    size_t open_rr;                     /* next worker to try */
    uint64_t next_shape_us;             /* when to ask the shape again */
    /* The capacity search (--find-capacity): steps of load, each held and
     * judged on its own statistics (cap_stats, collected with the rest). */
    struct hn_capacity *cap;            /* NULL = no search */
    bool cap_holding;                   /* the step's load is reached: measuring */
    uint64_t cap_hold_start_us;         /* active time the hold began */
    bool cap_reset_step;                /* empty cap_stats after this collection (lock) */
    bool cap_judge;                     /* judge the step after this collection (lock) */
    double cap_spawn_rate;              /* users/s for a step's ramp */
    double cap_hold_s;
    struct hn_stats cap_stats;
    struct hn_params *params;           /* the runs' parameter values; changed between runs */
    struct hn_entry_history *eh;        /* per-entry history (snap_lock) */
    /* Is hornet itself the bottleneck? Each worker thread's timer lateness
     * and CPU, sampled by the aggregator about once a second. */
    double *lg_cpu_prev;                /* per worker: CPU seconds at the last sample */
    uint64_t lg_prev_us;
    double lg_lag_ms, lg_cpu;           /* the last sample: worst thread */
    double lg_max_lag_ms, lg_max_cpu;   /* worst samples of the run */
    double lg_overloaded_s;             /* seconds of the run over the limits, in streaks
                                         * of LOADGEN_STREAK samples or more */
    int lg_streak;                      /* consecutive samples over the limits */
    uint64_t lg_warned_us;              /* the last warning logged */
    bool shape_asked;                   /* its first step of this run came */
    bool new_run;            /* start requested from ready/stopped */
    bool stop_requested;
    char *stop_reason;
    bool reset_requested;
    bool pause_changed;
    bool spawn_now;          /* a start/resize: the first step happens at once, as Locust */
    bool force_tick;
    bool quit;
    struct plugin_swap *swap;           /* a reload waiting for the control thread */
    pthread_cond_t swap_cond;           /* ... signalled when it is done */
    bool use_type_targets;   /* distributed worker: type_targets rule, not weights */
    uint32_t *type_targets;  /* per plan */
    bool targets_changed;    /* fleet: tell it the new type counts */

    /* Control thread only. */
    uint64_t next_user_id;
    uint32_t spawned;
    uint32_t *type_counts;
    int64_t *swrr;
    uint32_t *stack;         /* LIFO of (worker << 16 | plan) per spawned user */
    size_t stack_n, stack_cap;
    double spawn_credit;
    uint64_t last_tick_us;
    uint64_t stop_deadline_us;
    bool stop_sent, abort_sent;
    double start_wall, end_wall;
    uint64_t active_us;
    uint64_t next_agg_us;
    uint64_t seq;

    const struct hn_fleet_ops *fleet;   /* distributed master, or NULL */
    struct hn_stats *fleet_spare;
    hn_runner_delta_cb delta_cb;
    void *delta_ud;

    struct hn_stats cum;
    struct window_slot ring[WINDOW + 1];
    size_t ring_head, ring_n;

    pthread_mutex_t subs_lock;          /* held while callbacks run */
    hn_runner_tick_cb subs[MAX_SUBSCRIBERS];
    void *subs_ud[MAX_SUBSCRIBERS];
    int n_subs;

    /* Guarded by snap_lock. */
    pthread_mutex_t snap_lock;
    pthread_cond_t snap_cond;
    struct hn_snapshot *latest;
    struct hn_history_point *history;
    size_t history_n, history_cap;
};

/* ---------------------------------------------------------------- */
/* Plans: tasks filtered by tags                                     */
/* ---------------------------------------------------------------- */

static bool tag_in(const char *tags, const char *const *list)
{
    if (tags == NULL || list == NULL)
        return false;
    for (const char *const *t = list; *t; t++) {
        size_t tl = strlen(*t);
        for (const char *p = tags; *p;) {
            while (*p == ' ' || *p == ',')
                p++;
            size_t n = strcspn(p, ",");
            size_t m = n;
            while (m > 0 && p[m - 1] == ' ')
                m--;
            if (m == tl && strncmp(p, *t, tl) == 0)
                return true;
            p += n;
        }
    }
    return false;
}

/* Whether users of this plan are spawned at all in this run. */
static bool plan_runs(const struct hn_type_plan *p)
{
    return p->n_tasks > 0 && (p->weight > 0 || p->fixed_count > 0);
}

/* The plan's tasks: every one left after tag filtering, or those named
 * (NULL-terminated). [no users of the plan alive] */
static void choose_tasks(struct hn_type_plan *p, const char *const *names)
{
    p->n_tasks = 0;
    p->total_weight = 0;
    for (size_t k = 0; k < p->n_all; k++) {
        const struct hn_task *task = p->all[k];
        bool named = names == NULL;
        for (size_t j = 0; !named && names[j] != NULL; j++)
            named = task->name != NULL && strcmp(task->name, names[j]) == 0;
        if (!named)
            continue;
        p->total_weight += task->weight ? task->weight : 1;
        p->tasks[p->n_tasks] = task;
        p->cum_weights[p->n_tasks] = p->total_weight;
        p->n_tasks++;
    }
}

static void free_plans(struct hn_type_plan *plans, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        free(plans[i].tasks);
        free(plans[i].all);
        free(plans[i].cum_weights);
        free(plans[i].host);
    }
    free(plans);
}

/* The plugin's user types as plans: tasks filtered by the tags, types left
 * without a task dropped. Returns 0, or -errno with err set (nothing is
 * left to run). */
static int build_plans(const struct hn_plugin *plugin, const char *const *tags,
                       const char *const *exclude_tags, struct hn_type_plan **out,
                       size_t *n_out, char *err, size_t err_len)
{
    const struct hn_user_type *types = plugin->user_types;
    size_t n = 0, n_plans = 0;
    while (types[n].name != NULL)
        n++;
    struct hn_type_plan *plans = calloc(n ? n : 1, sizeof *plans);
    if (plans == NULL)
        return -ENOMEM;
    for (size_t i = 0; i < n; i++) {
        const struct hn_user_type *t = &types[i];
        size_t nt = 0;
        while (t->tasks[nt].fn != NULL)
            nt++;
        struct hn_type_plan *p = &plans[n_plans];
        p->tasks = calloc(nt ? nt : 1, sizeof *p->tasks);
        p->all = calloc(nt ? nt : 1, sizeof *p->all);
        p->cum_weights = calloc(nt ? nt : 1, sizeof *p->cum_weights);
        if (p->tasks == NULL || p->all == NULL || p->cum_weights == NULL) {
            free_plans(plans, n_plans + 1);
            return -ENOMEM;
        }
        for (size_t k = 0; k < nt; k++) {
            const struct hn_task *task = &t->tasks[k];
            if (tags && !tag_in(task->tags, tags))
                continue;
            if (exclude_tags && tag_in(task->tags, exclude_tags))
                continue;
            p->all[p->n_all++] = task;
        }
        choose_tasks(p, NULL);
        p->weight = t->weight;
        p->fixed_count = t->fixed_count;
        p->type = t;
        p->slot = n_plans;
        /* Read only from plugins that know the field (it was reserved in 1.0). */
        p->headers = plugin->abi_minor >= 1 ? t->headers : NULL;
        p->abi_1_1 = plugin->abi_minor >= 1;
        p->abi_1_3 = plugin->abi_minor >= 3;
        p->index = (int)i;
        if (p->n_tasks == 0) {
            if (tags || exclude_tags)
                hn_logf(HN_INFO, "user type '%s' has no task left after tag filtering; "
                                 "it will not be spawned", t->name);
            free(p->tasks);
            free(p->all);
            free(p->cum_weights);
            memset(p, 0, sizeof *p);
            continue;
        }
        n_plans++;
    }
    bool any = false;
    for (size_t i = 0; i < n_plans; i++)
        any = any || plan_runs(&plans[i]);
    if (!any) {
        free_plans(plans, n_plans);
        hn_set_err(err, err_len,
                   tags || exclude_tags
                       ? "no task matches the given --tags/--exclude-tags"
                       : "the plugin has no user type with tasks and a weight or fixed_count");
        return -EINVAL;
    }
    *out = plans;
    *n_out = n_plans;
    return 0;
}

/* ---------------------------------------------------------------- */
/* Spawning                                                          */
/* ---------------------------------------------------------------- */

/* Next user type: unfilled fixed counts first, then smooth weighted
 * round-robin (weights 5:1 give AAABAA AAABAA...), deterministic. */
static int choose_plan(struct hn_runner *r)
{
    for (size_t i = 0; i < r->n_plans; i++) {
        const struct hn_type_plan *t = &r->plans[i];
        if (t->n_tasks > 0 && t->fixed_count > 0 && r->type_counts[i] < t->fixed_count)
            return (int)i;
    }
    int64_t total = 0;
    int best = -1;
    for (size_t i = 0; i < r->n_plans; i++) {
        const struct hn_type_plan *t = &r->plans[i];
        if (t->fixed_count > 0 || t->weight == 0 || t->n_tasks == 0)
            continue;
        r->swrr[i] += t->weight;
        total += t->weight;
        if (best < 0 || r->swrr[i] > r->swrr[best])
            best = (int)i;
    }
    if (best >= 0)
        r->swrr[best] -= total;
    return best;
}

/* Users the plugin can have at most (only fixed-count types: their sum). */
static uint32_t user_ceiling(const struct hn_runner *r)
{
    uint64_t fixed = 0;
    for (size_t i = 0; i < r->n_plans; i++) {
        const struct hn_type_plan *t = &r->plans[i];
        if (!plan_runs(t))
            continue;
        if (t->fixed_count == 0)
            return UINT32_MAX;
        fixed += t->fixed_count;
    }
    return fixed > UINT32_MAX ? UINT32_MAX : (uint32_t)fixed;
}

struct batch {
    struct hn_cmd *cmds;
    size_t n, cap;
};

static void batch_add(struct batch *b, const struct hn_cmd *c)
{
    if (b->n == b->cap) {
        b->cap = b->cap ? b->cap * 2 : 64;
        b->cmds = realloc(b->cmds, b->cap * sizeof *b->cmds);
        if (b->cmds == NULL)
            abort();
    }
    b->cmds[b->n++] = *c;
}

static void flush_batches(struct hn_runner *r, struct batch *b)
{
    for (int i = 0; i < r->n_workers; i++) {
        if (b[i].n > 0)
            hn_worker_send(r->workers[i], b[i].cmds, b[i].n);
        free(b[i].cmds);
        b[i] = (struct batch){0};
    }
}

static void broadcast(struct hn_runner *r, enum hn_cmd_kind kind)
{
    struct hn_cmd c = {.kind = kind};
    for (int i = 0; i < r->n_workers; i++)
        hn_worker_send(r->workers[i], &c, 1);
}

/* Starts one user of plan p (on a worker thread; a fleet only counts it). */
static void spawn_one(struct hn_runner *r, int p, struct batch *b)
{
    int wi = 0;
    if (r->fleet == NULL) {
        wi = (int)(r->next_user_id % (uint64_t)r->n_workers);
        struct hn_cmd c = {.kind = HN_CMD_SPAWN, .plan = &r->plans[p],
                           .user_id = r->next_user_id};
        batch_add(&b[wi], &c);
    }
    r->next_user_id++;
    if (r->stack_n == r->stack_cap) {
        r->stack_cap = r->stack_cap ? r->stack_cap * 2 : 1024;
        r->stack = realloc(r->stack, r->stack_cap * sizeof *r->stack);
        if (r->stack == NULL)
            abort();
    }
    r->stack[r->stack_n++] = ((uint32_t)wi << 16) | (uint32_t)p;
    r->type_counts[p]++;
    r->spawned++;
    r->targets_changed = true;
}

/* Stops the newest user (of plan p, or of any plan when p < 0). */
static void stop_one(struct hn_runner *r, int p, struct batch *b)
{
    size_t i = r->stack_n;
    while (i > 0 && p >= 0 && (int)(r->stack[i - 1] & 0xffff) != p)
        i--;
    if (i == 0)
        return;
    uint32_t entry = r->stack[i - 1];
    memmove(&r->stack[i - 1], &r->stack[i], (r->stack_n - i) * sizeof *r->stack);
    r->stack_n--;
    int wi = (int)(entry >> 16);
    int plan = (int)(entry & 0xffff);
    if (r->fleet == NULL) {
        struct hn_cmd c = {.kind = HN_CMD_STOP_USERS, .count = 1,
                           .plan = p >= 0 ? &r->plans[plan] : NULL};
        batch_add(&b[wi], &c);
    }
    r->type_counts[plan]--;
    r->spawned--;
    r->targets_changed = true;
}

/* The plan to change next under per-type targets: *stop = true for a type
 * with too many users (stopped first, so a rebalance frees capacity before
 * using it), else the type furthest below its target; -1 when all match. */
static int next_type_step(const struct hn_runner *r, bool *stop)
{
    int best = -1;
    uint32_t best_gap = 0;
    for (size_t i = 0; i < r->n_plans; i++) {
        if (r->type_counts[i] > r->type_targets[i]) {
            *stop = true;
            return (int)i;
        }
        uint32_t gap = r->type_targets[i] - r->type_counts[i];
        if (gap > best_gap) {
            best_gap = gap;
            best = (int)i;
        }
    }
    *stop = false;
    return best;
}

/* Moves the user count toward the target; returns true when reached. */
static bool adjust_users(struct hn_runner *r, uint64_t now_us, struct batch *b)
{
    uint32_t target = r->target_users;
    uint32_t ceiling = r->use_type_targets ? UINT32_MAX : user_ceiling(r);
    if (target > ceiling)
        target = ceiling;
    bool stop;
    if (r->use_type_targets ? next_type_step(r, &stop) < 0 : r->spawned == target) {
        r->spawn_credit = 0;
        return true;
    }
    double dt = (double)(now_us - r->last_tick_us) / 1e6;
    r->spawn_credit += dt * r->spawn_rate;
    /* At least one user per step, as Locust, so tiny rates still move. */
    if (r->spawn_credit < 1.0)
        return false;
    uint32_t steps = (uint32_t)fmin(r->spawn_credit, 1e9);
    r->spawn_credit -= steps;

    while (steps-- > 0) {
        if (r->use_type_targets) {
            int p = next_type_step(r, &stop);
            if (p < 0)
                break;
            if (stop)
                stop_one(r, p, b);
            else
                spawn_one(r, p, b);
        } else if (r->spawned < target) {
            int p = choose_plan(r);
            if (p < 0)
                break;
            spawn_one(r, p, b);
        } else if (r->spawned > target) {
            stop_one(r, -1, b);
        } else {
            break;
        }
    }
    return r->use_type_targets ? next_type_step(r, &stop) < 0 : r->spawned == target;
}

/* Tells the fleet the cluster-wide users per user type. */
static void send_fleet_targets(struct hn_runner *r)
{
    size_t n = 0;
    while (r->cfg.plugin->user_types[n].name != NULL)
        n++;
    uint32_t *counts = calloc(n ? n : 1, sizeof *counts);
    if (counts == NULL)
        abort();
    for (size_t i = 0; i < r->n_plans; i++)
        counts[r->plans[i].index] = r->type_counts[i];
    r->fleet->set_targets(r->fleet->ud, counts, n, r->spawn_rate);
    free(counts);
}

/* ---------------------------------------------------------------- */
/* Aggregation and snapshots                                         */
/* ---------------------------------------------------------------- */

static void ring_clear(struct hn_runner *r)
{
    for (size_t i = 0; i <= WINDOW; i++) {
        free(r->ring[i].requests);
        free(r->ring[i].failures);
        r->ring[i].requests = r->ring[i].failures = NULL;
        r->ring[i].n = 0;
        hn_hist_reset(&r->ring[i].total);
    }
    r->ring_head = r->ring_n = 0;
}

/* Iterations a worker could not start (its user had stopped itself). */
static uint64_t missed_total(struct hn_runner *r)
{
    uint64_t n = 0;
    for (int i = 0; i < r->n_workers; i++)
        n += hn_worker_iterations_missed(r->workers[i]);
    return n;
}

/* Takes every worker thread's shard (or the fleet's table) into the
 * cumulative table. [control] */
static void collect_shards(struct hn_runner *r, struct hn_hist *second_total, bool keep)
{
    int sources = r->fleet ? 1 : r->n_workers;
    for (int i = 0; i < sources; i++) {
        struct hn_stats **spare = r->fleet ? &r->fleet_spare : &r->spares[i];
        if (r->fleet)
            r->fleet->swap_stats(r->fleet->ud, spare);
        else
            hn_worker_swap_shard(r->workers[i], spare);
        struct hn_stats *delta = *spare;
        if (i == 0 && r->fleet == NULL) {
            /* Dropped iterations (none idle and the pool full, or their
             * user had stopped itself) join the statistics here, so that
             * they reach a master like the rest. */
            uint64_t dropped = r->dropped + (missed_total(r) - r->missed_base);
            hn_stats_dropped(delta, dropped - r->dropped_counted);
            r->dropped_counted = dropped;
        }
        if (keep && !hn_stats_empty(delta)) {
            if (r->delta_cb)
                r->delta_cb(r->delta_ud, delta);
            /* Under snap_lock: the drill-down reads the table from the API. */
            pthread_mutex_lock(&r->snap_lock);
            hn_stats_merge(&r->cum, delta);
            pthread_mutex_unlock(&r->snap_lock);
            if (r->cap != NULL)
                hn_stats_merge(&r->cap_stats, delta);
            if (second_total) {
                for (size_t k = 0; k < delta->n_entries; k++)
                    hn_hist_merge(second_total, &delta->entries[k]->hist);
            }
        }
        hn_stats_reset(delta);
    }
}

static struct hn_ratio_view *build_ratios(struct hn_runner *r, size_t *n_out)
{
    struct hn_ratio_view *v = calloc(r->n_plans, sizeof *v);
    if (v == NULL) {
        *n_out = 0;
        return NULL;
    }
    size_t j = 0;
    for (size_t i = 0; i < r->n_plans; i++) {
        const struct hn_type_plan *p = &r->plans[i];
        if (!plan_runs(p) && r->type_counts[i] == 0)
            continue; /* not chosen for this run */
        struct hn_ratio_view *vi = &v[j++];
        vi->user_type = (char *)p->type->name;
        vi->users = r->type_counts[i];
        vi->ratio = r->spawned ? (double)r->type_counts[i] / r->spawned : 0;
        vi->n_tasks = p->n_tasks;
        vi->tasks = calloc(p->n_tasks ? p->n_tasks : 1, sizeof *vi->tasks);
        for (size_t k = 0; vi->tasks && k < p->n_tasks; k++) {
            uint64_t wgt = p->tasks[k]->weight ? p->tasks[k]->weight : 1;
            bool seq = p->type->flags & HN_USER_SEQUENTIAL;
            vi->tasks[k].task = (char *)p->tasks[k]->name;
            vi->tasks[k].ratio = seq ? 1.0 / (double)p->n_tasks
                                     : (double)wgt / (double)p->total_weight;
        }
    }
    *n_out = j;
    return v;
}

/* The last seconds' counts (the 10 s window) for a snapshot. */
struct snapshot_window {
    const uint64_t *requests, *failures; /* per cum entry */
    double seconds;
    const struct hn_hist *total;
};

/* Builds a snapshot of the runner as it is now; win NULL = no window yet.
 * Every snapshot, the first included, comes from here, so all have the
 * same shape (a master's first one already says distributed and lists its
 * workers). [control, or main before the control thread starts] */
static struct hn_snapshot *build_snapshot(struct hn_runner *r, enum hn_state state,
                                          const struct snapshot_window *win)
{
    size_t n_views = 0;
    struct hn_worker_view *views = r->fleet ? r->fleet->workers(r->fleet->ud, &n_views) : NULL;
    /* A master shows the users its workers actually run, as they report. */
    uint64_t fleet_users = 0;
    for (size_t i = 0; i < n_views; i++)
        fleet_users += strcmp(views[i].state, "missing") != 0 ? views[i].users : 0;

    pthread_mutex_lock(&r->lock);
    size_t n_ratios = 0; /* under the lock: a picker may change the plans */
    struct hn_ratio_view *ratios = build_ratios(r, &n_ratios);
    struct hn_snapshot_input in = {
        .cum = &r->cum,
        .win_requests = win ? win->requests : NULL,
        .win_failures = win ? win->failures : NULL,
        .window_s = win ? win->seconds : 0,
        .win_total = win ? win->total : NULL,
        .seq = r->seq++,
        .state = state,
        .host = r->host,
        .users = r->fleet ? (uint32_t)fleet_users : r->spawned,
        .target_users = r->target_users,
        .spawn_rate = r->spawn_rate,
        .start_time = r->start_wall,
        .end_time = r->end_wall,
        .now = hn_wall_s(),
        .active_s = (double)r->active_us / 1e6,
        .run_time_s = r->run_time_s,
        .stop_reason = r->stop_reason,
        .ratios = ratios,
        .n_ratios = n_ratios,
        .distributed = r->fleet != NULL,
        .workers = views,
        .n_workers = n_views,
        .stages = (const struct hn_stage_view *)r->stages,
        .n_stages = r->n_stages,
        .stage = r->stage,
        .shape = r->cfg.plugin->abi_minor >= 1 && r->cfg.plugin->shape != NULL,
        .open = r->open,
        .arrival_rate = r->arrival_rate,
        .iterations = r->cum.start_lag.count, /* one lag per iteration started */
        .dropped_iterations = r->cum.dropped_iterations,
        .arrivals_s = (double)(r->arrivals_end_us ? r->arrivals_end_us : r->active_us) / 1e6,
        .capacity = r->cap,
        .loop_lag_ms = r->lg_lag_ms,
        .worker_cpu_percent = r->lg_cpu,
        .max_loop_lag_ms = r->lg_max_lag_ms,
        .max_worker_cpu_percent = r->lg_max_cpu,
        .overloaded_s = r->lg_overloaded_s,
        .overloaded = r->lg_streak >= LOADGEN_STREAK,
        .params = r->params,
        .le_s = r->cfg.n_le ? r->cfg.le_s : hn_default_le_s,
        .n_le = r->cfg.n_le ? r->cfg.n_le : hn_default_n_le,
    };
    struct hn_snapshot *snap = hn_snapshot_build(&in);
    if (snap != NULL)
        hn_thresholds_judge(r->thresholds, r->n_thresholds, snap, state == HN_STATE_STOPPED);
    pthread_mutex_unlock(&r->lock);

    for (size_t i = 0; i < n_ratios; i++)
        free(ratios[i].tasks);
    free(ratios);
    hn_worker_views_free(views, n_views);
    return snap;
}

/* An entry's position in the cumulative table. [control] */
static long cum_index(void *ud, const char *type, const char *name)
{
    struct hn_runner *r = ud;
    const struct hn_stats_entry *e = hn_stats_find(&r->cum, type, name);
    return e ? (long)e->index : -1;
}

static void append_history(struct hn_runner *r, const struct hn_snapshot *s)
{
    size_t max = r->cfg.history_max ? r->cfg.history_max : 7200;
    pthread_mutex_lock(&r->snap_lock);
    if (r->history_n == max) {
        /* Halve the resolution of everything after the first point:
         * memory stays bounded and the start of the run is never lost. */
        size_t j = 1;
        for (size_t i = 1; i < r->history_n; i += 2)
            r->history[j++] = r->history[i];
        r->history_n = j;
    }
    if (r->history_n == r->history_cap) {
        r->history_cap = r->history_cap ? r->history_cap * 2 : 256;
        if (r->history_cap > max)
            r->history_cap = max;
        r->history = realloc(r->history, r->history_cap * sizeof *r->history);
        if (r->history == NULL)
            abort();
    }
    struct hn_history_point *h = &r->history[r->history_n++];
    h->time = s->now;
    h->users = s->users;
    h->rps = s->total.current_rps;
    h->fail_s = s->total.current_fail_s;
    h->p50_ms = s->total.cur_p50_ms;
    h->p95_ms = s->total.cur_p95_ms;
    h->p99_ms = s->total.cur_p99_ms;
    h->requests = s->total.requests;
    h->failures = s->total.failures;
    hn_entry_history_add(r->eh, s, cum_index, r);
    pthread_mutex_unlock(&r->snap_lock);
}

/* Merges shards, advances the window, publishes a snapshot. [control] */

/* Samples the worker threads' lateness and CPU (worst thread) and warns,
 * at most every 30 s, while over the limits. [control] */
static void sample_load_generator(struct hn_runner *r, enum hn_state state)
{
    uint64_t now = hn_mono_us();
    double dt = (double)(now - r->lg_prev_us) / 1e6;
    if (r->lg_prev_us != 0 && dt < 0.5)
        return;
    double lag = 0, cpu = 0;
    for (int i = 0; i < r->n_workers; i++) {
        double c = hn_worker_cpu_s(r->workers[i]);
        double l = (double)hn_worker_take_lag(r->workers[i]) / 1000.0;
        if (r->lg_prev_us != 0 && (c - r->lg_cpu_prev[i]) / dt * 100 > cpu)
            cpu = (c - r->lg_cpu_prev[i]) / dt * 100;
        r->lg_cpu_prev[i] = c;
        lag = l > lag ? l : lag;
    }
    bool first = r->lg_prev_us == 0;
    r->lg_prev_us = now;
    if (first)
        return;
    bool running = state == HN_STATE_SPAWNING || state == HN_STATE_RUNNING;
    pthread_mutex_lock(&r->lock);
    r->lg_lag_ms = lag;
    r->lg_cpu = cpu > 100 ? 100 : cpu;
    bool over = running && (lag >= LOADGEN_LAG_MS || r->lg_cpu >= LOADGEN_CPU_PERCENT);
    if (running) {
        r->lg_max_lag_ms = lag > r->lg_max_lag_ms ? lag : r->lg_max_lag_ms;
        r->lg_max_cpu = r->lg_cpu > r->lg_max_cpu ? r->lg_cpu : r->lg_max_cpu;
    }
    r->lg_streak = over ? r->lg_streak + 1 : 0;
    bool sustained = r->lg_streak >= LOADGEN_STREAK;
    if (sustained)
        r->lg_overloaded_s += r->lg_streak == LOADGEN_STREAK ? dt * LOADGEN_STREAK : dt;
    bool warn = sustained && (r->lg_warned_us == 0 || now - r->lg_warned_us >= 30000000u);
    if (warn)
        r->lg_warned_us = now;
    pthread_mutex_unlock(&r->lock);
    if (warn)
        hn_logf(HN_WARNING, "hornet itself is the bottleneck: a worker thread at %.0f%% CPU, its "
                            "timers firing up to %.1f ms late (added to the latencies it "
                            "measures); use more --threads or worker processes",
                r->lg_cpu, lag);
}

static void aggregate(struct hn_runner *r, enum hn_state state, bool state_changed,
                      bool add_history)
{
    sample_load_generator(r, state);
    struct window_slot *slot = &r->ring[r->ring_head];
    hn_hist_reset(&slot->total);
    collect_shards(r, &slot->total, true);

    /* Remember the cumulative counts of this tick. */
    size_t n = r->cum.n_entries;
    uint64_t *req = realloc(slot->requests, (n ? n : 1) * sizeof *req);
    uint64_t *fail = realloc(slot->failures, (n ? n : 1) * sizeof *fail);
    if (req == NULL || fail == NULL)
        abort();
    slot->requests = req;
    slot->failures = fail;
    for (size_t i = 0; i < n; i++) {
        req[i] = r->cum.entries[i]->requests;
        fail[i] = r->cum.entries[i]->failures;
    }
    slot->n = n;
    slot->time = (double)hn_mono_us() / 1e6;
    size_t newest = r->ring_head;
    r->ring_head = (r->ring_head + 1) % (WINDOW + 1);
    if (r->ring_n < WINDOW + 1)
        r->ring_n++;

    /* The window spans from the oldest kept tick to this one. */
    size_t oldest = (newest + (WINDOW + 1) - (r->ring_n - 1)) % (WINDOW + 1);
    const struct window_slot *o = &r->ring[oldest];
    double window_s = r->ring_n > 1 ? slot->time - o->time : 0;
    uint64_t *win_req = calloc(n ? n : 1, sizeof *win_req);
    uint64_t *win_fail = calloc(n ? n : 1, sizeof *win_fail);
    if (win_req == NULL || win_fail == NULL)
        abort();
    for (size_t i = 0; i < n && r->ring_n > 1; i++) {
        win_req[i] = req[i] - (i < o->n ? o->requests[i] : 0);
        win_fail[i] = fail[i] - (i < o->n ? o->failures[i] : 0);
    }
    struct hn_hist win_total;
    hn_hist_init(&win_total);
    for (size_t k = 1; k < r->ring_n; k++) /* the seconds after the oldest tick */
        hn_hist_merge(&win_total, &r->ring[(oldest + k) % (WINDOW + 1)].total);

    struct snapshot_window win = {win_req, win_fail, window_s, &win_total};
    struct hn_snapshot *snap = build_snapshot(r, state, &win);
    free(win_req);
    free(win_fail);
    hn_hist_cleanup(&win_total);
    if (snap == NULL)
        return;

    if (add_history)
        append_history(r, snap);
    pthread_mutex_lock(&r->snap_lock);
    struct hn_snapshot *old = r->latest;
    r->latest = snap;
    pthread_cond_broadcast(&r->snap_cond);
    pthread_mutex_unlock(&r->snap_lock);
    hn_snapshot_release(old);

    pthread_mutex_lock(&r->subs_lock);
    for (int i = 0; i < r->n_subs; i++)
        r->subs[i](r->subs_ud[i], snap, state_changed);
    pthread_mutex_unlock(&r->subs_lock);
}

/* Clears the statistics; tell_fleet drops what workers gathered before
 * (not for a new run: the fleet's start_run already did). */
static void reset_stats_locked_out(struct hn_runner *r, bool tell_fleet)
{
    if (r->fleet && tell_fleet)
        r->fleet->reset(r->fleet->ud);
    collect_shards(r, NULL, false);
    pthread_mutex_lock(&r->snap_lock);
    hn_stats_reset(&r->cum);
    hn_entry_history_clear(r->eh);
    pthread_mutex_unlock(&r->snap_lock);
    hn_stats_reset(&r->cap_stats);
    ring_clear(r);
    pthread_mutex_lock(&r->snap_lock);
    r->history_n = 0;
    pthread_mutex_unlock(&r->snap_lock);
}

/* ---------------------------------------------------------------- */
/* The control thread                                                */
/* ---------------------------------------------------------------- */

static void begin_stop_locked(struct hn_runner *r, const char *reason)
{
    if (r->state == HN_STATE_STOPPING || r->state == HN_STATE_STOPPED ||
        r->state == HN_STATE_READY)
        return;
    free(r->stop_reason);
    r->stop_reason = strdup(reason);
    r->stop_requested = true;
    if (r->open && r->arrivals_end_us == 0)
        r->arrivals_end_us = r->active_us ? r->active_us : 1;
    if (r->cap != NULL)
        hn_capacity_end(r->cap, reason); /* no-op when the search itself ended the run */
    r->state = HN_STATE_STOPPING;
    r->state_changed = true;
    pthread_cond_broadcast(&r->cond);
}

_Static_assert(sizeof(struct hn_stage) == sizeof(struct hn_stage_view) &&
                   offsetof(struct hn_stage, users) == offsetof(struct hn_stage_view, users),
               "a stage view is a stage");

/* Sets what the load profile wants at this moment of active run time: the
 * user target, with a spawn rate that keeps up with its slope (the count
 * then trails the line by at most one spawn step), or in the open model the
 * arrival rate. Ends the run after the last stage. [control, r->lock held] */
static void follow_profile(struct hn_runner *r)
{
    double t = (double)r->active_us / 1e6, begin = 0;
    uint32_t from = 0;
    for (size_t i = 0; i < r->n_stages; i++) {
        const struct hn_stage *st = &r->stages[i];
        double end = begin + st->duration_s;
        if (t < end) {
            double f = st->duration_s > 0 ? (t - begin) / st->duration_s : 1;
            double want = (double)from + ((double)st->users - (double)from) * f;
            uint32_t target = (uint32_t)llround(want);
            double slope = st->duration_s > 0
                               ? fabs((double)st->users - (double)from) / st->duration_s
                               : 1e6;
            if (r->open) {
                r->stage = (int)i; /* the stages give the arrival rate */
                r->arrival_rate = want;
                return;
            }
            if ((int)i != r->stage || target != r->target_users) {
                r->stage = (int)i;
                r->target_users = target;
                r->spawn_rate = fmin(fmax(slope * 1.5, 1.0), 1e6);
            }
            return;
        }
        begin = end;
        from = st->users;
    }
    r->stage = -1;
    begin_stop_locked(r, "load profile complete");
}

/* The open model begins (a fresh run): iterations at rate per second,
 * with a pool of up to pool_max users. [r->lock held] */
static void open_begin(struct hn_runner *r, double rate, uint32_t pool_max)
{
    r->open = true;
    r->arrival_rate = rate;
    r->pool_max = pool_max;
    r->target_users = pool_max; /* what the header shows beside the users */
    r->arrival_acc = 0;
    r->arrival_until = -1;
    /* Every user of the last run is gone: none is busy. */
    for (int w = 0; w < r->n_workers; w++)
        for (size_t p = 0; p < r->n_plans; p++) {
            r->open_spawned[(size_t)w * r->n_plans + p] = 0;
            r->open_assigned[(size_t)w * r->n_plans + p] =
                hn_worker_iterations_done(r->workers[w], p);
        }
    memset(r->open_swrr, 0, r->n_plans * sizeof *r->open_swrr);
}

/* Asks the plugin's load shape what it wants now (about once a second) and
 * applies it; HN_SHAPE_DONE or a step hornet cannot take ends the run. Its
 * first step says whether the run follows users or, with an arrival rate,
 * the open model. The plugin's code runs without the runner's lock.
 * [control, r->lock held] */
static void ask_shape(struct hn_runner *r, uint64_t now_us)
{
    if (now_us < r->next_shape_us)
        return;
    r->next_shape_us = now_us + 1000000u;
    double t = (double)r->active_us / 1e6;
    struct hn_shape_step step = {0};
    pthread_mutex_unlock(&r->lock);
    int rc = r->cfg.plugin->shape(t, &step);
    pthread_mutex_lock(&r->lock);
    if (!r->shape || (r->state != HN_STATE_SPAWNING && r->state != HN_STATE_RUNNING))
        return; /* stopped or paused meanwhile */
    if (rc == HN_SHAPE_DONE) {
        begin_stop_locked(r, "load shape finished");
        return;
    }
    bool first = !r->shape_asked, open = first ? step.arrival_rate > 0 : r->open;
    r->shape_asked = true;
    bool valid = rc == HN_SHAPE_CONTINUE && step.users <= r->cfg.max_users &&
                 (open ? step.users > 0 && step.arrival_rate >= 0 && step.arrival_rate <= 1e6
                       : step.spawn_rate > 0 && isfinite(step.spawn_rate) &&
                             step.arrival_rate == 0);
    if (!valid) {
        char why[300];
        snprintf(why, sizeof why, "the load shape returned %d with %u users at %g users/s, "
                                  "arrival rate %g (expected 0 or 1, at most %u users, a spawn "
                                  "rate > 0, or from its first step on an arrival rate from 0 to "
                                  "1000000/s and a pool of at least one user)",
                 rc, step.users, step.spawn_rate, step.arrival_rate, r->cfg.max_users);
        hn_logf(HN_ERROR, "%s: ending the run", why);
        begin_stop_locked(r, "load shape returned an invalid step");
        return;
    }
    if (open) {
        if (first)
            open_begin(r, step.arrival_rate, step.users);
        r->arrival_rate = step.arrival_rate;
        r->pool_max = r->target_users = step.users;
        return;
    }
    if (step.users != r->target_users || step.spawn_rate != r->spawn_rate) {
        r->target_users = step.users;
        r->spawn_rate = fmin(step.spawn_rate, 1e6);
        if (r->state == HN_STATE_RUNNING) {
            r->state = HN_STATE_SPAWNING;
            r->state_changed = true;
        }
    }
}

/* Open model: the user type of the next iteration, by weight (fixed
 * counts do not apply: a pool has no fixed users). */
static int open_plan(struct hn_runner *r)
{
    int64_t total = 0;
    int best = -1;
    for (size_t i = 0; i < r->n_plans; i++) {
        if (!plan_runs(&r->plans[i]))
            continue;
        unsigned wgt = r->plans[i].weight ? r->plans[i].weight : 1;
        r->open_swrr[i] += wgt;
        total += wgt;
        if (best < 0 || r->open_swrr[i] > r->open_swrr[best])
            best = (int)i;
    }
    if (best >= 0)
        r->open_swrr[best] -= total;
    return best;
}

/* Hands one iteration, intended to start at at_us, to an idle user of the
 * pool, or to a new one while the pool may grow; else it is dropped (and
 * counted: an open model never waits for a free user). [control, r->lock] */
static void open_assign(struct hn_runner *r, uint64_t at_us, struct batch *b)
{
    int p = open_plan(r);
    if (p < 0)
        return;
    size_t nw = (size_t)r->n_workers;
    for (size_t k = 0; k < nw; k++) {
        size_t w = (r->open_rr + k) % nw, i = w * r->n_plans + (size_t)p;
        uint64_t busy = r->open_assigned[i] - hn_worker_iterations_done(r->workers[w], (size_t)p);
        if (r->open_spawned[i] > busy) {
            struct hn_cmd c = {.kind = HN_CMD_ITERATE, .plan = &r->plans[p], .at_us = at_us};
            batch_add(&b[w], &c);
            r->open_assigned[i]++;
            r->open_rr = w + 1;
            r->iterations++;
            return;
        }
    }
    if (r->spawned < r->pool_max) {
        size_t w = r->open_rr++ % nw, i = w * r->n_plans + (size_t)p;
        struct hn_cmd c = {.kind = HN_CMD_SPAWN, .plan = &r->plans[p],
                           .user_id = r->next_user_id++, .at_us = at_us};
        batch_add(&b[w], &c);
        r->open_spawned[i]++;
        r->open_assigned[i]++;
        r->type_counts[p]++;
        r->spawned++;
        r->iterations++;
        return;
    }
    r->dropped++;
}

/* Starts every iteration due up to one tick ahead, each with its exact
 * intended time (workers start them on their timers), whatever the target
 * is doing: a slow target gets more users or dropped iterations, never
 * fewer arrivals. Arrivals are the integral of the rate, so a rate that
 * changes (stages) ramps smoothly and a constant one is exactly k / rate.
 * [control, r->lock held] */
static void open_arrivals(struct hn_runner *r, uint64_t now_us, struct batch *b)
{
    double active = (double)r->active_us / 1e6;
    double horizon = active + (double)TICK_US / 1e6;
    if (r->arrival_until < 0)
        r->arrival_until = active; /* the first arrival is at once */
    if (!(horizon > r->arrival_until))
        return;
    double rate = r->arrival_rate > 0 ? r->arrival_rate : 0;
    double from = r->arrival_until, acc = r->arrival_acc;
    double next = floor(acc) + 1; /* the next whole arrival to cross */
    if (acc == 0 && r->iterations + r->dropped == 0)
        next = 0;                 /* the very first one, at the start */
    double acc_end = acc + rate * (horizon - from);
    for (; next <= acc_end && rate > 0; next += 1) {
        double due = from + (next - acc) / rate;
        int64_t at = (int64_t)now_us + (int64_t)llround((due - active) * 1e6);
        open_assign(r, at > 0 ? (uint64_t)at : 1, b);
    }
    r->arrival_acc = acc_end;
    r->arrival_until = horizon;
}

/* A master in the open model: the fleet splits the rate (and the pool)
 * over its workers, each of which schedules its share. A ramp changes the
 * rate every tick; the fleet hears of it at most every 100 ms.
 * [control, r->lock held] */
static void send_fleet_arrival(struct hn_runner *r, uint64_t now_us)
{
    double rate = r->arrival_rate > 1e-6 ? r->arrival_rate : 0; /* 1e-9: stages not begun */
    if ((rate == r->fleet_rate_sent && r->pool_max == r->fleet_pool_sent) ||
        (r->fleet_rate_sent > 0 && now_us - r->fleet_rate_at < 100000u && rate > 0))
        return;
    r->fleet->set_arrival(r->fleet->ud, rate, r->pool_max);
    r->fleet_rate_sent = rate;
    r->fleet_pool_sent = r->pool_max;
    r->fleet_rate_at = now_us;
}

/* The capacity search's clock: a step's hold begins once its load is
 * reached (all users spawned; at once for an arrival rate) and is judged
 * when it has lasted hold_s. Both moments force a collection, so the
 * step's statistics hold exactly its own requests (to within one tick).
 * [control, r->lock held] */
static void capacity_tick(struct hn_runner *r)
{
    const double hold_s = r->cap_hold_s;
    if (!r->cap_holding && !r->cap_judge && (r->open || r->state == HN_STATE_RUNNING)) {
        r->cap_holding = true;
        r->cap_hold_start_us = r->active_us;
        r->cap_reset_step = true;
        r->force_tick = true;
    } else if (r->cap_holding && (double)(r->active_us - r->cap_hold_start_us) / 1e6 >= hold_s) {
        r->cap_holding = false;
        r->cap_judge = true;
        r->force_tick = true;
    }
}

/* Judges the step just held on its own statistics and moves to the next
 * load, or ends the run with what the search found. [control] */
static void judge_capacity_step(struct hn_runner *r)
{
    pthread_mutex_lock(&r->lock);
    if (r->cap == NULL || (r->state != HN_STATE_SPAWNING && r->state != HN_STATE_RUNNING)) {
        pthread_mutex_unlock(&r->lock);
        return; /* stopped or paused meanwhile */
    }
    double held_s = (double)(r->active_us - r->cap_hold_start_us) / 1e6;
    struct hn_snapshot_input in = {
        .cum = &r->cap_stats,
        .state = HN_STATE_RUNNING,
        .host = r->host,
        .users = r->spawned,
        .target_users = r->target_users,
        .now = hn_wall_s(),
        .active_s = held_s > 0 ? held_s : 1e-3,
        .stage = -1,
    };
    struct hn_snapshot *step = hn_snapshot_build(&in);
    bool more = false;
    if (step != NULL) {
        hn_thresholds_judge(r->thresholds, r->n_thresholds, step, true);
        more = hn_capacity_record(r->cap, step);
        hn_snapshot_release(step);
    }
    if (more) {
        double load = hn_capacity_load(r->cap);
        if (r->open) {
            r->arrival_rate = load;
        } else {
            r->target_users = (uint32_t)load;
            r->spawn_rate = r->cap_spawn_rate;
            r->spawn_now = true;
            r->state = HN_STATE_SPAWNING;
            r->state_changed = true;
        }
        hn_logf(HN_INFO, "capacity search: the step held; now %g %s", load,
                r->open ? "iterations/s" : "users");
    } else {
        struct hn_capacity_view *v = hn_capacity_view(r->cap);
        const char *outcome = v && v->outcome ? v->outcome : "capacity search over";
        hn_logf(HN_INFO, "%s", outcome);
        begin_stop_locked(r, outcome);
        hn_capacity_view_free(v);
    }
    pthread_cond_broadcast(&r->cond);
    pthread_mutex_unlock(&r->lock);
}

/* A master: the picker's host and tasks per type, for its workers (the
 * master itself only decides the counts). [control, r->lock held] */
static void send_type_choice(struct hn_runner *r)
{
    for (size_t i = 0; i < r->n_plans; i++) {
        const struct hn_type_plan *p = &r->plans[i];
        const char **names = NULL;
        if (p->n_tasks != p->n_all && (names = calloc(p->n_tasks + 1, sizeof *names)) != NULL)
            for (size_t k = 0; k < p->n_tasks; k++)
                names[k] = p->tasks[k]->name;
        r->fleet->set_type_choice(r->fleet->ud, (size_t)p->index, p->host, names);
        free(names);
    }
}

/* Ends the run when an abort threshold is broken past its grace period.
 * [control, r->lock held] */
static void check_abort_thresholds(struct hn_runner *r, const struct hn_snapshot *s)
{
    if (r->state != HN_STATE_SPAWNING && r->state != HN_STATE_RUNNING &&
        r->state != HN_STATE_PAUSED)
        return;
    for (size_t i = 0; i < s->n_thresholds && i < r->n_thresholds; i++) {
        const struct hn_threshold *t = &r->thresholds[i];
        const struct hn_threshold_view *v = &s->thresholds[i];
        if (!t->abort || v->verdict != HN_VERDICT_FAIL || s->active_s < t->grace_s ||
            strcmp(v->expr, t->expr) != 0)
            continue;
        char reason[256];
        snprintf(reason, sizeof reason, "threshold broken: %.200s", t->expr);
        hn_logf(HN_WARNING, "%s: ending the run", reason);
        begin_stop_locked(r, reason);
        return;
    }
}

static void stop_test_from_user(void *ud, const char *reason);

/* Worker thread i's configuration for the plugin's feeders, parameter
 * values and plans. */
static struct hn_worker_config worker_config(struct hn_runner *r, int i,
                                             const struct hn_feeders *feeders,
                                             const struct hn_params *params, size_t n_plans)
{
    return (struct hn_worker_config){
        .index = i,
        .seed = r->cfg.seed,
        .stop_test = stop_test_from_user,
        .stop_test_ud = r,
        .feeders = feeders,
        .params = params,
        .n_plans = n_plans,
        .limits = r->cfg.limits,
        .in_flight_cap = r->cfg.in_flight_cap,
        .host = r->host,
    };
}

/* The swap itself, under r->lock on the control thread: between runs no
 * user exists and the stopped run's statistics are collected, so the old
 * worker threads hold nothing. The new ones start before the old ones go,
 * so a failure leaves everything as it was. */
static void swap_plugin(struct hn_runner *r, struct plugin_swap *s)
{
    s->done = true;
    if ((r->state != HN_STATE_READY && r->state != HN_STATE_STOPPED) || r->new_run) {
        s->rc = -EBUSY;
        snprintf(s->err, sizeof s->err, "a run is on: stop it before reloading the plugin");
        return;
    }
    for (int i = 0; i < r->n_workers; i++) {
        struct hn_worker_config wc = worker_config(r, i, s->feeders, s->params, s->n_plans);
        if (hn_worker_start(&s->workers[i], &wc) != 0) {
            while (i-- > 0)
                hn_worker_join(s->workers[i]);
            s->rc = -EAGAIN;
            snprintf(s->err, sizeof s->err, "could not start a worker thread");
            return;
        }
    }
    for (int i = 0; i < r->n_workers; i++) {
        hn_worker_join(r->workers[i]);
        r->workers[i] = s->workers[i];
        r->lg_cpu_prev[i] = 0;
    }
#define SWAP(field, with) do { __typeof__(r->field) t_ = r->field; r->field = s->with; \
                               s->with = t_; } while (0)
    SWAP(plans, plans);
    SWAP(n_plans, n_plans);
    SWAP(params, params);
    SWAP(type_counts, type_counts);
    SWAP(type_targets, type_targets);
    SWAP(swrr, swrr);
    SWAP(open_spawned, open_spawned);
    SWAP(open_assigned, open_assigned);
    SWAP(open_swrr, open_swrr);
#undef SWAP
    r->cfg.plugin = s->plugin;
    r->cfg.feeders = s->feeders;
    r->use_type_targets = false;
    r->shape = false;
    r->spawned = 0;
    r->stack_n = 0;
    r->missed_base = missed_total(r);
    r->force_tick = true; /* a snapshot with the new user types */
    s->rc = 0;
}

static void *control_main(void *arg)
{
    struct hn_runner *r = arg;
    struct batch *b = calloc(r->n_workers > 0 ? (size_t)r->n_workers : 1, sizeof *b);
    if (b == NULL)
        abort();
    r->last_tick_us = hn_mono_us();
    r->next_agg_us = r->last_tick_us + 1000000u;

    pthread_mutex_lock(&r->lock);
    for (;;) {
        uint64_t now = hn_mono_us();
        uint64_t dt = now - r->last_tick_us;
        bool reset = false, reset_fleet = false;

        if (r->quit)
            break;
        if (r->swap != NULL) {
            swap_plugin(r, r->swap);
            r->swap = NULL;
            pthread_cond_broadcast(&r->swap_cond);
        }
        if (r->reset_requested) {
            r->reset_requested = false;
            reset = reset_fleet = true;
            r->iterations = r->dropped = r->dropped_counted = 0;
            r->missed_base = missed_total(r);
            r->lg_max_lag_ms = r->lg_max_cpu = r->lg_overloaded_s = 0;
        }
        if (r->new_run) {
            r->new_run = false;
            reset = true;
            reset_fleet = false;
            r->iterations = r->dropped = r->dropped_counted = 0;
            r->missed_base = missed_total(r);
            r->fleet_rate_sent = -1;
            r->arrivals_end_us = 0;
            r->lg_max_lag_ms = r->lg_max_cpu = r->lg_overloaded_s = 0;
            r->lg_warned_us = 0;
            r->lg_streak = 0;
            r->start_wall = hn_wall_s();
            r->end_wall = 0;
            r->active_us = 0;
            r->stop_sent = r->abort_sent = false;
            free(r->stop_reason);
            r->stop_reason = NULL;
            /* The shape's first step says which model the run follows, and
             * the open model goes first: no worker may see the run begin
             * as a closed one. */
            if (r->shape)
                ask_shape(r, now);
            if (r->fleet && r->open)
                send_fleet_arrival(r, now);
            if (r->fleet && r->fleet->set_params && r->params)
                r->fleet->set_params(r->fleet->ud, r->params);
            if (r->fleet && r->fleet->set_type_choice)
                send_type_choice(r);
            if (r->fleet)
                r->fleet->start_run(r->fleet->ud, r->host);
        }
        if (r->host_changed) {
            r->host_changed = false;
            if (r->fleet)
                r->fleet->set_host(r->fleet->ud, r->host);
            for (int i = 0; i < r->n_workers; i++) {
                struct hn_cmd c = {.kind = HN_CMD_SET_HOST,
                                   .text = r->host ? strdup(r->host) : NULL};
                hn_worker_send(r->workers[i], &c, 1);
            }
        }
        if (r->pause_changed) {
            r->pause_changed = false;
            broadcast(r, r->state == HN_STATE_PAUSED ? HN_CMD_PAUSE : HN_CMD_RESUME);
            if (r->fleet)
                r->fleet->pause(r->fleet->ud, r->state == HN_STATE_PAUSED);
        }

        if (r->spawn_now) {
            r->spawn_now = false;
            if (r->spawn_credit < 1.0)
                r->spawn_credit = 1.0;
        }
        enum hn_state st = r->state;
        if (st == HN_STATE_SPAWNING || st == HN_STATE_RUNNING || st == HN_STATE_STOPPING)
            r->active_us += dt;

        if ((st == HN_STATE_SPAWNING || st == HN_STATE_RUNNING) && r->run_time_s > 0 &&
            (double)r->active_us / 1e6 >= r->run_time_s) {
            begin_stop_locked(r, "run time limit reached");
            st = r->state;
        }
        if ((st == HN_STATE_SPAWNING || st == HN_STATE_RUNNING) && r->n_stages > 0) {
            follow_profile(r);
            st = r->state;
        }
        if ((st == HN_STATE_SPAWNING || st == HN_STATE_RUNNING) && r->shape) {
            ask_shape(r, now);
            st = r->state; /* the plugin's time counts in the next tick's dt */
        }

        if ((st == HN_STATE_SPAWNING || st == HN_STATE_RUNNING) && r->open) {
            if (r->fleet)
                send_fleet_arrival(r, now);
            else
                open_arrivals(r, now, b);
            if (r->state != HN_STATE_RUNNING) {
                r->state = HN_STATE_RUNNING;
                r->state_changed = true;
            }
        } else if (st == HN_STATE_SPAWNING || st == HN_STATE_RUNNING) {
            bool reached = adjust_users(r, now, b);
            if (r->fleet && r->targets_changed)
                send_fleet_targets(r);
            r->targets_changed = false;
            enum hn_state want = reached ? HN_STATE_RUNNING : HN_STATE_SPAWNING;
            if (want != r->state) {
                r->state = want;
                r->state_changed = true;
            }
        } else if (st == HN_STATE_STOPPING) {
            if (!r->stop_sent) {
                r->stop_sent = true;
                broadcast(r, HN_CMD_RESUME); /* paused users must wake to stop */
                broadcast(r, HN_CMD_STOP_ALL);
                if (r->fleet)
                    r->fleet->stop(r->fleet->ud);
                r->spawned = 0;
                r->stack_n = 0;
                memset(r->type_counts, 0, r->n_plans * sizeof *r->type_counts);
                if (r->open_spawned != NULL)
                    memset(r->open_spawned, 0, (size_t)r->n_workers * r->n_plans *
                                                   sizeof *r->open_spawned);
                memset(r->swrr, 0, r->n_plans * sizeof *r->swrr);
                r->stop_deadline_us = now + (uint64_t)(r->cfg.stop_timeout * 1e6);
            } else {
                uint32_t alive = 0;
                bool settled = true;
                for (int i = 0; i < r->n_workers; i++) {
                    /* Settled first: its alive count is then current. */
                    settled = settled && hn_worker_settled(r->workers[i]);
                    alive += hn_worker_alive(r->workers[i]);
                }
                /* A fleet gets the workers' stop timeout plus time to
                 * report; a worker that never does is not waited for. */
                bool fleet_done = r->fleet == NULL || r->fleet->stopped(r->fleet->ud);
                if (!fleet_done && now >= r->stop_deadline_us + 10000000u) {
                    hn_logf(HN_WARNING, "workers did not confirm the stop in time; "
                                        "their last statistics may be missing");
                    fleet_done = true;
                }
                if (alive == 0 && settled && fleet_done && now > r->last_tick_us) {
                    r->state = HN_STATE_STOPPED;
                    r->state_changed = true;
                    r->end_wall = hn_wall_s();
                } else if (!r->abort_sent && now >= r->stop_deadline_us) {
                    r->abort_sent = true;
                    hn_logf(HN_WARNING, "stop timeout (%g s) reached: aborting %u users' "
                                        "in-flight work", r->cfg.stop_timeout, alive);
                    broadcast(r, HN_CMD_ABORT);
                }
            }
        }
        if (r->cap != NULL && (r->state == HN_STATE_SPAWNING || r->state == HN_STATE_RUNNING))
            capacity_tick(r);
        r->last_tick_us = now;

        bool changed = r->state_changed;
        bool forced = r->force_tick;
        r->state_changed = false;
        r->force_tick = false;
        st = r->state;
        pthread_mutex_unlock(&r->lock);

        /* Reset before the new run's users exist, so none of their first
         * requests is discarded with the old statistics. */
        if (reset)
            reset_stats_locked_out(r, reset_fleet);
        flush_batches(r, b);
        if (changed || forced || now >= r->next_agg_us || reset) {
            /* No points while idle: the chart shows the run, then stops. */
            bool idle = st == HN_STATE_READY || (st == HN_STATE_STOPPED && !changed);
            bool history = !idle && (now >= r->next_agg_us || changed);
            aggregate(r, st, changed, history);
            /* Under the lock: a new run's start clears them from its thread. */
            pthread_mutex_lock(&r->lock);
            bool reset_step = r->cap_reset_step, judge = r->cap_judge;
            r->cap_reset_step = r->cap_judge = false;
            pthread_mutex_unlock(&r->lock);
            if (reset_step)
                hn_stats_reset(&r->cap_stats); /* the hold measures from here */
            if (judge)
                judge_capacity_step(r);
            struct hn_snapshot *latest = hn_runner_snapshot(r);
            pthread_mutex_lock(&r->lock);
            check_abort_thresholds(r, latest);
            pthread_mutex_unlock(&r->lock);
            hn_snapshot_release(latest);
            if (now >= r->next_agg_us)
                r->next_agg_us += 1000000u;
            if (r->next_agg_us < now)
                r->next_agg_us = now + 1000000u;
        }

        pthread_mutex_lock(&r->lock);
        if (!r->quit && !r->state_changed && !r->force_tick && !r->new_run &&
            !r->reset_requested && r->swap == NULL) {
            struct timespec ts;
            clock_gettime(CLOCK_REALTIME, &ts);
            ts.tv_nsec += TICK_US * 1000;
            if (ts.tv_nsec >= 1000000000) {
                ts.tv_sec++;
                ts.tv_nsec -= 1000000000;
            }
            pthread_cond_timedwait(&r->cond, &r->lock, &ts);
        }
    }
    pthread_mutex_unlock(&r->lock);
    free(b);
    return NULL;
}

/* ---------------------------------------------------------------- */
/* Public API                                                        */
/* ---------------------------------------------------------------- */

static const char **copy_list(const char *const *l)
{
    if (l == NULL || l[0] == NULL)
        return NULL;
    size_t n = 0;
    while (l[n])
        n++;
    const char **c = calloc(n + 1, sizeof *c);
    if (c == NULL)
        return NULL;
    for (size_t i = 0; i < n; i++)
        c[i] = strdup(l[i]);
    return c;
}

static void free_list(const char **l)
{
    if (l == NULL)
        return;
    for (size_t i = 0; l[i]; i++)
        free((char *)l[i]);
    free(l);
}

/* A user called hn_stop_test (on its worker thread). */
static void stop_test_from_user(void *ud, const char *reason)
{
    struct hn_runner *r = ud;
    pthread_mutex_lock(&r->lock);
    begin_stop_locked(r, reason);
    pthread_mutex_unlock(&r->lock);
}

int hn_runner_create(struct hn_runner **out, const struct hn_runner_config *cfg, char *err,
                     size_t err_len)
{
    *out = NULL;
    struct hn_runner *r = calloc(1, sizeof *r);
    if (r == NULL)
        return -ENOMEM;
    r->cfg = *cfg;
    r->host = cfg->host ? strdup(cfg->host) : NULL;
    r->tags = copy_list(cfg->tags);
    r->exclude_tags = copy_list(cfg->exclude_tags);
    r->cfg.tags = r->tags;
    r->cfg.exclude_tags = r->exclude_tags;
    r->cfg.host = NULL;
    r->thresholds = hn_thresholds_copy(cfg->thresholds, cfg->n_thresholds);
    r->n_thresholds = r->thresholds ? cfg->n_thresholds : 0;

    r->cfg.thresholds = NULL;
    r->cfg.n_thresholds = 0;
    /* The values given, or the plugin's defaults (a worker's). */
    char perr[256];
    if (cfg->params != NULL)
        r->params = hn_params_copy(cfg->params);
    else if (hn_params_new(cfg->plugin, &r->params, perr, sizeof perr) != 0)
        r->params = NULL;
    r->cfg.params = NULL;
    if (r->cfg.max_users == 0)
        r->cfg.max_users = 1000000;
    r->state = HN_STATE_READY;
    r->spawn_rate = 1;
    r->stage = -1;
    pthread_mutex_init(&r->lock, NULL);
    pthread_cond_init(&r->cond, NULL);
    pthread_cond_init(&r->swap_cond, NULL);
    pthread_mutex_init(&r->snap_lock, NULL);
    pthread_cond_init(&r->snap_cond, NULL);
    pthread_mutex_init(&r->subs_lock, NULL);
    hn_stats_init(&r->cum);
    hn_stats_init(&r->cap_stats);
    for (size_t i = 0; i <= WINDOW; i++)
        hn_hist_init(&r->ring[i].total);

    int rc = 0;
    if (r->n_thresholds != cfg->n_thresholds) {
        rc = -ENOMEM;
        goto fail;
    }
    rc = build_plans(cfg->plugin, r->tags, r->exclude_tags, &r->plans, &r->n_plans, err,
                     err_len);
    if (rc != 0)
        goto fail;
    r->type_counts = calloc(r->n_plans, sizeof *r->type_counts);
    r->type_targets = calloc(r->n_plans, sizeof *r->type_targets);
    r->swrr = calloc(r->n_plans, sizeof *r->swrr);
    r->fleet = cfg->fleet;
    if (r->fleet) {
        r->fleet_spare = calloc(1, sizeof *r->fleet_spare);
        if (r->fleet_spare == NULL) {
            rc = -ENOMEM;
            goto fail;
        }
        hn_stats_init(r->fleet_spare);
    }
    int threads = cfg->threads > 0 ? cfg->threads : (int)sysconf(_SC_NPROCESSORS_ONLN);
    if (r->fleet)
        threads = 0; /* the workers run the users */
    if (threads < 1 && r->fleet == NULL)
        threads = 1;
    if (threads > 1024)
        threads = 1024;
    r->workers = calloc(threads > 0 ? (size_t)threads : 1, sizeof *r->workers);
    r->spares = calloc(threads > 0 ? (size_t)threads : 1, sizeof *r->spares);
    r->n_spares = r->spares ? threads : 0;
    if (r->type_counts == NULL || r->type_targets == NULL || r->swrr == NULL ||
        (threads > 0 && (r->workers == NULL || r->spares == NULL))) {
        rc = -ENOMEM;
        goto fail;
    }
    for (int i = 0; i < threads; i++) {
        r->spares[i] = calloc(1, sizeof **r->spares);
        if (r->spares[i] == NULL) {
            rc = -ENOMEM;
            goto fail;
        }
        hn_stats_init(r->spares[i]);
        struct hn_worker_config wc = worker_config(r, i, cfg->feeders, r->params, r->n_plans);
        rc = hn_worker_start(&r->workers[i], &wc);
        if (rc != 0) {
            hn_set_err(err, err_len, "could not start a worker thread");
            goto fail;
        }
        r->n_workers++;
    }

    /* An initial snapshot so readers never see NULL. */
    size_t cells = (size_t)(r->n_workers > 0 ? r->n_workers : 1) * (r->n_plans ? r->n_plans : 1);
    r->open_spawned = calloc(cells, sizeof *r->open_spawned);
    r->open_assigned = calloc(cells, sizeof *r->open_assigned);
    r->open_swrr = calloc(r->n_plans ? r->n_plans : 1, sizeof *r->open_swrr);
    r->lg_cpu_prev = calloc(r->n_workers > 0 ? (size_t)r->n_workers : 1, sizeof *r->lg_cpu_prev);
    r->eh = hn_entry_history_new();
    if (r->open_spawned == NULL || r->open_assigned == NULL || r->open_swrr == NULL ||
        r->lg_cpu_prev == NULL || r->eh == NULL) {
        rc = -ENOMEM;
        goto fail;
    }
    r->latest = build_snapshot(r, HN_STATE_READY, NULL);
    if (r->latest == NULL) {
        rc = -ENOMEM;
        hn_set_err(err, err_len, "out of memory");
        goto fail;
    }

    if (pthread_create(&r->control, NULL, control_main, r) != 0) {
        rc = -EAGAIN;
        hn_set_err(err, err_len, "could not start the control thread");
        goto fail;
    }
    *out = r;
    return 0;
fail:
    if (err && err_len && err[0] == '\0')
        snprintf(err, err_len, "could not create the runner: %s", strerror(-rc));
    for (int i = 0; i < r->n_workers; i++)
        hn_worker_join(r->workers[i]);
    r->n_workers = 0;
    hn_runner_destroy(r);
    return rc;
}

void hn_runner_destroy(struct hn_runner *r)
{
    if (r == NULL)
        return;
    if (r->n_workers > 0 || r->control || r->fleet) {
        pthread_mutex_lock(&r->lock);
        r->quit = true;
        pthread_cond_broadcast(&r->cond);
        pthread_mutex_unlock(&r->lock);
        if (r->control)
            pthread_join(r->control, NULL);
    }
    for (int i = 0; i < r->n_workers; i++)
        hn_worker_join(r->workers[i]);
    for (int i = 0; r->spares && i < r->n_spares; i++) {
        if (r->spares[i]) {
            hn_stats_cleanup(r->spares[i]);
            free(r->spares[i]);
        }
    }
    free(r->spares);
    free(r->workers);
    free_plans(r->plans, r->n_plans);
    free(r->type_counts);
    free(r->type_targets);
    free(r->swrr);
    if (r->fleet_spare) {
        hn_stats_cleanup(r->fleet_spare);
        free(r->fleet_spare);
    }
    free(r->stack);
    hn_stats_cleanup(&r->cum);
    hn_stats_cleanup(&r->cap_stats);
    hn_capacity_free(r->cap);
    hn_params_free(r->params);
    hn_entry_history_free(r->eh);
    ring_clear(r);
    for (size_t i = 0; i <= WINDOW; i++)
        hn_hist_cleanup(&r->ring[i].total);
    hn_snapshot_release(r->latest);
    hn_thresholds_free(r->thresholds, r->n_thresholds);
    free(r->stages);
    free(r->open_spawned);
    free(r->open_assigned);
    free(r->open_swrr);
    free(r->lg_cpu_prev);
    free(r->history);
    free(r->host);
    free(r->stop_reason);
    free_list(r->tags);
    free_list(r->exclude_tags);
    pthread_mutex_destroy(&r->lock);
    pthread_cond_destroy(&r->cond);
    pthread_cond_destroy(&r->swap_cond);
    pthread_mutex_destroy(&r->snap_lock);
    pthread_cond_destroy(&r->snap_cond);
    pthread_mutex_destroy(&r->subs_lock);
    free(r);
}

void hn_runner_subscribe(struct hn_runner *r, hn_runner_tick_cb cb, void *ud)
{
    pthread_mutex_lock(&r->subs_lock);
    if (r->n_subs < MAX_SUBSCRIBERS) {
        r->subs_ud[r->n_subs] = ud;
        r->subs[r->n_subs] = cb;
        r->n_subs++;
    }
    pthread_mutex_unlock(&r->subs_lock);
}

void hn_runner_unsubscribe(struct hn_runner *r, hn_runner_tick_cb cb, void *ud)
{
    pthread_mutex_lock(&r->subs_lock);
    for (int i = 0; i < r->n_subs; i++) {
        if (r->subs[i] == cb && r->subs_ud[i] == ud) {
            memmove(&r->subs[i], &r->subs[i + 1], (size_t)(r->n_subs - i - 1) * sizeof *r->subs);
            memmove(&r->subs_ud[i], &r->subs_ud[i + 1],
                    (size_t)(r->n_subs - i - 1) * sizeof *r->subs_ud);
            r->n_subs--;
            break;
        }
    }
    pthread_mutex_unlock(&r->subs_lock);
}

static int check_users(struct hn_runner *r, uint32_t users, double rate, char *err, size_t n)
{
    if (users > r->cfg.max_users) {
        snprintf(err, n, "users must be at most %u", r->cfg.max_users);
        return -EINVAL;
    }
    if (!(rate > 0) || !isfinite(rate)) {
        hn_set_err(err, n, "spawn_rate must be a number > 0");
        return -EINVAL;
    }
    return 0;
}

/* Start or resize; counts (per user type, n of them) switches to per-type
 * targets, NULL to choosing types by weight. */
static int start_run(struct hn_runner *r, bool from_master, uint32_t users,
                     const uint32_t *counts, size_t n,
                     double spawn_rate, const char *host, double run_time_s,
                     const struct hn_stage *stages, size_t n_stages, double arrival_rate,
                     uint32_t pool_max, char *err, size_t err_len)
{
    int rc = check_users(r, users, spawn_rate, err, err_len);
    if (rc)
        return rc;
    struct hn_stage *copy = NULL;
    if (n_stages > 0 && (copy = malloc(n_stages * sizeof *copy)) == NULL) {
        hn_set_err(err, err_len, "out of memory");
        return -ENOMEM;
    }
    if (copy)
        memcpy(copy, stages, n_stages * sizeof *copy);
    if (!(run_time_s >= 0) || !isfinite(run_time_s)) {
        free(copy);
        hn_set_err(err, err_len, "run_time must be >= 0");
        return -EINVAL;
    }
    pthread_mutex_lock(&r->lock);
    bool fresh = r->state == HN_STATE_READY || r->state == HN_STATE_STOPPED;
    bool has_shape = r->cfg.plugin->abi_minor >= 1 && r->cfg.plugin->shape != NULL;
    /* Why this start (or resize) cannot happen now, if it cannot. */
    const char *busy = NULL;
    if (r->state == HN_STATE_STOPPING)
        busy = "the swarm is stopping; start again once it has stopped";
    else if (!fresh && n_stages > 0)
        busy = "a load profile starts a new run: stop the running swarm first";
    else if (fresh && has_shape && !from_master && n_stages > 0)
        busy = "the plugin's load shape drives every run: stages cannot";
    else if (!fresh && r->shape && !from_master)
        busy = "the plugin's load shape drives this run: stop it to set the users by hand";
    else if (!fresh && (r->open || pool_max > 0) && !from_master)
        busy = "an arrival rate (the open model) drives this run: stop it first";
    else if (!fresh && r->n_stages > 0 && !from_master)
        busy = "a load profile (stages) drives this run: stop it to set the users by hand";
    else if (fresh && r->fleet && r->fleet->ready(r->fleet->ud) == 0)
        busy = "no worker is connected: start workers with --worker --master-host pointing at "
               "this master";
    if (busy != NULL) {
        pthread_mutex_unlock(&r->lock);
        free(copy);
        hn_set_err(err, err_len, "%s", busy);
        return -EBUSY;
    }
    if (host != NULL && *host && (r->host == NULL || strcmp(host, r->host) != 0)) {
        free(r->host);
        r->host = strdup(host);
        r->host_changed = true;
    }
    r->target_users = users;
    r->spawn_rate = spawn_rate;
    r->spawn_now = true;
    r->use_type_targets = counts != NULL;
    for (size_t i = 0; counts && i < r->n_plans; i++) {
        size_t t = (size_t)r->plans[i].index;
        r->type_targets[i] = t < n ? counts[t] : 0;
    }
    if (fresh) {
        r->run_time_s = run_time_s;
        r->new_run = true;
        /* A fresh run follows the profile it was given, or none. */
        free(r->stages);
        r->stages = copy;
        r->n_stages = copy ? n_stages : 0;
        r->stage = -1;
        copy = NULL;
        /* A worker takes its counts from the master, whose runner asks the
         * shape; anywhere else the shape drives, from its first answer. */
        r->shape = has_shape && !from_master;
        r->shape_asked = false;
        hn_capacity_free(r->cap); /* hn_runner_start_capacity sets the next one */
        r->cap = NULL;
        r->cap_holding = r->cap_judge = r->cap_reset_step = false;
        r->next_shape_us = 0;
        r->open = false;
        if (pool_max > 0)
            open_begin(r, arrival_rate, pool_max);
        if (r->shape)
            r->target_users = 0;
        r->state = HN_STATE_SPAWNING;
        r->state_changed = true;
    } else {
        if (run_time_s > 0)
            r->run_time_s = run_time_s;
        if (r->state == HN_STATE_RUNNING) {
            r->state = HN_STATE_SPAWNING;
            r->state_changed = true;
        }
    }
    pthread_cond_broadcast(&r->cond);
    pthread_mutex_unlock(&r->lock);
    /* Per-type targets come from a master, many times a second: quiet. */
    if (fresh && pool_max > 0 && n_stages > 0)
        hn_logf(HN_INFO, "starting the open model: %zu stages set the arrival rate, a pool of "
                         "up to %u users", n_stages, pool_max);
    else if (fresh && pool_max > 0)
        hn_logf(HN_INFO, "starting the open model: %g iterations/s, a pool of up to %u users",
                arrival_rate, pool_max);
    else if (fresh && n_stages > 0)
        hn_logf(HN_INFO, "starting: a load profile of %zu stages sets the users", n_stages);
    else if (fresh && has_shape && !from_master)
        hn_logf(HN_INFO, "starting: the plugin's load shape sets the users");
    else
        hn_logf(counts ? HN_DEBUG : HN_INFO, "%s: %u users at %g users/s",
                fresh ? "starting" : "resizing", users, spawn_rate);
    return 0;
}

int hn_runner_start(struct hn_runner *r, uint32_t users, double spawn_rate, const char *host,
                    double run_time_s, char *err, size_t err_len)
{
    return start_run(r, false, users, NULL, 0, spawn_rate, host, run_time_s, NULL, 0, 0, 0, err,
                     err_len);
}

int hn_runner_start_open(struct hn_runner *r, double rate, uint32_t pool_max,
                         const struct hn_stage *stages, size_t n_stages, const char *host,
                         double run_time_s, char *err, size_t err_len)
{
    if (n_stages > 0)
        rate = 1e-9; /* the stages give the rate from the first tick */
    else if (!(rate > 0) || !isfinite(rate) || rate > 1e6) {
        hn_set_err(err, err_len, "arrival_rate must be a number of iterations per second > 0 "
                                 "(at most 1000000)");
        return -EINVAL;
    }
    if (pool_max == 0 || pool_max > r->cfg.max_users) {
        hn_set_err(err, err_len, "with an arrival rate, users is the most users the pool may "
                                 "grow to: from 1 to %u", r->cfg.max_users);
        return -EINVAL;
    }
    if (r->cfg.plugin->abi_minor >= 1 && r->cfg.plugin->shape != NULL) {
        hn_set_err(err, err_len, "the plugin's load shape drives every run: an arrival rate "
                                 "cannot");
        return -EBUSY;
    }
    pthread_mutex_lock(&r->lock);
    enum hn_state st = r->state;
    pthread_mutex_unlock(&r->lock);
    if (st != HN_STATE_READY && st != HN_STATE_STOPPED) {
        hn_set_err(err, err_len, "an arrival rate starts a new run: stop the %s swarm first",
                   hn_state_name(st));
        return -EBUSY;
    }
    return start_run(r, false, 0, NULL, 0, 1.0, host, run_time_s, stages, n_stages, rate, pool_max, err,
                     err_len);
}

int hn_runner_follow_arrival(struct hn_runner *r, double rate, uint32_t pool_max,
                             const char *host, char *err, size_t err_len)
{
    if (!(rate >= 0) || !isfinite(rate) || rate > 1e6 || pool_max == 0 ||
        pool_max > r->cfg.max_users) {
        hn_set_err(err, err_len, "an arrival rate from 0 to 1000000 and a pool of 1 to %u users",
                   r->cfg.max_users);
        return -EINVAL;
    }
    pthread_mutex_lock(&r->lock);
    enum hn_state st = r->state;
    bool active = st == HN_STATE_SPAWNING || st == HN_STATE_RUNNING || st == HN_STATE_PAUSED;
    if (active && r->open) {
        /* The integral of the rate goes on from here at the new rate. */
        r->arrival_rate = rate;
        r->pool_max = r->target_users = pool_max;
        pthread_mutex_unlock(&r->lock);
        return 0;
    }
    pthread_mutex_unlock(&r->lock);
    return start_run(r, true, 0, NULL, 0, 1.0, host, 0, NULL, 0, rate, pool_max, err, err_len);
}

int hn_runner_start_capacity(struct hn_runner *r, const struct hn_capacity_plan *plan,
                             uint32_t pool_max, double spawn_rate, const char *host,
                             double run_time_s, char *err, size_t err_len)
{
    double max = plan->open ? 1e6 : (double)r->cfg.max_users;
    if (!(plan->start > 0) || !(plan->step > 0) || !(plan->hold_s > 0) || plan->start > max ||
        !isfinite(plan->step) || !isfinite(plan->hold_s) ||
        (!plan->open && (plan->start != floor(plan->start) || plan->step != floor(plan->step)))) {
        hn_set_err(err, err_len, "a capacity search needs a first load > 0 (at most %g), a step "
                                 "> 0 (whole users in the closed model) and a hold time > 0", max);
        return -EINVAL;
    }
    pthread_mutex_lock(&r->lock);
    size_t n_thresholds = r->n_thresholds;
    pthread_mutex_unlock(&r->lock);
    if (n_thresholds == 0) {
        hn_set_err(err, err_len, "a capacity search needs at least one threshold (the service "
                                 "level it searches under), e.g. p95<300ms");
        return -EINVAL;
    }
    struct hn_capacity_plan p = *plan;
    p.max = max;
    struct hn_capacity *cap = hn_capacity_new(&p);
    if (cap == NULL) {
        hn_set_err(err, err_len, "out of memory");
        return -ENOMEM;
    }
    int rc = plan->open ? hn_runner_start_open(r, plan->start, pool_max, NULL, 0, host,
                                               run_time_s, err, err_len)
                        : hn_runner_start(r, (uint32_t)plan->start, spawn_rate, host, run_time_s,
                                          err, err_len);
    if (rc != 0) {
        hn_capacity_free(cap);
        return rc;
    }
    pthread_mutex_lock(&r->lock);
    r->cap = cap;
    r->cap_hold_s = plan->hold_s;
    /* Each step ramps within a second, at least as fast as asked. */
    r->cap_spawn_rate = fmax(spawn_rate, plan->step);
    pthread_mutex_unlock(&r->lock);
    hn_logf(HN_INFO, "capacity search: from %g %s, %g more each step, each held %g s",
            plan->start, plan->open ? "iterations/s" : "users", plan->step, plan->hold_s);
    return 0;
}

int hn_runner_set_params(struct hn_runner *r, const char *const *names,
                         const char *const *values, size_t n, char *err, size_t err_len)
{
    if (n == 0)
        return 0;
    pthread_mutex_lock(&r->lock);
    int rc = 0;
    struct hn_params *copy = NULL;
    if (r->state != HN_STATE_READY && r->state != HN_STATE_STOPPED) {
        hn_set_err(err, err_len, "parameters are set for a new run: stop the %s swarm first",
                   hn_state_name(r->state));
        rc = -EBUSY;
    } else if (r->params == NULL) {
        hn_set_err(err, err_len, "the plugin has no parameters");
        rc = -EINVAL;
    } else if ((copy = hn_params_copy(r->params)) == NULL) {
        hn_set_err(err, err_len, "out of memory");
        rc = -ENOMEM;
    }
    for (size_t i = 0; rc == 0 && i < n; i++)
        if (hn_params_set(copy, names[i], values[i], err, err_len) != 0)
            rc = -EINVAL;
    if (rc == 0) {
        /* In place: worker threads hold the table (no user runs now). */
        char **old = r->params->values;
        r->params->values = copy->values;
        copy->values = old;
    }
    pthread_mutex_unlock(&r->lock);
    hn_params_free(copy);
    return rc;
}

struct hn_params *hn_runner_params(struct hn_runner *r)
{
    pthread_mutex_lock(&r->lock);
    struct hn_params *c = hn_params_copy(r->params);
    pthread_mutex_unlock(&r->lock);
    return c;
}

static void free_swap(struct plugin_swap *s)
{
    free_plans(s->plans, s->n_plans);
    hn_params_free(s->params);
    free(s->type_counts);
    free(s->type_targets);
    free(s->open_spawned);
    free(s->swrr);
    free(s->open_swrr);
    free(s->open_assigned);
    free(s->workers);
}

int hn_runner_set_plugin(struct hn_runner *r, const struct hn_plugin *plugin,
                         const struct hn_feeders *feeders, char *err, size_t err_len)
{
    struct plugin_swap s = {.plugin = plugin, .feeders = feeders};
    int rc = build_plans(plugin, r->tags, r->exclude_tags, &s.plans, &s.n_plans, err, err_len);
    if (rc != 0)
        return rc;
    char perr[256];
    if (hn_params_new(plugin, &s.params, perr, sizeof perr) != 0) {
        free_swap(&s);
        hn_set_err(err, err_len, "%s", perr);
        return -EINVAL;
    }
    /* The values set before, where the new plugin still has them. */
    struct hn_params *old = hn_runner_params(r);
    for (size_t i = 0; old != NULL && s.params != NULL && i < old->n; i++)
        if (hn_params_find(s.params, old->decl[i].name) >= 0 &&
            hn_params_set(s.params, old->decl[i].name, old->values[i], perr, sizeof perr) != 0)
            hn_logf(HN_INFO, "reload: parameter %s back to its default (%s)",
                    old->decl[i].name, perr);
    hn_params_free(old);
    size_t np = s.n_plans ? s.n_plans : 1, nw = r->n_workers > 0 ? (size_t)r->n_workers : 1;
    s.type_counts = calloc(np, sizeof *s.type_counts);
    s.type_targets = calloc(np, sizeof *s.type_targets);
    s.swrr = calloc(np, sizeof *s.swrr);
    s.open_swrr = calloc(np, sizeof *s.open_swrr);
    s.open_spawned = calloc(nw * np, sizeof *s.open_spawned);
    s.open_assigned = calloc(nw * np, sizeof *s.open_assigned);
    s.workers = calloc(nw, sizeof *s.workers);
    if (!s.type_counts || !s.type_targets || !s.swrr || !s.open_swrr || !s.open_spawned ||
        !s.open_assigned || !s.workers) {
        free_swap(&s);
        hn_set_err(err, err_len, "out of memory");
        return -ENOMEM;
    }
    pthread_mutex_lock(&r->lock);
    while (r->swap != NULL) /* another reload first */
        pthread_cond_wait(&r->swap_cond, &r->lock);
    r->swap = &s;
    pthread_cond_broadcast(&r->cond);
    while (!s.done)
        pthread_cond_wait(&r->swap_cond, &r->lock);
    pthread_mutex_unlock(&r->lock);
    if (s.rc != 0)
        hn_set_err(err, err_len, "%s", s.err);
    free_swap(&s); /* the old plugin's parts, or the new one's when it failed */
    return s.rc;
}

int hn_runner_choose_types(struct hn_runner *r, const struct hn_type_choice *c, size_t n,
                           char *err, size_t err_len)
{
    const struct hn_user_type *types = r->cfg.plugin->user_types;
    /* Checked whole before anything changes. */
    for (size_t i = 0; i < n; i++) {
        struct hn_type_plan *p = NULL;
        for (size_t k = 0; k < r->n_plans && p == NULL; k++)
            if (strcmp(r->plans[k].type->name, c[i].name ? c[i].name : "") == 0)
                p = &r->plans[k];
        if (p == NULL) {
            char names[300] = "";
            for (size_t k = 0; k < r->n_plans && strlen(names) < 240; k++)
                snprintf(names + strlen(names), sizeof names - strlen(names), "%s%s", k ? ", " : "",
                         r->plans[k].type->name);
            hn_set_err(err, err_len, "user_types: no user type '%.60s' to run (the plugin has: %s)",
                       c[i].name ? c[i].name : "", names);
            return -EINVAL;
        }
        for (size_t j = 0; c[i].tasks != NULL && c[i].tasks[j] != NULL; j++) {
            bool known = false;
            for (size_t k = 0; k < p->n_all && !known; k++)
                known = p->all[k]->name && strcmp(p->all[k]->name, c[i].tasks[j]) == 0;
            if (!known) {
                hn_set_err(err, err_len, "user_types: '%.60s' has no task '%.60s'", c[i].name,
                           c[i].tasks[j]);
                return -EINVAL;
            }
        }
        if (c[i].tasks != NULL && c[i].tasks[0] == NULL) {
            hn_set_err(err, err_len, "user_types: '%.60s' needs at least one task", c[i].name);
            return -EINVAL;
        }
        if (c[i].weight == 0 && c[i].fixed_count <= 0 &&
            (c[i].fixed_count == 0 || p->type->fixed_count == 0)) {
            hn_set_err(err, err_len, "user_types: '%.60s' would never run (weight 0 and no fixed "
                                     "count): leave it out instead", c[i].name);
            return -EINVAL;
        }
    }
    pthread_mutex_lock(&r->lock);
    if (r->state != HN_STATE_READY && r->state != HN_STATE_STOPPED) {
        pthread_mutex_unlock(&r->lock);
        hn_set_err(err, err_len, "the user types are chosen for a new run: stop the %s swarm "
                                 "first", hn_state_name(r->state));
        return -EBUSY;
    }
    bool any = false;
    for (size_t k = 0; k < r->n_plans; k++) {
        struct hn_type_plan *p = &r->plans[k];
        const struct hn_type_choice *ch = NULL;
        for (size_t i = 0; i < n && ch == NULL; i++)
            if (strcmp(p->type->name, c[i].name) == 0)
                ch = &c[i];
        const struct hn_user_type *t = &types[p->index];
        free(p->host);
        p->host = ch && ch->host && *ch->host ? strdup(ch->host) : NULL;
        choose_tasks(p, ch ? ch->tasks : NULL);
        /* Not listed (when some are): not run. */
        p->weight = n == 0 ? t->weight : ch == NULL ? 0 : ch->weight >= 0 ? (uint32_t)ch->weight
                                                                          : t->weight;
        p->fixed_count = n == 0 || ch == NULL ? (n == 0 ? t->fixed_count : 0)
                         : ch->fixed_count >= 0 ? (uint32_t)ch->fixed_count
                                                : t->fixed_count;
        any = any || plan_runs(p);
    }
    if (!any) {
        /* Back to the plugin's own (a listed type may have been weight 0). */
        for (size_t k = 0; k < r->n_plans; k++) {
            struct hn_type_plan *p = &r->plans[k];
            free(p->host);
            p->host = NULL;
            choose_tasks(p, NULL);
            p->weight = types[p->index].weight;
            p->fixed_count = types[p->index].fixed_count;
        }
        pthread_mutex_unlock(&r->lock);
        hn_set_err(err, err_len, "user_types: none of them would run (weight 0 and no fixed "
                                 "count)");
        return -EINVAL;
    }
    memset(r->swrr, 0, r->n_plans * sizeof *r->swrr);
    pthread_mutex_unlock(&r->lock);
    return 0;
}

int hn_runner_start_stages(struct hn_runner *r, const struct hn_stage *stages, size_t n,
                           const char *host, double run_time_s, char *err, size_t err_len)
{
    if (n == 0 || n > HN_MAX_STAGES) {
        hn_set_err(err, err_len, "a load profile needs 1 to 100 stages");
        return -EINVAL;
    }
    double total = 0;
    for (size_t i = 0; i < n; i++) {
        if (!(stages[i].duration_s >= 0) || !isfinite(stages[i].duration_s) ||
            stages[i].users > r->cfg.max_users) {
            hn_set_err(err, err_len, "a stage needs a duration >= 0 and at most max_users users");
            return -EINVAL;
        }
        total += stages[i].duration_s;
    }
    if (!(total > 0)) {
        hn_set_err(err, err_len, "the stages last 0 s in all: give at least one a duration");
        return -EINVAL;
    }
    pthread_mutex_lock(&r->lock);
    enum hn_state st = r->state;
    pthread_mutex_unlock(&r->lock);
    if (st != HN_STATE_READY && st != HN_STATE_STOPPED) {
        hn_set_err(err, err_len, "a load profile starts a new run: stop the %s swarm first",
                hn_state_name(st));
        return -EBUSY;
    }
    /* The profile sets the users from its first tick; 1 user/s until then. */
    return start_run(r, false, 0, NULL, 0, 1.0, host, run_time_s, stages, n, 0, 0, err, err_len);
}

int hn_runner_start_types(struct hn_runner *r, const uint32_t *counts, size_t n,
                          double spawn_rate, const char *host, char *err, size_t err_len)
{
    uint64_t users = 0;
    for (size_t i = 0; i < r->n_plans; i++) {
        size_t t = (size_t)r->plans[i].index;
        users += t < n ? counts[t] : 0;
    }
    if (users > r->cfg.max_users) {
        snprintf(err, err_len, "users must be at most %u", r->cfg.max_users);
        return -EINVAL;
    }
    return start_run(r, true, (uint32_t)users, counts, n, spawn_rate, host, 0, NULL, 0, 0, 0, err,
                     err_len);
}

void hn_runner_set_delta_sink(struct hn_runner *r, hn_runner_delta_cb cb, void *ud)
{
    pthread_mutex_lock(&r->lock);
    r->delta_cb = cb;
    r->delta_ud = ud;
    pthread_mutex_unlock(&r->lock);
}

int hn_runner_resize(struct hn_runner *r, uint32_t users, double spawn_rate, char *err,
                     size_t err_len)
{
    pthread_mutex_lock(&r->lock);
    enum hn_state st = r->state;
    double rate = spawn_rate > 0 ? spawn_rate : r->spawn_rate;
    bool open = r->open, profile = r->n_stages > 0 || open, shape = r->shape;
    pthread_mutex_unlock(&r->lock);
    bool active = st == HN_STATE_SPAWNING || st == HN_STATE_RUNNING || st == HN_STATE_PAUSED;
    if (active && (profile || shape)) {
        snprintf(err, err_len, shape ? "the plugin's load shape drives this run: stop it to set "
                                       "the users by hand"
                             : open ? "an arrival rate (the open model) drives this run: "
                                         "stop it first"
                                       : "a load profile (stages) drives this run: stop it to set "
                                         "the users by hand");
        return -EBUSY;
    }
    if (st != HN_STATE_SPAWNING && st != HN_STATE_RUNNING && st != HN_STATE_PAUSED) {
        snprintf(err, err_len, "cannot resize: the swarm is %s", hn_state_name(st));
        return -EBUSY;
    }
    int rc = check_users(r, users, rate, err, err_len);
    if (rc)
        return rc;
    pthread_mutex_lock(&r->lock);
    r->target_users = users;
    r->spawn_rate = rate;
    r->spawn_now = true;
    r->use_type_targets = false;
    if (r->state == HN_STATE_RUNNING) {
        r->state = HN_STATE_SPAWNING;
        r->state_changed = true;
    }
    pthread_cond_broadcast(&r->cond);
    pthread_mutex_unlock(&r->lock);
    hn_logf(HN_INFO, "resizing to %u users at %g users/s", users, rate);
    return 0;
}

int hn_runner_pause(struct hn_runner *r, char *err, size_t err_len)
{
    pthread_mutex_lock(&r->lock);
    if (r->state != HN_STATE_SPAWNING && r->state != HN_STATE_RUNNING) {
        snprintf(err, err_len, "cannot pause: the swarm is %s", hn_state_name(r->state));
        pthread_mutex_unlock(&r->lock);
        return -EBUSY;
    }
    r->state = HN_STATE_PAUSED;
    r->state_changed = true;
    r->pause_changed = true;
    pthread_cond_broadcast(&r->cond);
    pthread_mutex_unlock(&r->lock);
    hn_logf(HN_INFO, "paused");
    return 0;
}

int hn_runner_resume(struct hn_runner *r, char *err, size_t err_len)
{
    pthread_mutex_lock(&r->lock);
    if (r->state != HN_STATE_PAUSED) {
        snprintf(err, err_len, "cannot resume: the swarm is %s", hn_state_name(r->state));
        pthread_mutex_unlock(&r->lock);
        return -EBUSY;
    }
    r->state = HN_STATE_SPAWNING; /* becomes running once the target is met */
    r->state_changed = true;
    r->pause_changed = true;
    pthread_cond_broadcast(&r->cond);
    pthread_mutex_unlock(&r->lock);
    hn_logf(HN_INFO, "resumed");
    return 0;
}

int hn_runner_stop(struct hn_runner *r, const char *reason, char *err, size_t err_len)
{
    pthread_mutex_lock(&r->lock);
    enum hn_state st = r->state;
    if (st == HN_STATE_READY || st == HN_STATE_STOPPED || st == HN_STATE_STOPPING) {
        pthread_mutex_unlock(&r->lock);
        snprintf(err, err_len, "cannot stop: the swarm is %s", hn_state_name(st));
        return -EBUSY;
    }
    begin_stop_locked(r, reason && *reason ? reason : "stopped");
    pthread_mutex_unlock(&r->lock);
    hn_logf(HN_INFO, "stopping: %s", reason && *reason ? reason : "stopped");
    return 0;
}

int hn_runner_set_thresholds(struct hn_runner *r, const struct hn_threshold *t, size_t n,
                             char *err, size_t err_len)
{
    struct hn_threshold *copy = hn_thresholds_copy(t, n);
    if (n > 0 && copy == NULL) {
        hn_set_err(err, err_len, "out of memory");
        return -ENOMEM;
    }
    pthread_mutex_lock(&r->lock);
    struct hn_threshold *old = r->thresholds;
    size_t old_n = r->n_thresholds;
    r->thresholds = copy;
    r->n_thresholds = n;
    r->force_tick = true; /* the page shows them at once */
    pthread_cond_broadcast(&r->cond);
    pthread_mutex_unlock(&r->lock);
    hn_thresholds_free(old, old_n);
    return 0;
}

int hn_runner_reset_stats(struct hn_runner *r, char *err, size_t err_len)
{
    (void)err;
    (void)err_len;
    pthread_mutex_lock(&r->lock);
    r->reset_requested = true;
    pthread_cond_broadcast(&r->cond);
    pthread_mutex_unlock(&r->lock);
    return 0;
}

enum hn_state hn_runner_state(struct hn_runner *r)
{
    pthread_mutex_lock(&r->lock);
    enum hn_state s = r->state;
    pthread_mutex_unlock(&r->lock);
    return s;
}

int hn_runner_wait_stopped(struct hn_runner *r, double timeout_s)
{
    uint64_t end = timeout_s < 0 ? UINT64_MAX : hn_mono_us() + (uint64_t)(timeout_s * 1e6);
    for (;;) {
        /* The command state first: right after a start, the latest
         * snapshot may still be the previous run's "stopped" one. */
        enum hn_state st = hn_runner_state(r);
        pthread_mutex_lock(&r->snap_lock);
        bool done = st == HN_STATE_STOPPED && r->latest && r->latest->state == HN_STATE_STOPPED;
        uint64_t now = hn_mono_us();
        if (!done && now < end) {
            struct timespec ts;
            clock_gettime(CLOCK_REALTIME, &ts);
            uint64_t wait_us = end - now < 100000 ? end - now : 100000;
            ts.tv_nsec += (long)(wait_us * 1000);
            while (ts.tv_nsec >= 1000000000) {
                ts.tv_sec++;
                ts.tv_nsec -= 1000000000;
            }
            pthread_cond_timedwait(&r->snap_cond, &r->snap_lock, &ts);
        }
        pthread_mutex_unlock(&r->snap_lock);
        if (done)
            return 1;
        if (now >= end)
            return 0;
    }
}

struct hn_snapshot *hn_runner_snapshot(struct hn_runner *r)
{
    pthread_mutex_lock(&r->snap_lock);
    struct hn_snapshot *s = hn_snapshot_ref(r->latest);
    pthread_mutex_unlock(&r->snap_lock);
    return s;
}

struct hn_snapshot *hn_runner_snapshot_now(struct hn_runner *r)
{
    pthread_mutex_lock(&r->snap_lock);
    uint64_t seen = r->latest->seq;
    pthread_mutex_unlock(&r->snap_lock);

    pthread_mutex_lock(&r->lock);
    r->force_tick = true;
    pthread_cond_broadcast(&r->cond);
    pthread_mutex_unlock(&r->lock);

    pthread_mutex_lock(&r->snap_lock);
    while (r->latest->seq == seen)
        pthread_cond_wait(&r->snap_cond, &r->snap_lock);
    struct hn_snapshot *s = hn_snapshot_ref(r->latest);
    pthread_mutex_unlock(&r->snap_lock);
    return s;
}

_Static_assert(HN_HIST_OCTAVES == 40, "hn_entry_detail's bins hold every octave");

struct hn_entry_detail *hn_runner_entry_detail(struct hn_runner *r, const char *type,
                                               const char *name)
{
    struct hn_entry_detail *d = calloc(1, sizeof *d);
    if (d == NULL)
        return NULL;
    pthread_mutex_lock(&r->snap_lock);
    const struct hn_stats_entry *e = hn_stats_find(&r->cum, type, name);
    if (e != NULL) {
        d->found = true;
        d->requests = e->requests;
        d->failures = e->failures;
        d->points = hn_entry_history_get(r->eh, (long)e->index, &d->n_points);
        d->n_bins = hn_hist_bins(&e->hist, HN_ENTRY_BINS_PER_OCTAVE, d->bin_upper_us, d->bin_count,
                                 sizeof d->bin_count / sizeof d->bin_count[0]);
    }
    pthread_mutex_unlock(&r->snap_lock);
    return d;
}

void hn_entry_detail_free(struct hn_entry_detail *d)
{
    if (d == NULL)
        return;
    free(d->points);
    free(d);
}

struct hn_history_point *hn_runner_history(struct hn_runner *r, size_t *n)
{
    pthread_mutex_lock(&r->snap_lock);
    *n = r->history_n;
    struct hn_history_point *h = malloc((r->history_n ? r->history_n : 1) * sizeof *h);
    if (h == NULL)
        *n = 0;
    else if (r->history_n > 0) /* history is NULL until the first point */
        memcpy(h, r->history, r->history_n * sizeof *h);
    pthread_mutex_unlock(&r->snap_lock);
    return h;
}
