/*
 * textutil.h: text from plugins and users is arbitrary bytes; jansson and
 * browsers need valid UTF-8. These helpers keep valid sequences and turn
 * every invalid byte into U+FFFD, so a bad name never drops a field.
 *
 * Threads: any (no state).
 */
#ifndef HN_TEXTUTIL_H
#define HN_TEXTUTIL_H

#include <stddef.h>

#include <jansson.h>

/* Length of the valid UTF-8 sequence starting at p, or 0 if it is not one
 * (stray continuation, overlong form, surrogate, above U+10FFFF, cut short
 * by the terminating NUL). */
size_t hn_utf8_seq(const unsigned char *p);
/* A malloc'ed copy of s with invalid UTF-8 replaced by U+FFFD; NULL on OOM. */
char *hn_utf8_clean(const char *s);
/* A JSON string for any bytes (cleaned as above); NULL s gives "". */
json_t *hn_json_text(const char *s);
/* The same, but NULL s gives JSON null. */
json_t *hn_json_text_or_null(const char *s);

#endif
