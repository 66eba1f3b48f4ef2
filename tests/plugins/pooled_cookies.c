/*
 * pooled_cookies.c (test_pooled_easy.py): users of a HN_USER_SHARED_POOL
 * type borrow curl easy handles from their worker's pool for each transfer,
 * yet each keeps its own cookies. Every user logs in (the demo target sets
 * a per-login session cookie), then every GET /headers must carry exactly
 * that user's cookie; anything else is recorded as a failure.
 */
#include <stdio.h>
#include <string.h>

#include <hornet/hornet.h>

struct cookie_state {
    char cookie[64];
};

static void login(struct hn_user *u)
{
    struct cookie_state *s = hn_state(u);
    char body[64];
    snprintf(body, sizeof body, "{\"user\":\"u%llu\"}", (unsigned long long)hn_user_id(u));
    struct hn_response *r = hn_post_json(u, "/login", body);
    const char *set = hn_header(r, "Set-Cookie");
    if (set != NULL) {
        size_t n = strcspn(set, ";");
        if (n < sizeof s->cookie) {
            memcpy(s->cookie, set, n);
            s->cookie[n] = '\0';
        }
    }
}

static void check(struct hn_user *u)
{
    struct cookie_state *s = hn_state(u);
    struct hn_req o = {0};
    o.catch_response = 1;
    struct hn_response *r = hn_request(u, "GET", "/headers", &o);
    const char *got = hn_json_str(r, "headers.Cookie");
    if (s->cookie[0] == '\0' || got == NULL || strcmp(got, s->cookie) != 0)
        hn_failure(r, "wrong cookie");
    else
        hn_success(r);
}

static const struct hn_task tasks[] = {{.name = "check", .fn = check}, {0}};

static const struct hn_user_type types[] = {
    {.name = "pooled", .weight = 1, .tasks = tasks, .on_start = login,
     .wait = hn_between(0, 0.005), .state_size = sizeof(struct cookie_state),
     .flags = HN_USER_SHARED_POOL},
    {0},
};

static const struct hn_plugin plugin = {
    .abi_major = HN_ABI_MAJOR,
    .abi_minor = HN_ABI_MINOR,
    .struct_size = sizeof(struct hn_plugin),
    .name = "pooled_cookies",
    .user_types = types,
};

HN_PLUGIN(plugin)
