/*
 * hostile_paths.c (test_causes.py): one user requests each path of the
 * "paths" parameter (comma-separated) once, in order, then stops, so every
 * failure of the Failures table is one path's own cause.
 */
#include <string.h>

#include "hornet/hornet.h"

static const struct hn_param params[] = {
    {.name = "paths", .default_value = "/", .help = "comma-separated paths, in order"},
    {0},
};

static void visit(struct hn_user *u)
{
    const char *p = hn_param(u, "paths");
    char path[128];
    while (p != NULL && *p != '\0') {
        const char *comma = strchr(p, ',');
        size_t n = comma ? (size_t)(comma - p) : strlen(p);
        if (n >= sizeof path)
            n = sizeof path - 1;
        memcpy(path, p, n);
        path[n] = '\0';
        hn_get(u, path);
        p = comma ? comma + 1 : NULL;
    }
    hn_stop_user(u);
}

static const struct hn_task tasks[] = {{.name = "visit", .fn = visit}, {0}};
static const struct hn_user_type types[] = {{.name = "visitor", .weight = 1, .tasks = tasks}, {0}};
static const struct hn_plugin plugin = {
    .abi_major = HN_ABI_MAJOR,
    .abi_minor = HN_ABI_MINOR,
    .struct_size = sizeof(struct hn_plugin),
    .name = "hostile_paths",
    .user_types = types,
    .params = params,
};
HN_PLUGIN(plugin)
