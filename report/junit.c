/*
 * junit.c: the run's verdict as JUnit XML, for CI servers (Jenkins' junit
 * step, GitLab's junit report): each threshold is a testcase, and so is
 * each endpoint that had failures.
 */
#include "report.h"

#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "format.h"
#include "textutil.h"

bool hn_thresholds_passed(const struct hn_snapshot *s)
{
    for (size_t i = 0; s != NULL && s->thresholds != NULL && i < s->n_thresholds; i++)
        if (s->thresholds[i].verdict != HN_VERDICT_PASS)
            return false;
    return true;
}

/* XML text or attribute value: escaped, valid UTF-8, and without the
 * control characters XML 1.0 cannot carry even escaped. */
static void xml_text(FILE *f, const char *s)
{
    char *clean = hn_utf8_clean(s ? s : "");
    for (const unsigned char *p = (const unsigned char *)(clean ? clean : ""); *p; p++) {
        /* U+FFFE and U+FFFF are valid UTF-8 but not XML 1.0 characters. */
        if (p[0] == 0xef && p[1] == 0xbf && (p[2] == 0xbe || p[2] == 0xbf)) {
            fputs("\xef\xbf\xbd", f);
            p += 2;
            continue;
        }
        switch (*p) {
        case '&':
            fputs("&amp;", f);
            break;
        case '<':
            fputs("&lt;", f);
            break;
        case '>':
            fputs("&gt;", f);
            break;
        case '"':
            fputs("&quot;", f);
            break;
        case '\'':
            fputs("&apos;", f);
            break;
        default:
            if (*p < 0x20 && *p != '\t' && *p != '\n' && *p != '\r')
                fputs("\xef\xbf\xbd", f); /* U+FFFD */
            else
                fputc(*p, f);
        }
    }
    free(clean);
}

static size_t failing_entries(const struct hn_snapshot *s)
{
    size_t n = 0;
    for (size_t i = 0; i < hn_entry_count(s); i++)
        n += s->entries[i].failures > 0;
    return n;
}

static void threshold_case(FILE *f, const struct hn_threshold_view *t)
{
    char value[64];
    hn_fmt_threshold_value(t, value, sizeof value);
    fputs("    <testcase classname=\"hornet.thresholds\" name=\"", f);
    xml_text(f, t->expr);
    fputs("\" time=\"0\"", f);
    if (t->verdict == HN_VERDICT_PASS) {
        fputs("/>\n", f);
        return;
    }
    fputs(">\n      <failure type=\"threshold\" message=\"", f);
    if (t->measured) {
        xml_text(f, t->metric);
        fputs(" = ", f);
        xml_text(f, value);
        fputs("\">", f);
        xml_text(f, t->expr);
        fputs(" broken: ", f);
        xml_text(f, t->metric);
        fputs(" was ", f);
        xml_text(f, value);
    } else {
        fputs("no data\">", f);
        xml_text(f, t->expr);
        fputs(" could not be judged: no request matched it", f);
    }
    fputs("</failure>\n    </testcase>\n", f);
}

static void entry_case(FILE *f, const struct hn_snapshot *s, const struct hn_entry_view *e)
{
    fputs("    <testcase classname=\"hornet.requests\" name=\"", f);
    xml_text(f, e->type);
    fputc(' ', f);
    xml_text(f, e->name);
    fprintf(f, "\" time=\"0\">\n      <failure type=\"requests\" message=\"%" PRIu64 " of %" PRIu64
               " requests failed\">",
            e->failures, e->requests);
    /* The failure messages of this entry, most frequent first. */
    for (size_t i = 0; s->errors != NULL && i < s->n_errors; i++) {
        const struct hn_error_view *x = &s->errors[i];
        if (strcmp(x->type ? x->type : "", e->type ? e->type : "") != 0 ||
            strcmp(x->name ? x->name : "", e->name ? e->name : "") != 0)
            continue;
        fprintf(f, "%" PRIu64 " x ", x->count);
        xml_text(f, x->message);
        fputc('\n', f);
    }
    fputs("</failure>\n    </testcase>\n", f);
}

int hn_junit_fwrite(FILE *f, const struct hn_snapshot *s)
{
    locale_t old = hn_enter_c_locale();
    size_t n_thr = s->thresholds != NULL ? s->n_thresholds : 0;
    size_t failed_thr = 0;
    for (size_t i = 0; i < n_thr; i++)
        failed_thr += s->thresholds[i].verdict != HN_VERDICT_PASS;
    size_t failed_entries = failing_entries(s);
    size_t tests = n_thr + failed_entries, failures = failed_thr + failed_entries;
    char when[32];
    hn_fmt_iso_utc(when, sizeof when, s->start_time);
    double secs = hn_finite_or_zero(s->active_s);

    fputs("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n", f);
    fprintf(f, "<testsuites name=\"hornet\" tests=\"%zu\" failures=\"%zu\" errors=\"0\" "
               "time=\"%.3f\">\n", tests, failures, secs);
    fprintf(f, "  <testsuite name=\"hornet\" tests=\"%zu\" failures=\"%zu\" errors=\"0\" "
               "skipped=\"0\" time=\"%.3f\"", tests, failures, secs);
    if (when[0] != '\0') {
        when[strlen(when) - 1] = '\0'; /* JUnit's timestamp has no zone suffix */
        fprintf(f, " timestamp=\"%s\"", when);
    }
    fputs(">\n", f);
    for (size_t i = 0; i < n_thr; i++)
        threshold_case(f, &s->thresholds[i]);
    for (size_t i = 0; i < hn_entry_count(s); i++)
        if (s->entries[i].failures > 0)
            entry_case(f, s, &s->entries[i]);
    fputs("  </testsuite>\n</testsuites>\n", f);
    hn_leave_c_locale(old);
    return ferror(f) ? -1 : 0;
}

int hn_junit_write(const char *path, const struct hn_snapshot *s, char *err, size_t err_len)
{
    if (hn_make_parent_dirs(path, err, err_len) != 0)
        return -1;
    return hn_write_atomic(path, hn_junit_fwrite, s, err, err_len);
}
