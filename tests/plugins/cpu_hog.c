/*
 * cpu_hog.c (test_loadgen.py): each iteration burns 3 ms of CPU on the
 * worker thread, records it and sleeps 5 ms. Fifty such users on one
 * thread want several cores: the thread runs flat out and its timers fire
 * late, which hornet must notice and report.
 */
#include <time.h>

#include "hornet/hornet.h"

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void burn(struct hn_user *u)
{
    double start = now_s();
    while (now_s() - start < 0.003)
        ;
    hn_record(u, "CPU", "burn", 3.0, 0, NULL);
    hn_sleep(u, 0.005);
}

static const struct hn_task tasks[] = {{.name = "burn", .fn = burn}, {0}};
static const struct hn_user_type types[] = {{.name = "hog", .weight = 1, .tasks = tasks}, {0}};
static const struct hn_plugin plugin = {
    .abi_major = HN_ABI_MAJOR,
    .abi_minor = HN_ABI_MINOR,
    .struct_size = sizeof(struct hn_plugin),
    .name = "cpu_hog",
    .user_types = types,
};
HN_PLUGIN(plugin)
