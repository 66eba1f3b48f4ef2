/*
 * units.c: numbers and timespans as people write them on a command line.
 */
#include "units.h"

#include <math.h>
#include <stdbool.h>
#include <stdint.h>
#include <string.h>

#define MAX_SPAN 1e9 /* seconds; keeps every timespan exact in an int64 of microseconds */

/* Reads an unsigned decimal "12", "1.5", "0.25", ".5", "3." at *p without
 * sign, exponent or locale; at most 18 digits, so mantissa / 10^k is one
 * correctly rounded division. Advances *p past it. */
int hn_scan_decimal(const char **p, double *out)
{
    const char *s = *p;
    uint64_t mant = 0;
    int digits = 0, frac = 0;
    bool dot = false;
    for (;; s++) {
        if (*s >= '0' && *s <= '9') {
            if (++digits > 18)
                return -1;
            mant = mant * 10 + (uint64_t)(*s - '0');
            if (dot)
                frac++;
        } else if (*s == '.' && !dot) {
            dot = true;
        } else {
            break;
        }
    }
    if (digits == 0)
        return -1;
    double scale = 1;
    for (int i = 0; i < frac; i++)
        scale *= 10;
    *out = (double)mant / scale;
    *p = s;
    return 0;
}

int hn_parse_timespan(const char *s, double *out)
{
    if (!s || !*s)
        return -1;
    /* Units must appear in this order, each once: rank 2 (h) > 1 (m) > 0 (s). */
    static const struct {
        char c;
        double mult;
    } units[] = {{'s', 1}, {'m', 60}, {'h', 3600}};
    const char *p = s;
    double total = 0;
    int last_rank = 3;
    while (*p) {
        double n;
        if (hn_scan_decimal(&p, &n) < 0)
            return -1;
        if (*p == '\0') {
            /* A bare number is seconds, but "1m30" is ambiguous: reject. */
            if (last_rank != 3)
                return -1;
            total = n;
            break;
        }
        int rank = -1;
        for (int i = 0; i < 3; i++)
            if (*p == units[i].c)
                rank = i;
        if (rank < 0 || rank >= last_rank)
            return -1;
        last_rank = rank;
        total += n * units[rank].mult;
        p++;
    }
    if (!isfinite(total) || total > MAX_SPAN)
        return -1;
    *out = total;
    return 0;
}

int hn_parse_size(const char *s, uint64_t *out)
{
    if (!s || !*s)
        return -1;
    const char *p = s;
    double n;
    if (hn_scan_decimal(&p, &n) < 0)
        return -1;
    static const struct {
        const char *suffix;
        double mult;
    } units[] = {{"", 1},           {"k", 1024.0},   {"K", 1024.0}, {"KiB", 1024.0},
                 {"M", 1048576.0},  {"MiB", 1048576.0}, {"G", 1073741824.0},
                 {"GiB", 1073741824.0}};
    for (size_t i = 0; i < sizeof units / sizeof units[0]; i++) {
        if (strcmp(p, units[i].suffix) != 0)
            continue;
        double v = n * units[i].mult;
        if (!isfinite(v) || v > 1099511627776.0 || (units[i].mult == 1 && v != floor(v)))
            return -1;
        *out = (uint64_t)v;
        return 0;
    }
    return -1;
}
