/*
 * clock.h: time helpers. [any thread]
 */
#ifndef HN_CLOCK_H
#define HN_CLOCK_H

#include <stdint.h>
#include <time.h>

/* Monotonic microseconds since an arbitrary origin. */
static inline uint64_t hn_mono_us(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000u + (uint64_t)ts.tv_nsec / 1000u;
}

/* Wall-clock seconds since the Unix epoch, with fraction. */
static inline double hn_wall_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

#endif
