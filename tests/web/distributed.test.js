#!/usr/bin/env node
/*
 * Browser test of the dashboard in distributed mode: Debian's chromium
 * (headless) driven by playwright-core against real processes on loopback:
 * the demo target, a master (`hornet --master`, dashboard only) and two
 * workers (`hornet --worker`) running plugins/hello.c.
 *
 * Checks the header's worker count, the Workers tab (one row per worker
 * with its state, users, threads, CPU, memory and heartbeat), a swarm of 10
 * users started from the page spread over the workers, a SIGKILLed worker
 * shown missing, stop, and the Workers section of the HTML report.
 *
 * Env: HORNET (the binary, required), HN_BUILD_DIR (screenshots go to
 * $HN_BUILD_DIR/e2e-screenshots, as dist-*.png), HN_SOURCE_DIR (for
 * plugins/hello.c), CHROMIUM (default /usr/bin/chromium).
 *
 * Every wait is bounded; the whole run is killed after HN_E2E_TIMEOUT_S
 * (default 90) seconds. Every process started here is ended on the way out,
 * also on failure.
 */
'use strict';

const { spawn } = require('child_process');
const fs = require('fs');
const os = require('os');
const path = require('path');
const { chromium } = require('playwright-core');

const TOTAL_TIMEOUT_S = Number(process.env.HN_E2E_TIMEOUT_S || 150);
const CHROMIUM = process.env.CHROMIUM || '/usr/bin/chromium';
const BUILD_DIR = process.env.HN_BUILD_DIR || fs.mkdtempSync('/tmp/hornet-e2e-');
const SHOTS = path.join(BUILD_DIR, 'e2e-screenshots');
const SRC = process.env.HN_SOURCE_DIR || path.resolve(__dirname, '..', '..');
const PLUGIN = path.join(SRC, 'plugins', 'hello.c');
const HORNET = process.env.HORNET;
const USERS = 10;

const h = require('./harness')({ shots: SHOTS, prefix: 'dist-' });
const { log, assert, shot, step, until, text, watchPage, pageErrors } = h;
const CACHE = fs.mkdtempSync(path.join(os.tmpdir(), 'hornet-e2e-cache-'));
const procs = [];           /* {name, child, log} */
let browser = null;

function alive(p) { return p.child.exitCode === null && p.child.signalCode === null; }

/* Last resort (watchdog, early failure): SIGKILL whatever is still running. */
function killAll() {
    for (const p of procs) if (alive(p)) { try { p.child.kill('SIGKILL'); } catch (e) { /* gone */ } }
}
process.on('exit', killAll);

/* Starts a hornet process; resolves with the first match of each pattern
 * (stdout or stderr) once all matched. */
function start(name, args, patterns) {
    return new Promise((resolve, reject) => {
        const child = spawn(HORNET, args, {
            stdio: ['ignore', 'pipe', 'pipe'],
            env: Object.assign({}, process.env, { HORNET_CACHE_DIR: CACHE }),
        });
        const p = { name, child, log: '' };
        procs.push(p);
        const found = {};
        const timer = setTimeout(() => reject(new Error(name + ' printed no ' + Object.keys(patterns).join('/') +
            ' within 60 s (a fresh cache compiles the plugin first); output:\n' + p.log)), 60000);
        const onData = (d) => {
            p.log += d;
            /* Keep the head (a sanitizer report starts there) and the tail. */
            if (p.log.length > 64000) p.log = p.log.slice(0, 16000) + '\n[...]\n' + p.log.slice(-32000);
            for (const k of Object.keys(patterns)) {
                const m = found[k] === undefined && patterns[k].exec(p.log);
                if (m) found[k] = m[1];
            }
            if (Object.keys(patterns).every((k) => found[k] !== undefined)) {
                clearTimeout(timer);
                resolve(found);
            }
        };
        child.stdout.on('data', onData);
        child.stderr.on('data', onData);
        child.on('error', (e) => { clearTimeout(timer); reject(e); });
        child.on('exit', (code, sig) => {
            clearTimeout(timer);
            reject(new Error(name + ' exited early (code ' + code + ', signal ' + sig + '); output:\n' + p.log));
        });
    });
}

/* SIGTERM, as a user would; resolves with a problem or null. */
function stop(p, expectSignal) {
    return new Promise((resolve) => {
        if (!alive(p)) return resolve(null);
        let killed = false;
        const timer = setTimeout(() => { killed = true; p.child.kill('SIGKILL'); }, 15000);
        p.child.removeAllListeners('exit');
        p.child.on('exit', (code, sig) => {
            clearTimeout(timer);
            let problem = null;
            if (killed) problem = p.name + ' did not exit within 15 s of SIGTERM';
            else if (sig && sig !== (expectSignal || 'SIGTERM')) problem = p.name + ' died of ' + sig;
            else if (/ERROR: (Address|Leak|Thread|Undefined)Sanitizer|runtime error:/.test(p.log)) {
                problem = 'sanitizer report in the output of ' + p.name;
            }
            log(p.name + ' exited (code ' + code + ', signal ' + sig + ')');
            resolve(problem);
        });
        p.child.kill('SIGTERM');
    });
}

const watchdog = setTimeout(() => {
    log('FAIL: the whole test took longer than ' + TOTAL_TIMEOUT_S + ' s');
    for (const p of procs) log(p.name + ' output (tail):\n' + p.log.slice(-2000));
    killAll();
    process.exit(1);
}, TOTAL_TIMEOUT_S * 1000);
watchdog.unref();





/* The Workers table as data: one object per worker row (the Total row apart). */
function workerRows(page) {
    return page.evaluate(() => {
        const rows = Array.from(document.querySelectorAll('#workers-table tbody tr'));
        const cell = (tr, i) => tr.cells[i] ? tr.cells[i].textContent.trim() : '';
        const n = (s) => Number(String(s).replace(/[^0-9.]/g, ''));
        const out = { rows: [], total: null };
        for (const tr of rows) {
            if (tr.cells.length < 8) continue;
            const r = {
                id: cell(tr, 0), host: cell(tr, 1), state: cell(tr, 2), users: n(cell(tr, 3)),
                threads: n(cell(tr, 4)), cpu: cell(tr, 5), mem: cell(tr, 6), beat: cell(tr, 7),
                missing: tr.classList.contains('missing'),
            };
            if (tr.classList.contains('total')) out.total = r;
            else out.rows.push(r);
        }
        return out;
    });
}


async function main() {
    assert(HORNET && fs.existsSync(HORNET), 'HORNET is not set to the hornet binary');
    assert(fs.existsSync(PLUGIN), PLUGIN + ' is missing');
    fs.mkdirSync(SHOTS, { recursive: true });
    for (const f of fs.readdirSync(SHOTS)) if (/^dist-.*\.png$/.test(f)) fs.unlinkSync(path.join(SHOTS, f));

    const target = (await start('demo-target', ['demo-target', '--port', '0'],
        { url: /demo-target (http:\/\/\S+)/ })).url;
    const m = await start('master', ['--master', '--master-bind-port', '0', '--web-port', '0', '-f', PLUGIN,
        '-H', target], {
        url: /hornet dashboard: (http:\/\/\S+)/,
        zmq: /master: waiting for workers on [^\s:]+:(\d+)/,
    });
    const url = m.url.endsWith('/') ? m.url : m.url + '/';
    log('target ' + target + ', dashboard ' + url + ', workers port ' + m.zmq + '; screenshots in ' + SHOTS);
    browser = await chromium.launch({
        executablePath: CHROMIUM,
        headless: true,
        timeout: 20000,
        args: ['--no-sandbox', '--disable-gpu', '--disable-dev-shm-usage', '--no-first-run',
               '--disable-background-networking'],
    });
    const ctx = await browser.newContext({ viewport: { width: 1280, height: 800 }, colorScheme: 'light' });
    const page = await ctx.newPage();
    page.setDefaultTimeout(10000);
    watchPage(page, 'light');

    await step('no workers yet: a warning', page, async () => {
        await page.goto(url + '?tab=workers', { waitUntil: 'load' });
        await until(page, () => document.getElementById('ws-status').textContent === 'live', null, 10000,
            '#ws-status "live"');
        await until(page, () => document.getElementById('workers').textContent === '0 workers', null, 10000,
            'the header to say "0 workers"');
        assert(await page.getAttribute('#workers', 'data-warn') === 'true', 'no warning style for 0 workers');
        assert(await page.isVisible('#tab-workers'), 'the Workers tab is not open (?tab=workers)');
        const empty = await text(page, '#workers-table tbody');
        assert(/No worker is connected/.test(empty), 'the empty Workers table says "' + empty + '"');
    });

    const wargs = ['--worker', '--master-host', '127.0.0.1', '--master-port', m.zmq, '-f', PLUGIN];
    const connected = /connected to the master at \S+ as (\S+)/;
    const w1 = await start('worker 1', wargs, { id: connected });
    const w2 = await start('worker 2', wargs, { id: connected });
    log('workers ' + w1.id + ' and ' + w2.id + ' connected');
    const worker2 = procs[procs.length - 1];

    await step('header counts 2 workers', page, async () => {
        await page.click('[data-tab="stats"]');
        await until(page, () => document.getElementById('workers').textContent === '2 workers', null, 10000,
            'the header to say "2 workers"');
        assert(await page.isVisible('#metric-workers'), 'the worker count is not shown');
        assert(await page.getAttribute('#workers', 'data-warn') === 'false', 'the worker count is styled as a warning');
        assert(await page.isVisible('[data-tab="workers"]'), 'no Workers tab');
    });

    await step('workers tab lists both', page, async () => {
        await page.click('[data-tab="workers"]');
        await until(page, () => document.querySelectorAll('#workers-table tbody tr:not(.total)').length === 2, null,
            10000, '2 worker rows');
        const t = await workerRows(page);
        const ids = t.rows.map((r) => r.id).sort();
        assert(JSON.stringify(ids) === JSON.stringify([w1.id, w2.id].sort()),
            'worker ids ' + JSON.stringify(ids) + ', expected ' + JSON.stringify([w1.id, w2.id]));
        for (const r of t.rows) {
            assert(r.state === 'ready', r.id + ': state "' + r.state + '", expected ready');
            assert(r.host.length > 0, r.id + ': no host');
            assert(r.threads >= 1, r.id + ': ' + r.threads + ' threads');
            assert(/^[0-9.,]+%/.test(r.cpu), r.id + ': CPU "' + r.cpu + '"');
            assert(/^[0-9.,]+ (KiB|MiB|GiB)$/.test(r.mem), r.id + ': memory "' + r.mem + '"');
            assert(/^(just now|\d+ s ago)$/.test(r.beat), r.id + ': last heartbeat "' + r.beat + '"');
            assert(!r.missing, r.id + ': marked missing');
        }
        /* The table shows what the API says. */
        const api = await page.evaluate(() => fetch('/api/stats').then((r) => r.json()));
        assert(api.distributed === true && api.worker_count === 2, 'GET /api/stats: distributed ' + api.distributed +
            ', worker_count ' + api.worker_count);
        for (const w of api.workers) {
            const r = t.rows.find((x) => x.id === w.id);
            assert(r && r.host === w.host && r.threads === w.threads, 'row of ' + w.id + ' differs from the API');
        }
    });

    await step('swarm of 10 users spreads over the workers', page, async () => {
        await page.click('[data-tab="stats"]');
        await page.fill('#f-users', String(USERS));
        await page.fill('#f-rate', String(USERS));
        await page.fill('#f-runtime', '');
        await page.click('#btn-start');
        await until(page, () => /spawning|running/.test(document.getElementById('state').textContent), null, 10000,
            'state spawning/running');
        assert(await text(page, '#start-error') === '', 'start error: ' + await text(page, '#start-error'));
        await page.click('[data-tab="workers"]');
        const begin = Date.now();
        await until(page, (n) => {
            const rows = Array.from(document.querySelectorAll('#workers-table tbody tr:not(.total)'));
            const sum = rows.reduce((a, tr) => a + Number(tr.cells[3].textContent.replace(/[^0-9]/g, '')), 0);
            return rows.length === 2 && sum === n &&
                rows.every((tr) => tr.cells[2].textContent === 'running');
        }, USERS, 10000, 'the workers\' users to sum to ' + USERS + ', both running');
        const t = await workerRows(page);
        log('     ' + t.rows.map((r) => r.id + ': ' + r.users + ' users, CPU ' + r.cpu + ', ' + r.mem).join('; ') +
            ' (' + (Date.now() - begin) + ' ms after the start)');
        assert(t.rows.every((r) => r.users > 0), 'a worker runs no users: ' + JSON.stringify(t.rows));
        assert(t.total && t.total.users === USERS, 'the Total row says ' + (t.total && t.total.users) + ' users');
        await until(page, (n) => document.getElementById('users').textContent === String(n), USERS, 10000,
            'the header to show ' + USERS + ' users');
    });

    const ctx2 = await browser.newContext({ viewport: { width: 1280, height: 800 }, colorScheme: 'dark' });
    const dark = await ctx2.newPage();
    dark.setDefaultTimeout(10000);
    watchPage(dark, 'dark');

    await step('dark mode workers tab', dark, async () => {
        await dark.goto(url + '?tab=workers', { waitUntil: 'load' });
        await until(dark, () => document.querySelectorAll('#workers-table tbody tr:not(.total)').length === 2, null,
            10000, 'dark: 2 worker rows');
        const bg = await dark.evaluate(() => getComputedStyle(document.body).backgroundColor);
        const c = /rgb\((\d+), (\d+), (\d+)\)/.exec(bg);
        assert(c && Number(c[1]) + Number(c[2]) + Number(c[3]) < 150, 'dark mode background is ' + bg);
        assert(await text(dark, '#workers') === '2 workers', 'dark: header says ' + await text(dark, '#workers'));
    });

    await step('a killed worker shows missing', page, async () => {
        worker2.child.kill('SIGKILL');
        await until(page, (id) => {
            const tr = Array.from(document.querySelectorAll('#workers-table tbody tr.missing'));
            return tr.length === 1 && tr[0].cells[0].textContent === id &&
                tr[0].cells[2].textContent === 'missing';
        }, w2.id, 10000, w2.id + ' marked missing');
        await until(page, () => document.getElementById('workers').textContent === '1 worker', null, 10000,
            'the header to say "1 worker"');
        assert(await page.getAttribute('#workers', 'data-warn') === 'true', 'a missing worker does not warn in the header');
        assert(await text(page, '#workers-missing') === '1 missing', 'header: "' + await text(page, '#workers-missing') + '"');
        assert(await text(page, '#badge-workers') === '1', 'the Workers tab badge is not 1');
        /* Its users go to the other worker (the master re-spreads them). */
        const respread = await page.waitForFunction((n) => {
            const tr = document.querySelector('#workers-table tbody tr:not(.missing):not(.total)');
            return tr && Number(tr.cells[3].textContent) === n;
        }, USERS, { timeout: 8000, polling: 200 }).then(() => true, () => false);
        const t = await workerRows(page);
        log('     after the kill: ' + t.rows.map((r) => r.id + ' ' + r.state + ' ' + r.users + ' users').join('; ') +
            (respread ? '' : ' (NOTE: the users were not re-spread within 8 s)'));
    });

    await step('dark mode with a missing worker', dark, async () => {
        await until(dark, () => document.querySelectorAll('#workers-table tbody tr.missing').length === 1, null, 10000,
            'dark: a missing row');
    });
    await ctx2.close();

    await step('untrusted worker ids and hosts stay text', null, async () => {
        /* The page as a master with hostile workers would send it: the
         * real page and config, a made-up snapshot, no live updates. */
        const real = await page.evaluate(() => fetch('/api/stats').then((r) => r.json()));
        const fake = Object.assign({}, real, {
            distributed: true, worker_count: 1, workers: [
                { id: '</script><b>x', host: '<img src=x onerror=alert(1)>', state: 'running', users: 7,
                  threads: 2, cpu_percent: 195.5, rss_bytes: 3 * 1048576 + 1, last_heartbeat: real.now - 1.2 },
                { id: '"><i>y</i>', host: "h'st & co", state: 'missing', users: 0, threads: 1, cpu_percent: 3,
                  rss_bytes: 900, last_heartbeat: real.now - 75 },
            ],
        });
        const hctx = await browser.newContext({ viewport: { width: 1280, height: 800 }, colorScheme: 'light' });
        const hp = await hctx.newPage();
        watchPage(hp, 'hostile');
        const dialogs = [];
        hp.on('dialog', (d) => { dialogs.push(d.message()); d.dismiss().catch(() => {}); });
        try {
            await hp.route('**/api/stats', (route) => route.fulfill({ contentType: 'application/json',
                body: JSON.stringify(fake) }));
            await hp.routeWebSocket('**/ws', () => { /* never opens a push */ });
            await hp.goto(url + '?tab=workers', { waitUntil: 'load' });
            await until(hp, () => document.querySelectorAll('#workers-table tbody tr:not(.total)').length === 2, null,
                10000, 'the 2 made-up workers');
            const r = await hp.evaluate(() => ({
                tags: document.querySelectorAll('#workers-table b, #workers-table i, #workers-table img, ' +
                    '#workers-table script, #workers-cpu-warning *').length,
                ids: Array.from(document.querySelectorAll('#workers-table tbody tr:not(.total)')).map((tr) =>
                    [tr.cells[0].textContent, tr.cells[0].title, tr.cells[1].textContent]),
                hot: Array.from(document.querySelectorAll('#workers-table td.hot')).length,
                warn: document.getElementById('workers-cpu-warning').textContent,
                header: document.getElementById('workers').textContent,
                beat: document.querySelector('#workers-table tbody tr.missing').cells[7].textContent,
                mem: document.querySelector('#workers-table tbody tr').cells[6].textContent,
            }));
            assert(r.tags === 0, r.tags + ' elements made from worker ids/hosts');
            assert(JSON.stringify(r.ids) === JSON.stringify([
                ['</script><b>x', '</script><b>x', '<img src=x onerror=alert(1)>'],
                ['"><i>y</i>', '"><i>y</i>', "h'st & co"]]), 'ids/hosts shown as ' + JSON.stringify(r.ids));
            assert(r.hot === 1, r.hot + ' CPU cells highlighted, expected 1 (195.5% of 2 threads)');
            assert(r.warn.indexOf('</script><b>x') >= 0, 'the CPU warning does not name the worker: ' + r.warn);
            assert(r.header === '1 worker', 'header says ' + r.header);
            assert(r.beat === '75 s ago', 'missing worker heartbeat shows ' + r.beat);
            assert(r.mem === '3.0 MiB', 'memory shows ' + r.mem);
            assert(dialogs.length === 0, 'dialogs opened: ' + dialogs.join(', '));
            await shot(hp, 'hostile-workers');
        } finally {
            await hctx.close();
        }
    });

    await step('stop', page, async () => {
        await page.click('#btn-stop');
        await until(page, () => document.getElementById('state').textContent === 'stopped', null, 15000, 'state stopped');
        await until(page, () => {
            const tr = document.querySelector('#workers-table tbody tr:not(.missing):not(.total)');
            return tr && tr.cells[3].textContent === '0' && /stopped|ready/.test(tr.cells[2].textContent);
        }, null, 10000, 'the live worker to stop its users');
        assert(await text(page, '#control-error') === '', 'control error after stop: ' + await text(page, '#control-error'));
    });

    await step('the HTML report names the workers', page, async () => {
        const rp = await ctx.newPage();
        watchPage(rp, 'report');
        try {
            await rp.goto(url + 'report.html', { waitUntil: 'load' });
            await rp.waitForSelector('html[data-rendered]');
            assert(await rp.getAttribute('html', 'data-rendered') === 'true', 'the report did not render');
            assert(await rp.isVisible('#workers-section'), 'no Workers section in the report');
            const rows = await rp.$$eval('#workers-table tbody tr', (trs) => trs.map((tr) =>
                Array.from(tr.cells).map((c) => c.textContent)));
            const ids = rows.map((r) => r[0]).sort();
            assert(JSON.stringify(ids) === JSON.stringify([w1.id, w2.id].sort()),
                'report workers ' + JSON.stringify(ids));
            assert(rows.some((r) => r[2] === 'missing'), 'the report does not show the missing worker');
            await rp.$eval('#workers-section', (e) => e.scrollIntoView());
            await shot(rp, 'report-workers');
        } finally {
            await rp.close();
        }
    });

    assert(pageErrors.length === 0, 'errors in the page:\n  ' + pageErrors.join('\n  '));
}

main().then(() => {
    log('all steps passed');
}, (err) => {
    if (!h.failed) {
        h.failed++;
        log('FAIL: ' + (err && err.stack ? err.stack : err));
    }
    for (const p of procs) if (p.log) log(p.name + ' output (tail):\n' + p.log.slice(-2000));
    if (pageErrors.length) log('page errors:\n  ' + pageErrors.join('\n  '));
}).finally(async () => {
    try { if (browser) await browser.close(); } catch (e) { /* already closed */ }
    /* Workers first, then the master, then the target. */
    for (const p of procs.slice().reverse()) {
        const problem = await stop(p);
        if (problem) {
            h.failed++;
            log('FAIL: ' + problem + '\n' + p.log.slice(-4000));
        }
    }
    fs.rmSync(CACHE, { recursive: true, force: true });
    process.stdout.write('distributed: ' + h.passed + ' passed, ' + h.failed + ' failed\n');
    process.exit(h.failed ? 1 : 0);
});
