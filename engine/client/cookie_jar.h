/*
 * cookie_jar.h: a user's cookies for the fast client (libcurl keeps its
 * own): what Set-Cookie headers stored, and the Cookie header a request
 * carries. RFC 6265's basics: Domain (host-only without it), Path (the
 * default path without it), Expires and Max-Age (Max-Age wins; a past date
 * deletes), Secure. No public-suffix list: a target sets what it likes on
 * its own host names. At most HN_COOKIES_MAX cookies, the oldest go first.
 *
 * Threads: a jar belongs to its user's worker thread.
 */
#ifndef HN_COOKIE_JAR_H
#define HN_COOKIE_JAR_H

#include <stdbool.h>
#include <stddef.h>
#include <time.h>

#define HN_COOKIES_MAX 64
#define HN_COOKIE_MAX 4096 /* bytes of one cookie's name and value */

struct hn_cookie;

struct hn_cookie_jar {
    struct hn_cookie *v;
    size_t n, cap;
};

/* Stores (or replaces, or deletes) the cookie of one Set-Cookie header
 * value, received from host for a request to path, at now. */
void hn_cookie_jar_set(struct hn_cookie_jar *jar, const char *set_cookie, const char *host,
                       const char *path, time_t now);
/* Stores the cookies of every Set-Cookie line of headers (hlen bytes of
 * NUL-separated "Name: value" lines, as a response keeps them). */
void hn_cookie_jar_store(struct hn_cookie_jar *jar, const char *headers, size_t hlen,
                         const char *host, const char *path, time_t now);
/* The Cookie header's value for a request ("a=1; b=2"), malloc'ed, or NULL
 * when no cookie matches. */
char *hn_cookie_jar_header(struct hn_cookie_jar *jar, const char *host, const char *path,
                           bool secure, time_t now);
/* Frees every cookie. */
void hn_cookie_jar_clear(struct hn_cookie_jar *jar);

#endif
