/*
 * fixed_timings.c: every user records the same known set of timings once
 * (in on_start), without any network, then idles. With N users the run's
 * multiset of timings is exactly N copies of that set, so a distributed
 * run's percentiles can be checked exactly against a single process's and
 * against a direct computation. Values are below 128 us, where hornet's
 * histogram is exact.
 */
#include "hornet/hornet.h"

#define RECORDS 200

static void emit(struct hn_user *u)
{
    for (int i = 0; i < RECORDS; i++) {
        double ms = (double)((i * 37) % 128) / 1000.0;
        hn_record(u, "fixed", "timings", ms, 10, i % 50 == 49 ? "synthetic failure" : NULL);
        if (i % 20 == 19)
            hn_sleep(u, 0.001); /* yield now and then, like a real user */
    }
}

static void idle(struct hn_user *u)
{
    hn_sleep(u, 3600);
}

static const struct hn_task tasks[] = {{.name = "idle", .fn = idle}, {0}};

static const struct hn_user_type types[] = {
    {.name = "fixed", .weight = 1, .on_start = emit, .tasks = tasks, .stack_size = 32 * 1024},
    {0},
};

static const struct hn_plugin plugin = {
    .abi_major = HN_ABI_MAJOR,
    .abi_minor = HN_ABI_MINOR,
    .struct_size = sizeof(struct hn_plugin),
    .name = "fixed_timings",
    .user_types = types,
};

HN_PLUGIN(plugin)
