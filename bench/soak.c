/*
 * soak.c: the soak test's users (bench/bench.py, section "soak").
 *
 * Shoppers against hornet's demo target at a steady pace, with a hostile
 * mix: server errors, connections dropped without an answer, slow answers
 * and 100 KB bodies, so a long run exercises every path that could leak.
 * Each user starts a task every 0.1 s (constant pacing): 200 users make
 * about 2,000 requests per second.
 */
#include <hornet/hornet.h>

static void home(struct hn_user *u) { hn_get(u, "/"); }
static void items(struct hn_user *u) { hn_get(u, "/items"); }
static void error500(struct hn_user *u) { hn_get(u, "/status/500"); }
static void dropped(struct hn_user *u) { hn_get(u, "/drop"); }
static void slow(struct hn_user *u) { hn_get(u, "/delay/0.05"); }
static void big(struct hn_user *u) { hn_get(u, "/bytes/100000"); }

static const struct hn_task tasks[] = {
    {.name = "home", .fn = home, .weight = 40},
    {.name = "items", .fn = items, .weight = 10},
    {.name = "error500", .fn = error500, .weight = 1},
    {.name = "dropped", .fn = dropped, .weight = 1},
    {.name = "slow", .fn = slow, .weight = 2},
    {.name = "big", .fn = big, .weight = 1},
    {0},
};

static const struct hn_user_type types[] = {
    {.name = "soaker", .weight = 1, .tasks = tasks, .wait = hn_constant_pacing(0.1)},
    {0},
};

static const struct hn_plugin plugin = {
    .abi_major = HN_ABI_MAJOR,
    .abi_minor = HN_ABI_MINOR,
    .struct_size = sizeof(struct hn_plugin),
    .name = "soak",
    .user_types = types,
};
HN_PLUGIN(plugin)
