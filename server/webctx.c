/* webctx.c: checks shared by the HTTP and WebSocket sides; see webctx.h. */
#include "webctx.h"

#include <arpa/inet.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

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
