/*
 * acceptor.c: the dashboard's one port (BRIEF 2, stack-facts 1a).
 *
 * One thread owns the listening socket and an epoll set. Accepted sockets
 * wait in a "pending" list until their request head is complete; the head
 * is only peeked (recv MSG_PEEK), never consumed, so the library that gets
 * the socket reads it untouched. Pending sockets are edge-triggered: a
 * peeked, still incomplete head stays readable, and level-triggered epoll
 * would wake for it in a busy loop; with EPOLLET each new segment fires a
 * fresh edge and we peek again.
 *
 * With --tls-cert, every accepted socket is TLS: a pipe (tls_pipe.c) ends
 * it here and hands on the plain end of a socket pair, which then waits
 * for its head and is routed like any plain connection.
 *
 * Sockets we answer ourselves (431, 400) are not closed at once: closing a
 * socket with unread data sends a reset, which can destroy the response
 * before the client reads it. They "linger": we shut down our side, read
 * and discard what the client still sends, and close on its EOF or after
 * a short deadline.
 */
#include "acceptor.h"

#include <errno.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "head.h"
#include "http.h"
#include "live.h"
#include "log.h"
#include "tls_pipe.h"
#include "webctx.h"

#define PEEK_MAX 8192          /* largest request head we route (lws is given 8 KiB too) */
#define MAX_PENDING 1024       /* connections waiting for a head, plus lingering ones */
#define IDLE_MS 10000          /* a pending connection must send its head within this */
#define LINGER_MS 2000         /* how long an answered connection may keep sending */
#define ACCEPT_BATCH 256       /* accepts per wake-up, so deadlines are still served */
#define ACCEPT_PAUSE_MS 100    /* back-off when out of file descriptors */
#define BACKLOG 512
#define MAX_TLS 2048           /* TLS connections (3 descriptors each) */

struct conn {
    struct conn *prev, *next; /* in pending or lingering list, oldest first */
    int fd;                   /* -1 while free */
    bool lingering;
    uint64_t deadline_ms;
    struct sockaddr_storage addr;
    socklen_t addr_len;
};

/* A TLS connection: its pipe, in the acceptor's list of them. Both of the
 * pipe's descriptors carry it as their epoll tag. */
struct tls_conn {
    struct tls_conn *prev, *next;
    struct hn_tls_pipe *pipe;
};

/* A FIFO list with a sentinel. Every member of one list has the same
 * timeout, so arrival order is deadline order and the head expires first. */
struct conn_list {
    struct conn head;
    size_t n;
};

struct hn_acceptor {
    int listen_fd;
    int epoll_fd;
    int wake_fd;              /* eventfd: hn_acceptor_stop wakes the thread */
    uint16_t port;
    struct hn_http *http;
    struct hn_live *live;
    const struct hn_webctx *ctx;  /* the --web-auth check */
    struct hn_tls *tls;       /* --tls-cert: every connection is TLS; NULL = plain */
    pthread_t thread;
    bool thread_started;

    /* acceptor thread only */
    struct conn conns[MAX_PENDING];
    struct conn *free_conns;  /* singly linked through next */
    struct conn_list pending;
    struct conn_list lingering;
    bool accept_paused;
    uint64_t accept_resume_ms;
    struct tls_conn tls_conns;  /* sentinel of the open TLS connections */
    size_t n_tls;
    struct tls_conn *tls_closed; /* closed during this batch of events: freed after it */
    uint64_t tls_sweep_ms;    /* when the TLS connections' deadlines are looked at next */
    char buf[PEEK_MAX];
};

/* epoll tags for the two fds that are not connections. */
static char tag_listen, tag_wake;

static uint64_t now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

static void list_init(struct conn_list *l)
{
    l->head.prev = l->head.next = &l->head;
    l->n = 0;
}

static void list_push(struct conn_list *l, struct conn *c)
{
    c->prev = l->head.prev;
    c->next = &l->head;
    l->head.prev->next = c;
    l->head.prev = c;
    l->n++;
}

static void list_remove(struct conn_list *l, struct conn *c)
{
    c->prev->next = c->next;
    c->next->prev = c->prev;
    c->prev = c->next = NULL;
    l->n--;
}

static struct conn *list_oldest(struct conn_list *l)
{
    return l->n ? l->head.next : NULL;
}

/* Takes c out of its list and back to the free pool; the fd is left
 * alone (closed or handed over by the caller). */
static void conn_release(struct hn_acceptor *a, struct conn *c)
{
    list_remove(c->lingering ? &a->lingering : &a->pending, c);
    c->fd = -1;
    c->lingering = false;
    c->next = a->free_conns;
    a->free_conns = c;
}

static void conn_close(struct hn_acceptor *a, struct conn *c)
{
    int fd = c->fd;
    conn_release(a, c);
    close(fd); /* also removes it from the epoll set */
}

/* A free slot; when all are taken, the oldest lingering connection (it has
 * had its answer) or else the oldest pending one is closed to make room. */
static struct conn *conn_get(struct hn_acceptor *a)
{
    if (a->free_conns == NULL) {
        struct conn *victim = list_oldest(&a->lingering);
        if (victim == NULL) {
            victim = list_oldest(&a->pending);
            hn_logf(HN_DEBUG, "dashboard: %d connections wait for a request head; "
                              "closing the oldest", MAX_PENDING);
        }
        conn_close(a, victim);
    }
    struct conn *c = a->free_conns;
    a->free_conns = c->next;
    c->next = NULL;
    return c;
}

static void drain(struct hn_acceptor *a, struct conn *c);

/* Answers with a small JSON error and lets the connection linger. A 426
 * says which WebSocket version this server speaks, a 401 how to log in. */
static void reply_and_linger(struct hn_acceptor *a, struct conn *c, const char *status,
                             const char *message)
{
    char body[160], resp[512];
    int bl = snprintf(body, sizeof body, "{\"error\":\"%s\"}", message);
    const char *extra = strncmp(status, "426", 3) == 0   ? "Sec-WebSocket-Version: 13\r\n"
                        : strncmp(status, "401", 3) == 0 ? "WWW-Authenticate: "
                                                           HN_WEB_AUTH_CHALLENGE "\r\n"
                                                         : "";
    int n = snprintf(resp, sizeof resp,
                     "HTTP/1.1 %s\r\n%sContent-Type: application/json\r\n"
                     "Content-Length: %d\r\nConnection: close\r\n\r\n%s",
                     status, extra, bl, body);
    /* A fresh socket's send buffer is empty: this small write completes. */
    if (send(c->fd, resp, (size_t)n, MSG_NOSIGNAL | MSG_DONTWAIT) < 0 ||
        shutdown(c->fd, SHUT_WR) != 0) {
        conn_close(a, c);
        return;
    }
    list_remove(&a->pending, c);
    c->lingering = true;
    c->deadline_ms = now_ms() + LINGER_MS;
    list_push(&a->lingering, c);
    drain(a, c); /* what is already there fires no new edge */
}

/* Reads and discards what a lingering client still sends; closes on its
 * EOF or an error. */
static void drain(struct hn_acceptor *a, struct conn *c)
{
    for (;;) {
        ssize_t n = recv(c->fd, a->buf, sizeof a->buf, MSG_DONTWAIT);
        if (n > 0)
            continue;
        if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
            return;
        if (n < 0 && errno == EINTR)
            continue;
        conn_close(a, c);
        return;
    }
}

/* Hands a connection with a complete head to lws or MHD. */
static void route(struct hn_acceptor *a, struct conn *c, bool websocket)
{
    int fd = c->fd;
    struct sockaddr_storage addr = c->addr;
    socklen_t addr_len = c->addr_len;
    epoll_ctl(a->epoll_fd, EPOLL_CTL_DEL, fd, NULL);
    conn_release(a, c);
    if (websocket && a->live != NULL)
        hn_live_adopt(a->live, fd);
    else if (a->http != NULL)
        hn_http_adopt(a->http, fd, (const struct sockaddr *)&addr, addr_len);
    else
        close(fd);
}

/* A pending connection became readable (or hung up): peek at its head. */
static void on_pending(struct hn_acceptor *a, struct conn *c, uint32_t events)
{
    ssize_t n = recv(c->fd, a->buf, sizeof a->buf, MSG_PEEK | MSG_DONTWAIT);
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR)) {
        if (events & (EPOLLHUP | EPOLLERR))
            conn_close(a, c);
        return;
    }
    if (n <= 0) { /* EOF or error before a head: nothing to answer */
        conn_close(a, c);
        return;
    }
    struct hn_head head;
    hn_head_read(a->buf, (size_t)n, sizeof a->buf, &head);
    switch (head.route) {
    case HN_HEAD_HTTP:
        route(a, c, false);
        return;
    case HN_HEAD_WEBSOCKET:
        /* MHD checks each HTTP request itself; lws never sees this one. */
        if (!hn_web_auth_ok(a->ctx, head.authorization[0] ? head.authorization : NULL))
            reply_and_linger(a, c, "401 Unauthorized",
                             "this dashboard needs a user name and password (--web-auth)");
        else
            route(a, c, true);
        return;
    case HN_HEAD_REFUSE:
        reply_and_linger(a, c, head.status, head.message);
        return;
    case HN_HEAD_INCOMPLETE:
        break;
    }
    if (events & (EPOLLRDHUP | EPOLLHUP | EPOLLERR)) /* the rest will never come */
        conn_close(a, c);
}

/* Closes a TLS connection. Its memory waits for the end of the batch: an
 * event of its other descriptor may already be fetched. */
static void tls_close(struct hn_acceptor *a, struct tls_conn *t)
{
    t->prev->next = t->next;
    t->next->prev = t->prev;
    a->n_tls--;
    hn_tls_pipe_free(t->pipe); /* closing its fds also takes them out of the epoll set */
    t->pipe = NULL;
    t->next = a->tls_closed;
    a->tls_closed = t;
}

static void tls_free_closed(struct hn_acceptor *a)
{
    while (a->tls_closed != NULL) {
        struct tls_conn *t = a->tls_closed;
        a->tls_closed = t->next;
        free(t);
    }
}

/* Ends TLS on a new connection; returns the plain end to route, or -1
 * (fd closed). */
static int tls_accept(struct hn_acceptor *a, int fd)
{
    if (a->n_tls >= MAX_TLS) {
        hn_logf(HN_DEBUG, "dashboard: %d TLS connections open; refusing one", MAX_TLS);
        close(fd);
        return -1;
    }
    struct tls_conn *t = calloc(1, sizeof *t);
    int plain = -1;
    if (t == NULL || (t->pipe = hn_tls_pipe_new(a->tls, fd, &plain)) == NULL) {
        if (t == NULL)
            close(fd);
        free(t);
        return -1;
    }
    t->next = a->tls_conns.next;
    t->prev = &a->tls_conns;
    t->next->prev = t;
    a->tls_conns.next = t;
    a->n_tls++;
    struct epoll_event ev = {.events = EPOLLIN | EPOLLOUT | EPOLLRDHUP | EPOLLET, .data.ptr = t};
    if (epoll_ctl(a->epoll_fd, EPOLL_CTL_ADD, hn_tls_pipe_fd(t->pipe, HN_TLS_NET), &ev) != 0 ||
        epoll_ctl(a->epoll_fd, EPOLL_CTL_ADD, hn_tls_pipe_fd(t->pipe, HN_TLS_PLAIN), &ev) != 0) {
        close(plain);
        tls_close(a, t);
        return -1;
    }
    return plain;
}

static bool is_conn(const struct hn_acceptor *a, const void *tag)
{
    return (const char *)tag >= (const char *)a->conns &&
           (const char *)tag < (const char *)(a->conns + MAX_PENDING);
}

static void set_accepting(struct hn_acceptor *a, bool on)
{
    struct epoll_event ev = {.events = on ? EPOLLIN : 0, .data.ptr = &tag_listen};
    epoll_ctl(a->epoll_fd, EPOLL_CTL_MOD, a->listen_fd, &ev);
    a->accept_paused = !on;
    if (!on)
        a->accept_resume_ms = now_ms() + ACCEPT_PAUSE_MS;
}

static void accept_some(struct hn_acceptor *a)
{
    for (int i = 0; i < ACCEPT_BATCH; i++) {
        struct sockaddr_storage addr;
        socklen_t addr_len = sizeof addr;
        int fd = accept4(a->listen_fd, (struct sockaddr *)&addr, &addr_len,
                         SOCK_NONBLOCK | SOCK_CLOEXEC);
        if (fd < 0) {
            if (errno == EAGAIN || errno == EWOULDBLOCK)
                return;
            if (errno == EMFILE || errno == ENFILE || errno == ENOBUFS || errno == ENOMEM) {
                /* The listen socket stays readable: stop polling it for a
                 * moment instead of spinning. */
                hn_logf(HN_WARNING, "dashboard: cannot accept a connection: %s; "
                                    "retrying in %d ms", strerror(errno), ACCEPT_PAUSE_MS);
                set_accepting(a, false);
                return;
            }
            continue; /* ECONNABORTED, EINTR, EPROTO...: that one is gone */
        }
        int one = 1;
        setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
        if (a->tls != NULL && (fd = tls_accept(a, fd)) < 0)
            continue;
        struct conn *c = conn_get(a);
        c->fd = fd;
        c->lingering = false;
        c->deadline_ms = now_ms() + IDLE_MS;
        c->addr = addr;
        c->addr_len = addr_len;
        list_push(&a->pending, c);
        /* Data that arrived before the add is reported by the add itself. */
        struct epoll_event ev = {.events = EPOLLIN | EPOLLRDHUP | EPOLLET, .data.ptr = c};
        if (epoll_ctl(a->epoll_fd, EPOLL_CTL_ADD, fd, &ev) != 0)
            conn_close(a, c);
    }
}

/* Closes what has passed its deadline; returns the epoll timeout in ms
 * until the next deadline (-1 = none). */
static int expire(struct hn_acceptor *a)
{
    uint64_t now = now_ms();
    struct conn *c;
    while ((c = list_oldest(&a->pending)) != NULL && c->deadline_ms <= now)
        conn_close(a, c);
    while ((c = list_oldest(&a->lingering)) != NULL && c->deadline_ms <= now)
        conn_close(a, c);
    if (a->accept_paused && a->accept_resume_ms <= now)
        set_accepting(a, true);
    if (a->n_tls > 0 && a->tls_sweep_ms <= now) {
        /* Deadlines of seconds: a look once a second is enough. */
        for (struct tls_conn *t = a->tls_conns.next, *next; t != &a->tls_conns; t = next) {
            next = t->next;
            if (hn_tls_pipe_expired(t->pipe, now))
                tls_close(a, t);
        }
        tls_free_closed(a);
        a->tls_sweep_ms = now + 1000;
    }

    uint64_t next = UINT64_MAX;
    if ((c = list_oldest(&a->pending)) != NULL)
        next = c->deadline_ms;
    if ((c = list_oldest(&a->lingering)) != NULL && c->deadline_ms < next)
        next = c->deadline_ms;
    if (a->accept_paused && a->accept_resume_ms < next)
        next = a->accept_resume_ms;
    if (a->n_tls > 0 && a->tls_sweep_ms < next)
        next = a->tls_sweep_ms;
    if (next == UINT64_MAX)
        return -1;
    return (int)(next - now);
}

static void *acceptor_main(void *arg)
{
    struct hn_acceptor *a = arg;
    struct epoll_event evs[64];
    for (;;) {
        int timeout = expire(a);
        int n = epoll_wait(a->epoll_fd, evs, 64, timeout);
        if (n < 0) {
            if (errno == EINTR)
                continue;
            hn_logf(HN_ERROR, "dashboard: epoll_wait failed: %s", strerror(errno));
            break;
        }
        for (int i = 0; i < n; i++) {
            void *tag = evs[i].data.ptr;
            if (tag == &tag_wake)
                return NULL;
            if (tag == &tag_listen) {
                accept_some(a);
                continue;
            }
            if (!is_conn(a, tag)) {
                struct tls_conn *t = tag;
                if (t->pipe != NULL && !hn_tls_pipe_run(t->pipe))
                    tls_close(a, t);
                continue;
            }
            struct conn *c = tag;
            /* An event queued for a slot that was closed (evicted) earlier
             * in this batch: the fd it named is gone. */
            if (c->fd < 0)
                continue;
            if (c->lingering)
                drain(a, c);
            else
                on_pending(a, c, evs[i].events);
        }
        tls_free_closed(a);
    }
    return NULL;
}

/* "127.0.0.1:8089" or "[::1]:8089" for messages. */
static void format_endpoint(char *out, size_t n, const char *host, uint16_t port)
{
    if (strchr(host, ':') != NULL)
        snprintf(out, n, "[%s]:%u", host, port);
    else
        snprintf(out, n, "%s:%u", host, port);
}

static int open_listener(const char *host, uint16_t port, uint16_t *bound, char *err,
                         size_t err_len)
{
    char where[300], service[8];
    format_endpoint(where, sizeof where, host, port);
    snprintf(service, sizeof service, "%u", port);
    struct addrinfo hints = {.ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM,
                             .ai_flags = AI_PASSIVE | AI_NUMERICSERV};
    struct addrinfo *res = NULL;
    int rc = getaddrinfo(host, service, &hints, &res);
    if (rc != 0) {
        snprintf(err, err_len, "cannot listen on %s: %s", where, gai_strerror(rc));
        return -1;
    }
    int fd = -1, saved = 0;
    for (struct addrinfo *ai = res; ai != NULL; ai = ai->ai_next) {
        fd = socket(ai->ai_family, ai->ai_socktype | SOCK_NONBLOCK | SOCK_CLOEXEC,
                    ai->ai_protocol);
        if (fd < 0) {
            saved = errno;
            continue;
        }
        int one = 1;
        setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
        if (bind(fd, ai->ai_addr, ai->ai_addrlen) == 0 && listen(fd, BACKLOG) == 0)
            break;
        saved = errno;
        close(fd);
        fd = -1;
    }
    freeaddrinfo(res);
    if (fd < 0) {
        snprintf(err, err_len, "cannot listen on %s: %s", where,
                 strerror(saved ? saved : EADDRNOTAVAIL));
        return -1;
    }
    struct sockaddr_storage ss;
    socklen_t len = sizeof ss;
    if (getsockname(fd, (struct sockaddr *)&ss, &len) != 0) {
        snprintf(err, err_len, "cannot listen on %s: %s", where, strerror(errno));
        close(fd);
        return -1;
    }
    *bound = ntohs(ss.ss_family == AF_INET6 ? ((struct sockaddr_in6 *)&ss)->sin6_port
                                            : ((struct sockaddr_in *)&ss)->sin_port);
    return fd;
}

static void acceptor_free(struct hn_acceptor *a)
{
    while (a->tls_conns.next != NULL && a->tls_conns.next != &a->tls_conns)
        tls_close(a, a->tls_conns.next);
    tls_free_closed(a);
    for (int i = 0; i < MAX_PENDING; i++)
        if (a->conns[i].fd >= 0)
            close(a->conns[i].fd);
    if (a->listen_fd >= 0)
        close(a->listen_fd);
    if (a->epoll_fd >= 0)
        close(a->epoll_fd);
    if (a->wake_fd >= 0)
        close(a->wake_fd);
    free(a);
}

int hn_acceptor_start(struct hn_acceptor **out, const char *host, uint16_t port,
                      struct hn_http *http, struct hn_live *live, const struct hn_webctx *ctx,
                      struct hn_tls *tls, char *err, size_t err_len)
{
    *out = NULL;
    struct hn_acceptor *a = calloc(1, sizeof *a);
    if (a == NULL) {
        snprintf(err, err_len, "out of memory");
        return -1;
    }
    a->http = http;
    a->ctx = ctx;
    a->live = live;
    a->listen_fd = a->epoll_fd = a->wake_fd = -1;
    a->tls = tls;
    a->tls_conns.prev = a->tls_conns.next = &a->tls_conns;
    list_init(&a->pending);
    list_init(&a->lingering);
    for (int i = MAX_PENDING - 1; i >= 0; i--) {
        a->conns[i].fd = -1;
        a->conns[i].next = a->free_conns;
        a->free_conns = &a->conns[i];
    }

    a->listen_fd = open_listener(host, port, &a->port, err, err_len);
    if (a->listen_fd < 0)
        goto fail;
    a->epoll_fd = epoll_create1(EPOLL_CLOEXEC);
    a->wake_fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
    if (a->epoll_fd < 0 || a->wake_fd < 0) {
        snprintf(err, err_len, "dashboard: cannot create epoll/eventfd: %s", strerror(errno));
        goto fail;
    }
    struct epoll_event lev = {.events = EPOLLIN, .data.ptr = &tag_listen};
    struct epoll_event wev = {.events = EPOLLIN, .data.ptr = &tag_wake};
    if (epoll_ctl(a->epoll_fd, EPOLL_CTL_ADD, a->listen_fd, &lev) != 0 ||
        epoll_ctl(a->epoll_fd, EPOLL_CTL_ADD, a->wake_fd, &wev) != 0) {
        snprintf(err, err_len, "dashboard: epoll_ctl failed: %s", strerror(errno));
        goto fail;
    }
    int rc = pthread_create(&a->thread, NULL, acceptor_main, a);
    if (rc != 0) {
        snprintf(err, err_len, "dashboard: cannot start the acceptor thread: %s",
                 strerror(rc));
        goto fail;
    }
    pthread_setname_np(a->thread, "hn-acceptor");
    a->thread_started = true;
    *out = a;
    return 0;

fail:
    acceptor_free(a);
    return -1;
}

uint16_t hn_acceptor_port(const struct hn_acceptor *a)
{
    return a->port;
}

void hn_acceptor_stop(struct hn_acceptor *a)
{
    if (a == NULL)
        return;
    if (a->thread_started) {
        uint64_t one = 1;
        while (write(a->wake_fd, &one, sizeof one) < 0 && errno == EINTR)
            ;
        pthread_join(a->thread, NULL);
    }
    acceptor_free(a);
}
