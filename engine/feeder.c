/*
 * feeder.c: reading the plugin's CSV feeders with libcsv, line by line so
 * that every error names the line it is on.
 */
#include "feeder.h"

#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <csv.h>

#include "errbuf.h"
#include "hornet/hornet.h"

#define MAX_COLUMNS 1024
#define MAX_ROWS 100000000u

/* What the libcsv callbacks build. */
struct reader {
    struct hn_feed_table *t;
    char **fields;             /* the row being read */
    size_t n_fields, cap_fields;
    size_t rows_cap;
    bool header_done;
    unsigned long line;        /* line the current chunk came from */
    char err[256];             /* first error, if any */
    bool oom;
};

static void free_fields(char **f, size_t n)
{
    for (size_t i = 0; f != NULL && i < n; i++)
        free(f[i]);
    free(f);
}

static void on_field(void *data, size_t len, void *ud)
{
    struct reader *r = ud;
    if (r->err[0] != '\0' || r->oom)
        return;
    if (r->n_fields == MAX_COLUMNS) {
        snprintf(r->err, sizeof r->err, "%s:%lu: more than %d fields", r->t->path, r->line,
                 MAX_COLUMNS);
        return;
    }
    if (r->n_fields == r->cap_fields) {
        size_t cap = r->cap_fields ? r->cap_fields * 2 : 8;
        char **f = realloc(r->fields, cap * sizeof *f);
        if (f == NULL) {
            r->oom = true;
            return;
        }
        r->fields = f;
        r->cap_fields = cap;
    }
    char *v = malloc(len + 1);
    if (v == NULL) {
        r->oom = true;
        return;
    }
    if (len > 0)
        memcpy(v, data, len);
    v[len] = '\0';
    r->fields[r->n_fields++] = v;
}

static void on_row(int c, void *ud)
{
    struct reader *r = ud;
    struct hn_feed_table *t = r->t;
    (void)c;
    char **fields = r->fields;
    size_t n = r->n_fields;
    r->fields = NULL;
    r->n_fields = r->cap_fields = 0;
    if (r->err[0] != '\0' || r->oom) {
        free_fields(fields, n);
        return;
    }
    if (!r->header_done) {
        for (size_t i = 0; i < n; i++) {
            bool dup = false;
            for (size_t j = 0; j < i; j++)
                dup = dup || strcmp(fields[i], fields[j]) == 0;
            if (fields[i][0] == '\0' || dup) {
                snprintf(r->err, sizeof r->err, "%s:%lu: the header row needs a unique, non-empty "
                         "name for every column (column %zu is %s)", t->path, r->line, i + 1,
                         fields[i][0] == '\0' ? "empty" : "repeated");
                free_fields(fields, n);
                return;
            }
        }
        t->columns = fields;
        t->n_columns = n;
        r->header_done = true;
        return;
    }
    if (n != t->n_columns) {
        char cols[120] = "";
        for (size_t i = 0; i < t->n_columns && strlen(cols) < 90; i++)
            snprintf(cols + strlen(cols), sizeof cols - strlen(cols), "%s%s", i ? ", " : "",
                     t->columns[i]);
        snprintf(r->err, sizeof r->err, "%s:%lu: %zu field%s, the header has %zu (%s)", t->path,
                 r->line, n, n == 1 ? "" : "s", t->n_columns, cols);
        free_fields(fields, n);
        return;
    }
    if (t->n_rows == MAX_ROWS) {
        snprintf(r->err, sizeof r->err, "%s:%lu: more than %u rows", t->path, r->line, MAX_ROWS);
        free_fields(fields, n);
        return;
    }
    if (t->n_rows == r->rows_cap) {
        size_t cap = r->rows_cap ? r->rows_cap * 2 : 64;
        char ***rows = realloc(t->rows, cap * sizeof *rows);
        if (rows == NULL) {
            r->oom = true;
            free_fields(fields, n);
            return;
        }
        t->rows = rows;
        r->rows_cap = cap;
    }
    t->rows[t->n_rows++] = fields;
}

static void free_table(struct hn_feed_table *t)
{
    pthread_mutex_destroy(&t->lease_lock);
    free(t->lease_from);
    free(t->lease_count);
    free_fields(t->columns, t->n_columns);
    for (size_t i = 0; i < t->n_rows; i++)
        free_fields(t->rows[i], t->n_columns);
    free(t->rows);
    free(t->name);
    free(t->path);
    memset(t, 0, sizeof *t);
}

int hn_feed_table_read(struct hn_feed_table *t, const char *path, char *err, size_t err_len)
{
    t->path = strdup(path);
    FILE *f = fopen(path, "rb");
    if (t->path == NULL || f == NULL) {
        hn_set_err(err, err_len, "cannot read feeder file '%s': %s", path,
                   f == NULL ? strerror(errno) : "out of memory");
        if (f)
            fclose(f);
        return -1;
    }
    struct csv_parser p;
    struct reader r = {.t = t};
    csv_init(&p, CSV_STRICT | CSV_STRICT_FINI | CSV_APPEND_NULL);
    char *line = NULL;
    size_t cap = 0;
    ssize_t n;
    int rc = 0;
    /* Line by line, so a callback knows which line it is on (a quoted field
     * may span lines: the row ends on the line that closes it). */
    while (rc == 0 && (n = getline(&line, &cap, f)) > 0) {
        r.line++;
        /* Spreadsheets often start the file with a UTF-8 byte order mark. */
        size_t skip = r.line == 1 && n >= 3 && memcmp(line, "\xef\xbb\xbf", 3) == 0 ? 3 : 0;
        if (csv_parse(&p, line + skip, (size_t)n - skip, on_field, on_row, &r) !=
            (size_t)n - skip) {
            hn_set_err(err, err_len, "%s:%lu: malformed CSV: %s", path, r.line,
                       csv_strerror(csv_error(&p)));
            rc = -1;
        } else if (r.err[0] != '\0' || r.oom) {
            rc = -1;
        }
    }
    if (rc == 0 && ferror(f)) {
        hn_set_err(err, err_len, "cannot read feeder file '%s': %s", path, strerror(errno));
        rc = -1;
    }
    if (rc == 0 && csv_fini(&p, on_field, on_row, &r) != 0) {
        hn_set_err(err, err_len, "%s:%lu: malformed CSV at the end of the file: %s", path, r.line,
                   csv_strerror(csv_error(&p)));
        rc = -1;
    }
    /* A callback's own finding is the more precise one. */
    if (r.oom) {
        hn_set_err(err, err_len, "out of memory reading '%s'", path);
        rc = -1;
    } else if (r.err[0] != '\0') {
        hn_set_err(err, err_len, "%s", r.err);
        rc = -1;
    }
    if (rc == 0 && t->n_rows == 0) {
        hn_set_err(err, err_len, "%s: no rows after the header row", path);
        rc = -1;
    }
    csv_free(&p);
    free_fields(r.fields, r.n_fields);
    free(line);
    fclose(f);
    return rc;
}

int hn_feeders_load(const struct hn_plugin *p, const char *const *overrides,
                    struct hn_feeders **out, char *err, size_t err_len)
{
    *out = NULL;
    const struct hn_feeder *decl = p->abi_minor >= 1 ? p->feeders : NULL;
    size_t n = 0;
    while (decl != NULL && decl[n].name != NULL)
        n++;
    /* Every override must name a declared feeder. */
    for (size_t i = 0; overrides != NULL && overrides[i] != NULL; i++) {
        const char *eq = strchr(overrides[i], '=');
        size_t nl = eq ? (size_t)(eq - overrides[i]) : 0;
        bool known = false;
        for (size_t k = 0; k < n && eq != NULL; k++)
            known = known || (strlen(decl[k].name) == nl &&
                              strncmp(decl[k].name, overrides[i], nl) == 0);
        if (!known) {
            char names[200] = "";
            for (size_t k = 0; k < n && strlen(names) < 150; k++)
                snprintf(names + strlen(names), sizeof names - strlen(names), "%s%s",
                         k ? ", " : "", decl[k].name);
            hn_set_err(err, err_len, "--feed '%.80s': the plugin declares no feeder '%.*s' (%s%s)",
                       overrides[i], (int)(nl < 80 ? nl : 80), overrides[i],
                       n ? "it has: " : "it has none", names);
            return -1;
        }
    }
    if (n == 0)
        return 0;
    struct hn_feeders *f = hn_feeders_new(n);
    if (f == NULL) {
        hn_set_err(err, err_len, "out of memory");
        return -1;
    }
    for (size_t k = 0; k < n; k++) {
        struct hn_feed_table *t = &f->tables[k];
        const char *path = decl[k].path;
        for (size_t i = 0; overrides != NULL && overrides[i] != NULL; i++) {
            size_t nl = strlen(decl[k].name);
            if (strncmp(overrides[i], decl[k].name, nl) == 0 && overrides[i][nl] == '=')
                path = overrides[i] + nl + 1; /* the last one wins */
        }
        t->name = strdup(decl[k].name);
        t->mode = decl[k].mode;
        t->flags = decl[k].flags;
        if (t->name == NULL) {
            hn_feeders_free(f);
            hn_set_err(err, err_len, "out of memory");
            return -1;
        }
        if (path == NULL || *path == '\0') {
            hn_set_err(err, err_len, "feeder '%s' has no file: pass --feed %s=PATH", t->name,
                       t->name);
            hn_feeders_free(f);
            return -1;
        }
        if (hn_feed_table_read(t, path, err, err_len) != 0) {
            hn_feeders_free(f);
            return -1;
        }
    }
    *out = f;
    return 0;
}

struct hn_feeders *hn_feeders_new(size_t n)
{
    struct hn_feeders *f = calloc(1, sizeof *f);
    if (f == NULL || (f->tables = calloc(n ? n : 1, sizeof *f->tables)) == NULL) {
        free(f);
        return NULL;
    }
    f->n = n;
    for (size_t k = 0; k < n; k++)
        pthread_mutex_init(&f->tables[k].lease_lock, NULL);
    return f;
}

void hn_feeders_free(struct hn_feeders *f)
{
    if (f == NULL)
        return;
    for (size_t k = 0; k < f->n; k++)
        free_table(&f->tables[k]);
    free(f->tables);
    free(f);
}

struct hn_feed_table *hn_feeders_find(const struct hn_feeders *f, const char *name)
{
    for (size_t k = 0; f != NULL && name != NULL && k < f->n; k++)
        if (strcmp(f->tables[k].name, name) == 0)
            return &f->tables[k];
    return NULL;
}

size_t hn_feeders_index(const struct hn_feeders *f, const struct hn_feed_table *t)
{
    return (size_t)(t - f->tables);
}

long hn_feed_column(const struct hn_feed_table *t, const char *column)
{
    for (size_t i = 0; column != NULL && i < t->n_columns; i++)
        if (strcmp(t->columns[i], column) == 0)
            return (long)i;
    return -1;
}

enum hn_feed_got hn_feed_take(struct hn_feed_table *t, uint64_t rnd, size_t *row)
{
    if (t->mode == HN_FEED_RANDOM) {
        *row = (size_t)(rnd % t->n_rows);
        return HN_FEED_GOT_ROW;
    }
    if (!t->leased) {
        /* Shared by every user of every thread: each row goes out once. */
        uint64_t next = atomic_fetch_add(&t->cursor, 1);
        if (t->mode == HN_FEED_ONCE && next >= t->n_rows)
            return HN_FEED_GOT_NONE;
        *row = (size_t)(next % t->n_rows);
        return HN_FEED_GOT_ROW;
    }
    pthread_mutex_lock(&t->lease_lock);
    enum hn_feed_got got = t->drained ? HN_FEED_GOT_NONE : HN_FEED_GOT_WAIT;
    if (t->lease_n > 0) {
        size_t h = t->lease_head;
        /* The master's row numbers run on; CYCLE wraps them here. */
        *row = (size_t)(t->lease_from[h] % t->n_rows);
        t->lease_from[h]++;
        t->lease_left--;
        if (--t->lease_count[h] == 0) {
            t->lease_head = (h + 1) % t->lease_cap;
            t->lease_n--;
        }
        got = HN_FEED_GOT_ROW;
        atomic_fetch_add(&t->taken, 1);
    }
    pthread_mutex_unlock(&t->lease_lock);
    return got;
}

void hn_feed_lease_add(struct hn_feed_table *t, uint64_t from, uint64_t count)
{
    pthread_mutex_lock(&t->lease_lock);
    if (count == 0) {
        t->drained = true;
    } else {
        if (t->lease_n == t->lease_cap) {
            /* Grow the ring, unrolled so that it starts at 0. */
            size_t cap = t->lease_cap ? t->lease_cap * 2 : 8;
            uint64_t *from_a = malloc(cap * sizeof *from_a), *count_a = malloc(cap * sizeof *count_a);
            if (from_a == NULL || count_a == NULL)
                abort();
            for (size_t i = 0; i < t->lease_n; i++) {
                from_a[i] = t->lease_from[(t->lease_head + i) % t->lease_cap];
                count_a[i] = t->lease_count[(t->lease_head + i) % t->lease_cap];
            }
            free(t->lease_from);
            free(t->lease_count);
            t->lease_from = from_a;
            t->lease_count = count_a;
            t->lease_head = 0;
            t->lease_cap = cap;
        }
        size_t tail = (t->lease_head + t->lease_n) % t->lease_cap;
        t->lease_from[tail] = from;
        t->lease_count[tail] = count;
        t->lease_n++;
        t->lease_left += count;
    }
    pthread_mutex_unlock(&t->lease_lock);
}

uint64_t hn_feed_lease_left(struct hn_feed_table *t, bool *drained)
{
    pthread_mutex_lock(&t->lease_lock);
    uint64_t left = t->lease_left;
    *drained = t->drained;
    pthread_mutex_unlock(&t->lease_lock);
    return left;
}

void hn_feed_lease_reset(struct hn_feed_table *t)
{
    pthread_mutex_lock(&t->lease_lock);
    t->lease_head = t->lease_n = 0;
    t->lease_left = 0;
    t->drained = false;
    pthread_mutex_unlock(&t->lease_lock);
}
