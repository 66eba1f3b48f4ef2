/*
 * session.h: the life of one hornet process around its runner, headless
 * (CI) or with the dashboard: optionally start the swarm at once, print the
 * console table every 2 s, append the CSV history each second, stop at the
 * run time or on SIGINT/SIGTERM, then print the summary, write the CSV and
 * JSON files and choose the exit code. Headless, the process ends when the
 * run does; with the dashboard it ends on a signal, or --autoquit seconds
 * after the run stopped.
 *
 * Threads: hn_session_run on the main thread, with SIGINT/SIGTERM blocked
 * in every thread (it waits for them with sigtimedwait).
 */
#ifndef HN_SESSION_H
#define HN_SESSION_H

#include <signal.h>
#include <stdbool.h>
#include <stdint.h>

#include <jansson.h>

struct hn_runner;
struct hn_stage;

struct hn_session_config {
    struct hn_runner *runner;
    uint32_t users;
    double spawn_rate;
    double run_time;          /* seconds; 0 = until a signal */
    const struct hn_stage *stages; /* a load profile instead of users/spawn_rate */
    double arrival_rate;      /* > 0: the open model, users = the pool's maximum */
    bool find_capacity;       /* a capacity search from users (or arrival_rate) */
    double capacity_step;     /* 0 = the first load */
    double capacity_hold;     /* seconds */
    size_t n_stages;
    const char *host;
    const char *csv_prefix;   /* NULL = no CSV */
    bool csv_full_history;
    const char *json_path;    /* NULL = no JSON file */
    const char *html_path;    /* NULL = no HTML report */
    const char *junit_path;   /* NULL = no JUnit XML */
    const json_t *baseline;   /* a JSON result to compare the run with; NULL = none */
    double tolerance;         /* for the comparison (a fraction) */
    bool only_summary;
    int exit_code_on_error;
    const char *plugin_path;
    const sigset_t *signals;  /* blocked set to wait on */
    bool start_now;           /* --headless or --autostart */
    bool exit_when_stopped;   /* --headless */
    bool print_table;         /* periodic console table (headless unless --only-summary) */
    double autoquit;          /* seconds after the run stopped; < 0 = never */
    int expect_workers;       /* master: workers to wait for before start_now (0 = none) */
    double expect_workers_max_wait; /* seconds; < 0 = forever */
    int (*ready_workers)(void *ud); /* master: workers connected now */
    void *ready_ud;
};

/* Returns the process exit code: 0; exit_code_on_error when any request
 * failed or any exception was raised; 3 when a threshold failed at the end
 * (it wins over exit_code_on_error); 2 when the run could not start or an
 * output could not be written (it wins over both). */
int hn_session_run(const struct hn_session_config *cfg);

#endif
