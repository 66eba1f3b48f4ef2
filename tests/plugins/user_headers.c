/*
 * user_headers.c: per-user headers (ABI 1.1). Every check is a request to
 * the demo target's /headers, which echoes what it received; a wrong header
 * marks that request as a failure naming what was wrong.
 */
#include <stdio.h>
#include <string.h>

#include "hornet/hornet.h"

static const char *const team_headers[] = {"X-Team: blue", "X-Trace: t1", NULL};

/* The echoed header name, or NULL when it was not sent. */
static const char *echoed(struct hn_response *r, const char *name)
{
    char path[64];
    snprintf(path, sizeof path, "headers.%s", name);
    return hn_json_str(r, path);
}

static void expect(struct hn_response *r, const char *name, const char *want, char *why,
                   size_t n)
{
    const char *got = echoed(r, name);
    if (why[0] != '\0')
        return;
    if ((want == NULL) != (got == NULL) || (want && strcmp(want, got) != 0))
        snprintf(why, n, "%s: expected %s, got %s", name, want ? want : "(none)",
                 got ? got : "(none)");
}

static struct hn_response *echo(struct hn_user *u, const char *name, const char *const *own)
{
    struct hn_req o = {0};
    o.name = name;
    o.headers = own;
    o.catch_response = 1;
    return hn_request(u, "GET", "/headers", &o);
}

static void judge(struct hn_response *r, const char *why)
{
    if (why[0] != '\0')
        hn_failure(r, why);
    else if (hn_status(r) != 200)
        hn_failure(r, "not 200");
    else
        hn_success(r);
}

static void flow(struct hn_user *u)
{
    char why[160] = "", token[64];
    snprintf(token, sizeof token, "Bearer user-%llu", (unsigned long long)hn_user_id(u));

    /* The type's headers only. */
    struct hn_response *r = echo(u, "/headers [type]", NULL);
    expect(r, "X-Team", "blue", why, sizeof why);
    expect(r, "X-Trace", "t1", why, sizeof why);
    expect(r, "Authorization", NULL, why, sizeof why);
    judge(r, why);

    /* The user's own, one overriding the type's; bad ones refused. */
    if (hn_set_header(u, "Authorization", token) != 0 || hn_set_header(u, "X-Team", "green") != 0)
        hn_exception(u, "hn_set_header refused a good header");
    if (hn_set_header(u, "Bad Name", "x") != -1 || hn_set_header(u, "X-A", "a\r\nX-B: b") != -1 ||
        hn_set_header(u, "", "x") != -1 || hn_set_header(u, "X:Y", "x") != -1)
        hn_exception(u, "hn_set_header accepted a bad header");
    static const char *const own[] = {"X-Trace: t2", NULL};
    why[0] = '\0';
    r = echo(u, "/headers [user]", own);
    expect(r, "Authorization", token, why, sizeof why);
    expect(r, "X-Team", "green", why, sizeof why);
    expect(r, "X-Trace", "t2", why, sizeof why); /* the request's own wins */
    expect(r, "X-A", NULL, why, sizeof why);
    judge(r, why);

    /* A JSON body's Content-Type beats the user's; the request's own beats both. */
    if (hn_set_header(u, "Content-Type", "text/plain") != 0)
        hn_exception(u, "hn_set_header refused Content-Type");
    struct hn_req j = {0};
    j.name = "/headers [json]";
    j.json = "{\"a\":1}";
    j.catch_response = 1;
    why[0] = '\0';
    r = hn_request(u, "GET", "/headers", &j);
    expect(r, "Content-Type", "application/json", why, sizeof why);
    judge(r, why);
    static const char *const xml[] = {"Content-Type: application/xml", NULL};
    j.name = "/headers [json, own type]";
    j.headers = xml;
    why[0] = '\0';
    r = hn_request(u, "GET", "/headers", &j);
    expect(r, "Content-Type", "application/xml", why, sizeof why);
    judge(r, why);
    hn_set_header(u, "Content-Type", NULL);

    /* Removed again: the type's value comes back. */
    hn_set_header(u, "Authorization", NULL);
    hn_set_header(u, "X-Team", NULL);
    why[0] = '\0';
    r = echo(u, "/headers [removed]", NULL);
    expect(r, "Authorization", NULL, why, sizeof why);
    expect(r, "X-Team", "blue", why, sizeof why);
    judge(r, why);
}

static const struct hn_task tasks[] = {{.name = "flow", .fn = flow}, {0}};

static const struct hn_user_type types[] = {
    {.name = "team", .weight = 1, .tasks = tasks, .wait = hn_constant(0.05),
     .headers = team_headers},
    {0},
};

static const struct hn_plugin plugin = {
    .abi_major = HN_ABI_MAJOR,
    .abi_minor = HN_ABI_MINOR,
    .struct_size = sizeof(struct hn_plugin),
    .name = "user_headers",
    .user_types = types,
};

HN_PLUGIN(plugin)
