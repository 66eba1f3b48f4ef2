/*
 * test_threshold.c: threshold expressions (engine/threshold.h): every
 * metric, operator and unit parsed; bad expressions refused with what was
 * expected; verdicts judged against a hand-built snapshot, passing and
 * failing, per entry and for the Aggregated row.
 */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "snapshot.h"
#include "threshold.h"

static struct hn_threshold parse_ok(const char *text)
{
    struct hn_threshold t;
    char err[256] = "";
    if (hn_threshold_parse(text, &t, err, sizeof err) != 0)
        fail_msg("'%s' refused: %s", text, err);
    return t;
}

static void parse_bad(const char *text, const char *needle)
{
    struct hn_threshold t;
    char err[256] = "";
    if (hn_threshold_parse(text, &t, err, sizeof err) == 0)
        fail_msg("'%s' accepted", text);
    if (strstr(err, needle) == NULL)
        fail_msg("'%s': message '%s' lacks '%s'", text, err, needle);
}

static void test_parse_metrics_ops_units(void **state)
{
    (void)state;
    static const struct {
        const char *text;
        enum hn_metric metric;
        int pct;
        enum hn_op op;
        double limit;
    } ok[] = {
        {"p50<300ms", HN_METRIC_PCT, 0, HN_OP_LT, 300},
        {"p90 <= 1s", HN_METRIC_PCT, 4, HN_OP_LE, 1000},
        {"p95<300", HN_METRIC_PCT, 5, HN_OP_LT, 300},
        {"p99>0.5ms", HN_METRIC_PCT, 7, HN_OP_GT, 0.5},
        {"p99.9>=2s", HN_METRIC_PCT, 8, HN_OP_GE, 2000},
        {"p99.99<10s", HN_METRIC_PCT, 9, HN_OP_LT, 10000},
        {"p100<1s", HN_METRIC_PCT, 10, HN_OP_LT, 1000},
        {"avg<20ms", HN_METRIC_AVG, 0, HN_OP_LT, 20},
        {"min==0", HN_METRIC_MIN, 0, HN_OP_EQ, 0},
        {"max!=5s", HN_METRIC_MAX, 0, HN_OP_NE, 5000},
        {"rps>500", HN_METRIC_RPS, 0, HN_OP_GT, 500},
        {"fail_ratio<1%", HN_METRIC_FAIL_RATIO, 0, HN_OP_LT, 0.01},
        {"fail_ratio<0.05", HN_METRIC_FAIL_RATIO, 0, HN_OP_LT, 0.05},
        {"failures==0", HN_METRIC_FAILURES, 0, HN_OP_EQ, 0},
        {"  requests >= 100  ", HN_METRIC_REQUESTS, 0, HN_OP_GE, 100},
    };
    for (size_t i = 0; i < sizeof ok / sizeof ok[0]; i++) {
        struct hn_threshold t = parse_ok(ok[i].text);
        assert_int_equal(t.metric, ok[i].metric);
        if (t.metric == HN_METRIC_PCT)
            assert_int_equal(t.pct_index, ok[i].pct);
        assert_int_equal(t.op, ok[i].op);
        assert_true(fabs(t.limit - ok[i].limit) < 1e-12);
        assert_null(t.entry_name);
        assert_false(t.abort);
        hn_threshold_free(&t);
    }
}

static void test_parse_entries_and_abort(void **state)
{
    (void)state;
    struct hn_threshold t = parse_ok("GET /cart:p99<1s");
    assert_string_equal(t.entry_type, "GET");
    assert_string_equal(t.entry_name, "/cart");
    assert_string_equal(t.expr, "GET /cart:p99<1s");
    hn_threshold_free(&t);

    t = parse_ok("/item/[id]:avg<5ms");
    assert_null(t.entry_type);
    assert_string_equal(t.entry_name, "/item/[id]");
    hn_threshold_free(&t);

    /* Names may hold colons: the last one separates the metric. */
    t = parse_ok("http://other:8080/x:requests>0");
    assert_string_equal(t.entry_name, "http://other:8080/x");
    assert_int_equal(t.metric, HN_METRIC_REQUESTS);
    hn_threshold_free(&t);

    t = parse_ok("p95<300ms:abort");
    assert_true(t.abort);
    assert_true(t.grace_s == HN_THRESHOLD_GRACE_S);
    assert_null(t.entry_name);
    hn_threshold_free(&t);

    t = parse_ok("POST /login:fail_ratio<=2%:abort=30s");
    assert_true(t.abort);
    assert_true(t.grace_s == 30);
    assert_string_equal(t.entry_type, "POST");
    assert_string_equal(t.entry_name, "/login");
    hn_threshold_free(&t);

    t = parse_ok("rps>1:abort=0");
    assert_true(t.abort && t.grace_s == 0);
    hn_threshold_free(&t);
}

static void test_parse_errors(void **state)
{
    (void)state;
    parse_bad("", "empty threshold");
    parse_bad("   ", "empty threshold");
    parse_bad("p97<1s", "unknown metric 'p97'");
    parse_bad("latency<1s", "unknown metric 'latency' (expected p50, p66");
    parse_bad("p95", "expected an operator");
    parse_bad("p95=300", "expected an operator");
    parse_bad("p95<", "expected a value");
    parse_bad("p95<fast", "expected a number");
    parse_bad("p95<-3ms", "expected a number");
    parse_bad("p95<3 hours", "a time: expected a number with ms or s");
    parse_bad("p95<3m", "a time: expected a number with ms or s");
    parse_bad("fail_ratio<1 percent", "fraction (0.01) or a percentage (1%)");
    parse_bad("fail_ratio<150%", "at most 100%");
    parse_bad("rps>5/s", "rps expects a plain number");
    parse_bad("failures<1%", "failures expects a plain number");
    parse_bad(":p95<1s", "empty entry name");
    parse_bad("<1s", "expected [ENTRY:]METRIC OP VALUE");
    parse_bad("p95<1s:abort=soon", "expected :abort or :abort=GRACE");
    parse_bad("p95<1s:abort=", "expected :abort or :abort=GRACE");
}

/* ---- judging ---- */

static struct hn_entry_view entry(const char *type, const char *name, uint64_t req,
                                  uint64_t fail, double p95, double avg)
{
    struct hn_entry_view e;
    memset(&e, 0, sizeof e);
    e.type = (char *)type;
    e.name = (char *)name;
    e.requests = req;
    e.failures = fail;
    for (int i = 0; i < HN_NPCT; i++)
        e.pct_ms[i] = p95 * (i + 5) / 10.0; /* rising; index 5 (p95) is exactly p95 */
    e.avg_ms = avg;
    e.min_ms = avg / 2;
    e.max_ms = avg * 4;
    e.total_rps = (double)req / 10.0;
    return e;
}

static void free_views(struct hn_snapshot *s)
{
    for (size_t i = 0; i < s->n_thresholds; i++) {
        free(s->thresholds[i].expr);
        free(s->thresholds[i].metric);
    }
    free(s->thresholds);
    s->thresholds = NULL;
    s->n_thresholds = 0;
}

/* Judges one expression; returns the verdict, *value the measure. */
static enum hn_verdict judge(struct hn_snapshot *s, const char *text, bool final, double *value,
                             int *measured)
{
    struct hn_threshold t = parse_ok(text);
    hn_thresholds_judge(&t, 1, s, final);
    assert_int_equal(s->n_thresholds, 1);
    assert_string_equal(s->thresholds[0].expr, t.expr);
    enum hn_verdict v = s->thresholds[0].verdict;
    if (value)
        *value = s->thresholds[0].value;
    if (measured)
        *measured = s->thresholds[0].measured;
    free_views(s);
    hn_threshold_free(&t);
    return v;
}

static void test_judge(void **state)
{
    (void)state;
    struct hn_entry_view es[3] = {
        entry("GET", "/cart", 200, 10, 250, 100),
        entry("POST", "/cart", 100, 0, 900, 400),
        entry("GET", "/", 700, 0, 20, 8),
    };
    struct hn_snapshot s;
    memset(&s, 0, sizeof s);
    s.entries = es;
    s.n_entries = 3;
    s.total = entry("", "Aggregated", 1000, 10, 300, 80);
    double v;
    int m;

    /* Aggregated, each metric, passing and failing. */
    assert_int_equal(judge(&s, "p95<301ms", false, &v, NULL), HN_VERDICT_PASS);
    assert_true(v == 300);
    assert_int_equal(judge(&s, "p95<300ms", false, NULL, NULL), HN_VERDICT_FAIL);
    assert_int_equal(judge(&s, "p95<=300ms", false, NULL, NULL), HN_VERDICT_PASS);
    assert_int_equal(judge(&s, "p95<0.3s", false, NULL, NULL), HN_VERDICT_FAIL);
    assert_int_equal(judge(&s, "avg<81", false, NULL, NULL), HN_VERDICT_PASS);
    assert_int_equal(judge(&s, "avg>80", false, NULL, NULL), HN_VERDICT_FAIL);
    assert_int_equal(judge(&s, "min>=40", false, NULL, NULL), HN_VERDICT_PASS);
    assert_int_equal(judge(&s, "max<320", false, NULL, NULL), HN_VERDICT_FAIL);
    assert_int_equal(judge(&s, "rps>99", false, &v, NULL), HN_VERDICT_PASS);
    assert_true(v == 100);
    assert_int_equal(judge(&s, "rps>100", false, NULL, NULL), HN_VERDICT_FAIL);
    assert_int_equal(judge(&s, "fail_ratio<1.1%", false, &v, NULL), HN_VERDICT_PASS);
    assert_true(fabs(v - 0.01) < 1e-12);
    assert_int_equal(judge(&s, "fail_ratio<1%", false, NULL, NULL), HN_VERDICT_FAIL);
    assert_int_equal(judge(&s, "failures==10", false, NULL, NULL), HN_VERDICT_PASS);
    assert_int_equal(judge(&s, "failures!=10", false, NULL, NULL), HN_VERDICT_FAIL);
    assert_int_equal(judge(&s, "requests>=1000", false, NULL, NULL), HN_VERDICT_PASS);
    assert_int_equal(judge(&s, "requests>1000", false, NULL, NULL), HN_VERDICT_FAIL);

    /* One entry by method and name. */
    assert_int_equal(judge(&s, "GET /cart:p95<260ms", false, &v, NULL), HN_VERDICT_PASS);
    assert_true(v == 250);
    assert_int_equal(judge(&s, "POST /cart:p95<260ms", false, &v, NULL), HN_VERDICT_FAIL);
    assert_true(v == 900);
    /* A name shared by two methods holds only if it holds for each; the
     * value shown is the one that broke it, or the nearest to breaking. */
    assert_int_equal(judge(&s, "/cart:p95<260ms", false, &v, NULL), HN_VERDICT_FAIL);
    assert_true(v == 900);
    assert_int_equal(judge(&s, "/cart:p95<1s", false, &v, NULL), HN_VERDICT_PASS);
    assert_true(v == 900);
    assert_int_equal(judge(&s, "/cart:failures==0", false, &v, NULL), HN_VERDICT_FAIL);
    assert_true(v == 10);

    /* A name with a space whose first word looks like a method. */
    struct hn_entry_view spaced[1] = {entry("GET", "API health", 5, 0, 10, 5)};
    struct hn_snapshot sp;
    memset(&sp, 0, sizeof sp);
    sp.entries = spaced;
    sp.n_entries = 1;
    assert_int_equal(judge(&sp, "API health:requests==5", false, NULL, NULL), HN_VERDICT_PASS);
    assert_int_equal(judge(&sp, "GET API health:requests==5", false, NULL, NULL),
                     HN_VERDICT_PASS);

    /* An entry that never ran: counts are 0, times have no data, and no
     * data fails once the run is over. */
    assert_int_equal(judge(&s, "/never:requests==0", false, NULL, NULL), HN_VERDICT_PASS);
    assert_int_equal(judge(&s, "/never:requests>0", true, NULL, NULL), HN_VERDICT_FAIL);
    assert_int_equal(judge(&s, "/never:p95<1s", false, NULL, &m), HN_VERDICT_NO_DATA);
    assert_int_equal(m, 0);
    assert_int_equal(judge(&s, "/never:p95<1s", true, NULL, &m), HN_VERDICT_FAIL);
    assert_int_equal(m, 0);

    /* Before the first request: no data for times and ratios. */
    struct hn_snapshot empty;
    memset(&empty, 0, sizeof empty);
    assert_int_equal(judge(&empty, "p95<1s", false, NULL, NULL), HN_VERDICT_NO_DATA);
    assert_int_equal(judge(&empty, "fail_ratio<1%", false, NULL, NULL), HN_VERDICT_NO_DATA);
    assert_int_equal(judge(&empty, "failures==0", false, NULL, NULL), HN_VERDICT_PASS);

    /* Several at once keep their order. */
    struct hn_threshold two[2] = {parse_ok("p95<1s:abort"), parse_ok("rps>1000")};
    hn_thresholds_judge(two, 2, &s, false);
    assert_int_equal(s.n_thresholds, 2);
    assert_int_equal(s.thresholds[0].verdict, HN_VERDICT_PASS);
    assert_true(s.thresholds[0].abort);
    assert_string_equal(s.thresholds[0].unit, "ms");
    assert_int_equal(s.thresholds[1].verdict, HN_VERDICT_FAIL);
    assert_string_equal(s.thresholds[1].unit, "rps");
    free_views(&s);
    struct hn_threshold *copy = hn_thresholds_copy(two, 2);
    assert_non_null(copy);
    assert_string_equal(copy[1].expr, "rps>1000");
    hn_thresholds_free(copy, 2);
    hn_threshold_free(&two[0]);
    hn_threshold_free(&two[1]);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_parse_metrics_ops_units),
        cmocka_unit_test(test_parse_entries_and_abort),
        cmocka_unit_test(test_parse_errors),
        cmocka_unit_test(test_judge),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
