/*
 * prometheus.c: a snapshot in Prometheus' text exposition format (0.0.4),
 * what GET /metrics answers. Entries are labelled as Locust's exporters
 * label them (method = the request type, name); the Aggregated row is left
 * out, since a query sums the entries itself.
 */
#include <stdio.h>
#include <string.h>

#include "format.h"
#include "report.h"
#include "textutil.h"

const char hn_prometheus_content_type[] = "text/plain; version=0.0.4; charset=utf-8";

/* A label value: valid UTF-8 (the scrape fails on anything else) with
 * backslash, double quote and line feed escaped, as the format says.
 * out needs room for 3 bytes per byte of s, and one more. */
static char *escape_label(char *out, const char *s)
{
    const unsigned char *p = (const unsigned char *)(s ? s : "");
    while (*p) {
        size_t n = hn_utf8_seq(p);
        if (n == 0) {
            memcpy(out, "\xEF\xBF\xBD", 3);
            out += 3;
            p++;
        } else if (*p == '\\' || *p == '"') {
            *out++ = '\\';
            *out++ = (char)*p++;
        } else if (*p == '\n') {
            *out++ = '\\';
            *out++ = 'n';
            p++;
        } else {
            memcpy(out, p, n);
            out += n;
            p += n;
        }
    }
    *out = '\0';
    return out;
}

/* The same into f. */
static void put_label(FILE *f, const char *s)
{
    size_t n = strlen(s ? s : "");
    char small[256], *buf = 3 * n < sizeof small ? small : malloc(3 * n + 1);
    if (buf == NULL)
        return;
    escape_label(buf, s);
    fputs(buf, f);
    if (buf != small)
        free(buf);
}

/* An entry's labels, escaped once for all its lines: method="…",name="…".
 * NULL when memory runs out. */
static char *entry_labels(const struct hn_entry_view *e)
{
    char *buf = malloc(3 * (strlen(e->type) + strlen(e->name)) + sizeof("method=\"\",name=\"\""));
    if (buf == NULL)
        return NULL;
    char *p = stpcpy(buf, "method=\"");
    p = escape_label(p, e->type);
    p = stpcpy(p, "\",name=\"");
    p = escape_label(p, e->name);
    strcpy(p, "\"");
    return buf;
}

static void head(FILE *f, const char *name, const char *type, const char *help)
{
    fprintf(f, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
}

static void per_entry_counter(FILE *f, const struct hn_snapshot *s, const char *name,
                              const char *help, int failures)
{
    head(f, name, "counter", help);
    for (size_t i = 0; i < s->n_entries; i++) {
        const struct hn_entry_view *e = &s->entries[i];
        char *labels = entry_labels(e);
        if (labels == NULL)
            continue;
        fprintf(f, "%s{%s} %llu\n", name, labels,
                (unsigned long long)(failures ? e->failures : e->requests));
        free(labels);
    }
}

static void histogram(FILE *f, const struct hn_snapshot *s)
{
    static const char name[] = "hornet_response_time_seconds";
    head(f, name, "histogram", "Response times, by request type and name (failures included).");
    char le[HN_LE_MAX][32];
    for (size_t b = 0; b < s->n_le; b++)
        snprintf(le[b], sizeof(le[b]), "%.15g", s->le_s[b]);
    for (size_t i = 0; i < s->n_entries; i++) {
        const struct hn_entry_view *e = &s->entries[i];
        char *labels = entry_labels(e);
        if (labels == NULL)
            continue;
        for (size_t b = 0; e->le_counts && b < s->n_le; b++)
            fprintf(f, "%s_bucket{%s,le=\"%s\"} %llu\n", name, labels, le[b],
                    (unsigned long long)e->le_counts[b]);
        char sum[40];
        hn_fmt_real(sum, sizeof(sum), e->sum_ms / 1000.0);
        fprintf(f, "%s_bucket{%s,le=\"+Inf\"} %llu\n%s_sum{%s} %s\n%s_count{%s} %llu\n", name,
                labels, (unsigned long long)e->requests, name, labels, sum, name, labels,
                (unsigned long long)e->requests);
        free(labels);
    }
}

static void errors(FILE *f, const struct hn_snapshot *s)
{
    head(f, "hornet_errors_total", "counter",
         "Failures, by request type, name and error message (the Failures table).");
    for (size_t i = 0; i < s->n_errors; i++) {
        const struct hn_error_view *e = &s->errors[i];
        fputs("hornet_errors_total{method=\"", f);
        put_label(f, e->type);
        fputs("\",name=\"", f);
        put_label(f, e->name);
        fputs("\",error=\"", f);
        put_label(f, e->message);
        fprintf(f, "\"} %llu\n", (unsigned long long)e->count);
    }
}

static void gauge(FILE *f, const char *name, const char *help, double v)
{
    char text[40];
    hn_fmt_real(text, sizeof(text), hn_finite_or_zero(v));
    head(f, name, "gauge", help);
    fprintf(f, "%s %s\n", name, text);
}

static void run_metrics(FILE *f, const struct hn_snapshot *s)
{
    gauge(f, "hornet_users", "Users running now.", s->users);
    gauge(f, "hornet_target_users", "Users the run is asked to have.", s->target_users);
    head(f, "hornet_state", "gauge", "The run's state: 1 for the current one.");
    static const enum hn_state states[] = {HN_STATE_READY,   HN_STATE_SPAWNING, HN_STATE_RUNNING,
                                           HN_STATE_PAUSED,  HN_STATE_STOPPING, HN_STATE_STOPPED};
    for (size_t i = 0; i < sizeof(states) / sizeof(states[0]); i++)
        fprintf(f, "hornet_state{state=\"%s\"} %d\n", hn_state_name(states[i]),
                s->state == states[i]);
    gauge(f, "hornet_current_rps", "Requests per second over the last 10 s.",
          s->total.current_rps);
    gauge(f, "hornet_current_failures_per_second", "Failures per second over the last 10 s.",
          s->total.current_fail_s);
    size_t workers = 0;
    for (size_t i = 0; i < s->n_workers; i++)
        workers += strcmp(s->workers[i].state, "missing") != 0;
    gauge(f, "hornet_workers", "Worker processes connected to this master (0 when not distributed).",
          (double)workers);
    head(f, "hornet_dropped_iterations_total", "counter",
         "Open model: iterations due that no free user could start.");
    fprintf(f, "hornet_dropped_iterations_total %llu\n",
            (unsigned long long)s->dropped_iterations);
    head(f, "hornet_threshold_passing", "gauge",
         "Each threshold once it can be judged: 1 when it holds now, 0 when broken.");
    for (size_t i = 0; i < s->n_thresholds; i++) {
        const struct hn_threshold_view *t = &s->thresholds[i];
        if (t->verdict == HN_VERDICT_NO_DATA)
            continue;
        fputs("hornet_threshold_passing{threshold=\"", f);
        put_label(f, t->expr);
        fprintf(f, "\"} %d\n", t->verdict == HN_VERDICT_PASS);
    }
}

int hn_prometheus_write(FILE *f, const struct hn_snapshot *s)
{
    locale_t old = hn_enter_c_locale();
    per_entry_counter(f, s, "hornet_requests_total",
                      "Requests, by request type and name (failures included).", 0);
    per_entry_counter(f, s, "hornet_failures_total", "Failed requests, by request type and name.",
                      1);
    histogram(f, s);
    errors(f, s);
    run_metrics(f, s);
    hn_leave_c_locale(old);
    return ferror(f) ? -1 : 0;
}
