/*
 * cluster.h: distributed mode over ZeroMQ. A master (ROUTER socket) runs
 * the dashboard, the API and the reports but no users; workers (DEALER
 * sockets) run the users and stream their statistics.
 *
 * Protocol (version HN_CLUSTER_PROTOCOL): every message is one JSON object
 * with "type" and "v". The worker's ZeroMQ routing id is its id
 * (host_pid_random), so the master knows it across reconnects.
 *   worker -> master
 *     hello    {id, session, version, host, pid, threads, plugin:{sha256, types:[names]}
 *              or null to be sent the master's}; resent each second until welcomed,
 *              with the same session number until the worker loses the master again
 *     report   {epoch, run, state, users, threads, cpu, rss, stats?, logs?,
 *              feeds?:[[lease, left] per feeder]}  every second; it is also the
 *              heartbeat, sent by a thread that never runs user code
 *     feed     {feeder, lease, want}: rows of a ONCE or CYCLE feeder, please (lease
 *              numbers this worker's requests)
 *     stopped  {run}: every user of that run has stopped and its last statistics
 *              were in the reports before this message
 *     stop_test {run, reason}: a user called hn_stop_test
 *     bye      the worker is quitting (also the answer to quit)
 *   master -> worker
 *     welcome  {master (instance id), version, tags, exclude_tags, stop_timeout,
 *              plugin_file?:{name, sha256, data (base64)}, feeders?:{sha256, tables}
 *              (feed_wire.h)} | refuse {reason}
 *     rows     {feeder, lease, from, count}: row numbers [from, from + count) are this
 *              worker's; count 0: a ONCE feeder has no more. The master holds the
 *              cluster's one cursor per feeder, so ONCE rows go out once in all; a
 *              ONCE feeder that stops the test does so when every live worker has
 *              used up its rows, not when the first one runs out
 *     state    {run, epoch, phase: idle|run|stop, counts:[per user type], spawn_rate,
 *              host, paused, arrival?:{rate, pool}, params?:{name: value},
 *              types?:[{host, tasks} per user type]}: the worker's whole desired
 *              state (arrival: its share of the open model; params: the plugin's
 *              parameters for the run; types: the picker's host and tasks), absolute and
 *              idempotent, sent on every change and every second (the
 *              master's heartbeat)
 *     rehello  the master does not know this worker (it restarted)
 *     quit     the master is shutting down: stop and exit (repeated until bye)
 * Statistics are deltas (stats_wire.h) tagged with the epoch they
 * belong to; the master drops deltas of an older epoch (before a reset).
 *
 * Threads: the master's fleet runs one thread of its own; the worker's
 * agent runs on the thread that calls hn_agent_run (main).
 */
#ifndef HN_CLUSTER_H
#define HN_CLUSTER_H

#include <signal.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#define HN_CLUSTER_PROTOCOL 2
#define HN_CLUSTER_HEARTBEAT_MS 1000   /* reports and state messages */
#define HN_CLUSTER_WORKER_LOST_MS 3000 /* master marks a silent worker missing */
#define HN_CLUSTER_MASTER_LOST_MS 5000 /* worker stops its users without a master */

struct hn_plugin;
struct hn_fleet_ops;
struct hn_runner;

/* ---- shared helpers [any thread that owns the socket] ---- */

/* Sends msg (reference stolen) as one frame, after an identity frame when
 * id is not NULL. Never blocks; returns 0 or -1 (errno from zmq). */
int hn_cluster_send(void *sock, const char *id, json_t *msg);
/* A message with "type" and "v" set. */
json_t *hn_cluster_msg(const char *type);
/* SHA-256 (hex) of bytes. */
void hn_cluster_sha256(const void *data, size_t len, char out[65]);
/* Base64 (no line breaks) of len bytes, malloc'ed; NULL on OOM. */
char *hn_cluster_b64_encode(const void *data, size_t len);
/* Decodes base64 into a malloc'ed buffer (*len bytes); NULL if malformed. */
unsigned char *hn_cluster_b64_decode(const char *text, size_t *len);
/* SHA-256 (hex) identifying the plugin: of the file's bytes, or of the
 * label for a built-in. Returns 0 or -1 with err set. [main] */
int hn_cluster_plugin_sha256(const char *path, bool builtin, char out[65], char *err,
                             size_t err_len);

/* --cluster-key: master and workers derive CURVE key pairs from one shared
 * secret (ZeroMQ's CURVE: traffic encrypted, and the master takes only
 * workers that hold the secret; a worker checks the master holds it too). */
struct hn_curve_keys {
    char server_public[41], server_secret[41]; /* Z85 */
    char client_public[41], client_secret[41];
};
/* Returns 0, or -1 with err (libzmq without CURVE). [any] */
int hn_cluster_curve_keys(const char *secret, struct hn_curve_keys *k, char *err,
                          size_t err_len);

/* ---- master ---- */

struct hn_fleet;
struct hn_http_options;
struct hn_fleet_config {
    const char *bind_host;            /* address to bind ("*" or 0.0.0.0 = all) */
    uint16_t bind_port;               /* 0 = any free port */
    const struct hn_plugin *plugin;
    const char *plugin_sha256;
    const char *plugin_path;          /* shipped to workers started without -f; NULL = a
                                       * built-in plugin, which cannot be shipped */
    const char *const *tags;          /* sent to workers; NULL = none */
    const char *const *exclude_tags;
    double stop_timeout;              /* sent to workers */
    const struct hn_feeders *feeders; /* the plugin's data, sent to workers; NULL = none */
    const struct hn_http_options *limits; /* the requests' client, phase timeouts and body
                                           * kept, sent to workers (theirs are ignored); NULL =
                                           * defaults */
    const struct hn_curve_keys *curve;   /* --cluster-key; NULL = plain (loopback use) */
};
/* Binds and starts the fleet's thread. Returns 0 or -1 with err. [main] */
int hn_fleet_start(struct hn_fleet **out, const struct hn_fleet_config *cfg, char *err,
                   size_t err_len);
/* The bound port. [any] */
uint16_t hn_fleet_port(const struct hn_fleet *f);
/* The callbacks for hn_runner_config.fleet (valid while f lives). [any] */
const struct hn_fleet_ops *hn_fleet_runner_ops(struct hn_fleet *f);
/* Sets what to do when a user on a worker calls hn_stop_test (called on
 * the fleet's thread; typically hn_runner_stop). Once a call with NULL
 * returns, the old callback is not running and will not run. [main] */
void hn_fleet_on_stop_test(struct hn_fleet *f, void (*cb)(void *ud, const char *reason),
                           void *ud);
/* Workers connected and not missing. [any] */
int hn_fleet_ready(struct hn_fleet *f);
/* Replaces the plugin between runs (the reload; the runner's first):
 * path (NULL = built in), its sha256 and its feeders (must outlive f or
 * the next call). Every connected worker is welcomed again: one started
 * without -f loads the new plugin, one with its own file must have the
 * same one or is refused. Returns 0 or -1 with err (the old one stays). [any] */
int hn_fleet_set_plugin(struct hn_fleet *f, const struct hn_plugin *plugin, const char *path,
                        const char *sha256, const struct hn_feeders *feeders, char *err,
                        size_t err_len);
/* Tells every worker to quit, stops the thread and frees. NULL ignored.
 * Destroy the runner first. [main] */
void hn_fleet_stop(struct hn_fleet *f);

/* ---- worker ---- */

struct hn_agent_config {
    const char *master_host;
    uint16_t master_port;
    const struct hn_plugin *plugin;   /* NULL: run the plugin the master sends */
    const char *plugin_sha256;
    int threads;                      /* 0 = CPUs */
    uint64_t seed;
    const char *host;                 /* default base URL (-H), may be NULL */
    const sigset_t *signals;          /* blocked set to poll (SIGINT/SIGTERM) */
    const struct hn_curve_keys *curve;   /* --cluster-key; NULL = plain */
};
/* Connects, says hello, runs what the master says until it quits (0), it
 * refuses this worker (2, reason in err) or a signal arrives (0). Keeps
 * waiting, with users stopped, while the master is unreachable. [main] */
int hn_agent_run(const struct hn_agent_config *cfg, char *err, size_t err_len);

#endif
