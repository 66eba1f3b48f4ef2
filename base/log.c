/* log.c: levelled logger with an in-memory ring of recent lines. */
#include "log.h"

#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#define RING 500 /* lines kept for the Logs tab, as Locust */

static const char *const level_names[] = {"DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"};

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static int min_level = HN_INFO;
static char *ring[RING]; /* guarded by lock */
/* The sink runs under its own lock, so that once hn_log_set_sink returns
 * the old sink is not running and never will again. */
static pthread_mutex_t sink_lock = PTHREAD_MUTEX_INITIALIZER;
static hn_log_sink_cb sink; /* guarded by sink_lock */
static void *sink_ud;
static __thread int in_sink; /* a sink that logs must not recurse */
static size_t ring_next, ring_count;

int hn_loglevel_parse(const char *s)
{
    for (int i = 0; i < 5; i++)
        if (strcasecmp(s, level_names[i]) == 0)
            return i;
    if (strcasecmp(s, "warn") == 0)
        return HN_WARNING;
    return -1;
}

void hn_log_set_level(int level)
{
    pthread_mutex_lock(&lock);
    min_level = level;
    pthread_mutex_unlock(&lock);
}

void hn_logf(int level, const char *fmt, ...)
{
    if (level < HN_DEBUG)
        level = HN_DEBUG;
    if (level > HN_CRITICAL)
        level = HN_CRITICAL;
    char msg[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);

    char stamp[32];
    time_t now = time(NULL);
    struct tm tm;
    localtime_r(&now, &tm);
    strftime(stamp, sizeof stamp, "%Y-%m-%d %H:%M:%S", &tm);

    char line[1200];
    snprintf(line, sizeof line, "[%s] %s: %s", stamp, level_names[level], msg);

    pthread_mutex_lock(&lock);
    if (level >= min_level)
        fprintf(stderr, "%s\n", line);
    free(ring[ring_next]);
    ring[ring_next] = strdup(line);
    ring_next = (ring_next + 1) % RING;
    if (ring_count < RING)
        ring_count++;
    pthread_mutex_unlock(&lock);
    if (!in_sink) {
        pthread_mutex_lock(&sink_lock);
        if (sink != NULL) {
            in_sink = 1;
            sink(sink_ud, level, line);
            in_sink = 0;
        }
        pthread_mutex_unlock(&sink_lock);
    }
}

void hn_log_set_sink(hn_log_sink_cb cb, void *ud)
{
    pthread_mutex_lock(&sink_lock);
    sink = cb;
    sink_ud = ud;
    pthread_mutex_unlock(&sink_lock);
}

size_t hn_log_recent(char **out, size_t max)
{
    pthread_mutex_lock(&lock);
    size_t n = ring_count < max ? ring_count : max;
    size_t start = (ring_next + RING - n) % RING;
    size_t got = 0;
    for (size_t i = 0; i < n; i++) {
        const char *l = ring[(start + i) % RING];
        if (l != NULL)
            out[got++] = strdup(l);
    }
    pthread_mutex_unlock(&lock);
    return got;
}
