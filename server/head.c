/* head.c: reading a peeked request head; see head.h. */
#include "head.h"

#include <stdbool.h>
#include <string.h>
#include <strings.h>

static bool ieq_prefix(const char *s, const char *end, const char *word)
{
    size_t n = strlen(word);
    return (size_t)(end - s) >= n && strncasecmp(s, word, n) == 0;
}

/* True when [s, end) contains word, ignoring case. */
static bool contains_ci(const char *s, const char *end, const char *word)
{
    for (; s < end; s++)
        if (ieq_prefix(s, end, word))
            return true;
    return false;
}

/* True when the head (ending with its blank line) has a header line
 * "name:" whose value contains word (any value when word is NULL),
 * ignoring case. The request line is skipped; header names may not be
 * preceded by whitespace. */
static bool header_has(const char *head, size_t len, const char *name, const char *word)
{
    const char *end = head + len;
    size_t nlen = strlen(name);
    const char *line = memchr(head, '\n', len);
    while (line != NULL && ++line < end) {
        const char *eol = memchr(line, '\n', (size_t)(end - line));
        if (eol == NULL)
            eol = end;
        if (ieq_prefix(line, eol, name)) {
            const char *p = line + nlen;
            while (p < eol && (*p == ' ' || *p == '\t'))
                p++;
            if (p < eol && *p == ':' && (word == NULL || contains_ci(p + 1, eol, word)))
                return true;
        }
        line = eol < end ? eol : NULL;
    }
    return false;
}

/* The value of the first header line "name:" (trimmed, *vlen bytes), or
 * NULL. *count is set to the number of such lines. */
static const char *header_value(const char *head, size_t len, const char *name, size_t *vlen,
                                int *count)
{
    const char *end = head + len, *found = NULL;
    size_t nlen = strlen(name);
    *count = 0;
    const char *line = memchr(head, '\n', len);
    while (line != NULL && ++line < end) {
        const char *eol = memchr(line, '\n', (size_t)(end - line));
        if (eol == NULL)
            eol = end;
        if (ieq_prefix(line, eol, name) && line + nlen < eol && line[nlen] == ':') {
            const char *p = line + nlen + 1, *q = eol;
            while (p < q && (*p == ' ' || *p == '\t'))
                p++;
            while (q > p && (q[-1] == '\r' || q[-1] == ' ' || q[-1] == '\t'))
                q--;
            if ((*count)++ == 0) {
                found = p;
                *vlen = (size_t)(q - p);
            }
        }
        line = eol < end ? eol : NULL;
    }
    return found;
}

#define QUERY_PARAMS_MAX 100

/* What libmicrohttpd or lws would get wrong with this head (no answer, an
 * HTML page, a response sent twice), answered here instead: NULL when it
 * is fine, else the reason, with *status. */
static const char *head_problem(const char *head, size_t len, bool websocket, const char **status)
{
    size_t vlen = 0;
    int count = 0;
    *status = "400 Bad Request";
    const char *cl = header_value(head, len, "content-length", &vlen, &count);
    if (cl != NULL) {
        bool digits = vlen > 0 && vlen <= 18;
        for (size_t i = 0; digits && i < vlen; i++)
            digits = cl[i] >= '0' && cl[i] <= '9';
        if (!digits || count > 1)
            return "invalid Content-Length (one whole number of bytes)";
    }
    const char *te = header_value(head, len, "transfer-encoding", &vlen, &count);
    if (te != NULL) {
        if (cl != NULL)
            return "both Content-Length and Transfer-Encoding";
        if (count > 1 || vlen != 7 || strncasecmp(te, "chunked", 7) != 0) {
            *status = "501 Not Implemented";
            return "Transfer-Encoding other than chunked is not supported";
        }
    }
    /* The request line only (the head ends in a blank line: eol exists). */
    const char *eol = memchr(head, '\n', len);
    size_t line = eol ? (size_t)(eol - head) : len;
    const char *sp = memchr(head, ' ', line);
    const char *q = sp ? memchr(sp, '?', line - (size_t)(sp - head)) : NULL;
    int params = 0;
    for (const char *p = q; p != NULL && p < head + line && *p != ' '; p++)
        params += *p == '&' || *p == '?';
    if (params > QUERY_PARAMS_MAX)
        return "too many query parameters (at most 100)";
    if (websocket) {
        const char *key = header_value(head, len, "sec-websocket-key", &vlen, &count);
        /* Base64 of 16 random bytes (RFC 6455 4.1). */
        if (key == NULL || vlen != 24 || key[22] != '=' || key[23] != '=' || count > 1)
            return "invalid WebSocket upgrade request (Sec-WebSocket-Key must be 16 bytes, "
                   "base64)";
        const char *v = header_value(head, len, "sec-websocket-version", &vlen, &count);
        if (v == NULL || vlen != 2 || strncmp(v, "13", 2) != 0) {
            *status = "426 Upgrade Required";
            return "unsupported WebSocket version (this server speaks 13)";
        }
    }
    return NULL;
}


void hn_head_read(const char *buf, size_t n, size_t cap, struct hn_head *out)
{
    memset(out, 0, sizeof *out);
    out->route = HN_HEAD_REFUSE;
    out->status = "400 Bad Request";
    if (n == 0) {
        out->route = HN_HEAD_INCOMPLETE;
        return;
    }
    /* Empty lines before the request line are tolerated by HTTP (and by
     * libmicrohttpd, which gets the bytes as they came): look past them. A
     * head of nothing else is not complete, whatever blank lines it has. */
    size_t skip = 0;
    while (skip < n && (buf[skip] == '\r' || buf[skip] == '\n'))
        skip++;
    if (skip == n) {
        out->route = HN_HEAD_INCOMPLETE;
        if (n >= cap) {
            out->route = HN_HEAD_REFUSE;
            out->status = "431 Request Header Fields Too Large";
            out->message = "request head larger than 8 KiB";
        }
        return;
    }
    buf += skip;
    n -= skip;
    /* Requests are ASCII words; anything else, such as a TLS hello, will
     * never be a head. */
    unsigned char first = (unsigned char)buf[0];
    if (!(first >= 'A' && first <= 'Z')) {
        out->message = "not an HTTP request";
        return;
    }
    const char *end = memmem(buf, n, "\r\n\r\n", 4);
    const char *bare = memmem(buf, n, "\n\n", 2);
    if (bare != NULL && (end == NULL || bare < end)) {
        /* Neither library would answer a head of bare LF line ends. */
        out->message = "request head lines must end with CRLF";
        return;
    }
    if (end == NULL) {
        if (n + skip >= cap) {
            out->status = "431 Request Header Fields Too Large";
            out->message = "request head larger than 8 KiB";
        } else {
            out->route = HN_HEAD_INCOMPLETE;
        }
        return;
    }
    size_t len = (size_t)(end - buf) + 4;
    bool websocket = header_has(buf, len, "upgrade", "websocket");
    out->message = head_problem(buf, len, websocket, &out->status);
    if (out->message != NULL)
        return;
    if (!websocket) {
        out->route = HN_HEAD_HTTP;
        return;
    }
    if (!header_has(buf, len, "connection", "upgrade")) {
        out->message = "invalid WebSocket upgrade request"; /* lws would drop it without a word */
        return;
    }
    size_t alen = 0;
    int count = 0;
    const char *auth = header_value(buf, len, "authorization", &alen, &count);
    if (auth != NULL && alen < sizeof out->authorization)
        memcpy(out->authorization, auth, alen);
    out->route = HN_HEAD_WEBSOCKET;
}
