/*
 * plugin_host.c: loads a plugin, checks it, runs its init (plugin_host.h).
 *
 * The order follows redis's moduleLoad: open the object, find the one entry
 * symbol, hand-shake on the ABI, validate what the plugin declares, then run
 * its init. Every step that fails unwinds all earlier ones (dlclose, free),
 * so a caller sees a plugin either fully loaded or not at all, plus one line
 * saying why.
 *
 * A ".c" path is first compiled with the system compiler into a cache
 * directory. The cached object is named after a hash of the source bytes,
 * the bundled header and the compiler command, so an unchanged file is
 * compiled once; it is written under a temporary name and renamed into
 * place, so concurrent hornet processes never dlopen a half-written file.
 * Only the .c file itself is hashed: local headers it includes are not.
 */
#include "plugin_host.h"
#include "errbuf.h"
#include "fsutil.h"

#include "log.h"

#include <hornet/hornet.h>

#include <ctype.h>
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <math.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

#ifndef HN_VERSION
#define HN_VERSION "0.0.0"
#endif

/* Bounds that turn a missing array terminator into a message rather than a
 * walk through the plugin's memory. */
#define MAX_USER_TYPES 256
#define MAX_TASKS 4096

/* Stack sizes outside this range are a typo, not a choice (0 = default). */
#define MIN_STACK ((size_t)16 * 1024)
#define MAX_STACK ((size_t)8 * 1024 * 1024)

#define COMPILER_OUTPUT_MAX (64 * 1024)
#define SOURCE_MAX ((size_t)64 * 1024 * 1024)
#define INIT_MSG_MAX 512
#define MAX_CC_WORDS 16
/* Leaves room in a PATH_MAX buffer for the names made inside the cache. */
#define CACHE_PATH_MAX (PATH_MAX - 256)

/* The descriptor must reach at least the end of the last field we read. */
#define END_OF(type, field) (offsetof(type, field) + sizeof(((type *)0)->field))
#define DESC_MIN_SIZE END_OF(struct hn_plugin, fini)

struct hn_loaded_plugin {
    void *handle; /* NULL for a built-in plugin */
    const struct hn_plugin *desc;
    char *path; /* as the user gave it */
};

static const struct hn_host_info host_info = {
    .abi_major = HN_ABI_MAJOR,
    .abi_minor = HN_ABI_MINOR,
    .struct_size = sizeof(struct hn_host_info),
    .version = HN_VERSION,
};

typedef const struct hn_plugin *(*entry_cb)(const struct hn_host_info *host);

static int ends_with(const char *s, const char *suffix)
{
    size_t n = strlen(s), m = strlen(suffix);
    return n >= m && strcmp(s + n - m, suffix) == 0;
}

/* ---------------------------------------------------------------- */
/* Declaration checks                                                */
/* ---------------------------------------------------------------- */

/* Writes why the think time is invalid into why, or returns 0. */
static int check_wait(const struct hn_wait *w, char *why, size_t why_len)
{
    switch (w->kind) {
    case HN_WAIT_NONE:
        return 0;
    case HN_WAIT_BETWEEN:
        if (!isfinite(w->a) || !isfinite(w->b) || w->a < 0 || w->b < 0) {
            snprintf(why, why_len, "think time between(%g, %g) must be finite and >= 0", w->a,
                     w->b);
            return -1;
        }
        if (w->b < w->a) {
            snprintf(why, why_len, "think time between(%g, %g) has its upper bound below its "
                     "lower bound", w->a, w->b);
            return -1;
        }
        return 0;
    case HN_WAIT_CONSTANT:
    case HN_WAIT_CONSTANT_PACING:
        if (!isfinite(w->a) || w->a < 0) {
            snprintf(why, why_len, "think time %s(%g) must be finite and >= 0",
                     w->kind == HN_WAIT_CONSTANT ? "constant" : "constant_pacing", w->a);
            return -1;
        }
        return 0;
    case HN_WAIT_CONSTANT_THROUGHPUT:
        if (!isfinite(w->a) || w->a <= 0) {
            snprintf(why, why_len, "think time constant_throughput(%g) must be > 0 tasks per "
                     "second", w->a);
            return -1;
        }
        return 0;
    case HN_WAIT_CUSTOM:
        if (w->fn == NULL) {
            snprintf(why, why_len, "custom think time has no function");
            return -1;
        }
        return 0;
    }
    snprintf(why, why_len, "unknown think time kind %d", (int)w->kind);
    return -1;
}

static int check_tasks(const struct hn_user_type *t, const char *path, char *err, size_t err_len)
{
    size_t n = 0;
    if (t->tasks != NULL) {
        /* The terminator is {0}; an entry with only one of name/fn is a mistake. */
        for (const struct hn_task *k = t->tasks; k->fn != NULL || k->name != NULL; k++, n++) {
            if (n == MAX_TASKS) {
                hn_set_err(err, err_len, "plugin '%s': user type '%s' has more than %d tasks (is "
                       "its task list terminated by {0}?)", path, t->name, MAX_TASKS);
                return -1;
            }
            if (k->fn == NULL) {
                hn_set_err(err, err_len, "plugin '%s': user type '%s': task '%s' has no function",
                       path, t->name, k->name);
                return -1;
            }
            if (k->name == NULL || k->name[0] == '\0') {
                hn_set_err(err, err_len, "plugin '%s': user type '%s': task #%zu has no name", path,
                       t->name, n + 1);
                return -1;
            }
        }
    }
    if (n == 0) {
        hn_set_err(err, err_len, "plugin '%s': user type '%s' declares no tasks", path, t->name);
        return -1;
    }
    return 0;
}

static int validate(const struct hn_plugin *d, const char *path, char *err, size_t err_len)
{
    const struct hn_user_type *types = d->user_types;
    size_t n = 0;
    int any_users = 0;

    /* The terminator is {0}: a nameless entry that still declares tasks is
     * a user type whose name was forgotten, not the end of the list. */
    for (; types != NULL && (types[n].name != NULL || types[n].tasks != NULL); n++) {
        const struct hn_user_type *t = &types[n];
        if (n == MAX_USER_TYPES) {
            hn_set_err(err, err_len, "plugin '%s': more than %d user types (is the list terminated "
                   "by {0}?)", path, MAX_USER_TYPES);
            return -1;
        }
        if (t->name == NULL || t->name[0] == '\0') {
            hn_set_err(err, err_len, "plugin '%s': user type #%zu has no name", path, n + 1);
            return -1;
        }
        for (size_t i = 0; i < n; i++) {
            if (strcmp(types[i].name, t->name) == 0) {
                hn_set_err(err, err_len, "plugin '%s': user type name '%s' is declared twice", path,
                       t->name);
                return -1;
            }
        }
        if (check_tasks(t, path, err, err_len) != 0)
            return -1;
        char why[160];
        if (check_wait(&t->wait, why, sizeof why) != 0) {
            hn_set_err(err, err_len, "plugin '%s': user type '%s': %s", path, t->name, why);
            return -1;
        }
        if (t->stack_size != 0 && (t->stack_size < MIN_STACK || t->stack_size > MAX_STACK)) {
            hn_set_err(err, err_len, "plugin '%s': user type '%s': stack_size %zu is out of range "
                   "(16 KiB to 8 MiB, or 0 for the default)", path, t->name, t->stack_size);
            return -1;
        }
        for (size_t h = 0; t->headers != NULL && t->headers[h] != NULL; h++) {
            const char *line = t->headers[h], *colon = strchr(line, ':');
            if (h >= 100 || colon == NULL || colon == line ||
                strcspn(line, " \t") < (size_t)(colon - line) || strpbrk(line, "\r\n")) {
                hn_set_err(err, err_len, "plugin '%s': user type '%s': header #%zu '%.60s' is not "
                           "'Name: value' (one line, a name without blanks; at most 100)",
                           path, t->name, h + 1, line);
                return -1;
            }
        }
        if (t->weight > 0 || t->fixed_count > 0)
            any_users = 1;
    }
    if (n == 0) {
        hn_set_err(err, err_len, "plugin '%s' declares no user types", path);
        return -1;
    }
    if (!any_users) {
        hn_set_err(err, err_len, "plugin '%s': every user type has weight 0 and no fixed_count",
               path);
        return -1;
    }
    return 0;
}

/* ---------------------------------------------------------------- */
/* Compiling a .c plugin                                             */
/* ---------------------------------------------------------------- */

/* The cache directory: the argument, else $HORNET_CACHE_DIR, else
 * $XDG_CACHE_HOME/hornet, else ~/.cache/hornet, else /tmp/hornet-cache-UID. */
static int cache_dir_resolve(const char *arg, char *out, size_t out_len, const char *path,
                             char *err, size_t err_len)
{
    const char *env;
    int shared_tmp = 0;
    int n;
    if (arg != NULL && arg[0] != '\0')
        n = snprintf(out, out_len, "%s", arg);
    else if ((env = getenv("HORNET_CACHE_DIR")) != NULL && env[0] != '\0')
        n = snprintf(out, out_len, "%s", env);
    else if ((env = getenv("XDG_CACHE_HOME")) != NULL && env[0] == '/')
        n = snprintf(out, out_len, "%s/hornet", env);
    else if ((env = getenv("HOME")) != NULL && env[0] == '/')
        n = snprintf(out, out_len, "%s/.cache/hornet", env);
    else {
        n = snprintf(out, out_len, "/tmp/hornet-cache-%lu", (unsigned long)getuid());
        shared_tmp = 1;
    }
    if (n < 0 || (size_t)n >= out_len) {
        hn_set_err(err, err_len, "plugin '%s': cache directory path is too long", path);
        return -1;
    }
    while (n > 1 && out[n - 1] == '/')
        out[--n] = '\0';
    if (hn_mkdirs(out, 0700, NULL, 0) != 0) {
        hn_set_err(err, err_len, "plugin '%s': cannot create cache directory '%s': %s", path, out,
               strerror(errno));
        return -1;
    }
    if (shared_tmp) {
        /* /tmp is shared: refuse a directory someone else planted there. */
        struct stat st;
        if (lstat(out, &st) != 0 || !S_ISDIR(st.st_mode) || st.st_uid != getuid()) {
            hn_set_err(err, err_len, "plugin '%s': cache directory '%s' is not a directory owned "
                   "by you; set HORNET_CACHE_DIR", path, out);
            return -1;
        }
    }
    return 0;
}

/* Reads at most max bytes of path into a malloc'ed, NUL-terminated buffer.
 * Returns NULL with errno set (EFBIG when the file is larger than max). */
static char *read_file(const char *path, size_t max, size_t *len_out)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return NULL;
    size_t cap = 4096, len = 0;
    char *buf = malloc(cap + 1);
    while (buf != NULL) {
        if (len == cap) {
            if (cap > max) {
                free(buf);
                buf = NULL;
                errno = EFBIG;
                break;
            }
            char *nb = realloc(buf, cap * 2 + 1);
            if (nb == NULL) {
                free(buf);
                buf = NULL;
                errno = ENOMEM;
                break;
            }
            buf = nb;
            cap *= 2;
        }
        ssize_t r = read(fd, buf + len, cap - len);
        if (r < 0 && errno == EINTR)
            continue;
        if (r < 0) {
            int e = errno;
            free(buf);
            buf = NULL;
            errno = e;
            break;
        }
        if (r == 0)
            break;
        len += (size_t)r;
    }
    int e = errno;
    close(fd);
    errno = e;
    if (buf != NULL && len > max) {
        free(buf);
        errno = EFBIG;
        return NULL;
    }
    if (buf != NULL) {
        buf[len] = '\0';
        *len_out = len;
    }
    return buf;
}

/* Writes content to path through a temporary file and rename, unless the
 * file already holds exactly that content. */
static int write_if_differs(const char *path, const char *content, size_t len)
{
    size_t old_len;
    char *old = read_file(path, len, &old_len);
    if (old != NULL) {
        int same = old_len == len && memcmp(old, content, len) == 0;
        free(old);
        if (same)
            return 0;
    }
    static unsigned counter;
    char tmp[PATH_MAX];
    int n = snprintf(tmp, sizeof tmp, "%s.%ld.%u.tmp", path, (long)getpid(), counter++);
    if (n < 0 || (size_t)n >= sizeof tmp) {
        errno = ENAMETOOLONG;
        return -1;
    }
    int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (fd < 0)
        return -1;
    if (hn_write_all(fd, content, len) != 0 || close(fd) != 0) {
        int e = errno;
        unlink(tmp);
        errno = e;
        return -1;
    }
    if (rename(tmp, path) != 0) {
        int e = errno;
        unlink(tmp);
        errno = e;
        return -1;
    }
    return 0;
}

/* 64-bit FNV-1a: a cache key, not a defence against a hostile author (who
 * controls the source and thus the object anyway). */
static uint64_t fnv1a(uint64_t h, const void *data, size_t len)
{
    const unsigned char *p = data;
    for (size_t i = 0; i < len; i++) {
        h ^= p[i];
        h *= 0x100000001b3ULL;
    }
    return h;
}

/* Runs argv (no shell), capturing stdout and stderr into out (at most
 * out_cap - 1 bytes, NUL-terminated; the rest is drained and dropped).
 * Returns 0 with the wait status in *status, or -1 with errno set (the
 * exec errno when the program could not be started). */
static int run_capture(char *const argv[], char *out, size_t out_cap, int *status)
{
    int outp[2], errp[2];
    if (pipe2(outp, O_CLOEXEC) != 0)
        return -1;
    if (pipe2(errp, O_CLOEXEC) != 0) {
        int e = errno;
        close(outp[0]);
        close(outp[1]);
        errno = e;
        return -1;
    }
    pid_t pid = fork();
    if (pid < 0) {
        int e = errno;
        close(outp[0]);
        close(outp[1]);
        close(errp[0]);
        close(errp[1]);
        errno = e;
        return -1;
    }
    if (pid == 0) {
        /* Only async-signal-safe calls until exec. The compiler should not
         * inherit our blocked signals or an ignored SIGPIPE. */
        sigset_t none;
        sigemptyset(&none);
        sigprocmask(SIG_SETMASK, &none, NULL);
        signal(SIGPIPE, SIG_DFL);
        int devnull = open("/dev/null", O_RDONLY);
        if (devnull >= 0)
            dup2(devnull, STDIN_FILENO);
        dup2(outp[1], STDOUT_FILENO);
        dup2(outp[1], STDERR_FILENO);
        execvp(argv[0], argv);
        int e = errno;
        ssize_t ignored = write(errp[1], &e, sizeof e);
        (void)ignored;
        _exit(127);
    }
    close(outp[1]);
    close(errp[1]);

    size_t len = 0;
    char sink[4096];
    for (;;) {
        char *dst = len + 1 < out_cap ? out + len : sink;
        size_t room = len + 1 < out_cap ? out_cap - 1 - len : sizeof sink;
        ssize_t r = read(outp[0], dst, room);
        if (r < 0 && errno == EINTR)
            continue;
        if (r <= 0)
            break;
        if (dst != sink)
            len += (size_t)r;
    }
    if (out_cap > 0)
        out[len] = '\0';
    close(outp[0]);

    int exec_errno = 0;
    ssize_t r;
    do
        r = read(errp[0], &exec_errno, sizeof exec_errno);
    while (r < 0 && errno == EINTR);
    close(errp[0]);

    int st = 0;
    while (waitpid(pid, &st, 0) < 0) {
        if (errno != EINTR) {
            /* SIGCHLD ignored by someone: the status is gone. */
            st = 0;
            break;
        }
    }
    if (r == (ssize_t)sizeof exec_errno) {
        errno = exec_errno;
        return -1;
    }
    *status = st;
    return 0;
}

/* Logs the compiler's warnings for a successful build, one log line each. */
static void log_warnings(const char *path, const char *output)
{
    int lines = 0;
    for (const char *p = output; *p != '\0' && lines < 40; lines++) {
        const char *nl = strchr(p, '\n');
        int n = nl != NULL ? (int)(nl - p) : (int)strlen(p);
        if (lines == 0)
            hn_logf(HN_WARNING, "plugin '%s': compiler output:", path);
        hn_logf(HN_WARNING, "  %.*s", n, p);
        p += n + (nl != NULL);
    }
}

/* Compiles the .c at path into the cache, or finds it there; writes the
 * object's path into so. */
static int compile_plugin(const char *path, const char *cache_arg, char *so, size_t so_len,
                          char *err, size_t err_len)
{
    char cache[CACHE_PATH_MAX];
    if (cache_dir_resolve(cache_arg, cache, sizeof cache, path, err, err_len) != 0)
        return -1;

    char inc[PATH_MAX], hdr[PATH_MAX];
    snprintf(inc, sizeof inc, "%s/include/hornet", cache);
    int n = snprintf(hdr, sizeof hdr, "%s/hornet.h", inc);
    if (n < 0 || (size_t)n >= sizeof hdr) {
        hn_set_err(err, err_len, "plugin '%s': cache directory path is too long", path);
        return -1;
    }
    size_t hdr_len = strlen(hn_bundled_header);
    if (hn_mkdirs(inc, 0700, NULL, 0) != 0 ||
        write_if_differs(hdr, hn_bundled_header, hdr_len) != 0) {
        hn_set_err(err, err_len, "plugin '%s': cannot write '%s': %s", path, hdr, strerror(errno));
        return -1;
    }
    inc[strlen(inc) - strlen("/hornet")] = '\0'; /* -I<cache>/include */

    size_t src_len = 0;
    char *src = read_file(path, SOURCE_MAX, &src_len);
    if (src == NULL) {
        hn_set_err(err, err_len, "plugin '%s': cannot read: %s", path,
               errno == EFBIG ? "file too large" : strerror(errno));
        return -1;
    }

    /* $CC may carry words ("ccache gcc"); split on blanks, no quoting. */
    const char *cc_env = getenv("CC");
    char cc_buf[512];
    snprintf(cc_buf, sizeof cc_buf, "%s", cc_env != NULL && cc_env[0] != '\0' ? cc_env : "cc");
    char *argv[MAX_CC_WORDS + 20];
    int argc = 0;
    for (char *save = NULL, *w = strtok_r(cc_buf, " \t", &save); w != NULL && argc < MAX_CC_WORDS;
         w = strtok_r(NULL, " \t", &save))
        argv[argc++] = w;
    if (argc == 0)
        argv[argc++] = (char *)"cc";
    static const char *const flags[] = {"-std=gnu11", "-O2",   "-g",
                                        "-shared",    "-fPIC", "-fvisibility=hidden",
                                        "-Wall",      "-Wl,-z,defs"};
    for (size_t i = 0; i < sizeof flags / sizeof flags[0]; i++)
        argv[argc++] = (char *)flags[i];

    /* Key: source, header and the command minus its per-run paths. */
    static const char key_version[] = "hornet-plugin-cache-1";
    uint64_t h = fnv1a(0xcbf29ce484222325ULL, key_version, sizeof key_version);
    h = fnv1a(h, src, src_len + 1);
    h = fnv1a(h, hn_bundled_header, hdr_len + 1);
    for (int i = 0; i < argc; i++)
        h = fnv1a(h, argv[i], strlen(argv[i]) + 1);
    h = fnv1a(h, "-lm", 4);
    free(src);

    const char *base = strrchr(path, '/');
    base = base != NULL ? base + 1 : path;
    int stem = (int)(strlen(base) - 2);
    if (stem > 100)
        stem = 100;
    n = snprintf(so, so_len, "%s/%.*s-%016llx.so", cache, stem, base, (unsigned long long)h);
    if (n < 0 || (size_t)n >= so_len) {
        hn_set_err(err, err_len, "plugin '%s': cache directory path is too long", path);
        return -1;
    }
    if (access(so, R_OK) == 0) {
        hn_logf(HN_DEBUG, "plugin '%s': using cached %s", path, so);
        return 0;
    }

    static unsigned counter;
    char tmp[PATH_MAX], iflag[PATH_MAX + 2], srcarg[PATH_MAX + 2];
    snprintf(tmp, sizeof tmp, "%s/.tmp-%ld-%u-%016llx.so", cache, (long)getpid(), counter++,
             (unsigned long long)h);
    snprintf(iflag, sizeof iflag, "-I%s", inc);
    /* A leading '-' would read as an option. */
    snprintf(srcarg, sizeof srcarg, "%s%s", path[0] == '-' ? "./" : "", path);
    const char *cc_name = argv[0];
    argv[argc++] = iflag;
    argv[argc++] = (char *)"-o";
    argv[argc++] = tmp;
    argv[argc++] = srcarg;
    argv[argc++] = (char *)"-lm"; /* libm is everywhere; -z defs would reject pow() without it */
    argv[argc] = NULL;

    hn_logf(HN_INFO, "plugin '%s': compiling with %s", path, cc_name);
    char *output = malloc(COMPILER_OUTPUT_MAX);
    if (output == NULL) {
        hn_set_err(err, err_len, "plugin '%s': out of memory", path);
        return -1;
    }
    int status = 0;
    if (run_capture(argv, output, COMPILER_OUTPUT_MAX, &status) != 0) {
        hn_set_err(err, err_len, "plugin '%s': cannot run the C compiler '%s': %s (install one, "
               "e.g. gcc, or set CC)", path, cc_name, strerror(errno));
        free(output);
        unlink(tmp);
        return -1;
    }
    if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
        char how[64];
        if (WIFSIGNALED(status))
            snprintf(how, sizeof how, "killed by signal %d", WTERMSIG(status));
        else
            snprintf(how, sizeof how, "exit %d", WEXITSTATUS(status));
        hn_set_err(err, err_len, "plugin '%s': compilation failed (%s %s):\n%s", path, cc_name, how,
               output);
        free(output);
        unlink(tmp);
        return -1;
    }
    if (rename(tmp, so) != 0) {
        int e = errno;
        hn_set_err(err, err_len, "plugin '%s': compiler produced no usable output '%s': %s", path,
               tmp, strerror(e));
        free(output);
        unlink(tmp);
        return -1;
    }
    log_warnings(path, output);
    free(output);
    return 0;
}

/* ---------------------------------------------------------------- */
/* Loading                                                           */
/* ---------------------------------------------------------------- */

/* Frees a plugin that did not load; returns -1 for the caller's return. */
static int discard(struct hn_loaded_plugin *p)
{
    if (p->handle != NULL)
        dlclose(p->handle);
    free(p->path);
    free(p);
    return -1;
}

/* Handshake, declaration checks and init: everything after the entry
 * function is found. On success sets p->desc. */
static int start_plugin(struct hn_loaded_plugin *p, entry_cb entry, char *err, size_t err_len)
{
    const char *path = p->path;
    const struct hn_plugin *d = entry(&host_info);
    if (d == NULL) {
        hn_set_err(err, err_len, "plugin '%s' refused hornet's ABI %d.%d", path, HN_ABI_MAJOR,
               HN_ABI_MINOR);
        return -1;
    }
    if (d->abi_major != HN_ABI_MAJOR) {
        hn_set_err(err, err_len, "plugin '%s' was built for ABI %u.x, hornet provides %d.%d: rebuild "
               "it against this hornet.h", path, (unsigned)d->abi_major, HN_ABI_MAJOR,
               HN_ABI_MINOR);
        return -1;
    }
    if (d->abi_minor > HN_ABI_MINOR) {
        hn_set_err(err, err_len, "plugin '%s' was built for ABI %u.%u, newer than this hornet's "
                   "%d.%d: upgrade hornet, or build it against this hornet.h", path,
                   (unsigned)d->abi_major, (unsigned)d->abi_minor, HN_ABI_MAJOR, HN_ABI_MINOR);
        return -1;
    }
    if (d->struct_size < DESC_MIN_SIZE) {
        hn_set_err(err, err_len, "plugin '%s': descriptor struct_size %u is smaller than the %zu "
               "bytes ABI %d.%d requires", path, (unsigned)d->struct_size, DESC_MIN_SIZE,
               HN_ABI_MAJOR, HN_ABI_MINOR);
        return -1;
    }
    if (validate(d, path, err, err_len) != 0)
        return -1;

    if (d->init != NULL) {
        char why[INIT_MSG_MAX] = "";
        int rc = d->init(why, sizeof why);
        why[sizeof why - 1] = '\0';
        /* One line: the first one, without trailing blanks. */
        why[strcspn(why, "\r\n")] = '\0';
        size_t wl = strlen(why);
        while (wl > 0 && (why[wl - 1] == ' ' || why[wl - 1] == '\t'))
            why[--wl] = '\0';
        if (rc != 0) {
            if (why[0] != '\0')
                hn_set_err(err, err_len, "plugin '%s': init failed: %s", path, why);
            else
                hn_set_err(err, err_len, "plugin '%s': init failed (returned %d)", path, rc);
            return -1;
        }
    }
    p->desc = d;
    hn_logf(HN_DEBUG, "plugin '%s' loaded (%s)", path, d->name != NULL ? d->name : "unnamed");
    return 0;
}

/* dlopen hands back the object already loaded from a path (the reload of
 * an unchanged .c, or of a .so rebuilt in place) instead of the file there
 * now, and a second init would share the first one's globals. So a path
 * that is loaded already is loaded again through a private copy, unlinked
 * once mapped. Returns the handle, or NULL with err set. */
static void *open_fresh(const char *so, const char *path, const char *cache_dir, char *err,
                        size_t err_len)
{
    void *again = dlopen(so, RTLD_NOW | RTLD_LOCAL | RTLD_NOLOAD);
    if (again == NULL)
        return dlopen(so, RTLD_NOW | RTLD_LOCAL);
    dlclose(again);
    static _Atomic unsigned copies;
    char dir[PATH_MAX], copy[PATH_MAX + 128];
    if (cache_dir_resolve(cache_dir, dir, sizeof dir - 16, path, err, err_len) != 0)
        return NULL;
    strcat(dir, "/loaded");
    const char *base = strrchr(so, '/');
    snprintf(copy, sizeof copy, "%s/%ld-%u-%.64s", dir, (long)getpid(), copies++,
             base ? base + 1 : so);
    size_t len = 0;
    char *bytes = read_file(so, (size_t)1 << 30, &len);
    int fd = bytes && hn_mkdirs(dir, 0700, NULL, 0) == 0
                 ? open(copy, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0700)
                 : -1;
    int rc = fd < 0 ? -1 : hn_write_all(fd, bytes, len);
    if (fd >= 0 && close(fd) != 0)
        rc = -1;
    free(bytes);
    if (rc != 0) {
        hn_set_err(err, err_len, "plugin '%s': cannot copy it to '%s' to load it again: %s",
                   path, copy, strerror(errno));
        unlink(copy);
        return NULL;
    }
    void *h = dlopen(copy, RTLD_NOW | RTLD_LOCAL);
    unlink(copy);
    return h;
}

int hn_plugin_load(const char *path, const char *cache_dir, struct hn_loaded_plugin **out,
                   char *err, size_t err_len)
{
    if (err != NULL && err_len > 0)
        err[0] = '\0';
    if (out == NULL) {
        hn_set_err(err, err_len, "plugin: no output pointer");
        return -1;
    }
    *out = NULL;
    if (path == NULL || path[0] == '\0') {
        hn_set_err(err, err_len, "plugin: no path given");
        return -1;
    }

    struct stat st;
    if (stat(path, &st) != 0) {
        if (errno == ENOENT || errno == ENOTDIR)
            hn_set_err(err, err_len, "plugin '%s': no such file", path);
        else
            hn_set_err(err, err_len, "plugin '%s': %s", path, strerror(errno));
        return -1;
    }
    if (S_ISDIR(st.st_mode)) {
        hn_set_err(err, err_len, "plugin '%s': is a directory", path);
        return -1;
    }
    if (!S_ISREG(st.st_mode)) {
        hn_set_err(err, err_len, "plugin '%s': not a regular file", path);
        return -1;
    }

    char so[PATH_MAX + 2];
    if (ends_with(path, ".c")) {
        if (compile_plugin(path, cache_dir, so, sizeof so, err, err_len) != 0)
            return -1;
    } else {
        /* Without a '/', dlopen searches the library path instead of ".". */
        int n = snprintf(so, sizeof so, "%s%s", strchr(path, '/') == NULL ? "./" : "", path);
        if (n < 0 || (size_t)n >= sizeof so) {
            hn_set_err(err, err_len, "plugin '%s': path too long", path);
            return -1;
        }
    }

    struct hn_loaded_plugin *p = calloc(1, sizeof *p);
    if (p == NULL || (p->path = strdup(path)) == NULL) {
        hn_set_err(err, err_len, "plugin '%s': out of memory", path);
        free(p);
        return -1;
    }

    dlerror();
    p->handle = open_fresh(so, path, cache_dir, err, err_len);
    if (p->handle == NULL && err != NULL && err[0] != '\0')
        return discard(p);
    if (p->handle == NULL) {
        const char *why = dlerror();
        hn_set_err(err, err_len, "plugin '%s': not a loadable shared object: %s", path,
               why != NULL ? why : "unknown error");
        return discard(p);
    }
    void *sym = dlsym(p->handle, HN_PLUGIN_ENTRY_NAME);
    if (sym == NULL) {
        hn_set_err(err, err_len, "plugin '%s': no entry symbol %s (declare it with HN_PLUGIN(...))",
               path, HN_PLUGIN_ENTRY_NAME);
        return discard(p);
    }
    entry_cb entry;
    memcpy(&entry, &sym, sizeof entry); /* POSIX: object pointer to function pointer */
    if (start_plugin(p, entry, err, err_len) != 0)
        return discard(p);
    *out = p;
    return 0;
}

int hn_plugin_load_builtin(entry_cb entry, const char *label, struct hn_loaded_plugin **out,
                           char *err, size_t err_len)
{
    if (err != NULL && err_len > 0)
        err[0] = '\0';
    if (out == NULL) {
        hn_set_err(err, err_len, "plugin: no output pointer");
        return -1;
    }
    *out = NULL;
    if (entry == NULL) {
        hn_set_err(err, err_len, "plugin: no entry function given");
        return -1;
    }
    struct hn_loaded_plugin *p = calloc(1, sizeof *p);
    if (p == NULL || (p->path = strdup(label != NULL ? label : "built-in")) == NULL) {
        hn_set_err(err, err_len, "plugin '%s': out of memory", label != NULL ? label : "built-in");
        free(p);
        return -1;
    }
    if (start_plugin(p, entry, err, err_len) != 0)
        return discard(p);
    *out = p;
    return 0;
}

const struct hn_plugin *hn_plugin_descriptor(const struct hn_loaded_plugin *p)
{
    return p != NULL ? p->desc : NULL;
}

const char *hn_plugin_path(const struct hn_loaded_plugin *p)
{
    return p != NULL ? p->path : NULL;
}

void hn_plugin_unload(struct hn_loaded_plugin *p)
{
    if (p == NULL)
        return;
    /* Only loaded plugins exist, and those passed init: fini is owed. */
    if (p->desc->fini != NULL)
        p->desc->fini();
    if (p->handle != NULL)
        dlclose(p->handle);
    free(p->path);
    free(p);
}

int hn_plugin_load_bytes(const char *name, const char *tag, const void *data, size_t len,
                         struct hn_loaded_plugin **out, char *err, size_t err_len)
{
    *out = NULL;
    size_t nl = strlen(name);
    bool plain = nl > 0 && nl < 128 && name[0] != '.';
    for (size_t i = 0; plain && i < nl; i++)
        plain = isalnum((unsigned char)name[i]) || strchr("._-", name[i]) != NULL;
    if (!plain || !(ends_with(name, ".c") || ends_with(name, ".so"))) {
        hn_set_err(err, err_len, "plugin '%.128s' from the master: not a plain .c or .so file name",
               name);
        return -1;
    }
    char dir[PATH_MAX], path[PATH_MAX + 256];
    if (cache_dir_resolve(NULL, dir, sizeof dir - 16, name, err, err_len) != 0)
        return -1;
    strcat(dir, "/shipped");
    if (hn_mkdirs(dir, 0700, NULL, 0) != 0) {
        hn_set_err(err, err_len, "plugin '%s': cannot create '%s': %s", name, dir, strerror(errno));
        return -1;
    }
    snprintf(path, sizeof path, "%s/%.16s-%s", dir, tag, name);
    /* Written under a temporary name and renamed: a concurrent worker
     * never loads half a file. */
    char tmp[sizeof path + 32];
    snprintf(tmp, sizeof tmp, "%s.%ld.tmp", path, (long)getpid());
    int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    int rc = fd < 0 ? -1 : hn_write_all(fd, data, len);
    if (fd >= 0 && close(fd) != 0)
        rc = -1;
    if (rc == 0 && rename(tmp, path) != 0)
        rc = -1;
    if (rc != 0) {
        hn_set_err(err, err_len, "plugin '%s': cannot write '%s': %s", name, tmp, strerror(errno));
        if (fd >= 0)
            unlink(tmp);
        return -1;
    }
    return hn_plugin_load(path, NULL, out, err, err_len);
}
