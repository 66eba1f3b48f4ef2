/*
 * report.c: Locust-compatible CSV files, the console table and summary, and
 * the JSON documents, all rendered from one immutable snapshot.
 *
 * Nothing here keeps state between calls except the "C" locale handle and a
 * counter for temporary file names, so every function may run on any thread.
 * Output must not depend on the process locale (a plugin may call
 * setlocale()), so each writer switches its own thread to "C" while it runs.
 */
#include "report.h"
#include "fsutil.h"
#include "textutil.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <locale.h>
#include <math.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

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

/* Python's csv module (which Locust uses) ends rows with CRLF, as RFC 4180 does. */
#define CSV_EOL "\r\n"

/* JSON keys of the percentile object, in hn_report_quantiles order. */
static const char *const pct_keys[HN_NPCT] = {"50", "66", "75",   "80",    "90", "95",
                                              "98", "99", "99.9", "99.99", "100"};

/* Console column limits. */
#define NAME_MAX_W 60
#define TYPE_MAX_W 12
#define ERROR_MAX_W 240

/* ------------------------------------------------------------------------ */
/* Locale and number helpers                                                 */

static pthread_once_t c_locale_once = PTHREAD_ONCE_INIT;
static locale_t c_locale;

static void c_locale_init(void)
{
    c_locale = newlocale(LC_ALL_MASK, "C", (locale_t)0);
}

/* Switches this thread to the "C" locale; returns what to restore. */
static locale_t enter_c_locale(void)
{
    pthread_once(&c_locale_once, c_locale_init);
    if (c_locale == (locale_t)0)
        return (locale_t)0;
    return uselocale(c_locale);
}

static void leave_c_locale(locale_t old)
{
    if (old != (locale_t)0)
        uselocale(old);
}

static double finite_or_zero(double v)
{
    return isfinite(v) ? v : 0.0;
}

/* Milliseconds as a rounded integer, clamped so the conversion is defined. */
static long long ms_int(double v)
{
    v = finite_or_zero(v);
    if (v > 9e15)
        v = 9e15;
    if (v < -9e15)
        v = -9e15;
    return llround(v);
}

/* The shortest text that reads back as the same double, written the way
 * Python's repr() writes floats (plain notation from 1e-4 to 1e16, a ".0"
 * on whole numbers), so columns Locust writes as floats look the same. */
static void fmt_real(char *buf, size_t n, double v)
{
    v = finite_or_zero(v);
    if (v == 0.0)
        v = 0.0; /* no "-0" */
    int prec = 1;
    for (; prec < 17; prec++) {
        snprintf(buf, n, "%.*e", prec - 1, v);
        if (strtod(buf, NULL) == v)
            break;
    }
    snprintf(buf, n, "%.*e", prec - 1, v);
    const char *e = strchr(buf, 'e');
    int exp10 = e ? atoi(e + 1) : 0;
    if (exp10 < -4 || exp10 >= 16)
        return;
    /* Same significant digits, so the plain form reads back the same. */
    int decimals = prec - 1 - exp10;
    snprintf(buf, n, "%.*f", decimals > 0 ? decimals : 0, v);
    if (strchr(buf, '.') == NULL) {
        size_t len = strlen(buf);
        if (len + 3 <= n)
            memcpy(buf + len, ".0", 3);
    }
}

/* UTC ISO 8601 ("2024-05-01T12:00:00Z"); empty for "never". */
static void fmt_iso_utc(char *buf, size_t n, double t)
{
    buf[0] = '\0';
    /* Year 9999 bounds the conversion to time_t. */
    if (!isfinite(t) || t <= 0.0 || t >= 253402300800.0)
        return;
    time_t tt = (time_t)t;
    struct tm tm;
    if (gmtime_r(&tt, &tm) == NULL || strftime(buf, n, "%Y-%m-%dT%H:%M:%SZ", &tm) == 0)
        buf[0] = '\0';
}

static double fail_ratio(uint64_t requests, uint64_t failures)
{
    if (requests == 0)
        return failures ? 1.0 : 0.0;
    return (double)failures / (double)requests;
}

static size_t count_entries(const struct hn_snapshot *s)
{
    return s->entries ? s->n_entries : 0;
}

/* ------------------------------------------------------------------------ */
/* CSV                                                                       */

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
    fprintf(f, "%lld", ms_int(v));
}

static void csv_real(FILE *f, double v)
{
    char buf[64];
    fmt_real(buf, sizeof buf, v);
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
    locale_t old = enter_c_locale();
    fputs(hn_csv_stats_header, f);
    fputs(CSV_EOL, f);
    if (s != NULL) {
        size_t n = count_entries(s);
        for (size_t i = 0; i < n; i++)
            csv_stats_row(f, &s->entries[i], false);
        csv_stats_row(f, &s->total, true);
    }
    leave_c_locale(old);
    return s != NULL ? csv_finish(f) : -1;
}

int hn_csv_write_failures(FILE *f, const struct hn_snapshot *s)
{
    if (f == NULL)
        return -1;
    locale_t old = enter_c_locale();
    fputs(hn_csv_failures_header, f);
    fputs(CSV_EOL, f);
    size_t n = s != NULL && s->errors != NULL ? s->n_errors : 0;
    for (size_t i = 0; i < n; i++) {
        const struct hn_error_view *e = &s->errors[i];
        char first[32], last[32];
        fmt_iso_utc(first, sizeof first, e->first_seen);
        fmt_iso_utc(last, sizeof last, e->last_seen);
        csv_str(f, e->type);
        fputc(',', f);
        csv_str(f, e->name);
        fputc(',', f);
        csv_str(f, e->message);
        fputc(',', f);
        csv_u64(f, e->count);
        fprintf(f, ",%s,%s" CSV_EOL, first, last);
    }
    leave_c_locale(old);
    return s != NULL ? csv_finish(f) : -1;
}

int hn_csv_write_exceptions(FILE *f, const struct hn_snapshot *s)
{
    if (f == NULL)
        return -1;
    locale_t old = enter_c_locale();
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
    leave_c_locale(old);
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
    fprintf(f, ",%.6f,%.6f", finite_or_zero(e->current_rps), finite_or_zero(e->current_fail_s));
    csv_percentiles(f, e);
    fputc(',', f);
    csv_totals(f, e);
    fputs(CSV_EOL, f);
}

int hn_csv_write_history_rows(FILE *f, const struct hn_snapshot *s, bool full)
{
    if (f == NULL || s == NULL)
        return -1;
    locale_t old = enter_c_locale();
    double now = finite_or_zero(s->now);
    long long ts = now > 0.0 && now < 9e15 ? (long long)now : 0;
    if (full) {
        size_t n = count_entries(s);
        for (size_t i = 0; i < n; i++)
            csv_history_row(f, ts, s->users, &s->entries[i], false);
    }
    csv_history_row(f, ts, s->users, &s->total, true);
    leave_c_locale(old);
    return csv_finish(f);
}

static void set_err(char *err, size_t err_len, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void set_err(char *err, size_t err_len, const char *fmt, ...)
{
    if (err == NULL || err_len == 0)
        return;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err, err_len, fmt, ap);
    va_end(ap);
}

/* mkdir -p for the directory part of prefix ("out/run1/x" -> "out/run1"). */
static int make_parent_dirs(const char *prefix, char *err, size_t err_len)
{
    char failed[512];
    if (hn_mkdirs_parent(prefix, 0777, failed, sizeof failed) == 0)
        return 0;
    set_err(err, err_len, "cannot create directory '%s': %m", failed);
    return -1;
}

typedef int (*csv_writer_fn)(FILE *f, const struct hn_snapshot *s);

/* Writes path through a temporary file in the same directory and renames it
 * into place, so a reader (or a crash) never sees half a file. The
 * temporary is created with mode 0666 so the umask applies as it would to
 * a plain fopen(). */
static int write_atomic(const char *path, csv_writer_fn fn, const struct hn_snapshot *s, char *err,
                        size_t err_len)
{
    static atomic_uint seq;
    char *tmp = NULL;
    if (asprintf(&tmp, "%s.tmp.%ld.%u", path, (long)getpid(), atomic_fetch_add(&seq, 1)) < 0) {
        set_err(err, err_len, "out of memory");
        return -1;
    }
    int fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0666);
    if (fd < 0) {
        set_err(err, err_len, "cannot write '%s': %m", path);
        free(tmp);
        return -1;
    }
    FILE *f = fdopen(fd, "w");
    if (f == NULL) {
        int e = errno;
        close(fd);
        unlink(tmp);
        free(tmp);
        errno = e;
        set_err(err, err_len, "cannot write '%s': %m", path);
        return -1;
    }
    errno = 0;
    int rc = fn(f, s);
    int e = errno;
    if (fclose(f) != 0 && rc == 0) {
        rc = -1;
        e = errno;
    }
    if (rc == 0 && rename(tmp, path) != 0) {
        rc = -1;
        e = errno;
    }
    if (rc != 0) {
        unlink(tmp);
        if (e != 0) {
            errno = e;
            set_err(err, err_len, "cannot write '%s': %m", path);
        } else {
            set_err(err, err_len, "cannot write '%s': write error", path);
        }
    }
    free(tmp);
    return rc;
}

int hn_csv_write_files(const char *prefix, const struct hn_snapshot *s, char *err, size_t err_len)
{
    static const struct {
        const char *suffix;
        csv_writer_fn fn;
    } files[] = {
        {"_stats.csv", hn_csv_write_stats},
        {"_failures.csv", hn_csv_write_failures},
        {"_exceptions.csv", hn_csv_write_exceptions},
    };
    if (prefix == NULL || prefix[0] == '\0') {
        set_err(err, err_len, "empty CSV prefix");
        return -1;
    }
    if (s == NULL) {
        set_err(err, err_len, "no statistics to write");
        return -1;
    }
    if (make_parent_dirs(prefix, err, err_len) != 0)
        return -1;
    for (size_t i = 0; i < sizeof files / sizeof files[0]; i++) {
        char *path = NULL;
        if (asprintf(&path, "%s%s", prefix, files[i].suffix) < 0) {
            set_err(err, err_len, "out of memory");
            return -1;
        }
        int rc = write_atomic(path, files[i].fn, s, err, err_len);
        free(path);
        if (rc != 0)
            return -1;
    }
    return 0;
}

/* ------------------------------------------------------------------------ */
/* Console                                                                   */

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
    size_t n = count_entries(s);
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

static void stats_line(FILE *f, const struct widths *w, const struct hn_entry_view *e, bool total,
                       bool current)
{
    char fails[48];
    snprintf(fails, sizeof fails, "%" PRIu64 "(%.2f%%)", e->failures,
             fail_ratio(e->requests, e->failures) * 100.0);
    bool any = e->requests > 0;
    double rps = current ? e->current_rps : e->total_rps;
    double fps = current ? e->current_fail_s : e->total_fail_s;
    put_cell(f, total ? "" : e->type, w->type, false);
    fputc(' ', f);
    put_cell(f, total ? "Aggregated" : e->name, w->name, false);
    fprintf(f, " %*" PRIu64 " %*s | %*lld %*lld %*lld %*lld | %*.2f %*.2f\n", W_REQS, e->requests,
            W_FAILS, fails, W_MS, any ? ms_int(e->avg_ms) : 0, W_MS, any ? ms_int(e->min_ms) : 0,
            W_MS, any ? ms_int(e->max_ms) : 0, W_MS, any ? ms_int(e->median_ms) : 0, W_RPS,
            finite_or_zero(rps), W_FAILS_S, finite_or_zero(fps));
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
    size_t n = count_entries(s);
    for (size_t i = 0; i < n; i++)
        stats_line(f, &w, &s->entries[i], false, current);
    stats_separator(f, &w);
    stats_line(f, &w, &s->total, true, current);
}

void hn_console_table(FILE *f, const struct hn_snapshot *s)
{
    if (f == NULL || s == NULL)
        return;
    locale_t old = enter_c_locale();
    stats_table(f, s, true);
    fputc('\n', f);
    fflush(f);
    leave_c_locale(old);
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
    for (int i = 0; i < HN_NPCT; i++)
        fprintf(f, " %*lld", W_PCT, ms_int(e->pct_ms[i]));
    fprintf(f, " %*" PRIu64 "\n", W_REQS, e->requests);
}

static void percentile_table(FILE *f, const struct hn_snapshot *s)
{
    static const char *const heads[HN_NPCT] = {"50%", "66%", "75%",   "80%",    "90%", "95%",
                                               "98%", "99%", "99.9%", "99.99%", "100%"};
    struct widths w = table_widths(s);
    fputs("Response time percentiles (approximated)\n", f);
    put_cell(f, "Type", w.type, false);
    fputc(' ', f);
    put_cell(f, "Name", w.name, false);
    for (int i = 0; i < HN_NPCT; i++)
        fprintf(f, " %*s", W_PCT, heads[i]);
    fprintf(f, " %*s\n", W_REQS, "# reqs");
    pct_separator(f, &w);
    /* As Locust: entries without a single request have no percentiles. */
    size_t n = count_entries(s);
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

void hn_console_summary(FILE *f, const struct hn_snapshot *s)
{
    if (f == NULL || s == NULL)
        return;
    locale_t old = enter_c_locale();
    stats_table(f, s, false);
    fputc('\n', f);
    percentile_table(f, s);
    error_report(f, s);
    exception_report(f, s);
    fflush(f);
    leave_c_locale(old);
}

/* ------------------------------------------------------------------------ */
/* JSON                                                                      */

static json_t *jreal(double v)
{
    return json_real(finite_or_zero(v));
}

static json_t *jcount(uint64_t v)
{
    return json_integer(v > (uint64_t)LLONG_MAX ? LLONG_MAX : (json_int_t)v);
}

static void put(json_t *o, const char *key, json_t *v)
{
    /* json_object_set_new() takes v even on failure, and ignores NULL. */
    json_object_set_new(o, key, v);
}

static json_t *entry_json(const struct hn_entry_view *e, bool total)
{
    json_t *o = json_object();
    if (o == NULL)
        return NULL;
    bool any = e->requests > 0;
    put(o, "type", hn_json_text(total && e->type == NULL ? "" : e->type));
    put(o, "name", hn_json_text(total && e->name == NULL ? "Aggregated" : e->name));
    put(o, "requests", jcount(e->requests));
    put(o, "failures", jcount(e->failures));
    put(o, "avg_ms", jreal(any ? e->avg_ms : 0.0));
    put(o, "min_ms", jreal(any ? e->min_ms : 0.0));
    put(o, "max_ms", jreal(any ? e->max_ms : 0.0));
    put(o, "median_ms", jreal(any ? e->median_ms : 0.0));
    put(o, "avg_bytes", jreal(any ? e->avg_bytes : 0.0));
    put(o, "total_rps", jreal(e->total_rps));
    put(o, "total_fail_s", jreal(e->total_fail_s));
    put(o, "current_rps", jreal(e->current_rps));
    put(o, "current_fail_s", jreal(e->current_fail_s));
    if (total) {
        /* The 10 s window's percentiles are kept for the aggregate only
         * (the live charts); per entry there are the cumulative ones. */
        put(o, "cur_p50_ms", jreal(e->cur_p50_ms));
        put(o, "cur_p95_ms", jreal(e->cur_p95_ms));
        put(o, "cur_p99_ms", jreal(e->cur_p99_ms));
    }
    put(o, "fail_ratio", jreal(fail_ratio(e->requests, e->failures)));
    json_t *pct = json_object();
    if (pct != NULL)
        for (int i = 0; i < HN_NPCT; i++)
            put(pct, pct_keys[i], any ? jreal(e->pct_ms[i]) : json_null());
    put(o, "percentiles", pct);
    return o;
}

static json_t *entries_json(const struct hn_snapshot *s)
{
    json_t *a = json_array();
    size_t n = count_entries(s);
    for (size_t i = 0; a != NULL && i < n; i++)
        json_array_append_new(a, entry_json(&s->entries[i], false));
    return a;
}

static json_t *errors_json(const struct hn_snapshot *s)
{
    json_t *a = json_array();
    size_t n = s->errors ? s->n_errors : 0;
    for (size_t i = 0; a != NULL && i < n; i++) {
        const struct hn_error_view *e = &s->errors[i];
        json_t *o = json_object();
        if (o == NULL)
            break;
        put(o, "type", hn_json_text(e->type));
        put(o, "name", hn_json_text(e->name));
        put(o, "message", hn_json_text(e->message));
        put(o, "count", jcount(e->count));
        put(o, "first_seen", jreal(e->first_seen));
        put(o, "last_seen", jreal(e->last_seen));
        json_array_append_new(a, o);
    }
    return a;
}

static json_t *exceptions_json(const struct hn_snapshot *s)
{
    json_t *a = json_array();
    size_t n = s->exceptions ? s->n_exceptions : 0;
    for (size_t i = 0; a != NULL && i < n; i++) {
        const struct hn_exception_view *x = &s->exceptions[i];
        json_t *o = json_object();
        if (o == NULL)
            break;
        put(o, "user_type", hn_json_text(x->user_type));
        put(o, "task", hn_json_text(x->task));
        put(o, "message", hn_json_text(x->message));
        put(o, "count", jcount(x->count));
        put(o, "first_seen", jreal(x->first_seen));
        put(o, "last_seen", jreal(x->last_seen));
        json_array_append_new(a, o);
    }
    return a;
}

static json_t *ratios_json(const struct hn_snapshot *s)
{
    json_t *a = json_array();
    size_t n = s->ratios ? s->n_ratios : 0;
    for (size_t i = 0; a != NULL && i < n; i++) {
        const struct hn_ratio_view *r = &s->ratios[i];
        json_t *o = json_object();
        if (o == NULL)
            break;
        put(o, "user_type", hn_json_text(r->user_type));
        put(o, "users", json_integer(r->users));
        put(o, "ratio", jreal(r->ratio));
        json_t *tasks = json_array();
        size_t nt = r->tasks ? r->n_tasks : 0;
        for (size_t k = 0; tasks != NULL && k < nt; k++) {
            json_t *t = json_object();
            if (t == NULL)
                break;
            put(t, "task", hn_json_text(r->tasks[k].task));
            put(t, "ratio", jreal(r->tasks[k].ratio));
            json_array_append_new(tasks, t);
        }
        put(o, "tasks", tasks);
        json_array_append_new(a, o);
    }
    return a;
}

static json_t *workers_json(const struct hn_snapshot *s)
{
    json_t *a = json_array();
    for (size_t i = 0; a != NULL && i < s->n_workers; i++) {
        const struct hn_worker_view *w = &s->workers[i];
        json_t *o = json_object();
        if (o == NULL)
            break;
        put(o, "id", hn_json_text(w->id));
        put(o, "host", hn_json_text(w->host));
        put(o, "state", hn_json_text(w->state));
        put(o, "users", json_integer(w->users));
        put(o, "threads", json_integer(w->threads));
        put(o, "cpu_percent", jreal(w->cpu_percent));
        put(o, "rss_bytes", jcount(w->rss_bytes));
        put(o, "last_heartbeat", jreal(w->last_heartbeat));
        json_array_append_new(a, o);
    }
    return a;
}

static size_t workers_ready(const struct hn_snapshot *s)
{
    size_t n = 0;
    for (size_t i = 0; i < s->n_workers; i++)
        n += strcmp(s->workers[i].state, "missing") != 0;
    return n;
}

json_t *hn_snapshot_to_json(const struct hn_snapshot *s)
{
    if (s == NULL)
        return NULL;
    json_t *o = json_object();
    if (o == NULL)
        return NULL;
    put(o, "seq", jcount(s->seq));
    put(o, "state", hn_json_text(hn_state_name(s->state)));
    put(o, "host", hn_json_text(s->host));
    put(o, "users", json_integer(s->users));
    put(o, "target_users", json_integer(s->target_users));
    put(o, "spawn_rate", jreal(s->spawn_rate));
    put(o, "start_time", jreal(s->start_time));
    put(o, "end_time", jreal(s->end_time));
    put(o, "now", jreal(s->now));
    put(o, "active_s", jreal(s->active_s));
    put(o, "run_time_s", jreal(s->run_time_s));
    put(o, "stop_reason", hn_json_text_or_null(s->stop_reason));
    put(o, "entries", entries_json(s));
    put(o, "total", entry_json(&s->total, true));
    put(o, "errors", errors_json(s));
    put(o, "exceptions", exceptions_json(s));
    put(o, "ratios", ratios_json(s));
    put(o, "fail_ratio", jreal(fail_ratio(s->total.requests, s->total.failures)));
    put(o, "distributed", json_boolean(s->distributed));
    put(o, "worker_count", json_integer((json_int_t)workers_ready(s)));
    put(o, "workers", workers_json(s));
    return o;
}

json_t *hn_history_to_json(const struct hn_history_point *h, size_t n)
{
    json_t *a = json_array();
    if (h == NULL)
        n = 0;
    for (size_t i = 0; a != NULL && i < n; i++) {
        json_t *o = json_object();
        if (o == NULL)
            break;
        put(o, "time", jreal(h[i].time));
        put(o, "users", json_integer(h[i].users));
        put(o, "rps", jreal(h[i].rps));
        put(o, "fail_s", jreal(h[i].fail_s));
        put(o, "p50_ms", jreal(h[i].p50_ms));
        put(o, "p95_ms", jreal(h[i].p95_ms));
        put(o, "p99_ms", jreal(h[i].p99_ms));
        put(o, "requests", jcount(h[i].requests));
        put(o, "failures", jcount(h[i].failures));
        json_array_append_new(a, o);
    }
    return a;
}

json_t *hn_result_to_json(const struct hn_snapshot *s, const struct hn_history_point *h, size_t n,
                          const char *plugin_path, const char *version)
{
    if (s == NULL)
        return NULL;
    json_t *o = json_object();
    json_t *run = json_object();
    if (o == NULL || run == NULL) {
        json_decref(o);
        json_decref(run);
        return NULL;
    }
    put(o, "format", json_string("hornet-result"));
    put(o, "version", json_integer(1));
    put(o, "hornet_version", hn_json_text_or_null(version));
    put(o, "plugin", hn_json_text_or_null(plugin_path));
    put(run, "state", hn_json_text(hn_state_name(s->state)));
    put(run, "host", hn_json_text(s->host));
    put(run, "users", json_integer(s->users));
    put(run, "target_users", json_integer(s->target_users));
    put(run, "spawn_rate", jreal(s->spawn_rate));
    put(run, "start_time", jreal(s->start_time));
    put(run, "end_time", jreal(s->end_time));
    put(run, "duration_s", jreal(s->active_s));
    put(run, "run_time_s", jreal(s->run_time_s));
    put(run, "stop_reason", hn_json_text_or_null(s->stop_reason));
    put(o, "run", run);
    put(o, "fail_ratio", jreal(fail_ratio(s->total.requests, s->total.failures)));
    put(o, "total", entry_json(&s->total, true));
    put(o, "entries", entries_json(s));
    if (s->distributed)
        put(o, "workers", workers_json(s));
    put(o, "errors", errors_json(s));
    put(o, "exceptions", exceptions_json(s));
    put(o, "ratios", ratios_json(s));
    put(o, "history", hn_history_to_json(h, n));
    return o;
}
