/*
 * tls_pipe.h: HTTPS on the dashboard's one port. The acceptor routes a
 * connection by peeking at its request head, which TLS hides; so a TLS
 * connection is ended here, on the acceptor's thread, and bridged to one
 * end of a socket pair whose other end is routed as a plain connection,
 * untouched: libmicrohttpd and libwebsockets never know TLS was there.
 *
 * Threads: hn_tls_load/hn_tls_free from main; a pipe belongs to the
 * acceptor thread.
 */
#ifndef HN_TLS_PIPE_H
#define HN_TLS_PIPE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct hn_tls;
struct hn_tls_pipe;

/* The server's certificate chain and key (PEM files), checked to belong
 * together. Returns 0, or -1 with one line in err. */
int hn_tls_load(struct hn_tls **out, const char *cert_file, const char *key_file, char *err,
                size_t err_len);
void hn_tls_free(struct hn_tls *tls);

enum hn_tls_side { HN_TLS_NET, HN_TLS_PLAIN };

/* Serves TLS on tcp_fd (non-blocking, owned from now on) and returns the
 * plain end of its socket pair in *plain_fd (to route like an accepted
 * socket; the pipe keeps the other end). NULL (tcp_fd closed) when out of
 * memory or descriptors. */
struct hn_tls_pipe *hn_tls_pipe_new(struct hn_tls *tls, int tcp_fd, int *plain_fd);
/* The pipe's descriptor on a side. Watch both edge-triggered for input,
 * output and hang-up, and run the pipe on any event of either. */
int hn_tls_pipe_fd(const struct hn_tls_pipe *p, enum hn_tls_side side);
/* Moves what can be moved, both ways, until each way waits for an event.
 * Returns false once the pipe is done (the server side closed, all it
 * sent went out and the client closed too, or an error): free it. */
bool hn_tls_pipe_run(struct hn_tls_pipe *p);
/* True once a pipe waited past its deadline: the rest of an answer a
 * client does not read (10 s after the server side closed), or the
 * client's last bytes after our goodbye (2 s). Close it then. now is
 * CLOCK_MONOTONIC in ms. */
bool hn_tls_pipe_expired(const struct hn_tls_pipe *p, uint64_t now);
/* Closes its descriptors and frees it. */
void hn_tls_pipe_free(struct hn_tls_pipe *p);

#endif
