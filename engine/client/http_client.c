/*
 * http_client.c: one door to the two clients.
 */
#include "http_client.h"

#include <stdlib.h>
#include <string.h>

#include "curl_client.h"
#include "fast_client.h"

struct hn_http_client {
    struct hn_curl_client *curl;
    struct hn_fast_client *fast;
};

struct hn_http_client *hn_http_client_new(int epfd, long max_connections, hn_http_done_cb done,
                                          const struct hn_transport *t)
{
    struct hn_http_client *c = calloc(1, sizeof *c);
    if (c == NULL)
        return NULL;
    c->curl = hn_curl_client_new(epfd, max_connections, done, t);
    c->fast = hn_fast_client_new(epfd, max_connections, done, t);
    if (c->curl == NULL || c->fast == NULL) {
        hn_http_client_free(c);
        return NULL;
    }
    return c;
}

void hn_http_client_free(struct hn_http_client *c)
{
    if (c == NULL)
        return;
    hn_curl_client_free(c->curl);
    hn_fast_client_free(c->fast);
    free(c);
}

uint64_t hn_http_client_deadline(const struct hn_http_client *c)
{
    uint64_t a = hn_curl_client_deadline(c->curl), b = hn_fast_client_deadline(c->fast);
    return a < b ? a : b;
}

void hn_http_client_run_timers(struct hn_http_client *c)
{
    if (hn_curl_client_deadline(c->curl) != UINT64_MAX)
        hn_curl_client_run_timers(c->curl);
    if (hn_fast_client_deadline(c->fast) != UINT64_MAX)
        hn_fast_client_run_timers(c->fast);
}

void hn_http_client_on_event(struct hn_http_client *c, struct hn_pollent *pe, uint32_t events)
{
    if (pe->kind == HN_POLL_FAST)
        hn_fast_client_on_event(c->fast, pe, events);
    else
        hn_curl_client_on_event(c->curl, pe, events);
}

void hn_http_client_collect(struct hn_http_client *c)
{
    hn_curl_client_collect(c->curl);
    hn_fast_client_collect(c->fast);
}

void hn_http_conn_init(struct hn_http_conn *conn, void *owner, bool pooled, bool fast,
                       unsigned source_slot)
{
    memset(conn, 0, sizeof *conn);
    conn->owner = owner;
    conn->pooled = pooled;
    conn->fast = fast;
    conn->source_slot = source_slot;
}

void hn_http_conn_cleanup(struct hn_http_client *c, struct hn_http_conn *conn)
{
    if (conn->fast)
        hn_fast_conn_cleanup(c->fast, conn);
    else
        hn_curl_conn_cleanup(c->curl, conn);
    hn_http_response_free(&conn->resp);
}

int hn_http_client_start(struct hn_http_client *c, struct hn_http_conn *conn,
                  const struct hn_http_request *rq)
{
    return conn->fast ? hn_fast_start(c->fast, conn, rq) : hn_curl_start(c->curl, conn, rq);
}

void hn_http_client_cancel(struct hn_http_client *c, struct hn_http_conn *conn, const char *why)
{
    if (conn->fast)
        hn_fast_cancel(c->fast, conn, why);
    else
        hn_curl_cancel(c->curl, conn, why);
}
