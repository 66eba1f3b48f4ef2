/*
 * get.c: hornet's throughput benchmark plugin (bench/run.sh).
 *
 * One user type, one task: GET / with the default success check and no
 * think time, the same load shape as `wrk -c50` or Locust with
 * wait_time = constant(0).
 *
 *     hornet -f bench/get.c -H http://127.0.0.1:8080 --headless -u 50 -r 50 -t 10s
 *
 * HN_BENCH_SHARED_POOL=1 in the environment makes the users share the
 * worker's connection pool (HN_USER_SHARED_POOL, Locust's FastHttpUser
 * style); by default each user owns its connections, like a browser.
 */
#include <stdlib.h>

#include <hornet/hornet.h>

static void get_index(struct hn_user *u)
{
    hn_get(u, "/");
}

static const struct hn_task get_tasks[] = {
    {.name = "get", .fn = get_index, .weight = 1},
    {0},
};

/* Not const: init may add the shared-pool flag before any user starts. */
static struct hn_user_type get_users[] = {
    {.name = "getter", .weight = 1, .tasks = get_tasks},
    {0},
};

static int get_init(char *err, size_t err_len)
{
    (void)err;
    (void)err_len;
    const char *s = getenv("HN_BENCH_SHARED_POOL");
    if (s != NULL && *s != '\0' && *s != '0')
        get_users[0].flags |= HN_USER_SHARED_POOL;
    return 0;
}

static const struct hn_plugin get_plugin = {
    .abi_major = HN_ABI_MAJOR,
    .abi_minor = HN_ABI_MINOR,
    .struct_size = sizeof(struct hn_plugin),
    .name = "bench-get",
    .user_types = get_users,
    .init = get_init,
};

HN_PLUGIN(get_plugin);
