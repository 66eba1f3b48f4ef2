/*
 * stages.c: load profiles as text (stages.h).
 */
#include "stages.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "errbuf.h"
#include "units.h"

static const char stages_form[] =
    "stages like 30s:100,2m:100,30s:0 (DURATION:USERS, comma-separated)";

/* One "DURATION:USERS" of len bytes at p; no = its place in the list. */
static int parse_stage(const char *p, size_t len, size_t no, struct hn_stage *out,
                       uint32_t max_users, char *err, size_t err_len)
{
    char item[64];
    const char *colon = memchr(p, ':', len);
    if (len == 0 || len >= sizeof item || colon == NULL) {
        hn_set_err(err, err_len, "stage %zu ('%.*s'): expected %s", no, (int)(len < 40 ? len : 40),
                   p, stages_form);
        return -1;
    }
    memcpy(item, p, len);
    item[len] = '\0';
    item[colon - p] = '\0';
    const char *users = item + (colon - p) + 1;
    double d;
    char *uend;
    unsigned long long u = strtoull(users, &uend, 10);
    if (hn_parse_timespan(item, &d) != 0) {
        hn_set_err(err, err_len, "stage %zu ('%s:%s'): '%s' is not a duration like 30s, 2m or "
                   "1h30m", no, item, users, item);
        return -1;
    }
    if (*users < '0' || *users > '9' || *uend != '\0' || u > max_users) {
        hn_set_err(err, err_len, "stage %zu ('%s:%s'): users must be a whole number from 0 to %u",
                   no, item, users, max_users);
        return -1;
    }
    out->duration_s = d;
    out->users = (uint32_t)u;
    return 0;
}

int hn_stage_parse(const char *text, struct hn_stage *out, uint32_t max_users, char *err,
                   size_t err_len)
{
    size_t len = text ? strlen(text) : 0;
    while (len > 0 && (*text == ' ' || *text == '\t')) {
        text++;
        len--;
    }
    while (len > 0 && (text[len - 1] == ' ' || text[len - 1] == '\t'))
        len--;
    return parse_stage(text ? text : "", len, 1, out, max_users, err, err_len);
}

int hn_stages_parse(const char *text, struct hn_stage *out, size_t max, uint32_t max_users,
                    char *err, size_t err_len)
{
    if (text == NULL || *text == '\0') {
        hn_set_err(err, err_len, "expected %s", stages_form);
        return -1;
    }
    size_t n = 0;
    double total = 0;
    const char *p = text;
    for (;;) {
        while (*p == ' ' || *p == '\t')
            p++;
        const char *end = strchr(p, ',');
        size_t len = end ? (size_t)(end - p) : strlen(p);
        while (len > 0 && (p[len - 1] == ' ' || p[len - 1] == '\t'))
            len--;
        if (n == max) {
            hn_set_err(err, err_len, "at most %zu stages", max);
            return -1;
        }
        if (parse_stage(p, len, n + 1, &out[n], max_users, err, err_len) != 0)
            return -1;
        total += out[n].duration_s;
        n++;
        if (end == NULL)
            break;
        p = end + 1;
    }
    if (!(total > 0)) {
        hn_set_err(err, err_len, "the stages last 0 s in all: give at least one a duration");
        return -1;
    }
    return (int)n;
}

