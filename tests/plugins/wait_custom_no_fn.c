/* wait_custom_no_fn.c: a custom think time without its function. */
#include <hornet/hornet.h>

static void noop(struct hn_user *u)
{
    (void)u;
}

static double pick_wait(struct hn_user *u)
{
    (void)u;
    return 0.0;
}

static const struct hn_task tasks[] = {{.name = "noop", .fn = noop}, {0}};

static const struct hn_user_type types[] = {
    {.name = "A", .weight = 1, .tasks = tasks, .wait = hn_wait_custom(NULL)},
    {.name = "B", .weight = 1, .tasks = tasks, .wait = hn_wait_custom(pick_wait)},
    {0},
};

static const struct hn_plugin plugin = {
    .abi_major = HN_ABI_MAJOR,
    .abi_minor = HN_ABI_MINOR,
    .struct_size = sizeof(struct hn_plugin),
    .name = "wait_custom_no_fn",
    .user_types = types,
};

HN_PLUGIN(plugin)
