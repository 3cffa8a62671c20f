// The Proxy action in the desktop app, end to end: the real app over WebDriver, the real
// Secret Service, the real test server's small Pleo-like API (which checks the token it
// issued). Start a proxy on an OAuth connection with an allow rule; a request without the
// capability and one outside the rule are refused, one with the capability (copied to the
// clipboard, never shown in the page) is answered; the live count follows; the audit view
// shows the requests; Stop closes the address. Neither the token nor the capability is
// ever in the page. The screenshot goes to artifacts/screenshots/proxy-running.png.

import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { randomBytes } from "node:crypto";
import { mkdirSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import {
  ARTIFACTS,
  CLI,
  DRIVER,
  answerDialog,
  appPath,
  assertAbsentFromPage,
  click,
  js,
  newSession,
  screenshotTo,
  startDriver,
  startOAuthServer,
  stopAll,
  text,
  typeInto,
  visible,
  waitFor,
  walletEnv,
  writeProviders,
  xclip,
} from "./support.mjs";

const APP = appPath("debug");
const SHOTS = path.join(ARTIFACTS, "screenshots");
const PASSPHRASE = "proxy staple Horse battery 42!";
const PROFILE = `proxy-${randomBytes(4).toString("hex")}`;
const HOME = mkdtempSync(path.join(tmpdir(), "token-wallet-proxy-"));
const PROVIDERS = path.join(HOME, "providers.toml");
const ENV = walletEnv({
  profile: PROFILE,
  home: HOME,
  providers: PROVIDERS,
  extra: { TOKEN_WALLET_INSECURE_KDF: "1", TOKEN_WALLET_LOG: "info" },
});
let oauth = null;
let issuer = "";

const cli = (...args) =>
  spawnSync(CLI, ["--profile", PROFILE, "--home", HOME, ...args], { env: ENV, encoding: "utf8", timeout: 60_000, input: "" });
const call = async (url, init = {}) => {
  const r = await fetch(url, { ...init, signal: AbortSignal.timeout(20_000) });
  return { status: r.status, body: await r.text() };
};

before(async () => {
  mkdirSync(SHOTS, { recursive: true });
  ({ child: oauth, issuer } = await startOAuthServer({ ACCESS_TTL: "600" }, path.join(ARTIFACTS, "e2e-proxy-oauth-server.log")));
  writeProviders(PROVIDERS, issuer);
  await startDriver(DRIVER, ENV, path.join(ARTIFACTS, "e2e-proxy-tauri-driver.log"));
  await newSession(APP);
});

after(async () => {
  if (oauth && oauth.exitCode === null) oauth.kill("SIGTERM");
  await stopAll();
  rmSync(HOME, { recursive: true, force: true });
});

test("the Proxy action: start, refuse, forward, count, audit, stop", { timeout: 300_000 }, async (t) => {
  let base = "";
  let capability = "";
  let token = "";

  await t.test("create the vault and connect", async () => {
    await visible("#view-create", 30_000);
    await click("#create-submit");
    await answerDialog("choose a passphrase", [PASSPHRASE, PASSPHRASE]);
    await visible("#view-unlocked", 30_000);
    await click("#connect-open");
    await visible("#panel-connect");
    await typeInto("#connect-name", "books");
    await click('#connect-provider option[value="local-pleo"]');
    await click("#connect-submit");
    await visible("#panel-detail", 60_000);
    assert.equal(await text("#detail-title"), "books");
    await visible("#account-box", 15_000);
    await click("#account-yes");
  });

  await t.test("start a proxy that lets through GET /v1/expenses* only", async () => {
    await click("#detail-proxy");
    await visible("#proxy-allow");
    await typeInto("#proxy-allow", "GET /v1/expenses*");
    await click("#proxy-start");
    await waitFor(
      "the proxy running, or why not",
      async () => (await js("return !document.getElementById('proxy-running').hidden;")) || (await text("#proxy-error")) !== "",
      30_000,
    );
    assert.equal(await js("return document.getElementById('proxy-running').hidden;"), false, await text("#proxy-error"));
    base = (await text("#proxy-address")).split(/\s+·\s+/)[0];
    assert.match(base, /^http:\/\/127\.0\.0\.1:\d+$/);
    assert.equal(await text("#proxy-allowed"), "GET /v1/expenses*");
    assert.match(await text("#detail-proxy"), /running/);
  });

  await t.test("no capability: 401, and the count says so", async () => {
    const r = await call(`${base}/v1/expenses`);
    assert.equal(r.status, 401, r.body);
    await waitFor("the refused count", async () => /1 refused by the proxy/.test(await text("#proxy-count")), 10_000);
  });

  await t.test("the capability from the clipboard: answered; outside the rule: 403", async () => {
    await click("#proxy-copy");
    await waitFor("the copy notice", async () => /Capability copied/.test(await text("#proxy-error")));
    capability = xclip().trim();
    assert.match(capability, /^twp_[A-Za-z0-9_-]{43}$/);
    const auth = { authorization: `Bearer ${capability}` };
    const r = await call(`${base}/v1/expenses?limit=2`, { headers: auth });
    assert.equal(r.status, 200, r.body);
    assert.equal(JSON.parse(r.body).data.length, 2);
    const denied = await call(`${base}/v1/installations/me`, { headers: auth });
    assert.equal(denied.status, 403, denied.body);
    await waitFor("the live count", async () => /^1 request forwarded, 2 refused by the proxy/.test(await text("#proxy-count")), 10_000);
    await screenshotTo(path.join(SHOTS, "proxy-running.png"));
    const got = cli("token", "books");
    assert.equal(got.status, 0, got.stderr);
    token = got.stdout.trim();
    await assertAbsentFromPage(assert, "the proxy box", [capability, token]);
  });

  await t.test("the audit view shows the proxied requests", async () => {
    // Batches are written every 10 s: stopping writes the last one.
    await click("#proxy-stop");
    await waitFor("stopped", async () => /stopped/.test(await text("#proxy-error")), 15_000);
    await assert.rejects(call(`${base}/v1/expenses`), "nothing listens at the address any more");
    await click("#tab-audit");
    await waitFor("the verdict", async () => /Verified/.test(await text("#audit-verdict")), 30_000);
    const items = await js(`return [...document.querySelectorAll("#audit-lines li")].map((e) => e.textContent);`);
    assert.ok(items.some((i) => /GET \/v1\/expenses → 200, 1 request/.test(i)), items.slice(0, 10).join(" | "));
    assert.ok(items.some((i) => /GET \/v1\/installations\/me → 403/.test(i)), items.slice(0, 10).join(" | "));
    await assertAbsentFromPage(assert, "the audit view", [capability, token]);
  });
});
