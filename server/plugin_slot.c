/* plugin_slot.c: the plugin and its reload; see plugin_slot.h. */
#include "plugin_slot.h"

#include <errno.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <hornet/hornet.h>

#include "errbuf.h"
#include "feeder.h"
#include "log.h"
#include "params.h"
#include "plugin_host.h"
#include "runner.h"
#include "textutil.h"

struct hn_plugin_slot {
    struct hn_plugin_slot_config cfg;
    char *path;
    const char **feeds;
    struct hn_runner *runner;
    pthread_mutex_t lock;             /* guards everything below */
    struct hn_loaded_plugin *loaded;
    struct hn_feeders *feeders;
    struct stat seen;                 /* the file when it was loaded */
    bool seen_ok;
    double loaded_at;                 /* wall-clock seconds */
    unsigned reloads;
    json_t *user_types, *params;      /* what the page shows of it */
    char *error;                      /* the last failed reload's message, or NULL */
};

static double wall_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* Names are arbitrary bytes from the plugin: hn_json_text keeps them valid JSON. */
static json_t *describe_types(const struct hn_plugin *p)
{
    json_t *arr = json_array();
    for (const struct hn_user_type *t = p->user_types; t->name; t++) {
        json_t *tasks = json_array();
        for (const struct hn_task *k = t->tasks; k->fn; k++)
            json_array_append_new(tasks, json_pack("{s:o, s:I, s:o}", "name",
                                                   hn_json_text(k->name), "weight",
                                                   (json_int_t)(k->weight ? k->weight : 1),
                                                   "tags", hn_json_text_or_null(k->tags)));
        json_array_append_new(arr, json_pack("{s:o, s:I, s:I, s:o, s:o}", "name",
                                             hn_json_text(t->name), "weight",
                                             (json_int_t)t->weight, "fixed_count",
                                             (json_int_t)t->fixed_count, "host",
                                             hn_json_text_or_null(t->host), "tasks", tasks));
    }
    return arr;
}

/* A secret's default is not shown either. */
static json_t *describe_params(const struct hn_plugin *p)
{
    json_t *arr = json_array();
    for (const struct hn_param *d = p->abi_minor >= 1 ? p->params : NULL; d && d->name; d++) {
        bool secret = (d->flags & HN_PARAM_SECRET) != 0;
        const char *def = d->default_value ? d->default_value : "";
        json_array_append_new(arr, json_pack("{s:o, s:s, s:o, s:o, s:b}", "name",
                                             hn_json_text(d->name), "type",
                                             hn_param_type_name(d->type), "default",
                                             hn_json_text(secret && *def ? "********" : def),
                                             "help", hn_json_text_or_null(d->help), "secret",
                                             secret));
    }
    return arr;
}

/* Remembers the file as it is now, to tell when it changes. */
static void note_file(struct hn_plugin_slot *s)
{
    s->seen_ok = s->path != NULL && stat(s->path, &s->seen) == 0;
    s->loaded_at = wall_now();
}

static void describe(struct hn_plugin_slot *s)
{
    const struct hn_plugin *p = hn_plugin_descriptor(s->loaded);
    json_decref(s->user_types);
    json_decref(s->params);
    s->user_types = describe_types(p);
    s->params = describe_params(p);
}

int hn_plugin_slot_new(struct hn_plugin_slot **out, const struct hn_plugin_slot_config *cfg,
                       struct hn_loaded_plugin *loaded, struct hn_feeders *feeders)
{
    *out = NULL;
    struct hn_plugin_slot *s = calloc(1, sizeof *s);
    size_t n = 0;
    while (cfg->feeds && cfg->feeds[n])
        n++;
    if (s == NULL || (s->feeds = calloc(n + 1, sizeof *s->feeds)) == NULL) {
        free(s);
        hn_plugin_unload(loaded);
        hn_feeders_free(feeders);
        return -1;
    }
    s->cfg = *cfg;
    s->path = cfg->path ? strdup(cfg->path) : NULL;
    for (size_t i = 0; i < n; i++)
        s->feeds[i] = strdup(cfg->feeds[i]);
    s->cfg.path = NULL;
    s->cfg.feeds = NULL;
    pthread_mutex_init(&s->lock, NULL);
    s->loaded = loaded;
    s->feeders = feeders;
    note_file(s);
    describe(s);
    *out = s;
    return 0;
}

void hn_plugin_slot_attach(struct hn_plugin_slot *s, struct hn_runner *runner)
{
    s->runner = runner;
}

void hn_plugin_slot_free(struct hn_plugin_slot *s)
{
    if (s == NULL)
        return;
    hn_feeders_free(s->feeders);
    hn_plugin_unload(s->loaded);
    json_decref(s->user_types);
    json_decref(s->params);
    for (size_t i = 0; s->feeds[i]; i++)
        free((char *)s->feeds[i]);
    free(s->feeds);
    free(s->path);
    free(s->error);
    pthread_mutex_destroy(&s->lock);
    free(s);
}

const struct hn_plugin *hn_plugin_slot_plugin(const struct hn_plugin_slot *s)
{
    return hn_plugin_descriptor(s->loaded);
}

const struct hn_feeders *hn_plugin_slot_feeders(const struct hn_plugin_slot *s)
{
    return s->feeders;
}

json_t *hn_plugin_slot_user_types(struct hn_plugin_slot *s)
{
    pthread_mutex_lock(&s->lock);
    json_t *v = json_incref(s->user_types);
    pthread_mutex_unlock(&s->lock);
    return v;
}

json_t *hn_plugin_slot_params(struct hn_plugin_slot *s)
{
    pthread_mutex_lock(&s->lock);
    json_t *v = json_incref(s->params);
    pthread_mutex_unlock(&s->lock);
    return v;
}

json_t *hn_plugin_slot_status(struct hn_plugin_slot *s)
{
    pthread_mutex_lock(&s->lock);
    struct stat now;
    bool exists = s->path != NULL && stat(s->path, &now) == 0;
    /* A new file (an editor's save-as-rename), another size or time. */
    bool changed = s->path != NULL &&
                   (exists != s->seen_ok ||
                    (exists && (now.st_ino != s->seen.st_ino || now.st_dev != s->seen.st_dev ||
                                now.st_size != s->seen.st_size ||
                                now.st_mtim.tv_sec != s->seen.st_mtim.tv_sec ||
                                now.st_mtim.tv_nsec != s->seen.st_mtim.tv_nsec)));
    json_t *o = json_pack("{s:o, s:b, s:b, s:b, s:f, s:I, s:o}", "path",
                          hn_json_text_or_null(s->path ? s->path : "shop (built-in)"),
                          "reloadable", s->path != NULL, "changed", changed, "exists",
                          s->path == NULL || exists, "loaded_at", s->loaded_at, "reloads",
                          (json_int_t)s->reloads, "error", hn_json_text_or_null(s->error));
    pthread_mutex_unlock(&s->lock);
    return o;
}

static void set_error(struct hn_plugin_slot *s, const char *msg)
{
    pthread_mutex_lock(&s->lock);
    free(s->error);
    s->error = msg ? strdup(msg) : NULL;
    pthread_mutex_unlock(&s->lock);
}

int hn_plugin_slot_reload(struct hn_plugin_slot *s, char *err, size_t err_len)
{
    err[0] = '\0';
    if (s->path == NULL) {
        hn_set_err(err, err_len, "the built-in plugin cannot be reloaded: start hornet with "
                                 "-f FILE");
        return -EPERM;
    }
    enum hn_state st = hn_runner_state(s->runner);
    if (st != HN_STATE_READY && st != HN_STATE_STOPPED) {
        hn_set_err(err, err_len, "a run is on: stop it before reloading the plugin");
        return -EBUSY;
    }
    struct stat before;
    bool had = stat(s->path, &before) == 0;
    struct hn_loaded_plugin *fresh = NULL;
    struct hn_feeders *feeders = NULL;
    if (hn_plugin_load(s->path, NULL, &fresh, err, err_len) != 0) {
        set_error(s, err);
        return -EINVAL;
    }
    const struct hn_plugin *p = hn_plugin_descriptor(fresh);
    bool declares = p->abi_minor >= 1 && p->feeders != NULL && p->feeders[0].name != NULL;
    if ((declares || s->feeds[0] != NULL) &&
        hn_feeders_load(p, s->feeds, &feeders, err, err_len) != 0) {
        set_error(s, err);
        hn_plugin_unload(fresh);
        return -EINVAL;
    }
    int rc = hn_runner_set_plugin(s->runner, p, feeders, err, err_len);
    if (rc == 0 && s->cfg.on_swap != NULL &&
        s->cfg.on_swap(s->cfg.on_swap_ud, p, feeders, err, err_len) != 0) {
        /* Back to the old one, which the runner could run a moment ago. */
        char back[256];
        if (hn_runner_set_plugin(s->runner, hn_plugin_descriptor(s->loaded), s->feeders, back,
                                 sizeof back) != 0)
            hn_logf(HN_ERROR, "reload: cannot go back to the old plugin: %s", back);
        rc = -EINVAL;
    }
    if (rc != 0) {
        if (rc != -EBUSY)
            set_error(s, err);
        hn_feeders_free(feeders);
        hn_plugin_unload(fresh);
        return rc == -EBUSY ? rc : -EINVAL;
    }
    /* Nothing uses the old plugin now. */
    pthread_mutex_lock(&s->lock);
    struct hn_loaded_plugin *old = s->loaded;
    struct hn_feeders *old_feeders = s->feeders;
    s->loaded = fresh;
    s->feeders = feeders;
    s->reloads++;
    free(s->error);
    s->error = NULL;
    /* The file as it was when compiling began: a save during the compile
     * still reads as a change. */
    s->seen_ok = had;
    s->seen = before;
    s->loaded_at = wall_now();
    describe(s);
    pthread_mutex_unlock(&s->lock);
    hn_feeders_free(old_feeders);
    hn_plugin_unload(old);
    hn_logf(HN_INFO, "plugin %s reloaded", s->path);
    return 0;
}
