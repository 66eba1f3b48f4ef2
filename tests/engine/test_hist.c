/*
 * test_hist.c: histogram accuracy against exact nearest-rank percentiles,
 * merge, reset and copy.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "hist.h"

/* Deterministic generator so a failure reproduces (splitmix64). */
static uint64_t rng_state = 0x9e3779b97f4a7c15ull;

static uint64_t rng_next(void)
{
    uint64_t z = (rng_state += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}

static double rng_unit(void)
{
    return (double)(rng_next() >> 11) / 9007199254740992.0; /* [0, 1) */
}

static double rng_normal(void)
{
    double u1 = rng_unit(), u2 = rng_unit();
    if (u1 < 1e-300)
        u1 = 1e-300;
    return sqrt(-2.0 * log(u1)) * cos(6.283185307179586 * u2);
}

static int cmp_u64(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return x < y ? -1 : x > y;
}

/* Worst relative error seen by check_quantile, reported at the end. */
static double worst_rel;

/* Exact nearest-rank value of sorted[0..n) for rank r (1-based). */
static void check_rank(const struct hn_hist *h, const uint64_t *sorted, size_t n, size_t r,
                       double q)
{
    uint64_t exact = sorted[r - 1];
    uint64_t got = hn_hist_quantile(h, q);
    if (got < sorted[0] || got > sorted[n - 1]) {
        fail_msg("q=%.6f got %llu outside [%llu, %llu]", q, (unsigned long long)got,
                 (unsigned long long)sorted[0], (unsigned long long)sorted[n - 1]);
    }
    double rel = exact ? fabs((double)got - (double)exact) / (double)exact : (got ? 1.0 : 0.0);
    if (rel > worst_rel)
        worst_rel = rel;
    if (rel > 0.01) {
        fail_msg("q=%.6f rank %zu of %zu: got %llu, exact %llu (%.3f%% off)", q, r, n,
                 (unsigned long long)got, (unsigned long long)exact, rel * 100);
    }
}

/* Records vals, then compares a fixed set of quantiles (or every rank when
 * every_rank) with the exact nearest-rank values. */
static void check_accuracy(uint64_t *vals, size_t n, int every_rank)
{
    struct hn_hist h;
    hn_hist_init(&h);
    for (size_t i = 0; i < n; i++)
        hn_hist_record(&h, vals[i]);
    qsort(vals, n, sizeof(*vals), cmp_u64);

    assert_int_equal(h.count, n);
    assert_int_equal(h.min, vals[0]);
    assert_int_equal(h.max, vals[n - 1]);
    assert_int_equal(hn_hist_quantile(&h, 0.0), vals[0]);
    assert_int_equal(hn_hist_quantile(&h, 1.0), vals[n - 1]);

    if (every_rank) {
        for (size_t r = 1; r <= n; r++)
            check_rank(&h, vals, n, r, (double)r / (double)n);
    } else {
        /* Quantiles in parts per million so the exact rank is integer math. */
        static const uint64_t ppm[] = {1,      1000,   10000,  100000, 250000, 500000, 660000,
                                       750000, 900000, 950000, 990000, 999000, 999900, 999999};
        for (size_t k = 0; k < sizeof(ppm) / sizeof(ppm[0]); k++) {
            size_t r = (size_t)((ppm[k] * n + 999999) / 1000000);
            check_rank(&h, vals, n, r ? r : 1, (double)ppm[k] / 1e6);
        }
    }
    hn_hist_cleanup(&h);
}

static void test_uniform(void **state)
{
    size_t n = 200000;
    uint64_t *v = malloc(n * sizeof(*v));
    for (size_t i = 0; i < n; i++)
        v[i] = rng_next() % 2000000;
    check_accuracy(v, n, 0);
    /* Small magnitudes too, where buckets are exact. */
    for (size_t i = 0; i < n; i++)
        v[i] = rng_next() % 300;
    check_accuracy(v, n, 0);
    free(v);
}

static void test_heavy_tail(void **state)
{
    size_t n = 200000;
    uint64_t *v = malloc(n * sizeof(*v));
    /* Log-normal around 20 ms with a wide spread, plus a Pareto tail. */
    for (size_t i = 0; i < n; i++) {
        double x;
        if (i % 20 == 0)
            x = 50000.0 / pow(1.0 - rng_unit(), 1.0 / 1.2);
        else
            x = exp(log(20000.0) + 1.5 * rng_normal());
        if (x > 1e13)
            x = 1e13;
        v[i] = (uint64_t)x;
    }
    check_accuracy(v, n, 0);
    free(v);
}

static void test_all_equal(void **state)
{
    struct hn_hist h;
    hn_hist_init(&h);
    for (int i = 0; i < 1000; i++)
        hn_hist_record(&h, 12345);
    /* Clamping to [min, max] makes every quantile exact. */
    for (int i = 0; i <= 100; i++)
        assert_int_equal(hn_hist_quantile(&h, i / 100.0), 12345);
    assert_true(hn_hist_mean(&h) == 12345.0);
    hn_hist_cleanup(&h);

    uint64_t v[500];
    for (int i = 0; i < 500; i++)
        v[i] = 777777;
    check_accuracy(v, 500, 1);
}

static void test_two_clusters(void **state)
{
    size_t n = 4000;
    uint64_t *v = malloc(n * sizeof(*v));
    for (size_t i = 0; i < n; i++)
        v[i] = i % 2 ? 100 + rng_next() % 5 : 10000000 + rng_next() % 50000;
    check_accuracy(v, n, 1);

    /* The split point itself: rank n/2 is the last value of the low cluster. */
    struct hn_hist h;
    hn_hist_init(&h);
    for (size_t i = 0; i < n; i++)
        hn_hist_record(&h, v[i]);
    assert_true(hn_hist_quantile(&h, 0.5) <= 104);
    assert_true(hn_hist_quantile(&h, 0.5 + 1.0 / (double)n) >= 9900000);
    hn_hist_cleanup(&h);
    free(v);
}

static void test_zero_and_one(void **state)
{
    uint64_t v[1001];
    for (int i = 0; i < 1001; i++)
        v[i] = (uint64_t)(i % 3 == 0);
    check_accuracy(v, 1001, 1);

    uint64_t zeros[10] = {0};
    check_accuracy(zeros, 10, 1);

    struct hn_hist h;
    hn_hist_init(&h);
    hn_hist_record(&h, 0);
    assert_int_equal(hn_hist_quantile(&h, 0.5), 0);
    assert_int_equal(h.min, 0);
    assert_int_equal(h.max, 0);
    hn_hist_cleanup(&h);
}

static void test_huge(void **state)
{
    uint64_t big = (uint64_t)1 << 45;
    uint64_t v[6] = {big, big, 1, 500, big + 12345, big - 1};
    check_accuracy(v, 6, 1);

    /* Beyond the top octave values share the top bucket, but min, max and
     * the sum stay exact and nothing is reported outside [min, max]. */
    struct hn_hist h;
    hn_hist_init(&h);
    hn_hist_record(&h, (uint64_t)1 << 50);
    assert_int_equal(hn_hist_quantile(&h, 0.5), (uint64_t)1 << 50);
    hn_hist_record(&h, UINT64_MAX);
    hn_hist_record(&h, 5);
    assert_int_equal(h.max, UINT64_MAX);
    assert_int_equal(h.min, 5);
    assert_int_equal(hn_hist_quantile(&h, 1.0), UINT64_MAX);
    for (int i = 0; i <= 10; i++) {
        uint64_t q = hn_hist_quantile(&h, i / 10.0);
        assert_true(q >= 5);
    }
    assert_non_null(h.octave[HN_HIST_OCTAVES - 1]);
    assert_int_equal(h.octave[HN_HIST_OCTAVES - 1][HN_HIST_SUB - 1], 2);
    hn_hist_cleanup(&h);
}

static void test_powers_and_edges(void **state)
{
    uint64_t *v = malloc(4096 * sizeof(*v));
    size_t n = 0;
    for (int k = 0; k <= 45; k++) {
        uint64_t p = (uint64_t)1 << k;
        v[n++] = p;
        v[n++] = p - 1;
        v[n++] = p + 1;
        if (k >= HN_HIST_SUB_BITS) {
            /* Edges of the first sub-buckets of this octave. */
            uint64_t w = p >> HN_HIST_SUB_BITS;
            v[n++] = p + w - 1;
            v[n++] = p + w;
            v[n++] = p + 2 * w - 1;
            v[n++] = 2 * p - w;
        }
    }
    for (uint64_t x = 120; x < 270; x++)
        v[n++] = x;
    check_accuracy(v, n, 1);
    free(v);
}

static void test_quantiles_one_pass(void **state)
{
    struct hn_hist h;
    hn_hist_init(&h);
    for (int i = 0; i < 50000; i++)
        hn_hist_record(&h, rng_next() % 1000000);
    const double qs[] = {0.0, 0.1, 0.5, 0.5, 0.9, 0.99, 0.9999, 1.0, 1.5};
    uint64_t out[9];
    hn_hist_quantiles(&h, qs, 9, out);
    for (int i = 0; i < 9; i++)
        assert_int_equal(out[i], hn_hist_quantile(&h, qs[i]));
    assert_int_equal(out[0], h.min);
    assert_int_equal(out[8], h.max);

    /* Not ascending and NaN: still answered, element by element. */
    const double bad[] = {0.9, 0.1, NAN, -1.0};
    uint64_t out2[4];
    hn_hist_quantiles(&h, bad, 4, out2);
    assert_int_equal(out2[0], hn_hist_quantile(&h, 0.9));
    assert_int_equal(out2[1], hn_hist_quantile(&h, 0.1));
    assert_int_equal(out2[2], h.min);
    assert_int_equal(out2[3], h.min);
    hn_hist_cleanup(&h);
}

static void test_empty(void **state)
{
    struct hn_hist h;
    hn_hist_init(&h);
    assert_int_equal(hn_hist_quantile(&h, 0.5), 0);
    assert_int_equal(hn_hist_quantile(&h, 1.0), 0);
    assert_true(hn_hist_mean(&h) == 0.0);
    uint64_t out[2] = {7, 7};
    const double qs[] = {0.5, 0.99};
    hn_hist_quantiles(&h, qs, 2, out);
    assert_int_equal(out[0], 0);
    assert_int_equal(out[1], 0);
    hn_hist_cleanup(&h);

    /* A zero-filled struct behaves as an empty histogram too. */
    struct hn_hist z;
    memset(&z, 0, sizeof(z));
    hn_hist_record(&z, 400);
    hn_hist_record(&z, 300);
    assert_int_equal(z.min, 300);
    assert_int_equal(z.max, 400);
    hn_hist_cleanup(&z);
}

static void assert_hist_equal(const struct hn_hist *a, const struct hn_hist *b)
{
    assert_int_equal(a->count, b->count);
    assert_int_equal(a->min, b->min);
    assert_int_equal(a->max, b->max);
    assert_true(a->sum == b->sum);
    for (int i = 0; i < HN_HIST_OCTAVES; i++) {
        assert_true((a->octave[i] == NULL) == (b->octave[i] == NULL));
        if (a->octave[i])
            assert_memory_equal(a->octave[i], b->octave[i], HN_HIST_SUB * sizeof(*a->octave[i]));
    }
}

static void test_merge(void **state)
{
    struct hn_hist one, parts[4], merged;
    hn_hist_init(&one);
    hn_hist_init(&merged);
    for (int p = 0; p < 4; p++)
        hn_hist_init(&parts[p]);
    for (int i = 0; i < 100000; i++) {
        /* Whole microseconds keep the double sums exact in any order. */
        uint64_t v = (uint64_t)exp(log(5000.0) + 2.0 * rng_normal());
        hn_hist_record(&one, v);
        hn_hist_record(&parts[rng_next() % 4], v);
    }
    for (int p = 0; p < 4; p++)
        hn_hist_merge(&merged, &parts[p]);
    assert_hist_equal(&one, &merged);
    for (int i = 0; i <= 1000; i++)
        assert_int_equal(hn_hist_quantile(&one, i / 1000.0), hn_hist_quantile(&merged, i / 1000.0));
    assert_true(hn_hist_mean(&one) == hn_hist_mean(&merged));

    /* Merging an empty histogram changes nothing; into an empty one copies. */
    struct hn_hist empty, fresh;
    hn_hist_init(&empty);
    hn_hist_init(&fresh);
    hn_hist_merge(&merged, &empty);
    assert_hist_equal(&one, &merged);
    hn_hist_merge(&fresh, &one);
    assert_hist_equal(&one, &fresh);

    hn_hist_cleanup(&one);
    hn_hist_cleanup(&merged);
    hn_hist_cleanup(&fresh);
    hn_hist_cleanup(&empty);
    for (int p = 0; p < 4; p++)
        hn_hist_cleanup(&parts[p]);
}

static void test_reset(void **state)
{
    struct hn_hist h;
    hn_hist_init(&h);
    for (uint64_t v = 1; v < 1000000; v *= 3)
        hn_hist_record(&h, v);
    hn_hist_reset(&h);
    assert_int_equal(h.count, 0);
    assert_int_equal(h.min, UINT64_MAX);
    assert_int_equal(h.max, 0);
    assert_int_equal(hn_hist_quantile(&h, 0.5), 0);
    assert_non_null(h.octave[0]); /* arrays kept for reuse, zeroed */
    for (unsigned i = 0; i < HN_HIST_SUB; i++)
        assert_int_equal(h.octave[0][i], 0);
    hn_hist_record(&h, 42);
    assert_int_equal(h.count, 1);
    assert_int_equal(hn_hist_quantile(&h, 0.5), 42);
    assert_int_equal(h.min, 42);
    hn_hist_cleanup(&h);
}

static void test_copy(void **state)
{
    struct hn_hist src, dst;
    hn_hist_init(&src);
    hn_hist_init(&dst);
    for (int i = 0; i < 10000; i++)
        hn_hist_record(&src, 1000 + rng_next() % 100000);
    /* dst holds values in octaves src lacks: they must not survive. */
    hn_hist_record(&dst, 3);
    hn_hist_record(&dst, (uint64_t)1 << 40);
    hn_hist_copy(&dst, &src);
    assert_hist_equal(&src, &dst);
    assert_null(dst.octave[0]);
    /* The copy is deep. */
    hn_hist_record(&src, 7);
    assert_int_equal(dst.count, 10000);
    assert_int_not_equal(dst.min, 7);
    hn_hist_copy(&dst, &dst);
    hn_hist_cleanup(&src);
    hn_hist_cleanup(&dst);
}

/* Runs last: the accuracy tests above stayed within the design bound. By
 * construction a midpoint is within 1/(2*HN_HIST_SUB) of any value in its
 * bucket, which is tighter than the required 1 %. */
static void test_worst_error(void **state)
{
    printf("worst relative error seen: %.4f%%\n", worst_rel * 100);
    assert_true(worst_rel > 0.0);
    assert_true(worst_rel <= 1.0 / (2.0 * HN_HIST_SUB) + 1e-12);
}

/* Prometheus buckets: against exact counts, a value at most a bucket's
 * width from a bound may land on either side of it. */
static void test_count_le(void **state)
{
    (void)state;
    static const uint64_t bounds[] = {1000, 2500, 5000, 10000, 60000000};
    enum { NB = sizeof(bounds) / sizeof(bounds[0]), N = 20000 };
    struct hn_hist h;
    hn_hist_init(&h);
    uint64_t *vals = malloc(N * sizeof(*vals));
    for (size_t i = 0; i < N; i++) {
        vals[i] = 200 + rng_next() % 20000;
        hn_hist_record(&h, vals[i]);
    }
    uint64_t out[NB];
    hn_hist_count_le(&h, bounds, NB, out);
    for (size_t b = 0; b < NB; b++) {
        uint64_t below = 0, near = 0; /* exactly <= bound; within 1/128 of it */
        for (size_t i = 0; i < N; i++) {
            below += vals[i] <= bounds[b];
            near += vals[i] + vals[i] / 64 >= bounds[b] && vals[i] <= bounds[b] + bounds[b] / 64;
        }
        assert_true(out[b] + near >= below && out[b] <= below + near);
        if (b)
            assert_true(out[b] >= out[b - 1]);
    }
    assert_int_equal(out[NB - 1], N);
    /* A single value is exact whatever its bucket (clamped to min/max). */
    hn_hist_reset(&h);
    hn_hist_record(&h, 1000);
    hn_hist_count_le(&h, bounds, NB, out);
    assert_int_equal(out[0], 1);
    hn_hist_reset(&h);
    hn_hist_record(&h, 1001);
    hn_hist_count_le(&h, bounds, NB, out);
    assert_int_equal(out[0], 0);
    assert_int_equal(out[1], 1);
    free(vals);
    hn_hist_cleanup(&h);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_uniform),
        cmocka_unit_test(test_heavy_tail),
        cmocka_unit_test(test_all_equal),
        cmocka_unit_test(test_two_clusters),
        cmocka_unit_test(test_zero_and_one),
        cmocka_unit_test(test_huge),
        cmocka_unit_test(test_powers_and_edges),
        cmocka_unit_test(test_quantiles_one_pass),
        cmocka_unit_test(test_empty),
        cmocka_unit_test(test_merge),
        cmocka_unit_test(test_reset),
        cmocka_unit_test(test_copy),
        cmocka_unit_test(test_worst_error),
        cmocka_unit_test(test_count_le),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
