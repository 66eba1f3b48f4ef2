/*
 * engine_mix.c: user types for distribution tests: weights 3:1 and a
 * fixed count of 2, all sleeping in their task.
 */
#include "hornet/hornet.h"

static void nap(struct hn_user *u)
{
    hn_sleep(u, 3600);
}

static const struct hn_task nap_tasks[] = {{.name = "nap", .fn = nap}, {0}};

static const struct hn_user_type mix_types[] = {
    {.name = "heavy", .weight = 3, .tasks = nap_tasks},
    {.name = "light", .weight = 1, .tasks = nap_tasks},
    {.name = "admin", .fixed_count = 2, .tasks = nap_tasks},
    {0},
};

static const struct hn_plugin mix = {
    .abi_major = HN_ABI_MAJOR,
    .abi_minor = HN_ABI_MINOR,
    .struct_size = sizeof(struct hn_plugin),
    .name = "engine_mix",
    .user_types = mix_types,
};

HN_PLUGIN(mix)
