/*
 * stages.h: a load profile as people write it: "30s:100,2m:100,30s:0",
 * each stage a timespan and the users to ramp to over it.
 *
 * Threads: any (no state).
 */
#ifndef HN_STAGES_H
#define HN_STAGES_H

#include <stddef.h>
#include <stdint.h>

/* One stage of a load profile: ramp linearly from the previous stage's
 * users (0 before the first) to users over duration_s. */
struct hn_stage {
    double duration_s;  /* >= 0; 0 jumps to users at once */
    uint32_t users;
};
#define HN_MAX_STAGES 100

/* Parses "30s:100,2m:100,30s:0" (timespan:users, comma-separated) into at
 * most max stages. Returns the count, or -1 with the reason in err. */
int hn_stages_parse(const char *text, struct hn_stage *out, size_t max, uint32_t max_users,
                    char *err, size_t err_len);
/* Parses one "DURATION:USERS". Returns 0, or -1 with the reason. */
int hn_stage_parse(const char *text, struct hn_stage *out, uint32_t max_users, char *err,
                   size_t err_len);

#endif
