/*
 * picker.test.js: the user type picker in the start form (Locust's class
 * picker) with the built-in shop plugin (--demo): it lists both user types
 * with their weights, fixed counts and tasks; running only "browser", with
 * its "items" task left out, starts browsers alone, which never request
 * /items (the demo target's own counts say so).
 *
 * Env: HORNET (the binary), HN_BUILD_DIR (screenshots, as picker-*.png in
 * e2e-screenshots), CHROMIUM (default /usr/bin/chromium).
 */
'use strict';

const { spawn } = require('child_process');
const fs = require('fs');
const path = require('path');
const { chromium } = require('playwright-core');

const CHROMIUM = process.env.CHROMIUM || '/usr/bin/chromium';
const BUILD_DIR = process.env.HN_BUILD_DIR;
const SHOTS = path.join(BUILD_DIR || '/tmp', 'e2e-screenshots');
const HORNET = process.env.HORNET;

const h = require('./harness')({ shots: SHOTS, prefix: 'picker-' });
const { log, assert, step, until, watchPage, pageErrors } = h;
let server = null, serverLog = '', browser = null;

function startServer() {
    return new Promise((resolve, reject) => {
        server = spawn(HORNET, ['--demo', '--web-port', '0'], { stdio: ['ignore', 'pipe', 'pipe'] });
        const timer = setTimeout(() => reject(new Error('no dashboard line within 60 s:\n' + serverLog)), 60000);
        const onData = (d) => {
            serverLog += d;
            const m = /hornet dashboard: (http:\/\/\S+)/.exec(serverLog);
            if (m) { clearTimeout(timer); resolve(m[1]); }
        };
        server.stdout.on('data', onData);
        server.stderr.on('data', onData);
        server.on('exit', (code) => { clearTimeout(timer); reject(new Error('hornet exited (' + code + '):\n' + serverLog)); });
    });
}

async function main() {
    assert(HORNET && fs.existsSync(HORNET), 'HORNET is not set to the hornet binary');
    fs.mkdirSync(SHOTS, { recursive: true });
    const url = await startServer();
    browser = await chromium.launch({
        executablePath: CHROMIUM, headless: true, timeout: 20000,
        args: ['--no-sandbox', '--disable-gpu', '--disable-dev-shm-usage', '--no-first-run',
               '--disable-background-networking'],
    });
    const page = await (await browser.newContext({ viewport: { width: 1280, height: 1000 } })).newPage();
    page.setDefaultTimeout(10000);
    watchPage(page, 'picker');

    await step('the start form lists the user types', page, async () => {
        await page.goto(url, { waitUntil: 'load' });
        await page.waitForSelector('#field-types:not([hidden])');
        await page.click('#field-types summary');
        const rows = await page.$$eval('#types-table tbody tr', (trs) => trs.map((tr) => ({
            name: tr.querySelector('.name').textContent,
            weight: tr.querySelector('.pick-weight').value,
            tasks: Array.from(tr.querySelectorAll('.pick-tasks label')).map((l) => l.textContent.trim()),
        })));
        assert(rows.length === 2 && rows[0].name === 'shopper' && rows[1].name === 'browser',
            'rows: ' + JSON.stringify(rows));
        assert(rows[0].weight === '3' && rows[1].weight === '1', 'weights: ' + JSON.stringify(rows));
        assert(rows[1].tasks.join(',') === 'home,json,items', 'browser tasks: ' + rows[1].tasks);
    });

    await step('only browsers without "items" run', page, async () => {
        await page.uncheck('#types-table tr[data-type="0"] .pick-run');
        await page.uncheck('#types-table tr[data-type="1"] input[data-task="2"]');
        await page.fill('#f-users', '3');
        await page.fill('#f-rate', '10');
        await page.click('#btn-start');
        await until(page, () => document.getElementById('users').textContent === '3', null, 15000, '3 users');
        const s = await page.evaluate(async () => (await fetch('/api/stats')).json());
        const types = s.ratios.map((r) => r.user_type + ':' + r.users).join(',');
        assert(types === 'browser:3', 'ratios: ' + types);
        /* Browsers go home, json, items in order, one task a second: with
         * items dropped, the second home comes right after json. */
        let s2 = null;
        for (const end = Date.now() + 15000; Date.now() < end;) {
            s2 = await page.evaluate(async () => (await fetch('/api/stats')).json());
            /* Each user home twice: the sequence went home, json, home. */
            const home = s2.entries.find((e) => e.type === 'GET' && e.name === '/');
            if (home && home.requests >= 6) break;
            await page.waitForTimeout(200); /* polling the API, not a fixed wait */
        }
        const names = s2.entries.map((e) => e.type + ' ' + e.name);
        assert(!names.includes('GET /items'), 'the dropped task ran: ' + names);
        assert(names.includes('GET /') && names.includes('GET /json'), 'tasks that ran: ' + names);
    });
    assert(pageErrors.length === 0, 'errors in the page:\n  ' + pageErrors.join('\n  '));
}

main().then(() => log('all steps passed'), (err) => {
    if (!h.failed) {
        h.failed++;
        log('FAIL: ' + (err && err.stack ? err.stack : err));
    }
    log('server output (tail):\n' + serverLog.slice(-2000));
}).finally(async () => {
    try { if (browser) await browser.close(); } catch (e) { /* closed */ }
    if (server && server.exitCode === null) {
        server.removeAllListeners('exit');
        const exited = new Promise((r) => server.on('exit', (code, sig) => r(sig)));
        server.kill('SIGTERM');
        const sig = await exited;
        if (sig && sig !== 'SIGTERM') { h.failed++; log('FAIL: hornet died of ' + sig); }
    }
    if (/ERROR: (Address|Leak|Thread|Undefined)Sanitizer|runtime error:/.test(serverLog)) {
        h.failed++;
        log('FAIL: sanitizer report:\n' + serverLog.slice(-4000));
    }
    process.stdout.write(h.passed + ' passed, ' + h.failed + ' failed\n');
    process.exit(h.failed ? 1 : 0);
});
