/*
 * capacity.c: the capacity search's steps and conclusions (capacity.h).
 */
#include "capacity.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "snapshot.h"

/* The knee: the first step whose throughput grew by less than half as
 * much (relatively) as its load did; the load before it is the knee. */
#define KNEE_EFFICIENCY 0.5

struct hn_capacity {
    struct hn_capacity_plan plan;
    double load;
    struct hn_capacity_step *steps;
    size_t n, cap;
    bool done;
    char *outcome;
};

struct hn_capacity *hn_capacity_new(const struct hn_capacity_plan *plan)
{
    struct hn_capacity *c = calloc(1, sizeof *c);
    if (c == NULL)
        return NULL;
    c->plan = *plan;
    c->load = plan->start;
    return c;
}

void hn_capacity_free(struct hn_capacity *c)
{
    if (c == NULL)
        return;
    for (size_t i = 0; i < c->n; i++)
        free(c->steps[i].broken);
    free(c->steps);
    free(c->outcome);
    free(c);
}

double hn_capacity_load(const struct hn_capacity *c)
{
    return c->load;
}

static const char *unit_of(const struct hn_capacity *c, double load)
{
    return c->plan.open ? "iterations/s" : load == 1 ? "user" : "users";
}

static double held_load(const struct hn_capacity *c)
{
    double held = 0;
    for (size_t i = 0; i < c->n && c->steps[i].held; i++)
        held = c->steps[i].load;
    return held;
}

static double knee_load(const struct hn_capacity *c)
{
    for (size_t i = 1; i < c->n; i++) {
        const struct hn_capacity_step *a = &c->steps[i - 1], *b = &c->steps[i];
        if (a->rps <= 0 || a->load <= 0)
            continue;
        double load_growth = b->load / a->load - 1, rps_growth = b->rps / a->rps - 1;
        if (rps_growth < KNEE_EFFICIENCY * load_growth)
            return a->load;
    }
    return 0;
}

static void set_outcome(struct hn_capacity *c, const char *fmt_tail)
{
    char held[96] = "no step held", knee[128] = "";
    double h = held_load(c), k = knee_load(c);
    if (h > 0)
        snprintf(held, sizeof held, "%g %s held", h, unit_of(c, h));
    if (k > 0) {
        for (size_t i = 0; i < c->n; i++)
            if (c->steps[i].load == k)
                snprintf(knee, sizeof knee, "; the knee at %g %s (%.1f req/s)", k, unit_of(c, k),
                         c->steps[i].rps);
    }
    char *text = NULL;
    if (asprintf(&text, "capacity: %s%s%s", held, fmt_tail, knee) < 0)
        text = NULL;
    free(c->outcome);
    c->outcome = text;
    c->done = true;
}

/* A threshold's measured value as people read it. */
static const char *measured(const struct hn_threshold_view *t, char *buf, size_t n)
{
    if (strcmp(t->unit, "ms") == 0)
        snprintf(buf, n, "%.1f ms", t->value);
    else if (strcmp(t->unit, "ratio") == 0)
        snprintf(buf, n, "%.2f%%", t->value * 100);
    else if (strcmp(t->unit, "rps") == 0)
        snprintf(buf, n, "%.1f req/s", t->value);
    else
        snprintf(buf, n, "%.0f", t->value);
    return buf;
}

bool hn_capacity_record(struct hn_capacity *c, const struct hn_snapshot *s)
{
    if (c->done)
        return false;
    if (c->n == c->cap) {
        size_t cap = c->cap ? c->cap * 2 : 16;
        struct hn_capacity_step *st = realloc(c->steps, cap * sizeof *st);
        if (st == NULL)
            return false;
        c->steps = st;
        c->cap = cap;
    }
    struct hn_capacity_step *st = &c->steps[c->n++];
    *st = (struct hn_capacity_step){
        .load = c->load,
        .rps = s->total.total_rps,
        .p50_ms = s->total.pct_ms[0],
        .p95_ms = s->total.pct_ms[5],
        .p99_ms = s->total.pct_ms[7],
        .fail_ratio =
            s->total.requests ? (double)s->total.failures / (double)s->total.requests : 0,
        .held = true,
    };
    /* Broken (or unmeasurable: no request in a whole step is no service). */
    char broken[512] = "", value[48];
    for (size_t i = 0; i < s->n_thresholds; i++) {
        const struct hn_threshold_view *t = &s->thresholds[i];
        if (t->verdict == HN_VERDICT_PASS)
            continue;
        st->held = false;
        size_t len = strlen(broken);
        if (len < sizeof broken - 100) {
            if (t->measured)
                snprintf(broken + len, sizeof broken - len, "%s%s (%s)", len ? ", " : "", t->expr,
                         measured(t, value, sizeof value));
            else
                snprintf(broken + len, sizeof broken - len, "%s%s (no data)", len ? ", " : "",
                         t->expr);
        }
    }
    if (!st->held) {
        st->broken = strdup(broken);
        char tail[700];
        snprintf(tail, sizeof tail, "; %g %s broke %s", st->load, unit_of(c, st->load), broken);
        set_outcome(c, tail);
        return false;
    }
    double next = c->load + c->plan.step;
    if (next > c->plan.max) {
        char tail[160];
        snprintf(tail, sizeof tail, "; no threshold broke up to the maximum, %g %s", c->load,
                 unit_of(c, c->load));
        set_outcome(c, tail);
        return false;
    }
    c->load = next;
    return true;
}

void hn_capacity_end(struct hn_capacity *c, const char *why)
{
    if (c->done)
        return;
    char tail[300];
    snprintf(tail, sizeof tail, " (the search ended before a step broke: %s)",
             why ? why : "stopped");
    set_outcome(c, tail);
}

struct hn_capacity_view *hn_capacity_view(const struct hn_capacity *c)
{
    struct hn_capacity_view *v = calloc(1, sizeof *v);
    if (v == NULL)
        return NULL;
    v->plan = c->plan;
    v->steps = calloc(c->n ? c->n : 1, sizeof *v->steps);
    if (v->steps == NULL) {
        free(v);
        return NULL;
    }
    v->n_steps = c->n;
    for (size_t i = 0; i < c->n; i++) {
        v->steps[i] = c->steps[i];
        v->steps[i].broken = c->steps[i].broken ? strdup(c->steps[i].broken) : NULL;
    }
    v->held = held_load(c);
    v->knee = knee_load(c);
    v->done = c->done;
    v->outcome = c->outcome ? strdup(c->outcome) : NULL;
    return v;
}

void hn_capacity_view_free(struct hn_capacity_view *v)
{
    if (v == NULL)
        return;
    for (size_t i = 0; i < v->n_steps; i++)
        free(v->steps[i].broken);
    free(v->steps);
    free(v->outcome);
    free(v);
}
