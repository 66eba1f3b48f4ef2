/*
 * cli.c: options from argv, hornet.conf / --config and HORNET_* variables.
 *
 * One table describes every option. The three sources only differ in how
 * they find (name, value) pairs and how an error names the source; every
 * value then goes through the same setter, so "-u ten", "users = ten" and
 * HORNET_USERS=ten are checked by the same code and fail the same way.
 */
#include "cli.h"
#include "compare.h"
#include "runner.h"
#include "threshold.h"

#include <ctype.h>
#include <errno.h>
#include <getopt.h>
#include <math.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include "log.h"

#define MAX_USERS 1000000u
#define MAX_THREADS 1024
#define DEFAULT_CONF "hornet.conf"
#define SHOWN_MAX 60 /* longest value echoed back in a message */

/* Sources, in increasing priority. */
enum layer { L_NONE, L_CONF, L_ENV, L_ARGV };

/* How an option takes its value: A_BOOL is a flag on argv ("--headless",
 * or "--headless=false") and true/false elsewhere. */
enum argkind { A_VALUE, A_BOOL, A_NONE };

/* Which sources may set an option. */
enum { W_ARGV = 1, W_CONF = 2, W_ENV = 4, W_ALL = 7 };

enum group { G_COMMON, G_WEB, G_STATS, G_OUTPUT, G_RUN, G_DIST, G_LOG, G_OTHER, G_COUNT };

struct pstate;

struct opt {
    const char *name; /* long option, config key, and (upper-cased) env suffix */
    char short_name;  /* 0 if none */
    enum argkind arg;
    unsigned where;
    enum group group;
    int (*set)(struct pstate *ps, const char *v);
    const char *metavar;
    const char *help;
};

struct pstate {
    struct hn_options *o;
    char *err;
    size_t err_len;
    enum layer layer;
    const char *label; /* how messages name the option being set */
    /* Layer that last set each list option, so a higher source replaces the
     * list while repeats within one source append to it. */
    enum layer tags_layer, exclude_layer, thresholds_layer, feeds_layer, params_layer;
    enum layer webhooks_layer, slack_webhooks_layer;
    /* Per option: where its current value came from, for conflict messages. */
    char (*origin)[96];
};

/* ---------------------------------------------------------------------- */
/* Messages                                                                */

static void fail(struct pstate *ps, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void fail(struct pstate *ps, const char *fmt, ...)
{
    if (!ps->err || ps->err_len == 0)
        return;
    int n = snprintf(ps->err, ps->err_len, "hornet: ");
    if (n < 0 || (size_t)n >= ps->err_len)
        return;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(ps->err + n, ps->err_len - (size_t)n, fmt, ap);
    va_end(ap);
}

/* Copies v for echoing in a one-line message: control characters become
 * '?', and long values are cut with "...". */
static const char *shown(const char *v, char *buf, size_t len)
{
    size_t i = 0, j = 0;
    for (; v[i] && j + 4 < len && i < SHOWN_MAX; i++)
        buf[j++] = ((unsigned char)v[i] < 0x20 || v[i] == 0x7f) ? '?' : v[i];
    if (v[i]) {
        memcpy(buf + j, "...", 3);
        j += 3;
    }
    buf[j] = '\0';
    return buf;
}

/* "hornet: <label> expects <what>, got '<v>'" */
static int bad(struct pstate *ps, const char *what, const char *v)
{
    char b[SHOWN_MAX + 8];
    fail(ps, "%s expects %s, got '%s'", ps->label, what, shown(v ? v : "", b, sizeof b));
    return -1;
}

static int oom(struct pstate *ps)
{
    fail(ps, "out of memory while reading options");
    return -1;
}

/* ---------------------------------------------------------------------- */
/* Value syntax                                                            */

/* A whole number in [min, max], digits only. */
static int parse_uint(const char *v, uint64_t min, uint64_t max, uint64_t *out)
{
    if (!v || !*v)
        return -1;
    uint64_t n = 0;
    for (const char *s = v; *s; s++) {
        if (*s < '0' || *s > '9')
            return -1;
        unsigned d = (unsigned)(*s - '0');
        if (n > (UINT64_MAX - d) / 10)
            return -1;
        n = n * 10 + d;
    }
    if (n < min || n > max)
        return -1;
    *out = n;
    return 0;
}

static int parse_bool(const char *v, bool *out)
{
    static const char *const yes[] = {"true", "1", "yes"}, *const no[] = {"false", "0", "no"};
    for (size_t i = 0; i < 3; i++) {
        if (strcasecmp(v, yes[i]) == 0) {
            *out = true;
            return 0;
        }
        if (strcasecmp(v, no[i]) == 0) {
            *out = false;
            return 0;
        }
    }
    return -1;
}

static bool is_unreserved_or_sub(char c)
{
    return isalnum((unsigned char)c) || (c && strchr("-._~!$&'()*+,;=", c));
}

int hn_validate_host_url(const char *s, char *err, size_t err_len)
{
#define REJECT(...)                                                                                \
    do {                                                                                           \
        if (err && err_len)                                                                        \
            snprintf(err, err_len, __VA_ARGS__);                                                   \
        return -1;                                                                                 \
    } while (0)
    if (!s || !*s)
        REJECT("empty URL");
    for (const char *c = s; *c; c++) {
        unsigned char u = (unsigned char)*c;
        if (u <= 0x20 || u == 0x7f)
            REJECT("spaces and control characters are not allowed");
        if (u >= 0x80)
            REJECT("non-ASCII characters must be percent-encoded");
    }
    /* http:// and https:// for HTTP users; tcp, udp, ws and wss are passed
     * through for plugins that speak their own protocol (hn_host()). */
    static const char *const schemes[] = {"http://", "https://", "tcp://", "udp://",
                                          "ws://",   "wss://",   NULL};
    const char *p = NULL;
    for (const char *const *sc = schemes; *sc && p == NULL; sc++)
        if (strncasecmp(s, *sc, strlen(*sc)) == 0)
            p = s + strlen(*sc);
    if (p == NULL)
        REJECT("the scheme must be http:// or https:// (or tcp://, udp://, ws://, wss:// for "
               "custom-protocol plugins)");

    /* Authority ends at the path. */
    const char *auth_end = p + strcspn(p, "/?#");
    const char *at = NULL;
    for (const char *c = p; c < auth_end; c++)
        if (*c == '@')
            at = c;
    if (at) {
        for (const char *c = p; c < at; c++)
            if (!is_unreserved_or_sub(*c) && *c != ':' && *c != '%')
                REJECT("invalid character '%c' in the user info", *c);
        p = at + 1;
    }

    const char *host_end;
    if (*p == '[') {
        host_end = memchr(p, ']', (size_t)(auth_end - p));
        if (!host_end)
            REJECT("missing ']' after the IPv6 address");
        if (host_end == p + 1)
            REJECT("empty IPv6 address");
        for (const char *c = p + 1; c < host_end; c++)
            if (!isxdigit((unsigned char)*c) && *c != ':' && *c != '.')
                REJECT("invalid character '%c' in the IPv6 address", *c);
        host_end++;
        if (host_end < auth_end && *host_end != ':')
            REJECT("unexpected text after the IPv6 address");
    } else {
        host_end = p;
        while (host_end < auth_end && *host_end != ':')
            host_end++;
        if (host_end == p)
            REJECT("the host is empty");
        for (const char *c = p; c < host_end; c++)
            if (!isalnum((unsigned char)*c) && *c != '-' && *c != '.' && *c != '_')
                REJECT("invalid character '%c' in the host name", *c);
    }

    if (host_end < auth_end) {
        /* host_end points at ':' */
        uint64_t port;
        size_t n = (size_t)(auth_end - host_end - 1);
        char buf[8];
        if (n == 0 || n >= sizeof buf)
            REJECT("the port must be a number from 1 to 65535");
        memcpy(buf, host_end + 1, n);
        buf[n] = '\0';
        if (parse_uint(buf, 1, 65535, &port) < 0)
            REJECT("the port must be a number from 1 to 65535");
    }

    for (const char *c = auth_end; *c; c++) {
        if (*c == '?' || *c == '#')
            REJECT("a base URL cannot have a query or fragment");
        if (!is_unreserved_or_sub(*c) && !strchr("/:@%", *c))
            REJECT("invalid character '%c' in the path", *c);
    }
    return 0;
#undef REJECT
}

/* ---------------------------------------------------------------------- */
/* Setters: one per option; v is the raw text (NULL only for a bare flag). */

static int set_str(struct pstate *ps, char **dst, const char *v, const char *what)
{
    if (!v || !*v)
        return bad(ps, what, v);
    char *copy = strdup(v);
    if (!copy)
        return oom(ps);
    free(*dst);
    *dst = copy;
    return 0;
}

static int set_flag(struct pstate *ps, bool *dst, const char *v)
{
    if (!v) {
        *dst = true;
        return 0;
    }
    if (parse_bool(v, dst) < 0)
        return bad(ps, "true/false/1/0/yes/no", v);
    return 0;
}

static int set_timespan(struct pstate *ps, double *dst, const char *v)
{
    if (hn_parse_timespan(v, dst) < 0)
        return bad(ps, "a timespan like 90, 30s, 5m or 1h30m", v);
    return 0;
}

static int set_plugin(struct pstate *ps, const char *v)
{
    struct stat st;
    char b[SHOWN_MAX + 8];
    if (!v || !*v)
        return bad(ps, "a plugin file (.so or .c)", v);
    if (stat(v, &st) < 0 || access(v, R_OK) < 0) {
        fail(ps, "%s expects a readable plugin file (.so or .c), got '%s' (%s)", ps->label,
             shown(v, b, sizeof b), strerror(errno));
        return -1;
    }
    if (!S_ISREG(st.st_mode)) {
        fail(ps, "%s expects a plugin file (.so or .c), got '%s' (not a regular file)", ps->label,
             shown(v, b, sizeof b));
        return -1;
    }
    return set_str(ps, &ps->o->plugin, v, "a plugin file");
}

static int set_host(struct pstate *ps, const char *v)
{
    char why[128], b[SHOWN_MAX + 8];
    if (hn_validate_host_url(v, why, sizeof why) < 0) {
        fail(ps, "%s expects a base URL like http://host[:port][/path], got '%s' (%s)", ps->label,
             shown(v, b, sizeof b), why);
        return -1;
    }
    return set_str(ps, &ps->o->host, v, "a base URL");
}

static int set_users(struct pstate *ps, const char *v)
{
    uint64_t n;
    if (parse_uint(v, 0, MAX_USERS, &n) < 0)
        return bad(ps, "a whole number from 0 to 1000000", v);
    ps->o->users = (uint32_t)n;
    return 0;
}

static int set_spawn_rate(struct pstate *ps, const char *v)
{
    const char *p = v;
    double r;
    if (hn_scan_decimal(&p, &r) < 0 || *p || !(r > 0) || !isfinite(r))
        return bad(ps, "a number of users per second > 0 (e.g. 10 or 0.5)", v);
    ps->o->spawn_rate = r;
    return 0;
}

static int set_run_time(struct pstate *ps, const char *v)
{
    return set_timespan(ps, &ps->o->run_time, v);
}

static int set_arrival_rate(struct pstate *ps, const char *v)
{
    const char *p = v;
    double r;
    if (hn_scan_decimal(&p, &r) < 0 || *p || !(r > 0) || r > 1e6)
        return bad(ps, "iterations per second > 0 (e.g. 50 or 0.5), at most 1000000", v);
    ps->o->arrival_rate = r;
    return 0;
}

static int set_find_capacity(struct pstate *ps, const char *v)
{
    return set_flag(ps, &ps->o->find_capacity, v);
}

static int set_capacity_step(struct pstate *ps, const char *v)
{
    const char *p = v;
    double n;
    if (hn_scan_decimal(&p, &n) < 0 || *p || !(n > 0) || n > 1e6)
        return bad(ps, "the load each step adds: users, or iterations/s with --arrival-rate (> 0)",
                   v);
    ps->o->capacity_step = n;
    return 0;
}

static int set_capacity_hold(struct pstate *ps, const char *v)
{
    if (set_timespan(ps, &ps->o->capacity_hold, v) != 0)
        return -1;
    if (!(ps->o->capacity_hold > 0))
        return bad(ps, "a time > 0 like 10s", v);
    return 0;
}

static int set_stages(struct pstate *ps, const char *v)
{
    struct hn_stage st[HN_MAX_STAGES];
    char why[256], b[SHOWN_MAX + 8];
    if (hn_stages_parse(v, st, HN_MAX_STAGES, MAX_USERS, why, sizeof why) < 0) {
        fail(ps, "%s '%s': %s", ps->label, shown(v, b, sizeof b), why);
        return -1;
    }
    return set_str(ps, &ps->o->stages, v, "a load profile");
}

static int set_headless(struct pstate *ps, const char *v)
{
    return set_flag(ps, &ps->o->headless, v);
}

static int set_autostart(struct pstate *ps, const char *v)
{
    return set_flag(ps, &ps->o->autostart, v);
}

static int set_autoquit(struct pstate *ps, const char *v)
{
    if (strcmp(v, "-1") == 0) {
        ps->o->autoquit = -1;
        return 0;
    }
    if (hn_parse_timespan(v, &ps->o->autoquit) < 0)
        return bad(ps, "seconds or a timespan like 5m (-1 = never quit)", v);
    return 0;
}

static int set_web_host(struct pstate *ps, const char *v)
{
    for (const char *c = v; *c; c++)
        if ((unsigned char)*c <= 0x20 || *c == 0x7f || *c == '/')
            return bad(ps, "an address to listen on like 127.0.0.1 or 0.0.0.0", v);
    return set_str(ps, &ps->o->web_host, v, "an address to listen on like 127.0.0.1 or 0.0.0.0");
}

/* USER:PASSWORD, never echoed back: messages name the problem only. */
static int set_web_auth(struct pstate *ps, const char *v)
{
    const char *colon = v ? strchr(v, ':') : NULL;
    if (colon == NULL || colon == v || colon[1] == '\0') {
        fail(ps, "%s expects USER:PASSWORD (both non-empty; the value is not shown)", ps->label);
        return -1;
    }
    for (const char *c = v; *c; c++)
        if ((unsigned char)*c < 0x20 || *c == 0x7f) {
            fail(ps, "%s: USER:PASSWORD may not hold control characters", ps->label);
            return -1;
        }
    return set_str(ps, &ps->o->web_auth, v, "USER:PASSWORD");
}

/* The first line of FILE is USER:PASSWORD: kept out of ps and shell history. */
static int set_web_auth_file(struct pstate *ps, const char *v)
{
    FILE *f = v && *v ? fopen(v, "r") : NULL;
    if (f == NULL) {
        char b[SHOWN_MAX + 8];
        fail(ps, "%s cannot read '%s': %s", ps->label, shown(v ? v : "", b, sizeof b),
             v && *v ? strerror(errno) : "no file named");
        return -1;
    }
    char line[1024];
    bool got = fgets(line, sizeof line, f) != NULL;
    fclose(f);
    line[got ? strcspn(line, "\r\n") : 0] = '\0';
    int rc = set_web_auth(ps, line);
    explicit_bzero(line, sizeof line);
    return rc;
}

static int set_tls_cert(struct pstate *ps, const char *v)
{
    return set_str(ps, &ps->o->tls_cert, v, "a PEM certificate file");
}

static int set_tls_key(struct pstate *ps, const char *v)
{
    return set_str(ps, &ps->o->tls_key, v, "a PEM private key file");
}

/* Never echoed back either. */
static int set_cluster_key(struct pstate *ps, const char *v)
{
    if (v == NULL || strlen(v) < 8) {
        fail(ps, "%s expects a secret of 8 characters or more (the value is not shown)",
             ps->label);
        return -1;
    }
    return set_str(ps, &ps->o->cluster_key, v, "a secret");
}

static int set_web_port(struct pstate *ps, const char *v)
{
    uint64_t n;
    if (parse_uint(v, 0, 65535, &n) < 0)
        return bad(ps, "a port from 0 to 65535 (0 = any free port)", v);
    ps->o->web_port = (uint16_t)n;
    return 0;
}

static int set_web_root(struct pstate *ps, const char *v)
{
    struct stat st;
    char b[SHOWN_MAX + 8];
    if (!*v)
        return bad(ps, "an existing directory", v);
    if (stat(v, &st) < 0) {
        fail(ps, "%s expects an existing directory, got '%s' (%s)", ps->label,
             shown(v, b, sizeof b), strerror(errno));
        return -1;
    }
    if (!S_ISDIR(st.st_mode)) {
        fail(ps, "%s expects an existing directory, got '%s' (not a directory)", ps->label,
             shown(v, b, sizeof b));
        return -1;
    }
    return set_str(ps, &ps->o->web_root, v, "an existing directory");
}

static int set_csv(struct pstate *ps, const char *v)
{
    return set_str(ps, &ps->o->csv_prefix, v, "a file name prefix like out/run");
}

static int set_csv_full_history(struct pstate *ps, const char *v)
{
    return set_flag(ps, &ps->o->csv_full_history, v);
}

static int set_html(struct pstate *ps, const char *v)
{
    return set_str(ps, &ps->o->html_path, v, "a file name for the HTML report");
}

static int set_json(struct pstate *ps, const char *v)
{
    return set_str(ps, &ps->o->json_path, v, "a file name for the JSON report");
}

static int set_threads(struct pstate *ps, const char *v)
{
    uint64_t n;
    if (parse_uint(v, 1, MAX_THREADS, &n) < 0)
        return bad(ps, "a whole number from 1 to 1024", v);
    ps->o->threads = (int)n;
    return 0;
}

static int set_seed(struct pstate *ps, const char *v)
{
    if (parse_uint(v, 0, UINT64_MAX, &ps->o->seed) < 0)
        return bad(ps, "a whole number from 0 to 18446744073709551615", v);
    ps->o->seed_set = true;
    return 0;
}

static int set_stop_timeout(struct pstate *ps, const char *v)
{
    return set_timespan(ps, &ps->o->stop_timeout, v);
}

static int set_max_body(struct pstate *ps, const char *v)
{
    if (hn_parse_size(v, &ps->o->max_body) < 0 || ps->o->max_body == 0)
        return bad(ps, "a size above 0 like 65536, 512KiB or 1MiB", v);
    return 0;
}

static int set_insecure(struct pstate *ps, const char *v)
{
    return set_flag(ps, &ps->o->insecure, v);
}

static int set_ca_cert(struct pstate *ps, const char *v)
{
    return set_str(ps, &ps->o->ca_cert, v, "a PEM file of CA certificates");
}

static int set_client_cert(struct pstate *ps, const char *v)
{
    return set_str(ps, &ps->o->client_cert, v, "a PEM certificate file");
}

static int set_client_key(struct pstate *ps, const char *v)
{
    return set_str(ps, &ps->o->client_key, v, "a PEM private key file");
}

static int set_source_ips(struct pstate *ps, const char *v)
{
    return set_str(ps, &ps->o->source_ips, v, "local IP addresses like 127.0.0.2,127.0.0.3");
}

static int set_http_client(struct pstate *ps, const char *v)
{
    int c = hn_http_client_parse(v);
    if (c < 0)
        return bad(ps, "fast or curl", v);
    ps->o->http_client = c;
    return 0;
}

/* A phase timeout: above 0 (0 would mean the default, a surprise). */
static int set_phase_timeout(struct pstate *ps, double *dst, const char *v)
{
    double t;
    if (hn_parse_timespan(v, &t) < 0 || !(t > 0))
        return bad(ps, "a timespan above 0 like 0.5, 10s or 1m", v);
    *dst = t;
    return 0;
}

static int set_connect_timeout(struct pstate *ps, const char *v)
{
    return set_phase_timeout(ps, &ps->o->connect_timeout, v);
}

static int set_response_timeout(struct pstate *ps, const char *v)
{
    return set_phase_timeout(ps, &ps->o->response_timeout, v);
}

static int set_idle_timeout(struct pstate *ps, const char *v)
{
    return set_phase_timeout(ps, &ps->o->idle_timeout, v);
}

static int set_exit_code(struct pstate *ps, const char *v)
{
    uint64_t n;
    if (parse_uint(v, 0, 255, &n) < 0)
        return bad(ps, "a whole number from 0 to 255", v);
    ps->o->exit_code_on_error = (int)n;
    return 0;
}

static void free_list(char **l)
{
    for (size_t i = 0; l && l[i]; i++)
        free(l[i]);
    free(l);
}

/* Appends the items of "a, b", "[a, 'b']" or "[]" (clears) to *list,
 * replacing it first if it was set by a lower source. */
static int set_list(struct pstate *ps, char ***list, enum layer *set_by, const char *v,
                    const char *what)
{
    if (*set_by != ps->layer) {
        free_list(*list);
        *list = NULL;
        *set_by = ps->layer;
    }
    size_t len = strlen(v);
    while (len && isspace((unsigned char)v[len - 1]))
        len--;
    while (len && isspace((unsigned char)*v)) {
        v++;
        len--;
    }
    if (len && *v == '[') {
        if (len < 2 || v[len - 1] != ']')
            return bad(ps, "a list like [a, b]", v);
        v++;
        len -= 2;
        size_t k = 0;
        while (k < len && isspace((unsigned char)v[k]))
            k++;
        if (k == len) {
            /* "[]": no tags, whatever was set before */
            free_list(*list);
            *list = NULL;
            return 0;
        }
    }
    if (len == 0)
        return bad(ps, what, v);

    size_t count = 0;
    while (*list && (*list)[count])
        count++;
    const char *end = v + len, *p = v;
    while (p <= end) {
        /* One item: up to the next comma outside quotes. */
        while (p < end && isspace((unsigned char)*p))
            p++;
        const char *s = p, *e;
        char q = 0;
        if (p < end && (*p == '"' || *p == '\'')) {
            q = *p;
            s = ++p;
            while (p < end && *p != q)
                p++;
            if (p == end)
                return bad(ps, "a list with matching quotes", v);
            e = p++;
            while (p < end && isspace((unsigned char)*p))
                p++;
            if (p < end && *p != ',')
                return bad(ps, "a list with nothing between a closing quote and ','", v);
        } else {
            while (p < end && *p != ',')
                p++;
            e = p;
            while (e > s && isspace((unsigned char)e[-1]))
                e--;
        }
        if (e == s)
            return bad(ps, what, v);
        for (const char *c = s; c < e; c++)
            if ((unsigned char)*c < 0x20 || *c == 0x7f)
                return bad(ps, what, v);
        char **grown = realloc(*list, (count + 2) * sizeof *grown);
        if (!grown)
            return oom(ps);
        *list = grown;
        grown[count] = strndup(s, (size_t)(e - s));
        grown[count + 1] = NULL;
        if (!grown[count])
            return oom(ps);
        count++;
        p++; /* past ',' (or past end, which ends the loop) */
    }
    return 0;
}

static int set_tags(struct pstate *ps, const char *v)
{
    return set_list(ps, &ps->o->tags, &ps->tags_layer, v, "comma-separated tag names like a,b");
}

static int set_exclude_tags(struct pstate *ps, const char *v)
{
    return set_list(ps, &ps->o->exclude_tags, &ps->exclude_layer, v,
                    "comma-separated tag names like a,b");
}

/* On the command line each occurrence is one item, whole (request names
 * hold commas and brackets); a config file or variable lists them. */
static int set_item_or_list(struct pstate *ps, char ***list, enum layer *set_by, const char *v,
                            const char *what)
{
    if (ps->layer != L_ARGV)
        return set_list(ps, list, set_by, v, what);
    if (*set_by != ps->layer) {
        free_list(*list);
        *list = NULL;
        *set_by = ps->layer;
    }
    size_t count = 0;
    while (*list && (*list)[count])
        count++;
    char **grown = realloc(*list, (count + 2) * sizeof *grown);
    if (!grown)
        return oom(ps);
    *list = grown;
    grown[count + 1] = NULL;
    if (!(grown[count] = strdup(v)))
        return oom(ps);
    return 0;
}

/* Each expression is checked as it comes, so the message names it. */
static int set_threshold(struct pstate *ps, const char *v)
{
    size_t before = 0;
    while (ps->thresholds_layer == ps->layer && ps->o->thresholds && ps->o->thresholds[before])
        before++;
    if (set_item_or_list(ps, &ps->o->thresholds, &ps->thresholds_layer, v,
                         "thresholds like p95<300ms, separated by commas") < 0)
        return -1;
    for (size_t i = before; ps->o->thresholds && ps->o->thresholds[i]; i++) {
        struct hn_threshold t;
        char why[256], b[SHOWN_MAX + 8];
        if (hn_threshold_parse(ps->o->thresholds[i], &t, why, sizeof why) < 0) {
            fail(ps, "%s '%s': %s", ps->label, shown(ps->o->thresholds[i], b, sizeof b), why);
            return -1;
        }
        hn_threshold_free(&t);
    }
    return 0;
}

/* NAME=PATH; the name is checked against the plugin's feeders once it is
 * loaded, the file when it is read. */
static int set_param(struct pstate *ps, const char *v)
{
    size_t before = 0;
    while (ps->params_layer == ps->layer && ps->o->params && ps->o->params[before])
        before++;
    if (set_item_or_list(ps, &ps->o->params, &ps->params_layer, v,
                         "NAME=VALUE (a parameter of the plugin)") < 0)
        return -1;
    for (size_t i = before; ps->o->params && ps->o->params[i]; i++) {
        const char *eq = strchr(ps->o->params[i], '=');
        if (eq == NULL || eq == ps->o->params[i])
            return bad(ps, "NAME=VALUE (a parameter of the plugin)", ps->o->params[i]);
    }
    return 0;
}

static int set_feed(struct pstate *ps, const char *v)
{
    size_t before = 0;
    while (ps->feeds_layer == ps->layer && ps->o->feeds && ps->o->feeds[before])
        before++;
    if (set_item_or_list(ps, &ps->o->feeds, &ps->feeds_layer, v,
                         "NAME=PATH (a feeder and its CSV file)") < 0)
        return -1;
    for (size_t i = before; ps->o->feeds && ps->o->feeds[i]; i++) {
        const char *eq = strchr(ps->o->feeds[i], '=');
        if (eq == NULL || eq == ps->o->feeds[i] || eq[1] == '\0')
            return bad(ps, "NAME=PATH (a feeder and its CSV file)", ps->o->feeds[i]);
    }
    return 0;
}

static int set_baseline(struct pstate *ps, const char *v)
{
    return set_str(ps, &ps->o->baseline, v, "a JSON result file (hornet --json FILE)");
}

static int set_tolerance(struct pstate *ps, const char *v)
{
    if (hn_parse_tolerance(v, &ps->o->tolerance) != 0)
        return bad(ps, "a percentage like 10% (or a fraction like 0.1), up to 1000%", v);
    return 0;
}

static int set_junit(struct pstate *ps, const char *v)
{
    return set_str(ps, &ps->o->junit_path, v, "a file name for the JUnit XML report");
}

static int set_only_summary(struct pstate *ps, const char *v)
{
    return set_flag(ps, &ps->o->only_summary, v);
}

static int set_loglevel(struct pstate *ps, const char *v)
{
    int l = hn_loglevel_parse(v);
    if (l < 0)
        return bad(ps, "debug, info, warning, error or critical", v);
    ps->o->loglevel = l;
    return 0;
}

static int set_master(struct pstate *ps, const char *v)
{
    return set_flag(ps, &ps->o->master, v);
}

static int set_worker(struct pstate *ps, const char *v)
{
    return set_flag(ps, &ps->o->worker, v);
}

/* A host name or address (IPv6 without brackets): no spaces, no URL parts. */
static int set_address(struct pstate *ps, char **dst, const char *v, const char *what)
{
    if (!*v || strlen(v) > 253)
        return bad(ps, what, v);
    for (const char *c = v; *c; c++)
        if ((unsigned char)*c <= 0x20 || *c == 0x7f || strchr("/[]@?#", *c))
            return bad(ps, what, v);
    return set_str(ps, dst, v, what);
}

static int set_master_host(struct pstate *ps, const char *v)
{
    return set_address(ps, &ps->o->master_host, v, "a host name or address like 127.0.0.1");
}

static int set_master_bind_host(struct pstate *ps, const char *v)
{
    return set_address(ps, &ps->o->master_bind_host, v,
                       "an address to listen on like 127.0.0.1 or 0.0.0.0");
}

static int set_port(struct pstate *ps, uint16_t *dst, const char *v, uint64_t min)
{
    uint64_t n;
    if (parse_uint(v, min, 65535, &n) < 0)
        return bad(ps, min ? "a port from 1 to 65535" : "a port from 0 to 65535 (0 = any free port)",
                   v);
    *dst = (uint16_t)n;
    return 0;
}

static int set_master_port(struct pstate *ps, const char *v)
{
    return set_port(ps, &ps->o->master_port, v, 1);
}

static int set_master_bind_port(struct pstate *ps, const char *v)
{
    ps->o->master_bind_port_set = true;
    return set_port(ps, &ps->o->master_bind_port, v, 0);
}

static int set_expect_workers(struct pstate *ps, const char *v)
{
    uint64_t n;
    if (parse_uint(v, 1, 10000, &n) < 0)
        return bad(ps, "a whole number from 1 to 10000", v);
    ps->o->expect_workers = (int)n;
    return 0;
}

static int set_expect_workers_max_wait(struct pstate *ps, const char *v)
{
    return set_timespan(ps, &ps->o->expect_workers_max_wait, v);
}

static int set_processes(struct pstate *ps, const char *v)
{
    uint64_t n;
    if (parse_uint(v, 1, HN_MAX_PROCESSES, &n) < 0)
        return bad(ps, "a whole number from 1 to 256", v);
    ps->o->processes = (int)n;
    return 0;
}

static int set_config(struct pstate *ps, const char *v)
{
    return set_str(ps, &ps->o->config_path, v, "a config file");
}

static int set_demo(struct pstate *ps, const char *v)
{
    return set_flag(ps, &ps->o->demo, v);
}

static int set_help(struct pstate *ps, const char *v)
{
    ps->o->show_help = true;
    return 0;
}

static int set_version(struct pstate *ps, const char *v)
{
    ps->o->show_version = true;
    return 0;
}

/* "5ms", "0.5s", "1m" or "2" (seconds): a bound of /metrics' histogram. */
static int parse_bound(const char *s, double *out)
{
    size_t n = strlen(s);
    if (n > 2 && strcmp(s + n - 2, "ms") == 0) {
        const char *p = s;
        double ms;
        if (hn_scan_decimal(&p, &ms) < 0 || p != s + n - 2)
            return -1;
        *out = ms / 1000.0;
    } else if (hn_parse_timespan(s, out) < 0) {
        return -1;
    }
    return *out > 0 ? 0 : -1;
}

static int set_metrics_buckets(struct pstate *ps, const char *v)
{
    static const char what[] = "ascending times like 5ms,50ms,0.5s,2s (at most 32)";
    char *copy = v && *v ? strdup(v) : NULL;
    if (copy == NULL)
        return v && *v ? oom(ps) : bad(ps, what, v);
    size_t n = 0;
    int rc = 0;
    char *save = NULL;
    for (char *tok = strtok_r(copy, ",", &save); tok && rc == 0;
         tok = strtok_r(NULL, ",", &save)) {
        double b;
        if (n == HN_LE_MAX || parse_bound(tok, &b) < 0 || (n > 0 && b <= ps->o->metrics_le[n - 1]))
            rc = -1;
        else
            ps->o->metrics_le[n++] = b;
    }
    free(copy);
    if (rc < 0 || n == 0 || v[strlen(v) - 1] == ',') {
        ps->o->n_metrics_le = 0;
        return bad(ps, what, v);
    }
    ps->o->n_metrics_le = n;
    return 0;
}

/* Where an output sends: an http:// or https:// URL. */
static int set_output_url(struct pstate *ps, const char *v, char **dst, char ***list,
                          enum layer *set_by)
{
    char why[160], b[SHOWN_MAX + 8];
    if (v == NULL || (strncasecmp(v, "http://", 7) != 0 && strncasecmp(v, "https://", 8) != 0))
        snprintf(why, sizeof why, "the scheme must be http:// or https://");
    else if (hn_validate_host_url(v, why, sizeof why) == 0)
        return dst ? set_str(ps, dst, v, "a URL")
                   : set_item_or_list(ps, list, set_by, v, "URLs separated by commas");
    fail(ps, "%s expects a URL like http://host:port/path, got '%s' (%s)", ps->label,
         shown(v ? v : "", b, sizeof b), why);
    return -1;
}

static int set_influxdb(struct pstate *ps, const char *v)
{
    return set_output_url(ps, v, &ps->o->influxdb, NULL, NULL);
}

static int set_influxdb_db(struct pstate *ps, const char *v)
{
    return set_str(ps, &ps->o->influxdb_db, v, "a database name");
}

static int set_influxdb_user(struct pstate *ps, const char *v)
{
    return set_str(ps, &ps->o->influxdb_user, v, "a user name");
}

/* Secrets are never echoed back. */
static int set_secret(struct pstate *ps, char **dst, const char *v)
{
    if (v == NULL || *v == '\0') {
        fail(ps, "%s expects a value (the value is not shown)", ps->label);
        return -1;
    }
    return set_str(ps, dst, v, "a secret");
}

static int set_influxdb_password(struct pstate *ps, const char *v)
{
    return set_secret(ps, &ps->o->influxdb_password, v);
}

static int set_influxdb_token(struct pstate *ps, const char *v)
{
    return set_secret(ps, &ps->o->influxdb_token, v);
}

static int set_webhook(struct pstate *ps, const char *v)
{
    return set_output_url(ps, v, NULL, &ps->o->webhooks, &ps->webhooks_layer);
}

static int set_slack_webhook(struct pstate *ps, const char *v)
{
    return set_output_url(ps, v, NULL, &ps->o->slack_webhooks, &ps->slack_webhooks_layer);
}

static int set_output_timeout(struct pstate *ps, const char *v)
{
    double t;
    if (v == NULL || hn_parse_timespan(v, &t) < 0 || t < 0.1 || t > 300)
        return bad(ps, "a timespan from 0.1s to 5m", v);
    ps->o->output_timeout = t;
    return 0;
}

/* The table. Order is --help order within each group. */
static const struct opt opts[] = {
    {"plugin", 'f', A_VALUE, W_ALL, G_COMMON, set_plugin, "PATH",
     "plugin to run: a .so, or a .c file compiled on the fly"},
    {"host", 'H', A_VALUE, W_ALL, G_COMMON, set_host, "URL",
     "base URL of the system under test, e.g. http://127.0.0.1:8080"},
    {"users", 'u', A_VALUE, W_ALL, G_COMMON, set_users, "N",
     "peak number of concurrent users, 0..1000000 (default 1)"},
    {"spawn-rate", 'r', A_VALUE, W_ALL, G_COMMON, set_spawn_rate, "N",
     "users started per second, fractions allowed (default 1)"},
    {"run-time", 't', A_VALUE, W_ALL, G_COMMON, set_run_time, "SPAN",
     "stop after this long: 90, 30s, 5m, 1h30m (default: until stopped)"},
    {"arrival-rate", 0, A_VALUE, W_ALL, G_COMMON, set_arrival_rate, "R",
     "open model: R iterations/s; -u caps the user pool; --stages: rates"},
    {"stages", 0, A_VALUE, W_ALL, G_COMMON, set_stages, "SPEC",
     "load profile: ramp to N users over each span (30s:100,2m:100,30s:0)"},
    {"find-capacity", 0, A_BOOL, W_ALL, G_RUN, set_find_capacity, NULL,
     "raise the load in steps until one breaks a --threshold (capacity)"},
    {"capacity-step", 0, A_VALUE, W_ALL, G_RUN, set_capacity_step, "N",
     "--find-capacity: load added per step (default: the first load)"},
    {"capacity-hold", 0, A_VALUE, W_ALL, G_RUN, set_capacity_hold, "SPAN",
     "--find-capacity: how long each step is held and judged (default 10s)"},
    {"config", 0, A_VALUE, W_ARGV, G_COMMON, set_config, "FILE",
     "read options from FILE instead of ./hornet.conf"},
    {"demo", 0, A_BOOL, W_ALL, G_COMMON, set_demo, NULL,
     "start the built-in demo target (and plugin, if no -f is given)"},
    {"web-auth", 0, A_VALUE, W_ALL, G_WEB, set_web_auth, "USER:PASS",
     "require HTTP Basic auth for the page, API and live push"},
    {"web-auth-file", 0, A_VALUE, W_ALL, G_WEB, set_web_auth_file, "FILE",
     "as --web-auth, read from FILE's first line (kept out of ps)"},
    {"tls-cert", 0, A_VALUE, W_ALL, G_WEB, set_tls_cert, "FILE",
     "serve the web UI over HTTPS with this PEM certificate (chain)"},
    {"tls-key", 0, A_VALUE, W_ALL, G_WEB, set_tls_key, "FILE", "... and this PEM private key"},
    {"web-host", 0, A_VALUE, W_ALL, G_WEB, set_web_host, "ADDR",
     "address the web UI listens on (default 127.0.0.1)"},
    {"web-port", 'P', A_VALUE, W_ALL, G_WEB, set_web_port, "PORT",
     "port of the web UI; 0 picks a free one (default 8089)"},
    {"web-root", 0, A_VALUE, W_ALL, G_WEB, set_web_root, "DIR",
     "serve the web UI files from DIR instead of the built-in copy"},
    {"headless", 0, A_BOOL, W_ALL, G_WEB, set_headless, NULL,
     "no web UI: start the run at once and quit when it ends"},
    {"autostart", 0, A_BOOL, W_ALL, G_WEB, set_autostart, NULL,
     "start the run at once and keep the web UI up"},
    {"autoquit", 0, A_VALUE, W_ALL, G_WEB, set_autoquit, "SEC",
     "with --autostart: quit SEC after the run ends (default -1: never)"},
    {"csv", 0, A_VALUE, W_ALL, G_STATS, set_csv, "PREFIX",
     "write stats, history, failures and exceptions to PREFIX_*.csv"},
    {"csv-full-history", 0, A_BOOL, W_ALL, G_STATS, set_csv_full_history, NULL,
     "add every endpoint's rows to _stats_history.csv (needs --csv)"},
    {"html", 0, A_VALUE, W_ALL, G_STATS, set_html, "FILE",
     "write a self-contained HTML report to FILE at the end"},
    {"json", 0, A_VALUE, W_ALL, G_STATS, set_json, "FILE", "write the final stats as JSON to FILE"},
    {"junit", 0, A_VALUE, W_ALL, G_STATS, set_junit, "FILE",
     "write the thresholds and failing endpoints as JUnit XML to FILE"},
    {"baseline", 0, A_VALUE, W_ALL, G_STATS, set_baseline, "FILE",
     "compare the run with this JSON result in the summary and reports"},
    {"tolerance", 0, A_VALUE, W_ALL, G_STATS, set_tolerance, "PCT",
     "with --baseline: changes within PCT are the same (default 10%)"},
    {"only-summary", 0, A_BOOL, W_ALL, G_STATS, set_only_summary, NULL,
     "headless: print only the final table, not one every few seconds"},
    {"metrics-buckets", 0, A_VALUE, W_ALL, G_OUTPUT, set_metrics_buckets, "LIST",
     "bucket bounds of /metrics' response times (default 1ms..60s)"},
    {"influxdb", 0, A_VALUE, W_ALL, G_OUTPUT, set_influxdb, "URL",
     "push each endpoint's numbers every second to InfluxDB at URL"},
    {"influxdb-db", 0, A_VALUE, W_ALL, G_OUTPUT, set_influxdb_db, "NAME",
     "the InfluxDB database (1.x) or bucket (2.x) (default hornet)"},
    {"influxdb-user", 0, A_VALUE, W_ALL, G_OUTPUT, set_influxdb_user, "USER",
     "InfluxDB user (with --influxdb-password or HORNET_INFLUXDB_PASSWORD)"},
    {"influxdb-password", 0, A_VALUE, W_ALL, G_OUTPUT, set_influxdb_password, "PASS",
     "its password"},
    {"influxdb-token", 0, A_VALUE, W_ALL, G_OUTPUT, set_influxdb_token, "TOKEN",
     "InfluxDB 2.x API token (or HORNET_INFLUXDB_TOKEN)"},
    {"webhook", 0, A_VALUE, W_ALL, G_OUTPUT, set_webhook, "URL",
     "POST JSON at start, at stop and when a threshold breaks (repeatable)"},
    {"slack-webhook", 0, A_VALUE, W_ALL, G_OUTPUT, set_slack_webhook, "URL",
     "the same as Slack messages, to an incoming-webhook URL (repeatable)"},
    {"output-timeout", 0, A_VALUE, W_ALL, G_OUTPUT, set_output_timeout, "SPAN",
     "each push's time limit; also the most the end waits (default 5s)"},
    {"threads", 0, A_VALUE, W_ALL, G_RUN, set_threads, "N",
     "worker threads, 1..1024 (default: one per CPU)"},
    {"seed", 0, A_VALUE, W_ALL, G_RUN, set_seed, "N",
     "seed for the users' random numbers, for repeatable runs"},
    {"stop-timeout", 's', A_VALUE, W_ALL, G_RUN, set_stop_timeout, "SPAN",
     "time users get to finish in-flight requests on stop (default 10s)"},
    {"http-client", 0, A_VALUE, W_ALL, G_RUN, set_http_client, "fast|curl",
     "HTTP client of every user type (default: curl, or fast per type)"},
    {"connect-timeout", 0, A_VALUE, W_ALL, G_RUN, set_connect_timeout, "SPAN",
     "a request fails when it cannot connect within SPAN (default 10s)"},
    {"response-timeout", 0, A_VALUE, W_ALL, G_RUN, set_response_timeout, "SPAN",
     "... when the response's head is not in within SPAN (default 10s)"},
    {"idle-timeout", 0, A_VALUE, W_ALL, G_RUN, set_idle_timeout, "SPAN",
     "... when its body stalls for SPAN (default 10s)"},
    {"max-body", 0, A_VALUE, W_ALL, G_RUN, set_max_body, "SIZE",
     "body bytes kept per response for the plugin (default 1MiB)"},
    {"insecure", 'k', A_BOOL, W_ALL, G_RUN, set_insecure, NULL,
     "do not verify the target's TLS certificate or host name"},
    {"ca-cert", 0, A_VALUE, W_ALL, G_RUN, set_ca_cert, "FILE",
     "trust the CA certificates in FILE (PEM) instead of the system's"},
    {"client-cert", 0, A_VALUE, W_ALL, G_RUN, set_client_cert, "FILE",
     "present this TLS client certificate (PEM; may hold the key too)"},
    {"client-key", 0, A_VALUE, W_ALL, G_RUN, set_client_key, "FILE",
     "the client certificate's private key (PEM)"},
    {"source-ips", 0, A_VALUE, W_ALL, G_RUN, set_source_ips, "A,B",
     "connect from these local addresses, a user each in turn"},
    {"exit-code-on-error", 0, A_VALUE, W_ALL, G_RUN, set_exit_code, "N",
     "exit code when any request failed, 0..255 (default 1)"},
    {"tags", 'T', A_VALUE, W_ALL, G_RUN, set_tags, "A,B",
     "run only tasks with one of these tags (repeatable)"},
    {"exclude-tags", 'E', A_VALUE, W_ALL, G_RUN, set_exclude_tags, "A,B",
     "skip tasks with any of these tags (repeatable)"},
    {"param", 0, A_VALUE, W_ALL, G_RUN, set_param, "NAME=VALUE",
     "set the plugin's parameter NAME for the run (repeatable)"},
    {"feed", 0, A_VALUE, W_ALL, G_RUN, set_feed, "NAME=PATH",
     "read the plugin's feeder NAME from this CSV file (repeatable)"},
    {"threshold", 0, A_VALUE, W_ALL, G_RUN, set_threshold, "EXPR",
     "exit 3 unless EXPR holds at the end, e.g. p95<300ms (repeatable)"},
    {"master", 0, A_BOOL, W_ALL, G_DIST, set_master, NULL,
     "run as the master: web UI and statistics; workers run the users"},
    {"master-bind-host", 0, A_VALUE, W_ALL, G_DIST, set_master_bind_host, "ADDR",
     "address the master listens on for workers (default 127.0.0.1)"},
    {"master-bind-port", 0, A_VALUE, W_ALL, G_DIST, set_master_bind_port, "PORT",
     "port the master listens on for workers (default 5557)"},
    {"cluster-key", 0, A_VALUE, W_ALL, G_DIST, set_cluster_key, "SECRET",
     "encrypt master-worker traffic (CURVE); admit only workers with it"},
    {"expect-workers", 0, A_VALUE, W_ALL, G_DIST, set_expect_workers, "N",
     "headless master: wait for N workers before starting (default 1)"},
    {"expect-workers-max-wait", 0, A_VALUE, W_ALL, G_DIST, set_expect_workers_max_wait, "SPAN",
     "give up waiting for workers after this long (default: wait forever)"},
    {"worker", 0, A_BOOL, W_ALL, G_DIST, set_worker, NULL,
     "run users for the master at --master-host (no -f: run the master's)"},
    {"master-host", 0, A_VALUE, W_ALL, G_DIST, set_master_host, "HOST",
     "worker: the master's host name or address (default 127.0.0.1)"},
    {"master-port", 0, A_VALUE, W_ALL, G_DIST, set_master_port, "PORT",
     "worker: the master's port (default 5557)"},
    {"processes", 0, A_VALUE, W_ALL, G_DIST, set_processes, "N",
     "start N local worker processes (implies --master unless --worker)"},
    {"loglevel", 'L', A_VALUE, W_ALL, G_LOG, set_loglevel, "LEVEL",
     "debug, info, warning, error or critical (default info)"},
    {"version", 'V', A_NONE, W_ARGV, G_OTHER, set_version, NULL, "print the version and exit"},
    {"help", 'h', A_NONE, W_ARGV, G_OTHER, set_help, NULL, "print this help and exit"},
};
#define NOPTS (sizeof opts / sizeof opts[0])

static int find_opt(const char *name, size_t len)
{
    for (size_t i = 0; i < NOPTS; i++)
        if (strlen(opts[i].name) == len && strncmp(opts[i].name, name, len) == 0)
            return (int)i;
    return -1;
}

static int find_short(int c)
{
    for (size_t i = 0; i < NOPTS; i++)
        if (c != 0 && opts[i].short_name == c)
            return (int)i;
    return -1;
}

/* "-u/--users" or "--web-host". */
static const char *argv_label(int i, char *buf, size_t len)
{
    if (opts[i].short_name)
        snprintf(buf, len, "-%c/--%s", opts[i].short_name, opts[i].name);
    else
        snprintf(buf, len, "--%s", opts[i].name);
    return buf;
}

/* Levenshtein distance, capped for long strings (they get no suggestion). */
static size_t edit_distance(const char *a, const char *b)
{
    size_t la = strlen(a), lb = strlen(b);
    if (la > 63 || lb > 63)
        return 99;
    size_t row[64];
    for (size_t j = 0; j <= lb; j++)
        row[j] = j;
    for (size_t i = 1; i <= la; i++) {
        size_t diag = row[0];
        row[0] = i;
        for (size_t j = 1; j <= lb; j++) {
            size_t up = row[j];
            size_t best = diag + (a[i - 1] != b[j - 1]);
            if (up + 1 < best)
                best = up + 1;
            if (row[j - 1] + 1 < best)
                best = row[j - 1] + 1;
            row[j] = best;
            diag = up;
        }
    }
    return row[lb];
}

/* The closest option name usable from `where` at distance <= 2, or NULL. */
static const char *suggest(const char *name, unsigned where)
{
    const char *best = NULL;
    size_t best_d = 3;
    for (size_t i = 0; i < NOPTS; i++) {
        if (!(opts[i].where & where))
            continue;
        size_t d = edit_distance(name, opts[i].name);
        if (d < best_d) {
            best_d = d;
            best = opts[i].name;
        }
    }
    return best;
}

static int apply(struct pstate *ps, int idx, const char *v, const char *label)
{
    ps->label = label;
    if (opts[idx].arg == A_VALUE && !v)
        return bad(ps, "a value", v);
    if (opts[idx].set(ps, v) < 0)
        return -1;
    snprintf(ps->origin[idx], sizeof ps->origin[idx], "%.*s", (int)sizeof ps->origin[idx] - 1,
             label);
    return 0;
}

/* ---------------------------------------------------------------------- */
/* Sources                                                                 */

struct given {
    int idx;
    const char *value;
};

/* Reports getopt_long's '?' for a long option: unknown or ambiguous. */
static void unknown_long(struct pstate *ps, const char *arg)
{
    char name[80], b[SHOWN_MAX + 8];
    const char *s = arg + 2;
    size_t n = strcspn(s, "=");
    snprintf(name, sizeof name, "%.*s", (int)(n < 79 ? n : 79), s);

    char cands[256] = "";
    int matches = 0;
    for (size_t i = 0; i < NOPTS && n > 0; i++) {
        if (strncmp(opts[i].name, name, n) == 0) {
            size_t used = strlen(cands);
            snprintf(cands + used, sizeof cands - used, "%s--%s", matches ? ", " : "",
                     opts[i].name);
            matches++;
        }
    }
    if (matches > 1) {
        fail(ps, "ambiguous option '--%s' (could be %s)", shown(name, b, sizeof b), cands);
        return;
    }
    const char *sug = suggest(name, W_ARGV);
    if (sug)
        fail(ps, "unknown option '--%s', did you mean '--%s'? (see --help)",
             shown(name, b, sizeof b), sug);
    else
        fail(ps, "unknown option '--%s' (see --help)", shown(name, b, sizeof b));
}

/* Tokenises argv into (option, value) pairs without applying anything, so
 * --config and --help are known before any other source is read. */
static int scan_argv(struct pstate *ps, int argc, char **argv, struct given *out, size_t *n)
{
    struct option lo[NOPTS + 1];
    char shorts[2 * NOPTS + 2];
    size_t k = 0;
    shorts[k++] = ':'; /* report a missing value as ':' */
    for (size_t i = 0; i < NOPTS; i++) {
        lo[i].name = opts[i].name;
        lo[i].has_arg = opts[i].arg == A_VALUE  ? required_argument
                        : opts[i].arg == A_BOOL ? optional_argument
                                                : no_argument;
        lo[i].flag = NULL;
        lo[i].val = 256 + (int)i;
        if (opts[i].short_name) {
            shorts[k++] = opts[i].short_name;
            if (opts[i].arg == A_VALUE)
                shorts[k++] = ':';
        }
    }
    memset(&lo[NOPTS], 0, sizeof lo[NOPTS]);
    shorts[k] = '\0';

    char lb[64], b[SHOWN_MAX + 8];
    *n = 0;
    opterr = 0;
    optind = 0; /* GNU: full re-initialisation, so repeated parses work */
    int c;
    while ((c = getopt_long(argc, argv, shorts, lo, NULL)) != -1) {
        if (c == '?') {
            int i = optopt >= 256 ? optopt - 256 : -1;
            if (i >= 0)
                fail(ps, "%s takes no value", argv_label(i, lb, sizeof lb));
            else if (optopt)
                fail(ps, "unknown option '-%c' (see --help)", isprint(optopt) ? optopt : '?');
            else if (optind > 0 && optind <= argc && strncmp(argv[optind - 1], "--", 2) == 0)
                unknown_long(ps, argv[optind - 1]);
            else
                fail(ps, "unknown option (see --help)");
            return -1;
        }
        if (c == ':') {
            int i = optopt >= 256 ? optopt - 256 : find_short(optopt);
            if (i < 0)
                fail(ps, "an option needs a value");
            else
                fail(ps, "%s needs a value", argv_label(i, lb, sizeof lb));
            return -1;
        }
        int i = c >= 256 ? c - 256 : find_short(c);
        if (i < 0) {
            fail(ps, "unknown option (see --help)");
            return -1;
        }
        out[*n].idx = i;
        out[*n].value = optarg;
        (*n)++;
    }
    if (optind < argc) {
        fail(ps, "unexpected argument '%s' (options start with - or --; see --help)",
             shown(argv[optind], b, sizeof b));
        return -1;
    }
    return 0;
}

/* Finds the end of a config value: a '#' after whitespace outside quotes
 * starts a comment. Quotes count only where a value or list item starts. */
static char *strip_comment(char *v)
{
    char q = 0, prev_sig = ',';
    for (char *c = v; *c; c++) {
        if (q) {
            if (*c == q)
                prev_sig = q, q = 0;
            continue;
        }
        if ((*c == '"' || *c == '\'') && (prev_sig == ',' || prev_sig == '[')) {
            q = *c;
            continue;
        }
        if (*c == '#' && (c == v || isspace((unsigned char)c[-1]))) {
            *c = '\0';
            break;
        }
        if (!isspace((unsigned char)*c))
            prev_sig = *c;
    }
    return v;
}

static char *trim(char *s)
{
    while (isspace((unsigned char)*s))
        s++;
    size_t n = strlen(s);
    while (n && isspace((unsigned char)s[n - 1]))
        s[--n] = '\0';
    return s;
}

/* One `key = value` line; line is modified. */
static int config_line(struct pstate *ps, const char *path, unsigned lineno, char *line)
{
    char b[SHOWN_MAX + 8], label[160];
    char *s = trim(line);
    if (*s == '\0' || *s == '#')
        return 0;
    char *eq = strchr(s, '=');
    if (!eq) {
        const char *sug = suggest(s, W_CONF);
        fail(ps, "%s:%u: expected 'key = value', got '%s'%s", path, lineno, shown(s, b, sizeof b),
             sug && opts[find_opt(sug, strlen(sug))].arg == A_BOOL ? " (flags take '= true')" : "");
        return -1;
    }
    *eq = '\0';
    char *key = trim(s);
    char *value = trim(strip_comment(eq + 1));
    if (*key == '\0') {
        fail(ps, "%s:%u: expected 'key = value', the key is missing", path, lineno);
        return -1;
    }
    int idx = find_opt(key, strlen(key));
    if (idx >= 0 && !(opts[idx].where & W_CONF)) {
        fail(ps, "%s:%u: '%s' can only be given on the command line", path, lineno, key);
        return -1;
    }
    if (idx < 0) {
        const char *sug = suggest(key, W_CONF);
        if (sug)
            fail(ps, "%s:%u: unknown option '%s' (did you mean '%s'?)", path, lineno,
                 shown(key, b, sizeof b), sug);
        else
            fail(ps, "%s:%u: unknown option '%s' (see hornet --help)", path, lineno,
                 shown(key, b, sizeof b));
        return -1;
    }
    snprintf(label, sizeof label, "%s:%u: %s", path, lineno, key);
    /* Lists unquote their own items; other values may be quoted whole. */
    bool is_list = opts[idx].set == set_tags || opts[idx].set == set_exclude_tags ||
                   opts[idx].set == set_threshold || opts[idx].set == set_feed ||
                   opts[idx].set == set_param;
    if (!is_list && (*value == '"' || *value == '\'')) {
        char *close = strchr(value + 1, *value);
        if (!close) {
            fail(ps, "%s: missing closing quote", label);
            return -1;
        }
        if (close[1] != '\0') {
            fail(ps, "%s: unexpected text after the closing quote", label);
            return -1;
        }
        *close = '\0';
        value++;
    }
    return apply(ps, idx, value, label);
}

static int load_config(struct pstate *ps, const char *path)
{
    char b[SHOWN_MAX + 8];
    FILE *f = fopen(path, "r");
    if (!f) {
        fail(ps, "--config expects a readable file, got '%s' (%s)", shown(path, b, sizeof b),
             strerror(errno));
        return -1;
    }
    char *line = NULL;
    size_t cap = 0;
    unsigned lineno = 0;
    int rc = 0;
    ssize_t len;
    errno = 0;
    while (rc == 0 && (len = getline(&line, &cap, f)) >= 0) {
        lineno++;
        if ((size_t)len != strlen(line)) {
            fail(ps, "%s:%u: unexpected NUL byte (is this a text file?)", path, lineno);
            rc = -1;
            break;
        }
        char *s = line;
        if (lineno == 1 && strncmp(s, "\xEF\xBB\xBF", 3) == 0)
            s += 3; /* UTF-8 byte order mark from some editors */
        rc = config_line(ps, path, lineno, s);
    }
    if (rc == 0 && ferror(f)) {
        fail(ps, "cannot read config file '%s' (%s)", shown(path, b, sizeof b),
             strerror(errno ? errno : EIO));
        rc = -1;
    }
    free(line);
    fclose(f);
    return rc;
}

static int load_env(struct pstate *ps)
{
    char var[64];
    for (size_t i = 0; i < NOPTS; i++) {
        if (!(opts[i].where & W_ENV))
            continue;
        size_t k = (size_t)snprintf(var, sizeof var, "HORNET_");
        for (const char *c = opts[i].name; *c && k + 1 < sizeof var; c++)
            var[k++] = *c == '-' ? '_' : (char)toupper((unsigned char)*c);
        var[k] = '\0';
        const char *v = getenv(var);
        if (!v || !*v)
            continue;
        if (apply(ps, (int)i, v, var) < 0)
            return -1;
    }
    return 0;
}

/* " (from hornet.conf:2)" or " (from HORNET_HEADLESS)" when the option did
 * not come from argv, so a conflict with a forgotten config line is obvious. */
static const char *origin_note(struct pstate *ps, int idx, char *buf, size_t len)
{
    const char *o = ps->origin[idx];
    if (!*o || o[0] == '-')
        return "";
    const char *key = strstr(o, ": ");
    int n = key ? (int)(key - o) : (int)strlen(o);
    snprintf(buf, len, " (from %.*s)", n, o);
    return buf;
}

static int check_combinations(struct pstate *ps)
{
    struct hn_options *o = ps->o;
    char n1[128], n2[128];
    int i_headless = find_opt("headless", 8), i_autostart = find_opt("autostart", 9);
    if (o->headless && o->autostart) {
        fail(ps,
             "--headless%s and --autostart%s cannot be combined (--headless runs without the "
             "web UI, --autostart with it)",
             origin_note(ps, i_headless, n1, sizeof n1),
             origin_note(ps, i_autostart, n2, sizeof n2));
        return -1;
    }
    if (o->autoquit >= 0 && !o->autostart && !o->headless) {
        fail(ps, "--autoquit%s needs --autostart (or --headless)",
             origin_note(ps, find_opt("autoquit", 8), n1, sizeof n1));
        return -1;
    }
    if (o->csv_full_history && !o->csv_prefix) {
        fail(ps, "--csv-full-history%s needs --csv PREFIX",
             origin_note(ps, find_opt("csv-full-history", 16), n1, sizeof n1));
        return -1;
    }
    if (o->master && o->worker) {
        fail(ps, "--master%s and --worker%s cannot be combined (a process is one or the other)",
             origin_note(ps, find_opt("master", 6), n1, sizeof n1),
             origin_note(ps, find_opt("worker", 6), n2, sizeof n2));
        return -1;
    }
    if (o->processes > 0 && !o->worker)
        o->master = true;
    if (o->worker && (o->headless || o->autostart || o->csv_prefix || o->html_path ||
                      o->json_path || o->junit_path || o->thresholds || o->stages ||
                      o->arrival_rate > 0 || o->feeds || o->params || o->baseline ||
                      o->find_capacity)) {
        fail(ps, "--worker runs what the master says and keeps no reports: --headless, "
                 "--autostart, --csv, --html, --json, --junit, --baseline, --threshold, "
                 "--stages, --arrival-rate, --find-capacity, --feed and --param belong on the "
                 "master");
        return -1;
    }
    if (o->find_capacity && !o->worker && o->thresholds == NULL) {
        fail(ps, "--find-capacity needs at least one --threshold: the service level it searches "
                 "under (e.g. --threshold p95<300ms)");
        return -1;
    }
    if (o->find_capacity && o->stages) {
        fail(ps, "--find-capacity sets the load itself: drop --stages");
        return -1;
    }
    if ((o->capacity_step > 0 || o->capacity_hold != 10) && !o->find_capacity) {
        fail(ps, "--capacity-step and --capacity-hold need --find-capacity");
        return -1;
    }
    if (o->expect_workers > 0 && !o->master) {
        fail(ps, "--expect-workers%s needs --master (or --processes)",
             origin_note(ps, find_opt("expect-workers", 14), n1, sizeof n1));
        return -1;
    }
    if (o->demo && (o->master || o->worker)) {
        fail(ps, "--demo runs on one machine; with --master/--worker start the demo target "
                 "with 'hornet demo-target' and pass -H");
        return -1;
    }
    if (!o->web_host && !(o->web_host = strdup("127.0.0.1")))
        return oom(ps);
    if (!o->master_host && !(o->master_host = strdup("127.0.0.1")))
        return oom(ps);
    if (!o->master_bind_host && !(o->master_bind_host = strdup("127.0.0.1")))
        return oom(ps);
    return 0;
}

int hn_options_parse(struct hn_options *o, int argc, char **argv, char *err, size_t err_len)
{
    char origin[NOPTS][96];
    memset(origin, 0, sizeof origin);
    struct pstate ps = {.o = o, .err = err, .err_len = err_len, .origin = origin};
    if (err && err_len)
        err[0] = '\0';
    struct given *given = calloc((size_t)(argc > 0 ? argc : 1), sizeof *given);
    if (!given)
        return oom(&ps);
    size_t n = 0;
    int rc = -1;
    char lb[64];
    if (scan_argv(&ps, argc, argv, given, &n) < 0)
        goto out;

    /* Help and version win over everything, even a broken config. */
    for (size_t i = 0; i < n; i++)
        if (opts[given[i].idx].arg == A_NONE)
            opts[given[i].idx].set(&ps, NULL);
    if (o->show_help || o->show_version) {
        rc = 0;
        goto out;
    }

    int i_config = find_opt("config", 6);
    const char *conf = NULL;
    for (size_t i = 0; i < n; i++)
        if (given[i].idx == i_config)
            conf = given[i].value;
    ps.layer = L_CONF;
    if (conf) {
        if (apply(&ps, i_config, conf, argv_label(i_config, lb, sizeof lb)) < 0 ||
            load_config(&ps, conf) < 0)
            goto out;
    } else if (access(DEFAULT_CONF, F_OK) == 0) {
        if (set_str(&ps, &o->config_path, DEFAULT_CONF, "a config file") < 0 ||
            load_config(&ps, DEFAULT_CONF) < 0)
            goto out;
    }

    ps.layer = L_ENV;
    if (load_env(&ps) < 0)
        goto out;

    ps.layer = L_ARGV;
    for (size_t i = 0; i < n; i++) {
        int idx = given[i].idx;
        if (idx == i_config || opts[idx].arg == A_NONE)
            continue;
        if (apply(&ps, idx, given[i].value, argv_label(idx, lb, sizeof lb)) < 0)
            goto out;
    }
    rc = check_combinations(&ps);
out:
    free(given);
    return rc;
}

void hn_options_init(struct hn_options *o)
{
    memset(o, 0, sizeof *o);
    o->users = 1;
    o->spawn_rate = 1;
    o->run_time = 0;
    o->autoquit = -1;
    o->tolerance = 0.1;
    o->capacity_hold = 10;
    /* NULL only if out of memory; hn_options_parse retries and reports. */
    o->web_host = strdup("127.0.0.1");
    o->web_port = 8089;
    o->threads = 0;
    o->stop_timeout = 10;
    o->exit_code_on_error = 1;
    o->loglevel = HN_INFO;
    o->master_port = 5557;
    o->master_bind_port = 5557;
    o->expect_workers_max_wait = -1;
    o->output_timeout = 5;
}

void hn_options_cleanup(struct hn_options *o)
{
    free(o->plugin);
    free(o->host);
    free(o->web_host);
    if (o->web_auth != NULL)
        explicit_bzero(o->web_auth, strlen(o->web_auth));
    free(o->web_auth);
    if (o->cluster_key != NULL)
        explicit_bzero(o->cluster_key, strlen(o->cluster_key));
    free(o->cluster_key);
    free(o->web_root);
    free(o->tls_cert);
    free(o->tls_key);
    free(o->csv_prefix);
    free(o->html_path);
    free(o->baseline);
    free(o->json_path);
    free(o->junit_path);
    free(o->stages);
    free_list(o->thresholds);
    free_list(o->feeds);
    free_list(o->params);
    free(o->config_path);
    free(o->master_host);
    free(o->master_bind_host);
    free_list(o->tags);
    free_list(o->exclude_tags);
    free(o->influxdb);
    free(o->ca_cert);
    free(o->client_cert);
    free(o->client_key);
    free(o->source_ips);
    free(o->influxdb_db);
    free(o->influxdb_user);
    if (o->influxdb_password != NULL)
        explicit_bzero(o->influxdb_password, strlen(o->influxdb_password));
    free(o->influxdb_password);
    if (o->influxdb_token != NULL)
        explicit_bzero(o->influxdb_token, strlen(o->influxdb_token));
    free(o->influxdb_token);
    free_list(o->webhooks);
    free_list(o->slack_webhooks);
    memset(o, 0, sizeof *o);
}

void hn_options_usage(FILE *f)
{
    static const char *const group_names[G_COUNT] = {
        "Common options", "Web UI",  "Statistics and output",
        "Live outputs (Prometheus at /metrics, InfluxDB, notifications)",
        "Run control",    "Distributed", "Logging", "Other",
    };
    fputs("Usage: hornet [options]\n"
          "       hornet demo-target [--port N]\n"
          "       hornet compare BASE.json NEW.json [--tolerance PCT]\n"
          "\n"
          "Load-test an HTTP service with a C plugin describing what users do, and watch it in\n"
          "the web UI (http://127.0.0.1:8089 by default) or run it headless.\n",
          f);
    for (int g = 0; g < G_COUNT; g++) {
        fprintf(f, "\n%s:\n", group_names[g]);
        for (size_t i = 0; i < NOPTS; i++) {
            if (opts[i].group != (enum group)g)
                continue;
            char left[64];
            int n = snprintf(left, sizeof left, "  %c%c%s--%s%s%s", opts[i].short_name ? '-' : ' ',
                             opts[i].short_name ? opts[i].short_name : ' ',
                             opts[i].short_name ? ", " : "  ", opts[i].name,
                             opts[i].metavar ? " " : "", opts[i].metavar ? opts[i].metavar : "");
            if (n > 30)
                fprintf(f, "%s\n%32s%s\n", left, "", opts[i].help);
            else
                fprintf(f, "%-32s%s\n", left, opts[i].help);
        }
    }
    fputs("\n"
          "Timespans: a number of seconds (90, 1.5) or parts with units h, m, s in that order\n"
          "(30s, 5m, 1h30m, 3h30m10s).\n"
          "\n"
          "Thresholds: [ENTRY:]METRIC OP VALUE[:abort[=GRACE]]. METRIC: p50 p66 p75 p80 p90 p95\n"
          "p98 p99 p99.9 p99.99 p100 avg min max (times in ms or s), rps, fail_ratio (0.01 or\n"
          "1%), failures, requests; OP: < <= > >= == !=; ENTRY: a name or 'METHOD name' (default:\n"
          "all requests). ':abort' ends the run when broken, after GRACE (default 10s).\n"
          "Examples: p95<300ms, 'GET /cart:p99<1s', fail_ratio<1%, rps>500:abort=30s.\n"
          "\n"
          "Exit codes: 0 all good; 1 (or --exit-code-on-error) a request failed or a task raised;\n"
          "2 bad usage or a plugin that cannot load; 3 a threshold failed (3 wins over 1, 2\n"
          "over both).\n"
          "\n"
          "Configuration: options are read from ./hornet.conf (or --config FILE), then from\n"
          "HORNET_<OPTION> environment variables (HORNET_SPAWN_RATE=5, HORNET_HEADLESS=true),\n"
          "then from the command line; later sources win. Config lines look like\n"
          "'spawn-rate = 5', 'headless = true', 'tags = a, b' or 'threshold = p95<300ms,\n"
          "fail_ratio<1%'; '#' starts a comment.\n"
          "\n"
          "Examples:\n"
          "  hornet --demo\n"
          "      start the built-in demo target and plugin, and open the web UI on port 8089\n"
          "  hornet -f plugins/shop.c -H http://127.0.0.1:8080 --headless -u 100 -r 10 -t 1m \\\n"
          "         --csv out/run\n"
          "      100 users, 10 new per second, for one minute, without the UI; CSV files in out/\n",
          f);
}
