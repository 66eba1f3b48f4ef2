#!/bin/sh
# Browser test of the self-contained HTML report: Debian's chromium (headless,
# driven by playwright-core from tests/web) opens report files from file://
# with every host name unresolvable and every request other than the file
# itself refused, and checks that the charts drew (coloured pixels on every
# canvas), the tables hold the run's numbers, hostile names stay text, dark
# mode and print work, and nothing was fetched.
#
# Documents:
#  - a real run: `$HORNET --demo --headless ... --html F --json J`, checked
#    against J and the console summary (skipped with a note while this
#    hornet does not write --html yet);
#  - report-sample.html (hostile names, failures, exceptions) and
#    report-1h.html (3,600 s of history, 200 endpoints), written by the unit
#    test binary test_report_html; the second's size and open time are printed.
# Screenshots go to $HN_BUILD_DIR/report-screenshots/.
# Skips (exit 0) only when node or chromium is not installed.
set -eu

src=${HN_SOURCE_DIR:-$(cd "$(dirname "$0")/../.." && pwd)}
build=${HN_BUILD_DIR:-}
web=$src/tests/web
chromium=${CHROMIUM:-/usr/bin/chromium}

if ! command -v node >/dev/null 2>&1; then
    echo "SKIP: node is not installed (packaging/deps.sh test installs nodejs and npm)"
    exit 0
fi
if [ ! -x "$chromium" ]; then
    echo "SKIP: $chromium is not installed (packaging/deps.sh test installs chromium)"
    exit 0
fi
if [ -z "$build" ] || [ ! -d "$build" ]; then
    echo "FAIL: HN_BUILD_DIR must name the build directory (got '$build')" >&2
    exit 1
fi
unit=$build/tests/test_report_html
if [ ! -x "$unit" ]; then
    echo "FAIL: $unit is missing (build the test_report_html target)" >&2
    exit 1
fi
if [ ! -f "$web/node_modules/playwright-core/package.json" ]; then
    # tests/web/setup_playwright.sh (the ctest fixture "playwright") installs it.
    echo "FAIL: playwright-core is missing: run tests/web/setup_playwright.sh" >&2
    exit 1
fi

out=$(mktemp -d /tmp/hn-report-html-XXXXXX)
trap 'rm -rf "$out"' EXIT INT TERM

# The synthetic documents.
if ! HN_BUILD_DIR=$out timeout 60 "$unit" >"$out/unit.log" 2>&1; then
    cat "$out/unit.log" >&2
    echo "FAIL: $unit failed" >&2
    exit 1
fi
grep '^# 1 h' "$out/unit.log" || true

# A real run, when this hornet writes --html.
real=0
if [ -n "${HORNET:-}" ] && [ -x "$HORNET" ]; then
    if timeout 60 "$HORNET" --demo --headless -u 20 -r 20 -t 4s --only-summary \
        --html "$out/run/report.html" --json "$out/run/result.json" >"$out/run.log" 2>&1; then
        real=1
        # A second run compared with the first (--baseline).
        if ! timeout 60 "$HORNET" --demo --headless -u 20 -r 20 -t 3s --only-summary \
            --baseline "$out/run/result.json" --html "$out/run/compared.html" >"$out/run2.log" 2>&1; then
            cat "$out/run2.log" >&2
            echo "FAIL: the headless run with --baseline failed" >&2
            exit 1
        fi
    elif grep -q -- '--html' "$out/run.log"; then
        echo "NOTE: this hornet does not write --html yet ($(grep -- '--html' "$out/run.log" | head -n 1));" \
             "checking the unit test's documents only"
    else
        cat "$out/run.log" >&2
        echo "FAIL: the headless run for the report failed" >&2
        exit 1
    fi
else
    echo "NOTE: HORNET is not set: checking the unit test's documents only"
fi

export CHROMIUM="$chromium" PW_CORE="$web/node_modules/playwright-core" OUT="$out" REAL="$real"
export SHOTS="$build/report-screenshots"
rc=0
timeout 170 node - <<'EOF' || rc=$?
'use strict';
const fs = require('fs');
const path = require('path');
const { chromium } = require(process.env.PW_CORE);

const OUT = process.env.OUT;
const SHOTS = process.env.SHOTS;
const t0 = Date.now();
let failed = 0;
let passed = 0;

function log(msg) { process.stdout.write('[' + ((Date.now() - t0) / 1000).toFixed(1) + 's] ' + msg + '\n'); }
function check(ok, what) {
    if (ok) { passed++; } else { failed++; log('FAIL: ' + what); }
    return ok;
}

const watchdog = setTimeout(() => { log('FAIL: the test took longer than 150 s'); process.exit(1); }, 150000);
watchdog.unref();

/* The data block, read straight from the file (not through the page). */
function dataOf(file) {
    const html = fs.readFileSync(file, 'utf8');
    const open = '<script id="data" type="application/json">';
    const a = html.indexOf(open);
    const b = html.indexOf('</script>', a);
    if (a < 0 || b < 0) throw new Error(file + ': no data block');
    return JSON.parse(html.slice(a + open.length, b));
}

/* A table cell's number ("1,234", "12.5", "N/A"). */
function cellNum(s) {
    if (s === 'N/A') return null;
    return Number(s.replace(/,/g, ''));
}

/* Within the rounding of the page's formatting (3 significant digits or 2 decimals). */
function near(shown, value) {
    if (value === null) return shown === null;
    return Math.abs(shown - value) <= Math.max(0.0051, Math.abs(value) * 0.0051);
}

async function openReport(browser, file, scheme, name) {
    const ctx = await browser.newContext({ viewport: { width: 1280, height: 900 }, colorScheme: scheme });
    const page = await ctx.newPage();
    page.setDefaultTimeout(15000);
    const url = 'file://' + file;
    const requests = [];
    const errors = [];
    const dialogs = [];
    await ctx.route('**/*', (route) => {
        const u = route.request().url();
        if (u === url) return route.continue();
        requests.push(u);
        return route.abort();
    });
    page.on('request', (r) => { if (r.url() !== url) requests.push(r.url()); });
    page.on('pageerror', (e) => errors.push(e.message));
    page.on('console', (m) => { if (m.type() === 'error') errors.push(m.text()); });
    page.on('dialog', (d) => { dialogs.push(d.message()); d.dismiss().catch(() => {}); });
    const start = Date.now();
    await page.goto(url, { waitUntil: 'load' });
    await page.waitForSelector('html[data-rendered]');
    const ms = Date.now() - start;
    const rendered = await page.getAttribute('html', 'data-rendered');
    check(rendered === 'true', name + ' (' + scheme + '): data-rendered is "' + rendered + '"');
    return { ctx, page, ms, requests, errors, dialogs };
}

/* Per canvas: how many pixels are drawn at all, and how many are strongly
 * coloured (the data lines and fills; axes and text are grey). */
async function canvasInk(page) {
    /* The charts shown: a capacity search's section is hidden without one. */
    return page.evaluate(() => Array.from(document.querySelectorAll('canvas'))
        .filter((c) => !c.closest('[hidden]')).map((c) => {
        const d = c.getContext('2d').getImageData(0, 0, c.width, c.height).data;
        let ink = 0, colour = 0;
        for (let i = 0; i < d.length; i += 4) {
            if (d[i + 3] < 32) continue;
            ink++;
            const mx = Math.max(d[i], d[i + 1], d[i + 2]), mn = Math.min(d[i], d[i + 1], d[i + 2]);
            if (mx - mn > 60) colour++;
        }
        return { id: c.id, w: c.width, h: c.height, ink, colour };
    }));
}

async function checkCharts(page, name) {
    const ink = await canvasInk(page);
    check(ink.length === 3, name + ': expected 3 canvases, found ' + ink.length);
    for (const c of ink) {
        check(c.w > 100 && c.h > 50, name + ': canvas ' + c.id + ' is ' + c.w + 'x' + c.h);
        /* A data line across the chart colours about 3 pixels per column;
         * the legend's swatches alone a few hundred. */
        check(c.colour > c.w, name + ': canvas ' + c.id + ' has only ' + c.colour +
            ' coloured pixels for ' + c.w + ' columns (no data drawn)');
    }
    return ink;
}

/* The statistics and percentile tables against the data (type, name, numbers). */
async function checkTables(page, d, name) {
    const rows = await page.evaluate(() => {
        const read = (sel) => Array.from(document.querySelectorAll(sel)).map((tr) =>
            Array.from(tr.cells).map((c) => c.textContent));
        return {
            stats: read('#stats-table tbody tr'), statsFoot: read('#stats-table tfoot tr'),
            pct: read('#pct-table tbody tr'), pctFoot: read('#pct-table tfoot tr'),
            failures: read('#failures-table tbody tr'), exceptions: read('#exceptions-table tbody tr'),
        };
    });
    check(rows.stats.length === d.entries.length,
        name + ': ' + rows.stats.length + ' statistics rows for ' + d.entries.length + ' entries');
    let bad = 0;
    const keys = ['requests', 'failures', 'median_ms', 'avg_ms', 'min_ms', 'max_ms', 'avg_bytes',
                  'total_rps', 'total_fail_s'];
    const cmpStats = (cells, e, label) => {
        if (label !== 'Aggregated' && (cells[0] !== e.type || cells[1] !== e.name)) {
            bad++;
            log('  ' + name + ': row ' + JSON.stringify(cells.slice(0, 2)) + ' for ' +
                JSON.stringify([e.type, e.name]));
        }
        keys.forEach((k, i) => {
            const shown = cellNum(cells[2 + i]);
            const tol = k === 'avg_bytes' ? 0.5 : (k === 'total_rps' || k === 'total_fail_s') ? 0.0051 : null;
            const ok = tol !== null ? Math.abs(shown - e[k]) <= Math.max(tol, e[k] * 0.0051) :
                k === 'requests' || k === 'failures' ? shown === e[k] : near(shown, e[k]);
            if (!ok) {
                bad++;
                if (bad < 10)
                    log('  ' + name + ': ' + label + ' ' + k + ' shows ' + cells[2 + i] + ', data ' + e[k]);
            }
        });
    };
    d.entries.forEach((e, i) => rows.stats[i] && cmpStats(rows.stats[i], e, e.name));
    check(rows.statsFoot.length === 1 && rows.statsFoot[0][1] === 'Aggregated', name + ': no Aggregated row');
    if (rows.statsFoot.length === 1) cmpStats(rows.statsFoot[0], d.total, 'Aggregated');
    const P = ['50', '66', '75', '80', '90', '95', '98', '99', '99.9', '99.99', '100'];
    const cmpPct = (cells, e, label) => {
        P.forEach((k, i) => {
            const v = e.percentiles[k];
            if (!near(cellNum(cells[2 + i]), v === undefined ? null : v)) {
                bad++;
                if (bad < 10)
                    log('  ' + name + ': ' + label + ' p' + k + ' shows ' + cells[2 + i] + ', data ' + v);
            }
        });
        if (cellNum(cells[13]) !== e.requests) bad++;
    };
    check(rows.pct.length === d.entries.length, name + ': percentile rows');
    d.entries.forEach((e, i) => rows.pct[i] && cmpPct(rows.pct[i], e, e.name));
    if (rows.pctFoot.length === 1) cmpPct(rows.pctFoot[0], d.total, 'Aggregated');
    check(rows.failures.length === d.errors.length, name + ': failure rows');
    d.errors.forEach((e, i) => {
        const c = rows.failures[i];
        if (!c || cellNum(c[0]) !== e.count || c[1] !== e.type || c[2] !== e.name ||
            c[3] !== e.message) bad++;
    });
    check(rows.exceptions.length === d.exceptions.length, name + ': exception rows');
    d.exceptions.forEach((x, i) => {
        const c = rows.exceptions[i];
        if (!c || cellNum(c[0]) !== x.count || c[1] !== x.user_type || c[2] !== x.task ||
            c[3] !== x.message) bad++;
    });
    check(bad === 0, name + ': ' + bad + ' table cells disagree with the data');
}

function finish(name, r) {
    check(r.requests.length === 0, name + ': fetched ' + JSON.stringify(r.requests.slice(0, 5)));
    check(r.errors.length === 0, name + ': page errors ' + JSON.stringify(r.errors.slice(0, 5)));
    check(r.dialogs.length === 0, name + ': dialogs opened ' + JSON.stringify(r.dialogs));
}

(async () => {
    fs.mkdirSync(SHOTS, { recursive: true });
    const browser = await chromium.launch({
        executablePath: process.env.CHROMIUM,
        headless: true,
        timeout: 30000,
        args: ['--no-sandbox', '--disable-gpu', '--disable-dev-shm-usage', '--no-first-run',
               '--disable-background-networking', '--host-resolver-rules=MAP * ~NOTFOUND'],
    });
    try {
        /* 1. The sample: hostile names, light then dark, print. */
        const sample = path.join(OUT, 'report-sample.html');
        const sd = dataOf(sample);
        let r = await openReport(browser, sample, 'light', 'sample');
        await checkCharts(r.page, 'sample');
        await checkTables(r.page, sd, 'sample');
        const inert = await r.page.evaluate(() => ({
            tags: document.querySelectorAll('main b, main i, main img, main script').length,
            scripts: document.scripts.length,
        }));
        check(inert.tags === 0, 'sample: hostile names made ' + inert.tags + ' elements');
        check(inert.scripts === 3, 'sample: ' + inert.scripts + ' script elements, expected 3');
        const hostile = sd.entries.map((e) => e.name).filter((n) => /[<>"'&]|[^\x00-\x7f]/.test(n));
        check(hostile.length >= 5, 'sample: the sample has no hostile names');
        const names = await r.page.evaluate(() =>
            Array.from(document.querySelectorAll('#stats-table tbody td.name')).map((td) => td.textContent));
        for (const h of hostile) check(names.includes(h), 'sample: name ' + JSON.stringify(h) + ' not shown as text');

        /* Sorting and filtering work on the same rows. */
        await r.page.click('#stats-table th[data-key="requests"]');
        const first = await r.page.textContent('#stats-table tbody tr:first-child td:nth-child(3)');
        const maxReq = Math.max(...sd.entries.map((e) => e.requests));
        check(cellNum(first) === maxReq, 'sample: sorting by # Requests put ' + first + ' first, not ' + maxReq);
        await r.page.fill('#filter', 'script');
        const nf = await r.page.$$eval('#stats-table tbody tr', (t) => t.length);
        const want = sd.entries.filter((e) => (e.type + ' ' + e.name).toLowerCase().includes('script')).length;
        check(nf === want && want > 0, 'sample: filter "script" left ' + nf + ' rows, expected ' + want);
        await r.page.fill('#filter', '');
        await r.page.screenshot({ path: path.join(SHOTS, 'sample-light.png'), fullPage: true });

        await r.page.emulateMedia({ media: 'print' });
        const printBtn = await r.page.isVisible('#print-btn');
        check(!printBtn, 'sample: the print button shows on paper');
        const pdf = await r.page.pdf({ format: 'A4' });
        check(pdf.length > 20000, 'sample: PDF of ' + pdf.length + ' bytes');
        await r.page.screenshot({ path: path.join(SHOTS, 'sample-print.png'), fullPage: true });
        finish('sample', r);
        await r.ctx.close();

        r = await openReport(browser, sample, 'dark', 'sample');
        const bg = await r.page.evaluate(() => getComputedStyle(document.body).backgroundColor);
        const m = /rgb\((\d+), (\d+), (\d+)\)/.exec(bg);
        check(m && Number(m[1]) + Number(m[2]) + Number(m[3]) < 150, 'sample: dark mode background is ' + bg);
        await checkCharts(r.page, 'sample (dark)');
        await r.page.screenshot({ path: path.join(SHOTS, 'sample-dark.png'), fullPage: true });
        finish('sample (dark)', r);
        await r.ctx.close();

        /* 2. One hour, 200 endpoints: size and open time. */
        const big = path.join(OUT, 'report-1h.html');
        const bd = dataOf(big);
        const size = fs.statSync(big).size;
        r = await openReport(browser, big, 'light', '1h');
        log('1 h / 200 endpoints: ' + (size / 1024).toFixed(0) + ' KiB, ' + bd.report.history_points +
            ' history points charted as ' + bd.history.length + ', opened and drawn in ' + r.ms + ' ms');
        check(size < 3 * 1024 * 1024, '1h: ' + size + ' bytes');
        check(r.ms < 5000, '1h: took ' + r.ms + ' ms to open');
        check(bd.entries.length === 200 && bd.history.length <= 1000, '1h: 200 entries, <= 1000 points');
        await checkCharts(r.page, '1h');
        await checkTables(r.page, bd, '1h');
        await r.page.screenshot({ path: path.join(SHOTS, '1h-light.png') });
        finish('1h', r);
        await r.ctx.close();

        /* 3. A real run: the report, the JSON result and the console agree. */
        if (process.env.REAL === '1') {
            const file = path.join(OUT, 'run', 'report.html');
            const d = dataOf(file);
            const j = JSON.parse(fs.readFileSync(path.join(OUT, 'run', 'result.json'), 'utf8'));
            check(JSON.stringify(d.total) === JSON.stringify(j.total), 'run: total differs from --json');
            check(JSON.stringify(d.entries) === JSON.stringify(j.entries), 'run: entries differ from --json');
            check(d.total.requests > 0, 'run: no requests');
            const console_ = fs.readFileSync(path.join(OUT, 'run.log'), 'utf8');
            const agg = /^\s+Aggregated\s+(\d+)\s+(\d+)\(/m.exec(console_);
            check(agg && Number(agg[1]) === d.total.requests && Number(agg[2]) === d.total.failures,
                'run: console summary ' + (agg ? agg[0].trim() : '(none)') + ' vs ' + d.total.requests);
            r = await openReport(browser, file, 'light', 'run');
            await checkCharts(r.page, 'run');
            await checkTables(r.page, d, 'run');
            await r.page.screenshot({ path: path.join(SHOTS, 'run-light.png'), fullPage: true });
            finish('run', r);
            await r.ctx.close();

            /* 4. --baseline: the comparison section lists every row of the data. */
            const cfile = path.join(OUT, 'run', 'compared.html');
            const cd = dataOf(cfile);
            check(cd.comparison && Array.isArray(cd.comparison.rows) && cd.comparison.rows.length >= 5,
                'compared: no comparison in the data');
            r = await openReport(browser, cfile, 'light', 'compared');
            const shown = await r.page.evaluate(() => {
                const sec = document.getElementById('comparison-section');
                return { visible: !sec.hidden, rows: sec.querySelectorAll('tbody tr').length,
                         hint: document.getElementById('comparison-hint').textContent };
            });
            check(shown.visible, 'compared: the comparison section is hidden');
            check(cd.comparison && shown.rows === cd.comparison.rows.length,
                'compared: ' + shown.rows + ' rows shown');
            check(cd.comparison && shown.hint.indexOf('Verdict: ' + cd.comparison.verdict) === 0,
                'compared: hint ' + shown.hint);
            await r.page.locator('#comparison-section').screenshot({ path: path.join(SHOTS, 'compared.png') });
            finish('compared', r);
            await r.ctx.close();
        }
    } finally {
        await browser.close();
    }
    log(passed + ' checks passed, ' + failed + ' failed; screenshots in ' + SHOTS);
    process.exit(failed ? 1 : 0);
})().catch((e) => { log('FAIL: ' + (e && e.stack || e)); process.exit(1); });
EOF
exit $rc
