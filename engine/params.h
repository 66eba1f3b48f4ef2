/*
 * params.h: the plugin's parameters (struct hn_param in hornet.h) and their
 * values for a run: the defaults, then --param NAME=VALUE, then what the
 * start form or POST /api/swarm sends. Every value is checked against its
 * parameter's type when it is set, so users only ever read good ones.
 *
 * Threads: a table is changed only while no user runs (the runner holds it
 * between runs); users read it from any worker thread during a run.
 */
#ifndef HN_PARAMS_H
#define HN_PARAMS_H

#include <stdbool.h>
#include <stddef.h>

struct hn_plugin;
struct hn_param;

struct hn_params {
    size_t n;
    const struct hn_param *decl;      /* the plugin's, n of them */
    char **values;                    /* as text, checked */
};

/* Checks the plugin's declarations (names, types, defaults) and makes a
 * table of the defaults; *out is NULL when it declares none. Returns 0, or
 * -1 with a one-line reason. [main] */
int hn_params_new(const struct hn_plugin *p, struct hn_params **out, char *err, size_t err_len);
void hn_params_free(struct hn_params *ps);
/* A copy (NULL for NULL). NULL when out of memory. */
struct hn_params *hn_params_copy(const struct hn_params *ps);
/* Sets one value after checking it against the type ("retries: expects a whole
 * number, got 'x'"). 0 or -1 with err. */
int hn_params_set(struct hn_params *ps, const char *name, const char *value, char *err,
                  size_t err_len);
/* Sets "NAME=VALUE" (the --param form). 0 or -1 with err. */
int hn_params_set_pair(struct hn_params *ps, const char *pair, char *err, size_t err_len);
/* The parameter's index, or -1. */
long hn_params_find(const struct hn_params *ps, const char *name);
/* Its value as shown to people: "********" for a secret. */
const char *hn_params_shown(const struct hn_params *ps, size_t i);
/* Its type's name: "string", "int", "float" or "bool". */
const char *hn_param_type_name(int type);
/* The value read as a number (locale-independent); 0 when it is not one. */
double hn_params_number(const char *value);

#endif
