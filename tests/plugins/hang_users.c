/*
 * hang_users.c (test_stop_abort.py): users whose requests never get an
 * answer (the demo target's /hang), half owning their connections, half
 * borrowing pooled easy handles, so the stop timeout must abort both kinds
 * of transfer in flight.
 */
#include "hornet/hornet.h"

static void hang(struct hn_user *u)
{
    struct hn_req o = {0};
    o.timeout = 600;
    hn_request(u, "GET", "/hang", &o);
}

static const struct hn_task tasks[] = {{.name = "hang", .fn = hang}, {0}};
static const struct hn_user_type types[] = {
    {.name = "owned", .weight = 1, .tasks = tasks},
    {.name = "pooled", .weight = 1, .tasks = tasks, .flags = HN_USER_SHARED_POOL},
    {0},
};
static const struct hn_plugin plugin = {
    .abi_major = HN_ABI_MAJOR,
    .abi_minor = HN_ABI_MINOR,
    .struct_size = sizeof(struct hn_plugin),
    .name = "hang_users",
    .user_types = types,
};
HN_PLUGIN(plugin)
