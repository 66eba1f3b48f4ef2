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

const fs = require('fs');
const path = require('path');

const BUILD_DIR = process.env.HN_BUILD_DIR;
const SHOTS = path.join(BUILD_DIR || '/tmp', 'e2e-screenshots');
const PLUGIN = path.join(BUILD_DIR || '', 'tests', 'plugins', 'shape_steps.so');
const HORNET = process.env.HORNET;

const h = require('./harness')({ shots: SHOTS, prefix: 'shape-' });
const { assert, step, until, text } = h;

h.main(async () => {
    assert(HORNET && fs.existsSync(HORNET), 'HORNET is not set to the hornet binary');
    assert(fs.existsSync(PLUGIN), PLUGIN + ' is missing');
    fs.mkdirSync(SHOTS, { recursive: true });
    const url = await h.startHornet(['--demo', '-f', PLUGIN, '--web-port', '0']);
    const page = await h.newPage(null, { width: 1280, height: 720 });

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
});
