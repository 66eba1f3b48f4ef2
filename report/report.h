/*
 * report.h: text outputs built from snapshots: Locust-compatible CSV
 * files (csv.c), the console table and final summary (console.c), and the
 * JSON documents (json.c). The HTML report is report_html.h.
 *
 * Threads: any; each call reads only the snapshot it is given.
 */
#ifndef HN_REPORT_H
#define HN_REPORT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

#include <jansson.h>

#include "snapshot.h"

/* Exact Locust header rows (without the trailing newline). */
extern const char hn_csv_stats_header[];
extern const char hn_csv_history_header[];
extern const char hn_csv_failures_header[];
extern const char hn_csv_exceptions_header[];
extern const char hn_csv_open_header[];

/* PREFIX_stats.csv: header, one row per entry, then Aggregated. */
int hn_csv_write_stats(FILE *f, const struct hn_snapshot *s);
/* PREFIX_failures.csv */
int hn_csv_write_failures(FILE *f, const struct hn_snapshot *s);
/* PREFIX_exceptions.csv */
int hn_csv_write_exceptions(FILE *f, const struct hn_snapshot *s);
/* PREFIX_stats_history.csv rows for one tick: the Aggregated row, and one
 * row per entry first when full is true. The caller writes the header. */
int hn_csv_write_history_rows(FILE *f, const struct hn_snapshot *s, bool full);
/* PREFIX_open_model.csv (an open-model run only): the rate asked and
 * achieved, iterations started and dropped, the start lag (ms, with
 * fractions: it is often below one). */
int hn_csv_write_open(FILE *f, const struct hn_snapshot *s);
/* Writes PREFIX_{stats,failures,exceptions}.csv, and PREFIX_open_model.csv
 * for an open-model run (not the history, which is appended live). Returns 0 or -1 with err set. */
int hn_csv_write_files(const char *prefix, const struct hn_snapshot *s, char *err, size_t err_len);

/* Periodic console table (Locust's print_stats). */
void hn_console_table(FILE *f, const struct hn_snapshot *s);
/* Final summary: table, percentile table, error report, exceptions. */
void hn_console_summary(FILE *f, const struct hn_snapshot *s);

/* The snapshot as JSON (what /api/stats and the live push send). New reference. */
json_t *hn_snapshot_to_json(const struct hn_snapshot *s);
/* The history as a JSON array. New reference. */
json_t *hn_history_to_json(const struct hn_history_point *h, size_t n);
/* The full result document ("hornet-result", version 1): metadata, entries
 * with percentiles, failures, exceptions, ratios, history. New reference. */
json_t *hn_result_to_json(const struct hn_snapshot *s, const struct hn_history_point *h, size_t n,
                          const char *plugin_path, const char *version);

/* The thresholds judged in s: [{expr, metric, unit, value, verdict, abort}].
 * New reference. */
json_t *hn_thresholds_to_json(const struct hn_snapshot *s);

/* True when every threshold of the snapshot passed (also when there are
 * none). Judged on the run's final snapshot, it is the release gate. */
bool hn_thresholds_passed(const struct hn_snapshot *s);

/* JUnit XML (the format Jenkins' junit step and GitLab's junit report
 * read) in a "hornet" testsuite: one testcase per threshold (named by its
 * expression, a failure with the measured value when broken) and one per
 * endpoint with failures (a failure with counts and messages). Written
 * atomically. Returns 0 or -1 with err set. [any] */
int hn_junit_write(const char *path, const struct hn_snapshot *s, char *err, size_t err_len);
/* The same document into f. */
int hn_junit_fwrite(FILE *f, const struct hn_snapshot *s);

/* The snapshot in Prometheus' text exposition format (GET /metrics):
 * per entry hornet_requests_total, hornet_failures_total and the
 * hornet_response_time_seconds histogram (the snapshot's bounds), the
 * Failures table as hornet_errors_total, and the run's gauges. */
int hn_prometheus_write(FILE *f, const struct hn_snapshot *s);
/* Its Content-Type. */
extern const char hn_prometheus_content_type[];

#endif
