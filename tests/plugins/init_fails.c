/*
 * init_fails.c: a valid declaration whose init fails with a message. Its
 * fini appends "fini\n" to $HN_TEST_PLUGIN_LOG, so a test can check that
 * the host does not call fini for a plugin whose init failed.
 */
#include <hornet/hornet.h>

#include <stdio.h>
#include <stdlib.h>

static void noop(struct hn_user *u)
{
    (void)u;
}

static int failing_init(char *err, size_t err_len)
{
    snprintf(err, err_len, "database unreachable");
    return 1;
}

static void fini_must_not_run(void)
{
    const char *log = getenv("HN_TEST_PLUGIN_LOG");
    FILE *f = log != NULL ? fopen(log, "a") : NULL;
    if (f != NULL) {
        fputs("fini\n", f);
        fclose(f);
    }
}

static const struct hn_task tasks[] = {{.name = "noop", .fn = noop}, {0}};
static const struct hn_user_type types[] = {{.name = "U", .weight = 1, .tasks = tasks}, {0}};

static const struct hn_plugin plugin = {
    .abi_major = HN_ABI_MAJOR,
    .abi_minor = HN_ABI_MINOR,
    .struct_size = sizeof(struct hn_plugin),
    .name = "init_fails",
    .user_types = types,
    .init = failing_init,
    .fini = fini_must_not_run,
};

HN_PLUGIN(plugin)
