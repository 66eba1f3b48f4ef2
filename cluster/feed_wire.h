/*
 * feed_wire.h: the plugin's feeder tables as JSON, for distributed mode.
 * The master has read and checked the CSV files; it sends their columns and
 * rows with its welcome, so a worker needs none of the files:
 *
 *   [{"name", "path", "mode", "flags", "columns": [names], "rows": [[fields], ...]}, ...]
 *
 * in the order of the plugin's feeders. The master's mode and flags rule:
 * it hands the rows out.
 *
 * Threads: any (no state).
 */
#ifndef HN_FEED_WIRE_H
#define HN_FEED_WIRE_H

#include <stddef.h>

#include <jansson.h>

#include "feeder.h"

struct hn_plugin;

/* Encodes f; NULL on out of memory. */
json_t *hn_feed_wire_encode(const struct hn_feeders *f);
/* Builds the worker's tables from j for plugin p (the master's plugin:
 * same feeder names, same order), with ONCE and CYCLE tables leased.
 * Checks everything first. Returns 0 (*out NULL when p has no feeders),
 * or -1 with a one-line reason in err. */
int hn_feed_wire_decode(const json_t *j, const struct hn_plugin *p, struct hn_feeders **out,
                        char *err, size_t err_len);

#endif
