/*
 * main.c: hornet's entry point. Parses options, loads the plugin, creates
 * the runner and drives a headless run (the dashboard plugs in here too):
 * parse -> load -> run -> wait for the end or a signal -> write outputs ->
 * exit code. Nothing else lives here.
 */
#include <errno.h>
#include <stdbool.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <curl/curl.h>
#include <jansson.h>

#include "acceptor.h"
#include "cli.h"
#include "cluster.h"
#include "compare.h"
#include "demo_target.h"
#include "feeder.h"
#include "params.h"
#include "fsutil.h"
#include "hornet/hornet.h"
#include "http.h"
#include "live.h"
#include "log.h"
#include "outputs.h"
#include "plugin_host.h"
#include "plugin_slot.h"
#include "runner.h"
#include "session.h"
#include "textutil.h"
#include "tls_pipe.h"
#include "threshold.h"
#include "runs.h"
#include "webctx.h"

/* The bundled example plugin (plugins/shop.c, linked in) runs with --demo. */
const struct hn_plugin *hornet_plugin_entry_v1(const struct hn_host_info *host);

/* Raises the open-files limit to the hard limit: every connection is a fd. */
static rlim_t raise_nofile(void)
{
    struct rlimit rl;
    if (getrlimit(RLIMIT_NOFILE, &rl) != 0)
        return 1024;
    if (rl.rlim_cur < rl.rlim_max) {
        rl.rlim_cur = rl.rlim_max;
        setrlimit(RLIMIT_NOFILE, &rl);
        getrlimit(RLIMIT_NOFILE, &rl);
    }
    return rl.rlim_cur;
}

/* A master's part of a plugin reload: the workers get the new file. */
struct fleet_swap {
    struct hn_fleet *fleet;
    const char *path;
};

static int swap_fleet_plugin(void *ud, const struct hn_plugin *plugin,
                             const struct hn_feeders *feeders, char *err, size_t err_len)
{
    const struct fleet_swap *fs = ud;
    char sha[65];
    if (hn_cluster_plugin_sha256(fs->path, false, sha, err, err_len) != 0)
        return -1;
    return hn_fleet_set_plugin(fs->fleet, plugin, fs->path, sha, feeders, err, err_len);
}

/* Creates the output file's directory now (as --csv does) and fails fast
 * when the file could not be written at the end of the run. */
static int check_output_path(const char *option, const char *path, char *err, size_t err_len)
{
    char dir[4096];
    snprintf(dir, sizeof dir, "%s", path);
    char *slash = strrchr(dir, '/');
    if (slash == NULL)
        snprintf(dir, sizeof dir, ".");
    else if (slash == dir)
        dir[1] = '\0';
    else
        *slash = '\0';
    /* A failure shows up as access()'s error just below. */
    hn_mkdirs(dir, 0777, NULL, 0);
    if (access(dir, W_OK) != 0) {
        snprintf(err, err_len, "hornet: %s: cannot write into '%.200s': %s", option, dir,
                 strerror(errno));
        return -1;
    }
    return 0;
}

/* Warns before a run that would need more sockets than the process may open. */
static void warn_limits(const struct hn_plugin *p, uint32_t users, rlim_t nofile)
{
    bool private_conns = false;
    for (const struct hn_user_type *t = p->user_types; t->name; t++)
        if (!(t->flags & HN_USER_SHARED_POOL))
            private_conns = true;
    if (private_conns && users + 64 > nofile)
        hn_logf(HN_WARNING,
                "%u users with their own connections may need more than the %llu open files "
                "this process may have (ulimit -n); expect 'too many open files' failures, or "
                "set HN_USER_SHARED_POOL on the user type",
                users, (unsigned long long)nofile);
    if (private_conns && users > 28000)
        hn_logf(HN_WARNING, "%u users with their own connections exceed the ~28,000 ephemeral "
                            "ports of one source address", users);
}

extern char **environ;

/* Starts n local worker processes for --processes: this executable with
 * --worker and only the options a worker needs (no config file, no
 * HORNET_* variables, which could make it a master again). They die with
 * this process (PDEATHSIG). Returns how many started. */
static int start_local_workers(const struct hn_options *o, int n, const char *master_host,
                               uint16_t port, pid_t *pids)
{
    char port_s[8], threads_s[16], seed_s[24] = "";
    snprintf(port_s, sizeof port_s, "%u", port);
    snprintf(threads_s, sizeof threads_s, "%d", o->threads);
    static const char *const levels[] = {"debug", "info", "warning", "error", "critical"};
    const char *args[32];
    int k = 0;
    args[k++] = "hornet";
    args[k++] = "--config";
    args[k++] = "/dev/null";
    args[k++] = "--worker";
    args[k++] = "--master-host";
    args[k++] = master_host;
    args[k++] = "--master-port";
    args[k++] = port_s;
    /* No -f: a worker takes the master's plugin over the wire, so a
     * reload reaches it too. */
    args[k++] = "-L";
    args[k++] = levels[o->loglevel];
    if (o->threads > 0) {
        args[k++] = "--threads";
        args[k++] = threads_s;
    }
    if (o->host) {
        args[k++] = "-H";
        args[k++] = o->host;
    }
    if (o->seed_set) {
        /* Repeatable, but not the same random stream in every worker. */
        args[k++] = "--seed";
        args[k++] = seed_s;
    }
    args[k] = NULL;
    /* The environment is filtered here, before fork: between fork and exec
     * the child only makes async-signal-safe calls. */
    size_t n_env = 0;
    while (environ[n_env] != NULL)
        n_env++;
    char **envp = calloc(n_env + 2, sizeof *envp);
    if (envp == NULL)
        return 0;
    size_t j = 0;
    for (size_t i = 0; i < n_env; i++)
        if (strncmp(environ[i], "HORNET_", 7) != 0 ||
            strncmp(environ[i], "HORNET_CACHE_DIR=", 17) == 0)
            envp[j++] = environ[i];
    /* The cluster key goes by the environment: not in the workers' argv (ps). */
    char *key_env = NULL;
    if (o->cluster_key != NULL && asprintf(&key_env, "HORNET_CLUSTER_KEY=%s", o->cluster_key) > 0)
        envp[j++] = key_env;
    static const char exec_failed[] = "hornet: cannot start a worker process (exec failed)\n";
    sigset_t none;
    sigemptyset(&none);
    pid_t parent = getpid();
    int started = 0;
    for (int i = 0; i < n; i++) {
        snprintf(seed_s, sizeof seed_s, "%llu", (unsigned long long)(o->seed + (uint64_t)i + 1));
        pid_t pid = fork();
        if (pid == 0) {
            prctl(PR_SET_PDEATHSIG, SIGTERM);
            if (getppid() != parent)
                _exit(1);
            pthread_sigmask(SIG_SETMASK, &none, NULL);
            execve("/proc/self/exe", (char *const *)args, envp);
            ssize_t w = write(2, exec_failed, sizeof exec_failed - 1);
            (void)w;
            _exit(127);
        }
        if (pid < 0) {
            hn_logf(HN_ERROR, "cannot start worker process %d: %s", i + 1, strerror(errno));
            break;
        }
        pids[started++] = pid;
    }
    if (key_env != NULL) {
        explicit_bzero(key_env, strlen(key_env));
        free(key_env);
    }
    free(envp);
    return started;
}

/* --worker --processes N: waits for the N workers, passing SIGINT/SIGTERM
 * on to them. Returns the highest exit code. */
static int supervise_local_workers(pid_t *pids, int n, const sigset_t *sigs)
{
    int code = 0, left = n;
    while (left > 0) {
        struct timespec wait = {0, 200 * 1000 * 1000};
        int sig = sigtimedwait(sigs, NULL, &wait);
        for (int i = 0; i < n; i++) {
            if (pids[i] <= 0)
                continue;
            if (sig > 0)
                kill(pids[i], sig);
            int status = 0;
            if (waitpid(pids[i], &status, WNOHANG) == pids[i]) {
                pids[i] = 0;
                left--;
                int c = WIFEXITED(status) ? WEXITSTATUS(status) : 2;
                if (c > code)
                    code = c;
            }
        }
    }
    return code;
}

/* Waits up to 5 s for the local workers (told to quit by the master), then
 * kills what is left. */
static void reap_local_workers(pid_t *pids, int n)
{
    for (int waited = 0; waited < 50; waited++) {
        int left = 0;
        for (int i = 0; i < n; i++) {
            if (pids[i] > 0 && waitpid(pids[i], NULL, WNOHANG) == pids[i])
                pids[i] = 0;
            left += pids[i] > 0;
        }
        if (left == 0)
            return;
        struct timespec ts = {0, 100 * 1000 * 1000};
        nanosleep(&ts, NULL);
    }
    for (int i = 0; i < n; i++) {
        if (pids[i] > 0) {
            kill(pids[i], SIGKILL);
            waitpid(pids[i], NULL, 0);
        }
    }
}

static void stop_test_from_worker(void *ud, const char *reason)
{
    char err[128];
    hn_runner_stop(ud, reason, err, sizeof err);
}

static int ready_workers(void *ud)
{
    return hn_fleet_ready(ud);
}

/* hornet compare BASE.json NEW.json [--tolerance PCT]: 0 when nothing got
 * worse beyond the tolerance, 3 when something did, 2 on bad input. */
static int compare_main(int argc, char **argv)
{
    static const char usage[] =
        "usage: hornet compare BASE.json NEW.json [--tolerance PCT]\n"
        "  Compares two JSON results (hornet --json FILE): per entry and in total, requests/s,\n"
        "  p50, p95, p99 and the failure ratio, each better, worse or the same within PCT\n"
        "  (default 10%). Exit code 0 when nothing got worse, 3 when something did.\n";
    const char *files[2] = {NULL, NULL};
    double tolerance = 0.1;
    int n = 0;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i], *v = NULL;
        if (strcmp(a, "-h") == 0 || strcmp(a, "--help") == 0) {
            fputs(usage, stdout);
            return 0;
        }
        if (strcmp(a, "--tolerance") == 0) {
            if (i + 1 == argc) {
                fprintf(stderr, "hornet compare: --tolerance needs a value like 10%%\n");
                return 2;
            }
            v = argv[++i];
        } else if (strncmp(a, "--tolerance=", 12) == 0) {
            v = a + 12;
        }
        if (v != NULL) {
            if (hn_parse_tolerance(v, &tolerance) != 0) {
                fprintf(stderr, "hornet compare: --tolerance expects a percentage like 10%% (or a "
                                "fraction like 0.1), up to 1000%%, got '%.40s'\n", v);
                return 2;
            }
        } else if (a[0] == '-' && a[1] != '\0') {
            fprintf(stderr, "hornet compare: unknown option '%.40s' (see hornet compare --help)\n",
                    a);
            return 2;
        } else if (n == 2) {
            fprintf(stderr, "hornet compare: give two JSON results, BASE and NEW, not more\n");
            return 2;
        } else {
            files[n++] = a;
        }
    }
    if (n < 2) {
        fprintf(stderr, "hornet compare: give two JSON results: hornet compare BASE.json NEW.json\n");
        return 2;
    }
    char err[600];
    json_t *base = hn_result_load(files[0], err, sizeof err), *cur = NULL;
    if (base == NULL || (cur = hn_result_load(files[1], err, sizeof err)) == NULL) {
        fprintf(stderr, "hornet compare: %s\n", err);
        json_decref(base);
        return 2;
    }
    json_t *cmp = hn_compare_results(base, cur, tolerance);
    printf("Base: %s\nNew:  %s\n", files[0], files[1]);
    hn_console_comparison(stdout, cmp);
    const char *verdict = json_string_value(json_object_get(cmp, "verdict"));
    int code = cmp == NULL ? 2 : verdict != NULL && strcmp(verdict, "worse") == 0 ? 3 : 0;
    json_decref(cmp);
    json_decref(base);
    json_decref(cur);
    return code;
}

int main(int argc, char **argv)
{
    if (argc > 1 && strcmp(argv[1], "demo-target") == 0)
        return hn_demo_target_main(argc - 1, argv + 1);
    if (argc > 1 && strcmp(argv[1], "compare") == 0)
        return compare_main(argc - 1, argv + 1);

    struct hn_options opt;
    char err[8192] = "";
    hn_options_init(&opt);
    if (hn_options_parse(&opt, argc, argv, err, sizeof err) != 0) {
        fprintf(stderr, "%s\n", err);
        hn_options_cleanup(&opt);
        return 2;
    }
    if (opt.show_help) {
        hn_options_usage(stdout);
        hn_options_cleanup(&opt);
        return 0;
    }
    if (opt.show_version) {
        printf("hornet %s (plugin ABI %d.%d)\n", HN_VERSION, HN_ABI_MAJOR, HN_ABI_MINOR);
        hn_options_cleanup(&opt);
        return 0;
    }
    hn_log_set_level(opt.loglevel);

    if (opt.html_path != NULL && check_output_path("--html", opt.html_path, err, sizeof err) != 0) {
        fprintf(stderr, "%s\n", err);
        hn_options_cleanup(&opt);
        return 2;
    }
    if (opt.json_path != NULL && check_output_path("--json", opt.json_path, err, sizeof err) != 0) {
        fprintf(stderr, "%s\n", err);
        hn_options_cleanup(&opt);
        return 2;
    }
    if (opt.plugin == NULL && !opt.demo && !opt.worker) {
        fprintf(stderr, "hornet: no plugin: pass -f/--plugin FILE (.c or .so), or --demo\n");
        hn_options_cleanup(&opt);
        return 2;
    }
    struct hn_outputs_config oc = {
        .influxdb = opt.influxdb,
        .influxdb_db = opt.influxdb_db,
        .influxdb_user = opt.influxdb_user,
        .influxdb_password = opt.influxdb_password,
        .influxdb_token = opt.influxdb_token,
        .webhooks = (const char *const *)opt.webhooks,
        .slack_webhooks = (const char *const *)opt.slack_webhooks,
        .timeout_s = opt.output_timeout,
        .plugin = opt.plugin ? opt.plugin : "shop (built-in)",
        .version = HN_VERSION,
    };
    if (hn_outputs_check(&oc, err, sizeof err) != 0) {
        fprintf(stderr, "%s\n", err);
        hn_options_cleanup(&opt);
        return 2;
    }
    if ((opt.tls_cert == NULL) != (opt.tls_key == NULL)) {
        fprintf(stderr, "hornet: --tls-cert and --tls-key go together: give both\n");
        hn_options_cleanup(&opt);
        return 2;
    }
    char outputs_note[512] = "";
    hn_outputs_describe(&oc, outputs_note, sizeof outputs_note);
    /* Read before the run: a bad baseline is a usage error, not a lost report. */
    json_t *baseline = NULL;
    if (opt.baseline != NULL && (baseline = hn_result_load(opt.baseline, err, 512)) == NULL) {
        fprintf(stderr, "hornet: --baseline %s\n", err);
        hn_options_cleanup(&opt);
        return 2;
    }

    struct hn_tls *tls = NULL;
    if (opt.tls_cert != NULL && !opt.headless && !opt.worker &&
        hn_tls_load(&tls, opt.tls_cert, opt.tls_key, err, sizeof err) != 0) {
        fprintf(stderr, "hornet: %s\n", err);
        json_decref(baseline);
        hn_options_cleanup(&opt);
        return 2;
    }

    /* Signals are taken synchronously by the main thread (sigtimedwait);
     * every thread created from here on inherits the block. */
    sigset_t sigs;
    sigemptyset(&sigs);
    sigaddset(&sigs, SIGINT);
    sigaddset(&sigs, SIGTERM);
    pthread_sigmask(SIG_BLOCK, &sigs, NULL);
    signal(SIGPIPE, SIG_IGN);
    rlim_t nofile = raise_nofile();
    curl_global_init(CURL_GLOBAL_DEFAULT);

    int code = 2;
    struct hn_demo_target *demo = NULL;
    struct hn_loaded_plugin *loaded = NULL;
    const struct hn_plugin *plugin = NULL;
    struct hn_runner *runner = NULL;
    struct hn_http *http = NULL;
    struct hn_live *live = NULL;
    struct hn_acceptor *acceptor = NULL;
    struct hn_fleet *fleet = NULL;
    struct hn_runs *runs = NULL;
    struct hn_outputs *outputs = NULL;
    pid_t local_pids[HN_MAX_PROCESSES];
    int n_local = 0;
    struct hn_plugin_slot *slot = NULL;
    char *auth_token = NULL;
    char *dashboard_url = NULL;
    struct fleet_swap fleet_swap = {.path = opt.plugin};
    struct hn_threshold *thresholds = NULL;
    size_t n_thresholds = 0;
    struct hn_feeders *feeders = NULL;
    const struct hn_feeders *feeders_in_use = NULL;
    struct hn_params *params = NULL;
    struct hn_stage stages[HN_MAX_STAGES];
    int n_stages = 0;
    char demo_host[64] = "";
    char sha[65] = "";

    /* The expressions were checked with the options. */
    for (size_t i = 0; opt.thresholds && opt.thresholds[i]; i++)
        n_thresholds++;
    if (n_thresholds > 0 && (thresholds = calloc(n_thresholds, sizeof *thresholds)) == NULL)
        goto out;
    for (size_t i = 0; i < n_thresholds; i++)
        if (hn_threshold_parse(opt.thresholds[i], &thresholds[i], err, sizeof err) != 0) {
            fprintf(stderr, "hornet: --threshold '%s': %s\n", opt.thresholds[i], err);
            goto out;
        }

    /* Checked with the options too. */
    if (opt.stages != NULL &&
        (n_stages = hn_stages_parse(opt.stages, stages, HN_MAX_STAGES, 1000000, err,
                                    sizeof err)) < 0) {
        fprintf(stderr, "hornet: --stages '%s': %s\n", opt.stages, err);
        goto out;
    }

    if (opt.demo) {
        if (hn_demo_target_start(&demo, "127.0.0.1", 0, 0, err, sizeof err) != 0) {
            fprintf(stderr, "hornet: demo target: %s\n", err);
            goto out;
        }
        snprintf(demo_host, sizeof demo_host, "http://127.0.0.1:%u",
                 hn_demo_target_http_port(demo));
        hn_logf(HN_INFO, "demo target listening on %s", demo_host);
    }
    if (opt.worker && opt.plugin == NULL) {
        /* The master sends its plugin. */
    } else if (opt.plugin != NULL) {
        if (hn_plugin_load(opt.plugin, NULL, &loaded, err, sizeof err) != 0) {
            fprintf(stderr, "hornet: %s\n", err);
            goto out;
        }
        plugin = hn_plugin_descriptor(loaded);
    } else {
        if (hn_plugin_load_builtin(hornet_plugin_entry_v1, "shop (built-in)", &loaded, err,
                                   sizeof err) != 0) {
            fprintf(stderr, "hornet: %s\n", err);
            goto out;
        }
        plugin = hn_plugin_descriptor(loaded);
    }

    /* Data feeders are read before anything runs: a bad file is exit 2. A
     * worker gets the master's tables instead. */
    bool has_feeders = plugin != NULL && plugin->abi_minor >= 1 && plugin->feeders != NULL &&
                       plugin->feeders[0].name != NULL;
    /* Parameters: the plugin's declarations checked, --param values too. */
    if (!opt.worker && plugin != NULL) {
        if (hn_params_new(plugin, &params, err, sizeof err) != 0) {
            fprintf(stderr, "hornet: %s\n", err);
            goto out;
        }
        for (size_t i = 0; opt.params && opt.params[i]; i++)
            if (params == NULL ||
                hn_params_set_pair(params, opt.params[i], err, sizeof err) != 0) {
                fprintf(stderr, "hornet: --param '%.80s': %s\n", opt.params[i],
                        params ? err : "the plugin declares no parameters");
                goto out;
            }
    }
    if (!opt.worker && plugin != NULL && (has_feeders || opt.feeds) &&
        hn_feeders_load(plugin, (const char *const *)opt.feeds, &feeders, err, sizeof err) != 0) {
        fprintf(stderr, "hornet: %s\n", err);
        goto out;
    }

    /* From here the slot owns the plugin and its feeders (a reload swaps them). */
    if (!opt.worker || plugin != NULL) {
        struct hn_plugin_slot_config sc = {
            .path = opt.plugin,
            .feeds = (const char *const *)opt.feeds,
            .on_swap = opt.master ? swap_fleet_plugin : NULL,
            .on_swap_ud = &fleet_swap,
        };
        int src = hn_plugin_slot_new(&slot, &sc, loaded, feeders);
        loaded = NULL;
        feeders = NULL;
        if (src != 0) {
            fprintf(stderr, "hornet: out of memory\n");
            goto out;
        }
        plugin = hn_plugin_slot_plugin(slot);
        feeders_in_use = hn_plugin_slot_feeders(slot);
    }
    struct hn_curve_keys curve;
    if (opt.cluster_key != NULL && (opt.master || opt.worker) &&
        hn_cluster_curve_keys(opt.cluster_key, &curve, err, sizeof err) != 0) {
        fprintf(stderr, "hornet: %s\n", err);
        goto out;
    }
    const struct hn_curve_keys *cluster_curve = opt.cluster_key ? &curve : NULL;
    const char *host = opt.host ? opt.host : (demo_host[0] ? demo_host : NULL);
    const struct hn_http_options limits = {
        .max_body = (size_t)opt.max_body,
        .connect_s = opt.connect_timeout,
        .response_s = opt.response_timeout,
        .idle_s = opt.idle_timeout,
        .client = opt.http_client,
        .transport = {.insecure = opt.insecure,
                      .ca_file = opt.ca_cert,
                      .cert_file = opt.client_cert,
                      .key_file = opt.client_key,
                      .source_ips = opt.source_ips},
    };
    /* Files and addresses the connections need: bad ones are one line now,
     * not a failure per request. A master of remote workers checks only
     * what it can (each worker reads the files and binds the addresses on
     * its own machine); with local workers, its machine is theirs. */
    bool remote_workers = opt.master && opt.processes == 0;
    if (hn_transport_check(&limits.transport, !remote_workers, err, sizeof err) != 0) {
        fprintf(stderr, "hornet: %s\n", err);
        goto out;
    }
    const char *plugin_label = opt.plugin ? opt.plugin : "shop (built-in)";
    if ((opt.master || (opt.worker && plugin != NULL)) &&
        hn_cluster_plugin_sha256(plugin_label, opt.plugin == NULL, sha, err, sizeof err) != 0) {
        fprintf(stderr, "hornet: %s\n", err);
        goto out;
    }
    if (opt.worker) {
        if (opt.processes > 0) {
            /* --worker --processes N: N worker processes; this one waits. */
            n_local = start_local_workers(&opt, opt.processes, opt.master_host, opt.master_port,
                                          local_pids);
            int worst = supervise_local_workers(local_pids, n_local, &sigs);
            code = n_local < opt.processes ? 2 : worst;
            n_local = 0;
            goto out;
        }
        struct hn_agent_config ac = {
            .master_host = opt.master_host,
            .master_port = opt.master_port,
            .plugin = plugin,
            .plugin_sha256 = sha,
            .threads = opt.threads,
            .seed = opt.seed_set ? opt.seed : (uint64_t)time(NULL) ^ (uint64_t)getpid(),
            .host = host,
            .signals = &sigs,
            .curve = cluster_curve,
        };
        code = hn_agent_run(&ac, err, sizeof err);
        if (code != 0)
            fprintf(stderr, "hornet: %s\n", err);
        goto out;
    }
    struct hn_fleet_config fc = {
        .bind_host = opt.master_bind_host,
        /* Local workers only: any free port unless one was asked for. */
        .bind_port = opt.processes > 0 && !opt.master_bind_port_set ? 0 : opt.master_bind_port,
        .plugin = plugin,
        .plugin_sha256 = sha,
        .plugin_path = opt.plugin,
        .tags = (const char *const *)opt.tags,
        .exclude_tags = (const char *const *)opt.exclude_tags,
        .stop_timeout = opt.stop_timeout,
        .feeders = feeders_in_use,
        .limits = &limits,
        .curve = cluster_curve,
    };
    if (opt.master && hn_fleet_start(&fleet, &fc, err, sizeof err) != 0) {
        fprintf(stderr, "hornet: %s\n", err);
        goto out;
    }
    struct hn_runner_config rc = {
        .plugin = plugin,
        .threads = opt.threads,
        .seed = opt.seed_set ? opt.seed : (uint64_t)time(NULL) ^ (uint64_t)getpid(),
        .stop_timeout = opt.stop_timeout,
        .host = host,
        .tags = (const char *const *)opt.tags,
        .exclude_tags = (const char *const *)opt.exclude_tags,
        .fleet = fleet ? hn_fleet_runner_ops(fleet) : NULL,
        .thresholds = thresholds,
        .n_thresholds = n_thresholds,
        .feeders = feeders_in_use,
        .params = params,
        .limits = limits,
        .n_le = opt.n_metrics_le,
    };
    memcpy(rc.le_s, opt.metrics_le, sizeof rc.le_s);
    if (hn_runner_create(&runner, &rc, err, sizeof err) != 0) {
        fprintf(stderr, "hornet: %s\n", err);
        goto out;
    }
    hn_plugin_slot_attach(slot, runner);
    fleet_swap.fleet = fleet;
    if (fleet) {
        hn_fleet_on_stop_test(fleet, stop_test_from_worker, runner);
        hn_logf(HN_INFO, "master: waiting for workers on %s:%u", opt.master_bind_host,
                hn_fleet_port(fleet));
        if (opt.processes > 0) {
            /* Local workers connect to the bound address, or to loopback
             * when the master listens on every address. */
            const char *b = opt.master_bind_host;
            bool any = strcmp(b, "*") == 0 || strcmp(b, "0.0.0.0") == 0 || strcmp(b, "::") == 0;
            const char *to = !any ? b : strchr(b, ':') ? "::1" : "127.0.0.1";
            n_local = start_local_workers(&opt, opt.processes, to, hn_fleet_port(fleet),
                                          local_pids);
        }
    } else {
        warn_limits(plugin, opt.users, nofile);
    }

    struct hn_webctx web = {
        .runner = runner,
        .plugin_path = opt.plugin ? opt.plugin : "shop (built-in)",
        .version = HN_VERSION,
        .default_host = host,
        .default_users = opt.users,
        .default_spawn_rate = opt.spawn_rate,
        .default_run_time = opt.run_time,
        .default_stages = opt.stages,
        .max_users = 1000000,
        .web_root = opt.web_root,
        .plugin = slot,
        .auth_token = auth_token = opt.web_auth ? hn_web_auth_token(opt.web_auth) : NULL,
        .web_host = opt.web_host,
        .outputs = outputs_note,
    };
    if (!opt.headless) {
        if (opt.web_auth != NULL && web.auth_token == NULL) {
            fprintf(stderr, "hornet: out of memory\n");
            code = 2;
            goto out;
        }
        if (hn_runs_start(&runs, runner, web.plugin_path, HN_VERSION) != 0) {
            fprintf(stderr, "hornet: out of memory\n");
            code = 2;
            goto out;
        }
        web.runs = runs;
        if (hn_http_start(&http, &web, err, sizeof err) != 0 ||
            hn_live_start(&live, &web, err, sizeof err) != 0 ||
            hn_acceptor_start(&acceptor, opt.web_host, opt.web_port, http, live, &web, tls, err,
                              sizeof err) != 0) {
            fprintf(stderr, "hornet: %s\n", err);
            code = 2;
            goto out;
        }
        /* Tests and scripts read this line to find the port. */
        bool v6 = strchr(opt.web_host, ':') != NULL;
        const char *scheme = tls ? "https" : "http";
        printf("hornet dashboard: %s://%s%s%s:%u/\n", scheme, v6 ? "[" : "", opt.web_host,
               v6 ? "]" : "", hn_acceptor_port(acceptor));
        fflush(stdout);
        /* For links in notifications: a wildcard address is no place to go. */
        char name[256] = "";
        const char *reach = opt.web_host;
        if ((strcmp(reach, "0.0.0.0") == 0 || strcmp(reach, "::") == 0) &&
            gethostname(name, sizeof name - 1) == 0)
            reach = name;
        bool v6_link = strchr(reach, ':') != NULL;
        if (asprintf(&dashboard_url, "%s://%s%s%s:%u/", scheme, v6_link ? "[" : "", reach,
                     v6_link ? "]" : "", hn_acceptor_port(acceptor)) < 0)
            dashboard_url = NULL;
        bool loopback = strncmp(opt.web_host, "127.", 4) == 0 ||
                        strcmp(opt.web_host, "::1") == 0 || strcmp(opt.web_host, "localhost") == 0;
        if (!loopback && opt.web_auth == NULL)
            hn_logf(HN_WARNING, "the dashboard listens on %s without --web-auth: anyone who "
                                "reaches it can start and stop runs and read their results",
                    opt.web_host);
    }

    oc.dashboard_url = dashboard_url;
    outputs = hn_outputs_start(&oc, err, sizeof err);
    if (outputs == NULL && *err) {
        fprintf(stderr, "hornet: %s\n", err);
        code = 2;
        goto out;
    }
    if (outputs != NULL)
        hn_runner_subscribe(runner, hn_outputs_on_snapshot, outputs);

    struct hn_session_config hc = {
        .runner = runner,
        .users = opt.users,
        .spawn_rate = opt.spawn_rate,
        .run_time = opt.run_time,
        .stages = stages,
        .n_stages = n_stages > 0 ? (size_t)n_stages : 0,
        .arrival_rate = opt.arrival_rate,
        .find_capacity = opt.find_capacity,
        .capacity_step = opt.capacity_step,
        .capacity_hold = opt.capacity_hold,
        .host = host,
        .csv_prefix = opt.csv_prefix,
        .csv_full_history = opt.csv_full_history,
        .json_path = opt.json_path,
        .html_path = opt.html_path,
        .junit_path = opt.junit_path,
        .baseline = baseline,
        .tolerance = opt.tolerance,
        .only_summary = opt.only_summary,
        .exit_code_on_error = opt.exit_code_on_error,
        .plugin_path = opt.plugin ? opt.plugin : "shop (built-in)",
        .signals = &sigs,
        .start_now = opt.headless || opt.autostart,
        .exit_when_stopped = opt.headless,
        .print_table = opt.headless && !opt.only_summary,
        .autoquit = opt.autoquit,
        .expect_workers = !fleet ? 0
                          : opt.expect_workers > 0 ? opt.expect_workers
                          : opt.processes > 0       ? opt.processes
                                                    : 1,
        .expect_workers_max_wait = opt.expect_workers_max_wait,
        .ready_workers = fleet ? ready_workers : NULL,
        .ready_ud = fleet,
    };
    code = hn_session_run(&hc);

out:
    /* Order: stop accepting, then the push (it reads the runner), then
     * the HTTP side, then the runner it drives. */
    hn_acceptor_stop(acceptor);
    hn_live_stop(live);
    hn_http_stop(http);
    hn_runs_stop(runs);
    if (fleet)
        hn_fleet_on_stop_test(fleet, NULL, NULL); /* the runner goes first */
    if (outputs != NULL) {
        /* The last numbers and the stop notice go out (within the timeout). */
        hn_runner_unsubscribe(runner, hn_outputs_on_snapshot, outputs);
        struct hn_snapshot *last = hn_runner_snapshot(runner);
        hn_outputs_finish(outputs, last);
        hn_snapshot_release(last);
    }
    hn_runner_destroy(runner);
    hn_fleet_stop(fleet);
    reap_local_workers(local_pids, n_local);
    hn_thresholds_free(thresholds, n_thresholds);
    hn_feeders_free(feeders); /* after the runner: its users read them */
    hn_params_free(params);
    hn_plugin_unload(loaded);
    hn_plugin_slot_free(slot); /* the same, once the slot has them */
    free(auth_token);
    free(dashboard_url);
    hn_tls_free(tls); /* after the acceptor, which used it */
    hn_demo_target_stop(demo);
    json_decref(baseline);
    curl_global_cleanup();
    hn_options_cleanup(&opt);
    return code;
}
