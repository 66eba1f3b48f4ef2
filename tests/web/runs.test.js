/*
 * runs.test.js: the Runs tab. Two short runs of the demo end and appear
 * there (newest first); "Compare base with new" shows the verdict and the
 * figures that changed; "Draw as baseline" draws the older run's rates and
 * p95 behind the charts (dashed), and "No baseline" takes them away. And
 * the drill-down: a click on an entry of the Statistics tab opens its own
 * charts (rates, percentiles over time) and its response-time distribution.
 *
 * Env: HORNET (the binary), HN_BUILD_DIR (screenshots, as runs-*.png in
 * e2e-screenshots), CHROMIUM (default /usr/bin/chromium).
 */
'use strict';

const fs = require('fs');
const path = require('path');

const BUILD_DIR = process.env.HN_BUILD_DIR;
const SHOTS = path.join(BUILD_DIR || '/tmp', 'e2e-screenshots');
const HORNET = process.env.HORNET;

const h = require('./harness')({ shots: SHOTS, prefix: 'runs-' });
const { assert, step, until } = h;

h.main(async () => {
    assert(HORNET && fs.existsSync(HORNET), 'HORNET is not set to the hornet binary');
    fs.mkdirSync(SHOTS, { recursive: true });
    const url = await h.startHornet(['--demo', '--web-port', '0']);
    const page = await h.newPage(null, { width: 1280, height: 1000 });

    async function oneRun() {
        await page.evaluate(async () => {
            const r = await fetch('/api/swarm', { method: 'POST', headers: { 'Content-Type': 'application/json' },
                body: JSON.stringify({ users: 3, spawn_rate: 30, run_time: '2s' }) });
            if (!r.ok) throw new Error('start: ' + r.status);
        });
        await until(page, () => document.getElementById('state').textContent.trim().toLowerCase() === 'running',
            null, 15000, 'running');
        await until(page, () => document.getElementById('state').textContent.trim().toLowerCase() === 'stopped',
            null, 30000, 'stopped');
    }

    await step('two runs end and are listed', page, async () => {
        await page.goto(url, { waitUntil: 'load' });
        await oneRun();
        await oneRun();
        await page.click('[data-tab="runs"]');
        await until(page, () => document.querySelectorAll('#runs-table tbody tr[data-run]').length === 2,
            null, 15000, 'two runs in the table');
        const ids = await page.$$eval('#runs-table tbody tr[data-run]', (trs) => trs.map((t) => t.getAttribute('data-run')));
        assert(ids.join(',') === '2,1', 'rows: ' + ids);
        assert(await page.textContent('#badge-runs') === '2', 'the tab badge');
    });

    await step('an entry opens its own charts', page, async () => {
        await page.click('[data-tab="stats"]');
        await page.click('#stats-wrap tr[data-type="GET"][data-name="/"]');
        await until(page, () => !document.getElementById('entry-detail').hidden &&
            /requests/.test(document.getElementById('entry-summary').textContent), null, 10000, 'the entry detail');
        assert(await page.textContent('#entry-title') === 'GET /', 'title: ' + await page.textContent('#entry-title'));
        const drawn = await page.evaluate(() => ['chart-entry-rps', 'chart-entry-rt', 'chart-entry-dist'].map((id) => {
            const ch = Chart.getChart(document.getElementById(id));
            return ch ? ch.data.datasets.reduce((n, d) => n + d.data.length, 0) : 0;
        }));
        assert(drawn.every((n) => n > 0), 'points per chart: ' + drawn);
        await page.locator('#entry-detail').screenshot({ path: path.join(SHOTS, 'runs-entry-detail.png') });
        await page.click('#btn-entry-close');
        assert(await page.isHidden('#entry-detail'), 'the detail did not close');
        await page.click('[data-tab="runs"]');
    });

    await step('compare base with new', page, async () => {
        await page.fill('#runs-tolerance', '50%');
        await page.click('#btn-compare');
        await until(page, () => !!document.querySelector('#compare-table'), null, 10000, 'the comparison');
        const verdict = await page.textContent('.compare-verdict');
        assert(/Run 2 against run 1: (same|better|worse)/.test(verdict), 'verdict: ' + verdict);
        const rows = await page.$$eval('#compare-table tbody tr', (trs) => trs.map((t) => t.textContent));
        assert(rows.filter((r) => /Aggregated/.test(r)).length === 5, 'Aggregated rows: ' + rows.length);
    });

    await step('run 1 drawn as the baseline behind the charts', page, async () => {
        await page.click('.run-overlay[data-run="1"]');
        await until(page, () => /Drawn/.test(document.querySelector('.run-overlay[data-run="1"]').textContent),
            null, 10000, 'the overlay');
        await page.click('[data-tab="charts"]');
        const labels = await page.evaluate(() => Chart.getChart(document.getElementById('chart-rps'))
            .data.datasets.map((d) => d.label + ':' + d.data.length));
        assert(labels.some((l) => /^Baseline RPS:[1-9]/.test(l)), 'datasets: ' + labels);
        await page.click('[data-tab="runs"]');
        await page.click('#btn-overlay-off');
        await page.click('[data-tab="charts"]');
        const after = await page.evaluate(() => Chart.getChart(document.getElementById('chart-rps'))
            .data.datasets.map((d) => d.label));
        assert(!after.some((l) => /^Baseline/.test(l)), 'still drawn: ' + after);
    });
});
