/*
 * http_message.h: what every HTTP client of engine/client speaks: the
 * request a task makes, the response it gets back, the run's options for
 * both, and a user's side of the clients (struct hn_http_conn). libcurl
 * (curl_client.c) and the fast HTTP/1.1 client (fast_client.c) fill in the
 * same response, so statistics and failure messages never depend on which
 * one served a request.
 *
 * Threads: a conn and its response belong to the owning worker thread;
 * hn_http_options_or_defaults and hn_http_connect_error may be called from
 * any thread.
 */
#ifndef HN_HTTP_MESSAGE_H
#define HN_HTTP_MESSAGE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "transport.h"

#define HN_HEADERS_MAX (64u * 1024u)      /* bytes of headers kept per response */
#define HN_REDIRECTS_MAX 30               /* redirects followed per request (curl's MAXREDIRS) */

/* Which client serves a run's requests (--http-client). */
enum hn_http_client_choice {
    HN_HTTP_CLIENT_BY_TYPE = 0,       /* libcurl, or the fast client for HN_USER_FAST_HTTP types */
    HN_HTTP_CLIENT_CURL,              /* libcurl for every user type */
    HN_HTTP_CLIENT_FAST               /* the fast client for every user type */
};

/* How a run's requests are made: which client, how long each phase of a
 * request may take and how much of its body is kept (--http-client,
 * --connect-timeout, --response-timeout, --idle-timeout, --max-body), each
 * request's total timeout beside. 0 = the default. Each phase fails with
 * its own message: "could not connect within 10 s", "no response within
 * 10 s", "headers incomplete after 10 s", "body stalled for 10 s" (and
 * "timeout after 60 s" for the total). */
struct hn_http_options {
    size_t max_body;          /* body bytes kept for the plugin; the rest is counted only */
    double connect_s;         /* to connect */
    double response_s;        /* from the start to the response's head, complete */
    double idle_s;            /* without a byte once the head is in */
    int client;               /* enum hn_http_client_choice */
    struct hn_transport transport; /* TLS trust and identity, source addresses */
};
#define HN_MAX_BODY_DEFAULT ((size_t)1 << 20)
#define HN_CONNECT_S_DEFAULT 10.0
#define HN_RESPONSE_S_DEFAULT 10.0
#define HN_IDLE_S_DEFAULT 10.0
/* o with its zeros replaced by the defaults. [any] */
struct hn_http_options hn_http_options_or_defaults(const struct hn_http_options *o);
/* "curl" or "fast" (NULL for BY_TYPE); and back (-1 = neither). [any] */
const char *hn_http_client_name(int choice);
int hn_http_client_parse(const char *name);

/* What the last request of a conn produced. */
struct hn_http_response {
    int status;               /* 0 = no response */
    char *body;               /* NUL-terminated; at most limits.max_body bytes kept */
    size_t len, cap;
    uint64_t bytes;           /* as received (inflated, when it was), even past max_body */
    bool truncated;           /* more arrived than was kept */
    char *headers;            /* NUL-separated "Name: value" lines of the final response */
    size_t hlen, hcap;
    char *error;              /* transport error (stable text, for grouping); NULL = none */
    uint64_t total_us;        /* the transfer's time */
    double timeout_s;         /* the request's timeout */
    unsigned sends;           /* times the request was sent, redirects included */
    /* Sends that got no response because a reused connection had died:
     * they were retried on a new connection, but the target saw them. */
    unsigned unanswered_sends;
    uint64_t first_send_us, last_send_us;
    /* Redirects followed, each a request the target answered: the time
     * from each send to its response's status line. */
    unsigned redirects;
    uint32_t redirect_us[HN_REDIRECTS_MAX];
    unsigned hop_n;           /* responses seen so far */
    /* The phases. */
    struct hn_http_options limits;
    uint64_t start_us, last_byte_us;
    bool head_started, head_done, status_1xx;
    const char *phase_failed; /* "no response within", ... when a phase limit ended it */
};

/* A request. The URL and headers are copied when it starts; the body is
 * not: it must stay valid until the transfer ends. */
struct hn_http_request {
    const char *method;       /* upper case; GET, HEAD, POST, anything else as given */
    const char *url;          /* absolute */
    const char *const *headers; /* "Name: value", NULL-terminated; may be NULL */
    const void *body;         /* NULL = none */
    size_t body_len;
    bool json;                /* adds Content-Type: application/json */
    double timeout_s;         /* > 0: the whole request */
    bool no_redirects;
    /* HTTP/2: over TLS when the server offers it (ALPN), on plain http://
     * without asking (prior knowledge); libcurl only. */
    bool http2;
    struct hn_http_options limits; /* zeros: the defaults */
};

struct hn_fast_conn;

/* A user's side of the clients. Zero it, then hn_http_conn_init (in
 * http_client.h); its fields belong to the clients. */
struct hn_http_conn {
    void *owner;              /* handed to the done callback */
    bool pooled;              /* borrows connections (or curl handles) from a shared pool */
    bool fast;                /* served by the fast client, not libcurl */
    bool in_transfer;
    unsigned source_slot;     /* which of --source-ips its own connections come from */
    /* libcurl's part (curl_client.c) */
    void *easy;               /* CURL * */
    void *share;              /* CURLSH *: connection cache, or cookies when pooled */
    void *req_headers;        /* struct curl_slist * of the current request */
    char errbuf[256];         /* curl's own words for a failed transfer (CURL_ERROR_SIZE) */
    /* the fast client's part (fast_client.c), allocated on first use */
    struct hn_fast_conn *fc;
    struct hn_http_response resp;
};

/* A transfer finished (response, or transport error in resp.error). */
typedef void (*hn_http_done_cb)(void *owner);

/* Clears a response for the next request (keeps small buffers). */
void hn_http_response_reset(struct hn_http_response *r);
/* Frees a response's buffers. */
void hn_http_response_free(struct hn_http_response *r);
/* Frees the large buffers a conn's last response holds (its task has
 * ended; buffers of 64 KiB or less stay for the next request). */
void hn_http_conn_trim(struct hn_http_conn *conn);
/* The value of the response's first header called name (case-insensitive,
 * leading blanks skipped), or NULL. */
const char *hn_http_response_header(const struct hn_http_response *r, const char *name);
/* Resets r and starts it for rq at now: its timeout and limits (the
 * defaults filled in). Both clients begin a transfer with it. */
void hn_http_response_begin(struct hn_http_response *r, const struct hn_http_request *rq,
                            uint64_t now_us);
/* Appends to the body: the first limits.max_body bytes are kept, the rest
 * counted (r->bytes, r->truncated). */
void hn_http_response_add_body(struct hn_http_response *r, const char *data, size_t n);
/* Appends a "Name: value" line (len bytes, no CR/LF) to the headers, up
 * to HN_HEADERS_MAX; false only when out of memory. */
bool hn_http_response_add_header(struct hn_http_response *r, const char *line, size_t len);
/* The phase limit a transfer that started at r->start_us has passed at
 * now (r->phase_failed is set), or false. */
bool hn_http_phase_expired(struct hn_http_response *r, uint64_t now);
/* The message for a phase failure ("no response within 10 s"). */
void hn_http_phase_message(const struct hn_http_response *r, char *buf, size_t n);
/* The message for a failed connect, by the OS error number. */
void hn_http_connect_error(int os_errno, char *buf, size_t n);

#endif
