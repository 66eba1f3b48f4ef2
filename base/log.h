/*
 * log.h: levelled, thread-safe logging to stderr, with the last lines kept
 * in memory for the dashboard's Logs tab.
 *
 * Threads: any.
 */
#ifndef HN_LOG_H
#define HN_LOG_H

#include <stddef.h>

enum hn_loglevel { HN_DEBUG, HN_INFO, HN_WARNING, HN_ERROR, HN_CRITICAL };

/* Parses "debug|info|warning|error|critical" (case-insensitive); -1 if unknown. */
int hn_loglevel_parse(const char *s);
void hn_log_set_level(int level);
/* printf-style; one line, no trailing newline needed. */
void hn_logf(int level, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Called with every line (already formatted, any level) after it was
 * logged, outside the logger's lock, on the thread that logged it. One sink
 * at a time; NULL removes it. Must not block. */
typedef void (*hn_log_sink_cb)(void *ud, int level, const char *line);
void hn_log_set_sink(hn_log_sink_cb cb, void *ud);

/* Copies up to max of the most recent lines (oldest first) as malloc'ed
 * strings into out; returns how many. Caller frees each and nothing else. */
size_t hn_log_recent(char **out, size_t max);

#endif
