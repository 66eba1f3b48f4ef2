/*
 * http.h: the dashboard's HTTP side: a libmicrohttpd daemon without a
 * listening socket (the acceptor hands it connections), serving the page's
 * assets, the JSON API of BRIEF 4.2 with the Locust-compatible aliases, and
 * the CSV/JSON downloads.
 *
 * Threads: start/stop from main; hn_http_adopt from the acceptor thread.
 */
#ifndef HN_HTTP_H
#define HN_HTTP_H

#include <stddef.h>
#include <sys/socket.h>

struct hn_http;
struct hn_webctx;

/* Starts the MHD daemon (internal polling thread, no listen socket).
 * Returns 0 or -1 with err set. ctx must outlive the daemon. */
int hn_http_start(struct hn_http **out, const struct hn_webctx *ctx, char *err, size_t err_len);
/* Hands an accepted, untouched connection to MHD (which closes it when done,
 * also on failure). [acceptor] */
void hn_http_adopt(struct hn_http *h, int fd, const struct sockaddr *addr, socklen_t addr_len);
/* Stops the daemon and frees. NULL is ignored. */
void hn_http_stop(struct hn_http *h);

#endif
