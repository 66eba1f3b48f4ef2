/*
 * report_html.c: the self-contained HTML report.
 *
 * The page is a template (web/report.html with report.css and report.js,
 * embedded in the binary like the dashboard) whose @HN_…@ markers are
 * replaced by the title, the stylesheet, the run's data as JSON, Chart.js
 * and the script. The data is the JSON result (hn_result_to_json, so its
 * numbers are those of /report.json and the live snapshot) with a long
 * history bucketed down to HN_REPORT_MAX_POINTS, plus a "report" object
 * with the run metadata the caller knows.
 *
 * Inside a <script> element only "</script" (and "<!--" with "<script")
 * can end or confuse the element, so the JSON has every '<', '>' and '&'
 * (and U+2028/U+2029, for older JavaScript parsers) written as a \u escape,
 * which JSON.parse reads back as the same character. The inlined code and
 * stylesheet are checked for the sequences that would end their element.
 */
#include "report_html.h"
#include "errbuf.h"
#include "fsutil.h"
#include "textutil.h"

#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>

#include "assets.h"
#include "report.h"

/* ------------------------------------------------------------------------ */
/* Growing output buffer                                                     */

struct buf {
    char *p;
    size_t len, cap;
    bool oom;
};

static bool buf_reserve(struct buf *b, size_t more)
{
    if (b->oom)
        return false;
    if (more <= b->cap - b->len)
        return true;
    size_t cap = b->cap != 0 ? b->cap : 4096;
    while (cap - b->len < more) {
        if (cap > SIZE_MAX / 2) {
            b->oom = true;
            return false;
        }
        cap *= 2;
    }
    char *p = realloc(b->p, cap);
    if (p == NULL) {
        b->oom = true;
        return false;
    }
    b->p = p;
    b->cap = cap;
    return true;
}

static void buf_add(struct buf *b, const char *s, size_t n)
{
    if (n == 0 || !buf_reserve(b, n))
        return;
    memcpy(b->p + b->len, s, n);
    b->len += n;
}

static void buf_str(struct buf *b, const char *s)
{
    buf_add(b, s, strlen(s));
}

/* ------------------------------------------------------------------------ */
/* Escaping                                                                  */

/* JSON text that cannot end a <script> element or be read as markup. The
 * characters replaced occur only inside JSON strings, where a \u escape
 * means the same character. */
static void add_script_json(struct buf *b, const char *js)
{
    const unsigned char *p = (const unsigned char *)js;
    size_t run = 0; /* bytes copied as they are, flushed before an escape */
    for (size_t i = 0;; i++) {
        const char *esc = NULL;
        size_t skip = 1;
        if (p[i] == '\0') {
            buf_add(b, js + i - run, run);
            return;
        }
        if (p[i] == '<')
            esc = "\\u003c";
        else if (p[i] == '>')
            esc = "\\u003e";
        else if (p[i] == '&')
            esc = "\\u0026";
        else if (p[i] == 0xE2 && p[i + 1] == 0x80 && (p[i + 2] == 0xA8 || p[i + 2] == 0xA9)) {
            esc = p[i + 2] == 0xA8 ? "\\u2028" : "\\u2029";
            skip = 3;
        }
        if (esc == NULL) {
            run++;
            continue;
        }
        buf_add(b, js + i - run, run);
        run = 0;
        buf_str(b, esc);
        i += skip - 1;
    }
}

/* Text for an element's content or an attribute value. */
static void add_html_text(struct buf *b, const char *s)
{
    for (; *s != '\0'; s++) {
        switch (*s) {
        case '&': buf_str(b, "&amp;"); break;
        case '<': buf_str(b, "&lt;"); break;
        case '>': buf_str(b, "&gt;"); break;
        case '"': buf_str(b, "&quot;"); break;
        case '\'': buf_str(b, "&#39;"); break;
        default: buf_add(b, s, 1); break;
        }
    }
}

/* ------------------------------------------------------------------------ */
/* History: at most HN_REPORT_MAX_POINTS, peaks kept                         */

/* Buckets of `per` consecutive points: the bucket's last time and totals,
 * the maximum of every per-second series (users, rates, percentiles), so a
 * one-second spike still shows in a one-hour chart. */
static struct hn_history_point *downsample(const struct hn_history_point *h, size_t n,
                                           size_t per, size_t *out_n)
{
    size_t m = (n + per - 1) / per;
    struct hn_history_point *out = calloc(m != 0 ? m : 1, sizeof *out);
    if (out == NULL)
        return NULL;
    for (size_t k = 0; k < m; k++) {
        size_t first = k * per, last = first + per < n ? first + per : n;
        struct hn_history_point *o = &out[k];
        *o = h[first];
        for (size_t i = first + 1; i < last; i++) {
            const struct hn_history_point *p = &h[i];
            o->users = p->users > o->users ? p->users : o->users;
            o->rps = p->rps > o->rps ? p->rps : o->rps;
            o->fail_s = p->fail_s > o->fail_s ? p->fail_s : o->fail_s;
            o->p50_ms = p->p50_ms > o->p50_ms ? p->p50_ms : o->p50_ms;
            o->p95_ms = p->p95_ms > o->p95_ms ? p->p95_ms : o->p95_ms;
            o->p99_ms = p->p99_ms > o->p99_ms ? p->p99_ms : o->p99_ms;
        }
        o->time = h[last - 1].time;
        o->requests = h[last - 1].requests;
        o->failures = h[last - 1].failures;
    }
    *out_n = m;
    return out;
}

/* ------------------------------------------------------------------------ */
/* The data block                                                            */

static double pick(double mine, double snap)
{
    double v = mine > 0 ? mine : snap;
    return isfinite(v) ? v : 0.0;
}

static json_t *meta_json(const struct hn_snapshot *s, const struct hn_report_meta *m)
{
    static const struct hn_report_meta none;
    if (m == NULL)
        m = &none;
    json_t *o = json_object();
    if (o == NULL)
        return NULL;
    uint32_t users = m->users != 0 ? m->users : s->target_users != 0 ? s->target_users : s->users;
    const char *host = m->host != NULL ? m->host : s->host != NULL ? s->host : "";
    const char *reason = m->stop_reason != NULL ? m->stop_reason : s->stop_reason;
    json_object_set_new(o, "version", hn_json_text_or_null(m->version));
    json_object_set_new(o, "plugin", hn_json_text_or_null(m->plugin));
    json_object_set_new(o, "host", hn_json_text_or_null(host));
    json_object_set_new(o, "users", json_integer(users));
    json_object_set_new(o, "spawn_rate", json_real(pick(m->spawn_rate, s->spawn_rate)));
    json_object_set_new(o, "start_time", json_real(pick(m->start_time, s->start_time)));
    json_object_set_new(o, "end_time", json_real(pick(m->end_time, s->end_time)));
    json_object_set_new(o, "duration_s", json_real(pick(m->duration_s, s->active_s)));
    json_object_set_new(o, "stop_reason", hn_json_text_or_null(reason));
    return o;
}

static double wall_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* The JSON text of the data block (malloc'ed, not yet escaped). */
static char *data_json(const struct hn_snapshot *s, const struct hn_history_point *h, size_t n,
                       const struct hn_report_meta *m)
{
    if (h == NULL)
        n = 0;
    size_t per = n > HN_REPORT_MAX_POINTS ? (n + HN_REPORT_MAX_POINTS - 1) / HN_REPORT_MAX_POINTS
                                          : 1;
    struct hn_history_point *ds = NULL;
    size_t nd = n;
    if (per > 1) {
        ds = downsample(h, n, per, &nd);
        if (ds == NULL)
            return NULL;
    }
    json_t *doc = hn_result_to_json(s, ds != NULL ? ds : h, nd, m != NULL ? m->plugin : NULL,
                                    m != NULL ? m->version : NULL);
    free(ds);
    json_t *rep = json_object();
    json_t *meta = meta_json(s, m);
    if (doc == NULL || rep == NULL || meta == NULL) {
        json_decref(doc);
        json_decref(rep);
        json_decref(meta);
        return NULL;
    }
    json_object_set_new(rep, "meta", meta);
    json_object_set_new(rep, "generated_at", json_real(wall_now()));
    json_object_set_new(rep, "history_points", json_integer((json_int_t)n));
    json_object_set_new(rep, "history_bucket", json_integer((json_int_t)per));
    json_object_set_new(doc, "report", rep);
    if (m != NULL && m->comparison != NULL)
        json_object_set(doc, "comparison", (json_t *)m->comparison);
    /* Full precision: the numbers must read back exactly as /report.json's. */
    char *text = json_dumps(doc, JSON_COMPACT);
    json_decref(doc);
    return text;
}

/* ------------------------------------------------------------------------ */
/* The document                                                              */

static const char *find_ci(const unsigned char *p, size_t n, const char *needle)
{
    size_t k = strlen(needle);
    for (size_t i = 0; i + k <= n; i++)
        if (strncasecmp((const char *)p + i, needle, k) == 0)
            return (const char *)p + i;
    return NULL;
}

/* An embedded file that may go inside <script> or <style> as it is. */
static const struct hn_asset *inline_asset(const char *path, const char *end_tag, char *err,
                                           size_t err_len)
{
    const struct hn_asset *a = hn_asset_find(path);
    if (a == NULL) {
        hn_set_err(err, err_len, "the report page %s is not built into this hornet", path);
        return NULL;
    }
    if (find_ci(a->data, a->len, end_tag) != NULL || find_ci(a->data, a->len, "<!--") != NULL) {
        hn_set_err(err, err_len, "the report page %s cannot be inlined (it contains %s or <!--)",
                path, end_tag);
        return NULL;
    }
    return a;
}

static void add_title(struct buf *b, const struct hn_snapshot *s, const struct hn_report_meta *m)
{
    buf_str(b, "hornet report");
    const char *host = m != NULL && m->host != NULL ? m->host : s->host;
    if (host != NULL && *host != '\0') {
        char *clean = hn_utf8_clean(host);
        if (clean == NULL) {
            b->oom = true;
            return;
        }
        buf_str(b, " \xC2\xB7 ");
        add_html_text(b, clean);
        free(clean);
    }
    double start = pick(m != NULL ? m->start_time : 0, s->start_time);
    time_t t = (time_t)start;
    struct tm tm;
    char when[40];
    if (start > 0 && gmtime_r(&t, &tm) != NULL &&
        strftime(when, sizeof when, " \xC2\xB7 %Y-%m-%d %H:%M UTC", &tm) > 0)
        buf_str(b, when);
}

static char *build(const struct hn_snapshot *s, const struct hn_history_point *h, size_t n,
                   const struct hn_report_meta *m, size_t *len_out, char *err, size_t err_len)
{
    enum { M_TITLE, M_CSS, M_DATA, M_CHARTJS, M_JS, NMARK };
    static const char *const marks[NMARK] = {"@HN_TITLE@", "@HN_CSS@", "@HN_DATA@",
                                             "@HN_CHARTJS@", "@HN_JS@"};
    if (s == NULL) {
        hn_set_err(err, err_len, "no run data for the report");
        return NULL;
    }
    const struct hn_asset *page = hn_asset_find("/report.html");
    const struct hn_asset *css = inline_asset("/report.css", "</style", err, err_len);
    const struct hn_asset *chart = css ? inline_asset("/chart.min.js", "</script", err, err_len)
                                       : NULL;
    const struct hn_asset *js = chart ? inline_asset("/report.js", "</script", err, err_len) : NULL;
    if (js == NULL)
        return NULL;
    if (page == NULL) {
        hn_set_err(err, err_len, "the report page /report.html is not built into this hornet");
        return NULL;
    }

    /* Where each marker is, in template order; each must be there once. */
    const char *tpl = (const char *)page->data;
    const char *at[NMARK];
    for (int i = 0; i < NMARK; i++) {
        at[i] = strstr(tpl, marks[i]);
        if (at[i] == NULL || strstr(at[i] + 1, marks[i]) != NULL) {
            hn_set_err(err, err_len, "the report page /report.html is damaged (marker %s)",
                    marks[i]);
            return NULL;
        }
        if (i > 0 && at[i] < at[i - 1]) {
            hn_set_err(err, err_len, "the report page /report.html has its markers out of order");
            return NULL;
        }
    }

    char *json = data_json(s, h, n, m);
    if (json == NULL) {
        hn_set_err(err, err_len, "out of memory");
        return NULL;
    }
    struct buf b = {0};
    buf_reserve(&b, page->len + css->len + chart->len + js->len + strlen(json) * 11 / 10 + 256);
    const char *from = tpl;
    for (int i = 0; i < NMARK; i++) {
        buf_add(&b, from, (size_t)(at[i] - from));
        switch (i) {
        case M_TITLE: add_title(&b, s, m); break;
        case M_CSS: buf_add(&b, (const char *)css->data, css->len); break;
        case M_DATA: add_script_json(&b, json); break;
        case M_CHARTJS: buf_add(&b, (const char *)chart->data, chart->len); break;
        case M_JS: buf_add(&b, (const char *)js->data, js->len); break;
        }
        from = at[i] + strlen(marks[i]);
    }
    buf_add(&b, from, strlen(from));
    buf_add(&b, "", 1);
    free(json);
    if (b.oom) {
        free(b.p);
        hn_set_err(err, err_len, "out of memory");
        return NULL;
    }
    if (len_out != NULL)
        *len_out = b.len - 1;
    return b.p;
}

char *hn_report_html(const struct hn_snapshot *s, const struct hn_history_point *h, size_t n,
                     const struct hn_report_meta *m, size_t *len_out)
{
    return build(s, h, n, m, len_out, NULL, 0);
}

/* ------------------------------------------------------------------------ */
/* Writing the file                                                          */

/* mkdir -p of the directory part of path. */
static int make_parent_dirs(const char *path, char *err, size_t err_len)
{
    char failed[512];
    if (hn_mkdirs_parent(path, 0777, failed, sizeof failed) == 0)
        return 0;
    hn_set_err(err, err_len, "cannot create directory %s: %s", failed, strerror(errno));
    return -1;
}

int hn_report_html_write(const char *path, const struct hn_snapshot *s,
                         const struct hn_history_point *h, size_t n,
                         const struct hn_report_meta *m, char *err, size_t err_len)
{
    static atomic_uint seq;
    if (path == NULL || *path == '\0') {
        hn_set_err(err, err_len, "no file name for the HTML report");
        return -1;
    }
    size_t len = 0;
    char *doc = build(s, h, n, m, &len, err, err_len);
    if (doc == NULL)
        return -1;
    if (make_parent_dirs(path, err, err_len) != 0) {
        free(doc);
        return -1;
    }
    size_t tn = strlen(path) + 64;
    char *tmp = malloc(tn);
    if (tmp == NULL) {
        free(doc);
        hn_set_err(err, err_len, "out of memory");
        return -1;
    }
    snprintf(tmp, tn, "%s.tmp.%ld.%u", path, (long)getpid(), atomic_fetch_add(&seq, 1));
    int rc = -1;
    int fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0666);
    if (fd < 0) {
        hn_set_err(err, err_len, "cannot write %s: %s", path, strerror(errno));
    } else if (hn_write_all(fd, doc, len) != 0 || fsync(fd) != 0) {
        hn_set_err(err, err_len, "cannot write %s: %s", path, strerror(errno));
        close(fd);
        unlink(tmp);
    } else if (close(fd) != 0) {
        hn_set_err(err, err_len, "cannot write %s: %s", path, strerror(errno));
        unlink(tmp);
    } else if (rename(tmp, path) != 0) {
        hn_set_err(err, err_len, "cannot write %s: %s", path, strerror(errno));
        unlink(tmp);
    } else {
        rc = 0;
    }
    free(tmp);
    free(doc);
    return rc;
}
