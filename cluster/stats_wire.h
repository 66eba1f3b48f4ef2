/*
 * stats_wire.h: statistics tables as JSON, for distributed mode. A worker
 * ships each second's delta (entries with their full histogram buckets,
 * failures, exceptions); the master rebuilds and merges it, so the
 * master's percentiles are exactly those of one process that recorded
 * every request.
 *
 * Threads: any (no state); a table has one owner at a time.
 */
#ifndef HN_STATS_WIRE_H
#define HN_STATS_WIRE_H

#include <stddef.h>

#include <jansson.h>

#include "stats.h"

/* Encodes s; NULL on out of memory. */
json_t *hn_stats_wire_encode(const struct hn_stats *s);
/* Validates j completely and only then merges it into dst (all or
 * nothing). Returns 0, or -1 with a one-line reason in err. */
int hn_stats_wire_merge(struct hn_stats *dst, const json_t *j, char *err, size_t err_len);

#endif
