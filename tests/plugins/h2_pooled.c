/* h2_pooled.c (test_transport.py): HTTP/2 users sharing the worker's
 * connections (HN_USER_HTTP2 | HN_USER_SHARED_POOL): 20 GETs of / each,
 * then the user stops; once --param users users are done the test ends. */
#include <stdatomic.h>

#include "hornet/hornet.h"

static atomic_int requests_done;

struct count {
    int n;
};

static void get(struct hn_user *u)
{
    struct count *c = hn_state(u);
    if (c->n++ == 20)
        hn_stop_user(u);
    hn_get_named(u, "/", "pooled");
    if (atomic_fetch_add(&requests_done, 1) + 1 == 20 * hn_param_int(u, "users"))
        hn_stop_test(u, "every request made");
}

static const struct hn_task tasks[] = {{.name = "get", .fn = get}, {0}};
static const struct hn_user_type types[] = {
    {.name = "pooled", .weight = 1, .tasks = tasks, .flags = HN_USER_HTTP2 | HN_USER_SHARED_POOL,
     .state_size = sizeof(struct count)},
    {0},
};
static const struct hn_param params[] = {
    {.name = "users", .type = HN_PARAM_INT, .default_value = "1"},
    {0},
};
static const struct hn_plugin plugin = {
    .abi_major = HN_ABI_MAJOR,
    .abi_minor = HN_ABI_MINOR,
    .struct_size = sizeof(struct hn_plugin),
    .name = "h2_pooled",
    .user_types = types,
    .params = params,
};
HN_PLUGIN(plugin)
