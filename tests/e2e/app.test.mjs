// End-to-end test of the desktop app: the real binary, driven over WebDriver (tauri-driver +
// WebKitWebDriver), against the real Secret Service and the real OAuth test server
// (tests/oauth-server, set up like Pleo), whose $BROWSER helper completes the sign-ins.
// First the lock screen, then the whole flow: connect, copy, refresh, rotate, change the
// passphrase, lock / unlock, disconnect.
//
// Run inside a private keyring session with a display:
//   tests/keyring-session.sh xvfb-run -a node --test tests/e2e/
// Needs: target/debug/token-wallet-app (after `npm --prefix ui run build`), target/debug/token-wallet
// (the CLI), and tauri-driver (`cargo install tauri-driver --version ^2 --locked`).
// Screenshots go to artifacts/screenshots/, the driver's log to artifacts/e2e-tauri-driver.log.
// No npm dependencies: WebDriver is plain HTTP through Node's fetch.

import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { execFileSync, spawnSync } from "node:child_process";
import { randomBytes } from "node:crypto";
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import {
  ARTIFACTS,
  CLI,
  DRIVER,
  appPath,
  walletEnv,
  activeId,
  assertAbsentFromPage,
  click,
  find,
  js,
  newSession,
  s,
  screenshotTo,
  sleep,
  startDriver,
  startOAuthServer,
  stopAll,
  text,
  toneOf,
  typeInto,
  visible,
  waitFor,
  wd,
  writeProviders,
  xclip,
  answerDialog,
  appPid,
  cancelDialog,
  memoryHits,
  processTree,
  dialogGone,
} from "./support.mjs";
const APP = appPath("debug");
const SHOTS = path.join(ARTIFACTS, "screenshots");

const PASSPHRASE = "e2e staple Horse battery 42!";
const WRONG = "not the passphrase at all";
const PROFILE = `e2e-${randomBytes(4).toString("hex")}`;
const NEW_PASSPHRASE = "second e2e Passphrase, longer 77";
const HOME = mkdtempSync(path.join(tmpdir(), "token-wallet-e2e-"));
const PROVIDERS = path.join(HOME, "providers.toml");
const SKIP_BROWSER = path.join(HOME, "browser-skip-once");
const ENV = walletEnv({
  profile: PROFILE,
  home: HOME,
  providers: PROVIDERS,
  extra: { TOKEN_WALLET_INSECURE_KDF: "1", TOKEN_WALLET_LOG: "info", BROWSER_SKIP_ONCE_FILE: SKIP_BROWSER },
});
let oauth = null; // the OAuth server child process
let issuer = ""; // http://127.0.0.1:PORT

const screenshot = (name) => screenshotTo(path.join(SHOTS, `${name}.png`));

const assertNoSecretsInDom = (where, extra = []) =>
  assertAbsentFromPage(assert, where, [PASSPHRASE, WRONG, NEW_PASSPHRASE, ...extra]);

async function oauthJson(route, init) {
  const r = await fetch(`${issuer}${route}`, { ...init, signal: AbortSignal.timeout(10_000) });
  return r.json();
}

/** RFC 7662 introspection as the tests' own client: is this token live at the server? */
async function active(token) {
  const v = await oauthJson("/oauth/token/introspect", {
    method: "POST",
    headers: {
      authorization: `Basic ${Buffer.from("tw-introspector:tw-introspector-secret").toString("base64")}`,
      "content-type": "application/x-www-form-urlencoded",
    },
    body: new URLSearchParams({ token }),
  });
  return v.active === true;
}


async function selectOption(selectCss, value) {
  await click(`${selectCss} option[value="${value}"]`);
  const got = await wd("POST", s("/execute/sync"), {
    script: "const e = document.querySelector(arguments[0]); return e.value;",
    args: [selectCss],
  });
  assert.equal(got, value);
}

// ---------------------------------------------------------------- setup

before(async () => {
  for (const [what, file, how] of [
    ["the app", APP, "npm --prefix ui ci && npm --prefix ui run build && cargo build -p token-wallet-app"],
    ["the CLI", CLI, "cargo build -p token-wallet-cli"],
    ["tauri-driver", DRIVER, "cargo install tauri-driver --version ^2 --locked"],
  ]) {
    assert.ok(existsSync(file), `${what} is missing at ${file}; build it with: ${how}`);
  }
  assert.ok(process.env.DISPLAY || process.env.WAYLAND_DISPLAY, "no display: run under `xvfb-run -a`");
  assert.ok(
    process.env.DBUS_SESSION_BUS_ADDRESS,
    "no D-Bus session: run inside tests/keyring-session.sh (a private, unlocked gnome-keyring)",
  );
  mkdirSync(SHOTS, { recursive: true });

  // The OAuth server (real oidc-provider, set up like Pleo), then a providers file naming it.
  ({ child: oauth, issuer } = await startOAuthServer({ ACCESS_TTL: "600" }, path.join(ARTIFACTS, "e2e-oauth-server.log")));
  writeProviders(PROVIDERS, issuer);
  await startDriver(DRIVER, ENV, path.join(ARTIFACTS, "e2e-tauri-driver.log"));
  await newSession(APP);
  // Record everything the page logs, to search it for secrets at the end.
  await wd("POST", s("/execute/sync"), {
    script: `window.__twConsole = [];
      for (const k of ["log", "info", "warn", "error", "debug"]) {
        const orig = console[k].bind(console);
        console[k] = (...a) => { window.__twConsole.push(a.map(String).join(" ")); orig(...a); };
      }
      window.addEventListener("error", (e) => window.__twConsole.push(String(e.message)));
      window.addEventListener("unhandledrejection", (e) => window.__twConsole.push(String(e.reason)));
      return true;`,
    args: [],
  });
});

after(async () => {
  if (oauth && oauth.exitCode === null) oauth.kill("SIGTERM");
  await stopAll();
  rmSync(HOME, { recursive: true, force: true });
});

// ---------------------------------------------------------------- the test

test("lock screen: create, lock, wrong passphrase, throttle, unlock, real Secret Service", { timeout: 180_000 }, async (t) => {
  let vaultIdInUi = "";

  await t.test("a fresh profile offers to create a vault", async () => {
    await visible("#view-create", 30_000);
    assert.match(await text("#context"), new RegExp(`Profile “${PROFILE}”.*Secret Service`));
    assert.match(await text("#banner"), /Test mode/);
    assert.equal(await activeId(), "create-submit", "the create button has focus");
    assert.equal(await js("return document.querySelectorAll('input[type=password]').length;"), 0, "the page has no passphrase field");
    await screenshot("01-create");
  });

  await t.test("the page runs under a strict CSP, without the global Tauri object", async () => {
    // WebDriver's own script is exempt; what it injects into the page is not.
    const probe = await wd("POST", s("/execute/sync"), {
      script: `
        const sc = document.createElement("script");
        sc.textContent = "window.__inlineRan = true";
        document.head.append(sc);
        const st = document.createElement("style");
        st.textContent = "body { outline: 7px solid red }";
        document.head.append(st);
        const styled = getComputedStyle(document.body).outlineWidth === "7px";
        sc.remove(); st.remove();
        return { inline: window.__inlineRan === true, styled, globalTauri: "__TAURI__" in window };`,
      args: [],
    });
    assert.deepEqual(probe, { inline: false, styled: false, globalTauri: false });
  });

  await t.test("create the vault in the native passphrase window; cancelling it changes nothing", async () => {
    await click("#create-submit");
    await cancelDialog("choose a passphrase");
    await dialogGone("choose a passphrase");
    await waitFor("the create button back", async () => (await text("#create-submit")) === "Choose a passphrase…");
    assert.equal(await wd("GET", s(`/element/${await find("#create-error")}/displayed`)), false, "a cancel is not an error");
    await visible("#view-create");
    await click("#create-submit");
    // Too short: the window's Create button stays disabled, Enter does nothing.
    await answerDialog("choose a passphrase", ["short", "short"]);
    await new Promise((r) => setTimeout(r, 500));
    await visible("#view-create");
    await cancelDialog("choose a passphrase");
    await dialogGone("choose a passphrase");
    await click("#create-submit");
    await answerDialog("choose a passphrase", [PASSPHRASE, PASSPHRASE]);
    await visible("#view-unlocked", 30_000);
    await visible("#connections-empty");
    await screenshot("03-connections-empty");
    await click("#tab-keys");
    await visible("#panel-keys");
    assert.equal(await text("#fact-records dd"), "0 connections");
    assert.equal(await text("#fact-generation dd"), "1");
    assert.match(await text("#fact-kdf dd"), /Argon2id · 1 MiB · 1 pass · 1 lane/);
    assert.match(await text("#fact-store dd"), /Secret Service/);
    assert.equal(await text("#fact-service dd"), `token-wallet:${PROFILE}`);
    assert.match(await text("#banner"), /Test vault/);
    vaultIdInUi = await text("#fact-vault-id dd");
    assert.match(vaultIdInUi, /^[0-9a-f]{32}$/);
    await assertNoSecretsInDom("after create");
    await screenshot("03-keys");
  });

  await t.test("lock", async () => {
    await click("#lock-button");
    await visible("#view-unlock");
    assert.equal(await activeId(), "unlock-submit", "the unlock button has focus");
    await screenshot("04-locked");
  });

  await t.test("a wrong passphrase is refused with a clear message", async () => {
    const buttonTop = () => js("return document.getElementById('unlock-submit').getBoundingClientRect().top;");
    const top = await buttonTop();
    await click("#unlock-submit");
    await answerDialog("unlock", [WRONG]);
    await visible("#unlock-error", 30_000);
    // The message comes below the button, which stays where the pointer left it.
    assert.equal(await buttonTop(), top, "the refusal moved the Unlock button");
    // On the unlock screen there is nothing that could have changed: said plainly.
    assert.match(await text("#unlock-error"), /^Wrong passphrase\.$/);
    await assertNoSecretsInDom("after a wrong passphrase");
    await screenshot("05-wrong-passphrase");
  });

  await t.test("repeated failures make the next attempt wait longer", async () => {
    const submit = await find("#unlock-submit");
    const enabled = () => wd("GET", s(`/element/${submit}/enabled`));
    await waitFor("the 1 s wait after the first failure to pass", enabled, 10_000);
    await click("#unlock-submit");
    await answerDialog("unlock", [WRONG]);
    // The second failure asks for 2 s: the countdown shows and the button is disabled.
    await visible("#unlock-wait", 5_000);
    // The wait is only 2 s: read everything first, then assert.
    const waitText = await text("#unlock-wait");
    const errorText = await text("#unlock-error");
    const stillEnabled = await enabled();
    const waitBelow = await js(`return document.getElementById("unlock-wait").getBoundingClientRect().top >=
      document.getElementById("unlock-submit").getBoundingClientRect().bottom;`);
    await screenshot("06-throttled");
    assert.match(waitText, /^2 failed attempts\. Try again in [12] s\.$/);
    assert.match(errorText, /^Wrong passphrase/);
    assert.equal(stillEnabled, false, "unlock is disabled while throttled");
    assert.equal(waitBelow, true, "the wait is said below the Unlock button, not above it");
  });

  await t.test("the right passphrase unlocks", async () => {
    const submit = await find("#unlock-submit");
    await waitFor("the wait to pass", () => wd("GET", s(`/element/${submit}/enabled`)), 10_000);
    await click("#unlock-submit");
    await answerDialog("unlock", [PASSPHRASE]);
    await visible("#view-unlocked", 30_000);
    await click("#tab-keys");
    assert.equal(await text("#fact-records dd"), "0 connections");
    assert.equal(await text("#fact-generation dd"), "1");
    assert.equal(await text("#fact-vault-id dd"), vaultIdInUi);
    await assertNoSecretsInDom("after unlock");
    // Typed in the native window only: no process of the app's tree (the web process
    // above all) holds what was typed, right or wrong.
    const tree = processTree(appPid(PROFILE));
    assert.deepEqual(memoryHits(tree, { passphrase: PASSPHRASE, "wrong passphrase": WRONG }), [], "found in memory");
    await screenshot("07-unlocked-again");
  });

  await t.test("the vault is really in the Secret Service (seen by the CLI)", () => {
    const out = execFileSync(CLI, ["--profile", PROFILE, "--home", HOME, "status", "--json"], {
      env: ENV,
      encoding: "utf8",
      timeout: 60_000,
    });
    const st = JSON.parse(out);
    assert.equal(st.store, "secret-service");
    assert.equal(st.generation, 1);
    assert.equal(st.vault_id, vaultIdInUi);
    assert.equal(st.kdf_below_floor, true);
  });

  const cli = (...args) =>
    spawnSync(CLI, ["--profile", PROFILE, "--home", HOME, ...args], {
      env: ENV,
      encoding: "utf8",
      timeout: 60_000,
      input: "",
    });

  await t.test("the unlocked app serves its agent to the CLI; locking it locks the agent", async () => {
    let r = cli("agent", "status", "--json");
    assert.equal(r.status, 0, r.stderr);
    const st = JSON.parse(r.stdout);
    assert.equal(st.unlocked, true);
    assert.equal(st.profile, PROFILE);
    assert.equal(st.vault_id, vaultIdInUi);
    // Answered by the app's agent, with no passphrase: a connection it does not have.
    r = cli("token", "nope");
    assert.equal(r.status, 1, r.stderr);
    assert.match(r.stderr, /no connection named `nope`/);
    await click("#lock-button");
    await visible("#view-unlock");
    r = cli("agent", "status");
    assert.equal(r.status, 3, r.stdout + r.stderr);
    r = cli("token", "nope");
    assert.equal(r.status, 3, r.stderr);
    assert.match(r.stderr, /locked/);
  });
});

// ---------------------------------------------------------------- the whole flow

test("the whole flow: connect, copy, refresh, rotate, change passphrase, lock/unlock, disconnect", { timeout: 300_000 }, async (t) => {
  const NAME = "pleo-e2e";
  const cliOut = (...args) =>
    spawnSync(CLI, ["--profile", PROFILE, "--home", HOME, ...args], { env: ENV, encoding: "utf8", timeout: 60_000, input: "" });
  let copied = "";
  let refreshed = "";

  await t.test("unlock", async () => {
    await visible("#view-unlock");
    const submit = await find("#unlock-submit");
    await waitFor("unlock to be allowed", () => wd("GET", s(`/element/${submit}/enabled`)), 10_000);
    await click("#unlock-submit");
    await answerDialog("unlock", [PASSPHRASE]);
    await visible("#view-unlocked", 30_000);
    await visible("#connections-empty");
  });

  await t.test("connect through the browser: the wizard, then the connection with its check", async () => {
    await click("#connect-open");
    await visible("#panel-connect");
    assert.equal(await activeId(), "connect-name", "the name field has focus");
    await typeInto("#connect-name", NAME);
    // The providers in words for people: where each comes from, never "(name) · config".
    const options = await js("return [...document.querySelectorAll('#connect-provider option')].map((o) => o.textContent);");
    assert.ok(options.includes("Pleo, built in"), options.join(" | "));
    assert.ok(options.every((o) => !/ · config|\) \(/.test(o)), options.join(" | "));
    await selectOption("#connect-provider", "local-pleo");
    await click("#connect-confidential");
    assert.match(await text("#secret-warning"), /Pleo advises public clients with PKCE/);
    await click("#connect-confidential");
    assert.match(
      await js("return document.getElementById('connect-scopes').placeholder;"),
      /\(the default\)$/,
      "the scopes field says what the default will be",
    );
    // The sign-in button is reachable in a 960 x 760 window: scrolled to, it is whole
    // and it is what a click there hits.
    const before = await wd("GET", s("/window/rect"));
    await wd("POST", s("/window/rect"), { width: 960, height: 760 });
    try {
      const reachable = await js(`const b = document.getElementById("connect-submit");
        b.scrollIntoView({ block: "nearest" });
        const r = b.getBoundingClientRect();
        const hit = document.elementFromPoint(r.left + r.width / 2, r.top + r.height / 2);
        return r.top >= 0 && r.bottom <= window.innerHeight && r.right <= window.innerWidth && (hit === b || b.contains(hit));`);
      await screenshot("10-connect-wizard");
      assert.equal(reachable, true, "the sign-in button is cut off at 960 x 760");
      // The first thing a Pleo user tries: the Pleo preset and no client ID. What is
      // wrong is said beside the Client ID field, in view, in one sentence.
      await selectOption("#connect-provider", "pleo");
      // Where the button is in the page: saying a problem must not move it (nor anything
      // else under the pointer).
      const buttonAt = () => js("const r = document.getElementById('connect-submit').getBoundingClientRect(); return r.top + window.scrollY;");
      const at = await buttonAt();
      await click("#connect-submit");
      await waitFor("the client ID problem", async () => (await text("#connect-client-id-note")) !== "");
      const beside = await js(`const e = document.getElementById("connect-client-id-note");
        const f = document.getElementById("connect-client-id");
        const r = e.getBoundingClientRect();
        return f.getAttribute("aria-invalid") === "true" && f.nextElementSibling === e &&
          f.getAttribute("aria-errormessage") === e.id &&
          document.activeElement === f && r.top >= 0 && r.bottom <= window.innerHeight;`);
      await screenshot("10c-connect-client-id");
      assert.equal(beside, true, "the client ID problem is not beside its field, in view, with the field focused");
      assert.match(await text("#connect-client-id-note"), /^Enter your integration’s client ID: Pleo issues one to each integration/);
      assert.equal(await buttonAt(), at, "saying the problem moved the sign-in button");
      assert.equal(await toneOf("#connect-client-id-note"), "failure");
      await selectOption("#connect-provider", "local-pleo");
    } finally {
      await wd("POST", s("/window/rect"), { width: before.width, height: before.height });
    }
    // A problem is said beside its field, and goes when the field is edited.
    await wd("POST", s(`/element/${await find("#connect-name")}/clear`), {});
    await click("#connect-submit");
    await waitFor("the name problem", async () => (await text("#connect-name-note")) !== "");
    assert.equal(await text("#connect-client-id-note"), "", "the earlier problem is still said");
    assert.equal(await js("return document.getElementById('connect-name').getAttribute('aria-invalid');"), "true");
    await typeInto("#connect-name", NAME);
    await waitFor("the stale problem to go", async () => (await text("#connect-name-note")) === "");
    // The browser does not open this time: the waiting screen offers the link and a new try.
    writeFileSync(SKIP_BROWSER, "");
    await click("#connect-submit");
    await visible("#connect-waiting");
    await waitFor("the skipped browser", () => !existsSync(SKIP_BROWSER), 10_000);
    await click("#connect-copy-link");
    await waitFor("the link copied", async () => /link copied/.test(await text("#connect-wait-message")));
    const link = await waitFor("the link on the clipboard", () => xclip().trim(), 10_000);
    assert.ok(link.startsWith(`${issuer}/`) && /[?&]state=/.test(link) && /[?&]code_challenge=/.test(link), "the clipboard holds the provider's sign-in link");
    await screenshot("10b-connect-waiting");
    await click("#connect-reopen");
    await visible("#panel-detail", 60_000);
    assert.equal(await text("#detail-title"), NAME);
    assert.match(await text("#detail-message"), /Connected “pleo-e2e” to Local Pleo\. The provider confirms it: signed in as /);
    assert.equal(await toneOf("#detail-message"), "success");
    const facts = await text("#detail-facts");
    assert.doesNotMatch(facts, /applicationName|subjectURN|clientId|Check:/, "no developer words in the facts");
    assert.match(facts, /Signed in as/);
    assert.match(await text("#fact-d-expires dd"), /^in (9|10) min/);
    assert.match(await text("#fact-d-refresh-token dd"), /held, never exported/);
    // The account the provider reports is put to the person to confirm.
    assert.match(await text("#account-text"), /is signed in as urn:pleo:company:.*, as the provider reports it\. Is this the account you meant to connect\?/);
    assert.equal(await activeId(), "account-yes");
    await screenshot("11-connected-detail");
    await click("#account-yes");
    assert.equal(await js("return document.getElementById('account-box').hidden;"), true);
  });

  await t.test("the list shows it with its status and a live countdown", async () => {
    await click("#detail-back");
    await visible(`#conn-${NAME}`);
    const row = await text(`#conn-${NAME}`);
    assert.match(row, /pleo-e2e/);
    assert.match(row, /Local Pleo/);
    assert.match(row, /Active/);
    // One status model: the badge says what `token-wallet list` says.
    const badge = await js(`return document.querySelector("#conn-${NAME} .badge").dataset.status;`);
    const listed = cliOut("list");
    assert.equal(listed.status, 0, listed.stderr);
    const line = listed.stdout.split("\n").find((l) => l.includes(NAME)) ?? "";
    assert.match(line, /\bactive\b/, `the CLI lists ${NAME} as active: ${line}`);
    assert.equal(badge, "active");
    const c1 = await text(`#conn-${NAME} .conn-expiry`);
    await sleep(2100);
    const c2 = await text(`#conn-${NAME} .conn-expiry`);
    assert.match(c1, /^in \d+ min \d\d s$/);
    assert.notEqual(c1, c2, "the countdown moves");
    await screenshot("12-connections");
  });

  await t.test("copy: the clipboard holds an access token the server accepts, cleared later", async () => {
    await click(`#conn-${NAME}`);
    const at = (css) => js("const r = document.querySelector(arguments[0]).getBoundingClientRect(); return [r.top, r.bottom];", css);
    const [buttonTop] = await at("#detail-copy");
    await click("#detail-copy");
    await waitFor("the copy message", async () => /copied/.test(await text("#detail-message")));
    const secsLeft = async () => Number((await text("#detail-message")).match(/cleared in (\d+) s/)?.[1]);
    const first = await secsLeft();
    assert.ok(first >= 27 && first <= 30, `the clipboard is cleared in ${first} s, not about 30 s`);
    assert.equal(await toneOf("#detail-message"), "success");
    // The notice counts down with the clock, as Reveal's label does (the page's timers
    // fire about once a second; a busy machine delays some).
    await waitFor("the notice to count down", async () => (await secsLeft()) <= first - 2, 6_000);
    const [buttonTopAfter] = await at("#detail-copy");
    // Below the buttons' block (which may wrap to a second row in a narrow window).
    const [, buttonBottom] = await at("#panel-detail .actions");
    const [noticeTop] = await at("#detail-message");
    assert.equal(buttonTopAfter, buttonTop, "the notice moved the buttons");
    assert.ok(noticeTop >= buttonBottom && noticeTop - buttonBottom < 40, `the notice is beside the buttons (${noticeTop - buttonBottom} px below)`);
    await waitFor("the last export to show", async () => !/never/.test(await text("#fact-d-last-export dd")), 5_000);
    copied = await waitFor("the clipboard", () => xclip().trim(), 10_000);
    assert.ok(await active(copied), "the copied token is live at the server");
    await assertNoSecretsInDom("after copy", [copied]);
    await screenshot("13-copied");
  });

  const revealed = () => js("return document.getElementById('reveal-token').value;");

  await t.test("reveal shows the token only on demand, counting down to hiding it", async () => {
    await click("#detail-reveal");
    await visible("#reveal-box");
    assert.equal(await revealed(), copied);
    const c1 = await text("#reveal-countdown");
    assert.match(c1, /hidden again in \d+ s/);
    await waitFor("the countdown to move", async () => (await text("#reveal-countdown")) !== c1, 3_000);
  });

  await t.test("refresh now: new tokens, which the CLI gets, and the revealed one follows", async () => {
    const before = (await oauthJson("/_test/stats")).refreshes;
    await click("#detail-refresh");
    await waitFor("the refresh message", async () => /Refreshed/.test(await text("#detail-message")), 30_000);
    assert.equal(await toneOf("#detail-message"), "success");
    assert.equal((await oauthJson("/_test/stats")).refreshes, before + 1);
    const r = cliOut("token", NAME);
    assert.equal(r.status, 0, r.stderr);
    refreshed = r.stdout.trim();
    assert.notEqual(refreshed, copied, "a new access token after the refresh");
    assert.ok(await active(refreshed));
    await waitFor("the revealed token to be the new one", async () => (await revealed()) === refreshed, 5_000);
    await screenshot("14-refreshed");
    await click("#reveal-hide");
    await waitFor("the reveal box to hide", async () => !(await wd("GET", s(`/element/${await find("#reveal-box")}/displayed`))));
    await assertNoSecretsInDom("after hiding", [copied, refreshed]);
  });

  await t.test("a failed refresh is a failure, said once, with what still holds", async () => {
    await oauthJson("/_test/fail-token?count=8&status=503", { method: "POST" });
    try {
      await click("#detail-refresh");
      await waitFor("the refresh failure", async () => /Refresh failed/.test(await text("#detail-message")), 30_000);
      assert.equal(await toneOf("#detail-message"), "failure", "a failure is not shown as success");
      const said = await text("#detail-message");
      assert.match(said, /still works \(it expires in \d+ min/);
      assert.match(said, /retries by itself/);
      assert.doesNotMatch(said, /os error|`/);
      const pane = await text("#panel-detail");
      assert.equal(pane.split("503").length - 1, 1, `the error appears once on the screen:\n${pane}`);
      await screenshot("14b-refresh-failed");
    } finally {
      await oauthJson("/_test/fail-token?count=0", { method: "POST" });
    }
  });

  await t.test("re-authorise: a new sign-in replaces the tokens in place", async () => {
    const before = (await oauthJson("/_test/stats")).authorization_code_exchanges;
    await click("#detail-reauth");
    await waitFor("the re-authorisation", async () => /Re-authorised/.test(await text("#detail-message")), 60_000);
    assert.equal((await oauthJson("/_test/stats")).authorization_code_exchanges, before + 1);
    const r = cliOut("token", NAME);
    assert.equal(r.status, 0, r.stderr);
    const fresh = r.stdout.trim();
    assert.notEqual(fresh, refreshed, "new tokens after signing in again");
    assert.ok(await active(fresh));
    refreshed = fresh;
  });

  await t.test("the timeline draws every lifetime on one axis", async () => {
    await click("#tab-timeline");
    await visible("#timeline");
    const bars = await wd("POST", s("/execute/sync"), {
      script: "return [document.querySelectorAll('#timeline .tl-access').length, document.querySelectorAll('#timeline .tl-refresh').length, document.querySelectorAll('#timeline .tl-now').length];",
      args: [],
    });
    assert.deepEqual(bars, [1, 1, 1]);
    // No two axis labels overlap, and none passes the plot's right edge (as drawn).
    const overlaps = await js(`const box = document.getElementById("timeline").getBoundingClientRect();
      const r = [...document.querySelectorAll("#timeline .tl-tick")]
        .filter((e) => e.textContent !== "now").map((e) => e.getBoundingClientRect())
        .sort((a, b) => a.left - b.left);
      const bad = [];
      r.forEach((b, i) => { if (b.right > box.right + 0.5) bad.push("clipped at " + b.right);
        if (i > 0 && b.left < r[i - 1].right) bad.push("overlap at " + b.left); });
      return bad;`);
    assert.deepEqual(overlaps, [], "the timeline's axis labels");
    // The bar's countdown follows the clock without a reload.
    const value = () => text("#timeline .tl-value");
    const v1 = await value();
    await sleep(2100);
    assert.notEqual(await value(), v1, "the timeline's countdown is frozen");
    await screenshot("15-timeline");
  });

  await t.test("rotate the data key, with the connection still readable", async () => {
    await click("#tab-keys");
    assert.equal(await text("#fact-generation dd"), "1");
    // In the default 960 x 760 window the result is scrolled into view, not left below.
    const before = await wd("GET", s("/window/rect"));
    await wd("POST", s("/window/rect"), { width: 960, height: 760 });
    const inView = (id) => js(`const r = document.getElementById(arguments[0]).getBoundingClientRect();
      return r.height > 0 && r.top >= 0 && r.bottom <= window.innerHeight;`, id);
    try {
      await click("#rotate-key");
      await waitFor("the rotation", async () => /generation 2/.test(await text("#rotate-message")), 60_000);
      await waitFor("the rotation's notice in view", () => inView("rotate-message"), 5_000);
    } finally {
      await wd("POST", s("/window/rect"), { width: before.width, height: before.height });
    }
    assert.equal(await text("#fact-generation dd"), "2");
    // The numbers agree: the connections count the Keys facts show is the one the result names.
    assert.equal(await text("#fact-records dd"), "1 connection");
    assert.match(await text("#rotate-message"), /\d+ records? re-encrypted \(1 connection and \d+ records? of the wallet’s own\)\.$/);
    const r = cliOut("token", NAME);
    assert.equal(r.status, 0, r.stderr);
    assert.equal(r.stdout.trim(), refreshed, "the same token, re-encrypted");
    await screenshot("16-rotated");
  });

  await t.test("change the passphrase (a wrong current one is refused)", async () => {
    await click("#pw-submit");
    await answerDialog("change the passphrase", [WRONG, NEW_PASSPHRASE, NEW_PASSPHRASE]);
    await waitFor("the refusal", async () => /Wrong passphrase/.test(await text("#keys-message")), 30_000);
    assert.equal(await toneOf("#keys-message"), "failure");
    assert.equal(
      await js(`const r = document.getElementById("keys-message").getBoundingClientRect();
        return r.top >= 0 && r.bottom <= window.innerHeight;`),
      true,
      "the refusal is cut off at the window's edge",
    );
    await sleep(1200); // the throttle's first wait
    await click("#pw-submit");
    await answerDialog("change the passphrase", [PASSPHRASE, NEW_PASSPHRASE, NEW_PASSPHRASE]);
    await waitFor("the change", async () => /Passphrase changed/.test(await text("#keys-message")), 30_000);
    await assertNoSecretsInDom("after the passphrase change");
    await screenshot("17-passphrase-changed");
  });

  await t.test("the audit log verifies and lists what happened", async () => {
    await click("#tab-audit");
    await waitFor("the verdict", async () => /Verified/.test(await text("#audit-verdict")), 30_000);
    const all = await text("#audit-lines");
    for (const e of ["Connected", "Export", "Refresh ok", "Data key rotated", "Passphrase changed"]) {
      assert.match(all, new RegExp(e), `the audit view shows ${e}`);
    }
    // Copy and Reveal are told apart; an unlock says which program opened the vault.
    const items = await js(`return [...document.querySelectorAll("#audit-lines li")].map((e) => e.textContent);`);
    for (const [what, re] of [
      ["a Copy", /Export.*by token-wallet-app, copied to the clipboard/],
      ["a Reveal", /Export.*by token-wallet-app, revealed in the window/],
      ["the app's unlock", /Vault unlocked.*by token-wallet-app/],
    ]) {
      assert.ok(items.some((i) => re.test(i)), `no audit line for ${what}: ${items.slice(0, 12).join(" | ")}`);
    }
    // The event column starts at one place on every line, whatever the age's width.
    const lefts = await js(`return [...document.querySelectorAll("#audit-lines li .event")]
      .filter((e) => e.offsetParent !== null).map((e) => Math.round(e.getBoundingClientRect().left));`);
    assert.ok(lefts.length > 3, `only ${lefts.length} audit lines`);
    assert.equal(new Set(lefts).size, 1, `the event column moves: ${[...new Set(lefts)].join(", ")}`);
    await typeInto("#audit-filter", "data_key");
    await waitFor("the filter", async () => /^Showing 1 of \d+ lines$/.test(await text("#audit-count")));
    await screenshot("18-audit");
    await wd("POST", s(`/element/${await find("#audit-filter")}/clear`), {});
  });

  await t.test("the settings show and save", async () => {
    await click("#tab-settings");
    await visible("#set-ahead");
    assert.equal(await wd("POST", s("/execute/sync"), { script: "return document.getElementById('set-autolock').value;", args: [] }), "15");
    await selectOption("#set-autolock", "30");
    // Unsaved changes survive a tab switch, and are said.
    await click("#tab-keys");
    await click("#tab-settings");
    assert.equal(await js("return document.getElementById('set-autolock').value;"), "30");
    assert.match(await text("#settings-message"), /Unsaved changes/);
    const [saveTop] = await js("const r = document.getElementById('settings-save').getBoundingClientRect(); return [r.top];");
    await click("#settings-save");
    await waitFor("saved", async () => /Saved/.test(await text("#settings-message")));
    const [saveTopAfter] = await js("const r = document.getElementById('settings-save').getBoundingClientRect(); return [r.top];");
    assert.equal(saveTopAfter, saveTop, "Save settings moved after saving");
    assert.match(await text("#autolock-hint"), /30 min/);
    await screenshot("19-settings");
  });

  await t.test("settings: a backup is written once, and a restore into a vault with connections is refused", async () => {
    const file = path.join(HOME, "e2e.twbackup");
    await typeInto("#backup-path", file);
    await click("#backup-save");
    await waitFor("the backup", async () => /^Wrote \d+ connections? to /.test(await text("#backup-message")));
    assert.ok(existsSync(file), "the backup file exists");
    const bytes = readFileSync(file, "latin1");
    for (const t of (await oauthJson("/_test/secrets")).refresh_tokens) {
      assert.ok(!bytes.includes(t), "a refresh token is in the backup file in the clear");
    }
    // Never over an existing file.
    await click("#backup-save");
    await waitFor("the refusal", async () => /^Not written: .*exists; choose a new file name/.test(await text("#backup-message")));
    await typeInto("#restore-path", file);
    await click("#restore-run");
    await answerDialog("restore", [NEW_PASSPHRASE]);
    await waitFor("the restore refused", async () => /^Not restored: .*already holds connections/.test(await text("#restore-message")));
    await screenshot("19b-backup-restore");
  });

  await t.test("the clipboard no longer holds the token 30 s after the copy", async () => {
    await waitFor("the clipboard to be cleared", () => xclip().trim() !== copied, 45_000, 500);
    assert.equal(xclip().trim(), "");
  });

  await t.test("lock, then unlock with the new passphrase only", async () => {
    await click("#lock-button");
    await visible("#view-unlock");
    assert.equal(cliOut("token", NAME).status, 3, "the agent is locked too");
    await click("#unlock-submit");
    await answerDialog("unlock", [NEW_PASSPHRASE]);
    await visible("#view-unlocked", 30_000);
    await click("#tab-connections");
    await visible(`#conn-${NAME}`);
  });

  await t.test("keyboard: the tabs follow the arrow keys", async () => {
    await click("#tab-connections");
    await wd("POST", s(`/element/${await find("#tab-connections")}/value`), { text: "\uE014" }); // ArrowRight
    assert.equal(await activeId(), "tab-timeline");
    await visible("#panel-timeline");
    await wd("POST", s(`/element/${await find("#tab-timeline")}/value`), { text: "\uE012" }); // ArrowLeft
    assert.equal(await activeId(), "tab-connections");
    await visible(`#conn-${NAME}`);
  });

  await t.test("at 200 % zoom (a 960 px window is then 480 CSS px wide) nothing scrolls sideways", async () => {
    const before = await wd("GET", s("/window/rect"));
    await wd("POST", s("/window/rect"), { width: 480, height: before.height });
    try {
      await waitFor("the window to narrow", async () =>
        (await wd("POST", s("/execute/sync"), { script: "return window.innerWidth;", args: [] })) <= 500,
      );
      for (const pane of ["connections", "timeline", "keys", "audit", "settings"]) {
        await click(`#tab-${pane}`);
        const fits = await wd("POST", s("/execute/sync"), {
          script: "return document.documentElement.scrollWidth <= window.innerWidth + 1;",
          args: [],
        });
        if (pane === "connections") await screenshot("22-zoom-200");
        assert.equal(fits, true, `the ${pane} tab overflows at 480 CSS px`);
      }
    } finally {
      await wd("POST", s("/window/rect"), { width: before.width, height: before.height });
    }
    await click("#tab-connections");
  });

  await t.test("a disconnect the provider does not confirm is a warning, not a success", async () => {
    await oauthJson("/_test/fail-api?count=50&status=503", { method: "POST" });
    await click(`#conn-${NAME}`);
    await click("#detail-disconnect");
    await visible("#confirm-box");
    await click("#confirm-yes");
    await waitFor("the pending notice", async () => /Not disconnected yet/.test(await text("#detail-message")), 30_000);
    assert.equal(await toneOf("#detail-message"), "warning");
    assert.equal(await js("return document.querySelector('#detail-status .badge').dataset.status;"), "revocationPending");
    await screenshot("20a-revocation-pending");
    await oauthJson("/_test/fail-api?count=0", { method: "POST" });
    await click("#detail-back");
  });

  await t.test("disconnect with confirmation: revoked at the server", async () => {
    await click(`#conn-${NAME}`);
    await click("#detail-disconnect");
    await visible("#confirm-box");
    assert.match(await text("#confirm-text"), /revoked at Local Pleo/);
    await screenshot("20-confirm-disconnect");
    // The provider answers again. (The background retry of pending revocations may get
    // there a moment before this click; then the click finds it gone, which is fine.)
    await oauthJson("/_test/fail-api?count=0", { method: "POST" });
    await click("#confirm-yes");
    const how = await waitFor(
      "the disconnect",
      async () =>
        (await js("const n = document.getElementById('connections-note'); return n && !n.hidden ? n.textContent : null;")) ??
        (/no connection named/.test(await text("#detail-message")) ? "gone already" : null),
      30_000,
    );
    if (how !== "gone already") assert.match(how, /revoked at the provider and deleted/);
    await click("#tab-connections");
    await visible("#connections-empty");
    assert.equal(await active(refreshed), false, "the server reports the token inactive");
    await screenshot("21-disconnected");
  });

  await t.test("no refresh token ever reached the DOM, the console or the app's log", async () => {
    const seen = (await oauthJson("/_test/secrets")).refresh_tokens;
    assert.ok(seen.length >= 2, `the server issued refresh tokens (${seen.length})`);
    const src = await wd("GET", s("/source"));
    const logged = await wd("POST", s("/execute/sync"), { script: "return window.__twConsole.join('\\n');", args: [] });
    const driverLog = readFileSync(path.join(ARTIFACTS, "e2e-tauri-driver.log"), "utf8");
    for (const rt of seen) {
      assert.ok(!src.includes(rt), "a refresh token is in the DOM");
      assert.ok(!logged.includes(rt), "a refresh token is in the console");
      assert.ok(!driverLog.includes(rt), "a refresh token is in the app's output");
    }
    for (const at of [copied, refreshed]) assert.ok(!driverLog.includes(at), "an access token is in the app's output");
    await assertNoSecretsInDom("at the end", [copied, refreshed]);
  });
});
