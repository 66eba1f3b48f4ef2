/*
 * head.h: what a request head peeked off a new dashboard connection says
 * (the acceptor's routing): not complete yet, plain HTTP for
 * libmicrohttpd, a WebSocket upgrade for lws, or a head either library
 * would get wrong (no answer, an HTML page, a response sent twice), to be
 * refused with a JSON error instead. Pure functions over bytes: no I/O, no
 * state, so tests/fuzz feeds it anything.
 *
 * Threads: any.
 */
#ifndef HN_HEAD_H
#define HN_HEAD_H

#include <stddef.h>

enum hn_head_route {
    HN_HEAD_INCOMPLETE, /* its blank line has not arrived */
    HN_HEAD_HTTP,
    HN_HEAD_WEBSOCKET,
    HN_HEAD_REFUSE,     /* status and message say why */
};

struct hn_head {
    enum hn_head_route route;
    const char *status;         /* REFUSE: "400 Bad Request", "426 Upgrade Required", ... */
    const char *message;        /* REFUSE: one line, plain ASCII (JSON-safe) */
    char authorization[512];    /* WEBSOCKET: its Authorization value ("" = none or too long) */
};

/* Reads the n bytes peeked so far; cap is the most that can be peeked (a
 * head that fills it without ending is refused with 431). */
void hn_head_read(const char *buf, size_t n, size_t cap, struct hn_head *out);

#endif
