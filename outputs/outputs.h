/*
 * outputs.h: pushes a run's numbers to the systems teams already watch,
 * InfluxDB (line protocol every second) and webhooks (JSON, or Slack's
 * message format, at start, at stop and when a threshold breaks), without
 * ever slowing or stopping the run.
 *
 * The runner's tick hands each snapshot over (a reference, nothing else);
 * one thread of this module renders what is due and POSTs it with libcurl.
 * Every destination has a bounded queue: when a server is slow or away,
 * the oldest documents are dropped and counted, the first failure and the
 * final count are logged, and the run goes on.
 *
 * Threads: hn_outputs_on_snapshot on the runner's aggregator (it only takes
 * a reference and wakes the thread); everything else from main.
 */
#ifndef HN_OUTPUTS_H
#define HN_OUTPUTS_H

#include <stddef.h>

struct hn_snapshot;
struct hn_outputs;

struct hn_outputs_config {
    const char *influxdb;             /* base URL, or NULL for none */
    const char *influxdb_db;          /* database (1.x) or bucket (2.x); NULL = "hornet" */
    const char *influxdb_user;        /* Basic credentials, or NULL */
    const char *influxdb_password;
    const char *influxdb_token;       /* "Authorization: Token ...", or NULL */
    const char *const *webhooks;      /* NULL-terminated, or NULL */
    const char *const *slack_webhooks;
    double timeout_s;                 /* per push, and the most hn_outputs_finish waits */
    const char *dashboard_url;        /* "http://127.0.0.1:8089/" or NULL (headless) */
    const char *plugin;               /* shown in notifications */
    const char *version;
};

/* Starts the thread, or returns NULL (with err) when a URL cannot be used;
 * with no output configured returns NULL and sets err to "". [main] */
struct hn_outputs *hn_outputs_start(const struct hn_outputs_config *cfg, char *err,
                                    size_t err_len);

/* A hn_runner_tick_cb: takes a reference to snap for the thread and
 * returns at once. [aggregator] */
void hn_outputs_on_snapshot(void *outputs, struct hn_snapshot *snap, int state_changed);

/* Pushes what final (the last snapshot; may be NULL) makes due, waits at
 * most the timeout for every queue to empty, logs what was dropped, stops
 * the thread and frees. NULL is ignored. [main] */
void hn_outputs_finish(struct hn_outputs *o, struct hn_snapshot *final);

/* Checks the combination of options: one line in err and -1 when it
 * cannot work (a password without a user, a token and a user, InfluxDB
 * options without --influxdb). [any] */
int hn_outputs_check(const struct hn_outputs_config *cfg, char *err, size_t err_len);

/* One line for the page: the outputs cfg turns on ("InfluxDB
 * http://host:8086 (database hornet), 2 webhooks, 1 Slack webhook"),
 * without credentials or webhook paths; "" when none. [any] */
void hn_outputs_describe(const struct hn_outputs_config *cfg, char *buf, size_t n);

#endif
