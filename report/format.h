/*
 * format.h: what the renderers of report/ share (internal to this
 * folder): numbers, times, the "C" locale, atomic file writes.
 *
 * Threads: any (the "C" locale handle is created once).
 */
#ifndef HN_FORMAT_H
#define HN_FORMAT_H

#include <locale.h>
#include <stddef.h>
#include <stdio.h>
#include <stdint.h>

#include "snapshot.h"

/* Output must not depend on the process locale (a plugin may call
 * setlocale()): a writer switches its own thread to "C" while it runs and
 * restores what hn_enter_c_locale returned. */
locale_t hn_enter_c_locale(void);
void hn_leave_c_locale(locale_t old);

/* v, or 0 when it is NaN or infinite. */
double hn_finite_or_zero(double v);
/* Milliseconds as a rounded integer, clamped so the conversion is defined. */
long long hn_ms_int(double v);
/* The shortest text that reads back as v, as Python's repr() writes floats. */
void hn_fmt_real(char *buf, size_t n, double v);
/* UTC ISO 8601 ("2024-05-01T12:00:00Z"); empty for "never" (t <= 0). */
void hn_fmt_iso_utc(char *buf, size_t n, double t);
/* failures / requests (1 when there are failures but no requests). */
double hn_fail_ratio(uint64_t requests, uint64_t failures);
/* The snapshot's entry count (0 when it has no entries array). */
size_t hn_entry_count(const struct hn_snapshot *s);

/* A threshold's measured value for people: "412 ms", "2.50%", "850.25
 * req/s", "3", or "no data". */
void hn_fmt_threshold_value(const struct hn_threshold_view *t, char *buf, size_t n);

/* Renders s into f; 0, or -1 on a write error (errno set). */
typedef int (*hn_writer_fn)(FILE *f, const struct hn_snapshot *s);
/* mkdir -p for the directory part of path; 0 or -1 with err set. */
int hn_make_parent_dirs(const char *path, char *err, size_t err_len);
/* Writes path through a temporary file renamed into place, so a reader
 * (or a crash) never sees half a file. 0 or -1 with err set. */
int hn_write_atomic(const char *path, hn_writer_fn fn, const struct hn_snapshot *s, char *err,
                    size_t err_len);

#endif
