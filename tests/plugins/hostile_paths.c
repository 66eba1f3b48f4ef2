/*
 * hostile_paths.c (test_causes.py, test_limits.py): one user requests each
 * path of the "paths" parameter (comma-separated) once, in order, then
 * stops, so every failure of the Failures table is one path's own cause.
 * "timeout" is each request's total (0 = the default); "kept" names a
 * request after what its body kept: "/path kept=N truncated=T".
 */
#include <stdio.h>
#include <string.h>

#include "hornet/hornet.h"

static const struct hn_param params[] = {
    {.name = "paths", .default_value = "/", .help = "comma-separated paths, in order"},
    {.name = "timeout", .type = HN_PARAM_FLOAT, .default_value = "0", .help = "seconds"},
    {.name = "kept", .type = HN_PARAM_BOOL, .default_value = "false",
     .help = "name each request after the body bytes kept"},
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
        int kept = hn_param_bool(u, "kept");
        struct hn_response *r = hn_request(u, "GET", path, &(struct hn_req){
            .timeout = hn_param_float(u, "timeout"), .catch_response = kept});
        if (kept && hn_status(r) == 200) {
            size_t len = 0;
            hn_body(r, &len);
            char msg[160];
            snprintf(msg, sizeof msg, "kept=%zu truncated=%d", len, hn_body_truncated(r));
            hn_failure(r, msg); /* a failure carries the message to the report */
        } /* else recorded by the default rule (its transport error, if any) */
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
