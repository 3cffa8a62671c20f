// TEST ONLY. A real OAuth 2.0 authorisation server (the npm package `oidc-provider`)
// configured like Pleo, for Token Wallet's tests. Never use it for anything else: the
// accounts are whatever name is typed into the login form, the keys are made up at start,
// and /_test/* and /_bad/* exist only to let tests observe and provoke failures.
//
//   PORT=0 ACCESS_TTL=60 REFRESH_TTL=5184000 node tests/oauth-server/server.mjs
//
// Prints exactly one line to stdout once listening:
//   {"issuer":"http://127.0.0.1:<port>","port":<port>}
// and everything else to stderr. SIGTERM / SIGINT stop it with exit code 0.

import crypto from 'node:crypto';
import http from 'node:http';
import zlib from 'node:zlib';

// oidc-provider prints its NOTICE lines with console.info, i.e. to stdout, and it does so
// while being imported. stdout must carry only the one JSON line above, so every console
// method is sent to stderr before the package is loaded (hence the dynamic import below).
const toStderr = (...args) => console.error(...args);
console.log = toStderr;
console.info = toStderr;
console.debug = toStderr;
const { default: Provider } = await import('oidc-provider');

// TEST ONLY: CLOCK_FILE names a file holding signed seconds this server's clock is moved
// by, read at each reading of the clock, so a test can run 30 minutes of token lifetimes
// in seconds (the wallet's debug builds read the same file: TOKEN_WALLET_TEST_CLOCK_FILE).
if (process.env.CLOCK_FILE) {
  const { readFileSync } = await import('node:fs');
  const realNow = Date.now.bind(Date);
  const file = process.env.CLOCK_FILE;
  Date.now = () => {
    let offset = 0;
    try {
      offset = Number(readFileSync(file, 'utf8').trim()) || 0;
    } catch {
      offset = 0;
    }
    return realNow() + offset * 1000;
  };
}

// ---------------------------------------------------------------------------------------
// Settings from the environment

function intFromEnv(name, fallback, min) {
  const raw = process.env[name];
  if (raw === undefined || raw === '') return fallback;
  const value = Number(raw);
  if (!Number.isInteger(value) || value < min) {
    console.error(`server: ${name} must be an integer >= ${min}, got ${JSON.stringify(raw)}`);
    process.exit(2);
  }
  return value;
}

const PORT = intFromEnv('PORT', 0, 0);
const ACCESS_TTL = intFromEnv('ACCESS_TTL', 60, 1); // seconds
// Seconds each refresh token lives from its issue; every rotation issues a new one with a
// full lifetime. 60 days by default, Pleo's minimum.
const REFRESH_TTL = intFromEnv('REFRESH_TTL', 60 * 24 * 60 * 60, 1);

// Pleo-style resource scopes, plus the two OpenID ones.
const RESOURCE_SCOPES = ['users:read', 'export-jobs:read', 'companies:read'];
const SCOPES = ['openid', 'offline_access', ...RESOURCE_SCOPES];

// The company every test token belongs to (GET /v1/introspect reports it).
const COMPANY_URN = 'urn:pleo:company:3f6c1e2a-8d4b-4f7a-9c21-5b0e7d9a4c13';
const APPLICATION_NAME = 'Token Wallet test app';

// Pleo's own paths (auth.pleo.io/oauth/authorize, /oauth/token, /oauth/token/introspect), so
// a Pleo preset pointed at this server finds the same paths. Pleo has no RFC 7009 endpoint;
// this server offers one anyway for generic-provider tests.
const ROUTES = {
  authorization: '/oauth/authorize',
  token: '/oauth/token',
  introspection: '/oauth/token/introspect',
  revocation: '/oauth/token/revoke',
};

// ---------------------------------------------------------------------------------------
// Storage: oidc-provider's adapter interface over plain Maps. The package's built-in
// memory adapter is an LRU capped at 1000 entries for all models together, which a long
// test run could overflow (tokens would silently vanish). This one never evicts; entries
// only go when they expire or are destroyed.

const store = new Map(); // key -> { value, expiresAt (ms, 0 = never) }

function storeGet(key) {
  const entry = store.get(key);
  if (!entry) return undefined;
  if (entry.expiresAt && entry.expiresAt <= Date.now()) {
    store.delete(key);
    return undefined;
  }
  return entry.value;
}

// Entries are kept 60 s past their expiry (like the built-in adapter's clock tolerance), so
// a just-expired token is still found and refused as "expired", not as "not found".
const KEEP_EXPIRED_MS = 60_000;

function storeSet(key, value, expiresInSeconds) {
  const expiresAt = expiresInSeconds ? Date.now() + expiresInSeconds * 1000 + KEEP_EXPIRED_MS : 0;
  store.set(key, { value, expiresAt });
}

class MapAdapter {
  constructor(model) {
    this.model = model;
  }

  key(id) {
    return `${this.model}:${id}`;
  }

  async upsert(id, payload, expiresIn) {
    storeSet(this.key(id), payload, expiresIn);
    if (payload.grantId) {
      // Index of every artifact of a grant, for revokeByGrantId.
      const indexKey = `grant-index:${payload.grantId}`;
      const members = storeGet(indexKey) ?? new Set();
      members.add(this.key(id));
      storeSet(indexKey, members, 0);
    }
    if (this.model === 'Session') storeSet(`session-uid:${payload.uid}`, id, expiresIn);
    if (payload.userCode) storeSet(`user-code:${payload.userCode}`, id, expiresIn);
  }

  async find(id) {
    return storeGet(this.key(id));
  }

  async findByUid(uid) {
    const id = storeGet(`session-uid:${uid}`);
    return id === undefined ? undefined : this.find(id);
  }

  async findByUserCode(userCode) {
    const id = storeGet(`user-code:${userCode}`);
    return id === undefined ? undefined : this.find(id);
  }

  async consume(id) {
    const payload = storeGet(this.key(id));
    if (payload) payload.consumed = Math.floor(Date.now() / 1000);
  }

  async destroy(id) {
    store.delete(this.key(id));
  }

  // Deletes this model's artifacts of the grant (oidc-provider calls it once per model).
  async revokeByGrantId(grantId) {
    const members = storeGet(`grant-index:${grantId}`);
    if (!members) return;
    for (const key of [...members]) {
      if (key.startsWith(`${this.model}:`)) {
        store.delete(key);
        members.delete(key);
      }
    }
    if (members.size === 0) store.delete(`grant-index:${grantId}`);
  }
}

// ---------------------------------------------------------------------------------------
// Counters for GET /_test/stats, fed by oidc-provider's events.

function freshStats() {
  return {
    authorization_code_exchanges: 0,
    refreshes: 0,
    refresh_failures: 0,
    grant_errors: [], // one reason per failed token request
    revoked_grants: 0,
    revocations: 0, // successful RFC 7009 revocation requests
    api_key_uses: 0, // API requests a live API key authenticated
    api_key_refusals: 0, // API requests with an unknown, revoked or expired key, or a bad Basic header
  };
}
let stats = freshStats();

// ---------------------------------------------------------------------------------------
// Small HTTP helpers

function escapeHtml(text) {
  return String(text).replace(/[&<>"']/g, (c) => ({
    '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;',
  })[c]);
}

function sendJson(res, status, body, headers = {}) {
  const text = JSON.stringify(body);
  res.writeHead(status, {
    'Content-Type': 'application/json; charset=utf-8',
    'Content-Length': Buffer.byteLength(text),
    'Cache-Control': 'no-store',
    ...headers,
  });
  res.end(text);
}

function sendHtml(res, status, title, bodyHtml) {
  const text = `<!DOCTYPE html>
<html><head><meta charset="utf-8"><title>${escapeHtml(title)}</title></head>
<body>
<h1>${escapeHtml(title)}</h1>
${bodyHtml}
</body></html>
`;
  res.writeHead(status, {
    'Content-Type': 'text/html; charset=utf-8',
    'Content-Length': Buffer.byteLength(text),
    'Cache-Control': 'no-store',
  });
  res.end(text);
}

// Reads a request body (at most 1 MiB) as text.
function readBody(req) {
  return new Promise((resolve, reject) => {
    const chunks = [];
    let size = 0;
    req.on('data', (chunk) => {
      size += chunk.length;
      if (size > 1024 * 1024) {
        reject(new Error('request body too large'));
        req.destroy();
        return;
      }
      chunks.push(chunk);
    });
    req.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    req.on('error', reject);
  });
}

// The bearer token of a request, or undefined.
function bearerToken(req) {
  const match = /^Bearer +([^ ]+) *$/i.exec(req.headers.authorization ?? '');
  return match ? match[1] : undefined;
}

// ---------------------------------------------------------------------------------------
// Start listening first: the issuer URL needs the port.

const server = http.createServer();
await new Promise((resolve, reject) => {
  server.once('error', reject);
  server.listen(PORT, '127.0.0.1', resolve);
});
const { port } = server.address();
const ISSUER = `http://127.0.0.1:${port}`;

// ---------------------------------------------------------------------------------------
// The provider

// A signing key made at start (used only for ID tokens when `openid` is asked for; access
// and refresh tokens are opaque).
//
// It comes out of generateKeyPairSync already encoded as a JWK, never as a KeyObject that is
// exported afterwards. Node 20 can deadlock on that: KeyObject.export({ format: 'jwk' })
// holds the key's mutex while it allocates the JWK's strings, the generation job (already
// unreachable, but sharing the key and its mutex) is destroyed by a GC that allocation may
// run, and the job's destructor takes the same mutex. The main thread then waits on itself
// for ever before the address is printed (measured: 2 starts in 4200; see stress-start.mjs).
// Encoded inside the job, the key is exported while the job is still alive.
const { privateKey: privateJwk } = crypto.generateKeyPairSync('rsa', {
  modulusLength: 2048,
  publicKeyEncoding: { format: 'jwk' },
  privateKeyEncoding: { format: 'jwk' },
});
const signingJwk = {
  ...privateJwk,
  kid: 'test-key-1',
  alg: 'RS256',
  use: 'sig',
};

const redirectUris = ['http://127.0.0.1/callback', 'http://localhost/callback'];

const provider = new Provider(ISSUER, {
  adapter: MapAdapter,

  clients: [
    {
      // Public native client: PKCE, any loopback port (oidc-provider ignores the port of a
      // loopback redirect URI for native clients, RFC 8252 §7.3; the path must match).
      client_id: 'tw-public',
      application_type: 'native',
      token_endpoint_auth_method: 'none',
      grant_types: ['authorization_code', 'refresh_token'],
      response_types: ['code'],
      redirect_uris: redirectUris,
    },
    {
      // Confidential native client, authenticating with HTTP Basic like Pleo's.
      client_id: 'tw-confidential',
      client_secret: 'tw-confidential-secret',
      application_type: 'native',
      token_endpoint_auth_method: 'client_secret_basic',
      grant_types: ['authorization_code', 'refresh_token'],
      response_types: ['code'],
      redirect_uris: redirectUris,
    },
    {
      // Pinned redirect URI, matched exactly (host AND port), as Pleo registers them.
      // application_type 'web' on purpose: for 'native' clients oidc-provider would ignore
      // the loopback port, and the point of this client is that only 8976 is accepted.
      client_id: 'tw-pinned',
      application_type: 'web',
      token_endpoint_auth_method: 'none',
      grant_types: ['authorization_code', 'refresh_token'],
      response_types: ['code'],
      redirect_uris: ['http://localhost:8976/callback'],
    },
    {
      // Used only by tests to call the introspection endpoint on any client's tokens.
      client_id: 'tw-introspector',
      client_secret: 'tw-introspector-secret',
      token_endpoint_auth_method: 'client_secret_basic',
      grant_types: [],
      response_types: [],
      redirect_uris: [],
    },
  ],

  // Every resource scope is declared as a scope the provider knows. Without resource
  // indicators oidc-provider puts only "known" scopes into codes and tokens; unknown
  // requested scopes are silently dropped.
  scopes: SCOPES,
  claims: { openid: ['sub'] },

  async findAccount(_ctx, sub) {
    // Any login is an account; its id is what was typed in.
    return {
      accountId: sub,
      async claims() {
        return { sub };
      },
    };
  },

  jwks: { keys: [signingJwk] },
  cookies: { keys: [crypto.randomBytes(32).toString('base64url')] },

  routes: ROUTES,

  // PKCE for every client (oidc-provider 9 supports only S256, and refuses "plain").
  pkce: { required: () => true },

  // Refresh tokens always (when the client may use them), not only with offline_access,
  // and never tied to the browser session.
  async issueRefreshToken(_ctx, client) {
    return client.grantTypeAllowed('refresh_token');
  },
  async expiresWithSession() {
    return false;
  },

  // Every refresh rotates. Presenting an already rotated (consumed) refresh token revokes
  // the whole grant: oidc-provider's refresh_token grant does that by itself once rotation
  // is on ("refresh token already used" -> revoke(grantId)). That is Pleo's rule.
  rotateRefreshToken: true,

  ttl: {
    AccessToken: ACCESS_TTL,
    RefreshToken: REFRESH_TTL,
    AuthorizationCode: 60,
    // The grant (the "installation") must outlive every refresh token it rotates through,
    // so that REFRESH_TTL alone decides when an unused refresh token dies.
    Grant: Math.max(REFRESH_TTL, 365 * 24 * 60 * 60),
    Interaction: 10 * 60,
    Session: 24 * 60 * 60,
    IdToken: 60 * 60,
  },

  features: {
    devInteractions: { enabled: false }, // our own login / consent pages below
    revocation: { enabled: true }, // RFC 7009
    introspection: {
      enabled: true, // RFC 7662
      // tw-introspector may introspect anybody's tokens; any other client only its own.
      async allowedPolicy(_ctx, client, token) {
        return client.clientId === 'tw-introspector' || client.clientId === token.clientId;
      },
    },
  },

  // Errors that cannot go back to the client (bad client_id, unregistered redirect_uri...)
  // are shown as a plain page with the error code and description only (the default page
  // loads a remote font and echoes every response parameter).
  async renderError(ctx, out) {
    ctx.type = 'html';
    ctx.body = `<!DOCTYPE html>
<html><head><meta charset="utf-8"><title>Error: ${escapeHtml(out.error)}</title></head>
<body><h1>Error: ${escapeHtml(out.error)}</h1><p>${escapeHtml(out.error_description ?? '')}</p></body></html>
`;
  },

  interactions: {
    url(_ctx, interaction) {
      return `/interaction/${interaction.uid}`;
    },
  },
});

// TEST ONLY: every authorization code and PKCE verifier the token endpoint saw, so the
// wallet's tests can search all of its output for them (GET /_test/secrets).
// Also every refresh token it issued or was sent, so UI tests can check none reaches the DOM.
const secretsSeen = { codes: [], code_verifiers: [], refresh_tokens: [] };
function noteSecrets(ctx) {
  const p = ctx.oidc?.params || {};
  if (p.code) secretsSeen.codes.push(p.code);
  if (p.code_verifier) secretsSeen.code_verifiers.push(p.code_verifier);
  if (p.refresh_token) secretsSeen.refresh_tokens.push(p.refresh_token);
  const issued = ctx.body?.refresh_token;
  if (issued && !secretsSeen.refresh_tokens.includes(issued)) secretsSeen.refresh_tokens.push(issued);
}

provider.on('grant.success', (ctx) => {
  noteSecrets(ctx);
  const grantType = ctx.oidc.params?.grant_type;
  if (grantType === 'authorization_code') stats.authorization_code_exchanges += 1;
  if (grantType === 'refresh_token') stats.refreshes += 1;
});
provider.on('grant.error', (ctx, err) => {
  noteSecrets(ctx);
  // Every invalid_grant reads the same on the wire ("grant request is invalid"); the real
  // reason is in error_detail (e.g. "refresh token already used").
  stats.grant_errors.push(err.error_detail || err.error_description || err.message);
  if (ctx.oidc?.params?.grant_type === 'refresh_token') stats.refresh_failures += 1;
});
provider.on('grant.revoked', () => {
  stats.revoked_grants += 1;
});
provider.on('revocation.success', () => {
  stats.revocations += 1;
});
provider.on('server_error', (_ctx, err) => {
  console.error('server: oidc-provider server_error:', err);
});

const providerCallback = provider.callback();

// ---------------------------------------------------------------------------------------
// Our login and consent pages (plain HTML forms, no JavaScript).

async function interactionPage(req, res, uid) {
  const details = await provider.interactionDetails(req, res);
  if (details.uid !== uid) throw new Error('interaction cookie does not match the URL');
  const { prompt, params } = details;
  if (prompt.name === 'login') {
    sendHtml(res, 200, 'Sign in', `
<p>Client <code>${escapeHtml(params.client_id)}</code> asks you to sign in.</p>
<form method="post" action="/interaction/${escapeHtml(uid)}/login">
  <label>Login <input type="text" name="login" value="" autofocus></label>
  <button type="submit">Sign in</button>
</form>`);
    return;
  }
  if (prompt.name === 'consent') {
    const scopes = String(params.scope ?? '').split(' ').filter(Boolean);
    sendHtml(res, 200, 'Allow access?', `
<p>Client <code>${escapeHtml(params.client_id)}</code> asks for:</p>
<ul>${scopes.map((s) => `<li><code>${escapeHtml(s)}</code></li>`).join('')}</ul>
<form method="post" action="/interaction/${escapeHtml(uid)}/confirm">
  <button type="submit" name="decision" value="allow">Allow</button>
  <button type="submit" name="decision" value="deny">Deny</button>
</form>`);
    return;
  }
  sendHtml(res, 400, 'Unexpected prompt', `<p>${escapeHtml(prompt.name)}</p>`);
}

async function interactionLogin(req, res, uid) {
  const details = await provider.interactionDetails(req, res);
  if (details.uid !== uid || details.prompt.name !== 'login') throw new Error('not a login step');
  const form = new URLSearchParams(await readBody(req));
  const login = (form.get('login') ?? '').trim();
  if (!login) {
    sendHtml(res, 400, 'Sign in', '<p>A login is required.</p>');
    return;
  }
  await provider.interactionFinished(req, res, { login: { accountId: login } }, {
    mergeWithLastSubmission: false,
  });
}

async function interactionConfirm(req, res, uid) {
  const details = await provider.interactionDetails(req, res);
  if (details.uid !== uid || details.prompt.name !== 'consent') throw new Error('not a consent step');
  const form = new URLSearchParams(await readBody(req));
  if (form.get('decision') !== 'allow') {
    await provider.interactionFinished(req, res, {
      error: 'access_denied',
      error_description: 'The user denied access',
    }, { mergeWithLastSubmission: false });
    return;
  }

  const { params, session, prompt } = details;
  let grant = details.grantId ? await provider.Grant.find(details.grantId) : undefined;
  if (!grant) {
    grant = new provider.Grant({ accountId: session.accountId, clientId: params.client_id });
  }
  // Grant every requested scope the server knows (OIDC and resource scopes alike: they are
  // all declared in `scopes`), so the token's scope is exactly what was asked for.
  const requested = String(params.scope ?? '').split(' ').filter((s) => SCOPES.includes(s));
  if (requested.length) grant.addOIDCScope(requested.join(' '));
  const missing = prompt.details;
  if (missing.missingOIDCClaims) grant.addOIDCClaims(missing.missingOIDCClaims);
  for (const [indicator, scopes] of Object.entries(missing.missingResourceScopes ?? {})) {
    grant.addResourceScope(indicator, scopes.join(' '));
  }
  const grantId = await grant.save();
  await provider.interactionFinished(req, res, { consent: { grantId } }, {
    mergeWithLastSubmission: true,
  });
}

// ---------------------------------------------------------------------------------------
// Pleo-like API on the issuer's host.

// The access token of the request if it is active, else answers 401 and returns undefined.
async function activeAccessToken(req, res) {
  const value = bearerToken(req);
  const token = value ? await provider.AccessToken.find(value) : undefined;
  const grant = token?.grantId ? await provider.Grant.find(token.grantId) : undefined;
  if (!token || !token.isValid || !grant) {
    sendJson(res, 401, { error: 'invalid_token', error_description: 'The access token is not active' }, {
      'WWW-Authenticate': 'Bearer error="invalid_token"',
    });
    return undefined;
  }
  return token;
}

// The company an account belongs to: COMPANY_URN for the default test account, else one
// derived from the account's name (so a test can sign in as someone else's company).
function companyOf(accountId) {
  if (!accountId || accountId === 'alice') return COMPANY_URN;
  const h = crypto.createHash('sha256').update(accountId).digest('hex');
  return `urn:pleo:company:${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20, 32)}`;
}

// Pleo standalone API keys, as an admin makes them in Pleo's web app (for one company,
// with scopes and an expiry; shown once; no API revokes them). Requests send one with
// HTTP Basic: the key as the user name, an empty password. Tests mint them with
// POST /_test/api-keys and revoke them with POST /_test/api-keys/revoke.
const apiKeys = new Map(); // key -> { id, company, scope, applicationName, expiresAt (s, 0 = never), revoked }

// The key of an `Authorization: Basic base64(KEY:)` header; undefined for anything else
// (another scheme, or a password that is not empty).
function basicApiKey(req) {
  const m = /^Basic +([A-Za-z0-9+/=]+) *$/i.exec(req.headers.authorization ?? '');
  if (!m) return undefined;
  const text = Buffer.from(m[1], 'base64').toString('utf8');
  const colon = text.indexOf(':');
  if (colon <= 0 || colon !== text.length - 1) return undefined;
  return text.slice(0, colon);
}

// Who calls Pleo's API: a live API key (Basic) or an active OAuth access token (Bearer).
// Anything else is answered 401 and gives undefined.
async function apiCaller(req, res) {
  if (/^Basic /i.test(req.headers.authorization ?? '')) {
    const key = basicApiKey(req);
    const k = key === undefined ? undefined : apiKeys.get(key);
    const now = Math.floor(Date.now() / 1000);
    if (!k || k.revoked || (k.expiresAt && k.expiresAt <= now)) {
      stats.api_key_refusals += 1;
      sendJson(res, 401, { error: 'invalid_api_key', error_description: 'The API key is not valid' }, {
        'WWW-Authenticate': 'Basic realm="pleo"',
      });
      return undefined;
    }
    stats.api_key_uses += 1;
    return {
      authMethod: 'API_KEY', clientId: k.id, scope: k.scope, applicationName: k.applicationName,
      company: k.company, installation: `api-key:${k.company}:${k.id}`,
    };
  }
  const token = await activeAccessToken(req, res);
  if (!token) return undefined;
  return {
    authMethod: 'OAUTH', clientId: token.clientId, scope: token.scope ?? '', applicationName: APPLICATION_NAME,
    company: companyOf(token.accountId), installation: `oauth:${token.grantId}`, token,
  };
}

async function apiIntrospect(req, res) {
  const who = await apiCaller(req, res);
  if (!who) return;
  // As Pleo answers: the fields nested under `data`.
  sendJson(res, 200, {
    data: {
      authMethod: who.authMethod,
      clientId: who.clientId,
      scope: who.scope,
      applicationName: who.applicationName,
      subjectURN: who.company,
    },
  });
}

// Installations. An OAuth grant is an ACTIVATED installation from the start; an API-key
// integration creates its own (POST /v1/installations/me). A test sets a company's status
// and error code with POST /_test/installation (e.g. ERROR / AUTH_ERROR).
const installations = new Map(); // installation key -> { id }
// How GET /v1/installations/me answers (POST /_test/installation-shape?shape=S): 'data'
// ({"data": {...}}), 'bare' (the object itself, as a third-party copy of Pleo's schema
// shows it) or 'unreadable' (a 200 whose body is not the installation).
let installationShape = 'data';
const companyStatus = new Map(); // company URN -> { status, errorCode }

function installationOf(who) {
  let inst = installations.get(who.installation);
  if (!inst && who.authMethod === 'OAUTH') {
    inst = { id: crypto.randomUUID() };
    installations.set(who.installation, inst);
  }
  if (!inst) return undefined;
  const set = companyStatus.get(who.company);
  return {
    id: inst.id,
    companyId: who.company.replace(/^urn:pleo:company:/, ''),
    status: set?.status ?? 'ACTIVATED',
    errorCode: set?.errorCode ?? null,
  };
}

// GET /v1/installations/me: the caller's installation, or 404 if an API-key integration
// has not created one yet.
async function apiInstallation(req, res) {
  const who = await apiCaller(req, res);
  if (!who) return;
  const inst = installationOf(who);
  if (!inst) return sendJson(res, 404, { error: 'not_found', error_description: 'No installation; create it with POST /v1/installations/me' });
  if (installationShape === 'bare') return sendJson(res, 200, inst);
  if (installationShape === 'unreadable') return sendJson(res, 200, { data: { note: 'not an installation' } });
  sendJson(res, 200, { data: inst });
}

// POST /v1/installations/me: an API-key integration creates its installation (idempotent).
async function apiInstall(req, res) {
  req.resume();
  const who = await apiCaller(req, res);
  if (!who) return;
  const created = !installations.has(who.installation);
  if (created) installations.set(who.installation, { id: crypto.randomUUID() });
  sendJson(res, created ? 201 : 200, { data: installationOf(who) });
}

// DELETE /v1/installations/me: revoke every token of the installation (the grant). For
// an API key, removes its installation; the key itself stays valid (only Pleo's web app
// revokes keys).
async function apiUninstall(req, res) {
  if (/^Basic /i.test(req.headers.authorization ?? '')) {
    const who = await apiCaller(req, res);
    if (!who) return;
    installations.delete(who.installation);
    res.writeHead(204);
    res.end();
    return;
  }
  const token = await activeAccessToken(req, res);
  if (!token) return;
  const { grantId } = token;
  await Promise.all([
    provider.AccessToken.revokeByGrantId(grantId),
    provider.RefreshToken.revokeByGrantId(grantId),
    provider.AuthorizationCode.revokeByGrantId(grantId),
    provider.Grant.adapter.destroy(grantId),
  ]);
  stats.revoked_grants += 1;
  res.writeHead(204);
  res.end();
}

// ---------------------------------------------------------------------------------------
// Hostile / broken endpoints for tests.

const slowTimers = new Set();

async function badToken(req, res, mode) {
  await readBody(req).catch(() => '');
  switch (mode) {
    case '500':
      sendJson(res, 500, { error: 'server_error', error_description: 'Test: the server broke' });
      return;
    case 'html':
      sendHtml(res, 200, 'Maintenance', '<p>We will be back soon.</p>');
      return;
    case 'invalid-json': {
      const text = '{"access_token": "x",';
      res.writeHead(200, { 'Content-Type': 'application/json', 'Content-Length': Buffer.byteLength(text) });
      res.end(text);
      return;
    }
    case 'huge': {
      // 2 MiB of valid JSON: a 2 MiB access token.
      const prefix = '{"access_token":"';
      const suffix = '","token_type":"Bearer","expires_in":60}';
      const text = prefix + 'A'.repeat(2 * 1024 * 1024 - prefix.length - suffix.length) + suffix;
      res.writeHead(200, { 'Content-Type': 'application/json', 'Content-Length': Buffer.byteLength(text) });
      res.end(text);
      return;
    }
    case 'no-access-token':
      sendJson(res, 200, { token_type: 'Bearer', expires_in: 60 });
      return;
    case 'slow': {
      // Answers only after 30 s, with a plausible token, so a client without a timeout
      // would visibly "succeed".
      const timer = setTimeout(() => {
        slowTimers.delete(timer);
        if (!res.destroyed) {
          sendJson(res, 200, { access_token: 'slow-access-token', token_type: 'Bearer', expires_in: 60 });
        }
      }, 30_000);
      slowTimers.add(timer);
      res.on('close', () => {
        clearTimeout(timer);
        slowTimers.delete(timer);
      });
      return;
    }
    default:
      sendJson(res, 404, { error: 'not_found' });
  }
}

// A discovery document whose issuer is this server but whose endpoints are elsewhere.
function badDiscovery(res) {
  const issuer = `${ISSUER}/_bad/discovery`;
  sendJson(res, 200, {
    issuer,
    authorization_endpoint: 'http://evil.example/authorize',
    token_endpoint: 'http://evil.example/token',
    response_types_supported: ['code'],
    grant_types_supported: ['authorization_code', 'refresh_token'],
    code_challenge_methods_supported: ['S256'],
    token_endpoint_auth_methods_supported: ['none', 'client_secret_basic'],
    scopes_supported: SCOPES,
  });
}

// ---------------------------------------------------------------------------------------
// A small Pleo-like API for `token-wallet api` and the proxy: it checks the bearer token
// (or API key) it issued, as Pleo does, and counts the calls it served.
// - GET /v1/expenses?limit=N&after=CURSOR: 25 made-up expenses, a page at a time
//   (`{data: [...], pagination: {hasNextPage, endCursor, total}}`).
// - POST /v1/export-jobs (JSON body): 201 `{data: {id, status: "PENDING", ...body}}`.
// - GET /v1/moved: a 302 to another host (a client must not follow it with the token).
// - GET /v1/slow?ms=N: answers after N ms (at most 30 s).
// - GET /v1/large?kib=N: a JSON answer of about N KiB (at most 64 MiB).
// - any method on /v1/echo: the request reflected (below).
const apiTokensSeen = new Set(); // the access tokens (jti) GET /v1/expenses was called with
const EXPENSES = Array.from({ length: 25 }, (_, i) => ({
  id: `exp-${String(i + 1).padStart(3, '0')}`,
  amount: { value: 1000 + 17 * i, currency: 'DKK' },
  note: `made-up expense ${i + 1}`,
}));

async function apiExpenses(req, res, url) {
  const who = await apiCaller(req, res);
  if (!who) return;
  stats.api_calls = (stats.api_calls ?? 0) + 1;
  if (who.token?.jti) {
    apiTokensSeen.add(who.token.jti);
    stats.api_distinct_tokens = apiTokensSeen.size;
  }
  const limit = Math.min(Math.max(Number(url.searchParams.get('limit') ?? 10) || 10, 1), 100);
  const after = url.searchParams.get('after');
  const start = after ? EXPENSES.findIndex((e) => e.id === after) + 1 : 0;
  const page = EXPENSES.slice(start, start + limit);
  sendJson(res, 200, {
    data: page,
    pagination: { hasNextPage: start + limit < EXPENSES.length, endCursor: page.at(-1)?.id ?? null, total: EXPENSES.length },
  });
}

async function apiExportJob(req, res) {
  const text = await readBody(req);
  const who = await apiCaller(req, res);
  if (!who) return;
  let body;
  try {
    body = JSON.parse(text || '{}');
  } catch {
    return sendJson(res, 400, { error: 'bad_request', error_description: 'the body is not JSON' });
  }
  stats.api_calls = (stats.api_calls ?? 0) + 1;
  sendJson(res, 201, { data: { ...body, id: crypto.randomUUID(), status: 'PENDING' } });
}

async function apiMoved(req, res) {
  const who = await apiCaller(req, res);
  if (!who) return;
  res.writeHead(302, { Location: 'http://127.0.0.2:9/steal', 'Content-Length': 0 });
  res.end();
}

async function apiSlow(req, res, url) {
  const who = await apiCaller(req, res);
  if (!who) return;
  const ms = Math.min(Number(url.searchParams.get('ms') ?? 1000) || 0, 30_000);
  setTimeout(() => sendJson(res, 200, { data: { waited_ms: ms } }), ms);
}

// Any method on /v1/echo: the request as it arrived (method, path, every header), as
// an API that reflects its request would; with the caller's Authorization in a header of
// the answer too, and a session cookie. The proxy must conceal the token in both and drop
// the cookie. `?gzip=1`: the answer gzip-compressed whatever the request accepts, as an
// API that ignores `Accept-Encoding: identity` would send it.
async function apiEcho(req, res, url) {
  const text = await readBody(req);
  const who = await apiCaller(req, res);
  if (!who) return;
  const json = JSON.stringify({ method: req.method, url: req.url, headers: req.headers, body: text });
  const gzip = url.searchParams.get('gzip') === '1';
  const body = gzip ? zlib.gzipSync(json) : Buffer.from(json);
  res.writeHead(200, {
    'Content-Type': 'application/json',
    ...(gzip ? { 'Content-Encoding': 'gzip' } : {}),
    'Content-Length': body.length,
    'X-Echo-Authorization': req.headers.authorization ?? '',
    'Set-Cookie': 'session=s3cr3t-session; HttpOnly',
  });
  res.end(body);
}

async function apiLarge(req, res, url) {
  const who = await apiCaller(req, res);
  if (!who) return;
  const kib = Math.min(Number(url.searchParams.get('kib') ?? 1024) || 1, 64 * 1024);
  const line = 'x'.repeat(1000);
  sendJson(res, 200, { data: Array.from({ length: kib }, (_, i) => `${i}:${line}`) });
}

// ---------------------------------------------------------------------------------------
// Routing: our paths first, everything else to oidc-provider.

// TEST ONLY: failures injected into the token endpoint (POST /_test/fail-token) and
// into Pleo's API paths /v1/... (POST /_test/fail-api).
let failToken = { count: 0, status: 503, retryAfter: null };
let failApi = { count: 0, status: 503 };

async function route(req, res) {
  const url = new URL(req.url, ISSUER);
  const path = url.pathname;
  const method = req.method;
  let m;

  if (method === 'GET' && (m = /^\/interaction\/([\w-]+)$/.exec(path))) return interactionPage(req, res, m[1]);
  if (method === 'POST' && (m = /^\/interaction\/([\w-]+)\/login$/.exec(path))) return interactionLogin(req, res, m[1]);
  if (method === 'POST' && (m = /^\/interaction\/([\w-]+)\/confirm$/.exec(path))) return interactionConfirm(req, res, m[1]);

  if (path.startsWith('/v1/') && failApi.count > 0) {
    failApi.count -= 1;
    stats.injected_failures = (stats.injected_failures ?? 0) + 1;
    req.resume();
    return sendJson(res, failApi.status, { error: 'injected by the test' });
  }
  if (method === 'GET' && path === '/v1/introspect') return apiIntrospect(req, res);
  if (method === 'GET' && path === '/v1/installations/me') return apiInstallation(req, res);
  if (method === 'POST' && path === '/v1/installations/me') return apiInstall(req, res);
  if (method === 'DELETE' && path === '/v1/installations/me') return apiUninstall(req, res);
  if (method === 'GET' && path === '/v1/expenses') return apiExpenses(req, res, url);
  if (method === 'POST' && path === '/v1/export-jobs') return apiExportJob(req, res);
  if (method === 'GET' && path === '/v1/moved') return apiMoved(req, res);
  if (method === 'GET' && path === '/v1/slow') return apiSlow(req, res, url);
  if (method === 'GET' && path === '/v1/large') return apiLarge(req, res, url);
  if (path === '/v1/echo') return apiEcho(req, res, url);

  // POST /_test/api-keys {company?, scope?, expires_in? (s; 0 or absent: never; negative:
  // already expired), revoked?}: a new Pleo API key, as the web app shows it once.
  if (method === 'POST' && path === '/_test/api-keys') {
    const body = JSON.parse((await readBody(req)) || '{}');
    const key = `pleo_test_${crypto.randomBytes(24).toString('base64url')}`;
    const id = crypto.randomUUID();
    const company = body.company ?? COMPANY_URN;
    const expiresIn = Number(body.expires_in ?? 0);
    apiKeys.set(key, {
      id,
      company,
      scope: body.scope ?? 'users:read companies:read',
      applicationName: body.application_name ?? 'Token Wallet test key',
      expiresAt: expiresIn === 0 ? 0 : Math.floor(Date.now() / 1000) + expiresIn,
      revoked: Boolean(body.revoked),
    });
    return sendJson(res, 201, { key, id, company });
  }
  // POST /_test/api-keys/revoke {key}: as an admin revoking it in the web app.
  if (method === 'POST' && path === '/_test/api-keys/revoke') {
    const { key } = JSON.parse((await readBody(req)) || '{}');
    const k = apiKeys.get(key);
    if (!k) return sendJson(res, 404, { error: 'no such key' });
    k.revoked = true;
    return sendJson(res, 200, { id: k.id, revoked: true });
  }
  // POST /_test/installation?company=URN&status=S[&error_code=E]: the status (and error
  // code) every installation of that company reports.
  if (method === 'POST' && path === '/_test/installation') {
    req.resume();
    const company = url.searchParams.get('company') ?? COMPANY_URN;
    const set = { status: url.searchParams.get('status') ?? 'ACTIVATED', errorCode: url.searchParams.get('error_code') };
    companyStatus.set(company, set);
    return sendJson(res, 200, { company, ...set });
  }

  // POST /_test/installation-shape?shape=data|bare|unreadable: how installations answer.
  if (method === 'POST' && path === '/_test/installation-shape') {
    req.resume();
    installationShape = url.searchParams.get('shape') ?? 'data';
    return sendJson(res, 200, { shape: installationShape });
  }

  // Test-only helpers.
  if (method === 'GET' && path === '/_test/stats') return sendJson(res, 200, stats);
  if (method === 'GET' && path === '/_test/secrets') return sendJson(res, 200, secretsSeen);
  // POST /_test/fail-token?count=N&status=S[&retry_after=SECS]: the next N requests to
  // the token endpoint answer S (e.g. 503) without reaching oidc-provider.
  if (method === 'POST' && path === '/_test/fail-token') {
    failToken = {
      count: Number(url.searchParams.get('count') ?? 1),
      status: Number(url.searchParams.get('status') ?? 503),
      retryAfter: url.searchParams.get('retry_after'),
    };
    return sendJson(res, 200, failToken);
  }
  // POST /_test/fail-api?count=N&status=S: the next N requests to /v1/... answer S.
  if (method === 'POST' && path === '/_test/fail-api') {
    failApi = {
      count: Number(url.searchParams.get('count') ?? 1),
      status: Number(url.searchParams.get('status') ?? 503),
    };
    return sendJson(res, 200, failApi);
  }
  if (method === 'POST' && path === ROUTES.token && failToken.count > 0) {
    failToken.count -= 1;
    stats.injected_failures = (stats.injected_failures ?? 0) + 1;
    req.resume();
    const headers = { 'Content-Type': 'application/json', 'Cache-Control': 'no-store' };
    if (failToken.retryAfter) headers['Retry-After'] = failToken.retryAfter;
    res.writeHead(failToken.status, headers);
    return res.end(JSON.stringify({ error: 'temporarily_unavailable', error_description: 'injected by the test' }));
  }
  if (method === 'POST' && path === '/_test/reset-stats') {
    stats = freshStats();
    return sendJson(res, 200, stats);
  }
  if (method === 'POST' && (m = /^\/_bad\/([\w-]+)\/token$/.exec(path))) return badToken(req, res, m[1]);
  if (method === 'GET' && (path === '/_bad/discovery/.well-known/oauth-authorization-server'
    || path === '/_bad/discovery/.well-known/openid-configuration')) return badDiscovery(res);

  // RFC 8414 metadata: oidc-provider serves only the OpenID discovery document, which has
  // the same content; serve it under the RFC 8414 name too.
  if (method === 'GET' && path === '/.well-known/oauth-authorization-server') {
    req.url = '/.well-known/openid-configuration';
  }

  // oidc-provider refuses offline_access unless prompt=consent is also sent (an OpenID
  // Connect rule it applies to plain OAuth requests too), silently dropping it from the
  // scope. Our consent page is always shown anyway, so ask for it, and the token's scope
  // stays exactly what the client requested.
  if (path === ROUTES.authorization && method === 'GET') {
    const scope = url.searchParams.get('scope') ?? '';
    if (scope.split(' ').includes('offline_access') && !url.searchParams.has('prompt')) {
      url.searchParams.set('prompt', 'consent');
      req.url = url.pathname + url.search;
    }
  }

  return providerCallback(req, res);
}

server.on('request', (req, res) => {
  const started = Date.now();
  const path = req.url.split('?')[0]; // paths only in logs: query strings may carry codes or state
  res.on('finish', () => {
    console.error(`server: ${req.method} ${path} -> ${res.statusCode} (${Date.now() - started} ms)`);
  });
  route(req, res).catch((err) => {
    console.error('server: error handling', req.method, path, err);
    if (!res.headersSent) {
      sendHtml(res, 400, 'Error', `<p>${escapeHtml(err.message)}</p>`);
    } else {
      res.destroy();
    }
  });
});

// ---------------------------------------------------------------------------------------
// Ready: the one stdout line. Then stop cleanly on SIGTERM / SIGINT.

process.stdout.write(`${JSON.stringify({ issuer: ISSUER, port })}\n`);

function shutdown(signal) {
  console.error(`server: ${signal}, stopping`);
  for (const timer of slowTimers) clearTimeout(timer);
  server.close(() => process.exit(0));
  server.closeAllConnections();
  setTimeout(() => process.exit(0), 1000).unref();
}
process.on('SIGTERM', () => shutdown('SIGTERM'));
process.on('SIGINT', () => shutdown('SIGINT'));
