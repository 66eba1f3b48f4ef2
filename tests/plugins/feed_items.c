/*
 * feed_items.c: a data feeder (ABI 1.1). Each iteration takes a row of the
 * "items" feeder (its file comes from --feed items=PATH) and requests
 * /item/<id>, so the demo target's own counts show which rows were used.
 * The row's "check" column holds the length of its "name" (quoted commas,
 * quotes and line breaks included): a mismatch is an exception.
 * HORNET_TEST_FEED_MODE: once (default; the test stops when rows run out),
 * once-user (only the user stops), cycle, random (10 rows per user, then the
 * user stops), column (asks for a column the file does not have).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "hornet/hornet.h"

static struct hn_feeder feeders[] = {
    {.name = "items", .mode = HN_FEED_ONCE, .flags = HN_FEED_STOP_TEST},
    {0},
};
static int ask_missing_column, per_user_limit;

static int init(char *err, size_t err_len)
{
    const char *m = getenv("HORNET_TEST_FEED_MODE");
    if (m == NULL || strcmp(m, "once") == 0)
        return 0;
    if (strcmp(m, "once-user") == 0) {
        feeders[0].flags = 0;
    } else if (strcmp(m, "cycle") == 0) {
        feeders[0].mode = HN_FEED_CYCLE;
    } else if (strcmp(m, "random") == 0) {
        feeders[0].mode = HN_FEED_RANDOM;
        per_user_limit = 10;
    } else if (strcmp(m, "column") == 0) {
        feeders[0].mode = HN_FEED_CYCLE;
        ask_missing_column = 1;
    } else {
        snprintf(err, err_len, "unknown HORNET_TEST_FEED_MODE '%s'", m);
        return 1;
    }
    return 0;
}

static void item(struct hn_user *u)
{
    int *done = hn_state(u);
    if (per_user_limit && *done == per_user_limit)
        hn_stop_user(u);
    hn_feed_next(u, "items");
    const char *id = hn_feed_field(u, "items", "id");
    const char *name = hn_feed_field(u, "items", "name");
    const char *check = hn_feed_field(u, "items", ask_missing_column ? "nope" : "check");
    if ((size_t)atoi(check) != strlen(name))
        hn_exception(u, "the name field does not have the length its row says");
    char path[64];
    snprintf(path, sizeof path, "/item/%s", id);
    hn_get_named(u, path, "/item/[id]");
    (*done)++;
}

static const struct hn_task tasks[] = {{.name = "item", .fn = item}, {0}};
static const struct hn_user_type types[] = {
    {.name = "reader", .weight = 1, .tasks = tasks, .wait = hn_constant(0.01),
     .state_size = sizeof(int)},
    {0},
};

static const struct hn_plugin plugin = {
    .abi_major = HN_ABI_MAJOR,
    .abi_minor = HN_ABI_MINOR,
    .struct_size = sizeof(struct hn_plugin),
    .name = "feed_items",
    .user_types = types,
    .init = init,
    .feeders = feeders,
};

HN_PLUGIN(plugin)
