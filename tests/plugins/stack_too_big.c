/* stack_too_big.c: a user stack of 64 MiB, above the 8 MiB maximum. */
#include <hornet/hornet.h>

static void noop(struct hn_user *u)
{
    (void)u;
}

static const struct hn_task tasks[] = {{.name = "noop", .fn = noop}, {0}};

static const struct hn_user_type types[] = {
    {.name = "A", .weight = 1, .tasks = tasks, .stack_size = (size_t)64 << 20},
    {0},
};

static const struct hn_plugin plugin = {
    .abi_major = HN_ABI_MAJOR,
    .abi_minor = HN_ABI_MINOR,
    .struct_size = sizeof(struct hn_plugin),
    .name = "stack_too_big",
    .user_types = types,
};

HN_PLUGIN(plugin)
