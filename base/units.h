/*
 * units.h: numbers and timespans as people write them in options, config
 * files and API bodies.
 *
 * Timespans are either a bare number of seconds ("90", "1.5") or
 * number+unit parts with units h, m, s each used at most once and in that
 * order ("1h30m", "3h30m10s", "1.5s", "2m0.5s"). Rejected: "", "5x", "-3s",
 * "1m1m", "30s1m", "1 m", "inf", exponents, and anything above 1e9 seconds.
 *
 * Threads: any (no state).
 */
#ifndef HN_UNITS_H
#define HN_UNITS_H

#include <stdint.h>

/* Reads an unsigned decimal ("12", "1.5", ".5", "3.") at *p, without sign,
 * exponent or locale, and advances *p past it. Returns 0 or -1. */
int hn_scan_decimal(const char **p, double *out);
/* Parses a timespan into seconds. Returns 0, or -1 (and leaves *out
 * alone) if s is not one. */
int hn_parse_timespan(const char *s, double *out);
/* Parses a size in bytes: a whole number, or a number with k/K/KiB, M/MiB
 * or G/GiB (powers of 1024), e.g. "4096", "512KiB", "1.5M". Returns 0, or
 * -1 (and leaves *out alone) if s is not one or is above 1 TiB. */
int hn_parse_size(const char *s, uint64_t *out);

#endif
