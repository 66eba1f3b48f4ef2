/* textutil.c: UTF-8 cleaning for JSON and HTML output; see textutil.h. */
#include "textutil.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

size_t hn_utf8_seq(const unsigned char *p)
{
    unsigned c = p[0];
    if (c < 0x80)
        return 1;
    size_t len;
    uint32_t cp;
    if (c >= 0xC2 && c <= 0xDF) {
        len = 2;
        cp = c & 0x1F;
    } else if (c >= 0xE0 && c <= 0xEF) {
        len = 3;
        cp = c & 0x0F;
    } else if (c >= 0xF0 && c <= 0xF4) {
        len = 4;
        cp = c & 0x07;
    } else {
        return 0;
    }
    for (size_t i = 1; i < len; i++) {
        if ((p[i] & 0xC0) != 0x80)
            return 0; /* also stops at the terminating NUL */
        cp = (cp << 6) | (p[i] & 0x3F);
    }
    if ((len == 3 && cp < 0x800) || (len == 4 && (cp < 0x10000 || cp > 0x10FFFF)) ||
        (cp >= 0xD800 && cp <= 0xDFFF))
        return 0;
    return len;
}

char *hn_utf8_clean(const char *s)
{
    char *out = malloc(strlen(s) * 3 + 1);
    if (out == NULL)
        return NULL;
    size_t o = 0;
    for (const unsigned char *p = (const unsigned char *)s; *p != '\0';) {
        size_t len = hn_utf8_seq(p);
        if (len == 0) {
            memcpy(out + o, "\xEF\xBF\xBD", 3);
            o += 3;
            p++;
        } else {
            memcpy(out + o, p, len);
            o += len;
            p += len;
        }
    }
    out[o] = '\0';
    return out;
}

json_t *hn_json_text(const char *s)
{
    if (s == NULL)
        return json_string("");
    json_t *j = json_string(s); /* the common case: already valid */
    if (j != NULL)
        return j;
    char *clean = hn_utf8_clean(s);
    j = clean != NULL ? json_string(clean) : NULL;
    free(clean);
    return j;
}

json_t *hn_json_text_or_null(const char *s)
{
    return s != NULL ? hn_json_text(s) : json_null();
}
