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

const fs = require('fs');
const path = require('path');

const BUILD_DIR = process.env.HN_BUILD_DIR;
const SHOTS = path.join(BUILD_DIR || '/tmp', 'e2e-screenshots');
const HORNET = process.env.HORNET;

const h = require('./harness')({ shots: SHOTS, prefix: 'picker-' });
const { assert, step, until } = h;

h.main(async () => {
    assert(HORNET && fs.existsSync(HORNET), 'HORNET is not set to the hornet binary');
    fs.mkdirSync(SHOTS, { recursive: true });
    const url = await h.startHornet(['--demo', '--web-port', '0']);
    const page = await h.newPage(null, { width: 1280, height: 1000 });

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
});
