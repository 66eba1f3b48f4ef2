/*
 * odd_names.c (tests/outputs): entries whose types, names and error
 * messages hold what every output format must escape: quotes, backslashes,
 * a line feed, commas, equals signs, blanks, UTF-8 and a byte that is not
 * UTF-8. Timings are recorded without a network, a known set per
 * iteration, so any output can be checked against the run's own totals.
 */
#include "hornet/hornet.h"

static const struct {
    const char *type, *name, *error;
} rows[] = {
    {"GET", "/plain", NULL},
    {"GET", "say \"hi\"", "server said \"no\""},
    {"POST", "back\\slash\\", NULL},
    {"GET", "line\nbreak", "first\nsecond"},
    {"MY TYPE", "a,b=c d", "comma, equals=sign"},
    {"GET", "caf\xc3\xa9", NULL},
    {"GET", "bad\xff byte", "bad\xfe byte"},
};
#define NROWS (sizeof(rows) / sizeof(rows[0]))

static void iterate(struct hn_user *u)
{
    for (unsigned i = 0; i < NROWS; i++)
        hn_record(u, rows[i].type, rows[i].name, 1.0 + 3.0 * i, 100, rows[i].error);
    hn_sleep(u, 0.05);
}

static const struct hn_task tasks[] = {{.name = "iterate", .fn = iterate}, {0}};
static const struct hn_user_type types[] = {{.name = "odd", .weight = 1, .tasks = tasks}, {0}};
static const struct hn_plugin plugin = {
    .abi_major = HN_ABI_MAJOR,
    .abi_minor = HN_ABI_MINOR,
    .struct_size = sizeof(struct hn_plugin),
    .name = "odd_names",
    .user_types = types,
};
HN_PLUGIN(plugin)
