/*
 * shape.test.js: a plugin with a load shape (tests/plugins/shape_steps.c)
 * in the dashboard: the start form says the shape sets the users and asks
 * for none, the header names the shape while it drives, Edit is off with
 * the reason, and the run ends when the shape says so.
 *
 * Env: HORNET (the binary), HN_BUILD_DIR (the plugin and the screenshots,
 * as shape-*.png in e2e-screenshots), CHROMIUM (default /usr/bin/chromium).
 */
'use strict';

const { spawn } = require('child_process');
const fs = require('fs');
const path = require('path');
const { chromium } = require('playwright-core');

const CHROMIUM = process.env.CHROMIUM || '/usr/bin/chromium';
const BUILD_DIR = process.env.HN_BUILD_DIR;
const SHOTS = path.join(BUILD_DIR || '/tmp', 'e2e-screenshots');
const PLUGIN = path.join(BUILD_DIR || '', 'tests', 'plugins', 'shape_steps.so');
const HORNET = process.env.HORNET;

const h = require('./harness')({ shots: SHOTS, prefix: 'shape-' });
const { log, assert, step, until, text, watchPage, pageErrors } = h;
let server = null, serverLog = '', browser = null;

function startServer() {
    return new Promise((resolve, reject) => {
        server = spawn(HORNET, ['--demo', '-f', PLUGIN, '--web-port', '0'], { stdio: ['ignore', 'pipe', 'pipe'] });
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
    assert(fs.existsSync(PLUGIN), PLUGIN + ' is missing');
    fs.mkdirSync(SHOTS, { recursive: true });
    const url = await startServer();
    browser = await chromium.launch({
        executablePath: CHROMIUM, headless: true, timeout: 20000,
        args: ['--no-sandbox', '--disable-gpu', '--disable-dev-shm-usage', '--no-first-run',
               '--disable-background-networking'],
    });
    const page = await (await browser.newContext({ viewport: { width: 1280, height: 720 } })).newPage();
    page.setDefaultTimeout(10000);
    watchPage(page, 'shape');

    await step('the start form says the shape sets the users', page, async () => {
        await page.goto(url, { waitUntil: 'load' });
        await until(page, () => !document.getElementById('shape-note').hidden, null, 10000, 'the shape note');
        assert(!(await page.isVisible('#f-users')) && !(await page.isVisible('#profile-choice')),
            'the form still asks for users or a profile');
    });

    await step('the shape drives the run; Edit is off and says why', page, async () => {
        await page.click('#btn-start');
        await until(page, () => /load shape: the plugin sets the users/.test(document.getElementById('run-info').textContent),
            null, 15000, 'the header naming the load shape');
        await until(page, () => document.getElementById('users').textContent === '3', null, 15000, "the shape's 3 users");
        assert(await page.isDisabled('#btn-edit'), 'Edit is enabled while the shape drives');
        assert(/load shape drives this run/.test(await page.getAttribute('#btn-edit', 'title')),
            'Edit does not say why it is off');
    });

    await step('the shape ends the run', page, async () => {
        await until(page, () => /load shape finished/.test(document.getElementById('run-banner').textContent),
            null, 30000, 'the banner with "load shape finished"');
        assert(await text(page, '#state') === 'stopped', 'the state is not stopped');
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
