/*
 * custom_tcp.c: load-testing a protocol hornet does not speak, here the demo
 * target's line-based key-value service (a tiny Redis look-alike):
 *
 *     PING         -> +PONG
 *     SET key val  -> +OK
 *     GET key      -> $val   or  -ERR not found
 *     INCR key     -> :n
 *
 * The pattern works for any protocol (Redis, memcached, DNS over UDP, MQTT,
 * a game server...): own a non-blocking socket per user, wait on it with
 * hn_wait_fd() so the coroutine yields instead of blocking the worker
 * thread, time each operation with hn_now_ms(), and report it with
 * hn_record(). The operations then appear in the statistics, charts,
 * failures and reports exactly like HTTP requests do, with the type column
 * set to "KV" (or "TCP" for connects) instead of an HTTP method.
 *
 *     hornet demo-target --port 8080 --kv-port 6380 &
 *     hornet -f plugins/custom_tcp.c -H tcp://127.0.0.1:6380 --headless -u 50 -r 25 -t 30s
 *
 * The host must be a numeric address (tcp://IPv4:PORT or tcp://[IPv6]:PORT):
 * resolving a name with getaddrinfo() would block the worker thread.
 */
#include <hornet/hornet.h>

#include <arpa/inet.h>
#include <errno.h>
#include <inttypes.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#define KV_TIMEOUT_S 2.0  /* per operation: connect, or one command and its reply */
#define KV_LINE_MAX 256   /* longest reply line we accept, "\r\n" included */

/* Per-user state, zeroed by hornet at spawn. Tasks of one user never run
 * at the same time, so the socket and buffer need no locking. */
struct kv_user {
    int fd;
    bool connected;     /* fd is open: a zeroed fd (0) is a valid descriptor */
    char key[40];       /* this user's own key, "kv:<user id>:<random>" */
    long long counter;  /* last value INCR returned, to check it only grows */
    size_t rlen;        /* bytes waiting in rbuf */
    char rbuf[KV_LINE_MAX]; /* replies can arrive in pieces, or several at once */
};

/*
 * Every helper below returns NULL on success or the error message to record:
 * fixed strings where possible, so that the Failures table groups them.
 */

static void kv_close(struct kv_user *s)
{
    if (s->connected)
        close(s->fd);
    s->connected = false;
    s->rlen = 0;
}

/* Waits, yielding, for events on the user's socket until deadline (ms on
 * the hn_now_ms clock). hn_wait_fd waits forever on a timeout <= 0, so an
 * expired deadline must be caught before calling it. */
static const char *wait_ready(struct hn_user *u, struct kv_user *s, int events, double deadline)
{
    double left = (deadline - hn_now_ms(u)) / 1000.0;
    int ready;

    if (left <= 0)
        return "timeout";
    ready = hn_wait_fd(u, s->fd, events, left);
    if (ready == 0)
        return "timeout";
    if (ready < 0)
        return "wait failed";
    return NULL;
}

/* Parses "tcp://127.0.0.1:6380" or "tcp://[::1]:6380" (scheme optional). */
static bool parse_host(const char *host, struct sockaddr_storage *sa, socklen_t *sa_len)
{
    char addr[64];
    const char *port_str;
    const char *end;
    char *port_end;
    long port;

    if (host == NULL)
        return false;
    if (strncmp(host, "tcp://", 6) == 0)
        host += 6;
    if (host[0] == '[') {
        end = strchr(host, ']');
        if (end == NULL || end[1] != ':')
            return false;
        host++;
        port_str = end + 2;
    } else {
        end = strrchr(host, ':');
        if (end == NULL)
            return false;
        port_str = end + 1;
    }
    if ((size_t)(end - host) >= sizeof(addr))
        return false;
    memcpy(addr, host, (size_t)(end - host));
    addr[end - host] = '\0';

    errno = 0;
    port = strtol(port_str, &port_end, 10);
    if (errno != 0 || port_end == port_str || (*port_end != '\0' && *port_end != '/') ||
        port < 1 || port > 65535)
        return false;

    memset(sa, 0, sizeof(*sa));
    struct sockaddr_in *in4 = (struct sockaddr_in *)sa;
    struct sockaddr_in6 *in6 = (struct sockaddr_in6 *)sa;
    if (inet_pton(AF_INET, addr, &in4->sin_addr) == 1) {
        in4->sin_family = AF_INET;
        in4->sin_port = htons((uint16_t)port);
        *sa_len = sizeof(*in4);
        return true;
    }
    if (inet_pton(AF_INET6, addr, &in6->sin6_addr) == 1) {
        in6->sin6_family = AF_INET6;
        in6->sin6_port = htons((uint16_t)port);
        *sa_len = sizeof(*in6);
        return true;
    }
    return false;
}

/* Opens a non-blocking socket and connects it without blocking the thread:
 * connect() answers EINPROGRESS, the socket turns writable once the
 * handshake is over, and SO_ERROR then says how it went. */
static const char *kv_do_connect(struct hn_user *u, struct kv_user *s, double deadline)
{
    struct sockaddr_storage sa;
    socklen_t sa_len;
    int one = 1;
    int so_error = 0;
    socklen_t so_len = sizeof(so_error);
    const char *err;

    if (!parse_host(hn_host(u), &sa, &sa_len)) {
        char reason[160];

        snprintf(reason, sizeof(reason), "custom_tcp: bad host '%s', expected tcp://IP:PORT",
                 hn_host(u) != NULL ? hn_host(u) : "(none)");
        /* A configuration error: every user would fail the same way. */
        hn_stop_test(u, reason);
        return "bad host"; /* not reached */
    }
    s->fd = socket(sa.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (s->fd < 0)
        return errno == EMFILE ? "socket: too many open files" : "socket failed";
    s->connected = true;
    /* Small request/reply messages: do not let Nagle hold them back. */
    setsockopt(s->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));

    if (connect(s->fd, (struct sockaddr *)&sa, sa_len) == 0)
        return NULL;
    if (errno != EINPROGRESS)
        return errno == ECONNREFUSED ? "connection refused" : "connect failed";
    err = wait_ready(u, s, HN_FD_WRITE, deadline);
    if (err != NULL)
        return err;
    if (getsockopt(s->fd, SOL_SOCKET, SO_ERROR, &so_error, &so_len) != 0)
        return "connect failed";
    if (so_error == ECONNREFUSED)
        return "connection refused";
    if (so_error == ETIMEDOUT)
        return "timeout";
    return so_error == 0 ? NULL : "connect failed";
}

/* Connects if needed and records the connect as ("TCP", "connect").
 * Returns false when there is no connection; the failure is recorded. */
static bool kv_ensure_connected(struct hn_user *u, struct kv_user *s)
{
    double start;
    const char *err;

    if (s->connected)
        return true;
    start = hn_now_ms(u);
    err = kv_do_connect(u, s, start + KV_TIMEOUT_S * 1000.0);
    hn_record(u, "TCP", "connect", hn_now_ms(u) - start, 0, err);
    if (err != NULL)
        kv_close(s);
    return err == NULL;
}

/* Writes all of buf, waiting whenever the socket buffer is full (partial
 * writes are normal for non-blocking sockets). MSG_NOSIGNAL: a peer that
 * closed must give EPIPE, not kill the process with SIGPIPE. */
static const char *send_all(struct hn_user *u, struct kv_user *s, const char *buf, size_t len,
                       double deadline)
{
    while (len > 0) {
        ssize_t n = send(s->fd, buf, len, MSG_NOSIGNAL);

        if (n > 0) {
            buf += n;
            len -= (size_t)n;
        } else if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
            const char *err = wait_ready(u, s, HN_FD_WRITE, deadline);

            if (err != NULL)
                return err;
        } else if (n < 0 && errno == EINTR) {
            continue;
        } else {
            return errno == EPIPE || errno == ECONNRESET ? "connection closed" : "send failed";
        }
    }
    return NULL;
}

/* Reads one reply line into line (without "\r\n"). Bytes after the line
 * stay in the user's buffer for the next reply: with pipelining, several
 * replies can arrive in one read. *bytes counts the line as received. */
static const char *read_line(struct hn_user *u, struct kv_user *s, char *line, size_t cap,
                        int64_t *bytes, double deadline)
{
    for (;;) {
        char *nl = memchr(s->rbuf, '\n', s->rlen);

        if (nl != NULL) {
            size_t used = (size_t)(nl - s->rbuf) + 1;
            size_t len = used - 1;

            if (len > 0 && s->rbuf[len - 1] == '\r')
                len--;
            if (len >= cap)
                len = cap - 1;
            memcpy(line, s->rbuf, len);
            line[len] = '\0';
            memmove(s->rbuf, s->rbuf + used, s->rlen - used);
            s->rlen -= used;
            *bytes = (int64_t)used;
            return NULL;
        }
        if (s->rlen == sizeof(s->rbuf))
            return "reply too long";

        ssize_t n = recv(s->fd, s->rbuf + s->rlen, sizeof(s->rbuf) - s->rlen, 0);
        if (n > 0) {
            s->rlen += (size_t)n;
        } else if (n == 0) {
            return "connection closed";
        } else if (errno == EAGAIN || errno == EWOULDBLOCK) {
            const char *err = wait_ready(u, s, HN_FD_READ, deadline);

            if (err != NULL)
                return err;
        } else if (errno != EINTR) {
            return errno == ECONNRESET ? "connection reset" : "recv failed";
        }
    }
}

/* Sends one command line and reads its reply line, timing both together,
 * as a client library's call would be timed. On a transport error the
 * connection is closed: after a timeout a late reply could still arrive
 * and be taken for the answer to the next command. The next task
 * reconnects. */
static const char *kv_call(struct hn_user *u, struct kv_user *s, const char *cmd, char *reply,
                      size_t cap, double *elapsed, int64_t *bytes)
{
    double start = hn_now_ms(u);
    double deadline = start + KV_TIMEOUT_S * 1000.0;
    const char *err;

    *bytes = 0;
    err = send_all(u, s, cmd, strlen(cmd), deadline);
    if (err == NULL)
        err = read_line(u, s, reply, cap, bytes, deadline);
    *elapsed = hn_now_ms(u) - start;
    if (err != NULL)
        kv_close(s);
    return err;
}

/* Formats "unexpected reply: ..." into msg, cut short: the Failures table
 * has one row per distinct message, so keep the variety bounded. */
static const char *unexpected(const char *reply, char *msg, size_t cap)
{
    snprintf(msg, cap, "unexpected reply: %.48s", reply);
    return msg;
}

static const char *expect(const char *reply, const char *want, char *msg, size_t cap)
{
    return strcmp(reply, want) == 0 ? NULL : unexpected(reply, msg, cap);
}

static void kv_start(struct hn_user *u)
{
    struct kv_user *s = hn_state(u);

    /* The random part keeps keys apart even where user ids could repeat
     * (several hornet processes against one server). */
    snprintf(s->key, sizeof(s->key), "kv:%" PRIu64 ":%08lx", hn_user_id(u),
             (unsigned long)(hn_rand(u) & 0xffffffffu));
    kv_ensure_connected(u, s);
}

/* Also runs when the test stops, so every socket is closed. */
static void kv_stop(struct hn_user *u)
{
    kv_close(hn_state(u));
}

static void ping(struct hn_user *u)
{
    struct kv_user *s = hn_state(u);
    char reply[KV_LINE_MAX];
    char msg[80];
    double ms;
    int64_t bytes;
    const char *err;

    if (!kv_ensure_connected(u, s))
        return;
    err = kv_call(u, s, "PING\r\n", reply, sizeof(reply), &ms, &bytes);
    if (err == NULL)
        err = expect(reply, "+PONG", msg, sizeof(msg));
    hn_record(u, "KV", "PING", ms, bytes, err);
}

/* SET a fresh value on this user's key, then GET it back: two operations,
 * two records. The GET is skipped when the SET failed. */
static void set_get(struct hn_user *u)
{
    struct kv_user *s = hn_state(u);
    char cmd[128];
    char want[48];
    char reply[KV_LINE_MAX];
    char msg[80];
    long value = hn_rand_range(u, 0, 999999);
    double ms;
    int64_t bytes;
    const char *err;

    if (!kv_ensure_connected(u, s))
        return;
    snprintf(cmd, sizeof(cmd), "SET %s %ld\r\n", s->key, value);
    err = kv_call(u, s, cmd, reply, sizeof(reply), &ms, &bytes);
    if (err == NULL)
        err = expect(reply, "+OK", msg, sizeof(msg));
    hn_record(u, "KV", "SET", ms, bytes, err);
    if (err != NULL)
        return;

    snprintf(cmd, sizeof(cmd), "GET %s\r\n", s->key);
    snprintf(want, sizeof(want), "$%ld", value);
    err = kv_call(u, s, cmd, reply, sizeof(reply), &ms, &bytes);
    if (err == NULL)
        err = expect(reply, want, msg, sizeof(msg));
    hn_record(u, "KV", "GET", ms, bytes, err);
}

/* INCR this user's counter; the value must grow by one each time, as the
 * key is this user's alone. The first reply, and the first after an error
 * (a lost reply may hide an increment), is taken as it is. */
static void incr(struct hn_user *u)
{
    struct kv_user *s = hn_state(u);
    char cmd[64];
    char reply[KV_LINE_MAX];
    char msg[80];
    double ms;
    int64_t bytes;
    const char *err;

    if (!kv_ensure_connected(u, s))
        return;
    snprintf(cmd, sizeof(cmd), "INCR %s:n\r\n", s->key);
    err = kv_call(u, s, cmd, reply, sizeof(reply), &ms, &bytes);
    if (err == NULL) {
        char *end;
        long long n = strtoll(reply + (reply[0] == ':'), &end, 10);

        if (reply[0] != ':' || end == reply + 1 || *end != '\0')
            err = unexpected(reply, msg, sizeof(msg));
        else if (s->counter != 0 && n != s->counter + 1)
            err = "counter did not grow by one";
        s->counter = n;
    }
    if (err != NULL)
        s->counter = 0;
    hn_record(u, "KV", "INCR", ms, bytes, err);
}

static const struct hn_task kv_tasks[] = {
    {.name = "ping", .fn = ping, .weight = 2},
    {.name = "set_get", .fn = set_get, .weight = 2},
    {.name = "incr", .fn = incr, .weight = 1},
    {0},
};

static const struct hn_user_type kv_users[] = {
    {
        .name = "kv_client",
        .weight = 1,
        /* .host = "tcp://127.0.0.1:6380" would make -H unnecessary. */
        .wait = hn_between(0.1, 0.5),
        .tasks = kv_tasks,
        .on_start = kv_start,
        .on_stop = kv_stop,
        .state_size = sizeof(struct kv_user),
    },
    {0},
};

static const struct hn_plugin custom_tcp = {
    .abi_major = HN_ABI_MAJOR,
    .abi_minor = HN_ABI_MINOR,
    .struct_size = sizeof(struct hn_plugin),
    .name = "custom_tcp",
    .user_types = kv_users,
};

HN_PLUGIN(custom_tcp);
