/* duplicate_names.c: two user types share a name. */
#include <hornet/hornet.h>

static void noop(struct hn_user *u)
{
    (void)u;
}

static const struct hn_task tasks[] = {{.name = "noop", .fn = noop}, {0}};

static const struct hn_user_type types[] = {
    {.name = "A", .weight = 1, .tasks = tasks},
    {.name = "A", .weight = 2, .tasks = tasks},
    {0},
};

static const struct hn_plugin plugin = {
    .abi_major = HN_ABI_MAJOR,
    .abi_minor = HN_ABI_MINOR,
    .struct_size = sizeof(struct hn_plugin),
    .name = "duplicate_names",
    .user_types = types,
};

HN_PLUGIN(plugin)
