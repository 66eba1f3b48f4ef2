/*
 * user.h: internals shared by worker.c (the loop) and user.c (the plugin
 * API and the user's life): the worker and user structs.
 *
 * Threads: everything here runs on the owning worker thread, except the
 * fields marked [any] (atomics and lock-protected).
 */
#ifndef HN_USER_H
#define HN_USER_H

#include <pthread.h>
#include <setjmp.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include <jansson.h>

#include "http_client.h"
#include "hornet/hornet.h"
#include "pollent.h"
#include "stats.h"
#include "ws_client.h"
#include "worker.h"

#define HN_NOT_IN_HEAP SIZE_MAX

struct hn_user;

struct hn_ulist {
    struct hn_user *head, *tail;
};

/* What a user is blocked on. */
enum hn_block {
    HN_BLOCK_NONE = 0,
    HN_BLOCK_SLEEP,
    HN_BLOCK_HTTP,
    HN_BLOCK_SLOT,
    HN_BLOCK_FD,
    HN_BLOCK_PAUSED,
    HN_BLOCK_IDLE             /* open model: in the pool, waiting for an iteration */
};

/* The plugin's handle on a user's last response: what the client received
 * (in the user's conn) plus how the plugin judged it. */
struct hn_response {
    const struct hn_api *api; /* first: struct hn_user_head */
    struct hn_user *user;
    struct hn_http_response *http; /* the conn's response; never NULL */
    char *method;
    char *name;
    double elapsed_ms;        /* transfer time plus the wait for an in-flight slot */
    uint64_t slot_wait_us;    /* time spent waiting for an in-flight slot (in the latency) */
    bool pending;             /* completed but not yet recorded (catch_response) */
    int verdict;              /* 0 = default rule, 1 = success, -1 = failure */
    json_t *json;
    bool json_parsed;
};

struct hn_user {
    const struct hn_api *api; /* first: struct hn_user_head */
    struct hn_pollent pe;     /* for hn_wait_fd */
    struct hn_worker *w;
    const struct hn_type_plan *plan;
    uint64_t id;
    uint64_t rng;
    void *state;
    struct hn_coro *coro;
    char *host;

    enum hn_block wait;
    bool stopping;            /* asked to stop: unwinds at its next gate */
    bool aborted;             /* stop timeout passed: no more I/O */
    bool in_stop_hook;        /* running on_stop: requests still allowed */
    bool finished;            /* coroutine returned; reaped by the loop */
    bool queued;              /* on the run queue */
    bool slot_granted;        /* release_slot handed this waiter a request slot */
    uint64_t resumes;         /* times the loop resumed it (a task that never yields) */
    bool task_jmp_set, exit_jmp_set;
    jmp_buf task_jmp;         /* hn_reschedule / hn_exception land here */
    jmp_buf exit_jmp;         /* hn_stop_user and stopping land here */

    uint64_t deadline;        /* timer heap */
    size_t heap_idx;
    struct hn_user *run_next; /* run queue link */
    struct hn_ulist *list;    /* wait list it is on (slots or paused) */
    struct hn_user *prev, *next;

    int fd;                   /* hn_wait_fd */
    uint32_t fd_events;

    struct hn_http_conn conn; /* the HTTP client's per-user state and last response */
    char **headers;           /* hn_set_header: "Name: value", sent with every request */
    size_t n_headers;
    const char **req_headers; /* this request's merged header list (reused) */
    size_t cap_req_headers;
    size_t *feed_row;         /* per feeder: current row + 1, 0 = none (lazily allocated) */
    char *url;
    struct hn_response resp;

    bool open;                /* open model: one task per iteration the runner assigns */
    bool iteration_due;       /* an iteration was assigned and has not started */
    uint64_t iteration_at;    /* its intended start (monotonic us) */
    uint64_t start_lag_us;    /* how late it started: added to its first request */

    const char *task_name;
    size_t seq_next;
    uint64_t task_start_us;

    struct hn_ws *ws;         /* its WebSocket handles (user_ws.c), freed with it */
};

struct hn_worker {
    int index;
    void (*stop_test)(void *ud, const char *reason); /* hn_worker_config */
    void *stop_test_ud;
    const struct hn_feeders *feeders;                /* hn_worker_config; may be NULL */
    const struct hn_params *params;                  /* hn_worker_config; may be NULL */
    struct hn_http_options limits;                    /* hn_worker_config */
    pthread_t thread;
    uint64_t seed;
    char *host;

    int epfd, wakefd;
    struct hn_pollent wake_pe;
    struct hn_http_client *http;  /* this thread's HTTP clients (engine/client) */
    struct hn_ws_client *ws;      /* ... and its WebSocket side */

    struct hn_user **heap;
    size_t heap_n, heap_cap;
    struct hn_user *run_head, *run_tail;
    struct hn_ulist slot_waiters;
    struct hn_ulist paused_users;
    struct hn_ulist idle_users;   /* open model: the pool's users between iterations */
    _Atomic uint64_t *iterations_done; /* [any] per plan slot: iterations finished */
    _Atomic uint64_t iterations_missed; /* [any] assigned to a user that had gone */
    _Atomic uint64_t lag_max_us;        /* [any] latest timer lateness since the runner looked */

    struct hn_user **users;   /* spawn order; stop picks from the end (LIFO) */
    size_t n_users, cap_users;
    bool reap_pending;

    uint32_t in_flight, in_flight_cap;
    bool paused, quitting;

    _Atomic uint32_t alive_count;     /* [any] */
    _Atomic uint64_t cmds_sent;       /* [any] commands queued so far */
    _Atomic uint64_t cmds_done;       /* [any] ... and fully reflected in alive_count */
    _Atomic uint32_t in_flight_count; /* [any] */

    pthread_mutex_t cmd_lock;         /* guards cmds */
    struct hn_cmd *cmds;
    size_t n_cmds, cap_cmds;

    pthread_mutex_t shard_lock;       /* guards shard; held for one record */
    struct hn_stats *shard;
};

/* worker.c */
void hn_worker_timer_add(struct hn_worker *w, struct hn_user *u, uint64_t deadline);
void hn_worker_timer_del(struct hn_worker *w, struct hn_user *u);
void hn_worker_make_runnable(struct hn_worker *w, struct hn_user *u);
void hn_ulist_push(struct hn_ulist *l, struct hn_user *u);
void hn_ulist_remove(struct hn_user *u);
void hn_worker_record(struct hn_worker *w, const char *type, const char *name, uint64_t us,
                      uint64_t bytes, const char *error);
void hn_worker_record_start_lag(struct hn_worker *w, uint64_t lag_us);
void hn_worker_record_exception(struct hn_worker *w, const char *user_type, const char *task,
                                const char *message);
int hn_worker_watch_fd(struct hn_worker *w, struct hn_user *u, int fd, uint32_t events);
void hn_worker_unwatch_fd(struct hn_worker *w, int fd);

/* user.c */
/* at_us != 0: an open-model user whose first iteration starts then. */
void hn_user_spawn(struct hn_worker *w, const struct hn_type_plan *plan, uint64_t id,
                   uint64_t at_us);
/* Open model: an idle user of plan starts an iteration at at_us; false
 * when the worker has none. */
bool hn_user_iterate(struct hn_worker *w, const struct hn_type_plan *plan, uint64_t at_us);
void hn_user_resume(struct hn_user *u);
void hn_user_free(struct hn_user *u);
void hn_user_request_stop(struct hn_user *u);
void hn_user_abort(struct hn_user *u);
/* The client's done callback: owner is the user whose request finished. */
void hn_user_transfer_done(void *owner);
void hn_user_timer_expired(struct hn_user *u);
void hn_user_fd_ready(struct hn_user *u, uint32_t events);
struct hn_user *hn_user_from_pollent(struct hn_pollent *pe);
/* For the API's other files (user_ws.c), in the user's own coroutine:
 * whether the call comes from there (logged when not); leaving the task
 * loop for good (returns only outside it); waiting for fd (HN_FD_* bits) until
 * deadline_us (UINT64_MAX = none): the ready bits, 0 at the deadline, -1
 * when it cannot wait or the user was aborted (never unwinds). */
bool hn_user_in_own_coroutine(struct hn_user *u, const char *what);
void hn_user_exit(struct hn_user *u);
int hn_user_wait_fd(struct hn_user *u, int fd, int events, uint64_t deadline_us);
/* Records a catch_response request left pending; blocks while the run is
 * paused and unwinds when the user must stop (before a new operation). */
void hn_user_finish_pending(struct hn_user *u);
void hn_user_gate(struct hn_user *u);
/* The plugin API's function table. [any] */
const struct hn_api *hn_user_api_table(void);

/* user_ws.c: the WebSocket calls of the plugin API (ABI 1.3). */
struct hn_ws *hn_user_ws_connect(struct hn_user *u, const char *url, const struct hn_ws_opts *o);
int hn_user_ws_send(struct hn_ws *ws, const void *data, size_t len, int kind);
int hn_user_ws_recv(struct hn_ws *ws, double timeout, const char **data, size_t *len);
const char *hn_user_ws_request(struct hn_ws *ws, const char *name, const void *data, size_t len,
                               double timeout, size_t *reply_len);
void hn_user_ws_close(struct hn_ws *ws);
const char *hn_user_ws_error(const struct hn_ws *ws);
/* Frees the user's WebSocket handles (at once, no close frames). */
void hn_user_ws_free_all(struct hn_user *u);

#endif
