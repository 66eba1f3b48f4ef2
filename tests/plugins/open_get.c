/* open_get.c (test_open_model.py): one GET / per iteration. */
#include "hornet/hornet.h"

static void get(struct hn_user *u)
{
    hn_get(u, "/");
}

static const struct hn_task tasks[] = {{.name = "get", .fn = get}, {0}};
static const struct hn_user_type types[] = {{.name = "visitor", .weight = 1, .tasks = tasks}, {0}};
static const struct hn_plugin plugin = {
    .abi_major = HN_ABI_MAJOR,
    .abi_minor = HN_ABI_MINOR,
    .struct_size = sizeof(struct hn_plugin),
    .name = "open_get",
    .user_types = types,
};
HN_PLUGIN(plugin)
