/*
 * notify.h: what a run's snapshots announce (it started, it stopped, a
 * threshold broke) and the documents that say so: hornet's own JSON for
 * generic webhooks and Slack's incoming-webhook message format.
 *
 * Threads: an hn_notify has one owner; the renderers read only what they
 * are given.
 */
#ifndef HN_NOTIFY_H
#define HN_NOTIFY_H

#include <stddef.h>

struct hn_snapshot;
struct hn_notify;

enum hn_notify_kind { HN_NOTIFY_START, HN_NOTIFY_STOP, HN_NOTIFY_THRESHOLD };

struct hn_notify_event {
    enum hn_notify_kind kind;
    size_t threshold;         /* HN_NOTIFY_THRESHOLD: index into the snapshot's thresholds */
};

/* Shown in every document. */
struct hn_notify_info {
    const char *dashboard_url; /* "http://127.0.0.1:8089/" or NULL (headless) */
    const char *plugin;
    const char *version;
};

struct hn_notify *hn_notify_new(void);
void hn_notify_free(struct hn_notify *n);
/* The events snap makes due (each once per run, in order: a run that
 * started and stopped between two snapshots gives both); at most max. */
size_t hn_notify_due(struct hn_notify *n, const struct hn_snapshot *snap,
                     struct hn_notify_event *out, size_t max);

/* The webhook document for ev (malloc'ed JSON text), or NULL on OOM. */
char *hn_notify_webhook_body(const struct hn_notify_info *info, const struct hn_snapshot *snap,
                             const struct hn_notify_event *ev);
/* The same as a Slack message: "text" for notifications and Block Kit
 * blocks within Slack's limits. NULL on OOM. */
char *hn_notify_slack_body(const struct hn_notify_info *info, const struct hn_snapshot *snap,
                           const struct hn_notify_event *ev);

#endif
