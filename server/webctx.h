/*
 * webctx.h: what the dashboard's server parts (HTTP routes, API, live push)
 * share: the runner they drive and read, the plugin (which may be
 * reloaded: read it through plugin_slot.h), and the run's fixed metadata.
 * Filled once by main before the server starts; read-only afterwards.
 *
 * Threads: read from the MHD and lws threads; never modified after start.
 */
#ifndef HN_WEBCTX_H
#define HN_WEBCTX_H

struct hn_plugin_slot;
struct hn_runs;

#include <stdbool.h>
#include <stdint.h>

struct hn_runner;

struct hn_webctx {
    struct hn_runner *runner;
    const char *plugin_path;      /* shown in the page and reports */
    const char *version;          /* HN_VERSION */
    const char *default_host;     /* -H or the demo target's URL; may be NULL */
    uint32_t default_users;       /* -u, prefilled in the start form */
    double default_spawn_rate;    /* -r */
    double default_run_time;      /* -t seconds, 0 = none */
    const char *default_stages;   /* --stages as given, or NULL */
    uint32_t max_users;           /* upper bound accepted by the API */
    const char *web_root;         /* --web-root DIR, or NULL for the embedded assets */
    struct hn_plugin_slot *plugin; /* its user types and parameters; reloadable */
    const char *web_host;         /* --web-host, for the Host check */
    const char *auth_token;       /* base64 of --web-auth's USER:PASSWORD, or NULL = open */
    const char *outputs;          /* the outputs that push (hn_outputs_describe), "" = none */
    struct hn_runs *runs;         /* the session's finished runs (runs.h) */
};

/* DNS-rebinding protection: true when a request's Host header names this
 * dashboard: an IP address, "localhost", the --web-host name, or anything
 * when bound to all interfaces. NULL (no header) is allowed. [any] */
bool hn_web_host_allowed(const struct hn_webctx *ctx, const char *host);

/* --web-auth: true when no credentials are set, or when authorization (an
 * Authorization header's value, may be NULL) is "Basic <token>" with this
 * dashboard's token, compared in constant time. [any] */
bool hn_web_auth_ok(const struct hn_webctx *ctx, const char *authorization);
/* The token for USER:PASSWORD (malloc'ed base64), or NULL when out of memory. */
char *hn_web_auth_token(const char *user_pass);
/* The challenge sent with a 401. */
#define HN_WEB_AUTH_CHALLENGE "Basic realm=\"hornet\", charset=\"UTF-8\""

#endif
