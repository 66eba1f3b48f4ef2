/*
 * capacity.test.js: the capacity search from the dashboard. A target of the
 * test's own serves 4 requests at a time, 200 ms each (20 req/s at most);
 * the start form's "Find the capacity" with 2 users, steps of 2 held 2 s
 * and p95<300ms finds 4 users (6 break: a request that waits its turn takes
 * 400 ms; 4 hold with 100 ms to spare on a busy machine), and the Charts tab draws
 * throughput and p95 against the load with the outcome beside it.
 *
 * Env: HORNET (the binary), HN_BUILD_DIR (the plugin and the screenshots,
 * as capacity-*.png in e2e-screenshots), CHROMIUM (default /usr/bin/chromium).
 */
'use strict';

const fs = require('fs');
const http = require('http');
const path = require('path');

const BUILD_DIR = process.env.HN_BUILD_DIR;
const SHOTS = path.join(BUILD_DIR || '/tmp', 'e2e-screenshots');
const PLUGIN = path.join(BUILD_DIR || '', 'tests', 'plugins', 'open_get.so');
const HORNET = process.env.HORNET;

const h = require('./harness')({ shots: SHOTS, prefix: 'capacity-' });
const { assert, step, until } = h;
let target = null;

/* 4 requests served at a time, 200 ms each; the rest wait their turn. */
function startTarget() {
    let busy = 0;
    const queue = [];
    function serve(res) {
        busy++;
        setTimeout(() => {
            res.writeHead(200, { 'Content-Length': '2' });
            res.end('ok');
            busy--;
            if (queue.length) serve(queue.shift());
        }, 200);
    }
    target = http.createServer((req, res) => {
        req.resume();
        req.on('end', () => (busy < 4 ? serve(res) : queue.push(res)));
    });
    target.keepAliveTimeout = 60000;
    return new Promise((resolve) => target.listen(0, '127.0.0.1', () =>
        resolve('http://127.0.0.1:' + target.address().port)));
}


h.main(async () => {
    assert(HORNET && fs.existsSync(HORNET), 'HORNET is not set to the hornet binary');
    assert(fs.existsSync(PLUGIN), PLUGIN + ' is missing');
    fs.mkdirSync(SHOTS, { recursive: true });
    const url = await h.startHornet(['-f', PLUGIN, '-H', await startTarget(), '--web-port', '0']);
    const page = await h.newPage(null, { width: 1280, height: 900 });

    await step('the start form offers the capacity search', page, async () => {
        await page.goto(url, { waitUntil: 'load' });
        await page.waitForSelector('#start-form:not([hidden])');
        assert(await page.isHidden('#field-capacity-step'), 'the step field shows before the box is ticked');
        await page.check('#f-capacity');
        assert(await page.isVisible('#field-capacity-step') && await page.isVisible('#field-capacity-hold'),
            'the step and hold fields do not show');
        await page.fill('#f-users', '2');
        await page.fill('#f-rate', '10');
        await page.fill('#f-capacity-step', '2');
        await page.fill('#f-capacity-hold', '2s');
        await page.fill('#f-thresholds', 'p95<300ms');
        /* Stages set the load themselves: no capacity search with them. */
        await page.check('#f-profile-stages');
        assert(await page.isHidden('#field-capacity'), 'the capacity box shows with stages');
        await page.check('#f-profile-fixed');
        assert(await page.isVisible('#field-capacity-step'), 'the step field is gone after stages');
    });

    await step('the search finds 4 users and draws the knee', page, async () => {
        await page.click('#btn-start');
        await page.click('[data-tab="charts"]');
        await until(page, () => !document.getElementById('capacity-card').hidden, null, 15000, 'the capacity chart');
        await until(page, () => /capacity: 4 users held; 6 users broke p95<300ms/.test(
            document.getElementById('capacity-outcome').textContent), null, 60000, 'the outcome');
        const s = await page.evaluate(async () => (await fetch('/api/stats')).json());
        assert(s.capacity && s.capacity.steps.length === 3, 'steps: ' + JSON.stringify(s.capacity));
        assert(s.capacity.held === 4 && s.capacity.knee === 4, 'held/knee: ' + JSON.stringify(s.capacity));
        assert(/capacity: 4 users held/.test(s.stop_reason || ''), 'stop reason: ' + s.stop_reason);
        await page.locator('#capacity-card').scrollIntoViewIfNeeded();
        /* Drawn: coloured pixels on the canvas. */
        const drawn = await page.evaluate(() => {
            const c = document.getElementById('chart-capacity');
            const d = c.getContext('2d').getImageData(0, 0, c.width, c.height).data;
            let n = 0;
            for (let i = 0; i < d.length; i += 4) if (d[i + 3] > 0 && (d[i] !== d[i + 1] || d[i + 1] !== d[i + 2])) n++;
            return n;
        });
        assert(drawn > 200, 'the capacity chart drew ' + drawn + ' coloured pixels');
        await page.locator('#capacity-card').screenshot({ path: path.join(SHOTS, 'capacity-chart.png') });
    });
}, () => { if (target) target.close(); });
