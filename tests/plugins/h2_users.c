/* h2_users.c (test_transport.py): a HN_USER_HTTP2 user type (ABI 1.3)
 * whose task makes a request as its type says ("h2") and one pinned to
 * HTTP/1.1 by hn_req.http_version ("h1"); 20 tasks per user, then it
 * stops, and once --param users users did theirs the test ends. */
#include <stdatomic.h>

#include "hornet/hornet.h"

static atomic_int tasks_done; /* by every user of the run */

struct count {
    int tasks;
};

static void both(struct hn_user *u)
{
    struct count *c = hn_state(u);
    if (c->tasks++ == 20)
        hn_stop_user(u);
    hn_get_named(u, "/", "h2");
    struct hn_req o = {0};
    o.name = "h1";
    o.http_version = 1;
    hn_request(u, "GET", "/", &o);
    if (atomic_fetch_add(&tasks_done, 1) + 1 == 20 * hn_param_int(u, "users"))
        hn_stop_test(u, "every task done");
}

static const struct hn_param params[] = {
    {.name = "users", .type = HN_PARAM_INT, .default_value = "1"},
    {0},
};

static const struct hn_task tasks[] = {{.name = "both", .fn = both}, {0}};
static const struct hn_user_type types[] = {
    {.name = "h2", .weight = 1, .tasks = tasks, .flags = HN_USER_HTTP2,
     .state_size = sizeof(struct count)},
    {0},
};
static const struct hn_plugin plugin = {
    .abi_major = HN_ABI_MAJOR,
    .abi_minor = HN_ABI_MINOR,
    .struct_size = sizeof(struct hn_plugin),
    .name = "h2_users",
    .user_types = types,
    .params = params,
};
HN_PLUGIN(plugin)
