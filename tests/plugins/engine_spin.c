/*
 * engine_spin.c: a task that never waits (only hn_record) and no think
 * time: the engine must still yield to its worker loop so commands, stop
 * and other users get their turn.
 */
#include "hornet/hornet.h"

static void spin(struct hn_user *u)
{
    hn_record(u, "CPU", "spin", 0.001, 0, NULL);
}

static const struct hn_task spin_tasks[] = {{.name = "spin", .fn = spin}, {0}};

static const struct hn_user_type spin_types[] = {
    {.name = "spinner", .weight = 1, .tasks = spin_tasks},
    {0},
};

static const struct hn_plugin spin_plugin = {
    .abi_major = HN_ABI_MAJOR,
    .abi_minor = HN_ABI_MINOR,
    .struct_size = sizeof(struct hn_plugin),
    .name = "engine_spin",
    .user_types = spin_types,
};

HN_PLUGIN(spin_plugin)
