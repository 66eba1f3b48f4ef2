/*
 * harness.js: what the browser tests share: timestamped log, steps that
 * count passes and failures and take a screenshot after each (and on
 * failure), bounded waits on the page, and collection of page errors.
 *
 *     const h = require('./harness')({ shots: DIR, prefix: 'dist-' });
 *     await h.step('name', page, async () => { ... });
 *     // at the end: h.passed, h.failed, h.pageErrors
 */
'use strict';

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
    return h;
};
