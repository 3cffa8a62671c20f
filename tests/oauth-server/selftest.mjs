// Self-test of the test authorisation server (server.mjs) and the $BROWSER helper
// (browser.mjs): real processes, real HTTP, the real oidc-provider. Run: npm test

import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import crypto from 'node:crypto';
import http from 'node:http';
import path from 'node:path';
import { after, before, test } from 'node:test';
import { fileURLToPath } from 'node:url';

const here = path.dirname(fileURLToPath(import.meta.url));

// The server the helpers below talk to.
let issuer;

// ---------------------------------------------------------------------------------------
// Helpers

function pkce() {
  const verifier = crypto.randomBytes(48).toString('base64url'); // 64 characters
  const challenge = crypto.createHash('sha256').update(verifier).digest('base64url');
  return { verifier, challenge };
}

// A tiny loopback listener, like the wallet's: records every request, answers 200.
async function startListener({ host = '127.0.0.1', port = 0 } = {}) {
  const requests = [];
  const waiters = [];
  const server = http.createServer((req, res) => {
    const url = new URL(req.url, `http://${req.headers.host}`);
    requests.push(url);
    res.writeHead(200, { 'Content-Type': 'text/plain' });
    res.end('You can close this window.');
    if (url.pathname === '/callback') waiters.splice(0).forEach((resolve) => resolve(url));
  });
  await new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, resolve);
  });
  return {
    port: server.address().port,
    requests,
    // The first request to /callback (already received or still to come).
    callback() {
      const seen = requests.find((u) => u.pathname === '/callback');
      return seen ? Promise.resolve(seen) : new Promise((resolve) => waiters.push(resolve));
    },
    close: () => new Promise((resolve) => { server.close(resolve); server.closeAllConnections(); }),
  };
}

// Runs browser.mjs like the wallet would run $BROWSER, returns its exit code and stderr.
function runBrowser(url, env = {}) {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [path.join(here, 'browser.mjs'), url], {
      env: { ...process.env, ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => { stdout += d; });
    child.stderr.on('data', (d) => { stderr += d; });
    child.on('close', (code) => resolve({ code, stdout, stderr }));
  });
}

function authorizeUrl({ clientId, redirectUri, scope, challenge, state, extra = {} }) {
  const url = new URL('/oauth/authorize', issuer);
  const params = {
    response_type: 'code',
    client_id: clientId,
    redirect_uri: redirectUri,
    scope,
    state,
    ...(challenge ? { code_challenge: challenge, code_challenge_method: 'S256' } : {}),
    ...extra,
  };
  for (const [k, v] of Object.entries(params)) if (v !== undefined) url.searchParams.set(k, v);
  return url.href;
}

async function tokenRequest(params, { basic, endpoint = '/oauth/token' } = {}) {
  const headers = { 'Content-Type': 'application/x-www-form-urlencoded', Accept: 'application/json' };
  if (basic) headers.Authorization = `Basic ${Buffer.from(`${basic[0]}:${basic[1]}`).toString('base64')}`;
  const response = await fetch(new URL(endpoint, issuer), {
    method: 'POST', headers, body: new URLSearchParams(params).toString(),
  });
  const text = await response.text();
  let json;
  try { json = JSON.parse(text); } catch { json = undefined; }
  return { status: response.status, json, text, headers: response.headers };
}

function introspect(token) {
  return tokenRequest({ token }, {
    basic: ['tw-introspector', 'tw-introspector-secret'],
    endpoint: '/oauth/token/introspect',
  }).then((r) => r.json);
}

function api(method, pathname, accessToken) {
  return fetch(new URL(pathname, issuer), {
    method,
    headers: accessToken ? { Authorization: `Bearer ${accessToken}` } : {},
  });
}

async function stats() {
  return (await fetch(new URL('/_test/stats', issuer))).json();
}

// The whole flow: listener, browser, callback, code exchange. Returns the token response.
async function connect({
  clientId = 'tw-public',
  scope = 'offline_access users:read export-jobs:read',
  basic,
  host = '127.0.0.1',
  port = 0,
  callbackPath = '/callback',
  browserEnv = {},
  extra,
} = {}) {
  const listener = await startListener({ host: '127.0.0.1', port });
  try {
    const redirectUri = `http://${host}:${listener.port}${callbackPath}`;
    const { verifier, challenge } = pkce();
    const state = crypto.randomBytes(16).toString('base64url');
    const browser = await runBrowser(
      authorizeUrl({ clientId, redirectUri, scope, challenge, state, extra }),
      browserEnv,
    );
    assert.equal(browser.code, 0, `browser failed: ${browser.stderr}`);
    assert.equal(browser.stdout, '');
    const callback = await listener.callback();
    assert.equal(callback.searchParams.get('state'), state);
    assert.equal(callback.searchParams.get('iss'), issuer); // RFC 9207
    const code = callback.searchParams.get('code');
    assert.ok(code, `no code in the callback (error=${callback.searchParams.get('error')})`);
    // The browser's output must not leak the code or state.
    assert.ok(!browser.stderr.includes(code) && !browser.stderr.includes(state));
    const params = {
      grant_type: 'authorization_code', code, redirect_uri: redirectUri, code_verifier: verifier,
    };
    if (!basic) params.client_id = clientId;
    const response = await tokenRequest(params, { basic });
    assert.equal(response.status, 200, response.text);
    return response.json;
  } finally {
    await listener.close();
  }
}

// ---------------------------------------------------------------------------------------
// Server lifecycle

// Starts server.mjs with extra env; resolves once its stdout line arrives.
async function startServer(env = {}) {
  const child = spawn(process.execPath, [path.join(here, 'server.mjs')], {
    env: { ...process.env, PORT: '0', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const out = { child, stdout: '', stderr: '' };
  child.stderr.on('data', (d) => { out.stderr += d; });
  const firstLine = await new Promise((resolve, reject) => {
    child.stdout.on('data', (d) => {
      out.stdout += d;
      if (out.stdout.includes('\n')) resolve(out.stdout.split('\n')[0]);
    });
    child.on('exit', (code) => reject(new Error(`server exited (${code}): ${out.stderr}`)));
  });
  const ready = JSON.parse(firstLine);
  assert.equal(ready.issuer, `http://127.0.0.1:${ready.port}`);
  out.issuer = ready.issuer;
  // Stops it with a signal and checks it exits 0 having printed exactly one stdout line.
  out.stop = async (signal = 'SIGTERM') => {
    const exited = new Promise((resolve) => child.on('exit', (code) => resolve(code)));
    child.kill(signal);
    assert.equal(await exited, 0, `server should exit 0 on ${signal}`);
    assert.equal(out.stdout.trim().split('\n').length, 1, `extra stdout: ${out.stdout}`);
  };
  return out;
}

let mainServer;
before(async () => {
  mainServer = await startServer({ ACCESS_TTL: '60' });
  issuer = mainServer.issuer;
});
after(async () => {
  await mainServer?.stop('SIGTERM');
});

// ---------------------------------------------------------------------------------------
// Tests

test('discovery documents (OpenID and RFC 8414) list the Pleo-style endpoints', async () => {
  for (const wellKnown of ['openid-configuration', 'oauth-authorization-server']) {
    const doc = await (await fetch(new URL(`/.well-known/${wellKnown}`, issuer))).json();
    assert.equal(doc.issuer, issuer);
    assert.equal(doc.authorization_endpoint, `${issuer}/oauth/authorize`);
    assert.equal(doc.token_endpoint, `${issuer}/oauth/token`);
    assert.equal(doc.introspection_endpoint, `${issuer}/oauth/token/introspect`);
    assert.equal(doc.revocation_endpoint, `${issuer}/oauth/token/revoke`);
    assert.deepEqual(doc.code_challenge_methods_supported, ['S256']);
    for (const scope of ['users:read', 'export-jobs:read', 'companies:read']) {
      assert.ok(doc.scopes_supported.includes(scope));
    }
  }
});

test('full PKCE flow, refresh rotation, and reuse of an old refresh token revokes the grant', async () => {
  const first = await connect();
  assert.ok(first.access_token);
  assert.ok(first.refresh_token);
  assert.equal(first.token_type, 'Bearer');
  assert.equal(first.expires_in, 60);
  assert.equal(first.scope, 'offline_access users:read export-jobs:read');
  assert.equal(first.id_token, undefined); // no openid asked for

  const refresh = () => tokenRequest({
    grant_type: 'refresh_token', refresh_token: first.refresh_token, client_id: 'tw-public',
  });
  const second = await refresh();
  assert.equal(second.status, 200, second.text);
  assert.ok(second.json.access_token);
  assert.notEqual(second.json.access_token, first.access_token);
  assert.ok(second.json.refresh_token);
  assert.notEqual(second.json.refresh_token, first.refresh_token, 'refresh must rotate');
  assert.equal(second.json.scope, first.scope);

  assert.equal((await introspect(second.json.refresh_token)).active, true);
  assert.equal((await introspect(second.json.access_token)).active, true);

  // Reusing the old one fails and revokes the whole grant, the new tokens included.
  const reused = await refresh();
  assert.equal(reused.status, 400);
  assert.equal(reused.json.error, 'invalid_grant');
  const afterReuse = await tokenRequest({
    grant_type: 'refresh_token', refresh_token: second.json.refresh_token, client_id: 'tw-public',
  });
  assert.equal(afterReuse.status, 400);
  assert.equal(afterReuse.json.error, 'invalid_grant');
  assert.equal((await introspect(second.json.access_token)).active, false);
  assert.equal((await introspect(second.json.refresh_token)).active, false);

  const s = await stats();
  assert.ok(s.grant_errors.includes('refresh token already used'), JSON.stringify(s));
  assert.ok(s.revoked_grants >= 1);
});

test('scopes without openid or offline_access are granted exactly; refresh token still issued', async () => {
  const t = await connect({ scope: 'users:read export-jobs:read' });
  assert.equal(t.scope, 'users:read export-jobs:read');
  assert.ok(t.refresh_token);
  const withOpenid = await connect({ scope: 'openid companies:read' });
  assert.equal(withOpenid.scope, 'openid companies:read');
  assert.ok(withOpenid.id_token);
});

test('GET /v1/introspect and DELETE /v1/installations/me', async () => {
  const t = await connect({ browserEnv: { BROWSER_LOGIN: 'bob' } });
  const who = await api('GET', '/v1/introspect', t.access_token);
  assert.equal(who.status, 200);
  const body = (await who.json()).data;
  assert.equal(body.authMethod, 'OAUTH');
  assert.equal(body.clientId, 'tw-public');
  assert.equal(body.scope, 'offline_access users:read export-jobs:read');
  assert.equal(body.applicationName, 'Token Wallet test app');
  assert.match(body.subjectURN, /^urn:pleo:company:[0-9a-f-]{36}$/);

  assert.equal((await api('GET', '/v1/introspect', 'not-a-token')).status, 401);
  assert.equal((await api('GET', '/v1/introspect')).status, 401);

  // tw-introspector may introspect another client's tokens.
  const before = await introspect(t.refresh_token);
  assert.equal(before.active, true);
  assert.equal(before.client_id, 'tw-public');
  assert.equal(before.sub, 'bob');

  const del = await api('DELETE', '/v1/installations/me', t.access_token);
  assert.equal(del.status, 204);
  assert.equal((await introspect(t.access_token)).active, false);
  assert.equal((await introspect(t.refresh_token)).active, false);
  assert.equal((await api('GET', '/v1/introspect', t.access_token)).status, 401);
  assert.equal((await api('DELETE', '/v1/installations/me', t.access_token)).status, 401);
  const refreshed = await tokenRequest({
    grant_type: 'refresh_token', refresh_token: t.refresh_token, client_id: 'tw-public',
  });
  assert.equal(refreshed.json.error, 'invalid_grant');
});

// Pleo's API with an API key: HTTP Basic, the key as user name, an empty password.
function keyApi(method, pathname, key, password = '') {
  const basic = Buffer.from(`${key}:${password}`).toString('base64');
  return fetch(new URL(pathname, issuer), { method, headers: { Authorization: `Basic ${basic}` } });
}

async function mintKey(body = {}) {
  const r = await fetch(new URL('/_test/api-keys', issuer), { method: 'POST', body: JSON.stringify(body) });
  assert.equal(r.status, 201);
  return r.json();
}

test('Pleo API keys: introspection, installation status, expired and revoked keys', async () => {
  const { key, id, company } = await mintKey({ scope: 'users:read', expires_in: 3600 });
  assert.match(key, /^pleo_test_/);
  const who = await keyApi('GET', '/v1/introspect', key);
  assert.equal(who.status, 200);
  assert.deepEqual((await who.json()).data, {
    authMethod: 'API_KEY', clientId: id, scope: 'users:read',
    applicationName: 'Token Wallet test key', subjectURN: company,
  });

  // An API-key integration has no installation until it creates one.
  assert.equal((await keyApi('GET', '/v1/installations/me', key)).status, 404);
  const made = await keyApi('POST', '/v1/installations/me', key);
  assert.equal(made.status, 201);
  const inst = (await made.json()).data;
  assert.equal(inst.status, 'ACTIVATED');
  assert.equal(inst.errorCode, null);
  assert.equal((await keyApi('POST', '/v1/installations/me', key)).status, 200);
  const set = await fetch(new URL(`/_test/installation?company=${company}&status=ERROR&error_code=AUTH_ERROR`, issuer), { method: 'POST' });
  assert.equal(set.status, 200);
  const now = (await (await keyApi('GET', '/v1/installations/me', key)).json()).data;
  assert.deepEqual([now.id, now.status, now.errorCode], [inst.id, 'ERROR', 'AUTH_ERROR']);
  await fetch(new URL(`/_test/installation?company=${company}&status=ACTIVATED`, issuer), { method: 'POST' });

  // A wrong password, a wrong key, an expired key, a revoked key: 401.
  assert.equal((await keyApi('GET', '/v1/introspect', key, 'x')).status, 401);
  assert.equal((await keyApi('GET', '/v1/introspect', `${key}x`)).status, 401);
  const expired = await mintKey({ expires_in: -1 });
  assert.equal((await keyApi('GET', '/v1/introspect', expired.key)).status, 401);
  const revoked = await fetch(new URL('/_test/api-keys/revoke', issuer), { method: 'POST', body: JSON.stringify({ key }) });
  assert.equal(revoked.status, 200);
  const refused = await keyApi('GET', '/v1/introspect', key);
  assert.equal(refused.status, 401);
  assert.equal(refused.headers.get('www-authenticate'), 'Basic realm="pleo"');
  const s = await stats();
  assert.ok(s.api_key_uses >= 5 && s.api_key_refusals >= 4, JSON.stringify(s));

  // An OAuth connection's installation is ACTIVATED from the start.
  const t = await connect();
  const oauthInst = await api('GET', '/v1/installations/me', t.access_token);
  assert.equal(oauthInst.status, 200);
  assert.equal((await oauthInst.json()).data.status, 'ACTIVATED');
});

test('RFC 7009 revocation of a refresh token ends the grant', async () => {
  const t = await connect();
  const r = await tokenRequest({ token: t.refresh_token, client_id: 'tw-public' }, { endpoint: '/oauth/token/revoke' });
  assert.equal(r.status, 200);
  assert.equal((await introspect(t.refresh_token)).active, false);
  assert.equal((await introspect(t.access_token)).active, false);
});

test('tw-confidential authenticates with client_secret_basic', async () => {
  const t = await connect({ clientId: 'tw-confidential', basic: ['tw-confidential', 'tw-confidential-secret'] });
  assert.ok(t.refresh_token);
  const ok = await tokenRequest(
    { grant_type: 'refresh_token', refresh_token: t.refresh_token },
    { basic: ['tw-confidential', 'tw-confidential-secret'] },
  );
  assert.equal(ok.status, 200, ok.text);
  const wrongSecret = await tokenRequest(
    { grant_type: 'refresh_token', refresh_token: ok.json.refresh_token },
    { basic: ['tw-confidential', 'wrong'] },
  );
  assert.equal(wrongSecret.status, 401);
  assert.equal(wrongSecret.json.error, 'invalid_client');
  const noAuth = await tokenRequest({
    grant_type: 'refresh_token', refresh_token: ok.json.refresh_token, client_id: 'tw-confidential',
  });
  assert.equal(noAuth.json.error, 'invalid_client');
});

test('redirect URI matching: loopback port ignored for native clients, path is not; tw-pinned exact', async (t) => {
  // tw-public on localhost with a random port is fine.
  const viaLocalhost = await connect({ host: 'localhost' });
  assert.ok(viaLocalhost.access_token);

  // A different path is refused: the server shows an error page, the browser fails.
  const { challenge } = pkce();
  const wrongPath = await runBrowser(authorizeUrl({
    clientId: 'tw-public', redirectUri: 'http://127.0.0.1:5555/other', scope: 'users:read', challenge, state: 's',
  }));
  assert.equal(wrongPath.code, 1);
  assert.match(wrongPath.stderr, /redirect_uri/);

  // tw-pinned: another port is refused...
  const wrongPort = await runBrowser(authorizeUrl({
    clientId: 'tw-pinned', redirectUri: 'http://localhost:8977/callback', scope: 'users:read', challenge, state: 's',
  }));
  assert.equal(wrongPort.code, 1);
  assert.match(wrongPort.stderr, /redirect_uri/);

  // ...and exactly http://localhost:8976/callback works.
  let probe;
  try {
    probe = await startListener({ port: 8976 });
  } catch (err) {
    t.skip(`port 8976 is busy on this machine (${err.code}): tw-pinned flow not tested`);
    return;
  }
  await probe.close();
  const pinned = await connect({ clientId: 'tw-pinned', host: 'localhost', port: 8976, scope: 'users:read' });
  assert.equal(pinned.scope, 'users:read');
  assert.ok(pinned.refresh_token);
});

test('PKCE is required and checked', async () => {
  const listener = await startListener();
  try {
    const redirectUri = `http://127.0.0.1:${listener.port}/callback`;
    // No code_challenge: the error comes back to the redirect URI.
    const b = await runBrowser(authorizeUrl({ clientId: 'tw-confidential', redirectUri, scope: 'users:read', state: 'st' }));
    assert.equal(b.code, 0, b.stderr);
    const cb = await listener.callback();
    assert.equal(cb.searchParams.get('error'), 'invalid_request');
    assert.equal(cb.searchParams.get('state'), 'st');
    assert.equal(cb.searchParams.get('code'), null);
  } finally {
    await listener.close();
  }

  // Wrong verifier at the token endpoint.
  const listener2 = await startListener();
  try {
    const redirectUri = `http://127.0.0.1:${listener2.port}/callback`;
    const { challenge } = pkce();
    const b = await runBrowser(authorizeUrl({ clientId: 'tw-public', redirectUri, scope: 'users:read', challenge, state: 'st' }));
    assert.equal(b.code, 0, b.stderr);
    const code = (await listener2.callback()).searchParams.get('code');
    const r = await tokenRequest({
      grant_type: 'authorization_code', code, redirect_uri: redirectUri, client_id: 'tw-public',
      code_verifier: pkce().verifier,
    });
    assert.equal(r.status, 400);
    assert.equal(r.json.error, 'invalid_grant');
  } finally {
    await listener2.close();
  }
});

test('browser: deny and the tamper modes', async () => {
  async function run(env) {
    const listener = await startListener();
    try {
      const redirectUri = `http://127.0.0.1:${listener.port}/callback`;
      const { challenge } = pkce();
      const b = await runBrowser(
        authorizeUrl({ clientId: 'tw-public', redirectUri, scope: 'users:read', challenge, state: 'the-state' }),
        env,
      );
      assert.equal(b.code, 0, b.stderr);
      assert.ok(!b.stderr.includes('the-state'));
      return { requests: listener.requests.map((u) => u), stderr: b.stderr };
    } finally {
      await listener.close();
    }
  }

  const denied = await run({ BROWSER_DECISION: 'deny' });
  const d = denied.requests.at(-1);
  assert.equal(d.searchParams.get('error'), 'access_denied');
  assert.equal(d.searchParams.get('error_description'), 'The user denied access');
  assert.equal(d.searchParams.get('state'), 'the-state');

  const state = await run({ BROWSER_TAMPER: 'state' });
  assert.equal(state.requests.length, 1);
  assert.notEqual(state.requests[0].searchParams.get('state'), 'the-state');
  assert.ok(state.requests[0].searchParams.get('code'));

  const dropCode = await run({ BROWSER_TAMPER: 'drop-code' });
  assert.equal(dropCode.requests[0].searchParams.get('code'), null);
  assert.equal(dropCode.requests[0].searchParams.get('state'), 'the-state');

  const wrongPath = await run({ BROWSER_TAMPER: 'wrong-path' });
  assert.deepEqual(wrongPath.requests.map((u) => u.pathname), ['/wrong']);

  const stray = await run({ BROWSER_TAMPER: 'stray' });
  assert.deepEqual(stray.requests.map((u) => u.pathname), ['/favicon.ico', '/', '/callback']);
  assert.ok(stray.requests[2].searchParams.get('code'));
  assert.match(stray.stderr, /^browser: delivered callback \(HTTP 200\)/m);
});

test('browser fails clearly when the server is unreachable', async () => {
  const closed = await startListener();
  await closed.close(); // a port nobody listens on now
  const b = await runBrowser(`http://127.0.0.1:${closed.port}/oauth/authorize`);
  assert.equal(b.code, 1);
  assert.match(b.stderr, /^browser: FAILED: fetch failed: ECONNREFUSED$/m);
});

test('hostile /_bad endpoints', async () => {
  const post = (mode, init = {}) => fetch(new URL(`/_bad/${mode}/token`, issuer), {
    method: 'POST', headers: { 'Content-Type': 'application/x-www-form-urlencoded' }, body: 'grant_type=x', ...init,
  });

  const e500 = await post('500');
  assert.equal(e500.status, 500);
  assert.equal((await e500.json()).error, 'server_error');

  const html = await post('html');
  assert.equal(html.status, 200);
  assert.match(html.headers.get('content-type'), /^text\/html/);
  assert.match(await html.text(), /<html>/);

  const invalid = await post('invalid-json');
  assert.equal(invalid.status, 200);
  assert.match(invalid.headers.get('content-type'), /^application\/json/);
  assert.throws(() => JSON.parse('{"access_token": "x",'));
  assert.equal(await invalid.text(), '{"access_token": "x",');

  const huge = await post('huge');
  const hugeText = await huge.text();
  assert.equal(Buffer.byteLength(hugeText), 2 * 1024 * 1024);
  assert.ok(JSON.parse(hugeText).access_token.length > 2_000_000);

  const noToken = await post('no-access-token');
  assert.deepEqual(await noToken.json(), { token_type: 'Bearer', expires_in: 60 });

  // slow: no answer within a second (it would take 30 s).
  await assert.rejects(post('slow', { signal: AbortSignal.timeout(1000) }), { name: 'TimeoutError' });

  for (const wellKnown of ['oauth-authorization-server', 'openid-configuration']) {
    const doc = await (await fetch(new URL(`/_bad/discovery/.well-known/${wellKnown}`, issuer))).json();
    assert.equal(doc.issuer, `${issuer}/_bad/discovery`);
    assert.equal(doc.authorization_endpoint, 'http://evil.example/authorize');
    assert.equal(doc.token_endpoint, 'http://evil.example/token');
  }
});

test('/_test/stats counts exchanges, refreshes and failures', async () => {
  const reset = await fetch(new URL('/_test/reset-stats', issuer), { method: 'POST' });
  assert.equal(reset.status, 200);
  assert.deepEqual((await stats()).grant_errors, []);

  const t = await connect();
  const r = await tokenRequest({ grant_type: 'refresh_token', refresh_token: t.refresh_token, client_id: 'tw-public' });
  assert.equal(r.status, 200);
  const bad = await tokenRequest({ grant_type: 'refresh_token', refresh_token: 'nonsense', client_id: 'tw-public' });
  assert.equal(bad.json.error, 'invalid_grant');

  const s = await stats();
  assert.equal(s.authorization_code_exchanges, 1);
  assert.equal(s.refreshes, 1);
  assert.equal(s.refresh_failures, 1);
  assert.deepEqual(s.grant_errors, ['refresh token not found']);
  assert.equal(s.revoked_grants, 0);
});

test('short TTLs: access token expiry, sliding refresh token lifetime, SIGINT', async () => {
  // Wide margins (2.5 s or more on every side): this runs on shared, loaded machines. The
  // refresh token lives 8 s; it is used at ~5 s, and its successor is checked at ~5.5 s
  // after that (10.5 s after the first was issued, 5.5 s after its own issue).
  const short = await startServer({ ACCESS_TTL: '1', REFRESH_TTL: '8' });
  const mainIssuer = issuer;
  issuer = short.issuer; // the helpers use `issuer`
  try {
    const t = await connect({ scope: 'users:read' });
    assert.equal(t.expires_in, 1);
    await new Promise((r) => setTimeout(r, 5000));
    assert.equal((await api('GET', '/v1/introspect', t.access_token)).status, 401);
    // The refresh token (8 s) still works and is replaced by one with a new 8 s lifetime.
    const r = await tokenRequest({ grant_type: 'refresh_token', refresh_token: t.refresh_token, client_id: 'tw-public' });
    assert.equal(r.status, 200, r.text);
    assert.equal((await api('GET', '/v1/introspect', r.json.access_token)).status, 200);
    await new Promise((r2) => setTimeout(r2, 5500));
    assert.equal((await introspect(r.json.refresh_token)).active, true, 'lifetime counts from the rotation');
    await new Promise((r2) => setTimeout(r2, 3500));
    const expired = await tokenRequest({ grant_type: 'refresh_token', refresh_token: r.json.refresh_token, client_id: 'tw-public' });
    assert.equal(expired.json.error, 'invalid_grant');
    assert.deepEqual((await stats()).grant_errors, ['refresh token is expired']);
  } finally {
    issuer = mainIssuer;
    await short.stop('SIGINT');
  }
});
