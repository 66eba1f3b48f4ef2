/*
 * cli.h: hornet's options from the command line, a config file and the
 * environment, with Locust's option names where Locust has them.
 *
 * Sources, in increasing priority (a later source wins, option by option):
 *   1. ./hornet.conf, only if it exists and no --config is given;
 *   2. the --config FILE (taken from argv before anything else is applied);
 *   3. environment variables HORNET_<OPTION> ("spawn-rate" -> HORNET_SPAWN_RATE;
 *      an empty variable counts as unset, unknown HORNET_* names are ignored);
 *   4. argv.
 * List options (-T/--tags, -E/--exclude-tags, --threshold) are replaced by a higher source
 * and appended to within one source ("-T a,b -T c" gives a, b, c).
 *
 * Config files hold `key = value` lines; keys are the long option names
 * without dashes; `#` starts a comment (whole line, or after whitespace
 * outside quotes); values may be quoted with "..." or '...'; booleans take
 * true/false/1/0/yes/no (any case); lists are "a, b" or "[a, b]". --config,
 * --help and --version are command-line only.
 *
 * Timespans (-t/--run-time, --stop-timeout, --autoquit) follow units.h.
 *
 * Threads: none of this is thread-safe (getopt_long has global state);
 * call it from main before any thread starts.
 */
#ifndef HN_CLI_H
#define HN_CLI_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "snapshot.h"
#include "units.h"

#define HN_MAX_PROCESSES 256      /* --processes upper bound */

struct hn_options {
    char *plugin;                 /* -f/--plugin PATH (.so or .c; must be a readable file) */
    char *host;                   /* -H/--host URL: scheme://host[:port][/path] */
    uint32_t users;               /* -u/--users N, 0..1,000,000 (default 1) */
    double spawn_rate;            /* -r/--spawn-rate N, > 0, fractional ok (default 1) */
    double run_time;              /* -t/--run-time timespan in seconds (0 = none) */
    double arrival_rate;          /* --arrival-rate R iterations/s (0 = closed model); -u is then
                                   * the most users the pool may grow to */
    char *stages;                 /* --stages "30s:100,2m:100,30s:0" (checked; hn_stages_parse);
                                   * it sets the users, so -u and -r do not apply */
    bool headless, autostart;     /* --headless, --autostart (conflicting: error) */
    double autoquit;              /* --autoquit SEC (-1 = never; default -1) */
    char *web_host;               /* --web-host (default 127.0.0.1) */
    char *web_auth;               /* --web-auth USER:PASSWORD (or from --web-auth-file), or NULL */
    char *cluster_key;            /* --cluster-key SECRET (master and workers), or NULL */
    char *tls_cert, *tls_key;     /* --tls-cert FILE, --tls-key FILE: the dashboard over HTTPS */
    uint16_t web_port;            /* -P/--web-port 0..65535 (0 = pick a free port; default 8089) */
    char *web_root;               /* --web-root DIR (must be an existing directory) */
    char *csv_prefix;             /* --csv PREFIX */
    bool csv_full_history;        /* --csv-full-history (requires --csv) */
    char *html_path, *json_path;  /* --html FILE, --json FILE */
    char *junit_path;             /* --junit FILE */
    char *baseline;               /* --baseline FILE: a JSON result to compare the run with */
    bool find_capacity;           /* --find-capacity: search the highest load the thresholds allow */
    double capacity_step;         /* --capacity-step N (0 = the first load) */
    double capacity_hold;         /* --capacity-hold SPAN (default 10 s) */
    double tolerance;             /* --tolerance PCT (a fraction; default 0.1) */
    char **feeds;                 /* --feed NAME=PATH (repeatable), NULL-terminated */
    char **params;                /* --param NAME=VALUE (repeatable), NULL-terminated; checked
                                   * against the plugin's parameters once it is loaded */
    char **thresholds;            /* --threshold EXPR (repeatable, or "a, b"): checked
                                   * expressions (engine/threshold.h), NULL-terminated */
    int threads;                  /* --threads N (1..1024; default 0 = CPUs) */
    uint64_t seed;                /* --seed N */
    bool seed_set;                /* true once --seed was given by any source */
    double stop_timeout;          /* -s/--stop-timeout timespan (default 10) */
    uint64_t max_body;            /* --max-body bytes kept per response (0 = 1 MiB) */
    int http_client;              /* --http-client: enum hn_http_client_choice (0 = by type) */
    double connect_timeout;       /* --connect-timeout (0 = 10 s) */
    double response_timeout;      /* --response-timeout: to the response's head (0 = 10 s) */
    double idle_timeout;          /* --idle-timeout: body without a byte (0 = 10 s) */
    bool insecure;                /* --insecure: no TLS certificate or host name check */
    char *ca_cert;                /* --ca-cert FILE: trust these CAs, not the system's */
    char *client_cert, *client_key; /* --client-cert FILE, --client-key FILE */
    char *source_ips;             /* --source-ips A,B: local addresses, a user each in turn */
    int exit_code_on_error;       /* --exit-code-on-error N (0..255, default 1) */
    char **tags;                  /* -T/--tags a,b: NULL-terminated list; NULL = none */
    char **exclude_tags;          /* -E/--exclude-tags a,b: same shape */
    bool only_summary;            /* --only-summary */
    int loglevel;                 /* -L/--loglevel (enum hn_loglevel; default HN_INFO) */
    char *config_path;            /* --config FILE, or "hornet.conf" when that was read */
    bool demo;                    /* --demo (without -f: the built-in plugin) */
    bool master, worker;          /* --master, --worker (not both) */
    char *master_bind_host;       /* --master-bind-host (default 127.0.0.1) */
    uint16_t master_bind_port;    /* --master-bind-port 0..65535 (default 5557; 0 = any) */
    bool master_bind_port_set;    /* given by some source */
    char *master_host;            /* --master-host (default 127.0.0.1) */
    uint16_t master_port;         /* --master-port 1..65535 (default 5557) */
    int expect_workers;           /* --expect-workers N (0 = not given: 1 when headless) */
    double expect_workers_max_wait; /* --expect-workers-max-wait SPAN (-1 = forever) */
    int processes;                /* --processes N local workers (0 = none); implies --master */
    double metrics_le[HN_LE_MAX]; /* --metrics-buckets 5ms,50ms,1s: /metrics' histogram */
    size_t n_metrics_le;          /* bounds (s, ascending); 0 = the default 1 ms..60 s */
    char *influxdb;               /* --influxdb URL (http[s]://host:port[/path]), or NULL */
    char *influxdb_db;            /* --influxdb-db NAME (default "hornet") */
    char *influxdb_user;          /* --influxdb-user USER, or NULL */
    char *influxdb_password;      /* --influxdb-password PASS, or NULL */
    char *influxdb_token;         /* --influxdb-token TOKEN, or NULL */
    char **webhooks;              /* --webhook URL (repeatable), NULL-terminated */
    char **slack_webhooks;        /* --slack-webhook URL (repeatable), NULL-terminated */
    double output_timeout;        /* --output-timeout SPAN per push (default 5 s) */
    bool show_help, show_version; /* -h/--help, -V/--version */
};

/* Sets every field to its default. Owns nothing the caller must know of;
 * pair with hn_options_cleanup. [main] */
void hn_options_init(struct hn_options *o);

/* Frees every string and list and zeroes o (init it again before reuse). [main] */
void hn_options_cleanup(struct hn_options *o);

/* Applies the sources listed at the top of this file to o (which must have
 * been through hn_options_init). If argv holds -h/--help or -V/--version,
 * only that flag is set and nothing else is read, so help works even with
 * a broken config. argv may be permuted (GNU getopt_long).
 * Returns 0, or -1 with a one-line message (starting "hornet: ", no newline)
 * in err naming the option and its source and what was expected, e.g.
 *   hornet: -u/--users expects a whole number from 0 to 1000000, got 'ten'
 *   hornet: hornet.conf:3: unknown option 'spawnrate' (did you mean 'spawn-rate'?)
 *   hornet: HORNET_HEADLESS expects true/false/1/0/yes/no, got 'maybe'
 * On failure o holds what was applied so far; still call cleanup. [main] */
int hn_options_parse(struct hn_options *o, int argc, char **argv, char *err, size_t err_len);

/* Writes the --help text (lines <= 100 columns). [any] */
void hn_options_usage(FILE *f);

/* Validates a base URL for -H and the API: a scheme (http, https, or any
 * other for plugins with their own protocol, e.g. tcp://), non-empty
 * host (name, IPv4, or [IPv6]), optional user[:password]@, optional port
 * 1..65535, optional path; no spaces, control characters, query or fragment.
 * Returns 0, or -1 with the reason (no "hornet: " prefix) in err. [any] */
int hn_validate_host_url(const char *s, char *err, size_t err_len);

#endif
