/* fuzz_head.c: server/head.c with any bytes a client may send first. The
 * verdict must be one of the routes, a refusal must say why in one plain
 * line, and a WebSocket's Authorization must be a string within its field. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "head.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    /* The acceptor peeks at most 8 KiB into a buffer of its own. */
    size_t cap = 8192, n = size < cap ? size : cap;
    char *buf = malloc(n ? n : 1);
    if (buf == NULL)
        return 0;
    memcpy(buf, data, n);
    struct hn_head h;
    hn_head_read(buf, n, cap, &h);
    switch (h.route) {
    case HN_HEAD_REFUSE:
        if (h.status == NULL || h.message == NULL || strchr(h.message, '"') != NULL ||
            strchr(h.message, '\n') != NULL)
            abort();
        break;
    case HN_HEAD_WEBSOCKET:
        if (memchr(h.authorization, '\0', sizeof h.authorization) == NULL)
            abort();
        break;
    case HN_HEAD_HTTP:
    case HN_HEAD_INCOMPLETE:
        break;
    default:
        abort();
    }
    free(buf);
    return 0;
}
