/*
 * feeder.h: the plugin's data feeders (struct hn_feeder in hornet.h): CSV
 * files read once before the run (libcsv: quoted fields, embedded commas
 * and line breaks, a header row naming the columns) and handed out row by
 * row to users, in order, once each, or at random.
 *
 * Threads: hn_feeders_load and hn_feeders_free on the main thread before
 * and after the run; the rest from any worker thread (tables are immutable,
 * the shared cursors atomic).
 */
#ifndef HN_FEEDER_H
#define HN_FEEDER_H

#include <stdatomic.h>
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
void hn_feeders_free(struct hn_feeders *f);

/* The feeder of that name, or NULL. [any] */
struct hn_feed_table *hn_feeders_find(const struct hn_feeders *f, const char *name);
/* Index into f->tables. [any] */
size_t hn_feeders_index(const struct hn_feeders *f, const struct hn_feed_table *t);
/* The column's index, or -1. [any] */
long hn_feed_column(const struct hn_feed_table *t, const char *column);

#endif
