/*
 * curl_client.h: the libcurl HTTP client a task's requests go through.
 *
 * One hn_curl_client per worker thread: a curl multi handle whose sockets
 * live in the worker's epoll set (see pollent.h) and whose timer the
 * worker's loop runs, plus a pool of idle easy handles. A user's
 * hn_http_conn (http_message.h) holds its easy handle (or one borrowed
 * from the pool for the length of a transfer), its own connection cache
 * or cookie jar, and the response being received. The client knows nothing of users or statistics: a
 * finished transfer is handed back through the done callback with the
 * conn's owner, and the caller decides what it means.
 *
 * Threads: everything here runs on the owning worker thread.
 */
#ifndef HN_CURL_CLIENT_H
#define HN_CURL_CLIENT_H

#include "http_message.h"
#include "pollent.h"

struct hn_curl_client;

/* max_connections bounds the connections the multi handle keeps open; t
 * is the run's TLS trust and identity and source addresses (checked
 * before: see transport.h), its strings kept as they are. Returns NULL
 * when out of memory. */
struct hn_curl_client *hn_curl_client_new(int epfd, long max_connections, hn_http_done_cb done,
                                          const struct hn_transport *t);
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

/* Ends any transfer without a callback and frees what curl holds for conn. */
void hn_curl_conn_cleanup(struct hn_curl_client *c, struct hn_http_conn *conn);
/* Starts a request on conn (whose response is reset first). Returns 0, or
 * -1 with resp.error set (out of memory, or curl refused the transfer). */
int hn_curl_start(struct hn_curl_client *c, struct hn_http_conn *conn,
                  const struct hn_http_request *rq);
/* Ends the transfer in progress without a callback; resp.error = why. */
void hn_curl_cancel(struct hn_curl_client *c, struct hn_http_conn *conn, const char *why);

#endif
