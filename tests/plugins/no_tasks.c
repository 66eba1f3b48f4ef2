/* no_tasks.c: a user type with an empty task list. */
#include <hornet/hornet.h>

static const struct hn_task tasks[] = {{0}};

static const struct hn_user_type types[] = {
    {.name = "Idle", .weight = 1, .tasks = tasks},
    {0},
};

static const struct hn_plugin plugin = {
    .abi_major = HN_ABI_MAJOR,
    .abi_minor = HN_ABI_MINOR,
    .struct_size = sizeof(struct hn_plugin),
    .name = "no_tasks",
    .user_types = types,
};

HN_PLUGIN(plugin)
