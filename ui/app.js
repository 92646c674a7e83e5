/*
 * leindexd status page. Plain JavaScript, no build step, no dependency: the binary embeds this
 * file as it is (cmake/embed_ui.cmake) and serves it under a Content-Security-Policy of
 * default-src 'self', so nothing here is inline, evaluated or fetched from elsewhere, and every
 * text from the API reaches the page through textContent, never as HTML.
 *
 * How it talks to the server:
 * - Every API call goes through api(): the token typed once is kept in sessionStorage (this tab
 *   only) and sent as Authorization: Bearer; a 401 opens the token dialog, then the call is
 *   retried with the token typed.
 * - Which optional routes the server has is read once from /openapi.yaml (open, and kept equal
 *   to the routing table by the server's tests), so the page never probes routes it lacks; a 404
 *   from one of them still falls back as if it were missing.
 * - Live updates: GET /events (server-sent events, read with fetch() and a stream reader, since
 *   EventSource cannot send a token) when the server has it; otherwise GET /scans is polled with
 *   If-None-Match, which costs a 304 while nothing changes.
 * - Charts are SVG drawn below (line chart, bars, gauge).
 */
'use strict';

(() => {
  const TOKEN_KEY = 'leindexd.token';
  const STATES = ['queued', 'running', 'completed', 'failed', 'cancelled', 'interrupted'];
  const FINISHED = new Set(['completed', 'failed', 'cancelled', 'interrupted']);
  /**
   * Entries read at most to list one directory: GET /scans/{id}/entries?prefix= returns the
   * whole subtree, depth first, so listing the root of a large scan means reading all of it.
   */
  const WALK_MAX = 100000;
  const WALK_PAGE = 10000;
  /** Samples kept per scan by the page itself (one a poll) when the server keeps none. */
  const LOCAL_SAMPLES_MAX = 600;

  const $ = (id) => document.getElementById(id);
  const SVG_NS = 'http://www.w3.org/2000/svg';

  const S = {
    token: sessionStorage.getItem(TOKEN_KEY) || '',
    routes: null,          // Set of the server's paths (from /openapi.yaml)
    missing: new Set(),    // routes that answered 404 although listed
    scans: new Map(),      // id → scan resource
    scansEtag: null,
    roots: null,
    view: null,            // 'scans' | 'scan' | 'service'
    scanId: 0,
    samples: new Map(),    // id → [{t, entries, dirs, files, bytes, errors}] collected here
    tree: { id: 0, prefix: [], rows: [], sort: 'size', dir: 'desc' },
    statsEtag: null,
    stats: null,
    streaming: false,
    pollTimer: 0,
    tokenWait: null,
    finishedLoaded: new Set(), // scans whose finished-only panels were loaded
  };

  // ------------------------------------------------------------------ formatting

  const intFmt = new Intl.NumberFormat('en-US');
  const fmtInt = (n) => (n === null || n === undefined || Number.isNaN(n) ? '—' : intFmt.format(Math.round(n)));

  function fmtBytes(n) {
    if (n === null || n === undefined) return '—';
    const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB', 'PiB'];
    let v = n, u = 0;
    while (v >= 1024 && u < units.length - 1) { v /= 1024; u++; }
    return u === 0 ? `${v} B` : `${v >= 100 ? v.toFixed(0) : v >= 10 ? v.toFixed(1) : v.toFixed(2)} ${units[u]}`;
  }

  function fmtSeconds(s) {
    if (s === null || s === undefined || Number.isNaN(s)) return '—';
    if (s < 1) return `${Math.round(s * 1000)} ms`;
    if (s < 60) return `${s.toFixed(s < 10 ? 2 : 1)} s`;
    const m = Math.floor(s / 60), sec = Math.round(s % 60);
    if (m < 60) return `${m}m ${sec}s`;
    const h = Math.floor(m / 60);
    if (h < 48) return `${h}h ${m % 60}m`;
    return `${Math.floor(h / 24)}d ${h % 24}h`;
  }

  const fmtRate = (r) => (r === null || r === undefined || !Number.isFinite(r) ? '—' : r >= 100 ? fmtInt(r) : r.toFixed(1));
  const fmtTime = (t) => (t ? new Date(t).toLocaleString() : '—');
  const fmtClock = (t) => (t ? new Date(t).toLocaleTimeString([], { hour: '2-digit', minute: '2-digit', second: '2-digit', hourCycle: 'h23' }) : '—');

  /** Entries of a scan resource: the root is counted as one of the dirs. */
  const entriesOf = (p) => (p ? (p.dirs || 0) + (p.files || 0) + (p.symlinks || 0) + (p.other || 0) : 0);

  /** Seconds a scan has run: to its end, or to now while it runs; null before it starts. */
  function durationOf(s) {
    if (!s.started_at) return null;
    const end = s.finished_at ? Date.parse(s.finished_at) : Date.now();
    return Math.max(0, (end - Date.parse(s.started_at)) / 1000);
  }

  /** Decodes the base64 of a path that is not UTF-8 into its bytes. */
  function b64bytes(b64) {
    const bin = atob(b64);
    const out = new Uint8Array(bin.length);
    for (let i = 0; i < bin.length; i++) out[i] = bin.charCodeAt(i);
    return out;
  }

  /**
   * A path of the API as {text, bytes}: `text` to show (invalid bytes as U+FFFD), `bytes` its
   * exact bytes (for query strings). `obj[key]` or its `key_b64` twin.
   */
  function pathOf(obj, key) {
    if (typeof obj[key] === 'string') return { text: obj[key], bytes: new TextEncoder().encode(obj[key]) };
    if (typeof obj[`${key}_b64`] === 'string') {
      const bytes = b64bytes(obj[`${key}_b64`]);
      return { text: new TextDecoder('utf-8', { fatal: false }).decode(bytes), bytes };
    }
    return { text: '', bytes: new Uint8Array(0) };
  }

  /** Percent-encodes bytes for a query value (every byte outside the unreserved set). */
  function pctBytes(bytes) {
    let s = '';
    for (const b of bytes) {
      const c = String.fromCharCode(b);
      s += /[A-Za-z0-9\-._~]/.test(c) ? c : `%${b.toString(16).toUpperCase().padStart(2, '0')}`;
    }
    return s;
  }

  // ------------------------------------------------------------------ DOM helpers

  /** Makes an element: el('td', {class: 'num', text: '3'}, child...). Text only, never HTML. */
  function el(tag, attrs, ...children) {
    const e = document.createElement(tag);
    for (const [k, v] of Object.entries(attrs || {})) {
      if (v === undefined || v === null || v === false) continue;
      if (k === 'text') e.textContent = v;
      else if (k === 'class') e.className = v;
      else if (k === 'on') for (const [ev, fn] of Object.entries(v)) e.addEventListener(ev, fn);
      else e.setAttribute(k, v === true ? '' : String(v));
    }
    for (const c of children) if (c !== null && c !== undefined) e.append(c);
    return e;
  }

  function svg(tag, attrs, ...children) {
    const e = document.createElementNS(SVG_NS, tag);
    for (const [k, v] of Object.entries(attrs || {})) {
      if (v === undefined || v === null) continue;
      if (k === 'text') e.textContent = v;
      else e.setAttribute(k, String(v));
    }
    for (const c of children) if (c) e.append(c);
    return e;
  }

  function toast(msg, kind) {
    const t = el('div', { class: `toast ${kind || ''}`, text: msg, title: 'Click to dismiss', on: { click: () => t.remove() } });
    $('toasts').append(t);
    setTimeout(() => t.remove(), kind === 'error' ? 8000 : 3000);
  }

  /** A <dl> card or key/value row: dt, dd with the value shown and its exact value kept. */
  function kvRow(key, shown, exact, title) {
    const dd = el('dd', { text: shown, 'data-k': key, 'data-value': exact, title: title || exact });
    return el('div', null, el('dt', { text: labelOf(key) }), dd);
  }

  const LABELS = {
    entries: 'Entries', dirs: 'Directories', files: 'Files', symlinks: 'Symlinks', other: 'Other',
    bytes: 'Bytes', errors: 'Errors', duration: 'Duration', rate: 'Entries/s', started: 'Started',
    finished: 'Finished', queued_dirs: 'Queued dirs',
  };
  const labelOf = (k) => LABELS[k] || k;

  // ------------------------------------------------------------------ the API

  class ApiError extends Error {
    constructor(status, detail) {
      super(detail || `HTTP ${status}`);
      this.status = status;
    }
  }

  /** The problem detail of a failed answer, or its status line. */
  async function problemOf(res) {
    try {
      const j = await res.json();
      if (j && j.detail) return j.detail;
    } catch (_) { /* not JSON */ }
    return `${res.status} ${res.statusText}`;
  }

  /**
   * fetch() of an API path with the token. A 401 asks for a token and retries; other statuses
   * come back as they are (callers decide what a 404 or 409 means).
   */
  async function api(path, opts = {}) {
    for (;;) {
      const headers = new Headers(opts.headers || {});
      if (S.token) headers.set('Authorization', `Bearer ${S.token}`);
      let body;
      if (opts.json !== undefined) {
        headers.set('Content-Type', 'application/json');
        body = JSON.stringify(opts.json);
      }
      const res = await fetch(path, {
        method: opts.method || 'GET', headers, body, cache: 'no-store', signal: opts.signal,
        credentials: 'omit',
      });
      if (res.status !== 401) return res;
      const detail = await problemOf(res);
      await askToken(S.token ? `The server did not take this token: ${detail}` : detail);
    }
  }

  /** GET a JSON document; throws ApiError for anything but 200. */
  async function getJSON(path) {
    const res = await api(path);
    if (res.status !== 200) throw new ApiError(res.status, await problemOf(res));
    return res.json();
  }

  /** Whether the server has `route` (a path pattern of openapi.yaml). */
  const has = (route) => S.routes !== null && S.routes.has(route) && !S.missing.has(route);

  /** Reads the server's paths from its contract; without it, only the base routes are used. */
  async function loadRoutes() {
    try {
      const res = await fetch('/openapi.yaml', { cache: 'no-store', credentials: 'omit' });
      const text = res.ok ? await res.text() : '';
      S.routes = new Set();
      for (const m of text.matchAll(/^ {2}(\/\S*):\s*$/gm)) S.routes.add(m[1]);
    } catch (_) {
      S.routes = new Set();
    }
  }

  // ------------------------------------------------------------------ the token

  function askToken(why) {
    if (S.tokenWait) return S.tokenWait;
    const dlg = $('token-dialog');
    $('token-why').textContent = why
      ? `${why}. The token is kept in this tab only (session storage) and sent to this server alone.`
      : 'The token is kept in this tab only (session storage) and sent to this server alone.';
    $('token-input').value = '';
    S.tokenWait = new Promise((resolve) => {
      dlg._resolve = resolve;
    });
    if (!dlg.open) dlg.showModal();
    $('token-input').focus();
    return S.tokenWait;
  }

  function setupToken() {
    const dlg = $('token-dialog');
    $('token-form').addEventListener('submit', (ev) => {
      ev.preventDefault();
      const t = $('token-input').value.trim();
      if (!t) return;
      S.token = t;
      sessionStorage.setItem(TOKEN_KEY, t);
      dlg.close();
      const r = S.tokenWait ? dlg._resolve : null;
      dlg._resolve = null;
      S.tokenWait = null;
      S.scansEtag = null;
      S.statsEtag = null;
      if (r) r();
      else refreshAll();
    });
    $('token-forget').addEventListener('click', () => {
      S.token = '';
      sessionStorage.removeItem(TOKEN_KEY);
      $('token-input').value = '';
      toast('Token forgotten in this tab');
    });
    // Escape closes the dialog; a pending call then waits until a token is typed.
    dlg.addEventListener('cancel', (ev) => { if (dlg._resolve && S.tokenWait) ev.preventDefault(); });
    $('token-btn').addEventListener('click', () => {
      $('token-why').textContent = 'The token is kept in this tab only (session storage) and sent to this server alone.';
      $('token-input').value = '';
      if (!dlg.open) dlg.showModal();
    });
  }

  // ------------------------------------------------------------------ confirmation

  function confirmDialog(title, text, yes) {
    const dlg = $('confirm-dialog');
    $('confirm-title').textContent = title;
    $('confirm-text').textContent = text;
    $('confirm-yes').textContent = yes;
    return new Promise((resolve) => {
      const done = (v) => {
        $('confirm-form').removeEventListener('submit', onYes);
        $('confirm-no').removeEventListener('click', onNo);
        dlg.removeEventListener('cancel', onNo);
        if (dlg.open) dlg.close();
        resolve(v);
      };
      const onYes = (ev) => { ev.preventDefault(); done(true); };
      const onNo = (ev) => { ev.preventDefault(); done(false); };
      $('confirm-form').addEventListener('submit', onYes);
      $('confirm-no').addEventListener('click', onNo);
      dlg.addEventListener('cancel', onNo);
      dlg.showModal();
      $('confirm-no').focus();
    });
  }

  // ------------------------------------------------------------------ scans: data

  /** Reads the newest scans (GET /scans, If-None-Match). Returns whether anything changed. */
  async function loadScans() {
    const headers = S.scansEtag ? { 'If-None-Match': S.scansEtag } : {};
    const res = await api('/scans?page_size=200', { headers });
    if (res.status === 304) return false;
    if (res.status !== 200) throw new ApiError(res.status, await problemOf(res));
    S.scansEtag = res.headers.get('ETag');
    const j = await res.json();
    const next = new Map();
    for (const s of j.scans || []) next.set(s.id, s);
    S.scans = next;
    S.more = Boolean(j.next_page_token);
    for (const s of next.values()) sampleScan(s);
    return true;
  }

  /** Keeps a sample of a running scan's progress for its chart (the page's own record). */
  function sampleScan(s) {
    if (s.state !== 'running' && !(FINISHED.has(s.state) && S.samples.has(s.id))) return;
    let arr = S.samples.get(s.id);
    if (!arr) S.samples.set(s.id, (arr = []));
    const t = Date.now() / 1000;
    const p = s.progress || {};
    const last = arr[arr.length - 1];
    const entries = entriesOf(p);
    if (last && last.entries === entries && last.bytes === p.bytes && FINISHED.has(s.state)) return;
    if (last && t - last.t < 0.2) arr.pop();
    arr.push({ t, entries, dirs: p.dirs || 0, files: p.files || 0, bytes: p.bytes || 0, errors: p.errors || 0 });
    if (arr.length > LOCAL_SAMPLES_MAX) arr.splice(0, arr.length - LOCAL_SAMPLES_MAX);
  }

  // ------------------------------------------------------------------ scans: the table

  function renderScans() {
    const body = $('scans-body');
    const ids = [...S.scans.keys()].sort((a, b) => b - a);
    $('scans-empty').hidden = ids.length > 0;
    $('scans-count').textContent = ids.length ? `${ids.length}${S.more ? '+' : ''} kept, newest first` : '';
    const rows = new Map([...body.children].map((tr) => [Number(tr.dataset.id), tr]));
    let prev = null;
    for (const id of ids) {
      const s = S.scans.get(id);
      const fresh = scanRow(s);
      const old = rows.get(id);
      let tr = fresh;
      if (old) {
        rows.delete(id);
        patchRow(old, fresh);
        tr = old;
      }
      if (prev ? prev.nextElementSibling !== tr : body.firstElementChild !== tr) {
        if (prev) prev.after(tr);
        else body.prepend(tr);
      }
      prev = tr;
    }
    for (const tr of rows.values()) tr.remove();
  }

  /**
   * Brings a shown row up to date cell by cell: a cell (and its buttons) that shows the same stays
   * the same node, so a redraw never swallows the click of someone using the page.
   */
  function patchRow(old, fresh) {
    old.dataset.state = fresh.dataset.state;
    [...fresh.cells].forEach((td, i) => {
      const o = old.cells[i];
      if (!o || o.outerHTML !== td.outerHTML) {
        if (o) o.replaceWith(td);
        else old.append(td);
      }
    });
  }

  function scanRow(s) {
    const p = s.progress || {};
    const entries = entriesOf(p);
    const dur = durationOf(s);
    const root = pathOf(s, 'root').text;
    const actions = el('td', { class: 'actions' });
    if (!FINISHED.has(s.state)) {
      actions.append(el('button', {
        type: 'button', class: 'small cancel', text: 'Cancel', 'data-action': 'cancel',
        on: { click: (ev) => { ev.stopPropagation(); cancelScan(s.id); } },
      }));
    }
    actions.append(el('button', {
      type: 'button', class: 'small danger delete', text: 'Delete', 'data-action': 'delete',
      on: { click: (ev) => { ev.stopPropagation(); deleteScan(s.id); } },
    }));
    const tr = el('tr', { 'data-id': s.id, 'data-state': s.state, tabindex: 0, title: `Open scan ${s.id}` },
      el('td', { 'data-label': 'ID', text: `#${s.id}` }),
      el('td', { 'data-label': 'State' }, el('span', { class: 'state', 'data-state': s.state, text: s.state })),
      el('td', { class: 'root mono', 'data-label': 'Root', text: root, title: root }),
      el('td', { class: 'num', 'data-label': 'Entries', 'data-k': 'entries', 'data-value': entries, text: fmtInt(entries) }),
      el('td', { class: 'num', 'data-label': 'Bytes', 'data-k': 'bytes', 'data-value': p.bytes, text: fmtBytes(p.bytes), title: `${fmtInt(p.bytes)} bytes` }),
      el('td', { class: 'num', 'data-label': 'Duration', text: fmtSeconds(dur) }),
      el('td', { class: 'num', 'data-label': 'Entries/s', text: dur ? fmtRate(entries / dur) : '—' }),
      el('td', { class: 'num', 'data-label': 'Errors', 'data-k': 'errors', 'data-value': p.errors, text: fmtInt(p.errors) }),
      actions);
    const open = () => { location.hash = `#/scans/${s.id}`; };
    tr.addEventListener('click', open);
    tr.addEventListener('keydown', (ev) => { if (ev.key === 'Enter') open(); });
    return tr;
  }

  // ------------------------------------------------------------------ scans: actions

  async function loadRoots() {
    try {
      S.roots = await getJSON('/roots');
    } catch (e) {
      // An older server without /roots: any path may be typed, the server decides.
      S.roots = { roots: [], any: true, unknown: e.status === 404 };
    }
    const list = $('roots-list');
    list.replaceChildren(...(S.roots.roots || []).map((r) => el('option', { value: r })));
    const input = $('start-root');
    if (!input.value && S.roots.roots && S.roots.roots.length) input.value = S.roots.roots[0];
    $('roots-hint').textContent = S.roots.unknown
      ? 'Give an absolute directory; the server checks it against its allowed roots.'
      : S.roots.any
        ? 'Any absolute directory may be scanned (the server was started without --allow-root).'
        : `Allowed roots (a directory below one of them works too): ${S.roots.roots.join(', ')}`;
  }

  async function startScan(ev) {
    ev.preventDefault();
    const body = { root: $('start-root').value.trim() };
    const w = $('opt-workers').value, d = $('opt-depth').value;
    if (w) body.workers = Number(w);
    if (d !== '') body.max_depth = Number(d);
    if ($('opt-hash').checked) body.hash = true;
    if (!$('opt-gitignore').checked) body.use_gitignore = false;
    const btn = $('start-btn');
    btn.disabled = true;
    try {
      const res = await api('/scans', { method: 'POST', json: body });
      if (res.status !== 202) throw new ApiError(res.status, await problemOf(res));
      const s = await res.json();
      S.scans.set(s.id, s);
      renderScans();
      toast(`Scan #${s.id} of ${pathOf(s, 'root').text} queued`);
      kick();
    } catch (e) {
      toast(`Could not start the scan: ${e.message}`, 'error');
    } finally {
      btn.disabled = false;
    }
  }

  async function cancelScan(id) {
    try {
      const res = await api(`/scans/${id}/cancel`, { method: 'POST' });
      if (res.status !== 200 && res.status !== 409) throw new ApiError(res.status, await problemOf(res));
      if (res.status === 200) {
        const s = await res.json();
        S.scans.set(s.id, s);
        toast(`Scan #${id} ${s.state === 'cancelled' ? 'cancelled' : 'is being cancelled'}`);
      } else {
        toast(await problemOf(res));
      }
      render();
      kick();
    } catch (e) {
      toast(`Could not cancel scan #${id}: ${e.message}`, 'error');
    }
  }

  async function deleteScan(id) {
    const s = S.scans.get(id);
    const root = s ? pathOf(s, 'root').text : '';
    const ok = await confirmDialog(`Delete scan #${id}?`,
      `Its record and every entry it found${root ? ` under ${root}` : ''} are removed from the store. This cannot be undone.`,
      'Delete');
    if (!ok) return;
    try {
      const res = await api(`/scans/${id}`, { method: 'DELETE' });
      if (res.status !== 204 && res.status !== 404) throw new ApiError(res.status, await problemOf(res));
      S.scans.delete(id);
      S.samples.delete(id);
      toast(`Scan #${id} deleted`);
      if (S.view === 'scan' && S.scanId === id) location.hash = '#/';
      else render();
      kick();
    } catch (e) {
      toast(`Could not delete scan #${id}: ${e.message}`, 'error');
    }
  }

  // ------------------------------------------------------------------ one scan

  async function loadScan(id) {
    let s;
    try {
      s = await getJSON(`/scans/${id}`);
    } catch (e) {
      if (e.status === 404) {
        S.scans.delete(id);
        $('scan-title').textContent = `Scan #${id}`;
        $('scan-error').hidden = false;
        $('scan-error').textContent = `Scan #${id} does not exist (deleted?).`;
        return null;
      }
      throw e;
    }
    S.scans.set(s.id, s);
    sampleScan(s);
    return s;
  }

  function renderScan(s) {
    if (!s) return;
    const p = s.progress || {};
    const dur = durationOf(s);
    const entries = entriesOf(p);
    $('scan-title').textContent = `Scan #${s.id}`;
    const st = $('scan-state');
    st.textContent = s.state;
    st.dataset.state = s.state;
    const root = pathOf(s, 'root').text;
    const o = s.options || {};
    const opts = [`workers ${o.workers ?? '?'}`, o.max_depth === null || o.max_depth === undefined ? null : `max depth ${o.max_depth}`,
      o.hash ? 'SHA-256' : null, o.use_gitignore === false ? 'no .gitignore' : null].filter(Boolean).join(' · ');
    $('scan-root').textContent = `${root}  —  ${opts}`;
    $('scan-cancel').hidden = FINISHED.has(s.state);
    $('scan-error').hidden = !s.error;
    if (s.error) $('scan-error').textContent = s.error;
    $('scan-summary').replaceChildren(
      kvRow('entries', fmtInt(entries), entries),
      kvRow('dirs', fmtInt(p.dirs), p.dirs),
      kvRow('files', fmtInt(p.files), p.files),
      kvRow('symlinks', fmtInt(p.symlinks), p.symlinks),
      kvRow('bytes', fmtBytes(p.bytes), p.bytes, `${fmtInt(p.bytes)} bytes`),
      kvRow('errors', fmtInt(p.errors), p.errors),
      kvRow('duration', fmtSeconds(dur), dur === null ? '' : dur.toFixed(3)),
      kvRow('rate', dur ? fmtRate(entries / dur) : '—', dur ? (entries / dur).toFixed(1) : ''),
      kvRow('started', fmtClock(s.started_at), s.started_at || '', fmtTime(s.started_at)),
      kvRow('finished', fmtClock(s.finished_at), s.finished_at || '', fmtTime(s.finished_at)));
  }

  /** The scan's progress samples: the server's (GET /scans/{id}/progress) or this page's. */
  async function loadProgress(s) {
    if (has('/scans/{id}/progress') && s.state !== 'queued') {
      const res = await api(`/scans/${s.id}/progress`);
      if (res.status === 200) {
        const j = await res.json();
        return { source: 'kept by the server', samples: withEnds(normaliseSamples(j.samples || [], s), s) };
      }
      if (res.status === 404 && S.scans.has(s.id)) S.missing.add('/scans/{id}/progress');
    }
    const own = S.samples.get(s.id) || [];
    return { source: own.length ? 'sampled by this page while it watched' : '', samples: own };
  }

  /** Samples with t in seconds (an RFC 3339 time, epoch seconds or ms, or seconds since start). */
  function normaliseSamples(samples, s) {
    const start = s.started_at ? Date.parse(s.started_at) / 1000 : 0;
    return samples.map((x) => {
      let t = x.t;
      if (typeof t === 'string') t = Date.parse(t) / 1000;
      else if (t > 1e12) t /= 1000;
      else if (t < 1e9) t += start;
      const entries = x.entries ?? entriesOf(x);
      return { t, entries, dirs: x.dirs || 0, files: x.files || 0, bytes: x.bytes || 0, errors: x.errors || 0 };
    }).filter((x) => Number.isFinite(x.t));
  }

  /**
   * The server's samples (at most one a second) with the scan's start (nothing found yet) and,
   * once it finished, its final counts, so the line spans the whole run. Times are the server's.
   */
  function withEnds(samples, s) {
    const out = samples.slice();
    const zero = { entries: 0, dirs: 0, files: 0, bytes: 0, errors: 0 };
    if (s.started_at) {
      const t0 = Date.parse(s.started_at) / 1000;
      if (!out.length || out[0].t > t0) out.unshift({ t: t0, ...zero });
    }
    if (s.finished_at && out.length) {
      const t1 = Date.parse(s.finished_at) / 1000;
      const p = s.progress || {};
      if (out[out.length - 1].t < t1) {
        out.push({ t: t1, entries: entriesOf(p), dirs: p.dirs || 0, files: p.files || 0, bytes: p.bytes || 0, errors: p.errors || 0 });
      }
    }
    return out;
  }

  async function renderProgress(s) {
    const { source, samples } = await loadProgress(s);
    $('chart-source').textContent = source;
    const box = $('chart');
    if (samples.length < 2) {
      box.replaceChildren(el('p', {
        class: 'empty',
        text: s.state === 'queued' ? 'Waiting for the scan to start.'
          : FINISHED.has(s.state) ? 'This server keeps no progress samples of its scans, and this page did not watch this one run.'
            : 'Collecting samples…',
      }));
      return;
    }
    box.replaceChildren(lineChart(samples));
  }

  /** Entries and directories over time, as an SVG line chart that scales to its box. */
  function lineChart(samples) {
    const W = 560, H = 220, L = 56, R = 12, T = 22, B = 26;
    const t0 = samples[0].t;
    const xs = samples.map((p) => p.t - t0);
    const xmax = Math.max(xs[xs.length - 1], 1);
    const ymax = niceMax(Math.max(...samples.map((p) => p.entries), 1));
    const X = (v) => L + (v / xmax) * (W - L - R);
    const Y = (v) => H - B - (v / ymax) * (H - T - B);
    const g = svg('g', { class: 'grid' });
    const labels = svg('g');
    for (let i = 0; i <= 4; i++) {
      const v = (ymax * i) / 4;
      g.append(svg('line', { x1: L, x2: W - R, y1: Y(v), y2: Y(v) }));
      labels.append(svg('text', { x: L - 6, y: Y(v) + 4, 'text-anchor': 'end', text: compact(v) }));
    }
    for (let i = 0; i <= 4; i++) {
      const v = (xmax * i) / 4;
      labels.append(svg('text', { x: X(v), y: H - 8, 'text-anchor': i === 0 ? 'start' : i === 4 ? 'end' : 'middle', text: fmtSeconds(v) }));
    }
    const line = (key) => samples.map((p, i) => `${i ? 'L' : 'M'}${X(xs[i]).toFixed(1)},${Y(p[key]).toFixed(1)}`).join('');
    const area = `${line('entries')}L${X(xs[xs.length - 1]).toFixed(1)},${Y(0)}L${X(0)},${Y(0)}Z`;
    const legend = svg('g', null,
      svg('rect', { x: L, y: 6, width: 10, height: 3, class: 'legend-entries' }),
      svg('text', { x: L + 14, y: 11, text: 'entries' }),
      svg('rect', { x: L + 74, y: 6, width: 10, height: 3, class: 'legend-dirs' }),
      svg('text', { x: L + 88, y: 11, text: 'directories' }));
    return svg('svg', { viewBox: `0 0 ${W} ${H}`, role: 'img', 'aria-label': 'Entries found over time', 'data-samples': samples.length },
      g, svg('path', { d: area, class: 'area-entries' }), svg('path', { d: line('entries'), class: 'line-entries' }),
      svg('path', { d: line('dirs'), class: 'line-dirs' }), labels, legend);
  }

  function niceMax(v) {
    const p = 10 ** Math.floor(Math.log10(v));
    for (const m of [1, 2, 2.5, 5, 10]) if (m * p >= v) return m * p;
    return 10 * p;
  }

  function compact(v) {
    if (v >= 1e9) return `${+(v / 1e9).toFixed(1)}G`;
    if (v >= 1e6) return `${+(v / 1e6).toFixed(1)}M`;
    if (v >= 1e3) return `${+(v / 1e3).toFixed(1)}k`;
    return `${+v.toFixed(1)}`;
  }

  async function renderCounters(s) {
    const box = $('scan-counters');
    if (s.state === 'queued') {
      box.replaceChildren(el('dt', { text: 'Counters' }), el('dd', { text: 'once the scan starts' }));
      return;
    }
    const res = await api(`/scans/${s.id}/stats`);
    if (res.status !== 200) {
      box.replaceChildren(el('dt', { text: 'Counters' }), el('dd', { text: await problemOf(res) }));
      return;
    }
    const c = await res.json();
    const slow = c.slowest_scandir || {};
    const slowPath = pathOf(slow, 'path').text;
    const rows = [
      ['stat_seconds', 'stat() time', fmtSeconds(c.stat_seconds)],
      ['ignore_match_seconds', 'Ignore matching', fmtSeconds(c.ignore_match_seconds)],
      ['scandir_seconds', 'Directory reads', fmtSeconds(c.scandir_seconds)],
      ['hash_seconds', 'Hashing', fmtSeconds(c.hash_seconds)],
      ['store_seconds', 'Store writes', fmtSeconds(c.store_seconds)],
      ['scandir_calls', 'Directories read', fmtInt(c.scandir_calls)],
      ['slow_scandirs', 'Slow directories', fmtInt(c.slow_scandirs)],
      ['slowest_scandir', 'Slowest directory', slow.seconds ? `${fmtSeconds(slow.seconds)}  ${slowPath || '(root)'}` : '—'],
      ['workers', 'Workers', fmtInt(c.workers)],
      ['queue_peak', 'Queue peak', fmtInt(c.queue_peak)],
      ['dirs_per_second', 'Directories/s', fmtRate(c.dirs_per_second)],
      ['entries_per_second', 'Entries/s', fmtRate(c.entries_per_second)],
    ];
    box.replaceChildren(...rows.flatMap(([k, label, shown]) => [
      el('dt', { text: label }),
      el('dd', { text: shown, 'data-k': k, 'data-value': k === 'slowest_scandir' ? slow.seconds : c[k], class: k === 'slowest_scandir' ? 'mono' : null }),
    ]));
  }

  async function renderErrors(s) {
    const list = $('errors-list');
    const res = await api(`/scans/${s.id}/errors?page_size=100`);
    if (res.status !== 200) {
      list.replaceChildren(el('li', { class: 'muted', text: await problemOf(res) }));
      return;
    }
    const j = await res.json();
    const errs = j.errors || [];
    $('errors-count').textContent = errs.length ? `${fmtInt((s.progress || {}).errors)} in all${j.next_page_token ? ', the first 100 shown' : ''}` : '';
    if (!errs.length) {
      list.replaceChildren(el('li', { class: 'muted', text: 'No errors.' }));
      return;
    }
    list.replaceChildren(...errs.map((e) => el('li', null,
      el('span', { class: 'path mono', text: pathOf(e, 'path').text || '(root)' }),
      el('span', { class: 'msg', text: `${e.op}: ${e.message}` }))));
  }

  // ------------------------------------------------------------------ one scan: the tree

  /** The path of the tree's current directory: its components' bytes joined by '/'. */
  function prefixBytes(parts) {
    const out = [];
    parts.forEach((p, i) => {
      if (i) out.push(47);
      out.push(...p.bytes);
    });
    return new Uint8Array(out);
  }

  /**
   * Lists the directory `parts` of scan `id`: direct children from GET /scans/{id}/entries
   * (the walk returns the whole subtree, so at most WALK_MAX entries are read), each directory
   * with its subtree's size when the server has GET /scans/{id}/tree.
   */
  async function listDir(id, parts) {
    const pb = prefixBytes(parts);
    const q = pb.length ? `&prefix=${pctBytes(pb)}` : '';
    const depth = parts.length + 1;
    const rows = new Map();
    let read = 0, token = '', partial = false;
    for (;;) {
      const res = await api(`/scans/${id}/entries?page_size=${WALK_PAGE}${q}${token ? `&page_token=${encodeURIComponent(token)}` : ''}`);
      if (res.status !== 200) throw new ApiError(res.status, await problemOf(res));
      const j = await res.json();
      for (const e of j.entries || []) {
        const p = pathOf(e, 'path');
        const comps = splitBytes(p.bytes);
        if (comps.length !== depth) continue;
        const name = comps[comps.length - 1];
        const text = new TextDecoder().decode(name);
        rows.set(pctBytes(name), {
          name: text, bytes: name, type: e.type, size: e.type === 'dir' ? null : e.size,
          entries: null, files: null,
        });
      }
      read += (j.entries || []).length;
      token = j.next_page_token || '';
      if (!token) break;
      if (read >= WALK_MAX) { partial = true; break; }
    }
    let sizes = false;
    if (has('/scans/{id}/tree')) {
      const res = await api(`/scans/${id}/tree?depth=1${q}`);
      if (res.status === 200) {
        const t = await res.json();
        sizes = true;
        for (const d of t.dirs || []) {
          let nb = pathOf(d, 'name').bytes;
          if (!nb.length) {
            const comps = splitBytes(pathOf(d, 'path').bytes);
            nb = comps.length ? comps[comps.length - 1] : nb;
          }
          const key = pctBytes(nb);
          const r = rows.get(key) || { name: new TextDecoder().decode(nb), bytes: nb, type: 'dir' };
          r.size = d.bytes;
          r.entries = d.entries;
          r.files = d.files;
          rows.set(key, r);
        }
      } else if (res.status === 404 && S.scans.has(id)) {
        S.missing.add('/scans/{id}/tree');
      }
    }
    return { rows: [...rows.values()], partial, sizes };
  }

  function splitBytes(bytes) {
    const out = [];
    let start = 0;
    for (let i = 0; i <= bytes.length; i++) {
      if (i === bytes.length || bytes[i] === 47) {
        if (i > start) out.push(bytes.subarray(start, i));
        start = i + 1;
      }
    }
    return out;
  }

  async function openDir(parts) {
    const id = S.scanId;
    S.tree.prefix = parts;
    renderCrumbs();
    const body = $('tree-body');
    body.replaceChildren(el('tr', null, el('td', { colspan: 4, class: 'muted', text: 'Reading…' })));
    try {
      const { rows, partial, sizes } = await listDir(id, parts);
      if (S.scanId !== id || S.tree.prefix !== parts) return;
      S.tree.rows = rows;
      const notes = [];
      if (!sizes) notes.push('Directory sizes need a server with /scans/{id}/tree; file sizes are shown.');
      if (partial) notes.push(`Only the first ${fmtInt(WALK_MAX)} entries below this directory were read.`);
      $('tree-note').hidden = notes.length === 0;
      $('tree-note').textContent = notes.join(' ');
      renderTree();
      if (!has('/scans/{id}/top')) renderTopFallback();
    } catch (e) {
      body.replaceChildren(el('tr', null, el('td', { colspan: 4, class: 'muted', text: e.message })));
    }
  }

  function renderCrumbs() {
    const parts = S.tree.prefix;
    const nav = $('tree-crumbs');
    const items = [el('button', { type: 'button', text: '/', disabled: parts.length === 0, on: { click: () => openDir([]) } })];
    parts.forEach((p, i) => {
      items.push(el('span', { text: i ? '/' : '' }));
      items.push(el('button', {
        type: 'button', text: p.text, disabled: i === parts.length - 1,
        on: { click: () => openDir(parts.slice(0, i + 1)) },
      }));
    });
    nav.replaceChildren(...items);
  }

  function renderTree() {
    const { rows, sort, dir } = S.tree;
    const sign = dir === 'desc' ? -1 : 1;
    const key = (r) => (sort === 'name' ? r.name : sort === 'entries' ? (r.entries ?? (r.type === 'dir' ? Infinity : 0)) : (r.size ?? (r.type === 'dir' ? Infinity : -1)));
    rows.sort((a, b) => {
      const ka = key(a), kb = key(b);
      const c = typeof ka === 'string' ? ka.localeCompare(kb) : ka - kb;
      return c * sign || a.name.localeCompare(b.name);
    });
    for (const b of document.querySelectorAll('#tree-table button.sort')) {
      if (b.dataset.sort === sort) b.dataset.dir = dir;
      else delete b.dataset.dir;
    }
    const max = Math.max(1, ...rows.map((r) => r.size || 0));
    const body = $('tree-body');
    if (!rows.length) {
      body.replaceChildren(el('tr', null, el('td', { colspan: 4, class: 'muted', text: 'Empty directory.' })));
      return;
    }
    body.replaceChildren(...rows.map((r) => {
      const isDir = r.type === 'dir';
      const tr = el('tr', { class: isDir ? 'dir' : 'file', 'data-name': r.name, 'data-type': r.type, tabindex: isDir ? 0 : null },
        el('td', { class: 'name mono', text: r.type === 'symlink' ? `${r.name} →` : r.name }),
        el('td', { class: 'num', text: isDir ? (r.entries === null || r.entries === undefined ? '—' : fmtInt(r.entries)) : '' }),
        el('td', { class: 'num', 'data-value': r.size, text: r.size === null || r.size === undefined ? '—' : fmtBytes(r.size), title: r.size != null ? `${fmtInt(r.size)} bytes` : null }),
        el('td', { class: 'bar' }, r.size === null || r.size === undefined ? null : bar(r.size / max)));
      if (isDir) {
        const go = () => openDir([...S.tree.prefix, { text: r.name, bytes: r.bytes }]);
        tr.addEventListener('click', go);
        tr.addEventListener('keydown', (ev) => { if (ev.key === 'Enter') go(); });
      }
      return tr;
    }));
  }

  function bar(frac) {
    return svg('svg', { class: 'bar', viewBox: '0 0 100 10', preserveAspectRatio: 'none', 'aria-hidden': 'true' },
      svg('rect', { class: 'bg', x: 0, y: 0, width: 100, height: 10, rx: 2 }),
      svg('rect', { class: 'fg', x: 0, y: 0, width: Math.max(frac * 100, frac > 0 ? 0.5 : 0), height: 10, rx: 2 }));
  }

  async function renderTop(s) {
    if (!has('/scans/{id}/top')) return renderTopFallback();
    const res = await api(`/scans/${s.id}/top?by=size&limit=15`);
    if (res.status !== 200) {
      if (res.status === 404 && S.scans.has(s.id)) S.missing.add('/scans/{id}/top');
      return renderTopFallback();
    }
    const j = await res.json();
    $('top-title').textContent = 'Largest files';
    $('top-note').hidden = true;
    fillTop((j.entries || []).map((e) => ({ path: pathOf(e, 'path').text, size: e.size })));
  }

  /** Without /top: the largest files of the directory the tree shows. */
  function renderTopFallback() {
    $('top-title').textContent = 'Largest files here';
    $('top-note').hidden = false;
    $('top-note').textContent = 'Of the directory shown in the tree (this server has no /scans/{id}/top for the whole scan).';
    const pre = S.tree.prefix.map((p) => p.text).join('/');
    fillTop(S.tree.rows.filter((r) => r.type === 'file').sort((a, b) => (b.size || 0) - (a.size || 0)).slice(0, 10)
      .map((r) => ({ path: pre ? `${pre}/${r.name}` : r.name, size: r.size })));
  }

  function fillTop(items) {
    const list = $('top-list');
    if (!items.length) {
      list.replaceChildren(el('li', { class: 'muted', text: 'No files.' }));
      return;
    }
    list.replaceChildren(...items.map((f) => el('li', null,
      el('span', { class: 'path mono', text: f.path }),
      el('span', { class: 'size', 'data-value': f.size, text: fmtBytes(f.size), title: `${fmtInt(f.size)} bytes` }))));
  }

  /** Diff and skip reasons: shown only where the server has them and answers 200. */
  async function renderExtra(s, route, panel, bodyId) {
    $(panel).hidden = true;
    if (!has(route)) return;
    const res = await api(route.replace('{id}', s.id));
    if (res.status !== 200) return;
    const j = await res.json();
    $(bodyId).replaceChildren(describe(j));
    $(panel).hidden = false;
  }

  /** A JSON document as nested lists: numbers and strings as they are, arrays to 20 items. */
  function describe(v, depth = 0) {
    if (v === null || typeof v !== 'object') return document.createTextNode(typeof v === 'number' ? fmtInt(v) : String(v));
    if (Array.isArray(v)) {
      const ul = el('ul', { class: 'describe' });
      for (const x of v.slice(0, 20)) {
        const p = x && typeof x === 'object' && !Array.isArray(x) && (x.path !== undefined || x.path_b64 !== undefined) ? pathOf(x, 'path').text : null;
        ul.append(el('li', { class: p !== null ? 'mono' : null }, p !== null ? `${p}${x.reason ? ` — ${x.reason}` : x.change ? ` — ${x.change}` : ''}` : describe(x, depth + 1)));
      }
      if (v.length > 20) ul.append(el('li', { class: 'muted', text: `and ${v.length - 20} more` }));
      return ul;
    }
    const dl = el('dl', { class: 'kv' });
    for (const [k, x] of Object.entries(v)) {
      if (k === 'next_page_token') continue;
      dl.append(el('dt', { text: k.replace(/_/g, ' ') }), el('dd', null, depth > 3 ? JSON.stringify(x) : describe(x, depth + 1)));
    }
    return dl;
  }

  /** Loads what a scan view shows; the parts that exist only once it finished, once. */
  async function refreshScanView() {
    const id = S.scanId;
    const s = await loadScan(id);
    if (!s || S.view !== 'scan' || S.scanId !== id) return;
    renderScan(s);
    const finished = FINISHED.has(s.state);
    if (finished && S.finishedLoaded.has(id)) return; // nothing more will change
    const tasks = [renderProgress(s), renderCounters(s), renderErrors(s)];
    if (finished) {
      S.finishedLoaded.add(id);
      $('tree-panel').hidden = false;
      tasks.push(openDir(S.tree.id === id ? S.tree.prefix : []).then(() => renderTop(s)));
      S.tree.id = id;
      // A diff has a default only against a baseline: without one the server answers 400.
      if (s.options && Number.isInteger(s.options.baseline)) {
        tasks.push(renderExtra(s, '/scans/{id}/diff', 'diff-panel', 'diff-body'));
      } else {
        $('diff-panel').hidden = true;
      }
      tasks.push(renderExtra(s, '/scans/{id}/skipped', 'skipped-panel', 'skipped-body'));
    } else {
      $('tree-body').replaceChildren(el('tr', null, el('td', { colspan: 4, class: 'muted', text: 'The tree can be browsed once the scan has finished.' })));
      $('tree-crumbs').replaceChildren();
      $('tree-note').hidden = true;
      $('top-list').replaceChildren(el('li', { class: 'muted', text: 'Once the scan has finished.' }));
    }
    await Promise.all(tasks);
  }

  // ------------------------------------------------------------------ the service

  async function refreshService() {
    const headers = S.statsEtag ? { 'If-None-Match': S.statsEtag } : {};
    const res = await api('/stats', { headers });
    if (res.status === 200) {
      S.statsEtag = res.headers.get('ETag');
      S.stats = await res.json();
    } else if (res.status !== 304) {
      throw new ApiError(res.status, await problemOf(res));
    }
    renderService();
  }

  function renderService() {
    const st = S.stats;
    if (!st) return;
    const up = st.started_at ? (Date.now() - Date.parse(st.started_at)) / 1000 : null;
    const store = st.store || {};
    const totals = st.totals || {};
    $('service-cards').replaceChildren(
      kvRow('Uptime', fmtSeconds(up), up === null ? '' : Math.floor(up), `since ${fmtTime(st.started_at)}`),
      kvRow('Running', fmtInt(st.running), st.running),
      kvRow('Queued', fmtInt(st.queued), st.queued),
      kvRow('Store file', fmtBytes(store.file_bytes), store.file_bytes),
      kvRow('Entries kept', fmtInt(totals.entries), totals.entries),
      kvRow('Bytes indexed', fmtBytes(totals.bytes), totals.bytes));
    const fill = store.fill_ratio || 0;
    $('gauge').replaceChildren(gauge(fill));
    $('store-kv').replaceChildren(
      el('dt', { text: 'Used' }), el('dd', { text: fmtBytes(store.used_bytes), 'data-value': store.used_bytes }),
      el('dt', { text: 'Map size' }), el('dd', { text: fmtBytes(store.map_bytes), 'data-value': store.map_bytes }),
      el('dt', { text: 'Writable' }), el('dd', { text: store.writable ? 'yes' : 'no — see /readyz' }),
      el('dt', { text: 'Write errors' }), el('dd', { text: fmtInt(store.write_errors) }));
    const scans = st.scans || {};
    $('states-chart').replaceChildren(hbars(STATES.map((k) => ({ label: k, value: scans[k] || 0, cls: `st-${k}` }))));
    const req = st.requests || {};
    $('requests-chart').replaceChildren(hbars(['2xx', '3xx', '4xx', '5xx', '1xx'].map((k) => ({ label: k, value: req[k] || 0, cls: `c-${k}` }))));
    const recent = st.recent_completed || [];
    $('recent-body').replaceChildren(...(recent.length ? recent.map((r) => el('tr', null,
      el('td', null, el('a', { href: `#/scans/${r.id}`, text: `#${r.id}` })),
      el('td', { class: 'num', text: fmtInt(r.entries) }),
      el('td', { class: 'num', text: fmtSeconds(r.wall_seconds) }),
      el('td', { class: 'num', text: fmtRate(r.entries_per_second) }),
      el('td', { class: 'num', text: fmtRate(r.dirs_per_second) })))
      : [el('tr', null, el('td', { colspan: 5, class: 'muted', text: 'No completed scans yet.' }))]));
  }

  /** A half-circle gauge of a ratio in [0, 1]. */
  function gauge(ratio) {
    const r = Math.min(Math.max(ratio, 0), 1);
    const cx = 100, cy = 96, rad = 76;
    const pt = (f) => {
      const a = Math.PI * (1 - f);
      return `${(cx + rad * Math.cos(a)).toFixed(2)},${(cy - rad * Math.sin(a)).toFixed(2)}`;
    };
    const arc = (f) => `M${pt(0)}A${rad},${rad} 0 0 1 ${pt(f)}`;
    const pct = r * 100;
    return svg('svg', { viewBox: '0 0 200 120', role: 'img', 'aria-label': `Store map ${pct.toFixed(1)}% full`, 'data-value': ratio },
      svg('path', { class: 'gauge-bg', d: arc(1) }),
      r > 0 ? svg('path', { class: `gauge-fg${r > 0.9 ? ' high' : r > 0.7 ? ' warn' : ''}`, d: arc(Math.max(r, 0.005)) }) : null,
      svg('text', { class: 'gauge-value', x: cx, y: cy - 6, 'text-anchor': 'middle', text: `${pct < 10 ? pct.toFixed(1) : pct.toFixed(0)}%` }),
      svg('text', { x: cx, y: cy + 16, 'text-anchor': 'middle', text: 'of the map in use' }));
  }

  /** Horizontal bars with their labels and values. */
  function hbars(items) {
    const W = 300, row = 26, L = 84, R = 56;
    const max = Math.max(1, ...items.map((i) => i.value));
    const H = items.length * row + 4;
    const out = svg('svg', { viewBox: `0 0 ${W} ${H}`, role: 'img' });
    items.forEach((it, i) => {
      const y = i * row + 4;
      const w = ((W - L - R) * it.value) / max;
      out.append(
        svg('text', { x: 0, y: y + 13, text: it.label }),
        svg('rect', { class: 'hbar-bg', x: L, y: y + 3, width: W - L - R, height: 12, rx: 3 }),
        svg('rect', { class: it.cls, x: L, y: y + 3, width: Math.max(w, it.value ? 2 : 0), height: 12, rx: 3 }),
        svg('text', { class: 'value', x: W - R + 8, y: y + 13, text: fmtInt(it.value), 'data-label': it.label, 'data-value': it.value }));
    });
    return out;
  }

  // ------------------------------------------------------------------ live updates

  function setLive(mode, title) {
    const l = $('live');
    l.dataset.mode = mode;
    l.textContent = { stream: 'live', poll: 'polling', error: 'offline', off: 'connecting' }[mode];
    l.title = title || '';
  }

  /** Reads GET /events until it ends; returns false when the server has no such stream. */
  async function streamEvents() {
    const res = await api('/events', { headers: { Accept: 'text/event-stream' } });
    if (res.status === 404) {
      S.missing.add('/events');
      return false;
    }
    if (res.status !== 200 || !res.body) throw new ApiError(res.status, await problemOf(res));
    S.streaming = true;
    setLive('stream', 'Updates arrive as they happen (GET /events)');
    refreshAll();
    const reader = res.body.pipeThrough(new TextDecoderStream()).getReader();
    let buf = '';
    try {
      for (;;) {
        const { value, done } = await reader.read();
        if (done) break;
        buf += value;
        let cut;
        while ((cut = buf.search(/\r?\n\r?\n/)) >= 0) {
          const block = buf.slice(0, cut);
          buf = buf.slice(cut).replace(/^\r?\n\r?\n/, '');
          onEventBlock(block);
        }
      }
    } finally {
      S.streaming = false;
    }
    return true;
  }

  function onEventBlock(block) {
    let type = 'message';
    const data = [];
    for (const line of block.split(/\r?\n/)) {
      if (line.startsWith(':')) continue;
      const i = line.indexOf(':');
      const field = i < 0 ? line : line.slice(0, i);
      const value = i < 0 ? '' : line.slice(i + 1).replace(/^ /, '');
      if (field === 'event') type = value;
      else if (field === 'data') data.push(value);
    }
    if (!data.length) return;
    let d;
    try {
      d = JSON.parse(data.join('\n'));
    } catch (_) {
      return;
    }
    const id = d.scan_id ?? d.id;
    const s = S.scans.get(id);
    if (type === 'deleted') {
      S.scans.delete(id);
    } else if (s) {
      if (d.state) s.state = d.state;
      const p = d.progress && typeof d.progress === 'object' ? d.progress : d;
      for (const k of ['dirs', 'files', 'symlinks', 'other', 'bytes', 'errors']) {
        if (typeof p[k] === 'number') s.progress[k] = p[k];
      }
      sampleScan(s);
    }
    // The event says what changed; the resources say it whole (the list answers 304 if not).
    schedule(type === 'progress' ? 1000 : 100);
  }

  let scheduled = 0;
  function schedule(ms) {
    if (scheduled) return;
    scheduled = setTimeout(() => { scheduled = 0; refreshAll(); }, ms);
  }

  /** Something happened here (a start, a cancel): look again soon. */
  function kick() {
    if (S.streaming) return;
    clearTimeout(S.pollTimer);
    S.pollTimer = setTimeout(pollLoop, 300);
  }

  async function liveLoop() {
    let backoff = 1000;
    for (;;) {
      if (has('/events')) {
        try {
          if (!(await streamEvents())) continue;
          backoff = 1000;
        } catch (e) {
          setLive('error', `The event stream failed: ${e.message}`);
        }
        // Ended or failed: poll until it is back.
        pollLoop();
        await new Promise((r) => setTimeout(r, backoff));
        backoff = Math.min(backoff * 2, 15000);
        continue;
      }
      pollLoop();
      return;
    }
  }

  /** Polling with ETags: fast while something runs or is watched, slow otherwise. */
  let polling = false, pollAgain = false;
  async function pollLoop() {
    clearTimeout(S.pollTimer);
    S.pollTimer = 0;
    if (S.streaming) return;
    if (polling) {
      pollAgain = true;
      return;
    }
    polling = true;
    let busy = false;
    try {
      await refreshAll();
      busy = [...S.scans.values()].some((s) => !FINISHED.has(s.state));
      setLive('poll', 'Polling GET /scans (this server has no event stream)');
    } catch (e) {
      setLive('error', e.message);
    } finally {
      polling = false;
    }
    if (!S.streaming) S.pollTimer = setTimeout(pollLoop, pollAgain ? 0 : busy ? 700 : 3000);
    pollAgain = false;
  }

  let refreshing = null;
  /** Reloads what the current view shows; one reload at a time, a second call waits for it. */
  function refreshAll() {
    if (refreshing) {
      refreshing.again = true;
      return refreshing.done;
    }
    const r = { again: false };
    r.done = (async () => {
      try {
        do {
          r.again = false;
          await refreshOnce();
        } while (r.again);
      } finally {
        refreshing = null;
      }
    })();
    refreshing = r;
    return r.done;
  }

  async function refreshOnce() {
    try {
      if (S.view === 'scans') {
        if (await loadScans()) renderScans();
        else renderScans(); // durations of running scans move on
      } else if (S.view === 'scan') {
        await refreshScanView();
      } else if (S.view === 'service') {
        await refreshService();
      }
    } catch (e) {
      if (e instanceof ApiError) toast(e.message, 'error');
      else throw e;
    }
  }

  // ------------------------------------------------------------------ views

  function render() {
    if (S.view === 'scans') renderScans();
    else if (S.view === 'scan') renderScan(S.scans.get(S.scanId));
    else if (S.view === 'service') renderService();
  }

  function route() {
    const h = location.hash || '#/';
    const m = h.match(/^#\/scans\/(\d+)$/);
    const view = m ? 'scan' : h === '#/service' ? 'service' : 'scans';
    S.view = view;
    for (const v of ['scans', 'scan', 'service']) $(`view-${v}`).hidden = v !== view;
    for (const a of document.querySelectorAll('.tabs a')) a.classList.toggle('active', a.dataset.nav === (view === 'scan' ? 'scans' : view));
    if (view === 'scan') {
      const id = Number(m[1]);
      if (S.scanId !== id) {
        S.scanId = id;
        S.tree = { id: 0, prefix: [], rows: [], sort: 'size', dir: 'desc' };
        $('scan-summary').replaceChildren();
        $('scan-counters').replaceChildren();
        $('chart').replaceChildren();
        $('errors-list').replaceChildren();
        $('diff-panel').hidden = true;
        $('skipped-panel').hidden = true;
        $('scan-error').hidden = true;
      }
      S.finishedLoaded.delete(id);
      document.title = `Scan #${id} · leindexd`;
    } else {
      document.title = view === 'service' ? 'Service · leindexd' : 'Scans · leindexd';
    }
    if (view === 'scans' && !S.roots) loadRoots();
    refreshAll();
  }

  function setup() {
    setupToken();
    $('start-form').addEventListener('submit', startScan);
    $('scan-cancel').addEventListener('click', () => cancelScan(S.scanId));
    $('scan-delete').addEventListener('click', () => deleteScan(S.scanId));
    for (const b of document.querySelectorAll('#tree-table button.sort')) {
      b.addEventListener('click', () => {
        const k = b.dataset.sort;
        if (S.tree.sort === k) S.tree.dir = S.tree.dir === 'desc' ? 'asc' : 'desc';
        else {
          S.tree.sort = k;
          S.tree.dir = k === 'name' ? 'asc' : 'desc';
        }
        renderTree();
      });
    }
    window.addEventListener('hashchange', route);
    // Durations and uptime move on between updates.
    setInterval(() => {
      if (S.view === 'service') renderService();
    }, 1000);
  }

  async function main() {
    setup();
    await loadRoutes();
    // The first API call alone: without a token it asks for one once, and the rest waits.
    await loadRoots();
    route();
    liveLoop();
  }

  main();
})();
