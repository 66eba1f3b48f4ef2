/*
 * feeder.h: the plugin's data feeders (struct hn_feeder in hornet.h): CSV
 * files read once before the run (libcsv: quoted fields, embedded commas
 * and line breaks, a header row naming the columns) and handed out row by
 * row to users, in order, once each, or at random.
 *
 * On a distributed worker the tables come from the master (feed_wire.h)
 * and ONCE and CYCLE rows are leased: the master keeps the one cursor of
 * the cluster and hands each worker ranges of row numbers, which its users
 * take in order.
 *
 * Threads: hn_feeders_load, hn_feeders_new and hn_feeders_free between
 * runs (main, or a plugin reload's thread); hn_feed_take from any worker thread
 * (tables are immutable, the cursor atomic, the leases locked); the lease
 * calls on the thread that talks to the master.
 */
#ifndef HN_FEEDER_H
#define HN_FEEDER_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct hn_plugin;

struct hn_feed_table {
    char *name;
    char *path;                /* the file read */
    int mode;                  /* enum hn_feed_mode */
    unsigned flags;            /* HN_FEED_* */
    size_t n_columns;
    char **columns;            /* the header row */
    size_t n_rows;
    char ***rows;              /* rows[i][column] */
    _Atomic uint64_t cursor;   /* CYCLE and ONCE: rows handed out so far */

    /* Leased (a distributed worker's ONCE and CYCLE tables). */
    bool leased;
    pthread_mutex_t lease_lock;
    uint64_t *lease_from, *lease_count; /* FIFO of ranges [from, from + count) */
    size_t lease_head, lease_n, lease_cap;
    uint64_t lease_left;       /* rows leased and not taken yet */
    bool drained;              /* the master has no more (ONCE) */
    _Atomic uint64_t taken;    /* rows taken here so far: the refill pace */
};

struct hn_feeders {
    size_t n;
    struct hn_feed_table *tables;
};

/* Reads every feeder the plugin declares, a "NAME=PATH" of overrides (NULL-
 * terminated, may be NULL) replacing a declared path. NULL *out when the
 * plugin has none. Returns 0, or -1 with one line in err naming the file
 * and line ("users.csv:7: 3 fields, the header has 2 (email, password)").
 * [main] */
int hn_feeders_load(const struct hn_plugin *p, const char *const *overrides,
                    struct hn_feeders **out, char *err, size_t err_len);
/* Parses one CSV file into t (name and mode set by the caller). Returns 0
 * or -1 with err as above. [main] */
int hn_feed_table_read(struct hn_feed_table *t, const char *path, char *err, size_t err_len);
/* n empty tables (for a worker to fill from the master's); NULL on OOM. */
struct hn_feeders *hn_feeders_new(size_t n);
void hn_feeders_free(struct hn_feeders *f);

enum hn_feed_got {
    HN_FEED_GOT_ROW,           /* *row is set */
    HN_FEED_GOT_WAIT,          /* leased: none here yet, more are on their way */
    HN_FEED_GOT_NONE           /* ONCE: every row has been handed out */
};
/* The next row for a user; rnd is its own random draw (RANDOM). [any] */
enum hn_feed_got hn_feed_take(struct hn_feed_table *t, uint64_t rnd, size_t *row);

/* Leases [the master's thread on a worker]: adds rows [from, from + count),
 * or with count 0 says the master has no more. */
void hn_feed_lease_add(struct hn_feed_table *t, uint64_t from, uint64_t count);
/* Rows leased and not taken yet; *drained as hn_feed_lease_add said. */
uint64_t hn_feed_lease_left(struct hn_feed_table *t, bool *drained);
/* Drops every lease (another master: its cursor starts again). */
void hn_feed_lease_reset(struct hn_feed_table *t);

/* The feeder of that name, or NULL. [any] */
struct hn_feed_table *hn_feeders_find(const struct hn_feeders *f, const char *name);
/* Index into f->tables. [any] */
size_t hn_feeders_index(const struct hn_feeders *f, const struct hn_feed_table *t);
/* The column's index, or -1. [any] */
long hn_feed_column(const struct hn_feed_table *t, const char *column);

#endif
