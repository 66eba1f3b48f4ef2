/*
 * engine_probe.c: a test plugin that exercises the engine against the demo
 * target: successes, HTTP errors, delays, grouped names, dropped
 * connections, timeouts, exceptions and a custom-protocol record. Tasks are
 * tagged so tests can pick them with tags.
 */
#include <stdio.h>

#include "hornet/hornet.h"

static void root(struct hn_user *u)
{
    hn_get(u, "/");
}

static void err500(struct hn_user *u)
{
    hn_get(u, "/status/500");
}

static void delay(struct hn_user *u)
{
    hn_get_named(u, "/delay/0.05", "/delay/[s]");
}

static void item(struct hn_user *u)
{
    char path[32];
    snprintf(path, sizeof path, "/item/%ld", hn_rand_range(u, 1, 100));
    hn_get_named(u, path, "/item/[id]");
}

static void drop(struct hn_user *u)
{
    hn_get(u, "/drop");
}

static void hang(struct hn_user *u)
{
    struct hn_req o = {.timeout = 0.3};
    hn_request(u, "GET", "/hang", &o);
}

static void boom(struct hn_user *u)
{
    hn_get(u, "/json");
    hn_exception(u, "boom: something went wrong");
    hn_get(u, "/never-reached"); /* hn_exception does not return */
}

static void custom(struct hn_user *u)
{
    double t0 = hn_now_ms(u);
    hn_sleep(u, 0.01);
    hn_record(u, "KV", "sleep10ms", hn_now_ms(u) - t0, 3, NULL);
}

static const struct hn_task probe_tasks[] = {
    {.name = "root", .fn = root, .weight = 4, .tags = "basic"},
    {.name = "err500", .fn = err500, .weight = 2, .tags = "basic,errors"},
    {.name = "delay", .fn = delay, .weight = 2, .tags = "delay"},
    {.name = "item", .fn = item, .weight = 3, .tags = "basic"},
    {.name = "drop", .fn = drop, .weight = 1, .tags = "errors"},
    {.name = "hang", .fn = hang, .weight = 1, .tags = "slow"},
    {.name = "boom", .fn = boom, .weight = 1, .tags = "exceptions"},
    {.name = "custom", .fn = custom, .weight = 1, .tags = "custom"},
    {0},
};

static const struct hn_user_type probe_types[] = {
    {.name = "probe", .weight = 1, .wait = hn_between(0.005, 0.02), .tasks = probe_tasks},
    {0},
};

static const struct hn_plugin probe = {
    .abi_major = HN_ABI_MAJOR,
    .abi_minor = HN_ABI_MINOR,
    .struct_size = sizeof(struct hn_plugin),
    .name = "engine_probe",
    .user_types = probe_types,
};

HN_PLUGIN(probe)
