// TEST ONLY. A stand-in for a person at a web browser, used as $BROWSER:
//
//   BROWSER="node /abs/path/tests/oauth-server/browser.mjs"   (or .../browser, the sh wrapper)
//   $BROWSER '<authorize URL>'
//
// It opens the authorize URL, follows redirects by hand with a cookie jar, fills the login
// form with $BROWSER_LOGIN (default "alice"), clicks Allow (or Deny when
// BROWSER_DECISION=deny) on the consent page, and as soon as a redirect leaves the
// authorisation server's origin (the wallet's loopback listener), GETs that callback URL,
// which hands `code` and `state` to the wallet. Then it exits 0.
//
// It prints only one short status line to stderr: never a URL, code or state (tests search
// all output for secrets). On failure it exits 1 with a message.
//
// BROWSER_SKIP_ONCE_FILE=/path: if that file exists, delete it and do nothing (a browser
// that did not open), so a test can use "open again".
//
// BROWSER_TAMPER, for hostile tests:
//   none        (default) deliver the callback as received
//   state       replace `state` with a different value
//   drop-code   remove `code`
//   wrong-path  GET /wrong on the callback's host and port instead, then stop
//   stray       first GET /favicon.ico and / on the callback's host, then the real callback
//   elsewhere   a browser on another machine: deliver nothing, write the address it ended
//               on to $BROWSER_ELSEWHERE_FILE for the test to paste where the wallet asks

const MAX_STEPS = 30;
const TIMEOUT_MS = 15_000;

const target = process.argv[2];
const login = process.env.BROWSER_LOGIN || 'alice';
const decision = process.env.BROWSER_DECISION === 'deny' ? 'deny' : 'allow';
const tamper = process.env.BROWSER_TAMPER || 'none';

function fail(message) {
  process.stderr.write(`browser: FAILED: ${message}\n`);
  process.exit(1);
}

if (!target) fail('usage: browser.mjs URL');
{
  const { existsSync, unlinkSync } = await import('node:fs');
  const skip = process.env.BROWSER_SKIP_ONCE_FILE;
  if (skip && existsSync(skip)) {
    unlinkSync(skip);
    process.stderr.write('browser: did nothing this once (BROWSER_SKIP_ONCE_FILE)\n');
    process.exit(0);
  }
}
if (!['none', 'state', 'drop-code', 'wrong-path', 'stray', 'elsewhere'].includes(tamper)) {
  fail(`unknown BROWSER_TAMPER=${tamper}`);
}

// ---------------------------------------------------------------------------------------
// A small cookie jar: per host, by name, with path matching and expiry.

const jar = new Map(); // host -> Map(name -> { value, path, expires })

function storeCookies(url, response) {
  const host = url.host;
  if (!jar.has(host)) jar.set(host, new Map());
  const cookies = jar.get(host);
  for (const header of response.headers.getSetCookie()) {
    const [pair, ...attributes] = header.split(';');
    const eq = pair.indexOf('=');
    if (eq < 1) continue;
    const name = pair.slice(0, eq).trim();
    const value = pair.slice(eq + 1).trim();
    let path = '/';
    let expires = Infinity;
    for (const attribute of attributes) {
      const [key, ...rest] = attribute.split('=');
      const attrValue = rest.join('=').trim();
      switch (key.trim().toLowerCase()) {
        case 'path': path = attrValue || '/'; break;
        case 'max-age': expires = Date.now() + Number(attrValue) * 1000; break;
        case 'expires': if (expires === Infinity) expires = Date.parse(attrValue); break;
        default: break;
      }
    }
    const key = `${name};${path}`;
    if (expires <= Date.now()) cookies.delete(key);
    else cookies.set(key, { name, value, path, expires });
  }
}

function cookieHeader(url) {
  const cookies = jar.get(url.host);
  if (!cookies) return undefined;
  const now = Date.now();
  const matching = [...cookies.values()].filter((c) => c.expires > now && (
    url.pathname === c.path
    || url.pathname.startsWith(c.path.endsWith('/') ? c.path : `${c.path}/`)
  ));
  // Longer paths first, as browsers do.
  matching.sort((a, b) => b.path.length - a.path.length);
  return matching.length ? matching.map((c) => `${c.name}=${c.value}`).join('; ') : undefined;
}

async function request(url, { method = 'GET', form } = {}) {
  const headers = { Accept: 'text/html,application/xhtml+xml', 'User-Agent': 'token-wallet-test-browser' };
  const cookie = cookieHeader(url);
  if (cookie) headers.Cookie = cookie;
  let body;
  if (form) {
    headers['Content-Type'] = 'application/x-www-form-urlencoded';
    body = new URLSearchParams(form).toString();
  }
  const response = await fetch(url, {
    method, headers, body, redirect: 'manual', signal: AbortSignal.timeout(TIMEOUT_MS),
  });
  storeCookies(url, response);
  return response;
}

// ---------------------------------------------------------------------------------------
// HTML forms, read with regular expressions (the server's pages are plain and known).

function decodeEntities(text) {
  return text.replace(/&(#x[0-9a-f]+|#\d+|amp|lt|gt|quot|#39|apos);/gi, (_, e) => {
    const lower = e.toLowerCase();
    if (lower.startsWith('#x')) return String.fromCodePoint(parseInt(lower.slice(2), 16));
    if (lower.startsWith('#')) return String.fromCodePoint(parseInt(lower.slice(1), 10));
    return { amp: '&', lt: '<', gt: '>', quot: '"', apos: "'" }[lower];
  });
}

function attribute(tag, name) {
  const match = new RegExp(`\\s${name}\\s*=\\s*(?:"([^"]*)"|'([^']*)'|([^\\s>]+))`, 'i').exec(tag);
  return match ? decodeEntities(match[1] ?? match[2] ?? match[3]) : undefined;
}

// The first form of a page: action, method, inputs (name -> value) and submit buttons.
function parseForm(html) {
  const formMatch = /<form\b[^>]*>([\s\S]*?)<\/form>/i.exec(html);
  if (!formMatch) return undefined;
  const formTag = /<form\b[^>]*>/i.exec(formMatch[0])[0];
  const inputs = new Map();
  const buttons = [];
  for (const [tag] of formMatch[1].matchAll(/<(?:input|button)\b[^>]*>/gi)) {
    const name = attribute(tag, 'name');
    const value = attribute(tag, 'value') ?? '';
    const type = (attribute(tag, 'type') ?? (tag.toLowerCase().startsWith('<button') ? 'submit' : 'text')).toLowerCase();
    if (!name) continue;
    if (type === 'submit') buttons.push({ name, value });
    else inputs.set(name, value);
  }
  return {
    action: attribute(formTag, 'action') ?? '',
    method: (attribute(formTag, 'method') ?? 'get').toUpperCase(),
    inputs,
    buttons,
  };
}

// Visible text of a page, shortened, for error messages.
function pageText(html) {
  return decodeEntities(html.replace(/<(script|style)\b[\s\S]*?<\/\1>/gi, ' ').replace(/<[^>]+>/g, ' '))
    .replace(/\s+/g, ' ').trim().slice(0, 300);
}

// ---------------------------------------------------------------------------------------
// Delivering the callback to the wallet's loopback listener.

async function deliver(callback) {
  const url = new URL(callback);
  // TEST ONLY: BROWSER_RECORD=FILE appends the code and state it carried, so the wallet's
  // tests can search the wallet's output for them.
  if (process.env.BROWSER_RECORD) {
    const { appendFileSync } = await import('node:fs');
    for (const k of ['code', 'state']) {
      const v = url.searchParams.get(k);
      if (v) appendFileSync(process.env.BROWSER_RECORD, `${v}\n`);
    }
  }
  if (tamper === 'elsewhere') {
    const { writeFileSync } = await import('node:fs');
    writeFileSync(process.env.BROWSER_ELSEWHERE_FILE, `${url.href}\n`, { mode: 0o600 });
    process.stderr.write('browser: left the callback for pasting\n');
    return;
  }
  if (tamper === 'wrong-path') {
    const wrong = new URL('/wrong', url);
    const response = await request(wrong);
    await response.arrayBuffer().catch(() => {});
    process.stderr.write(`browser: delivered to a wrong path (HTTP ${response.status})\n`);
    return;
  }
  if (tamper === 'stray') {
    for (const path of ['/favicon.ico', '/']) {
      const response = await request(new URL(path, url)).catch(() => undefined);
      await response?.arrayBuffer().catch(() => {});
    }
  }
  if (tamper === 'state') url.searchParams.set('state', `tampered-${Date.now()}`);
  if (tamper === 'drop-code') url.searchParams.delete('code');
  const response = await request(url);
  await response.arrayBuffer().catch(() => {});
  const note = tamper === 'none' ? '' : ` [tamper: ${tamper}]`;
  process.stderr.write(`browser: delivered callback (HTTP ${response.status})${note}\n`);
}

// ---------------------------------------------------------------------------------------
// The walk: GET the authorize URL, then follow redirects and forms.

async function main() {
  let url = new URL(target);
  // Token Wallet hands the browser a private page (file://) whose meta refresh sends it to
  // a one-time local start address: read the page as a browser would.
  if (url.protocol === 'file:') {
    const { readFileSync } = await import('node:fs');
    const { fileURLToPath } = await import('node:url');
    const html = readFileSync(fileURLToPath(url), 'utf8');
    const refresh = /<meta\s+http-equiv=refresh\s+content="0;url=([^"]+)"/i.exec(html);
    if (!refresh) fail('the sign-in page has no refresh');
    url = new URL(decodeEntities(refresh[1]));
  }
  // The start address redirects to the authorisation server: follow that first hop, then
  // walk the server.
  if (url.pathname.startsWith('/start/')) {
    const response = await request(url, { method: 'GET' });
    const location = response.headers.get('location');
    await response.arrayBuffer().catch(() => {});
    if (response.status !== 302 || !location) fail(`start address answered HTTP ${response.status}`);
    url = new URL(location, url);
  }
  const serverOrigin = url.origin;
  let method = 'GET';
  let form;

  for (let step = 0; step < MAX_STEPS; step += 1) {
    if (url.origin !== serverOrigin) {
      // Left the authorisation server: this is the redirect to the client.
      await deliver(url.href);
      return;
    }

    const response = await request(url, { method, form });
    method = 'GET';
    form = undefined;

    if (response.status >= 300 && response.status < 400) {
      const location = response.headers.get('location');
      await response.arrayBuffer().catch(() => {});
      if (!location) fail(`HTTP ${response.status} without Location`);
      url = new URL(location, url);
      continue;
    }

    const html = await response.text();
    const page = parseForm(html);
    if (response.status !== 200 || !page) {
      fail(`unexpected page (HTTP ${response.status}): ${pageText(html)}`);
    }

    const fields = new Map(page.inputs);
    if (fields.has('login')) {
      fields.set('login', login);
      if (page.buttons[0]) fields.set(page.buttons[0].name, page.buttons[0].value);
    } else {
      const button = page.buttons.find((b) => b.name === 'decision' && b.value === decision);
      if (!button) fail(`page has no "${decision}" button: ${pageText(html)}`);
      fields.set(button.name, button.value);
    }

    const action = new URL(page.action || url.href, url);
    if (page.method === 'POST') {
      method = 'POST';
      form = Object.fromEntries(fields);
      url = action;
    } else {
      for (const [name, value] of fields) action.searchParams.set(name, value);
      url = action;
    }
  }
  fail(`gave up after ${MAX_STEPS} steps`);
}

main().then(
  () => process.exit(0),
  (err) => {
    if (err?.name === 'TimeoutError') fail('request timed out');
    // fetch's own message is just "fetch failed"; the cause says why (e.g. ECONNREFUSED).
    const cause = err?.cause ? `: ${err.cause.code ?? err.cause.message}` : '';
    fail(`${err?.message ?? err}${cause}`);
  },
);
