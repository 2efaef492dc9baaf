// cidrotor's dashboard: log in with the admin token (exchanged at POST /auth/token for a JWT kept
// in sessionStorage and renewed before it expires), then poll GET /api/stats, /api/logs,
// /api/campaigns and /api/pools every few seconds, and act on numbers, campaigns and pools
// through the admin API. Plain DOM, no framework; text is
// always set with textContent, never parsed as HTML.
'use strict';

const REFRESH_MS = 5000;
const RENEW_BEFORE_MS = 60 * 1000; // renew this long before the JWT expires
const TOKEN_KEY = 'cidrotor.jwt';
const EXPIRES_KEY = 'cidrotor.jwt_expires_at';

const $ = (id) => document.getElementById(id);
let refreshTimer = null;
let coverageTimer = null; // the coverage report's own, slower timer
let renewTimer = null;
let chart = null;
let shownNumber = null; // the number of the "Find a number" panel

// ---- session ----------------------------------------------------------------------------------

const LIFETIME_KEY = 'cidrotor.jwt_lifetime_ms';

function saveSession(answer) {
  sessionStorage.setItem(TOKEN_KEY, answer.access_token);
  sessionStorage.setItem(EXPIRES_KEY, String(Date.now() + answer.expires_in * 1000));
  sessionStorage.setItem(LIFETIME_KEY, String(answer.expires_in * 1000));
  scheduleRenewal();
}

function jwt() {
  const token = sessionStorage.getItem(TOKEN_KEY);
  const expiresAt = Number(sessionStorage.getItem(EXPIRES_KEY) || 0);
  return token && expiresAt > Date.now() ? token : null;
}

function scheduleRenewal() {
  clearTimeout(renewTimer);
  const expiresAt = Number(sessionStorage.getItem(EXPIRES_KEY) || 0);
  // A short session (JWT_TTL=60) renews at half its life, not every second.
  const lifetime = Number(sessionStorage.getItem(LIFETIME_KEY) || 0) || 2 * RENEW_BEFORE_MS;
  const delay = Math.max(1000, expiresAt - Date.now() - Math.min(RENEW_BEFORE_MS, lifetime / 2));
  renewTimer = setTimeout(renew, delay);
}

const RENEW_RETRY_MS = 10 * 1000;

// A renewal the network or the server failed is tried again (the JWT still holds meanwhile); only
// a refusal (401) or an expired JWT ends the session.
async function renew() {
  const token = jwt();
  if (!token) return logout('Your session expired: log in again.');
  try {
    const response = await fetch('/auth/token', { method: 'POST', headers: { Authorization: `Bearer ${token}` } });
    if (response.status === 401) return logout('Your session ended: log in again.');
    if (!response.ok) throw new Error(`HTTP ${response.status}`);
    saveSession(await response.json());
  } catch (error) {
    clearTimeout(renewTimer);
    renewTimer = setTimeout(renew, RENEW_RETRY_MS);
  }
}

async function login(event) {
  event.preventDefault();
  $('login-error').textContent = '';
  let response;
  try {
    response = await fetch('/auth/token', {
      method: 'POST',
      headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify({ token: $('token').value.trim() }),
    });
  } catch (error) {
    $('login-error').textContent = `Login failed: cidrotor did not answer (${error.message}).`;
    return;
  }
  if (!response.ok) {
    $('login-error').textContent = response.status === 401 ? 'Wrong token.' : `Login failed (${response.status}).`;
    return;
  }
  $('token').value = '';
  saveSession(await response.json());
  showApp();
}

function logout(message) {
  clearInterval(refreshTimer);
  clearInterval(coverageTimer);
  clearInterval(restingTimer);
  clearTimeout(renewTimer);
  sessionStorage.removeItem(TOKEN_KEY);
  sessionStorage.removeItem(EXPIRES_KEY);
  sessionStorage.removeItem(LIFETIME_KEY);
  shownNumber = null;
  $('number').hidden = true;
  for (const id of ['find-error', 'edit-status', 'import-error', 'import-status', 'pool-status', 'campaign-status', 'resting-status']) {
    $(id).textContent = '';
  }
  $('app').hidden = true;
  $('logout').hidden = true;
  $('login-view').hidden = false;
  $('health').replaceChildren();
  $('updated').textContent = '';
  $('login-error').textContent = typeof message === 'string' ? message : '';
  $('token').focus();
}

// An admin API call with the JWT. Resolves to the parsed JSON body (also for 4xx/5xx, whose
// body is the API's error object), with `status` added; a body that is not JSON (a proxy's HTML
// 502 page) becomes {success: false, error: 'HTTP 502'}, and so does no answer at all (every
// caller shows why it failed); a 401 ends the session (and rejects: the page is gone).
async function api(method, path, body, contentType) {
  const token = jwt();
  if (!token) {
    logout('Your session expired: log in again.');
    throw new Error('not logged in');
  }
  const headers = { Authorization: `Bearer ${token}` };
  if (body !== undefined) headers['Content-Type'] = contentType || 'application/json';
  let response;
  try {
    response = await fetch(path, { method, headers, body });
  } catch (error) {
    return { success: false, error: `cidrotor did not answer (${error.message})`, status: 0 };
  }
  if (response.status === 401) {
    logout('Your session ended: log in again.');
    throw new Error('unauthorized');
  }
  let json;
  try {
    json = await response.json();
  } catch (error) {
    json = { success: false, error: `HTTP ${response.status}` };
  }
  json.status = response.status;
  return json;
}

// The form labels of the API's fields, for its errors.
const FIELD_LABELS = {
  hourly_limit: 'Hourly cap', daily_limit: 'Daily cap', pool: 'Pool', campaign: 'Campaign', caller_id: 'Caller ID', from: 'Calling back from',
};

// What an action shows when it failed: the API's detail, after the field it names, or why
// nothing answered.
function failure(answer) {
  const why = answer.detail || answer.error;
  return answer.field ? `${FIELD_LABELS[answer.field] || answer.field}: ${why}` : why;
}

// An action's click after the session ended: api() logged out; say the change was not made.
function sessionEnded(error) {
  if (error.message === 'unauthorized' || error.message === 'not logged in') {
    $('login-error').textContent = 'Your session ended before the change was made: log in again and redo it.';
  }
}

// ---- live view --------------------------------------------------------------------------------

function fill(tableId, rows, cells, rowClass) {
  const tbody = $(tableId).tBodies[0];
  tbody.replaceChildren(...rows.map((row) => {
    const tr = document.createElement('tr');
    if (rowClass) tr.className = rowClass(row);
    for (const value of cells(row)) {
      const td = document.createElement('td');
      td.textContent = value;
      tr.append(td);
    }
    return tr;
  }));
}

const time = (iso) => (iso ? new Date(iso).toLocaleTimeString() : '');
const dateTime = (iso) => (iso ? new Date(iso).toLocaleString() : 'never');

function badge(text, state) {
  const span = document.createElement('span');
  span.className = `badge ${state}`;
  span.textContent = text;
  return span;
}

function showHealth(health) {
  const storeOk = health.can_allocate && !health.degraded;
  const badges = [
    badge(`${health.mode} store: ${health.degraded ? 'degraded' : health.database}`, storeOk ? 'ok' : 'bad'),
    badge(`redis: ${health.redis.replace('_', ' ')}`,
      health.redis === 'healthy' ? 'ok' : health.redis === 'not_configured' ? 'off' : 'bad'),
  ];
  $('health').replaceChildren(...badges);
}

// Area codes closest to running dry first: fewest available, then the smallest share of their
// active numbers left.
function byRisk(a, b) {
  const share = (x) => (x.active ? x.available / x.active : 1);
  return a.available - b.available || share(a) - share(b) || a.area_code.localeCompare(b.area_code);
}

function showChart(series) {
  const xs = series.counts.map((_, i) => series.start + i * series.step_seconds);
  const data = [xs, series.counts];
  const width = Math.max(300, $('chart').clientWidth);
  if (!chart) {
    chart = new uPlot({
      width,
      height: 220,
      scales: { y: { range: (u, min, max) => [0, Math.max(5, max)] } },
      series: [{}, { label: 'allocations / min', stroke: '#2f6fd6', fill: 'rgba(47,111,214,0.12)', width: 1.5 }],
      axes: [{ space: 90 }, { label: 'per minute' }],
    }, data, $('chart'));
  } else {
    chart.setData(data);
    if (chart.width !== width) chart.setSize({ width, height: 220 });
  }
}

function showStats(stats) {
  for (const key of ['total', 'active', 'available', 'reserved', 'resting', 'capped']) {
    $(`count-${key}`).textContent = stats[`${key}_numbers`].toLocaleString();
  }
  showHealth(stats.health);
  showChart(stats.allocations_per_minute);
  const areas = [...stats.area_codes].sort(byRisk).slice(0, 50);
  fill('area-codes', areas,
    (a) => [a.area_code, a.available, a.active, a.total, a.active ? `${Math.round((100 * a.available) / a.active)} %` : '–'],
    (a) => (a.available === 0 ? 'dry' : a.active && a.available / a.active < 0.2 ? 'low' : ''));
  fill('campaigns', stats.campaigns_24h.slice(0, 50), (c) => [c.name, c.allocations, time(c.last_allocation)]);
  fill('agents', stats.agents_24h.slice(0, 50), (a) => [a.name, a.allocations, time(a.last_allocation)]);
}

// ---- pools ------------------------------------------------------------------------------------

// Table `id` with `cells(row)` and, in a last cell, the button `action(row)` gives: {key, label,
// name (what it acts on, for screen readers), run}. When the rows are the same ones (by key) as
// shown, cells and buttons are updated in place: a poll must not take the keyboard focus off a
// button, nor replace one under a mouse press, though its counts change every few seconds.
function fillWithButtons(id, rows, cells, action) {
  const tbody = $(id).tBodies[0];
  const actions = rows.map(action);
  const keys = JSON.stringify(actions.map((a) => a.key));
  if (tbody.dataset.keys !== keys) {
    tbody.dataset.keys = keys;
    fill(id, rows, (row) => [...cells(row), '']);
    for (const tr of tbody.rows) {
      const button = document.createElement('button');
      button.type = 'button';
      tr.lastElementChild.append(button);
    }
  }
  [...tbody.rows].forEach((tr, i) => {
    const values = cells(rows[i]);
    values.forEach((value, j) => {
      if (tr.cells[j].textContent !== String(value)) tr.cells[j].textContent = value;
    });
    const { label, name, run } = actions[i];
    const button = tr.lastElementChild.firstElementChild;
    button.textContent = label;
    button.setAttribute('aria-label', `${label}: ${name}`);
    button.onclick = run;
  });
}

function showPools(pools) {
  // The last cell of each row: a button that switches the pool's fallback.
  fillWithButtons('pools', pools, (p) => [p.pool, p.available, p.active, p.total, p.fallback], (p) => ({
    key: p.pool,
    label: p.fallback === 'none' ? 'Allow any' : 'Local only',
    name: `pool ${p.pool}`,
    run: () => setFallback(p.pool, p.fallback === 'none' ? 'any' : 'none'),
  }));
}

async function loadPools() {
  const answer = await api('GET', '/api/pools');
  if (answer.success) showPools(answer.pools);
}

async function setFallback(pool, fallback) {
  let answer;
  try {
    answer = await api('PUT', `/api/pools/${encodeURIComponent(pool)}`, JSON.stringify({ fallback }));
  } catch (error) {
    sessionEnded(error);
    return;
  }
  $('pool-status').textContent = answer.success ? `Pool ${pool}: fallback ${fallback}.` : `Refused: ${failure(answer)}`;
  $('pool-status').className = answer.success ? 'muted' : 'error';
  loadPools();
}

// ---- resting numbers --------------------------------------------------------------------------

// The list reads every number (no store keeps an index of the resting ones: a slice scan in
// Redis, a pass over the index embedded), so it refreshes every RESTING_MS, not with each poll,
// and after each change made here; the Resting card counts them every poll.
const RESTING_MS = 60 * 1000;
let restingTimer = null;

async function loadResting() {
  let answer;
  try {
    answer = await api('GET', '/api/numbers?resting=true&limit=100');
  } catch (error) {
    return; // the session ended
  }
  if (answer.success) showResting(answer);
  else $('resting-count').textContent = `not updated: ${failure(answer)}`;
}

function showResting(page) {
  const numbers = page.numbers;
  $('resting-count').textContent = page.total > numbers.length
    ? `${numbers.length} of ${page.total} shown.` : (page.total === 0 ? 'None.' : '');
  // The last cell of each row: End rest (the number comes back at once, then on probation).
  fillWithButtons('resting', numbers, (n) => [n.caller_id, n.pool, n.carrier, dateTime(n.resting_until)], (n) => ({
    key: n.caller_id, label: 'End rest', name: n.caller_id, run: () => endRest(n.caller_id),
  }));
}

async function endRest(callerId) {
  let answer;
  try {
    answer = await api('PATCH', `/api/numbers/${callerId}`, JSON.stringify({ rest_until: 'none' }));
  } catch (error) {
    sessionEnded(error);
    return;
  }
  $('resting-status').textContent = answer.success ? `${callerId}: rest ended.` : `Refused: ${failure(answer)}`;
  refresh();
  loadResting();
}

// ---- campaigns → pools ------------------------------------------------------------------------

function showCampaignPools(campaigns) {
  // The last cell of each row: an Unmap button for its campaign.
  fillWithButtons('campaign-pools', campaigns, (c) => [c.campaign, c.pool], (c) => ({
    key: c.campaign, label: 'Unmap', name: `campaign ${c.campaign}`, run: () => unmapCampaign(c.campaign),
  }));
}

async function loadCampaignPools() {
  const answer = await api('GET', '/api/campaigns');
  if (answer.success) showCampaignPools(answer.campaigns);
}

function reportCampaign(answer, done) {
  $('campaign-status').textContent = answer.success ? done : `Refused: ${failure(answer)}`;
  $('campaign-status').className = answer.success ? 'muted' : 'error';
}

async function mapCampaign(event) {
  event.preventDefault();
  const campaign = $('map-campaign-name').value.trim();
  const pool = $('map-pool').value.trim();
  if (!campaign || !pool) {
    reportCampaign({ success: false, field: campaign ? 'pool' : 'campaign', detail: 'enter a name' });
    return;
  }
  let answer;
  let pools;
  try {
    answer = await api('PUT', `/api/campaigns/${encodeURIComponent(campaign)}`, JSON.stringify({ pool }));
    if (answer.success) pools = await api('GET', '/api/pools');
  } catch (error) {
    sessionEnded(error);
    return;
  }
  reportCampaign(answer, `${campaign} allocates from pool ${pool}.`);
  // A mapping may come before the pool's numbers (an import to follow), but a typo in the pool's
  // name would leave the campaign without caller-IDs: say so.
  if (answer.success && pools.success && !pools.pools.some((p) => p.pool === pool && p.active > 0)) {
    $('campaign-status').textContent = `${campaign} allocates from pool ${pool}, which has no active number: `
      + `its calls get no caller-ID until numbers are added to pool ${pool}.`;
    $('campaign-status').className = 'warn';
  }
  loadCampaignPools();
  if (pools && pools.success) showPools(pools.pools);
}

async function unmapCampaign(campaign) {
  let answer;
  try {
    answer = await api('DELETE', `/api/campaigns/${encodeURIComponent(campaign)}`);
  } catch (error) {
    sessionEnded(error);
    return;
  }
  reportCampaign(answer, `${campaign} allocates from pool default again.`);
  loadCampaignPools();
}

// ---- coverage -----------------------------------------------------------------------------------

// The report reads a week of calls: loaded once a minute (and on demand), not with every refresh.
const COVERAGE_MS = 60 * 1000;

let coverageLoading = false;

async function loadCoverage() {
  if (coverageLoading) return; // one load at a time: each reads a week of calls
  coverageLoading = true;
  $('coverage-refresh').disabled = true;
  try {
    const answer = await api('GET', '/api/coverage');
    if (!answer.success) throw new Error(failure(answer));
    const shown = answer.area_codes.slice(0, 25);
    fill('coverage', shown, (a) => [a.area_code, a.state, a.calls_24h, a.calls_7d, a.busiest_hour,
      a.busiest_day, a.active, `${a.resting} / ${a.ramping}`, a.available, a.numbers_needed,
      a.saturated ? `${a.more_numbers_needed} (saturated)` : a.more_numbers_needed],
    (a) => (a.more_numbers_needed > 0 || a.saturated ? 'low' : ''));
    $('coverage-status').textContent = `top ${shown.length} of ${answer.area_codes.length} area codes, as of ${new Date().toLocaleTimeString()}`;
    $('coverage-status').className = '';
  } catch (error) {
    if (jwt()) {
      $('coverage-status').textContent = `coverage not updated: ${error.message}`;
      $('coverage-status').className = 'error';
    }
  } finally {
    coverageLoading = false;
    $('coverage-refresh').disabled = false;
  }
}

// The page's own polling would fill the log: show the requests of everyone else (reads of one
// number included: the open panel reads its number with every poll).
const POLLED = ['/api/stats', '/api/logs', '/api/campaigns', '/api/pools', '/api/coverage', '/api/numbers'];
const isOwnPolling = (l) => l.method === 'GET' && (POLLED.includes(l.endpoint) || l.endpoint.startsWith('/api/numbers/'));

function showLogs(logs) {
  fill('logs', logs.filter((l) => !isOwnPolling(l)).slice(0, 25), (l) => [time(l.timestamp), l.method, l.endpoint, l.status_code, l.agent, l.campaign,
    l.caller_id_allocated, l.response_time_us]);
}

// What the health badges say when the stats could not be read: never the last good state (a
// store that went down must not keep showing "healthy").
function showHealthUnknown(why) {
  $('health').replaceChildren(badge(`store unavailable: ${why}`, 'bad'));
}

async function refresh() {
  try {
    const answers = await Promise.all([api('GET', '/api/stats'), api('GET', '/api/logs?limit=200'),
      api('GET', '/api/campaigns'), api('GET', '/api/pools')]);
    const [stats, logs, campaigns, pools] = answers;
    const failed = answers.filter((a) => !a.success);
    const at = new Date().toLocaleTimeString();
    // Nothing answered: the server (or the way to it) is down, not its store; the numbers shown
    // are the last ones read, greyed out.
    const unreachable = failed.length === answers.length && answers.every((a) => a.status === 0);
    $('app').querySelector('.cards').classList.toggle('stale', !stats.success);
    if (unreachable) {
      $('health').replaceChildren(badge(`cidrotor not answering: ${failure(stats)}`, 'bad'));
      $('updated').textContent = `${at}: ${failure(stats)}; the figures are from its last answer`;
      return;
    }
    if (stats.success) showStats(stats);
    else showHealthUnknown(failure(stats));
    if (logs.success) showLogs(logs.logs);
    if (campaigns.success) showCampaignPools(campaigns.campaigns);
    if (pools.success) showPools(pools.pools);
    $('updated').textContent = failed.length === 0 ? `updated ${at}` : `partly updated ${at}: ${failure(failed[0])}`;
    // A report that failed while the server was away is read again now rather than in a minute.
    if ($('coverage-status').className === 'error') loadCoverage();
    await reloadShownNumber();
  } catch (error) {
    if (!jwt()) return;
    showHealthUnknown(error.message);
    $('updated').textContent = `refresh failed: ${error.message}`;
  }
}

function showApp() {
  $('login-view').hidden = true;
  $('app').hidden = false;
  $('logout').hidden = false;
  $('find-number').focus(); // the main action; the login form's focus is gone with it
  refresh();
  clearInterval(refreshTimer);
  refreshTimer = setInterval(refresh, REFRESH_MS);
  loadCoverage();
  clearInterval(coverageTimer);
  coverageTimer = setInterval(loadCoverage, COVERAGE_MS);
  loadResting();
  clearInterval(restingTimer);
  restingTimer = setInterval(loadResting, RESTING_MS);
}

// ---- actions ----------------------------------------------------------------------------------

// Term/value pairs as the children of a <dl>.
function fillTerms(id, pairs) {
  $(id).replaceChildren(...pairs.flatMap(([term, value]) => {
    const dt = document.createElement('dt');
    dt.textContent = term;
    const dd = document.createElement('dd');
    dd.textContent = value;
    return [dt, dd];
  }));
}

// The edit form's fields, by the API's names.
const EDITS = { hourly_limit: 'edit-hourly', daily_limit: 'edit-daily', pool: 'edit-pool' };

// Shows `number` in the panel. A field of the form the admin has changed and not saved yet keeps
// what was typed (the panel follows the number at every poll).
function showNumber(number) {
  const before = shownNumber && shownNumber.caller_id === number.caller_id ? shownNumber : null;
  shownNumber = number;
  const fields = [
    ['Number', number.caller_id], ['Carrier', number.carrier], ['Pool', number.pool], ['State', number.state],
    ['Active', number.active ? 'yes' : 'no'], ['Reserved', number.reserved ? 'yes' : 'no'],
    ['Caps (hour / day)', `${number.hourly_limit} / ${number.daily_limit}`
      + (number.uses_default_limits ? ' (defaults in use)' : '')],
    ...(number.warmup_day ? [['Warming up', `day ${number.warmup_day}: ${number.daily_limit_today} calls today`]] : []),
    ...(number.resting_until ? [['Resting until', dateTime(number.resting_until)]] : []),
    ...(number.probation_until
      ? [['On probation', `${number.daily_limit_today} calls a day through the day of ${dateTime(number.probation_until)}`]] : []),
    ['Used (hour / day)', `${number.hourly_used} / ${number.daily_used}`], ['Last used', dateTime(number.last_used)],
  ];
  fillTerms('number-details', fields);
  $('toggle-active').textContent = number.active ? 'Deactivate' : 'Activate';
  $('toggle-rest').textContent = number.resting_until ? 'End rest' : 'Rest for 24 hours';
  for (const [field, id] of Object.entries(EDITS)) {
    if (!before || $(id).value === String(before[field])) $(id).value = number[field];
  }
  $('number').hidden = false;
}

// The panel's number again (from a poll): it is reserved, released, changed by others meanwhile.
async function reloadShownNumber() {
  if (!shownNumber || $('number').hidden) return;
  const seq = findSeq;
  const answer = await api('GET', `/api/numbers/${shownNumber.caller_id}`);
  if (seq !== findSeq || !shownNumber) return; // a newer search, or a logout, meanwhile
  if (answer.success) showNumber(answer.number);
  else if (answer.status === 404) $('edit-status').textContent = `${shownNumber.caller_id} was deleted.`;
}

let findSeq = 0; // the newest search: answers of older ones are dropped

async function findNumber(event) {
  event.preventDefault();
  const seq = ++findSeq;
  $('find-error').textContent = '';
  $('edit-status').textContent = '';
  const digits = $('find-number').value.replace(/\D/g, '');
  const from = $('find-from').value.trim();
  if (!digits) {
    $('number').hidden = true;
    $('find-error').textContent = 'Caller ID: enter the number, e.g. 2125551234.';
    return;
  }
  let answer;
  try {
    answer = await api('GET', `/api/numbers/${digits}`);
  } catch (error) {
    return; // the session ended (api() logged out): nothing was changed
  }
  if (seq !== findSeq) return;
  if (!answer.success) {
    $('number').hidden = true;
    $('find-error').textContent = failure(answer);
    return;
  }
  shownNumber = null; // another number, or the same one found again: the form shows it afresh
  showNumber(answer.number);
  await showHistory(seq, answer.number.caller_id, from);
}

// One call of GET /api/lookup's answer, in a line.
function describeCall(call) {
  const state = call.live ? 'in progress' : call.outcome || 'ended';
  return `${dateTime(call.reserved_at)} to ${call.destination}: campaign ${call.campaign}, agent ${call.agent}`
    + (call.lead_id ? `, lead ${call.lead_id}` : '') + ` (${state})`;
}

// Who used the number last and, for a party calling back, which call reached them (GET /api/lookup),
// for search `seq`: an answer that comes back after a newer search is dropped.
async function showHistory(seq, number, from) {
  fillTerms('number-history', [['History', 'loading…']]);
  const query = `caller_id=${encodeURIComponent(number)}` + (from ? `&from=${encodeURIComponent(from)}` : '');
  let answer;
  try {
    answer = await api('GET', `/api/lookup?${query}`);
  } catch (error) {
    answer = { success: false, detail: error.message };
  }
  if (seq !== findSeq) return;
  if (!answer.success) {
    fillTerms('number-history', [['History', `not available: ${failure(answer)}`]]);
    return;
  }
  const pairs = [['Last call', answer.last ? describeCall(answer.last) : 'none']];
  if (answer.deleted) pairs.unshift(['Number', 'deleted from the pool; its calls are kept']);
  if (from) pairs.push([`Call to ${answer.from}`, answer.called ? describeCall(answer.called) : 'none found']);
  fillTerms('number-history', pairs);
}

async function patchNumber(changes, done) {
  let answer;
  try {
    answer = await api('PATCH', `/api/numbers/${shownNumber.caller_id}`, JSON.stringify(changes));
  } catch (error) {
    sessionEnded(error);
    return;
  }
  if (!answer.success) {
    $('edit-status').textContent = `Not saved: ${failure(answer)}`;
    return;
  }
  shownNumber = null; // saved: the form shows what the number is now
  showNumber(answer.number);
  $('edit-status').textContent = typeof done === 'function' ? done(answer.number) : done;
  refresh();
  loadResting();
}

function toggleActive() {
  const active = !shownNumber.active;
  patchNumber({ active }, active ? 'Activated.' : 'Deactivated.');
}

// A rest takes the number out of rotation; it comes back by itself when the rest ends.
function toggleRest() {
  const resting = Boolean(shownNumber.resting_until);
  const until = new Date(Date.now() + 24 * 3600 * 1000).toISOString().replace(/\.\d+Z$/, 'Z');
  // Ending a rest starts the number's probation (PROBATION_HOURS): say so, it is not back at full.
  const ended = (number) => (number.probation_until ? 'Rest ended. On probation now.' : 'Rest ended.');
  patchNumber({ rest_until: resting ? 'none' : until }, resting ? ended : 'Resting for 24 hours.');
}

// Sends only the fields the admin changed: the others may have been changed meanwhile by someone
// else (sending them back would undo that), and a cap sent unchanged would pin a number that
// follows the default caps to today's defaults.
function saveEdit(event) {
  event.preventDefault();
  const changes = {};
  for (const [field, id] of Object.entries(EDITS)) {
    const value = $(id).value.trim();
    if (value !== String(shownNumber[field])) changes[field] = value;
  }
  if (Object.keys(changes).length === 0) {
    $('edit-status').textContent = 'Nothing changed.';
    return;
  }
  patchNumber(changes, 'Saved.');
}

async function importCsv(event) {
  event.preventDefault();
  $('import-error').textContent = '';
  $('import-summary').hidden = true;
  const file = $('import-file').files[0];
  if (!file) return;
  const onDuplicate = $('import-duplicates').value;
  // A big file takes seconds: say so, and take no second upload meanwhile.
  const upload = $('import').querySelector('button[type=submit]');
  upload.disabled = true;
  $('import-status').textContent = `Uploading ${file.name} (${(file.size / 1e6).toFixed(1)} MB)…`;
  let answer;
  try {
    answer = await api('POST', `/api/numbers/import?on_duplicate=${onDuplicate}`, file, 'text/csv');
  } catch (error) {
    sessionEnded(error);
    return;
  } finally {
    upload.disabled = false;
    $('import-status').textContent = '';
  }
  if (!answer.success) {
    $('import-error').textContent = `Import refused: ${failure(answer)}`;
    return;
  }
  $('import-counts').textContent = `${answer.rows} rows: ${answer.imported} imported, ${answer.updated} updated, `
    + `${answer.skipped} skipped, ${answer.rejected} rejected.`
    + (answer.warnings.length ? ` Warnings: ${answer.warnings.join('; ')}` : '');
  fill('import-rejects', answer.rejects, (r) => [r.line, r.reason]);
  $('import-summary').hidden = false;
  refresh();
}

// ---- start ------------------------------------------------------------------------------------

$('login').addEventListener('submit', login);
$('login').querySelector('button[type=submit]').disabled = false; // index.html: disabled until now
$('logout').addEventListener('click', () => logout());
$('find').addEventListener('submit', findNumber);
$('toggle-active').addEventListener('click', toggleActive);
$('toggle-rest').addEventListener('click', toggleRest);
$('edit').addEventListener('submit', saveEdit);
$('import').addEventListener('submit', importCsv);
$('map-campaign').addEventListener('submit', mapCampaign);
$('coverage-refresh').addEventListener('click', loadCoverage);

if (jwt()) {
  scheduleRenewal();
  showApp();
} else {
  logout();
}
