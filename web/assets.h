/*
 * assets.h: the page's files (web/ and Chart.js from Debian's
 * libjs-chart.js), compiled into the binary at build time, or served from
 * --web-root DIR for development.
 *
 * Threads: any (the table is immutable).
 */
#ifndef HN_ASSETS_H
#define HN_ASSETS_H

#include <stddef.h>

struct hn_asset {
    const char *path;          /* "/index.html", "/app.js", "/chart.min.js", ... */
    const char *mime;          /* "text/html; charset=utf-8", ... */
    const unsigned char *data;
    size_t len;
    const char *etag;          /* quoted content hash, e.g. "\"5f2a…\"" */
};

/* The embedded asset for a URL path ("/" means "/index.html"), or NULL. */
const struct hn_asset *hn_asset_find(const char *path);
/* The MIME type for a file name, by extension (for --web-root). */
const char *hn_asset_mime(const char *name);

#endif
