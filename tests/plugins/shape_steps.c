/*
 * shape_steps.c: a load shape in code (ABI 1.1): 3 users, then 6, then 2,
 * then done at 4.5 s of run time. HORNET_TEST_SHAPE=invalid makes it answer
 * a step hornet cannot take (a rate of 0) once 1.5 s have passed; =rate
 * drives the open model: 20 iterations/s, 40/s from 2 s, done at 4 s (120
 * iterations), with a pool of 30 users; =switch asks for users first and
 * an arrival rate from 1.5 s (a run cannot change its model).
 */
#include <stdlib.h>
#include <string.h>

#include "hornet/hornet.h"

static int bad, rate, change;

static int init(char *err, size_t err_len)
{
    const char *v = getenv("HORNET_TEST_SHAPE");
    bad = v != NULL && strcmp(v, "invalid") == 0;
    rate = v != NULL && strcmp(v, "rate") == 0;
    change = v != NULL && strcmp(v, "switch") == 0;
    return 0;
}

static int shape(double t, struct hn_shape_step *next)
{
    if (rate) {
        if (t >= 4.0)
            return HN_SHAPE_DONE;
        next->users = 30;
        next->arrival_rate = t < 2.0 ? 20 : 40;
        return HN_SHAPE_CONTINUE;
    }
    if (change && t >= 1.5)
        next->arrival_rate = 10;
    next->spawn_rate = 50;
    if (bad && t >= 1.5) {
        next->spawn_rate = 0;
        return HN_SHAPE_CONTINUE;
    }
    if (t < 1.5)
        next->users = 3;
    else if (t < 3.0)
        next->users = 6;
    else if (t < 4.5)
        next->users = 2;
    else
        return HN_SHAPE_DONE;
    return HN_SHAPE_CONTINUE;
}

static void work(struct hn_user *u)
{
    hn_get(u, "/");
}

static const struct hn_task tasks[] = {{.name = "root", .fn = work}, {0}};
static const struct hn_user_type types[] = {
    {.name = "shaped", .weight = 1, .tasks = tasks, .wait = hn_constant(0.05)},
    {0},
};

static const struct hn_plugin plugin = {
    .abi_major = HN_ABI_MAJOR,
    .abi_minor = HN_ABI_MINOR,
    .struct_size = sizeof(struct hn_plugin),
    .name = "shape_steps",
    .user_types = types,
    .init = init,
    .shape = shape,
};

HN_PLUGIN(plugin)
