/*
 * fast_client.c: HTTP/1.1 on the worker's own sockets.
 *
 * A request is one write of its bytes (head and body in one buffer); its
 * socket stays in the worker's epoll set for reading while it is open, so
 * a keep-alive request costs a write, an epoll_wait and a read, as in wrk.
 * An idle socket that becomes readable was closed (or spoken to out of
 * turn) by the server: it is closed at once, before a request could be
 * lost on it. A request sent on a reused connection that dies before a
 * byte of response comes is sent again once on a new one, and counted
 * (resp.unanswered_sends), as with libcurl.
 */
#include "fast_client.h"

#include <errno.h>
#include <arpa/inet.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <curl/curl.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>

#include "clock.h"
#include "cookie_jar.h"
#include "h1_reader.h"
#include "transport.h"

#define READ_BUF (64u * 1024u)

/* Where requests go: scheme, host and port, with what is known of it. */
struct origin {
    struct origin *next;
    char *prefix;             /* "http://host:port" as a URL of it starts */
    char *host;               /* for cookies, SNI and verification (no brackets) */
    char *host_header;        /* the Host header's value */
    bool tls;
    struct sockaddr_storage addr;
    socklen_t addrlen;        /* 0 = not resolved */
    const char *unsupported;  /* why the fast client cannot serve it, or NULL */
    SSL_SESSION *session;     /* the last TLS session, to resume */
    bool closes_quietly;      /* it closed a kept connection without a word */
    struct fsock *idle;       /* pooled connections waiting for a request */
    long n_idle;
};

/* One connection. */
struct fsock {
    struct hn_pollent pe;     /* HN_POLL_FAST */
    int fd;
    SSL *ssl;
    struct origin *o;
    struct hn_fast_conn *owner; /* the user it belongs to (or serves, when pooled) */
    struct fsock *next_idle;
    uint32_t events;          /* what epoll watches for it */
    bool connecting, handshaking, busy;
    unsigned requests;        /* requests sent on it */
    uint64_t connect_start_us;
};

/* A user's side of the fast client. */
struct hn_fast_conn {
    struct hn_http_conn *conn;
    struct fsock *sock;       /* its connection (pooled: the one borrowed) */
    struct hn_cookie_jar jar;
    struct hn_h1_reader rd;
    /* the request */
    char *method;
    char *headers;            /* the request's own header lines, "\r\n"-ended */
    size_t headers_len;
    const char *body;
    size_t body_len;
    bool has_body, want_inflate, no_redirects, retried;
    struct origin *o;         /* the current hop's */
    char *path;               /* the current hop's, with its query */
    char *out;                /* the bytes to send */
    size_t out_len, out_off, out_cap;
    uint64_t hop_first_us;    /* when the current hop's first byte came */
    /* In the client's list of transfers in progress, or of those finished
     * and not yet handed back (list says which; NULL = neither). */
    struct hn_fast_conn *prev, *next;
    struct hn_fast_conn **list;
    size_t path_cap;
};

struct hn_fast_client {
    int epfd;
    long max_idle;
    hn_http_done_cb done;
    uint64_t deadline;             /* the earliest limit of a transfer in progress */
    struct origin *origins;
    struct hn_fast_conn *active;   /* transfers in progress */
    struct hn_fast_conn *finished; /* ended, for hn_fast_client_collect */
    SSL_CTX *ssl_ctx;
    struct hn_transport transport;  /* the run's TLS trust and identity */
    struct hn_source_addrs *sources; /* --source-ips, or NULL */
    unsigned source_turn;          /* the next pooled connection's source */
    char *rbuf;
};

static void finish(struct hn_fast_client *c, struct hn_fast_conn *fc);
static int hop_begin(struct hn_fast_client *c, struct hn_fast_conn *fc);
static void try_write(struct hn_fast_client *c, struct hn_fast_conn *fc);

/* ---------------------------------------------------------------- */
/* Origins                                                           */
/* ---------------------------------------------------------------- */

/* curl's rules for its proxy variables: is a proxy set for this origin? */
static const char *proxy_variable(const char *host, bool tls)
{
    static const char *const https_vars[] = {"https_proxy", "HTTPS_PROXY", "all_proxy",
                                             "ALL_PROXY", NULL};
    static const char *const http_vars[] = {"http_proxy", "all_proxy", "ALL_PROXY", NULL};
    const char *set = NULL;
    for (const char *const *v = tls ? https_vars : http_vars; *v && set == NULL; v++) {
        const char *val = getenv(*v);
        if (val != NULL && *val != '\0')
            set = *v;
    }
    if (set == NULL)
        return NULL;
    const char *np = getenv("no_proxy");
    if (np == NULL)
        np = getenv("NO_PROXY");
    size_t hl = strlen(host);
    for (const char *p = np; p != NULL && *p;) {
        size_t n = strcspn(p, ",");
        const char *e = p;
        size_t en = n;
        while (en > 0 && (*e == ' ' || *e == '.')) {
            e++;
            en--;
        }
        while (en > 0 && e[en - 1] == ' ')
            en--;
        if ((en == 1 && *e == '*') ||
            (en > 0 && en <= hl && strncasecmp(host + hl - en, e, en) == 0 &&
             (en == hl || host[hl - en - 1] == '.')))
            return NULL;
        p += n;
        if (*p == ',')
            p++;
    }
    return set;
}

static void origin_resolve(struct origin *o, const char *port)
{
    struct addrinfo hints = {.ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM}, *res = NULL;
    if (getaddrinfo(o->host, port, &hints, &res) != 0 || res == NULL)
        return;
    memcpy(&o->addr, res->ai_addr, res->ai_addrlen);
    o->addrlen = res->ai_addrlen;
    freeaddrinfo(res);
}

static struct origin *origin_get(struct hn_fast_client *c, const char *scheme, const char *host,
                                 const char *port, char *err, size_t err_len)
{
    bool tls = strcasecmp(scheme, "https") == 0;
    char prefix[512];
    int n = snprintf(prefix, sizeof prefix, "%s://%s%s%s", tls ? "https" : "http", host,
                     port ? ":" : "", port ? port : "");
    if (n < 0 || (size_t)n >= sizeof prefix) {
        snprintf(err, err_len, "invalid URL");
        return NULL;
    }
    for (struct origin *o = c->origins; o; o = o->next)
        if (strcmp(o->prefix, prefix) == 0) {
            if (o->addrlen == 0 && o->unsupported == NULL)
                origin_resolve(o, port ? port : tls ? "443" : "80");
            return o;
        }
    struct origin *o = calloc(1, sizeof *o);
    if (o == NULL) {
        snprintf(err, err_len, "out of memory");
        return NULL;
    }
    o->tls = tls;
    o->prefix = strdup(prefix);
    size_t hl = strlen(host);
    o->host = host[0] == '[' && hl > 2 ? strndup(host + 1, hl - 2) : strdup(host);
    o->host_header = strdup(prefix + (tls ? 8 : 7));
    if (o->prefix == NULL || o->host == NULL || o->host_header == NULL) {
        free(o->prefix);
        free(o->host);
        free(o->host_header);
        free(o);
        snprintf(err, err_len, "out of memory");
        return NULL;
    }
    const char *var = proxy_variable(o->host, tls);
    if (var != NULL)
        o->unsupported = tls ? "the fast HTTP client does not use proxies (a proxy variable is "
                               "set for https): use --http-client curl"
                             : "the fast HTTP client does not use proxies (a proxy variable is "
                               "set for http): use --http-client curl";
    else
        origin_resolve(o, port ? port : tls ? "443" : "80");
    o->next = c->origins;
    c->origins = o;
    return o;
}

/* ---------------------------------------------------------------- */
/* Sockets                                                           */
/* ---------------------------------------------------------------- */

static void sock_watch(struct hn_fast_client *c, struct fsock *s, uint32_t events)
{
    if (s->events == events)
        return;
    struct epoll_event ev = {.events = events, .data.ptr = s};
    if (epoll_ctl(c->epfd, s->events ? EPOLL_CTL_MOD : EPOLL_CTL_ADD, s->fd, &ev) == 0)
        s->events = events;
}

static void sock_close(struct fsock *s)
{
    if (s == NULL)
        return;
    if (s->ssl != NULL) {
        /* No close_notify (the socket goes at once), but marked as shut
         * down: SSL_free would otherwise make its session unresumable. */
        SSL_set_shutdown(s->ssl, SSL_SENT_SHUTDOWN | SSL_RECEIVED_SHUTDOWN);
        SSL_free(s->ssl);
    }
    close(s->fd); /* leaves the epoll set with it */
    free(s);
}

/* Drops a socket from its origin's idle list. */
static void idle_remove(struct fsock *s)
{
    for (struct fsock **p = &s->o->idle; *p; p = &(*p)->next_idle)
        if (*p == s) {
            *p = s->next_idle;
            s->o->n_idle--;
            return;
        }
}

static int on_new_session(SSL *ssl, SSL_SESSION *sess)
{
    struct fsock *s = SSL_get_app_data(ssl);
    if (s == NULL)
        return 0;
    if (s->o->session != NULL)
        SSL_SESSION_free(s->o->session);
    s->o->session = sess;
    return 1; /* the origin keeps the reference */
}

/* The client's TLS context, made on first use with the run's trust and
 * identity; NULL with err set when that failed. */
static SSL_CTX *ssl_ctx(struct hn_fast_client *c, char *err, size_t err_len)
{
    if (c->ssl_ctx != NULL)
        return c->ssl_ctx;
    SSL_CTX *ctx = hn_transport_ssl_ctx(&c->transport, err, err_len);
    if (ctx == NULL)
        return NULL;
    SSL_CTX_set_session_cache_mode(ctx, SSL_SESS_CACHE_CLIENT | SSL_SESS_CACHE_NO_INTERNAL_STORE);
    SSL_CTX_sess_set_new_cb(ctx, on_new_session);
    c->ssl_ctx = ctx;
    return ctx;
}

/* Opens a connection to o for fc; NULL with err set when that failed at
 * once. */
static struct fsock *sock_open(struct hn_fast_client *c, struct hn_fast_conn *fc, struct origin *o,
                               char *err, size_t err_len)
{
    int fd = socket(o->addr.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0) {
        hn_http_connect_error(errno, err, err_len);
        return NULL;
    }
    int one = 1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    if (c->sources != NULL) {
        /* A user's own connections come from its address; pooled ones
         * take the addresses in turn. */
        unsigned i = (fc->conn->pooled ? c->source_turn++ : fc->conn->source_slot) % c->sources->n;
        if (c->sources->addr[i].ss_family != o->addr.ss_family) {
            snprintf(err, err_len, "cannot connect from %s to an IPv%c address",
                     c->sources->text[i], o->addr.ss_family == AF_INET6 ? '6' : '4');
            close(fd);
            return NULL;
        }
        if (bind(fd, (struct sockaddr *)&c->sources->addr[i], c->sources->len[i]) != 0) {
            snprintf(err, err_len, "cannot connect from %s (%s)", c->sources->text[i],
                     strerror(errno));
            close(fd);
            return NULL;
        }
    }
    if (connect(fd, (struct sockaddr *)&o->addr, o->addrlen) != 0 && errno != EINPROGRESS) {
        hn_http_connect_error(errno, err, err_len);
        close(fd);
        return NULL;
    }
    struct fsock *s = calloc(1, sizeof *s);
    if (s == NULL) {
        close(fd);
        snprintf(err, err_len, "out of memory");
        return NULL;
    }
    s->pe.kind = HN_POLL_FAST;
    s->fd = fd;
    s->o = o;
    s->owner = fc;
    s->connecting = true;
    s->connect_start_us = hn_mono_us();
    sock_watch(c, s, EPOLLOUT);
    if (s->events == 0) {
        snprintf(err, err_len, "could not watch the socket (%s)", strerror(errno));
        sock_close(s);
        return NULL;
    }
    return s;
}

/* Starts TLS on a connected socket. */
static int tls_begin(struct hn_fast_client *c, struct fsock *s, char *err, size_t err_len)
{
    SSL_CTX *ctx = ssl_ctx(c, err, err_len);
    if (ctx == NULL)
        return -1;
    SSL *ssl = SSL_new(ctx);
    if (ssl == NULL) {
        snprintf(err, err_len, "TLS setup failed (out of memory)");
        return -1;
    }
    s->ssl = ssl;
    SSL_set_fd(ssl, s->fd);
    SSL_set_app_data(ssl, s);
    unsigned char ip[16];
    bool is_ip = inet_pton(AF_INET, s->o->host, ip) == 1 || inet_pton(AF_INET6, s->o->host, ip) == 1;
    if (is_ip) {
        X509_VERIFY_PARAM_set1_ip_asc(SSL_get0_param(ssl), s->o->host);
    } else {
        SSL_set_tlsext_host_name(ssl, s->o->host);
        SSL_set1_host(ssl, s->o->host);
    }
    if (s->o->session != NULL)
        SSL_set_session(ssl, s->o->session);
    SSL_set_connect_state(ssl);
    s->handshaking = true;
    return 0;
}

/* ---------------------------------------------------------------- */
/* Transfers                                                         */
/* ---------------------------------------------------------------- */

static void list_add(struct hn_fast_conn **head, struct hn_fast_conn *fc)
{
    fc->list = head;
    fc->prev = NULL;
    fc->next = *head;
    if (*head)
        (*head)->prev = fc;
    *head = fc;
}

static void list_remove(struct hn_fast_conn *fc)
{
    if (fc->list == NULL)
        return;
    if (fc->prev)
        fc->prev->next = fc->next;
    else
        *fc->list = fc->next;
    if (fc->next)
        fc->next->prev = fc->prev;
    fc->list = NULL;
}

/* When fc's transfer must be looked at next: the earliest of its limits. */
static uint64_t transfer_deadline(const struct hn_fast_conn *fc)
{
    const struct hn_http_response *r = &fc->conn->resp;
    uint64_t d = r->start_us + (uint64_t)(r->timeout_s * 1e6), p;
    if (fc->sock != NULL && (fc->sock->connecting || fc->sock->handshaking)) {
        p = fc->sock->connect_start_us + (uint64_t)(r->limits.connect_s * 1e6);
        d = p < d ? p : d;
    }
    if (!r->head_done)
        p = r->start_us + (uint64_t)(r->limits.response_s * 1e6);
    else
        p = r->last_byte_us + (uint64_t)(r->limits.idle_s * 1e6);
    return p < d ? p : d;
}

/* Lets go of fc's connection: kept for its next request (its own), back
 * to the pool (pooled), or closed. */
static void sock_release(struct hn_fast_client *c, struct hn_fast_conn *fc, bool reusable)
{
    struct fsock *s = fc->sock;
    if (s == NULL)
        return;
    s->busy = false;
    if (!reusable) {
        sock_close(s);
        fc->sock = NULL;
        return;
    }
    /* An idle socket only needs to tell that the server closed it. */
    sock_watch(c, s, EPOLLIN | EPOLLRDHUP);
    if (fc->conn->pooled) {
        fc->sock = NULL;
        if (s->o->n_idle >= c->max_idle) {
            sock_close(s);
            return;
        }
        s->owner = NULL;
        s->next_idle = s->o->idle;
        s->o->idle = s;
        s->o->n_idle++;
    }
}

/* Ends fc's transfer. The done callback is told from
 * hn_fast_client_collect, never from here: a transfer may end inside
 * hn_fast_start, before its caller waits for it. */
static void finish(struct hn_fast_client *c, struct hn_fast_conn *fc)
{
    struct hn_http_conn *conn = fc->conn;
    struct hn_http_response *r = &conn->resp;
    bool reusable = r->error == NULL && fc->rd.done && fc->rd.keep_alive && !fc->rd.extra_bytes;
    sock_release(c, fc, reusable);
    if (r->error != NULL)
        r->status = 0;
    r->total_us = hn_mono_us() - r->start_us;
    list_remove(fc);
    list_add(&c->finished, fc);
}

void hn_fast_client_collect(struct hn_fast_client *c)
{
    while (c->finished != NULL) {
        struct hn_fast_conn *fc = c->finished;
        list_remove(fc);
        fc->conn->in_transfer = false;
        c->done(fc->conn->owner);
    }
}

static void fail(struct hn_fast_client *c, struct hn_fast_conn *fc, const char *msg)
{
    struct hn_http_response *r = &fc->conn->resp;
    if (r->error == NULL)
        r->error = strdup(msg);
    finish(c, fc);
}

/* The request's bytes for the current hop. */
static bool out_add(struct hn_fast_conn *fc, const char *s, size_t n)
{
    if (fc->out_len + n > fc->out_cap) {
        size_t cap = fc->out_cap ? fc->out_cap : 512;
        while (cap < fc->out_len + n)
            cap *= 2;
        char *p = realloc(fc->out, cap);
        if (p == NULL)
            return false;
        fc->out = p;
        fc->out_cap = cap;
    }
    memcpy(fc->out + fc->out_len, s, n);
    fc->out_len += n;
    return true;
}

static bool out_str(struct hn_fast_conn *fc, const char *s)
{
    return out_add(fc, s, strlen(s));
}

/* Does the request set header name (its own lines, "Name: v\r\n")? */
static bool own_header(const struct hn_fast_conn *fc, const char *name)
{
    size_t nl = strlen(name);
    for (const char *p = fc->headers; p && *p;) {
        if (strncasecmp(p, name, nl) == 0 && (p[nl] == ':' || p[nl] == ';'))
            return true;
        const char *e = strstr(p, "\r\n");
        if (e == NULL)
            break;
        p = e + 2;
    }
    return false;
}

static bool build_request(struct hn_fast_conn *fc)
{
    struct origin *o = fc->o;
    fc->out_len = fc->out_off = 0;
    bool ok = out_str(fc, fc->method) && out_add(fc, " ", 1) && out_str(fc, fc->path) &&
              out_add(fc, " HTTP/1.1\r\n", 11);
    /* libcurl's defaults, which the request's own headers replace */
    if (!own_header(fc, "Host"))
        ok = ok && out_add(fc, "Host: ", 6) && out_str(fc, o->host_header) && out_add(fc, "\r\n", 2);
    if (!own_header(fc, "User-Agent"))
        ok = ok && out_str(fc, "User-Agent: hornet/" HN_VERSION "\r\n");
    if (!own_header(fc, "Accept"))
        ok = ok && out_str(fc, "Accept: */*\r\n");
    if (fc->jar.n > 0) {
        const char *q = strchr(fc->path, '?');
        char *path = q ? strndup(fc->path, (size_t)(q - fc->path)) : NULL;
        char *cookies = hn_cookie_jar_header(&fc->jar, o->host, path ? path : fc->path, o->tls,
                                             time(NULL));
        if (cookies != NULL)
            ok = ok && out_add(fc, "Cookie: ", 8) && out_str(fc, cookies) && out_add(fc, "\r\n", 2);
        free(cookies);
        free(path);
    }
    if (fc->has_body) {
        char cl[48];
        snprintf(cl, sizeof cl, "Content-Length: %zu\r\n", fc->body_len);
        if (!own_header(fc, "Content-Type"))
            ok = ok && out_str(fc, "Content-Type: application/x-www-form-urlencoded\r\n");
        if (!own_header(fc, "Content-Length"))
            ok = ok && out_str(fc, cl);
    }
    /* The request's own, except "Name:" (removes a default, as in curl);
     * "Name;" sends the header empty. */
    for (const char *p = fc->headers; ok && p && *p;) {
        const char *e = strstr(p, "\r\n");
        if (e == NULL)
            break;
        const char *colon = memchr(p, ':', (size_t)(e - p));
        const char *semi = memchr(p, ';', (size_t)(e - p));
        if (colon != NULL) {
            const char *v = colon + 1;
            while (v < e && (*v == ' ' || *v == '\t'))
                v++;
            if (v < e)
                ok = out_add(fc, p, (size_t)(e - p) + 2);
        } else if (semi != NULL && semi + 1 == e) {
            ok = out_add(fc, p, (size_t)(semi - p)) && out_add(fc, ":\r\n", 3);
        }
        p = e + 2;
    }
    ok = ok && out_add(fc, "\r\n", 2);
    if (ok && fc->has_body && fc->body_len > 0)
        ok = out_add(fc, fc->body, fc->body_len);
    return ok;
}

/* Is url one of o's, in the form its prefix was made from, with nothing
 * libcurl's URL parser would change (a fragment, blanks, dot segments)? */
static bool origin_of(const struct origin *o, const char *url)
{
    size_t pl = strlen(o->prefix);
    return strncmp(url, o->prefix, pl) == 0 &&
           (url[pl] == '/' || (url[pl] == '?' && url[pl + 1] != '\0')) &&
           strpbrk(url + pl, "# \t\r\n") == NULL && strstr(url + pl, "/.") == NULL;
}

/* Sets fc->o and fc->path from an absolute URL. The origin of the
 * previous request is recognised without parsing (the common case). */
static int set_target(struct hn_fast_client *c, struct hn_fast_conn *fc, const char *url,
                      char *err, size_t err_len)
{
    /* A known origin's URL is taken apart without libcurl's URL parser:
     * it costs allocations, and on a user's first request its stack use
     * (7 KiB) would fault a second page into every user's stack. */
    struct origin *o = fc->o != NULL && origin_of(fc->o, url) ? fc->o : NULL;
    for (struct origin *k = c->origins; o == NULL && k != NULL; k = k->next)
        if (origin_of(k, url))
            o = k;
    if (o != NULL) {
        const char *rest = url + strlen(o->prefix);
        size_t n = strlen(rest) + 2;
        if (n > fc->path_cap) { /* the buffer is reused: no allocation per request */
            char *p = realloc(fc->path, n);
            if (p == NULL) {
                snprintf(err, err_len, "out of memory");
                return -1;
            }
            fc->path = p;
            fc->path_cap = n;
        }
        snprintf(fc->path, n, "%s%s", rest[0] == '?' ? "/" : "", rest);
        fc->o = o;
        return 0;
    }
    CURLU *u = curl_url();
    char *scheme = NULL, *host = NULL, *port = NULL, *path = NULL, *query = NULL, *user = NULL;
    int rc = -1;
    if (u == NULL) {
        snprintf(err, err_len, "out of memory");
        return -1;
    }
    CURLUcode uc = curl_url_set(u, CURLUPART_URL, url, CURLU_NON_SUPPORT_SCHEME);
    if (uc != CURLUE_OK || curl_url_get(u, CURLUPART_SCHEME, &scheme, 0) != CURLUE_OK ||
        curl_url_get(u, CURLUPART_HOST, &host, 0) != CURLUE_OK) {
        snprintf(err, err_len, "invalid URL");
        goto out;
    }
    if (strcasecmp(scheme, "http") != 0 && strcasecmp(scheme, "https") != 0) {
        snprintf(err, err_len, "unsupported URL scheme");
        goto out;
    }
    if (curl_url_get(u, CURLUPART_USER, &user, 0) == CURLUE_OK) {
        snprintf(err, err_len, "the fast HTTP client does not send credentials from the URL: "
                               "use --http-client curl");
        goto out;
    }
    curl_url_get(u, CURLUPART_PORT, &port, 0);
    curl_url_get(u, CURLUPART_PATH, &path, 0);
    curl_url_get(u, CURLUPART_QUERY, &query, 0);
    o = origin_get(c, scheme, host, port, err, err_len);
    if (o == NULL)
        goto out;
    size_t n = strlen(path ? path : "/") + (query ? strlen(query) + 1 : 0) + 1;
    char *p = malloc(n);
    if (p == NULL) {
        snprintf(err, err_len, "out of memory");
        goto out;
    }
    snprintf(p, n, "%s%s%s", path ? path : "/", query ? "?" : "", query ? query : "");
    free(fc->path);
    fc->path = p;
    fc->path_cap = n;
    fc->o = o;
    rc = 0;
out:
    curl_free(scheme);
    curl_free(host);
    curl_free(port);
    curl_free(path);
    curl_free(query);
    curl_free(user);
    curl_url_cleanup(u);
    return rc;
}

/* The connection is ready (connected, TLS done): send. */
static void sock_ready(struct hn_fast_client *c, struct hn_fast_conn *fc)
{
    struct hn_http_response *r = &fc->conn->resp;
    uint64_t now = hn_mono_us();
    if (r->sends == 0)
        r->first_send_us = now;
    r->last_send_us = now;
    r->sends++;
    fc->sock->requests++;
    try_write(c, fc);
}

/* Is an idle connection fit for a request? A server that closes without
 * saying "Connection: close" may do it right after its response: the
 * close is often here before epoll could tell. For an origin seen doing
 * that, one peek (libcurl polls every time), so that a request is not sent
 * into a closed connection, retried and counted as one the target saw. */
static bool still_open(struct fsock *s)
{
    char b;
    if (!s->o->closes_quietly)
        return true; /* a server that says when it closes: no syscall */
    if (s->ssl != NULL && SSL_pending(s->ssl) > 0)
        return false; /* spoke out of turn */
    ssize_t n = recv(s->fd, &b, 1, MSG_PEEK | MSG_DONTWAIT);
    return n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK);
}

/* Sends the current hop on fc's connection, opening one when it has none
 * fit for the hop's origin. Returns -1 with resp.error set when that
 * failed at once. */
static int hop_begin(struct hn_fast_client *c, struct hn_fast_conn *fc)
{
    struct hn_http_response *r = &fc->conn->resp;
    char err[160];
    struct origin *o = fc->o;
    if (o->unsupported != NULL) {
        r->error = strdup(o->unsupported);
        return -1;
    }
    if (o->addrlen == 0) {
        r->error = strdup("could not resolve host");
        return -1;
    }
    if (!build_request(fc)) {
        r->error = strdup("out of memory");
        return -1;
    }
    if (fc->sock != NULL && (fc->sock->o != o || !still_open(fc->sock))) {
        sock_close(fc->sock);
        fc->sock = NULL;
    }
    while (fc->sock == NULL && fc->conn->pooled && o->idle != NULL) {
        struct fsock *s = o->idle;
        idle_remove(s);
        if (!still_open(s)) {
            sock_close(s);
            continue;
        }
        s->owner = fc;
        fc->sock = s;
    }
    if (fc->sock == NULL) {
        fc->sock = sock_open(c, fc, o, err, sizeof err);
        if (fc->sock == NULL) {
            r->error = strdup(err);
            return -1;
        }
    }
    fc->sock->busy = true;
    hn_h1_reader_begin(&fc->rd, r, strcmp(fc->method, "HEAD") == 0, fc->want_inflate);
    fc->hop_first_us = 0;
    if (!fc->sock->connecting && !fc->sock->handshaking)
        sock_ready(c, fc);
    return 0;
}

/* The reused connection died before a byte of the response: send again
 * on a new one, once; the lost send is counted. Returns false when the
 * request may not be retried. */
static bool retry(struct hn_fast_client *c, struct hn_fast_conn *fc)
{
    struct hn_http_response *r = &fc->conn->resp;
    if (fc->retried || fc->rd.got_bytes || fc->sock == NULL || fc->sock->requests < 2)
        return false;
    fc->retried = true;
    fc->sock->o->closes_quietly = true;
    r->unanswered_sends++;
    sock_close(fc->sock);
    fc->sock = NULL;
    if (hop_begin(c, fc) != 0)
        finish(c, fc);
    return true;
}

static void try_write(struct hn_fast_client *c, struct hn_fast_conn *fc)
{
    struct fsock *s = fc->sock;
    while (fc->out_off < fc->out_len) {
        ssize_t n;
        size_t left = fc->out_len - fc->out_off;
        if (s->ssl != NULL) {
            ERR_clear_error();
            int rc = SSL_write(s->ssl, fc->out + fc->out_off, left > INT32_MAX ? INT32_MAX : (int)left);
            if (rc <= 0) {
                int e = SSL_get_error(s->ssl, rc);
                if (e == SSL_ERROR_WANT_WRITE || e == SSL_ERROR_WANT_READ) {
                    sock_watch(c, s, EPOLLIN | EPOLLOUT);
                    return;
                }
                if (!retry(c, fc))
                    fail(c, fc, "connection reset by peer");
                return;
            }
            n = rc;
        } else {
            n = send(s->fd, fc->out + fc->out_off, left, MSG_NOSIGNAL);
            if (n < 0) {
                if (errno == EAGAIN || errno == EINTR) {
                    sock_watch(c, s, EPOLLIN | EPOLLOUT);
                    return;
                }
                if (retry(c, fc))
                    return;
                char msg[160];
                if (errno == ECONNRESET || errno == EPIPE)
                    snprintf(msg, sizeof msg, "connection reset by peer");
                else
                    snprintf(msg, sizeof msg, "send error (%s)", strerror(errno));
                fail(c, fc, msg);
                return;
            }
        }
        fc->out_off += (size_t)n;
    }
    sock_watch(c, s, EPOLLIN | EPOLLRDHUP);
}

static bool is_redirect(int status)
{
    return status == 301 || status == 302 || status == 303 || status == 307 || status == 308;
}

/* Stores the response's cookies and, for a redirect to follow, sets up
 * the next hop. Returns 1 when a next hop was set up, 0 when the response
 * is the request's, -1 on an error (resp.error). */
static int after_response(struct hn_fast_client *c, struct hn_fast_conn *fc)
{
    struct hn_http_response *r = &fc->conn->resp;
    /* (the path's query is no matter: the default cookie path ends before it) */
    hn_cookie_jar_store(&fc->jar, r->headers, r->hlen, fc->o->host, fc->path, time(NULL));
    const char *location = is_redirect(r->status) ? hn_http_response_header(r, "Location") : NULL;
    if (fc->no_redirects || !is_redirect(r->status) || location == NULL || *location == '\0')
        return 0;
    if (r->redirects == HN_REDIRECTS_MAX) {
        r->error = strdup("too many redirects");
        return -1;
    }
    uint64_t us = fc->hop_first_us > r->last_send_us ? fc->hop_first_us - r->last_send_us : 0;
    r->redirect_us[r->redirects++] = us > UINT32_MAX ? UINT32_MAX : (uint32_t)us;
    r->hop_n++;
    /* The next URL: Location resolved against this one (RFC 3986). */
    char *cur = malloc(strlen(fc->o->prefix) + strlen(fc->path) + 1);
    CURLU *u = curl_url();
    char *next = NULL;
    if (cur != NULL && u != NULL) {
        sprintf(cur, "%s%s", fc->o->prefix, fc->path);
        if (curl_url_set(u, CURLUPART_URL, cur, 0) == CURLUE_OK &&
            curl_url_set(u, CURLUPART_URL, location, CURLU_NON_SUPPORT_SCHEME) == CURLUE_OK)
            curl_url_get(u, CURLUPART_URL, &next, 0);
    }
    free(cur);
    curl_url_cleanup(u);
    if (next == NULL) {
        r->error = strdup("invalid redirect location");
        return -1;
    }
    char err[160];
    struct origin *was = fc->o;
    int rc = set_target(c, fc, next, err, sizeof err);
    curl_free(next);
    if (rc != 0) {
        r->error = strdup(err);
        return -1;
    }
    /* As libcurl does: a 303 fetches with GET, and so do 301 and 302 for
     * a POST; 307 and 308 repeat the request as it was. */
    if ((r->status == 303 && strcmp(fc->method, "HEAD") != 0) ||
        ((r->status == 301 || r->status == 302) && strcmp(fc->method, "POST") == 0)) {
        free(fc->method);
        fc->method = strdup("GET");
        fc->has_body = false;
        if (fc->method == NULL) {
            r->error = strdup("out of memory");
            return -1;
        }
    }
    /* The connection goes on to the next hop if it can. */
    bool reusable = fc->rd.keep_alive && !fc->rd.extra_bytes && fc->o == was;
    if (!reusable) {
        sock_close(fc->sock);
        fc->sock = NULL;
    }
    r->status = 0;
    r->len = 0;
    r->bytes = 0;
    r->truncated = false;
    r->hlen = 0;
    r->head_started = r->head_done = false;
    if (r->body)
        r->body[0] = '\0';
    fc->retried = false;
    return hop_begin(c, fc) == 0 ? 1 : -1;
}

static void response_done(struct hn_fast_client *c, struct hn_fast_conn *fc)
{
    int rc = after_response(c, fc);
    if (rc == 1)
        return;
    finish(c, fc);
}

/* What the connection's end means for the response. */
static void on_closed(struct hn_fast_client *c, struct hn_fast_conn *fc, int os_errno)
{
    if (retry(c, fc))
        return;
    struct hn_http_response *r = &fc->conn->resp;
    if (os_errno == ECONNRESET || os_errno == EPIPE) {
        /* Only a body that lasts until the close may end with one. */
        if (hn_h1_reader_eof(&fc->rd) == HN_H1_DONE) {
            response_done(c, fc);
            return;
        }
        free(r->error);
        r->error = strdup("connection reset by peer");
        finish(c, fc);
        return;
    }
    if (os_errno != 0) {
        char msg[160];
        snprintf(msg, sizeof msg, "receive error (%s)", strerror(os_errno));
        fail(c, fc, msg);
        return;
    }
    if (hn_h1_reader_eof(&fc->rd) == HN_H1_DONE)
        response_done(c, fc);
    else
        finish(c, fc);
}

static void do_read(struct hn_fast_client *c, struct hn_fast_conn *fc)
{
    struct fsock *s = fc->sock;
    for (int rounds = 0; rounds < 16; rounds++) {
        ssize_t n;
        if (s->ssl != NULL) {
            ERR_clear_error();
            int rc = SSL_read(s->ssl, c->rbuf, READ_BUF);
            if (rc <= 0) {
                int e = SSL_get_error(s->ssl, rc);
                if (e == SSL_ERROR_WANT_READ)
                    return;
                if (e == SSL_ERROR_WANT_WRITE) {
                    sock_watch(c, s, EPOLLIN | EPOLLOUT);
                    return;
                }
                if (e == SSL_ERROR_SSL && ERR_peek_error() != 0 && !fc->rd.got_bytes) {
                    /* An alert in place of an answer: with TLS 1.3 a server
                     * refuses a client certificate after the handshake. */
                    char msg[200];
                    hn_tls_failure_message("TLS error", ERR_reason_error_string(ERR_peek_error()),
                                           msg, sizeof msg);
                    fail(c, fc, msg);
                    return;
                }
                on_closed(c, fc, e == SSL_ERROR_ZERO_RETURN ? 0
                                 : e == SSL_ERROR_SYSCALL && errno != 0 ? errno
                                                                        : ECONNRESET);
                return;
            }
            n = rc;
        } else {
            n = recv(s->fd, c->rbuf, READ_BUF, 0);
            if (n < 0) {
                if (errno == EAGAIN || errno == EINTR)
                    return;
                on_closed(c, fc, errno);
                return;
            }
            if (n == 0) {
                on_closed(c, fc, 0);
                return;
            }
        }
        uint64_t now = hn_mono_us();
        if (!fc->rd.got_bytes)
            fc->hop_first_us = now;
        switch (hn_h1_reader_feed(&fc->rd, c->rbuf, (size_t)n, now)) {
        case HN_H1_DONE:
            response_done(c, fc);
            return;
        case HN_H1_ERROR:
            finish(c, fc);
            return;
        case HN_H1_MORE:
            break;
        }
        /* A short read drained the socket (TLS may still hold records). */
        if ((size_t)n < READ_BUF && (s->ssl == NULL || SSL_pending(s->ssl) == 0))
            return;
    }
}

static void tls_step(struct hn_fast_client *c, struct hn_fast_conn *fc)
{
    struct fsock *s = fc->sock;
    ERR_clear_error();
    int rc = SSL_do_handshake(s->ssl);
    if (rc == 1) {
        s->handshaking = false;
        sock_ready(c, fc);
        return;
    }
    int e = SSL_get_error(s->ssl, rc);
    if (e == SSL_ERROR_WANT_READ) {
        sock_watch(c, s, EPOLLIN);
        return;
    }
    if (e == SSL_ERROR_WANT_WRITE) {
        sock_watch(c, s, EPOLLIN | EPOLLOUT);
        return;
    }
    char msg[200];
    long v = c->transport.insecure ? X509_V_OK : SSL_get_verify_result(s->ssl);
    if (v != X509_V_OK)
        hn_tls_verify_message(X509_verify_cert_error_string(v), msg, sizeof msg);
    else if (e == SSL_ERROR_SYSCALL || e == SSL_ERROR_ZERO_RETURN)
        snprintf(msg, sizeof msg, "connection closed during the TLS handshake");
    else
        hn_tls_failure_message("TLS handshake failed", ERR_reason_error_string(ERR_peek_error()),
                               msg, sizeof msg);
    fail(c, fc, msg);
}

void hn_fast_client_on_event(struct hn_fast_client *c, struct hn_pollent *pe, uint32_t events)
{
    struct fsock *s = (struct fsock *)pe;
    if (!s->busy) {
        /* Idle: the server closed it, or spoke out of turn. */
        s->o->closes_quietly = true;
        if (s->owner != NULL)
            s->owner->sock = NULL;
        else
            idle_remove(s);
        sock_close(s);
        return;
    }
    struct hn_fast_conn *fc = s->owner;
    if (s->connecting) {
        int err = 0;
        socklen_t len = sizeof err;
        if (getsockopt(s->fd, SOL_SOCKET, SO_ERROR, &err, &len) != 0)
            err = errno;
        if (err == 0 && !(events & (EPOLLOUT | EPOLLERR | EPOLLHUP)))
            return;
        if (err != 0) {
            char msg[160];
            hn_http_connect_error(err, msg, sizeof msg);
            fail(c, fc, msg);
            return;
        }
        s->connecting = false;
        if (s->o->tls) {
            char msg[160];
            if (tls_begin(c, s, msg, sizeof msg) != 0) {
                fail(c, fc, msg);
                return;
            }
        } else {
            sock_ready(c, fc);
            return;
        }
    }
    if (s->handshaking) {
        tls_step(c, fc);
        return;
    }
    if ((events & EPOLLOUT) && fc->out_off < fc->out_len) {
        try_write(c, fc);
        if (fc->sock != s || !s->busy)
            return; /* it ended (or moved on) */
    }
    if (events & (EPOLLIN | EPOLLHUP | EPOLLRDHUP | EPOLLERR))
        do_read(c, fc);
}

/* ---------------------------------------------------------------- */
/* Starting and ending                                               */
/* ---------------------------------------------------------------- */

/* Copies a request's own header lines, and notes whether they ask for a
 * compressed body. */
static bool copy_headers(struct hn_fast_conn *fc, const struct hn_http_request *rq)
{
    size_t n = 0;
    fc->want_inflate = false;
    if (rq->json)
        n += sizeof "Content-Type: application/json\r\n";
    for (const char *const *h = rq->headers; h && *h; h++)
        n += strlen(*h) + 2;
    if (n + 1 > fc->headers_len) {
        char *p = realloc(fc->headers, n + 1);
        if (p == NULL)
            return false;
        fc->headers = p;
        fc->headers_len = n + 1;
    }
    char *p = fc->headers;
    *p = '\0';
    if (rq->json)
        p += sprintf(p, "Content-Type: application/json\r\n");
    for (const char *const *h = rq->headers; h && *h; h++) {
        if (strncasecmp(*h, "Accept-Encoding:", 16) == 0 &&
            (strstr(*h + 16, "gzip") != NULL || strstr(*h + 16, "deflate") != NULL))
            fc->want_inflate = true;
        p += sprintf(p, "%s\r\n", *h);
    }
    return true;
}

int hn_fast_start(struct hn_fast_client *c, struct hn_http_conn *conn,
                  const struct hn_http_request *rq)
{
    struct hn_http_response *r = &conn->resp;
    hn_http_response_begin(r, rq, hn_mono_us());
    if (rq->http2) {
        r->error = strdup("HTTP/2 needs libcurl (the fast HTTP client speaks HTTP/1.1)");
        return -1;
    }
    struct hn_fast_conn *fc = conn->fc;
    if (fc == NULL) {
        fc = calloc(1, sizeof *fc);
        if (fc == NULL) {
            r->error = strdup("out of memory");
            return -1;
        }
        fc->conn = conn;
        conn->fc = fc;
    }
    char err[160];
    const char *m = rq->method;
    if (fc->method == NULL || strcmp(fc->method, m) != 0) {
        free(fc->method);
        fc->method = strdup(m);
    }
    if (fc->method == NULL || !copy_headers(fc, rq)) {
        r->error = strdup("out of memory");
        return -1;
    }
    fc->body = rq->body;
    fc->body_len = rq->body ? rq->body_len : 0;
    /* libcurl sends a body (maybe empty) with every POST, and with other
     * methods when one is given. */
    fc->has_body = rq->body != NULL || strcmp(m, "POST") == 0;
    if (strcmp(m, "HEAD") == 0 || (strcmp(m, "GET") == 0 && rq->body == NULL))
        fc->has_body = false;
    fc->no_redirects = rq->no_redirects;
    fc->retried = false;
    if (set_target(c, fc, rq->url, err, sizeof err) != 0) {
        r->error = strdup(err);
        return -1;
    }
    /* In the list first: the send may end the transfer at once (finish
     * moves it to the finished list). */
    conn->in_transfer = true;
    list_add(&c->active, fc);
    if (hop_begin(c, fc) != 0) {
        list_remove(fc);
        conn->in_transfer = false;
        r->status = 0;
        return -1;
    }
    uint64_t d = transfer_deadline(fc);
    if (d < c->deadline)
        c->deadline = d;
    return 0;
}

void hn_fast_cancel(struct hn_fast_client *c, struct hn_http_conn *conn, const char *why)
{
    struct hn_fast_conn *fc = conn->fc;
    if (!conn->in_transfer || fc == NULL)
        return;
    list_remove(fc);
    sock_close(fc->sock); /* mid-request: never reused */
    fc->sock = NULL;
    conn->in_transfer = false;
    struct hn_http_response *r = &conn->resp;
    r->status = 0;
    free(r->error);
    r->error = strdup(why);
    r->total_us = hn_mono_us() - r->start_us;
}

void hn_fast_conn_cleanup(struct hn_fast_client *c, struct hn_http_conn *conn)
{
    struct hn_fast_conn *fc = conn->fc;
    if (fc == NULL)
        return;
    (void)c;
    list_remove(fc);
    sock_close(fc->sock);
    hn_cookie_jar_clear(&fc->jar);
    hn_h1_reader_free(&fc->rd);
    free(fc->method);
    free(fc->headers);
    free(fc->path);
    free(fc->out);
    free(fc);
    conn->fc = NULL;
    conn->in_transfer = false;
}

uint64_t hn_fast_client_deadline(const struct hn_fast_client *c)
{
    /* Finished transfers are handed back at once (hn_fast_client_run_timers
     * collects them; it scans the transfers only when a limit is due). */
    return c->finished != NULL ? 0 : c->deadline;
}

void hn_fast_client_run_timers(struct hn_fast_client *c)
{
    uint64_t now = hn_mono_us(), next = UINT64_MAX;
    if (now < c->deadline) {
        hn_fast_client_collect(c);
        return;
    }
    for (struct hn_fast_conn *fc = c->active, *nx; fc; fc = nx) {
        nx = fc->next;
        struct hn_http_response *r = &fc->conn->resp;
        char msg[160];
        if (now - r->start_us >= (uint64_t)(r->timeout_s * 1e6)) {
            snprintf(msg, sizeof msg, "timeout after %g s", r->timeout_s);
            fail(c, fc, msg);
        } else if (fc->sock != NULL && (fc->sock->connecting || fc->sock->handshaking) &&
                   now - fc->sock->connect_start_us >= (uint64_t)(r->limits.connect_s * 1e6)) {
            snprintf(msg, sizeof msg, "could not connect within %g s", r->limits.connect_s);
            fail(c, fc, msg);
        } else if (hn_http_phase_expired(r, now)) {
            hn_http_phase_message(r, msg, sizeof msg);
            fail(c, fc, msg);
        }
        if (fc->list == &c->active) {
            uint64_t d = transfer_deadline(fc);
            if (d < next)
                next = d;
        }
    }
    c->deadline = next;
    hn_fast_client_collect(c);
}

static void init_once(void)
{
    hn_h1_reader_global_init();
}

struct hn_fast_client *hn_fast_client_new(int epfd, long max_idle, hn_http_done_cb done,
                                          const struct hn_transport *t)
{
    static pthread_once_t once = PTHREAD_ONCE_INIT;
    pthread_once(&once, init_once);
    struct hn_fast_client *c = calloc(1, sizeof *c);
    if (c == NULL)
        return NULL;
    c->rbuf = malloc(READ_BUF);
    if (c->rbuf == NULL) {
        free(c);
        return NULL;
    }
    c->transport = *t;
    if (hn_source_addrs_load(t, &c->sources) != 0) {
        free(c->rbuf);
        free(c);
        return NULL;
    }
    c->epfd = epfd;
    c->max_idle = max_idle > 0 ? max_idle : 1;
    c->done = done;
    c->deadline = UINT64_MAX;
    return c;
}

void hn_fast_client_free(struct hn_fast_client *c)
{
    if (c == NULL)
        return;
    for (struct origin *o = c->origins, *nx; o; o = nx) {
        nx = o->next;
        for (struct fsock *s = o->idle, *sn; s; s = sn) {
            sn = s->next_idle;
            sock_close(s);
        }
        if (o->session)
            SSL_SESSION_free(o->session);
        free(o->prefix);
        free(o->host);
        free(o->host_header);
        free(o);
    }
    if (c->ssl_ctx)
        SSL_CTX_free(c->ssl_ctx);
    free(c->sources);
    free(c->rbuf);
    free(c);
}
