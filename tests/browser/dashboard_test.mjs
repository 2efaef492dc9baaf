// The dashboard end to end: the real `cidrotor serve` on a temporary data directory and a port
// it picks, Debian's Chromium driven by playwright-core. Covers: the token never goes into the
// URL, even when the form is sent before app.js runs; a wrong token is refused and shows no data;
// login with Enter; counts follow allocations made over HTTP; deactivating a number in the page
// stops /next-cid from returning it; caps and pool are edited; a campaign is mapped to that pool
// (warned about while the pool has no active number) and unmapped in the page, and /next-cid
// follows; a pool's fallback is switched to none and back, and a poll that changes its counts
// keeps the keyboard focus on its button; the number form saves only what was changed, follows
// changes made elsewhere and names the field of an error; a CSV upload shows its summary and
// rejected lines; a phone-wide viewport does not scroll sideways; the JWT is renewable (by the
// API and by the page's timer), expired or tampered JWTs are refused by the API, and a refused
// JWT ends the page's session; a server that does not answer is said so, its last figures greyed
// out; logout; no console errors. Saves screenshots to $CIDROTOR_ARTIFACTS/dashboard*.png.
//   CIDROTOR_BINARY=build/cidrotor CIDROTOR_ARTIFACTS=build/test-artifacts node dashboard_test.mjs
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { createHmac } from 'node:crypto';
import fs from 'node:fs';
import { createRequire } from 'node:module';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const here = path.dirname(fileURLToPath(import.meta.url));
const require = createRequire(path.resolve(here, '../../web/package.json'));
const { chromium } = require('playwright-core');

const BINARY = process.env.CIDROTOR_BINARY || path.resolve(here, '../../build/cidrotor');
const ARTIFACTS = process.env.CIDROTOR_ARTIFACTS || path.resolve(here, '../../build/test-artifacts');
// How long to wait for the page to show something (it polls every 5 s). Generous on purpose: on a
// loaded CI machine a poll, or Chromium itself, can take seconds longer; a pass never waits this long.
const WAIT_MS = 20_000;
const ADMIN_TOKEN = 'browser-admin-token-0123456789';
const SECRET_KEY = 'browser-secret-key-0123456789abcdef';
// The key the server signs its JWTs with: SECRET_KEY, a NUL, ADMIN_TOKEN (http/jwt_sessions.h).
const JWT_KEY = `${SECRET_KEY}\0${ADMIN_TOKEN}`;
const NUMBERS = ['2125551001', '2125551002', '2125551003', '2125551004'];

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

async function startServer(dir) {
  const ready = path.join(dir, 'ready.json');
  const log = fs.openSync(path.join(dir, 'server.log'), 'w');
  const child = spawn(BINARY, ['serve', '--ready-file', ready], {
    cwd: dir,
    env: {
      PATH: process.env.PATH, ADMIN_TOKEN, SECRET_KEY, API_HOST: '127.0.0.1', API_PORT: '0', AGI_PORT: '0',
      CIDROTOR_DATA_DIR: path.join(dir, 'var'),
      WARMUP_DAYS: '5',  // the numbers this test adds warm up: the panel shows it
    },
    stdio: ['ignore', log, log],
  });
  for (let i = 0; i < 200; ++i) {
    if (child.exitCode !== null) throw new Error(`server exited: ${fs.readFileSync(path.join(dir, 'server.log'), 'utf8')}`);
    if (fs.existsSync(ready)) {
      const port = JSON.parse(fs.readFileSync(ready, 'utf8')).http_port;
      return { child, base: `http://127.0.0.1:${port}` };
    }
    await sleep(50);
  }
  child.kill('SIGKILL');
  throw new Error('server not ready within 10 s');
}

async function stopServer(child) {
  if (!child || child.exitCode !== null) return;
  const exited = new Promise((resolve) => child.once('exit', resolve));
  child.kill('SIGTERM');
  const timer = setTimeout(() => child.kill('SIGKILL'), 5000);
  await exited;
  clearTimeout(timer);
}

function base64url(text) {
  return Buffer.from(text).toString('base64url');
}

// An HS256 JWT signed with `key`, as the server would make one, with the given times.
function craftJwt(key, iat, exp) {
  const head = base64url(JSON.stringify({ alg: 'HS256', typ: 'JWT' }));
  const body = base64url(JSON.stringify({ auth_time: iat, exp, iat, sub: 'admin' }));
  const signature = createHmac('sha256', key).update(`${head}.${body}`).digest('base64url');
  return `${head}.${body}.${signature}`;
}

async function main() {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'cidrotor-browser-'));
  let server = null;
  let browser = null;
  let failed = false;
  try {
    server = await startServer(dir);
    const { base } = server;
    const admin = { Authorization: `Bearer ${ADMIN_TOKEN}` };
    const api = async (method, target, { headers = {}, body } = {}) => {
      const response = await fetch(base + target, { method, headers, body });
      const text = await response.text();
      let json = null;
      try { json = JSON.parse(text); } catch { /* plain or empty */ }
      return { status: response.status, text, json };
    };
    for (const number of NUMBERS) {
      const added = await api('POST', '/add-number', {
        headers: { ...admin, 'Content-Type': 'application/x-www-form-urlencoded' },
        body: `caller_id=${number}&carrier=Verizon`,
      });
      assert.equal(added.status, 200, added.text);
    }

    browser = await chromium.launchPersistentContext(path.join(dir, 'chromium-profile'), {
      executablePath: '/usr/bin/chromium',
      headless: true,
      args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
        '--disable-background-networking', '--disable-component-update', '--disable-sync'],
      viewport: { width: 1400, height: 1300 },
    });
    const page = browser.pages()[0] || await browser.newPage();
    const consoleErrors = [];
    page.on('console', (message) => {
      // A refused login or request shows as a failed resource load in the console: expected.
      if (message.type() === 'error' && !/status of 401/.test(message.text())) consoleErrors.push(message.text());
    });
    page.on('pageerror', (error) => consoleErrors.push(String(error)));
    page.on('requestfailed', (request) => consoleErrors.push(`request failed: ${request.url()}`));
    const text = (selector) => page.locator(selector).textContent();

    // ---- the token never goes into the URL, even when the form is sent before app.js runs ----
    // (A deferred script runs before DOMContentLoaded: the page is used as soon as it is parsed.)
    await page.route('**/dashboard/app.js', async (route) => { await sleep(2000); await route.continue(); });
    await page.goto(`${base}/dashboard`, { waitUntil: 'commit' });
    await page.locator('#token').waitFor({ timeout: WAIT_MS });
    assert.equal(await page.evaluate(() => typeof renew), 'undefined', 'app.js has not run yet');
    await page.fill('#token', ADMIN_TOKEN);
    await page.press('#token', 'Enter');
    await sleep(300);
    assert.doesNotMatch(page.url(), /token/, 'the token stays out of the URL');
    await page.waitForLoadState('load');
    await page.unroute('**/dashboard/app.js');

    // ---- a wrong token is refused and shows no data ----
    await page.goto(`${base}/dashboard`);
    await page.fill('#token', 'not-the-token');
    await page.press('#token', 'Enter');
    await page.locator('#login-error').filter({ hasText: 'Wrong token' }).waitFor({ timeout: WAIT_MS });
    assert.equal(await page.isHidden('#app'), true, 'the app stays hidden after a wrong token');
    assert.equal(await text('#count-total'), '–');
    assert.equal(await page.evaluate(() => sessionStorage.length), 0);

    // ---- login with Enter ----
    await page.fill('#token', ADMIN_TOKEN);
    await page.press('#token', 'Enter');
    await page.locator('#app').waitFor({ state: 'visible', timeout: WAIT_MS });
    await page.waitForFunction(() => document.getElementById('count-total').textContent === '4', null, { timeout: WAIT_MS });
    assert.equal(await text('#count-available'), '4');
    assert.equal(await text('#count-reserved'), '0');
    const jwt = await page.evaluate(() => sessionStorage.getItem('cidrotor.jwt'));
    assert.match(jwt, /^eyJ[\w-]+\.[\w-]+\.[\w-]+$/);
    assert.match(await text('#health'), /embedded store: healthy/);

    // ---- counts follow allocations made over HTTP (the page polls every 5 s) ----
    const first = await api('GET', '/next-cid?to=2125559876&campaign=sales&agent=agent7');
    const second = await api('GET', '/next-cid?to=2125559876&campaign=sales&agent=agent8');
    assert.equal(first.status, 200, first.text);
    assert.equal(second.status, 200, second.text);
    await page.waitForFunction(() => document.getElementById('count-reserved').textContent === '2', null, { timeout: WAIT_MS });
    assert.equal(await text('#count-available'), '2');
    await page.locator('#campaigns tbody tr').filter({ hasText: 'sales' }).waitFor({ timeout: WAIT_MS });
    await page.locator('#agents tbody tr').filter({ hasText: 'agent7' }).waitFor({ timeout: WAIT_MS });
    await page.locator('#logs tbody tr').filter({ hasText: '/next-cid' }).first().waitFor({ timeout: WAIT_MS });
    assert.equal(await page.locator('#chart canvas').count() > 0, true, 'the chart is drawn');
    // The coverage report loads with the page and on demand: the two calls to 212 are in it.
    await page.click('#coverage-refresh');
    await page.locator('#coverage tbody tr').filter({ hasText: '212' }).filter({ hasText: 'NY' })
      .filter({ hasText: /\d+ \/ \d+/ }).waitFor({ timeout: WAIT_MS });  // resting / ramping

    // ---- a number's history: its last call, and the call that reached a party calling back ----
    await page.fill('#find-number', first.json.caller_id);
    await page.fill('#find-from', '+1 (212) 555-9876');
    await page.press('#find-number', 'Enter');
    await page.locator('#number-history').filter({ hasText: /Call to 2125559876.*agent agent7.*in progress/ }).waitFor({ timeout: WAIT_MS });
    assert.match(await text('#number-history'), /Last call.*campaign sales, agent agent7/);
    // A caller ID that is no NANP number is refused, and the panel says so.
    await page.fill('#find-from', '+44 20 7234 5678');
    await page.press('#find-number', 'Enter');
    await page.locator('#number-history').filter({ hasText: /not available: Calling back from: an international number/ }).waitFor({ timeout: WAIT_MS });
    const refusedLookup = consoleErrors.findIndex((message) => /status of 400/.test(message));
    assert.notEqual(refusedLookup, -1, 'the refused lookup is a 400');
    consoleErrors.splice(refusedLookup, 1);
    await page.fill('#find-from', '');

    // ---- deactivate a free number in the page; /next-cid never returns it ----
    const reserved = new Set([first.json.caller_id, second.json.caller_id]);
    const victim = NUMBERS.find((n) => !reserved.has(n));
    await page.fill('#find-number', `(${victim.slice(0, 3)}) ${victim.slice(3, 6)}-${victim.slice(6)}`);
    await page.press('#find-number', 'Enter');
    // The panel is still open from the lookup above: wait for this number's details.
    await page.locator('#number-details').filter({ hasText: victim }).waitFor({ timeout: WAIT_MS });
    assert.equal(await text('#toggle-active'), 'Deactivate');
    await page.click('#toggle-active');
    await page.locator('#edit-status').filter({ hasText: 'Deactivated.' }).waitFor({ timeout: WAIT_MS });
    assert.equal((await api('GET', `/api/numbers/${victim}`, { headers: admin })).json.number.active, false);
    const answers = [];
    for (let i = 0; i < 3; ++i) answers.push(await api('GET', '/next-cid?to=2125559876&format=plain'));
    assert.deepEqual(answers.map((a) => a.status), [200, 503, 503], 'one number left after deactivation');
    assert.notEqual(answers[0].text, victim);
    assert.equal(answers.some((a) => a.text === victim), false);

    // ---- edit caps and pool ----
    await page.fill('#edit-hourly', '7');
    await page.fill('#edit-daily', '70');
    await page.fill('#edit-pool', 'north');
    await page.click('#edit button[type=submit]');
    await page.locator('#edit-status').filter({ hasText: 'Saved.' }).waitFor({ timeout: WAIT_MS });
    const edited = (await api('GET', `/api/numbers/${victim}`, { headers: admin })).json.number;
    assert.deepEqual([edited.hourly_limit, edited.daily_limit, edited.pool], [7, 70, 'north']);
    // Added today, the number is on day 1 of its warm-up: 70/6 rounded up today. The form keeps
    // the full cap (saving it again must not write today's share as the cap).
    await page.locator('#number-details').filter({ hasText: /Warming up\s*day 1: 12 calls today/ }).waitFor({ timeout: WAIT_MS });
    assert.equal(await page.inputValue('#edit-daily'), '70');

    // ---- rest the number for a day, then end the rest ----
    await page.click('#toggle-rest');
    await page.locator('#edit-status').filter({ hasText: 'Resting for 24 hours.' }).waitFor({ timeout: WAIT_MS });
    const rested = (await api('GET', `/api/numbers/${victim}`, { headers: admin })).json.number;
    const hoursAhead = (Date.parse(rested.resting_until) - Date.now()) / 3600e3;
    assert.ok(hoursAhead > 23 && hoursAhead <= 24, `resting until ${rested.resting_until}`);
    assert.match(await text('#number-details'), /Resting until/);
    assert.equal(await text('#toggle-rest'), 'End rest');
    await page.click('#toggle-rest');
    await page.locator('#edit-status').filter({ hasText: 'Rest ended. On probation now.' }).waitFor({ timeout: WAIT_MS });
    const ended = (await api('GET', `/api/numbers/${victim}`, { headers: admin })).json.number;
    assert.equal(ended.resting_until, null);
    // Back on probation (PROBATION_HOURS, default 48): its budget of 30 is above today's warm 12.
    assert.ok(ended.probation_until, JSON.stringify(ended));
    await page.locator('#number-details').filter({ hasText: /On probation\s*12 calls a day through the day of / }).waitFor({ timeout: WAIT_MS });

    // ---- the resting numbers are listed, and a rest ends from the list ----
    await page.click('#toggle-rest');
    await page.locator('#edit-status').filter({ hasText: 'Resting for 24 hours.' }).waitFor({ timeout: WAIT_MS });
    const restingRow = page.locator('#resting tbody tr').filter({ hasText: victim });
    await restingRow.waitFor({ timeout: WAIT_MS });
    assert.equal(await page.locator('#resting tbody tr').count(), 1);
    await restingRow.locator('button', { hasText: 'End rest' }).click();
    await page.locator('#resting-status').filter({ hasText: `${victim}: rest ended.` }).waitFor({ timeout: WAIT_MS });
    await page.locator('#resting tbody tr').first().waitFor({ state: 'detached', timeout: WAIT_MS });
    assert.equal((await api('GET', `/api/numbers/${victim}`, { headers: admin })).json.number.resting_until, null);

    // ---- campaigns → pools: mapped in the page, used by /next-cid, refused input, unmapped ----
    await page.fill('#map-campaign-name', 'north_sales');
    await page.fill('#map-pool', 'north');
    await page.click('#map-campaign button[type=submit]');
    // Its one number is inactive still: the page says the campaign gets no caller-ID (a typo in a
    // pool's name looks the same).
    await page.locator('#campaign-status.warn')
      .filter({ hasText: 'north_sales allocates from pool north, which has no active number' }).waitFor({ timeout: WAIT_MS });
    await page.locator('#campaign-pools tbody tr').filter({ hasText: 'north_sales' }).waitFor({ timeout: WAIT_MS });
    assert.equal((await api('GET', '/api/campaigns/north_sales', { headers: admin })).json.pool, 'north');
    await page.locator('#pools tbody tr').filter({ hasText: 'north' }).waitFor({ timeout: WAIT_MS });
    await page.click('#toggle-active'); // the edited number, alone in pool north, active again
    await page.locator('#edit-status').filter({ hasText: 'Activated.' }).waitFor({ timeout: WAIT_MS });
    const fromNorth = await api('GET', '/next-cid?to=2125559876&campaign=north_sales');
    assert.equal(fromNorth.status, 200, fromNorth.text);
    assert.deepEqual([fromNorth.json.caller_id, fromNorth.json.pool], [victim, 'north']);
    assert.equal((await api('GET', '/next-cid?to=2125559876')).status, 503, 'pool default has nothing free');
    await page.fill('#map-pool', 'north side');  // a pool name is letters, digits and _ . -
    await page.click('#map-campaign button[type=submit]');
    await page.locator('#campaign-status.error').filter({ hasText: 'Refused' }).waitFor({ timeout: WAIT_MS });
    // The refused request shows in the console as a failed load: that one is expected.
    const refusedLoad = consoleErrors.findIndex((message) => /status of 400/.test(message));
    assert.notEqual(refusedLoad, -1, 'the refused mapping is a 400');
    consoleErrors.splice(refusedLoad, 1);
    await page.locator('#campaign-pools tbody tr').filter({ hasText: 'north_sales' }).locator('button').click();
    await page.locator('#campaign-status').filter({ hasText: 'north_sales allocates from pool default again.' }).waitFor({ timeout: WAIT_MS });
    await page.locator('#campaign-pools tbody tr').filter({ hasText: 'north_sales' }).waitFor({ state: 'detached', timeout: WAIT_MS });
    assert.equal((await api('GET', '/api/campaigns/north_sales', { headers: admin })).json.mapped, false);

    // ---- a pool's fallback: "Local only" takes the any tier away, "Allow any" gives it back ----
    const poolRow = page.locator('#pools tbody tr').filter({ hasText: 'default' });
    await poolRow.locator('button', { hasText: 'Local only' }).click();
    await page.locator('#pool-status').filter({ hasText: 'Pool default: fallback none.' }).waitFor({ timeout: WAIT_MS });
    const poolsNow = (await api('GET', '/api/pools', { headers: admin })).json.pools;
    assert.equal(poolsNow.find((p) => p.pool === 'default').fallback, 'none');
    await poolRow.locator('button', { hasText: 'Allow any' }).click();
    await page.locator('#pool-status').filter({ hasText: 'Pool default: fallback any.' }).waitFor({ timeout: WAIT_MS });
    assert.equal((await api('GET', '/api/pools', { headers: admin })).json.pools.find((p) => p.pool === 'default').fallback, 'any');
    // A poll does not take the keyboard focus off a table's button, also when it changes the
    // row's counts (a number added meanwhile): cells are updated in place.
    await poolRow.locator('button', { hasText: 'Local only' }).focus();
    const availableBefore = await poolRow.locator('td').nth(1).textContent();
    const fifth = '2125551005';
    assert.equal((await api('POST', '/add-number', { headers: { ...admin, 'Content-Type': 'application/x-www-form-urlencoded' },
      body: `caller_id=${fifth}&carrier=Verizon` })).status, 200);
    await page.waitForFunction((before) => {
      const row = [...document.querySelectorAll('#pools tbody tr')].find((tr) => tr.cells[0].textContent === 'default');
      return row && row.cells[1].textContent !== before;
    }, availableBefore, { timeout: WAIT_MS });
    assert.equal(await page.evaluate(() => document.activeElement.getAttribute('aria-label')), 'Local only: pool default',
      'the focus stays on the button through a refresh');
    await page.keyboard.press('Enter');
    await page.locator('#pool-status').filter({ hasText: 'Pool default: fallback none.' }).waitFor({ timeout: WAIT_MS });
    await poolRow.locator('button', { hasText: 'Allow any' }).click();
    await page.locator('#pool-status').filter({ hasText: 'Pool default: fallback any.' }).waitFor({ timeout: WAIT_MS });

    // ---- the number form saves only what was changed, and follows changes made elsewhere ----
    await page.fill('#find-number', fifth);
    await page.press('#find-number', 'Enter');
    await page.locator('#number-details').filter({ hasText: fifth }).waitFor({ timeout: WAIT_MS });
    assert.match(await text('#number-details'), /\(defaults in use\)/);
    await page.fill('#edit-pool', 'east');
    await page.click('#edit button[type=submit]');
    await page.locator('#edit-status').filter({ hasText: 'Saved.' }).waitFor({ timeout: WAIT_MS });
    let fifthNow = (await api('GET', `/api/numbers/${fifth}`, { headers: admin })).json.number;
    assert.deepEqual([fifthNow.pool, fifthNow.uses_default_limits], ['east', true], 'a pool change leaves the caps following the defaults');
    // Another admin moves it; the panel follows at the next poll, and a cap saved in the page keeps that pool.
    assert.equal((await api('PATCH', `/api/numbers/${fifth}`, { headers: { ...admin, 'Content-Type': 'application/json' },
      body: '{"pool":"west"}' })).status, 200);
    await page.waitForFunction(() => document.getElementById('edit-pool').value === 'west', null, { timeout: WAIT_MS });
    await page.fill('#edit-hourly', '9');
    await page.click('#edit button[type=submit]');
    await page.locator('#number-details').filter({ hasText: /Caps \(hour \/ day\)\s*9 \/ / }).waitFor({ timeout: WAIT_MS });
    fifthNow = (await api('GET', `/api/numbers/${fifth}`, { headers: admin })).json.number;
    assert.deepEqual([fifthNow.pool, fifthNow.hourly_limit], ['west', 9]);
    // An error names the field.
    await page.fill('#edit-daily', 'abc');
    await page.click('#edit button[type=submit]');
    await page.locator('#edit-status').filter({ hasText: /^Not saved: Daily cap: / }).waitFor({ timeout: WAIT_MS });
    const refusedCap = consoleErrors.findIndex((message) => /status of 400/.test(message));
    assert.notEqual(refusedCap, -1, 'the refused cap is a 400');
    consoleErrors.splice(refusedCap, 1);


    // ---- CSV upload shows the summary and the rejected lines ----
    const csv = path.join(dir, 'pool.csv');
    fs.writeFileSync(csv, [
      'caller_id,carrier,area_code,hourly_limit,daily_limit',
      '3105552001,AT&T,310,10,50',
      '3105552002,AT&T,212,10,50', // area code contradicts the number
      '3105552003,AT&T,310,10,50',
      '12345,AT&T,,,', // not a number
      '',
    ].join('\n'));
    await page.setInputFiles('#import-file', csv);
    await page.click('#import button[type=submit]');
    await page.locator('#import-summary').waitFor({ state: 'visible', timeout: WAIT_MS });
    assert.match(await text('#import-counts'), /^4 rows: 2 imported, 0 updated, 0 skipped, 2 rejected\./);
    const rejects = await page.locator('#import-rejects tbody tr').allTextContents();
    assert.equal(rejects.length, 2);
    assert.match(rejects[0], /^3/);
    assert.match(rejects[1], /^5/);
    await page.waitForFunction(() => document.getElementById('count-total').textContent === '7', null, { timeout: WAIT_MS });

    // ---- a phone-wide viewport: wide tables scroll inside their cards, the page does not ----
    await page.setViewportSize({ width: 390, height: 844 });
    await sleep(200);
    const pageWidth = await page.evaluate(() => document.documentElement.scrollWidth);
    assert.ok(pageWidth <= 390, `the page is ${pageWidth} px wide at 390`);
    fs.mkdirSync(ARTIFACTS, { recursive: true });
    await page.screenshot({ path: path.join(ARTIFACTS, 'dashboard-390.png'), fullPage: true });
    await page.setViewportSize({ width: 1400, height: 1300 });

    fs.mkdirSync(ARTIFACTS, { recursive: true });
    await page.screenshot({ path: path.join(ARTIFACTS, 'dashboard.png'), fullPage: true });

    // ---- the JWT: accepted, renewable; expired or tampered ones refused by the API ----
    const bearer = (token) => ({ Authorization: `Bearer ${token}` });
    assert.equal((await api('GET', '/api/stats', { headers: bearer(jwt) })).status, 200);
    const renewed = await api('POST', '/auth/token', { headers: bearer(jwt) });
    assert.equal(renewed.status, 200, renewed.text);
    assert.equal((await api('GET', '/api/stats', { headers: bearer(renewed.json.access_token) })).status, 200);
    const now = Math.floor(Date.now() / 1000);
    assert.equal((await api('GET', '/api/stats', { headers: bearer(craftJwt(JWT_KEY, now - 60, now + 600)) })).status, 200,
      'control: a JWT crafted with the right key is accepted');
    assert.equal((await api('GET', '/api/stats', { headers: bearer(craftJwt(JWT_KEY, now - 1000, now - 10)) })).status, 401,
      'an expired JWT is refused');
    const [head, body, signature] = jwt.split('.');
    const claims = JSON.parse(Buffer.from(body, 'base64url').toString());
    const forged = `${head}.${base64url(JSON.stringify({ ...claims, exp: claims.exp + 86400 }))}.${signature}`;
    assert.equal((await api('GET', '/api/stats', { headers: bearer(forged) })).status, 401, 'a tampered JWT is refused');
    assert.equal((await api('GET', '/api/stats', { headers: bearer(craftJwt('some-other-key', now - 60, now + 600)) })).status, 401);

    // ---- a store that fails, or a server that stops answering: the badges never stay green ----
    // (Faults injected at the page's network layer: the embedded store cannot be taken down.)
    await page.route('**/api/stats', (route) => route.fulfill({ status: 503, contentType: 'application/json',
      body: '{"success":false,"error":"store_unavailable","detail":"redis: connection refused"}' }));
    await page.locator('#health').filter({ hasText: 'store unavailable: redis: connection refused' })
      .waitFor({ timeout: WAIT_MS });
    assert.match(await text('#updated'), /partly updated .*redis: connection refused/);
    await page.unroute('**/api/stats');
    await page.route('**/api/**', (route) => route.abort('connectionrefused'));
    await page.locator('#health').filter({ hasText: /cidrotor not answering: cidrotor did not answer/ })
      .waitFor({ timeout: WAIT_MS });
    assert.equal(await page.locator('.cards.stale').count(), 1, 'the last figures are greyed out');
    assert.match(await text('#updated'), /the figures are from its last answer/);
    assert.equal(await page.isHidden('#app'), false, 'no answer is not a logout');
    // A renewal that nothing answered is tried again later, not a logout.
    await page.route('**/auth/token', (route) => route.abort('connectionrefused'));
    const keptToken = await page.evaluate(() => sessionStorage.getItem('cidrotor.jwt'));
    await page.evaluate(() => renew()); // a global of app.js
    assert.equal(await page.evaluate(() => sessionStorage.getItem('cidrotor.jwt')), keptToken);
    assert.equal(await page.isHidden('#app'), false, 'a failed renewal keeps the session');
    await page.unroute('**/auth/token');
    await page.unroute('**/api/**');
    await page.locator('#health').filter({ hasText: 'embedded store: healthy' }).waitFor({ timeout: WAIT_MS });
    assert.equal(await page.locator('.cards.stale').count(), 0);
    // The aborted and the 503 requests show in the console: expected here, and only here.
    for (let i = consoleErrors.length - 1; i >= 0; --i) {
      if (/status of 503|request failed: .*\/(api|auth)\/|ERR_CONNECTION_REFUSED|ERR_FAILED/.test(consoleErrors[i])) {
        consoleErrors.splice(i, 1);
      }
    }

    // ---- the page renews its JWT before it expires (the renewal timer, brought forward) ----
    const beforeRenewal = await page.evaluate(() => sessionStorage.getItem('cidrotor.jwt'));
    await page.evaluate(() => {
      sessionStorage.setItem('cidrotor.jwt_expires_at', String(Date.now() + 61000));
      scheduleRenewal(); // a global of app.js: due in a second now
    });
    await page.waitForFunction((old) => sessionStorage.getItem('cidrotor.jwt') !== old, beforeRenewal, { timeout: WAIT_MS });
    const pageRenewed = await page.evaluate(() => sessionStorage.getItem('cidrotor.jwt'));
    assert.equal((await api('GET', '/api/stats', { headers: bearer(pageRenewed) })).status, 200);

    // ---- a JWT the API refuses (expired) ends the session in the page: no more data ----
    await page.evaluate((token) => sessionStorage.setItem('cidrotor.jwt', token), craftJwt(JWT_KEY, now - 1000, now - 10));
    await page.locator('#login-error').filter({ hasText: 'Your session ended' }).waitFor({ timeout: WAIT_MS });
    assert.equal(await page.isHidden('#app'), true);
    assert.equal(await page.evaluate(() => sessionStorage.length), 0);

    // ---- log in again (the button this time), then log out ----
    await page.fill('#token', ADMIN_TOKEN);
    await page.click('#login button[type=submit]');
    await page.locator('#app').waitFor({ state: 'visible', timeout: WAIT_MS });
    await page.click('#logout');
    await page.locator('#login-view').waitFor({ state: 'visible', timeout: WAIT_MS });
    assert.equal(await page.isHidden('#app'), true);
    assert.equal(await page.evaluate(() => sessionStorage.getItem('cidrotor.jwt')), null);

    assert.deepEqual(consoleErrors, [], 'no console errors');
    console.log(`browser.dashboard: ok (screenshot ${path.join(ARTIFACTS, 'dashboard.png')})`);
  } catch (error) {
    failed = true;
    throw error;
  } finally {
    if (browser) await browser.close().catch(() => {});
    if (server) await stopServer(server.child);
    if (failed && fs.existsSync(path.join(dir, 'server.log'))) {
      console.error(`---- server log ----\n${fs.readFileSync(path.join(dir, 'server.log'), 'utf8')}`);
    }
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

main().catch((error) => {
  console.error(error);
  process.exitCode = 1;
});
