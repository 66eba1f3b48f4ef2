/*
 * test_plugin_host.c: loads the test plugins of tests/plugins (built by
 * CMake into $HN_BUILD_DIR/tests/plugins) and checks the exact outcome of
 * each, then compiles .c plugins through the real compiler into temporary
 * cache directories.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>

#include <cmocka.h>

#include "plugin_host.h"

#include <hornet/hornet.h>

#include <dirent.h>
#include <ftw.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#define ERR_LEN 16384

static char tmp_root[PATH_MAX / 2];

static const char *env_dir(const char *name)
{
    const char *v = getenv(name);
    if (v == NULL || v[0] == '\0')
        fail_msg("%s is not set (run through ctest)", name);
    return v;
}

static void built_plugin(char *out, size_t len, const char *name)
{
    snprintf(out, len, "%s/tests/plugins/%s.so", env_dir("HN_BUILD_DIR"), name);
}

static void source_file(char *out, size_t len, const char *rel)
{
    snprintf(out, len, "%s/%s", env_dir("HN_SOURCE_DIR"), rel);
}

/* A fresh directory under tmp_root for one test. */
static void fresh_dir(char *out, size_t len, const char *name)
{
    snprintf(out, len, "%s/%s", tmp_root, name);
    assert_int_equal(mkdir(out, 0700), 0);
}

static char *slurp(const char *path)
{
    FILE *f = fopen(path, "rb");
    if (f == NULL)
        return strdup("");
    static char buf[1 << 16];
    size_t n = fread(buf, 1, sizeof buf - 1, f);
    fclose(f);
    buf[n] = '\0';
    return strdup(buf);
}

/* Loads path and asserts it fails with exactly "plugin 'path'<rest>". */
static void expect_failure(const char *path, const char *rest)
{
    char err[ERR_LEN], want[ERR_LEN];
    static int sentinel;
    struct hn_loaded_plugin *p = (struct hn_loaded_plugin *)(void *)&sentinel; /* reset to NULL */
    int rc = hn_plugin_load(path, tmp_root, &p, err, sizeof err);
    snprintf(want, sizeof want, "plugin '%s'%s", path, rest);
    assert_int_equal(rc, -1);
    assert_null(p);
    assert_string_equal(err, want);
}

static void expect_built_failure(const char *name, const char *rest)
{
    char path[PATH_MAX];
    built_plugin(path, sizeof path, name);
    expect_failure(path, rest);
}

/* ---------------------------------------------------------------- */

static void test_good_plugin_loads(void **state)
{
    (void)state;
    char path[PATH_MAX], log[PATH_MAX + 16], err[ERR_LEN];
    built_plugin(path, sizeof path, "good");
    snprintf(log, sizeof log, "%s/good.log", tmp_root);
    unlink(log);
    setenv("HN_TEST_PLUGIN_LOG", log, 1);

    struct hn_loaded_plugin *p = NULL;
    int rc = hn_plugin_load(path, tmp_root, &p, err, sizeof err);
    if (rc != 0)
        fail_msg("load failed: %s", err);
    assert_non_null(p);
    assert_string_equal(err, "");
    assert_string_equal(hn_plugin_path(p), path);

    const struct hn_plugin *d = hn_plugin_descriptor(p);
    assert_non_null(d);
    assert_string_equal(d->name, "good");
    assert_int_equal(d->abi_major, HN_ABI_MAJOR);
    const struct hn_user_type *t = d->user_types;
    assert_string_equal(t[0].name, "Visitor");
    assert_int_equal(t[0].weight, 3);
    assert_string_equal(t[1].name, "Buyer");
    assert_int_equal(t[1].weight, 1);
    assert_null(t[2].name);
    assert_non_null(t[0].on_start);
    assert_non_null(t[0].on_stop);
    assert_string_equal(t[0].tasks[1].tags, "browse,slow");

    char *text = slurp(log);
    assert_string_equal(text, "init\n"); /* init ran once, fini not yet */
    free(text);

    hn_plugin_unload(p);
    text = slurp(log);
    assert_string_equal(text, "init\nfini\n");
    free(text);
    unsetenv("HN_TEST_PLUGIN_LOG");

    hn_plugin_unload(NULL); /* ignored */
}

static void test_missing_file(void **state)
{
    (void)state;
    expect_failure("/nonexistent/dir/plugin.so", ": no such file");
    expect_failure("/nonexistent/dir/plugin.c", ": no such file");
    expect_failure(tmp_root, ": is a directory");

    char err[ERR_LEN];
    struct hn_loaded_plugin *p = NULL;
    assert_int_equal(hn_plugin_load("", NULL, &p, err, sizeof err), -1);
    assert_null(p);
    assert_string_equal(err, "plugin: no path given");
}

static void test_not_a_shared_object(void **state)
{
    (void)state;
    char path[PATH_MAX + 8], err[ERR_LEN], prefix[PATH_MAX + 64];
    snprintf(path, sizeof path, "%s/x.so", tmp_root);
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    fputs("this is a text file, not an ELF shared object\n", f);
    fclose(f);

    struct hn_loaded_plugin *p = NULL;
    assert_int_equal(hn_plugin_load(path, tmp_root, &p, err, sizeof err), -1);
    assert_null(p);
    snprintf(prefix, sizeof prefix, "plugin '%s': not a loadable shared object: ", path);
    assert_memory_equal(err, prefix, strlen(prefix));
    assert_true(strlen(err) > strlen(prefix)); /* dlerror's reason follows */
    assert_null(strchr(err, '\n'));
}

static void test_handshake_errors(void **state)
{
    (void)state;
    expect_built_failure("no_entry", ": no entry symbol hornet_plugin_entry_v1 (declare it with "
                                     "HN_PLUGIN(...))");
    char want[160];
    snprintf(want, sizeof want, " refused hornet's ABI 1.%d", HN_ABI_MINOR);
    expect_built_failure("refuses", want);
    snprintf(want, sizeof want, " was built for ABI 2.x, hornet provides 1.%d: rebuild it "
             "against this hornet.h", HN_ABI_MINOR);
    expect_built_failure("bad_abi", want);
    snprintf(want, sizeof want, " was built for ABI 1.%d, newer than this hornet's 1.%d: "
             "upgrade hornet, or build it against this hornet.h", HN_ABI_MINOR + 1, HN_ABI_MINOR);
    expect_built_failure("future_minor", want);
    snprintf(want, sizeof want, ": descriptor struct_size 12 is smaller than the %zu bytes ABI "
             "1.%d requires", offsetof(struct hn_plugin, fini) + sizeof(void (*)(void)),
             HN_ABI_MINOR);
    expect_built_failure("small_struct", want);
}

static void test_declaration_errors(void **state)
{
    (void)state;
    static const struct {
        const char *name;
        const char *rest;
    } cases[] = {
        {"no_user_types", " declares no user types"},
        {"zero_weights", ": every user type has weight 0 and no fixed_count"},
        {"unnamed_type", ": user type #2 has no name"},
        {"duplicate_names", ": user type name 'A' is declared twice"},
        {"no_tasks", ": user type 'Idle' declares no tasks"},
        {"task_no_fn", ": user type 'A': task 'broken' has no function"},
        {"task_no_name", ": user type 'A': task #2 has no name"},
        {"wait_between_reversed",
         ": user type 'A': think time between(2, 1) has its upper bound below its lower bound"},
        {"wait_negative", ": user type 'A': think time constant(-1) must be finite and >= 0"},
        {"wait_throughput_zero",
         ": user type 'A': think time constant_throughput(0) must be > 0 tasks per second"},
        {"wait_custom_no_fn", ": user type 'A': custom think time has no function"},
        {"stack_too_small", ": user type 'A': stack_size 4096 is out of range (16 KiB to 8 MiB, "
                            "or 0 for the default)"},
        {"stack_too_big", ": user type 'A': stack_size 67108864 is out of range (16 KiB to 8 "
                          "MiB, or 0 for the default)"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++)
        expect_built_failure(cases[i].name, cases[i].rest);
}

static void test_init_failures(void **state)
{
    (void)state;
    char log[PATH_MAX + 16];
    snprintf(log, sizeof log, "%s/init_fails.log", tmp_root);
    unlink(log);
    setenv("HN_TEST_PLUGIN_LOG", log, 1);
    expect_built_failure("init_fails", ": init failed: database unreachable");
    expect_built_failure("init_silent", ": init failed (returned 3)");
    unsetenv("HN_TEST_PLUGIN_LOG");
    struct stat st;
    assert_int_equal(stat(log, &st), -1); /* fini was not called after a failed init */
}

static void test_small_err_buffer(void **state)
{
    (void)state;
    char path[PATH_MAX], err[8];
    built_plugin(path, sizeof path, "init_fails");
    memset(err, 'x', sizeof err);
    struct hn_loaded_plugin *p = NULL;
    assert_int_equal(hn_plugin_load(path, tmp_root, &p, err, sizeof err), -1);
    assert_null(p);
    assert_string_equal(err, "plugin "); /* truncated, NUL-terminated */
    assert_int_equal(hn_plugin_load(path, tmp_root, &p, NULL, 0), -1);
}

/* A plugin linked into the binary goes through the same checks. */
static int builtin_inits, builtin_finis;

static void builtin_task(struct hn_user *u)
{
    (void)u;
}

static int builtin_init(char *err, size_t err_len)
{
    (void)err;
    (void)err_len;
    builtin_inits++;
    return 0;
}

static void builtin_fini(void)
{
    builtin_finis++;
}

static const struct hn_task builtin_tasks[] = {{.name = "t", .fn = builtin_task}, {0}};
static const struct hn_user_type builtin_types[] = {
    {.name = "U", .weight = 1, .tasks = builtin_tasks},
    {0},
};
static const struct hn_user_type builtin_idle_types[] = {
    {.name = "U", .weight = 0, .tasks = builtin_tasks},
    {0},
};
static const struct hn_plugin builtin_good = {
    .abi_major = HN_ABI_MAJOR,
    .abi_minor = HN_ABI_MINOR,
    .struct_size = sizeof(struct hn_plugin),
    .name = "builtin",
    .user_types = builtin_types,
    .init = builtin_init,
    .fini = builtin_fini,
};
static const struct hn_plugin builtin_idle = {
    .abi_major = HN_ABI_MAJOR,
    .abi_minor = HN_ABI_MINOR,
    .struct_size = sizeof(struct hn_plugin),
    .name = "idle",
    .user_types = builtin_idle_types,
    .init = builtin_init,
    .fini = builtin_fini,
};

static const struct hn_plugin *builtin_good_entry(const struct hn_host_info *host)
{
    return host != NULL && host->abi_major == HN_ABI_MAJOR ? &builtin_good : NULL;
}

static const struct hn_plugin *builtin_idle_entry(const struct hn_host_info *host)
{
    (void)host;
    return &builtin_idle;
}

static void test_builtin_plugin(void **state)
{
    (void)state;
    char err[ERR_LEN];
    struct hn_loaded_plugin *p = NULL;
    builtin_inits = builtin_finis = 0;
    if (hn_plugin_load_builtin(builtin_good_entry, "demo (built-in)", &p, err, sizeof err) != 0)
        fail_msg("builtin load failed: %s", err);
    assert_ptr_equal(hn_plugin_descriptor(p), &builtin_good);
    assert_string_equal(hn_plugin_path(p), "demo (built-in)");
    assert_int_equal(builtin_inits, 1);
    hn_plugin_unload(p);
    assert_int_equal(builtin_finis, 1);

    p = NULL;
    assert_int_equal(hn_plugin_load_builtin(builtin_idle_entry, "idle", &p, err, sizeof err), -1);
    assert_null(p);
    assert_string_equal(err, "plugin 'idle': every user type has weight 0 and no fixed_count");
    assert_int_equal(builtin_inits, 1); /* checks come before init */
}

/* ---------------------------------------------------------------- */
/* .c plugins                                                        */
/* ---------------------------------------------------------------- */

/* Finds the single "<stem>-*.so" in dir; fails on temporaries or extras. */
static void cached_object(const char *dir, const char *stem, char *out, size_t len)
{
    DIR *d = opendir(dir);
    assert_non_null(d);
    int found = 0;
    struct dirent *e;
    while ((e = readdir(d)) != NULL) {
        if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0 ||
            strcmp(e->d_name, "include") == 0)
            continue;
        if (strncmp(e->d_name, stem, strlen(stem)) != 0 || e->d_name[strlen(stem)] != '-' ||
            strlen(e->d_name) != strlen(stem) + 1 + 16 + 3)
            fail_msg("unexpected file in cache: %s", e->d_name);
        snprintf(out, len, "%s/%s", dir, e->d_name);
        found++;
    }
    closedir(d);
    assert_int_equal(found, 1);
}

static void test_compile_and_cache(void **state)
{
    (void)state;
    char cache[PATH_MAX], src[PATH_MAX], so[PATH_MAX], err[ERR_LEN], hdr[PATH_MAX + 32];
    fresh_dir(cache, sizeof cache, "cache1");
    source_file(src, sizeof src, "tests/plugins/good.c");

    struct hn_loaded_plugin *p = NULL;
    if (hn_plugin_load(src, cache, &p, err, sizeof err) != 0)
        fail_msg("compile/load failed: %s", err);
    assert_string_equal(hn_plugin_path(p), src);
    assert_string_equal(hn_plugin_descriptor(p)->name, "good");
    hn_plugin_unload(p);

    cached_object(cache, "good", so, sizeof so);
    struct stat a, b;
    assert_int_equal(stat(so, &a), 0);

    /* The bundled header was written where -I points. */
    snprintf(hdr, sizeof hdr, "%s/include/hornet/hornet.h", cache);
    char *text = slurp(hdr);
    assert_string_equal(text, hn_bundled_header);
    free(text);

    /* Second load: same object, untouched (a rebuild renames a new inode in). */
    p = NULL;
    if (hn_plugin_load(src, cache, &p, err, sizeof err) != 0)
        fail_msg("second load failed: %s", err);
    hn_plugin_unload(p);
    cached_object(cache, "good", so, sizeof so);
    assert_int_equal(stat(so, &b), 0);
    assert_int_equal(a.st_ino, b.st_ino);
    assert_int_equal(a.st_mtim.tv_sec, b.st_mtim.tv_sec);
    assert_int_equal(a.st_mtim.tv_nsec, b.st_mtim.tv_nsec);
}

static void copy_file(const char *from, const char *to, const char *append)
{
    char *text = slurp(from);
    FILE *f = fopen(to, "w");
    assert_non_null(f);
    fputs(text, f);
    if (append != NULL)
        fputs(append, f);
    fclose(f);
    free(text);
}

static void test_changed_source_recompiles(void **state)
{
    (void)state;
    char cache[PATH_MAX], good[PATH_MAX], src[PATH_MAX + 16], so1[PATH_MAX], so2[PATH_MAX];
    char err[ERR_LEN];
    fresh_dir(cache, sizeof cache, "cache2");
    source_file(good, sizeof good, "tests/plugins/good.c");
    snprintf(src, sizeof src, "%s/mine.c", tmp_root);
    copy_file(good, src, NULL);

    struct hn_loaded_plugin *p = NULL;
    if (hn_plugin_load(src, cache, &p, err, sizeof err) != 0)
        fail_msg("load failed: %s", err);
    hn_plugin_unload(p);
    cached_object(cache, "mine", so1, sizeof so1);
    unlink(so1);

    copy_file(good, src, "/* changed */\n");
    if (hn_plugin_load(src, cache, &p, err, sizeof err) != 0)
        fail_msg("reload failed: %s", err);
    hn_plugin_unload(p);
    cached_object(cache, "mine", so2, sizeof so2);
    assert_string_not_equal(so1, so2);
}

static void test_cache_dir_from_env(void **state)
{
    (void)state;
    char cache[PATH_MAX], nested[PATH_MAX + 16], src[PATH_MAX], so[PATH_MAX], err[ERR_LEN];
    fresh_dir(cache, sizeof cache, "cache3");
    snprintf(nested, sizeof nested, "%s/a/b", cache);
    source_file(src, sizeof src, "tests/plugins/no_user_types.c");
    setenv("HORNET_CACHE_DIR", nested, 1);

    /* A declaration error in a compiled plugin names the user's .c path. */
    struct hn_loaded_plugin *p = NULL;
    int rc = hn_plugin_load(src, NULL, &p, err, sizeof err);
    unsetenv("HORNET_CACHE_DIR");
    assert_int_equal(rc, -1);
    assert_null(p);
    char want[PATH_MAX + 64];
    snprintf(want, sizeof want, "plugin '%s' declares no user types", src);
    assert_string_equal(err, want);
    cached_object(nested, "no_user_types", so, sizeof so);

    struct stat st;
    assert_int_equal(stat(nested, &st), 0);
    assert_int_equal(st.st_mode & 0777, 0700);
}

static void test_compile_error_verbatim(void **state)
{
    (void)state;
    char cache[PATH_MAX], src[PATH_MAX], err[ERR_LEN], head[PATH_MAX + 64];
    fresh_dir(cache, sizeof cache, "cache4");
    source_file(src, sizeof src, "tests/fixtures/syntax_error.c");

    struct hn_loaded_plugin *p = NULL;
    assert_int_equal(hn_plugin_load(src, cache, &p, err, sizeof err), -1);
    assert_null(p);
    snprintf(head, sizeof head, "plugin '%s': compilation failed (", src);
    assert_memory_equal(err, head, strlen(head));
    const char *nl = strchr(err, '\n');
    assert_non_null(nl);
    assert_memory_equal(nl - 9, " exit 1):", 9);
    /* The compiler's own words, naming the file and line. */
    assert_non_null(strstr(nl, "error"));
    assert_non_null(strstr(nl, "syntax_error.c:"));

    /* Nothing cached, no temporaries left behind. */
    DIR *d = opendir(cache);
    assert_non_null(d);
    struct dirent *e;
    while ((e = readdir(d)) != NULL)
        if (strcmp(e->d_name, ".") != 0 && strcmp(e->d_name, "..") != 0 &&
            strcmp(e->d_name, "include") != 0)
            fail_msg("left in cache: %s", e->d_name);
    closedir(d);
}

static void test_compiler_missing(void **state)
{
    (void)state;
    char cache[PATH_MAX], src[PATH_MAX], err[ERR_LEN], want[PATH_MAX + 256];
    fresh_dir(cache, sizeof cache, "cache5");
    source_file(src, sizeof src, "tests/plugins/good.c");
    char *old = getenv("CC") != NULL ? strdup(getenv("CC")) : NULL;
    setenv("CC", "/nonexistent/hn-no-cc", 1);

    struct hn_loaded_plugin *p = NULL;
    int rc = hn_plugin_load(src, cache, &p, err, sizeof err);
    if (old != NULL)
        setenv("CC", old, 1);
    else
        unsetenv("CC");
    free(old);
    assert_int_equal(rc, -1);
    assert_null(p);
    snprintf(want, sizeof want, "plugin '%s': cannot run the C compiler '/nonexistent/hn-no-cc': "
             "No such file or directory (install one, e.g. gcc, or set CC)", src);
    assert_string_equal(err, want);
}

/* Two processes compiling the same source into one cache both succeed:
 * neither sees the other's half-written object. */
static void test_concurrent_compiles(void **state)
{
    (void)state;
    char cache[PATH_MAX], src[PATH_MAX], so[PATH_MAX];
    fresh_dir(cache, sizeof cache, "cache6");
    source_file(src, sizeof src, "tests/plugins/good.c");
    pid_t kids[2];
    for (int i = 0; i < 2; i++) {
        kids[i] = fork();
        assert_true(kids[i] >= 0);
        if (kids[i] == 0) {
            char err[ERR_LEN];
            struct hn_loaded_plugin *p = NULL;
            int rc = hn_plugin_load(src, cache, &p, err, sizeof err);
            if (rc != 0)
                fprintf(stderr, "child %d: %s\n", i, err);
            hn_plugin_unload(p);
            _exit(rc == 0 ? 0 : 1);
        }
    }
    for (int i = 0; i < 2; i++) {
        int st = 0;
        assert_int_equal(waitpid(kids[i], &st, 0), kids[i]);
        assert_true(WIFEXITED(st));
        assert_int_equal(WEXITSTATUS(st), 0);
    }
    cached_object(cache, "good", so, sizeof so);
}

/* ---------------------------------------------------------------- */

static int rm_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
    (void)st;
    (void)flag;
    (void)ftw;
    remove(path);
    return 0;
}

static int setup(void **state)
{
    (void)state;
    const char *base = getenv("TMPDIR") != NULL ? getenv("TMPDIR") : "/tmp";
    snprintf(tmp_root, sizeof tmp_root, "%s/hn-test-plugin-host-XXXXXX", base);
    return mkdtemp(tmp_root) != NULL ? 0 : -1;
}

static int teardown(void **state)
{
    (void)state;
    nftw(tmp_root, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
    return 0;
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_good_plugin_loads),
        cmocka_unit_test(test_missing_file),
        cmocka_unit_test(test_not_a_shared_object),
        cmocka_unit_test(test_handshake_errors),
        cmocka_unit_test(test_declaration_errors),
        cmocka_unit_test(test_init_failures),
        cmocka_unit_test(test_small_err_buffer),
        cmocka_unit_test(test_builtin_plugin),
        cmocka_unit_test(test_compile_and_cache),
        cmocka_unit_test(test_changed_source_recompiles),
        cmocka_unit_test(test_cache_dir_from_env),
        cmocka_unit_test(test_compile_error_verbatim),
        cmocka_unit_test(test_compiler_missing),
        cmocka_unit_test(test_concurrent_compiles),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
