/*
 * h1_reader.c: libhttp-parser's callbacks, keeping what a plugin may read
 * of a response, and the names of its faults.
 */
#include "h1_reader.h"

#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <zlib.h>

/* Set by a callback that refuses the response; the parser then stops
 * with a callback error and this is the message. */
#define FAIL(rd, msg) ((rd)->resp->error == NULL ? (void)((rd)->resp->error = strdup(msg)) : (void)0)

void hn_h1_reader_global_init(void)
{
    http_parser_set_max_header_size(HN_HEAD_MAX);
}

static void end_inflate(struct hn_h1_reader *rd)
{
    if (rd->inflater != NULL) {
        inflateEnd(rd->inflater);
        free(rd->inflater);
        rd->inflater = NULL;
    }
    rd->inflate_body = false;
}

static int line_add(struct hn_h1_reader *rd, const char *at, size_t len)
{
    if (rd->line_len + len > HN_HEADER_LINE_MAX) {
        FAIL(rd, "response header too large");
        return -1;
    }
    if (rd->line_len + len > rd->line_cap) {
        size_t cap = rd->line_cap ? rd->line_cap : 128;
        while (cap < rd->line_len + len)
            cap *= 2;
        char *p = realloc(rd->line, cap);
        if (p == NULL) {
            FAIL(rd, "out of memory");
            return -1;
        }
        rd->line = p;
        rd->line_cap = cap;
    }
    memcpy(rd->line + rd->line_len, at, len);
    rd->line_len += len;
    return 0;
}

static int line_flush(struct hn_h1_reader *rd)
{
    if (rd->line_len == 0)
        return 0;
    /* Trailing blanks of the value are not part of it (RFC 9110 5.5). */
    size_t len = rd->line_len;
    while (len > 0 && (rd->line[len - 1] == ' ' || rd->line[len - 1] == '\t'))
        len--;
    rd->line_len = 0;
    rd->in_value = false;
    if (!hn_http_response_add_header(rd->resp, rd->line, len)) {
        FAIL(rd, "out of memory");
        return -1;
    }
    return 0;
}

static int on_header_field(http_parser *p, const char *at, size_t len)
{
    struct hn_h1_reader *rd = p->data;
    if (rd->in_value && line_flush(rd) != 0)
        return -1;
    return line_add(rd, at, len);
}

static int on_header_value(http_parser *p, const char *at, size_t len)
{
    struct hn_h1_reader *rd = p->data;
    if (!rd->in_value) {
        rd->in_value = true;
        if (line_add(rd, ": ", 2) != 0)
            return -1;
    }
    return line_add(rd, at, len);
}

static int on_headers_complete(http_parser *p)
{
    struct hn_h1_reader *rd = p->data;
    struct hn_http_response *r = rd->resp;
    if (line_flush(rd) != 0)
        return -1;
    if (p->status_code < 100 || p->status_code > 999) {
        FAIL(rd, "malformed HTTP response (status code not 100-999)");
        return -1;
    }
    if (p->status_code < 200 && p->status_code != 101) {
        r->status_1xx = true; /* an interim head: the response's own follows */
        return 0;
    }
    r->status = p->status_code;
    r->head_done = true;
    if (rd->want_inflate) {
        const char *ce = hn_http_response_header(r, "Content-Encoding");
        if (ce != NULL && (strcasecmp(ce, "gzip") == 0 || strcasecmp(ce, "x-gzip") == 0 ||
                           strcasecmp(ce, "deflate") == 0)) {
            z_stream *z = calloc(1, sizeof *z);
            /* 15 + 32: zlib or gzip, told apart by their headers. */
            if (z == NULL || inflateInit2(z, 15 + 32) != Z_OK) {
                free(z);
                FAIL(rd, "out of memory");
                return -1;
            }
            rd->inflater = z;
            rd->inflate_body = true;
        }
    }
    return rd->head_request ? 1 : 0; /* 1: no body follows */
}

static int on_body(http_parser *p, const char *at, size_t len)
{
    struct hn_h1_reader *rd = p->data;
    struct hn_http_response *r = rd->resp;
    if (r->status_1xx)
        return 0; /* an interim response's body is not the response's */
    if (!rd->inflate_body) {
        hn_http_response_add_body(r, at, len);
        return 0;
    }
    z_stream *z = rd->inflater;
    if (z == NULL)
        return 0; /* the stream ended: what follows is ignored, as curl does */
    unsigned char out[16384];
    z->next_in = (unsigned char *)(uintptr_t)at;
    z->avail_in = (uInt)len;
    while (z->avail_in > 0) {
        z->next_out = out;
        z->avail_out = sizeof out;
        int rc = inflate(z, Z_NO_FLUSH);
        size_t n = sizeof out - z->avail_out;
        if (n > 0)
            hn_http_response_add_body(r, (const char *)out, n);
        if (rc == Z_STREAM_END) {
            inflateEnd(z);
            free(z);
            rd->inflater = NULL;
            break;
        }
        if (rc != Z_OK && !(rc == Z_BUF_ERROR && n > 0)) {
            FAIL(rd, "malformed body encoding");
            return -1;
        }
    }
    return 0;
}

static int on_message_complete(http_parser *p)
{
    struct hn_h1_reader *rd = p->data;
    struct hn_http_response *r = rd->resp;
    if (r->status_1xx) {
        /* The interim head is done; the response's own comes next. */
        r->status_1xx = false;
        r->hlen = 0;
        return 0;
    }
    end_inflate(rd);
    rd->done = true;
    rd->keep_alive = http_should_keep_alive(p) != 0;
    http_parser_pause(p, 1); /* what follows is not this response's */
    return 0;
}

static const http_parser_settings settings = {
    .on_header_field = on_header_field,
    .on_header_value = on_header_value,
    .on_headers_complete = on_headers_complete,
    .on_body = on_body,
    .on_message_complete = on_message_complete,
};

void hn_h1_reader_begin(struct hn_h1_reader *rd, struct hn_http_response *resp, bool head_request,
                        bool want_inflate)
{
    end_inflate(rd);
    http_parser_init(&rd->parser, HTTP_RESPONSE);
    rd->parser.data = rd;
    rd->resp = resp;
    rd->line_len = 0;
    rd->in_value = false;
    rd->head_request = head_request;
    rd->want_inflate = want_inflate;
    rd->got_bytes = rd->done = rd->keep_alive = rd->extra_bytes = false;
    rd->first_len = 0;
}

/* Names a response whose start libhttp-parser refused, as libcurl would:
 * not HTTP at all, a status code out of range, or no status line. */
static const char *name_bad_start(const struct hn_h1_reader *rd)
{
    const char *f = rd->first;
    size_t n = rd->first_len;
    if (n == 0)
        return "malformed HTTP response";
    if (memcmp(f, "HTTP/", n < 5 ? n : 5) != 0)
        return "not an HTTP response";
    size_t i = 5;
    while (i < n && f[i] != ' ')
        i++;
    while (i < n && f[i] == ' ')
        i++;
    size_t digits = 0;
    while (i + digits < n && f[i + digits] >= '0' && f[i + digits] <= '9')
        digits++;
    if (digits > 3)
        return "malformed HTTP response (status code not 100-999)";
    return "malformed HTTP response (no valid status line)";
}

static const char *name_error(const struct hn_h1_reader *rd, enum http_errno e)
{
    switch (e) {
    case HPE_INVALID_CONSTANT:
    case HPE_INVALID_VERSION:
    case HPE_INVALID_STATUS:
        return name_bad_start(rd);
    case HPE_INVALID_CHUNK_SIZE:
        return "malformed chunked body";
    case HPE_HEADER_OVERFLOW:
        return "too many or too large response headers";
    case HPE_INVALID_CONTENT_LENGTH:
    case HPE_UNEXPECTED_CONTENT_LENGTH:
        return "malformed HTTP response (invalid Content-Length)";
    case HPE_INVALID_TRANSFER_ENCODING:
        return "malformed HTTP response (invalid Transfer-Encoding)";
    default:
        return "malformed HTTP response";
    }
}

enum hn_h1_state hn_h1_reader_feed(struct hn_h1_reader *rd, const char *data, size_t len,
                                   uint64_t now_us)
{
    struct hn_http_response *r = rd->resp;
    if (rd->done)
        return HN_H1_DONE;
    if (len == 0)
        return HN_H1_MORE;
    rd->now_us = now_us;
    r->last_byte_us = now_us;
    if (!rd->got_bytes) {
        rd->got_bytes = true;
        r->head_started = true;
    }
    if (rd->first_len < sizeof rd->first) {
        size_t n = sizeof rd->first - rd->first_len;
        if (n > len)
            n = len;
        memcpy(rd->first + rd->first_len, data, n);
        rd->first_len += n;
    }
    size_t used = http_parser_execute(&rd->parser, &settings, data, len);
    enum http_errno e = HTTP_PARSER_ERRNO(&rd->parser);
    if (rd->done) {
        rd->extra_bytes = used < len;
        return HN_H1_DONE;
    }
    if (e != HPE_OK || r->error != NULL) {
        end_inflate(rd);
        if (r->error == NULL)
            r->error = strdup(name_error(rd, e));
        r->status = 0;
        return HN_H1_ERROR;
    }
    return HN_H1_MORE;
}

enum hn_h1_state hn_h1_reader_eof(struct hn_h1_reader *rd)
{
    struct hn_http_response *r = rd->resp;
    if (rd->done)
        return HN_H1_DONE;
    if (rd->got_bytes && r->error == NULL) {
        /* A body that lasts until the close ends here. */
        http_parser_execute(&rd->parser, &settings, NULL, 0);
        if (rd->done) {
            rd->keep_alive = false;
            return HN_H1_DONE;
        }
    }
    end_inflate(rd);
    if (r->error == NULL)
        r->error = strdup(!rd->got_bytes   ? "connection closed without a response"
                          : !r->head_done ? "connection closed before the response's head was "
                                            "complete"
                                          : "connection closed before the body was complete");
    r->status = 0;
    return HN_H1_ERROR;
}

void hn_h1_reader_free(struct hn_h1_reader *rd)
{
    end_inflate(rd);
    free(rd->line);
    rd->line = NULL;
    rd->line_len = rd->line_cap = 0;
}
