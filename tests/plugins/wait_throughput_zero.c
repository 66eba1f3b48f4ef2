/* wait_throughput_zero.c: constant_throughput(0): no task rate. */
#include <hornet/hornet.h>

static void noop(struct hn_user *u)
{
    (void)u;
}

static const struct hn_task tasks[] = {{.name = "noop", .fn = noop}, {0}};

static const struct hn_user_type types[] = {
    {.name = "A", .weight = 1, .tasks = tasks, .wait = hn_constant_throughput(0)},
    {0},
};

static const struct hn_plugin plugin = {
    .abi_major = HN_ABI_MAJOR,
    .abi_minor = HN_ABI_MINOR,
    .struct_size = sizeof(struct hn_plugin),
    .name = "wait_throughput_zero",
    .user_types = types,
};

HN_PLUGIN(plugin)
