/*
 * feed_wire.c: feeder tables <-> JSON (see feed_wire.h).
 */
#include "feed_wire.h"

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "errbuf.h"
#include "hornet/hornet.h"
#include "textutil.h"

static json_t *string_array(char *const *v, size_t n)
{
    json_t *a = json_array();
    for (size_t i = 0; a != NULL && i < n; i++)
        if (json_array_append_new(a, hn_json_text(v[i])) != 0) {
            json_decref(a);
            return NULL;
        }
    return a;
}

json_t *hn_feed_wire_encode(const struct hn_feeders *f)
{
    json_t *out = json_array();
    for (size_t k = 0; out != NULL && f != NULL && k < f->n; k++) {
        const struct hn_feed_table *t = &f->tables[k];
        json_t *rows = json_array();
        for (size_t i = 0; rows != NULL && i < t->n_rows; i++) {
            json_t *row = string_array(t->rows[i], t->n_columns);
            if (row == NULL || json_array_append_new(rows, row) != 0) {
                json_decref(rows);
                rows = NULL;
            }
        }
        json_t *cols = string_array(t->columns, t->n_columns);
        json_t *table = rows && cols ? json_pack("{s:o, s:o, s:i, s:i, s:o, s:o}", "name",
                                                 hn_json_text(t->name), "path",
                                                 hn_json_text(t->path), "mode", t->mode, "flags",
                                                 (int)t->flags, "columns", cols, "rows", rows)
                                     : NULL;
        if (table == NULL || json_array_append_new(out, table) != 0) {
            if (table == NULL) {
                json_decref(rows);
                json_decref(cols);
            }
            json_decref(out);
            return NULL;
        }
    }
    return out;
}

/* A copy of an array of exactly n strings, or NULL. */
static char **strings(const json_t *a, size_t n)
{
    if (!json_is_array(a) || json_array_size(a) != n)
        return NULL;
    char **v = calloc(n ? n : 1, sizeof *v);
    for (size_t i = 0; v != NULL && i < n; i++) {
        const char *s = json_string_value(json_array_get(a, i));
        if (s == NULL || (v[i] = strdup(s)) == NULL) {
            for (size_t j = 0; j < i; j++)
                free(v[j]);
            free(v);
            return NULL;
        }
    }
    return v;
}

int hn_feed_wire_decode(const json_t *j, const struct hn_plugin *p, struct hn_feeders **out,
                        char *err, size_t err_len)
{
    *out = NULL;
    const struct hn_feeder *decl = p->abi_minor >= 1 ? p->feeders : NULL;
    size_t n = 0;
    while (decl != NULL && decl[n].name != NULL)
        n++;
    if (n == 0)
        return 0;
    if (!json_is_array(j) || json_array_size(j) != n) {
        hn_set_err(err, err_len, "the master sent %s feeder tables; the plugin declares %zu",
                   json_is_array(j) ? "other" : "no", n);
        return -1;
    }
    struct hn_feeders *f = hn_feeders_new(n);
    if (f == NULL) {
        hn_set_err(err, err_len, "out of memory");
        return -1;
    }
    for (size_t k = 0; k < n; k++) {
        const json_t *jt = json_array_get(j, k);
        const char *name = json_string_value(json_object_get(jt, "name"));
        const char *path = json_string_value(json_object_get(jt, "path"));
        const json_t *cols = json_object_get(jt, "columns"), *rows = json_object_get(jt, "rows");
        json_int_t mode = json_integer_value(json_object_get(jt, "mode"));
        json_int_t flags = json_integer_value(json_object_get(jt, "flags"));
        struct hn_feed_table *t = &f->tables[k];
        if (name == NULL || strcmp(name, decl[k].name) != 0 || mode < HN_FEED_CYCLE ||
            mode > HN_FEED_RANDOM || flags < 0 || flags > 0xffff || !json_is_array(cols) ||
            json_array_size(cols) == 0 || !json_is_array(rows) || json_array_size(rows) == 0) {
            hn_set_err(err, err_len, "the master's feeder table %zu is not the plugin's '%s'",
                       k + 1, decl[k].name);
            hn_feeders_free(f);
            return -1;
        }
        t->name = strdup(name);
        t->path = strdup(path ? path : "(the master's file)");
        t->mode = (int)mode; /* the master's: it hands the rows out */
        t->flags = (unsigned)flags;
        t->leased = t->mode != HN_FEED_RANDOM;
        t->n_columns = json_array_size(cols);
        t->columns = strings(cols, t->n_columns);
        t->rows = calloc(json_array_size(rows), sizeof *t->rows);
        bool ok = t->name && t->path && t->columns && t->rows;
        for (size_t i = 0; ok && i < json_array_size(rows); i++) {
            ok = (t->rows[i] = strings(json_array_get(rows, i), t->n_columns)) != NULL;
            t->n_rows += ok;
        }
        if (!ok) {
            if (t->columns == NULL)
                t->n_columns = 0; /* nothing to free per row either */
            hn_set_err(err, err_len, "the master's feeder '%s' is malformed", decl[k].name);
            hn_feeders_free(f);
            return -1;
        }
    }
    *out = f;
    return 0;
}
