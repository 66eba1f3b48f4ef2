/*
 * entry_history.c: per-entry history with bounded memory (entry_history.h).
 */
#include "entry_history.h"

#include <stdlib.h>
#include <string.h>

#include "snapshot.h"

struct series {
    float (*v)[5];                    /* [point][rps, fail_s, p50, p95, p99] */
};

struct hn_entry_history {
    double *times;                    /* shared by every entry */
    size_t n;                         /* points so far */
    struct series *entries;
    size_t n_entries;                 /* allocated slots */
};

struct hn_entry_history *hn_entry_history_new(void)
{
    struct hn_entry_history *h = calloc(1, sizeof *h);
    if (h != NULL && (h->times = calloc(HN_ENTRY_HISTORY_POINTS, sizeof *h->times)) == NULL) {
        free(h);
        h = NULL;
    }
    return h;
}

void hn_entry_history_clear(struct hn_entry_history *h)
{
    for (size_t i = 0; i < h->n_entries; i++)
        free(h->entries[i].v);
    free(h->entries);
    h->entries = NULL;
    h->n_entries = 0;
    h->n = 0;
}

void hn_entry_history_free(struct hn_entry_history *h)
{
    if (h == NULL)
        return;
    hn_entry_history_clear(h);
    free(h->times);
    free(h);
}

/* Every other point after the first goes, in every series at once. */
static void halve(struct hn_entry_history *h)
{
    size_t j = 1;
    for (size_t i = 1; i < h->n; i += 2, j++) {
        h->times[j] = h->times[i];
        for (size_t e = 0; e < h->n_entries; e++)
            if (h->entries[e].v != NULL)
                memcpy(h->entries[e].v[j], h->entries[e].v[i], sizeof h->entries[e].v[j]);
    }
    h->n = j;
}

void hn_entry_history_add(struct hn_entry_history *h, const struct hn_snapshot *s,
                          long (*index_of)(void *ud, const char *type, const char *name),
                          void *ud)
{
    if (h->n == HN_ENTRY_HISTORY_POINTS)
        halve(h);
    size_t p = h->n++;
    h->times[p] = s->now;
    for (size_t e = 0; e < h->n_entries; e++)
        if (h->entries[e].v != NULL)
            memset(h->entries[e].v[p], 0, sizeof h->entries[e].v[p]);
    for (size_t k = 0; k < s->n_entries; k++) {
        const struct hn_entry_view *v = &s->entries[k];
        long i = index_of(ud, v->type, v->name);
        if (i < 0 || i >= HN_ENTRY_HISTORY_ENTRIES)
            continue;
        if ((size_t)i >= h->n_entries) {
            size_t n = (size_t)i + 1 > h->n_entries * 2 ? (size_t)i + 1 : h->n_entries * 2;
            struct series *grown = realloc(h->entries, n * sizeof *grown);
            if (grown == NULL)
                continue;
            memset(grown + h->n_entries, 0, (n - h->n_entries) * sizeof *grown);
            h->entries = grown;
            h->n_entries = n;
        }
        struct series *se = &h->entries[i];
        if (se->v == NULL && (se->v = calloc(HN_ENTRY_HISTORY_POINTS, sizeof *se->v)) == NULL)
            continue;
        se->v[p][0] = (float)v->current_rps;
        se->v[p][1] = (float)v->current_fail_s;
        se->v[p][2] = (float)v->cur_p50_ms;
        se->v[p][3] = (float)v->cur_p95_ms;
        se->v[p][4] = (float)v->cur_p99_ms;
    }
}

struct hn_entry_point *hn_entry_history_get(const struct hn_entry_history *h, long index,
                                            size_t *n)
{
    *n = 0;
    if (index < 0 || (size_t)index >= h->n_entries || h->entries[index].v == NULL)
        return NULL;
    struct hn_entry_point *out = calloc(h->n ? h->n : 1, sizeof *out);
    if (out == NULL)
        return NULL;
    const struct series *se = &h->entries[index];
    for (size_t p = 0; p < h->n; p++)
        out[p] = (struct hn_entry_point){h->times[p], se->v[p][0], se->v[p][1], se->v[p][2],
                                         se->v[p][3], se->v[p][4]};
    *n = h->n;
    return out;
}
