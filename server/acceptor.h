/*
 * acceptor.h: the dashboard's one listening port. An acceptor thread
 * accepts connections, peeks at each request head (recv MSG_PEEK,
 * edge-triggered epoll) and hands the socket to libwebsockets when it asks
 * for "Upgrade: websocket", to libmicrohttpd otherwise. Connections that
 * send nothing within a deadline are closed (browsers open speculative
 * ones), heads over the peek limit get 431, and pending connections are
 * bounded. With --web-auth, a WebSocket upgrade without the credentials
 * gets 401 here (MHD checks each HTTP request itself). With a TLS context
 * (tls_pipe.h) every connection is HTTPS, ended on this thread.
 *
 * Threads: start/stop from main; the acceptor runs its own thread.
 */
#ifndef HN_ACCEPTOR_H
#define HN_ACCEPTOR_H

#include <stddef.h>
#include <stdint.h>

struct hn_acceptor;
struct hn_http;
struct hn_live;
struct hn_webctx;
struct hn_tls;

/* Binds host:port (port 0 = pick a free one) and starts accepting; with
 * tls (not NULL; it must outlive the acceptor) every connection is TLS.
 * Returns 0 or -1 with err set ("cannot listen on 127.0.0.1:8089: Address
 * already in use"). */
int hn_acceptor_start(struct hn_acceptor **out, const char *host, uint16_t port,
                      struct hn_http *http, struct hn_live *live, const struct hn_webctx *ctx,
                      struct hn_tls *tls, char *err, size_t err_len);
/* The bound port. */
uint16_t hn_acceptor_port(const struct hn_acceptor *a);
/* Stops accepting, closes pending connections, joins, frees. NULL is ignored. */
void hn_acceptor_stop(struct hn_acceptor *a);

#endif
