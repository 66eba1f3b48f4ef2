/*
 * errbuf.h: calls that can fail say why in one line, written into a buffer
 * the caller owns (char *err, size_t err_len), as everywhere in hornet.
 *
 * Threads: any.
 */
#ifndef HN_ERRBUF_H
#define HN_ERRBUF_H

#include <stddef.h>

/* printf into err (truncated to err_len); NULL err or 0 err_len ignored. */
void hn_set_err(char *err, size_t err_len, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

#endif
