/*
 * response_digest.c (test_http_clients.py): one user makes the requests of
 * the "steps" parameter once, in order, then stops the test. Each request's row is
 * named "NN PATH" and marked failed with a digest of what came back (its
 * status, body length and first bytes, a hash of the body, whether it was
 * truncated, its Content-Type), or with its transport error, so the
 * Failures table holds the whole conversation and two runs can be
 * compared line by line.
 *
 * steps: ';'-separated, each "METHOD|PATH[|HEADER[^HEADER...]][|BODY][|TIMEOUT]"
 * HN_TEST_USER_FLAGS in the environment adds HN_USER_* flags to the type
 * (HN_USER_FAST_HTTP, HN_USER_SHARED_POOL), so one plugin covers each.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "hornet/hornet.h"

static const struct hn_param params[] = {
    {.name = "steps", .default_value = "GET|/", .help = "METHOD|PATH|HEADERS|BODY|TIMEOUT;..."},
    {0},
};

#define FIELDS 5

static void digest(const struct hn_response *r, char *out, size_t n)
{
    size_t len = 0;
    const char *body = hn_body(r, &len);
    uint32_t h = 2166136261u; /* FNV-1a */
    for (size_t i = 0; i < len; i++)
        h = (h ^ (unsigned char)body[i]) * 16777619u;
    char head[41];
    size_t k = 0;
    for (size_t i = 0; i < len && k < sizeof head - 1; i++)
        head[k++] = body[i] >= 32 && body[i] < 127 && body[i] != '\'' ? body[i] : '.';
    head[k] = '\0';
    const char *type = hn_header(r, "Content-Type");
    snprintf(out, n, "HTTP %d, %zu bytes%s, '%s', hash %08x, type %s", hn_status(r), len,
             hn_body_truncated(r) ? " (truncated)" : "", head, (unsigned)h, type ? type : "-");
}

static void visit(struct hn_user *u)
{
    const char *p = hn_param(u, "steps");
    for (int step = 1; p != NULL && *p != '\0'; step++) {
        const char *semi = strchr(p, ';');
        size_t n = semi ? (size_t)(semi - p) : strlen(p);
        char *spec = strndup(p, n);
        p = semi ? semi + 1 : NULL;
        if (spec == NULL)
            return;
        char *field[FIELDS] = {0};
        char *save = spec;
        for (int f = 0; f < FIELDS && save != NULL; f++) {
            field[f] = save;
            char *bar = strchr(save, '|');
            if (bar != NULL)
                *bar = '\0';
            save = bar ? bar + 1 : NULL;
        }
        const char *headers[8] = {0};
        int nh = 0;
        for (char *h = field[2]; h != NULL && *h != '\0' && nh < 7;) {
            char *caret = strchr(h, '^');
            if (caret != NULL)
                *caret = '\0';
            headers[nh++] = h;
            h = caret ? caret + 1 : NULL;
        }
        char name[160];
        snprintf(name, sizeof name, "%02d %s", step, field[1] ? field[1] : "/");
        struct hn_req opts = {
            .name = name,
            .headers = nh > 0 ? headers : NULL,
            .body = field[3] && *field[3] ? field[3] : NULL,
            .timeout = field[4] ? atof(field[4]) : 0,
            .catch_response = 1,
        };
        struct hn_response *r = hn_request(u, field[0], field[1] ? field[1] : "/", &opts);
        char msg[256];
        if (hn_status(r) == 0)
            snprintf(msg, sizeof msg, "%s", hn_error(r) ? hn_error(r) : "no status");
        else
            digest(r, msg, sizeof msg);
        hn_failure(r, msg); /* a failure carries the digest to the report */
        free(spec);
    }
    hn_stop_test(u, "every step done"); /* the run ends with its one user */
}

static const struct hn_task tasks[] = {{.name = "visit", .fn = visit}, {0}};
/* Not const: init may add flags before any user starts. */
static struct hn_user_type types[] = {{.name = "visitor", .weight = 1, .tasks = tasks}, {0}};

static int init(char *err, size_t err_len)
{
    (void)err;
    (void)err_len;
    const char *f = getenv("HN_TEST_USER_FLAGS");
    if (f != NULL)
        types[0].flags |= (unsigned)strtoul(f, NULL, 0);
    return 0;
}
static const struct hn_plugin plugin = {
    .abi_major = HN_ABI_MAJOR,
    .abi_minor = HN_ABI_MINOR,
    .struct_size = sizeof(struct hn_plugin),
    .name = "response_digest",
    .user_types = types,
    .init = init,
    .params = params,
};
HN_PLUGIN(plugin)
