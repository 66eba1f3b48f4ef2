/*
 * format.c: what every renderer shares: numbers, times, the "C" locale,
 * atomic file writes.
 */
#include "format.h"

#include <errno.h>
#include <fcntl.h>
#include <stdatomic.h>
#include <unistd.h>
#include <locale.h>
#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "errbuf.h"
#include "fsutil.h"

static pthread_once_t c_locale_once = PTHREAD_ONCE_INIT;
static locale_t c_locale;

static void c_locale_init(void)
{
    c_locale = newlocale(LC_ALL_MASK, "C", (locale_t)0);
}

/* Switches this thread to the "C" locale; returns what to restore. */
locale_t hn_enter_c_locale(void)
{
    pthread_once(&c_locale_once, c_locale_init);
    if (c_locale == (locale_t)0)
        return (locale_t)0;
    return uselocale(c_locale);
}

void hn_leave_c_locale(locale_t old)
{
    if (old != (locale_t)0)
        uselocale(old);
}

double hn_finite_or_zero(double v)
{
    return isfinite(v) ? v : 0.0;
}

/* Milliseconds as a rounded integer, clamped so the conversion is defined. */
long long hn_ms_int(double v)
{
    v = hn_finite_or_zero(v);
    if (v > 9e15)
        v = 9e15;
    if (v < -9e15)
        v = -9e15;
    return llround(v);
}

/* The shortest text that reads back as the same double, written the way
 * Python's repr() writes floats (plain notation from 1e-4 to 1e16, a ".0"
 * on whole numbers), so columns Locust writes as floats look the same. */
void hn_fmt_real(char *buf, size_t n, double v)
{
    v = hn_finite_or_zero(v);
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
void hn_fmt_iso_utc(char *buf, size_t n, double t)
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

double hn_fail_ratio(uint64_t requests, uint64_t failures)
{
    if (requests == 0)
        return failures ? 1.0 : 0.0;
    return (double)failures / (double)requests;
}

size_t hn_entry_count(const struct hn_snapshot *s)
{
    return s->entries ? s->n_entries : 0;
}

/* mkdir -p for the directory part of prefix ("out/run1/x" -> "out/run1"). */
int hn_make_parent_dirs(const char *prefix, char *err, size_t err_len)
{
    char failed[512];
    if (hn_mkdirs_parent(prefix, 0777, failed, sizeof failed) == 0)
        return 0;
    hn_set_err(err, err_len, "cannot create directory '%s': %m", failed);
    return -1;
}

/* Writes path through a temporary file in the same directory and renames it
 * into place, so a reader (or a crash) never sees half a file. The
 * temporary is created with mode 0666 so the umask applies as it would to
 * a plain fopen(). */
int hn_write_atomic(const char *path, hn_writer_fn fn, const struct hn_snapshot *s, char *err,
                        size_t err_len)
{
    static atomic_uint seq;
    char *tmp = NULL;
    if (asprintf(&tmp, "%s.tmp.%ld.%u", path, (long)getpid(), atomic_fetch_add(&seq, 1)) < 0) {
        hn_set_err(err, err_len, "out of memory");
        return -1;
    }
    int fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0666);
    if (fd < 0) {
        hn_set_err(err, err_len, "cannot write '%s': %m", path);
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
        hn_set_err(err, err_len, "cannot write '%s': %m", path);
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
            hn_set_err(err, err_len, "cannot write '%s': %m", path);
        } else {
            hn_set_err(err, err_len, "cannot write '%s': write error", path);
        }
    }
    free(tmp);
    return rc;
}

void hn_fmt_threshold_value(const struct hn_threshold_view *t, char *buf, size_t n)
{
    if (!t->measured) {
        snprintf(buf, n, "no data");
        return;
    }
    double v = hn_finite_or_zero(t->value);
    if (strcmp(t->unit, "ms") == 0)
        snprintf(buf, n, "%.*f ms", v < 10 ? 2 : v < 100 ? 1 : 0, v);
    else if (strcmp(t->unit, "ratio") == 0)
        snprintf(buf, n, "%.2f%%", v * 100.0);
    else if (strcmp(t->unit, "rps") == 0)
        snprintf(buf, n, "%.2f req/s", v);
    else
        snprintf(buf, n, "%.0f", v);
}
