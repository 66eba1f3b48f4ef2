/*
 * bad_abi.c: a plugin that claims ABI 2.x. The entry is written by hand
 * (HN_PLUGIN would refuse the host first) so the host sees major 2.
 */
#include <hornet/hornet.h>

static void noop(struct hn_user *u)
{
    (void)u;
}

static const struct hn_task tasks[] = {{.name = "noop", .fn = noop}, {0}};
static const struct hn_user_type types[] = {{.name = "U", .weight = 1, .tasks = tasks}, {0}};

static const struct hn_plugin future = {
    .abi_major = 2,
    .abi_minor = 0,
    .struct_size = sizeof(struct hn_plugin),
    .name = "bad_abi",
    .user_types = types,
};

HN_EXPORT const struct hn_plugin *HN_PLUGIN_ENTRY(const struct hn_host_info *host);
HN_EXPORT const struct hn_plugin *HN_PLUGIN_ENTRY(const struct hn_host_info *host)
{
    (void)host;
    return &future;
}
