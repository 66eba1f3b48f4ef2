/*
 * capacity.h: the capacity search (--find-capacity). The load (users, or
 * the arrival rate in the open model) rises in steps; each step is held
 * and judged on its own figures against the thresholds (the service
 * level); the first step that breaks one ends the search. What it found:
 * the highest load that held, the step that broke and why, and the knee
 * (where throughput stopped growing with the load).
 *
 * This module keeps the steps and draws the conclusions; the runner
 * drives the load, gathers each step's statistics and judges them.
 *
 * Threads: a search belongs to the runner's control thread; views are
 * copies (snapshots).
 */
#ifndef HN_CAPACITY_H
#define HN_CAPACITY_H

#include <stdbool.h>
#include <stddef.h>

#include "snapshot.h" /* the plan, step and view types */

struct hn_capacity;

/* NULL when out of memory. The plan is checked by the caller. */
struct hn_capacity *hn_capacity_new(const struct hn_capacity_plan *plan);
void hn_capacity_free(struct hn_capacity *c);
/* The load of the step being run. */
double hn_capacity_load(const struct hn_capacity *c);
/* Records the step just held, judged in step (its own figures, thresholds
 * judged). Returns true when the search goes on at the next (higher)
 * load, false when it is over. */
bool hn_capacity_record(struct hn_capacity *c, const struct hn_snapshot *step);
/* Ends the search early (the run stopped); the outcome says what held. */
void hn_capacity_end(struct hn_capacity *c, const char *why);
/* A copy for a snapshot (malloc'ed; free with hn_capacity_view_free). */
struct hn_capacity_view *hn_capacity_view(const struct hn_capacity *c);
void hn_capacity_view_free(struct hn_capacity_view *v);

#endif
