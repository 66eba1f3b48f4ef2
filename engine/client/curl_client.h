/*
 * curl_client.h: the libcurl HTTP client a task's requests go through.
 *
 * One hn_curl_client per worker thread: a curl multi handle whose sockets
 * live in the worker's epoll set (see pollent.h) and whose timer the
 * worker's loop runs, plus a pool of idle easy handles. One hn_http_conn
 * per user: its easy handle (or one borrowed from the pool for the length
 * of a transfer), its own connection cache or cookie jar, and the response
 * being received. The client knows nothing of users or statistics: a
 * finished transfer is handed back through the done callback with the
 * conn's owner, and the caller decides what it means.
 *
 * Threads: everything here runs on the owning worker thread.
 */
#ifndef HN_CURL_CLIENT_H
#define HN_CURL_CLIENT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "pollent.h"

#define HN_HEADERS_MAX (64u * 1024u)      /* bytes of headers kept per response */
#define HN_REDIRECTS_MAX 30               /* redirects followed per request (curl's MAXREDIRS) */

/* How long each phase of a request may take, and how much of its body is
 * kept; a run's (--connect-timeout, --response-timeout, --idle-timeout,
 * --max-body), each request's total timeout beside. 0 = the default. Each
 * phase fails with its own message: "could not connect within 10 s", "no
 * response within 10 s", "headers incomplete after 10 s", "body stalled
 * for 10 s" (and "timeout after 60 s" for the total). */
struct hn_http_limits {
    size_t max_body;          /* body bytes kept for the plugin; the rest is counted only */
    double connect_s;         /* to connect */
    double response_s;        /* from the start to the response's head, complete */
    double idle_s;            /* without a byte once the head is in */
};
#define HN_MAX_BODY_DEFAULT ((size_t)1 << 20)
#define HN_CONNECT_S_DEFAULT 10.0
#define HN_RESPONSE_S_DEFAULT 10.0
#define HN_IDLE_S_DEFAULT 10.0
/* l with its zeros replaced by the defaults. [any] */
struct hn_http_limits hn_http_limits_or_defaults(const struct hn_http_limits *l);

struct hn_curl_client;

/* What the last request of a conn produced. */
struct hn_http_response {
    int status;               /* 0 = no response */
    char *body;               /* NUL-terminated; at most limits.max_body bytes kept */
    size_t len, cap;
    uint64_t bytes;           /* as received, even past max_body */
    bool truncated;           /* more arrived than was kept */
    char *headers;            /* NUL-separated "Name: value" lines of the final response */
    size_t hlen, hcap;
    char *error;              /* transport error (stable text, for grouping); NULL = none */
    uint64_t total_us;        /* transfer time as curl measured it */
    double timeout_s;         /* the request's timeout */
    unsigned sends;           /* times curl sent the request, redirects included */
    /* Sends that got no response because a reused connection had died:
     * curl retried them silently, but the target saw them. */
    unsigned unanswered_sends;
    uint64_t first_send_us, last_send_us;
    /* Redirects followed, each a request the target answered: the time
     * from each send to its response's status line. */
    unsigned redirects;
    uint32_t redirect_us[HN_REDIRECTS_MAX];
    unsigned hop_n;           /* responses seen so far (curl_client.c) */
    /* The phases, watched from curl's progress callback. */
    struct hn_http_limits limits;
    uint64_t start_us, last_byte_us;
    bool head_started, head_done, status_1xx;
    const char *phase_failed; /* "no response within", ... when a phase limit ended it */
};

/* A request. The URL and headers are copied by hn_curl_start; the body is
 * not (CURLOPT_POSTFIELDS): it must stay valid until the transfer ends. */
struct hn_http_request {
    const char *method;       /* upper case; GET, HEAD, POST, anything else as given */
    const char *url;          /* absolute */
    const char *const *headers; /* "Name: value", NULL-terminated; may be NULL */
    const void *body;         /* NULL = none */
    size_t body_len;
    bool json;                /* adds Content-Type: application/json */
    double timeout_s;         /* > 0: the whole request */
    bool no_redirects;
    struct hn_http_limits limits; /* zeros: the defaults */
};

/* A user's side of the client. Zero it, then hn_http_conn_init; its fields
 * belong to curl_client.c. */
struct hn_http_conn {
    void *owner;              /* handed to the done callback */
    bool pooled;              /* borrows easy handles from the client's pool */
    bool in_transfer;
    void *easy;               /* CURL * */
    void *share;              /* CURLSH *: connection cache, or cookies when pooled */
    void *req_headers;        /* struct curl_slist * of the current request */
    struct hn_http_response resp;
    char errbuf[256];         /* curl's own words for a failed transfer (CURL_ERROR_SIZE) */
};

/* A transfer finished (response, or transport error in resp.error). */
typedef void (*hn_http_done_cb)(void *owner);

/* max_connections bounds the connections the multi handle keeps open.
 * Returns NULL when out of memory. */
struct hn_curl_client *hn_curl_client_new(int epfd, long max_connections, hn_http_done_cb done);
/* Frees the large buffers a conn's last response holds (its task has
 * ended; buffers of 64 KiB or less stay for the next request). */
void hn_http_conn_trim(struct hn_http_conn *conn);
/* Frees the client; every conn must be cleaned up first. NULL ignored. */
void hn_curl_client_free(struct hn_curl_client *c);
/* When curl next wants its timers run (monotonic µs; UINT64_MAX = never). */
uint64_t hn_curl_client_deadline(const struct hn_curl_client *c);
/* Runs curl's timers, then hands back what finished. */
void hn_curl_client_run_timers(struct hn_curl_client *c);
/* An epoll event on one of the client's sockets (pe->kind == HN_POLL_CURL). */
void hn_curl_client_on_event(struct hn_curl_client *c, struct hn_pollent *pe, uint32_t events);
/* Hands finished transfers to the done callback. */
void hn_curl_client_collect(struct hn_curl_client *c);

void hn_http_conn_init(struct hn_http_conn *conn, void *owner, bool pooled);
/* Ends any transfer without a callback and frees everything the conn holds. */
void hn_http_conn_cleanup(struct hn_curl_client *c, struct hn_http_conn *conn);
/* Starts a request on conn (whose response is reset first). Returns 0, or
 * -1 with resp.error set (out of memory, or curl refused the transfer). */
int hn_curl_start(struct hn_curl_client *c, struct hn_http_conn *conn,
                  const struct hn_http_request *rq);
/* Ends the transfer in progress without a callback; resp.error = why. */
void hn_curl_cancel(struct hn_curl_client *c, struct hn_http_conn *conn, const char *why);

/* Clears a response for the next request (keeps small buffers). */
void hn_http_response_reset(struct hn_http_response *r);
/* Frees a response's buffers. */
void hn_http_response_free(struct hn_http_response *r);

#endif
