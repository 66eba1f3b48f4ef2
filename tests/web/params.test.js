/*
 * params.test.js: the plugin's parameters in the start form, with
 * tests/plugins/params_echo.c against the demo target (--demo -f): one
 * field per parameter of its type, prefilled with the defaults, the secret
 * a password field left empty; the values typed reach the users (the
 * snapshot lists them, the entry is named after one of them).
 *
 * Env: HORNET (the binary), HN_BUILD_DIR (the plugin; screenshots as
 * params-*.png in e2e-screenshots), CHROMIUM (default /usr/bin/chromium).
 */
'use strict';

const fs = require('fs');
const path = require('path');

const BUILD_DIR = process.env.HN_BUILD_DIR;
const SHOTS = path.join(BUILD_DIR || '/tmp', 'e2e-screenshots');
const HORNET = process.env.HORNET;
const PLUGIN = path.join(BUILD_DIR || '', 'tests', 'plugins', 'params_echo.so');

const h = require('./harness')({ shots: SHOTS, prefix: 'params-' });
const { assert, step, until } = h;

h.main(async () => {
    assert(HORNET && fs.existsSync(HORNET), 'HORNET is not set to the hornet binary');
    fs.mkdirSync(SHOTS, { recursive: true });
    const url = await h.startHornet(['--demo', '-f', PLUGIN, '--web-port', '0']);
    const page = await h.newPage(null, { width: 1280, height: 1000 });

    await step('the start form has a field per parameter', page, async () => {
        await page.goto(url, { waitUntil: 'load' });
        await page.waitForSelector('#field-params:not([hidden])');
        const fields = await page.$$eval('#params-fields [data-param]', (els) => els.map((e) => ({
            tag: e.tagName, type: e.type, value: e.value })));
        assert(fields.length === 5, 'fields: ' + JSON.stringify(fields));
        assert(fields[0].value === '/item/1' && fields[1].type === 'number' && fields[1].value === '1',
            'path/repeat: ' + JSON.stringify(fields));
        assert(fields[3].tag === 'SELECT' && fields[3].value === 'false', 'verbose: ' + JSON.stringify(fields[3]));
        assert(fields[4].type === 'password' && fields[4].value === '', 'the secret shows: ' + JSON.stringify(fields[4]));
        assert(!(await page.content()).includes('s3cret'), 'the secret default is in the page');
    });

    await step('the values typed reach the users', page, async () => {
        await page.fill('#p-1', '4');
        await page.fill('#p-2', '0.75');
        await page.fill('#f-users', '2');
        await page.fill('#f-rate', '10');
        await page.click('#btn-start');
        let s = null;
        for (const end = Date.now() + 15000; Date.now() < end;) {
            s = await page.evaluate(async () => (await fetch('/api/stats')).json());
            if (s.entries.some((e) => e.name === 'ratio=0.75')) break;
            await page.waitForTimeout(200); /* polling the API, not a fixed wait */
        }
        const shown = {};
        s.params.forEach((p) => { shown[p.name] = p.value; });
        assert(shown.repeat === '4' && shown.ratio === '0.75' && shown.token === '********',
            'params: ' + JSON.stringify(shown));
        assert(s.entries.some((e) => e.name === 'ratio=0.75'), 'entries: ' + s.entries.map((e) => e.name));
        await page.click('#btn-stop');
    });
});
