/* transport_probe.c (test_transport.py): GETs --param path as the request
 * named "probe", with hn_req.http_version = --param http_version; after
 * --param requests of them the user stops, and once --param users users
 * made theirs the test ends. */
#include <stdatomic.h>

#include "hornet/hornet.h"

static atomic_llong requests_done; /* by every user of the run */

struct probe {
    long long done;
};

static void probe(struct hn_user *u)
{
    struct probe *p = hn_state(u);
    long long most = hn_param_int(u, "requests");
    if (most > 0 && p->done >= most)
        hn_stop_user(u);
    p->done++;
    struct hn_req o = {0};
    o.name = "probe";
    o.http_version = (int)hn_param_int(u, "http_version");
    hn_request(u, "GET", hn_param(u, "path"), &o);
    if (atomic_fetch_add(&requests_done, 1) + 1 == most * hn_param_int(u, "users"))
        hn_stop_test(u, "every request made");
}

static const struct hn_task tasks[] = {{.name = "probe", .fn = probe}, {0}};
static const struct hn_user_type types[] = {
    {.name = "prober", .weight = 1, .tasks = tasks, .state_size = sizeof(struct probe)},
    {0},
};
static const struct hn_param params[] = {
    {.name = "path", .type = HN_PARAM_STRING, .default_value = "/"},
    {.name = "http_version", .type = HN_PARAM_INT, .default_value = "0"},
    {.name = "requests", .type = HN_PARAM_INT, .default_value = "0"},
    {.name = "users", .type = HN_PARAM_INT, .default_value = "1"},
    {0},
};
static const struct hn_plugin plugin = {
    .abi_major = HN_ABI_MAJOR,
    .abi_minor = HN_ABI_MINOR,
    .struct_size = sizeof(struct hn_plugin),
    .name = "transport_probe",
    .user_types = types,
    .params = params,
};
HN_PLUGIN(plugin)
