/*
 * hist.c: log-linear latency histogram.
 *
 * Layout: octave 0 holds the values 0..HN_HIST_SUB-1 exactly (1 us wide).
 * Octave k >= 1 holds [HN_HIST_SUB << (k-1), HN_HIST_SUB << k), split into
 * HN_HIST_SUB buckets 2^(k-1) wide, so a bucket is never wider than
 * 1/HN_HIST_SUB of the values it holds. Values beyond the top octave are
 * counted in the top bucket; min, max and sum stay exact.
 *
 * A zero-filled struct also works as an empty histogram: record and merge
 * take min/max from the first value rather than comparing with the
 * UINT64_MAX sentinel.
 */
#include "hist.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define TOP_OCTAVE (HN_HIST_OCTAVES - 1)
/* First value that no longer fits the top octave: 2^(SUB_BITS + OCTAVES - 1). */
#define LIMIT_BITS (HN_HIST_SUB_BITS + HN_HIST_OCTAVES - 1)

static uint64_t *alloc_octave(void)
{
    uint64_t *a = calloc(HN_HIST_SUB, sizeof(*a));
    if (!a) {
        fprintf(stderr, "hornet: out of memory (%s:%d)\n", __FILE__, __LINE__);
        abort();
    }
    return a;
}

/* Octave and sub-bucket of a value (values too large land in the top bucket). */
static inline void locate(uint64_t v, unsigned *octave, unsigned *sub)
{
    if (v < HN_HIST_SUB) {
        *octave = 0;
        *sub = (unsigned)v;
        return;
    }
    if (v >> LIMIT_BITS) {
        *octave = TOP_OCTAVE;
        *sub = HN_HIST_SUB - 1;
        return;
    }
    unsigned msb = 63u - (unsigned)__builtin_clzll(v);
    unsigned shift = msb - HN_HIST_SUB_BITS;
    *octave = shift + 1;
    *sub = (unsigned)(v >> shift) & (HN_HIST_SUB - 1);
}

/* Representative value of a bucket: the middle of the values it covers. */
static uint64_t bucket_mid(unsigned octave, unsigned sub)
{
    if (octave == 0)
        return sub;
    unsigned shift = octave - 1;
    uint64_t lo = (uint64_t)(HN_HIST_SUB + sub) << shift;
    uint64_t width = (uint64_t)1 << shift;
    return lo + width / 2;
}

/* Nearest rank for quantile q in (0, 1): ceil(q * count), in [1, count].
 * The tiny relative slack keeps decimal quantiles such as 0.07 * 100 from
 * becoming rank 8 through binary round-off. */
static uint64_t rank_of(double q, uint64_t count)
{
    double x = q * (double)count;
    double r = ceil(x - x * 1e-12);
    if (!(r >= 1.0))
        return 1;
    if (r >= (double)count)
        return count;
    return (uint64_t)r;
}

static uint64_t clamp(uint64_t v, const struct hn_hist *h)
{
    if (v < h->min)
        return h->min;
    if (v > h->max)
        return h->max;
    return v;
}

void hn_hist_init(struct hn_hist *h)
{
    memset(h, 0, sizeof(*h));
    h->min = UINT64_MAX;
}

void hn_hist_cleanup(struct hn_hist *h)
{
    for (int i = 0; i < HN_HIST_OCTAVES; i++) {
        free(h->octave[i]);
        h->octave[i] = NULL;
    }
    h->count = 0;
    h->min = UINT64_MAX;
    h->max = 0;
    h->sum = 0;
}

void hn_hist_reset(struct hn_hist *h)
{
    for (int i = 0; i < HN_HIST_OCTAVES; i++) {
        if (h->octave[i])
            memset(h->octave[i], 0, HN_HIST_SUB * sizeof(*h->octave[i]));
    }
    h->count = 0;
    h->min = UINT64_MAX;
    h->max = 0;
    h->sum = 0;
}

void hn_hist_record(struct hn_hist *h, uint64_t value_us)
{
    unsigned oct, sub;
    locate(value_us, &oct, &sub);
    if (!h->octave[oct])
        h->octave[oct] = alloc_octave();
    h->octave[oct][sub]++;
    if (h->count == 0 || value_us < h->min)
        h->min = value_us;
    if (h->count == 0 || value_us > h->max)
        h->max = value_us;
    h->count++;
    h->sum += (double)value_us;
}

void hn_hist_merge(struct hn_hist *dst, const struct hn_hist *src)
{
    if (src->count == 0)
        return;
    for (int i = 0; i < HN_HIST_OCTAVES; i++) {
        const uint64_t *s = src->octave[i];
        if (!s)
            continue;
        if (!dst->octave[i])
            dst->octave[i] = alloc_octave();
        uint64_t *d = dst->octave[i];
        for (unsigned j = 0; j < HN_HIST_SUB; j++)
            d[j] += s[j];
    }
    if (dst->count == 0 || src->min < dst->min)
        dst->min = src->min;
    if (dst->count == 0 || src->max > dst->max)
        dst->max = src->max;
    dst->count += src->count;
    dst->sum += src->sum;
}

uint64_t hn_hist_quantile(const struct hn_hist *h, double q)
{
    uint64_t out;
    hn_hist_quantiles(h, &q, 1, &out);
    return out;
}

void hn_hist_quantiles(const struct hn_hist *h, const double *qs, int n, uint64_t *out)
{
    if (n <= 0)
        return;
    if (h->count == 0) {
        for (int i = 0; i < n; i++)
            out[i] = 0;
        return;
    }
    /* One pass needs ascending ranks; anything else is answered one by one. */
    for (int i = 1; i < n; i++) {
        if (!(qs[i] >= qs[i - 1])) {
            for (int k = 0; k < n; k++)
                hn_hist_quantiles(h, &qs[k], 1, &out[k]);
            return;
        }
    }

    int i = 0;
    /* q <= 0 (or NaN) is the minimum, q >= 1 the maximum; walk for the rest. */
    while (i < n && !(qs[i] > 0.0))
        out[i++] = h->min;
    int end = i;
    while (end < n && qs[end] < 1.0)
        end++;
    uint64_t seen = 0;
    uint64_t want = i < end ? rank_of(qs[i], h->count) : 0;
    for (unsigned oct = 0; oct < HN_HIST_OCTAVES && i < end; oct++) {
        const uint64_t *a = h->octave[oct];
        if (!a)
            continue;
        for (unsigned sub = 0; sub < HN_HIST_SUB && i < end; sub++) {
            seen += a[sub];
            while (i < end && want <= seen) {
                out[i++] = clamp(bucket_mid(oct, sub), h);
                if (i < end)
                    want = rank_of(qs[i], h->count);
            }
        }
    }
    /* Anything left either asked for q >= 1 or the buckets came up short,
     * which only happens if a counter wrapped: the maximum either way. */
    while (i < n)
        out[i++] = h->max;
}

double hn_hist_mean(const struct hn_hist *h)
{
    return h->count ? h->sum / (double)h->count : 0.0;
}

void hn_hist_copy(struct hn_hist *dst, const struct hn_hist *src)
{
    if (dst == src)
        return;
    for (int i = 0; i < HN_HIST_OCTAVES; i++) {
        if (src->octave[i]) {
            if (!dst->octave[i])
                dst->octave[i] = alloc_octave();
            memcpy(dst->octave[i], src->octave[i], HN_HIST_SUB * sizeof(*src->octave[i]));
        } else if (dst->octave[i]) {
            free(dst->octave[i]);
            dst->octave[i] = NULL;
        }
    }
    dst->count = src->count;
    dst->min = src->min;
    dst->max = src->max;
    dst->sum = src->sum;
}

bool hn_hist_next_bucket(const struct hn_hist *h, unsigned *index, uint64_t *count)
{
    for (unsigned i = *index; i < HN_HIST_BUCKETS;) {
        const uint64_t *oct = h->octave[i / HN_HIST_SUB];
        if (oct == NULL) {
            i = (i / HN_HIST_SUB + 1) * HN_HIST_SUB;
            continue;
        }
        if (oct[i % HN_HIST_SUB]) {
            *index = i;
            *count = oct[i % HN_HIST_SUB];
            return true;
        }
        i++;
    }
    return false;
}

bool hn_hist_add_bucket(struct hn_hist *h, unsigned index, uint64_t count)
{
    if (index >= HN_HIST_BUCKETS)
        return false;
    unsigned oct = index / HN_HIST_SUB;
    if (!h->octave[oct])
        h->octave[oct] = alloc_octave();
    h->octave[oct][index % HN_HIST_SUB] += count;
    return true;
}

void hn_hist_count_le(const struct hn_hist *h, const uint64_t *bounds_us, size_t n,
                      uint64_t *out)
{
    memset(out, 0, n * sizeof(*out));
    unsigned i = 0;
    uint64_t c;
    size_t k = 0; /* buckets ascend, so the first bound at or above one only moves up */
    while (n > 0 && hn_hist_next_bucket(h, &i, &c)) {
        uint64_t v = clamp(bucket_mid(i / HN_HIST_SUB, i % HN_HIST_SUB), h);
        while (k < n && bounds_us[k] < v)
            k++;
        if (k == n)
            break;
        out[k] += c;
        i++;
    }
    for (size_t b = 1; b < n; b++)
        out[b] += out[b - 1];
}

size_t hn_hist_bins(const struct hn_hist *h, unsigned per_octave, uint64_t *upper_us,
                    uint64_t *counts, size_t max)
{
    if (per_octave == 0 || per_octave > HN_HIST_SUB)
        per_octave = HN_HIST_SUB;
    unsigned width = HN_HIST_SUB / per_octave; /* sub-buckets per bin */
    size_t n = 0;
    unsigned i = 0;
    uint64_t c;
    while (n < max && hn_hist_next_bucket(h, &i, &c)) {
        unsigned octave = i / HN_HIST_SUB, sub = i % HN_HIST_SUB, last = sub / width * width + width;
        /* The bin's upper bound: the first value past its last sub-bucket. */
        uint64_t upper = octave == 0 ? last : (uint64_t)(HN_HIST_SUB + last) << (octave - 1);
        if (n > 0 && upper_us[n - 1] == upper) {
            counts[n - 1] += c;
        } else {
            upper_us[n] = upper;
            counts[n++] = c;
        }
        i++;
    }
    return n;
}
