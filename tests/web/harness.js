/*
 * harness.js: what the browser tests share: timestamped log, steps that
 * count passes and failures and take a screenshot after each (and on
 * failure), bounded waits on the page, and collection of page errors.
 *
 *     const h = require('./harness')({ shots: DIR, prefix: 'dist-' });
 *     await h.step('name', page, async () => { ... });
 *     // at the end: h.passed, h.failed, h.pageErrors
 *
 * A test of one hornet process can leave starting it, the browser and the
 * ending (exit code, sanitizer check, hornet stopped by SIGTERM) to it:
 *
 *     h.main(async () => {
 *         const url = await h.startHornet(['--demo', '--web-port', '0']);
 *         const page = await h.newPage(url);
 *         ...
 *     });
 */
'use strict';

const { spawn } = require('child_process');
const path = require('path');

module.exports = function harness({ shots, prefix = '' }) {
    const t0 = Date.now();
    let shotNo = 0;
    const h = { passed: 0, failed: 0, pageErrors: [] };

    h.elapsed = () => ((Date.now() - t0) / 1000).toFixed(1) + 's';
    h.log = (msg) => process.stdout.write('[' + h.elapsed() + '] ' + msg + '\n');
    h.assert = (cond, msg) => { if (!cond) throw new Error(msg); };

    h.shot = async (page, name, opts) => {
        shotNo++;
        const file = path.join(shots, prefix + String(shotNo).padStart(2, '0') + '-' + name + '.png');
        await page.screenshot(Object.assign({ path: file }, opts || {}));
        return file;
    };

    /* Runs one check; a screenshot follows it, or marks where it failed. */
    h.step = async (name, page, fn) => {
        const begin = Date.now();
        try {
            await fn();
            h.passed++;
            h.log('ok   ' + name + ' (' + (Date.now() - begin) + ' ms)');
            if (page) await h.shot(page, name.replace(/[^a-z0-9]+/gi, '-').toLowerCase());
        } catch (err) {
            h.failed++;
            h.log('FAIL ' + name + ': ' + (err && err.stack ? err.stack : err));
            if (page) {
                try { h.log('     screenshot: ' + await h.shot(page, 'FAILED-' + name.replace(/[^a-z0-9]+/gi, '-'))); } catch (e) { /* page gone */ }
            }
            throw err;
        }
    };

    /* Polls fn (run in the page) until it returns a truthy value. */
    h.until = (page, fn, arg, timeoutMs, what) =>
        page.waitForFunction(fn, arg, { timeout: timeoutMs || 10000, polling: 100 }).catch((e) => {
            throw new Error('timed out waiting for ' + (what || 'a condition') + ' (' + e.message.split('\n')[0] + ')');
        });

    h.text = (page, sel) => page.$eval(sel, (el) => el.textContent.trim());

    /* Snapshots pushed to a page over its WebSockets (reloads included), so a
     * step can wait for the next push instead of sleeping about a second.
     * Call before the page opens its socket. */
    h.countPushes = (page) => {
        page.hnPushes = 0;
        page.on('websocket', (ws) => ws.on('framereceived', (f) => {
            if (typeof f.payload === 'string' && f.payload.startsWith('{"type":"snapshot"')) page.hnPushes++;
        }));
    };

    /* Resolves once n more snapshots reached the page (see countPushes). */
    h.pushes = (page, n, timeoutMs, what) => new Promise((resolve, reject) => {
        const want = page.hnPushes + n;
        const deadline = Date.now() + (timeoutMs || 10000);
        const poll = () => {
            if (page.hnPushes >= want) return resolve();
            if (Date.now() > deadline) {
                return reject(new Error('timed out waiting for ' + (what || n + ' more pushes') + ' (' +
                    (page.hnPushes - want + n) + ' of ' + n + ' arrived)'));
            }
            setTimeout(poll, 50);
        };
        poll();
    });

    h.watchPage = (page, label) => {
        page.on('pageerror', (e) => h.pageErrors.push(label + ': ' + e.message));
        page.on('console', (m) => {
            /* 4xx answers are part of the tests (bad values, the HTML report
             * probe); Chromium logs each as "Failed to load resource". */
            if (m.type() === 'error' && !/^Failed to load resource: the server responded with a status of 4\d\d/.test(m.text())) {
                h.pageErrors.push(label + ' console: ' + m.text());
            }
        });
    };
    /* Starts hornet with args; resolves with the dashboard's URL once it
     * prints it (60 s: a .c plugin may be compiled first). */
    h.startHornet = (args) => new Promise((resolve, reject) => {
        h.serverLog = '';
        h.server = spawn(process.env.HORNET, args, { stdio: ['ignore', 'pipe', 'pipe'] });
        const timer = setTimeout(() => reject(new Error('no dashboard line within 60 s:\n' + h.serverLog)), 60000);
        const onData = (d) => {
            h.serverLog += d;
            const m = /hornet dashboard: (https?:\/\/\S+)/.exec(h.serverLog);
            if (m) { clearTimeout(timer); resolve(m[1]); }
        };
        h.server.stdout.on('data', onData);
        h.server.stderr.on('data', onData);
        h.server.on('exit', (code) => { clearTimeout(timer); reject(new Error('hornet exited (' + code + '):\n' + h.serverLog)); });
    });

    /* Headless Chromium (CHROMIUM, default /usr/bin/chromium; h.browserArgs
     * are added to its command line, h.browserEnv to its environment) and
     * a page whose errors are collected,
     * opened on url when given; contextOptions go to the browser context
     * (httpCredentials, for one). */
    h.newPage = async (url, viewport, contextOptions) => {
        const { chromium } = require('playwright-core');
        h.browser = await chromium.launch({
            executablePath: process.env.CHROMIUM || '/usr/bin/chromium', headless: true, timeout: 20000,
            args: ['--no-sandbox', '--disable-gpu', '--disable-dev-shm-usage', '--no-first-run',
                   '--disable-background-networking'].concat(h.browserArgs || []),
            env: Object.assign({}, process.env, h.browserEnv || {}),
        });
        const page = await (await h.browser.newContext(Object.assign(
            { viewport: viewport || { width: 1280, height: 1000 } }, contextOptions || {}))).newPage();
        page.setDefaultTimeout(10000);
        h.watchPage(page, prefix.replace(/-$/, '') || 'page');
        if (url) await page.goto(url, { waitUntil: 'load' });
        return page;
    };

    /* Runs the test, then closes the browser, stops hornet (SIGTERM, as a
     * user would; dying of anything else fails), fails on a sanitizer
     * report or page errors, prints the tally and exits 0 or 1. cleanup
     * (optional) stops what the test started itself. */
    h.main = (fn, cleanup) => fn().then(() => {
        if (h.pageErrors.length) throw new Error('errors in the page:\n  ' + h.pageErrors.join('\n  '));
    }).then(() => h.log('all steps passed'), (err) => {
        if (!h.failed) { /* a failed step counted itself */
            h.failed++;
            h.log('FAIL: ' + (err && err.stack ? err.stack : err));
        }
        h.log('server output (tail):\n' + (h.serverLog || '').slice(-2000));
    }).finally(async () => {
        try { if (h.browser) await h.browser.close(); } catch (e) { /* closed */ }
        if (h.server && h.server.exitCode === null) {
            h.server.removeAllListeners('exit');
            const exited = new Promise((r) => h.server.on('exit', (code, sig) => r(sig)));
            h.server.kill('SIGTERM');
            const sig = await exited;
            if (sig && sig !== 'SIGTERM') { h.failed++; h.log('FAIL: hornet died of ' + sig); }
        }
        if (cleanup) await cleanup();
        if (/ERROR: (Address|Leak|Thread|Undefined)Sanitizer|runtime error:/.test(h.serverLog || '')) {
            h.failed++;
            h.log('FAIL: sanitizer report:\n' + h.serverLog.slice(-4000));
        }
        process.stdout.write(h.passed + ' passed, ' + h.failed + ' failed\n');
        process.exit(h.failed ? 1 : 0);
    });
    return h;
};
