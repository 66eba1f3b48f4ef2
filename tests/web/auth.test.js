/*
 * auth.test.js: the dashboard behind --web-auth in headless Chromium. A
 * browser without credentials gets the 401 (Chromium's login prompt, as a
 * page with the JSON error headless); with them the page loads, its live
 * push connects over the WebSocket (the browser sends the credentials with
 * the upgrade) and a run started from the form runs.
 *
 * Env: HORNET (the binary), HN_BUILD_DIR (screenshots as auth-*.png in
 * e2e-screenshots), CHROMIUM (default /usr/bin/chromium).
 */
'use strict';

const fs = require('fs');
const path = require('path');

const BUILD_DIR = process.env.HN_BUILD_DIR;
const SHOTS = path.join(BUILD_DIR || '/tmp', 'e2e-screenshots');
const HORNET = process.env.HORNET;

const h = require('./harness')({ shots: SHOTS, prefix: 'auth-' });
const { assert, step, until } = h;

h.main(async () => {
    assert(HORNET && fs.existsSync(HORNET), 'HORNET is not set to the hornet binary');
    fs.mkdirSync(SHOTS, { recursive: true });
    const url = await h.startHornet(['--demo', '--web-auth', 'ops:horn3t', '--web-port', '0']);

    await step('without credentials: 401', null, async () => {
        const page = await h.newPage(null, { width: 1000, height: 400 });
        /* Headless Chromium has no login prompt to show: it gives up. */
        let error = '';
        await page.goto(url, { waitUntil: 'load' }).catch((e) => { error = e.message; });
        assert(/ERR_INVALID_AUTH_CREDENTIALS/.test(error), 'the page loaded without credentials: ' + error);
        const resp = await page.request.get(url + 'api/state');
        assert(resp.status() === 401, 'status ' + resp.status());
        assert(/Basic realm="hornet"/.test(resp.headers()['www-authenticate'] || ''), 'no challenge');
        await h.browser.close();
    });

    const page = await h.newPage(null, { width: 1280, height: 900 },
        { httpCredentials: { username: 'ops', password: 'horn3t' } });
    await step('with credentials: the page and its live push', page, async () => {
        const resp = await page.goto(url, { waitUntil: 'load' });
        assert(resp.status() === 200, 'status ' + resp.status());
        await until(page, () => document.getElementById('ws-status').getAttribute('data-status') === 'live',
            null, 15000, 'the live indicator (the WebSocket connected)');
    });

    await step('a run from the form', page, async () => {
        await page.fill('#f-users', '2');
        await page.fill('#f-rate', '10');
        await page.click('#btn-start');
        /* The page's own fetches carry the credentials too. */
        await until(page, async () => (await (await fetch('/api/stats')).json()).total.requests > 0,
            null, 15000, 'requests counted');
        await until(page, () => Array.from(document.querySelectorAll('#stats-table tbody td'))
            .some((td) => td.textContent.trim().startsWith('/')), null, 15000, 'an entry in the table');
        await page.click('#btn-stop');
        await page.waitForSelector('#btn-new:not([hidden])', { timeout: 30000 });
    });
});
