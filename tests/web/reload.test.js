/*
 * reload.test.js: reloading the plugin from the page. hornet runs a .c
 * plugin written by the test (--demo -f FILE: the demo target is the
 * host); the test edits the file as an operator would:
 *  - unchanged, the start form offers nothing;
 *  - changed, it says so (checked when the window gets the focus back);
 *  - a compile error is shown as the compiler wrote it, and the plugin
 *    loaded before stays (its user types in the form);
 *  - fixed, "Try again" loads it: the form lists the new user type and the
 *    new parameter's field, and a run started from the form requests the
 *    new version's path.
 *
 * Env: HORNET (the binary), HN_BUILD_DIR (screenshots as reload-*.png in
 * e2e-screenshots), CHROMIUM (default /usr/bin/chromium).
 */
'use strict';

const fs = require('fs');
const os = require('os');
const path = require('path');

const BUILD_DIR = process.env.HN_BUILD_DIR;
const SHOTS = path.join(BUILD_DIR || '/tmp', 'e2e-screenshots');
const HORNET = process.env.HORNET;
const DIR = fs.mkdtempSync(path.join(os.tmpdir(), 'hn-reload-page-'));
const FILE = path.join(DIR, 'checkout.c');

const h = require('./harness')({ shots: SHOTS, prefix: 'reload-' });
const { assert, step, until } = h;

/* version 1: type "browser", GET /v1; version 2 adds a parameter and
 * renames both; broken: version 2 with a syntax error. */
function source(version, broken) {
    const two = version === 2;
    return [
        '#include <hornet/hornet.h>',
        'static void go(struct hn_user *u) { hn_get(u, "/' + (two ? 'v2' : 'v1') + '")' +
            (broken ? ' missing_semicolon' : ';') + ' }',
        'static const struct hn_task tasks[] = {{.name = "go", .fn = go, .weight = 1}, {0}};',
        'static const struct hn_user_type types[] = {{.name = "' + (two ? 'checkout' : 'browser') +
            '", .weight = 1, .wait = hn_constant(0.1), .tasks = tasks}, {0}};',
        two ? 'static const struct hn_param params[] = {{.name = "basket_size", .type = HN_PARAM_INT, ' +
            '.default_value = "3", .help = "items per order"}, {0}};' : '',
        'static const struct hn_plugin plugin = {.abi_major = HN_ABI_MAJOR, .abi_minor = HN_ABI_MINOR,',
        '    .struct_size = sizeof(struct hn_plugin), .name = "checkout", .user_types = types' +
            (two ? ', .params = params' : '') + '};',
        'HN_PLUGIN(plugin);', ''].join('\n');
}

function save(text) {
    /* As an editor saves: a new file renamed over the old one. */
    fs.writeFileSync(FILE + '.tmp', text);
    fs.renameSync(FILE + '.tmp', FILE);
}

h.main(async () => {
    assert(HORNET && fs.existsSync(HORNET), 'HORNET is not set to the hornet binary');
    fs.mkdirSync(SHOTS, { recursive: true });
    save(source(1));
    const url = await h.startHornet(['--demo', '-f', FILE, '--web-port', '0']);
    const page = await h.newPage(null, { width: 1280, height: 900 });
    const focus = () => page.evaluate(() => window.dispatchEvent(new Event('focus')));

    await step('unchanged: nothing offered', page, async () => {
        await page.goto(url, { waitUntil: 'load' });
        await page.waitForSelector('#start-form:not([hidden])');
        await until(page, () => document.getElementById('start-plugin').textContent
            .includes('user types: browser'), null, 10000, 'the form to name the user type');
        assert(await page.isHidden('#plugin-reload'), 'a reload is offered for an unchanged file');
    });

    await step('changed: the form offers to reload', page, async () => {
        save(source(2, true));
        await focus();
        await page.waitForSelector('#plugin-reload:not([hidden])');
        const text = await page.textContent('#plugin-reload-text');
        assert(/checkout\.c changed since it was loaded/.test(text), 'text: ' + text);
    });

    await step('a compile error is shown; the old plugin stays', page, async () => {
        await page.click('#btn-reload');
        await page.waitForSelector('#plugin-reload-error:not([hidden])', { timeout: 60000 });
        const out = await page.textContent('#plugin-reload-error');
        assert(/compilation failed/.test(out) && /checkout\.c:2:\d+: error/.test(out) &&
            /missing_semicolon/.test(out), 'compiler output: ' + out);
        const text = await page.textContent('#plugin-reload-text');
        assert(/did not load; the one loaded before is still in use/.test(text), 'text: ' + text);
        assert((await page.textContent('#start-plugin')).includes('user types: browser'),
            'the old user types are gone from the form');
        assert(await page.isHidden('#field-params'), 'the broken version\'s parameter shows');
    });

    await step('fixed: "Try again" loads the new version', page, async () => {
        save(source(2, false));
        assert((await page.textContent('#btn-reload')) === 'Try again', 'button label');
        await page.click('#btn-reload');
        await until(page, () => /Reloaded/.test(document.getElementById('plugin-reload-text').textContent),
            null, 60000, 'the reload to finish');
        assert(await page.isHidden('#plugin-reload-error'), 'the old error still shows');
        assert((await page.textContent('#start-plugin')).includes('user types: checkout'),
            'the new user type is not in the form');
        await page.waitForSelector('#field-params:not([hidden])');
        const field = await page.$eval('#params-fields [data-param]', (e) => ({ type: e.type, value: e.value }));
        assert(field.type === 'number' && field.value === '3', 'the new parameter: ' + JSON.stringify(field));
    });

    await step('a run from the form uses the new version', page, async () => {
        await page.fill('#f-users', '2');
        await page.fill('#f-rate', '10');
        await page.click('#btn-start');
        await until(page, () => Array.from(document.querySelectorAll('#stats-table tbody td'))
            .some((td) => td.textContent.trim() === '/v2'), null, 15000, 'a /v2 row in the table');
        const s = await page.evaluate(async () => (await fetch('/api/stats')).json());
        assert(!s.entries.some((e) => e.name === '/v1'), 'the old version ran: ' + s.entries.map((e) => e.name));
        assert(s.ratios.every((r) => r.user_type === 'checkout'), 'ratios: ' + JSON.stringify(s.ratios));
        await page.click('#btn-stop');
        await page.waitForSelector('#btn-new:not([hidden])', { timeout: 30000 });
    });
}, () => fs.rmSync(DIR, { recursive: true, force: true }));
