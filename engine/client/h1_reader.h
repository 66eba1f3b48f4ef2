/*
 * h1_reader.h: reads one HTTP/1.1 response from the bytes of a connection,
 * as they arrive, into a struct hn_http_response: the status, the headers
 * ("Name: value" lines), the body (its first limits.max_body bytes kept,
 * the rest counted; gzip and deflate inflated when asked). The parsing is
 * libhttp-parser's (the parser wrk uses); this module only keeps what it
 * reports and names each fault as libcurl's client does, so a response
 * reads the same whichever client received it. No I/O and no clock: the
 * fast client feeds it, the fuzz harness too.
 *
 * Threads: a reader belongs to one thread at a time.
 */
#ifndef HN_H1_READER_H
#define HN_H1_READER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <http_parser.h>

#include "http_message.h"

#define HN_HEADER_LINE_MAX (100u * 1024u)  /* one header line (libcurl's limit) */
#define HN_HEAD_MAX (300u * 1024u)         /* a whole head (libcurl's limit) */

enum hn_h1_state {
    HN_H1_MORE = 0,   /* needs more bytes */
    HN_H1_DONE,       /* the response is complete */
    HN_H1_ERROR       /* malformed: resp->error says how */
};

struct hn_h1_reader {
    http_parser parser;
    struct hn_http_response *resp;
    void *inflater;           /* z_stream *, while a body is inflated */
    char *line;               /* the header line being assembled */
    size_t line_len, line_cap;
    bool in_value;            /* the line's value has begun */
    bool head_request;        /* a HEAD's response has no body */
    bool want_inflate;        /* the request asked for gzip/deflate */
    bool inflate_body;        /* this response's body is compressed and asked for */
    bool got_bytes;           /* any byte of this response arrived */
    bool done;
    bool keep_alive;          /* when done: the connection may carry another request */
    bool extra_bytes;         /* bytes followed the response: the connection is unusable */
    char first[24];           /* the response's first bytes, to name a malformed one */
    size_t first_len;
    uint64_t now_us;          /* the feed's time, for resp->last_byte_us */
};

/* Sets the process-wide head limit of libhttp-parser. Call once before
 * any reader is used. [main, before the workers] */
void hn_h1_reader_global_init(void);
/* Prepares rd to read the response to a request (HEAD or not) into resp,
 * which must be reset already. */
void hn_h1_reader_begin(struct hn_h1_reader *rd, struct hn_http_response *resp, bool head_request,
                        bool want_inflate);
/* Feeds len bytes received at now_us. */
enum hn_h1_state hn_h1_reader_feed(struct hn_h1_reader *rd, const char *data, size_t len,
                                   uint64_t now_us);
/* The connection closed: a body read to the close ends here; anything
 * else unfinished is an error (resp->error). */
enum hn_h1_state hn_h1_reader_eof(struct hn_h1_reader *rd);
/* Frees what a reader holds (its inflater, its line buffer). */
void hn_h1_reader_free(struct hn_h1_reader *rd);

#endif
