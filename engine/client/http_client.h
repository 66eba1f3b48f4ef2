/*
 * http_client.h: the HTTP clients a worker thread's users share, behind
 * one door: libcurl (curl_client.h) and the fast HTTP/1.1 client
 * (fast_client.h). Each user's conn is served by one of them for its whole
 * life (hn_http_conn_init says which); the worker's loop runs both through
 * the calls below and never needs to know which one a socket or a
 * finished transfer belongs to.
 *
 * Threads: everything here runs on the owning worker thread.
 */
#ifndef HN_HTTP_CLIENT_H
#define HN_HTTP_CLIENT_H

#include "http_message.h"
#include "pollent.h"

struct hn_http_client;

/* max_connections bounds the connections kept open by the libcurl client,
 * and the idle pooled ones per origin by the fast client; t is how both
 * connect (transport.h; checked before, its strings kept as they are).
 * NULL when out of memory. */
struct hn_http_client *hn_http_client_new(int epfd, long max_connections, hn_http_done_cb done,
                                          const struct hn_transport *t);
/* Frees both clients; every conn must be cleaned up first. NULL ignored. */
void hn_http_client_free(struct hn_http_client *c);
/* When the clients next want their timers run (monotonic µs; UINT64_MAX =
 * never). */
uint64_t hn_http_client_deadline(const struct hn_http_client *c);
/* Runs the clients' timers, then hands back what finished. */
void hn_http_client_run_timers(struct hn_http_client *c);
/* An epoll event on a socket of either client (HN_POLL_CURL/HN_POLL_FAST). */
void hn_http_client_on_event(struct hn_http_client *c, struct hn_pollent *pe, uint32_t events);
/* Hands finished transfers to the done callback. */
void hn_http_client_collect(struct hn_http_client *c);

/* pooled: share connections with the thread's other pooled users; fast:
 * the fast client serves this conn; source_slot: which of the source
 * addresses (modulo their number) its own connections come from. */
void hn_http_conn_init(struct hn_http_conn *conn, void *owner, bool pooled, bool fast,
                       unsigned source_slot);
/* Ends any transfer without a callback and frees everything the conn holds. */
void hn_http_conn_cleanup(struct hn_http_client *c, struct hn_http_conn *conn);
/* Starts a request on conn (whose response is reset first). Returns 0, or
 * -1 with resp.error set (and no callback follows). */
int hn_http_client_start(struct hn_http_client *c, struct hn_http_conn *conn,
                  const struct hn_http_request *rq);
/* Ends the transfer in progress without a callback; resp.error = why. */
void hn_http_client_cancel(struct hn_http_client *c, struct hn_http_conn *conn, const char *why);

#endif
