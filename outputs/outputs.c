/*
 * outputs.c: the outputs' thread and their delivery (outputs.h).
 *
 * One thread owns a libcurl multi handle and one destination per URL. The
 * runner's tick leaves the newest snapshot in a slot and wakes the thread
 * (curl_multi_wakeup); the thread renders what it makes due (influx.c,
 * notify.c) onto the destinations' queues. A destination sends one
 * document at a time, in order (a stop never overtakes its start), retries
 * a failure with backoff unless the server refused it for good (4xx): a
 * notification twice, points until the queue overflows, when the oldest
 * document is dropped. Nothing here waits
 * on the runner, and the runner never waits on this.
 */
#include "outputs.h"

#include <errno.h>
#include <math.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <curl/curl.h>
#include <zlib.h>

#include "clock.h"
#include "influx.h"
#include "log.h"
#include "notify.h"
#include "snapshot.h"

#define ATTEMPTS 3            /* tries per notification */
#define BACKOFF_MAX 5.0       /* seconds between tries, at most */
#define INFLUX_QUEUE 60       /* documents (one per second): a minute of points */
#define WEBHOOK_QUEUE 16      /* events */
#define REPLY_KEPT 300        /* bytes of a refusal's body kept for the log */
#define MAX_EVENTS 64
#define PENDING_MAX 8         /* snapshots waiting for the thread */

enum dest_kind { DEST_INFLUX, DEST_WEBHOOK, DEST_SLACK };

struct doc {
    struct doc *next;
    char *body;
    size_t len;
    size_t units;             /* points (InfluxDB) or 1 (an event) */
    int tries;
    double not_before;        /* monotonic seconds: the backoff */
};

struct dest {
    enum dest_kind kind;
    char *url;                /* where documents go */
    char *shown;              /* the URL for logs: scheme://host[:port] (paths hold secrets) */
    struct curl_slist *headers;
    size_t max_queued;
    struct doc *head, *tail;  /* queued, oldest first */
    size_t queued;
    CURL *easy;               /* the transfer of `sending` */
    struct doc *sending;
    char reply[REPLY_KEPT + 1];
    size_t reply_len;
    char error[CURL_ERROR_SIZE];
    uint64_t sent, dropped;   /* units */
    bool failing;             /* the last try failed (logged once until one succeeds) */
    bool dropping;            /* dropped since the last success (logged once) */
    char last_error[320];
};

struct hn_outputs {
    struct hn_outputs_config cfg;
    char *influx_user, *influx_password, *dashboard_url, *plugin, *version;
    CURLM *multi;
    struct dest *dests;
    size_t n_dests;
    struct hn_influx *influx;
    struct hn_notify *notify;
    struct hn_notify_info info;
    pthread_t thread;
    pthread_mutex_t lock;     /* guards pending, finishing, deadline */
    /* Snapshots not rendered yet, oldest first: those of a state change
     * are kept (a stop, then a new start, must both be told); a plain tick
     * replaces a plain tick still waiting. */
    struct hn_snapshot *pending[PENDING_MAX];
    size_t n_pending;
    bool last_is_tick;
    bool finishing;
    double deadline;          /* monotonic: when finishing gives up */
    uint64_t last_seq;        /* the newest snapshot rendered */
    bool rendered_any;
};

static double now_s(void)
{
    return (double)hn_mono_us() / 1e6;
}

/* ------------------------------------------------------------------------
 * Destinations and their queues.
 */

static void doc_free(struct doc *d)
{
    if (d) {
        free(d->body);
        free(d);
    }
}

static const char *kind_label(enum dest_kind k)
{
    return k == DEST_INFLUX ? "InfluxDB" : k == DEST_SLACK ? "Slack webhook" : "webhook";
}

/* Counted, and said once until a document gets through again. */
static void drop(struct dest *d, struct doc *doc, const char *why)
{
    d->dropped += doc->units;
    if (!d->dropping)
        hn_logf(HN_WARNING, "%s at %s: dropping %s (%s); the run goes on", kind_label(d->kind),
                d->shown, d->kind == DEST_INFLUX ? "points" : "a notification",
                why ? why : d->last_error);
    d->dropping = true;
    doc_free(doc);
}

static void enqueue(struct dest *d, char *body, size_t len, size_t units)
{
    struct doc *doc = calloc(1, sizeof(*doc));
    if (doc == NULL) {
        free(body);
        d->dropped += units;
        return;
    }
    *doc = (struct doc){.body = body, .len = len, .units = units};
    if (d->queued >= d->max_queued) {
        struct doc *old = d->head;
        d->head = old->next;
        if (d->head == NULL)
            d->tail = NULL;
        d->queued--;
        drop(d, old, d->kind == DEST_INFLUX ? "the queue is full: the server is not keeping up"
                                            : "the queue is full");
    }
    if (d->tail)
        d->tail->next = doc;
    else
        d->head = doc;
    d->tail = doc;
    d->queued++;
}

static size_t keep_reply(char *data, size_t size, size_t n, void *ud)
{
    struct dest *d = ud;
    size_t len = size * n, room = REPLY_KEPT - d->reply_len;
    size_t take = len < room ? len : room;
    memcpy(d->reply + d->reply_len, data, take);
    d->reply_len += take;
    d->reply[d->reply_len] = '\0';
    return len;
}

/* "http://host:port" of url: the path of a webhook is its secret. */
static char *shown_url(const char *url)
{
    CURLU *u = curl_url();
    char *scheme = NULL, *host = NULL, *port = NULL, *out = NULL;
    if (u && curl_url_set(u, CURLUPART_URL, url, 0) == CURLUE_OK &&
        curl_url_get(u, CURLUPART_SCHEME, &scheme, 0) == CURLUE_OK &&
        curl_url_get(u, CURLUPART_HOST, &host, 0) == CURLUE_OK) {
        curl_url_get(u, CURLUPART_PORT, &port, 0);
        if (asprintf(&out, "%s://%s%s%s", scheme, host, port ? ":" : "", port ? port : "") < 0)
            out = NULL;
    }
    curl_free(scheme);
    curl_free(host);
    curl_free(port);
    curl_url_cleanup(u);
    return out;
}

static int add_dest(struct hn_outputs *o, enum dest_kind kind, const char *url, char *err,
                    size_t err_len)
{
    struct dest *d = &o->dests[o->n_dests++]; /* counted now: free_all frees what is set */
    *d = (struct dest){.kind = kind};
    d->url = strdup(url);
    d->shown = shown_url(url);
    d->easy = curl_easy_init();
    d->max_queued = kind == DEST_INFLUX ? INFLUX_QUEUE : WEBHOOK_QUEUE;
    if (d->url == NULL || d->easy == NULL) {
        snprintf(err, err_len, "out of memory");
        return -1;
    }
    if (d->shown == NULL) {
        snprintf(err, err_len, "%s: cannot use '%s' (not a URL)", kind_label(kind), url);
        return -1;
    }
    d->headers = curl_slist_append(NULL, kind == DEST_INFLUX
                                             ? "Content-Type: text/plain; charset=utf-8"
                                             : "Content-Type: application/json");
    return 0;
}

/* Where InfluxDB's /write is: the base URL's path + /write, with the
 * database and the timestamps' precision. */
static char *influx_write_url(const char *base, const char *db)
{
    CURLU *u = curl_url();
    char *path = NULL, *out = NULL, *query = NULL;
    if (u && curl_url_set(u, CURLUPART_URL, base, 0) == CURLUE_OK &&
        curl_url_get(u, CURLUPART_PATH, &path, 0) == CURLUE_OK) {
        size_t n = strlen(path);
        while (n > 0 && path[n - 1] == '/')
            n--;
        char *joined = NULL;
        if (asprintf(&joined, "%.*s/write", (int)n, path) >= 0 &&
            curl_url_set(u, CURLUPART_PATH, joined, 0) == CURLUE_OK &&
            asprintf(&query, "db=%s", db) >= 0 &&
            curl_url_set(u, CURLUPART_QUERY, query, CURLU_APPENDQUERY | CURLU_URLENCODE) ==
                CURLUE_OK &&
            curl_url_set(u, CURLUPART_QUERY, "precision=ms", CURLU_APPENDQUERY) == CURLUE_OK)
            curl_url_get(u, CURLUPART_URL, &out, 0);
        free(joined);
    }
    free(query);
    curl_free(path);
    curl_url_cleanup(u);
    char *copy = out ? strdup(out) : NULL;
    curl_free(out);
    return copy;
}

/* ------------------------------------------------------------------------
 * Sending.
 */

static void start_next(struct hn_outputs *o, struct dest *d, double now)
{
    if (d->sending || d->head == NULL || d->head->not_before > now)
        return;
    struct doc *doc = d->head;
    d->head = doc->next;
    if (d->head == NULL)
        d->tail = NULL;
    d->queued--;
    doc->next = NULL;
    d->sending = doc;
    d->reply_len = 0;
    d->reply[0] = '\0';
    d->error[0] = '\0';

    CURL *e = d->easy;
    curl_easy_reset(e);
    curl_easy_setopt(e, CURLOPT_URL, d->url);
    curl_easy_setopt(e, CURLOPT_POST, 1L);
    curl_easy_setopt(e, CURLOPT_POSTFIELDS, doc->body);
    curl_easy_setopt(e, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)doc->len);
    curl_easy_setopt(e, CURLOPT_HTTPHEADER, d->headers);
    curl_easy_setopt(e, CURLOPT_TIMEOUT_MS, (long)(o->cfg.timeout_s * 1000));
    curl_easy_setopt(e, CURLOPT_CONNECTTIMEOUT_MS, (long)(o->cfg.timeout_s * 1000));
    curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, keep_reply);
    curl_easy_setopt(e, CURLOPT_WRITEDATA, d);
    curl_easy_setopt(e, CURLOPT_ERRORBUFFER, d->error);
    curl_easy_setopt(e, CURLOPT_PRIVATE, d);
    curl_easy_setopt(e, CURLOPT_USERAGENT, "hornet/outputs");
    curl_easy_setopt(e, CURLOPT_PROTOCOLS_STR, "http,https");
    if (d->kind == DEST_INFLUX && o->influx_user) {
        curl_easy_setopt(e, CURLOPT_USERNAME, o->influx_user);
        curl_easy_setopt(e, CURLOPT_PASSWORD, o->influx_password ? o->influx_password : "");
    }
    if (curl_multi_add_handle(o->multi, e) != CURLM_OK) {
        d->sending = NULL;
        snprintf(d->last_error, sizeof d->last_error, "libcurl could not start the transfer");
        drop(d, doc, NULL);
    }
}

/* The server's answer in one line, for the log. */
static void reply_line(const struct dest *d, char *out, size_t n)
{
    size_t k = 0;
    for (const char *p = d->reply; *p && k + 1 < n; p++)
        out[k++] = (*p == '\n' || *p == '\r' || *p == '\t') ? ' ' : *p;
    out[k] = '\0';
}

static void finished(struct hn_outputs *o, struct dest *d, CURLcode rc, double now)
{
    struct doc *doc = d->sending;
    d->sending = NULL;
    curl_multi_remove_handle(o->multi, d->easy);
    long status = 0;
    curl_easy_getinfo(d->easy, CURLINFO_RESPONSE_CODE, &status);
    if (rc == CURLE_OK && status >= 200 && status < 300) {
        if (d->failing || d->dropping)
            hn_logf(HN_INFO, "%s at %s: delivering again (%llu %s dropped so far)",
                    kind_label(d->kind), d->shown, (unsigned long long)d->dropped,
                    d->kind == DEST_INFLUX ? "points" : "notifications");
        d->failing = d->dropping = false;
        d->sent += doc->units;
        doc_free(doc);
        return;
    }
    bool for_good = false;
    if (rc != CURLE_OK) {
        snprintf(d->last_error, sizeof d->last_error, "%s",
                 *d->error ? d->error : curl_easy_strerror(rc));
    } else {
        char said[REPLY_KEPT + 1];
        reply_line(d, said, sizeof said);
        snprintf(d->last_error, sizeof d->last_error, "HTTP %ld%s%s", status, *said ? ": " : "",
                 said);
        /* A refusal (bad data, credentials, no such database) will not
         * change by asking again; 408 and 429 might. */
        for_good = status >= 400 && status < 500 && status != 408 && status != 429;
    }
    /* Points are tried until the queue overflows (an outage shorter than the
     * queue loses none); a notification a few times. */
    ++doc->tries;
    if (!for_good && (d->kind == DEST_INFLUX || doc->tries < ATTEMPTS)) {
        if (!d->failing)
            hn_logf(HN_WARNING, "%s at %s: %s (trying again)", kind_label(d->kind), d->shown,
                    d->last_error);
        d->failing = true;
        double backoff = 0.5 * (double)(1u << (doc->tries < 8 ? doc->tries : 8)); /* 1 s, 2 s... */
        doc->not_before = now + (backoff < BACKOFF_MAX ? backoff : BACKOFF_MAX);
        doc->next = d->head; /* first in line again: order is kept */
        d->head = doc;
        if (d->tail == NULL)
            d->tail = doc;
        d->queued++;
        return;
    }
    drop(d, doc, NULL);
}

/* ------------------------------------------------------------------------
 * Rendering what a snapshot makes due.
 */

/* body gzip-compressed (InfluxDB takes Content-Encoding: gzip), or NULL. */
static char *gzip_body(const char *body, size_t len, size_t *out_len)
{
    z_stream z = {0};
    if (deflateInit2(&z, 6, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY) != Z_OK)
        return NULL;
    size_t cap = deflateBound(&z, len);
    char *out = malloc(cap);
    if (out != NULL) {
        z.next_in = (Bytef *)body;
        z.avail_in = (uInt)len;
        z.next_out = (Bytef *)out;
        z.avail_out = (uInt)cap;
        if (deflate(&z, Z_FINISH) == Z_STREAM_END) {
            *out_len = z.total_out;
        } else {
            free(out);
            out = NULL;
        }
    }
    deflateEnd(&z);
    return out;
}

static void render_influx(struct hn_outputs *o, struct dest *d, struct hn_snapshot *s)
{
    if (!hn_influx_due(o->influx, s))
        return;
    char *buf = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&buf, &len);
    if (f == NULL)
        return;
    size_t points = hn_influx_render(o->influx, s, f);
    if (fclose(f) != 0 || buf == NULL || points == 0) {
        free(buf);
        d->dropped += points;
        return;
    }
    size_t zlen = 0;
    char *z = gzip_body(buf, len, &zlen);
    if (z != NULL) {
        free(buf);
        enqueue(d, z, zlen, points);
    } else {
        d->dropped += points;
        free(buf);
    }
}

static void render(struct hn_outputs *o, struct hn_snapshot *s)
{
    if (s->seq <= o->last_seq && o->rendered_any)
        return;
    o->last_seq = s->seq;
    o->rendered_any = true;
    struct hn_notify_event ev[MAX_EVENTS];
    size_t n_ev = hn_notify_due(o->notify, s, ev, MAX_EVENTS);
    for (size_t i = 0; i < o->n_dests; i++) {
        struct dest *d = &o->dests[i];
        if (d->kind == DEST_INFLUX) {
            render_influx(o, d, s);
            continue;
        }
        for (size_t k = 0; k < n_ev; k++) {
            char *body = d->kind == DEST_SLACK ? hn_notify_slack_body(&o->info, s, &ev[k])
                                               : hn_notify_webhook_body(&o->info, s, &ev[k]);
            if (body != NULL)
                enqueue(d, body, strlen(body), 1);
            else
                d->dropped++;
        }
    }
}

/* ------------------------------------------------------------------------
 * The thread.
 */

static bool idle(const struct hn_outputs *o)
{
    for (size_t i = 0; i < o->n_dests; i++)
        if (o->dests[i].sending || o->dests[i].head)
            return false;
    return true;
}

static void *run(void *arg)
{
    struct hn_outputs *o = arg;
    for (;;) {
        struct hn_snapshot *due[PENDING_MAX];
        pthread_mutex_lock(&o->lock);
        size_t n_due = o->n_pending;
        memcpy(due, o->pending, n_due * sizeof(*due));
        o->n_pending = 0;
        bool finishing = o->finishing;
        double deadline = o->deadline;
        pthread_mutex_unlock(&o->lock);
        for (size_t i = 0; i < n_due; i++) {
            render(o, due[i]);
            hn_snapshot_release(due[i]);
        }
        double now = now_s();
        if (finishing && (idle(o) || now >= deadline))
            break;
        double wake = now + 1.0;
        for (size_t i = 0; i < o->n_dests; i++) {
            struct dest *d = &o->dests[i];
            start_next(o, d, now);
            if (!d->sending && d->head && d->head->not_before < wake)
                wake = d->head->not_before;
        }
        if (finishing && deadline < wake)
            wake = deadline;
        int running = 0;
        curl_multi_perform(o->multi, &running);
        CURLMsg *m;
        int left, done = 0;
        while ((m = curl_multi_info_read(o->multi, &left)) != NULL) {
            if (m->msg != CURLMSG_DONE)
                continue;
            struct dest *d = NULL;
            curl_easy_getinfo(m->easy_handle, CURLINFO_PRIVATE, (char **)&d);
            finished(o, d, m->data.result, now_s());
            done++;
        }
        if (done)
            continue; /* a destination is free: its next document goes at once */
        double wait = wake - now_s();
        if (wait > 0)
            curl_multi_poll(o->multi, NULL, 0, (int)ceil(wait * 1000), NULL);
    }
    /* Out of time: what is left is dropped, and said so. */
    for (size_t i = 0; i < o->n_dests; i++) {
        struct dest *d = &o->dests[i];
        if (d->sending) {
            curl_multi_remove_handle(o->multi, d->easy);
            d->dropped += d->sending->units;
            doc_free(d->sending);
            d->sending = NULL;
        }
        while (d->head) {
            struct doc *next = d->head->next;
            d->dropped += d->head->units;
            doc_free(d->head);
            d->head = next;
        }
        d->tail = NULL;
        if (d->dropped)
            hn_logf(HN_WARNING, "%s at %s: %llu %s not delivered (%llu delivered; last error: %s)",
                    kind_label(d->kind), d->shown, (unsigned long long)d->dropped,
                    d->kind == DEST_INFLUX ? "points" : "notifications",
                    (unsigned long long)d->sent, *d->last_error ? d->last_error : "out of time");
        else
            hn_logf(HN_DEBUG, "%s at %s: %llu %s delivered", kind_label(d->kind), d->shown,
                    (unsigned long long)d->sent,
                    d->kind == DEST_INFLUX ? "points" : "notifications");
    }
    return NULL;
}

/* ------------------------------------------------------------------------
 * The facade.
 */

static void free_all(struct hn_outputs *o)
{
    for (size_t i = 0; i < o->n_dests; i++) {
        struct dest *d = &o->dests[i];
        curl_easy_cleanup(d->easy);
        curl_slist_free_all(d->headers);
        free(d->url);
        free(d->shown);
    }
    free(o->dests);
    curl_multi_cleanup(o->multi);
    hn_influx_free(o->influx);
    hn_notify_free(o->notify);
    if (o->influx_password)
        explicit_bzero(o->influx_password, strlen(o->influx_password));
    free(o->influx_password);
    free(o->influx_user);
    free(o->dashboard_url);
    free(o->plugin);
    free(o->version);
    for (size_t i = 0; i < o->n_pending; i++)
        hn_snapshot_release(o->pending[i]);
    pthread_mutex_destroy(&o->lock);
    free(o);
}

static size_t count(const char *const *list)
{
    size_t n = 0;
    while (list && list[n])
        n++;
    return n;
}

static char *dup_or_null(const char *s)
{
    return s ? strdup(s) : NULL;
}

struct hn_outputs *hn_outputs_start(const struct hn_outputs_config *cfg, char *err,
                                    size_t err_len)
{
    err[0] = '\0';
    size_t n = (cfg->influxdb ? 1 : 0) + count(cfg->webhooks) + count(cfg->slack_webhooks);
    if (n == 0)
        return NULL;
    struct hn_outputs *o = calloc(1, sizeof(*o));
    if (o == NULL) {
        snprintf(err, err_len, "out of memory");
        return NULL;
    }
    pthread_mutex_init(&o->lock, NULL);
    o->cfg = *cfg;
    if (!(o->cfg.timeout_s > 0))
        o->cfg.timeout_s = 5;
    o->cfg.webhooks = o->cfg.slack_webhooks = NULL; /* not kept: copied into dests */
    o->dashboard_url = dup_or_null(cfg->dashboard_url);
    o->plugin = dup_or_null(cfg->plugin);
    o->version = dup_or_null(cfg->version);
    o->info = (struct hn_notify_info){
        .dashboard_url = o->dashboard_url, .plugin = o->plugin, .version = o->version};
    o->multi = curl_multi_init();
    o->dests = calloc(n, sizeof(*o->dests));
    o->influx = hn_influx_new();
    o->notify = hn_notify_new();
    if (o->multi == NULL || o->dests == NULL || o->influx == NULL || o->notify == NULL) {
        snprintf(err, err_len, "out of memory");
        free_all(o);
        return NULL;
    }
    int rc = 0;
    if (cfg->influxdb) {
        char *url = influx_write_url(cfg->influxdb, cfg->influxdb_db ? cfg->influxdb_db : "hornet");
        rc = url ? add_dest(o, DEST_INFLUX, url, err, err_len) : -1;
        if (url == NULL)
            snprintf(err, err_len, "--influxdb: cannot use '%s' (not a URL)", cfg->influxdb);
        free(url);
        if (rc == 0) {
            struct dest *d = &o->dests[o->n_dests - 1];
            free(d->shown);
            d->shown = shown_url(cfg->influxdb);
            d->headers = curl_slist_append(d->headers, "Content-Encoding: gzip");
            if (cfg->influxdb_token) {
                char *auth = NULL;
                if (asprintf(&auth, "Authorization: Token %s", cfg->influxdb_token) >= 0) {
                    d->headers = curl_slist_append(d->headers, auth);
                    explicit_bzero(auth, strlen(auth));
                    free(auth);
                }
            }
            o->influx_user = dup_or_null(cfg->influxdb_user);
            o->influx_password = dup_or_null(cfg->influxdb_password);
        }
    }
    for (size_t i = 0; rc == 0 && i < count(cfg->webhooks); i++)
        rc = add_dest(o, DEST_WEBHOOK, cfg->webhooks[i], err, err_len);
    for (size_t i = 0; rc == 0 && i < count(cfg->slack_webhooks); i++)
        rc = add_dest(o, DEST_SLACK, cfg->slack_webhooks[i], err, err_len);
    o->cfg.influxdb = o->cfg.influxdb_db = o->cfg.influxdb_user = NULL;
    o->cfg.influxdb_password = o->cfg.influxdb_token = NULL;
    o->cfg.dashboard_url = o->cfg.plugin = o->cfg.version = NULL;
    if (rc != 0) {
        free_all(o);
        return NULL;
    }
    if ((rc = pthread_create(&o->thread, NULL, run, o)) != 0) {
        snprintf(err, err_len, "cannot start the outputs' thread: %s", strerror(rc));
        free_all(o);
        return NULL;
    }
    return o;
}

/* Adds snap to the waiting ones; returns the snapshot it pushed out, if
 * any (to release outside the lock). [o->lock held] */
static struct hn_snapshot *add_pending(struct hn_outputs *o, struct hn_snapshot *snap, bool tick)
{
    struct hn_snapshot *old = NULL;
    if (o->n_pending > 0 && (o->last_is_tick || o->n_pending == PENDING_MAX))
        old = o->pending[--o->n_pending];
    o->pending[o->n_pending++] = hn_snapshot_ref(snap);
    o->last_is_tick = tick;
    return old;
}

void hn_outputs_on_snapshot(void *outputs, struct hn_snapshot *snap, int state_changed)
{
    struct hn_outputs *o = outputs;
    pthread_mutex_lock(&o->lock);
    struct hn_snapshot *old = add_pending(o, snap, !state_changed);
    pthread_mutex_unlock(&o->lock);
    hn_snapshot_release(old);
    curl_multi_wakeup(o->multi);
}

void hn_outputs_finish(struct hn_outputs *o, struct hn_snapshot *final)
{
    if (o == NULL)
        return;
    pthread_mutex_lock(&o->lock);
    struct hn_snapshot *old = NULL;
    if (final != NULL && (o->n_pending == 0 || o->pending[o->n_pending - 1]->seq < final->seq))
        old = add_pending(o, final, false);
    o->finishing = true;
    o->deadline = now_s() + o->cfg.timeout_s;
    pthread_mutex_unlock(&o->lock);
    hn_snapshot_release(old);
    curl_multi_wakeup(o->multi);
    pthread_join(o->thread, NULL);
    free_all(o);
}

int hn_outputs_check(const struct hn_outputs_config *cfg, char *err, size_t err_len)
{
    const char *problem = NULL;
    if (!cfg->influxdb && (cfg->influxdb_db || cfg->influxdb_user || cfg->influxdb_password ||
                           cfg->influxdb_token))
        problem = "--influxdb-db, --influxdb-user, --influxdb-password and --influxdb-token "
                  "need --influxdb URL";
    else if (cfg->influxdb_password && !cfg->influxdb_user)
        problem = "--influxdb-password needs --influxdb-user";
    else if (cfg->influxdb_user && !cfg->influxdb_password)
        problem = "--influxdb-user needs --influxdb-password (or HORNET_INFLUXDB_PASSWORD)";
    else if (cfg->influxdb_token && cfg->influxdb_user)
        problem = "--influxdb-token and --influxdb-user are two ways to sign in: give one";
    if (problem == NULL)
        return 0;
    snprintf(err, err_len, "hornet: %s", problem);
    return -1;
}

void hn_outputs_describe(const struct hn_outputs_config *cfg, char *buf, size_t n)
{
    FILE *f = n ? fmemopen(buf, n, "w") : NULL;
    if (f == NULL)
        return;
    const char *sep = "";
    if (cfg->influxdb) {
        char *shown = shown_url(cfg->influxdb);
        fprintf(f, "InfluxDB %s (database %s)", shown ? shown : "?",
                cfg->influxdb_db ? cfg->influxdb_db : "hornet");
        free(shown);
        sep = ", ";
    }
    size_t webhooks = count(cfg->webhooks), slack = count(cfg->slack_webhooks);
    if (webhooks) {
        fprintf(f, "%s%zu webhook%s", sep, webhooks, webhooks > 1 ? "s" : "");
        sep = ", ";
    }
    if (slack)
        fprintf(f, "%s%zu Slack webhook%s", sep, slack, slack > 1 ? "s" : "");
    fputc('\0', f);
    fclose(f);
    buf[n - 1] = '\0';
}
