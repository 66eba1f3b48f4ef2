/*
 * params.c: the plugin's parameters and their values (see params.h).
 */
#include "params.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "errbuf.h"
#include "hornet/hornet.h"
#include "units.h"

#define SECRET_SHOWN "********"
#define VALUE_MAX 4096

const char *hn_param_type_name(int type)
{
    switch (type) {
    case HN_PARAM_INT: return "int";
    case HN_PARAM_FLOAT: return "float";
    case HN_PARAM_BOOL: return "bool";
    default: return "string";
    }
}

static bool is_bool(const char *v)
{
    static const char *const words[] = {"true", "false", "yes", "no", "on", "off", "1", "0"};
    for (size_t i = 0; i < sizeof words / sizeof words[0]; i++)
        if (strcasecmp(v, words[i]) == 0)
            return true;
    return false;
}

/* Signed decimal without exponent: "-12", "3.5" (int: no fraction). */
static bool is_number(const char *v, bool whole)
{
    const char *p = v + (*v == '-' || *v == '+');
    double d;
    if (hn_scan_decimal(&p, &d) != 0 || *p != '\0')
        return false;
    return !whole || strchr(v, '.') == NULL;
}

double hn_params_number(const char *value)
{
    const char *p = value ? value + (*value == '-' || *value == '+') : "";
    double d = 0;
    if (hn_scan_decimal(&p, &d) != 0 || *p != '\0')
        return 0;
    return value[0] == '-' ? -d : d;
}

static const char *expects(int type)
{
    switch (type) {
    case HN_PARAM_INT: return "a whole number";
    case HN_PARAM_FLOAT: return "a number";
    case HN_PARAM_BOOL: return "true or false";
    default: return "text";
    }
}

static bool valid(int type, const char *v)
{
    switch (type) {
    case HN_PARAM_INT: return is_number(v, true);
    case HN_PARAM_FLOAT: return is_number(v, false);
    case HN_PARAM_BOOL: return is_bool(v);
    default: return true;
    }
}

static bool valid_name(const char *s)
{
    if (s == NULL || *s == '\0' || strlen(s) > 64)
        return false;
    for (; *s; s++)
        if (!((*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z') || (*s >= '0' && *s <= '9') ||
              *s == '_' || *s == '-' || *s == '.'))
            return false;
    return true;
}

int hn_params_new(const struct hn_plugin *p, struct hn_params **out, char *err, size_t err_len)
{
    *out = NULL;
    const struct hn_param *decl = p->abi_minor >= 1 ? p->params : NULL;
    size_t n = 0;
    while (decl != NULL && decl[n].name != NULL)
        n++;
    for (size_t i = 0; i < n; i++) {
        const struct hn_param *d = &decl[i];
        const char *def = d->default_value ? d->default_value : "";
        if (!valid_name(d->name)) {
            hn_set_err(err, err_len, "plugin parameter %zu: the name '%.64s' needs letters, digits, "
                                     "'_', '-' or '.' (at most 64)", i + 1, d->name);
            return -1;
        }
        for (size_t k = 0; k < i; k++)
            if (strcmp(decl[k].name, d->name) == 0) {
                hn_set_err(err, err_len, "plugin parameter '%s' is declared twice", d->name);
                return -1;
            }
        if ((int)d->type < HN_PARAM_STRING || (int)d->type > HN_PARAM_BOOL) {
            hn_set_err(err, err_len, "plugin parameter '%s': unknown type %d", d->name,
                       (int)d->type);
            return -1;
        }
        if (*def != '\0' && !valid(d->type, def)) {
            hn_set_err(err, err_len, "plugin parameter '%s': its default '%.60s' is not %s",
                       d->name, def, expects(d->type));
            return -1;
        }
    }
    if (n == 0)
        return 0;
    struct hn_params *ps = calloc(1, sizeof *ps);
    if (ps == NULL || (ps->values = calloc(n, sizeof *ps->values)) == NULL) {
        free(ps);
        hn_set_err(err, err_len, "out of memory");
        return -1;
    }
    ps->n = n;
    ps->decl = decl;
    for (size_t i = 0; i < n; i++) {
        const char *def = decl[i].default_value ? decl[i].default_value : "";
        if ((ps->values[i] = strdup(def)) == NULL) {
            hn_params_free(ps);
            hn_set_err(err, err_len, "out of memory");
            return -1;
        }
    }
    *out = ps;
    return 0;
}

void hn_params_free(struct hn_params *ps)
{
    if (ps == NULL)
        return;
    for (size_t i = 0; i < ps->n; i++)
        free(ps->values[i]);
    free(ps->values);
    free(ps);
}

struct hn_params *hn_params_copy(const struct hn_params *ps)
{
    if (ps == NULL)
        return NULL;
    struct hn_params *c = calloc(1, sizeof *c);
    if (c == NULL || (c->values = calloc(ps->n ? ps->n : 1, sizeof *c->values)) == NULL) {
        free(c);
        return NULL;
    }
    c->n = ps->n;
    c->decl = ps->decl;
    for (size_t i = 0; i < ps->n; i++)
        if ((c->values[i] = strdup(ps->values[i])) == NULL) {
            hn_params_free(c);
            return NULL;
        }
    return c;
}

long hn_params_find(const struct hn_params *ps, const char *name)
{
    for (size_t i = 0; ps != NULL && name != NULL && i < ps->n; i++)
        if (strcmp(ps->decl[i].name, name) == 0)
            return (long)i;
    return -1;
}

int hn_params_set(struct hn_params *ps, const char *name, const char *value, char *err,
                  size_t err_len)
{
    long i = hn_params_find(ps, name);
    if (i < 0) {
        char names[200] = "";
        for (size_t k = 0; ps != NULL && k < ps->n && strlen(names) < 150; k++)
            snprintf(names + strlen(names), sizeof names - strlen(names), "%s%s", k ? ", " : "",
                     ps->decl[k].name);
        hn_set_err(err, err_len, "the plugin has no parameter '%.64s' (%s%s)", name ? name : "",
                   names[0] ? "it has: " : "it has none", names);
        return -1;
    }
    const struct hn_param *d = &ps->decl[i];
    if (value == NULL || strlen(value) > VALUE_MAX || (*value != '\0' && !valid(d->type, value))) {
        hn_set_err(err, err_len, "parameter '%s' expects %s, got '%.60s'", d->name,
                   expects(d->type), value && !(d->flags & HN_PARAM_SECRET) ? value : "...");
        return -1;
    }
    char *copy = strdup(value);
    if (copy == NULL) {
        hn_set_err(err, err_len, "out of memory");
        return -1;
    }
    free(ps->values[i]);
    ps->values[i] = copy;
    return 0;
}

int hn_params_set_pair(struct hn_params *ps, const char *pair, char *err, size_t err_len)
{
    const char *eq = strchr(pair, '=');
    if (eq == NULL || eq == pair) {
        hn_set_err(err, err_len, "expects NAME=VALUE, got '%.60s'", pair);
        return -1;
    }
    char name[80];
    snprintf(name, sizeof name, "%.*s", (int)(eq - pair < 79 ? eq - pair : 79), pair);
    return hn_params_set(ps, name, eq + 1, err, err_len);
}

const char *hn_params_shown(const struct hn_params *ps, size_t i)
{
    return ps->decl[i].flags & HN_PARAM_SECRET ? SECRET_SHOWN : ps->values[i];
}
