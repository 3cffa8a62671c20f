// The app's memory, searched as an attacker would search it, in whichever build
// TOKEN_WALLET_APP names (the release app in scripts/test's release stage; the debug app
// otherwise). The passphrase and an API key are typed into Token Wallet's native windows
// (xdotool, as a person types); then every process of the app's tree (the app, its
// WebKitWebProcess and WebKitNetworkProcess) is read through /proc/PID/mem and searched
// for them, raw, UTF-16, hex and base64: after unlock, after the key is added, and after
// lock, when the key must be gone from the app's own process too. Root reads
// every process; a same-user attacker could read only the dumpable ones (WebKit's).

import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { mkdirSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import {
  ARTIFACTS,
  DRIVER,
  answerDialog,
  appPath,
  appPid,
  click,
  js,
  memoryHits,
  newSession,
  processTree,
  startDriver,
  startOAuthServer,
  stopAll,
  text,
  typeInto,
  visible,
  waitFor,
  walletEnv,
  writeProviders,
} from "./support.mjs";

const APP = appPath("debug");
const PASSPHRASE = `memory ${randomBytes(6).toString("hex")} staple`;
const PROFILE = `memory-${randomBytes(4).toString("hex")}`;
const HOME = mkdtempSync(path.join(tmpdir(), "token-wallet-memory-"));
const PROVIDERS = path.join(HOME, "providers.toml");
const ENV = walletEnv({ profile: PROFILE, home: HOME, providers: PROVIDERS, extra: { TOKEN_WALLET_INSECURE_KDF: "1" } });
let oauth = null;
let issuer = "";

const mint = async () =>
  (await fetch(`${issuer}/_test/api-keys`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: "{}",
    signal: AbortSignal.timeout(10_000),
  })).json();

/** The app's processes and their names; the web process must be among them. */
function tree() {
  const pid = appPid(PROFILE);
  assert.ok(pid, "the app's process");
  const pids = processTree(pid);
  const names = pids.map((p) => {
    try {
      return readFileSync(`/proc/${p}/comm`, "latin1").trim();
    } catch {
      return "";
    }
  });
  assert.ok(names.some((n) => n.startsWith("WebKitWebProces")), `the web process is in the tree: ${names}`);
  return { pids, web: pids.filter((_, i) => names[i].startsWith("WebKitWebProces")) };
}

before(async () => {
  mkdirSync(ARTIFACTS, { recursive: true });
  ({ child: oauth, issuer } = await startOAuthServer({ ACCESS_TTL: "600" }, path.join(ARTIFACTS, "e2e-memory-oauth-server.log")));
  writeProviders(PROVIDERS, issuer);
  await startDriver(DRIVER, ENV, path.join(ARTIFACTS, "e2e-memory-tauri-driver.log"));
  await newSession(APP);
});

after(async () => {
  if (oauth && oauth.exitCode === null) oauth.kill("SIGTERM");
  await stopAll();
  rmSync(HOME, { recursive: true, force: true });
});

test("no process of the app's tree keeps the passphrase or a typed key", { timeout: 240_000 }, async (t) => {
  const key = (await mint()).key;

  await t.test("after creating the vault and unlocking it again", async () => {
    await visible("#view-create", 30_000);
    await click("#create-submit");
    await answerDialog("choose a passphrase", [PASSPHRASE, PASSPHRASE]);
    await visible("#view-unlocked", 60_000);
    // TOKEN_WALLET_INSECURE_KDF=1 is set: a debug build obeys it, a release build never.
    await click("#tab-keys");
    const kdf = await text("#fact-kdf dd");
    if (/\/release\//.test(APP)) assert.doesNotMatch(kdf, /1 MiB · 1 pass/, "a release app made a weak vault");
    else assert.match(kdf, /1 MiB · 1 pass/);
    await click("#tab-connections");
    await click("#lock-button");
    await visible("#view-unlock");
    await click("#unlock-submit");
    await answerDialog("unlock", [PASSPHRASE]);
    await visible("#view-unlocked", 60_000);
    const { pids, web } = tree();
    assert.deepEqual(memoryHits(pids, { passphrase: PASSPHRASE }), [], "found in memory");
    assert.ok(memoryHits(web, { control: PROFILE }).length > 0, "the scan reads the web process");
  });

  await t.test("after adding an API key (typed into the native window)", async () => {
    await click("#addkey-open");
    await visible("#panel-addkey");
    await click('#addkey-provider option[value="local-pleo"]');
    await typeInto("#addkey-name", "books");
    await typeInto("#addkey-expires", "2099-12-31");
    await click("#addkey-submit");
    await answerDialog("API key", [key]);
    await visible("#panel-detail", 60_000);
    assert.equal(await text("#detail-title"), "books");
    const { pids } = tree();
    assert.deepEqual(memoryHits(pids, { passphrase: PASSPHRASE }), [], "found in memory");
    // The key itself: not in the web process, which never saw it (the app's own process
    // holds it while the vault is open, to hand it out).
    const { web } = tree();
    assert.deepEqual(memoryHits(web, { "API key": key }), [], "found in the web process");
    // A key is never revealed in the page.
    assert.equal(await js("return document.getElementById('detail-reveal').hidden;"), true);
  });

  await t.test("after lock", async () => {
    await click("#lock-button");
    await visible("#view-unlock");
    await new Promise((r) => setTimeout(r, 1500)); // the background thread's next round
    const { pids } = tree();
    const app = [pids[0]];
    assert.deepEqual(memoryHits(pids, { passphrase: PASSPHRASE }), [], "found in memory");
    assert.deepEqual(memoryHits(app, { "API key": key }), [], "found in the app's own process");
  });
});
