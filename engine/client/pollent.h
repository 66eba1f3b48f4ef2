/*
 * pollent.h: how a client's sockets share a worker's epoll loop. Whatever a
 * worker registers in its epoll set (its wake-up eventfd, a user's
 * hn_wait_fd, a client's sockets) starts with a struct hn_pollent, and the
 * loop dispatches each event on its kind.
 *
 * Threads: the owning worker thread.
 */
#ifndef HN_POLLENT_H
#define HN_POLLENT_H

enum hn_poll_kind {
    HN_POLL_WAKE = 1, /* the worker's command eventfd */
    HN_POLL_USER,     /* a user waiting in hn_wait_fd */
    HN_POLL_CURL,     /* a socket of the libcurl client */
    HN_POLL_FAST      /* a socket of the fast HTTP/1.1 client */
};

struct hn_pollent {
    int kind; /* enum hn_poll_kind */
};

#endif
