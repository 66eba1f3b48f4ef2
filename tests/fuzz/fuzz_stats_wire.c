/* fuzz_stats_wire.c: cluster/stats_wire.c with any message text. A delta
 * is merged whole or not at all: when the merge is refused the table must
 * be as it was, and whatever it accepts must encode again. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "stats.h"
#include "stats_wire.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    json_t *j = json_loadb((const char *)data, size, JSON_DECODE_ANY, NULL);
    if (j == NULL)
        return 0;
    struct hn_stats s;
    hn_stats_init(&s);
    char err[256];
    if (hn_stats_wire_merge(&s, j, err, sizeof err) != 0) {
        if (err[0] == '\0')
            abort(); /* a refusal says why */
        json_t *empty = hn_stats_wire_encode(&s);
        json_t *fresh_doc;
        struct hn_stats fresh;
        hn_stats_init(&fresh);
        fresh_doc = hn_stats_wire_encode(&fresh);
        if (!json_equal(empty, fresh_doc))
            abort(); /* all or nothing */
        json_decref(empty);
        json_decref(fresh_doc);
        hn_stats_cleanup(&fresh);
    } else {
        json_t *again = hn_stats_wire_encode(&s);
        if (again == NULL)
            abort();
        struct hn_stats copy;
        hn_stats_init(&copy);
        if (hn_stats_wire_merge(&copy, again, err, sizeof err) != 0)
            abort(); /* what was accepted round-trips */
        hn_stats_cleanup(&copy);
        json_decref(again);
    }
    hn_stats_cleanup(&s);
    json_decref(j);
    return 0;
}
