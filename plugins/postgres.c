/*
 * postgres.c: users that run SQL against PostgreSQL through libpq's
 * asynchronous API, a small order flow on two tables of its own:
 *
 *     select item   (6 of 9 tasks)  a point SELECT by primary key
 *     insert order  (2 of 9)        an INSERT
 *     checkout      (1 of 9)        a transaction: BEGIN, UPDATE the stock,
 *                                   INSERT ... RETURNING, COMMIT, timed as one
 *
 * libpq's usual calls (PQconnectdb, PQexec) wait inside libpq, which would
 * block the worker thread and every user on it. Its asynchronous calls never
 * wait: they say what they need (the socket readable or writable), and the
 * user waits for that with hn_wait_fd(), yielding like an HTTP request does.
 * Connect with PQconnectStartParams + PQconnectPoll; run a statement with
 * PQsendQueryParams, PQflush until sent, then PQconsumeInput and PQisBusy
 * until PQgetResult has a result. Each connect and each statement is timed
 * with hn_now_ms() and recorded with hn_record() as type "PG".
 *
 * Each user has its own connection, opened in on_start and closed in
 * on_stop. A connection that breaks or times out is closed, the failure is
 * recorded, and the user's next task connects again.
 *
 *     hornet -f build/plugins/postgres.so --headless -u 20 -r 10 -t 1m \
 *            --param dsn="host=127.0.0.1 port=5432 dbname=shop user=app"
 *
 * CMake builds it, linked with libpq (-lpq): `hornet -f postgres.c` cannot,
 * as the on-the-fly build links nothing but the C library. Give a numeric
 * host (or hostaddr=) in the dsn: resolving a name blocks in getaddrinfo().
 * The tables (hornet_items, hornet_orders) are created by the first user
 * that finds them missing; every user's on_start checks, so nothing needs to
 * be prepared beforehand but a database the user may create tables in.
 */
#include <hornet/hornet.h>

#include <libpq-fe.h>

#include <inttypes.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define PG_ITEMS 1000 /* rows of hornet_items, ids 1..PG_ITEMS (the 1000 in pg_schema_sql) */

/* Per-user state, zeroed by hornet at spawn. */
struct pg_user {
    PGconn *conn;             /* NULL: not connected */
    bool schema_ready;        /* this user saw the tables exist */
    double timeout_ms;        /* the "timeout" parameter, per connect and per statement */
    char connect_timeout[48]; /* "could not connect within 10 s" */
    char query_timeout[48];   /* "no answer within 10 s" */
    char msg[160];            /* the last libpq error, one line */
};

static const struct hn_param pg_params[] = {
    {.name = "dsn",
     .default_value = "host=127.0.0.1 port=5432 dbname=postgres",
     .help = "libpq connection string (use a numeric host)"},
    {.name = "password",
     .help = "password, if not in dsn, PGPASSWORD or ~/.pgpass",
     .flags = HN_PARAM_SECRET},
    {.name = "timeout",
     .type = HN_PARAM_FLOAT,
     .default_value = "10",
     .help = "seconds each connect and each statement may take"},
    {0},
};

/* Run once per user, in one implicit transaction (a multi-statement query).
 * Concurrent CREATE TABLE IF NOT EXISTS of one table can still fail on the
 * catalog's unique indexes, so the users take turns under an advisory lock
 * (any fixed number; released at the end of the transaction). */
static const char pg_schema_sql[] =
    "SELECT pg_advisory_xact_lock(727001);"
    "CREATE TABLE IF NOT EXISTS hornet_items ("
    " id integer PRIMARY KEY, name text NOT NULL, stock bigint NOT NULL);"
    "CREATE TABLE IF NOT EXISTS hornet_orders ("
    " id bigserial PRIMARY KEY, user_id bigint NOT NULL, item_id integer NOT NULL,"
    " qty integer NOT NULL, created timestamptz NOT NULL DEFAULT now());"
    "INSERT INTO hornet_items (id, name, stock)"
    " SELECT g, 'item ' || g, 1000000000 FROM generate_series(1, 1000) AS g"
    " ON CONFLICT (id) DO NOTHING;";

/*
 * Every helper below returns NULL on success or the message to record.
 * libpq's messages are cut to their first line: the rest (DETAIL with the
 * row's values, HINT, the statement's position) varies, and the Failures
 * table groups identical messages.
 */

static const char *pg_message(struct pg_user *s, const PGresult *r)
{
    /* A statement's error is in its result ("ERROR:  relation ... does not
     * exist"); the connection's own in the connection ("FATAL:  terminating
     * connection ...", "server closed the connection unexpectedly"). */
    const char *m = r != NULL ? PQresultErrorMessage(r) : NULL;
    size_t n;

    if (m == NULL || *m == '\0')
        m = s->conn != NULL ? PQerrorMessage(s->conn) : "";
    n = strcspn(m, "\r\n");
    if (n == 0)
        return "unknown libpq error";
    snprintf(s->msg, sizeof(s->msg), "%.*s", (int)n, m);
    return s->msg;
}

static void pg_close(struct pg_user *s)
{
    /* PQfinish does not wait: the socket is non-blocking (libpq always makes
     * it so), and at most a Terminate message is sent if the buffer has room. */
    if (s->conn != NULL)
        PQfinish(s->conn);
    s->conn = NULL;
}

/* Waits, yielding, until libpq's socket is ready or the deadline (hn_now_ms
 * clock) passes. The socket is asked for each time: libpq opens a new one
 * when it tries the next address of a host or retries without SSL. */
static const char *pg_wait(struct hn_user *u, struct pg_user *s, int events, double deadline,
                           const char *timeout_msg)
{
    int fd = PQsocket(s->conn);
    double left = (deadline - hn_now_ms(u)) / 1000.0;
    int ready;

    if (fd < 0)
        return "no connection to the server";
    if (left <= 0) /* hn_wait_fd waits for ever on a timeout <= 0 */
        return timeout_msg;
    ready = hn_wait_fd(u, fd, events, left);
    if (ready == 0)
        return timeout_msg;
    return ready < 0 ? "wait failed" : NULL;
}

/* libpq never gives up on a silent server while connecting (connect_timeout
 * is only for its blocking calls), so the deadline here is the one bound. */
static const char *pg_do_connect(struct hn_user *u, struct pg_user *s, double deadline)
{
    /* The dsn is expanded in dbname's place; a non-empty password set here
     * wins over one in the dsn, and the dsn's application_name over ours. */
    const char *const keys[] = {"fallback_application_name", "dbname", "password", NULL};
    const char *const values[] = {"hornet", hn_param(u, "dsn"), hn_param(u, "password"), NULL};
    PostgresPollingStatusType st = PGRES_POLLING_WRITING; /* as the manual says to begin */
    const char *err;

    s->conn = PQconnectStartParams(keys, values, 1);
    if (s->conn == NULL)
        return "out of memory";
    if (PQstatus(s->conn) == CONNECTION_BAD)
        return pg_message(s, NULL);
    while (st != PGRES_POLLING_OK) {
        if (st == PGRES_POLLING_FAILED)
            return pg_message(s, NULL);
        err = pg_wait(u, s, st == PGRES_POLLING_READING ? HN_FD_READ : HN_FD_WRITE, deadline,
                      s->connect_timeout);
        if (err != NULL)
            return err;
        st = PQconnectPoll(s->conn);
    }
    /* Without it PQsendQuery* would wait inside libpq when the socket
     * buffer is full; with it they return and PQflush sends the rest. */
    if (PQsetnonblocking(s->conn, 1) != 0)
        return pg_message(s, NULL);
    return NULL;
}

/* Sends one statement and reads all its results. With params == NULL it goes
 * as a simple query, which may hold several statements; otherwise through
 * the extended protocol, values as text ($1, $2, ...), no quoting to get
 * wrong. *rows is the row count of the last result (rows returned, or
 * affected by an INSERT/UPDATE/DELETE), *bytes the size of the values
 * returned. */
static const char *pg_exec(struct hn_user *u, struct pg_user *s, const char *sql, int nparams,
                           const char *const *params, long *rows, int64_t *bytes)
{
    double deadline = hn_now_ms(u) + s->timeout_ms;
    const char *err = NULL;
    int sent;

    *rows = 0;
    *bytes = 0;
    if (params == NULL)
        sent = PQsendQuery(s->conn, sql);
    else
        sent = PQsendQueryParams(s->conn, sql, nparams, NULL, params, NULL, NULL, 0);
    if (!sent)
        return pg_message(s, NULL);

    /* Non-blocking: what did not fit in the socket buffer waits in libpq's.
     * Read while waiting to write: a server that answers early (an error)
     * and is not read could leave both sides stuck on full buffers. */
    for (;;) {
        int left = PQflush(s->conn);

        if (left == 0)
            break;
        if (left < 0)
            return pg_message(s, NULL);
        err = pg_wait(u, s, HN_FD_READ | HN_FD_WRITE, deadline, s->query_timeout);
        if (err != NULL)
            return err;
        if (!PQconsumeInput(s->conn))
            return pg_message(s, NULL);
    }

    /* PQgetResult waits inside libpq while PQisBusy: wait here instead, and
     * hand libpq what arrived with PQconsumeInput. A NULL result means the
     * statement is over (ReadyForQuery read), so the connection is free. */
    for (;;) {
        PGresult *r;

        while (PQisBusy(s->conn)) {
            const char *werr = pg_wait(u, s, HN_FD_READ, deadline, s->query_timeout);

            if (werr != NULL)
                return werr;
            if (!PQconsumeInput(s->conn))
                return pg_message(s, NULL);
        }
        r = PQgetResult(s->conn);
        if (r == NULL)
            break;
        switch (PQresultStatus(r)) {
        case PGRES_TUPLES_OK:
            *rows = PQntuples(r);
            for (int i = 0; i < PQntuples(r); i++)
                for (int j = 0; j < PQnfields(r); j++)
                    *bytes += PQgetlength(r, i, j);
            break;
        case PGRES_COMMAND_OK:
            *rows = strtol(PQcmdTuples(r), NULL, 10); /* "" for BEGIN and the like: 0 */
            break;
        default:
            if (err == NULL) /* the first error; later results are its echoes */
                err = pg_message(s, r);
            break;
        }
        PQclear(r);
    }
    return err;
}

/* After a failure: keep the connection only when libpq is idle and sound
 * (a server-side error such as a constraint violation). After a timeout the
 * statement is still running and its late answer would be taken for the
 * next one's; PQcancel could stop it, but it connects and waits inside
 * libpq. Closing ends it too: the server sees the connection go. */
static void pg_after_error(struct pg_user *s)
{
    if (s->conn != NULL &&
        (PQstatus(s->conn) != CONNECTION_OK || PQtransactionStatus(s->conn) == PQTRANS_ACTIVE))
        pg_close(s);
}

/* Notices ("relation ... already exists, skipping") are not failures, and
 * libpq would print each to stderr. */
static void pg_ignore_notice(void *arg, const char *message)
{
}

/* Connects if needed, recorded as ("PG", "connect"), then makes sure of the
 * tables, recorded as ("PG", "schema"). Returns false when the user cannot
 * go on with this task; the failure is recorded. */
static bool pg_ready(struct hn_user *u, struct pg_user *s)
{
    double start;
    const char *err;
    long rows;
    int64_t bytes;

    if (s->conn == NULL) {
        start = hn_now_ms(u);
        err = pg_do_connect(u, s, start + s->timeout_ms);
        hn_record(u, "PG", "connect", hn_now_ms(u) - start, 0, err);
        if (err != NULL) {
            pg_close(s);
            return false;
        }
        PQsetNoticeProcessor(s->conn, pg_ignore_notice, NULL);
    }
    if (!s->schema_ready) {
        start = hn_now_ms(u);
        err = pg_exec(u, s, pg_schema_sql, 0, NULL, &rows, &bytes);
        hn_record(u, "PG", "schema", hn_now_ms(u) - start, bytes, err);
        if (err != NULL) {
            pg_after_error(s);
            return false;
        }
        s->schema_ready = true;
    }
    return true;
}

static void pg_start(struct hn_user *u)
{
    struct pg_user *s = hn_state(u);
    const char *dsn = hn_param(u, "dsn");
    char *perr = NULL;
    PQconninfoOption *opts = PQconninfoParse(dsn, &perr);
    double timeout = hn_param_float(u, "timeout");

    /* A bad dsn or timeout would fail every user the same way: stop the
     * test with the reason instead. (libpq would only say so at connect,
     * looking like an unreachable server.) */
    if (opts == NULL || !(timeout > 0)) {
        char reason[200];

        const char *why = perr != NULL ? perr : "out of memory";

        if (opts == NULL)
            snprintf(reason, sizeof(reason), "postgres: bad dsn: %.*s",
                     (int)strcspn(why, "\r\n"), why);
        else
            snprintf(reason, sizeof(reason), "postgres: timeout must be more than 0 s");
        PQfreemem(perr); /* hn_stop_test does not return: free first */
        PQconninfoFree(opts);
        hn_stop_test(u, reason);
        return;
    }
    PQconninfoFree(opts);

    s->timeout_ms = timeout * 1000.0;
    snprintf(s->connect_timeout, sizeof(s->connect_timeout), "could not connect within %g s",
             timeout);
    snprintf(s->query_timeout, sizeof(s->query_timeout), "no answer within %g s", timeout);
    pg_ready(u, s);
}

/* Also runs when the test stops, so every connection is closed. */
static void pg_stop(struct hn_user *u)
{
    pg_close(hn_state(u));
}

/* Runs one statement of a task and records it under name. */
static const char *pg_timed(struct hn_user *u, struct pg_user *s, const char *name,
                            const char *sql, int nparams, const char *const *params, long *rows)
{
    double start = hn_now_ms(u);
    int64_t bytes;
    const char *err = pg_exec(u, s, sql, nparams, params, rows, &bytes);

    hn_record(u, "PG", name, hn_now_ms(u) - start, bytes, err);
    if (err != NULL)
        pg_after_error(s);
    return err;
}

static void select_item(struct hn_user *u)
{
    struct pg_user *s = hn_state(u);
    char id[24];
    const char *const params[] = {id};
    double start;
    int64_t bytes;
    long rows;
    const char *err;

    if (!pg_ready(u, s))
        return;
    snprintf(id, sizeof(id), "%ld", hn_rand_range(u, 1, PG_ITEMS));
    start = hn_now_ms(u);
    err = pg_exec(u, s, "SELECT name, stock FROM hornet_items WHERE id = $1", 1, params, &rows,
                  &bytes);
    /* The statement can succeed and the answer still be wrong. */
    if (err == NULL && rows != 1)
        err = "item not found";
    hn_record(u, "PG", "select item", hn_now_ms(u) - start, bytes, err);
    if (err != NULL)
        pg_after_error(s);
}

static void insert_order(struct hn_user *u)
{
    struct pg_user *s = hn_state(u);
    char user_id[24], item_id[24], qty[24];
    const char *const params[] = {user_id, item_id, qty};
    long rows;

    if (!pg_ready(u, s))
        return;
    snprintf(user_id, sizeof(user_id), "%" PRIu64, hn_user_id(u));
    snprintf(item_id, sizeof(item_id), "%ld", hn_rand_range(u, 1, PG_ITEMS));
    snprintf(qty, sizeof(qty), "%ld", hn_rand_range(u, 1, 3));
    pg_timed(u, s, "insert order",
             "INSERT INTO hornet_orders (user_id, item_id, qty) VALUES ($1, $2, $3)", 3, params,
             &rows);
}

/* A transaction of four statements, recorded as one operation, as an
 * application would time it. On a failure it is rolled back (if the
 * connection is still there) so the next task starts outside it. */
static void checkout(struct hn_user *u)
{
    struct pg_user *s = hn_state(u);
    char user_id[24], item_id[24], qty[24];
    const char *const stock_params[] = {item_id, qty};
    const char *const order_params[] = {user_id, item_id, qty};
    double start;
    int64_t bytes = 0, commit_bytes;
    long rows;
    const char *err;

    if (!pg_ready(u, s))
        return;
    snprintf(user_id, sizeof(user_id), "%" PRIu64, hn_user_id(u));
    snprintf(item_id, sizeof(item_id), "%ld", hn_rand_range(u, 1, PG_ITEMS));
    snprintf(qty, sizeof(qty), "%ld", hn_rand_range(u, 1, 3));
    start = hn_now_ms(u);
    err = pg_exec(u, s, "BEGIN", 0, NULL, &rows, &bytes);
    if (err == NULL) {
        err = pg_exec(u, s,
                      "UPDATE hornet_items SET stock = stock - $2 WHERE id = $1 AND stock >= $2",
                      2, stock_params, &rows, &bytes);
        if (err == NULL && rows != 1)
            err = "out of stock";
    }
    if (err == NULL) {
        /* RETURNING: the order's id comes back (the bytes recorded). */
        err = pg_exec(u, s,
                      "INSERT INTO hornet_orders (user_id, item_id, qty) VALUES ($1, $2, $3) "
                      "RETURNING id",
                      3, order_params, &rows, &bytes);
        if (err == NULL && rows != 1)
            err = "order not created";
    }
    if (err == NULL)
        err = pg_exec(u, s, "COMMIT", 0, NULL, &rows, &commit_bytes);
    hn_record(u, "PG", "checkout", hn_now_ms(u) - start, bytes, err);
    if (err == NULL)
        return;
    pg_after_error(s);
    if (s->conn != NULL && PQtransactionStatus(s->conn) != PQTRANS_IDLE &&
        pg_exec(u, s, "ROLLBACK", 0, NULL, &rows, &commit_bytes) != NULL)
        pg_after_error(s);
}

static const struct hn_task pg_tasks[] = {
    {.name = "select item", .fn = select_item, .weight = 6},
    {.name = "insert order", .fn = insert_order, .weight = 2},
    {.name = "checkout", .fn = checkout, .weight = 1},
    {0},
};

static const struct hn_user_type pg_users[] = {
    {
        .name = "pg_client",
        .weight = 1,
        .wait = hn_between(0.1, 0.5),
        .tasks = pg_tasks,
        .on_start = pg_start,
        .on_stop = pg_stop,
        .state_size = sizeof(struct pg_user),
        /* libpq's connect path took up to 18 KiB of stack when measured
         * (user and address lookups, OpenSSL's set-up); NSS modules (LDAP,
         * sssd) and Kerberos can take much more: room to spare. */
        .stack_size = 128 * 1024,
    },
    {0},
};

static const struct hn_plugin postgres = {
    .abi_major = HN_ABI_MAJOR,
    .abi_minor = HN_ABI_MINOR,
    .struct_size = sizeof(struct hn_plugin),
    .name = "postgres",
    .user_types = pg_users,
    .params = pg_params,
};

HN_PLUGIN(postgres);
