/*
 * idle.c: hornet's memory benchmark plugin (bench/run.sh).
 *
 * Users GET / once and then think for 60 s between tasks, so nearly all of
 * them sleep: what they cost is memory (and spawning), not CPU. They share
 * the worker's connection pool, so 100,000 users need no 100,000 sockets.
 *
 *     hornet -f bench/idle.c -H http://127.0.0.1:8080 --headless -u 100000 -r 100000 -t 30s
 */
#include <hornet/hornet.h>

static void get_once(struct hn_user *u)
{
    hn_get(u, "/");
}

static const struct hn_task idle_tasks[] = {
    {.name = "get", .fn = get_once, .weight = 1},
    {0},
};

static const struct hn_user_type idle_users[] = {
    {.name = "sleeper", .weight = 1, .wait = hn_constant(60), .tasks = idle_tasks,
     .flags = HN_USER_SHARED_POOL},
    {0},
};

static const struct hn_plugin idle_plugin = {
    .abi_major = HN_ABI_MAJOR,
    .abi_minor = HN_ABI_MINOR,
    .struct_size = sizeof(struct hn_plugin),
    .name = "bench-idle",
    .user_types = idle_users,
};

HN_PLUGIN(idle_plugin);
