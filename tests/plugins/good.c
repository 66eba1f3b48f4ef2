/*
 * good.c: a valid plugin for the plugin-host tests, also usable by runner
 * tests: two user types in a 3:1 ratio, tagged tasks, on_start/on_stop.
 *
 * init and fini append "init\n" / "fini\n" to the file named by
 * $HN_TEST_PLUGIN_LOG (when set), so a test can see that they ran, once.
 */
#include <hornet/hornet.h>

#include <stdio.h>
#include <stdlib.h>

struct visitor_state {
    unsigned started;
    unsigned pages;
};

static void note(const char *what)
{
    const char *log = getenv("HN_TEST_PLUGIN_LOG");
    if (log == NULL || log[0] == '\0')
        return;
    FILE *f = fopen(log, "a");
    if (f == NULL)
        return;
    fputs(what, f);
    fclose(f);
}

static int good_init(char *err, size_t err_len)
{
    (void)err;
    (void)err_len;
    note("init\n");
    return 0;
}

static void good_fini(void)
{
    note("fini\n");
}

static void visitor_start(struct hn_user *u)
{
    struct visitor_state *s = hn_state(u);
    s->started = 1;
}

static void visitor_stop(struct hn_user *u)
{
    struct visitor_state *s = hn_state(u);
    s->started = 0;
}

static void index_page(struct hn_user *u)
{
    struct visitor_state *s = hn_state(u);
    s->pages++;
    hn_get(u, "/");
}

static void item_page(struct hn_user *u)
{
    char path[64];
    snprintf(path, sizeof path, "/item/%ld", hn_rand_range(u, 1, 100));
    hn_get_named(u, path, "/item/[id]");
}

static void add_to_cart(struct hn_user *u)
{
    hn_post_json(u, "/cart", "{\"item\": 1}");
}

static const struct hn_task visitor_tasks[] = {
    {.name = "index", .fn = index_page, .weight = 2, .tags = "browse"},
    {.name = "item", .fn = item_page, .weight = 1, .tags = "browse,slow"},
    {0},
};

static const struct hn_task buyer_tasks[] = {
    {.name = "item", .fn = item_page, .tags = "browse"},
    {.name = "cart", .fn = add_to_cart, .tags = "buy"},
    {0},
};

static const struct hn_user_type good_types[] = {
    {
        .name = "Visitor",
        .weight = 3,
        .wait = hn_between(0.01, 0.02),
        .tasks = visitor_tasks,
        .on_start = visitor_start,
        .on_stop = visitor_stop,
        .state_size = sizeof(struct visitor_state),
    },
    {
        .name = "Buyer",
        .weight = 1,
        .wait = hn_constant(0.01),
        .tasks = buyer_tasks,
        .flags = HN_USER_SEQUENTIAL,
    },
    {0},
};

static const struct hn_plugin good = {
    .abi_major = HN_ABI_MAJOR,
    .abi_minor = HN_ABI_MINOR,
    .struct_size = sizeof(struct hn_plugin),
    .name = "good",
    .user_types = good_types,
    .init = good_init,
    .fini = good_fini,
};

HN_PLUGIN(good)
