/*
 * test_cli.c: options from argv, config files and HORNET_* variables,
 * through the real hn_options_parse (getopt_long included).
 *
 * Every test runs in its own fresh temporary directory (so a stray
 * ./hornet.conf cannot leak in) with every HORNET_* variable unset.
 */
/* cmocka needs these three first. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>

#include <cmocka.h>

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cli.h"
#include "log.h"

#define MAX_ARGS 64

extern char **environ;

/* Unsets every HORNET_* variable (collected first: unsetenv edits environ). */
static void clear_hornet_env(void)
{
    char names[64][64];
    size_t n = 0;
    for (char **e = environ; *e && n < 64; e++) {
        size_t len = strcspn(*e, "=");
        if (strncmp(*e, "HORNET_", 7) == 0 && len < sizeof names[0])
            snprintf(names[n++], sizeof names[0], "%.*s", (int)len, *e);
    }
    for (size_t i = 0; i < n; i++)
        unsetenv(names[i]);
}

struct fixture {
    char dir[64];
    char old_cwd[4096];
    struct hn_options o;
    char err[512];
};

static int setup(void **state)
{
    struct fixture *f = calloc(1, sizeof *f);
    assert_non_null(f);
    assert_non_null(getcwd(f->old_cwd, sizeof f->old_cwd));
    snprintf(f->dir, sizeof f->dir, "/tmp/hn_test_cli_XXXXXX");
    assert_non_null(mkdtemp(f->dir));
    assert_int_equal(chdir(f->dir), 0);
    clear_hornet_env();
    hn_options_init(&f->o);
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    struct fixture *f = *state;
    hn_options_cleanup(&f->o);
    clear_hornet_env();
    /* Remove what the tests wrote: only plain files and the one subdirectory. */
    const char *files[] = {"hornet.conf", "other.conf", "bad.conf", "plugin.so", "plugin.c"};
    for (size_t i = 0; i < sizeof files / sizeof files[0]; i++)
        unlink(files[i]);
    rmdir("webroot");
    assert_int_equal(chdir(f->old_cwd), 0);
    assert_int_equal(rmdir(f->dir), 0);
    free(f);
    return 0;
}

/* Parses a NULL-terminated list of arguments (argv[0] is added). The
 * options are re-initialised first, so one test may parse several times. */
static int parse_args(struct fixture *f, const char *first, ...)
{
    char *argv[MAX_ARGS + 2];
    int argc = 0;
    argv[argc++] = (char *)"hornet";
    va_list ap;
    va_start(ap, first);
    for (const char *a = first; a; a = va_arg(ap, const char *)) {
        assert_true(argc < MAX_ARGS);
        argv[argc++] = (char *)a;
    }
    va_end(ap);
    argv[argc] = NULL;
    hn_options_cleanup(&f->o);
    hn_options_init(&f->o);
    f->err[0] = '\0';
    int rc = hn_options_parse(&f->o, argc, argv, f->err, sizeof f->err);
    if (rc == 0)
        assert_string_equal(f->err, "");
    return rc;
}

#define PARSE(f, ...) parse_args(f, __VA_ARGS__, (const char *)NULL)

static void write_file(const char *path, const char *text)
{
    FILE *fp = fopen(path, "w");
    assert_non_null(fp);
    assert_int_equal(fputs(text, fp) >= 0, 1);
    assert_int_equal(fclose(fp), 0);
}

/* The message is one line, starts with "hornet: " and contains want. */
static void assert_err(struct fixture *f, const char *want)
{
    if (strncmp(f->err, "hornet: ", 8) != 0 || !strstr(f->err, want) || strchr(f->err, '\n')) {
        print_error("error message '%s' does not contain '%s'\n", f->err, want);
        fail();
    }
}

static void assert_list(char **list, const char *const *want)
{
    size_t n = 0;
    while (want[n]) {
        assert_non_null(list);
        assert_non_null(list[n]);
        assert_string_equal(list[n], want[n]);
        n++;
    }
    if (n == 0)
        assert_null(list);
    else
        assert_null(list[n]);
}

/* ---------------------------------------------------------------------- */

static void test_defaults(void **state)
{
    struct fixture *f = *state;
    assert_int_equal(PARSE(f, NULL), 0);
    struct hn_options *o = &f->o;
    assert_null(o->plugin);
    assert_null(o->host);
    assert_int_equal(o->users, 1);
    assert_true(o->spawn_rate == 1.0);
    assert_true(o->run_time == 0.0);
    assert_false(o->headless);
    assert_false(o->autostart);
    assert_true(o->autoquit == -1.0);
    assert_string_equal(o->web_host, "127.0.0.1");
    assert_int_equal(o->web_port, 8089);
    assert_null(o->web_root);
    assert_null(o->csv_prefix);
    assert_false(o->csv_full_history);
    assert_null(o->html_path);
    assert_null(o->json_path);
    assert_int_equal(o->threads, 0);
    assert_false(o->seed_set);
    assert_true(o->stop_timeout == 10.0);
    assert_int_equal(o->exit_code_on_error, 1);
    assert_null(o->tags);
    assert_null(o->exclude_tags);
    assert_false(o->only_summary);
    assert_int_equal(o->loglevel, HN_INFO);
    assert_null(o->config_path);
    assert_false(o->demo);
    assert_false(o->show_help);
    assert_false(o->show_version);
}

static void test_every_option_long(void **state)
{
    struct fixture *f = *state;
    write_file("plugin.c", "/* plugin */\n");
    write_file("other.conf", "# nothing\n");
    assert_int_equal(mkdir("webroot", 0700), 0);
    int rc =
        PARSE(f, "--plugin", "plugin.c", "--host", "https://example.test:8443/base/", "--users",
              "250", "--spawn-rate", "12.5", "--run-time", "1h30m", "--autostart", "--autoquit",
              "15", "--web-host", "0.0.0.0", "--web-port", "0", "--web-root", "webroot", "--csv",
              "out/run", "--csv-full-history", "--html", "r.html", "--json", "r.json", "--threads",
              "8", "--seed", "18446744073709551615", "--stop-timeout", "2m", "--exit-code-on-error",
              "3", "--tags", "a,b", "--exclude-tags", "slow", "--only-summary", "--loglevel",
              "DEBUG", "--config", "other.conf", "--demo");
    assert_int_equal(rc, 0);
    struct hn_options *o = &f->o;
    assert_string_equal(o->plugin, "plugin.c");
    assert_string_equal(o->host, "https://example.test:8443/base/");
    assert_int_equal(o->users, 250);
    assert_true(o->spawn_rate == 12.5);
    assert_true(o->run_time == 5400.0);
    assert_true(o->autostart);
    assert_false(o->headless);
    assert_true(o->autoquit == 15.0);
    assert_string_equal(o->web_host, "0.0.0.0");
    assert_int_equal(o->web_port, 0);
    assert_string_equal(o->web_root, "webroot");
    assert_string_equal(o->csv_prefix, "out/run");
    assert_true(o->csv_full_history);
    assert_string_equal(o->html_path, "r.html");
    assert_string_equal(o->json_path, "r.json");
    assert_int_equal(o->threads, 8);
    assert_true(o->seed_set);
    assert_true(o->seed == UINT64_MAX);
    assert_true(o->stop_timeout == 120.0);
    assert_int_equal(o->exit_code_on_error, 3);
    assert_list(o->tags, (const char *const[]){"a", "b", NULL});
    assert_list(o->exclude_tags, (const char *const[]){"slow", NULL});
    assert_true(o->only_summary);
    assert_int_equal(o->loglevel, HN_DEBUG);
    assert_string_equal(o->config_path, "other.conf");
    assert_true(o->demo);
}

static void test_every_option_short_and_equals(void **state)
{
    struct fixture *f = *state;
    write_file("plugin.so", "not really ELF, the loader checks that\n");
    int rc = PARSE(f, "-f", "plugin.so", "-H", "http://127.0.0.1:8080", "-u", "1000000", "-r",
                   "0.5", "-t", "90", "-P", "9000", "-s", "1.5", "-T", "x", "-T", "y,z", "-E", "e1",
                   "-L", "warning", "--headless", "--autoquit=0", "--seed=0");
    assert_int_equal(rc, 0);
    struct hn_options *o = &f->o;
    assert_string_equal(o->plugin, "plugin.so");
    assert_string_equal(o->host, "http://127.0.0.1:8080");
    assert_int_equal(o->users, 1000000);
    assert_true(o->spawn_rate == 0.5);
    assert_true(o->run_time == 90.0);
    assert_int_equal(o->web_port, 9000);
    assert_true(o->stop_timeout == 1.5);
    /* Repeats within one source append. */
    assert_list(o->tags, (const char *const[]){"x", "y", "z", NULL});
    assert_list(o->exclude_tags, (const char *const[]){"e1", NULL});
    assert_int_equal(o->loglevel, HN_WARNING);
    assert_true(o->headless);
    assert_true(o->autoquit == 0.0);
    assert_true(o->seed_set);
    assert_true(o->seed == 0);

    /* Attached short values and GNU unambiguous abbreviations. */
    assert_int_equal(PARSE(f, "-u7", "--spawn", "3", "--exit-code=0"), 0);
    assert_int_equal(f->o.users, 7);
    assert_true(f->o.spawn_rate == 3.0);
    assert_int_equal(f->o.exit_code_on_error, 0);
}

static void test_flags_with_values(void **state)
{
    struct fixture *f = *state;
    assert_int_equal(PARSE(f, "--headless=false", "--demo=YES", "--only-summary=1"), 0);
    assert_false(f->o.headless);
    assert_true(f->o.demo);
    assert_true(f->o.only_summary);
    assert_int_equal(PARSE(f, "--headless=no", "--autostart=true", "--csv-full-history=0"), 0);
    assert_false(f->o.headless);
    assert_true(f->o.autostart);
    assert_false(f->o.csv_full_history);
    assert_int_equal(PARSE(f, "--headless=maybe"), -1);
    assert_err(f, "--headless expects true/false/1/0/yes/no, got 'maybe'");
}

static void test_help_and_version(void **state)
{
    struct fixture *f = *state;
    /* Help wins over a broken config and bad values. */
    write_file("hornet.conf", "this is not a config\n");
    assert_int_equal(PARSE(f, "-u", "ten", "--help"), 0);
    assert_true(f->o.show_help);
    assert_int_equal(f->o.users, 1);
    assert_int_equal(PARSE(f, "-V"), 0);
    assert_true(f->o.show_version);
    assert_false(f->o.show_help);
    assert_int_equal(PARSE(f, "--version", "-h"), 0);
    assert_true(f->o.show_version);
    assert_true(f->o.show_help);
    assert_int_equal(PARSE(f, "--help=yes"), -1);
    assert_err(f, "--help takes no value");
}

static void test_usage_text(void **state)
{
    (void)state;
    char *buf = NULL;
    size_t len = 0;
    FILE *m = open_memstream(&buf, &len);
    assert_non_null(m);
    hn_options_usage(m);
    assert_int_equal(fclose(m), 0);
    assert_non_null(buf);
    const char *groups[] = {"Common options:", "Web UI:",  "Statistics and output:",
                            "Run control:",    "Logging:", "Other:"};
    for (size_t i = 0; i < sizeof groups / sizeof groups[0]; i++)
        assert_non_null(strstr(buf, groups[i]));
    const char *names[] = {"--plugin",
                           "--host",
                           "--users",
                           "--spawn-rate",
                           "--run-time",
                           "--headless",
                           "--autostart",
                           "--autoquit",
                           "--web-host",
                           "--web-port",
                           "--web-root",
                           "--csv",
                           "--csv-full-history",
                           "--html",
                           "--json",
                           "--threads",
                           "--seed",
                           "--stop-timeout",
                           "--exit-code-on-error",
                           "--tags",
                           "--exclude-tags",
                           "--only-summary",
                           "--loglevel",
                           "--config",
                           "--demo",
                           "--version",
                           "--help",
                           "hornet --demo",
                           "hornet -f plugins/shop.c -H http://127.0.0.1:8080"};
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
        if (!strstr(buf, names[i])) {
            print_error("help lacks %s\n", names[i]);
            fail();
        }
    }
    size_t col = 0;
    for (const char *c = buf; *c; c++) {
        col = *c == '\n' ? 0 : col + 1;
        assert_true(col <= 100);
    }
    free(buf);
}

struct bad_case {
    const char *args[4];
    const char *want;
};

static void test_bad_values(void **state)
{
    struct fixture *f = *state;
    write_file("plugin.c", "/* plugin */\n");
    static const struct bad_case cases[] = {
        {{"-u", "ten"}, "-u/--users expects a whole number from 0 to 1000000, got 'ten'"},
        {{"-u", "-1"}, "-u/--users expects a whole number"},
        {{"-u", "1000001"}, "-u/--users expects"},
        {{"-u", "5x"}, "-u/--users expects"},
        {{"-u", " 5"}, "-u/--users expects"},
        {{"-u", "+5"}, "-u/--users expects"},
        {{"-u", "99999999999999999999999"}, "-u/--users expects"},
        {{"--users="}, "-u/--users expects a whole number from 0 to 1000000, got ''"},
        {{"-r", "0"}, "-r/--spawn-rate expects a number of users per second > 0"},
        {{"-r", "-2"}, "-r/--spawn-rate expects"},
        {{"-r", "nan"}, "-r/--spawn-rate expects"},
        {{"-r", "inf"}, "-r/--spawn-rate expects"},
        {{"-r", "1e3"}, "-r/--spawn-rate expects"},
        {{"-r", "1.2.3"}, "-r/--spawn-rate expects"},
        {{"-r", "."}, "-r/--spawn-rate expects"},
        {{"-t", "5x"}, "-t/--run-time expects a timespan like 90, 30s, 5m or 1h30m, got '5x'"},
        {{"-t", "-3s"}, "-t/--run-time expects"},
        {{"--stop-timeout", "soon"}, "-s/--stop-timeout expects a timespan"},
        {{"--autoquit", "-2", "--autostart"}, "--autoquit expects seconds"},
        {{"-H", "example.com"}, "-H/--host expects a base URL"},
        {{"-H", "http://"}, "the host is empty"},
        {{"--web-port", "65536"}, "-P/--web-port expects a port from 0 to 65535"},
        {{"-P", "http"}, "-P/--web-port expects"},
        {{"--web-host", ""}, "--web-host expects"},
        {{"--web-host", "a b"}, "--web-host expects"},
        {{"--web-root", "no-such-dir"}, "--web-root expects an existing directory"},
        {{"--web-root", "plugin.c"}, "(not a directory)"},
        {{"--threads", "0"}, "--threads expects a whole number from 1 to 1024, got '0'"},
        {{"--threads", "1025"}, "--threads expects"},
        {{"--seed", "18446744073709551616"}, "--seed expects a whole number"},
        {{"--seed", "-1"}, "--seed expects"},
        {{"--exit-code-on-error", "256"}, "--exit-code-on-error expects a whole number from 0"},
        {{"-L", "verbose"}, "-L/--loglevel expects debug, info, warning, error or critical"},
        {{"-T", ""}, "-T/--tags expects comma-separated tag names"},
        {{"-T", "a,,b"}, "-T/--tags expects"},
        {{"-E", "a,"}, "-E/--exclude-tags expects"},
        {{"-T", "[a"}, "-T/--tags expects a list like [a, b]"},
        {{"-f", "missing.so"}, "-f/--plugin expects a readable plugin file"},
        {{"-f", "."}, "(not a regular file)"},
        {{"-f", ""}, "-f/--plugin expects"},
        {{"--csv", ""}, "--csv expects"},
        {{"--html", ""}, "--html expects"},
        {{"--json", ""}, "--json expects"},
        {{"--config", "missing.conf"}, "--config expects a readable file, got 'missing.conf'"},
        {{"--config", ""}, "--config expects"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        const struct bad_case *c = &cases[i];
        int rc = PARSE(f, c->args[0], c->args[1], c->args[2], c->args[3]);
        if (rc != -1) {
            print_error("case %zu (%s %s) was accepted\n", i, c->args[0],
                        c->args[1] ? c->args[1] : "");
            fail();
        }
        assert_err(f, c->want);
    }
    /* A very long bad value is cut in the message, which stays one line. */
    char longv[400];
    memset(longv, 'x', sizeof longv - 1);
    longv[sizeof longv - 1] = '\0';
    assert_int_equal(PARSE(f, "-u", longv), -1);
    assert_err(f, "xxx...'");
    assert_true(strlen(f->err) < 200);
}

static void test_argv_errors(void **state)
{
    struct fixture *f = *state;
    assert_int_equal(PARSE(f, "--foo"), -1);
    assert_string_equal(f->err, "hornet: unknown option '--foo' (see --help)");
    assert_int_equal(PARSE(f, "--spawnrate=4"), -1);
    assert_err(f, "unknown option '--spawnrate', did you mean '--spawn-rate'?");
    assert_int_equal(PARSE(f, "--hatch-rate", "3"), -1);
    assert_err(f, "unknown option '--hatch-rate'");
    assert_int_equal(PARSE(f, "--masterhost", "h"), -1);
    assert_err(f, "unknown option '--masterhost', did you mean '--master-host'?");
    assert_int_equal(PARSE(f, "--web", "x"), -1);
    assert_err(f, "ambiguous option '--web' (could be --web-auth, --web-auth-file, --web-host, --web-port, --web-root, --webhook)");
    assert_int_equal(PARSE(f, "-x"), -1);
    assert_string_equal(f->err, "hornet: unknown option '-x' (see --help)");
    assert_int_equal(PARSE(f, "--users"), -1);
    assert_string_equal(f->err, "hornet: -u/--users needs a value");
    assert_int_equal(PARSE(f, "-t"), -1);
    assert_err(f, "-t/--run-time needs a value");
    assert_int_equal(PARSE(f, "--csv"), -1);
    assert_string_equal(f->err, "hornet: --csv needs a value");
    assert_int_equal(PARSE(f, "-u", "3", "extra"), -1);
    assert_err(f, "unexpected argument 'extra'");
    assert_int_equal(PARSE(f, "--", "-u"), -1);
    assert_err(f, "unexpected argument '-u'");
    /* A positional before options is found too (GNU permutes argv). */
    assert_int_equal(PARSE(f, "shop", "-u", "3"), -1);
    assert_err(f, "unexpected argument 'shop'");
}

static void test_combinations(void **state)
{
    struct fixture *f = *state;
    assert_int_equal(PARSE(f, "--headless", "--autostart"), -1);
    assert_err(f, "--headless and --autostart cannot be combined");
    assert_int_equal(PARSE(f, "--autoquit", "10"), -1);
    assert_err(f, "--autoquit needs --autostart (or --headless)");
    assert_int_equal(PARSE(f, "--autoquit", "10", "--headless"), 0);
    assert_int_equal(PARSE(f, "--autoquit", "-1"), 0); /* the default, spelled out */
    assert_true(f->o.autoquit == -1.0);
    assert_int_equal(PARSE(f, "--csv-full-history"), -1);
    assert_err(f, "--csv-full-history needs --csv");
    assert_int_equal(PARSE(f, "--csv-full-history", "--csv", "x"), 0);
    /* --demo without -f is fine. */
    assert_int_equal(PARSE(f, "--demo", "--headless", "-t", "5s"), 0);
    assert_true(f->o.demo);
    assert_null(f->o.plugin);
    /* A conflict with a forgotten config line says where that came from. */
    write_file("hornet.conf", "\nheadless = true\n");
    assert_int_equal(PARSE(f, "--autostart"), -1);
    assert_err(f, "--headless (from hornet.conf:2) and --autostart cannot be combined");
    /* ...and can be overridden from the command line. */
    assert_int_equal(PARSE(f, "--autostart", "--headless=false"), 0);
    setenv("HORNET_AUTOSTART", "1", 1);
    assert_int_equal(PARSE(f, NULL), -1);
    assert_err(f, "--autostart (from HORNET_AUTOSTART) cannot be combined");
}

struct span_case {
    const char *s;
    double want;
};

static void test_timespans(void **state)
{
    (void)state;
    static const struct span_case ok[] = {
        {"0", 0},          {"10", 10},      {"90", 90},
        {"1.5", 1.5},      {"20s", 20},     {"3m", 180},
        {"2h", 7200},      {"1h20m", 4800}, {"3h30m10s", 12610},
        {"1h10s", 3610},   {"1.5s", 1.5},   {"0.5m", 30},
        {"2m0.5s", 120.5}, {".5", 0.5},     {"5.", 5},
        {"000012", 12},    {"0s", 0},       {"277777h", 999997200},
    };
    for (size_t i = 0; i < sizeof ok / sizeof ok[0]; i++) {
        double v = -42;
        if (hn_parse_timespan(ok[i].s, &v) != 0 || fabs(v - ok[i].want) > 1e-9) {
            print_error("timespan '%s' gave %g, want %g\n", ok[i].s, v, ok[i].want);
            fail();
        }
    }
    /* Decided: units only in h, m, s order, each once; a bare number only
     * alone ("1m30" is ambiguous); no signs, spaces, exponents or days. */
    static const char *const bad[] = {
        "",      "5x",   "-3s",        "+3s",     "1m1m",
        "30s1m", "1s1h", "1m30",       "1 m",     " 5",
        "5 ",    "s",    "h1",         "1.2.3s",  "1e3",
        "inf",   "nan",  "1d",         "1H",      "10ms",
        ".",     "1h.m", "1000000001", "277778h", "1234567890123456789",
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        double v = -42;
        if (hn_parse_timespan(bad[i], &v) != -1 || v != -42) {
            print_error("timespan '%s' was accepted (%g)\n", bad[i], v);
            fail();
        }
    }
    double v = -42;
    assert_int_equal(hn_parse_timespan(NULL, &v), -1);
}

static void test_config_file(void **state)
{
    struct fixture *f = *state;
    write_file("hornet.conf", "\xEF\xBB\xBF# hornet.conf for the shop\n"
                              "\n"
                              "   # indented comment\n"
                              "users = 50   # peak\n"
                              "spawn-rate=2.5\r\n"
                              "run-time = '1h20m'\n"
                              "host = \"http://127.0.0.1:8080/api\"\n"
                              "headless = Yes\n"
                              "only-summary = 0\n"
                              "tags = [checkout, \"slow path\", 'x#y']\n"
                              "exclude-tags = a, b\n"
                              "exclude-tags = c\n"
                              "csv = out/run#1\n"
                              "html = \"report # final.html\"   # the report\n"
                              "loglevel = error\n"
                              "seed = 42\n");
    assert_int_equal(PARSE(f, NULL), 0);
    struct hn_options *o = &f->o;
    assert_string_equal(o->config_path, "hornet.conf");
    assert_int_equal(o->users, 50);
    assert_true(o->spawn_rate == 2.5);
    assert_true(o->run_time == 4800.0);
    assert_string_equal(o->host, "http://127.0.0.1:8080/api");
    assert_true(o->headless);
    assert_false(o->only_summary);
    assert_list(o->tags, (const char *const[]){"checkout", "slow path", "x#y", NULL});
    assert_list(o->exclude_tags, (const char *const[]){"a", "b", "c", NULL});
    /* '#' only starts a comment after whitespace. */
    assert_string_equal(o->csv_prefix, "out/run#1");
    assert_string_equal(o->html_path, "report # final.html");
    assert_int_equal(o->loglevel, HN_ERROR);
    assert_true(o->seed_set);
    assert_true(o->seed == 42);

    /* "[]" clears a list. */
    write_file("hornet.conf", "tags = a\ntags = []\n");
    assert_int_equal(PARSE(f, NULL), 0);
    assert_null(f->o.tags);
}

static void test_config_errors(void **state)
{
    struct fixture *f = *state;
    write_file("hornet.conf", "users = 5\n# x\n\nspawnrate = 3\n");
    assert_int_equal(PARSE(f, NULL), -1);
    assert_string_equal(f->err, "hornet: hornet.conf:4: unknown option 'spawnrate' (did you mean "
                                "'spawn-rate'?)");

    write_file("bad.conf", "run_time = 5m\n");
    assert_int_equal(PARSE(f, "--config", "bad.conf"), -1);
    assert_err(f, "bad.conf:1: unknown option 'run_time' (did you mean 'run-time'?)");

    write_file("bad.conf", "frobnicate = 1\n");
    assert_int_equal(PARSE(f, "--config", "bad.conf"), -1);
    assert_string_equal(f->err, "hornet: bad.conf:1: unknown option 'frobnicate' (see hornet "
                                "--help)");

    write_file("bad.conf", "# ok\nusers = ten\n");
    assert_int_equal(PARSE(f, "--config", "bad.conf"), -1);
    assert_string_equal(f->err, "hornet: bad.conf:2: users expects a whole number from 0 to "
                                "1000000, got 'ten'");

    write_file("bad.conf", "headless = maybe\n");
    assert_int_equal(PARSE(f, "--config", "bad.conf"), -1);
    assert_err(f, "bad.conf:1: headless expects true/false/1/0/yes/no, got 'maybe'");

    write_file("bad.conf", "\n\nheadless\n");
    assert_int_equal(PARSE(f, "--config", "bad.conf"), -1);
    assert_err(f, "bad.conf:3: expected 'key = value', got 'headless' (flags take '= true')");

    write_file("bad.conf", "= 5\n");
    assert_int_equal(PARSE(f, "--config", "bad.conf"), -1);
    assert_err(f, "bad.conf:1: expected 'key = value'");

    write_file("bad.conf", "host = \"http://x\n");
    assert_int_equal(PARSE(f, "--config", "bad.conf"), -1);
    assert_err(f, "bad.conf:1: host: missing closing quote");

    write_file("bad.conf", "csv = 'a' b\n");
    assert_int_equal(PARSE(f, "--config", "bad.conf"), -1);
    assert_err(f, "bad.conf:1: csv: unexpected text after the closing quote");

    write_file("bad.conf", "tags = a, \"b\n");
    assert_int_equal(PARSE(f, "--config", "bad.conf"), -1);
    assert_err(f, "bad.conf:1: tags expects a list with matching quotes");

    write_file("bad.conf", "config = other.conf\n");
    assert_int_equal(PARSE(f, "--config", "bad.conf"), -1);
    assert_err(f, "bad.conf:1: 'config' can only be given on the command line");

    write_file("bad.conf", "users =\n");
    assert_int_equal(PARSE(f, "--config", "bad.conf"), -1);
    assert_err(f, "bad.conf:1: users expects a whole number from 0 to 1000000, got ''");

    write_file("bad.conf", "csv = \"\"\n");
    assert_int_equal(PARSE(f, "--config", "bad.conf"), -1);
    assert_err(f, "bad.conf:1: csv expects");

    /* The default file's errors name it as well. */
    write_file("hornet.conf", "web-port = 99999\n");
    assert_int_equal(PARSE(f, NULL), -1);
    assert_err(f, "hornet.conf:1: web-port expects a port from 0 to 65535");

    /* A directory named hornet.conf cannot be read. */
    unlink("hornet.conf");
    assert_int_equal(mkdir("hornet.conf", 0700), 0);
    assert_int_equal(PARSE(f, NULL), -1);
    assert_err(f, "hornet.conf");
    assert_int_equal(rmdir("hornet.conf"), 0);
}

static void test_config_selection(void **state)
{
    struct fixture *f = *state;
    /* --config replaces ./hornet.conf entirely (a bad hornet.conf is not read). */
    write_file("hornet.conf", "users = 5\nbogus = 1\n");
    write_file("other.conf", "spawn-rate = 4\n");
    assert_int_equal(PARSE(f, "--config", "other.conf"), 0);
    assert_int_equal(f->o.users, 1);
    assert_true(f->o.spawn_rate == 4.0);
    assert_string_equal(f->o.config_path, "other.conf");
    /* The last --config wins. */
    write_file("bad.conf", "spawn-rate = 6\n");
    assert_int_equal(PARSE(f, "--config", "bad.conf", "--config=other.conf"), 0);
    assert_true(f->o.spawn_rate == 4.0);
    /* No config at all: nothing read, config_path stays NULL. */
    unlink("hornet.conf");
    assert_int_equal(PARSE(f, NULL), 0);
    assert_null(f->o.config_path);
}

static void test_precedence(void **state)
{
    struct fixture *f = *state;
    write_file("hornet.conf", "users = 5\nspawn-rate = 2\nrun-time = 1m\ntags = c1, c2\n"
                              "exclude-tags = x\nheadless = true\n");
    /* env beats config; config beats defaults. */
    setenv("HORNET_USERS", "6", 1);
    setenv("HORNET_RUN_TIME", "2m", 1);
    setenv("HORNET_TAGS", "e1", 1);
    setenv("HORNET_HEADLESS", "false", 1);
    setenv("HORNET_SPAWN_RATE", "", 1); /* empty counts as unset */
    assert_int_equal(PARSE(f, NULL), 0);
    assert_int_equal(f->o.users, 6);
    assert_true(f->o.spawn_rate == 2.0);
    assert_true(f->o.run_time == 120.0);
    assert_false(f->o.headless);
    assert_list(f->o.tags, (const char *const[]){"e1", NULL});
    assert_list(f->o.exclude_tags, (const char *const[]){"x", NULL});

    /* argv beats env; a list from argv replaces the env one, then appends. */
    assert_int_equal(PARSE(f, "-u", "7", "-T", "a1", "--tags", "a2", "--headless"), 0);
    assert_int_equal(f->o.users, 7);
    assert_true(f->o.run_time == 120.0);
    assert_true(f->o.headless);
    assert_list(f->o.tags, (const char *const[]){"a1", "a2", NULL});

    /* Bad env values name the variable. */
    setenv("HORNET_HEADLESS", "maybe", 1);
    assert_int_equal(PARSE(f, NULL), -1);
    assert_string_equal(f->err, "hornet: HORNET_HEADLESS expects true/false/1/0/yes/no, got "
                                "'maybe'");
    unsetenv("HORNET_HEADLESS");
    setenv("HORNET_USERS", "lots", 1);
    assert_int_equal(PARSE(f, NULL), -1);
    assert_err(f, "HORNET_USERS expects a whole number");
    /* ...even when argv would override it: every source must be valid. */
    assert_int_equal(PARSE(f, "-u", "3"), -1);
    assert_err(f, "HORNET_USERS");
    unsetenv("HORNET_USERS");

    /* Command-line-only names are not read from the environment. */
    setenv("HORNET_HELP", "1", 1);
    setenv("HORNET_CONFIG", "does-not-exist.conf", 1);
    assert_int_equal(PARSE(f, NULL), 0);
    assert_false(f->o.show_help);
    assert_string_equal(f->o.config_path, "hornet.conf");

    /* Every env name maps as documented. */
    setenv("HORNET_EXIT_CODE_ON_ERROR", "9", 1);
    setenv("HORNET_WEB_PORT", "1234", 1);
    setenv("HORNET_CSV", "envcsv", 1);
    setenv("HORNET_CSV_FULL_HISTORY", "yes", 1);
    setenv("HORNET_STOP_TIMEOUT", "3s", 1);
    setenv("HORNET_LOGLEVEL", "critical", 1);
    setenv("HORNET_DEMO", "1", 1);
    assert_int_equal(PARSE(f, NULL), 0);
    assert_int_equal(f->o.exit_code_on_error, 9);
    assert_int_equal(f->o.web_port, 1234);
    assert_string_equal(f->o.csv_prefix, "envcsv");
    assert_true(f->o.csv_full_history);
    assert_true(f->o.stop_timeout == 3.0);
    assert_int_equal(f->o.loglevel, HN_CRITICAL);
    assert_true(f->o.demo);
}

static void test_reparse_same_struct(void **state)
{
    struct fixture *f = *state;
    /* Parsing twice into one struct replaces strings without leaking, and
     * getopt's global state is reset between parses. */
    char *argv1[] = {(char *)"hornet", (char *)"--csv", (char *)"a", (char *)"-T",
                     (char *)"t",      (char *)"-u",    (char *)"2", NULL};
    char *argv2[] = {(char *)"hornet", (char *)"--csv", (char *)"b",
                     (char *)"-u",     (char *)"3",     NULL};
    hn_options_cleanup(&f->o);
    hn_options_init(&f->o);
    assert_int_equal(hn_options_parse(&f->o, 7, argv1, f->err, sizeof f->err), 0);
    assert_int_equal(hn_options_parse(&f->o, 5, argv2, f->err, sizeof f->err), 0);
    assert_string_equal(f->o.csv_prefix, "b");
    assert_int_equal(f->o.users, 3);
    assert_list(f->o.tags, (const char *const[]){"t", NULL});
    /* A NULL or zero-size err buffer is tolerated. */
    assert_int_equal(hn_options_parse(&f->o, 5, argv2, NULL, 0), 0);
    char *bad[] = {(char *)"hornet", (char *)"-u", (char *)"x", NULL};
    assert_int_equal(hn_options_parse(&f->o, 3, bad, NULL, 0), -1);
}

struct url_case {
    const char *url;
    int ok;
    const char *why;
};

static void test_host_urls(void **state)
{
    (void)state;
    static const struct url_case cases[] = {
        {"http://127.0.0.1:8080", 1, NULL},
        {"https://example.com", 1, NULL},
        {"HTTP://Example.COM/", 1, NULL},
        {"http://a.b-c_d.example:1/x/y/", 1, NULL},
        {"http://localhost:65535/api/v1;x=1", 1, NULL},
        {"http://[::1]:8080/", 1, NULL},
        {"http://[fe80::1]", 1, NULL},
        {"https://user:p%40ss@host.test/", 1, NULL},
        {"http://h/%7Euser/~x", 1, NULL},
        {"", 0, "empty"},
        {"example.com", 0, "scheme"},
        {"tcp://127.0.0.1:6379", 1, NULL},
        {"ftp://example.com", 0, "scheme"},
        {"http:/example.com", 0, "scheme"},
        {"http://", 0, "host is empty"},
        {"http:///path", 0, "host is empty"},
        {"http://:80", 0, "host is empty"},
        {"http://host:", 0, "port"},
        {"http://host:0", 0, "port"},
        {"http://host:65536", 0, "port"},
        {"http://host:80a", 0, "port"},
        {"http://host:-1", 0, "port"},
        {"http://host:123456789", 0, "port"},
        {"http://ho st", 0, "spaces"},
        {"http://host/a b", 0, "spaces"},
        {"http://host/\x01", 0, "control"},
        {"http://host\t", 0, "control"},
        {"http://h\xc3\xa9", 0, "non-ASCII"},
        {"http://host/?q=1", 0, "query"},
        {"http://host#frag", 0, "fragment"},
        {"http://[::1", 0, "']'"},
        {"http://[]", 0, "empty IPv6"},
        {"http://[::1]x", 0, "after the IPv6"},
        {"http://[zz]", 0, "IPv6"},
        {"http://ho!st", 0, "host name"},
        {"http://host/a<b", 0, "path"},
        {"http://us er@host", 0, "spaces"},
        {"http://u\"@host", 0, "user info"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char err[128] = "";
        int rc = hn_validate_host_url(cases[i].url, err, sizeof err);
        if (cases[i].ok ? rc != 0 : rc != -1) {
            print_error("url '%s': rc %d (%s)\n", cases[i].url, rc, err);
            fail();
        }
        if (!cases[i].ok && !strstr(err, cases[i].why)) {
            print_error("url '%s': reason '%s' lacks '%s'\n", cases[i].url, err, cases[i].why);
            fail();
        }
    }
    assert_int_equal(hn_validate_host_url(NULL, NULL, 0), -1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_defaults, setup, teardown),
        cmocka_unit_test_setup_teardown(test_every_option_long, setup, teardown),
        cmocka_unit_test_setup_teardown(test_every_option_short_and_equals, setup, teardown),
        cmocka_unit_test_setup_teardown(test_flags_with_values, setup, teardown),
        cmocka_unit_test_setup_teardown(test_help_and_version, setup, teardown),
        cmocka_unit_test_setup_teardown(test_usage_text, setup, teardown),
        cmocka_unit_test_setup_teardown(test_bad_values, setup, teardown),
        cmocka_unit_test_setup_teardown(test_argv_errors, setup, teardown),
        cmocka_unit_test_setup_teardown(test_combinations, setup, teardown),
        cmocka_unit_test_setup_teardown(test_timespans, setup, teardown),
        cmocka_unit_test_setup_teardown(test_config_file, setup, teardown),
        cmocka_unit_test_setup_teardown(test_config_errors, setup, teardown),
        cmocka_unit_test_setup_teardown(test_config_selection, setup, teardown),
        cmocka_unit_test_setup_teardown(test_precedence, setup, teardown),
        cmocka_unit_test_setup_teardown(test_reparse_same_struct, setup, teardown),
        cmocka_unit_test_setup_teardown(test_host_urls, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
