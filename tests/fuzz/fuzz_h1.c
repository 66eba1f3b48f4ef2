/* fuzz_h1.c: the fast HTTP client's response reader (engine/client/
 * h1_reader.c, into http_message.c's response) with any bytes a server
 * sends, in any pieces, and its cookie jar (engine/client/cookie_jar.c)
 * with the Set-Cookie values they carry. A response ends done or failed,
 * never both: failed with a reason and no status, done with a final status;
 * the body kept stays within max_body and NUL-terminated, the rest counted;
 * the headers kept stay within HN_HEADERS_MAX, one line each, no CR or LF.
 *
 * The first 5 bytes of an input say how the rest arrives:
 *   [0] bit 0: the request was a HEAD; bit 1: it asked for gzip/deflate;
 *       bits 2-3: max_body 1 MiB (the default), 4096, 16 or 1 byte;
 *       bit 4: the reader reads the next response from the next piece
 *       after one ends (a kept-alive connection, or a new one);
 *       bit 5: the second piece is sent 2048 times (a long header line,
 *       a head past its limit, a long body); bits 6-7: unused
 *   [1..3] the pieces' lengths, taken in turn (0: all the rest at once)
 *   [4] the cookie jar: bits 0-2 the host, bits 3-4 the request path,
 *       bit 5 a secure request, bits 6-7 when the Cookie header is asked
 *       (at once, an hour later, a year later, an hour before)
 * Every seed in corpus/h1 starts with these 5 bytes. */
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "cookie_jar.h"
#include "h1_reader.h"
#include "http_message.h"

#define CONTROL 5
#define REPEATS 2048
#define RAW_COOKIES 16 /* lines of the input also tried as Set-Cookie values */

static const char *const hosts[8] = {"example.com", "www.example.com", "a.b.example.com",
                                     "EXAMPLE.com", "127.0.0.1", "::1", "localhost",
                                     "example.org"};
static const char *const paths[4] = {"/", "/app/x", "/app/", "/a/b/c/d"};
static const time_t later[4] = {0, 3600, 366 * 86400, -3600};
#define NOW ((time_t)1700000000) /* 2023-11-14 */

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    hn_h1_reader_global_init();
    return 0;
}

/* scan_lines: look at every byte of the headers too (not after each of
 * 2048 repeated pieces: that would be most of the run's time). */
static void check_response(const struct hn_http_response *r, enum hn_h1_state st,
                           bool head_request, bool scan_lines)
{
    if (r->len > r->limits.max_body || r->bytes < r->len)
        abort();
    if (r->body == NULL ? r->len != 0 : (r->len >= r->cap || r->body[r->len] != '\0'))
        abort();
    if (r->truncated != (r->bytes > r->len) || (r->truncated && r->len != r->limits.max_body))
        abort(); /* what is dropped is counted, and only past max_body */
    if (r->hlen > HN_HEADERS_MAX || (r->headers == NULL ? r->hlen != 0 : r->hlen > r->hcap))
        abort();
    if (r->hlen > 0 && r->headers[r->hlen - 1] != '\0')
        abort();
    if (scan_lines && r->hlen > 0 &&
        (memchr(r->headers, '\r', r->hlen) != NULL || memchr(r->headers, '\n', r->hlen) != NULL))
        abort(); /* a header line is one line */
    switch (st) {
    case HN_H1_ERROR:
        if (r->status != 0 || r->error == NULL || r->error[0] == '\0')
            abort();
        break;
    case HN_H1_DONE:
        /* a final status: 1xx heads other than 101 are interim */
        if (r->error != NULL || !r->head_done || r->status_1xx || r->status > 999 ||
            (r->status < 200 && r->status != 101))
            abort();
        if (head_request && r->bytes != 0)
            abort(); /* a HEAD's response has no body */
        break;
    case HN_H1_MORE:
        if (r->error != NULL || (r->status_1xx && r->head_done))
            abort();
        break;
    default:
        abort();
    }
}

static void check_cookie_header(const struct hn_cookie_jar *jar, const char *h, bool no_breaks)
{
    if (jar->n > HN_COOKIES_MAX || jar->n > jar->cap)
        abort();
    if (h == NULL)
        return;
    size_t n = strlen(h);
    if (n == 0 || n > (size_t)HN_COOKIES_MAX * (HN_COOKIE_MAX + 3))
        abort();
    if (no_breaks && strpbrk(h, "\r\n") != NULL)
        abort(); /* a server's cookie must not add a line to our request */
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < CONTROL)
        return 0;
    const uint8_t flags = data[0], cookie_bits = data[4];
    const size_t piece[3] = {data[1], data[2], data[3]};
    static const size_t max_bodies[4] = {0, 4096, 16, 1};
    const bool head_request = flags & 1, want_inflate = flags & 2, reuse = flags & 16,
               repeat = flags & 32;
    const char *host = hosts[cookie_bits & 7], *path = paths[(cookie_bits >> 3) & 3];
    const bool secure = cookie_bits & 32;
    const char *in = (const char *)data + CONTROL;
    size_t left = size - CONTROL;

    struct hn_http_options opt = {.max_body = max_bodies[(flags >> 2) & 3]};
    struct hn_http_response resp;
    memset(&resp, 0, sizeof resp);
    hn_http_response_reset(&resp);
    resp.limits = hn_http_options_or_defaults(&opt);
    struct hn_h1_reader rd;
    memset(&rd, 0, sizeof rd);
    hn_h1_reader_begin(&rd, &resp, head_request, want_inflate);
    struct hn_cookie_jar jar = {0}, raw_jar = {0};

    uint64_t now_us = 1000000000000u;
    enum hn_h1_state st = HN_H1_MORE;
    for (unsigned k = 0; left > 0; k++) {
        size_t n = piece[k % 3] == 0 || piece[k % 3] > left ? left : piece[k % 3];
        unsigned times = repeat && k == 1 ? REPEATS : 1;
        for (unsigned t = 0; t < times && st == HN_H1_MORE; t++) {
            now_us += 1000;
            st = hn_h1_reader_feed(&rd, in, n, now_us);
            check_response(&resp, st, head_request, times == 1);
        }
        if (times > 1)
            check_response(&resp, st, head_request, true);
        in += n;
        left -= n;
        if (st == HN_H1_MORE)
            continue;
        if (st == HN_H1_DONE)
            hn_cookie_jar_store(&jar, resp.headers, resp.hlen, host, path, NOW);
        if (!reuse)
            break;
        /* The next response, on the same connection or a new one: what
         * remained of this piece is dropped, as the fast client drops a
         * connection with bytes past its response. */
        hn_http_response_reset(&resp);
        hn_h1_reader_begin(&rd, &resp, head_request, want_inflate);
        st = HN_H1_MORE;
    }
    if (st == HN_H1_MORE && (resp.head_started || !reuse)) {
        st = hn_h1_reader_eof(&rd);
        if (st == HN_H1_MORE)
            abort(); /* at the close a response is done or failed */
        check_response(&resp, st, head_request, true);
        if (st == HN_H1_DONE)
            hn_cookie_jar_store(&jar, resp.headers, resp.hlen, host, path, NOW);
    }

    /* Lines of the input as Set-Cookie values too, whatever the reader
     * made of them. */
    const char *p = (const char *)data + CONTROL, *end = (const char *)data + size;
    for (int i = 0; i < RAW_COOKIES && p < end; i++) {
        const char *nl = memchr(p, '\n', (size_t)(end - p));
        size_t ll = (size_t)((nl ? nl : end) - p);
        char *v = strndup(p, ll); /* to a NUL, if one comes first */
        if (v == NULL)
            break;
        size_t vl = strlen(v);
        if (vl > 0 && v[vl - 1] == '\r')
            v[vl - 1] = '\0';
        const char *value = strncasecmp(v, "Set-Cookie:", 11) == 0 ? v + 11 : v;
        hn_cookie_jar_set(&raw_jar, value, host, path, NOW);
        free(v);
        p += ll + 1;
    }
    time_t ask = NOW + later[cookie_bits >> 6];
    char *h = hn_cookie_jar_header(&jar, host, path, secure, ask);
    check_cookie_header(&jar, h, true);
    free(h);
    h = hn_cookie_jar_header(&raw_jar, host, path, secure, ask);
    check_cookie_header(&raw_jar, h, false);
    free(h);
    h = hn_cookie_jar_header(&raw_jar, hosts[(cookie_bits + 1) & 7], "/", !secure, NOW);
    check_cookie_header(&raw_jar, h, false);
    free(h);

    hn_cookie_jar_clear(&jar);
    hn_cookie_jar_clear(&raw_jar);
    hn_h1_reader_free(&rd);
    hn_http_response_free(&resp);
    return 0;
}
