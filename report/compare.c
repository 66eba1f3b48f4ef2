/*
 * compare.c: two JSON results side by side (see compare.h).
 */
#include "compare.h"

#include <math.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "errbuf.h"
#include "format.h"
#include "units.h"

/* A failure ratio that moved by less than this (0.1 % of requests) is the
 * same: one failure in a million requests is not a regression. */
#define FAIL_RATIO_FLOOR 0.001

static const struct metric {
    const char *name;    /* in the comparison */
    const char *label;   /* on the console */
    const char *pct;     /* key in "percentiles", or NULL */
    const char *key;     /* key in the entry otherwise */
    bool higher_better;
} metrics[] = {
    {"rps", "req/s", NULL, "total_rps", true},
    {"p50", "p50 ms", "50", NULL, false},
    {"p95", "p95 ms", "95", NULL, false},
    {"p99", "p99 ms", "99", NULL, false},
    {"fail_ratio", "fail %", NULL, "fail_ratio", false},
};

int hn_result_check(const json_t *doc, char *err, size_t err_len)
{
    const char *format = json_string_value(json_object_get(doc, "format"));
    if (format == NULL || strcmp(format, "hornet-result") != 0) {
        hn_set_err(err, err_len, "not a hornet JSON result (hornet --json FILE writes one)");
        return -1;
    }
    if (json_integer_value(json_object_get(doc, "version")) != 1) {
        hn_set_err(err, err_len, "a hornet JSON result of another version (this hornet reads 1)");
        return -1;
    }
    if (!json_is_object(json_object_get(doc, "total")) ||
        !json_is_array(json_object_get(doc, "entries"))) {
        hn_set_err(err, err_len, "a hornet JSON result without 'total' and 'entries'");
        return -1;
    }
    return 0;
}

json_t *hn_result_load(const char *path, char *err, size_t err_len)
{
    json_error_t jerr;
    json_t *doc = json_load_file(path, 0, &jerr);
    if (doc == NULL) {
        if (jerr.line <= 0)
            hn_set_err(err, err_len, "cannot read '%s': %s", path, jerr.text);
        else
            hn_set_err(err, err_len, "%s:%d: not JSON: %s", path, jerr.line, jerr.text);
        return NULL;
    }
    char why[200];
    if (hn_result_check(doc, why, sizeof why) != 0) {
        hn_set_err(err, err_len, "%s: %s", path, why);
        json_decref(doc);
        return NULL;
    }
    return doc;
}

int hn_parse_tolerance(const char *text, double *out)
{
    const char *p = text;
    double v;
    if (p == NULL || hn_scan_decimal(&p, &v) != 0)
        return -1;
    if (*p == '%') {
        v /= 100;
        p++;
    }
    if (*p != '\0' || !(v >= 0) || v > 10)
        return -1;
    *out = v;
    return 0;
}

static double value_of(const json_t *entry, const struct metric *m, bool *known)
{
    const json_t *v = m->pct ? json_object_get(json_object_get(entry, "percentiles"), m->pct)
                             : json_object_get(entry, m->key);
    *known = json_is_number(v);
    return *known ? json_number_value(v) : 0;
}

static const char *judge(const struct metric *m, double base, double cur, double tol,
                         json_t **change)
{
    double diff = cur - base;
    *change = base != 0 ? json_real((cur - base) / fabs(base)) : json_null();
    if (strcmp(m->name, "fail_ratio") == 0) {
        if (fabs(diff) < FAIL_RATIO_FLOOR || (base > 0 && fabs(diff) <= tol * base))
            return "same";
        return diff > 0 ? "worse" : "better";
    }
    if (base == 0)
        return cur == 0 ? "same" : m->higher_better ? "better" : "worse";
    double rel = diff / fabs(base);
    if (fabs(rel) <= tol)
        return "same";
    return (rel > 0) == m->higher_better ? "better" : "worse";
}

static const json_t *find_entry(const json_t *doc, const char *type, const char *name)
{
    size_t i;
    const json_t *e;
    json_array_foreach(json_object_get(doc, "entries"), i, e) {
        const char *t = json_string_value(json_object_get(e, "type"));
        const char *n = json_string_value(json_object_get(e, "name"));
        if (t && n && strcmp(t, type) == 0 && strcmp(n, name) == 0)
            return e;
    }
    return NULL;
}

/* Adds a row per metric for one entry (both runs served it). */
static void add_rows(json_t *rows, const json_t *b, const json_t *c, const char *type,
                     const char *name, double tol, int *worse, int *better)
{
    for (size_t k = 0; k < sizeof metrics / sizeof metrics[0]; k++) {
        bool kb, kc;
        double vb = value_of(b, &metrics[k], &kb), vc = value_of(c, &metrics[k], &kc);
        if (!kb || !kc)
            continue; /* no requests: no percentiles */
        json_t *change;
        const char *verdict = judge(&metrics[k], vb, vc, tol, &change);
        *worse += strcmp(verdict, "worse") == 0;
        *better += strcmp(verdict, "better") == 0;
        json_array_append_new(rows, json_pack("{s:s, s:s, s:s, s:f, s:f, s:o, s:s}", "type", type,
                                              "name", name, "metric", metrics[k].name, "base",
                                              vb, "new", vc, "change", change, "verdict",
                                              verdict));
    }
}

static bool served(const json_t *e)
{
    return json_integer_value(json_object_get(e, "requests")) > 0;
}

json_t *hn_compare_results(const json_t *base, const json_t *cur, double tolerance)
{
    json_t *rows = json_array(), *only_base = json_array(), *only_new = json_array();
    int worse = 0, better = 0;
    add_rows(rows, json_object_get(base, "total"), json_object_get(cur, "total"), "",
             "Aggregated", tolerance, &worse, &better);
    size_t i;
    const json_t *e;
    json_array_foreach(json_object_get(cur, "entries"), i, e) {
        const char *t = json_string_value(json_object_get(e, "type"));
        const char *n = json_string_value(json_object_get(e, "name"));
        if (t == NULL || n == NULL || !served(e))
            continue;
        const json_t *b = find_entry(base, t, n);
        if (b != NULL && served(b))
            add_rows(rows, b, e, t, n, tolerance, &worse, &better);
        else
            json_array_append_new(only_new, json_pack("{s:s, s:s}", "type", t, "name", n));
    }
    json_array_foreach(json_object_get(base, "entries"), i, e) {
        const char *t = json_string_value(json_object_get(e, "type"));
        const char *n = json_string_value(json_object_get(e, "name"));
        const json_t *c = t && n ? find_entry(cur, t, n) : NULL;
        if (t && n && served(e) && (c == NULL || !served(c)))
            json_array_append_new(only_base, json_pack("{s:s, s:s}", "type", t, "name", n));
    }
    const json_t *run = json_object_get(base, "run");
    json_t *baseline = json_pack(
        "{s:O, s:O, s:O}", "start_time", json_object_get(run, "start_time"), "host",
        json_object_get(run, "host") ? json_object_get(run, "host") : json_null(), "duration_s",
        json_object_get(run, "duration_s") ? json_object_get(run, "duration_s") : json_null());
    return json_pack("{s:f, s:s, s:i, s:i, s:o, s:o, s:o, s:o}", "tolerance", tolerance,
                     "verdict", worse ? "worse" : better ? "better" : "same", "worse", worse,
                     "better", better, "baseline", baseline ? baseline : json_null(), "rows",
                     rows, "only_in_base", only_base, "only_in_new", only_new);
}

static const char *label_of(const char *metric)
{
    for (size_t k = 0; k < sizeof metrics / sizeof metrics[0]; k++)
        if (strcmp(metrics[k].name, metric) == 0)
            return metrics[k].label;
    return metric;
}

static void fmt_value(char *buf, size_t n, const char *metric, double v)
{
    if (strcmp(metric, "fail_ratio") == 0)
        snprintf(buf, n, "%.2f", v * 100);
    else if (strcmp(metric, "rps") != 0 && fabs(v) < 10)
        snprintf(buf, n, "%.2f", v);
    else
        snprintf(buf, n, "%.1f", v);
}

void hn_console_comparison(FILE *f, const json_t *cmp)
{
    if (f == NULL || cmp == NULL)
        return;
    locale_t old = hn_enter_c_locale();
    double tol = json_number_value(json_object_get(cmp, "tolerance"));
    fprintf(f, "Compared with the baseline (tolerance %g %%): %s (%lld worse, %lld better)\n",
            tol * 100, json_string_value(json_object_get(cmp, "verdict")),
            (long long)json_integer_value(json_object_get(cmp, "worse")),
            (long long)json_integer_value(json_object_get(cmp, "better")));
    fprintf(f, "%-8s %-40s %-8s %12s %12s %9s  %s\n", "Type", "Name", "Metric", "Base", "New",
            "Change", "Verdict");
    size_t i, hidden = 0;
    const json_t *r;
    json_array_foreach(json_object_get(cmp, "rows"), i, r) {
        const char *name = json_string_value(json_object_get(r, "name"));
        const char *type = json_string_value(json_object_get(r, "type"));
        const char *metric = json_string_value(json_object_get(r, "metric"));
        const char *verdict = json_string_value(json_object_get(r, "verdict"));
        bool total = type != NULL && *type == '\0';
        if (!total && verdict != NULL && strcmp(verdict, "same") == 0) {
            hidden++;
            continue;
        }
        char vb[32], vc[32], ch[32];
        fmt_value(vb, sizeof vb, metric, json_number_value(json_object_get(r, "base")));
        fmt_value(vc, sizeof vc, metric, json_number_value(json_object_get(r, "new")));
        const json_t *c = json_object_get(r, "change");
        if (json_is_number(c))
            snprintf(ch, sizeof ch, "%+.1f %%", json_number_value(c) * 100);
        else
            snprintf(ch, sizeof ch, "n/a");
        fprintf(f, "%-8.8s %-40.40s %-8s %12s %12s %9s  %s\n", type, name, label_of(metric), vb,
                vc, ch, verdict);
    }
    if (hidden > 0)
        fprintf(f, "(%zu figure%s of entries within the tolerance not shown)\n", hidden,
                hidden == 1 ? "" : "s");
    const char *which[] = {"only_in_base", "only_in_new"};
    const char *says[] = {"only in the baseline", "only in this run"};
    for (size_t k = 0; k < 2; k++) {
        const json_t *e;
        json_array_foreach(json_object_get(cmp, which[k]), i, e)
            fprintf(f, "%-8.8s %-40.40s %s\n", json_string_value(json_object_get(e, "type")),
                    json_string_value(json_object_get(e, "name")), says[k]);
    }
    fputc('\n', f);
    fflush(f);
    hn_leave_c_locale(old);
}
