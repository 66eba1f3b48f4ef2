/* webctx.c: checks shared by the HTTP and WebSocket sides; see webctx.h. */
#include "webctx.h"

#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <libwebsockets.h>

bool hn_web_host_allowed(const struct hn_webctx *ctx, const char *host)
{
    if (host == NULL || *host == '\0')
        return true; /* HTTP/1.0 tools; browsers always send Host */
    char name[256];
    const char *end;
    if (host[0] == '[') {
        end = strchr(host, ']');
        if (end == NULL)
            return false;
        host++;
    } else {
        end = strchr(host, ':');
        if (end == NULL)
            end = host + strlen(host);
    }
    size_t n = (size_t)(end - host);
    if (n == 0 || n >= sizeof name)
        return false;
    memcpy(name, host, n);
    name[n] = '\0';

    unsigned char addr[16];
    if (inet_pton(AF_INET, name, addr) == 1 || inet_pton(AF_INET6, name, addr) == 1)
        return true; /* an address cannot be rebound */
    if (strcasecmp(name, "localhost") == 0)
        return true;
    const char *bound = ctx->web_host;
    if (bound == NULL)
        return false;
    if (strcmp(bound, "0.0.0.0") == 0 || strcmp(bound, "::") == 0)
        return true; /* exposed on purpose: any name that reaches us */
    return strcasecmp(name, bound) == 0;
}

bool hn_web_auth_ok(const struct hn_webctx *ctx, const char *authorization)
{
    const char *want = ctx->auth_token;
    if (want == NULL)
        return true;
    if (authorization == NULL || strncasecmp(authorization, "Basic ", 6) != 0)
        return false;
    const char *got = authorization + 6;
    while (*got == ' ')
        got++;
    /* Every byte of the longer one is looked at, whatever matches. */
    size_t gl = strlen(got), wl = strlen(want), n = gl > wl ? gl : wl;
    unsigned diff = gl != wl;
    for (size_t i = 0; i < n; i++)
        diff |= (unsigned)(unsigned char)(i < gl ? got[i] : 0) ^
                (unsigned)(unsigned char)(i < wl ? want[i] : 0);
    return diff == 0;
}

char *hn_web_auth_token(const char *user_pass)
{
    /* lws wants room beyond the 4n/3 bytes it writes. */
    size_t n = strlen(user_pass), cap = (n + 2) / 3 * 4 + 8;
    char *out = malloc(cap);
    if (out != NULL && lws_b64_encode_string(user_pass, (int)n, out, (int)cap) < 0) {
        free(out);
        out = NULL;
    }
    return out;
}
