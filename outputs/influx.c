/*
 * influx.c: snapshots as InfluxDB line protocol (influx.h).
 *
 * Counts per interval come from a walk over the previous snapshot and this
 * one: both hold their entries sorted by (name, type), so a merge finds
 * each entry's previous totals without a map or a copy.
 */
#include "influx.h"

#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "format.h"
#include "snapshot.h"
#include "textutil.h"

struct hn_influx {
    struct hn_snapshot *prev; /* the last snapshot rendered (a reference), or NULL */
    int64_t last_ms;          /* the last timestamp written: each point gets a later one */
};

struct hn_influx *hn_influx_new(void)
{
    return calloc(1, sizeof(struct hn_influx));
}

void hn_influx_free(struct hn_influx *x)
{
    if (x == NULL)
        return;
    hn_snapshot_release(x->prev);
    free(x);
}

static bool active(enum hn_state s)
{
    return s == HN_STATE_SPAWNING || s == HN_STATE_RUNNING || s == HN_STATE_PAUSED ||
           s == HN_STATE_STOPPING;
}

bool hn_influx_due(const struct hn_influx *x, const struct hn_snapshot *snap)
{
    if (snap == NULL || snap->start_time <= 0)
        return false;
    if (active(snap->state))
        return true;
    /* Stopped: once, for the numbers of the run's last second. */
    return x->prev == NULL || x->prev->start_time != snap->start_time ||
           active(x->prev->state);
}

/* A tag value: commas, equals signs and blanks escaped, a line break
 * written as the two characters \n (the protocol has no way to carry one),
 * bytes that are not UTF-8 as U+FFFD. A backslash is kept, except where the
 * server would read it as an escape and refuse the line (at the end, or
 * before what is escaped: InfluxDB 1.x has no way to write those): there
 * it becomes U+FF3C, the fullwidth reverse solidus. */
static void put_tag(FILE *f, const char *s)
{
    const unsigned char *p = (const unsigned char *)s;
    while (*p) {
        size_t n = hn_utf8_seq(p);
        if (n == 0) {
            fputs("\xEF\xBF\xBD", f);
            p++;
            continue;
        }
        switch (*p) {
        case ',':
        case '=':
        case ' ':
            fputc('\\', f);
            fputc(*p, f);
            break;
        case '\n':
            fputs("\\n", f);
            break;
        case '\r':
            fputs("\\r", f);
            break;
        case '\\':
            fputs(p[1] == '\0' || strchr(",= ", p[1]) ? "\xEF\xBC\xBC" : "\\", f);
            break;
        default:
            fwrite(p, 1, n, f);
        }
        p += n;
    }
}

static void put_real(FILE *f, const char *key, double v)
{
    char text[40];
    hn_fmt_real(text, sizeof(text), hn_finite_or_zero(v));
    fprintf(f, ",%s=%s", key, text);
}

static int cmp_entry(const struct hn_entry_view *a, const struct hn_entry_view *b)
{
    int c = strcmp(a->name, b->name);
    return c ? c : strcmp(a->type, b->type);
}

/* Counts since the previous point; a count below the previous one means
 * the statistics were reset (and the total did not show it), and it all
 * happened since. */
static uint64_t since(uint64_t now, uint64_t before)
{
    return now >= before ? now - before : now;
}

static void entry_point(FILE *f, const struct hn_entry_view *e, const struct hn_entry_view *before,
                        int64_t ms)
{
    fputs("hornet_requests", f);
    if (*e->type) {
        fputs(",method=", f);
        put_tag(f, e->type);
    }
    if (*e->name) {
        fputs(",name=", f);
        put_tag(f, e->name);
    }
    fprintf(f, " requests=%llui,failures=%llui,requests_total=%llui,failures_total=%llui",
            (unsigned long long)since(e->requests, before ? before->requests : 0),
            (unsigned long long)since(e->failures, before ? before->failures : 0),
            (unsigned long long)e->requests, (unsigned long long)e->failures);
    put_real(f, "rps", e->current_rps);
    put_real(f, "fail_per_s", e->current_fail_s);
    put_real(f, "avg_ms", e->avg_ms);
    put_real(f, "p50_ms", e->pct_ms[0]);  /* hn_report_quantiles: 0.50 */
    put_real(f, "p95_ms", e->pct_ms[5]);  /* 0.95 */
    put_real(f, "p99_ms", e->pct_ms[7]);  /* 0.99 */
    put_real(f, "max_ms", e->max_ms);
    fprintf(f, " %lld\n", (long long)ms);
}

static void run_point(FILE *f, const struct hn_snapshot *s, int64_t ms)
{
    fprintf(f, "hornet_run user_count=%llui,target_user_count=%llui,requests_total=%llui,"
               "failures_total=%llui",
            (unsigned long long)s->users, (unsigned long long)s->target_users,
            (unsigned long long)s->total.requests, (unsigned long long)s->total.failures);
    put_real(f, "rps", s->total.current_rps);
    put_real(f, "fail_per_s", s->total.current_fail_s);
    put_real(f, "current_p50_ms", s->total.cur_p50_ms);
    put_real(f, "current_p95_ms", s->total.cur_p95_ms);
    put_real(f, "current_p99_ms", s->total.cur_p99_ms);
    fprintf(f, ",state=\"%s\" %lld\n", hn_state_name(s->state), (long long)ms);
}

size_t hn_influx_render(struct hn_influx *x, struct hn_snapshot *snap, FILE *f)
{
    if (!hn_influx_due(x, snap))
        return 0;
    /* A new run counts from zero, and so does a reset of the statistics
     * (the total went down: every count is new since). */
    const struct hn_snapshot *prev = x->prev != NULL &&
                                             x->prev->start_time == snap->start_time &&
                                             snap->total.requests >= x->prev->total.requests
                                         ? x->prev
                                         : NULL;
    int64_t ms = (int64_t)llround(snap->now * 1000.0);
    if (ms <= x->last_ms)
        ms = x->last_ms + 1; /* one timestamp per point and series: a later one never overwrites */
    x->last_ms = ms;

    locale_t old = hn_enter_c_locale();
    size_t j = 0, n_prev = prev ? prev->n_entries : 0;
    for (size_t i = 0; i < snap->n_entries; i++) {
        const struct hn_entry_view *e = &snap->entries[i];
        while (j < n_prev && cmp_entry(&prev->entries[j], e) < 0)
            j++;
        const struct hn_entry_view *before =
            j < n_prev && cmp_entry(&prev->entries[j], e) == 0 ? &prev->entries[j] : NULL;
        entry_point(f, e, before, ms);
    }
    run_point(f, snap, ms);
    hn_leave_c_locale(old);

    hn_snapshot_release(x->prev);
    x->prev = hn_snapshot_ref(snap);
    return snap->n_entries + 1;
}
