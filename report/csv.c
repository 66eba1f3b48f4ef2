/*
 * csv.c: Locust's four CSV files (same names, header rows and number
 * formats) and the history rows appended live, from one snapshot.
 */
#include "report.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <math.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "errbuf.h"
#include "format.h"
#include "fsutil.h"

const char hn_csv_stats_header[] =
    "Type,Name,Request Count,Failure Count,Median Response Time,Average Response Time,"
    "Min Response Time,Max Response Time,Average Content Size,Requests/s,Failures/s,"
    "50%,66%,75%,80%,90%,95%,98%,99%,99.9%,99.99%,100%";
const char hn_csv_history_header[] =
    "Timestamp,User Count,Type,Name,Requests/s,Failures/s,"
    "50%,66%,75%,80%,90%,95%,98%,99%,99.9%,99.99%,100%,"
    "Total Request Count,Total Failure Count,Total Median Response Time,"
    "Total Average Response Time,Total Min Response Time,Total Max Response Time,"
    "Total Average Content Size";
const char hn_csv_failures_header[] = "Method,Name,Error,Occurrences,First Seen,Last Seen";
const char hn_csv_exceptions_header[] = "Count,Message,Traceback,Nodes";
const char hn_csv_open_header[] =
    "Arrival Rate,Achieved Rate,Iterations,Dropped Iterations,"
    "Start Lag 50%,Start Lag 95%,Start Lag Max";

/* Python's csv module (which Locust uses) ends rows with CRLF, as RFC 4180 does. */
#define CSV_EOL "\r\n"

/* One RFC 4180 field: quoted only when it holds a comma, quote, CR or LF,
 * with inner quotes doubled. Bytes pass through untouched (UTF-8 or not). */
static void csv_str(FILE *f, const char *s)
{
    if (s == NULL)
        return;
    if (strpbrk(s, ",\"\r\n") == NULL) {
        fputs(s, f);
        return;
    }
    fputc('"', f);
    for (; *s; s++) {
        if (*s == '"')
            fputc('"', f);
        fputc(*s, f);
    }
    fputc('"', f);
}

static void csv_u64(FILE *f, uint64_t v)
{
    fprintf(f, "%" PRIu64, v);
}

static void csv_ms(FILE *f, double v)
{
    fprintf(f, "%lld", hn_ms_int(v));
}

static void csv_real(FILE *f, double v)
{
    char buf[64];
    hn_fmt_real(buf, sizeof buf, v);
    fputs(buf, f);
}

static void csv_percentiles(FILE *f, const struct hn_entry_view *e)
{
    for (int i = 0; i < HN_NPCT; i++) {
        fputc(',', f);
        if (e->requests == 0)
            fputs("N/A", f);
        else
            csv_ms(f, e->pct_ms[i]);
    }
}

/* Request Count .. Average Content Size: shared by stats rows and the
 * "Total ..." tail of history rows. An entry without requests shows zeros,
 * whatever its view holds. */
static void csv_totals(FILE *f, const struct hn_entry_view *e)
{
    bool any = e->requests > 0;
    csv_u64(f, e->requests);
    fputc(',', f);
    csv_u64(f, e->failures);
    fputc(',', f);
    csv_ms(f, any ? e->median_ms : 0.0);
    fputc(',', f);
    csv_real(f, any ? e->avg_ms : 0.0);
    fputc(',', f);
    csv_ms(f, any ? e->min_ms : 0.0);
    fputc(',', f);
    csv_ms(f, any ? e->max_ms : 0.0);
    fputc(',', f);
    csv_real(f, any ? e->avg_bytes : 0.0);
}

static void csv_stats_row(FILE *f, const struct hn_entry_view *e, bool total)
{
    csv_str(f, total ? "" : e->type);
    fputc(',', f);
    csv_str(f, total ? "Aggregated" : e->name);
    fputc(',', f);
    csv_totals(f, e);
    fputc(',', f);
    csv_real(f, e->total_rps);
    fputc(',', f);
    csv_real(f, e->total_fail_s);
    csv_percentiles(f, e);
    fputs(CSV_EOL, f);
}

/* Flushes so that a write error surfaces here rather than at fclose. */
static int csv_finish(FILE *f)
{
    if (fflush(f) != 0 || ferror(f))
        return -1;
    return 0;
}

int hn_csv_write_stats(FILE *f, const struct hn_snapshot *s)
{
    if (f == NULL)
        return -1;
    locale_t old = hn_enter_c_locale();
    fputs(hn_csv_stats_header, f);
    fputs(CSV_EOL, f);
    if (s != NULL) {
        size_t n = hn_entry_count(s);
        for (size_t i = 0; i < n; i++)
            csv_stats_row(f, &s->entries[i], false);
        csv_stats_row(f, &s->total, true);
    }
    hn_leave_c_locale(old);
    return s != NULL ? csv_finish(f) : -1;
}

int hn_csv_write_failures(FILE *f, const struct hn_snapshot *s)
{
    if (f == NULL)
        return -1;
    locale_t old = hn_enter_c_locale();
    fputs(hn_csv_failures_header, f);
    fputs(CSV_EOL, f);
    size_t n = s != NULL && s->errors != NULL ? s->n_errors : 0;
    for (size_t i = 0; i < n; i++) {
        const struct hn_error_view *e = &s->errors[i];
        char first[32], last[32];
        hn_fmt_iso_utc(first, sizeof first, e->first_seen);
        hn_fmt_iso_utc(last, sizeof last, e->last_seen);
        csv_str(f, e->type);
        fputc(',', f);
        csv_str(f, e->name);
        fputc(',', f);
        csv_str(f, e->message);
        fputc(',', f);
        csv_u64(f, e->count);
        fprintf(f, ",%s,%s" CSV_EOL, first, last);
    }
    hn_leave_c_locale(old);
    return s != NULL ? csv_finish(f) : -1;
}

int hn_csv_write_exceptions(FILE *f, const struct hn_snapshot *s)
{
    if (f == NULL)
        return -1;
    locale_t old = hn_enter_c_locale();
    fputs(hn_csv_exceptions_header, f);
    fputs(CSV_EOL, f);
    size_t n = s != NULL && s->exceptions != NULL ? s->n_exceptions : 0;
    for (size_t i = 0; i < n; i++) {
        const struct hn_exception_view *x = &s->exceptions[i];
        const char *ut = x->user_type ? x->user_type : "";
        const char *task = x->task ? x->task : "";
        /* C has no traceback; where it happened ("User.task", like a Python
         * qualified name) is the useful part of one. Locust names a local
         * run's only node "local". */
        size_t len = strlen(ut) + strlen(task) + 2;
        char *where = malloc(len);
        if (where != NULL)
            snprintf(where, len, "%s%s%s", ut, *ut && *task ? "." : "", task);
        csv_u64(f, x->count);
        fputc(',', f);
        csv_str(f, x->message);
        fputc(',', f);
        csv_str(f, where);
        fputs(",local" CSV_EOL, f);
        free(where);
    }
    hn_leave_c_locale(old);
    return s != NULL ? csv_finish(f) : -1;
}

static void csv_history_row(FILE *f, long long ts, uint32_t users, const struct hn_entry_view *e,
                            bool total)
{
    fprintf(f, "%lld,%" PRIu32 ",", ts, users);
    csv_str(f, total ? "" : e->type);
    fputc(',', f);
    csv_str(f, total ? "Aggregated" : e->name);
    /* Locust's f"{x:2f}": six decimals. */
    fprintf(f, ",%.6f,%.6f", hn_finite_or_zero(e->current_rps), hn_finite_or_zero(e->current_fail_s));
    csv_percentiles(f, e);
    fputc(',', f);
    csv_totals(f, e);
    fputs(CSV_EOL, f);
}

int hn_csv_write_history_rows(FILE *f, const struct hn_snapshot *s, bool full)
{
    if (f == NULL || s == NULL)
        return -1;
    locale_t old = hn_enter_c_locale();
    double now = hn_finite_or_zero(s->now);
    long long ts = now > 0.0 && now < 9e15 ? (long long)now : 0;
    if (full) {
        size_t n = hn_entry_count(s);
        for (size_t i = 0; i < n; i++)
            csv_history_row(f, ts, s->users, &s->entries[i], false);
    }
    csv_history_row(f, ts, s->users, &s->total, true);
    hn_leave_c_locale(old);
    return csv_finish(f);
}

int hn_csv_write_open(FILE *f, const struct hn_snapshot *s)
{
    fprintf(f, "%s" CSV_EOL, hn_csv_open_header);
    csv_real(f, s->arrival_rate);
    fputc(',', f);
    csv_real(f, s->achieved_rate);
    fputc(',', f);
    csv_u64(f, s->iterations);
    fputc(',', f);
    csv_u64(f, s->dropped_iterations);
    fputc(',', f);
    csv_real(f, s->start_lag_p50_ms);
    fputc(',', f);
    csv_real(f, s->start_lag_p95_ms);
    fputc(',', f);
    csv_real(f, s->start_lag_max_ms);
    fputs(CSV_EOL, f);
    return csv_finish(f);
}

int hn_csv_write_files(const char *prefix, const struct hn_snapshot *s, char *err, size_t err_len)
{
    static const struct {
        const char *suffix;
        hn_writer_fn fn;
    } files[] = {
        {"_stats.csv", hn_csv_write_stats},
        {"_failures.csv", hn_csv_write_failures},
        {"_exceptions.csv", hn_csv_write_exceptions},
        {"_open_model.csv", hn_csv_write_open}, /* only for an open-model run */
    };
    if (prefix == NULL || prefix[0] == '\0') {
        hn_set_err(err, err_len, "empty CSV prefix");
        return -1;
    }
    if (s == NULL) {
        hn_set_err(err, err_len, "no statistics to write");
        return -1;
    }
    if (hn_make_parent_dirs(prefix, err, err_len) != 0)
        return -1;
    for (size_t i = 0; i < sizeof files / sizeof files[0]; i++) {
        if (files[i].fn == hn_csv_write_open && !s->open)
            continue;
        char *path = NULL;
        if (asprintf(&path, "%s%s", prefix, files[i].suffix) < 0) {
            hn_set_err(err, err_len, "out of memory");
            return -1;
        }
        int rc = hn_write_atomic(path, files[i].fn, s, err, err_len);
        free(path);
        if (rc != 0)
            return -1;
    }
    return 0;
}
