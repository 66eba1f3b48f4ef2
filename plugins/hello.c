/*
 * hello.c: the smallest useful hornet plugin. One kind of user loads the
 * home page, then thinks for 0.5 to 1.5 seconds, again and again.
 *
 *     hornet -f plugins/hello.c -H http://127.0.0.1:8080 --headless -u 10 -r 5 -t 30s
 *
 * hornet compiles this file itself (and caches the result); see README.md.
 */
#include <hornet/hornet.h>

/* A task is plain sequential C. hn_get() looks blocking, but the user is a
 * coroutine: it yields to the worker's event loop until the response is in.
 * The request is recorded as "GET /"; status >= 400 counts as a failure. */
static void index_page(struct hn_user *u)
{
    hn_get(u, "/");
}

/* Tasks and user types are arrays ended by an all-zero entry. */
static const struct hn_task hello_tasks[] = {
    {.name = "index", .fn = index_page, .weight = 1},
    {0},
};

static const struct hn_user_type hello_users[] = {
    {.name = "visitor", .weight = 1, .wait = hn_between(0.5, 1.5), .tasks = hello_tasks},
    {0},
};

/* The descriptor: ABI version and size first, so hornet can refuse a
 * plugin built against an incompatible header. */
static const struct hn_plugin hello = {
    .abi_major = HN_ABI_MAJOR,
    .abi_minor = HN_ABI_MINOR,
    .struct_size = sizeof(struct hn_plugin),
    .name = "hello",
    .user_types = hello_users,
};

/* Exports the one symbol hornet looks for: hornet_plugin_entry_v1. */
HN_PLUGIN(hello);
