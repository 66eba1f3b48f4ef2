/*
 * hornet dashboard. Plain JS, no build step; Chart.js 3 is the global Chart.
 *
 * Data flow: the initial state comes from GET /api/config, /api/stats and
 * /api/history; after that one WebSocket (/ws) pushes a snapshot every
 * second and on each state change. Controls call the JSON API and show its
 * {"error": ...} next to the control that caused it.
 */
'use strict';

(function () {
    var MAX_POINTS = 3600;          /* per chart series; halved when exceeded */
    var WS_SILENCE_MS = 5000;       /* the server pushes at 1 Hz: longer means a dead link */
    var LOG_POLL_MS = 2000;
    var TABS = ['stats', 'charts', 'failures', 'exceptions', 'ratio', 'thresholds', 'workers', 'runs', 'downloads', 'logs'];
    /* A worker above this share of the CPU its threads can use is the
     * bottleneck (Locust warns at 90% of its one core): its users wait for
     * the CPU, so the load falls short and response times read high. */
    var CPU_HOT = 90;
    var RUNNING = { spawning: true, running: true, paused: true };

    var snap = null;                /* latest snapshot (hn_snapshot_to_json) */
    var config = null;              /* GET /api/config */
    var tab = 'stats';
    var sortKey = null;             /* null = server order (name, type) */
    var sortDesc = false;
    var filterText = '';
    var thresholdsTouched = false;
    var dirty = { stats: true, failures: true, exceptions: true, ratio: true, workers: true, thresholds: true };
    var charts = null;
    var lastPointTime = 0;          /* wall seconds of the newest chart point */
    var historyLoading = null;      /* points that arrived while /api/history was loading */
    var historyGen = 0;
    var formTouched = false;
    var ws = null;
    var wsLive = false;
    var wsEverOpen = false;
    var wsRetry = 0;
    var wsTimer = 0;
    var wsWatchdog = 0;
    var logTimer = 0;

    function $(id) { return document.getElementById(id); }

    /* ---- Formatting ---------------------------------------------------- */

    var intFmt = new Intl.NumberFormat('en-US', { maximumFractionDigits: 0 });
    var dec1Fmt = new Intl.NumberFormat('en-US', { minimumFractionDigits: 1, maximumFractionDigits: 1 });
    var dec2Fmt = new Intl.NumberFormat('en-US', { minimumFractionDigits: 2, maximumFractionDigits: 2 });

    function num(v) { return typeof v === 'number' && isFinite(v) ? v : 0; }
    function fmtInt(v) { return intFmt.format(num(v)); }
    function fmtRate(v) { return dec1Fmt.format(num(v)); }
    /* Response times: keep about three significant digits. */
    function fmtMs(v) {
        if (v === null || v === undefined || !isFinite(v)) return 'N/A';
        if (v < 10) return dec2Fmt.format(v);
        if (v < 100) return dec1Fmt.format(v);
        return intFmt.format(v);
    }
    function fmtPct(ratio) {
        var p = num(ratio) * 100;
        if (p === 0) return '0%';
        if (p < 0.1) return '<0.1%';
        return (p < 10 ? p.toFixed(2) : p.toFixed(1)) + '%';
    }
    function pad2(n) { return n < 10 ? '0' + n : '' + n; }
    var BYTE_UNITS = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
    function fmtBytes(v) {
        v = num(v);
        var i = 0;
        while (v >= 1024 && i < BYTE_UNITS.length - 1) { v /= 1024; i++; }
        return (i === 0 ? intFmt.format(v) : v < 100 ? dec1Fmt.format(v) : intFmt.format(v)) + ' ' + BYTE_UNITS[i];
    }
    /* Seconds between two wall times, as "just now", "4 s ago", "3 min ago". */
    function fmtAgo(then, now) {
        if (!(num(then) > 0)) return 'never';
        var d = Math.max(0, Math.floor(num(now) - then));
        if (d < 1) return 'just now';
        if (d < 120) return d + ' s ago';
        if (d < 7200) return Math.floor(d / 60) + ' min ago';
        return Math.floor(d / 3600) + ' h ago';
    }
    function fmtDuration(s) {
        s = Math.max(0, Math.floor(num(s)));
        var h = Math.floor(s / 3600), m = Math.floor((s % 3600) / 60), sec = s % 60;
        if (h > 0) return h + 'h ' + pad2(m) + 'm ' + pad2(sec) + 's';
        if (m > 0) return m + 'm ' + pad2(sec) + 's';
        return sec + 's';
    }
    function fmtClock(ms) {
        var d = new Date(ms);
        return pad2(d.getHours()) + ':' + pad2(d.getMinutes()) + ':' + pad2(d.getSeconds());
    }
    function fmtWall(sec) {
        if (!sec) return '';
        var d = new Date(sec * 1000);
        return d.toLocaleDateString() + ' ' + fmtClock(sec * 1000);
    }
    var ESC = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' };
    function esc(s) {
        return String(s === null || s === undefined ? '' : s).replace(/[&<>"']/g, function (c) { return ESC[c]; });
    }

    /* ---- JSON API -------------------------------------------------------- */

    /* Resolves to the parsed body; rejects with an Error whose message is the
     * server's {"error"} text (or the HTTP status when there is none). */
    function api(method, path, body) {
        var opts = { method: method, headers: { Accept: 'application/json' }, cache: 'no-store' };
        if (method !== 'GET') {
            opts.headers['Content-Type'] = 'application/json';
            opts.body = JSON.stringify(body === undefined ? {} : body);
        }
        return fetch(path, opts).then(function (res) {
            return res.text().then(function (text) {
                var data = null;
                if (text) {
                    try { data = JSON.parse(text); } catch (e) { data = null; }
                }
                if (!res.ok) {
                    var msg = data && typeof data.error === 'string' ? data.error
                        : 'HTTP ' + res.status + (res.statusText ? ' ' + res.statusText : '');
                    throw new Error(msg);
                }
                return data;
            });
        }, function (err) {
            throw new Error('cannot reach the server (' + (err && err.message ? err.message : err) + ')');
        });
    }

    function showError(id, err) {
        var el = $(id);
        el.textContent = err ? (err.message || String(err)) : '';
        if (id === 'control-error') updateControlsBar();
    }

    /* The controls row takes no space when it has nothing to show (ready state). */
    function updateControlsBar() {
        var any = $('control-error').textContent !== '' || $('run-info').textContent !== '';
        var btns = document.querySelectorAll('.control-buttons .btn');
        for (var i = 0; i < btns.length && !any; i++) any = !btns[i].hidden;
        $('controls').hidden = !any;
    }

    /* Runs a control command with its button disabled and its error shown
     * in errId; resolves to true on success. */
    function command(btn, errId, method, path, body) {
        if (btn) btn.disabled = true;
        showError(errId, null);
        return api(method, path, body).then(function (data) {
            if (!wsLive) refreshStats();
            return data || true;
        }, function (err) {
            showError(errId, err);
            return false;
        }).then(function (r) {
            if (btn) btn.disabled = false;
            return r;
        });
    }

    /* ---- Header, controls, banner --------------------------------------- */

    /* Is hornet itself the bottleneck? Said while it is, and after. */
    function renderLoadgen(s) {
        var lg = s.load_generator, el = $('loadgen-warning');
        var text = '';
        if (lg && lg.overloaded)
            text = 'hornet itself is the bottleneck right now: a worker thread at ' + fixed0(lg.cpu_percent) +
                '% CPU, its timers firing ' + fixed2(lg.loop_lag_ms) + ' ms late (added to the latencies ' +
                'it measures). Use more --threads or worker processes.';
        else if (lg && lg.warning)
            text = lg.warning.charAt(0).toUpperCase() + lg.warning.slice(1) + '.';
        el.textContent = text;
        el.hidden = text === '';
    }

    function fixed0(v) { return String(Math.round(num(v))); }

    function renderHeader(s) {
        var st = $('state');
        st.textContent = s.state;
        st.setAttribute('data-state', s.state);
        var host = s.host || (config && config.default_host) || '';
        $('host').textContent = host || '\u2013';
        $('host').title = host;
        $('users').textContent = fmtInt(s.users);
        $('users-target').textContent = RUNNING[s.state] && s.target_users !== s.users
            ? '/ ' + fmtInt(s.target_users) : '';
        $('rps').textContent = fmtRate(s.total ? s.total.current_rps : 0);
        $('fail-ratio').textContent = fmtPct(s.fail_ratio);
        var el = s.start_time ? fmtDuration(s.active_s) : '\u2013';
        if (s.start_time && s.run_time_s > 0) el += ' / ' + fmtDuration(s.run_time_s);
        $('elapsed').textContent = el;
        renderWorkerCount(s);
        document.title = 'hornet \u00b7 ' + s.state + (RUNNING[s.state] ? ' \u00b7 ' + fmtInt(s.users) + ' users' : '');
    }

    function renderControls(s) {
        var st = s.state;
        var running = !!RUNNING[st];
        $('btn-edit').hidden = !running;
        $('btn-pause').hidden = !(st === 'spawning' || st === 'running');
        $('btn-resume').hidden = st !== 'paused';
        $('btn-stop').hidden = !running;
        $('btn-reset').hidden = st === 'ready';
        $('btn-new').hidden = st !== 'stopped';
        if (!running) $('edit-form').hidden = true;

        var showStart = st === 'ready' || st === 'stopped';
        var form = $('start-form');
        if (showStart && form.hidden) {
            showError('start-error', null);
            checkPlugin();
        }
        form.hidden = !showStart;
        $('start-title').textContent = st === 'stopped' ? 'Start a new load test' : 'Start load test';

        var info = '';
        if (s.start_time) info = 'started ' + fmtWall(s.start_time);
        var stages = Array.isArray(s.stages) ? s.stages : [];
        var shape = !!s.shape;
        /* A shape in the plugin sets the users: the form has nothing to ask. */
        $('shape-note').hidden = !shape;
        $('profile-choice').hidden = shape;
        if (shape) {
            $('field-stages').hidden = true;
            var fixedFields = document.querySelectorAll('#start-form [data-fixed]');
            for (var fi = 0; fi < fixedFields.length; fi++) fixedFields[fi].hidden = true;
        }
        var open = s.open;
        if (running && open) {
            /* The first second's rate says little (one iteration at t = 0). */
            var achieved = num(s.active_s) >= 1 ? fixed2(num(open.achieved_rate)) : '\u2013';
            info += ' \u00b7 open model: ' + fixed2(open.arrival_rate) + '/s asked, ' + achieved +
                '/s achieved, ' + fmtInt(open.dropped_iterations) + ' dropped';
        } else if (running && shape) {
            info += ' \u00b7 load shape: the plugin sets the users (' + fmtInt(s.target_users) + ' now)';
        } else if (running && stages.length && s.stage !== null && s.stage !== undefined) {
            info += ' \u00b7 load profile: stage ' + (s.stage + 1) + ' of ' + stages.length + ', to ' +
                fmtInt(stages[s.stage].users) + ' users over ' + fmtDuration(stages[s.stage].duration_s);
        } else if (running && stages.length) {
            info += ' \u00b7 load profile of ' + stages.length + ' stages';
        } else if (running && s.spawn_rate) {
            info += ' \u00b7 ramp up ' + s.spawn_rate + ' users/s';
        }
        /* A profile sets the users: Edit would be refused, so say why up front. */
        $('btn-edit').disabled = running && (stages.length > 0 || shape || !!open);
        $('btn-edit').title = !running ? ''
            : open ? 'An arrival rate (the open model) drives this run: stop it first'
            : shape ? 'The plugin\'s load shape drives this run: stop it to set the users by hand'
            : stages.length > 0 ? 'A load profile (stages) drives this run: stop it to set the users by hand' : '';
        $('run-info').textContent = info;
        updateControlsBar();
        renderLoadgen(s);

        var banner = $('run-banner');
        if (st === 'stopped' && s.start_time) {
            var reason = s.stop_reason ? ' (' + s.stop_reason + ')' : '';
            var text = 'Run finished' + reason + ' at ' + fmtWall(s.end_time || s.now);
            if (s.total.requests > 0) {
                text += ' after ' + fmtDuration(s.active_s) + ': ' + fmtInt(s.total.requests) + ' requests, ' +
                    fmtInt(s.total.failures) + ' failures. Results stay available until the next start or reset.';
            } else {
                text += '.';
            }
            banner.textContent = text;
            banner.hidden = false;
        } else {
            banner.hidden = true;
        }
    }

    /* ---- Statistics table ------------------------------------------------ */

    var SORTERS = {
        type: function (e) { return e.type; },
        name: function (e) { return e.name; },
        p90: function (e) { return pct(e, '90'); },
        p95: function (e) { return pct(e, '95'); },
        p99: function (e) { return pct(e, '99'); }
    };
    function pct(e, k) {
        var v = e.percentiles ? e.percentiles[k] : null;
        return v === null || v === undefined ? -1 : v;
    }
    function sortValue(key) {
        return SORTERS[key] || function (e) { return num(e[key]); };
    }

    function statRow(e, total) {
        var p = e.percentiles || {};
        /* A click on an entry opens its own charts (the drill-down). */
        return '<tr' + (total ? ' class="total"' : ' data-type="' + esc(e.type) + '" data-name="' + esc(e.name) +
            '" title="' + esc(e.type + ' ' + e.name) + ': click for its charts"') + '><td>' + esc(e.type) +
            '</td><td class="col-name" title="' + esc(e.name) + '">' + esc(e.name) +
            '</td><td class="num">' + fmtInt(e.requests) +
            '</td><td class="num' + (e.failures > 0 ? ' fail' : '') + '">' + fmtInt(e.failures) +
            '</td><td class="num">' + fmtMs(e.requests ? e.median_ms : null) +
            '</td><td class="num">' + fmtMs(p['90']) +
            '</td><td class="num">' + fmtMs(p['95']) +
            '</td><td class="num">' + fmtMs(p['99']) +
            '</td><td class="num">' + fmtMs(e.requests ? e.avg_ms : null) +
            '</td><td class="num">' + fmtMs(e.requests ? e.min_ms : null) +
            '</td><td class="num">' + fmtMs(e.requests ? e.max_ms : null) +
            '</td><td class="num">' + fmtInt(e.avg_bytes) +
            '</td><td class="num">' + fmtRate(e.current_rps) +
            '</td><td class="num">' + fmtRate(e.current_fail_s) + '</td></tr>';
    }

    /* The table is rebuilt with one string and one innerHTML per update.
     * Past VIRTUAL_MIN rows only the rows in (or near) the scrolled view are
     * built, between two spacer rows that keep the scrollbar honest, so an
     * update costs the same with 50 or 5,000 endpoints. */
    var VIRTUAL_MIN = 300;
    var OVERSCAN = 20;
    var viewRows = [];              /* sorted and filtered entries of the latest snapshot */
    var rowHeight = 33;             /* measured from a rendered row */
    var paintedRange = null;

    function renderStats() {
        if (!snap) return;
        var rows = snap.entries || [];
        var total = rows.length;
        if (filterText) {
            var f = filterText.toLowerCase();
            rows = rows.filter(function (e) {
                return String(e.name).toLowerCase().indexOf(f) >= 0 || String(e.type).toLowerCase().indexOf(f) >= 0;
            });
        }
        if (sortKey) {
            var get = sortValue(sortKey);
            var dir = sortDesc ? -1 : 1;
            rows = rows.map(function (e, i) { return { e: e, k: get(e), i: i }; });
            rows.sort(function (a, b) {
                if (a.k < b.k) return -dir;
                if (a.k > b.k) return dir;
                return a.i - b.i;   /* ties keep the server's (name, type) order */
            });
            rows = rows.map(function (r) { return r.e; });
        }
        viewRows = rows;
        $('stats-count').textContent = filterText
            ? rows.length + ' of ' + total + ' entries'
            : total + (total === 1 ? ' entry' : ' entries');
        paintStats(total);
        dirty.stats = false;
    }

    function spacer(px) {
        return px > 0 ? '<tr class="spacer" aria-hidden="true"><td colspan="14" style="height:' + px + 'px"></td></tr>' : '';
    }

    function paintStats(total) {
        var rows = viewRows;
        var n = rows.length;
        var from = 0, to = n;
        var wrap = $('stats-wrap');
        if (n > VIRTUAL_MIN) {
            var first = Math.floor(wrap.scrollTop / rowHeight);
            var visible = Math.ceil(wrap.clientHeight / rowHeight) + 1;
            from = Math.max(0, first - OVERSCAN);
            to = Math.min(n, first + visible + OVERSCAN);
        }
        var html = [spacer(from * rowHeight)];
        for (var i = from; i < to; i++) html.push(statRow(rows[i], false));
        if (n === 0) {
            html.push('<tr><td class="empty" colspan="14">' +
                (total ? 'No entry matches the filter' : 'No requests yet') + '</td></tr>');
        }
        html.push(spacer((n - to) * rowHeight));
        if (snap.total) html.push(statRow(snap.total, true));
        var tbody = document.querySelector('#stats-table tbody');
        tbody.innerHTML = html.join('');
        paintedRange = [from, to];
        if (n > VIRTUAL_MIN && to > from) {
            var r = tbody.rows[from > 0 ? 1 : 0];
            var h = r ? r.getBoundingClientRect().height : 0;
            if (h > 0 && Math.abs(h - rowHeight) > 0.5) {
                rowHeight = h;
                paintStats(total);
            }
        }
    }

    /* Scrolling a virtualised table repaints once per frame, and only when
     * the view leaves the rows already built. */
    var scrollPending = false;
    function onStatsScroll() {
        if (scrollPending || viewRows.length <= VIRTUAL_MIN || !snap) return;
        scrollPending = true;
        requestAnimationFrame(function () {
            scrollPending = false;
            var wrap = $('stats-wrap');
            var first = Math.floor(wrap.scrollTop / rowHeight);
            var last = first + Math.ceil(wrap.clientHeight / rowHeight) + 1;
            var from = paintedRange ? paintedRange[0] : 0, to = paintedRange ? paintedRange[1] : 0;
            var margin = OVERSCAN / 2;
            if (!paintedRange || (from > 0 && first - margin < from) || (to < viewRows.length && last + margin > to)) {
                paintStats((snap.entries || []).length);
            }
        });
    }

    function markSortHeader() {
        var ths = document.querySelectorAll('#stats-table th');
        for (var i = 0; i < ths.length; i++) {
            var on = ths[i].getAttribute('data-key') === sortKey;
            ths[i].classList.toggle('sorted', on);
            ths[i].classList.toggle('desc', on && sortDesc);
        }
    }

    /* ---- Failures, exceptions, ratio -------------------------------------- */

    function renderFailures() {
        var errs = (snap && snap.errors) || [];
        var html = errs.map(function (e) {
            return '<tr><td class="num fail">' + fmtInt(e.count) + '</td><td>' + esc(e.type) + '</td><td>' +
                esc(e.name) + '</td><td class="wrap">' + esc(e.message) + '</td><td>' + esc(fmtWall(e.first_seen)) +
                '</td><td>' + esc(fmtWall(e.last_seen)) + '</td></tr>';
        });
        if (!html.length) html.push('<tr><td class="empty" colspan="6">No failures</td></tr>');
        document.querySelector('#failures-table tbody').innerHTML = html.join('');
        dirty.failures = false;
    }

    function renderExceptions() {
        var xs = (snap && snap.exceptions) || [];
        var html = xs.map(function (x) {
            return '<tr><td class="num fail">' + fmtInt(x.count) + '</td><td>' + esc(x.user_type) + '</td><td>' +
                esc(x.task) + '</td><td class="wrap">' + esc(x.message) + '</td><td>' + esc(fmtWall(x.first_seen)) +
                '</td><td>' + esc(fmtWall(x.last_seen)) + '</td></tr>';
        });
        if (!html.length) html.push('<tr><td class="empty" colspan="6">No exceptions</td></tr>');
        document.querySelector('#exceptions-table tbody').innerHTML = html.join('');
        dirty.exceptions = false;
    }

    function fixed2(v) { return num(v).toFixed(2); }

    /* A threshold's measured value, as the console and the JUnit file write it. */
    function fmtThresholdValue(t) {
        if (t.value === null || t.value === undefined) return 'no data';
        var v = num(t.value);
        if (t.unit === 'ms') return v.toFixed(v < 10 ? 2 : v < 100 ? 1 : 0) + ' ms';
        if (t.unit === 'ratio') return (v * 100).toFixed(2) + '%';
        if (t.unit === 'rps') return v.toFixed(2) + ' req/s';
        return fmtInt(v);
    }

    function renderThresholds() {
        var ts = (snap && snap.thresholds) || [];
        var failing = 0;
        var html = ts.map(function (t) {
            var v = t.verdict === 'pass' || t.verdict === 'fail' ? t.verdict : 'nodata';
            if (v === 'fail') failing++;
            return '<tr data-verdict="' + v + '"><td><span class="verdict verdict-' + v + '">' +
                esc(v === 'nodata' ? 'no data' : v) + '</span></td><td class="mono">' + esc(t.expr) +
                '</td><td class="num' + (v === 'fail' ? ' fail' : '') + '">' + esc(fmtThresholdValue(t)) +
                '</td><td>' + (t.abort ? 'ends the run' : 'fails the run (exit 3)') + '</td></tr>';
        });
        if (!html.length) {
            html.push('<tr><td class="empty" colspan="4">No thresholds. Add them in the start form, ' +
                'e.g. p95&lt;300ms, or with --threshold.</td></tr>');
        }
        document.querySelector('#thresholds-table tbody').innerHTML = html.join('');
        $('thresholds-summary').textContent = ts.length
            ? (failing ? failing + ' of ' + ts.length + ' failing' : 'all ' + ts.length + ' holding')
            : '';
        dirty.thresholds = false;
    }

    function ratioBar(r, cls) {
        var w = Math.max(0, Math.min(100, num(r) * 100));
        return '<div class="bar"><span class="' + cls + '" style="width:' + w.toFixed(1) + '%"></span></div>';
    }

    function renderRatio() {
        var rs = (snap && snap.ratios) || [];
        var html;
        if (rs.length) {
            html = rs.map(function (r) {
                var tasks = (r.tasks || []).map(function (t) {
                    return '<div class="ratio-row"><span class="label" title="' + esc(t.task) + '">' + esc(t.task) +
                        '</span><span class="pct">' + fmtPct(t.ratio) + '</span>' + ratioBar(t.ratio, '') + '</div>';
                }).join('');
                return '<div class="card ratio-card"><h3><span>' + esc(r.user_type) + '</span><span class="muted">' +
                    fmtInt(r.users) + ' users \u00b7 ' + fmtPct(r.ratio) + '</span></h3>' +
                    ratioBar(r.ratio, 'type') + tasks + '</div>';
            });
        } else if (config && Array.isArray(config.user_types) && config.user_types.length) {
            /* Nothing running: show the configured weights so the tab is not empty. */
            var sum = config.user_types.reduce(function (a, u) { return a + num(u.weight); }, 0) || 1;
            html = config.user_types.map(function (u) {
                var list = u.tasks || [];
                var tsum = list.reduce(function (a, t) { return a + (typeof t === 'object' ? num(t.weight) || 1 : 1); }, 0) || 1;
                var tasks = list.map(function (t) {
                    var name = typeof t === 'string' ? t : t.name;
                    var share = (typeof t === 'object' ? num(t.weight) || 1 : 1) / tsum;
                    return '<div class="ratio-row"><span class="label" title="' + esc(name) + '">' + esc(name) +
                        '</span><span class="pct">' + fmtPct(share) + '</span>' + ratioBar(share, '') + '</div>';
                }).join('');
                return '<div class="card ratio-card"><h3><span>' + esc(u.name) + '</span><span class="muted">weight ' +
                    esc(u.weight) + ' (' + fmtPct(num(u.weight) / sum) + ')</span></h3>' +
                    ratioBar(num(u.weight) / sum, 'type') + tasks + '</div>';
            });
            html.unshift('<p class="muted" style="grid-column:1/-1;margin:0">No users running. Configured user types and task weights:</p>');
        } else {
            html = ['<p class="muted">No users running.</p>'];
        }
        $('ratio').innerHTML = html.join('');
        dirty.ratio = false;
    }

    /* ---- Workers (distributed mode) ---------------------------------------- */

    function workerList(s) {
        return s && s.distributed && Array.isArray(s.workers) ? s.workers : [];
    }
    function plural(n, one) { return fmtInt(n) + ' ' + one + (n === 1 ? '' : 's'); }
    function cpuHot(w) { return num(w.cpu_percent) > CPU_HOT * Math.max(1, num(w.threads)); }

    /* The header's worker count and the Workers tab exist only on a master. */
    function renderWorkerCount(s) {
        var dist = !!s.distributed;
        $('metric-workers').hidden = !dist;
        $('tab-btn-workers').hidden = !dist;
        if (!dist) {
            if (tab === 'workers') selectTab('stats');
            return;
        }
        var ws = workerList(s);
        var missing = ws.filter(function (w) { return w.state === 'missing'; }).length;
        var ready = typeof s.worker_count === 'number' ? s.worker_count : ws.length - missing;
        var el = $('workers');
        el.textContent = plural(ready, 'worker');
        el.setAttribute('data-warn', ready === 0 || missing > 0 ? 'true' : 'false');
        el.title = ready === 0 ? 'No worker is connected: start one with hornet --worker'
            : plural(ready, 'worker') + ' connected' + (missing ? ', ' + fmtInt(missing) + ' missing' : '');
        $('workers-missing').textContent = missing ? fmtInt(missing) + ' missing' : '';
        $('badge-workers').textContent = missing ? String(missing) : '';
    }

    function workerRow(w, now) {
        var hot = cpuHot(w);
        var missing = w.state === 'missing';
        return '<tr' + (missing ? ' class="missing"' : '') + '><td class="col-name mono" title="' + esc(w.id) + '">' +
            esc(w.id) + '</td><td class="col-name" title="' + esc(w.host) + '">' + esc(w.host) +
            '</td><td><span class="state-pill small" data-state="' + esc(w.state) + '">' + esc(w.state) +
            '</span></td><td class="num">' + fmtInt(w.users) +
            '</td><td class="num">' + fmtInt(w.threads) +
            '</td><td class="num' + (hot ? ' hot' : '') + '" title="' + esc(fmtRate(w.cpu_percent)) +
            '% of one core' + (num(w.threads) > 1 ? ' (' + esc(fmtInt(w.threads)) + ' threads: up to ' +
            esc(fmtInt(100 * w.threads)) + '%)' : '') + '">' + fmtRate(w.cpu_percent) + '%' +
            '</td><td class="num">' + esc(fmtBytes(w.rss_bytes)) +
            '</td><td class="num' + (missing ? ' fail' : '') + '" title="' + esc(fmtWall(w.last_heartbeat)) + '">' +
            esc(fmtAgo(w.last_heartbeat, now)) + '</td></tr>';
    }

    function renderWorkers() {
        var ws = workerList(snap);
        var now = snap && snap.now ? snap.now : Date.now() / 1000;
        var html = ws.map(function (w) { return workerRow(w, now); });
        if (!html.length) {
            html.push('<tr><td class="empty" colspan="8">No worker is connected. Start workers with ' +
                '<code>hornet --worker --master-host HOST -f PLUGIN</code>.</td></tr>');
        } else {
            var users = 0, threads = 0, cpu = 0, rss = 0, live = 0;
            ws.forEach(function (w) {
                if (w.state === 'missing') return;
                live++;
                users += num(w.users);
                threads += num(w.threads);
                cpu += num(w.cpu_percent);
                rss += num(w.rss_bytes);
            });
            html.push('<tr class="total"><td>Total</td><td>' + esc(plural(live, 'worker')) +
                '</td><td></td><td class="num">' + fmtInt(users) + '</td><td class="num">' + fmtInt(threads) +
                '</td><td class="num">' + fmtRate(cpu) + '%</td><td class="num">' + esc(fmtBytes(rss)) +
                '</td><td></td></tr>');
        }
        document.querySelector('#workers-table tbody').innerHTML = html.join('');

        var missing = ws.filter(function (w) { return w.state === 'missing'; }).length;
        $('workers-summary').textContent = ws.length
            ? plural(ws.length - missing, 'worker') + ' connected' + (missing ? ', ' + fmtInt(missing) + ' missing' : '')
            : '';
        var hot = ws.filter(function (w) { return w.state !== 'missing' && cpuHot(w); });
        var warn = $('workers-cpu-warning');
        warn.hidden = hot.length === 0;
        warn.textContent = hot.length
            ? (hot.length === 1 ? 'Worker ' + hot[0].id + ' is' : plural(hot.length, 'worker') + ' are') +
              ' above ' + CPU_HOT + '% of the CPU their threads can use: they may not generate the load asked ' +
              'for, and response times may read higher than the target\'s. Add workers or threads.'
            : '';
        dirty.workers = false;
    }

    /* ---- Charts -------------------------------------------------------------- */

    function cssVar(name) {
        return getComputedStyle(document.documentElement).getPropertyValue(name).trim();
    }

    function series(label, colorVar, extra) {
        var c = cssVar(colorVar);
        var d = {
            label: label, data: [], borderColor: c, backgroundColor: c, borderWidth: 1.6,
            /* Lines only; a lone point would be invisible without a dot. */
            pointRadius: function (ctx) { return ctx.dataset.data.length === 1 ? 3 : 0; },
            pointHitRadius: 6, tension: 0.15, colorVar: colorVar
        };
        for (var k in extra) d[k] = extra[k];
        return d;
    }

    /* Ticks on round wall-clock steps (1 s .. 1 day), at most ~8 of them. */
    var TICK_STEPS = [1, 2, 5, 10, 15, 30, 60, 120, 300, 600, 900, 1800, 3600, 7200, 10800, 21600, 43200, 86400];
    function timeTicks(scale) {
        var min = scale.min, max = scale.max;
        var empty = scale.chart.data.datasets.every(function (d) { return d.data.length === 0; });
        if (empty) {
            scale.ticks = [];
            return;
        }
        if (!isFinite(min) || !isFinite(max) || max <= min) return;
        var span = (max - min) / 1000;
        var step = 86400;
        for (var i = 0; i < TICK_STEPS.length; i++) {
            if (span / TICK_STEPS[i] <= 8) { step = TICK_STEPS[i]; break; }
        }
        step *= 1000;
        var ticks = [];
        for (var v = Math.ceil(min / step) * step; v <= max; v += step) ticks.push({ value: v });
        scale.ticks = ticks;
    }

    /* Draws a hint instead of an empty grid. */
    var emptyPlugin = {
        id: 'hnEmpty',
        afterDraw: function (chart) {
            var empty = chart.data.datasets.every(function (d) { return d.data.length === 0; });
            if (!empty || !chart.chartArea) return;
            var a = chart.chartArea, ctx = chart.ctx;
            ctx.save();
            ctx.fillStyle = cssVar('--chart-text');
            ctx.font = '13px ' + Chart.defaults.font.family;
            ctx.textAlign = 'center';
            ctx.textBaseline = 'middle';
            ctx.fillText('No data yet: start a test to see it here', (a.left + a.right) / 2, (a.top + a.bottom) / 2);
            ctx.restore();
        }
    };

    function makeChart(id, datasets, yTitle) {
        return new Chart($(id), {
            type: 'line',
            plugins: [emptyPlugin],
            data: { datasets: datasets },
            options: {
                animation: false,
                parsing: false,
                normalized: true,
                responsive: true,
                maintainAspectRatio: false,
                interaction: { mode: 'index', intersect: false },
                scales: {
                    x: {
                        type: 'linear',
                        bounds: 'data',
                        afterBuildTicks: timeTicks,
                        ticks: { callback: function (v) { return fmtClock(v); }, maxRotation: 0 },
                        grid: { color: cssVar('--chart-grid') }
                    },
                    y: {
                        beginAtZero: true,
                        title: { display: !!yTitle, text: yTitle },
                        grid: { color: cssVar('--chart-grid') }
                    }
                },
                plugins: {
                    legend: { position: 'top', align: 'end', labels: { boxWidth: 12, boxHeight: 2 } },
                    tooltip: { callbacks: { title: function (items) { return items.length ? fmtClock(items[0].parsed.x) : ''; } } }
                }
            }
        });
    }

    function initCharts() {
        if (typeof Chart === 'undefined') {
            $('tab-charts').insertAdjacentHTML('afterbegin', '<p class="error">Chart.js did not load.</p>');
            return;
        }
        Chart.defaults.color = cssVar('--chart-text');
        Chart.defaults.font.family = getComputedStyle(document.body).fontFamily;
        charts = {
            rps: makeChart('chart-rps', [
                series('RPS', '--c-rps', { fill: false }),
                series('Failures/s', '--c-fail')
            ], 'per second'),
            rt: makeChart('chart-rt', [
                series('Median', '--c-p50'),
                series('95th percentile', '--c-p95'),
                series('99th percentile', '--c-p99')
            ], 'ms'),
            users: makeChart('chart-users', [series('Users', '--c-users', { stepped: true })], 'users')
        };
    }

    /* The capacity search: throughput and p95 per step, against the load. */
    var capacityChart = null, capacitySteps = -1;
    function renderCapacity(s) {
        var c = s && s.capacity;
        $('capacity-card').hidden = !c;
        if (!c || typeof Chart === 'undefined') return;
        $('capacity-outcome').textContent = c.outcome ? '\u00b7 ' + c.outcome : '\u00b7 searching\u2026';
        if (c.steps.length === capacitySteps && capacityChart) return;
        capacitySteps = c.steps.length;
        var unit = c.model === 'users' ? 'users' : 'iterations/s';
        var rps = c.steps.map(function (st) { return { x: st.load, y: st.rps }; });
        var p95 = c.steps.map(function (st) { return { x: st.load, y: st.p95_ms }; });
        var held = c.steps.map(function (st) { return st.held ? cssVar('--c-rps') : cssVar('--c-fail'); });
        if (capacityChart) {
            capacityChart.data.datasets[0].data = rps;
            capacityChart.data.datasets[0].pointBackgroundColor = held;
            capacityChart.data.datasets[1].data = p95;
            capacityChart.options.scales.x.title.text = unit;
            capacityChart.update('none');
            return;
        }
        capacityChart = new Chart($('chart-capacity'), {
            type: 'line',
            data: { datasets: [
                { label: 'Throughput (req/s)', data: rps, yAxisID: 'y', borderColor: cssVar('--c-rps'),
                  backgroundColor: cssVar('--c-rps'), pointBackgroundColor: held, pointRadius: 5 },
                { label: 'p95 (ms)', data: p95, yAxisID: 'y2', borderColor: cssVar('--c-p95'),
                  backgroundColor: cssVar('--c-p95'), pointRadius: 4 }
            ] },
            options: {
                animation: false, parsing: false, responsive: true, maintainAspectRatio: false,
                interaction: { mode: 'index', intersect: false },
                scales: {
                    x: { type: 'linear', title: { display: true, text: unit }, ticks: { stepSize: c.step },
                         grid: { color: cssVar('--chart-grid') } },
                    y: { beginAtZero: true, title: { display: true, text: 'req/s' }, grid: { color: cssVar('--chart-grid') } },
                    y2: { beginAtZero: true, position: 'right', title: { display: true, text: 'p95 ms' }, grid: { display: false } }
                },
                plugins: { legend: { position: 'top', align: 'end' } }
            }
        });
    }

    /* ---- Runs: the session's finished runs, compared and overlaid --------- */
    var runsList = [], overlayRun = null, overlayDoc = null;

    function loadRuns() {
        return api('GET', '/api/runs').then(function (d) {
            runsList = (d && d.runs) || [];
            renderRuns();
        }, function (e) { $('runs-error').textContent = e.message; });
    }

    function renderRuns() {
        $('badge-runs').textContent = runsList.length ? String(runsList.length) : '';
        var rows = runsList.map(function (r, i) {
            var label = r.source === 'upload' ? r.label : 'run';
            return '<tr data-run="' + r.id + '">' +
                '<td class="num">' + r.id + '</td><td>' + esc(label) + '</td>' +
                '<td>' + (r.start_time ? esc(fmtWall(r.start_time)) : '\u2013') + '</td>' +
                '<td class="num">' + esc(fmtDuration(num(r.duration_s))) + '</td>' +
                '<td class="num">' + fmtInt(r.requests) + '</td><td class="num">' + fmtInt(r.failures) + '</td>' +
                '<td class="num">' + fixed2(r.rps) + '</td>' +
                '<td class="num">' + (r.p95_ms === null ? 'N/A' : fixed2(r.p95_ms)) + '</td>' +
                '<td>' + esc(r.stop_reason || '') + '</td>' +
                '<td><input type="radio" name="run-base" value="' + r.id + '"' + (i === 1 ? ' checked' : '') + ' aria-label="base"></td>' +
                '<td><input type="radio" name="run-new" value="' + r.id + '"' + (i === 0 ? ' checked' : '') + ' aria-label="new"></td>' +
                '<td><button type="button" class="btn btn-small run-overlay" data-run="' + r.id + '">' +
                (overlayRun === r.id ? 'Drawn' : 'Draw as baseline') + '</button></td>' +
                '<td><a href="/api/runs/result?id=' + r.id + '&amp;download=1">JSON</a></td></tr>';
        });
        document.querySelector('#runs-table tbody').innerHTML = rows.length ? rows.join('')
            : '<tr><td class="empty" colspan="13">No run has ended yet in this session.</td></tr>';
    }

    function pickedRun(name) {
        var el = document.querySelector('input[name="' + name + '"]:checked');
        return el ? el.value : null;
    }

    function compareRuns() {
        var base = pickedRun('run-base'), cur = pickedRun('run-new');
        $('runs-error').textContent = '';
        if (!base || !cur) {
            $('runs-error').textContent = 'Pick a base and a new run.';
            return;
        }
        var q = '/api/runs/compare?base=' + base + '&new=' + cur + '&tolerance=' +
            encodeURIComponent($('runs-tolerance').value.trim());
        api('GET', q).then(function (c) {
            var rows = c.rows.filter(function (r) { return r.type === '' || r.verdict !== 'same'; });
            var html = '<p class="compare-verdict verdict-' + esc(c.verdict) + '">Run ' + esc(cur) + ' against run ' +
                esc(base) + ': <strong>' + esc(c.verdict) + '</strong> (' + c.worse + ' worse, ' + c.better +
                ' better; changes within ' + Math.round(c.tolerance * 100) + '% are the same; entries that did not change are not shown)</p>' +
                '<div class="table-wrap"><table class="data" id="compare-table"><thead><tr><th>Verdict</th><th>Type</th><th>Name</th>' +
                '<th>Figure</th><th class="num">Base</th><th class="num">New</th><th class="num">Change</th></tr></thead><tbody>' +
                rows.map(function (r) {
                    var f = r.metric === 'fail_ratio' ? function (v) { return fixed2(num(v) * 100) + '%'; }
                        : r.metric === 'rps' ? fixed2 : function (v) { return fixed2(v) + ' ms'; };
                    return '<tr><td class="verdict-' + esc(r.verdict) + '">' + esc(r.verdict) + '</td><td>' + esc(r.type) +
                        '</td><td class="name">' + esc(r.name) + '</td><td>' + esc(r.metric) + '</td><td class="num">' +
                        f(r.base) + '</td><td class="num">' + f(r['new']) + '</td><td class="num">' +
                        (r.change === null ? 'n/a' : (r.change >= 0 ? '+' : '') + fixed2(r.change * 100) + '%') + '</td></tr>';
                }).join('') + '</tbody></table></div>';
            $('compare-out').innerHTML = html;
        }, function (e) { $('runs-error').textContent = e.message; });
    }

    /* A baseline behind the charts: its per-second points, shifted to
     * start with the run on screen (or now, before any run). */
    function drawOverlay() {
        if (!charts) return;
        ['rps', 'rt'].forEach(function (k) {
            var ds = charts[k].data.datasets.filter(function (d) { return !d.overlay; });
            if (overlayDoc) {
                var h = overlayDoc.history || [], t0 = num(overlayDoc.run && overlayDoc.run.start_time);
                var start = snap && snap.start_time ? num(snap.start_time) : Date.now() / 1000;
                var pts = function (key) {
                    return h.map(function (p) { return { x: (start + num(p.time) - t0) * 1000, y: num(p[key]) }; });
                };
                var add = k === 'rps' ? { label: 'Baseline RPS', data: pts('rps'), color: '--c-rps' }
                    : { label: 'Baseline p95', data: pts('p95_ms'), color: '--c-p95' };
                ds.push({ label: add.label, data: add.data, overlay: true, borderDash: [6, 4], borderWidth: 1.5,
                          pointRadius: 0, borderColor: cssVar(add.color), backgroundColor: cssVar(add.color) });
            }
            charts[k].data.datasets = ds;
            charts[k].update('none');
        });
    }

    function setOverlay(id) {
        $('runs-error').textContent = '';
        if (id === null) {
            overlayRun = overlayDoc = null;
            drawOverlay();
            renderRuns();
            return;
        }
        api('GET', '/api/runs/result?id=' + id).then(function (doc) {
            overlayRun = Number(id);
            overlayDoc = doc;
            drawOverlay();
            renderRuns();
        }, function (e) { $('runs-error').textContent = e.message; });
    }

    function uploadRun(ev) {
        var file = ev.target.files && ev.target.files[0];
        if (!file) return;
        $('runs-error').textContent = '';
        file.text().then(function (text) {
            var doc;
            try { doc = JSON.parse(text); } catch (e) {
                $('runs-error').textContent = file.name + ': not JSON';
                return;
            }
            return api('POST', '/api/runs/upload', doc).then(loadRuns);
        }).catch(function (e) { $('runs-error').textContent = e.message; }).then(function () {
            ev.target.value = '';
        });
    }

    /* ---- Drill-down: one entry's own charts and distribution -------------- */
    var entryCharts = null, entryKey = null, entryTimer = null;

    function entryChart(id, type, datasets, opts) {
        return new Chart($(id), {
            type: type,
            data: { datasets: datasets, labels: opts.labels },
            options: {
                animation: false, parsing: type === 'bar', responsive: true, maintainAspectRatio: false,
                interaction: { mode: 'index', intersect: false },
                scales: {
                    x: type === 'bar' ? { title: { display: true, text: 'response time up to (ms)' },
                                          grid: { color: cssVar('--chart-grid') } }
                        : { type: 'linear', afterBuildTicks: timeTicks,
                            ticks: { callback: function (v) { return fmtClock(v); }, maxRotation: 0 },
                            grid: { color: cssVar('--chart-grid') } },
                    y: { beginAtZero: true, title: { display: true, text: opts.y }, grid: { color: cssVar('--chart-grid') } }
                },
                plugins: { legend: { position: 'top', align: 'end', labels: { boxWidth: 12, boxHeight: 2 } } }
            }
        });
    }

    function openEntry(type, name) {
        entryKey = { type: type, name: name };
        $('entry-detail').hidden = false;
        $('entry-title').textContent = (type ? type + ' ' : '') + name;
        loadEntry();
        if (entryTimer) clearInterval(entryTimer);
        entryTimer = setInterval(function () { if (snap && (snap.state === 'running' || snap.state === 'spawning')) loadEntry(); }, 2000);
        $('entry-detail').scrollIntoView({ block: 'nearest' });
    }

    function closeEntry() {
        entryKey = null;
        $('entry-detail').hidden = true;
        if (entryTimer) clearInterval(entryTimer);
        entryTimer = null;
    }

    function loadEntry() {
        if (!entryKey || typeof Chart === 'undefined') return;
        var key = entryKey;
        api('GET', '/api/entry?type=' + encodeURIComponent(key.type) + '&name=' + encodeURIComponent(key.name))
            .then(function (d) {
                if (entryKey !== key) return;
                $('entry-summary').textContent = fmtInt(d.requests) + ' requests, ' + fmtInt(d.failures) + ' failures';
                var xy = function (f) { return d.history.map(function (p) { return { x: p.time * 1000, y: num(p[f]) }; }); };
                var line = function (label, f, color) {
                    return { label: label, data: xy(f), borderColor: cssVar(color), backgroundColor: cssVar(color),
                             pointRadius: 0, borderWidth: 1.6 };
                };
                var labels = d.distribution.map(function (b) { return fmtDistBound(b.le_ms); });
                var counts = d.distribution.map(function (b) { return b.count; });
                if (!entryCharts) {
                    entryCharts = {
                        rps: entryChart('chart-entry-rps', 'line', [line('RPS', 'rps', '--c-rps'),
                            line('Failures/s', 'fail_s', '--c-fail')], { y: 'per second' }),
                        rt: entryChart('chart-entry-rt', 'line', [line('Median', 'p50_ms', '--c-p50'),
                            line('95th percentile', 'p95_ms', '--c-p95'), line('99th percentile', 'p99_ms', '--c-p99')],
                            { y: 'ms' }),
                        dist: entryChart('chart-entry-dist', 'bar', [{ label: 'Requests', data: counts,
                            backgroundColor: cssVar('--c-p50') }], { y: 'requests', labels: labels })
                    };
                } else {
                    entryCharts.rps.data.datasets[0].data = xy('rps');
                    entryCharts.rps.data.datasets[1].data = xy('fail_s');
                    entryCharts.rt.data.datasets[0].data = xy('p50_ms');
                    entryCharts.rt.data.datasets[1].data = xy('p95_ms');
                    entryCharts.rt.data.datasets[2].data = xy('p99_ms');
                    entryCharts.dist.data.labels = labels;
                    entryCharts.dist.data.datasets[0].data = counts;
                    for (var k in entryCharts) entryCharts[k].update('none');
                }
            }, function (e) {
                if (entryKey === key) $('entry-summary').textContent = e.message;
            });
    }

    function fmtDistBound(ms) {
        return ms < 1 ? num(ms).toFixed(3) : ms < 10 ? num(ms).toFixed(2) : ms < 100 ? num(ms).toFixed(1) : String(Math.round(ms));
    }

    function chartValues(p) {
        return {
            rps: [p.rps, p.fail_s],
            rt: [p.p50_ms, p.p95_ms, p.p99_ms],
            users: [p.users]
        };
    }

    /* Keeps every chart series under MAX_POINTS by dropping every other
     * point (the first and the newest stay). */
    function thin(data) {
        if (data.length <= MAX_POINTS) return data;
        var out = [];
        for (var i = 0; i < data.length; i++) {
            if (i % 2 === 0 || i === data.length - 1) out.push(data[i]);
        }
        return out.length > MAX_POINTS ? thin(out) : out;
    }

    function pushPoint(p) {
        if (!charts) return;
        var x = num(p.time) * 1000;
        var vals = chartValues(p);
        for (var k in charts) {
            var ds = charts[k].data.datasets;
            for (var i = 0; i < ds.length; i++) {
                if (ds[i].overlay) continue; /* a baseline run, drawn as it was */
                ds[i].data.push({ x: x, y: num(vals[k][i]) });
                if (ds[i].data.length > MAX_POINTS) ds[i].data = thin(ds[i].data);
            }
        }
        lastPointTime = num(p.time);
    }

    function redrawCharts() {
        if (!charts || tab !== 'charts') return;
        for (var k in charts) charts[k].update('none');
        if (capacityChart) capacityChart.resize();
    }

    function setHistory(points) {
        if (!charts) return;
        for (var k in charts) {
            var ds = charts[k].data.datasets;
            for (var i = 0; i < ds.length; i++) if (!ds[i].overlay) ds[i].data = [];
        }
        lastPointTime = 0;
        for (var j = 0; j < points.length; j++) {
            if (num(points[j].time) > lastPointTime) pushPoint(points[j]);
        }
        redrawCharts();
    }

    function snapPoint(s) {
        var t = s.total || {};
        return {
            time: s.now, users: s.users, rps: t.current_rps, fail_s: t.current_fail_s,
            p50_ms: t.cur_p50_ms, p95_ms: t.cur_p95_ms, p99_ms: t.cur_p99_ms
        };
    }

    /* Rebuilds the charts from the server's history; snapshots that arrive
     * meanwhile are queued and appended when newer than the history. */
    function loadHistory() {
        var gen = ++historyGen;
        historyLoading = historyLoading || [];
        return api('GET', '/api/history').then(function (points) {
            if (gen !== historyGen) return;
            var queued = historyLoading;
            historyLoading = null;
            setHistory(Array.isArray(points) ? points : []);
            for (var i = 0; i < queued.length; i++) {
                if (num(queued[i].time) > lastPointTime + 0.5) pushPoint(queued[i]);
            }
            redrawCharts();
        }, function (err) {
            if (gen !== historyGen) return;
            historyLoading = null;
            showError('control-error', new Error('could not load the chart history: ' + err.message));
        });
    }

    function applyChartTheme() {
        if (!charts) return;
        Chart.defaults.color = cssVar('--chart-text');
        var grid = cssVar('--chart-grid');
        for (var k in charts) {
            var c = charts[k];
            c.options.scales.x.grid.color = grid;
            c.options.scales.y.grid.color = grid;
            c.options.scales.x.ticks.color = cssVar('--chart-text');
            c.options.scales.y.ticks.color = cssVar('--chart-text');
            c.options.scales.y.title.color = cssVar('--chart-text');
            c.options.plugins.legend.labels.color = cssVar('--chart-text');
            c.data.datasets.forEach(function (d) {
                d.borderColor = d.backgroundColor = cssVar(d.colorVar);
            });
            c.update('none');
        }
    }

    /* ---- Snapshots ------------------------------------------------------------ */

    function onSnapshot(s, stateChanged, live) {
        if (!s || typeof s !== 'object') return;
        var prev = snap;
        snap = s;
        if (!s.total) s.total = { requests: 0, failures: 0 };

        renderHeader(s);
        renderControls(s);
        prefillForm(s);

        /* Stats were reset or a new run began: the server's history restarted too. */
        var restarted = prev && (num(s.total.requests) < num(prev.total.requests) || s.start_time !== prev.start_time);
        if (live && (restarted || stateChanged)) {
            loadHistory();
            if (restarted && overlayDoc) drawOverlay(); /* the baseline starts with the new run */
        } else if (live && s.state !== 'ready' && num(s.now) > lastPointTime + 0.5) {
            var p = snapPoint(s);
            if (historyLoading) historyLoading.push(p);
            else {
                pushPoint(p);
                redrawCharts();
            }
        }

        dirty.stats = dirty.failures = dirty.exceptions = dirty.ratio = dirty.workers = true;
        dirty.thresholds = true;
        renderVisibleTab();
        var ne = (s.errors || []).length, nx = (s.exceptions || []).length;
        $('badge-failures').textContent = ne ? String(ne) : '';
        $('badge-exceptions').textContent = nx ? String(nx) : '';
        var nt = (s.thresholds || []).filter(function (t) { return t.verdict === 'fail'; }).length;
        $('badge-thresholds').textContent = nt ? String(nt) : '';
        if (!thresholdsTouched && Array.isArray(s.thresholds)) {
            $('f-thresholds').value = s.thresholds.map(function (t) { return t.expr; }).join('\n');
        }
        renderCapacity(s);
        prefillParams(s);
        /* A run just ended: it joins the Runs tab. */
        if (stateChanged && s.state === 'stopped' && s.start_time) loadRuns();
    }

    function refreshStats() {
        return api('GET', '/api/stats').then(function (s) { onSnapshot(s, false, false); }, function () { });
    }

    /* ---- WebSocket ---------------------------------------------------------------- */

    function setWsStatus(st) {
        var el = $('ws-status');
        el.textContent = st;
        el.setAttribute('data-status', st);
    }

    function armWatchdog() {
        clearTimeout(wsWatchdog);
        wsWatchdog = setTimeout(function () {
            /* No push for a while: the link is dead even if TCP says otherwise. */
            if (ws) ws.close();
        }, WS_SILENCE_MS);
    }

    function scheduleReconnect() {
        clearTimeout(wsTimer);
        var delay = Math.min(5000, 400 * Math.pow(2, wsRetry));
        wsRetry++;
        wsTimer = setTimeout(connectWs, delay);
    }

    function connectWs() {
        var url = (location.protocol === 'https:' ? 'wss://' : 'ws://') + location.host + '/ws';
        var sock;
        try {
            sock = new WebSocket(url);
        } catch (e) {
            setWsStatus('reconnecting');
            scheduleReconnect();
            return;
        }
        ws = sock;
        sock.onopen = function () {
            if (ws !== sock) return;
            wsLive = true;
            wsRetry = 0;
            setWsStatus('live');
            armWatchdog();
            /* Catch up on what was missed while disconnected. */
            if (wsEverOpen) loadHistory();
            wsEverOpen = true;
        };
        sock.onmessage = function (ev) {
            if (ws !== sock) return;
            armWatchdog();
            var m;
            try { m = JSON.parse(ev.data); } catch (e) { return; }
            if (m && m.type === 'snapshot') onSnapshot(m.data, !!m.state_changed, true);
            else if (m && m.type === 'log') onLogLine(String(m.line || ''));
        };
        sock.onclose = function () {
            if (ws !== sock) return;
            ws = null;
            wsLive = false;
            clearTimeout(wsWatchdog);
            setWsStatus('reconnecting');
            scheduleReconnect();
        };
        sock.onerror = function () { /* onclose follows */ };
    }

    /* ---- Tabs ---------------------------------------------------------------- */

    function renderVisibleTab() {
        if (!snap) return;
        if (tab === 'stats' && dirty.stats) renderStats();
        else if (tab === 'failures' && dirty.failures) renderFailures();
        else if (tab === 'exceptions' && dirty.exceptions) renderExceptions();
        else if (tab === 'ratio' && dirty.ratio) renderRatio();
        else if (tab === 'workers' && dirty.workers) renderWorkers();
        else if (tab === 'thresholds' && dirty.thresholds) renderThresholds();
    }

    /* A log line pushed as it happens: refresh the open Logs tab at once,
     * or flag the tab when a warning or error arrives elsewhere. */
    function onLogLine(line) {
        if (tab === 'logs') {
            pollLogs();
            return;
        }
        if (/\] (WARNING|ERROR|CRITICAL):/.test(line)) {
            var btn = document.querySelector('.tabs [data-tab="logs"]');
            if (btn) btn.classList.add('has-news');
        }
    }

    function pollLogs() {
        clearTimeout(logTimer);
        if (tab !== 'logs') return;
        api('GET', '/api/logs').then(function (d) {
            showError('logs-error', null);
            var pre = $('logs');
            var atEnd = pre.scrollHeight - pre.scrollTop - pre.clientHeight < 40;
            var lines = d && Array.isArray(d.lines) ? d.lines : [];
            pre.textContent = lines.length ? lines.join('\n') : 'No log lines yet.';
            if (atEnd) pre.scrollTop = pre.scrollHeight;
        }, function (err) {
            showError('logs-error', err);
        }).then(function () {
            if (tab === 'logs') logTimer = setTimeout(pollLogs, LOG_POLL_MS);
        });
    }

    function selectTab(name, keepUrl) {
        if (TABS.indexOf(name) < 0) name = 'stats';
        tab = name;
        var btns = document.querySelectorAll('.tabs [data-tab]');
        for (var i = 0; i < btns.length; i++) {
            var on = btns[i].getAttribute('data-tab') === name;
            btns[i].classList.toggle('active', on);
            btns[i].setAttribute('aria-selected', on ? 'true' : 'false');
        }
        var panels = document.querySelectorAll('.panel');
        for (var j = 0; j < panels.length; j++) panels[j].hidden = panels[j].getAttribute('data-panel') !== name;
        if (!keepUrl) {
            var u = new URL(location.href);
            u.searchParams.set('tab', name);
            history.replaceState(null, '', u.pathname + u.search + u.hash);
        }
        if (name === 'charts' && charts) {
            for (var k in charts) {
                charts[k].resize();
                charts[k].update('none');
            }
        }
        if (name === 'runs') loadRuns();
        if (name === 'logs') {
            var logBtn = document.querySelector('.tabs [data-tab="logs"]');
            if (logBtn) logBtn.classList.remove('has-news');
            pollLogs();
        }
        renderVisibleTab();
    }

    /* ---- Forms and controls ------------------------------------------------------- */

    /* Until the user types, the form offers the last run's settings. */
    function prefillForm(s) {
        if (formTouched || !s) return;
        if (s.host && !$('f-host').value) $('f-host').value = s.host;
        if (s.start_time && !RUNNING[s.state]) {
            if (s.host) $('f-host').value = s.host;
            if (s.target_users > 0) $('f-users').value = s.target_users;
            if (s.spawn_rate > 0) $('f-rate').value = s.spawn_rate;
        }
    }

    function applyConfig(c) {
        config = c || {};
        if (config.version) $('version').textContent = 'v' + config.version;
        if (!formTouched) {
            if (config.default_users !== undefined && config.default_users > 0) $('f-users').value = config.default_users;
            if (config.default_spawn_rate !== undefined && config.default_spawn_rate > 0) {
                $('f-rate').value = config.default_spawn_rate;
            }
            if (config.default_host) $('f-host').value = config.default_host;
            if (config.default_run_time) $('f-runtime').value = config.default_run_time + 's';
            if (config.default_stages) {
                $('f-stages').value = config.default_stages;
                $('f-profile-stages').checked = true;
                onProfileChange();
            }
        }
        if (config.max_users) $('f-users').title = 'at most ' + config.max_users;
        var parts = [];
        if (config.plugin) parts.push('Plugin: ' + config.plugin);
        if (Array.isArray(config.user_types) && config.user_types.length) {
            parts.push('user types: ' + config.user_types.map(function (u) { return u.name; }).join(', '));
        }
        $('start-plugin').textContent = parts.join(' \u00b7 ');
        $('btn-reload').hidden = false;
        renderPluginStatus(config.plugin_status);
        var pushing = config.integrations && config.integrations.pushing;
        if (pushing) $('integrations-pushing').textContent = pushing;
        dirty.ratio = true;
        renderTypePicker();
        renderParams();
    }

    /* The user type picker (Locust's class picker): which types the next
     * run starts, and each one's weight, fixed count, host and tasks. Sent
     * only once touched; untouched, the plugin's own settings apply. */
    /* The plugin's parameters: one field each, prefilled with the run's
     * value (a secret stays empty: left empty, it keeps its value). */
    function renderParams() {
        var ps = (config && Array.isArray(config.params)) ? config.params : [];
        $('field-params').hidden = ps.length === 0;
        $('params-fields').innerHTML = ps.map(function (p, i) {
            var id = 'p-' + i, input;
            if (p.type === 'bool') {
                input = '<select id="' + id + '" data-param="' + i + '"><option value="true">true</option>' +
                    '<option value="false">false</option></select>';
            } else {
                var type = p.secret ? 'password' : (p.type === 'int' || p.type === 'float') ? 'number' : 'text';
                input = '<input id="' + id + '" data-param="' + i + '" type="' + type + '"' +
                    (p.type === 'int' ? ' step="1"' : p.type === 'float' ? ' step="any"' : '') +
                    (p.secret ? ' placeholder="(secret: empty keeps it)" autocomplete="new-password"' : ' autocomplete="off"') +
                    ' spellcheck="false">';
            }
            return '<div class="field"><label for="' + id + '">' + esc(p.name) +
                (p.help ? ' <span class="hint">' + esc(p.help) + '</span>' : '') + '</label>' + input + '</div>';
        }).join('');
        ps.forEach(function (p, i) { if (!p.secret) setParamField(i, p['default']); });
    }

    function setParamField(i, value) {
        var el = $('p-' + i);
        if (!el) return;
        if (el.tagName === 'SELECT') {
            el.value = /^(1|true|yes|on)$/i.test(String(value)) ? 'true' : 'false';
        } else {
            el.value = value === undefined || value === null ? '' : value;
        }
    }

    /* After a run started elsewhere (or a reload), show its values. */
    var paramsTouched = false;
    function prefillParams(s) {
        if (formTouched || paramsTouched || !Array.isArray(s.params) || !config || !Array.isArray(config.params)) return;
        s.params.forEach(function (v) {
            config.params.forEach(function (p, i) {
                if (p.name === v.name && !p.secret) setParamField(i, v.value);
            });
        });
    }

    function chosenParams() {
        var ps = (config && Array.isArray(config.params)) ? config.params : [], out = {}, any = false;
        ps.forEach(function (p, i) {
            var el = $('p-' + i);
            if (!el || (p.secret && el.value === '')) return;
            out[p.name] = el.value;
            any = true;
        });
        return any ? out : null;
    }

    var typesTouched = false;
    function renderTypePicker() {
        var types = (config && Array.isArray(config.user_types)) ? config.user_types : [];
        $('field-types').hidden = types.length === 0;
        $('types-summary').textContent = '(' + types.length + ': pick which run and how)';
        document.querySelector('#types-table tbody').innerHTML = types.map(function (u, i) {
            var tasks = (u.tasks || []).map(function (t, k) {
                return '<label class="task-pick"><input type="checkbox" data-type="' + i + '" data-task="' + k +
                    '" checked> ' + esc(t.name) + '</label>';
            }).join(' ');
            return '<tr data-type="' + i + '">' +
                '<td><input type="checkbox" class="pick-run" aria-label="run ' + esc(u.name) + '" checked></td>' +
                '<td class="name">' + esc(u.name) + '</td>' +
                '<td class="num"><input type="number" class="pick-weight" min="0" step="1" value="' + num(u.weight) + '"></td>' +
                '<td class="num"><input type="number" class="pick-fixed" min="0" step="1" value="' + num(u.fixed_count) + '"></td>' +
                '<td><input type="text" class="pick-host" placeholder="' + esc(u.host || 'the run\'s host') +
                '" spellcheck="false" autocomplete="off"></td>' +
                '<td class="pick-tasks">' + tasks + '</td></tr>';
        }).join('');
        typesTouched = false;
    }

    function pickedTypes() {
        var types = config.user_types, out = [];
        var rows = document.querySelectorAll('#types-table tbody tr');
        for (var i = 0; i < rows.length; i++) {
            var row = rows[i], u = types[Number(row.getAttribute('data-type'))];
            if (!row.querySelector('.pick-run').checked) continue;
            var pick = { name: u.name,
                         weight: numberOrRaw(row.querySelector('.pick-weight').value),
                         fixed_count: numberOrRaw(row.querySelector('.pick-fixed').value) };
            var host = row.querySelector('.pick-host').value.trim();
            if (host) pick.host = host;
            var boxes = row.querySelectorAll('.pick-tasks input'), chosen = [];
            for (var k = 0; k < boxes.length; k++)
                if (boxes[k].checked) chosen.push(u.tasks[Number(boxes[k].getAttribute('data-task'))].name);
            if (chosen.length !== boxes.length) pick.tasks = chosen;
            out.push(pick);
        }
        return out;
    }

    /* Form values go to the server as typed (numbers parsed, blanks left
     * out) so its validation, not the browser's, decides and explains. */
    function numberOrRaw(v) {
        v = v.trim();
        if (v === '') return null;
        var n = Number(v);
        return isFinite(n) ? n : v;
    }

    function profileIsStages() { return $('f-profile-stages').checked; }
    function profileIsArrival() { return $('f-profile-arrival').checked; }

    function onCapacityChange() {
        var on = $('f-capacity').checked && !profileIsStages();
        $('field-capacity').hidden = profileIsStages();
        $('field-capacity-step').hidden = !on;
        $('field-capacity-hold').hidden = !on;
    }

    function onProfileChange() {
        var stages = profileIsStages(), arrival = profileIsArrival();
        onCapacityChange();
        $('field-stages').hidden = !stages;
        $('field-arrival').hidden = !arrival;
        var fixed = document.querySelectorAll('#start-form [data-fixed]');
        for (var i = 0; i < fixed.length; i++) {
            /* The open model keeps the users field: the pool's maximum. */
            fixed[i].hidden = stages || (arrival && fixed[i].hasAttribute('data-ramp'));
        }
        $('f-users-label').textContent = arrival ? 'Most users (the pool grows up to this)'
            : 'Number of users (peak concurrency)';
    }

    function onStart(ev) {
        ev.preventDefault();
        var body = {};
        if (snap && snap.shape) {
            /* The shape sets the users; the API still wants a valid start. */
            body.users = 0;
            body.spawn_rate = 1;
        } else if (profileIsArrival()) {
            body.arrival_rate = numberOrRaw($('f-arrival').value);
            body.users = numberOrRaw($('f-users').value);
        } else if (profileIsStages()) {
            body.stages = $('f-stages').value.split(/[,\n]/).map(function (l) { return l.trim(); })
                .filter(function (l) { return l !== ''; });
        } else {
            body.users = numberOrRaw($('f-users').value);
            body.spawn_rate = numberOrRaw($('f-rate').value);
        }
        var host = $('f-host').value.trim();
        if (host) body.host = host;
        var rt = $('f-runtime').value.trim();
        if (rt) body.run_time = rt;
        /* Always sent: an emptied box clears the thresholds for this run. */
        body.thresholds = $('f-thresholds').value.split('\n').map(function (l) { return l.trim(); })
            .filter(function (l) { return l !== ''; });
        if (typesTouched) body.user_types = pickedTypes();
        var params = chosenParams();
        if (params) body.params = params;
        if ($('f-capacity').checked && !profileIsStages() && !(snap && snap.shape)) {
            body.find_capacity = {};
            var step = $('f-capacity-step').value.trim(), hold = $('f-capacity-hold').value.trim();
            if (step !== '') body.find_capacity.step = numberOrRaw(step);
            if (hold !== '') body.find_capacity.hold = hold;
        }
        command($('btn-start'), 'start-error', 'POST', '/api/swarm', body);
    }

    function onEditToggle() {
        var form = $('edit-form');
        if (form.hidden && snap) {
            $('e-users').value = snap.target_users;
            $('e-rate').value = snap.spawn_rate || $('f-rate').value;
            showError('edit-error', null);
        }
        form.hidden = !form.hidden;
        if (!form.hidden) $('e-users').focus();
    }

    function onResize(ev) {
        ev.preventDefault();
        var body = { users: numberOrRaw($('e-users').value) };
        var rate = numberOrRaw($('e-rate').value);
        if (rate !== null) body.spawn_rate = rate;
        command($('btn-resize'), 'edit-error', 'POST', '/api/resize', body).then(function (ok) {
            if (ok) $('edit-form').hidden = true;
        });
    }

    /* The plugin's file changed since it was loaded (the operator edited it):
     * offer to compile and load the new version; a compile error is shown
     * as the compiler said it, and the old plugin stays. */
    function renderPluginStatus(ps) {
        var box = $('plugin-reload');
        if (!ps || !ps.reloadable) {
            box.hidden = true;
            return;
        }
        var name = String(ps.path).split('/').pop();
        var failed = !!ps.error;
        box.hidden = !(ps.changed || failed);
        box.classList.toggle('failed', failed);
        $('plugin-reload-text').textContent = failed
            ? 'The new version of ' + name + ' did not load; the one loaded before is still in use.'
            : name + ' changed since it was loaded.';
        $('btn-reload').textContent = failed ? 'Try again' : 'Reload plugin';
        var pre = $('plugin-reload-error');
        pre.hidden = !failed;
        pre.textContent = failed ? ps.error : '';
    }

    function checkPlugin() {
        if (!config || !config.plugin_status || !config.plugin_status.reloadable) return;
        api('GET', '/api/plugin').then(renderPluginStatus, function () { /* checked again later */ });
    }

    function onReload(ev) {
        var btn = ev.currentTarget;
        btn.disabled = true;
        $('plugin-reload-text').textContent = 'Compiling and loading\u2026';
        api('POST', '/api/plugin/reload').then(function () {
            return api('GET', '/api/config').then(function (c) {
                applyConfig(c);
                var box = $('plugin-reload');
                box.hidden = false;
                box.classList.remove('failed');
                $('plugin-reload-error').hidden = true;
                $('plugin-reload-text').textContent = 'Reloaded: the next run uses the new version.';
                btn.hidden = true;
            });
        }, function () {
            checkPlugin(); /* its error, as the server kept it */
        }).then(function () { btn.disabled = false; });
    }

    function onNewTest() {
        checkPlugin();
        /* Clear the finished run's numbers and bring the form forward. */
        command($('btn-new'), 'control-error', 'POST', '/api/reset').then(function (ok) {
            if (!ok) return;
            $('run-banner').hidden = true;
            setHistory([]);
            var f = $('f-users');
            f.scrollIntoView({ block: 'nearest' });
            f.focus();
            f.select();
        });
    }

    /* The HTML report belongs to a later release: say so instead of a dead link. */
    function checkReportLink() {
        var li = $('dl-report-html');
        function unavailable() {
            li.innerHTML = '<span class="unavailable">HTML report (coming soon)</span><span class="muted">report.html</span>';
        }
        fetch('/report.html', { method: 'HEAD', cache: 'no-store' }).then(function (r) {
            if (r.status === 404) return unavailable();
            if (r.status === 405 || r.status === 501) {
                return fetch('/report.html', { cache: 'no-store' }).then(function (g) {
                    if (g.status === 404) unavailable();
                });
            }
        }).catch(function () { });
    }

    function initTheme() {
        $('theme-toggle').addEventListener('click', function () {
            var cur = document.documentElement.getAttribute('data-theme');
            if (!cur) cur = matchMedia('(prefers-color-scheme: dark)').matches ? 'dark' : 'light';
            var next = cur === 'dark' ? 'light' : 'dark';
            document.documentElement.setAttribute('data-theme', next);
            try { localStorage.setItem('hornet-theme', next); } catch (e) { /* not saved */ }
            applyChartTheme();
        });
        if (window.matchMedia) {
            var mq = matchMedia('(prefers-color-scheme: dark)');
            var h = function () { if (!document.documentElement.getAttribute('data-theme')) applyChartTheme(); };
            if (mq.addEventListener) mq.addEventListener('change', h);
        }
    }

    function bind() {
        $('start-form').addEventListener('submit', onStart);
        ['f-users', 'f-rate', 'f-host', 'f-runtime'].forEach(function (id) {
            $(id).addEventListener('input', function () { formTouched = true; });
        });
        $('f-thresholds').addEventListener('input', function () { thresholdsTouched = true; });
        $('f-capacity').addEventListener('change', onCapacityChange);
        $('btn-compare').addEventListener('click', compareRuns);
        $('btn-entry-close').addEventListener('click', closeEntry);
        $('stats-wrap').addEventListener('click', function (e) {
            var tr = e.target.closest('tr[data-type]');
            if (tr) openEntry(tr.getAttribute('data-type'), tr.getAttribute('data-name'));
        });
        $('btn-overlay-off').addEventListener('click', function () { setOverlay(null); });
        $('runs-upload').addEventListener('change', uploadRun);
        $('runs-table').addEventListener('click', function (e) {
            var b = e.target.closest('.run-overlay');
            if (b) setOverlay(b.getAttribute('data-run'));
        });
        $('types-table').addEventListener('input', function () { typesTouched = true; });
        $('params-fields').addEventListener('input', function () { paramsTouched = true; });
        $('params-fields').addEventListener('change', function () { paramsTouched = true; });
        $('types-table').addEventListener('change', function () { typesTouched = true; });
        $('f-profile-fixed').addEventListener('change', onProfileChange);
        $('f-profile-stages').addEventListener('change', onProfileChange);
        $('f-profile-arrival').addEventListener('change', onProfileChange);
        $('btn-edit').addEventListener('click', onEditToggle);
        $('btn-edit-cancel').addEventListener('click', function () { $('edit-form').hidden = true; });
        $('edit-form').addEventListener('submit', onResize);
        $('btn-pause').addEventListener('click', function (e) {
            command(e.currentTarget, 'control-error', 'POST', '/api/pause');
        });
        $('btn-resume').addEventListener('click', function (e) {
            command(e.currentTarget, 'control-error', 'POST', '/api/resume');
        });
        $('btn-stop').addEventListener('click', function (e) {
            command(e.currentTarget, 'control-error', 'POST', '/api/stop');
        });
        $('btn-reset').addEventListener('click', function (e) {
            command(e.currentTarget, 'control-error', 'POST', '/api/reset');
        });
        $('btn-new').addEventListener('click', onNewTest);
        $('btn-reload').addEventListener('click', onReload);
        /* Back from the editor: has the plugin changed? */
        window.addEventListener('focus', checkPlugin);

        var tabs = document.querySelectorAll('.tabs [data-tab]');
        for (var i = 0; i < tabs.length; i++) {
            tabs[i].addEventListener('click', function (e) { selectTab(e.currentTarget.getAttribute('data-tab')); });
        }
        document.querySelector('#stats-table thead').addEventListener('click', function (e) {
            var th = e.target.closest('th');
            if (!th) return;
            var key = th.getAttribute('data-key');
            if (sortKey === key) {
                sortDesc = !sortDesc;
            } else {
                sortKey = key;
                sortDesc = key !== 'type' && key !== 'name';   /* numbers: biggest first */
            }
            try { sessionStorage.setItem('hornet-sort', JSON.stringify([sortKey, sortDesc])); } catch (err) { /* not kept */ }
            markSortHeader();
            renderStats();
        });
        $('stats-wrap').addEventListener('scroll', onStatsScroll, { passive: true });
        var ft = 0;
        $('stats-filter').addEventListener('input', function (e) {
            var v = e.target.value.trim();
            clearTimeout(ft);
            ft = setTimeout(function () {
                filterText = v;
                renderStats();
            }, 120);
        });
    }

    function restoreSort() {
        try {
            var v = JSON.parse(sessionStorage.getItem('hornet-sort') || 'null');
            if (Array.isArray(v) && document.querySelector('#stats-table th[data-key="' + v[0] + '"]')) {
                sortKey = v[0];
                sortDesc = !!v[1];
            }
        } catch (e) { /* default order */ }
        markSortHeader();
    }

    function init() {
        bind();
        restoreSort();
        initTheme();
        initCharts();
        var q = new URLSearchParams(location.search).get('tab');
        selectTab(q || 'stats', !q);
        checkReportLink();

        /* Initial state over HTTP, then live updates over the WebSocket. */
        var cfg = api('GET', '/api/config').then(applyConfig, function (err) {
            showError('start-error', new Error('could not load the configuration: ' + err.message));
        });
        var stats = api('GET', '/api/stats').then(function (s) { onSnapshot(s, false, false); }, function (err) {
            showError('control-error', new Error('could not load statistics: ' + err.message));
        });
        Promise.all([cfg, stats]).then(function () {
            if (snap) {
                renderControls(snap);
                prefillForm(snap);
            }
            dirty.ratio = true;
            renderVisibleTab();
            return loadHistory();
        }).then(connectWs, connectWs);
    }

    if (document.readyState === 'loading') document.addEventListener('DOMContentLoaded', init);
    else init();
})();
