/*
 * test_stats.c: statistics tables: record, find, failures, exceptions,
 * index growth, merge of shards, totals and reset.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "stats.h"

static uint64_t rng_state = 12345;

static uint64_t rng_next(void)
{
    uint64_t z = (rng_state += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}

static void test_record_find(void **state)
{
    struct hn_stats s;
    hn_stats_init(&s);
    assert_true(hn_stats_empty(&s));
    assert_null(hn_stats_find(&s, "GET", "/"));

    char name[16];
    strcpy(name, "/items");
    hn_stats_record(&s, "GET", name, 1000, 100, NULL, 50.0);
    strcpy(name, "/xxxxx"); /* the table keeps its own copy */
    hn_stats_record(&s, "GET", "/items", 3000, 300, NULL, 40.0);
    hn_stats_record(&s, "GET", "/items", 2000, 200, "HTTP 500", 60.0);
    hn_stats_record(&s, "POST", "/items", 500, 0, NULL, 55.0);
    assert_false(hn_stats_empty(&s));

    struct hn_stats_entry *e = hn_stats_find(&s, "GET", "/items");
    assert_non_null(e);
    assert_string_equal(e->type, "GET");
    assert_string_equal(e->name, "/items");
    assert_int_equal(e->requests, 3);
    assert_int_equal(e->failures, 1);
    assert_int_equal(e->bytes, 600);
    assert_int_equal(e->hist.count, 3);
    assert_int_equal(e->hist.min, 1000);
    assert_int_equal(e->hist.max, 3000);
    assert_true(e->first_ts == 40.0);
    assert_true(e->last_ts == 60.0);

    struct hn_stats_entry *p = hn_stats_find(&s, "POST", "/items");
    assert_non_null(p);
    assert_ptr_not_equal(p, e);
    assert_int_equal(p->requests, 1);
    assert_null(hn_stats_find(&s, "GET", "/other"));
    assert_null(hn_stats_find(&s, "PUT", "/items"));
    /* Key parts are separate: ("GET/", "items") is not ("GET", "/items"). */
    assert_null(hn_stats_find(&s, "GET/", "items"));

    /* Insertion order. */
    assert_int_equal(s.n_entries, 2);
    assert_ptr_equal(s.entries[0], e);
    assert_ptr_equal(s.entries[1], p);

    /* NULL keys count as "". */
    hn_stats_record(&s, NULL, NULL, 10, 0, NULL, 1.0);
    e = hn_stats_find(&s, "", "");
    assert_non_null(e);
    assert_ptr_equal(hn_stats_find(&s, NULL, NULL), e);
    hn_stats_cleanup(&s);
}

static void test_failures(void **state)
{
    struct hn_stats s;
    hn_stats_init(&s);
    hn_stats_record(&s, "GET", "/a", 10, 0, "HTTP 500", 10.0);
    hn_stats_record(&s, "GET", "/a", 10, 0, "HTTP 500", 12.0);
    hn_stats_record(&s, "GET", "/a", 10, 0, "HTTP 500", 11.0);
    hn_stats_record(&s, "GET", "/a", 10, 0, "timeout", 13.0);
    hn_stats_record(&s, "GET", "/b", 10, 0, "HTTP 500", 14.0);
    hn_stats_record(&s, "POST", "/a", 10, 0, "HTTP 500", 15.0);
    hn_stats_record(&s, "GET", "/a", 10, 0, NULL, 16.0);
    hn_stats_record(&s, "GET", "/a", 10, 0, "", 17.0); /* empty message still a failure */

    assert_int_equal(s.n_errors, 5);
    const struct hn_stats_error *e = s.errors[0];
    assert_string_equal(e->type, "GET");
    assert_string_equal(e->name, "/a");
    assert_string_equal(e->message, "HTTP 500");
    assert_int_equal(e->count, 3);
    assert_true(e->first_seen == 10.0);
    assert_true(e->last_seen == 12.0);
    assert_string_equal(s.errors[1]->message, "timeout");
    assert_string_equal(s.errors[2]->name, "/b");
    assert_string_equal(s.errors[3]->type, "POST");
    assert_string_equal(s.errors[4]->message, "");

    struct hn_stats_entry *a = hn_stats_find(&s, "GET", "/a");
    assert_int_equal(a->requests, 6);
    assert_int_equal(a->failures, 5);
    hn_stats_cleanup(&s);
}

static void test_exceptions(void **state)
{
    struct hn_stats s;
    hn_stats_init(&s);
    hn_stats_exception(&s, "WebUser", "browse", "KeyError: x", 5.0);
    hn_stats_exception(&s, "WebUser", "browse", "KeyError: x", 3.0);
    hn_stats_exception(&s, "WebUser", "login", "KeyError: x", 4.0);
    hn_stats_exception(&s, "ApiUser", "browse", "KeyError: x", 4.0);
    hn_stats_exception(&s, "WebUser", "browse", "boom", 6.0);
    assert_false(hn_stats_empty(&s));
    assert_int_equal(s.n_entries, 0);
    assert_int_equal(s.n_exceptions, 4);
    assert_int_equal(s.exceptions[0]->count, 2);
    assert_true(s.exceptions[0]->first_seen == 3.0);
    assert_true(s.exceptions[0]->last_seen == 5.0);
    assert_string_equal(s.exceptions[1]->task, "login");
    assert_string_equal(s.exceptions[2]->user_type, "ApiUser");
    assert_string_equal(s.exceptions[3]->message, "boom");
    hn_stats_cleanup(&s);
}

static void test_many_keys(void **state)
{
    enum { N = 5000 };
    struct hn_stats s;
    hn_stats_init(&s);
    char name[32];
    for (int round = 0; round < 2; round++) {
        for (int i = 0; i < N; i++) {
            snprintf(name, sizeof(name), "/item/%d", i);
            hn_stats_record(&s, i % 2 ? "GET" : "POST", name, (uint64_t)i, 1, NULL, i);
            snprintf(name, sizeof(name), "error %d", i % 1000);
            hn_stats_record(&s, "GET", "/err", 1, 0, name, i);
            hn_stats_exception(&s, "U", "t", name, i);
            /* Power-of-two index, load kept under 70 % at every size. */
            assert_int_equal(s.entry_index.cap & (s.entry_index.cap - 1), 0);
            assert_true(s.n_entries * 10 <= s.entry_index.cap * 7);
            assert_true(s.n_errors * 10 <= s.error_index.cap * 7);
            assert_true(s.n_exceptions * 10 <= s.exception_index.cap * 7);
        }
    }
    assert_int_equal(s.n_entries, N + 1);
    assert_int_equal(s.n_errors, 1000);
    assert_int_equal(s.n_exceptions, 1000);

    for (int i = 0; i < N; i++) {
        snprintf(name, sizeof(name), "/item/%d", i);
        struct hn_stats_entry *e = hn_stats_find(&s, i % 2 ? "GET" : "POST", name);
        assert_non_null(e);
        assert_ptr_equal(s.entries[i + (i > 0)], e); /* insertion order; "/err" came second */
        assert_int_equal(e->requests, 2);
        assert_null(hn_stats_find(&s, i % 2 ? "POST" : "GET", name));
    }
    for (int i = 0; i < 1000; i++)
        assert_int_equal(s.errors[i]->count, 10);
    assert_int_equal(hn_stats_find(&s, "GET", "/err")->failures, 2 * N);

    hn_stats_reset(&s);
    assert_true(hn_stats_empty(&s));
    assert_null(hn_stats_find(&s, "GET", "/item/1"));
    hn_stats_record(&s, "GET", "/item/1", 5, 0, NULL, 0);
    assert_int_equal(s.n_entries, 1);
    assert_non_null(hn_stats_find(&s, "GET", "/item/1"));
    hn_stats_cleanup(&s);
}

/* Errors and exceptions have no find(): match them by scanning. */
static const struct hn_stats_error *find_error(const struct hn_stats *s, const char *type,
                                               const char *name, const char *message)
{
    for (size_t j = 0; j < s->n_errors; j++) {
        const struct hn_stats_error *e = s->errors[j];
        if (!strcmp(type, e->type) && !strcmp(name, e->name) && !strcmp(message, e->message))
            return e;
    }
    return NULL;
}

static void assert_tables_equal(const struct hn_stats *a, const struct hn_stats *b)
{
    assert_int_equal(a->n_entries, b->n_entries);
    assert_int_equal(a->n_errors, b->n_errors);
    assert_int_equal(a->n_exceptions, b->n_exceptions);
    for (size_t i = 0; i < a->n_entries; i++) {
        const struct hn_stats_entry *x = a->entries[i];
        const struct hn_stats_entry *y = hn_stats_find(b, x->type, x->name);
        assert_non_null(y);
        assert_int_equal(x->requests, y->requests);
        assert_int_equal(x->failures, y->failures);
        assert_int_equal(x->bytes, y->bytes);
        assert_true(x->first_ts == y->first_ts);
        assert_true(x->last_ts == y->last_ts);
        assert_int_equal(x->hist.count, y->hist.count);
        assert_int_equal(x->hist.min, y->hist.min);
        assert_int_equal(x->hist.max, y->hist.max);
        assert_true(x->hist.sum == y->hist.sum);
        for (int k = 0; k < HN_HIST_OCTAVES; k++) {
            assert_true((x->hist.octave[k] == NULL) == (y->hist.octave[k] == NULL));
            if (x->hist.octave[k])
                assert_memory_equal(x->hist.octave[k], y->hist.octave[k],
                                    HN_HIST_SUB * sizeof(*x->hist.octave[k]));
        }
    }
    for (size_t i = 0; i < a->n_errors; i++) {
        const struct hn_stats_error *x = a->errors[i];
        const struct hn_stats_error *y = find_error(b, x->type, x->name, x->message);
        assert_non_null(y);
        assert_int_equal(x->count, y->count);
        assert_true(x->first_seen == y->first_seen);
        assert_true(x->last_seen == y->last_seen);
    }
    for (size_t i = 0; i < a->n_exceptions; i++) {
        const struct hn_stats_exception *x = a->exceptions[i];
        size_t j = 0;
        while (j < b->n_exceptions && (strcmp(x->user_type, b->exceptions[j]->user_type) ||
                                       strcmp(x->task, b->exceptions[j]->task) ||
                                       strcmp(x->message, b->exceptions[j]->message)))
            j++;
        assert_true(j < b->n_exceptions);
        assert_int_equal(x->count, b->exceptions[j]->count);
        assert_true(x->first_seen == b->exceptions[j]->first_seen);
        assert_true(x->last_seen == b->exceptions[j]->last_seen);
    }
}

static void test_merge_shards(void **state)
{
    enum { SHARDS = 4, OPS = 60000 };
    static const char *const types[] = {"GET", "POST", "grpc"};
    static const char *const errors[] = {"HTTP 500", "HTTP 503", "timeout", "connection refused"};
    struct hn_stats one, shard[SHARDS], merged;
    hn_stats_init(&one);
    hn_stats_init(&merged);
    for (int k = 0; k < SHARDS; k++)
        hn_stats_init(&shard[k]);

    char name[32], msg[32];
    for (int i = 0; i < OPS; i++) {
        struct hn_stats *sh = &shard[rng_next() % SHARDS];
        const char *type = types[rng_next() % 3];
        snprintf(name, sizeof(name), "/ep/%d", (int)(rng_next() % 300));
        uint64_t us = 100 + rng_next() % 5000000;
        uint64_t bytes = rng_next() % 10000;
        const char *err = rng_next() % 10 == 0 ? errors[rng_next() % 4] : NULL;
        double ts = 1000.0 + (double)(rng_next() % 100000) / 100.0;
        hn_stats_record(&one, type, name, us, bytes, err, ts);
        hn_stats_record(sh, type, name, us, bytes, err, ts);
        if (rng_next() % 50 == 0) {
            snprintf(msg, sizeof(msg), "ValueError %d", (int)(rng_next() % 7));
            hn_stats_exception(&one, "User", name, msg, ts);
            hn_stats_exception(sh, "User", name, msg, ts);
        }
    }
    for (int k = 0; k < SHARDS; k++)
        hn_stats_merge(&merged, &shard[k]);
    assert_tables_equal(&one, &merged);
    assert_tables_equal(&merged, &one);

    /* Merging again doubles every count; merging an empty table is a no-op. */
    struct hn_stats empty;
    hn_stats_init(&empty);
    hn_stats_merge(&merged, &empty);
    assert_tables_equal(&one, &merged);
    hn_stats_merge(&merged, &one);
    const struct hn_stats_entry *m0 = merged.entries[0];
    assert_int_equal(m0->requests, 2 * hn_stats_find(&one, m0->type, m0->name)->requests);
    for (size_t i = 0; i < merged.n_errors; i++) {
        const struct hn_stats_error *me = merged.errors[i];
        const struct hn_stats_error *oe = find_error(&one, me->type, me->name, me->message);
        assert_non_null(oe);
        assert_int_equal(me->count, 2 * oe->count);
    }

    hn_stats_cleanup(&empty);
    hn_stats_cleanup(&one);
    hn_stats_cleanup(&merged);
    for (int k = 0; k < SHARDS; k++)
        hn_stats_cleanup(&shard[k]);
}

static void test_total(void **state)
{
    struct hn_stats s;
    hn_stats_init(&s);
    hn_stats_record(&s, "GET", "/a", 1000, 10, NULL, 20.0);
    hn_stats_record(&s, "GET", "/a", 2000, 20, "x", 25.0);
    hn_stats_record(&s, "GET", "/b", 500, 30, NULL, 15.0);
    hn_stats_record(&s, "POST", "/c", 9000, 40, "y", 30.0);

    struct hn_stats_entry t;
    memset(&t, 0, sizeof(t));
    hn_hist_init(&t.hist);
    hn_stats_total(&s, &t);
    assert_null(t.type);
    assert_null(t.name);
    assert_int_equal(t.requests, 4);
    assert_int_equal(t.failures, 2);
    assert_int_equal(t.bytes, 100);
    assert_int_equal(t.hist.count, 4);
    assert_int_equal(t.hist.min, 500);
    assert_int_equal(t.hist.max, 9000);
    assert_true(t.first_ts == 15.0);
    assert_true(t.last_ts == 30.0);
    hn_stats_entry_cleanup(&t);

    /* Empty table: an empty total. */
    struct hn_stats none;
    hn_stats_init(&none);
    memset(&t, 0, sizeof(t));
    hn_hist_init(&t.hist);
    hn_stats_total(&none, &t);
    assert_int_equal(t.requests, 0);
    assert_int_equal(t.hist.count, 0);
    hn_stats_entry_cleanup(&t);
    hn_stats_cleanup(&none);
    hn_stats_cleanup(&s);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_record_find),  cmocka_unit_test(test_failures),
        cmocka_unit_test(test_exceptions),   cmocka_unit_test(test_many_keys),
        cmocka_unit_test(test_merge_shards), cmocka_unit_test(test_total),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
