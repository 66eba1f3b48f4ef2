/*
 * api.c: the dashboard's data routes: the JSON API (BRIEF 4.2), the CSV and
 * JSON downloads, and the aliases Locust's automation uses (POST /swarm
 * form-encoded, GET /stop, /stats/requests, ...).
 *
 * Every control route validates each field before touching the runner and
 * answers 400 {"error": "..."} naming the field; commands the runner refuses
 * in its current state answer 409 with its reason. Data routes read the
 * latest snapshot (immutable, refcounted), so they never block the engine.
 */
#include "api.h"

#include <errno.h>
#include <inttypes.h>
#include <locale.h>
#include <math.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include <jansson.h>

#include "capacity.h"
#include "entry_history.h"
#include "errbuf.h"
#include "cli.h"
#include "compare.h"
#include "log.h"
#include "plugin_slot.h"
#include "report.h"
#include "report_html.h"
#include "runs.h"
#include "textutil.h"
#include "runner.h"
#include "snapshot.h"
#include "threshold.h"
#include "webctx.h"

/* Upper bound for spawn_rate (users started per second). */
#define SPAWN_RATE_MAX 100000.0
/* Lines /api/logs returns (the Logs tab shows the last 500, as Locust). */
#define LOG_LINES 500
/* Locust's /stats/requests lists at most this many entries and errors. */
#define LOCUST_ROWS_MAX 500
/* Timespans above this are rejected, as on the command line. */
#define RUN_TIME_MAX 1e9

#define JSON_TYPE "application/json"
#define CSV_TYPE "text/csv; charset=utf-8"
#define TEXT_TYPE "text/plain; charset=utf-8"

/* Compact, and 15 significant digits so 0.1 prints as 0.1 rather than
 * jansson's default lossless 0.10000000000000001. */
#define DUMP_FLAGS (JSON_COMPACT | JSON_REAL_PRECISION(15))

/* ------------------------------------------------------------------------ */
/* Replies                                                                   */

static json_t *jreal(double v)
{
    return json_real(isfinite(v) ? v : 0.0);
}

static json_t *jcount(uint64_t v)
{
    return json_integer(v > (uint64_t)INT64_MAX ? INT64_MAX : (json_int_t)v);
}

/* json_object_set_new() takes v even on failure and ignores NULL. */
static void put(json_t *o, const char *key, json_t *v)
{
    json_object_set_new(o, key, v);
}

static void set_body(struct hn_api_reply *rp, unsigned status, const char *type, char *body,
                     size_t len)
{
    free(rp->body);
    rp->status = status;
    rp->content_type = type;
    rp->body = body;
    rp->len = len;
}

/* The last resort when memory runs out: a fixed error body. */
static void reply_oom(struct hn_api_reply *rp)
{
    static const char msg[] = "{\"error\":\"out of memory\"}";
    char *body = strdup(msg);
    rp->filename[0] = '\0';
    set_body(rp, 500, JSON_TYPE, body, body ? sizeof msg - 1 : 0);
}

/* Sends v (taken) as the JSON body. */
static void reply_json(struct hn_api_reply *rp, unsigned status, json_t *v)
{
    char *s = v != NULL ? json_dumps(v, DUMP_FLAGS) : NULL;
    json_decref(v);
    if (s == NULL) {
        reply_oom(rp);
        return;
    }
    set_body(rp, status, JSON_TYPE, s, strlen(s));
}

void hn_api_error(struct hn_api_reply *rp, unsigned status, const char *fmt, ...)
{
    /* Long enough for a compiler's output (a failed plugin reload). */
    char *msg = NULL;
    va_list ap;
    va_start(ap, fmt);
    if (vasprintf(&msg, fmt, ap) < 0)
        msg = NULL;
    va_end(ap);
    json_t *o = json_object();
    if (o != NULL)
        put(o, "error", hn_json_text(msg ? msg : "out of memory"));
    free(msg);
    rp->filename[0] = '\0';
    reply_json(rp, status, o);
}

/* Locust's error shape for its /swarm alias. */
static void locust_fail(struct hn_api_reply *rp, unsigned status, const char *msg)
{
    reply_json(rp, status, json_pack("{s:b,s:o}", "success", 0, "message", hn_json_text(msg)));
}

/* ------------------------------------------------------------------------ */
/* Reading the runner                                                        */

static struct hn_runner *runner_of(const struct hn_api_request *rq)
{
    return rq->ctx->runner;
}

/* Member key of the snapshot's JSON, so every route shows the same shapes
 * as /api/stats and the live push (report/json.c owns them). */
static json_t *snapshot_member(const struct hn_api_request *rq, const char *key)
{
    struct hn_snapshot *s = hn_runner_snapshot(runner_of(rq));
    json_t *all = hn_snapshot_to_json(s);
    hn_snapshot_release(s);
    json_t *v = json_incref(json_object_get(all, key));
    json_decref(all);
    return v;
}

/* "hornet_20240501-120000_stats.csv": the local time the run started (now
 * if it never did), like Locust's download names. */
static void download_name(struct hn_api_reply *rp, double start, const char *name, const char *ext)
{
    time_t t = start > 0 && start < 253402300800.0 ? (time_t)start : time(NULL);
    struct tm tm;
    char ts[32] = "run";
    if (localtime_r(&t, &tm) != NULL)
        strftime(ts, sizeof ts, "%Y%m%d-%H%M%S", &tm);
    snprintf(rp->filename, sizeof rp->filename, "hornet_%s_%s.%s", ts, name, ext);
}

/* Finishes a memstream and sends what was written. buf and len are the
 * memstream's: they are only final after fclose. */
static void reply_stream(struct hn_api_reply *rp, FILE *f, char **buf, size_t *len, int rc,
                         const char *type)
{
    if (fclose(f) != 0 || rc != 0 || *buf == NULL) {
        free(*buf);
        hn_api_error(rp, 500, "could not build the download");
        return;
    }
    set_body(rp, 200, type, *buf, *len);
}

typedef int (*snapshot_writer)(FILE *f, const struct hn_snapshot *s);

/* The latest snapshot through w; a download named name (NULL: shown inline). */
static void render_snapshot(const struct hn_api_request *rq, struct hn_api_reply *rp,
                            snapshot_writer w, const char *name, const char *type)
{
    struct hn_snapshot *s = hn_runner_snapshot(runner_of(rq));
    char *buf = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&buf, &len);
    if (f == NULL) {
        hn_snapshot_release(s);
        reply_oom(rp);
        return;
    }
    int rc = w(f, s);
    if (name)
        download_name(rp, s->start_time, name, "csv");
    hn_snapshot_release(s);
    reply_stream(rp, f, &buf, &len, rc, type);
}

static void csv_download(const struct hn_api_request *rq, struct hn_api_reply *rp,
                         snapshot_writer w, const char *name)
{
    render_snapshot(rq, rp, w, name, CSV_TYPE);
}

/* ------------------------------------------------------------------------ */
/* Request bodies and field validation                                       */

/* True when the Content-Type's media type is want (parameters such as
 * "; charset=utf-8" and case are ignored). */
static bool media_type_is(const char *ct, const char *want)
{
    if (ct == NULL)
        return false;
    while (*ct == ' ' || *ct == '\t')
        ct++;
    size_t n = strcspn(ct, "; \t");
    return n == strlen(want) && strncasecmp(ct, want, n) == 0;
}

/* The body of a JSON control route as an object (new reference). An empty
 * body counts as {}. On error fills rp and returns NULL. */
static json_t *json_body(const struct hn_api_request *rq, struct hn_api_reply *rp)
{
    if (rq->body_len == 0)
        return json_object();
    if (!media_type_is(rq->content_type, JSON_TYPE)) {
        hn_api_error(rp, 415, "Content-Type must be application/json");
        return NULL;
    }
    json_error_t e;
    json_t *o = json_loadb(rq->body, rq->body_len, JSON_DECODE_ANY | JSON_REJECT_DUPLICATES, &e);
    if (o == NULL) {
        hn_api_error(rp, 400, "invalid JSON: %s", e.text);
        return NULL;
    }
    if (!json_is_object(o)) {
        json_decref(o);
        hn_api_error(rp, 400, "the body must be a JSON object");
        return NULL;
    }
    return o;
}

/* Refuses members not in allowed (NULL-terminated), so a typo ("usrs")
 * is an error rather than a silently ignored field. */
static int check_fields(json_t *o, const char *const *allowed, struct hn_api_reply *rp)
{
    const char *key;
    json_t *v;
    json_object_foreach (o, key, v) {
        bool ok = false;
        for (const char *const *a = allowed; *a != NULL && !ok; a++)
            ok = strcmp(*a, key) == 0;
        if (!ok) {
            hn_api_error(rp, 400, "unknown field \"%.100s\"", key);
            return -1;
        }
    }
    return 0;
}

static int get_users(const struct hn_api_request *rq, json_t *o, uint32_t *out,
                     struct hn_api_reply *rp)
{
    json_t *v = json_object_get(o, "users");
    uint32_t max = rq->ctx->max_users;
    if (v == NULL) {
        hn_api_error(rp, 400, "users is required");
        return -1;
    }
    json_int_t n = json_is_integer(v) ? json_integer_value(v) : -1;
    if (n < 0 || (uint64_t)n > max) {
        hn_api_error(rp, 400, "users must be an integer from 0 to %" PRIu32, max);
        return -1;
    }
    *out = (uint32_t)n;
    return 0;
}

/* spawn_rate: a number > 0 (at most SPAWN_RATE_MAX). When absent, *out is
 * left alone unless required. */
static int get_spawn_rate(json_t *o, bool required, double *out, struct hn_api_reply *rp)
{
    json_t *v = json_object_get(o, "spawn_rate");
    if (v == NULL) {
        if (!required)
            return 0;
        hn_api_error(rp, 400, "spawn_rate is required");
        return -1;
    }
    double r = json_is_number(v) ? json_number_value(v) : -1.0;
    if (!(r > 0) || !isfinite(r)) {
        hn_api_error(rp, 400, "spawn_rate must be a number > 0");
        return -1;
    }
    if (r > SPAWN_RATE_MAX) {
        hn_api_error(rp, 400, "spawn_rate must be at most %.0f", SPAWN_RATE_MAX);
        return -1;
    }
    *out = r;
    return 0;
}

/* host: a base URL; absent, null or "" keeps the configured host (*out NULL). */
static int get_host(json_t *o, const char **out, struct hn_api_reply *rp)
{
    json_t *v = json_object_get(o, "host");
    *out = NULL;
    if (v == NULL || json_is_null(v))
        return 0;
    if (!json_is_string(v)) {
        hn_api_error(rp, 400, "host: expected a URL string like http://example.com");
        return -1;
    }
    const char *s = json_string_value(v);
    if (*s == '\0')
        return 0;
    char why[256];
    if (hn_validate_host_url(s, why, sizeof why) != 0) {
        hn_api_error(rp, 400, "host: %s", why);
        return -1;
    }
    *out = s;
    return 0;
}

static const char run_time_msg[] = "run_time: expected a timespan like 30s, 5m or 1h30m";

/* run_time: a timespan string or a number of seconds >= 0; absent, null or
 * "" means no limit (0). */
static int get_run_time(json_t *o, double *out, struct hn_api_reply *rp)
{
    json_t *v = json_object_get(o, "run_time");
    double t = 0;
    if (json_is_string(v)) {
        const char *s = json_string_value(v);
        if (*s != '\0' && hn_parse_timespan(s, &t) != 0)
            t = -1;
    } else if (json_is_number(v)) {
        t = json_number_value(v);
    } else if (v != NULL && !json_is_null(v)) {
        t = -1;
    }
    if (!(t >= 0) || t > RUN_TIME_MAX) {
        hn_api_error(rp, 400, "%s", run_time_msg);
        return -1;
    }
    *out = t;
    return 0;
}

/* "stages": a load profile, as objects {"duration": "30s" or seconds,
 * "users": N} or strings "30s:100". *n is 0 when the field is absent. */
static int get_stages(const struct hn_api_request *rq, json_t *o, struct hn_stage *out,
                      size_t *n, struct hn_api_reply *rp)
{
    json_t *v = json_object_get(o, "stages");
    *n = 0;
    if (v == NULL || json_is_null(v))
        return 0;
    if (!json_is_array(v) || json_array_size(v) == 0 || json_array_size(v) > HN_MAX_STAGES) {
        hn_api_error(rp, 400, "stages must be an array of 1 to %d stages like "
                              "{\"duration\": \"30s\", \"users\": 100} or \"30s:100\"",
                     HN_MAX_STAGES);
        return -1;
    }
    double total = 0;
    for (size_t i = 0; i < json_array_size(v); i++) {
        json_t *e = json_array_get(v, i);
        char why[256];
        if (json_is_string(e)) {
            if (strlen(json_string_value(e)) != json_string_length(e) ||
                hn_stage_parse(json_string_value(e), &out[i], rq->ctx->max_users, why,
                               sizeof why) != 0) {
                hn_api_error(rp, 400, "stages[%zu]: %s", i,
                             strlen(json_string_value(e)) != json_string_length(e)
                                 ? "NUL bytes are not allowed"
                                 : why);
                return -1;
            }
        } else if (json_is_object(e)) {
            json_t *d = json_object_get(e, "duration"), *u = json_object_get(e, "users");
            double secs = -1;
            if (json_is_string(d)) {
                if (hn_parse_timespan(json_string_value(d), &secs) != 0)
                    secs = -1;
            } else if (json_is_number(d)) {
                secs = json_number_value(d);
            }
            json_int_t users = json_is_integer(u) ? json_integer_value(u) : -1;
            if (json_object_size(e) != 2 || !(secs >= 0) || secs > RUN_TIME_MAX) {
                hn_api_error(rp, 400, "stages[%zu]: expected {\"duration\": \"30s\" (a timespan "
                                      "or seconds), \"users\": N}", i);
                return -1;
            }
            if (users < 0 || (uint64_t)users > rq->ctx->max_users) {
                hn_api_error(rp, 400, "stages[%zu]: users must be an integer from 0 to %" PRIu32,
                             i, rq->ctx->max_users);
                return -1;
            }
            out[i].duration_s = secs;
            out[i].users = (uint32_t)users;
        } else {
            hn_api_error(rp, 400, "stages[%zu] must be {\"duration\": \"30s\", \"users\": N} "
                                  "or \"30s:100\"", i);
            return -1;
        }
        total += out[i].duration_s;
    }
    if (!(total > 0)) {
        hn_api_error(rp, 400, "stages last 0 s in all: give at least one a duration");
        return -1;
    }
    *n = json_array_size(v);
    return 0;
}

#define THRESHOLDS_MAX 100

/* "thresholds": an array of expressions (engine/threshold.h). *present is
 * false when the field is absent or null (the run keeps the thresholds it
 * has); each expression is checked and named in the 400. */
static int get_thresholds(json_t *o, struct hn_threshold **out, size_t *n, bool *present,
                          struct hn_api_reply *rp)
{
    json_t *v = json_object_get(o, "thresholds");
    *out = NULL;
    *n = 0;
    *present = v != NULL && !json_is_null(v);
    if (!*present)
        return 0;
    if (!json_is_array(v) || json_array_size(v) > THRESHOLDS_MAX) {
        hn_api_error(rp, 400, "thresholds must be an array of at most %d expressions like "
                              "\"p95<300ms\"", THRESHOLDS_MAX);
        return -1;
    }
    size_t count = json_array_size(v);
    struct hn_threshold *t = count ? calloc(count, sizeof *t) : NULL;
    if (count && t == NULL) {
        reply_oom(rp);
        return -1;
    }
    for (size_t i = 0; i < count; i++) {
        json_t *e = json_array_get(v, i);
        char why[256];
        if (!json_is_string(e) || strlen(json_string_value(e)) != json_string_length(e)) {
            hn_api_error(rp, 400, "thresholds[%zu] must be a string like \"p95<300ms\"", i);
            hn_thresholds_free(t, count);
            return -1;
        }
        if (hn_threshold_parse(json_string_value(e), &t[i], why, sizeof why) != 0) {
            hn_api_error(rp, 400, "thresholds[%zu]: %s", i, why);
            hn_thresholds_free(t, count);
            return -1;
        }
    }
    *out = t;
    *n = count;
    return 0;
}

/* Answers a runner command: 200 {"ok":true,"state":...}, 400 for a bad
 * argument, 409 when the state forbids it. */
static void command_reply(const struct hn_api_request *rq, struct hn_api_reply *rp, int rc,
                          const char *err)
{
    if (rc == 0) {
        const char *st = hn_state_name(hn_runner_state(runner_of(rq)));
        reply_json(rp, 200, json_pack("{s:b,s:s}", "ok", 1, "state", st));
    } else if (rc == -EINVAL) {
        hn_api_error(rp, 400, "%s", err);
    } else if (rc == -EBUSY) {
        hn_api_error(rp, 409, "%s", err);
    } else {
        hn_api_error(rp, 500, "%s", *err ? err : strerror(-rc));
    }
}

/* ------------------------------------------------------------------------ */
/* Control: POST /api/...                                                    */

/* "arrival_rate": iterations per second (the open model), or 0 when absent. */
static int get_arrival_rate(json_t *o, double *out, struct hn_api_reply *rp)
{
    json_t *v = json_object_get(o, "arrival_rate");
    *out = 0;
    if (v == NULL || json_is_null(v))
        return 0;
    double r = json_is_number(v) ? json_number_value(v) : -1;
    if (!(r > 0) || r > 1e6) {
        hn_api_error(rp, 400, "arrival_rate must be a number of iterations per second > 0 "
                              "(at most 1000000)");
        return -1;
    }
    *out = r;
    return 0;
}

/* "find_capacity": true, or {"step": N, "hold": "10s" or seconds}: a
 * capacity search (*on false when absent); the step defaults to the first
 * load, the hold to 10 s. */
static int get_capacity(json_t *o, bool *on, double *step, double *hold, struct hn_api_reply *rp)
{
    static const char msg[] = "find_capacity must be true or {step: load added per step > 0, "
                              "hold: time each step is held > 0, like \"10s\"}";
    json_t *v = json_object_get(o, "find_capacity");
    *on = false;
    *step = 0;
    *hold = 10;
    if (v == NULL || json_is_null(v) || json_is_false(v))
        return 0;
    if (!json_is_true(v) && !json_is_object(v)) {
        hn_api_error(rp, 400, "%s", msg);
        return -1;
    }
    const char *key;
    json_t *val;
    json_object_foreach(json_is_object(v) ? v : NULL, key, val) {
        if (strcmp(key, "step") == 0) {
            *step = json_is_number(val) ? json_number_value(val) : -1;
            if (!(*step > 0) || *step > 1e6) {
                hn_api_error(rp, 400, "%s", msg);
                return -1;
            }
        } else if (strcmp(key, "hold") == 0) {
            double t = -1;
            if (json_is_number(val))
                t = json_number_value(val);
            else if (json_is_string(val) && hn_parse_timespan(json_string_value(val), &t) != 0)
                t = -1;
            if (!(t > 0) || t > RUN_TIME_MAX) {
                hn_api_error(rp, 400, "%s", msg);
                return -1;
            }
            *hold = t;
        } else {
            hn_api_error(rp, 400, "find_capacity: unknown field '%.40s' (step, hold)", key);
            return -1;
        }
    }
    *on = true;
    return 0;
}

/* "user_types": the picker, [{name, weight?, fixed_count?, host?, tasks?: [names]}].
 * *n is 0 when absent; strings point into o. Checked against the plugin by
 * hn_runner_choose_types. */
static int get_user_types(json_t *o, struct hn_type_choice **out, size_t *n, bool *given,
                          struct hn_api_reply *rp)
{
    static const char msg[] = "user_types must be a list of {name, weight?, fixed_count?, host?, "
                              "tasks?: [task names]}";
    json_t *v = json_object_get(o, "user_types");
    *out = NULL;
    *n = 0;
    *given = v != NULL && !json_is_null(v);
    if (!*given)
        return 0;
    if (!json_is_array(v) || json_array_size(v) == 0 || json_array_size(v) > 1000) {
        hn_api_error(rp, 400, "%s (at least one)", msg);
        return -1;
    }
    struct hn_type_choice *c = calloc(json_array_size(v), sizeof *c);
    if (c == NULL) {
        reply_oom(rp);
        return -1;
    }
    size_t i;
    json_t *e;
    json_array_foreach(v, i, e) {
        json_t *w = json_object_get(e, "weight"), *f = json_object_get(e, "fixed_count");
        json_t *h = json_object_get(e, "host"), *t = json_object_get(e, "tasks");
        c[i].name = json_string_value(json_object_get(e, "name"));
        c[i].weight = json_is_integer(w) ? json_integer_value(w) : w && !json_is_null(w) ? -2 : -1;
        c[i].fixed_count = json_is_integer(f) ? json_integer_value(f)
                           : f && !json_is_null(f) ? -2 : -1;
        c[i].host = json_string_value(h);
        bool bad = !json_is_object(e) || c[i].name == NULL || c[i].weight < -1 ||
                   c[i].weight > 1000000 || c[i].fixed_count < -1 || c[i].fixed_count > 1000000 ||
                   (h && !json_is_null(h) && !json_is_string(h)) ||
                   (t && !json_is_null(t) && !json_is_array(t));
        const char *key;
        json_t *val;
        json_object_foreach(json_is_object(e) ? e : NULL, key, val)
            bad = bad || (strcmp(key, "name") && strcmp(key, "weight") && strcmp(key, "fixed_count") &&
                          strcmp(key, "host") && strcmp(key, "tasks"));
        if (!bad && json_is_array(t)) {
            const char **names = calloc(json_array_size(t) + 1, sizeof *names);
            for (size_t k = 0; names && k < json_array_size(t); k++)
                bad = bad || (names[k] = json_string_value(json_array_get(t, k))) == NULL;
            c[i].tasks = names;
        }
        if (bad) {
            hn_api_error(rp, 400, "%s; entry %zu is not", msg, i + 1);
            for (size_t k = 0; k <= i; k++)
                free((void *)c[k].tasks);
            free(c);
            return -1;
        }
    }
    *out = c;
    *n = json_array_size(v);
    return 0;
}

/* "params": {NAME: value} (text, numbers and booleans as text), set on
 * the runner for the next run; checked by hn_runner_set_params. */
static int set_params(struct hn_runner *r, json_t *o, bool *given, char *err, size_t err_len)
{
    json_t *v = json_object_get(o, "params");
    *given = v != NULL && !json_is_null(v);
    if (!*given)
        return 0;
    if (!json_is_object(v) || json_object_size(v) > 256) {
        hn_set_err(err, err_len, "params must be an object {NAME: value}");
        return -EINVAL;
    }
    size_t n = json_object_size(v), i = 0;
    const char **names = calloc(n ? n : 1, sizeof *names), **values = calloc(n ? n : 1, sizeof *values);
    char (*texts)[64] = calloc(n ? n : 1, sizeof *texts);
    int rc = names && values && texts ? 0 : -ENOMEM;
    const char *key;
    json_t *val;
    json_object_foreach(v, key, val) {
        if (rc != 0)
            break;
        names[i] = key;
        values[i] = texts[i];
        if (json_is_string(val)) {
            values[i] = json_string_value(val);
        } else if (json_is_integer(val)) {
            snprintf(texts[i], sizeof texts[i], "%lld", (long long)json_integer_value(val));
        } else if (json_is_real(val)) {
            snprintf(texts[i], sizeof texts[i], "%.17g", json_real_value(val));
        } else if (json_is_boolean(val)) {
            values[i] = json_is_true(val) ? "true" : "false";
        } else {
            hn_set_err(err, err_len, "params: '%.60s' must be text, a number or true/false", key);
            rc = -EINVAL;
        }
        i++;
    }
    if (rc == 0)
        rc = hn_runner_set_params(r, names, values, n, err, err_len);
    free(names);
    free(values);
    free(texts);
    return rc;
}

static void free_user_types(struct hn_type_choice *c, size_t n)
{
    for (size_t i = 0; i < n; i++)
        free((void *)c[i].tasks);
    free(c);
}

static void api_swarm(const struct hn_api_request *rq, struct hn_api_reply *rp)
{
    static const char *const fields[] = {"users",        "spawn_rate",    "host",
                                         "run_time",     "thresholds",    "stages",
                                         "arrival_rate", "find_capacity", "user_types",
                                         "params",       NULL};
    json_t *o = json_body(rq, rp);
    if (o == NULL)
        return;
    uint32_t users = 0;
    double rate = 0, run_time = 0, arrival = 0;
    const char *host;
    struct hn_threshold *thresholds = NULL;
    size_t n_thresholds = 0, n_stages = 0;
    bool set_thresholds = false, capacity, types_given = false;
    double cap_step, cap_hold;
    struct hn_type_choice *types = NULL;
    size_t n_types = 0;
    struct hn_stage stages[HN_MAX_STAGES];
    if (check_fields(o, fields, rp) != 0 || get_stages(rq, o, stages, &n_stages, rp) != 0 ||
        get_arrival_rate(o, &arrival, rp) != 0 ||
        get_capacity(o, &capacity, &cap_step, &cap_hold, rp) != 0 ||
        get_user_types(o, &types, &n_types, &types_given, rp) != 0)
        goto out;
    if (capacity && n_stages > 0) {
        hn_api_error(rp, 400, "find_capacity sets the load itself: give no stages");
        goto out;
    }
    bool open = arrival > 0;
    if (open && json_object_get(o, "spawn_rate")) {
        hn_api_error(rp, 400, "give either spawn_rate or arrival_rate (the open model starts "
                              "iterations, not users)");
        goto out;
    }
    if (!open && n_stages > 0 && (json_object_get(o, "users") || json_object_get(o, "spawn_rate"))) {
        hn_api_error(rp, 400, "give either users and spawn_rate, or stages (they set the users)");
        goto out;
    }
    /* Open model: users is the pool's maximum; stages, if any, give the rate. */
    if ((open ? get_users(rq, o, &users, rp) == 0
              : n_stages > 0 || (get_users(rq, o, &users, rp) == 0 &&
                                 get_spawn_rate(o, true, &rate, rp) == 0)) &&
        get_host(o, &host, rp) == 0 && get_run_time(o, &run_time, rp) == 0 &&
        get_thresholds(o, &thresholds, &n_thresholds, &set_thresholds, rp) == 0) {
        char err[512] = "";
        struct hn_runner *r = runner_of(rq);
        enum hn_state st = hn_runner_state(r);
        if (st == HN_STATE_READY || st == HN_STATE_STOPPED) {
            /* Each new run starts from the types it is given (all of them
             * when none are): as Locust's class picker. */
            bool params_given;
            int rc = hn_runner_choose_types(r, types, n_types, err, sizeof err);
            if (rc == 0)
                rc = set_params(r, o, &params_given, err, sizeof err);
            if (rc != 0) {
                command_reply(rq, rp, rc, err);
                goto out;
            }
        } else if (types_given || json_object_get(o, "params")) {
            hn_api_error(rp, 409, "the user types and parameters are chosen for a new run: stop "
                                  "the %s swarm first", hn_state_name(st));
            goto out;
        }
        if (capacity) {
            /* The search judges every step: its thresholds come first. */
            int rc = set_thresholds ? hn_runner_set_thresholds(r, thresholds, n_thresholds, err,
                                                               sizeof err)
                                    : 0;
            struct hn_capacity_plan plan = {.open = open, .start = open ? arrival : users,
                                            .hold_s = cap_hold};
            plan.step = cap_step > 0 ? cap_step : plan.start;
            if (rc == 0)
                rc = hn_runner_start_capacity(r, &plan, users, rate > 0 ? rate : 1, host,
                                              run_time, err, sizeof err);
            command_reply(rq, rp, rc, err);
            goto out;
        }
        int rc = open ? hn_runner_start_open(r, arrival, users, stages, n_stages, host, run_time,
                                             err, sizeof err)
                 : n_stages > 0
                     ? hn_runner_start_stages(r, stages, n_stages, host, run_time, err, sizeof err)
                     : hn_runner_start(r, users, rate, host, run_time, err, sizeof err);
        /* Only a run that starts (or a swarm that resizes) takes them. */
        if (rc == 0 && set_thresholds)
            rc = hn_runner_set_thresholds(r, thresholds, n_thresholds, err, sizeof err);
        command_reply(rq, rp, rc, err);
    }
out:
    hn_thresholds_free(thresholds, n_thresholds);
    free_user_types(types, n_types);
    json_decref(o);
}

static void api_resize(const struct hn_api_request *rq, struct hn_api_reply *rp)
{
    static const char *const fields[] = {"users", "spawn_rate", NULL};
    json_t *o = json_body(rq, rp);
    if (o == NULL)
        return;
    uint32_t users;
    double rate = 0; /* 0 keeps the current rate */
    if (check_fields(o, fields, rp) == 0 && get_users(rq, o, &users, rp) == 0 &&
        get_spawn_rate(o, false, &rate, rp) == 0) {
        char err[256] = "";
        int rc = hn_runner_resize(runner_of(rq), users, rate, err, sizeof err);
        command_reply(rq, rp, rc, err);
    }
    json_decref(o);
}

enum simple_cmd { CMD_PAUSE, CMD_RESUME, CMD_STOP, CMD_RESET };

/* The commands without arguments: the body may be empty or {}. */
static void simple_command(const struct hn_api_request *rq, struct hn_api_reply *rp,
                           enum simple_cmd cmd)
{
    static const char *const none[] = {NULL};
    json_t *o = json_body(rq, rp);
    if (o == NULL)
        return;
    if (check_fields(o, none, rp) == 0) {
        char err[256] = "";
        struct hn_runner *r = runner_of(rq);
        int rc = 0;
        switch (cmd) {
        case CMD_PAUSE:
            rc = hn_runner_pause(r, err, sizeof err);
            break;
        case CMD_RESUME:
            rc = hn_runner_resume(r, err, sizeof err);
            break;
        case CMD_STOP:
            rc = hn_runner_stop(r, "stopped from the dashboard", err, sizeof err);
            break;
        case CMD_RESET:
            rc = hn_runner_reset_stats(r, err, sizeof err);
            break;
        }
        command_reply(rq, rp, rc, err);
    }
    json_decref(o);
}

static void api_pause(const struct hn_api_request *rq, struct hn_api_reply *rp)
{
    simple_command(rq, rp, CMD_PAUSE);
}

static void api_resume(const struct hn_api_request *rq, struct hn_api_reply *rp)
{
    simple_command(rq, rp, CMD_RESUME);
}

static void api_stop(const struct hn_api_request *rq, struct hn_api_reply *rp)
{
    simple_command(rq, rp, CMD_STOP);
}

static void api_reset(const struct hn_api_request *rq, struct hn_api_reply *rp)
{
    simple_command(rq, rp, CMD_RESET);
}

/* ------------------------------------------------------------------------ */
/* Data: GET /api/...                                                        */

static void api_config(const struct hn_api_request *rq, struct hn_api_reply *rp)
{
    const struct hn_webctx *c = rq->ctx;
    json_t *o = json_object();
    if (o == NULL) {
        reply_oom(rp);
        return;
    }
    put(o, "version", hn_json_text_or_null(c->version));
    put(o, "plugin", hn_json_text_or_null(c->plugin_path));
    put(o, "default_host", hn_json_text_or_null(c->default_host));
    put(o, "default_users", json_integer(c->default_users));
    put(o, "default_spawn_rate", jreal(c->default_spawn_rate));
    put(o, "default_run_time", jreal(c->default_run_time));
    put(o, "default_stages", hn_json_text_or_null(c->default_stages));
    put(o, "max_users", json_integer(c->max_users));
    json_t *types = c->plugin ? hn_plugin_slot_user_types(c->plugin) : NULL;
    json_t *params = c->plugin ? hn_plugin_slot_params(c->plugin) : NULL;
    put(o, "user_types", types ? types : json_array());
    put(o, "params", params ? params : json_array());
    put(o, "plugin_status", c->plugin ? hn_plugin_slot_status(c->plugin) : json_null());
    /* Where else the numbers are: scraped from /metrics, pushed by outputs/. */
    put(o, "integrations", json_pack("{s:s,s:o}", "prometheus", "/metrics", "pushing",
                                     hn_json_text(c->outputs ? c->outputs : "")));
    reply_json(rp, 200, o);
}

/* GET /api/plugin: has the file changed since it was loaded, and how did
 * the last reload go. */
static void api_plugin(const struct hn_api_request *rq, struct hn_api_reply *rp)
{
    json_t *o = rq->ctx->plugin ? hn_plugin_slot_status(rq->ctx->plugin) : NULL;
    if (o == NULL) {
        hn_api_error(rp, 404, "no plugin");
        return;
    }
    reply_json(rp, 200, o);
}

/* POST /api/plugin/reload: compile and load the file again, between runs.
 * A compile error is a 422 with the compiler's output; the old plugin stays. */
static void api_plugin_reload(const struct hn_api_request *rq, struct hn_api_reply *rp)
{
    char err[16384];
    int rc = rq->ctx->plugin ? hn_plugin_slot_reload(rq->ctx->plugin, err, sizeof err) : -EPERM;
    if (rc == -EBUSY || rc == -EPERM) {
        hn_api_error(rp, 409, "%s", rq->ctx->plugin ? err : "no plugin");
        return;
    }
    if (rc != 0) {
        hn_api_error(rp, 422, "%s", err);
        return;
    }
    json_t *o = json_object();
    if (o == NULL) {
        reply_oom(rp);
        return;
    }
    put(o, "reloaded", json_true());
    put(o, "plugin", hn_plugin_slot_status(rq->ctx->plugin));
    put(o, "user_types", hn_plugin_slot_user_types(rq->ctx->plugin));
    put(o, "params", hn_plugin_slot_params(rq->ctx->plugin));
    reply_json(rp, 200, o);
}

static void api_state(const struct hn_api_request *rq, struct hn_api_reply *rp)
{
    struct hn_runner *r = runner_of(rq);
    struct hn_snapshot *s = hn_runner_snapshot(r);
    json_t *o = json_object();
    if (o != NULL) {
        /* The runner's own state is fresher than the last snapshot's. */
        put(o, "state", json_string(hn_state_name(hn_runner_state(r))));
        put(o, "host", hn_json_text_or_null(s->host));
        put(o, "users", json_integer(s->users));
        put(o, "target_users", json_integer(s->target_users));
        put(o, "spawn_rate", jreal(s->spawn_rate));
        put(o, "run_time_s", jreal(s->run_time_s));
        put(o, "start_time", jreal(s->start_time));
        put(o, "end_time", jreal(s->end_time));
        put(o, "stop_reason", hn_json_text_or_null(s->stop_reason));
    }
    hn_snapshot_release(s);
    reply_json(rp, 200, o);
}

static void api_stats(const struct hn_api_request *rq, struct hn_api_reply *rp)
{
    struct hn_snapshot *s = hn_runner_snapshot(runner_of(rq));
    json_t *o = hn_snapshot_to_json(s);
    hn_snapshot_release(s);
    reply_json(rp, 200, o);
}

/* Distributed mode: the workers, as in the snapshot. */
/* ------------------------------------------------------------------------ */
/* The session's runs: list, results, uploads, comparisons                   */

static bool arg_id(const char *v, long *out)
{
    char *end;
    long n = v ? strtol(v, &end, 10) : 0;
    if (v == NULL || *v == '\0' || *end != '\0' || n <= 0)
        return false;
    *out = n;
    return true;
}

static void api_runs(const struct hn_api_request *rq, struct hn_api_reply *rp)
{
    json_t *list = rq->ctx->runs ? hn_runs_list(rq->ctx->runs) : json_array();
    reply_json(rp, 200, json_pack("{s:o, s:i}", "runs", list ? list : json_array(), "kept",
                                  HN_RUNS_KEPT));
}

/* POST /api/runs: a JSON result (an earlier run's) to compare or overlay. */
static void api_runs_upload(const struct hn_api_request *rq, struct hn_api_reply *rp)
{
    if (rq->ctx->runs == NULL) {
        hn_api_error(rp, 404, "this hornet keeps no runs");
        return;
    }
    json_t *doc = json_body(rq, rp);
    if (doc == NULL)
        return;
    char err[256];
    const json_t *run = json_object_get(doc, "run");
    char label[96] = "uploaded";
    const char *host = json_string_value(json_object_get(run, "host"));
    if (host && *host)
        snprintf(label, sizeof label, "uploaded (%.80s)", host);
    long id = hn_runs_add(rq->ctx->runs, doc, label, err, sizeof err);
    json_decref(doc);
    if (id < 0)
        hn_api_error(rp, 400, "%s", err);
    else
        reply_json(rp, 200, json_pack("{s:b, s:I}", "ok", 1, "id", (json_int_t)id));
}

static void api_run_result(const struct hn_api_request *rq, struct hn_api_reply *rp)
{
    long id;
    json_t *doc = NULL;
    if (!arg_id(rq->arg_id, &id)) {
        hn_api_error(rp, 400, "give the run's number: ?id=N (GET /api/runs lists them)");
        return;
    }
    if (rq->ctx->runs == NULL || (doc = hn_runs_get(rq->ctx->runs, id)) == NULL) {
        hn_api_error(rp, 404, "no run %ld (this session keeps the last %d)", id, HN_RUNS_KEPT);
        return;
    }
    if (rq->download != NULL)
        snprintf(rp->filename, sizeof rp->filename, "hornet-run-%ld.json", id);
    reply_json(rp, 200, doc);
}

static void api_runs_compare(const struct hn_api_request *rq, struct hn_api_reply *rp)
{
    long base_id, new_id;
    double tolerance = 0.1;
    if (!arg_id(rq->arg_base, &base_id) || !arg_id(rq->arg_new, &new_id)) {
        hn_api_error(rp, 400, "give two runs: ?base=N&new=M (GET /api/runs lists them)");
        return;
    }
    if (rq->arg_tolerance != NULL && hn_parse_tolerance(rq->arg_tolerance, &tolerance) != 0) {
        hn_api_error(rp, 400, "tolerance must be a percentage like 10%% (or a fraction like 0.1)");
        return;
    }
    json_t *base = rq->ctx->runs ? hn_runs_get(rq->ctx->runs, base_id) : NULL;
    json_t *cur = rq->ctx->runs ? hn_runs_get(rq->ctx->runs, new_id) : NULL;
    if (base == NULL || cur == NULL) {
        hn_api_error(rp, 404, "no run %ld (this session keeps the last %d)",
                     base == NULL ? base_id : new_id, HN_RUNS_KEPT);
    } else {
        reply_json(rp, 200, hn_compare_results(base, cur, tolerance));
    }
    json_decref(base);
    json_decref(cur);
}

/* GET /api/entry?type=GET&name=/cart: one entry's own history and its
 * response-time distribution (the drill-down). */
static void api_entry(const struct hn_api_request *rq, struct hn_api_reply *rp)
{
    if (rq->arg_type == NULL || rq->arg_name == NULL) {
        hn_api_error(rp, 400, "give the entry: ?type=GET&name=/path (as in /api/stats)");
        return;
    }
    struct hn_entry_detail *d = hn_runner_entry_detail(runner_of(rq), rq->arg_type, rq->arg_name);
    if (d == NULL) {
        reply_oom(rp);
        return;
    }
    if (!d->found) {
        hn_api_error(rp, 404, "no entry '%.20s %.200s' in this run", rq->arg_type, rq->arg_name);
        hn_entry_detail_free(d);
        return;
    }
    json_t *history = json_array(), *dist = json_array();
    for (size_t i = 0; history && i < d->n_points; i++) {
        const struct hn_entry_point *p = &d->points[i];
        json_array_append_new(history, json_pack("{s:o,s:o,s:o,s:o,s:o,s:o}", "time",
                                                 jreal(p->time), "rps", jreal(p->rps), "fail_s",
                                                 jreal(p->fail_s), "p50_ms", jreal(p->p50_ms),
                                                 "p95_ms", jreal(p->p95_ms), "p99_ms",
                                                 jreal(p->p99_ms)));
    }
    for (size_t i = 0; dist && i < d->n_bins; i++)
        json_array_append_new(dist, json_pack("{s:o,s:I}", "le_ms",
                                              jreal((double)d->bin_upper_us[i] / 1000.0), "count",
                                              (json_int_t)d->bin_count[i]));
    reply_json(rp, 200, json_pack("{s:o,s:o,s:I,s:I,s:o,s:o}", "type", hn_json_text(rq->arg_type),
                                  "name", hn_json_text(rq->arg_name), "requests",
                                  (json_int_t)d->requests, "failures", (json_int_t)d->failures,
                                  "history", history ? history : json_array(), "distribution",
                                  dist ? dist : json_array()));
    hn_entry_detail_free(d);
}

static void api_workers(const struct hn_api_request *rq, struct hn_api_reply *rp)
{
    struct hn_snapshot *s = hn_runner_snapshot(runner_of(rq));
    json_t *o = hn_snapshot_to_json(s);
    hn_snapshot_release(s);
    json_t *w = o ? json_pack("{s:O, s:O, s:O}", "distributed", json_object_get(o, "distributed"),
                              "worker_count", json_object_get(o, "worker_count"), "workers",
                              json_object_get(o, "workers"))
                  : NULL;
    json_decref(o);
    reply_json(rp, 200, w);
}

static void api_history(const struct hn_api_request *rq, struct hn_api_reply *rp)
{
    size_t n = 0;
    struct hn_history_point *h = hn_runner_history(runner_of(rq), &n);
    json_t *a = hn_history_to_json(h, n);
    free(h);
    reply_json(rp, 200, a);
}

/* {"<key>": <the snapshot's member key>} */
static void member_route(const struct hn_api_request *rq, struct hn_api_reply *rp, const char *key,
                         const char *member)
{
    json_t *v = snapshot_member(rq, member);
    if (v == NULL)
        v = json_array();
    reply_json(rp, 200, json_pack("{s:o}", key, v));
}

static void api_failures(const struct hn_api_request *rq, struct hn_api_reply *rp)
{
    member_route(rq, rp, "errors", "errors");
}

static void api_exceptions(const struct hn_api_request *rq, struct hn_api_reply *rp)
{
    member_route(rq, rp, "exceptions", "exceptions");
}

static void api_ratio(const struct hn_api_request *rq, struct hn_api_reply *rp)
{
    member_route(rq, rp, "ratios", "ratios");
}

/* The last LOG_LINES log lines as a JSON array. */
static json_t *log_lines(void)
{
    char *lines[LOG_LINES];
    size_t n = hn_log_recent(lines, LOG_LINES);
    json_t *a = json_array();
    for (size_t i = 0; i < n; i++) {
        if (a != NULL)
            json_array_append_new(a, hn_json_text(lines[i]));
        free(lines[i]);
    }
    return a;
}

static void api_logs(const struct hn_api_request *rq, struct hn_api_reply *rp)
{
    (void)rq;
    reply_json(rp, 200, json_pack("{s:o}", "lines", log_lines()));
}

/* ------------------------------------------------------------------------ */
/* Downloads                                                                 */

/* Prometheus scrapes this (report/prometheus.c). */
static void metrics(const struct hn_api_request *rq, struct hn_api_reply *rp)
{
    render_snapshot(rq, rp, hn_prometheus_write, NULL, hn_prometheus_content_type);
}

static void dl_stats(const struct hn_api_request *rq, struct hn_api_reply *rp)
{
    csv_download(rq, rp, hn_csv_write_stats, "stats");
}

static void dl_failures(const struct hn_api_request *rq, struct hn_api_reply *rp)
{
    csv_download(rq, rp, hn_csv_write_failures, "failures");
}

static void dl_exceptions(const struct hn_api_request *rq, struct hn_api_reply *rp)
{
    csv_download(rq, rp, hn_csv_write_exceptions, "exceptions");
}

static pthread_once_t c_locale_once = PTHREAD_ONCE_INIT;
static locale_t c_locale;

static void c_locale_init(void)
{
    c_locale = newlocale(LC_ALL_MASK, "C", (locale_t)0);
}

static long long ms_round(double v)
{
    if (!isfinite(v) || v < 0)
        return 0;
    return v > 9e15 ? 9000000000000000LL : llround(v);
}

/* One Aggregated row of Locust's stats_history.csv from a history point.
 * History keeps only p50/p95/p99 and the totals; the other columns are
 * "N/A", as Locust writes for values it does not have. */
static void history_row(FILE *f, const struct hn_history_point *p)
{
    /* Columns 50% 66% 75% 80% 90% 95% 98% 99% 99.9% 99.99% 100%. */
    const double *kept[HN_NPCT] = {&p->p50_ms, NULL,       NULL, NULL, NULL, &p->p95_ms,
                                   NULL,       &p->p99_ms, NULL, NULL, NULL};
    double t = isfinite(p->time) && p->time > 0 && p->time < 9e15 ? p->time : 0;
    fprintf(f, "%lld,%" PRIu32 ",,Aggregated,%.6f,%.6f", (long long)t, p->users,
            isfinite(p->rps) ? p->rps : 0.0, isfinite(p->fail_s) ? p->fail_s : 0.0);
    for (int i = 0; i < HN_NPCT; i++) {
        if (kept[i] != NULL && p->requests > 0)
            fprintf(f, ",%lld", ms_round(*kept[i]));
        else
            fputs(",N/A", f);
    }
    fprintf(f, ",%" PRIu64 ",%" PRIu64 ",N/A,N/A,N/A,N/A,N/A\r\n", p->requests, p->failures);
}

static void dl_history(const struct hn_api_request *rq, struct hn_api_reply *rp)
{
    struct hn_runner *r = runner_of(rq);
    struct hn_snapshot *s = hn_runner_snapshot(r);
    download_name(rp, s->start_time, "stats_history", "csv");
    hn_snapshot_release(s);
    size_t n = 0;
    struct hn_history_point *h = hn_runner_history(r, &n);
    char *buf = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&buf, &len);
    if (f == NULL) {
        free(h);
        reply_oom(rp);
        return;
    }
    /* The numbers must not follow a locale a plugin may have set. */
    pthread_once(&c_locale_once, c_locale_init);
    locale_t old = c_locale != (locale_t)0 ? uselocale(c_locale) : (locale_t)0;
    fputs(hn_csv_history_header, f);
    fputs("\r\n", f);
    for (size_t i = 0; h != NULL && i < n; i++)
        history_row(f, &h[i]);
    if (old != (locale_t)0)
        uselocale(old);
    free(h);
    int rc = ferror(f) ? -1 : 0;
    reply_stream(rp, f, &buf, &len, rc, CSV_TYPE);
}

static void dl_report_json(const struct hn_api_request *rq, struct hn_api_reply *rp)
{
    struct hn_runner *r = runner_of(rq);
    struct hn_snapshot *s = hn_runner_snapshot(r);
    size_t n = 0;
    struct hn_history_point *h = hn_runner_history(r, &n);
    json_t *o = hn_result_to_json(s, h, n, rq->ctx->plugin_path, rq->ctx->version);
    /* Set before the reply: an error reply clears it again. */
    download_name(rp, s->start_time, "report", "json");
    free(h);
    hn_snapshot_release(s);
    reply_json(rp, 200, o);
}

/* The self-contained HTML report of the run so far; ?download=1 makes it
 * an attachment with a meaningful name. */
static void dl_report_html(const struct hn_api_request *rq, struct hn_api_reply *rp)
{
    struct hn_runner *r = runner_of(rq);
    struct hn_snapshot *s = hn_runner_snapshot(r);
    size_t n = 0;
    struct hn_history_point *h = hn_runner_history(r, &n);
    struct hn_report_meta m = {.version = rq->ctx->version, .plugin = rq->ctx->plugin_path};
    size_t len = 0;
    char *doc = hn_report_html(s, h, n, &m, &len);
    if (rq->download != NULL && strcmp(rq->download, "0") != 0)
        download_name(rp, s->start_time, "report", "html");
    free(h);
    hn_snapshot_release(s);
    if (doc == NULL) {
        reply_oom(rp);
        return;
    }
    set_body(rp, 200, "text/html; charset=utf-8", doc, len);
}

/* ------------------------------------------------------------------------ */
/* Locust-compatible aliases                                                 */

static int hexval(int c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

/* Decodes one application/x-www-form-urlencoded component ('+' is a space,
 * %XX a byte; a malformed % stays as it is). Returns a malloc'ed string
 * and its length in *out_len (it may hold NULs), or NULL. */
static char *form_decode(const char *s, size_t n, size_t *out_len)
{
    char *out = malloc(n + 1);
    if (out == NULL)
        return NULL;
    size_t o = 0;
    for (size_t i = 0; i < n; i++) {
        if (s[i] == '+') {
            out[o++] = ' ';
        } else if (s[i] == '%' && i + 2 < n && hexval((unsigned char)s[i + 1]) >= 0 &&
                   hexval((unsigned char)s[i + 2]) >= 0) {
            out[o++] =
                (char)(hexval((unsigned char)s[i + 1]) * 16 + hexval((unsigned char)s[i + 2]));
            i += 2;
        } else {
            out[o++] = s[i];
        }
    }
    out[o] = '\0';
    *out_len = o;
    return out;
}

enum { F_USERS, F_RATE, F_HOST, F_RUN_TIME, F_COUNT };

/* Strict decimal for form fields: digits with an optional fraction and
 * exponent, nothing else (no hex, inf, nan or spaces, which strtod takes). */
static int parse_number(const char *s, double *out)
{
    if (*s == '\0' || strspn(s, "0123456789.eE+-") != strlen(s))
        return -1;
    char *end;
    errno = 0;
    double v = strtod(s, &end);
    if (*end != '\0' || errno != 0 || !isfinite(v))
        return -1;
    *out = v;
    return 0;
}

/* POST /swarm with Locust's form fields user_count, spawn_rate, host and
 * run_time. Other fields (profile, user_classes, ...) are ignored, as
 * Locust ignores options it does not know. */
static void locust_swarm(const struct hn_api_request *rq, struct hn_api_reply *rp)
{
    static const char *const names[F_COUNT] = {"user_count", "spawn_rate", "host", "run_time"};
    if (rq->body_len > 0 && rq->content_type != NULL &&
        !media_type_is(rq->content_type, "application/x-www-form-urlencoded")) {
        locust_fail(rp, 415, "Content-Type must be application/x-www-form-urlencoded");
        return;
    }
    char *val[F_COUNT] = {NULL};
    bool nul[F_COUNT] = {false};
    const char *p = rq->body, *end = rq->body + rq->body_len;
    bool oom = false;
    while (p < end && !oom) {
        const char *amp = memchr(p, '&', (size_t)(end - p));
        const char *stop = amp != NULL ? amp : end;
        const char *eq = memchr(p, '=', (size_t)(stop - p));
        const char *kend = eq != NULL ? eq : stop;
        size_t klen, vlen;
        char *key = form_decode(p, (size_t)(kend - p), &klen);
        oom = key == NULL;
        for (int i = 0; i < F_COUNT && key != NULL; i++) {
            if (strcmp(key, names[i]) != 0 || strlen(key) != klen)
                continue;
            free(val[i]);
            val[i] = eq != NULL ? form_decode(eq + 1, (size_t)(stop - eq - 1), &vlen)
                                : form_decode("", 0, &vlen);
            oom = val[i] == NULL;
            nul[i] = val[i] != NULL && strlen(val[i]) != vlen;
        }
        free(key);
        p = amp != NULL ? amp + 1 : end;
    }

    char msg[320];
    uint32_t max = rq->ctx->max_users;
    double users = -1, rate = -1, run_time = 0;
    const char *host = NULL;
    if (oom) {
        reply_oom(rp);
        goto out;
    }
    if (val[F_USERS] == NULL || val[F_RATE] == NULL) {
        locust_fail(rp, 400, "Missing user_count or spawn_rate from /swarm request");
        goto out;
    }
    /* Digits only, as Python's int() takes them (no "1e3", no "2.0"). */
    size_t ulen = strlen(val[F_USERS]);
    if (nul[F_USERS] || ulen == 0 || ulen > 10 || strspn(val[F_USERS], "0123456789") != ulen ||
        parse_number(val[F_USERS], &users) != 0 || users > max) {
        snprintf(msg, sizeof msg, "user_count must be an integer from 0 to %" PRIu32, max);
        locust_fail(rp, 400, msg);
        goto out;
    }
    if (nul[F_RATE] || parse_number(val[F_RATE], &rate) != 0 || !(rate > 0)) {
        locust_fail(rp, 400, "spawn_rate must be a number > 0");
        goto out;
    }
    if (rate > SPAWN_RATE_MAX) {
        snprintf(msg, sizeof msg, "spawn_rate must be at most %.0f", SPAWN_RATE_MAX);
        locust_fail(rp, 400, msg);
        goto out;
    }
    if (val[F_HOST] != NULL) {
        /* Locust strips angle brackets from the host. */
        char *w = val[F_HOST];
        for (const char *r = val[F_HOST]; *r; r++)
            if (*r != '<' && *r != '>')
                *w++ = *r;
        *w = '\0';
        char why[256];
        if (nul[F_HOST]) {
            locust_fail(rp, 400, "host: NUL bytes are not allowed");
            goto out;
        }
        if (*val[F_HOST] != '\0' && hn_validate_host_url(val[F_HOST], why, sizeof why) != 0) {
            snprintf(msg, sizeof msg, "host: %s", why);
            locust_fail(rp, 400, msg);
            goto out;
        }
        if (*val[F_HOST] != '\0')
            host = val[F_HOST];
    }
    if (val[F_RUN_TIME] != NULL && *val[F_RUN_TIME] != '\0' &&
        (nul[F_RUN_TIME] || hn_parse_timespan(val[F_RUN_TIME], &run_time) != 0 ||
         run_time > RUN_TIME_MAX)) {
        locust_fail(rp, 400, run_time_msg);
        goto out;
    }

    char err[256] = "";
    struct hn_runner *r = runner_of(rq);
    int rc = hn_runner_start(r, (uint32_t)users, rate, host, run_time, err, sizeof err);
    if (rc != 0) {
        locust_fail(rp, rc == -EBUSY ? 409 : 400, err);
        goto out;
    }
    const char *shown = host;
    struct hn_snapshot *s = NULL;
    if (shown == NULL) {
        s = hn_runner_snapshot(r);
        shown = s->host != NULL && *s->host ? s->host : rq->ctx->default_host;
    }
    json_t *o = json_pack("{s:b,s:s,s:o}", "success", 1, "message", "Swarming started", "host",
                          hn_json_text_or_null(shown));
    if (o != NULL && run_time > 0)
        put(o, "run_time", jreal(run_time));
    hn_snapshot_release(s);
    reply_json(rp, 200, o);
out:
    for (int i = 0; i < F_COUNT; i++)
        free(val[i]);
}

static void locust_stop(const struct hn_api_request *rq, struct hn_api_reply *rp)
{
    char err[256];
    /* Locust answers success whatever the state; so does this alias. */
    hn_runner_stop(runner_of(rq), "stopped from the dashboard", err, sizeof err);
    reply_json(rp, 200, json_pack("{s:b,s:s}", "success", 1, "message", "Test stopped"));
}

static void locust_reset(const struct hn_api_request *rq, struct hn_api_reply *rp)
{
    char err[256];
    hn_runner_reset_stats(runner_of(rq), err, sizeof err);
    char *body = strdup("ok");
    if (body == NULL) {
        reply_oom(rp);
        return;
    }
    set_body(rp, 200, TEXT_TYPE, body, 2);
}

/* StatsEntry.to_dict() of Locust. */
static json_t *locust_entry(const struct hn_entry_view *e, bool total)
{
    bool any = e->requests > 0;
    json_t *o = json_object();
    if (o == NULL)
        return NULL;
    put(o, "method", total ? json_null() : hn_json_text(e->type));
    put(o, "name", hn_json_text(total ? "Aggregated" : e->name));
    put(o, "num_requests", jcount(e->requests));
    put(o, "num_failures", jcount(e->failures));
    /* Locust's min is None until the first request. */
    put(o, "min_response_time", any ? jreal(e->min_ms) : json_null());
    put(o, "max_response_time", jreal(any ? e->max_ms : 0));
    put(o, "current_rps", jreal(e->current_rps));
    put(o, "current_fail_per_sec", jreal(e->current_fail_s));
    put(o, "avg_response_time", jreal(any ? e->avg_ms : 0));
    put(o, "median_response_time", jreal(any ? e->median_ms : 0));
    put(o, "total_rps", jreal(e->total_rps));
    put(o, "total_fail_per_sec", jreal(e->total_fail_s));
    /* hn_report_quantiles: index 5 is 0.95, index 7 is 0.99. */
    put(o, "response_time_percentile_0.95", jreal(any ? e->pct_ms[5] : 0));
    put(o, "response_time_percentile_0.99", jreal(any ? e->pct_ms[7] : 0));
    put(o, "avg_content_length", jreal(any ? e->avg_bytes : 0));
    return o;
}

/* GET /stats/requests: Locust's live stats document. */
static void locust_requests(const struct hn_api_request *rq, struct hn_api_reply *rp)
{
    struct hn_runner *r = runner_of(rq);
    struct hn_snapshot *s = hn_runner_snapshot(r);
    json_t *stats = json_array();
    json_t *errors = json_array();
    size_t n = s->entries != NULL ? s->n_entries : 0;
    for (size_t i = 0; stats != NULL && i < n && i < LOCUST_ROWS_MAX; i++)
        json_array_append_new(stats, locust_entry(&s->entries[i], false));
    if (stats != NULL)
        json_array_append_new(stats, locust_entry(&s->total, true));
    size_t ne = s->errors != NULL ? s->n_errors : 0;
    for (size_t i = 0; errors != NULL && i < ne && i < LOCUST_ROWS_MAX; i++) {
        const struct hn_error_view *e = &s->errors[i];
        json_t *o = json_object();
        if (o == NULL)
            break;
        put(o, "method", hn_json_text(e->type));
        put(o, "name", hn_json_text(e->name));
        put(o, "error", hn_json_text(e->message));
        put(o, "occurrences", jcount(e->count));
        json_array_append_new(errors, o);
    }
    const struct hn_entry_view *t = &s->total;
    double ratio = t->requests > 0 ? (double)t->failures / (double)t->requests : 0.0;
    json_t *pct = json_object();
    if (pct != NULL) {
        put(pct, "response_time_percentile_0.5", jreal(t->cur_p50_ms));
        put(pct, "response_time_percentile_0.95", jreal(t->cur_p95_ms));
    }
    json_t *o = json_object();
    if (o != NULL) {
        put(o, "stats", stats);
        put(o, "errors", errors);
        /* Locust's "total_rps" is the Aggregated row's current rate. */
        put(o, "total_rps", jreal(t->current_rps));
        put(o, "total_fail_per_sec", jreal(t->current_fail_s));
        put(o, "current_rps", jreal(t->current_rps));
        put(o, "current_fail_per_sec", jreal(t->current_fail_s));
        put(o, "fail_ratio", jreal(ratio));
        put(o, "current_response_time_percentiles", pct);
        put(o, "state", json_string(hn_state_name(hn_runner_state(r))));
        put(o, "user_count", json_integer(s->users));
    } else {
        json_decref(stats);
        json_decref(errors);
        json_decref(pct);
    }
    hn_snapshot_release(s);
    reply_json(rp, 200, o);
}

static void locust_requests_csv(const struct hn_api_request *rq, struct hn_api_reply *rp)
{
    csv_download(rq, rp, hn_csv_write_stats, "requests");
}

/* GET /exceptions: {"exceptions":[{count,msg,traceback,nodes}]}. */
static void locust_exceptions(const struct hn_api_request *rq, struct hn_api_reply *rp)
{
    struct hn_snapshot *s = hn_runner_snapshot(runner_of(rq));
    json_t *a = json_array();
    size_t n = s->exceptions != NULL ? s->n_exceptions : 0;
    for (size_t i = 0; a != NULL && i < n; i++) {
        const struct hn_exception_view *x = &s->exceptions[i];
        const char *ut = x->user_type ? x->user_type : "";
        const char *task = x->task ? x->task : "";
        char where[512];
        snprintf(where, sizeof where, "%s%s%s", ut, *ut && *task ? "." : "", task);
        json_t *o = json_object();
        if (o == NULL)
            break;
        put(o, "count", jcount(x->count));
        put(o, "msg", hn_json_text(x->message));
        put(o, "traceback", hn_json_text(where));
        put(o, "nodes", json_string("local"));
        json_array_append_new(a, o);
    }
    hn_snapshot_release(s);
    reply_json(rp, 200, json_pack("{s:o}", "exceptions", a));
}

/* GET /logs: {"master": [...], "workers": {}}. */
static void locust_logs(const struct hn_api_request *rq, struct hn_api_reply *rp)
{
    (void)rq;
    reply_json(rp, 200, json_pack("{s:o,s:{}}", "master", log_lines(), "workers"));
}

/* ------------------------------------------------------------------------ */
/* Routing                                                                   */

struct route {
    const char *path;
    bool post; /* POST, else GET (and HEAD) */
    hn_api_handler_cb fn;
};

static const struct route routes[] = {
    {"/api/config", false, api_config},
    {"/api/plugin", false, api_plugin},
    {"/api/plugin/reload", true, api_plugin_reload},
    {"/api/state", false, api_state},
    {"/api/stats", false, api_stats},
    {"/api/history", false, api_history},
    {"/api/failures", false, api_failures},
    {"/api/exceptions", false, api_exceptions},
    {"/api/ratio", false, api_ratio},
    {"/api/logs", false, api_logs},
    {"/api/workers", false, api_workers},
    {"/api/entry", false, api_entry},
    {"/api/runs", false, api_runs},
    {"/api/runs/upload", true, api_runs_upload},
    {"/api/runs/result", false, api_run_result},
    {"/api/runs/compare", false, api_runs_compare},
    {"/api/swarm", true, api_swarm},
    {"/api/resize", true, api_resize},
    {"/api/pause", true, api_pause},
    {"/api/resume", true, api_resume},
    {"/api/stop", true, api_stop},
    {"/api/reset", true, api_reset},
    {"/metrics", false, metrics},
    {"/stats.csv", false, dl_stats},
    {"/failures.csv", false, dl_failures},
    {"/exceptions.csv", false, dl_exceptions},
    {"/stats_history.csv", false, dl_history},
    {"/report.json", false, dl_report_json},
    {"/report.html", false, dl_report_html},
    /* Locust's routes (locust/web.py). */
    {"/swarm", true, locust_swarm},
    {"/stop", false, locust_stop},
    {"/stats/reset", false, locust_reset},
    {"/stats/requests", false, locust_requests},
    {"/stats/requests/csv", false, locust_requests_csv},
    {"/stats/failures/csv", false, dl_failures},
    {"/exceptions", false, locust_exceptions},
    {"/exceptions/csv", false, dl_exceptions},
    {"/stats/report", false, dl_report_html},
    {"/logs", false, locust_logs},
};

size_t hn_api_body_max(const char *path)
{
    return path != NULL && strcmp(path, "/api/runs/upload") == 0 ? HN_API_UPLOAD_MAX
                                                                 : HN_API_BODY_MAX;
}

hn_api_handler_cb hn_api_route(const char *method, const char *path, const char **allow)
{
    *allow = NULL;
    if (method == NULL || path == NULL)
        return NULL;
    bool get = strcmp(method, "GET") == 0 || strcmp(method, "HEAD") == 0;
    bool post = strcmp(method, "POST") == 0;
    for (size_t i = 0; i < sizeof routes / sizeof routes[0]; i++) {
        if (strcmp(routes[i].path, path) != 0)
            continue;
        if (routes[i].post ? post : get)
            return routes[i].fn;
        *allow = routes[i].post ? "POST" : "GET, HEAD";
        return NULL;
    }
    return NULL;
}
