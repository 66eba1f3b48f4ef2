/*
 * api.h: the dashboard's routes that answer with data rather than files:
 * the JSON API of BRIEF 4.2, the CSV/JSON downloads and the
 * Locust-compatible aliases. Internal to the HTTP side: http.c parses the
 * request (method, path, headers, body) and turns the reply into an MHD
 * response; nothing here knows about MHD.
 *
 * Threads: the MHD thread ([mhd]); handlers only use the runner's
 * thread-safe calls.
 */
#ifndef HN_API_H
#define HN_API_H

#include <stddef.h>

struct hn_webctx;

/* Request bodies larger than this are refused with 413. */
#define HN_API_BODY_MAX (64 * 1024)
/* POST /api/runs takes a whole JSON result (a long run's is megabytes). */
#define HN_API_UPLOAD_MAX (32 * 1024 * 1024)
/* The largest body accepted on path. [any] */
size_t hn_api_body_max(const char *path);

struct hn_api_request {
    const struct hn_webctx *ctx;
    const char *arg_id, *arg_base, *arg_new, *arg_tolerance; /* ?id= ?base= ?new= ?tolerance= */
    const char *arg_type, *arg_name;                         /* ?type= ?name= */
    const char *path;         /* decoded URL path, without the query */
    const char *content_type; /* Content-Type header, or NULL */
    const char *body;         /* NUL-terminated (may also hold NULs); "" when none */
    size_t body_len;
    const char *download;     /* the ?download= query argument, or NULL */
};

struct hn_api_reply {
    unsigned status; /* HTTP status */
    char *body;      /* malloc'ed; the HTTP side frees it */
    size_t len;
    const char *content_type; /* static string */
    char filename[128];       /* non-empty: sent as Content-Disposition: attachment */
};

typedef void (*hn_api_handler_cb)(const struct hn_api_request *rq, struct hn_api_reply *rp);

/* The handler for method and path (HEAD is served as GET), or NULL. When
 * NULL and the path is a route for another method, *allow is set to the
 * value of an Allow header ("GET, HEAD" or "POST"); otherwise to NULL. */
hn_api_handler_cb hn_api_route(const char *method, const char *path, const char **allow);

/* Sets rp to status with the JSON body {"error": "<message>"}; the message
 * is printf-formatted, and bytes that are not UTF-8 become U+FFFD. If memory
 * runs out, rp becomes a 500 with a fixed body (or none at all). */
void hn_api_error(struct hn_api_reply *rp, unsigned status, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

#endif
