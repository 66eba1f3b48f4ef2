/*
 * cookie_jar.c: RFC 6265's storage and retrieval, the basics (section 5.3
 * and 5.4). Dates are parsed by libcurl's curl_getdate, which reads every
 * format RFC 6265 asks for.
 */
#include "cookie_jar.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <curl/curl.h>

struct hn_cookie {
    char *name, *value, *domain, *path;
    time_t expires; /* 0 = a session cookie */
    bool host_only, secure;
};

static void cookie_free(struct hn_cookie *c)
{
    free(c->name);
    free(c->value);
    free(c->domain);
    free(c->path);
}

static void remove_at(struct hn_cookie_jar *jar, size_t i)
{
    cookie_free(&jar->v[i]);
    memmove(&jar->v[i], &jar->v[i + 1], (jar->n - i - 1) * sizeof *jar->v);
    jar->n--;
}

static char *dup_trimmed(const char *s, size_t n)
{
    while (n > 0 && (*s == ' ' || *s == '\t')) {
        s++;
        n--;
    }
    while (n > 0 && (s[n - 1] == ' ' || s[n - 1] == '\t'))
        n--;
    return strndup(s, n);
}

static bool is_ip(const char *host)
{
    unsigned char buf[16];
    return inet_pton(AF_INET, host, buf) == 1 || inet_pton(AF_INET6, host, buf) == 1 ||
           host[0] == '[';
}

/* RFC 6265 5.1.3. */
static bool domain_match(const char *host, const char *domain)
{
    if (strcasecmp(host, domain) == 0)
        return true;
    size_t hl = strlen(host), dl = strlen(domain);
    return hl > dl && host[hl - dl - 1] == '.' && strcasecmp(host + hl - dl, domain) == 0 &&
           !is_ip(host);
}

/* RFC 6265 5.1.4. */
static bool path_match(const char *req, const char *cookie)
{
    size_t cl = strlen(cookie);
    if (strncmp(req, cookie, cl) != 0)
        return false;
    return req[cl] == '\0' || cookie[cl - 1] == '/' || req[cl] == '/';
}

/* RFC 6265 5.1.4: the request path up to its last '/'. */
static char *default_path(const char *path)
{
    const char *q = path + strcspn(path, "?#");
    if (path[0] != '/')
        return strdup("/");
    const char *last = path;
    for (const char *p = path; p < q; p++)
        if (*p == '/')
            last = p;
    return last == path ? strdup("/") : strndup(path, (size_t)(last - path));
}

void hn_cookie_jar_set(struct hn_cookie_jar *jar, const char *set_cookie, const char *host,
                       const char *path, time_t now)
{
    const char *semi = set_cookie + strcspn(set_cookie, ";");
    const char *eq = memchr(set_cookie, '=', (size_t)(semi - set_cookie));
    if (eq == NULL || (size_t)(semi - set_cookie) > HN_COOKIE_MAX)
        return;
    struct hn_cookie c = {
        .name = dup_trimmed(set_cookie, (size_t)(eq - set_cookie)),
        .value = dup_trimmed(eq + 1, (size_t)(semi - eq - 1)),
        .host_only = true,
    };
    bool max_age_seen = false, remove = false;
    if (c.name == NULL || c.value == NULL || c.name[0] == '\0')
        goto drop;
    for (const char *a = semi; *a == ';';) {
        a++;
        const char *end = a + strcspn(a, ";");
        const char *aeq = memchr(a, '=', (size_t)(end - a));
        char *key = dup_trimmed(a, (size_t)((aeq ? aeq : end) - a));
        char *val = aeq ? dup_trimmed(aeq + 1, (size_t)(end - aeq - 1)) : strdup("");
        if (key == NULL || val == NULL) {
            free(key);
            free(val);
            goto drop;
        }
        if (strcasecmp(key, "Domain") == 0 && val[0] != '\0') {
            char *d = val[0] == '.' ? val + 1 : val;
            for (char *p = d; *p; p++)
                *p = (char)tolower((unsigned char)*p);
            free(c.domain);
            c.domain = strdup(d);
            c.host_only = false;
        } else if (strcasecmp(key, "Path") == 0 && val[0] == '/') {
            free(c.path);
            c.path = strdup(val);
        } else if (strcasecmp(key, "Max-Age") == 0) {
            char *endp;
            long long s = strtoll(val, &endp, 10);
            if (val[0] != '\0' && *endp == '\0') {
                max_age_seen = true;
                remove = s <= 0;
                c.expires = s <= 0 ? 0 : now + (time_t)(s > INT32_MAX ? INT32_MAX : s);
            }
        } else if (strcasecmp(key, "Expires") == 0 && !max_age_seen) {
            time_t t = curl_getdate(val, NULL);
            if (t != -1) {
                remove = t <= now;
                c.expires = t;
            }
        } else if (strcasecmp(key, "Secure") == 0) {
            c.secure = true;
        }
        free(key);
        free(val);
        a = end;
    }
    if (c.host_only) {
        c.domain = strdup(host);
        for (char *p = c.domain; p && *p; p++)
            *p = (char)tolower((unsigned char)*p);
    } else if (!domain_match(host, c.domain)) {
        goto drop; /* a cookie for another site */
    }
    if (c.path == NULL)
        c.path = default_path(path);
    if (c.domain == NULL || c.path == NULL)
        goto drop;
    for (size_t i = 0; i < jar->n; i++) {
        struct hn_cookie *o = &jar->v[i];
        if (strcmp(o->name, c.name) == 0 && strcasecmp(o->domain, c.domain) == 0 &&
            strcmp(o->path, c.path) == 0) {
            remove_at(jar, i);
            break;
        }
    }
    if (remove)
        goto drop;
    if (jar->n == HN_COOKIES_MAX)
        remove_at(jar, 0);
    if (jar->n == jar->cap) {
        size_t cap = jar->cap ? jar->cap * 2 : 4;
        struct hn_cookie *v = realloc(jar->v, cap * sizeof *v);
        if (v == NULL)
            goto drop;
        jar->v = v;
        jar->cap = cap;
    }
    jar->v[jar->n++] = c;
    return;
drop:
    cookie_free(&c);
}

void hn_cookie_jar_store(struct hn_cookie_jar *jar, const char *headers, size_t hlen,
                         const char *host, const char *path, time_t now)
{
    for (size_t off = 0; off < hlen;) {
        const char *line = headers + off;
        size_t ll = strlen(line);
        if (strncasecmp(line, "Set-Cookie:", 11) == 0) {
            const char *v = line + 11;
            while (*v == ' ' || *v == '\t')
                v++;
            hn_cookie_jar_set(jar, v, host, path, now);
        }
        off += ll + 1;
    }
}

char *hn_cookie_jar_header(struct hn_cookie_jar *jar, const char *host, const char *path,
                           bool secure, time_t now)
{
    if (jar->n == 0)
        return NULL;
    /* Longer paths first (RFC 6265 5.4 step 2), then the older one. */
    const struct hn_cookie *pick[HN_COOKIES_MAX];
    size_t n = 0, len = 0;
    for (size_t i = 0; i < jar->n;) {
        struct hn_cookie *c = &jar->v[i];
        if (c->expires != 0 && c->expires <= now) {
            remove_at(jar, i);
            continue;
        }
        i++;
        if ((c->secure && !secure) || !path_match(path, c->path) ||
            !(c->host_only ? strcasecmp(host, c->domain) == 0 : domain_match(host, c->domain)))
            continue;
        size_t at = n++;
        while (at > 0 && strlen(pick[at - 1]->path) < strlen(c->path)) {
            pick[at] = pick[at - 1];
            at--;
        }
        pick[at] = c;
        len += strlen(c->name) + strlen(c->value) + 3;
    }
    if (n == 0)
        return NULL;
    char *out = malloc(len + 1), *p = out;
    if (out == NULL)
        return NULL;
    for (size_t i = 0; i < n; i++) {
        size_t nl = strlen(pick[i]->name), vl = strlen(pick[i]->value);
        if (i > 0) {
            memcpy(p, "; ", 2);
            p += 2;
        }
        memcpy(p, pick[i]->name, nl);
        p += nl;
        *p++ = '=';
        memcpy(p, pick[i]->value, vl);
        p += vl;
    }
    *p = '\0';
    return out;
}

void hn_cookie_jar_clear(struct hn_cookie_jar *jar)
{
    for (size_t i = 0; i < jar->n; i++)
        cookie_free(&jar->v[i]);
    free(jar->v);
    memset(jar, 0, sizeof *jar);
}
