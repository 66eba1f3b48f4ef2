/*
 * worker.c: one worker thread = one epoll loop + its HTTP client
 * (engine/client) + the coroutine users it runs, their timers and a stats
 * shard.
 *
 * Loop order per iteration: commands, runnable users, client timeouts,
 * epoll_wait, I/O dispatch, finished transfers, due timers. Users are
 * resumed only from this loop (never from client callbacks: curl 7.88
 * refuses re-entrant multi calls).
 */
#include "worker.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "clock.h"
#include "coro.h"
#include "log.h"
#include "user.h"

/* ---------------------------------------------------------------- */
/* Timers: a binary min-heap of users keyed by deadline.             */
/* ---------------------------------------------------------------- */

static void heap_swap(struct hn_worker *w, size_t a, size_t b)
{
    struct hn_user *t = w->heap[a];
    w->heap[a] = w->heap[b];
    w->heap[b] = t;
    w->heap[a]->heap_idx = a;
    w->heap[b]->heap_idx = b;
}

static void heap_up(struct hn_worker *w, size_t i)
{
    while (i > 0) {
        size_t p = (i - 1) / 2;
        if (w->heap[p]->deadline <= w->heap[i]->deadline)
            break;
        heap_swap(w, i, p);
        i = p;
    }
}

static void heap_down(struct hn_worker *w, size_t i)
{
    for (;;) {
        size_t l = 2 * i + 1, r = l + 1, m = i;
        if (l < w->heap_n && w->heap[l]->deadline < w->heap[m]->deadline)
            m = l;
        if (r < w->heap_n && w->heap[r]->deadline < w->heap[m]->deadline)
            m = r;
        if (m == i)
            break;
        heap_swap(w, i, m);
        i = m;
    }
}

void hn_worker_timer_add(struct hn_worker *w, struct hn_user *u, uint64_t deadline)
{
    if (u->heap_idx != HN_NOT_IN_HEAP)
        hn_worker_timer_del(w, u);
    if (w->heap_n == w->heap_cap) {
        w->heap_cap = w->heap_cap ? w->heap_cap * 2 : 256;
        w->heap = realloc(w->heap, w->heap_cap * sizeof *w->heap);
        if (w->heap == NULL)
            abort();
    }
    u->deadline = deadline;
    u->heap_idx = w->heap_n;
    w->heap[w->heap_n++] = u;
    heap_up(w, u->heap_idx);
}

void hn_worker_timer_del(struct hn_worker *w, struct hn_user *u)
{
    size_t i = u->heap_idx;
    if (i == HN_NOT_IN_HEAP)
        return;
    u->heap_idx = HN_NOT_IN_HEAP;
    w->heap_n--;
    if (i == w->heap_n)
        return;
    w->heap[i] = w->heap[w->heap_n];
    w->heap[i]->heap_idx = i;
    heap_up(w, i);
    heap_down(w, w->heap[i]->heap_idx);
}

/* ---------------------------------------------------------------- */
/* Run queue and wait lists                                          */
/* ---------------------------------------------------------------- */

void hn_worker_make_runnable(struct hn_worker *w, struct hn_user *u)
{
    if (u->queued)
        return;
    u->queued = true;
    u->run_next = NULL;
    if (w->run_tail)
        w->run_tail->run_next = u;
    else
        w->run_head = u;
    w->run_tail = u;
}

void hn_ulist_push(struct hn_ulist *l, struct hn_user *u)
{
    u->list = l;
    u->prev = l->tail;
    u->next = NULL;
    if (l->tail)
        l->tail->next = u;
    else
        l->head = u;
    l->tail = u;
}

void hn_ulist_remove(struct hn_user *u)
{
    struct hn_ulist *l = u->list;
    if (l == NULL)
        return;
    if (u->prev)
        u->prev->next = u->next;
    else
        l->head = u->next;
    if (u->next)
        u->next->prev = u->prev;
    else
        l->tail = u->prev;
    u->prev = u->next = NULL;
    u->list = NULL;
}

/* ---------------------------------------------------------------- */
/* Commands                                                          */
/* ---------------------------------------------------------------- */

void hn_worker_send(struct hn_worker *w, const struct hn_cmd *cmds, size_t n)
{
    pthread_mutex_lock(&w->cmd_lock);
    if (w->n_cmds + n > w->cap_cmds) {
        size_t cap = w->cap_cmds ? w->cap_cmds : 64;
        while (cap < w->n_cmds + n)
            cap *= 2;
        w->cmds = realloc(w->cmds, cap * sizeof *w->cmds);
        if (w->cmds == NULL)
            abort();
        w->cap_cmds = cap;
    }
    memcpy(w->cmds + w->n_cmds, cmds, n * sizeof *cmds);
    w->n_cmds += n;
    atomic_fetch_add(&w->cmds_sent, n);
    pthread_mutex_unlock(&w->cmd_lock);
    uint64_t one = 1;
    ssize_t rc = write(w->wakefd, &one, sizeof one);
    (void)rc; /* EAGAIN means a wake-up is already pending */
}

/* Marks the most recently spawned running user (of plan, when not NULL)
 * as stopping. */
static void stop_newest(struct hn_worker *w, const struct hn_type_plan *plan)
{
    for (size_t i = w->n_users; i > 0; i--) {
        struct hn_user *u = w->users[i - 1];
        if (u != NULL && !u->stopping && (plan == NULL || u->plan == plan)) {
            hn_user_request_stop(u);
            return;
        }
    }
}

/* Runs the queued commands; returns how many. */
static size_t run_commands(struct hn_worker *w)
{
    pthread_mutex_lock(&w->cmd_lock);
    struct hn_cmd *cmds = w->cmds;
    size_t n = w->n_cmds;
    w->cmds = NULL;
    w->n_cmds = w->cap_cmds = 0;
    pthread_mutex_unlock(&w->cmd_lock);

    for (size_t i = 0; i < n; i++) {
        struct hn_cmd *c = &cmds[i];
        switch (c->kind) {
        case HN_CMD_SPAWN:
            if (!w->quitting)
                hn_user_spawn(w, c->plan, c->user_id, c->at_us);
            break;
        case HN_CMD_ITERATE:
            if (!w->quitting && !hn_user_iterate(w, c->plan, c->at_us))
                atomic_fetch_add(&w->iterations_missed, 1);
            break;
        case HN_CMD_STOP_USERS:
            for (uint32_t k = 0; k < c->count; k++)
                stop_newest(w, c->plan);
            break;
        case HN_CMD_STOP_ALL:
            for (size_t k = 0; k < w->n_users; k++)
                if (w->users[k] != NULL && !w->users[k]->stopping)
                    hn_user_request_stop(w->users[k]);
            break;
        case HN_CMD_QUIT:
            w->quitting = true;
            for (size_t k = 0; k < w->n_users; k++)
                if (w->users[k] != NULL && !w->users[k]->stopping)
                    hn_user_request_stop(w->users[k]);
            /* Quitting also aborts whatever is in flight. */
            /* fall through */
        case HN_CMD_ABORT:
            for (size_t k = 0; k < w->n_users; k++)
                if (w->users[k] != NULL)
                    hn_user_abort(w->users[k]);
            break;
        case HN_CMD_PAUSE:
            w->paused = true;
            break;
        case HN_CMD_RESUME:
            w->paused = false;
            while (w->paused_users.head != NULL) {
                struct hn_user *u = w->paused_users.head;
                hn_ulist_remove(u);
                hn_worker_make_runnable(w, u);
            }
            break;
        case HN_CMD_SET_HOST:
            free(w->host);
            w->host = c->text;
            c->text = NULL;
            break;
        }
        free(c->text);
    }
    free(cmds);
    return n;
}

/* ---------------------------------------------------------------- */
/* The loop                                                          */
/* ---------------------------------------------------------------- */

static void run_users(struct hn_worker *w)
{
    /* Users made runnable while this batch runs wait for the next turn,
     * so one busy user cannot starve I/O. */
    struct hn_user *batch = w->run_head;
    w->run_head = w->run_tail = NULL;
    while (batch != NULL) {
        struct hn_user *u = batch;
        batch = u->run_next;
        u->queued = false;
        hn_user_resume(u);
        if (u->finished)
            w->reap_pending = true;
    }
}

static void reap_users(struct hn_worker *w)
{
    if (!w->reap_pending)
        return;
    w->reap_pending = false;
    size_t j = 0;
    for (size_t i = 0; i < w->n_users; i++) {
        struct hn_user *u = w->users[i];
        if (u->finished) {
            hn_user_free(u);
            continue;
        }
        w->users[j++] = u;
    }
    w->n_users = j;
}

/* Fires due timers, noting how late the latest one fired: a loop too
 * busy to keep its timers distorts every figure it measures. */
static void fire_timers(struct hn_worker *w, uint64_t now)
{
    uint64_t late = 0;
    while (w->heap_n > 0 && w->heap[0]->deadline <= now) {
        struct hn_user *u = w->heap[0];
        if (now - u->deadline > late)
            late = now - u->deadline;
        hn_worker_timer_del(w, u);
        hn_user_timer_expired(u);
    }
    if (late > atomic_load_explicit(&w->lag_max_us, memory_order_relaxed))
        atomic_store_explicit(&w->lag_max_us, late, memory_order_relaxed);
}

static int loop_timeout_ms(struct hn_worker *w, uint64_t now)
{
    if (w->run_head != NULL)
        return 0;
    uint64_t next = hn_http_client_deadline(w->http);
    if (w->heap_n > 0 && w->heap[0]->deadline < next)
        next = w->heap[0]->deadline;
    if (next == UINT64_MAX)
        return 1000;
    if (next <= now)
        return 0;
    uint64_t ms = (next - now + 999) / 1000;
    return ms > 1000 ? 1000 : (int)ms;
}

static void *worker_main(void *arg)
{
    struct hn_worker *w = arg;
    struct epoll_event events[256];

    for (;;) {
        size_t done = run_commands(w);
        run_users(w);
        reap_users(w);
        atomic_store_explicit(&w->alive_count, (uint32_t)w->n_users, memory_order_relaxed);
        /* Only now: a reader that sees every command done also sees the
         * user count those commands produced (see hn_worker_settled). */
        if (done > 0)
            atomic_fetch_add(&w->cmds_done, done);
        if (w->quitting && w->n_users == 0)
            break;

        uint64_t now = hn_mono_us();
        if (hn_http_client_deadline(w->http) <= now) {
            hn_http_client_run_timers(w->http);
            now = hn_mono_us();
        }

        int n = epoll_wait(w->epfd, events, 256, loop_timeout_ms(w, now));
        for (int i = 0; i < n; i++) {
            struct hn_pollent *pe = events[i].data.ptr;
            uint32_t ev = events[i].events;
            if (pe->kind == HN_POLL_WAKE) {
                uint64_t v;
                ssize_t rc = read(w->wakefd, &v, sizeof v);
                (void)rc;
            } else if (pe->kind == HN_POLL_CURL || pe->kind == HN_POLL_FAST) {
                hn_http_client_on_event(w->http, pe, ev);
            } else if (pe->kind == HN_POLL_USER) {
                hn_user_fd_ready(hn_user_from_pollent(pe), ev);
            }
        }
        hn_http_client_collect(w->http);
        fire_timers(w, hn_mono_us());
        atomic_store_explicit(&w->in_flight_count, w->in_flight, memory_order_relaxed);
    }
    hn_coro_pool_release();
    return NULL;
}

int hn_worker_start(struct hn_worker **out, const struct hn_worker_config *cfg)
{
    *out = NULL;
    struct hn_worker *w = calloc(1, sizeof *w);
    if (w == NULL)
        return -ENOMEM;
    w->index = cfg->index;
    w->stop_test = cfg->stop_test;
    w->stop_test_ud = cfg->stop_test_ud;
    w->feeders = cfg->feeders;
    w->params = cfg->params;
    w->limits = cfg->limits;
    w->iterations_done = calloc(cfg->n_plans ? cfg->n_plans : 1, sizeof *w->iterations_done);
    w->seed = cfg->seed;
    /* High enough that a swarm of ordinary size never queues behind it
     * (500 users against a 50 ms target needed more than 256); it still
     * bounds the connections one multi handle juggles. */
    w->in_flight_cap = cfg->in_flight_cap ? cfg->in_flight_cap : 1024;
    w->host = cfg->host ? strdup(cfg->host) : NULL;
    pthread_mutex_init(&w->cmd_lock, NULL);
    pthread_mutex_init(&w->shard_lock, NULL);
    w->shard = calloc(1, sizeof *w->shard);
    hn_stats_init(w->shard);

    w->epfd = epoll_create1(EPOLL_CLOEXEC);
    w->wakefd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
    /* At least twice the in-flight cap of connections, or pooled ones get
     * closed and reopened as handles come and go (measured: 1 % reuse). */
    if (w->epfd >= 0)
        w->http = hn_http_client_new(w->epfd, (long)w->in_flight_cap * 2, hn_user_transfer_done,
                                      &w->limits.transport);
    w->ws = hn_ws_client_new(&w->limits.transport);
    if (w->epfd < 0 || w->wakefd < 0 || w->http == NULL || w->ws == NULL ||
        w->iterations_done == NULL)
        goto fail;
    w->wake_pe.kind = HN_POLL_WAKE;
    struct epoll_event ev = {.events = EPOLLIN, .data.ptr = &w->wake_pe};
    if (epoll_ctl(w->epfd, EPOLL_CTL_ADD, w->wakefd, &ev) != 0)
        goto fail;

    if (pthread_create(&w->thread, NULL, worker_main, w) != 0)
        goto fail;
    *out = w;
    return 0;
fail:
    hn_http_client_free(w->http);
    hn_ws_client_free(w->ws);
    free(w->iterations_done);
    if (w->epfd >= 0)
        close(w->epfd);
    if (w->wakefd >= 0)
        close(w->wakefd);
    hn_stats_cleanup(w->shard);
    free(w->shard);
    free(w->host);
    free(w);
    return -EAGAIN;
}

void hn_worker_join(struct hn_worker *w)
{
    if (w == NULL)
        return;
    struct hn_cmd quit = {.kind = HN_CMD_QUIT};
    hn_worker_send(w, &quit, 1);
    pthread_join(w->thread, NULL);
    for (size_t i = 0; i < w->n_cmds; i++)
        free(w->cmds[i].text);
    free(w->cmds);
    free(w->users);
    free(w->heap);
    hn_http_client_free(w->http);
    hn_ws_client_free(w->ws);
    free(w->iterations_done);
    close(w->epfd);
    close(w->wakefd);
    hn_stats_cleanup(w->shard);
    free(w->shard);
    free(w->host);
    pthread_mutex_destroy(&w->cmd_lock);
    pthread_mutex_destroy(&w->shard_lock);
    free(w);
}

void hn_worker_swap_shard(struct hn_worker *w, struct hn_stats **spare)
{
    pthread_mutex_lock(&w->shard_lock);
    struct hn_stats *full = w->shard;
    w->shard = *spare;
    pthread_mutex_unlock(&w->shard_lock);
    *spare = full;
}

uint32_t hn_worker_alive(struct hn_worker *w)
{
    return atomic_load_explicit(&w->alive_count, memory_order_relaxed);
}

bool hn_worker_settled(struct hn_worker *w)
{
    return atomic_load(&w->cmds_done) == atomic_load(&w->cmds_sent);
}

uint64_t hn_worker_iterations_done(struct hn_worker *w, size_t p)
{
    return atomic_load(&w->iterations_done[p]);
}

uint64_t hn_worker_iterations_missed(struct hn_worker *w)
{
    return atomic_load(&w->iterations_missed);
}

uint64_t hn_worker_take_lag(struct hn_worker *w)
{
    return atomic_exchange_explicit(&w->lag_max_us, 0, memory_order_relaxed);
}

double hn_worker_cpu_s(struct hn_worker *w)
{
    clockid_t clock;
    struct timespec ts;
    if (pthread_getcpuclockid(w->thread, &clock) != 0 || clock_gettime(clock, &ts) != 0)
        return 0;
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

uint32_t hn_worker_in_flight(struct hn_worker *w)
{
    return atomic_load_explicit(&w->in_flight_count, memory_order_relaxed);
}

void hn_worker_record(struct hn_worker *w, const char *type, const char *name, uint64_t us,
                      uint64_t bytes, const char *error)
{
    double ts = hn_wall_s();
    pthread_mutex_lock(&w->shard_lock);
    hn_stats_record(w->shard, type, name, us, bytes, error, ts);
    pthread_mutex_unlock(&w->shard_lock);
}

void hn_worker_record_start_lag(struct hn_worker *w, uint64_t lag_us)
{
    pthread_mutex_lock(&w->shard_lock);
    hn_stats_start_lag(w->shard, lag_us);
    pthread_mutex_unlock(&w->shard_lock);
}

void hn_worker_record_exception(struct hn_worker *w, const char *user_type, const char *task,
                                const char *message)
{
    double ts = hn_wall_s();
    pthread_mutex_lock(&w->shard_lock);
    hn_stats_exception(w->shard, user_type, task, message, ts);
    pthread_mutex_unlock(&w->shard_lock);
}

int hn_worker_watch_fd(struct hn_worker *w, struct hn_user *u, int fd, uint32_t events)
{
    struct epoll_event ev = {.events = events, .data.ptr = &u->pe};
    return epoll_ctl(w->epfd, EPOLL_CTL_ADD, fd, &ev);
}

void hn_worker_unwatch_fd(struct hn_worker *w, int fd)
{
    epoll_ctl(w->epfd, EPOLL_CTL_DEL, fd, NULL);
}
