/*
 * test_report.c: CSV, console and JSON output from hand-built snapshots.
 *
 * The CSV checks parse the output back with a small RFC 4180 reader, so a
 * quoting mistake shows up as a wrong field rather than passing unnoticed.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <dirent.h>
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "report.h"

/* cmocka's assert_float_equal works in float, too coarse for timestamps. */
#define assert_near(a, b, eps) near((a), (b), (eps), #a, __FILE__, __LINE__)

static void near(double a, double b, double eps, const char *expr, const char *file, int line)
{
    if (!(fabs(a - b) <= eps)) {
        print_error("%s = %.17g, expected %.17g\n", expr, a, b);
        _fail(file, line);
    }
}

/* ------------------------------------------------------------------------ */
/* String pool: the snapshot structs hold char *, the tests hold literals.   */

static char *pool[256];
static size_t npool;

static char *S(const char *lit)
{
    assert_true(npool < sizeof pool / sizeof pool[0]);
    char *p = strdup(lit);
    assert_non_null(p);
    pool[npool++] = p;
    return p;
}

static void pool_free(void)
{
    while (npool > 0)
        free(pool[--npool]);
}

/* ------------------------------------------------------------------------ */
/* Fixture snapshot                                                          */

#define LONG_NAME                                                                          \
    "/very/long/path/0123456789/0123456789/0123456789/0123456789/0123456789/0123456789/" \
    "0123456789/end"
#define UTF8_NAME "h\xC3\xA9llo w\xC3\xB6rld \xE2\x9C\x93 \xE6\x97\xA5\xE6\x9C\xAC"

static const double pct_a[HN_NPCT] = {12, 15, 18, 20, 30, 50, 80, 120, 200.4, 240.5, 250.6};

enum { E_ROOT, E_SCRIPT, E_QUOTED, E_COMMA, E_UTF8, E_ZERO, E_NEWLINE, E_LONG, E_FAILONLY, N_E };

struct fixture {
    struct hn_snapshot s;
    struct hn_entry_view entries[N_E];
    struct hn_error_view errors[2];
    struct hn_exception_view exceptions[1];
    struct hn_ratio_view ratios[1];
    struct hn_task_ratio tasks[2];
};

static void set_entry(struct hn_entry_view *e, const char *type, const char *name,
                      uint64_t requests, uint64_t failures, double scale)
{
    memset(e, 0, sizeof *e);
    e->type = S(type);
    e->name = S(name);
    e->requests = requests;
    e->failures = failures;
    if (requests > 0) {
        e->avg_ms = 12.5 * scale;
        e->min_ms = 1.4 * scale;
        e->max_ms = 250.6 * scale;
        e->median_ms = 11.7 * scale;
        e->avg_bytes = 1024.5;
        for (int i = 0; i < HN_NPCT; i++)
            e->pct_ms[i] = pct_a[i] * scale;
        e->cur_p50_ms = 10 * scale;
        e->cur_p95_ms = 45 * scale;
        e->cur_p99_ms = 100 * scale;
    }
    e->total_rps = (double)requests / 3.0;
    e->total_fail_s = (double)failures / 3.0;
    e->current_rps = 12.3456789;
    e->current_fail_s = 1.5;
}

static void build(struct fixture *fx)
{
    memset(fx, 0, sizeof *fx);
    struct hn_entry_view *e = fx->entries;
    set_entry(&e[E_ROOT], "GET", "/", 100, 10, 1.0);
    set_entry(&e[E_SCRIPT], "POST", "</script>", 5, 0, 2.0);
    set_entry(&e[E_QUOTED], "GET", "\"quoted\"", 7, 1, 1.0);
    set_entry(&e[E_COMMA], "GET", "a,b", 3, 0, 1.0);
    set_entry(&e[E_UTF8], "custom", UTF8_NAME, 2, 0, 1.0);
    set_entry(&e[E_ZERO], "GET", "/zero", 0, 0, 1.0);
    set_entry(&e[E_NEWLINE], "GET", "line\nbreak\r\n", 1, 0, 1.0);
    set_entry(&e[E_LONG], "GET", LONG_NAME, 4, 0, 1.0);
    set_entry(&e[E_FAILONLY], "WEBSOCKET", "/ws", 0, 3, 1.0);
    e[E_COMMA].avg_bytes = 5120.0;
    e[E_COMMA].total_rps = 20.0;
    e[E_COMMA].total_fail_s = 1e-5;
    e[E_UTF8].avg_bytes = 0.0001;
    e[E_UTF8].total_rps = 0.1;
    e[E_UTF8].total_fail_s = 1.5e16;
    /* The zero-request view holds junk that must not leak into outputs. */
    e[E_ZERO].min_ms = 1e300;
    e[E_ZERO].pct_ms[0] = NAN;

    set_entry(&fx->s.total, "", "Aggregated", 122, 14, 1.0);
    fx->s.total.avg_ms = 12.345;
    fx->s.total.total_rps = 33.333333333333336;
    fx->s.total.total_fail_s = 4.666666666666667;

    fx->errors[0] = (struct hn_error_view){S("GET"), S("/"), S("HTTP 500, \"Internal\""), 7,
                                           1714564800.0, 1714564859.9};
    fx->errors[1] = (struct hn_error_view){S("POST"), S("</script>"), S("timeout\nafter 5s"), 3,
                                           1714564801.0, 1714564802.0};
    fx->exceptions[0] = (struct hn_exception_view){S("ShopUser"), S("checkout"),
                                                   S("KeyError: 'cart'"), 3, 1714564810.0,
                                                   1714564820.0};
    fx->tasks[0] = (struct hn_task_ratio){S("browse"), 0.75};
    fx->tasks[1] = (struct hn_task_ratio){S("checkout"), 0.25};
    fx->ratios[0] = (struct hn_ratio_view){S("ShopUser"), 10, 1.0, 2, fx->tasks};

    struct hn_snapshot *s = &fx->s;
    s->refs = 1;
    s->seq = 42;
    s->state = HN_STATE_RUNNING;
    s->host = S("http://127.0.0.1:8080");
    s->users = 10;
    s->target_users = 20;
    s->spawn_rate = 2.5;
    s->start_time = 1714564800.25;
    s->end_time = 0;
    s->now = 1714564860.75;
    s->active_s = 60.5;
    s->run_time_s = 120;
    s->n_entries = N_E;
    s->entries = fx->entries;
    s->n_errors = 2;
    s->errors = fx->errors;
    s->n_exceptions = 1;
    s->exceptions = fx->exceptions;
    s->n_ratios = 1;
    s->ratios = fx->ratios;
    s->stop_reason = NULL;
}

static void build_empty(struct hn_snapshot *s)
{
    memset(s, 0, sizeof *s);
    s->total.type = S("");
    s->total.name = S("Aggregated");
    s->now = 1714564860.0;
    s->state = HN_STATE_READY;
}

/* ------------------------------------------------------------------------ */
/* Capturing output and reading CSV back                                     */

typedef int (*writer_fn)(FILE *f, const struct hn_snapshot *s);

/* Runs fn into memory; returns the malloc'ed text. */
static char *capture(writer_fn fn, const struct hn_snapshot *s)
{
    char *buf = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&buf, &len);
    assert_non_null(f);
    assert_int_equal(fn(f, s), 0);
    assert_int_equal(fclose(f), 0);
    return buf;
}

static char *capture_history(const struct hn_snapshot *s, bool full)
{
    char *buf = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&buf, &len);
    assert_non_null(f);
    assert_int_equal(hn_csv_write_history_rows(f, s, full), 0);
    assert_int_equal(fclose(f), 0);
    return buf;
}

static char *capture_console(void (*fn)(FILE *, const struct hn_snapshot *),
                             const struct hn_snapshot *s)
{
    char *buf = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&buf, &len);
    assert_non_null(f);
    fn(f, s);
    assert_int_equal(fclose(f), 0);
    /* A copy: gcc 12 at -O3 takes open_memstream's buffer for a pointer to
     * the local `buf` and flags every later use as dangling. */
    char *out = strdup(buf);
    free(buf);
    assert_non_null(out);
    return out;
}

struct csv_row {
    size_t n;
    char **f;
};

struct csv {
    size_t n;
    struct csv_row *rows;
};

/* A strict RFC 4180 reader: every row must end with CRLF, quoted fields may
 * hold anything, a quote inside one must be doubled. Fails the test on any
 * malformed input. */
static struct csv csv_parse(const char *p)
{
    struct csv c = {0, NULL};
    while (*p) {
        struct csv_row r = {0, NULL};
        for (;;) {
            size_t cap = strlen(p) + 1;
            char *field = malloc(cap);
            assert_non_null(field);
            size_t o = 0;
            if (*p == '"') {
                p++;
                for (;;) {
                    assert_true(*p != '\0'); /* unterminated quoted field */
                    if (*p == '"') {
                        if (p[1] == '"') {
                            field[o++] = '"';
                            p += 2;
                            continue;
                        }
                        p++;
                        break;
                    }
                    field[o++] = *p++;
                }
            } else {
                while (*p && *p != ',' && *p != '\r' && *p != '\n') {
                    assert_true(*p != '"'); /* a bare quote needs quoting */
                    field[o++] = *p++;
                }
            }
            field[o] = '\0';
            r.f = realloc(r.f, (r.n + 1) * sizeof *r.f);
            assert_non_null(r.f);
            r.f[r.n++] = field;
            if (*p == ',') {
                p++;
                continue;
            }
            assert_true(p[0] == '\r' && p[1] == '\n');
            p += 2;
            break;
        }
        c.rows = realloc(c.rows, (c.n + 1) * sizeof *c.rows);
        assert_non_null(c.rows);
        c.rows[c.n++] = r;
    }
    return c;
}

static void csv_free(struct csv *c)
{
    for (size_t i = 0; i < c->n; i++) {
        for (size_t k = 0; k < c->rows[i].n; k++)
            free(c->rows[i].f[k]);
        free(c->rows[i].f);
    }
    free(c->rows);
}

/* The header row joined back, to compare with the exact Locust line. */
static void assert_header(const struct csv *c, const char *expect)
{
    assert_true(c->n >= 1);
    char line[1024] = "";
    for (size_t i = 0; i < c->rows[0].n; i++) {
        if (i)
            strcat(line, ",");
        strcat(line, c->rows[0].f[i]);
    }
    assert_string_equal(line, expect);
}

static size_t ncols(const char *header)
{
    size_t n = 1;
    for (; *header; header++)
        n += *header == ',';
    return n;
}

static int teardown(void **state)
{
    pool_free();
    return 0;
}

/* ------------------------------------------------------------------------ */
/* CSV tests                                                                 */

static void test_headers_exact(void **state)
{
    assert_string_equal(hn_csv_stats_header,
                        "Type,Name,Request Count,Failure Count,Median Response Time,Average "
                        "Response Time,Min Response Time,Max Response Time,Average Content "
                        "Size,Requests/s,Failures/s,50%,66%,75%,80%,90%,95%,98%,99%,99.9%,99."
                        "99%,100%");
    assert_string_equal(
        hn_csv_history_header,
        "Timestamp,User Count,Type,Name,Requests/s,Failures/s,50%,66%,75%,80%,90%,95%,98%,99%,"
        "99.9%,99.99%,100%,Total Request Count,Total Failure Count,Total Median Response Time,"
        "Total Average Response Time,Total Min Response Time,Total Max Response Time,Total "
        "Average Content Size");
    assert_string_equal(hn_csv_failures_header,
                        "Method,Name,Error,Occurrences,First Seen,Last Seen");
    assert_string_equal(hn_csv_exceptions_header, "Count,Message,Traceback,Nodes");
    /* The percentile columns follow the shared quantile names. */
    for (int i = 0; i < HN_NPCT; i++)
        assert_non_null(strstr(hn_csv_stats_header, hn_report_quantile_names[i]));
}

static void test_stats_csv(void **state)
{
    struct fixture fx;
    build(&fx);
    char *text = capture(hn_csv_write_stats, &fx.s);
    /* The first line is the header byte for byte. */
    assert_memory_equal(text, hn_csv_stats_header, strlen(hn_csv_stats_header));
    assert_memory_equal(text + strlen(hn_csv_stats_header), "\r\n", 2);

    struct csv c = csv_parse(text);
    assert_header(&c, hn_csv_stats_header);
    assert_int_equal(c.n, 1 + N_E + 1);
    for (size_t i = 0; i < c.n; i++)
        assert_int_equal(c.rows[i].n, ncols(hn_csv_stats_header));

    /* Every name comes back exactly, whatever it holds. */
    for (size_t i = 0; i < N_E; i++) {
        assert_string_equal(c.rows[1 + i].f[0], fx.entries[i].type);
        assert_string_equal(c.rows[1 + i].f[1], fx.entries[i].name);
    }

    char **r = c.rows[1 + E_ROOT].f;
    assert_string_equal(r[2], "100");
    assert_string_equal(r[3], "10");
    assert_string_equal(r[4], "12");    /* median 11.7 rounded */
    assert_string_equal(r[5], "12.5");  /* average keeps decimals */
    assert_string_equal(r[6], "1");     /* min 1.4 */
    assert_string_equal(r[7], "251");   /* max 250.6 */
    assert_string_equal(r[8], "1024.5");
    assert_string_equal(r[9], "33.333333333333336"); /* total rps, full precision */
    assert_string_equal(r[10], "3.3333333333333335");
    assert_string_equal(r[11], "12");
    assert_string_equal(r[18], "120"); /* 99% */
    assert_string_equal(r[19], "200"); /* 99.9%: 200.4 */
    assert_string_equal(r[20], "241"); /* 99.99%: 240.5 rounds up */
    assert_string_equal(r[21], "251"); /* 100% */

    /* Floats as Python's repr() writes them. */
    r = c.rows[1 + E_COMMA].f;
    assert_string_equal(r[8], "5120.0");
    assert_string_equal(r[9], "20.0");
    assert_string_equal(r[10], "1e-05");
    r = c.rows[1 + E_UTF8].f;
    assert_string_equal(r[8], "0.0001");
    assert_string_equal(r[9], "0.1");
    assert_string_equal(r[10], "1.5e+16");

    /* No requests: zeros and N/A, never the junk in the view. */
    r = c.rows[1 + E_ZERO].f;
    assert_string_equal(r[2], "0");
    assert_string_equal(r[4], "0");
    assert_string_equal(r[5], "0.0");
    assert_string_equal(r[6], "0");
    assert_string_equal(r[7], "0");
    for (int i = 11; i < 22; i++)
        assert_string_equal(r[i], "N/A");
    r = c.rows[1 + E_FAILONLY].f;
    assert_string_equal(r[3], "3");
    assert_string_equal(r[11], "N/A");

    /* Aggregated last, with an empty Type. */
    r = c.rows[c.n - 1].f;
    assert_string_equal(r[0], "");
    assert_string_equal(r[1], "Aggregated");
    assert_string_equal(r[2], "122");
    assert_string_equal(r[5], "12.345");
    assert_string_equal(r[9], "33.333333333333336");

    /* Raw quoting: minimal, doubled inner quotes. */
    assert_non_null(strstr(text, "\r\nGET,/,100,"));
    assert_non_null(strstr(text, "\r\nGET,\"\"\"quoted\"\"\",7,"));
    assert_non_null(strstr(text, "\r\nGET,\"a,b\",3,"));
    assert_non_null(strstr(text, "\r\nPOST,</script>,5,"));
    assert_non_null(strstr(text, "\r\ncustom," UTF8_NAME ",2,"));
    assert_non_null(strstr(text, "\r\nGET,\"line\nbreak\r\n\",1,"));
    csv_free(&c);
    free(text);
}

static void test_stats_csv_empty(void **state)
{
    struct hn_snapshot s;
    build_empty(&s);
    char *text = capture(hn_csv_write_stats, &s);
    struct csv c = csv_parse(text);
    assert_int_equal(c.n, 2);
    assert_string_equal(c.rows[1].f[1], "Aggregated");
    assert_string_equal(c.rows[1].f[2], "0");
    assert_string_equal(c.rows[1].f[9], "0.0");
    assert_string_equal(c.rows[1].f[21], "N/A");
    csv_free(&c);
    free(text);

    /* Bad arguments are refused, not crashed on. */
    assert_int_equal(hn_csv_write_stats(NULL, &s), -1);
    assert_int_equal(hn_csv_write_history_rows(stdout, NULL, false), -1);
}

static void test_history_rows(void **state)
{
    struct fixture fx;
    build(&fx);
    char *text = capture_history(&fx.s, false);
    struct csv c = csv_parse(text);
    assert_int_equal(c.n, 1);
    assert_int_equal(c.rows[0].n, ncols(hn_csv_history_header));
    char **r = c.rows[0].f;
    assert_string_equal(r[0], "1714564860"); /* whole unix seconds */
    assert_string_equal(r[1], "10");
    assert_string_equal(r[2], "");
    assert_string_equal(r[3], "Aggregated");
    assert_string_equal(r[4], "12.345679"); /* current rps, 6 decimals */
    assert_string_equal(r[5], "1.500000");
    assert_string_equal(r[6], "12");  /* cumulative 50% */
    assert_string_equal(r[16], "251"); /* 100% */
    assert_string_equal(r[17], "122");
    assert_string_equal(r[18], "14");
    assert_string_equal(r[19], "12");
    assert_string_equal(r[20], "12.345");
    assert_string_equal(r[21], "1");
    assert_string_equal(r[22], "251");
    assert_string_equal(r[23], "1024.5");
    csv_free(&c);
    free(text);

    text = capture_history(&fx.s, true);
    c = csv_parse(text);
    assert_int_equal(c.n, N_E + 1);
    for (size_t i = 0; i < N_E; i++) {
        assert_int_equal(c.rows[i].n, ncols(hn_csv_history_header));
        assert_string_equal(c.rows[i].f[0], "1714564860");
        assert_string_equal(c.rows[i].f[2], fx.entries[i].type);
        assert_string_equal(c.rows[i].f[3], fx.entries[i].name);
    }
    assert_string_equal(c.rows[E_ZERO].f[6], "N/A");
    assert_string_equal(c.rows[E_ZERO].f[16], "N/A");
    assert_string_equal(c.rows[E_ZERO].f[17], "0");
    assert_string_equal(c.rows[E_SCRIPT].f[6], "24"); /* 12 * 2 */
    assert_string_equal(c.rows[N_E].f[3], "Aggregated");
    csv_free(&c);
    free(text);

    /* A header plus rows from two ticks is a valid CSV file. */
    char *buf = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&buf, &len);
    assert_non_null(f);
    fprintf(f, "%s\r\n", hn_csv_history_header);
    assert_int_equal(hn_csv_write_history_rows(f, &fx.s, false), 0);
    fx.s.now += 1.0;
    assert_int_equal(hn_csv_write_history_rows(f, &fx.s, false), 0);
    fclose(f);
    c = csv_parse(buf);
    assert_header(&c, hn_csv_history_header);
    assert_int_equal(c.n, 3);
    assert_string_equal(c.rows[2].f[0], "1714564861");
    csv_free(&c);
    free(buf);
}

static void test_failures_csv(void **state)
{
    struct fixture fx;
    build(&fx);
    char *text = capture(hn_csv_write_failures, &fx.s);
    struct csv c = csv_parse(text);
    assert_header(&c, hn_csv_failures_header);
    assert_int_equal(c.n, 3);
    char **r = c.rows[1].f;
    assert_int_equal(c.rows[1].n, 6);
    assert_string_equal(r[0], "GET");
    assert_string_equal(r[1], "/");
    assert_string_equal(r[2], "HTTP 500, \"Internal\"");
    assert_string_equal(r[3], "7");
    assert_string_equal(r[4], "2024-05-01T12:00:00Z");
    assert_string_equal(r[5], "2024-05-01T12:00:59Z");
    r = c.rows[2].f;
    assert_string_equal(r[1], "</script>");
    assert_string_equal(r[2], "timeout\nafter 5s");
    csv_free(&c);
    free(text);

    struct hn_snapshot s;
    build_empty(&s);
    text = capture(hn_csv_write_failures, &s);
    assert_string_equal(text, "Method,Name,Error,Occurrences,First Seen,Last Seen\r\n");
    free(text);
}

static void test_exceptions_csv(void **state)
{
    struct fixture fx;
    build(&fx);
    char *text = capture(hn_csv_write_exceptions, &fx.s);
    struct csv c = csv_parse(text);
    assert_header(&c, hn_csv_exceptions_header);
    assert_int_equal(c.n, 2);
    assert_int_equal(c.rows[1].n, 4);
    assert_string_equal(c.rows[1].f[0], "3");
    assert_string_equal(c.rows[1].f[1], "KeyError: 'cart'");
    assert_string_equal(c.rows[1].f[2], "ShopUser.checkout");
    assert_string_equal(c.rows[1].f[3], "local");
    csv_free(&c);
    free(text);

    struct hn_snapshot s;
    build_empty(&s);
    text = capture(hn_csv_write_exceptions, &s);
    assert_string_equal(text, "Count,Message,Traceback,Nodes\r\n");
    free(text);
}

/* ------------------------------------------------------------------------ */
/* Files                                                                     */

static char *read_all(const char *path)
{
    FILE *f = fopen(path, "rb");
    if (f == NULL)
        return NULL;
    char *buf = NULL;
    size_t cap = 0, len = 0;
    for (;;) {
        if (len + 4096 + 1 > cap) {
            cap = cap ? cap * 2 : 8192;
            buf = realloc(buf, cap);
            assert_non_null(buf);
        }
        size_t got = fread(buf + len, 1, cap - len - 1, f);
        len += got;
        if (got == 0)
            break;
    }
    fclose(f);
    buf[len] = '\0';
    return buf;
}

static void assert_file_is(const char *path, writer_fn fn, const struct hn_snapshot *s)
{
    char *want = capture(fn, s);
    char *got = read_all(path);
    assert_non_null(got);
    assert_string_equal(got, want);
    free(want);
    free(got);
}

static void join(char *out, size_t n, const char *a, const char *b)
{
    int w = snprintf(out, n, "%s/%s", a, b);
    assert_true(w > 0 && (size_t)w < n);
}

/* Number of directory entries besides . and .., so a leftover temporary
 * file shows up. */
static int count_dir(const char *dir)
{
    DIR *d = opendir(dir);
    assert_non_null(d);
    int n = 0;
    struct dirent *de;
    while ((de = readdir(d)) != NULL)
        if (strcmp(de->d_name, ".") != 0 && strcmp(de->d_name, "..") != 0)
            n++;
    closedir(d);
    return n;
}

static void rm_rf(const char *path)
{
    char cmd[600];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", path);
    assert_int_equal(system(cmd), 0);
}

static void test_write_files(void **state)
{
    struct fixture fx;
    build(&fx);
    char root[] = "/tmp/hn_test_report.XXXXXX";
    assert_non_null(mkdtemp(root));

    /* Missing parent directories are created. */
    char prefix[512], path[600], dir[512];
    join(prefix, sizeof prefix, root, "a/b//c/run");
    char err[256] = "";
    assert_int_equal(hn_csv_write_files(prefix, &fx.s, err, sizeof err), 0);
    snprintf(path, sizeof path, "%s_stats.csv", prefix);
    assert_file_is(path, hn_csv_write_stats, &fx.s);
    snprintf(path, sizeof path, "%s_failures.csv", prefix);
    assert_file_is(path, hn_csv_write_failures, &fx.s);
    snprintf(path, sizeof path, "%s_exceptions.csv", prefix);
    assert_file_is(path, hn_csv_write_exceptions, &fx.s);
    join(dir, sizeof dir, root, "a/b/c");
    assert_int_equal(count_dir(dir), 3); /* no temporary left behind */

    /* Rewriting replaces the content (the snapshot shrank). */
    struct hn_snapshot empty;
    build_empty(&empty);
    assert_int_equal(hn_csv_write_files(prefix, &empty, err, sizeof err), 0);
    snprintf(path, sizeof path, "%s_stats.csv", prefix);
    assert_file_is(path, hn_csv_write_stats, &empty);
    snprintf(path, sizeof path, "%s_failures.csv", prefix);
    assert_file_is(path, hn_csv_write_failures, &empty);
    assert_int_equal(count_dir(dir), 3);

    /* A plain prefix in an existing directory, and a relative one. */
    join(prefix, sizeof prefix, root, "plain");
    assert_int_equal(hn_csv_write_files(prefix, &fx.s, err, sizeof err), 0);
    char cwd[512];
    assert_non_null(getcwd(cwd, sizeof cwd));
    assert_int_equal(chdir(root), 0);
    assert_int_equal(hn_csv_write_files("rel/x", &fx.s, err, sizeof err), 0);
    assert_int_equal(chdir(cwd), 0);
    join(path, sizeof path, root, "rel/x_exceptions.csv");
    assert_int_equal(access(path, F_OK), 0);

    /* A directory where the file should go: named error, no temporary. */
    join(path, sizeof path, root, "d");
    assert_int_equal(mkdir(path, 0777), 0);
    join(path, sizeof path, root, "d/r_stats.csv");
    assert_int_equal(mkdir(path, 0777), 0);
    join(prefix, sizeof prefix, root, "d/r");
    err[0] = '\0';
    assert_int_equal(hn_csv_write_files(prefix, &fx.s, err, sizeof err), -1);
    char want[800];
    snprintf(want, sizeof want, "cannot write '%s_stats.csv': Is a directory", prefix);
    assert_string_equal(err, want);
    join(dir, sizeof dir, root, "d");
    assert_int_equal(count_dir(dir), 1);

    /* A regular file in the way of the directory chain. */
    join(path, sizeof path, root, "file");
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    fclose(f);
    join(prefix, sizeof prefix, root, "file/sub/x");
    assert_int_equal(hn_csv_write_files(prefix, &fx.s, err, sizeof err), -1);
    snprintf(want, sizeof want, "cannot create directory '%s/file': Not a directory", root);
    assert_string_equal(err, want);

    /* Permission denied (root ignores permissions, so only as a user). */
    if (geteuid() != 0) {
        join(path, sizeof path, root, "ro");
        assert_int_equal(mkdir(path, 0500), 0);
        join(prefix, sizeof prefix, root, "ro/x");
        assert_int_equal(hn_csv_write_files(prefix, &fx.s, err, sizeof err), -1);
        snprintf(want, sizeof want, "cannot write '%s_stats.csv': Permission denied", prefix);
        assert_string_equal(err, want);
        chmod(path, 0700);
    }

    /* Bad arguments. */
    assert_int_equal(hn_csv_write_files("", &fx.s, err, sizeof err), -1);
    assert_string_equal(err, "empty CSV prefix");
    assert_int_equal(hn_csv_write_files(NULL, &fx.s, err, sizeof err), -1);
    assert_int_equal(hn_csv_write_files(prefix, NULL, NULL, 0), -1);

    rm_rf(root);
}

/* ------------------------------------------------------------------------ */
/* Console                                                                   */

/* Terminal columns of a line: one per code point, two for the CJK
 * ideographs the fixture uses (U+3000..U+9FFF, lead byte 0xE3..0xE9). */
static size_t line_width(const char *p, const char *end)
{
    size_t w = 0;
    for (; p < end; p++) {
        unsigned char c = (unsigned char)*p;
        if ((c & 0xC0) != 0x80)
            w += c >= 0xE3 && c <= 0xE9 ? 2 : 1;
    }
    return w;
}

/* All non-empty lines between start and the next blank line have one width. */
static void assert_block_aligned(const char *start)
{
    size_t width = 0;
    const char *p = start;
    while (*p && *p != '\n') {
        const char *nl = strchr(p, '\n');
        assert_non_null(nl);
        size_t w = line_width(p, nl);
        if (width == 0)
            width = w;
        assert_int_equal(w, width);
        p = nl + 1;
    }
    assert_true(width > 0);
}

static void test_console_table(void **state)
{
    struct fixture fx;
    build(&fx);
    char *out = capture_console(hn_console_table, &fx.s);
    fputs(out, stderr); /* for the reader of the test log */
    assert_true(strncmp(out, "Type", 4) == 0);
    const char *pieces[] = {"Name", "# reqs", "# fails", "Avg", "Min", "Max", "Med", "req/s",
                            "failures/s", "10(10.00%)", "14(11.48%)", "3(100.00%)", "0(0.00%)",
                            "Aggregated", "</script>", "\"quoted\"", "a,b", UTF8_NAME,
                            "line?break??", "12.35", "1.50", "-|-"};
    for (size_t i = 0; i < sizeof pieces / sizeof pieces[0]; i++) {
        if (strstr(out, pieces[i]) == NULL)
            fail_msg("missing '%s'", pieces[i]);
    }
    /* The name column is cut at 60 characters. */
    assert_non_null(strstr(out, " " "/very/long/path/0123456789/0123456789/0123456789/0123456789/"
                                " "));
    assert_null(strstr(out, "/end"));
    /* Entries keep the snapshot's order, then the separator, then Aggregated. */
    const char *a = strstr(out, "10(10.00%)");
    const char *b = strstr(out, "</script>");
    const char *agg = strstr(out, "Aggregated");
    assert_true(a != NULL && b != NULL && agg != NULL && a < b && b < agg);
    assert_true(agg[-1] == ' ' && strstr(agg, "122") != NULL);
    /* Every line of the table has the same width, UTF-8 names included. */
    assert_block_aligned(out);
    free(out);

    /* Current rates in the live table, total rates in the summary. */
    fx.s.total.current_rps = 77.0;
    fx.s.total.total_rps = 55.0;
    out = capture_console(hn_console_table, &fx.s);
    assert_non_null(strstr(out, "77.00"));
    assert_null(strstr(out, "55.00"));
    free(out);
    out = capture_console(hn_console_summary, &fx.s);
    assert_non_null(strstr(out, "55.00"));
    free(out);
}

static void test_console_summary(void **state)
{
    struct fixture fx;
    build(&fx);
    char *out = capture_console(hn_console_summary, &fx.s);
    fputs(out, stderr);
    const char *pct = strstr(out, "Response time percentiles (ms, each within 0.4 % of the exact value)\n");
    assert_non_null(pct);
    const char *heads = pct + strlen("Response time percentiles (ms, each within 0.4 % of the exact value)\n");
    assert_true(strncmp(heads, "Type", 4) == 0);
    const char *cols[] = {"50%", "66%", "75%", "80%", "90%", "95%", "98%", "99%", "99.9%",
                          "99.99%", "100%", "# reqs"};
    const char *prev = heads;
    for (size_t i = 0; i < sizeof cols / sizeof cols[0]; i++) {
        const char *c = strstr(prev, cols[i]);
        assert_non_null(c);
        assert_true(c >= prev);
        prev = c + strlen(cols[i]);
    }
    assert_block_aligned(heads);
    /* The zero-request entry has no percentile line; the others do. */
    const char *err_at = strstr(out, "Error report");
    assert_non_null(err_at);
    assert_true(err_at > pct);
    char *pct_block = strndup(heads, (size_t)(err_at - heads));
    assert_non_null(pct_block);
    assert_null(strstr(pct_block, "/zero"));
    assert_null(strstr(pct_block, "/ws"));
    assert_non_null(strstr(pct_block, "</script>"));
    assert_non_null(strstr(pct_block, "    12     15     18     20     30     50     80    120"
                                      "    200    241    251      100"));
    assert_non_null(strstr(pct_block, "Aggregated"));
    free(pct_block);

    assert_non_null(strstr(err_at, "# occurrences      Error"));
    assert_non_null(strstr(err_at, "\n7                  GET /: HTTP 500, \"Internal\"\n"));
    assert_non_null(strstr(err_at, "\n3                  POST </script>: timeout?after 5s\n"));
    const char *exc = strstr(out, "Exceptions\n");
    assert_non_null(exc);
    assert_true(exc > err_at);
    assert_non_null(strstr(exc, "ShopUser/checkout"));
    assert_non_null(strstr(exc, "KeyError: 'cart'"));
    free(out);

    /* No errors or exceptions: no such blocks. */
    fx.s.n_errors = 0;
    fx.s.n_exceptions = 0;
    out = capture_console(hn_console_summary, &fx.s);
    assert_null(strstr(out, "Error report"));
    assert_null(strstr(out, "Exceptions"));
    free(out);

    struct hn_snapshot s;
    build_empty(&s);
    out = capture_console(hn_console_summary, &s);
    assert_non_null(strstr(out, "Aggregated"));
    assert_non_null(strstr(out, "Response time percentiles"));
    free(out);
    hn_console_summary(stdout, NULL);
    hn_console_table(NULL, &s);
}

/* ------------------------------------------------------------------------ */
/* JSON                                                                      */

/* Serialises and parses back, so the checks see what a client would. */
static json_t *round_trip(json_t *j)
{
    assert_non_null(j);
    char *text = json_dumps(j, JSON_COMPACT);
    assert_non_null(text);
    json_decref(j);
    json_error_t e;
    json_t *back = json_loads(text, 0, &e);
    if (back == NULL)
        fail_msg("json_loads: %s", e.text);
    free(text);
    return back;
}

static double num(json_t *o, const char *key)
{
    json_t *v = json_object_get(o, key);
    if (!json_is_number(v))
        fail_msg("'%s' is not a number", key);
    return json_number_value(v);
}

static json_int_t integer(json_t *o, const char *key)
{
    json_t *v = json_object_get(o, key);
    if (!json_is_integer(v))
        fail_msg("'%s' is not an integer", key);
    return json_integer_value(v);
}

static const char *str(json_t *o, const char *key)
{
    json_t *v = json_object_get(o, key);
    if (!json_is_string(v))
        fail_msg("'%s' is not a string", key);
    return json_string_value(v);
}

static void check_entry(json_t *j, const struct hn_entry_view *e, const char *type,
                        const char *name)
{
    assert_true(json_is_object(j));
    assert_string_equal(str(j, "type"), type);
    assert_string_equal(str(j, "name"), name);
    assert_int_equal(integer(j, "requests"), e->requests);
    assert_int_equal(integer(j, "failures"), e->failures);
    assert_true(json_is_real(json_object_get(j, "avg_ms")));
    assert_near(num(j, "total_rps"), e->total_rps, 1e-9);
    assert_near(num(j, "current_rps"), e->current_rps, 1e-9);
    assert_near(num(j, "current_fail_s"), e->current_fail_s, 1e-9);
    const char *keys[] = {"avg_ms", "min_ms", "max_ms", "median_ms", "avg_bytes", "total_fail_s"};
    for (size_t i = 0; i < sizeof keys / sizeof keys[0]; i++)
        (void)num(j, keys[i]);
    json_t *pct = json_object_get(j, "percentiles");
    assert_true(json_is_object(pct));
    assert_int_equal(json_object_size(pct), HN_NPCT);
    const char *pk[HN_NPCT] = {"50", "66", "75", "80", "90", "95", "98", "99", "99.9", "99.99",
                               "100"};
    for (int i = 0; i < HN_NPCT; i++) {
        json_t *v = json_object_get(pct, pk[i]);
        if (e->requests == 0) {
            assert_true(json_is_null(v));
        } else {
            assert_true(json_is_real(v));
            assert_near(json_real_value(v), e->pct_ms[i], 1e-9);
        }
    }
    if (e->requests > 0) {
        assert_near(num(j, "avg_ms"), e->avg_ms, 1e-9);
        assert_near(num(j, "min_ms"), e->min_ms, 1e-9);
        assert_near(num(j, "max_ms"), e->max_ms, 1e-9);
        assert_near(num(j, "median_ms"), e->median_ms, 1e-9);
        /* The 10 s window's percentiles are on the Aggregated row only. */
        if (strcmp(name, "Aggregated") == 0)
            assert_near(num(j, "cur_p95_ms"), e->cur_p95_ms, 1e-9);
        else
            assert_null(json_object_get(j, "cur_p95_ms"));
    } else {
        assert_near(num(j, "min_ms"), 0.0, 0.0);
    }
}

static void test_snapshot_json(void **state)
{
    struct fixture fx;
    build(&fx);
    json_t *j = round_trip(hn_snapshot_to_json(&fx.s));
    assert_string_equal(str(j, "state"), "running");
    assert_string_equal(str(j, "host"), "http://127.0.0.1:8080");
    assert_int_equal(integer(j, "seq"), 42);
    assert_int_equal(integer(j, "users"), 10);
    assert_int_equal(integer(j, "target_users"), 20);
    assert_near(num(j, "spawn_rate"), 2.5, 0);
    assert_near(num(j, "start_time"), 1714564800.25, 0);
    assert_near(num(j, "end_time"), 0, 0);
    assert_near(num(j, "now"), 1714564860.75, 0);
    assert_near(num(j, "active_s"), 60.5, 0);
    assert_near(num(j, "run_time_s"), 120, 0);
    assert_true(json_is_null(json_object_get(j, "stop_reason")));
    assert_near(num(j, "fail_ratio"), 14.0 / 122.0, 1e-12);

    json_t *entries = json_object_get(j, "entries");
    assert_int_equal(json_array_size(entries), N_E);
    for (size_t i = 0; i < N_E; i++)
        check_entry(json_array_get(entries, i), &fx.entries[i], fx.entries[i].type,
                    fx.entries[i].name);
    check_entry(json_object_get(j, "total"), &fx.s.total, "", "Aggregated");

    json_t *errors = json_object_get(j, "errors");
    assert_int_equal(json_array_size(errors), 2);
    json_t *e0 = json_array_get(errors, 0);
    assert_string_equal(str(e0, "type"), "GET");
    assert_string_equal(str(e0, "name"), "/");
    assert_string_equal(str(e0, "message"), "HTTP 500, \"Internal\"");
    assert_int_equal(integer(e0, "count"), 7);
    assert_near(num(e0, "first_seen"), 1714564800.0, 0);
    assert_near(num(e0, "last_seen"), 1714564859.9, 1e-6);

    json_t *ex = json_array_get(json_object_get(j, "exceptions"), 0);
    assert_string_equal(str(ex, "user_type"), "ShopUser");
    assert_string_equal(str(ex, "task"), "checkout");
    assert_string_equal(str(ex, "message"), "KeyError: 'cart'");
    assert_int_equal(integer(ex, "count"), 3);
    (void)num(ex, "first_seen");
    (void)num(ex, "last_seen");

    json_t *ratios = json_object_get(j, "ratios");
    assert_int_equal(json_array_size(ratios), 1);
    json_t *r0 = json_array_get(ratios, 0);
    assert_string_equal(str(r0, "user_type"), "ShopUser");
    assert_int_equal(integer(r0, "users"), 10);
    assert_near(num(r0, "ratio"), 1.0, 0);
    json_t *tasks = json_object_get(r0, "tasks");
    assert_int_equal(json_array_size(tasks), 2);
    assert_string_equal(str(json_array_get(tasks, 1), "task"), "checkout");
    assert_near(num(json_array_get(tasks, 1), "ratio"), 0.25, 0);
    json_decref(j);

    /* The "</script>" name must survive as data; escaping for HTML is the
     * HTML writer's job, but it must be present verbatim after parsing. */
    j = round_trip(hn_snapshot_to_json(&fx.s));
    assert_string_equal(str(json_array_get(json_object_get(j, "entries"), E_SCRIPT), "name"),
                        "</script>");
    json_decref(j);
}

static void test_snapshot_json_odd_values(void **state)
{
    struct fixture fx;
    build(&fx);
    /* Invalid UTF-8, NaN and infinity, NULL strings, a stop reason. */
    fx.entries[E_ROOT].name = S("bad\xFF\xC3 name");
    fx.entries[E_ROOT].avg_ms = NAN;
    fx.entries[E_ROOT].total_rps = INFINITY;
    fx.s.host = NULL;
    fx.s.stop_reason = S("run time limit");
    fx.errors[0].message = NULL;
    fx.s.state = HN_STATE_STOPPED;
    json_t *j = round_trip(hn_snapshot_to_json(&fx.s));
    json_t *e = json_array_get(json_object_get(j, "entries"), E_ROOT);
    assert_string_equal(str(e, "name"), "bad\xEF\xBF\xBD\xEF\xBF\xBD name");
    assert_near(num(e, "avg_ms"), 0, 0);
    assert_near(num(e, "total_rps"), 0, 0);
    assert_string_equal(str(j, "host"), "");
    assert_string_equal(str(j, "stop_reason"), "run time limit");
    assert_string_equal(str(j, "state"), "stopped");
    assert_string_equal(str(json_array_get(json_object_get(j, "errors"), 0), "message"), "");
    json_decref(j);

    /* Empty snapshot: empty arrays, zero fail ratio. */
    struct hn_snapshot s;
    build_empty(&s);
    j = round_trip(hn_snapshot_to_json(&s));
    assert_int_equal(json_array_size(json_object_get(j, "entries")), 0);
    assert_int_equal(json_array_size(json_object_get(j, "errors")), 0);
    assert_int_equal(json_array_size(json_object_get(j, "exceptions")), 0);
    assert_int_equal(json_array_size(json_object_get(j, "ratios")), 0);
    assert_near(num(j, "fail_ratio"), 0, 0);
    json_t *tp = json_object_get(json_object_get(j, "total"), "percentiles");
    assert_true(json_is_null(json_object_get(tp, "50")));
    json_decref(j);
    assert_null(hn_snapshot_to_json(NULL));
    assert_null(hn_result_to_json(NULL, NULL, 0, NULL, NULL));
}

static void test_history_json(void **state)
{
    struct hn_history_point h[3];
    for (int i = 0; i < 3; i++)
        h[i] = (struct hn_history_point){1714564800.0 + i, (uint32_t)(10 * i), 100.5 + i, 0.5,
                                         10.0 + i, 50.0, 99.5, 1000u * (uint64_t)i, 3u};
    json_t *j = round_trip(hn_history_to_json(h, 3));
    assert_true(json_is_array(j));
    assert_int_equal(json_array_size(j), 3);
    json_t *p = json_array_get(j, 2);
    assert_near(num(p, "time"), 1714564802.0, 0);
    assert_int_equal(integer(p, "users"), 20);
    assert_near(num(p, "rps"), 102.5, 0);
    assert_near(num(p, "fail_s"), 0.5, 0);
    assert_near(num(p, "p50_ms"), 12.0, 0);
    assert_near(num(p, "p95_ms"), 50.0, 0);
    assert_near(num(p, "p99_ms"), 99.5, 0);
    assert_int_equal(integer(p, "requests"), 2000);
    assert_int_equal(integer(p, "failures"), 3);
    json_decref(j);

    j = round_trip(hn_history_to_json(NULL, 5));
    assert_int_equal(json_array_size(j), 0);
    json_decref(j);
}

static void test_result_json(void **state)
{
    struct fixture fx;
    build(&fx);
    fx.s.state = HN_STATE_STOPPED;
    fx.s.end_time = 1714564861.0;
    fx.s.stop_reason = S("run time limit");
    struct hn_history_point h[2] = {
        {1714564800.0, 5, 10, 1, 11, 20, 30, 10, 1},
        {1714564801.0, 10, 20, 2, 12, 21, 31, 30, 3},
    };
    json_t *j = round_trip(hn_result_to_json(&fx.s, h, 2, "plugins/shop.so", "0.1.0"));
    assert_string_equal(str(j, "format"), "hornet-result");
    assert_int_equal(integer(j, "version"), 1);
    assert_string_equal(str(j, "hornet_version"), "0.1.0");
    assert_string_equal(str(j, "plugin"), "plugins/shop.so");
    json_t *run = json_object_get(j, "run");
    assert_string_equal(str(run, "state"), "stopped");
    assert_string_equal(str(run, "host"), "http://127.0.0.1:8080");
    assert_int_equal(integer(run, "users"), 10);
    assert_near(num(run, "spawn_rate"), 2.5, 0);
    assert_near(num(run, "start_time"), 1714564800.25, 0);
    assert_near(num(run, "end_time"), 1714564861.0, 0);
    assert_near(num(run, "duration_s"), 60.5, 0);
    assert_near(num(run, "run_time_s"), 120, 0);
    assert_string_equal(str(run, "stop_reason"), "run time limit");
    check_entry(json_object_get(j, "total"), &fx.s.total, "", "Aggregated");
    assert_int_equal(json_array_size(json_object_get(j, "entries")), N_E);
    assert_int_equal(json_array_size(json_object_get(j, "errors")), 2);
    assert_int_equal(json_array_size(json_object_get(j, "exceptions")), 1);
    assert_int_equal(json_array_size(json_object_get(j, "ratios")), 1);
    json_t *hist = json_object_get(j, "history");
    assert_int_equal(json_array_size(hist), 2);
    assert_int_equal(integer(json_array_get(hist, 1), "requests"), 30);
    json_decref(j);

    /* Unknown plugin and version are null, not missing. */
    j = round_trip(hn_result_to_json(&fx.s, NULL, 0, NULL, NULL));
    assert_true(json_is_null(json_object_get(j, "plugin")));
    assert_true(json_is_null(json_object_get(j, "hornet_version")));
    assert_int_equal(json_array_size(json_object_get(j, "history")), 0);
    json_decref(j);
}

/* JUnit: one testcase per threshold and per failing entry, everything the
 * plugin wrote escaped, control characters XML 1.0 cannot carry replaced. */
static void test_junit(void **state)
{
    (void)state;
    static struct fixture fixture;
    struct fixture *fx = &fixture;
    build(fx);
    struct hn_threshold_view th[3] = {
        {S("p95<300ms"), S("p95"), "ms", 1, 212.5, HN_VERDICT_PASS, 0},
        {S("POST </script>:p99<1s\x01"), S("p99"), "ms", 1, 1340, HN_VERDICT_FAIL, 1},
        {S("/never\xef\xbf\xbe:p50<1s"), S("p50"), "ms", 0, 0, HN_VERDICT_FAIL, 0},
    };
    fx->s.thresholds = th;
    fx->s.n_thresholds = 3;
    char *x = capture(hn_junit_fwrite, &fx->s);
    /* 3 thresholds + the entries with failures (/, "quoted", /ws). */
    assert_non_null(strstr(x, "<testsuites name=\"hornet\" tests=\"6\" failures=\"5\""));
    assert_non_null(strstr(x, "<testcase classname=\"hornet.thresholds\" name=\"p95&lt;300ms\" "
                              "time=\"0\"/>"));
    assert_non_null(strstr(x, "name=\"POST &lt;/script&gt;:p99&lt;1s\xef\xbf\xbd\""));
    assert_non_null(strstr(x, "message=\"p99 = 1340 ms\""));
    assert_non_null(strstr(x, "<failure type=\"threshold\" message=\"no data\">"));
    assert_non_null(strstr(x, "name=\"GET &quot;quoted&quot;\""));
    assert_non_null(strstr(x, "message=\"10 of 100 requests failed\">7 x HTTP 500, "
                              "&quot;Internal&quot;\n</failure>"));
    assert_non_null(strstr(x, "name=\"WEBSOCKET /ws\""));
    assert_non_null(strstr(x, "message=\"3 of 0 requests failed\""));
    assert_null(strstr(x, "\x01"));
    assert_null(strstr(x, "\xef\xbf\xbe")); /* U+FFFE is no XML character */
    assert_non_null(strstr(x, "name=\"/never\xef\xbf\xbd:p50&lt;1s\""));
    assert_null(strstr(x, "<script"));
    free(x);
    assert_false(hn_thresholds_passed(&fx->s));
    th[1].verdict = th[2].verdict = HN_VERDICT_PASS;
    assert_true(hn_thresholds_passed(&fx->s));
    fx->s.thresholds = NULL;
    fx->s.n_thresholds = 0;
    assert_true(hn_thresholds_passed(&fx->s));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_teardown(test_headers_exact, teardown),
        cmocka_unit_test_teardown(test_junit, teardown),
        cmocka_unit_test_teardown(test_stats_csv, teardown),
        cmocka_unit_test_teardown(test_stats_csv_empty, teardown),
        cmocka_unit_test_teardown(test_history_rows, teardown),
        cmocka_unit_test_teardown(test_failures_csv, teardown),
        cmocka_unit_test_teardown(test_exceptions_csv, teardown),
        cmocka_unit_test_teardown(test_write_files, teardown),
        cmocka_unit_test_teardown(test_console_table, teardown),
        cmocka_unit_test_teardown(test_console_summary, teardown),
        cmocka_unit_test_teardown(test_snapshot_json, teardown),
        cmocka_unit_test_teardown(test_snapshot_json_odd_values, teardown),
        cmocka_unit_test_teardown(test_history_json, teardown),
        cmocka_unit_test_teardown(test_result_json, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
