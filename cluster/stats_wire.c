/*
 * stats_wire.c: hn_stats <-> JSON.
 *
 *   {"entries":   [{"type","name","requests","failures","bytes","first","last",
 *                   "hist":{"count","min","max","sum","buckets":[index,count,...]}}],
 *    "errors":    [{"type","name","message","count","first","last"}],
 *    "exceptions":[{"user_type","task","message","count","first","last"}],
 *    "open":      {"start_lag":hist, "dropped":n}}     (the open model; optional)
 *
 * Buckets are sparse (index, count) pairs of the log-linear histogram; min,
 * max and sum travel exactly. Sums are doubles, which jansson prints with
 * 17 significant digits, so they round-trip bit for bit. The decoder
 * trusts nothing: it checks every type, every bound, and that bucket
 * counts add up, before anything touches the destination table.
 */
#include "stats_wire.h"

#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "textutil.h"

static int fail(char *err, size_t n, const char *fmt, ...)
{
    if (err && n) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(err, n, fmt, ap);
        va_end(ap);
    }
    return -1;
}

static json_t *u64(uint64_t v)
{
    return json_integer((json_int_t)(v > (uint64_t)INT64_MAX ? (uint64_t)INT64_MAX : v));
}

static json_t *encode_hist(const struct hn_hist *h)
{
    json_t *buckets = json_array();
    unsigned i = 0;
    uint64_t c;
    while (buckets && hn_hist_next_bucket(h, &i, &c)) {
        json_array_append_new(buckets, json_integer(i));
        json_array_append_new(buckets, u64(c));
        i++;
    }
    return json_pack("{s:o, s:o, s:o, s:f, s:o}", "count", u64(h->count), "min",
                     u64(h->count ? h->min : 0), "max", u64(h->max), "sum", h->sum, "buckets",
                     buckets ? buckets : json_null());
}

json_t *hn_stats_wire_encode(const struct hn_stats *s)
{
    json_t *entries = json_array(), *errors = json_array(), *exceptions = json_array();
    json_t *out = json_pack("{s:o, s:o, s:o}", "entries", entries, "errors", errors,
                            "exceptions", exceptions);
    if (out == NULL)
        return NULL;
    for (size_t i = 0; i < s->n_entries; i++) {
        const struct hn_stats_entry *e = s->entries[i];
        json_array_append_new(
            entries, json_pack("{s:o, s:o, s:o, s:o, s:o, s:f, s:f, s:o}", "type",
                               hn_json_text(e->type), "name", hn_json_text(e->name), "requests",
                               u64(e->requests), "failures", u64(e->failures), "bytes",
                               u64(e->bytes), "first", e->first_ts, "last", e->last_ts, "hist",
                               encode_hist(&e->hist)));
    }
    for (size_t i = 0; i < s->n_errors; i++) {
        const struct hn_stats_error *e = s->errors[i];
        json_array_append_new(
            errors, json_pack("{s:o, s:o, s:o, s:o, s:f, s:f}", "type", hn_json_text(e->type),
                              "name", hn_json_text(e->name), "message",
                              hn_json_text(e->message), "count", u64(e->count), "first",
                              e->first_seen, "last", e->last_seen));
    }
    for (size_t i = 0; i < s->n_exceptions; i++) {
        const struct hn_stats_exception *e = s->exceptions[i];
        json_array_append_new(
            exceptions,
            json_pack("{s:o, s:o, s:o, s:o, s:f, s:f}", "user_type", hn_json_text(e->user_type),
                      "task", hn_json_text(e->task), "message", hn_json_text(e->message),
                      "count", u64(e->count), "first", e->first_seen, "last", e->last_seen));
    }
    if (s->start_lag.count > 0 || s->dropped_iterations > 0)
        json_object_set_new(out, "open",
                            json_pack("{s:o, s:o}", "start_lag", encode_hist(&s->start_lag),
                                      "dropped", u64(s->dropped_iterations)));
    return out;
}

/* ---------------------------------------------------------------- */
/* Decoding                                                          */
/* ---------------------------------------------------------------- */

static bool get_u64(const json_t *o, const char *key, uint64_t *out)
{
    const json_t *v = json_object_get(o, key);
    if (!json_is_integer(v) || json_integer_value(v) < 0)
        return false;
    *out = (uint64_t)json_integer_value(v);
    return true;
}

static bool get_time(const json_t *o, const char *key, double *out)
{
    const json_t *v = json_object_get(o, key);
    if (!json_is_number(v))
        return false;
    *out = json_number_value(v);
    return isfinite(*out) && *out >= 0;
}

static const char *get_text(const json_t *o, const char *key)
{
    const json_t *v = json_object_get(o, key);
    return json_is_string(v) ? json_string_value(v) : NULL;
}

static int decode_hist(const json_t *j, struct hn_hist *h, char *err, size_t n)
{
    uint64_t count, min, max;
    const json_t *sum = json_object_get(j, "sum");
    const json_t *buckets = json_object_get(j, "buckets");
    if (!json_is_object(j) || !get_u64(j, "count", &count) || !get_u64(j, "min", &min) ||
        !get_u64(j, "max", &max) || !json_is_number(sum) || !json_is_array(buckets) ||
        json_array_size(buckets) % 2 != 0)
        return fail(err, n, "malformed histogram");
    uint64_t total = 0;
    long last = -1;
    for (size_t i = 0; i < json_array_size(buckets); i += 2) {
        const json_t *ix = json_array_get(buckets, i), *c = json_array_get(buckets, i + 1);
        if (!json_is_integer(ix) || !json_is_integer(c) || json_integer_value(c) <= 0 ||
            json_integer_value(ix) <= last || json_integer_value(ix) >= HN_HIST_BUCKETS)
            return fail(err, n, "malformed histogram bucket");
        last = (long)json_integer_value(ix);
        uint64_t cv = (uint64_t)json_integer_value(c);
        if (total + cv < total)
            return fail(err, n, "histogram count overflows");
        total += cv;
        hn_hist_add_bucket(h, (unsigned)last, cv);
    }
    double s = json_number_value(sum);
    if (total != count || (count > 0 && min > max) || !isfinite(s) || s < 0)
        return fail(err, n, "inconsistent histogram (buckets hold %llu values, count says %llu)",
                    (unsigned long long)total, (unsigned long long)count);
    h->count = count;
    h->min = count ? min : UINT64_MAX;
    h->max = count ? max : 0;
    h->sum = s;
    return 0;
}

/* Adds a failure or exception row's count and widens its time range. */
static void add_row(uint64_t *count, double *first, double *last, uint64_t c, double f, double l)
{
    if (*count == 0 || f < *first)
        *first = f;
    if (*count == 0 || l > *last)
        *last = l;
    *count += c;
}

static int decode(struct hn_stats *t, const json_t *j, char *err, size_t n)
{
    const json_t *entries = json_object_get(j, "entries");
    const json_t *errors = json_object_get(j, "errors");
    const json_t *exceptions = json_object_get(j, "exceptions");
    if (!json_is_object(j) || !json_is_array(entries) || !json_is_array(errors) ||
        !json_is_array(exceptions))
        return fail(err, n, "statistics need arrays 'entries', 'errors' and 'exceptions'");
    size_t i;
    const json_t *v;
    json_array_foreach(entries, i, v) {
        const char *type = get_text(v, "type"), *name = get_text(v, "name");
        uint64_t req, failures, bytes;
        double first, last;
        if (!type || !name || !get_u64(v, "requests", &req) ||
            !get_u64(v, "failures", &failures) || !get_u64(v, "bytes", &bytes) ||
            !get_time(v, "first", &first) || !get_time(v, "last", &last) || failures > req)
            return fail(err, n, "malformed statistics entry %zu", i);
        /* Rows are added up: two names the encoder cleaned of invalid
         * UTF-8 may arrive as the same name. */
        struct hn_stats row;
        hn_stats_init(&row);
        struct hn_stats_entry *e = hn_stats_entry_get(&row, type, name);
        int rc = decode_hist(json_object_get(v, "hist"), &e->hist, err, n);
        if (rc == 0 && e->hist.count != req)
            rc = fail(err, n, "entry '%s %s': %llu requests but %llu timings", type, name,
                      (unsigned long long)req, (unsigned long long)e->hist.count);
        e->requests = req;
        e->failures = failures;
        e->bytes = bytes;
        e->first_ts = first;
        e->last_ts = last;
        if (rc == 0)
            hn_stats_merge(t, &row);
        hn_stats_cleanup(&row);
        if (rc != 0)
            return -1;
    }
    json_array_foreach(errors, i, v) {
        const char *type = get_text(v, "type"), *name = get_text(v, "name");
        const char *msg = get_text(v, "message");
        uint64_t count;
        double first, last;
        if (!type || !name || !msg || !get_u64(v, "count", &count) ||
            !get_time(v, "first", &first) || !get_time(v, "last", &last))
            return fail(err, n, "malformed failure %zu", i);
        struct hn_stats_error *e = hn_stats_error_get(t, type, name, msg);
        add_row(&e->count, &e->first_seen, &e->last_seen, count, first, last);
    }
    json_array_foreach(exceptions, i, v) {
        const char *ut = get_text(v, "user_type"), *task = get_text(v, "task");
        const char *msg = get_text(v, "message");
        uint64_t count;
        double first, last;
        if (!ut || !task || !msg || !get_u64(v, "count", &count) ||
            !get_time(v, "first", &first) || !get_time(v, "last", &last))
            return fail(err, n, "malformed exception %zu", i);
        struct hn_stats_exception *e = hn_stats_exception_get(t, ut, task, msg);
        add_row(&e->count, &e->first_seen, &e->last_seen, count, first, last);
    }
    const json_t *open = json_object_get(j, "open");
    if (open != NULL) {
        uint64_t dropped;
        if (!json_is_object(open) || !get_u64(open, "dropped", &dropped))
            return fail(err, n, "malformed open-model figures");
        if (decode_hist(json_object_get(open, "start_lag"), &t->start_lag, err, n) != 0)
            return -1;
        t->dropped_iterations = dropped;
    }
    return 0;
}

int hn_stats_wire_merge(struct hn_stats *dst, const json_t *j, char *err, size_t err_len)
{
    struct hn_stats tmp;
    hn_stats_init(&tmp);
    int rc = decode(&tmp, j, err, err_len);
    if (rc == 0)
        hn_stats_merge(dst, &tmp);
    hn_stats_cleanup(&tmp);
    return rc;
}
