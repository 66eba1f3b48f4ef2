/*
 * ws_client.h: WebSocket connections for users (RFC 6455): the handshake
 * over hornet's own non-blocking sockets (TLS by OpenSSL for wss://), the
 * frames by libwslay, which leaves all I/O to its caller. A call never
 * blocks its thread: when a socket is not ready it asks the caller's wait
 * function (a user coroutine yields there), always with a deadline. The
 * dashboard's libwebsockets is a server on its own thread and has no part
 * in this.
 *
 * Threads: a client and its conns belong to one worker thread.
 */
#ifndef HN_WS_CLIENT_H
#define HN_WS_CLIENT_H

#include <stddef.h>
#include <stdint.h>

#include "transport.h"

#define HN_WS_OP_TEXT 1
#define HN_WS_OP_BINARY 2

struct hn_ws_client;
struct hn_ws_conn;

/* How a conn waits: fd ready for HN_WS_WAIT_* bits, or the deadline
 * (monotonic µs). Returns the ready bits, 0 at the deadline, -1 when it
 * cannot wait. */
#define HN_WS_WAIT_READ 0x1
#define HN_WS_WAIT_WRITE 0x2
struct hn_ws_io {
    int (*wait)(void *ctx, int fd, int events, uint64_t deadline_us);
    void *ctx;
};

/* The worker's side: the run's TLS trust and identity and source
 * addresses (t's strings kept as they are; checked before the run). NULL
 * when out of memory. */
struct hn_ws_client *hn_ws_client_new(const struct hn_transport *t);
void hn_ws_client_free(struct hn_ws_client *c);

/* Connects to url (ws:// or wss://), sends the handshake with headers
 * ("Name: value", NULL-terminated; may be NULL) and protocol (or NULL), and
 * checks the answer, all before deadline_us. Messages of more than
 * max_message bytes end the connection. NULL with a stable one-line err
 * ("handshake refused: HTTP 403 Forbidden", "could not connect within
 * 10 s", "TLS certificate verify failed (...)"). */
struct hn_ws_conn *hn_ws_conn_open(struct hn_ws_client *c, const char *url,
                                   const char *const *headers, const char *protocol,
                                   unsigned source_slot, size_t max_message,
                                   const struct hn_ws_io *io, uint64_t deadline_us, char *err,
                                   size_t err_len);

/* Sends one message (HN_WS_OP_TEXT or _BINARY) before deadline_us.
 * Returns 0, or -1 with err (the conn is then broken). */
int hn_ws_conn_send(struct hn_ws_conn *w, int opcode, const void *data, size_t len,
                    uint64_t deadline_us, char *err, size_t err_len);

/* The next message: 1 with *opcode, *data (NUL-terminated, valid until the
 * next call on w) and *len; 0 at deadline_us; -1 when the connection ended,
 * with err ("closed by the server (1001)", "connection closed without a
 * close frame", "message of more than 1048576 bytes") and *close_code (the
 * server's close code; 0 = none). Pings are answered while it reads. */
int hn_ws_conn_recv(struct hn_ws_conn *w, uint64_t deadline_us, int *opcode, const char **data,
                    size_t *len, int *close_code, char *err, size_t err_len);

/* Closes the connection politely (a close frame, the server's answer
 * awaited until deadline_us) and frees it. NULL ignored. */
void hn_ws_conn_close(struct hn_ws_conn *w, uint64_t deadline_us);
/* Frees it at once (no close frame: the user is gone). NULL ignored. */
void hn_ws_conn_abandon(struct hn_ws_conn *w);

#endif
