/*
 * engine_paced.c: think-time test: one GET / per task, a task every 0.25 s
 * per user (constant_pacing), and an on_stop request.
 */
#include "hornet/hornet.h"

static void paced(struct hn_user *u)
{
    hn_get(u, "/");
}

static void bye(struct hn_user *u)
{
    hn_get(u, "/json");
}

static const struct hn_task paced_tasks[] = {{.name = "paced", .fn = paced}, {0}};

static const struct hn_user_type paced_types[] = {
    {.name = "paced", .weight = 1, .wait = hn_constant_pacing(0.25), .tasks = paced_tasks,
     .on_stop = bye},
    {0},
};

static const struct hn_plugin paced_plugin = {
    .abi_major = HN_ABI_MAJOR,
    .abi_minor = HN_ABI_MINOR,
    .struct_size = sizeof(struct hn_plugin),
    .name = "engine_paced",
    .user_types = paced_types,
};

HN_PLUGIN(paced_plugin)
