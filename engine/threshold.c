/*
 * threshold.c: parsing threshold expressions and judging them against a
 * snapshot (grammar in threshold.h).
 */
#include "threshold.h"

#include <ctype.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "errbuf.h"
#include "snapshot.h"
#include "units.h"

#define SHOWN_MAX 60 /* longest part of an expression echoed in a message */

static const char *const pct_names[HN_NPCT] = {"p50", "p66", "p75",    "p80",     "p90", "p95",
                                               "p98", "p99", "p99.9", "p99.99", "p100"};

static const char metric_list[] =
    "p50, p66, p75, p80, p90, p95, p98, p99, p99.9, p99.99, p100, avg, min, max, rps, "
    "fail_ratio, failures, requests, dropped_iterations";

static const struct {
    const char *name;
    enum hn_metric metric;
} named_metrics[] = {
    {"avg", HN_METRIC_AVG},
    {"min", HN_METRIC_MIN},
    {"max", HN_METRIC_MAX},
    {"rps", HN_METRIC_RPS},
    {"fail_ratio", HN_METRIC_FAIL_RATIO},
    {"failures", HN_METRIC_FAILURES},
    {"requests", HN_METRIC_REQUESTS},
    {"dropped_iterations", HN_METRIC_DROPPED},
};

static bool is_time(enum hn_metric m)
{
    return m == HN_METRIC_PCT || m == HN_METRIC_AVG || m == HN_METRIC_MIN || m == HN_METRIC_MAX;
}

static char *dup_range(const char *s, size_t n)
{
    char *d = malloc(n + 1);
    if (d != NULL) {
        memcpy(d, s, n);
        d[n] = '\0';
    }
    return d;
}

/* s without leading and trailing blanks, as [*start, *start + *len). */
static void trim(const char *s, size_t n, const char **start, size_t *len)
{
    while (n > 0 && isspace((unsigned char)*s)) {
        s++;
        n--;
    }
    while (n > 0 && isspace((unsigned char)s[n - 1]))
        n--;
    *start = s;
    *len = n;
}

static int parse_value(struct hn_threshold *t, const char *v, char *err, size_t err_len)
{
    const char *p = v;
    double x;
    if (hn_scan_decimal(&p, &x) < 0 || !isfinite(x)) {
        hn_set_err(err, err_len, "'%.*s': expected a number after the operator", SHOWN_MAX, v);
        return -1;
    }
    if (is_time(t->metric)) {
        if (strcmp(p, "ms") == 0 || *p == '\0') {
            t->limit = x;
        } else if (strcmp(p, "s") == 0) {
            t->limit = x * 1000.0;
        } else {
            hn_set_err(err, err_len, "'%.*s': %s is a time: expected a number with ms or s",
                       SHOWN_MAX, v, t->metric_name);
            return -1;
        }
    } else if (t->metric == HN_METRIC_FAIL_RATIO) {
        if (strcmp(p, "%") == 0)
            x /= 100.0;
        else if (*p != '\0') {
            hn_set_err(err, err_len,
                       "'%.*s': fail_ratio expects a fraction (0.01) or a percentage (1%%)",
                       SHOWN_MAX, v);
            return -1;
        }
        if (x > 1.0) {
            hn_set_err(err, err_len, "'%.*s': fail_ratio is at most 100%%", SHOWN_MAX, v);
            return -1;
        }
        t->limit = x;
    } else {
        if (*p != '\0') {
            hn_set_err(err, err_len, "'%.*s': %s expects a plain number", SHOWN_MAX, v,
                       t->metric_name);
            return -1;
        }
        t->limit = x;
    }
    return 0;
}

static int parse_metric(struct hn_threshold *t, const char *m, size_t n, char *err,
                        size_t err_len)
{
    for (int i = 0; i < HN_NPCT; i++)
        if (strlen(pct_names[i]) == n && strncmp(m, pct_names[i], n) == 0) {
            t->metric = HN_METRIC_PCT;
            t->pct_index = i;
            t->metric_name = dup_range(m, n);
            return t->metric_name ? 0 : -1;
        }
    for (size_t i = 0; i < sizeof named_metrics / sizeof named_metrics[0]; i++)
        if (strlen(named_metrics[i].name) == n && strncmp(m, named_metrics[i].name, n) == 0) {
            t->metric = named_metrics[i].metric;
            t->metric_name = dup_range(m, n);
            return t->metric_name ? 0 : -1;
        }
    if (n == 0)
        hn_set_err(err, err_len, "expected [ENTRY:]METRIC OP VALUE, e.g. p95<300ms");
    else
        hn_set_err(err, err_len, "unknown metric '%.*s' (expected %s)",
                   (int)(n < SHOWN_MAX ? n : SHOWN_MAX), m, metric_list);
    return -1;
}

/* Strips a trailing ":abort" or ":abort=GRACE" from [s, s + *len). */
static int parse_abort(struct hn_threshold *t, const char *s, size_t *len, char *err,
                       size_t err_len)
{
    const char *colon = NULL;
    for (size_t i = *len; i > 0; i--)
        if (s[i - 1] == ':') {
            colon = s + i - 1;
            break;
        }
    t->grace_s = HN_THRESHOLD_GRACE_S;
    if (colon == NULL)
        return 0;
    const char *tail;
    size_t tn;
    trim(colon + 1, (size_t)(s + *len - colon - 1), &tail, &tn);
    if (tn < 5 || strncmp(tail, "abort", 5) != 0)
        return 0;
    if (tn > 5) {
        if (tail[5] != '=') {
            return 0; /* "abortion:p95<1s" is an entry name */
        }
        char span[64];
        size_t sn = tn - 6;
        if (sn == 0 || sn >= sizeof span || (memcpy(span, tail + 6, sn), span[sn] = '\0',
                                             hn_parse_timespan(span, &t->grace_s) < 0)) {
            hn_set_err(err, err_len, "':%.*s': expected :abort or :abort=GRACE with a timespan "
                                     "like 30s", (int)(tn < SHOWN_MAX ? tn : SHOWN_MAX), tail);
            return -1;
        }
    }
    t->abort = true;
    *len = (size_t)(colon - s);
    return 0;
}

int hn_threshold_parse(const char *text, struct hn_threshold *out, char *err, size_t err_len)
{
    memset(out, 0, sizeof *out);
    const char *s;
    size_t len;
    trim(text ? text : "", text ? strlen(text) : 0, &s, &len);
    if (len == 0) {
        hn_set_err(err, err_len, "empty threshold: expected [ENTRY:]METRIC OP VALUE, e.g. p95<300ms");
        return -1;
    }
    out->expr = dup_range(s, len);
    if (out->expr == NULL)
        goto oom;
    if (parse_abort(out, s, &len, err, err_len) < 0)
        goto fail;

    /* ENTRY is everything before the last colon (names may hold colons). */
    const char *expr = s;
    size_t en = len;
    for (size_t i = len; i > 0; i--)
        if (s[i - 1] == ':') {
            const char *entry;
            size_t entry_len;
            trim(s, i - 1, &entry, &entry_len);
            if (entry_len == 0) {
                hn_set_err(err, err_len, "'%.*s': empty entry name before ':'", SHOWN_MAX, s);
                goto fail;
            }
            /* "GET /cart": a method (capital letters) and a name. */
            size_t m = 0;
            while (m < entry_len && entry[m] >= 'A' && entry[m] <= 'Z')
                m++;
            if ((out->entry_full = dup_range(entry, entry_len)) == NULL)
                goto oom;
            if (m > 0 && m < entry_len && entry[m] == ' ') {
                const char *name;
                size_t nn;
                trim(entry + m, entry_len - m, &name, &nn);
                out->entry_type = dup_range(entry, m);
                out->entry_name = dup_range(name, nn);
            } else {
                out->entry_name = dup_range(entry, entry_len);
            }
            if (out->entry_name == NULL || (m > 0 && m < entry_len && out->entry_type == NULL))
                goto oom;
            expr = s + i;
            en = len - i;
            break;
        }

    /* METRIC OP VALUE */
    const char *p;
    size_t pn;
    trim(expr, en, &p, &pn);
    size_t mn = 0;
    while (mn < pn && (isalnum((unsigned char)p[mn]) || p[mn] == '_' || p[mn] == '.'))
        mn++;
    if (parse_metric(out, p, mn, err, err_len) < 0)
        goto fail;
    const char *q = p + mn, *end = p + pn;
    while (q < end && isspace((unsigned char)*q))
        q++;
    static const struct {
        const char *text;
        enum hn_op op;
    } ops[] = {{"<=", HN_OP_LE}, {">=", HN_OP_GE}, {"==", HN_OP_EQ}, {"!=", HN_OP_NE},
               {"<", HN_OP_LT},  {">", HN_OP_GT}};
    size_t i = 0;
    for (; i < sizeof ops / sizeof ops[0]; i++) {
        size_t on = strlen(ops[i].text);
        if ((size_t)(end - q) >= on && strncmp(q, ops[i].text, on) == 0) {
            out->op = ops[i].op;
            q += on;
            break;
        }
    }
    if (i == sizeof ops / sizeof ops[0]) {
        hn_set_err(err, err_len, "'%.*s': expected an operator (<, <=, >, >=, ==, !=) after %s",
                   SHOWN_MAX, out->expr, out->metric_name);
        goto fail;
    }
    while (q < end && isspace((unsigned char)*q))
        q++;
    char value[64];
    size_t vn = (size_t)(end - q);
    if (vn == 0 || vn >= sizeof value) {
        hn_set_err(err, err_len, "'%.*s': expected a value after the operator", SHOWN_MAX,
                   out->expr);
        goto fail;
    }
    memcpy(value, q, vn);
    value[vn] = '\0';
    if (parse_value(out, value, err, err_len) < 0)
        goto fail;
    if (out->metric == HN_METRIC_DROPPED && out->entry_name != NULL) {
        hn_set_err(err, err_len, "'%.*s': dropped_iterations belongs to the whole run: drop the "
                   "entry name", SHOWN_MAX, out->expr);
        goto fail;
    }
    return 0;
oom:
    hn_set_err(err, err_len, "out of memory");
fail:
    hn_threshold_free(out);
    return -1;
}

void hn_threshold_free(struct hn_threshold *t)
{
    if (t == NULL)
        return;
    free(t->expr);
    free(t->entry_type);
    free(t->entry_name);
    free(t->entry_full);
    free(t->metric_name);
    memset(t, 0, sizeof *t);
}

static char *dup_or_null(const char *s)
{
    return s ? dup_range(s, strlen(s)) : NULL;
}

struct hn_threshold *hn_thresholds_copy(const struct hn_threshold *t, size_t n)
{
    if (n == 0)
        return NULL;
    struct hn_threshold *c = calloc(n, sizeof *c);
    if (c == NULL)
        return NULL;
    for (size_t i = 0; i < n; i++) {
        c[i] = t[i];
        c[i].expr = dup_or_null(t[i].expr);
        c[i].entry_type = dup_or_null(t[i].entry_type);
        c[i].entry_name = dup_or_null(t[i].entry_name);
        c[i].entry_full = dup_or_null(t[i].entry_full);
        c[i].metric_name = dup_or_null(t[i].metric_name);
        if (!c[i].expr || !c[i].metric_name || (t[i].entry_type && !c[i].entry_type) ||
            (t[i].entry_name && !c[i].entry_name) || (t[i].entry_full && !c[i].entry_full)) {
            hn_thresholds_free(c, i + 1);
            return NULL;
        }
    }
    return c;
}

void hn_thresholds_free(struct hn_threshold *t, size_t n)
{
    for (size_t i = 0; t != NULL && i < n; i++)
        hn_threshold_free(&t[i]);
    free(t);
}

/* ---------------------------------------------------------------- */
/* Judging                                                           */
/* ---------------------------------------------------------------- */

static const char *unit_of(enum hn_metric m)
{
    if (is_time(m))
        return "ms";
    if (m == HN_METRIC_FAIL_RATIO)
        return "ratio";
    if (m == HN_METRIC_RPS)
        return "rps";
    return "count";
}

/* The entry's value of the metric; false when it has none yet. */
static bool measure(const struct hn_threshold *t, const struct hn_entry_view *e, double *out)
{
    bool timed = e->requests > 0;
    switch (t->metric) {
    case HN_METRIC_PCT:
        *out = e->pct_ms[t->pct_index];
        return timed;
    case HN_METRIC_AVG:
        *out = e->avg_ms;
        return timed;
    case HN_METRIC_MIN:
        *out = e->min_ms;
        return timed;
    case HN_METRIC_MAX:
        *out = e->max_ms;
        return timed;
    case HN_METRIC_RPS:
        *out = e->total_rps;
        return true;
    case HN_METRIC_FAIL_RATIO:
        *out = e->requests ? (double)e->failures / (double)e->requests : 0;
        return e->requests > 0;
    case HN_METRIC_FAILURES:
        *out = (double)e->failures;
        return true;
    case HN_METRIC_REQUESTS:
        *out = (double)e->requests;
        return true;
    case HN_METRIC_DROPPED:
        break; /* the run's, see judge_one */
    }
    return false;
}

static bool holds(enum hn_op op, double v, double limit)
{
    switch (op) {
    case HN_OP_LT:
        return v < limit;
    case HN_OP_LE:
        return v <= limit;
    case HN_OP_GT:
        return v > limit;
    case HN_OP_GE:
        return v >= limit;
    case HN_OP_EQ:
        return fabs(v - limit) <= 1e-9 * fmax(1.0, fabs(limit));
    case HN_OP_NE:
        return fabs(v - limit) > 1e-9 * fmax(1.0, fabs(limit));
    }
    return false;
}

/* Of two values, the one nearer to breaking the threshold. */
static bool worse(enum hn_op op, double a, double b)
{
    return (op == HN_OP_LT || op == HN_OP_LE) ? a > b : (op == HN_OP_GT || op == HN_OP_GE) ? a < b
                                                                                           : false;
}

static bool matches(const struct hn_threshold *t, const struct hn_entry_view *e)
{
    if (e->name == NULL)
        return false;
    /* "API health" may be a name with a space, not the method API. */
    if (t->entry_type != NULL && t->entry_full != NULL && strcmp(e->name, t->entry_full) == 0)
        return true;
    return strcmp(e->name, t->entry_name) == 0 &&
           (t->entry_type == NULL || (e->type != NULL && strcmp(e->type, t->entry_type) == 0));
}

static void judge_one(const struct hn_threshold *t, const struct hn_snapshot *s, bool final,
                      struct hn_threshold_view *v)
{
    bool have = false, failed = false;
    double value = 0;
    if (t->metric == HN_METRIC_DROPPED) {
        have = true;
        value = (double)s->dropped_iterations;
        failed = !holds(t->op, value, t->limit);
    } else if (t->entry_name == NULL) {
        have = measure(t, &s->total, &value);
        failed = have && !holds(t->op, value, t->limit);
    } else {
        for (size_t i = 0; s->entries != NULL && i < s->n_entries; i++) {
            double x;
            if (!matches(t, &s->entries[i]) || !measure(t, &s->entries[i], &x))
                continue;
            bool broken = !holds(t->op, x, t->limit);
            /* Report the broken value, else the one nearest to breaking. */
            if (!have || (broken && !failed) || (broken == failed && worse(t->op, x, value)))
                value = x;
            have = true;
            failed = failed || broken;
        }
        /* An entry that never ran made no requests and had no failures. */
        if (!have && (t->metric == HN_METRIC_REQUESTS || t->metric == HN_METRIC_FAILURES)) {
            have = true;
            failed = !holds(t->op, 0, t->limit);
        }
    }
    v->measured = have;
    v->value = have ? value : 0;
    /* Once the run is over, a threshold nothing could be measured for
     * fails: a release gate must not pass on missing data. */
    v->verdict = !have ? (final ? HN_VERDICT_FAIL : HN_VERDICT_NO_DATA)
                       : failed ? HN_VERDICT_FAIL : HN_VERDICT_PASS;
}

void hn_thresholds_judge(const struct hn_threshold *t, size_t n, struct hn_snapshot *s,
                         bool final)
{
    s->n_thresholds = 0;
    s->thresholds = NULL;
    if (n == 0)
        return;
    /* Out of memory here aborts, as building the snapshot does: a release
     * gate must never pass because its verdicts could not be written. */
    struct hn_threshold_view *v = calloc(n, sizeof *v);
    if (v == NULL)
        abort();
    for (size_t i = 0; i < n; i++) {
        v[i].expr = dup_or_null(t[i].expr);
        v[i].metric = dup_or_null(t[i].metric_name);
        if (v[i].expr == NULL || v[i].metric == NULL)
            abort();
        v[i].unit = unit_of(t[i].metric);
        v[i].abort = t[i].abort;
        judge_one(&t[i], s, final, &v[i]);
    }
    s->thresholds = v;
    s->n_thresholds = n;
}
