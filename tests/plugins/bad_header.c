/* bad_header.c: a user type whose default header is not "Name: value". */
#include "hornet/hornet.h"

static void nop(struct hn_user *u)
{
    hn_sleep(u, 1);
}

static const struct hn_task tasks[] = {{.name = "nop", .fn = nop}, {0}};
static const char *const headers[] = {"X-Ok: 1", "no colon here", NULL};
static const struct hn_user_type types[] = {
    {.name = "broken", .weight = 1, .tasks = tasks, .headers = headers},
    {0},
};
static const struct hn_plugin plugin = {
    .abi_major = HN_ABI_MAJOR,
    .abi_minor = HN_ABI_MINOR,
    .struct_size = sizeof(struct hn_plugin),
    .name = "bad_header",
    .user_types = types,
};
HN_PLUGIN(plugin)
