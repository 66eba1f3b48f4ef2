/*
 * influx.h: a run's snapshots as InfluxDB line protocol.
 *
 * Each rendered snapshot gives one point per entry (measurement
 * hornet_requests, tags method and name; fields requests, failures,
 * requests_total, failures_total, rps, fail_per_s, avg_ms, p50_ms, p95_ms,
 * p99_ms, max_ms) and one for the run (hornet_run: user_count,
 * target_user_count, requests_total, failures_total, rps, fail_per_s,
 * current_p50_ms, current_p95_ms, current_p99_ms, state).
 * The requests and failures fields count what happened since the previous
 * point, so a query's sum() is the run's total; the *_total fields carry
 * the running totals, so a lost point loses no total either.
 *
 * Threads: an hn_influx has one owner.
 */
#ifndef HN_INFLUX_H
#define HN_INFLUX_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

struct hn_snapshot;
struct hn_influx;

struct hn_influx *hn_influx_new(void);
/* Whether snap is due: a run is on, or it just stopped and its last
 * numbers are not written yet. */
bool hn_influx_due(const struct hn_influx *x, const struct hn_snapshot *snap);
/* Writes snap's points to f (when due) and returns how many; the next
 * call counts from snap (a new run, or a reset, starts from zero). */
size_t hn_influx_render(struct hn_influx *x, struct hn_snapshot *snap, FILE *f);
void hn_influx_free(struct hn_influx *x);

#endif
