/*
 * engine_sleepers.c: many-users test: each user makes one request on the
 * shared pool, then sleeps for an hour (until stopped).
 */
#include "hornet/hornet.h"

static void once(struct hn_user *u)
{
    hn_get(u, "/");
}

static void nap(struct hn_user *u)
{
    hn_sleep(u, 3600);
}

static const struct hn_task nap_tasks[] = {{.name = "nap", .fn = nap}, {0}};

static const struct hn_user_type sleeper_types[] = {
    {.name = "sleeper", .weight = 1, .on_start = once, .tasks = nap_tasks,
     .flags = HN_USER_SHARED_POOL, .stack_size = 16 * 1024},
    {0},
};

static const struct hn_plugin sleepers = {
    .abi_major = HN_ABI_MAJOR,
    .abi_minor = HN_ABI_MINOR,
    .struct_size = sizeof(struct hn_plugin),
    .name = "engine_sleepers",
    .user_types = sleeper_types,
};

HN_PLUGIN(sleepers)
