/*
 * worker.h: worker threads and the simulated users they run.
 *
 * A worker thread owns an epoll loop, an HTTP client (engine/client), a timer heap,
 * its users (coroutines) and a stats shard. Nothing it owns is touched by
 * another thread except through the command queue (hn_worker_send) and the
 * shard swap (hn_worker_swap_shard). The hot path takes no global lock.
 *
 * Threads: hn_worker_start/join from the runner's control thread; send and
 * swap_shard from any thread; everything else in this file runs on the
 * worker thread itself.
 */
#ifndef HN_WORKER_H
#define HN_WORKER_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include "http_client.h"
#include "stats.h"

struct hn_user_type;
struct hn_worker;

/* A user type as the runner prepared it for this run: tasks filtered by
 * tags, cumulative weights for the pick. Immutable while users run. */
struct hn_type_plan {
    const struct hn_user_type *type;
    int index;
    size_t n_tasks;
    const struct hn_task **tasks;  /* after tag filtering and the run's task choice */
    uint64_t *cum_weights;         /* cum_weights[i] = sum of weights 0..i */
    uint64_t total_weight;
    size_t n_all;
    const struct hn_task **all;    /* every task left after tag filtering */
    /* The type's, or the run's choice (the picker); weight 0 and no fixed
     * count: not spawned. */
    uint32_t weight, fixed_count;
    char *host;                    /* the type's host override, or NULL */
    const char *const *headers;    /* the type's default headers (ABI 1.1), or NULL */
    bool abi_1_1;                  /* the plugin knows ABI 1.1's fields (hn_req.max_body) */
    bool abi_1_3;                  /* ... and ABI 1.3's (hn_req.http_version) */
    size_t slot;                   /* position in the runner's plans */
};

enum hn_cmd_kind {
    HN_CMD_SPAWN,       /* plan, user_id */
    HN_CMD_STOP_USERS,  /* count: stop the count most recently spawned (of plan, if set) */
    HN_CMD_STOP_ALL,
    HN_CMD_ABORT,       /* stop timeout passed: abort in-flight work */
    HN_CMD_PAUSE,
    HN_CMD_RESUME,
    HN_CMD_SET_HOST,    /* text: new default host (owned by the command) */
    HN_CMD_ITERATE,     /* plan, at_us: an idle user of plan starts an iteration (open model) */
    HN_CMD_QUIT
};

struct hn_cmd {
    enum hn_cmd_kind kind;
    const struct hn_type_plan *plan;
    uint64_t user_id;
    uint32_t count;
    char *text;
    uint64_t at_us;     /* SPAWN: open-model user, first iteration then (0 = closed model);
                         * ITERATE: the iteration's intended start */
};

struct hn_worker_config {
    int index;
    uint64_t seed;
    uint32_t in_flight_cap;
    const char *host;
    /* A user called hn_stop_test: the only way up from a user to whoever
     * runs the workers. Called on the worker thread; must not block. */
    void (*stop_test)(void *ud, const char *reason);
    void *stop_test_ud;
    const struct hn_feeders *feeders; /* the plugin's data feeders; may be NULL */
    const struct hn_params *params;   /* the run's parameter values; may be NULL */
    size_t n_plans;                   /* for the per-plan iteration counters */
    struct hn_http_options limits;    /* the run's client, phase timeouts and body kept */
};

/* Starts the worker thread. Returns 0 or -errno. [control] */
int hn_worker_start(struct hn_worker **out, const struct hn_worker_config *cfg);
/* Sends QUIT, joins and frees (users are torn down). [control] */
void hn_worker_join(struct hn_worker *w);
/* Queues commands and wakes the worker once. [any] */
void hn_worker_send(struct hn_worker *w, const struct hn_cmd *cmds, size_t n);
/* Swaps the worker's shard with *spare (an empty table) and returns the
 * filled one in *spare. [any; the aggregator] */
void hn_worker_swap_shard(struct hn_worker *w, struct hn_stats **spare);
/* Users alive on this worker (including stopping ones). [any] */
uint32_t hn_worker_alive(struct hn_worker *w);
/* True when every command sent so far has been run and its effect on the
 * alive count published (a stop is only over when settled and 0 alive). [any] */
bool hn_worker_settled(struct hn_worker *w);
/* Requests in flight on this worker. [any] */
uint32_t hn_worker_in_flight(struct hn_worker *w);
/* Open model: iterations of plan slot p finished so far, and iterations
 * assigned to a user that had gone (it stopped itself). [any] */
uint64_t hn_worker_iterations_done(struct hn_worker *w, size_t p);
uint64_t hn_worker_iterations_missed(struct hn_worker *w);
/* How late (us) its latest-firing timer was since the last call (0 when
 * none fired late), and resets it. [the aggregator] */
uint64_t hn_worker_take_lag(struct hn_worker *w);
/* CPU seconds its thread has used. [any] */
double hn_worker_cpu_s(struct hn_worker *w);


#endif
