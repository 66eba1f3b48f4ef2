/* init_silent.c: init fails with code 3 without writing a reason. */
#include <hornet/hornet.h>

static void noop(struct hn_user *u)
{
    (void)u;
}

static int silent_init(char *err, size_t err_len)
{
    (void)err;
    (void)err_len;
    return 3;
}

static const struct hn_task tasks[] = {{.name = "noop", .fn = noop}, {0}};
static const struct hn_user_type types[] = {{.name = "U", .weight = 1, .tasks = tasks}, {0}};

static const struct hn_plugin plugin = {
    .abi_major = HN_ABI_MAJOR,
    .abi_minor = HN_ABI_MINOR,
    .struct_size = sizeof(struct hn_plugin),
    .name = "init_silent",
    .user_types = types,
    .init = silent_init,
};

HN_PLUGIN(plugin)
