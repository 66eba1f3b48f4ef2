/*
 * many_entries.c (test_drilldown.py): 5,000 entries without a network: each
 * iteration records one timing under each of 5,000 names, so the per-entry
 * history and the drill-down face the size the dashboard must handle.
 */
#include <stdio.h>

#include "hornet/hornet.h"

static void record_all(struct hn_user *u)
{
    char name[16];
    for (int i = 0; i < 5000; i++) {
        snprintf(name, sizeof name, "e%04d", i);
        hn_record(u, "CALC", name, 0.1 + (i % 50) * 0.2, 0, NULL);
    }
    hn_sleep(u, 0.2);
}

static const struct hn_task tasks[] = {{.name = "record", .fn = record_all}, {0}};
static const struct hn_user_type types[] = {{.name = "many", .weight = 1, .tasks = tasks}, {0}};
static const struct hn_plugin plugin = {
    .abi_major = HN_ABI_MAJOR,
    .abi_minor = HN_ABI_MINOR,
    .struct_size = sizeof(struct hn_plugin),
    .name = "many_entries",
    .user_types = types,
};
HN_PLUGIN(plugin)
