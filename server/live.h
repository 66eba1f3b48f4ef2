/*
 * live.h: the dashboard's live push over WebSocket (libwebsockets on its own
 * service thread). Each client gets the latest snapshot on connect, then one
 * per second and one per state change ({"type":"snapshot",...} envelopes),
 * with latest-value semantics: a slow client skips snapshots and never
 * blocks the engine or other clients. The Origin header must match the
 * Host the page was served from.
 *
 * Threads: start/stop from main; hn_live_adopt from the acceptor thread;
 * the runner's tick callback feeds it from the aggregator thread.
 */
#ifndef HN_LIVE_H
#define HN_LIVE_H

#include <stddef.h>

struct hn_live;
struct hn_webctx;

/* Creates the lws context and service thread and subscribes to the
 * runner's ticks. Returns 0 or -1 with err set. */
int hn_live_start(struct hn_live **out, const struct hn_webctx *ctx, char *err, size_t err_len);
/* Queues an accepted connection whose request head asks for a WebSocket
 * upgrade; the lws thread adopts it. Closes fd if live is stopping. [acceptor] */
void hn_live_adopt(struct hn_live *l, int fd);
/* Number of connected WebSocket clients. [any] */
int hn_live_clients(struct hn_live *l);
/* Unsubscribes, stops the thread, closes clients, frees. NULL is ignored. */
void hn_live_stop(struct hn_live *l);

#endif
