/*
 * delay_target.c: an HTTP/1.1 target that answers every request exactly
 * DELAY_US microseconds after it has read the request's head, for the
 * measurement-overhead figure of bench/bench.py (section "accuracy").
 *
 *     cc -O2 -o delay_target bench/delay_target.c
 *     delay_target PORT DELAY_US [SPIN_US]     (PORT 0: any free port)
 *
 * It prints "port N" on stdout once listening. Every request, whatever its
 * method and path, gets "200 ok" (2-byte body, keep-alive). Bodies are not
 * expected (GET only). One thread, epoll, one timerfd: since the delay is
 * the same for all requests, deadlines come in arrival order and a FIFO
 * replaces a timer heap. The timerfd is armed SPIN_US (default 200) before
 * the head of the queue is due, and the rest is spun on CLOCK_MONOTONIC,
 * so the scheduler's wake-up latency does not add to the delay. The timer
 * slack is set to 1 ns for the same reason.
 *
 * On SIGTERM/SIGINT it prints to stderr how late the answers were started
 * against their deadlines (time from reading the request to starting to
 * write the answer, minus DELAY_US): "lateness_us count=N p50=A p99=B
 * p999=C max=D". That is the target's own timing error; the path around it
 * (loopback, wake-ups, the send itself: about 150 µs at p50 in the dev VM)
 * is common to every client, so the yardstick for a generator's overhead
 * is wrk run against the same target with the same connection count.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/timerfd.h>
#include <time.h>
#include <unistd.h>

#define MAX_LATE_US 100000u /* lateness histogram: 1 µs buckets up to 100 ms */

static const char RESPONSE[] = "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\n"
                               "Content-Length: 2\r\n\r\nok";

struct conn {
    int fd;
    uint32_t gen;       /* bumped on close: queued answers for an old connection are dropped */
    char in[8192];      /* unparsed request bytes */
    size_t in_len;
    char *out;          /* unsent answer bytes (only when the socket was full) */
    size_t out_len;
};

struct pending {
    int fd;
    uint32_t gen;
    uint64_t due_ns;
};

static struct conn **conns; /* by fd */
static size_t n_conns;
static struct pending *q;   /* ring */
static size_t q_cap, q_head, q_len;
static uint32_t late_hist[MAX_LATE_US + 1];
static uint64_t late_count, late_max;
static uint64_t armed_ns = UINT64_MAX; /* what the timerfd is set to (0 = disarmed) */
static volatile sig_atomic_t quit;

static uint64_t now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static void on_signal(int sig)
{
    (void)sig;
    quit = 1;
}

static void die(const char *what)
{
    perror(what);
    exit(1);
}

static struct conn *conn_for(int fd)
{
    if ((size_t)fd >= n_conns) {
        size_t n = n_conns ? n_conns : 1024;
        while (n <= (size_t)fd)
            n *= 2;
        conns = realloc(conns, n * sizeof *conns);
        if (conns == NULL)
            die("realloc");
        memset(conns + n_conns, 0, (n - n_conns) * sizeof *conns);
        n_conns = n;
    }
    if (conns[fd] == NULL && (conns[fd] = calloc(1, sizeof **conns)) == NULL)
        die("calloc");
    return conns[fd];
}

static void conn_close(int ep, struct conn *c)
{
    epoll_ctl(ep, EPOLL_CTL_DEL, c->fd, NULL);
    close(c->fd);
    c->fd = -1;
    c->gen++;
    c->in_len = 0;
    free(c->out);
    c->out = NULL;
    c->out_len = 0;
}

static void q_push(int fd, uint32_t gen, uint64_t due)
{
    if (q_len == q_cap) {
        size_t cap = q_cap ? q_cap * 2 : 4096;
        struct pending *n = malloc(cap * sizeof *n);
        if (n == NULL)
            die("malloc");
        for (size_t i = 0; i < q_len; i++)
            n[i] = q[(q_head + i) % q_cap];
        free(q);
        q = n;
        q_cap = cap;
        q_head = 0;
    }
    q[(q_head + q_len) % q_cap] = (struct pending){fd, gen, due};
    q_len++;
}

static void arm(int tfd, uint64_t spin_ns)
{
    struct itimerspec its = {0};
    uint64_t at = 0;
    if (q_len > 0)
        at = q[q_head].due_ns > spin_ns ? q[q_head].due_ns - spin_ns : 1;
    if (at == armed_ns)
        return; /* a syscall saved per loop */
    armed_ns = at;
    if (at > 0) {
        its.it_value.tv_sec = (time_t)(at / 1000000000u);
        its.it_value.tv_nsec = (long)(at % 1000000000u);
        if (its.it_value.tv_sec == 0 && its.it_value.tv_nsec == 0)
            its.it_value.tv_nsec = 1;
    }
    if (timerfd_settime(tfd, TFD_TIMER_ABSTIME, &its, NULL) != 0)
        die("timerfd_settime");
}

static void send_answer(int ep, struct conn *c)
{
    if (c->out_len > 0) { /* still behind: queue after the unsent bytes */
        char *o = realloc(c->out, c->out_len + sizeof RESPONSE - 1);
        if (o == NULL)
            die("realloc");
        memcpy(o + c->out_len, RESPONSE, sizeof RESPONSE - 1);
        c->out = o;
        c->out_len += sizeof RESPONSE - 1;
        return;
    }
    ssize_t n = send(c->fd, RESPONSE, sizeof RESPONSE - 1, MSG_NOSIGNAL);
    if (n == (ssize_t)(sizeof RESPONSE - 1))
        return;
    if (n < 0 && errno != EAGAIN) {
        conn_close(ep, c);
        return;
    }
    size_t done = n > 0 ? (size_t)n : 0;
    c->out_len = sizeof RESPONSE - 1 - done;
    if ((c->out = malloc(c->out_len)) == NULL)
        die("malloc");
    memcpy(c->out, RESPONSE + done, c->out_len);
    struct epoll_event ev = {.events = EPOLLIN | EPOLLOUT, .data.fd = c->fd};
    epoll_ctl(ep, EPOLL_CTL_MOD, c->fd, &ev);
}

static void flush_out(int ep, struct conn *c)
{
    while (c->out_len > 0) {
        ssize_t n = send(c->fd, c->out, c->out_len, MSG_NOSIGNAL);
        if (n < 0) {
            if (errno != EAGAIN)
                conn_close(ep, c);
            return;
        }
        memmove(c->out, c->out + n, c->out_len - (size_t)n);
        c->out_len -= (size_t)n;
    }
    free(c->out);
    c->out = NULL;
    struct epoll_event ev = {.events = EPOLLIN, .data.fd = c->fd};
    epoll_ctl(ep, EPOLL_CTL_MOD, c->fd, &ev);
}

/* Reads what the client sent and queues one answer per complete head. */
static void on_readable(int ep, struct conn *c, uint64_t delay_ns)
{
    for (;;) {
        if (c->in_len == sizeof c->in) { /* a head larger than 8 KiB: not ours */
            conn_close(ep, c);
            return;
        }
        ssize_t n = recv(c->fd, c->in + c->in_len, sizeof c->in - c->in_len, 0);
        if (n == 0 || (n < 0 && errno != EAGAIN && errno != EINTR)) {
            conn_close(ep, c);
            return;
        }
        if (n < 0)
            break;
        c->in_len += (size_t)n;
        uint64_t t = now_ns();
        char *p = c->in, *end = c->in + c->in_len, *h;
        while ((h = memmem(p, (size_t)(end - p), "\r\n\r\n", 4)) != NULL) {
            q_push(c->fd, c->gen, t + delay_ns);
            p = h + 4;
        }
        c->in_len = (size_t)(end - p);
        memmove(c->in, p, c->in_len);
        if ((size_t)n < sizeof c->in) /* drained (level-triggered anyway) */
            break;
    }
}

/* Answers everything that is due, spinning out the last SPIN_US. */
static void answer_due(int ep, uint64_t spin_ns)
{
    while (q_len > 0) {
        struct pending *pd = &q[q_head];
        uint64_t t = now_ns();
        if (pd->due_ns > t) {
            if (pd->due_ns - t > spin_ns)
                return;
            while ((t = now_ns()) < pd->due_ns)
                ;
        }
        struct conn *c = (size_t)pd->fd < n_conns ? conns[pd->fd] : NULL;
        if (c != NULL && c->fd == pd->fd && c->gen == pd->gen) {
            uint64_t late = (now_ns() - pd->due_ns) / 1000u;
            late_hist[late > MAX_LATE_US ? MAX_LATE_US : late]++;
            late_count++;
            if (late > late_max)
                late_max = late;
            send_answer(ep, c);
        }
        q_head = (q_head + 1) % q_cap;
        q_len--;
    }
}

static uint64_t late_pct(double p)
{
    uint64_t want = (uint64_t)(p * (double)late_count + 0.999999), seen = 0;
    for (uint32_t i = 0; i <= MAX_LATE_US; i++)
        if ((seen += late_hist[i]) >= want && want > 0)
            return i;
    return late_max;
}

int main(int argc, char **argv)
{
    if (argc < 3) {
        fprintf(stderr, "usage: %s PORT DELAY_US [SPIN_US]\n", argv[0]);
        return 2;
    }
    int port = atoi(argv[1]);
    uint64_t delay_ns = (uint64_t)strtoull(argv[2], NULL, 10) * 1000u;
    uint64_t spin_ns = (uint64_t)(argc > 3 ? strtoull(argv[3], NULL, 10) : 200u) * 1000u;
    prctl(PR_SET_TIMERSLACK, 1UL, 0, 0, 0);
    signal(SIGPIPE, SIG_IGN);
    struct sigaction sa = {.sa_handler = on_signal};
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGINT, &sa, NULL);

    int ls = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    int one = 1;
    setsockopt(ls, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    struct sockaddr_in sin = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port),
                              .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    if (bind(ls, (struct sockaddr *)&sin, sizeof sin) != 0 || listen(ls, 4096) != 0)
        die("bind/listen");
    socklen_t sl = sizeof sin;
    getsockname(ls, (struct sockaddr *)&sin, &sl);
    int ep = epoll_create1(EPOLL_CLOEXEC);
    int tfd = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC);
    if (ep < 0 || tfd < 0)
        die("epoll/timerfd");
    struct epoll_event ev = {.events = EPOLLIN, .data.fd = ls};
    epoll_ctl(ep, EPOLL_CTL_ADD, ls, &ev);
    ev.data.fd = tfd;
    epoll_ctl(ep, EPOLL_CTL_ADD, tfd, &ev);
    printf("port %d\n", ntohs(sin.sin_port));
    fflush(stdout);

    struct epoll_event evs[256];
    while (!quit) {
        int n = epoll_wait(ep, evs, 256, -1);
        if (n < 0 && errno != EINTR)
            die("epoll_wait");
        for (int i = 0; i < n; i++) {
            int fd = evs[i].data.fd;
            if (fd == ls) {
                int cfd;
                while ((cfd = accept4(ls, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC)) >= 0) {
                    setsockopt(cfd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
                    struct conn *c = conn_for(cfd);
                    c->fd = cfd;
                    c->in_len = 0;
                    struct epoll_event cev = {.events = EPOLLIN, .data.fd = cfd};
                    epoll_ctl(ep, EPOLL_CTL_ADD, cfd, &cev);
                }
            } else if (fd == tfd) {
                uint64_t ticks;
                ssize_t r = read(tfd, &ticks, sizeof ticks);
                (void)r;
            } else {
                struct conn *c = conns[fd];
                if (evs[i].events & EPOLLOUT)
                    flush_out(ep, c);
                if (c->fd == fd && (evs[i].events & (EPOLLIN | EPOLLHUP | EPOLLERR)))
                    on_readable(ep, c, delay_ns);
            }
        }
        answer_due(ep, spin_ns);
        arm(tfd, spin_ns);
    }
    fprintf(stderr, "lateness_us count=%llu p50=%llu p99=%llu p999=%llu max=%llu\n",
            (unsigned long long)late_count, (unsigned long long)late_pct(0.50),
            (unsigned long long)late_pct(0.99), (unsigned long long)late_pct(0.999),
            (unsigned long long)late_max);
    return 0;
}
