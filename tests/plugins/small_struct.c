/* small_struct.c: a descriptor whose struct_size is too small to hold the
 * fields of ABI 1.0 (a corrupt or hand-rolled descriptor). */
#include <hornet/hornet.h>

static void noop(struct hn_user *u)
{
    (void)u;
}

static const struct hn_task tasks[] = {{.name = "noop", .fn = noop}, {0}};
static const struct hn_user_type types[] = {{.name = "U", .weight = 1, .tasks = tasks}, {0}};

static const struct hn_plugin small = {
    .abi_major = HN_ABI_MAJOR,
    .abi_minor = HN_ABI_MINOR,
    .struct_size = 12,
    .name = "small_struct",
    .user_types = types,
};

HN_PLUGIN(small)
