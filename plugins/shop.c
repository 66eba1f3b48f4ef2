/*
 * shop.c: a realistic shop flow, the plugin `hornet --demo` runs against the
 * built-in demo target.
 *
 * Two kinds of users:
 *   shopper  (3 of 4 users) logs in once, then browses, views items, fills a
 *            cart and checks out, thinking 0.5-2 s between steps;
 *   browser  (1 of 4 users) an anonymous visitor who walks the same three
 *            pages in order, one page per second.
 *
 * What it shows: per-user state, a login in on_start (the session cookie is
 * kept per user by hornet), request names that group URLs ("/item/[id]"),
 * JSON checks with catch_response, hn_exception for a broken page, tags
 * (-T browse / -E cart), and sequential tasks with constant pacing.
 *
 *     hornet demo-target --port 8080 &
 *     hornet -f plugins/shop.c -H http://127.0.0.1:8080 --headless -u 40 -r 10 -t 1m
 */
#include <hornet/hornet.h>

#include <inttypes.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

/* One per shopper, allocated and zeroed by hornet (state_size below). Tasks
 * of one user never run concurrently, so no locking is needed here. */
struct shopper {
    char name[32];          /* login name, unique per user */
    bool logged_in;         /* false until /login succeeds, again after a 401 */
    long cart_items;        /* item count as the server last reported it */
    unsigned orders;        /* successful checkouts */
};

/* Turns a failed response into a short message for hn_failure(): the
 * transport error if there was one, else the status. Messages should not
 * contain ids or timestamps: the Failures table groups identical ones. */
static const char *failure_reason(const struct hn_response *r, char *buf, size_t len)
{
    const char *err = hn_error(r);

    if (err != NULL)
        return err;
    snprintf(buf, len, "HTTP %d", hn_status(r));
    return buf;
}

/* Logs in with this user's name. The demo target answers with a session
 * cookie, which hornet stores in the user's own cookie jar and sends on
 * every later request. Returns true on success. */
static bool login(struct hn_user *u, struct shopper *s)
{
    char body[64];
    struct hn_response *r;

    snprintf(body, sizeof(body), "{\"user\":\"%s\"}", s->name);
    r = hn_post_json(u, "/login", body);
    /* No catch_response: a status >= 400 or a transport error is already
     * recorded as a failure, we only need to know the outcome. */
    s->logged_in = hn_status(r) == 200;
    return s->logged_in;
}

/* Cart tasks need a session. If the first login failed (target still
 * starting, say) or the session was lost, try again rather than sending
 * requests that can only fail with 401. */
static bool ensure_login(struct hn_user *u, struct shopper *s)
{
    return s->logged_in || login(u, s);
}

static void shopper_start(struct hn_user *u)
{
    struct shopper *s = hn_state(u);

    /* Each user has its own id, so each logs in under its own name. */
    snprintf(s->name, sizeof(s->name), "shopper-%" PRIu64, hn_user_id(u));
    login(u, s);
}

static void shopper_stop(struct hn_user *u)
{
    struct shopper *s = hn_state(u);
    char msg[128];

    snprintf(msg, sizeof(msg), "%s leaves with %ld item(s) in the cart after %u order(s)",
             s->name, s->cart_items, s->orders);
    hn_log(u, HN_LOG_DEBUG, msg);
}

/* GET /items, and make sure the page really lists items: a 200 with an
 * empty or malformed body is a bug worth seeing, but it is not a failed
 * request, so it goes to the Exceptions table instead. */
static void browse(struct hn_user *u)
{
    struct hn_response *r = hn_get(u, "/items");
    double id;

    if (hn_status(r) == 200 && hn_json_num(r, "items.0.id", &id) != 0) {
        hn_exception(u, "items list missing");
        return; /* not reached: hn_exception ends the task */
    }
}

/* One of 100 items. Every URL is different, so name the request: all of
 * them share one row, "/item/[id]", in the statistics. */
static void view_item(struct hn_user *u)
{
    char path[32];

    snprintf(path, sizeof(path), "/item/%ld", hn_rand_range(u, 1, 100));
    hn_get_named(u, path, "/item/[id]");
}

static void add_to_cart(struct hn_user *u)
{
    struct shopper *s = hn_state(u);
    struct hn_response *r;
    char body[64];
    double count;

    if (!ensure_login(u, s))
        return;
    snprintf(body, sizeof(body), "{\"item_id\":%ld,\"qty\":%ld}", hn_rand_range(u, 1, 100),
             hn_rand_range(u, 1, 3));
    r = hn_post_json(u, "/cart", body);
    if (hn_status(r) == 401)
        s->logged_in = false;
    else if (hn_status(r) == 200 && hn_json_num(r, "count", &count) == 0)
        s->cart_items = (long)count;
}

/* GET /cart and check the answer ourselves (catch_response): a 200 without
 * a count is as broken as a 500. */
static void view_cart(struct hn_user *u)
{
    struct shopper *s = hn_state(u);
    struct hn_req opts = {.catch_response = 1};
    struct hn_response *r;
    char buf[64];
    double count;

    if (!ensure_login(u, s))
        return;
    r = hn_request(u, "GET", "/cart", &opts);
    if (hn_status(r) != 200) {
        if (hn_status(r) == 401)
            s->logged_in = false;
        hn_failure(r, failure_reason(r, buf, sizeof(buf)));
    } else if (hn_json_num(r, "count", &count) != 0 || count < 0) {
        hn_failure(r, "cart without a count");
    } else {
        s->cart_items = (long)count;
        hn_success(r);
    }
}

/* POST /checkout. The demo target declines one card in twenty with a 200,
 * which only the body tells apart: catch_response lets us count it as the
 * failure it is. An empty cart answers 400 "cart is empty", the correct
 * answer to that request, so it counts as a success; any other 400 does
 * not. */
static void checkout(struct hn_user *u)
{
    struct shopper *s = hn_state(u);
    struct hn_req opts = {.catch_response = 1};
    struct hn_response *r;
    const char *field;
    char msg[128];

    if (!ensure_login(u, s))
        return;
    r = hn_request(u, "POST", "/checkout", &opts);
    switch (hn_status(r)) {
    case 200:
        field = hn_json_str(r, "status");
        if (field != NULL && strcmp(field, "ok") == 0) {
            hn_success(r);
            s->orders++;
            s->cart_items = 0;
        } else if (field != NULL && strcmp(field, "declined") == 0) {
            const char *reason = hn_json_str(r, "reason");

            snprintf(msg, sizeof(msg), "checkout declined: %s",
                     reason != NULL ? reason : "no reason given");
            hn_failure(r, msg);
        } else {
            hn_failure(r, "checkout: unexpected status field");
        }
        break;
    case 400:
        field = hn_json_str(r, "error");
        if (field == NULL || strcmp(field, "cart is empty") != 0) {
            hn_failure(r, failure_reason(r, msg, sizeof(msg)));
            break;
        }
        /* Checkout is picked at random, so it can come before any
         * add_to_cart. Note it in the debug log, not the statistics. */
        hn_success(r);
        s->cart_items = 0;
        snprintf(msg, sizeof(msg), "%s: checkout with an empty cart (400), counted as success",
                 s->name);
        hn_log(u, HN_LOG_DEBUG, msg);
        break;
    case 401:
        s->logged_in = false;
        /* fall through */
    default:
        hn_failure(r, failure_reason(r, msg, sizeof(msg)));
        break;
    }
}

/* Weights are relative: browse 4 + view_item 6 + add 2 + view 2 + checkout 1
 * = 15, so a shopper views an item in 6 of 15 tasks. */
static const struct hn_task shopper_tasks[] = {
    {.name = "browse", .fn = browse, .weight = 4, .tags = "browse"},
    {.name = "view_item", .fn = view_item, .weight = 6, .tags = "browse"},
    {.name = "add_to_cart", .fn = add_to_cart, .weight = 2, .tags = "cart"},
    {.name = "view_cart", .fn = view_cart, .weight = 2, .tags = "cart"},
    {.name = "checkout", .fn = checkout, .weight = 1, .tags = "cart"},
    {0},
};

static void home(struct hn_user *u)
{
    hn_get(u, "/");
}

static void json_page(struct hn_user *u)
{
    hn_get(u, "/json");
}

/* The browser needs no state and no login: it has no on_start. */
static const struct hn_task browser_tasks[] = {
    {.name = "home", .fn = home, .tags = "browse"},
    {.name = "json", .fn = json_page, .tags = "browse"},
    {.name = "items", .fn = browse, .tags = "browse"},
    {0},
};

static const struct hn_user_type shop_users[] = {
    {
        .name = "shopper",
        .weight = 3,
        .wait = hn_between(0.5, 2.0),
        .tasks = shopper_tasks,
        .on_start = shopper_start,
        .on_stop = shopper_stop,
        .state_size = sizeof(struct shopper),
    },
    {
        .name = "browser",
        .weight = 1,
        /* A task starts every second, however long the last one took
         * (immediately if it took longer). */
        .wait = hn_constant_pacing(1.0),
        .tasks = browser_tasks,
        /* In declaration order: home, json, items, home, ... Anonymous
         * visitors in very large numbers could also set
         * HN_USER_SHARED_POOL to share connections. */
        .flags = HN_USER_SEQUENTIAL,
    },
    {0},
};

static const struct hn_plugin shop = {
    .abi_major = HN_ABI_MAJOR,
    .abi_minor = HN_ABI_MINOR,
    .struct_size = sizeof(struct hn_plugin),
    .name = "shop",
    .user_types = shop_users,
};

HN_PLUGIN(shop);
