/*
 * assets.c: lookups in the table of embedded dashboard files. The table
 * itself (hn_embedded_assets) is generated at build time by
 * cmake/EmbedAssets.cmake from web/ and Debian's chart.min.js; it ends with
 * an entry whose path is NULL.
 */
#include "assets.h"

#include <string.h>
#include <strings.h>

extern const struct hn_asset hn_embedded_assets[];

const struct hn_asset *hn_asset_find(const char *path)
{
    if (path == NULL)
        return NULL;
    if (strcmp(path, "/") == 0)
        path = "/index.html";
    /* A handful of entries: a linear scan beats any index. */
    for (const struct hn_asset *a = hn_embedded_assets; a->path != NULL; a++)
        if (strcmp(a->path, path) == 0)
            return a;
    return NULL;
}

/* Keep in step with hn_asset_mime() in cmake/EmbedAssets.cmake. */
static const struct {
    const char *ext;
    const char *mime;
} mime_types[] = {
    {".html", "text/html; charset=utf-8"},
    {".htm", "text/html; charset=utf-8"},
    {".js", "text/javascript; charset=utf-8"},
    {".mjs", "text/javascript; charset=utf-8"},
    {".css", "text/css; charset=utf-8"},
    {".json", "application/json"},
    {".map", "application/json"},
    {".svg", "image/svg+xml"},
    {".png", "image/png"},
    {".ico", "image/x-icon"},
    {".txt", "text/plain; charset=utf-8"},
};

const char *hn_asset_mime(const char *name)
{
    const char *dot = name != NULL ? strrchr(name, '.') : NULL;
    if (dot != NULL && strchr(dot, '/') == NULL)
        for (size_t i = 0; i < sizeof mime_types / sizeof mime_types[0]; i++)
            if (strcasecmp(dot, mime_types[i].ext) == 0)
                return mime_types[i].mime;
    return "application/octet-stream";
}
