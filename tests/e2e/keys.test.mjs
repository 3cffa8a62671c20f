// Pleo API keys in the desktop app, end to end: the real app over WebDriver, the real
// Secret Service, the real test server (which answers Pleo's /v1/introspect and
// /v1/installations/me for Basic-auth keys). An OAuth connection and an API key side by
// side; a revoked key refused with nothing stored; the key's expiry warning with the
// wallet's clock moved 25 days on (the test's own setting, read by debug builds); Copy
// giving the key whose header Pleo accepts; rotate refused for a bad key (the old one
// kept) and done for a good one; an installation in ERROR shown for the key and for the
// OAuth connection; the delete saying where to revoke. No key in the DOM, the console or
// the audit log. Same needs as app.test.mjs; the side-by-side screenshot goes to
// artifacts/screenshots/keys-side-by-side.png.

import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { randomBytes } from "node:crypto";
import { mkdirSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import {
  ARTIFACTS,
  CLI,
  DRIVER,
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
  toneOf,
  typeInto,
  visible,
  waitFor,
  walletEnv,
  writeProviders,
  xclip,
  answerDialog,
  appPid,
  memoryHits,
  processTree,
} from "./support.mjs";

const APP = appPath("debug");
const SHOTS = path.join(ARTIFACTS, "screenshots");
const DAY = 86_400;
const CLOCK_OFFSET_DAYS = 25;
const PASSPHRASE = "keys staple Horse battery 42!";
const PROFILE = `keys-${randomBytes(4).toString("hex")}`;
const HOME = mkdtempSync(path.join(tmpdir(), "token-wallet-keys-"));
const PROVIDERS = path.join(HOME, "providers.toml");
const ENV = walletEnv({
  profile: PROFILE,
  home: HOME,
  providers: PROVIDERS,
  extra: {
    TOKEN_WALLET_INSECURE_KDF: "1",
    TOKEN_WALLET_LOG: "info",
    // The wallet's clock, 25 days on (debug builds only).
    TOKEN_WALLET_TEST_CLOCK_OFFSET: String(CLOCK_OFFSET_DAYS * DAY),
  },
});
let oauth = null;
let issuer = "";

const server = async (route, body) => {
  const r = await fetch(`${issuer}${route}`, {
    method: body === undefined ? "GET" : "POST",
    headers: { "content-type": "application/json" },
    body: body === undefined ? undefined : JSON.stringify(body),
    signal: AbortSignal.timeout(10_000),
  });
  return r.json();
};
const mint = (body = {}) => server("/_test/api-keys", body);
const cli = (...args) =>
  spawnSync(CLI, ["--profile", PROFILE, "--home", HOME, ...args], { env: ENV, encoding: "utf8", timeout: 60_000, input: "" });
/** What the server says to the `Authorization` header `value`. */
const introspectStatus = async (value) =>
  (await fetch(`${issuer}/v1/introspect`, { headers: { authorization: value }, signal: AbortSignal.timeout(10_000) })).status;
/** YYYY-MM-DD (UTC) of Unix seconds. */
const isoDate = (t) => new Date(t * 1000).toISOString().slice(0, 10);
/** Sets a date input (WebKit's date field takes no typed text over WebDriver). */
const assertNoKeysInPage = (where, keys) => assertAbsentFromPage(assert, where, keys);

before(async () => {
  mkdirSync(SHOTS, { recursive: true });
  ({ child: oauth, issuer } = await startOAuthServer({ ACCESS_TTL: "600" }, path.join(ARTIFACTS, "e2e-keys-oauth-server.log")));
  writeProviders(PROVIDERS, issuer);
  await startDriver(DRIVER, ENV, path.join(ARTIFACTS, "e2e-keys-tauri-driver.log"));
  await newSession(APP);
});

after(async () => {
  if (oauth && oauth.exitCode === null) oauth.kill("SIGTERM");
  await stopAll();
  rmSync(HOME, { recursive: true, force: true });
});

test("Pleo API keys beside an OAuth connection: add, warn, copy, rotate, check, delete", { timeout: 300_000 }, async (t) => {
  const revoked = await mint({ revoked: true });
  const first = await mint({ application_name: "Books sync" });
  const second = await mint({});
  const KEYS = [revoked.key, first.key, second.key];
  // A date 31 days from now: with the wallet's clock 25 days on, 5 whole days are left
  // (the date is midnight UTC, so 5 days and some hours).
  const expires = isoDate(Math.floor(Date.now() / 1000) + 31 * DAY);

  await t.test("create the vault and connect an OAuth connection", async () => {
    await visible("#view-create", 30_000);
    await click("#create-submit");
    await answerDialog("choose a passphrase", [PASSPHRASE, PASSPHRASE]);
    await visible("#view-unlocked", 30_000);
    await click("#connect-open");
    await visible("#panel-connect");
    await typeInto("#connect-name", "acme-oauth");
    await click('#connect-provider option[value="local-pleo"]');
    await click("#connect-submit");
    await visible("#panel-detail", 60_000);
    assert.equal(await text("#detail-title"), "acme-oauth");
  });

  await t.test("a revoked key is refused and nothing is stored", async () => {
    await click("#detail-back");
    await click("#addkey-open");
    await visible("#panel-addkey");
    await click('#addkey-provider option[value="local-pleo"]');
    await typeInto("#addkey-name", "books");
    // No expiry date: asked first, beside the date field, in the warning tone; no dialog.
    const buttonAt = () => js("const r = document.getElementById('addkey-submit').getBoundingClientRect(); return r.top + window.scrollY;");
    const at = await buttonAt();
    await click("#addkey-submit");
    await waitFor("the question about the missing date", async () => /^No expiry date: Token Wallet cannot warn you/.test(await text("#addkey-expires-note")));
    assert.equal(await toneOf("#addkey-expires-note"), "warning");
    assert.equal(await js("return document.getElementById('addkey-expires').nextElementSibling.id;"), "addkey-expires-note");
    // Said in the line reserved for it: the button stays under the pointer.
    assert.equal(await buttonAt(), at, "the question moved the save button");
    await screenshotTo(path.join(SHOTS, "keys-addkey-no-date.png"));
    await click("#addkey-submit");
    await answerDialog("API key", [revoked.key]);
    await waitFor("the refusal", async () => /refused the API key \(HTTP 401\)/.test(await text("#addkey-error")), 20_000);
    assert.match(await text("#addkey-error"), /nothing was stored/);
    assert.equal(await js("return document.querySelectorAll('input[type=password]').length;"), 0, "the page has no key field");
    const listed = cli("list", "--json");
    assert.equal(listed.status, 0, listed.stderr);
    assert.deepEqual(JSON.parse(listed.stdout).map((c) => c.name), ["acme-oauth"]);
  });

  await t.test("a valid key is verified, its company shown, and it warns 5 days before its date", async () => {
    // A date typed as the app writes dates (ISO), digit by digit, is kept.
    await typeInto("#addkey-expires", expires);
    assert.equal(await js("return document.getElementById('addkey-expires').value;"), expires);
    await click("#addkey-submit");
    await answerDialog("API key", [first.key]);
    await visible("#panel-detail", 30_000);
    assert.equal(await text("#detail-title"), "books");
    assert.match(await text("#detail-message"), new RegExp(`Added API key “books”\\. Local Pleo confirms it acts for ${first.company}`));
    assert.match(await text("#fact-d-check-subjectURN"), new RegExp(`Company\\s*${first.company}`));
    // Words for people: the kind once, no raw enum values from the provider.
    assert.equal(await text("#fact-d-kind dd"), "Pleo API key · Local Pleo");
    assert.doesNotMatch(await text("#detail-facts"), /\b(API_KEY|OAUTH|[A-Z]+_[A-Z_]+)\b/, "a raw enum value in the facts");
    assert.match(await text("#fact-d-expires dd"), /^in 5 days$/);
    assert.equal(await js("return document.getElementById('detail-refresh').hidden;"), true, "a key is never refreshed");
    assert.equal(await js("return document.getElementById('detail-rotate').hidden;"), false);
    const badge = await js("return document.querySelector('#detail-status .badge').dataset.status;");
    assert.equal(badge, "keyExpiring");
  });

  await t.test("no process of the app's tree holds the passphrase or a typed key (WebKit's included)", async () => {
    // Read as root, which reads every process; a same-user attacker could read only the
    // dumpable ones (WebKit's), and must find nothing there above all.
    const pid = appPid(PROFILE);
    assert.ok(pid, "the app's process");
    const tree = processTree(pid);
    const names = tree.map((p) => readFileSync(`/proc/${p}/comm`, "latin1").trim());
    assert.ok(names.some((n) => n.startsWith("WebKitWebProces")), `the web process is in the tree: ${names}`);
    const hits = memoryHits(tree, { passphrase: PASSPHRASE, "refused key": revoked.key, "added key": first.key });
    assert.deepEqual(hits, [], "found in memory");
    // The scan sees what it should: the page's own text in the web process.
    const web = tree.filter((_, i) => names[i].startsWith("WebKitWebProces"));
    assert.ok(memoryHits(web, { control: "acme-oauth" }).length > 0, "the scan reads the web process");
  });

  await t.test("side by side in the list, with the alert", async () => {
    await click("#detail-back");
    await visible("#conn-books");
    const row = await text("#conn-books");
    assert.match(row, /API key/);
    assert.match(row, /Expires in 5 days/);
    assert.match(row, /in 5 days$/, "the badge and the countdown agree");
    assert.match(await text("#conn-acme-oauth"), /Active/);
    assert.equal(await js("return document.querySelector('#conn-books .badge').dataset.status;"), "keyExpiring");
    assert.match(await text("#alerts"), /“books” expires in 5 days \(on \d{4}-\d\d-\d\d\): make a new one and “token-wallet rotate-secret books”/);
    // The CLI, asked through the app's agent with the same clock, says the same.
    const listed = cli("list");
    assert.match(listed.stdout.split("\n").find((l) => l.startsWith("books")) ?? "", /api-key .*expires in 5 days: rotate it/);
    await screenshotTo(path.join(SHOTS, "keys-side-by-side.png"));
    await assertNoKeysInPage("the list", KEYS);
  });

  await t.test("Copy gives the key; its header is the one Pleo accepts", async () => {
    await click("#conn-books");
    await visible("#panel-detail");
    assert.equal(await text("#detail-copy"), "Copy API key");
    await click("#detail-copy");
    await waitFor("the copy", async () => /^API key copied/.test(await text("#detail-message")));
    assert.equal(await waitFor("the clipboard", () => xclip().trim(), 10_000), first.key);
    const header = cli("token", "books", "--format", "header");
    assert.equal(header.status, 0, header.stderr);
    assert.match(header.stdout, /^Authorization: Basic /);
    assert.equal(await introspectStatus(header.stdout.trim().replace(/^Authorization: /, "")), 200);
  });

  await t.test("rotate: a bad new key leaves the old one; a good one replaces it", async () => {
    await click("#detail-rotate");
    await visible("#rotate-box");
    // A form that asks, with nothing failed: the info tone, not the failure colour.
    assert.equal(await toneOf("#rotate-box"), "info");
    assert.notEqual(
      await js("return getComputedStyle(document.getElementById('rotate-box')).backgroundColor;"),
      await js("return getComputedStyle(document.getElementById('confirm-box')).backgroundColor;"),
      "the rotate form is drawn like the disconnect warning",
    );
    await screenshotTo(path.join(SHOTS, "keys-rotate-form.png"));
    // A date that is not one is refused beside the field; no date is asked about first.
    await typeInto("#rotate-expires", "2027-02-30");
    const rotateAt = () => js("const r = document.getElementById('rotate-yes').getBoundingClientRect(); return r.top + window.scrollY;");
    const at = await rotateAt();
    await click("#rotate-yes");
    await waitFor("the refused date", async () => (await text("#rotate-expires-note")) === "2027-02-30 is not a date.");
    assert.equal(await rotateAt(), at, "the refusal moved the replace button");
    await js("const e = document.getElementById('rotate-expires'); e.value = ''; e.dispatchEvent(new Event('input'));");
    await click("#rotate-yes");
    await waitFor("the question about the missing date", async () => /^No expiry date/.test(await text("#rotate-expires-note")));
    await click("#rotate-yes");
    await answerDialog("new key", [revoked.key]);
    await waitFor("the refusal", async () => /^Not rotated: .*refused the API key/.test(await text("#detail-message")), 20_000);
    assert.match(await text("#detail-message"), /The old key is still in place\.$/);
    assert.equal(await toneOf("#detail-message"), "failure");
    assert.equal(cli("token", "books").stdout.trim(), first.key);

    await typeInto("#rotate-expires", isoDate(Math.floor(Date.now() / 1000) + 400 * DAY));
    await click("#rotate-yes");
    await answerDialog("new key", [second.key]);
    await waitFor("the rotation", async () => /^Rotated “books”/.test(await text("#detail-message")), 20_000);
    const said = await text("#detail-message");
    assert.match(said, /revoke it in Pleo’s web app \(Settings → API keys\): client id /);
    assert.match(said, /application "Books sync"/);
    assert.equal(cli("token", "books").stdout.trim(), second.key);
    await waitFor("the badge to settle", async () =>
      (await js("return document.querySelector('#detail-status .badge').dataset.status;")) === "active");
  });

  await t.test("an installation in ERROR is shown for the key and for the OAuth connection", async () => {
    await fetch(`${issuer}/v1/installations/me`, {
      method: "POST",
      headers: { authorization: `Basic ${Buffer.from(`${second.key}:`).toString("base64")}` },
      signal: AbortSignal.timeout(10_000),
    });
    await server(`/_test/installation?company=${encodeURIComponent(second.company)}&status=ERROR&error_code=AUTH_ERROR`, {});
    await click("#detail-check");
    await waitFor("the check", async () => /Its installation is ERROR \(AUTH_ERROR\)/.test(await text("#detail-message")), 20_000);
    await waitFor("the badge", async () =>
      (await js("return document.querySelector('#detail-status .badge').dataset.status;")) === "installationProblem");
    // One Installation row: the status and its error code in words, and when it was read.
    assert.match(await text("#fact-d-installation dd"), /^Error \(Auth error\), checked (just now|\d+ s ago)$/);
    assert.equal(await js("return document.getElementById('fact-d-check-installationStatus');"), null, "the status listed twice");
    // The OAuth connection (the same company): before its check, the row says it was not
    // read yet; then its check reads the installation too.
    await click("#detail-back");
    await click("#conn-acme-oauth");
    await visible("#panel-detail");
    assert.match(await text("#fact-d-installation dd"), /^(Activated, (checked .+|read at sign-in)|not read yet: Check reads it)$/);
    await click("#detail-check");
    await waitFor("the OAuth check", async () => /accepts “acme-oauth”\. Its installation is ERROR \(AUTH_ERROR\)/.test(await text("#detail-message")), 20_000);
    await waitFor("the OAuth connection's Installation row", async () => /^Error \(Auth error\), checked/.test(await text("#fact-d-installation dd")));
    await click("#detail-back");
    await waitFor("the alert", async () => /Pleo reports the installation of “acme-oauth” as ERROR \(AUTH_ERROR\)/.test(await text("#alerts")));
    await screenshotTo(path.join(SHOTS, "keys-installation-error.png"));
    await server(`/_test/installation?company=${encodeURIComponent(second.company)}&status=ACTIVATED`, {});
  });

  await t.test("delete says where to revoke it; nothing is sent to Pleo", async () => {
    const before = (await server("/_test/stats")).api_key_uses;
    await click("#conn-books");
    await visible("#panel-detail");
    await click("#detail-disconnect");
    await visible("#confirm-box");
    assert.match(await text("#confirm-text"), /revoke it in Pleo’s web app/);
    assert.equal(await js("return document.getElementById('confirm-force').closest('label').hidden;"), true);
    await click("#confirm-yes");
    await waitFor("the deletion's note", async () =>
      /Deleted “books” here/.test(await js("return document.getElementById('connections-note')?.textContent ?? '';")), 20_000);
    await visible("#panel-connections");
    assert.equal((await server("/_test/stats")).api_key_uses, before);
  });

  await t.test("no key in the page, its console or the audit log", async () => {
    await assertNoKeysInPage("the end", KEYS);
    const audit = readFileSync(path.join(HOME, PROFILE, "audit.jsonl"), "utf8");
    assert.match(audit, /"event":"secret_rotated"/);
    for (const k of KEYS) assert.ok(!audit.includes(k), "a key in the audit log");
  });

  await t.test("after lock no process of the app's tree holds the passphrase or any key", async () => {
    await click("#lock-button");
    await visible("#view-unlock");
    await new Promise((r) => setTimeout(r, 1500)); // the background thread's next round scrubs its stack
    const tree = processTree(appPid(PROFILE));
    const secrets = { passphrase: PASSPHRASE };
    KEYS.forEach((k, i) => { secrets[`key ${i}`] = k; });
    assert.deepEqual(memoryHits(tree, secrets), [], "found in memory after lock");
  });
});
