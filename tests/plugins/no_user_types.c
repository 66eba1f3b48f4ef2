/* no_user_types.c: a plugin whose user type list is empty. */
#include <hornet/hornet.h>

static const struct hn_user_type types[] = {
    {0},
};

static const struct hn_plugin plugin = {
    .abi_major = HN_ABI_MAJOR,
    .abi_minor = HN_ABI_MINOR,
    .struct_size = sizeof(struct hn_plugin),
    .name = "no_user_types",
    .user_types = types,
};

HN_PLUGIN(plugin)
