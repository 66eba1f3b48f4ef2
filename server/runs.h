/*
 * runs.h: the runs of a dashboard session. Every run that ends is kept as
 * its JSON result (docs/json-result.md), with results uploaded from
 * earlier sessions, so the page can list them, download them, compare any
 * two and overlay one on the charts. At most HN_RUNS_KEPT are kept (the
 * oldest go first).
 *
 * Threads: the runner's tick callback stores (aggregator thread); the
 * other calls come from the HTTP thread; a lock guards the list.
 */
#ifndef HN_RUNS_H
#define HN_RUNS_H

#include <stddef.h>

#include <jansson.h>

#define HN_RUNS_KEPT 20
#define HN_RUNS_UPLOAD_MAX (32u << 20) /* bytes of an uploaded result */

struct hn_runner;
struct hn_runs;

/* Subscribes to the runner's ticks. Returns 0 or -1. [main] */
int hn_runs_start(struct hn_runs **out, struct hn_runner *r, const char *plugin,
                  const char *version);
/* Unsubscribes and frees. NULL is ignored. [main] */
void hn_runs_stop(struct hn_runs *rs);
/* [{id, source: "run"|"upload", label, start_time, duration_s, requests,
 * failures, fail_ratio, rps, p95_ms, stop_reason}], newest first. */
json_t *hn_runs_list(struct hn_runs *rs);
/* The result of run id (a new reference), or NULL. */
json_t *hn_runs_get(struct hn_runs *rs, long id);
/* Keeps an uploaded result (checked: hn_result_check). Its id, or -1 with
 * err. */
long hn_runs_add(struct hn_runs *rs, json_t *doc, const char *label, char *err, size_t err_len);

#endif
