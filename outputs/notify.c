/*
 * notify.c: run events and their webhook and Slack documents (notify.h).
 */
#include "notify.h"

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "format.h"
#include "report.h"
#include "snapshot.h"
#include "textutil.h"

struct hn_notify {
    double started;  /* start_time of the run announced (0: none yet) */
    double stopped;  /* start_time of the run whose stop was sent */
    bool *broken;    /* per threshold: its break was sent in this run */
    size_t n_broken;
};

/* Slack's limits (api.slack.com/reference/block-kit/blocks). */
#define SLACK_HEADER_MAX 150
#define SLACK_TEXT_MAX 3000

struct hn_notify *hn_notify_new(void)
{
    return calloc(1, sizeof(struct hn_notify));
}

void hn_notify_free(struct hn_notify *n)
{
    if (n == NULL)
        return;
    free(n->broken);
    free(n);
}

size_t hn_notify_due(struct hn_notify *n, const struct hn_snapshot *s,
                     struct hn_notify_event *out, size_t max)
{
    size_t k = 0;
    if (s == NULL || s->start_time <= 0 || max == 0)
        return 0;
    if (s->start_time != n->started) {
        n->started = s->start_time;
        if (n->n_broken)
            memset(n->broken, 0, n->n_broken * sizeof(*n->broken));
        out[k++] = (struct hn_notify_event){.kind = HN_NOTIFY_START};
    }
    if (s->state == HN_STATE_STOPPED) {
        if (n->stopped != s->start_time && k < max) {
            n->stopped = s->start_time;
            out[k++] = (struct hn_notify_event){.kind = HN_NOTIFY_STOP};
        }
        return k;
    }
    if (s->n_thresholds > n->n_broken) {
        bool *grown = realloc(n->broken, s->n_thresholds * sizeof(*grown));
        if (grown == NULL)
            return k; /* out of memory: no break notices, the run goes on */
        memset(grown + n->n_broken, 0, (s->n_thresholds - n->n_broken) * sizeof(*grown));
        n->broken = grown;
        n->n_broken = s->n_thresholds;
    }
    for (size_t i = 0; i < s->n_thresholds && k < max; i++) {
        if (s->thresholds[i].verdict == HN_VERDICT_FAIL && !n->broken[i]) {
            n->broken[i] = true;
            out[k++] = (struct hn_notify_event){.kind = HN_NOTIFY_THRESHOLD, .threshold = i};
        }
    }
    return k;
}

static const char *kind_name(enum hn_notify_kind k)
{
    return k == HN_NOTIFY_START ? "start" : k == HN_NOTIFY_STOP ? "stop" : "threshold_broken";
}

static json_t *real_or_null(double v, bool known)
{
    return known ? json_real(hn_finite_or_zero(v)) : json_null();
}

static json_t *iso_or_null(double t)
{
    char buf[40];
    hn_fmt_iso_utc(buf, sizeof(buf), t);
    return *buf ? json_string(buf) : json_null();
}

/* The report of the run on the dashboard, or NULL when there is none. */
static char *report_url(const struct hn_notify_info *info)
{
    char *url = NULL;
    if (info->dashboard_url && asprintf(&url, "%sreport.html", info->dashboard_url) < 0)
        url = NULL;
    return url;
}

static json_t *summary_json(const struct hn_snapshot *s)
{
    const struct hn_entry_view *t = &s->total;
    bool any = t->requests > 0;
    return json_pack("{s:I,s:I,s:o,s:o,s:o,s:o,s:o,s:o,s:o,s:o}", "requests",
                     (json_int_t)t->requests, "failures", (json_int_t)t->failures, "fail_ratio",
                     json_real(hn_fail_ratio(t->requests, t->failures)), "rps",
                     json_real(hn_finite_or_zero(t->total_rps)), "current_rps",
                     json_real(hn_finite_or_zero(t->current_rps)), "avg_ms",
                     real_or_null(t->avg_ms, any), "p50_ms", real_or_null(t->pct_ms[0], any),
                     "p95_ms", real_or_null(t->pct_ms[5], any), "p99_ms",
                     real_or_null(t->pct_ms[7], any), "max_ms", real_or_null(t->max_ms, any));
}

char *hn_notify_webhook_body(const struct hn_notify_info *info, const struct hn_snapshot *s,
                             const struct hn_notify_event *ev)
{
    size_t workers = 0;
    for (size_t i = 0; i < s->n_workers; i++)
        workers += strcmp(s->workers[i].state, "missing") != 0;
    json_t *run = json_pack(
        "{s:o,s:o,s:o,s:o,s:o,s:I,s:I,s:b,s:I}", "start_time", iso_or_null(s->start_time),
        "end_time", iso_or_null(s->end_time), "duration_s",
        json_real(hn_finite_or_zero(s->active_s)), "run_time_s",
        real_or_null(s->run_time_s, s->run_time_s > 0), "stop_reason",
        hn_json_text_or_null(s->stop_reason), "users", (json_int_t)s->users, "target_users",
        (json_int_t)s->target_users, "distributed", s->distributed, "workers",
        (json_int_t)workers);
    char *report = ev->kind == HN_NOTIFY_STOP ? report_url(info) : NULL;
    json_t *doc = json_pack(
        "{s:s,s:s,s:o,s:o,s:o,s:o,s:s,s:o,s:o,s:o,s:b,s:o,s:o}", "source", "hornet", "event",
        kind_name(ev->kind), "version", hn_json_text(info->version), "plugin",
        hn_json_text(info->plugin), "time", iso_or_null(s->now), "host", hn_json_text(s->host),
        "state", hn_state_name(s->state), "run", run ? run : json_null(), "summary",
        summary_json(s), "thresholds", hn_thresholds_to_json(s), "thresholds_passed",
        hn_thresholds_passed(s), "dashboard_url", hn_json_text_or_null(info->dashboard_url),
        "report_url", hn_json_text_or_null(report));
    free(report);
    if (doc != NULL && ev->kind == HN_NOTIFY_THRESHOLD) {
        json_t *all = json_object_get(doc, "thresholds");
        json_object_set(doc, "threshold", json_array_get(all, ev->threshold));
    }
    char *text = doc ? json_dumps(doc, JSON_COMPACT) : NULL;
    json_decref(doc);
    return text;
}

/* ------------------------------------------------------------------------
 * Slack: mrkdwn escapes &, < and > (its own link syntax uses them).
 */

static void put_mrkdwn(FILE *f, const char *s)
{
    char *clean = hn_utf8_clean(s ? s : "");
    for (const char *p = clean ? clean : ""; *p; p++) {
        if (*p == '&')
            fputs("&amp;", f);
        else if (*p == '<')
            fputs("&lt;", f);
        else if (*p == '>')
            fputs("&gt;", f);
        else
            fputc(*p, f);
    }
    free(clean);
}

/* s cut to at most max bytes on a UTF-8 boundary, with "…" when cut. */
static void cut_utf8(char *s, size_t max)
{
    if (strlen(s) <= max)
        return;
    size_t keep = max - 3; /* room for U+2026 */
    while (keep > 0 && ((unsigned char)s[keep] & 0xC0) == 0x80)
        keep--;
    memcpy(s + keep, "\xE2\x80\xA6", 4);
}

/* A text built with fprintf, or "" when memory runs out. */
struct text {
    char *buf;
    size_t len;
    FILE *f;
};

static FILE *text_open(struct text *t)
{
    t->buf = NULL;
    t->len = 0;
    t->f = open_memstream(&t->buf, &t->len);
    return t->f;
}

static json_t *text_close(struct text *t, size_t max)
{
    json_t *v = NULL;
    if (t->f != NULL && fclose(t->f) == 0 && t->buf != NULL) {
        cut_utf8(t->buf, max);
        v = hn_json_text(t->buf);
    }
    free(t->buf);
    return v ? v : json_string("");
}

static json_t *mrkdwn(json_t *text)
{
    return json_pack("{s:s,s:o}", "type", "mrkdwn", "text", text);
}

static json_t *field(const char *label, const char *value)
{
    struct text t;
    FILE *f = text_open(&t);
    if (f != NULL)
        fprintf(f, "*%s*\n%s", label, value);
    return mrkdwn(text_close(&t, 2000));
}

static void fmt_ms(char *buf, size_t n, double ms, bool known)
{
    if (!known)
        snprintf(buf, n, "-");
    else
        snprintf(buf, n, "%.*f ms", ms < 10 ? 2 : ms < 100 ? 1 : 0, hn_finite_or_zero(ms));
}

static json_t *numbers_block(const struct hn_snapshot *s)
{
    const struct hn_entry_view *t = &s->total;
    bool any = t->requests > 0;
    char req[32], fail[48], rps[32], p50[32], p95[32], p99[32], users[32], dur[32];
    snprintf(req, sizeof req, "%llu", (unsigned long long)t->requests);
    snprintf(fail, sizeof fail, "%llu (%.2f%%)", (unsigned long long)t->failures,
             100.0 * hn_fail_ratio(t->requests, t->failures));
    snprintf(rps, sizeof rps, "%.1f", hn_finite_or_zero(t->total_rps));
    fmt_ms(p50, sizeof p50, t->pct_ms[0], any);
    fmt_ms(p95, sizeof p95, t->pct_ms[5], any);
    fmt_ms(p99, sizeof p99, t->pct_ms[7], any);
    snprintf(users, sizeof users, "%u", s->state == HN_STATE_STOPPED ? s->target_users : s->users);
    snprintf(dur, sizeof dur, "%.0f s", hn_finite_or_zero(s->active_s));
    return json_pack("{s:s,s:[o,o,o,o,o,o,o,o]}", "type", "section", "fields",
                     field("Requests", req), field("Failures", fail), field("Requests/s", rps),
                     field("Users", users), field("p50", p50), field("p95", p95),
                     field("p99", p99), field("Duration", dur));
}

static json_t *thresholds_block(const struct hn_snapshot *s)
{
    struct text t;
    FILE *f = text_open(&t);
    if (f == NULL)
        return NULL;
    fputs("*Thresholds*", f);
    for (size_t i = 0; i < s->n_thresholds; i++) {
        const struct hn_threshold_view *th = &s->thresholds[i];
        char value[64];
        hn_fmt_threshold_value(th, value, sizeof value);
        fputs(th->verdict == HN_VERDICT_PASS   ? "\n:white_check_mark: `"
              : th->verdict == HN_VERDICT_FAIL ? "\n:x: `"
                                               : "\n:grey_question: `",
              f);
        put_mrkdwn(f, th->expr);
        fprintf(f, "` %s", value);
    }
    return json_pack("{s:s,s:o}", "type", "section", "text", mrkdwn(text_close(&t, SLACK_TEXT_MAX)));
}

char *hn_notify_slack_body(const struct hn_notify_info *info, const struct hn_snapshot *s,
                           const struct hn_notify_event *ev)
{
    const struct hn_threshold_view *broke =
        ev->kind == HN_NOTIFY_THRESHOLD && ev->threshold < s->n_thresholds
            ? &s->thresholds[ev->threshold]
            : NULL;
    bool passed = hn_thresholds_passed(s);
    const char *verdict = s->n_thresholds == 0 ? "ended" : passed ? "passed" : "failed";
    char head[256], value[64] = "";
    if (broke)
        hn_fmt_threshold_value(broke, value, sizeof value);
    if (ev->kind == HN_NOTIFY_START)
        snprintf(head, sizeof head, "hornet: run started");
    else if (ev->kind == HN_NOTIFY_STOP)
        snprintf(head, sizeof head, "hornet: run %s", verdict);
    else
        snprintf(head, sizeof head, "hornet: threshold broken: %.120s (%s)",
                 broke ? broke->expr : "?", value);

    /* The notification's own text (what a phone shows). */
    struct text t;
    FILE *f = text_open(&t);
    if (f != NULL) {
        put_mrkdwn(f, head);
        if (s->host && *s->host) {
            fputs(" against ", f);
            put_mrkdwn(f, s->host);
        }
        if (ev->kind != HN_NOTIFY_START)
            fprintf(f, ": %llu requests, %.2f%% failed, p95 %.1f ms",
                    (unsigned long long)s->total.requests,
                    100.0 * hn_fail_ratio(s->total.requests, s->total.failures),
                    hn_finite_or_zero(s->total.pct_ms[5]));
        else
            fprintf(f, " (%u users asked)", s->target_users);
    }
    json_t *text = text_close(&t, SLACK_TEXT_MAX);

    f = text_open(&t);
    if (f != NULL) {
        fputs("*Target:* ", f);
        put_mrkdwn(f, s->host && *s->host ? s->host : "(the plugin's own)");
        fputs("\n*Plugin:* ", f);
        put_mrkdwn(f, info->plugin);
        if (ev->kind == HN_NOTIFY_STOP && s->stop_reason) {
            fputs("\n*Stop reason:* ", f);
            put_mrkdwn(f, s->stop_reason);
        }
    }
    json_t *about = text_close(&t, SLACK_TEXT_MAX);

    char *header = head; /* the text above has the whole line */
    cut_utf8(header, SLACK_HEADER_MAX);
    json_t *blocks = json_pack("[{s:s,s:{s:s,s:o}},{s:s,s:o}]", "type", "header", "text", "type",
                               "plain_text", "text", hn_json_text(header), "type", "section",
                               "text", mrkdwn(about));
    if (blocks != NULL && ev->kind != HN_NOTIFY_START)
        json_array_append_new(blocks, numbers_block(s));
    if (blocks != NULL && s->n_thresholds > 0)
        json_array_append_new(blocks, thresholds_block(s));
    if (blocks != NULL && info->dashboard_url) {
        f = text_open(&t);
        char *report = ev->kind == HN_NOTIFY_STOP ? report_url(info) : NULL;
        if (f != NULL) {
            fprintf(f, "<%s|Open the dashboard>", info->dashboard_url);
            if (report)
                fprintf(f, "  ·  <%s|Open the report>", report);
        }
        free(report);
        json_array_append_new(blocks, json_pack("{s:s,s:[o]}", "type", "context", "elements",
                                                mrkdwn(text_close(&t, 2000))));
    }
    json_t *doc = json_pack("{s:o,s:o}", "text", text, "blocks", blocks ? blocks : json_array());
    char *out = doc ? json_dumps(doc, JSON_COMPACT) : NULL;
    json_decref(doc);
    return out;
}
