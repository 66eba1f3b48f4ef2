/*
 * compare.h: two runs side by side. Reads two JSON results (the
 * "hornet-result" document, docs/json-result.md) and says, per entry and
 * for the Aggregated row, how requests/s, p50, p95, p99 and the failure
 * ratio changed, each better, worse or the same against a tolerance, and a
 * verdict for the whole: worse when anything got worse beyond it.
 *
 * The comparison is itself a JSON object, so the console, the JSON result
 * and the HTML report show the same one:
 *   {"tolerance": 0.1, "verdict": "worse"|"better"|"same", "worse": n,
 *    "better": n, "baseline": {"start_time", "host", "duration_s"},
 *    "rows": [{"type", "name", "metric", "base", "new", "change", "verdict"}],
 *    "only_in_base": [{"type", "name"}], "only_in_new": [...]}
 * metric is "rps", "p50", "p95", "p99" or "fail_ratio"; change is relative
 * ((new - base) / base), null when base is 0.
 *
 * Threads: any (no state).
 */
#ifndef HN_COMPARE_H
#define HN_COMPARE_H

#include <stddef.h>
#include <stdio.h>

#include <jansson.h>

/* Loads path and checks that it is a hornet JSON result. NULL with a
 * one-line reason in err otherwise. */
json_t *hn_result_load(const char *path, char *err, size_t err_len);
/* Checks that doc is a hornet JSON result. 0, or -1 with the reason. */
int hn_result_check(const json_t *doc, char *err, size_t err_len);

/* Compares cur with base (both checked results); tolerance is a fraction
 * (0.1 = 10 %). A new reference, NULL when out of memory. */
json_t *hn_compare_results(const json_t *base, const json_t *cur, double tolerance);

/* Prints a comparison for a terminal: the verdict, every Aggregated
 * figure, and the entries' figures that changed beyond the tolerance. */
void hn_console_comparison(FILE *f, const json_t *cmp);

/* Parses "10%" or "0.1" (a fraction) into *out, from 0 to 10 (1000 %).
 * Returns 0 or -1. */
int hn_parse_tolerance(const char *text, double *out);

#endif
