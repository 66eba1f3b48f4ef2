/*
 * fast_client.h: the fast HTTP/1.1 client, beside libcurl (Locust's
 * FastHttpUser, in C). Plain HTTP/1.1 over the worker's own non-blocking
 * sockets in its epoll set: one write and one read per request in the
 * common case, responses read by libhttp-parser (h1_reader.h), keep-alive
 * per user or a shared pool per origin, chunked and gzip bodies, redirects,
 * the same phase timeouts, a cookie jar per user (cookie_jar.h), https
 * through OpenSSL with sessions reused per origin. What it does not do
 * (proxies, credentials in the URL, HTTP/2) fails the request with a
 * message that says so, never silently differs from libcurl.
 *
 * Host names are resolved once per worker thread and origin, with the
 * blocking getaddrinfo (a load test names a handful of origins). TLS peers
 * are verified against the system's CA store (OpenSSL's default paths,
 * which SSL_CERT_FILE and SSL_CERT_DIR override).
 *
 * Threads: everything here runs on the owning worker thread.
 */
#ifndef HN_FAST_CLIENT_H
#define HN_FAST_CLIENT_H

#include "http_message.h"
#include "transport.h"
#include "pollent.h"

struct hn_fast_client;

/* max_idle bounds the idle pooled connections kept per origin; t is the
 * run's TLS trust and identity and source addresses (checked before: see
 * transport.h), its strings kept as they are. Returns NULL when out of
 * memory. */
struct hn_fast_client *hn_fast_client_new(int epfd, long max_idle, hn_http_done_cb done,
                                          const struct hn_transport *t);
/* Frees the client; every conn must be cleaned up first. NULL ignored. */
void hn_fast_client_free(struct hn_fast_client *c);
/* When the client next wants its timers run (monotonic µs; UINT64_MAX =
 * never). */
uint64_t hn_fast_client_deadline(const struct hn_fast_client *c);
/* Ends the transfers whose time is up, then hands back what finished. */
void hn_fast_client_run_timers(struct hn_fast_client *c);
/* An epoll event on one of the client's sockets (pe->kind == HN_POLL_FAST). */
void hn_fast_client_on_event(struct hn_fast_client *c, struct hn_pollent *pe, uint32_t events);
/* Hands finished transfers to the done callback (never called from the
 * client's other functions, so a transfer that ends inside hn_fast_start
 * is told after its caller began to wait). */
void hn_fast_client_collect(struct hn_fast_client *c);

/* Starts a request on conn (its response is reset first). Returns 0, or -1
 * with resp.error set (a bad URL, something only libcurl does, a connect
 * that failed at once); then no callback follows. */
int hn_fast_start(struct hn_fast_client *c, struct hn_http_conn *conn,
                  const struct hn_http_request *rq);
/* Ends the transfer in progress without a callback; resp.error = why. */
void hn_fast_cancel(struct hn_fast_client *c, struct hn_http_conn *conn, const char *why);
/* Ends any transfer without a callback and frees what the client holds
 * for conn (its connection, cookies, buffers). */
void hn_fast_conn_cleanup(struct hn_fast_client *c, struct hn_http_conn *conn);

#endif
