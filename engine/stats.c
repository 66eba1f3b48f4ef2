/*
 * stats.c: request, failure and exception tables.
 *
 * Each table is an array of heap items in insertion order plus an
 * open-addressing index (linear probing, FNV-1a over the key strings, grown
 * at 70 % load). The index stores array positions + 1 so 0 means empty and
 * rehashing never moves items. A lookup for a known key costs one hash and
 * one or two string compares, and allocates nothing.
 */
#include "stats.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define INDEX_MIN_CAP 16
#define MAX_KEYS 3

static void *xalloc(void *p, size_t size)
{
    void *r = realloc(p, size ? size : 1);
    if (!r) {
        fprintf(stderr, "hornet: out of memory (%s:%d)\n", __FILE__, __LINE__);
        abort();
    }
    return r;
}

static char *xstrdup(const char *s)
{
    size_t n = strlen(s) + 1;
    char *d = xalloc(NULL, n);
    memcpy(d, s, n);
    return d;
}

/* NULL keys are stored and looked up as "". */
static const char *nz(const char *s)
{
    return s ? s : "";
}

/* FNV-1a over the keys, each followed by a 0 byte so ("ab","c") and
 * ("a","bc") differ. (A word-at-a-time hash measured no faster on typical
 * 20-40 byte keys: its strlen and tail memcpy calls cost what it saved.) */
static uint64_t hash_keys(const char *const *keys, int n)
{
    uint64_t h = 0xcbf29ce484222325ull;
    for (int k = 0; k < n; k++) {
        for (const unsigned char *p = (const unsigned char *)keys[k]; *p; p++) {
            h ^= *p;
            h *= 0x100000001b3ull;
        }
        h *= 0x100000001b3ull;
    }
    /* Fold the high bits in: the index uses only the low ones. */
    return h ^ (h >> 32);
}

/* The key strings of the item at array position pos of one table. */
typedef void (*keys_fn)(const struct hn_stats *s, size_t pos, const char **keys);

static void entry_keys(const struct hn_stats *s, size_t pos, const char **keys)
{
    keys[0] = s->entries[pos]->type;
    keys[1] = s->entries[pos]->name;
}

static void error_keys(const struct hn_stats *s, size_t pos, const char **keys)
{
    keys[0] = s->errors[pos]->type;
    keys[1] = s->errors[pos]->name;
    keys[2] = s->errors[pos]->message;
}

static void exception_keys(const struct hn_stats *s, size_t pos, const char **keys)
{
    keys[0] = s->exceptions[pos]->user_type;
    keys[1] = s->exceptions[pos]->task;
    keys[2] = s->exceptions[pos]->message;
}

/* Array position of the item with these keys, or -1; *slot_out receives
 * the slot where it is or would go. */
static long index_find(const struct hn_stats *s, const struct hn_stats_index *ix, keys_fn get,
                       const char *const *keys, int n, uint64_t hash, size_t *slot_out)
{
    *slot_out = 0;
    if (ix->cap == 0)
        return -1;
    size_t mask = ix->cap - 1;
    for (size_t i = (size_t)hash & mask;; i = (i + 1) & mask) {
        uint32_t v = ix->slots[i];
        if (v == 0) {
            *slot_out = i;
            return -1;
        }
        const char *have[MAX_KEYS];
        get(s, v - 1, have);
        int k = 0;
        while (k < n && strcmp(have[k], keys[k]) == 0)
            k++;
        if (k == n) {
            *slot_out = i;
            return (long)(v - 1);
        }
    }
}

/* Makes room for item number count + 1 (keeping the load under 70 %) and
 * returns the free slot for the absent key whose probe ended at `slot`. */
static size_t index_reserve(const struct hn_stats *s, struct hn_stats_index *ix, size_t count,
                            keys_fn get, const char *const *keys, int n, uint64_t hash, size_t slot)
{
    if (count >= UINT32_MAX - 1) {
        fprintf(stderr, "hornet: statistics table full (%zu keys)\n", count);
        abort();
    }
    if ((count + 1) * 10 <= ix->cap * 7)
        return slot;

    size_t cap = ix->cap ? ix->cap : INDEX_MIN_CAP;
    while ((count + 1) * 10 > cap * 7)
        cap *= 2;
    uint32_t *slots = xalloc(NULL, cap * sizeof(*slots));
    memset(slots, 0, cap * sizeof(*slots));
    size_t mask = cap - 1;
    for (size_t j = 0; j < count; j++) {
        const char *have[MAX_KEYS];
        get(s, j, have);
        size_t i = (size_t)hash_keys(have, n) & mask;
        while (slots[i])
            i = (i + 1) & mask;
        slots[i] = (uint32_t)(j + 1);
    }
    free(ix->slots);
    ix->slots = slots;
    ix->cap = cap;
    index_find(s, ix, get, keys, n, hash, &slot);
    return slot;
}

/* Grows a table's pointer array so one more item fits. */
static void *grow_array(void *items, size_t count, size_t *cap, size_t item_size)
{
    if (count < *cap)
        return items;
    *cap = *cap ? *cap * 2 : 16;
    return xalloc(items, *cap * item_size);
}

struct hn_stats_entry *hn_stats_entry_get(struct hn_stats *s, const char *type, const char *name)
{
    const char *keys[2] = {nz(type), nz(name)};
    uint64_t hash = hash_keys(keys, 2);
    size_t slot;
    long pos = index_find(s, &s->entry_index, entry_keys, keys, 2, hash, &slot);
    if (pos >= 0)
        return s->entries[pos];

    slot = index_reserve(s, &s->entry_index, s->n_entries, entry_keys, keys, 2, hash, slot);
    s->entries = grow_array(s->entries, s->n_entries, &s->cap_entries, sizeof(*s->entries));
    struct hn_stats_entry *e = xalloc(NULL, sizeof(*e));
    memset(e, 0, sizeof(*e));
    e->type = xstrdup(keys[0]);
    e->name = xstrdup(keys[1]);
    hn_hist_init(&e->hist);
    e->index = (uint32_t)s->n_entries;
    s->entries[s->n_entries++] = e;
    s->entry_index.slots[slot] = (uint32_t)s->n_entries;
    return e;
}

struct hn_stats_error *hn_stats_error_get(struct hn_stats *s, const char *type, const char *name,
                                          const char *message)
{
    const char *keys[3] = {nz(type), nz(name), nz(message)};
    uint64_t hash = hash_keys(keys, 3);
    size_t slot;
    long pos = index_find(s, &s->error_index, error_keys, keys, 3, hash, &slot);
    if (pos >= 0)
        return s->errors[pos];

    slot = index_reserve(s, &s->error_index, s->n_errors, error_keys, keys, 3, hash, slot);
    s->errors = grow_array(s->errors, s->n_errors, &s->cap_errors, sizeof(*s->errors));
    struct hn_stats_error *e = xalloc(NULL, sizeof(*e));
    memset(e, 0, sizeof(*e));
    e->type = xstrdup(keys[0]);
    e->name = xstrdup(keys[1]);
    e->message = xstrdup(keys[2]);
    s->errors[s->n_errors++] = e;
    s->error_index.slots[slot] = (uint32_t)s->n_errors;
    return e;
}

struct hn_stats_exception *hn_stats_exception_get(struct hn_stats *s, const char *user_type,
                                                  const char *task, const char *message)
{
    const char *keys[3] = {nz(user_type), nz(task), nz(message)};
    uint64_t hash = hash_keys(keys, 3);
    size_t slot;
    long pos = index_find(s, &s->exception_index, exception_keys, keys, 3, hash, &slot);
    if (pos >= 0)
        return s->exceptions[pos];

    slot =
        index_reserve(s, &s->exception_index, s->n_exceptions, exception_keys, keys, 3, hash, slot);
    s->exceptions =
        grow_array(s->exceptions, s->n_exceptions, &s->cap_exceptions, sizeof(*s->exceptions));
    struct hn_stats_exception *e = xalloc(NULL, sizeof(*e));
    memset(e, 0, sizeof(*e));
    e->user_type = xstrdup(keys[0]);
    e->task = xstrdup(keys[1]);
    e->message = xstrdup(keys[2]);
    s->exceptions[s->n_exceptions++] = e;
    s->exception_index.slots[slot] = (uint32_t)s->n_exceptions;
    return e;
}

/* Widens [*first, *last] to include [first, last]; `fresh` means the range
 * is still empty and is simply taken. */
static void widen(double *first, double *last, int fresh, double f, double l)
{
    if (fresh || f < *first)
        *first = f;
    if (fresh || l > *last)
        *last = l;
}

void hn_stats_init(struct hn_stats *s)
{
    memset(s, 0, sizeof(*s));
    hn_hist_init(&s->start_lag);
}

static void free_error(struct hn_stats_error *e)
{
    free(e->type);
    free(e->name);
    free(e->message);
    free(e);
}

static void free_exception(struct hn_stats_exception *e)
{
    free(e->user_type);
    free(e->task);
    free(e->message);
    free(e);
}

static void clear_index(struct hn_stats_index *ix)
{
    if (ix->slots)
        memset(ix->slots, 0, ix->cap * sizeof(*ix->slots));
}

void hn_stats_reset(struct hn_stats *s)
{
    for (size_t i = 0; i < s->n_entries; i++) {
        hn_stats_entry_cleanup(s->entries[i]);
        free(s->entries[i]);
    }
    for (size_t i = 0; i < s->n_errors; i++)
        free_error(s->errors[i]);
    for (size_t i = 0; i < s->n_exceptions; i++)
        free_exception(s->exceptions[i]);
    s->n_entries = s->n_errors = s->n_exceptions = 0;
    hn_hist_reset(&s->start_lag);
    s->dropped_iterations = 0;
    clear_index(&s->entry_index);
    clear_index(&s->error_index);
    clear_index(&s->exception_index);
}

void hn_stats_cleanup(struct hn_stats *s)
{
    hn_stats_reset(s);
    free(s->entries);
    free(s->errors);
    free(s->exceptions);
    free(s->entry_index.slots);
    free(s->error_index.slots);
    free(s->exception_index.slots);
    hn_hist_cleanup(&s->start_lag);
    memset(s, 0, sizeof(*s));
}

int hn_stats_empty(const struct hn_stats *s)
{
    return s->n_entries == 0 && s->n_errors == 0 && s->n_exceptions == 0 &&
           s->start_lag.count == 0 && s->dropped_iterations == 0;
}

void hn_stats_record(struct hn_stats *s, const char *type, const char *name, uint64_t elapsed_us,
                     uint64_t bytes, const char *error, double ts)
{
    struct hn_stats_entry *e = hn_stats_entry_get(s, type, name);
    widen(&e->first_ts, &e->last_ts, e->requests == 0, ts, ts);
    e->requests++;
    e->bytes += bytes;
    hn_hist_record(&e->hist, elapsed_us);
    if (!error)
        return;
    e->failures++;
    struct hn_stats_error *er = hn_stats_error_get(s, type, name, error);
    widen(&er->first_seen, &er->last_seen, er->count == 0, ts, ts);
    er->count++;
}

void hn_stats_exception(struct hn_stats *s, const char *user_type, const char *task,
                        const char *message, double ts)
{
    struct hn_stats_exception *x = hn_stats_exception_get(s, user_type, task, message);
    widen(&x->first_seen, &x->last_seen, x->count == 0, ts, ts);
    x->count++;
}

void hn_stats_start_lag(struct hn_stats *s, uint64_t lag_us)
{
    hn_hist_record(&s->start_lag, lag_us);
}

void hn_stats_dropped(struct hn_stats *s, uint64_t n)
{
    s->dropped_iterations += n;
}

void hn_stats_merge(struct hn_stats *dst, const struct hn_stats *src)
{
    if (dst == src)
        return;
    hn_hist_merge(&dst->start_lag, &src->start_lag);
    dst->dropped_iterations += src->dropped_iterations;
    for (size_t i = 0; i < src->n_entries; i++) {
        const struct hn_stats_entry *se = src->entries[i];
        struct hn_stats_entry *de = hn_stats_entry_get(dst, se->type, se->name);
        if (se->requests)
            widen(&de->first_ts, &de->last_ts, de->requests == 0, se->first_ts, se->last_ts);
        de->requests += se->requests;
        de->failures += se->failures;
        de->bytes += se->bytes;
        hn_hist_merge(&de->hist, &se->hist);
    }
    for (size_t i = 0; i < src->n_errors; i++) {
        const struct hn_stats_error *se = src->errors[i];
        struct hn_stats_error *de = hn_stats_error_get(dst, se->type, se->name, se->message);
        if (se->count)
            widen(&de->first_seen, &de->last_seen, de->count == 0, se->first_seen, se->last_seen);
        de->count += se->count;
    }
    for (size_t i = 0; i < src->n_exceptions; i++) {
        const struct hn_stats_exception *se = src->exceptions[i];
        struct hn_stats_exception *de = hn_stats_exception_get(dst, se->user_type, se->task, se->message);
        if (se->count)
            widen(&de->first_seen, &de->last_seen, de->count == 0, se->first_seen, se->last_seen);
        de->count += se->count;
    }
}

struct hn_stats_entry *hn_stats_find(const struct hn_stats *s, const char *type, const char *name)
{
    const char *keys[2] = {nz(type), nz(name)};
    size_t slot;
    long pos = index_find(s, &s->entry_index, entry_keys, keys, 2, hash_keys(keys, 2), &slot);
    return pos >= 0 ? s->entries[pos] : NULL;
}

void hn_stats_total(const struct hn_stats *s, struct hn_stats_entry *out)
{
    for (size_t i = 0; i < s->n_entries; i++) {
        const struct hn_stats_entry *e = s->entries[i];
        if (e->requests)
            widen(&out->first_ts, &out->last_ts, out->requests == 0, e->first_ts, e->last_ts);
        out->requests += e->requests;
        out->failures += e->failures;
        out->bytes += e->bytes;
        hn_hist_merge(&out->hist, &e->hist);
    }
}

void hn_stats_entry_cleanup(struct hn_stats_entry *e)
{
    free(e->type);
    free(e->name);
    e->type = NULL;
    e->name = NULL;
    hn_hist_cleanup(&e->hist);
}
