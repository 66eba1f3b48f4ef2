/*
 * tls.test.js: the dashboard over HTTPS (--tls-cert/--tls-key) in headless
 * Chromium, behind --web-auth. The test makes its own CA and a certificate
 * for 127.0.0.1 with openssl, and puts the CA in an NSS database of a home
 * of its own (what Chromium on Linux trusts): the page loads as https://,
 * its live push connects over wss:// and a run started from the form runs.
 *
 * Env: HORNET (the binary), HN_BUILD_DIR (screenshots as tls-*.png in
 * e2e-screenshots), CHROMIUM (default /usr/bin/chromium).
 */
'use strict';

const fs = require('fs');
const os = require('os');
const path = require('path');
const { execFileSync } = require('child_process');

const BUILD_DIR = process.env.HN_BUILD_DIR;
const SHOTS = path.join(BUILD_DIR || '/tmp', 'e2e-screenshots');
const HORNET = process.env.HORNET;

const h = require('./harness')({ shots: SHOTS, prefix: 'tls-' });
const { assert, step, until } = h;

/* A CA, a certificate for 127.0.0.1 signed by it, and a home whose NSS
 * database trusts the CA. */
function makePki(dir) {
    const run = (cmd, args) => execFileSync(cmd, args, { cwd: dir, stdio: 'pipe' });
    run('openssl', ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', 'ca.key', '-out', 'ca.pem',
        '-days', '2', '-subj', '/CN=hornet browser test CA']);
    run('openssl', ['req', '-newkey', 'rsa:2048', '-nodes', '-keyout', 'server.key', '-out', 'server.csr',
        '-subj', '/CN=127.0.0.1']);
    fs.writeFileSync(path.join(dir, 'ext.cnf'), 'subjectAltName=IP:127.0.0.1\n');
    run('openssl', ['x509', '-req', '-in', 'server.csr', '-CA', 'ca.pem', '-CAkey', 'ca.key', '-CAcreateserial',
        '-out', 'server.pem', '-days', '2', '-extfile', 'ext.cnf']);
    const nss = path.join(dir, 'home', '.pki', 'nssdb');
    fs.mkdirSync(nss, { recursive: true });
    run('certutil', ['-d', 'sql:' + nss, '-N', '--empty-password']);
    run('certutil', ['-d', 'sql:' + nss, '-A', '-n', 'hornet-test-ca', '-t', 'C,,', '-i', 'ca.pem']);
    return { cert: path.join(dir, 'server.pem'), key: path.join(dir, 'server.key'), home: path.join(dir, 'home') };
}

h.main(async () => {
    assert(HORNET && fs.existsSync(HORNET), 'HORNET is not set to the hornet binary');
    fs.mkdirSync(SHOTS, { recursive: true });
    const pki = makePki(fs.mkdtempSync(path.join(os.tmpdir(), 'hn-tls-browser-')));
    h.browserEnv = { HOME: pki.home };
    const url = await h.startHornet(['--demo', '--tls-cert', pki.cert, '--tls-key', pki.key,
        '--web-auth', 'ops:horn3t', '--web-port', '0']);
    assert(/^https:\/\/127\.0\.0\.1:\d+\/$/.test(url), 'the dashboard line names ' + url);

    const page = await h.newPage(null, { width: 1280, height: 900 },
        { httpCredentials: { username: 'ops', password: 'horn3t' } });
    await step('the page over https, verified against the test CA', page, async () => {
        const resp = await page.goto(url, { waitUntil: 'load' });
        assert(resp.status() === 200, 'status ' + resp.status());
        const sec = await resp.securityDetails();
        assert(sec && /TLS 1\.[23]/.test(sec.protocol), 'security details: ' + JSON.stringify(sec));
        assert(sec.issuer === 'hornet browser test CA', 'issuer ' + sec.issuer);
        await until(page, () => document.getElementById('ws-status').getAttribute('data-status') === 'live',
            null, 15000, 'the live indicator (the WebSocket connected over wss://)');
    });

    await step('a run from the form', page, async () => {
        await page.fill('#f-users', '2');
        await page.fill('#f-rate', '10');
        await page.click('#btn-start');
        await until(page, () => Array.from(document.querySelectorAll('#stats-table tbody td'))
            .some((td) => td.textContent.trim().startsWith('/')), null, 15000, 'an entry in the table (live push)');
        await page.click('#btn-stop');
        await page.waitForSelector('#btn-new:not([hidden])', { timeout: 30000 });
    });
});
