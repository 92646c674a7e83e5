// ui_test.js: the status page as a person uses it, in headless Chromium (run by run.sh).
//
// Starts the real leindexd on a free loopback port with access control on, types the token into
// the page, starts a scan of a generated tree from the page and watches it run then complete,
// opens it and checks the numbers shown against the API, browses two levels of its tree, cancels
// a second (slow) scan from the page, deletes it after the confirmation, and looks at the service
// view. Throughout, no request may leave the server's address, and no console error, page error
// or CSP violation may appear (the one exception: the 401s of the calls made before the token was
// typed, which are how the page learns that it needs one). Screenshots of every view at 1280x800
// and 390x844 go to E2E_ARTIFACTS.
//
// It waits for states by polling with generous deadlines, never by sleeping, and asserts no time
// bound. It passes whether or not the server has the optional routes the page can use (/events,
// /scans/{id}/progress, /tree, /top, /diff, /skipped): the page falls back without them.
'use strict';

const { chromium } = require('playwright-core');
const { spawn, execFileSync } = require('child_process');
const fs = require('fs');
const net = require('net');
const path = require('path');

const env = (k) => {
  if (!process.env[k]) throw new Error(`${k} must be set (run tests/e2e/run.sh)`);
  return process.env[k];
};
const LEINDEXD = env('LEINDEXD');
const WORK = env('E2E_WORK');
const MAIN_TREE = env('E2E_MAIN_TREE');
const SLOW_TREE = env('E2E_SLOW_TREE');
const ARTIFACTS = env('E2E_ARTIFACTS');
const CHROMIUM = env('E2E_CHROMIUM');
const DEADLINE_S = 120; // generous: the suite shares two cores with sanitizer builds

let step = 'setup';
const say = (msg) => console.log(`e2e: ${msg}`);
function check(cond, msg) {
  if (!cond) throw new Error(`${step}: ${msg}`);
}

/** Polls `fn` every 100 ms until it returns a truthy value; fails after `seconds`. */
async function until(what, fn, seconds = DEADLINE_S) {
  const end = Date.now() + seconds * 1000;
  let last;
  for (;;) {
    try {
      const v = await fn();
      if (v) return v;
    } catch (e) {
      last = e;
    }
    if (Date.now() > end) throw new Error(`${step}: gave up waiting for ${what}${last ? ` (${last.message})` : ''}`);
    await new Promise((r) => setTimeout(r, 100)); // the poll's interval, not a wait for a state
  }
}

function freePort() {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.on('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address();
      s.close(() => resolve(port));
    });
  });
}

// ---------------------------------------------------------------- the server and its API

function mintToken() {
  const out = execFileSync(LEINDEXD, ['token', 'new', '--id', 'e2e', '--scope', 'write'], { encoding: 'utf8' });
  const token = /^token: (\S+)$/m.exec(out)[1];
  const line = out.split('\n')[2];
  check(/^e2e write sha256:[0-9a-f]{64}$/.test(line), `token file line: ${line}`);
  fs.writeFileSync(path.join(WORK, 'tokens'), `${line}\n`);
  return token;
}

async function startServer(port) {
  const log = fs.openSync(path.join(WORK, 'server.log'), 'a');
  const proc = spawn(LEINDEXD, ['--listen', `127.0.0.1:${port}`, '--data-dir', path.join(WORK, 'data'),
    '--token-file', path.join(WORK, 'tokens'), '--allow-root', MAIN_TREE, '--allow-root', SLOW_TREE],
  { stdio: ['ignore', log, log] });
  let exited = null;
  proc.on('exit', (code, sig) => { exited = `${code ?? sig}`; });
  await until('the server to answer /healthz', async () => {
    check(exited === null, `the server exited (${exited}); see ${WORK}/server.log`);
    const r = await fetch(`http://127.0.0.1:${port}/healthz`);
    return r.status === 200;
  }, 60);
  return { proc, exited: () => exited };
}

function makeApi(base, token) {
  const get = async (p) => {
    const r = await fetch(base + p, { headers: { Authorization: `Bearer ${token}` } });
    return { status: r.status, json: r.status === 200 ? await r.json() : null, headers: r.headers };
  };
  const paths = async () => {
    const text = await (await fetch(`${base}/openapi.yaml`)).text();
    return new Set([...text.matchAll(/^ {2}(\/\S*):\s*$/gm)].map((m) => m[1]));
  };
  return { get, paths };
}

const entriesOf = (p) => p.dirs + p.files + p.symlinks + p.other;

/** The direct children of directory `prefix` of scan `id`, by the API (names → entry). */
async function childrenByApi(api, id, prefix) {
  const depth = prefix ? prefix.split('/').length + 1 : 1;
  const out = new Map();
  let tok = '';
  for (;;) {
    const q = `page_size=10000${prefix ? `&prefix=${encodeURIComponent(prefix)}` : ''}${tok ? `&page_token=${encodeURIComponent(tok)}` : ''}`;
    const r = await api.get(`/scans/${id}/entries?${q}`);
    check(r.status === 200, `entries of ${prefix || '/'}: ${r.status}`);
    for (const e of r.json.entries) {
      if (typeof e.path !== 'string') continue; // the page shows those too, decoded; not compared
      const parts = e.path.split('/');
      if (parts.length === depth) out.set(parts[depth - 1], e);
    }
    tok = r.json.next_page_token;
    if (!tok) return out;
  }
}

// ---------------------------------------------------------------- the page

async function shot(page, name, keepToasts = false) {
  const vp = page.viewportSize();
  const file = path.join(ARTIFACTS, `${vp.width}x${vp.height}-${name}.png`);
  // The notices of what was just done fade by themselves; they would only hide the view.
  if (!keepToasts) await page.evaluate(() => document.getElementById('toasts').replaceChildren());
  await page.screenshot({ path: file });
  return file;
}

/** The rows of the tree table: name → {type, size}. */
async function treeRows(page) {
  return page.$$eval('#tree-body tr[data-name]', (trs) => trs.map((tr) => ({
    name: tr.dataset.name,
    type: tr.dataset.type,
    size: tr.cells[2].dataset.value === undefined ? null : Number(tr.cells[2].dataset.value),
  })));
}

/** Checks the tree shown against the API's listing of `prefix`. */
async function checkTree(page, api, id, prefix, hasTree) {
  const want = await childrenByApi(api, id, prefix);
  // Without /tree the page lists a directory from a walk of its subtree, which it cuts short on
  // a huge one (and says so): then what it shows must be a part of the API's listing.
  const rows = await until(`the tree of '${prefix || '/'}'`, async () => {
    const crumbs = await page.$eval('#tree-crumbs', (n) => n.textContent);
    const r = await treeRows(page);
    const partial = await page.$eval('#tree-note', (n) => !n.hidden && n.textContent.includes('Only the first'));
    const last = prefix.split('/').pop();
    return crumbs.endsWith(last) && r.length > 0 && (r.length === want.size || (partial && r.length < want.size)) ? r : null;
  });
  for (const r of rows) {
    const e = want.get(r.name);
    check(e, `the tree shows '${r.name}' that the API does not list under '${prefix || '/'}'`);
    check(r.type === e.type, `type of ${r.name}: shown ${r.type}, API ${e.type}`);
    if (e.type !== 'dir') check(r.size === e.size, `size of ${r.name}: shown ${r.size}, API ${e.size}`);
  }
  if (hasTree) {
    const t = await api.get(`/scans/${id}/tree?depth=1${prefix ? `&prefix=${encodeURIComponent(prefix)}` : ''}`);
    check(t.status === 200, `/tree: ${t.status}`);
    for (const d of t.json.dirs) {
      const r = rows.find((x) => x.name === d.name);
      check(r && r.size === d.bytes, `subtree size of ${d.name}: shown ${r && r.size}, API ${d.bytes}`);
    }
  }
  return rows;
}

async function main() {
  fs.mkdirSync(ARTIFACTS, { recursive: true });
  const token = mintToken();
  const port = await freePort();
  const base = `http://127.0.0.1:${port}`;
  const server = await startServer(port);
  const api = makeApi(base, token);
  const routes = await api.paths();
  const hasTree = routes.has('/scans/{id}/tree');
  say(`server on ${base}; optional routes: ${['/events', '/scans/{id}/progress', '/scans/{id}/tree', '/scans/{id}/top', '/scans/{id}/diff', '/scans/{id}/skipped'].filter((r) => routes.has(r)).join(' ') || 'none'}`);

  const browser = await chromium.launch({
    executablePath: CHROMIUM,
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking'],
  });
  const context = await browser.newContext({ viewport: { width: 1280, height: 800 }, colorScheme: 'light' });
  // What the page must never do: reach another address, log an error, break its CSP.
  const requests = [];
  const consoleErrors = [];
  let tokenTyped = false;
  context.on('request', (r) => requests.push(r.url()));
  await context.addInitScript(() => {
    document.addEventListener('securitypolicyviolation', (e) => {
      console.error(`CSP violation: ${e.violatedDirective} ${e.blockedURI}`);
    });
  });
  const page = await context.newPage();
  page.on('console', (m) => {
    if (m.type() !== 'error') return;
    const url = m.location().url || '';
    const expected401 = !tokenTyped && / status of 401 /.test(m.text()) && url.startsWith(`${base}/`) && !url.startsWith(`${base}/ui`);
    // A scan's diff and skip reasons are shown only when they answer 200; a scan without them
    // may answer 404 or 409, which the browser logs although the page expects it.
    const optional = /^\/scans\/\d+\/(diff|skipped)$/.test(url.startsWith(base) ? new URL(url).pathname : '') &&
      / status of (404|409) /.test(m.text());
    consoleErrors.push({ text: m.text(), url, expected: expected401 || optional });
  });
  page.on('pageerror', (e) => consoleErrors.push({ text: `page error: ${e.message}`, url: '', expected: false }));
  page.on('dialog', (d) => {
    consoleErrors.push({ text: `unexpected native dialog: ${d.message()}`, url: '', expected: false });
    d.dismiss();
  });

  try {
    // ------------------------------------------------------------ the token, typed once
    step = 'token';
    await page.goto(`${base}/ui`);
    await page.waitForSelector('#token-dialog[open]', { timeout: DEADLINE_S * 1000 });
    await shot(page, 'token');
    await page.fill('#token-input', 'lxd_not-a-token');
    await page.click('#token-save');
    // A wrong token is refused and asked for again, saying so.
    await until('the dialog to ask again', () => page.$eval('#token-why', (n) => n.textContent.includes('did not take')));
    tokenTyped = true; // the 401s of the wrong token above were logged before this line ran
    await page.fill('#token-input', token);
    await page.click('#token-save');
    await page.waitForSelector('#token-dialog:not([open])', { state: 'attached' });
    check(await page.evaluate(() => sessionStorage.getItem('leindexd.token')) === token, 'the token is not kept in sessionStorage');
    const rootsShown = await page.$$eval('#roots-list option', (o) => o.map((x) => x.value));
    check(rootsShown.includes(MAIN_TREE) && rootsShown.includes(SLOW_TREE), `roots offered: ${rootsShown}`);
    await page.waitForSelector('#scans-empty:not([hidden])');

    // ------------------------------------------------------------ a scan, from the page
    step = 'start';
    await page.fill('#start-root', MAIN_TREE);
    await page.click('.options summary');
    await page.check('#opt-hash'); // hashing 5.8 GB (mostly sparse) keeps it running a while
    await page.uncheck('#opt-gitignore'); // node_modules/ and target/ too
    await page.click('#start-btn');
    const id = Number(await until('the new scan in the table', () => page.$eval('#scans-body tr:first-child', (tr) => tr.dataset.id)));
    const row = `#scans-body tr[data-id="${id}"]`;
    await page.waitForSelector(`${row}[data-state="running"]`, { timeout: DEADLINE_S * 1000 });
    say(`scan ${id} shown running`);
    await shot(page, 'scans-running');
    await page.waitForSelector(`${row}[data-state="completed"]`, { timeout: 600 * 1000 });
    say(`scan ${id} shown completed`);
    const scan = (await api.get(`/scans/${id}`)).json;
    check(scan.state === 'completed', `API state ${scan.state}`);
    check(scan.options.hash === true && scan.options.use_gitignore === false, `options sent: ${JSON.stringify(scan.options)}`);
    const rowEntries = Number(await page.$eval(`${row} td[data-k="entries"]`, (td) => td.dataset.value));
    check(rowEntries === entriesOf(scan.progress), `table entries ${rowEntries}, API ${entriesOf(scan.progress)}`);

    // ------------------------------------------------------------ the scan's view
    step = 'scan view';
    await page.click(`${row} td.root`);
    await page.waitForSelector('#scan-state[data-state="completed"]');
    check(new URL(page.url()).hash === `#/scans/${id}`, `URL ${page.url()}`);
    const shown = await page.$$eval('#scan-summary dd[data-k]', (dds) => Object.fromEntries(dds.map((d) => [d.dataset.k, { v: d.dataset.value, t: d.textContent }])));
    const p = scan.progress;
    for (const [k, v] of Object.entries({ entries: entriesOf(p), dirs: p.dirs, files: p.files, symlinks: p.symlinks, bytes: p.bytes, errors: p.errors })) {
      check(Number(shown[k].v) === v, `${k}: shown ${shown[k].v}, API ${v}`);
    }
    check(shown.entries.t === new Intl.NumberFormat('en-US').format(entriesOf(p)), `entries text '${shown.entries.t}'`);
    const stats = (await api.get(`/scans/${id}/stats`)).json;
    const counters = await until('the counters', () => page.$$eval('#scan-counters dd[data-k]', (dds) => (dds.length ? Object.fromEntries(dds.map((d) => [d.dataset.k, d.dataset.value])) : null)));
    for (const k of ['stat_seconds', 'ignore_match_seconds', 'slow_scandirs', 'scandir_calls', 'workers']) {
      check(Number(counters[k]) === stats[k], `counter ${k}: shown ${counters[k]}, API ${stats[k]}`);
    }
    check(Number(counters.slowest_scandir) === stats.slowest_scandir.seconds, 'slowest directory');
    const samples = await until('the progress chart', () => page.$eval('#chart svg', (s) => Number(s.dataset.samples)).catch(() => 0));
    check(samples >= 2, `chart samples ${samples}`);
    const errorsShown = await until('the errors panel', () => page.$$eval('#errors-list li', (li) => li.map((x) => x.textContent)).then((l) => (l.length ? l : null)));
    if (p.errors === 0) check(errorsShown.length === 1 && errorsShown[0] === 'No errors.', `errors shown: ${errorsShown}`);
    else check(errorsShown.length === Math.min(p.errors, 100), `${errorsShown.length} errors shown, API ${p.errors}`);

    // ------------------------------------------------------------ the tree, two levels down
    step = 'tree';
    const top = await checkTree(page, api, id, '', hasTree);
    check(top.some((r) => r.type === 'dir'), 'no directory at the root');
    await shot(page, 'scan');
    const first = top.find((r) => r.name === 'apps') || top.find((r) => r.type === 'dir');
    await page.click(`#tree-body tr[data-name="${first.name}"]`);
    const second = await checkTree(page, api, id, first.name, hasTree);
    const sub = second.find((r) => r.type === 'dir');
    check(sub, `no directory below ${first.name}`);
    await page.click(`#tree-body tr[data-name="${sub.name}"]`);
    const third = await checkTree(page, api, id, `${first.name}/${sub.name}`, hasTree);
    say(`browsed ${first.name}/${sub.name}: ${third.length} entries`);
    await page.evaluate(() => window.scrollTo(0, document.getElementById('tree-panel').offsetTop - 60));
    await shot(page, 'tree');
    // Sorted by size, largest first; a click turns it around.
    const sizes = (rows) => rows.filter((r) => r.type === 'file').map((r) => r.size);
    const desc = sizes(await treeRows(page));
    check(desc.every((v, i) => i === 0 || desc[i - 1] >= v), `not largest first: ${desc}`);
    await page.click('#tree-table button.sort[data-sort="size"]');
    const asc = sizes(await treeRows(page));
    check(asc.every((v, i) => i === 0 || asc[i - 1] <= v), `not smallest first: ${asc}`);
    // Back up through the breadcrumbs.
    await page.click('#tree-crumbs button:first-child');
    await checkTree(page, api, id, '', hasTree);
    check(await page.$$eval('#top-list li .size', (l) => l.length) > 0, 'no largest files');

    // ------------------------------------------------------------ cancel a slow scan
    step = 'cancel';
    await page.click('a[data-nav="scans"]');
    await page.waitForSelector(`${row}`);
    await page.fill('#start-root', SLOW_TREE);
    await page.fill('#opt-workers', '1');
    await page.check('#opt-hash'); // 1 TiB of sparse file to hash: it runs until cancelled
    await page.click('#start-btn');
    const slow = Number(await until('the second scan in the table', async () => {
      const v = Number(await page.$eval('#scans-body tr:first-child', (tr) => tr.dataset.id));
      return v !== id ? v : 0;
    }));
    const slowRow = `#scans-body tr[data-id="${slow}"]`;
    await page.waitForSelector(`${slowRow}[data-state="running"]`, { timeout: DEADLINE_S * 1000 });
    await page.click(`${slowRow} button[data-action="cancel"]`);
    await page.waitForSelector(`${slowRow}[data-state="cancelled"]`, { timeout: DEADLINE_S * 1000 });
    check((await api.get(`/scans/${slow}`)).json.state === 'cancelled', 'the API does not say cancelled');
    say(`scan ${slow} cancelled from the page`);
    await shot(page, 'scans');

    // ------------------------------------------------------------ delete it, after confirming
    step = 'delete';
    await page.click(`${slowRow} button[data-action="delete"]`);
    await page.waitForSelector('#confirm-dialog[open]');
    await shot(page, 'confirm');
    await page.click('#confirm-no'); // kept when not confirmed
    await page.waitForSelector('#confirm-dialog:not([open])', { state: 'attached' });
    check((await api.get(`/scans/${slow}`)).status === 200, 'deleted without confirmation');
    await page.click(`${slowRow} button[data-action="delete"]`);
    await page.waitForSelector('#confirm-dialog[open]');
    check((await page.textContent('#confirm-title')).includes(`#${slow}`), 'the confirmation does not name the scan');
    await page.click('#confirm-yes');
    await page.waitForSelector(slowRow, { state: 'detached', timeout: DEADLINE_S * 1000 });
    check((await api.get(`/scans/${slow}`)).status === 404, 'the scan is still there');
    say(`scan ${slow} deleted from the page`);

    // ------------------------------------------------------------ the service
    step = 'service';
    await page.click('a[data-nav="service"]');
    await page.waitForSelector('#gauge svg');
    const st = (await api.get('/stats')).json;
    const states = await page.$$eval('#states-chart text.value', (t) => Object.fromEntries(t.map((x) => [x.dataset.label, Number(x.dataset.value)])));
    for (const k of ['completed', 'cancelled', 'running', 'queued']) check(states[k] === st.scans[k], `scans ${k}: shown ${states[k]}, API ${st.scans[k]}`);
    const fill = Number(await page.$eval('#gauge svg', (s) => s.dataset.value));
    check(fill === st.store.fill_ratio, `map fill: shown ${fill}, API ${st.store.fill_ratio}`);
    const req2xx = await page.$eval('#requests-chart text.value[data-label="2xx"]', (t) => Number(t.dataset.value));
    check(req2xx > 0, 'no 2xx requests shown');
    await shot(page, 'service');

    // ------------------------------------------------------------ every view on a phone, and dark
    step = 'phone';
    await page.setViewportSize({ width: 390, height: 844 });
    for (const [hash, name, ready] of [['#/', 'scans', `${row}`], [`#/scans/${id}`, 'scan', '#tree-body tr[data-name]'], ['#/service', 'service', '#gauge svg']]) {
      await page.evaluate((h) => { location.hash = h; }, hash);
      await page.waitForSelector(ready);
      const overflow = await page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
      check(overflow <= 0, `the ${name} view is ${overflow}px wider than a phone`);
      await page.evaluate(() => window.scrollTo(0, 0));
      await shot(page, name);
    }
    await page.emulateMedia({ colorScheme: 'dark' });
    const dark = await page.evaluate(() => getComputedStyle(document.body).backgroundColor);
    await shot(page, 'service-dark');
    await page.setViewportSize({ width: 1280, height: 800 });
    await page.evaluate(() => { location.hash = '#/'; });
    await page.waitForSelector(row);
    await shot(page, 'scans-dark');
    await page.emulateMedia({ colorScheme: 'light' });
    const light = await page.evaluate(() => getComputedStyle(document.body).backgroundColor);
    check(dark !== light, `dark mode changes nothing (${dark})`);

    // ------------------------------------------------------------ what must never happen
    step = 'hygiene';
    const away = requests.filter((u) => !u.startsWith(`${base}/`));
    check(away.length === 0, `requests left ${base}: ${away.join(', ')}`);
    const errors = consoleErrors.filter((e) => !e.expected);
    check(errors.length === 0, `console errors: ${errors.map((e) => `${e.text} (${e.url})`).join('; ')}`);
    say(`${requests.length} requests, all to ${base}; ${consoleErrors.length} console errors, all expected (401s before the token was typed, absent diffs or skip reasons)`);
  } catch (e) {
    await shot(page, 'failure', true).catch(() => {});
    throw e;
  } finally {
    await browser.close();
    server.proc.kill('SIGTERM');
    await until('the server to stop', () => server.exited() !== null, 60).catch(() => server.proc.kill('SIGKILL'));
  }
  check(server.exited() === '0', `the server exited with ${server.exited()}`);
  say(`screenshots in ${ARTIFACTS}`);
  console.log('e2e ui: 1 passed, 0 failed');
}

main().catch((e) => {
  console.error(`FAIL: ${e.stack || e.message}`);
  console.log('e2e ui: 0 passed, 1 failed');
  process.exit(1);
});
