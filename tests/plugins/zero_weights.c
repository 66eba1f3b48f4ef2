/* zero_weights.c: every user type has weight 0 and no fixed_count, so no user would spawn. */
#include <hornet/hornet.h>

static void noop(struct hn_user *u)
{
    (void)u;
}

static const struct hn_task tasks[] = {{.name = "noop", .fn = noop}, {0}};

static const struct hn_user_type types[] = {
    {.name = "A", .weight = 0, .tasks = tasks},
    {.name = "B", .weight = 0, .tasks = tasks},
    {0},
};

static const struct hn_plugin plugin = {
    .abi_major = HN_ABI_MAJOR,
    .abi_minor = HN_ABI_MINOR,
    .struct_size = sizeof(struct hn_plugin),
    .name = "zero_weights",
    .user_types = types,
};

HN_PLUGIN(plugin)
