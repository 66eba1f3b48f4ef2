/*
 * entry_history.h: each entry's own history, for the drill-down: its
 * requests/s, failures/s and p50/p95/p99 (the 10 s window) once a second,
 * over the whole run. Memory stays bounded: at most
 * HN_ENTRY_HISTORY_POINTS points per entry (when full, every other point
 * after the first goes and the resolution halves) and
 * HN_ENTRY_HISTORY_ENTRIES entries (later ones have none), as floats.
 *
 * Threads: one writer and its readers, serialised by the owner (the
 * runner's aggregator writes; readers go through the runner).
 */
#ifndef HN_ENTRY_HISTORY_H
#define HN_ENTRY_HISTORY_H

#include <stddef.h>

#define HN_ENTRY_HISTORY_POINTS 300
#define HN_ENTRY_HISTORY_ENTRIES 10000

struct hn_snapshot;

struct hn_entry_point {
    double time;                      /* wall seconds */
    float rps, fail_s, p50_ms, p95_ms, p99_ms;
};

struct hn_entry_history;

struct hn_entry_history *hn_entry_history_new(void);
void hn_entry_history_free(struct hn_entry_history *h);
/* Forgets everything (a new run, or statistics reset). */
void hn_entry_history_clear(struct hn_entry_history *h);
/* Appends one point for every entry of s; index_of maps an entry of s to
 * its stable position (the statistics table's), or -1 to skip it. */
void hn_entry_history_add(struct hn_entry_history *h, const struct hn_snapshot *s,
                          long (*index_of)(void *ud, const char *type, const char *name),
                          void *ud);
/* A copy of entry index's points (malloc'ed, *n of them), or NULL. */
struct hn_entry_point *hn_entry_history_get(const struct hn_entry_history *h, long index,
                                            size_t *n);

#endif
