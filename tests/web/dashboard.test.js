#!/usr/bin/env node
/*
 * Browser test of the hornet dashboard: Debian's chromium (headless) driven
 * by playwright-core, against the real binary with the built-in demo target.
 *
 * Env: HORNET (the binary; required unless HN_E2E_CMD is set), HN_BUILD_DIR
 * (screenshots go to $HN_BUILD_DIR/e2e-screenshots), CHROMIUM (default
 * /usr/bin/chromium), HN_E2E_CMD (a shell command that starts some other
 * server printing "hornet dashboard: http://HOST:PORT/", for development).
 *
 * Every wait is bounded; the whole run is killed after HN_E2E_TIMEOUT_S
 * (default 90) seconds.
 */
'use strict';

const { spawn } = require('child_process');
const fs = require('fs');
const path = require('path');
const { chromium } = require('playwright-core');

const TOTAL_TIMEOUT_S = Number(process.env.HN_E2E_TIMEOUT_S || 90);
const CHROMIUM = process.env.CHROMIUM || '/usr/bin/chromium';
const BUILD_DIR = process.env.HN_BUILD_DIR || fs.mkdtempSync('/tmp/hornet-e2e-');
const SHOTS = path.join(BUILD_DIR, 'e2e-screenshots');

/* Locust's exact CSV header rows (report/csv.c). */
const CSV_HEADERS = {
    '/stats.csv': 'Type,Name,Request Count,Failure Count,Median Response Time,Average Response Time,' +
        'Min Response Time,Max Response Time,Average Content Size,Requests/s,Failures/s,' +
        '50%,66%,75%,80%,90%,95%,98%,99%,99.9%,99.99%,100%',
    '/stats_history.csv': 'Timestamp,User Count,Type,Name,Requests/s,Failures/s,' +
        '50%,66%,75%,80%,90%,95%,98%,99%,99.9%,99.99%,100%,' +
        'Total Request Count,Total Failure Count,Total Median Response Time,' +
        'Total Average Response Time,Total Min Response Time,Total Max Response Time,' +
        'Total Average Content Size',
    '/failures.csv': 'Method,Name,Error,Occurrences,First Seen,Last Seen',
    '/exceptions.csv': 'Count,Message,Traceback,Nodes',
};

const h = require('./harness')({ shots: SHOTS });
const { log, assert, shot, step, until, text, watchPage, countPushes, pushes, pageErrors } = h;
let server = null;
let serverLog = '';
let browser = null;


function killServer() {
    if (server && server.exitCode === null && server.signalCode === null) {
        try { server.kill('SIGTERM'); } catch (e) { /* already gone */ }
        const s = server;
        setTimeout(() => { try { s.kill('SIGKILL'); } catch (e) { /* gone */ } }, 3000).unref();
    }
}

/* Ends the server with SIGTERM as a user would, and checks that it exits by
 * itself, without a crash or a sanitizer report (ASan builds run this too). */
function stopServer() {
    return new Promise((resolve) => {
        if (!server || server.exitCode !== null || server.signalCode !== null) return resolve(null);
        const s = server;
        let killed = false;
        const timer = setTimeout(() => { killed = true; s.kill('SIGKILL'); }, 15000);
        s.removeAllListeners('exit');
        s.on('exit', (code, sig) => {
            clearTimeout(timer);
            let problem = null;
            if (killed) problem = 'the server did not exit within 15 s of SIGTERM';
            else if (sig && sig !== 'SIGTERM') problem = 'the server died of ' + sig;
            else if (/ERROR: (Address|Leak|Thread|Undefined)Sanitizer|runtime error:/.test(serverLog)) {
                problem = 'sanitizer report in the server output';
            }
            log('server exited (code ' + code + ', signal ' + sig + ')');
            resolve(problem);
        });
        s.kill('SIGTERM');
    });
}

const watchdog = setTimeout(() => {
    log('FAIL: the whole test took longer than ' + TOTAL_TIMEOUT_S + ' s');
    killServer();
    process.exit(1);
}, TOTAL_TIMEOUT_S * 1000);
watchdog.unref();

/* Starts the server and resolves with the dashboard URL it prints. */
function startServer() {
    return new Promise((resolve, reject) => {
        if (process.env.HN_E2E_CMD) {
            server = spawn('/bin/sh', ['-c', 'exec ' + process.env.HN_E2E_CMD], { stdio: ['ignore', 'pipe', 'pipe'] });
        } else {
            const bin = process.env.HORNET;
            if (!bin || !fs.existsSync(bin)) return reject(new Error('HORNET is not set to the hornet binary'));
            const args = ['--demo', '--web-port', '0'];
            if (process.env.HN_E2E_WEB_ROOT) args.push('--web-root', process.env.HN_E2E_WEB_ROOT);
            server = spawn(bin, args, { stdio: ['ignore', 'pipe', 'pipe'] });
        }
        let out = '';
        const timer = setTimeout(() => reject(new Error('the server printed no dashboard URL within 60 s; output:\n' +
            out + serverLog)), 60000);
        server.stdout.on('data', (d) => {
            out += d;
            const m = /hornet dashboard: (http:\/\/\S+)/.exec(out);
            if (m) {
                clearTimeout(timer);
                resolve(m[1].endsWith('/') ? m[1] : m[1] + '/');
            }
        });
        server.stderr.on('data', (d) => {
            serverLog += d;
            /* Keep the head (a sanitizer report starts there) and the tail. */
            if (serverLog.length > 64000) serverLog = serverLog.slice(0, 16000) + '\n[...]\n' + serverLog.slice(-32000);
        });
        server.on('exit', (code, sig) => {
            clearTimeout(timer);
            reject(new Error('the server exited early (code ' + code + ', signal ' + sig + '); stderr:\n' + serverLog));
        });
    });
}


/* Runs one step; a failure is recorded (with a screenshot) and ends the run,
 * because later steps depend on the state earlier ones set up. */



function numberOf(s) { return Number(String(s).replace(/[^0-9.\-]/g, '')); }

/* Number of points in each dataset of a Chart.js chart on a canvas. */
function chartPoints(page, id) {
    return page.evaluate((cid) => {
        const c = window.Chart && Chart.getChart(cid);
        return c ? c.data.datasets.map((d) => d.data.length) : null;
    }, id);
}
function chartFirstX(page, id) {
    return page.evaluate((cid) => {
        const c = window.Chart && Chart.getChart(cid);
        return c && c.data.datasets[0].data.length ? c.data.datasets[0].data[0].x : null;
    }, id);
}


async function main() {
    fs.mkdirSync(SHOTS, { recursive: true });
    for (const f of fs.readdirSync(SHOTS)) if (f.endsWith('.png')) fs.unlinkSync(path.join(SHOTS, f));

    const url = await startServer();
    log('server at ' + url + '; screenshots in ' + SHOTS);
    const origin = new URL(url).origin;

    browser = await chromium.launch({
        executablePath: CHROMIUM,
        headless: true,
        timeout: 20000,
        args: ['--no-sandbox', '--disable-gpu', '--disable-dev-shm-usage', '--no-first-run',
               '--disable-background-networking'],
    });
    const ctx = await browser.newContext({ viewport: { width: 1280, height: 800 }, acceptDownloads: true,
                                           colorScheme: 'light' });
    const page = await ctx.newPage();
    page.setDefaultTimeout(10000);
    watchPage(page, 'page1');
    countPushes(page);

    await step('open the page', page, async () => {
        await page.goto(url, { waitUntil: 'load' });
        await until(page, () => document.getElementById('ws-status').textContent === 'live', null, 10000,
            '#ws-status "live"');
        const st = await text(page, '#state');
        assert(st === 'ready', 'expected state "ready" at start, got "' + st + '"');
        assert(await page.isVisible('#start-form'), 'the start form is not shown in the ready state');
        assert(!(await page.isVisible('#btn-stop')), '#btn-stop is shown in the ready state');
        const hasChart = await page.evaluate(() => typeof Chart === 'function' && Chart.version);
        assert(hasChart, 'Chart.js did not load from /chart.min.js');
        assert(await page.$('canvas#chart-rps') && await page.$('canvas#chart-rt') && await page.$('canvas#chart-users'),
            'chart canvases missing');
        /* Not distributed: no worker count, no Workers tab (tests/web/distributed.test.js has those). */
        assert(!(await page.isVisible('#metric-workers')) && !(await page.isVisible('[data-tab="workers"]')),
            'the worker count or the Workers tab is shown without --master');
    });

    await step('bad values show the API error', page, async () => {
        await page.fill('#f-users', '-1');
        await page.fill('#f-rate', '20');
        await page.click('#btn-start');
        await until(page, () => document.getElementById('start-error').textContent.length > 0, null, 10000,
            'an error next to the start form for users -1');
        const e1 = await text(page, '#start-error');
        assert(/users/i.test(e1), 'the error for users -1 does not name the field: "' + e1 + '"');
        const host = await page.inputValue('#f-host');
        await page.fill('#f-users', '20');
        await page.fill('#f-host', 'ftp:/x');
        await page.click('#btn-start');
        await until(page, (prev) => {
            const t = document.getElementById('start-error').textContent;
            return t.length > 0 && t !== prev;
        }, e1, 10000, 'an error for host ftp:/x');
        const e2 = await text(page, '#start-error');
        assert(/host/i.test(e2), 'the error for host "ftp:/x" does not name the field: "' + e2 + '"');
        assert(await text(page, '#state') === 'ready', 'a rejected start changed the state');
        await page.fill('#f-host', host);
        log('     errors shown: "' + e1 + '" / "' + e2 + '"');
    });

    await step('a bad threshold shows the API error', page, async () => {
        await page.fill('#f-users', '20');
        await page.fill('#f-thresholds', 'p95<5s\np97<1s');
        const before = await text(page, '#start-error');
        await page.click('#btn-start');
        await until(page, (prev) => {
            const t = document.getElementById('start-error').textContent;
            return t.length > 0 && t !== prev;
        }, before, 10000, 'an error for threshold p97<1s');
        const e = await text(page, '#start-error');
        assert(/thresholds\[1\]/.test(e) && /p97/.test(e), 'the error does not name the threshold: "' + e + '"');
        assert(await text(page, '#state') === 'ready', 'a rejected start changed the state');
    });

    await step('start a swarm from the form', page, async () => {
        await page.fill('#f-users', '20');
        await page.fill('#f-rate', '20');
        await page.fill('#f-runtime', '');
        /* One threshold holds, one cannot (the demo target is not that fast). */
        await page.fill('#f-thresholds', 'p95<5s\nrps>1000000');
        await page.click('#btn-start');
        await until(page, () => /spawning|running/.test(document.getElementById('state').textContent), null, 10000,
            'state spawning/running');
        assert(await text(page, '#start-error') === '', 'start error shown after a good start');
        assert(!(await page.isVisible('#start-form')), 'the start form is still shown while running');
        await until(page, () => document.getElementById('users').textContent === '20', null, 10000, '20 users');
        /* The stats table fills from WebSocket pushes: entries, then Aggregated last. */
        await until(page, () => {
            const rows = document.querySelectorAll('#stats-table tbody tr');
            if (rows.length < 2) return false;
            const last = rows[rows.length - 1];
            return last.classList.contains('total') && last.cells[1].textContent === 'Aggregated' &&
                Number(last.cells[2].textContent.replace(/,/g, '')) > 0;
        }, null, 10000, 'stats rows with requests and the Aggregated row last');
        await until(page, () => Number(document.getElementById('rps').textContent.replace(/,/g, '')) > 0, null, 10000,
            'RPS > 0 in the header');
    });

    await step('sort the statistics table', page, async () => {
        await page.click('#stats-table th[data-key="requests"]');
        const ok = await page.evaluate(() => {
            const rows = [...document.querySelectorAll('#stats-table tbody tr')];
            const vals = rows.slice(0, -1).map((r) => Number(r.cells[2].textContent.replace(/,/g, '')));
            const sorted = vals.every((v, i) => i === 0 || vals[i - 1] >= v);
            return sorted && rows[rows.length - 1].cells[1].textContent === 'Aggregated' &&
                document.querySelector('#stats-table th[data-key="requests"]').classList.contains('sorted');
        });
        assert(ok, 'rows are not sorted by # Requests (descending, Aggregated last)');
        /* The order survives the next push (two, to be sure one came after the click). */
        const seq = await page.evaluate(() => document.querySelector('#stats-table tbody').innerHTML.length);
        await pushes(page, 2, 10000, 'the next pushes after sorting');
        const still = await page.evaluate(() => {
            const rows = [...document.querySelectorAll('#stats-table tbody tr')];
            const vals = rows.slice(0, -1).map((r) => Number(r.cells[2].textContent.replace(/,/g, '')));
            return vals.every((v, i) => i === 0 || vals[i - 1] >= v);
        });
        assert(still && seq > 0, 'the sort order was lost on the next update');
    });

    await step('charts draw points from the WebSocket', page, async () => {
        await page.click('[data-tab="charts"]');
        await until(page, () => {
            const ids = ['chart-rps', 'chart-rt', 'chart-users'];
            return ids.every((id) => {
                const c = Chart.getChart(id);
                return c && c.data.datasets.every((d) => d.data.length >= 3) && c.chartArea && c.chartArea.width > 100;
            });
        }, null, 10000, 'at least 3 points in every chart series');
        const before = await chartPoints(page, 'chart-rps');
        await until(page, (n) => Chart.getChart('chart-rps').data.datasets[0].data.length > n, before[0], 10000,
            'a new chart point from the next push');
        const lastUsers = await page.evaluate(() => {
            const d = Chart.getChart('chart-users').data.datasets[0].data;
            return d[d.length - 1].y;
        });
        assert(lastUsers === 20, 'the users chart ends at ' + lastUsers + ', expected 20');
    });

    await step('current ratio tab', page, async () => {
        await page.click('[data-tab="ratio"]');
        await until(page, () => document.querySelectorAll('#ratio .ratio-card').length > 0, null, 10000,
            'a card per user type');
        const txt = await text(page, '#ratio');
        assert(/users/.test(txt) && /%/.test(txt), 'the ratio tab shows no users/percentages: ' + txt.slice(0, 200));
    });

    await step('failures tab', page, async () => {
        await page.click('[data-tab="failures"]');
        await until(page, () => document.querySelectorAll('#failures-table tbody tr').length > 0, null, 10000,
            'the failures table');
    });

    await step('thresholds tab: live verdicts with the measured values', page, async () => {
        await page.click('[data-tab="thresholds"]');
        await until(page, () => {
            const rows = document.querySelectorAll('#thresholds-table tbody tr');
            return rows.length === 2 && rows[0].getAttribute('data-verdict') === 'pass' &&
                rows[1].getAttribute('data-verdict') === 'fail';
        }, null, 30000, 'p95<5s passing and rps>1000000 failing');
        const cells = await page.$$eval('#thresholds-table tbody tr', (rows) =>
            rows.map((r) => Array.from(r.cells).map((c) => c.textContent.trim())));
        assert(cells[0][1] === 'p95<5s' && /^\d+(\.\d+)? ms$/.test(cells[0][2]), 'row 1: ' + cells[0].join(' | '));
        assert(cells[1][1] === 'rps>1000000' && /^\d+\.\d\d req\/s$/.test(cells[1][2]), 'row 2: ' + cells[1].join(' | '));
        assert(await text(page, '#badge-thresholds') === '1', 'the tab badge does not count 1 failing threshold');
        log('     thresholds: ' + cells.map((c) => c.slice(0, 3).join(' ')).join('; '));
    });

    await page.click('[data-tab="charts"]');
    await step('charts at 1920 px wide', page, async () => {
        const w0 = await page.evaluate(() => Chart.getChart('chart-rps').width);
        await page.setViewportSize({ width: 1920, height: 1080 });
        /* The screenshot shows the charts redrawn at the new width. */
        await until(page, (w) => Chart.getChart('chart-rps').width > w, w0, 10000, 'the charts to widen');
    });
    await page.setViewportSize({ width: 1280, height: 800 });

    await step('edit rejects bad values', page, async () => {
        await page.click('[data-tab="stats"]');
        await page.click('#btn-edit');
        assert(await page.isVisible('#edit-form'), '#edit-form did not open');
        await page.fill('#e-users', '-1');
        await page.click('#btn-resize');
        await until(page, () => document.getElementById('edit-error').textContent.length > 0, null, 10000,
            'an error next to the edit form');
        const e = await text(page, '#edit-error');
        assert(/users/i.test(e), 'the resize error does not name the field: "' + e + '"');
    });

    await step('resize via Edit', page, async () => {
        await page.fill('#e-users', '30');
        await page.fill('#e-rate', '30');
        await page.click('#btn-resize');
        await until(page, () => document.getElementById('edit-form').hidden, null, 10000, 'the edit form to close');
        await until(page, () => document.getElementById('users').textContent === '30', null, 10000, '30 users');
        assert(await text(page, '#edit-error') === '', 'edit error shown after a good resize');
    });

    const ctx2 = await browser.newContext({ viewport: { width: 1280, height: 800 }, colorScheme: 'dark' });
    const page2 = await ctx2.newPage();
    page2.setDefaultTimeout(10000);
    watchPage(page2, 'page2');

    await step('a second browser sees the same state', page2, async () => {
        await page2.goto(url, { waitUntil: 'load' });
        await until(page2, () => document.getElementById('ws-status').textContent === 'live', null, 10000,
            'page2 #ws-status "live"');
        await until(page2, () => document.getElementById('users').textContent === '30', null, 10000, 'page2: 30 users');
        for (const sel of ['#state', '#users', '#host']) {
            const a = await text(page, sel);
            const b = await text(page2, sel);
            assert(a === b, sel + ' differs: "' + a + '" vs "' + b + '"');
        }
    });

    await step('pause: both browsers see it and RPS drops to 0', page, async () => {
        const clicked = Date.now();
        await page.click('#btn-pause');
        await until(page, () => document.getElementById('state').textContent === 'paused', null, 10000, 'state paused');
        const lag = Date.now() - clicked;
        await until(page2, () => document.getElementById('state').textContent === 'paused', null, 10000,
            'page2: state paused');
        assert(await page.isVisible('#btn-resume') && !(await page.isVisible('#btn-pause')),
            'Resume/Pause buttons not swapped');
        /* "current" RPS is a sliding window on the server: allow it to drain. */
        await until(page, () => document.getElementById('rps').textContent === '0.0', null, 15000, 'RPS 0.0');
        log('     paused shown ' + lag + ' ms after the click; RPS reached 0 after ' + (Date.now() - clicked) + ' ms');
    });

    await step('resume', page, async () => {
        await page.click('#btn-resume');
        await until(page, () => /spawning|running/.test(document.getElementById('state').textContent), null, 10000,
            'state spawning/running after resume');
        await until(page, () => Number(document.getElementById('rps').textContent.replace(/,/g, '')) > 0, null, 8000,
            'RPS > 0 after resume');
    });

    await step('second browser closes mid-stream', page, async () => {
        await ctx2.close();
        /* Page 1 keeps getting pushes after page 2 went away. */
        await pushes(page, 2, 10000, 'pushes to page1 after page2 closed');
        assert(await text(page, '#ws-status') === 'live', 'page1 lost its live connection when page2 closed');
    });

    await step('reload mid-run keeps the chart history', page, async () => {
        await page.click('[data-tab="charts"]');
        const before = await chartPoints(page, 'chart-rps');
        const firstX = await chartFirstX(page, 'chart-rps');
        await page.reload({ waitUntil: 'load' });
        await until(page, () => document.getElementById('ws-status').textContent === 'live', null, 10000,
            '#ws-status "live" after reload');
        assert(await page.isVisible('#chart-rps'), 'the charts tab is not kept across the reload (?tab=charts)');
        await until(page, (n) => ['chart-rps', 'chart-rt', 'chart-users'].every((id) => {
            const c = Chart.getChart(id);
            return c && c.data.datasets.every((d) => d.data.length >= n);
        }), before[0] - 2, 10000, 'restored history of at least ' + (before[0] - 2) + ' points');
        const after = await chartPoints(page, 'chart-rps');
        const firstAfter = await chartFirstX(page, 'chart-rps');
        assert(Math.abs(firstAfter - firstX) < 1500, 'the restored history starts at ' + firstAfter +
            ', before the reload it started at ' + firstX);
        log('     chart points before reload ' + before[0] + ', after ' + after[0]);
    });

    await step('downloads', page, async () => {
        await page.click('[data-tab="downloads"]');
        for (const href of Object.keys(CSV_HEADERS)) {
            const [dl] = await Promise.all([
                page.waitForEvent('download', { timeout: 8000 }),
                page.click('#downloads a[href="' + href + '"]'),
            ]);
            const file = await dl.path();
            const body = fs.readFileSync(file, 'utf8');
            const header = body.split(/\r?\n/)[0];
            assert(header === CSV_HEADERS[href], href + ': header row is\n  ' + header + '\nexpected\n  ' +
                CSV_HEADERS[href]);
            assert(/\.csv$/.test(dl.suggestedFilename()), href + ': suggested file name ' + dl.suggestedFilename());
            if (href === '/stats.csv') assert(body.trim().split(/\r?\n/).length >= 2 && /\n"?"?,"?Aggregated/.test(body),
                '/stats.csv has no entry rows or no Aggregated row');
        }
        const [dl] = await Promise.all([
            page.waitForEvent('download', { timeout: 8000 }),
            page.click('#downloads a[href="/report.json"]'),
        ]);
        const doc = JSON.parse(fs.readFileSync(await dl.path(), 'utf8'));
        assert(doc.format === 'hornet-result' && Array.isArray(doc.history) && doc.history.length > 0,
            '/report.json is not a hornet-result with history');
        const status = await page.evaluate(() => fetch('/report.html').then((r) => r.status));
        const li = await text(page, '#dl-report-html');
        if (status === 404) assert(/coming soon/.test(li), 'report.html 404s but the link is not marked "(coming soon)"');
        else assert(!/coming soon/.test(li), 'report.html answers ' + status + ' but is marked "(coming soon)"');
        /* The integrations note: the scrape link answers in Prometheus' format, and no output pushes. */
        const metrics = await page.evaluate(() => fetch('/metrics').then((r) =>
            r.text().then((t) => [r.headers.get('content-type'), t])));
        assert(/^text\/plain; version=0\.0\.4/.test(metrics[0]) && /^hornet_requests_total\{/m.test(metrics[1]),
            '/metrics is not the Prometheus text format: ' + metrics[0]);
        const pushing = await text(page, '#integrations-pushing');
        assert(/^nothing \(--influxdb/.test(pushing), 'the integrations note reads "' + pushing + '"');
    });

    await step('logs tab', page, async () => {
        await page.click('[data-tab="logs"]');
        await until(page, () => document.getElementById('logs').textContent.length > 0 ||
            document.getElementById('logs-error').textContent.length > 0, null, 10000, 'log lines');
        assert(await text(page, '#logs-error') === '', 'GET /api/logs failed: ' + await text(page, '#logs-error'));
    });

    await step('stop', page, async () => {
        await page.click('[data-tab="stats"]');
        await page.click('#btn-stop');
        await until(page, () => document.getElementById('state').textContent === 'stopped', null, 15000, 'state stopped');
        assert(await page.isVisible('#btn-new'), '#btn-new not shown when stopped');
        assert(await page.isVisible('#start-form'), 'the start form is not shown when stopped');
        assert(await page.isVisible('#run-banner'), 'no end-of-run banner');
        assert(await text(page, '#control-error') === '', 'control error after stop: ' + await text(page, '#control-error'));
    });

    await step('illegal command shows its error', page, async () => {
        /* Pause is not offered when stopped; call it as a stale page would, through the UI's path. */
        await page.evaluate(() => {
            const b = document.getElementById('btn-pause');
            b.hidden = false;
            b.click();
        });
        await until(page, () => document.getElementById('control-error').textContent.length > 0, null, 10000,
            'the 409 reason next to the controls');
        const e = await text(page, '#control-error');
        assert(/pause|stopped/i.test(e), 'unexpected error text for pause when stopped: "' + e + '"');
        log('     409 shown: "' + e + '"');
    });

    await step('reset stats', page, async () => {
        await page.click('#btn-reset');
        await until(page, () => {
            const rows = document.querySelectorAll('#stats-table tbody tr');
            const last = rows[rows.length - 1];
            return last && last.cells[1].textContent === 'Aggregated' && last.cells[2].textContent === '0';
        }, null, 10000, 'Aggregated requests back to 0');
        assert(await text(page, '#control-error') === '', 'control error after reset: ' + await text(page, '#control-error'));
    });

    await step('dark theme', page, async () => {
        await page.click('#theme-toggle');
        const theme = await page.evaluate(() => document.documentElement.getAttribute('data-theme'));
        assert(theme === 'dark', 'theme toggle did not switch to dark');
        const bg = await page.evaluate(() => getComputedStyle(document.body).backgroundColor);
        assert(bg !== 'rgb(244, 246, 249)', 'the background did not change in dark mode');
        await page.click('[data-tab="charts"]');
        await page.waitForTimeout(300);
    });

    await step('new test', page, async () => {
        await page.click('[data-tab="stats"]');
        await page.click('#btn-new');
        await until(page, () => document.activeElement && document.activeElement.id === 'f-users', null, 10000,
            'the users field focused');
        assert(await text(page, '#control-error') === '', 'control error after New test');
    });

    await step('a load profile from the form drives the run, Edit says why it is off', page, async () => {
        await page.check('#f-profile-stages');
        assert(await page.isVisible('#f-stages') && !(await page.isVisible('#f-users')),
            'choosing Stages does not swap the users/ramp fields for the stages box');
        await page.fill('#f-stages', '2s:6\n2s:6, 1s:0');
        await page.fill('#f-thresholds', '');
        await page.click('#btn-start');
        await until(page, () => /load profile: stage \d of 3/.test(document.getElementById('run-info').textContent),
            null, 15000, 'the header naming the stage of 3');
        assert(await page.isDisabled('#btn-edit'), 'Edit is enabled while a profile drives the run');
        const why = await page.getAttribute('#btn-edit', 'title');
        assert(/load profile/.test(why), 'Edit does not say why it is off: ' + why);
        await h.shot(page, 'stages-running');
        await until(page, () => /load profile complete/.test(document.getElementById('run-banner').textContent),
            null, 30000, 'the run ending with its last stage');
    });

    await step('an arrival rate from the form: the open model in the header', page, async () => {
        await page.check('#f-profile-arrival');
        assert(await page.isVisible('#f-arrival') && await page.isVisible('#f-users') &&
            !(await page.isVisible('#f-rate')), 'the Arrival rate choice does not show rate + pool size');
        assert(/pool/.test(await text(page, '#f-users-label')), 'the users field is not labelled as the pool');
        await page.fill('#f-arrival', '20');
        await page.fill('#f-users', '10');
        await page.click('#btn-start');
        await until(page, () => /open model: 20\.00\/s asked, [\d.]+\/s achieved, \d+ dropped/.test(
            document.getElementById('run-info').textContent), null, 15000, 'the header with the open model');
        assert(await page.isDisabled('#btn-edit'), 'Edit is enabled while an arrival rate drives the run');
        await h.shot(page, 'open-model-running');
        await page.click('#btn-stop');
        await until(page, () => document.getElementById('state').textContent === 'stopped', null, 30000, 'stopped');
    });

    assert(pageErrors.length === 0, 'errors in the page:\n  ' + pageErrors.join('\n  '));
}

main().then(async () => {
    log('all steps passed');
}, async (err) => {
    if (!h.failed) {
        h.failed++;
        log('FAIL: ' + (err && err.stack ? err.stack : err));
    }
    if (serverLog) log('server stderr (tail):\n' + serverLog.slice(-3000));
    if (pageErrors.length) log('page errors:\n  ' + pageErrors.join('\n  '));
}).finally(async () => {
    try { if (browser) await browser.close(); } catch (e) { /* already closed */ }
    const problem = await stopServer();
    if (problem) {
        h.failed++;
        log('FAIL: ' + problem + '\nserver stderr:\n' + serverLog.slice(-6000));
    }
    process.stdout.write(h.passed + ' passed, ' + h.failed + ' failed\n');
    process.exit(h.failed ? 1 : 0);
});
