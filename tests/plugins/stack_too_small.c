/* stack_too_small.c: a user stack of 4 KiB, below the 16 KiB minimum. */
#include <hornet/hornet.h>

static void noop(struct hn_user *u)
{
    (void)u;
}

static const struct hn_task tasks[] = {{.name = "noop", .fn = noop}, {0}};

static const struct hn_user_type types[] = {
    {.name = "A", .weight = 1, .tasks = tasks, .stack_size = 4096},
    {0},
};

static const struct hn_plugin plugin = {
    .abi_major = HN_ABI_MAJOR,
    .abi_minor = HN_ABI_MINOR,
    .struct_size = sizeof(struct hn_plugin),
    .name = "stack_too_small",
    .user_types = types,
};

HN_PLUGIN(plugin)
