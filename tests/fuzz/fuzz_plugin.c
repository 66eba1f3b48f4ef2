/*
 * fuzz_plugin.c: the checks a plugin's descriptor goes through before any
 * user runs (engine/plugin_host.c) and its parameters' declarations and
 * values (engine/params.c), on descriptors built from any bytes: ABI
 * numbers, user types with missing, empty, duplicate or long names, task
 * lists with holes, think times with NaN and infinities, stack sizes,
 * header lines, parameters of every type with any default, and a
 * --param NAME=VALUE to set.
 *
 * Strings come from the input split at NULs; each later byte decides one
 * field. Checked: a descriptor is accepted or refused with a message, and
 * an accepted one's parameters take or refuse the value with a message.
 */
#include <math.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <hornet/hornet.h>

#include "params.h"
#include "plugin_host.h"

/* plugin_host.c hands .c plugins this header; not compiled here. */
const char hn_bundled_header[] = "";

#define MAX_STR 32
#define MAX_TYPES 5
#define MAX_TASKS 5
#define MAX_HEADERS 4
#define MAX_PARAMS 5

static void task_fn(struct hn_user *u) { (void)u; }
static double wait_fn(struct hn_user *u) { return (void)u, 0.5; }

struct input {
    const uint8_t *p, *end;
    const char *strs[MAX_STR];
    size_t n_strs;
};

static unsigned byte(struct input *in)
{
    return in->p < in->end ? *in->p++ : 0;
}

/* A string of the input, NULL, or "" (byte-chosen). */
static const char *str(struct input *in)
{
    unsigned b = byte(in);
    if (b == 0)
        return NULL;
    if (b == 1 || in->n_strs == 0)
        return "";
    return in->strs[b % in->n_strs];
}

static double number(struct input *in)
{
    static const double special[] = {0, 1, -1, 0.5, 1e300, -1e-300, 3600};
    unsigned b = byte(in);
    if (b < 7)
        return special[b];
    if (b == 7)
        return NAN;
    if (b == 8)
        return INFINITY;
    return (double)(int8_t)b / 4.0;
}

static struct hn_plugin desc;
static const struct hn_plugin *entry(const struct hn_host_info *host)
{
    (void)host;
    return &desc;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    /* The strings: NUL-separated after the first 0xFF byte (the choices
     * come before it). */
    const uint8_t *sep = memchr(data, 0xFF, size);
    size_t n_choice = sep ? (size_t)(sep - data) : size;
    char *text = malloc(size + 1);
    memcpy(text, data, size);
    text[size] = '\0';
    struct input in = {.p = data, .end = data + n_choice};
    for (size_t i = n_choice + 1; sep && i <= size && in.n_strs < MAX_STR;) {
        in.strs[in.n_strs++] = text + i;
        i += strlen(text + i) + 1;
    }

    struct hn_user_type types[MAX_TYPES + 1];
    struct hn_task tasks[MAX_TYPES][MAX_TASKS + 1];
    const char *headers[MAX_TYPES][MAX_HEADERS + 1];
    struct hn_param params[MAX_PARAMS + 1];
    memset(types, 0, sizeof types);
    memset(tasks, 0, sizeof tasks);
    memset(headers, 0, sizeof headers);
    memset(params, 0, sizeof params);

    unsigned n_types = byte(&in) % (MAX_TYPES + 1);
    for (unsigned t = 0; t < n_types; t++) {
        struct hn_user_type *u = &types[t];
        u->name = str(&in);
        u->weight = byte(&in) % 4;
        u->fixed_count = byte(&in) % 3;
        u->wait.kind = (enum hn_wait_kind)(byte(&in) % 8);
        u->wait.a = number(&in);
        u->wait.b = number(&in);
        u->wait.fn = byte(&in) & 1 ? wait_fn : NULL;
        u->stack_size = (size_t)byte(&in) * 4096 * (byte(&in) & 1 ? 64 : 1);
        unsigned n_tasks = byte(&in) % (MAX_TASKS + 1);
        for (unsigned k = 0; k < n_tasks; k++) {
            unsigned b = byte(&in);
            tasks[t][k].name = b & 1 ? str(&in) : "task";
            tasks[t][k].fn = b & 2 ? task_fn : NULL;
            if (tasks[t][k].name == NULL && tasks[t][k].fn == NULL)
                tasks[t][k].fn = task_fn; /* not the terminator yet */
        }
        u->tasks = byte(&in) & 1 ? tasks[t] : NULL;
        unsigned n_headers = byte(&in) % (MAX_HEADERS + 1);
        for (unsigned h = 0; h < n_headers; h++)
            headers[t][h] = str(&in) ? str(&in) : "X-A: b";
        u->headers = n_headers ? headers[t] : NULL;
        if (u->name == NULL && u->tasks == NULL)
            u->name = "t"; /* keep the list going */
    }
    unsigned n_params = byte(&in) % (MAX_PARAMS + 1);
    for (unsigned i = 0; i < n_params; i++) {
        params[i].name = str(&in);
        if (params[i].name == NULL)
            params[i].name = "p";
        params[i].type = (enum hn_param_type)(byte(&in) % 5);
        params[i].default_value = str(&in);
        params[i].flags = byte(&in) & 1 ? HN_PARAM_SECRET : 0;
    }
    desc = (struct hn_plugin){
        .abi_major = byte(&in) % 8 == 0 ? 2 : HN_ABI_MAJOR,
        .abi_minor = byte(&in) % 8 == 0 ? HN_ABI_MINOR + 1 : HN_ABI_MINOR,
        .struct_size = byte(&in) % 8 == 0 ? 8 : sizeof(struct hn_plugin),
        .name = str(&in),
        .user_types = byte(&in) % 16 == 0 ? NULL : types,
        .params = n_params ? params : NULL,
    };

    char err[1024] = "";
    struct hn_loaded_plugin *p = NULL;
    if (hn_plugin_load_builtin(entry, "fuzz", &p, err, sizeof err) != 0) {
        if (err[0] == '\0')
            abort(); /* refused without a reason */
    } else {
        struct hn_params *ps = NULL;
        char perr[512] = "";
        if (hn_params_new(hn_plugin_descriptor(p), &ps, perr, sizeof perr) == 0) {
            const char *pair = str(&in);
            if (pair != NULL && hn_params_set_pair(ps, pair, perr, sizeof perr) != 0 &&
                perr[0] == '\0')
                abort();
            hn_params_free(ps);
        } else if (perr[0] == '\0') {
            abort();
        }
        hn_plugin_unload(p);
    }
    free(text);
    return 0;
}
