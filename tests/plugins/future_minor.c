/* future_minor.c: built for a newer ABI minor than this hornet knows. */
#include "hornet/hornet.h"

static void nop(struct hn_user *u)
{
    hn_sleep(u, 1);
}

static const struct hn_task tasks[] = {{.name = "nop", .fn = nop}, {0}};
static const struct hn_user_type types[] = {{.name = "u", .weight = 1, .tasks = tasks}, {0}};
static const struct hn_plugin plugin = {
    .abi_major = HN_ABI_MAJOR,
    .abi_minor = HN_ABI_MINOR + 1,
    .struct_size = sizeof(struct hn_plugin),
    .name = "future_minor",
    .user_types = types,
};
HN_PLUGIN(plugin)
