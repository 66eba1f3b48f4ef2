/*
 * params_echo.c (test_params.py): plugin parameters (ABI 1.1). Each task
 * requests `path` `repeat` times, names the requests after `ratio`, adds a
 * GET /json when `verbose`, and sends `token` (a secret) as a header, so
 * the target's counts and the entry names show the values the users read.
 */
#include <stdio.h>

#include "hornet/hornet.h"

static const struct hn_param params[] = {
    {.name = "path", .default_value = "/item/1", .help = "what to request"},
    {.name = "repeat", .type = HN_PARAM_INT, .default_value = "1", .help = "requests per task"},
    {.name = "ratio", .type = HN_PARAM_FLOAT, .default_value = "0.5", .help = "names them"},
    {.name = "verbose", .type = HN_PARAM_BOOL, .default_value = "false", .help = "also /json"},
    {.name = "token", .default_value = "s3cret", .help = "sent as X-Token",
     .flags = HN_PARAM_SECRET},
    {0},
};

static void task(struct hn_user *u)
{
    char name[48];
    snprintf(name, sizeof name, "ratio=%.2f", hn_param_float(u, "ratio"));
    hn_set_header(u, "X-Token", hn_param(u, "token"));
    for (long long i = 0; i < hn_param_int(u, "repeat"); i++)
        hn_get_named(u, hn_param(u, "path"), name);
    if (hn_param_bool(u, "verbose"))
        hn_get(u, "/json");
}

static const struct hn_task tasks[] = {{.name = "echo", .fn = task}, {0}};
static const struct hn_user_type types[] = {
    {.name = "echo", .weight = 1, .tasks = tasks, .wait = hn_constant(0.05)},
    {0},
};
static const struct hn_plugin plugin = {
    .abi_major = HN_ABI_MAJOR,
    .abi_minor = HN_ABI_MINOR,
    .struct_size = sizeof(struct hn_plugin),
    .name = "params_echo",
    .user_types = types,
    .params = params,
};
HN_PLUGIN(plugin)
