/* fuzz_parsers.c: what an operator types, from any bytes: --threshold
 * expressions (engine/threshold.c), timespans and sizes (base/units.c).
 * A parse either fails with a reason or gives a value in range. */
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "threshold.h"
#include "units.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *text = malloc(size + 1);
    if (text == NULL)
        return 0;
    memcpy(text, data, size);
    text[size] = '\0';
    struct hn_threshold t;
    memset(&t, 0, sizeof t);
    char err[256] = "";
    if (hn_threshold_parse(text, &t, err, sizeof err) != 0) {
        if (err[0] == '\0')
            abort(); /* a refusal says why */
    } else {
        hn_thresholds_free(hn_thresholds_copy(&t, 1), 1);
        hn_threshold_free(&t);
    }
    double span = -1;
    if (hn_parse_timespan(text, &span) == 0 && !(span >= 0 && span <= 1e9))
        abort();
    uint64_t bytes = 0;
    if (hn_parse_size(text, &bytes) == 0 && bytes > ((uint64_t)1 << 40))
        abort();
    free(text);
    return 0;
}
