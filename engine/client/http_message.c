/*
 * http_message.c: the response both clients fill in, and the messages
 * they share, so a fault reads the same whichever client met it.
 */
#include "http_message.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define TRIM_ABOVE (64u * 1024u) /* bytes of a buffer kept between tasks */

struct hn_http_options hn_http_options_or_defaults(const struct hn_http_options *o)
{
    struct hn_http_options d = o ? *o : (struct hn_http_options){0};
    if (d.max_body == 0)
        d.max_body = HN_MAX_BODY_DEFAULT;
    if (!(d.connect_s > 0))
        d.connect_s = HN_CONNECT_S_DEFAULT;
    if (!(d.response_s > 0))
        d.response_s = HN_RESPONSE_S_DEFAULT;
    if (!(d.idle_s > 0))
        d.idle_s = HN_IDLE_S_DEFAULT;
    if (d.client != HN_HTTP_CLIENT_CURL && d.client != HN_HTTP_CLIENT_FAST)
        d.client = HN_HTTP_CLIENT_BY_TYPE;
    return d;
}

const char *hn_http_client_name(int choice)
{
    return choice == HN_HTTP_CLIENT_CURL ? "curl" : choice == HN_HTTP_CLIENT_FAST ? "fast" : NULL;
}

int hn_http_client_parse(const char *name)
{
    if (name == NULL)
        return -1;
    if (strcmp(name, "curl") == 0)
        return HN_HTTP_CLIENT_CURL;
    if (strcmp(name, "fast") == 0)
        return HN_HTTP_CLIENT_FAST;
    return -1;
}

static bool grow(char **buf, size_t *cap, size_t need)
{
    if (need <= *cap)
        return true;
    /* Small first: the buffers live as long as the user, and most
     * sleeping users hold a short response (1 KiB each cost 2 KiB/user). */
    size_t c = *cap ? *cap : 256;
    while (c < need)
        c *= 2;
    char *p = realloc(*buf, c);
    if (p == NULL)
        return false;
    *buf = p;
    *cap = c;
    return true;
}

const char *hn_http_response_header(const struct hn_http_response *r, const char *name)
{
    if (r == NULL || name == NULL || r->headers == NULL)
        return NULL;
    size_t nl = strlen(name);
    for (size_t off = 0; off < r->hlen;) {
        const char *line = r->headers + off;
        size_t ll = strlen(line);
        if (ll > nl && line[nl] == ':' && strncasecmp(line, name, nl) == 0) {
            const char *v = line + nl + 1;
            while (*v == ' ' || *v == '\t')
                v++;
            return v;
        }
        off += ll + 1;
    }
    return NULL;
}

void hn_http_response_begin(struct hn_http_response *r, const struct hn_http_request *rq,
                            uint64_t now_us)
{
    hn_http_response_reset(r);
    r->timeout_s = rq->timeout_s;
    r->limits = hn_http_options_or_defaults(&rq->limits);
    r->start_us = r->last_byte_us = now_us;
}

void hn_http_response_add_body(struct hn_http_response *r, const char *data, size_t n)
{
    r->bytes += n;
    /* A prefix for the plugin; the rest is counted and dropped, so a huge
     * or endless body costs no memory. */
    size_t keep = r->len < r->limits.max_body ? r->limits.max_body - r->len : 0;
    if (keep > n)
        keep = n;
    if (keep < n)
        r->truncated = true;
    if (keep > 0 && grow(&r->body, &r->cap, r->len + keep + 1)) {
        memcpy(r->body + r->len, data, keep);
        r->len += keep;
        r->body[r->len] = '\0';
    }
}

bool hn_http_response_add_header(struct hn_http_response *r, const char *line, size_t len)
{
    if (r->hlen + len + 1 > HN_HEADERS_MAX)
        return true;
    if (!grow(&r->headers, &r->hcap, r->hlen + len + 1))
        return false;
    memcpy(r->headers + r->hlen, line, len);
    r->headers[r->hlen + len] = '\0';
    r->hlen += len + 1;
    return true;
}

bool hn_http_phase_expired(struct hn_http_response *r, uint64_t now)
{
    if (!r->head_done && now - r->start_us >= (uint64_t)(r->limits.response_s * 1e6))
        r->phase_failed = r->head_started ? "headers incomplete after" : "no response within";
    else if (r->head_done && now - r->last_byte_us >= (uint64_t)(r->limits.idle_s * 1e6))
        r->phase_failed = "body stalled for";
    return r->phase_failed != NULL;
}

void hn_http_phase_message(const struct hn_http_response *r, char *buf, size_t n)
{
    snprintf(buf, n, "%s %g s", r->phase_failed,
             strcmp(r->phase_failed, "body stalled for") == 0 ? r->limits.idle_s
                                                             : r->limits.response_s);
}

void hn_http_connect_error(int os_errno, char *buf, size_t n)
{
    if (os_errno == ECONNREFUSED)
        snprintf(buf, n, "connection refused");
    else if (os_errno == EMFILE || os_errno == ENFILE)
        snprintf(buf, n, "too many open files (EMFILE): raise ulimit -n or use "
                         "HN_USER_SHARED_POOL");
    else if (os_errno == EADDRNOTAVAIL)
        snprintf(buf, n, "no free local port (EADDRNOTAVAIL): too many connections "
                         "from one source address");
    else
        snprintf(buf, n, "could not connect (%s)", os_errno ? strerror(os_errno) : "unknown reason");
}

void hn_http_response_reset(struct hn_http_response *r)
{
    free(r->error);
    r->error = NULL;
    r->status = 0;
    r->len = 0;
    r->bytes = 0;
    r->hlen = 0;
    r->total_us = 0;
    r->sends = r->unanswered_sends = 0;
    r->first_send_us = r->last_send_us = 0;
    r->truncated = r->head_started = r->head_done = r->status_1xx = false;
    r->redirects = r->hop_n = 0;
    r->phase_failed = NULL;
    if (r->cap > 256u * 1024u) {
        /* A large body is not kept across requests: thousands of users
         * that each met one huge response must not pin gigabytes. */
        free(r->body);
        r->body = NULL;
        r->cap = 0;
    }
    if (r->body)
        r->body[0] = '\0';
}

void hn_http_response_free(struct hn_http_response *r)
{
    free(r->error);
    free(r->body);
    free(r->headers);
    memset(r, 0, sizeof *r);
}

void hn_http_conn_trim(struct hn_http_conn *conn)
{
    struct hn_http_response *r = &conn->resp;
    if (conn->in_transfer)
        return;
    /* Small buffers stay for the next request: a malloc and a free per
     * task would show at 100k requests/s, and they cost no memory worth
     * having back. */
    if (r->cap > TRIM_ABOVE) {
        free(r->body);
        r->body = NULL;
        r->len = r->cap = 0;
    }
    if (r->hcap > TRIM_ABOVE) {
        free(r->headers);
        r->headers = NULL;
        r->hlen = r->hcap = 0;
    }
}
