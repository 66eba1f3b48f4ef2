/*
 * format.c: the number, time and locale helpers every renderer shares.
 */
#include "format.h"

#include <locale.h>
#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

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
