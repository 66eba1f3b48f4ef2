/*
 * report_html.h: the self-contained HTML report. One file holds the page
 * (web/report.html, report.css, report.js), Chart.js and the run's data as
 * inline JSON, so it opens offline, prints, and can be mailed around.
 *
 * Threads: any; each call reads only what it is given (and the immutable
 * embedded assets).
 */
#ifndef HN_REPORT_HTML_H
#define HN_REPORT_HTML_H

#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "snapshot.h"

/* What the snapshot does not know, or the caller knows better. NULL
 * strings and zero times/durations fall back to the snapshot's values. */
struct hn_report_meta {
    const char *version;     /* hornet version */
    const char *plugin;      /* plugin path; NULL for --demo */
    const char *host;
    uint32_t users;          /* users asked for; 0 = the snapshot's target */
    double spawn_rate;       /* 0 = the snapshot's */
    double start_time, end_time, duration_s;  /* wall seconds / seconds */
    const char *stop_reason;
    const json_t *comparison; /* with a baseline run (compare.h), or NULL */
};

/* Charts get at most this many points per series: longer histories are
 * bucketed, keeping each bucket's maximum so peaks survive. */
#define HN_REPORT_MAX_POINTS 1000

/* A complete self-contained HTML document (malloc'ed, NUL-terminated) for
 * the snapshot and history; *len_out (if not NULL) gets its length. m may
 * be NULL. NULL when out of memory or when the embedded page is missing. */
char *hn_report_html(const struct hn_snapshot *s, const struct hn_history_point *h, size_t n,
                     const struct hn_report_meta *m, size_t *len_out);

/* Writes the document to path atomically (temporary file + rename),
 * creating parent directories. Returns 0, or -1 with a one-line err. */
int hn_report_html_write(const char *path, const struct hn_snapshot *s,
                         const struct hn_history_point *h, size_t n,
                         const struct hn_report_meta *m, char *err, size_t err_len);

#endif
