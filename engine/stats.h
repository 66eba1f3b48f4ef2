/*
 * stats.h: request statistics tables.
 *
 * A struct hn_stats holds one entry per (type, name) (type is the HTTP
 * method or a custom protocol name), the failures table keyed by
 * (type, name, message) and the exceptions table keyed by
 * (user type, task, message). Worker threads record into their own shard;
 * the aggregator merges shards into a cumulative table once per second.
 * Entries, errors and exceptions live in arrays in insertion order, with a
 * hash index for lookup; iterate them with the n_* counts.
 *
 * Threads: a table has one owner at a time; nothing here locks.
 */
#ifndef HN_STATS_H
#define HN_STATS_H

#include <stddef.h>
#include <stdint.h>

#include "hist.h"

struct hn_stats_entry {
    char *type;
    char *name;
    uint64_t requests;       /* including failures */
    uint64_t failures;
    uint64_t bytes;          /* response bytes, summed */
    struct hn_hist hist;     /* response times of every request (us) */
    double first_ts;         /* wall seconds of the first request */
    double last_ts;          /* wall seconds of the last request */
    uint32_t index;          /* its position in the table's entries */
};

struct hn_stats_error {
    char *type;
    char *name;
    char *message;
    uint64_t count;
    double first_seen;       /* wall seconds */
    double last_seen;
};

struct hn_stats_exception {
    char *user_type;
    char *task;
    char *message;
    uint64_t count;
    double first_seen;
    double last_seen;
};

struct hn_stats_index {      /* open addressing: slot -> array index + 1, 0 = empty */
    uint32_t *slots;
    size_t cap;              /* power of two */
};

struct hn_stats {
    struct hn_stats_entry **entries;
    size_t n_entries, cap_entries;
    struct hn_stats_index entry_index;

    struct hn_stats_error **errors;
    size_t n_errors, cap_errors;
    struct hn_stats_index error_index;

    struct hn_stats_exception **exceptions;
    size_t n_exceptions, cap_exceptions;
    struct hn_stats_index exception_index;

    /* The open model (--arrival-rate): how late each iteration started
     * after its intended start (us), one value per iteration started, so
     * its count is the iterations started; and the iterations dropped
     * (no idle user and the pool full). */
    struct hn_hist start_lag;
    uint64_t dropped_iterations;
};

void hn_stats_init(struct hn_stats *s);
void hn_stats_cleanup(struct hn_stats *s);
/* Empties every table (frees entries). */
void hn_stats_reset(struct hn_stats *s);
/* True when nothing was recorded. */
int hn_stats_empty(const struct hn_stats *s);

/* Records one request. error NULL = success, otherwise it is also counted
 * in the failures table. ts is wall seconds. */
void hn_stats_record(struct hn_stats *s, const char *type, const char *name, uint64_t elapsed_us,
                     uint64_t bytes, const char *error, double ts);
/* Records how late an iteration of the open model started (us). */
void hn_stats_start_lag(struct hn_stats *s, uint64_t lag_us);
/* Counts iterations of the open model that were dropped. */
void hn_stats_dropped(struct hn_stats *s, uint64_t n);
/* Records one exception raised by user code. */
void hn_stats_exception(struct hn_stats *s, const char *user_type, const char *task,
                        const char *message, double ts);
/* Adds everything in src into dst (counts summed, histograms merged,
 * first/last seen widened). */
void hn_stats_merge(struct hn_stats *dst, const struct hn_stats *src);
/* Get-or-create by key (new rows are zeroed, histogram empty); used to
 * rebuild tables received from distributed workers. */
struct hn_stats_entry *hn_stats_entry_get(struct hn_stats *s, const char *type, const char *name);
struct hn_stats_error *hn_stats_error_get(struct hn_stats *s, const char *type, const char *name,
                                          const char *message);
struct hn_stats_exception *hn_stats_exception_get(struct hn_stats *s, const char *user_type,
                                                  const char *task, const char *message);
/* Lookup; NULL when absent. */
struct hn_stats_entry *hn_stats_find(const struct hn_stats *s, const char *type, const char *name);
/* Aggregate of every entry into out (an initialised, empty entry whose
 * type/name stay NULL): counts, bytes, merged histogram, first/last. */
void hn_stats_total(const struct hn_stats *s, struct hn_stats_entry *out);
/* Frees an entry's contents (not the struct itself). */
void hn_stats_entry_cleanup(struct hn_stats_entry *e);

#endif
