/*
 * console.c: Locust's periodic statistics table and final summary
 * (percentiles, failures, exceptions) for a terminal.
 */
#include "report.h"

#include <inttypes.h>
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "format.h"
#include "textutil.h"

/* Console column limits. */
#define NAME_MAX_W 60
#define TYPE_MAX_W 12
#define ERROR_MAX_W 240

/* Terminal columns taken by code point cp: 2 for the East Asian wide and
 * emoji blocks, 1 otherwise. An approximation of wcwidth() that does not
 * depend on the process locale. */
static int cp_width(uint32_t cp)
{
    static const uint32_t wide[][2] = {
        {0x1100, 0x115F},   {0x2E80, 0x303E},   {0x3041, 0x33FF},   {0x3400, 0x4DBF},
        {0x4E00, 0x9FFF},   {0xA000, 0xA4CF},   {0xAC00, 0xD7A3},   {0xF900, 0xFAFF},
        {0xFE30, 0xFE4F},   {0xFF00, 0xFF60},   {0xFFE0, 0xFFE6},   {0x1F300, 0x1F64F},
        {0x1F900, 0x1F9FF}, {0x20000, 0x2FFFD}, {0x30000, 0x3FFFD},
    };
    for (size_t i = 0; i < sizeof wide / sizeof wide[0]; i++)
        if (cp >= wide[i][0] && cp <= wide[i][1])
            return 2;
    return 1;
}

/* Decodes the character at p for the console: its byte length (at least
 * 1), its width, and whether it prints as is. Control characters and
 * invalid UTF-8 print as one '?'. */
static size_t console_char(const unsigned char *p, int *width, bool *printable)
{
    size_t len = hn_utf8_seq(p);
    if (len == 0 || *p < 0x20 || *p == 0x7F) {
        *width = 1;
        *printable = false;
        return len ? len : 1;
    }
    uint32_t cp = len == 1 ? p[0] : p[0] & (0x7F >> len);
    for (size_t i = 1; i < len; i++)
        cp = (cp << 6) | (p[i] & 0x3F);
    *width = cp_width(cp);
    *printable = true;
    return len;
}

/* Columns s takes on a terminal, counting at most max. */
static int text_width(const char *s, int max)
{
    int w = 0;
    const unsigned char *p = (const unsigned char *)(s ? s : "");
    while (*p) {
        int cw;
        bool ok;
        size_t len = console_char(p, &cw, &ok);
        if (w + cw > max)
            break;
        w += cw;
        p += len;
    }
    return w;
}

/* Prints s cut to width columns and padded to width (left or right
 * aligned), with control characters and invalid UTF-8 shown as '?' so one
 * odd name cannot break the table's lines. */
static void put_cell(FILE *f, const char *s, int width, bool right)
{
    int w = text_width(s, width);
    if (right)
        for (int i = w; i < width; i++)
            fputc(' ', f);
    const unsigned char *p = (const unsigned char *)(s ? s : "");
    for (int done = 0; *p;) {
        int cw;
        bool ok;
        size_t len = console_char(p, &cw, &ok);
        if (done + cw > w)
            break;
        if (ok)
            fwrite(p, 1, len, f);
        else
            fputc('?', f);
        done += cw;
        p += len;
    }
    if (!right)
        for (int i = w; i < width; i++)
            fputc(' ', f);
}

static void put_dashes(FILE *f, int n)
{
    for (int i = 0; i < n; i++)
        fputc('-', f);
}

struct widths {
    int type, name;
};

static struct widths table_widths(const struct hn_snapshot *s)
{
    struct widths w = {4, 10}; /* "Type", "Aggregated" */
    size_t n = hn_entry_count(s);
    for (size_t i = 0; i < n; i++) {
        int tw = text_width(s->entries[i].type, TYPE_MAX_W);
        int nw = text_width(s->entries[i].name, NAME_MAX_W);
        if (tw > w.type)
            w.type = tw;
        if (nw > w.name)
            w.name = nw;
    }
    return w;
}

/* Column widths of the stats table after Type and Name. */
#define W_REQS 8
#define W_FAILS 14
#define W_MS 7
#define W_RPS 8
#define W_FAILS_S 10

static void stats_separator(FILE *f, const struct widths *w)
{
    put_dashes(f, w->type);
    fputc('|', f);
    put_dashes(f, w->name);
    fputc('|', f);
    put_dashes(f, W_REQS);
    fputc('|', f);
    put_dashes(f, W_FAILS);
    fputs("-|-", f);
    for (int i = 0; i < 4; i++) {
        if (i)
            fputc('|', f);
        put_dashes(f, W_MS);
    }
    fputs("-|-", f);
    put_dashes(f, W_RPS);
    fputc('|', f);
    put_dashes(f, W_FAILS_S);
    fputc('\n', f);
}

/* Milliseconds for a table cell: two decimals below 10 ms, where Locust's
 * integers print 0 or 1 for every fast endpoint; whole numbers above. */
static const char *cell_ms(char buf[32], double v)
{
    v = hn_finite_or_zero(v);
    if (v < 9.995 && v > -9.995)
        snprintf(buf, 32, "%.2f", v);
    else
        snprintf(buf, 32, "%lld", hn_ms_int(v));
    return buf;
}

static void stats_line(FILE *f, const struct widths *w, const struct hn_entry_view *e, bool total,
                       bool current)
{
    char fails[48];
    snprintf(fails, sizeof fails, "%" PRIu64 "(%.2f%%)", e->failures,
             hn_fail_ratio(e->requests, e->failures) * 100.0);
    bool any = e->requests > 0;
    double rps = current ? e->current_rps : e->total_rps;
    double fps = current ? e->current_fail_s : e->total_fail_s;
    put_cell(f, total ? "" : e->type, w->type, false);
    fputc(' ', f);
    put_cell(f, total ? "Aggregated" : e->name, w->name, false);
    char avg[32], min[32], max[32], med[32];
    fprintf(f, " %*" PRIu64 " %*s | %*s %*s %*s %*s | %*.2f %*.2f\n", W_REQS, e->requests,
            W_FAILS, fails, W_MS, any ? cell_ms(avg, e->avg_ms) : "0", W_MS,
            any ? cell_ms(min, e->min_ms) : "0", W_MS, any ? cell_ms(max, e->max_ms) : "0", W_MS,
            any ? cell_ms(med, e->median_ms) : "0", W_RPS, hn_finite_or_zero(rps), W_FAILS_S,
            hn_finite_or_zero(fps));
}

static void stats_table(FILE *f, const struct hn_snapshot *s, bool current)
{
    struct widths w = table_widths(s);
    put_cell(f, "Type", w.type, false);
    fputc(' ', f);
    put_cell(f, "Name", w.name, false);
    fprintf(f, " %*s %*s | %*s %*s %*s %*s | %*s %*s\n", W_REQS, "# reqs", W_FAILS, "# fails",
            W_MS, "Avg", W_MS, "Min", W_MS, "Max", W_MS, "Med", W_RPS, "req/s", W_FAILS_S,
            "failures/s");
    stats_separator(f, &w);
    size_t n = hn_entry_count(s);
    for (size_t i = 0; i < n; i++)
        stats_line(f, &w, &s->entries[i], false, current);
    stats_separator(f, &w);
    stats_line(f, &w, &s->total, true, current);
}

void hn_console_table(FILE *f, const struct hn_snapshot *s)
{
    if (f == NULL || s == NULL)
        return;
    locale_t old = hn_enter_c_locale();
    stats_table(f, s, true);
    fputc('\n', f);
    fflush(f);
    hn_leave_c_locale(old);
}

#define W_PCT 6

static void pct_separator(FILE *f, const struct widths *w)
{
    put_dashes(f, w->type);
    fputc('|', f);
    put_dashes(f, w->name);
    for (int i = 0; i < HN_NPCT; i++) {
        fputc('|', f);
        put_dashes(f, W_PCT);
    }
    fputc('|', f);
    put_dashes(f, W_REQS);
    fputc('\n', f);
}

static void pct_line(FILE *f, const struct widths *w, const struct hn_entry_view *e, bool total)
{
    put_cell(f, total ? "" : e->type, w->type, false);
    fputc(' ', f);
    put_cell(f, total ? "Aggregated" : e->name, w->name, false);
    char buf[32];
    for (int i = 0; i < HN_NPCT; i++)
        fprintf(f, " %*s", W_PCT, cell_ms(buf, e->pct_ms[i]));
    fprintf(f, " %*" PRIu64 "\n", W_REQS, e->requests);
}

static void percentile_table(FILE *f, const struct hn_snapshot *s)
{
    static const char *const heads[HN_NPCT] = {"50%", "66%", "75%",   "80%",    "90%", "95%",
                                               "98%", "99%", "99.9%", "99.99%", "100%"};
    struct widths w = table_widths(s);
    /* Not Locust's "(approximated)": the histogram says how close. */
    fputs("Response time percentiles (ms, each within 0.4 % of the exact value)\n", f);
    put_cell(f, "Type", w.type, false);
    fputc(' ', f);
    put_cell(f, "Name", w.name, false);
    for (int i = 0; i < HN_NPCT; i++)
        fprintf(f, " %*s", W_PCT, heads[i]);
    fprintf(f, " %*s\n", W_REQS, "# reqs");
    pct_separator(f, &w);
    /* As Locust: entries without a single request have no percentiles. */
    size_t n = hn_entry_count(s);
    for (size_t i = 0; i < n; i++)
        if (s->entries[i].requests > 0)
            pct_line(f, &w, &s->entries[i], false);
    pct_separator(f, &w);
    if (s->total.requests > 0)
        pct_line(f, &w, &s->total, true);
    fputc('\n', f);
}

static void error_report(FILE *f, const struct hn_snapshot *s)
{
    size_t n = s->errors ? s->n_errors : 0;
    if (n == 0)
        return;
    fputs("Error report\n", f);
    fprintf(f, "%-18s %s\n", "# occurrences", "Error");
    put_dashes(f, 18);
    fputc('|', f);
    put_dashes(f, 60);
    fputc('\n', f);
    for (size_t i = 0; i < n; i++) {
        const struct hn_error_view *e = &s->errors[i];
        const char *type = e->type ? e->type : "";
        const char *name = e->name ? e->name : "";
        const char *msg = e->message ? e->message : "";
        /* "METHOD name: message", as Locust's StatsError.to_name(). */
        size_t len = strlen(type) + strlen(name) + strlen(msg) + 4;
        char *text = malloc(len);
        if (text != NULL)
            snprintf(text, len, "%s%s%s: %s", type, *type ? " " : "", name, msg);
        fprintf(f, "%-18" PRIu64 " ", e->count);
        put_cell(f, text ? text : msg, text_width(text ? text : msg, ERROR_MAX_W), false);
        fputc('\n', f);
        free(text);
    }
    put_dashes(f, 18);
    fputc('|', f);
    put_dashes(f, 60);
    fputs("\n\n", f);
}

static void exception_report(FILE *f, const struct hn_snapshot *s)
{
    size_t n = s->exceptions ? s->n_exceptions : 0;
    if (n == 0)
        return;
    /* "User type/task" column sized to its longest value, within limits. */
    int ww = 16;
    for (size_t i = 0; i < n; i++) {
        const struct hn_exception_view *x = &s->exceptions[i];
        int w = text_width(x->user_type, 40) + 1 + text_width(x->task, 40);
        if (w > ww)
            ww = w < 48 ? w : 48;
    }
    fputs("Exceptions\n", f);
    fprintf(f, "%-18s ", "# occurrences");
    put_cell(f, "User type/task", ww, false);
    fputs(" Message\n", f);
    put_dashes(f, 18);
    fputc('|', f);
    put_dashes(f, ww);
    fputc('|', f);
    put_dashes(f, 40);
    fputc('\n', f);
    for (size_t i = 0; i < n; i++) {
        const struct hn_exception_view *x = &s->exceptions[i];
        const char *ut = x->user_type ? x->user_type : "";
        const char *task = x->task ? x->task : "";
        size_t len = strlen(ut) + strlen(task) + 2;
        char *where = malloc(len);
        if (where != NULL)
            snprintf(where, len, "%s/%s", ut, task);
        fprintf(f, "%-18" PRIu64 " ", x->count);
        put_cell(f, where ? where : ut, ww, false);
        fputc(' ', f);
        put_cell(f, x->message, text_width(x->message, ERROR_MAX_W), false);
        fputc('\n', f);
        free(where);
    }
    put_dashes(f, 18);
    fputc('|', f);
    put_dashes(f, ww);
    fputc('|', f);
    put_dashes(f, 40);
    fputs("\n\n", f);
}

/* The release gate: each threshold, its verdict and what was measured. */
static void threshold_report(FILE *f, const struct hn_snapshot *s)
{
    size_t n = s->thresholds != NULL ? s->n_thresholds : 0;
    if (n == 0)
        return;
    int ew = 9;
    for (size_t i = 0; i < n; i++) {
        int w = text_width(s->thresholds[i].expr, ERROR_MAX_W);
        if (w > ew)
            ew = w;
    }
    fputs("Thresholds:\n", f);
    put_cell(f, "Verdict", 8, false);
    fputs(" ", f);
    put_cell(f, "Threshold", ew, false);
    fputs(" Measured\n", f);
    put_dashes(f, 8);
    fputc('|', f);
    put_dashes(f, ew);
    fputc('|', f);
    put_dashes(f, 16);
    fputc('\n', f);
    for (size_t i = 0; i < n; i++) {
        const struct hn_threshold_view *t = &s->thresholds[i];
        char value[64];
        hn_fmt_threshold_value(t, value, sizeof value);
        put_cell(f, t->verdict == HN_VERDICT_PASS ? "pass" : t->verdict == HN_VERDICT_FAIL
                                                                 ? "FAIL"
                                                                 : "no data",
                 8, false);
        fputs(" ", f);
        put_cell(f, t->expr, ew, false);
        fprintf(f, " %s\n", value);
    }
    put_dashes(f, 8 + 1 + ew + 1 + 16);
    fputc('\n', f);
    fputc('\n', f);
}

/* The capacity search: one line per step (its own figures), then what
 * it found. */
static void capacity_report(FILE *f, const struct hn_snapshot *s)
{
    const struct hn_capacity_view *c = s->capacity;
    if (c == NULL)
        return;
    fprintf(f, "Capacity search (each step held %g s, judged on its own figures)\n",
            c->plan.hold_s);
    fprintf(f, "%12s %10s %9s %9s %9s %8s  %s\n", c->plan.open ? "Iterations/s" : "Users",
            "req/s", "p50 ms", "p95 ms", "p99 ms", "fail %", "Step");
    for (size_t i = 0; i < c->n_steps; i++) {
        const struct hn_capacity_step *st = &c->steps[i];
        char p50[32], p95[32], p99[32];
        fprintf(f, "%12g %10.2f %9s %9s %9s %8.2f  %s%s%s\n", st->load, st->rps,
                cell_ms(p50, st->p50_ms), cell_ms(p95, st->p95_ms), cell_ms(p99, st->p99_ms),
                st->fail_ratio * 100, st->held ? "held" : "broke ",
                st->held ? "" : st->broken ? st->broken : "", c->knee > 0 && st->load == c->knee
                                                                 ? " (the knee)" : "");
    }
    if (c->outcome != NULL)
        fprintf(f, "%s\n", c->outcome);
    fputc('\n', f);
}

void hn_console_summary(FILE *f, const struct hn_snapshot *s)
{
    if (f == NULL || s == NULL)
        return;
    locale_t old = hn_enter_c_locale();
    stats_table(f, s, false);
    fputc('\n', f);
    percentile_table(f, s);
    error_report(f, s);
    exception_report(f, s);
    if (s->open) {
        fprintf(f, "Open model: %.2f iterations/s asked, %.2f achieved; %" PRIu64 " started, %" PRIu64
                   " dropped; start lag p50 %.2f ms, p95 %.2f ms, max %.2f ms\n\n",
                s->arrival_rate, s->achieved_rate, s->iterations, s->dropped_iterations,
                s->start_lag_p50_ms, s->start_lag_p95_ms, s->start_lag_max_ms);
    }
    threshold_report(f, s);
    capacity_report(f, s);
    for (size_t i = 0; i < s->n_params; i++)
        fprintf(f, "%s%s=%s%s", i ? ", " : "Parameters: ", s->params[i].name, s->params[i].value,
                i + 1 == s->n_params ? "\n\n" : "");
    if (s->loadgen_warning != NULL)
        fprintf(f, "Warning: %s\n\n", s->loadgen_warning);
    fflush(f);
    hn_leave_c_locale(old);
}
