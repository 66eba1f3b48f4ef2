/* ws_probe.c (test_websocket.py): each task connects to --param path (a
 * path on the host or a ws:// URL), makes --param exchanges text
 * exchanges named "echo" with hn_ws_request (a reply other than what was
 * sent, or --param expect, is recorded as a failure "wrong reply"), then one binary
 * send and receive, and closes. After --param tasks tasks a user stops;
 * when --param users users are done the test ends. */
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>

#include "hornet/hornet.h"

static atomic_int tasks_done;

struct count {
    long long tasks;
};

static void talk(struct hn_user *u)
{
    struct count *c = hn_state(u);
    long long most = hn_param_int(u, "tasks");
    if (c->tasks++ >= most)
        hn_stop_user(u);
    struct hn_ws_opts o = {0};
    o.timeout = hn_param_float(u, "timeout");
    struct hn_ws *ws = hn_ws_connect(u, hn_param(u, "path"), &o);
    double timeout = hn_param_float(u, "timeout");
    for (long long i = 0; hn_ws_error(ws) == NULL && i < hn_param_int(u, "exchanges"); i++) {
        char msg[64];
        snprintf(msg, sizeof msg, "user %llu message %lld", (unsigned long long)hn_user_id(u), i);
        size_t n = 0;
        const char *reply = hn_ws_request(ws, "echo", msg, 0, timeout, &n);
        const char *want = *hn_param(u, "expect") ? hn_param(u, "expect") : msg;
        if (reply != NULL && (n != strlen(want) || memcmp(reply, want, n) != 0))
            hn_record(u, "WS", "wrong reply", 0, 0, "wrong reply");
    }
    if (hn_ws_error(ws) == NULL && hn_param_bool(u, "binary")) {
        const unsigned char bin[4] = {0, 1, 2, 255};
        const char *data = NULL;
        size_t n = 0;
        double t0 = hn_now_ms(u);
        if (hn_ws_send(ws, bin, sizeof bin, HN_WS_BINARY) == 0) {
            int kind = hn_ws_recv(ws, timeout, &data, &n);
            hn_record(u, "WS", "binary", hn_now_ms(u) - t0, (int64_t)n,
                      kind == HN_WS_BINARY && n == 4 && memcmp(data, bin, 4) == 0 ? NULL
                      : kind == 0 ? "binary: no reply" : "binary: wrong reply");
        }
    }
    hn_ws_close(ws);
    if (atomic_fetch_add(&tasks_done, 1) + 1 == most * hn_param_int(u, "users"))
        hn_stop_test(u, "every task done");
}

static const struct hn_task tasks[] = {{.name = "talk", .fn = talk}, {0}};
static const struct hn_user_type types[] = {
    {.name = "talker", .weight = 1, .tasks = tasks, .state_size = sizeof(struct count)},
    {0},
};
static const struct hn_param params[] = {
    {.name = "path", .default_value = "/echo"},
    {.name = "exchanges", .type = HN_PARAM_INT, .default_value = "5"},
    {.name = "tasks", .type = HN_PARAM_INT, .default_value = "2"},
    {.name = "users", .type = HN_PARAM_INT, .default_value = "1"},
    {.name = "timeout", .type = HN_PARAM_FLOAT, .default_value = "5"},
    {.name = "expect", .help = "the reply every exchange must get (default: what it sent)"},
    {.name = "binary", .type = HN_PARAM_BOOL, .default_value = "false"},
    {0},
};
static const struct hn_plugin plugin = {
    .abi_major = HN_ABI_MAJOR,
    .abi_minor = HN_ABI_MINOR,
    .struct_size = sizeof(struct hn_plugin),
    .name = "ws_probe",
    .user_types = types,
    .params = params,
};
HN_PLUGIN(plugin)
