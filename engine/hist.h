/*
 * hist.h: log-linear latency histogram (HdrHistogram-style).
 *
 * Values are microseconds (uint64). Each power-of-two range is split into
 * HN_HIST_SUB linear sub-buckets, so a recorded value's bucket is at most
 * 1/HN_HIST_SUB of its magnitude wide and the reported midpoint is within
 * 1/(2*HN_HIST_SUB) (< 0.4 %) of any value in it. Bucket arrays are
 * allocated lazily per power of two, so an entry whose latencies span a
 * few octaves costs a few KiB. Histograms merge exactly: merging A into B
 * equals recording A's values into B.
 *
 * Threads: a histogram has one owner; nothing here locks.
 */
#ifndef HN_HIST_H
#define HN_HIST_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define HN_HIST_SUB_BITS 7
#define HN_HIST_SUB (1u << HN_HIST_SUB_BITS)  /* linear sub-buckets per octave */
#define HN_HIST_OCTAVES 40                    /* covers values up to 2^46 us */

struct hn_hist {
    uint64_t count;
    uint64_t min;            /* exact; UINT64_MAX when empty */
    uint64_t max;            /* exact; 0 when empty */
    double sum;              /* exact sum of values, for the average */
    uint64_t *octave[HN_HIST_OCTAVES]; /* lazily allocated, HN_HIST_SUB counters each (64-bit: a
                                        * soak at 100k req/s would wrap 32 bits in hours) */
};

/* Initialises an empty histogram (no allocation). */
void hn_hist_init(struct hn_hist *h);
/* Frees bucket arrays; h may be reused after hn_hist_init. */
void hn_hist_cleanup(struct hn_hist *h);
/* Empties the histogram, keeping allocated arrays zeroed for reuse. */
void hn_hist_reset(struct hn_hist *h);
/* Records one value (us). */
void hn_hist_record(struct hn_hist *h, uint64_t value_us);
/* Adds every value of src into dst. */
void hn_hist_merge(struct hn_hist *dst, const struct hn_hist *src);
/* Value at quantile q in [0,1] by nearest rank (rank = ceil(q*count), at
 * least 1), as the bucket midpoint clamped to [min, max]. 0 when empty. */
uint64_t hn_hist_quantile(const struct hn_hist *h, double q);
/* Fills out[i] = hn_hist_quantile(h, qs[i]) for ascending qs in one pass. */
void hn_hist_quantiles(const struct hn_hist *h, const double *qs, int n, uint64_t *out);
/* Average value in us (0 when empty). */
double hn_hist_mean(const struct hn_hist *h);
/* Buckets as flat indexes 0..HN_HIST_BUCKETS-1 (octave * HN_HIST_SUB + sub),
 * for shipping a histogram between processes. */
#define HN_HIST_BUCKETS (HN_HIST_OCTAVES * HN_HIST_SUB)
/* Finds the first non-empty bucket at index >= *index; sets *index and
 * *count and returns true, or returns false when there is none. */
bool hn_hist_next_bucket(const struct hn_hist *h, unsigned *index, uint64_t *count);
/* Adds count to bucket index (< HN_HIST_BUCKETS) without touching
 * count/min/max/sum, which the caller restores from the sender's exact
 * values. Returns false for a bad index. */
bool hn_hist_add_bucket(struct hn_hist *h, unsigned index, uint64_t count);
/* The distribution in coarse bins, per_octave (1..HN_HIST_SUB) to each
 * power of two: the non-empty ones in order, each as the upper bound of
 * its values (us) and its count. Returns how many, at most max. */
size_t hn_hist_bins(const struct hn_hist *h, unsigned per_octave, uint64_t *upper_us,
                    uint64_t *counts, size_t max);
/* Cumulative counts at n ascending upper bounds (us), as Prometheus
 * histogram buckets: out[i] = values <= bounds_us[i], a bucket's values
 * taken at its reported value (the midpoint clamped to [min, max]), so a
 * bound within a bucket splits nothing and is off by at most its width. */
void hn_hist_count_le(const struct hn_hist *h, const uint64_t *bounds_us, size_t n,
                      uint64_t *out);
/* Deep copy into an initialised dst (dst's old contents are replaced). */
void hn_hist_copy(struct hn_hist *dst, const struct hn_hist *src);

#endif
