/*
 * fuzz_api.c: the dashboard's API handlers (server/api.c) on any request
 * body: JSON for /api/swarm, /api/resize and the other commands, a whole
 * result for /api/runs/upload, Locust's form for /swarm, and the query
 * arguments of the GET routes that take them.
 *
 * The first input byte picks the route and the Content-Type, the rest is
 * the body (and, split at NULs, the query arguments). Behind api.c the
 * runner, the runs and the plugin slot are stand-ins that accept what
 * api.c decided to ask of them: everything api.c parses and checks runs
 * for real, as do the threshold and timespan parsers, the host URL check
 * (cli.c) and the result checks (report/compare.c).
 *
 * Checked on every input: a handler answers with a status from 200 to 599,
 * and an error from /api/ is a JSON object with an "error" string.
 */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "api.h"
#include "compare.h"
#include "entry_history.h"
#include "log.h"
#include "plugin_slot.h"
#include "report.h"
#include "report_html.h"
#include "runner.h"
#include "runs.h"
#include "snapshot.h"
#include "webctx.h"

/* ---- stand-ins: a runner that is ready and takes any command ---------- */

static struct hn_snapshot snap = {.refs = 1, .state = HN_STATE_READY, .stage = -1};
static int fake_runner;

struct hn_snapshot *hn_runner_snapshot(struct hn_runner *r)
{
    (void)r;
    return &snap;
}
void hn_snapshot_release(struct hn_snapshot *s) { (void)s; }
const char *hn_state_name(enum hn_state s)
{
    static const char *const n[] = {"ready", "spawning", "running", "paused", "stopping", "stopped"};
    return (unsigned)s < 6 ? n[s] : "?";
}
const char *hn_verdict_name(enum hn_verdict v) { return v == HN_VERDICT_PASS ? "pass" : "fail"; }
enum hn_state hn_runner_state(struct hn_runner *r)
{
    (void)r;
    return HN_STATE_READY;
}
struct hn_history_point *hn_runner_history(struct hn_runner *r, size_t *n)
{
    (void)r;
    *n = 0;
    return NULL;
}
int hn_runner_start(struct hn_runner *r, uint32_t users, double rate, const char *host,
                    double run_time_s, char *err, size_t err_len)
{
    (void)r, (void)users, (void)rate, (void)host, (void)run_time_s, (void)err, (void)err_len;
    return 0;
}
int hn_runner_start_stages(struct hn_runner *r, const struct hn_stage *stages, size_t n,
                           const char *host, double run_time_s, char *err, size_t err_len)
{
    (void)r, (void)stages, (void)n, (void)host, (void)run_time_s, (void)err, (void)err_len;
    return 0;
}
int hn_runner_start_open(struct hn_runner *r, double rate, uint32_t pool_max,
                         const struct hn_stage *stages, size_t n_stages, const char *host,
                         double run_time_s, char *err, size_t err_len)
{
    (void)r, (void)rate, (void)pool_max, (void)stages, (void)n_stages, (void)host;
    (void)run_time_s, (void)err, (void)err_len;
    return 0;
}
int hn_runner_start_capacity(struct hn_runner *r, const struct hn_capacity_plan *plan,
                             uint32_t pool_max, double spawn_rate, const char *host,
                             double run_time_s, char *err, size_t err_len)
{
    (void)r, (void)plan, (void)pool_max, (void)spawn_rate, (void)host, (void)run_time_s;
    (void)err, (void)err_len;
    return 0;
}
int hn_runner_resize(struct hn_runner *r, uint32_t users, double rate, char *err, size_t n)
{
    (void)r, (void)users, (void)rate, (void)err, (void)n;
    return 0;
}
#define COMMAND(name)                                                                          \
    int name(struct hn_runner *r, char *err, size_t n)                                         \
    {                                                                                          \
        (void)r, (void)err, (void)n;                                                           \
        return 0;                                                                              \
    }
COMMAND(hn_runner_pause)
COMMAND(hn_runner_resume)
COMMAND(hn_runner_reset_stats)
int hn_runner_stop(struct hn_runner *r, const char *why, char *err, size_t n)
{
    (void)r, (void)why, (void)err, (void)n;
    return 0;
}
int hn_runner_set_thresholds(struct hn_runner *r, const struct hn_threshold *t, size_t n,
                             char *err, size_t err_len)
{
    (void)r, (void)t, (void)n, (void)err, (void)err_len;
    return 0;
}
int hn_runner_set_params(struct hn_runner *r, const char *const *names, const char *const *values,
                         size_t n, char *err, size_t err_len)
{
    (void)r, (void)names, (void)values, (void)n, (void)err, (void)err_len;
    return 0;
}
int hn_runner_choose_types(struct hn_runner *r, const struct hn_type_choice *c, size_t n,
                           char *err, size_t err_len)
{
    (void)r, (void)c, (void)n, (void)err, (void)err_len;
    return 0;
}
struct hn_entry_detail *hn_runner_entry_detail(struct hn_runner *r, const char *type,
                                               const char *name)
{
    (void)r, (void)type, (void)name;
    return NULL;
}
void hn_entry_detail_free(struct hn_entry_detail *d) { (void)d; }

json_t *hn_plugin_slot_user_types(struct hn_plugin_slot *s)
{
    (void)s;
    return json_array();
}
json_t *hn_plugin_slot_params(struct hn_plugin_slot *s)
{
    (void)s;
    return json_array();
}
json_t *hn_plugin_slot_status(struct hn_plugin_slot *s)
{
    (void)s;
    return json_object();
}
int hn_plugin_slot_reload(struct hn_plugin_slot *s, char *err, size_t err_len)
{
    (void)s;
    snprintf(err, err_len, "no plugin here");
    return -1;
}

json_t *hn_runs_list(struct hn_runs *rs)
{
    (void)rs;
    return json_array();
}
json_t *hn_runs_get(struct hn_runs *rs, long id)
{
    (void)rs, (void)id;
    return NULL;
}
/* An upload is checked as the real list checks it before keeping it. */
long hn_runs_add(struct hn_runs *rs, json_t *doc, const char *label, char *err, size_t err_len)
{
    (void)rs, (void)label;
    return hn_result_check(doc, err, err_len) == 0 ? 1 : -1;
}

json_t *hn_snapshot_to_json(const struct hn_snapshot *s)
{
    (void)s;
    return json_object();
}
json_t *hn_history_to_json(const struct hn_history_point *h, size_t n)
{
    (void)h, (void)n;
    return json_array();
}
json_t *hn_result_to_json(const struct hn_snapshot *s, const struct hn_history_point *h, size_t n,
                          const char *plugin_path, const char *version)
{
    (void)s, (void)h, (void)n, (void)plugin_path, (void)version;
    return json_object();
}
char *hn_report_html(const struct hn_snapshot *s, const struct hn_history_point *h, size_t n,
                     const struct hn_report_meta *m, size_t *len)
{
    (void)s, (void)h, (void)n, (void)m;
    if (len)
        *len = 0;
    return strdup("");
}
/* Downloads render the (empty) snapshot; not what this harness is for. */
int hn_csv_write_stats(FILE *f, const struct hn_snapshot *s) { return (void)f, (void)s, 0; }
int hn_csv_write_failures(FILE *f, const struct hn_snapshot *s) { return (void)f, (void)s, 0; }
int hn_csv_write_exceptions(FILE *f, const struct hn_snapshot *s) { return (void)f, (void)s, 0; }
int hn_prometheus_write(FILE *f, const struct hn_snapshot *s) { return (void)f, (void)s, 0; }
const char hn_prometheus_content_type[] = "text/plain";
const char hn_csv_history_header[] = "Timestamp";
/* Options only (cli.c's --http-client). */
int hn_http_client_parse(const char *text)
{
    (void)text;
    return -1;
}

/* ---- the harness ------------------------------------------------------- */

static const struct {
    const char *method, *path, *type;
} routes[] = {
    {"POST", "/api/swarm", "application/json"},
    {"POST", "/api/resize", "application/json"},
    {"POST", "/api/pause", "application/json"},
    {"POST", "/api/stop", "application/json"},
    {"POST", "/api/reset", "application/json"},
    {"POST", "/api/runs/upload", "application/json"},
    {"POST", "/api/plugin/reload", "application/json"},
    {"POST", "/swarm", "application/x-www-form-urlencoded"},
    {"POST", "/swarm", "application/x-www-form-urlencoded; charset=UTF-8"},
    {"POST", "/api/swarm", "text/plain"},
    {"GET", "/api/entry", NULL},
    {"GET", "/api/runs/compare", NULL},
    {"GET", "/api/runs/result", NULL},
    {"GET", "/stats/reset", NULL},
};
#define NROUTES (sizeof(routes) / sizeof(routes[0]))

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size == 0)
        return 0;
    size_t pick = data[0] % NROUTES;
    char *body = malloc(size);
    memcpy(body, data + 1, size - 1);
    body[size - 1] = '\0';
    /* Query arguments: the first NUL-separated pieces of the body. */
    const char *args[4] = {NULL, NULL, NULL, NULL};
    const char *p = body;
    for (int i = 0; i < 4 && p < body + size - 1; i++) {
        args[i] = p;
        p += strlen(p) + 1;
    }
    struct hn_webctx ctx = {.runner = (struct hn_runner *)&fake_runner, .plugin_path = "fuzz.c",
                            .version = "0", .max_users = 1000, .web_host = "127.0.0.1",
                            .outputs = ""};
    struct hn_api_request rq = {.ctx = &ctx, .path = routes[pick].path,
                                .content_type = routes[pick].type, .body = body,
                                .body_len = size - 1, .arg_id = args[0], .arg_base = args[0],
                                .arg_new = args[1], .arg_tolerance = args[2], .arg_type = args[0],
                                .arg_name = args[1]};
    const char *allow = NULL;
    hn_api_handler_cb fn = hn_api_route(routes[pick].method, routes[pick].path, &allow);
    if (fn == NULL)
        abort(); /* every route above exists */
    struct hn_api_reply rp = {0};
    fn(&rq, &rp);
    if (rp.status < 200 || rp.status > 599)
        abort();
    if (rp.status >= 400 && strncmp(routes[pick].path, "/api/", 5) == 0) {
        json_t *doc = json_loadb(rp.body, rp.len, 0, NULL);
        if (!json_is_string(json_object_get(doc, "error")))
            abort();
        json_decref(doc);
    }
    free(rp.body);
    free(body);
    return 0;
}
