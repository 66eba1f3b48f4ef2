/*
 * chat.c: WebSocket users in a chat room, the way a chat client behaves.
 * Each user keeps one connection (opened in on_start, closed in on_stop),
 * joins a room and then, between pauses, says something and waits until
 * the room sends it back (the time a message takes to go round), or
 * listens to what the others said.
 *
 * It speaks the demo target's chat protocol (demo/README.md): text frames
 * of JSON, {"type":"join","room":R,"user":U} answered by "joined", and
 * {"type":"say","text":T} sent by the server to every member of the room,
 * the sender included, as {"type":"message",...}.
 *
 *     hornet demo-target --port 8080 &
 *     hornet -f plugins/chat.c -H http://127.0.0.1:8080 --headless -u 50 -r 10 -t 1m
 *
 * What is recorded (type "WS"): "/ws/chat" for each connect, "join" for
 * the join and its answer (hn_ws_request: one exchange), "say" from the
 * send to the moment the user's own message comes back. A connection that
 * breaks is a failure (hornet records it); the user connects again at its
 * next task.
 */
#include <hornet/hornet.h>

#include <stdio.h>
#include <string.h>

struct chatter {
    struct hn_ws *ws;
    unsigned long said;       /* messages this user said */
    unsigned long heard;      /* messages of others it received */
};

/* Whether a JSON text's "type" is want (the servers may or may not put
 * blanks around the colon). */
static int type_is(const char *json, const char *want)
{
    const char *p = json ? strstr(json, "\"type\"") : NULL;
    if (p == NULL)
        return 0;
    p += 6;
    while (*p == ' ' || *p == ':')
        p++;
    size_t n = strlen(want);
    return *p == '"' && strncmp(p + 1, want, n) == 0 && p[1 + n] == '"';
}

/* Connects and joins a room (one of --param rooms, by user id). */
static void join(struct hn_user *u, struct chatter *c)
{
    struct hn_ws_opts o = {0};
    o.name = hn_param(u, "path");
    c->ws = hn_ws_connect(u, hn_param(u, "path"), &o);
    if (hn_ws_error(c->ws) != NULL)
        return; /* recorded; the next task tries again */
    char msg[128];
    snprintf(msg, sizeof msg, "{\"type\":\"join\",\"room\":\"room-%llu\",\"user\":\"user-%llu\"}",
             (unsigned long long)(hn_user_id(u) % (uint64_t)hn_param_int(u, "rooms")),
             (unsigned long long)hn_user_id(u));
    const char *reply = hn_ws_request(c->ws, "join", msg, 0, 10, NULL);
    if (reply != NULL && !type_is(reply, "joined"))
        hn_record(u, "WS", "join", 0, 0, "join not answered with joined");
}

static void on_start(struct hn_user *u)
{
    if (hn_param_int(u, "rooms") < 1)
        hn_stop_test(u, "chat: --param rooms must be at least 1");
    join(u, hn_state(u));
}

/* The connection, connected again if it broke. */
static struct hn_ws *connection(struct hn_user *u, struct chatter *c)
{
    if (c->ws != NULL && hn_ws_error(c->ws) == NULL)
        return c->ws;
    if (c->ws != NULL)
        hn_ws_close(c->ws);
    c->ws = NULL;
    join(u, c);
    return hn_ws_error(c->ws) == NULL ? c->ws : NULL;
}

static void say(struct hn_user *u)
{
    struct chatter *c = hn_state(u);
    struct hn_ws *ws = connection(u, c);
    if (ws == NULL)
        return;
    char text[64], msg[128];
    snprintf(text, sizeof text, "hello %lu from user-%llu", ++c->said,
             (unsigned long long)hn_user_id(u));
    snprintf(msg, sizeof msg, "{\"type\":\"say\",\"text\":\"%s\"}", text);
    double t0 = hn_now_ms(u);
    if (hn_ws_send_text(ws, msg) != 0)
        return; /* recorded as the connection's failure */
    /* Others' messages may come first: ours is the one with our text. */
    double deadline = t0 + 10000;
    for (;;) {
        const char *got = NULL;
        size_t n = 0;
        double left = (deadline - hn_now_ms(u)) / 1000;
        int kind = left > 0 ? hn_ws_recv(ws, left, &got, &n) : 0;
        if (kind < 0)
            return; /* the connection ended: recorded */
        if (kind == 0) {
            hn_record(u, "WS", "say", hn_now_ms(u) - t0, 0, "own message not back within 10 s");
            return;
        }
        /* text and its closing quote: "user-1" must not match "user-11". */
        char quoted[72];
        snprintf(quoted, sizeof quoted, "%s\"", text);
        if (type_is(got, "message") && strstr(got, quoted) != NULL) {
            hn_record(u, "WS", "say", hn_now_ms(u) - t0, (int64_t)n, NULL);
            return;
        }
        c->heard++;
    }
}

/* Reads what the room said for a moment, as an idle client would. */
static void listen_room(struct hn_user *u)
{
    struct chatter *c = hn_state(u);
    struct hn_ws *ws = connection(u, c);
    while (ws != NULL && hn_ws_recv(ws, 0.2, NULL, NULL) > 0)
        c->heard++;
}

static void on_stop(struct hn_user *u)
{
    struct chatter *c = hn_state(u);
    if (c->ws != NULL)
        hn_ws_close(c->ws);
    c->ws = NULL;
}

static const struct hn_task tasks[] = {
    {.name = "say", .fn = say, .weight = 3},
    {.name = "listen", .fn = listen_room, .weight = 1},
    {0},
};

static const struct hn_user_type users[] = {
    {.name = "chatter", .weight = 1, .wait = hn_between(0.5, 2), .tasks = tasks,
     .on_start = on_start, .on_stop = on_stop, .state_size = sizeof(struct chatter)},
    {0},
};

static const struct hn_param params[] = {
    {.name = "path", .default_value = "/ws/chat", .help = "the chat's path (or a ws:// URL)"},
    {.name = "rooms", .type = HN_PARAM_INT, .default_value = "5", .help = "rooms the users share"},
    {0},
};

static const struct hn_plugin plugin = {
    .abi_major = HN_ABI_MAJOR,
    .abi_minor = HN_ABI_MINOR,
    .struct_size = sizeof(struct hn_plugin),
    .name = "chat",
    .user_types = users,
    .params = params,
};

HN_PLUGIN(plugin);
