/*
 * hornet's HTML report: renders the run's data (the JSON in the script
 * element with id "data"; see report/report_html.c and docs/report.md) into
 * the tables and Chart.js charts of web/report.html. Inlined into every
 * report.
 *
 * Every piece of data goes into the page through textContent or
 * setAttribute, never as markup. When the charts have drawn, <html> gets
 * data-rendered="true" (or "error"), which the browser test waits for.
 */
(function () {
    'use strict';

    var PCTS = ['50', '66', '75', '80', '90', '95', '98', '99', '99.9', '99.99', '100'];
    var root = document.documentElement;
    var data;

    try {
        data = JSON.parse(document.getElementById('data').textContent);
    } catch (e) {
        fatal('The report data could not be read: ' + e.message);
        return;
    }

    var run = data.run || {};
    var rep = data.report || {};
    var meta = rep.meta || {};
    var total = data.total || {};
    var entries = Array.isArray(data.entries) ? data.entries : [];
    var history = Array.isArray(data.history) ? data.history : [];
    /* Present only in distributed mode (the master's report). */
    var workers = Array.isArray(data.workers) ? data.workers : null;
    var intFmt = new Intl.NumberFormat('en-US', { maximumFractionDigits: 0 });
    /* Locust warns when a worker's CPU passes 90%; a hornet worker has
     * several threads, so 90% of what its threads can use. */
    var CPU_HOT = 90;

    /* -------------------------------------------------------------------- */
    /* Formatting                                                           */

    function num(v) {
        return typeof v === 'number' && isFinite(v) ? v : 0;
    }

    function fmtInt(v) {
        return intFmt.format(Math.round(num(v)));
    }

    function fixed(v, digits) {
        return num(v).toLocaleString('en-US', {
            minimumFractionDigits: digits, maximumFractionDigits: digits
        });
    }

    /* Milliseconds: about three significant digits, grouped thousands. */
    function fmtMs(v) {
        if (v === null || v === undefined) return 'N/A';
        v = num(v);
        if (v >= 100) return fmtInt(v);
        if (v >= 10) return fixed(v, 1);
        return fixed(v, 2);
    }

    function fmtRate(v) {
        v = num(v);
        return fixed(v, v >= 100 ? 1 : 2);
    }

    function fmtPct(ratio) {
        var p = num(ratio) * 100;
        if (p === 0) return '0%';
        if (p < 0.01) return '<0.01%';
        return fixed(p, p >= 10 ? 1 : 2) + '%';
    }

    function fmtBytes(v) {
        var units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
        v = num(v);
        var i = 0;
        while (v >= 1024 && i < units.length - 1) {
            v /= 1024;
            i++;
        }
        return (i === 0 || v >= 100 ? fmtInt(v) : fixed(v, 1)) + ' ' + units[i];
    }

    function pad(n, w) {
        var s = String(n);
        while (s.length < (w || 2)) s = '0' + s;
        return s;
    }

    /* Unix seconds as local "YYYY-MM-DD HH:MM:SS". */
    function fmtWall(t) {
        if (!(num(t) > 0)) return '–';
        var d = new Date(t * 1000);
        return d.getFullYear() + '-' + pad(d.getMonth() + 1) + '-' + pad(d.getDate()) + ' ' +
            pad(d.getHours()) + ':' + pad(d.getMinutes()) + ':' + pad(d.getSeconds());
    }

    function tzName(t) {
        var off = -new Date((num(t) || Date.now() / 1000) * 1000).getTimezoneOffset();
        var sign = off < 0 ? '-' : '+';
        off = Math.abs(off);
        return 'UTC' + sign + pad(Math.floor(off / 60)) + ':' + pad(off % 60);
    }

    function fmtWallTz(t) {
        return fmtWall(t) + ' ' + tzName(t);
    }

    function fmtDuration(s) {
        s = num(s);
        if (s < 60) return (s < 10 ? fixed(s, 1) : String(Math.round(s))) + ' s';
        s = Math.round(s);
        var h = Math.floor(s / 3600);
        var m = Math.floor((s % 3600) / 60);
        var sec = s % 60;
        if (h > 0) return h + ' h ' + pad(m) + ' min ' + pad(sec) + ' s';
        return m + ' min ' + pad(sec) + ' s';
    }

    /* Compact, for the summary tile: "45.2 s", "5m 03s", "1h 00m". */
    function fmtDurationShort(s) {
        s = num(s);
        if (s < 60) return (s < 10 ? fixed(s, 1) : String(Math.round(s))) + ' s';
        s = Math.round(s);
        var h = Math.floor(s / 3600);
        var m = Math.floor((s % 3600) / 60);
        if (h > 0) return h + 'h ' + pad(m) + 'm';
        return m + 'm ' + pad(s % 60) + 's';
    }

    /* Seconds since the start, for chart axes: "m:ss" or "h:mm:ss". */
    function fmtElapsed(s) {
        s = Math.max(0, Math.round(num(s)));
        var h = Math.floor(s / 3600);
        var m = Math.floor((s % 3600) / 60);
        if (h > 0) return h + ':' + pad(m) + ':' + pad(s % 60);
        return m + ':' + pad(s % 60);
    }

    /* -------------------------------------------------------------------- */
    /* DOM helpers: text only                                               */

    function $(id) {
        return document.getElementById(id);
    }

    function el(tag, cls, text) {
        var e = document.createElement(tag);
        if (cls) e.className = cls;
        if (text !== undefined && text !== null) e.textContent = String(text);
        return e;
    }

    function td(text, cls, title) {
        var c = el('td', cls, text);
        if (title) c.setAttribute('title', title);
        return c;
    }

    function fatal(msg) {
        var m = document.querySelector('main') || document.body;
        var p = el('p', 'notice', msg);
        m.insertBefore(p, m.firstChild);
        root.setAttribute('data-rendered', 'error');
    }

    function show(node, yes) {
        node.hidden = !yes;
    }

    /* -------------------------------------------------------------------- */
    /* Header, summary and run metadata                                     */

    var stopped = run.state === 'stopped' || num(meta.end_time) > 0;
    var peakUsers = 0;
    history.forEach(function (p) { peakUsers = Math.max(peakUsers, num(p.users)); });

    function renderHead() {
        var parts = [];
        if (meta.host) parts.push(meta.host);
        if (num(meta.start_time) > 0) parts.push(fmtWallTz(meta.start_time));
        parts.push(fmtDuration(meta.duration_s));
        $('subtitle').textContent = parts.join('  ·  ');
        var notStarted = !(num(meta.start_time) > 0);
        if (notStarted)
            $('in-progress').textContent = 'No run had started when this report was made.';
        show($('in-progress'), !stopped || notStarted);
        var lg = run.load_generator;
        if (lg && lg.warning) {
            $('loadgen-warning').textContent = 'Warning: ' + lg.warning + '.';
            show($('loadgen-warning'), true);
        }

        var p = total.percentiles || {};
        var tiles = [
            ['Requests', fmtInt(total.requests), fmtRate(total.total_rps) + ' req/s average'],
            ['Failures', fmtInt(total.failures), fmtPct(data.fail_ratio) + ' of requests',
                num(total.failures) > 0],
            ['Median', fmtMs(p['50']) + ' ms', 'average ' + fmtMs(total.avg_ms) + ' ms'],
            ['95th percentile', fmtMs(p['95']) + ' ms', '99th: ' + fmtMs(p['99']) + ' ms'],
            ['Max response', fmtMs(total.max_ms) + ' ms', 'min ' + fmtMs(total.min_ms) + ' ms'],
            ['Users', fmtInt(Math.max(peakUsers, num(run.users))),
                'peak; ' + fmtInt(meta.users) + ' asked for'],
            ['Duration', fmtDurationShort(meta.duration_s),
                stopped ? 'finished' : notStarted ? 'not started' : 'still running']
        ];
        var box = $('kpis');
        tiles.forEach(function (t) {
            var k = el('div', 'kpi' + (t[3] ? ' bad' : ''));
            k.appendChild(el('div', 'kpi-label', t[0]));
            k.appendChild(el('div', 'kpi-value', t[1]));
            k.appendChild(el('div', 'kpi-sub', t[2]));
            box.appendChild(k);
        });
    }

    function renderMeta() {
        var rows = [
            ['hornet version', meta.version || '–'],
            ['Plugin', meta.plugin || 'built-in demo'],
            ['Host', meta.host || '–'],
            [run.open ? 'Most users (pool)' : 'Users', fmtInt(meta.users)],
            run.open ? null
                : ['Spawn rate', fixed(meta.spawn_rate, num(meta.spawn_rate) % 1 ? 2 : 0) + ' users/s'],
            ['Start', num(meta.start_time) > 0 ? fmtWallTz(meta.start_time) : '–'],
            ['End', num(meta.end_time) > 0 ? fmtWallTz(meta.end_time) : 'still running'],
            ['Duration', fmtDuration(meta.duration_s) +
                (num(run.run_time_s) > 0 ? ' (limit ' + fmtDuration(run.run_time_s) + ')' : '')],
            ['Stop reason', meta.stop_reason || (stopped ? '–' : 'still running')],
            workers ? ['Workers', workerSummary()] : null,
            run.open ? ['Open model', fixed(run.open.arrival_rate, 2) + ' iterations/s asked, ' +
                fixed(run.open.achieved_rate, 2) + ' achieved; ' + fmtInt(run.open.iterations) +
                ' started, ' + fmtInt(run.open.dropped_iterations) + ' dropped'] : null,
            run.open ? ['Start lag', 'p50 ' + fmtMs(run.open.start_lag_ms.p50) + ' ms, p95 ' +
                fmtMs(run.open.start_lag_ms.p95) + ' ms, max ' + fmtMs(run.open.start_lag_ms.max) +
                ' ms (latencies count from each iteration\'s intended start)'] : null,
            Array.isArray(run.stages) && run.stages.length ? ['Load profile', run.stages.map(function (st) {
                return fmtDuration(st.duration_s) + ' to ' + fmtInt(st.users);
            }).join(', ')] : null,
            Array.isArray(run.params) && run.params.length ? ['Parameters', run.params.map(function (p) {
                return p.name + ' = ' + p.value;
            }).join(', ')] : null,
            ['Report made', fmtWallTz(rep.generated_at)]
        ];
        var dl = $('meta');
        rows.forEach(function (r) {
            if (!r) return;
            var d = el('div');
            d.appendChild(el('dt', null, r[0]));
            d.appendChild(el('dd', null, r[1]));
            dl.appendChild(d);
        });
    }

    /* -------------------------------------------------------------------- */
    /* Tables: sortable by a click on the header, filtered by name          */

    function sortable(table, get, render, numericKeys) {
        var state = { key: null, dir: 1 };
        var ths = table.querySelectorAll('thead th[data-key]');
        Array.prototype.forEach.call(ths, function (th) {
            th.setAttribute('tabindex', '0');
            function go() {
                var key = th.getAttribute('data-key');
                if (state.key === key) {
                    state.dir = -state.dir;
                } else {
                    state.key = key;
                    state.dir = numericKeys(key) ? -1 : 1;
                }
                Array.prototype.forEach.call(ths, function (o) { o.removeAttribute('aria-sort'); });
                th.setAttribute('aria-sort', state.dir > 0 ? 'ascending' : 'descending');
                render();
            }
            th.addEventListener('click', go);
            th.addEventListener('keydown', function (ev) {
                if (ev.key === 'Enter' || ev.key === ' ') {
                    ev.preventDefault();
                    go();
                }
            });
        });
        return function (rows) {
            if (state.key === null) return rows;
            var key = state.key;
            return rows.slice().sort(function (a, b) {
                var x = get(a, key);
                var y = get(b, key);
                var c;
                if (typeof x === 'number' || typeof y === 'number') c = num(x) - num(y);
                else c = String(x).localeCompare(String(y));
                return c * state.dir;
            });
        };
    }

    function entryKey(e, key) {
        if (key.indexOf('p:') === 0) {
            var v = (e.percentiles || {})[key.slice(2)];
            return v === null || v === undefined ? -1 : v;
        }
        return e[key];
    }

    function isNumericKey(key) {
        return key !== 'type' && key !== 'name' && key !== 'message' && key !== 'user_type' &&
            key !== 'task' && key !== 'id' && key !== 'host' && key !== 'state' &&
            key !== 'verdict' && key !== 'metric' && key !== 'expr';
    }

    var filterText = '';

    function matches(e) {
        if (!filterText) return true;
        var hay = (String(e.type) + ' ' + String(e.name)).toLowerCase();
        return hay.indexOf(filterText) !== -1;
    }

    function statsCells(tr, e) {
        tr.appendChild(td(e.type));
        tr.appendChild(td(e.name, 'name'));
        tr.appendChild(td(fmtInt(e.requests), 'num'));
        tr.appendChild(td(fmtInt(e.failures), 'num' + (num(e.failures) > 0 ? ' fail' : ''),
            num(e.requests) > 0 ? fmtPct(e.fail_ratio) + ' failed' : null));
        tr.appendChild(td(fmtMs(e.median_ms), 'num'));
        tr.appendChild(td(fmtMs(e.avg_ms), 'num'));
        tr.appendChild(td(fmtMs(e.min_ms), 'num'));
        tr.appendChild(td(fmtMs(e.max_ms), 'num'));
        tr.appendChild(td(fmtInt(e.avg_bytes), 'num'));
        tr.appendChild(td(fmtRate(e.total_rps), 'num'));
        tr.appendChild(td(fmtRate(e.total_fail_s), 'num'));
    }

    function pctCells(tr, e) {
        tr.appendChild(td(e.type));
        tr.appendChild(td(e.name, 'name'));
        var p = e.percentiles || {};
        PCTS.forEach(function (k) { tr.appendChild(td(fmtMs(p[k]), 'num')); });
        tr.appendChild(td(fmtInt(e.requests), 'num'));
    }

    function makeEntryTable(id, cells) {
        var table = $(id);
        var body = table.tBodies[0];
        var sorter;
        function render() {
            var frag = document.createDocumentFragment();
            sorter(entries.filter(matches)).forEach(function (e) {
                var tr = el('tr');
                cells(tr, e);
                frag.appendChild(tr);
            });
            body.textContent = '';
            body.appendChild(frag);
        }
        sorter = sortable(table, entryKey, render, isNumericKey);
        var foot = el('tr');
        cells(foot, total);
        foot.firstChild.textContent = '';
        table.tFoot.appendChild(foot);
        render();
        return render;
    }

    function renderStats() {
        var head = $('pct-head');
        PCTS.forEach(function (k) {
            var th = el('th', 'num', k + '%');
            th.setAttribute('data-key', 'p:' + k);
            head.appendChild(th);
        });
        var th = el('th', 'num', '# Requests');
        th.setAttribute('data-key', 'requests');
        head.appendChild(th);

        var renders = [makeEntryTable('stats-table', statsCells),
            makeEntryTable('pct-table', pctCells)];
        var input = $('filter');
        input.addEventListener('input', function () {
            filterText = input.value.trim().toLowerCase();
            renders.forEach(function (r) { r(); });
        });
    }

    function makeListTable(sectionId, rows, cells, countId) {
        var section = $(sectionId);
        var table = section.querySelector('table');
        var body = table.tBodies[0];
        $(countId).textContent = rows.length ? '(' + fmtInt(rows.length) + ')' : '';
        show(section.querySelector('.table-wrap'), rows.length > 0);
        show(section.querySelector('.empty'), rows.length === 0);
        var sorter;
        function render() {
            var frag = document.createDocumentFragment();
            sorter(rows).forEach(function (r) {
                var tr = el('tr');
                cells(tr, r);
                frag.appendChild(tr);
            });
            body.textContent = '';
            body.appendChild(frag);
        }
        sorter = sortable(table, function (r, k) { return r[k]; }, render, isNumericKey);
        render();
    }

    function renderFailures() {
        var errs = Array.isArray(data.errors) ? data.errors : [];
        makeListTable('failures-section', errs, function (tr, e) {
            tr.appendChild(td(fmtInt(e.count), 'num'));
            tr.appendChild(td(e.type));
            tr.appendChild(td(e.name, 'name'));
            tr.appendChild(td(e.message, 'msg'));
            tr.appendChild(td(fmtWall(e.first_seen), 'time'));
            tr.appendChild(td(fmtWall(e.last_seen), 'time'));
        }, 'failures-count');
    }

    function renderExceptions() {
        var exc = Array.isArray(data.exceptions) ? data.exceptions : [];
        makeListTable('exceptions-section', exc, function (tr, x) {
            tr.appendChild(td(fmtInt(x.count), 'num'));
            tr.appendChild(td(x.user_type));
            tr.appendChild(td(x.task, 'name'));
            tr.appendChild(td(x.message, 'msg'));
            tr.appendChild(td(fmtWall(x.first_seen), 'time'));
            tr.appendChild(td(fmtWall(x.last_seen), 'time'));
        }, 'exceptions-count');
    }

    function renderRatios() {
        var ratios = Array.isArray(data.ratios) ? data.ratios : [];
        var section = $('ratio-section');
        var box = $('ratios');
        show(section.querySelector('.empty'), ratios.length === 0);
        ratios.forEach(function (r) {
            var d = el('div', 'ratio-type');
            var head = el('div', 'ratio-head');
            head.appendChild(el('span', null, r.user_type));
            /* Running users are 0 once the run stopped: then only the split. */
            head.appendChild(el('span', null, num(r.users) > 0 ?
                fmtInt(r.users) + ' users · ' + fmtPct(r.ratio) : ''));
            d.appendChild(head);
            (Array.isArray(r.tasks) ? r.tasks : []).forEach(function (t) {
                var row = el('div', 'ratio-task');
                if (num(r.ratio) > 0)
                    row.setAttribute('title',
                        fmtPct(num(t.ratio) * num(r.ratio)) + ' of all tasks run');
                row.appendChild(el('span', 'task', t.task));
                var bar = el('div', 'bar');
                var fill = el('span');
                fill.style.width = Math.max(0, Math.min(100, num(t.ratio) * 100)) + '%';
                bar.appendChild(fill);
                row.appendChild(bar);
                row.appendChild(el('span', 'pct', fmtPct(t.ratio)));
                d.appendChild(row);
            });
            box.appendChild(d);
        });
    }

    function isMissing(w) {
        return w.state === 'missing';
    }

    function workerSummary() {
        var missing = workers.filter(isMissing).length;
        var n = workers.length - missing;
        return fmtInt(n) + (n === 1 ? ' worker' : ' workers') +
            (missing ? ' (and ' + fmtInt(missing) + ' missing)' : '');
    }

    /* Distributed runs only: the worker processes as the master last saw them. */
    /* As the console and the JUnit file write it. */
    function fmtThresholdValue(t) {
        if (t.value === null || t.value === undefined) return 'no data';
        var v = num(t.value);
        if (t.unit === 'ms') return fixed(v, v < 10 ? 2 : v < 100 ? 1 : 0) + ' ms';
        if (t.unit === 'ratio') return fixed(v * 100, 2) + '%';
        if (t.unit === 'rps') return fixed(v, 2) + ' req/s';
        return fmtInt(v);
    }

    function renderThresholds() {
        var ts = Array.isArray(data.thresholds) ? data.thresholds : [];
        if (!ts.length) return;
        show($('thresholds-section'), true);
        var failing = ts.filter(function (t) { return t.verdict !== 'pass'; }).length;
        $('thresholds-hint').textContent = failing
            ? failing + ' of ' + ts.length + ' thresholds failed: the run failed its release gate (exit code 3).'
            : 'Every threshold held over the whole run.';
        makeListTable('thresholds-section', ts, function (tr, t) {
            var fail = t.verdict !== 'pass';
            tr.appendChild(td(t.verdict, fail ? 'fail' : 'ok'));
            tr.appendChild(td(t.expr, 'name mono'));
            tr.appendChild(td(fmtThresholdValue(t), 'num' + (fail ? ' fail' : '')));
            tr.appendChild(td(t.abort ? 'ends the run' : 'fails the run'));
        }, 'thresholds-count');
    }

    var METRIC_LABELS = {rps: 'req/s', p50: 'p50', p95: 'p95', p99: 'p99', fail_ratio: 'failure ratio'};

    function fmtCompared(metric, v) {
        if (metric === 'fail_ratio') return fixed(num(v) * 100, 2) + '%';
        if (metric === 'rps') return fixed(v, 2);
        return fmtMs(v) + ' ms';
    }

    /* --baseline: the same comparison as the console and hornet compare. */
    function renderComparison() {
        var c = data.comparison;
        if (!c || !Array.isArray(c.rows)) return;
        show($('comparison-section'), true);
        var tol = fixed(num(c.tolerance) * 100, 0) + '%';
        $('comparison-hint').textContent = 'Verdict: ' + c.verdict + ' (' + fmtInt(c.worse) +
            ' worse, ' + fmtInt(c.better) + ' better; changes within ' + tol + ' count as the same)' +
            (c.baseline && c.baseline.start_time ? '. Baseline run of ' + fmtWallTz(c.baseline.start_time) : '') + '.';
        var rows = c.rows.map(function (r) {
            return {verdict: r.verdict, type: r.type, name: r.name, metric: r.metric,
                    base: r.base, 'new': r['new'], change: r.change};
        });
        makeListTable('comparison-section', rows, function (tr, r) {
            tr.appendChild(td(r.verdict, r.verdict === 'worse' ? 'fail' : r.verdict === 'better' ? 'ok' : null));
            tr.appendChild(td(r.type));
            tr.appendChild(td(r.name, 'name mono'));
            tr.appendChild(td(METRIC_LABELS[r.metric] || r.metric));
            tr.appendChild(td(fmtCompared(r.metric, r.base), 'num'));
            tr.appendChild(td(fmtCompared(r.metric, r['new']), 'num'));
            tr.appendChild(td(r.change === null || r.change === undefined ? 'n/a'
                : (num(r.change) >= 0 ? '+' : '') + fixed(num(r.change) * 100, 1) + '%', 'num'));
        }, 'comparison-count');
    }

    /* --find-capacity: the steps as a chart (throughput and p95 against the
     * load) and a table, and what the search found. */
    function renderCapacity() {
        var c = run.capacity;
        if (!c || !Array.isArray(c.steps)) return;
        show($('capacity-section'), true);
        var unit = c.model === 'users' ? 'users' : 'iterations/s';
        $('capacity-hint').textContent = (c.outcome ? c.outcome + '.' : 'The search had not ended when this report was made.') +
            ' Each step was held ' + fmtDurationShort(c.hold_s) + ' and judged on its own figures.';
        $('capacity-load-head').textContent = c.model === 'users' ? 'Users' : 'Iterations/s';
        var rows = c.steps.map(function (st) {
            return { load: st.load, rps: st.rps, p50_ms: st.p50_ms, p95_ms: st.p95_ms, p99_ms: st.p99_ms,
                     fail_ratio: st.fail_ratio, verdict: st.held ? 'held' : 'broke ' + (st.broken || '') };
        });
        makeListTable('capacity-section', rows, function (tr, r) {
            tr.appendChild(td(fixed(r.load, r.load % 1 ? 2 : 0) + (c.knee === r.load ? ' (knee)' : ''), 'num'));
            tr.appendChild(td(fixed(r.rps, 2), 'num'));
            tr.appendChild(td(fmtMs(r.p50_ms) + ' ms', 'num'));
            tr.appendChild(td(fmtMs(r.p95_ms) + ' ms', 'num'));
            tr.appendChild(td(fmtMs(r.p99_ms) + ' ms', 'num'));
            tr.appendChild(td(fmtPct(r.fail_ratio), 'num'));
            tr.appendChild(td(r.verdict, /^broke/.test(r.verdict) ? 'fail' : 'ok'));
        }, 'capacity-count');
        if (typeof Chart !== 'function' || !c.steps.length) return;
        var chart = new Chart($('chart-capacity'), {
            type: 'line',
            data: { datasets: [
                { label: 'Throughput (req/s)', colorVar: '--c-rps', yAxisID: 'y', pointRadius: 4, borderWidth: 1.6,
                  data: c.steps.map(function (st) { return { x: st.load, y: num(st.rps) }; }) },
                { label: 'p95 (ms)', colorVar: '--c-p95', yAxisID: 'y2', pointRadius: 4, borderWidth: 1.6,
                  data: c.steps.map(function (st) { return { x: st.load, y: num(st.p95_ms) }; }) }
            ] },
            options: {
                animation: false, responsive: true, maintainAspectRatio: false, parsing: false,
                devicePixelRatio: Math.max(window.devicePixelRatio || 1, 2),
                scales: {
                    x: { type: 'linear', title: { display: true, text: unit }, ticks: { stepSize: c.step }, grid: {} },
                    y: { beginAtZero: true, title: { display: true, text: 'req/s' }, ticks: {}, grid: {} },
                    y2: { beginAtZero: true, position: 'right', title: { display: true, text: 'p95 ms' },
                          grid: { display: false } }
                },
                plugins: { legend: { display: true, labels: { boxWidth: 12, boxHeight: 2 } } }
            }
        });
        charts.push(chart);
    }

    function renderWorkers() {
        if (!workers) return;
        show($('workers-section'), true);
        $('workers-hint').textContent = 'As the master last saw them. CPU is the share of one core ' +
            'over the last report (highlighted above ' + CPU_HOT + '% of what its threads can use); ' +
            'memory is the resident set. A missing worker stopped answering; its users were ' +
            're-spread over the others.';
        makeListTable('workers-section', workers, function (tr, w) {
            if (isMissing(w)) tr.className = 'missing';
            tr.appendChild(td(w.id, 'name mono'));
            tr.appendChild(td(w.host, 'name'));
            tr.appendChild(td(w.state, isMissing(w) ? 'fail' : null));
            tr.appendChild(td(fmtInt(w.users), 'num'));
            tr.appendChild(td(fmtInt(w.threads), 'num'));
            var hot = num(w.cpu_percent) > CPU_HOT * Math.max(1, num(w.threads));
            tr.appendChild(td(fixed(w.cpu_percent, 1) + '%', 'num' + (hot ? ' hot' : ''),
                hot ? 'above ' + CPU_HOT + '% of its ' + fmtInt(w.threads) + ' threads: CPU-bound' : null));
            tr.appendChild(td(fmtBytes(w.rss_bytes), 'num'));
            tr.appendChild(td(fmtWall(w.last_heartbeat), 'time'));
        }, 'workers-count');
    }

    function renderFooter() {
        var n = num(rep.history_points);
        var text = 'Generated by hornet' + (meta.version ? ' ' + meta.version : '') + ' on ' +
            fmtWallTz(rep.generated_at) + '.';
        if (n > 0) {
            text += ' History: ' + fmtInt(n) + ' per-second points';
            if (num(rep.history_bucket) > 1)
                text += ', charted as ' + fmtInt(history.length) + ' intervals of ' +
                    fmtInt(rep.history_bucket) + ' s (each showing its peak)';
            text += '.';
        }
        $('footer').textContent = text;
    }

    /* -------------------------------------------------------------------- */
    /* Charts                                                               */

    var charts = [];

    function cssVar(name) {
        return getComputedStyle(root).getPropertyValue(name).trim();
    }

    /* "#rrggbb" with alpha, for area fills. */
    function alpha(color, a) {
        var m = /^#([0-9a-f]{6})$/i.exec(color);
        if (!m) return color;
        var v = parseInt(m[1], 16);
        return 'rgba(' + (v >> 16) + ',' + ((v >> 8) & 255) + ',' + (v & 255) + ',' + a + ')';
    }

    /* Axis labels: no decimals unless the step needs them. */
    function fmtTick(v) {
        return num(v).toLocaleString('en-US', { maximumFractionDigits: 2 });
    }

    /* A step that gives at most ~10 ticks at whole, readable intervals. */
    function timeStep(span) {
        var steps = [1, 2, 5, 10, 15, 30, 60, 120, 300, 600, 900, 1800, 3600, 7200, 10800,
            21600, 43200, 86400];
        for (var i = 0; i < steps.length; i++)
            if (span / steps[i] <= 10) return steps[i];
        return Math.ceil(span / 10 / 86400) * 86400;
    }

    function makeChart(canvas, series, opts) {
        var t0 = history.length ? history[0].time : 0;
        if (num(meta.start_time) > 0 && meta.start_time <= t0) t0 = meta.start_time;
        var span = history.length ? history[history.length - 1].time - t0 : 0;
        var few = history.length <= 60;
        var datasets = series.map(function (s) {
            return {
                label: s.label,
                colorVar: s.color,
                fillArea: !!s.fill,
                data: history.map(function (p) { return { x: p.time - t0, y: num(p[s.key]) }; }),
                borderWidth: 1.6,
                pointRadius: few ? 2 : 0,
                pointHoverRadius: 3,
                tension: 0,
                stepped: !!s.stepped,
                fill: s.fill ? 'origin' : false
            };
        });
        var chart = new Chart(canvas, {
            type: 'line',
            data: { datasets: datasets },
            options: {
                animation: false,
                responsive: true,
                maintainAspectRatio: false,
                parsing: false,
                normalized: true,
                devicePixelRatio: Math.max(window.devicePixelRatio || 1, 2),
                interaction: { mode: 'index', intersect: false },
                scales: {
                    x: {
                        type: 'linear',
                        min: 0,
                        max: Math.max(span, 1),
                        ticks: { stepSize: timeStep(Math.max(span, 1)), maxRotation: 0,
                            callback: function (v) { return fmtElapsed(v); } },
                        grid: {}
                    },
                    y: {
                        beginAtZero: true,
                        ticks: { precision: opts.integer ? 0 : undefined, callback: fmtTick },
                        grid: {}
                    }
                },
                plugins: {
                    legend: { display: series.length > 1, labels: { boxWidth: 12, boxHeight: 2 } },
                    tooltip: {
                        callbacks: {
                            title: function (items) {
                                if (!items.length) return '';
                                var x = items[0].parsed.x;
                                return fmtElapsed(x) + '  (' + fmtWall(t0 + x) + ')';
                            },
                            label: function (item) {
                                return item.dataset.label + ': ' + opts.fmt(item.parsed.y);
                            }
                        }
                    }
                }
            }
        });
        charts.push(chart);
    }

    /* Colours come from the CSS variables, so the charts follow the theme. */
    function colorCharts() {
        var text = cssVar('--chart-text');
        var grid = cssVar('--chart-grid');
        charts.forEach(function (c) {
            c.data.datasets.forEach(function (d) {
                var col = cssVar(d.colorVar);
                d.borderColor = col;
                d.pointBackgroundColor = col;
                d.backgroundColor = d.fillArea ? alpha(col, 0.12) : col;
            });
            ['x', 'y'].forEach(function (a) {
                c.options.scales[a].ticks.color = text;
                c.options.scales[a].grid.color = grid;
                c.options.scales[a].grid.borderColor = grid;
            });
            c.options.plugins.legend.labels.color = text;
            c.update('none');
        });
    }

    function renderCharts() {
        if (history.length === 0) {
            show($('charts'), false);
            show($('charts-empty'), true);
            return;
        }
        if (typeof Chart !== 'function') {
            show($('charts'), false);
            fatal('Chart.js is missing from this report, so the charts cannot be drawn.');
            return;
        }
        if (num(rep.history_bucket) > 1)
            $('charts-hint').textContent = 'Each point covers ' + fmtInt(rep.history_bucket) +
                ' seconds and shows that interval\'s peak. ' +
                'Rates and percentiles are over 10-second windows.';
        else
            $('charts-hint').textContent = 'Rates and percentiles are over 10-second windows.';
        Chart.defaults.font.family = getComputedStyle(document.body).fontFamily;
        makeChart($('chart-rps'), [
            { label: 'Requests/s', key: 'rps', color: '--c-rps', fill: true },
            { label: 'Failures/s', key: 'fail_s', color: '--c-fail' }
        ], { fmt: fmtRate });
        makeChart($('chart-rt'), [
            { label: 'p50', key: 'p50_ms', color: '--c-p50' },
            { label: 'p95', key: 'p95_ms', color: '--c-p95' },
            { label: 'p99', key: 'p99_ms', color: '--c-p99' }
        ], { fmt: function (v) { return fmtMs(v) + ' ms'; } });
        makeChart($('chart-users'), [
            { label: 'Users', key: 'users', color: '--c-users', fill: true, stepped: true }
        ], { fmt: fmtInt, integer: true });
        colorCharts();

        if (window.matchMedia) {
            var mq = window.matchMedia('(prefers-color-scheme: dark)');
            var onChange = function () { colorCharts(); };
            if (mq.addEventListener) mq.addEventListener('change', onChange);
            else if (mq.addListener) mq.addListener(onChange);
        }
        /* Paper is light and narrower than most screens: redraw for it, and
         * back for the screen afterwards (Chart.js's advice for printing). */
        window.addEventListener('beforeprint', function () {
            root.classList.add('printing');
            colorCharts();
            charts.forEach(function (c) {
                var box = c.canvas.parentNode;
                c.resize(Math.min(box.clientWidth, 680), box.clientHeight);
            });
        });
        window.addEventListener('afterprint', function () {
            root.classList.remove('printing');
            colorCharts();
            charts.forEach(function (c) { c.resize(); });
        });
    }

    /* -------------------------------------------------------------------- */

    $('print-btn').addEventListener('click', function () { window.print(); });

    try {
        renderHead();
        renderMeta();
        renderStats();
        renderThresholds();
        renderComparison();
        renderCapacity();
        renderFailures();
        renderExceptions();
        renderRatios();
        renderWorkers();
        renderFooter();
        renderCharts();
        root.setAttribute('data-charts', String(charts.length));
        if (root.getAttribute('data-rendered') !== 'error')
            root.setAttribute('data-rendered', 'true');
    } catch (e) {
        fatal('The report could not be drawn completely: ' + e.message);
    }
}());
