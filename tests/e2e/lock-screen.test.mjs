// End-to-end smoke test of the desktop app's lock screen: the real binary, driven over
// WebDriver (tauri-driver + WebKitWebDriver), against the real Secret Service.
//
// Run inside a private keyring session with a display:
//   tests/keyring-session.sh xvfb-run -a node --test tests/e2e/
// Needs: target/debug/token-wallet-app (after `npm --prefix ui run build`), target/debug/token-wallet
// (the CLI), and tauri-driver (`cargo install tauri-driver --version ^2 --locked`).
// Screenshots go to artifacts/screenshots/, the driver's log to artifacts/e2e-tauri-driver.log.
// No npm dependencies: WebDriver is plain HTTP through Node's fetch.

import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { execFileSync, spawn, spawnSync } from "node:child_process";
import { randomBytes } from "node:crypto";
import { createWriteStream, existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { createServer } from "node:net";
import { homedir, tmpdir } from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../..");
const TARGET = process.env.CARGO_TARGET_DIR ? path.resolve(process.env.CARGO_TARGET_DIR) : path.join(ROOT, "target");
const APP = process.env.TOKEN_WALLET_APP ?? path.join(TARGET, "debug/token-wallet-app");
const CLI = process.env.TOKEN_WALLET_CLI ?? path.join(TARGET, "debug/token-wallet");
const DRIVER = process.env.TAURI_DRIVER ?? path.join(homedir(), ".cargo/bin/tauri-driver");
const ARTIFACTS = path.join(ROOT, "artifacts");
const SHOTS = path.join(ARTIFACTS, "screenshots");

const PASSPHRASE = "e2e staple Horse battery 42!";
const WRONG = "not the passphrase at all";
const PROFILE = `e2e-${randomBytes(4).toString("hex")}`;
const HOME = mkdtempSync(path.join(tmpdir(), "token-wallet-e2e-"));
const ENV = {
  ...process.env,
  TOKEN_WALLET_PROFILE: PROFILE,
  TOKEN_WALLET_HOME: HOME,
  TOKEN_WALLET_STORE: "os",
  TOKEN_WALLET_INSECURE_KDF: "1",
};

// W3C WebDriver's web element reference key.
const ELEMENT = "element-6066-11e4-a4f3-4a3c-92f4-38d5-b3b9a9";
const elementId = (ref) => ref?.[ELEMENT] ?? Object.values(ref ?? {})[0];
let driver = null; // the tauri-driver child process
let base = ""; // http://127.0.0.1:PORT
let session = ""; // WebDriver session id

// ---------------------------------------------------------------- plumbing

function portFree(port) {
  return new Promise((resolve) => {
    const s = createServer();
    s.once("error", () => resolve(false));
    s.listen(port, "127.0.0.1", () => s.close(() => resolve(true)));
  });
}

function anyFreePort() {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once("error", reject);
    s.listen(0, "127.0.0.1", () => {
      const { port } = s.address();
      s.close(() => resolve(port));
    });
  });
}

async function pickPort(preferred) {
  return (await portFree(preferred)) ? preferred : anyFreePort();
}

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

/** Polls `fn` until it returns a truthy value (or stops throwing); fails after `timeout`. */
async function waitFor(what, fn, timeout = 15_000, every = 100) {
  const end = Date.now() + timeout;
  let last;
  for (;;) {
    try {
      const v = await fn();
      if (v) return v;
      last = `got ${JSON.stringify(v)}`;
    } catch (e) {
      last = e.message;
    }
    if (Date.now() > end) throw new Error(`timed out after ${timeout} ms waiting for ${what} (${last})`);
    await sleep(every);
  }
}

async function wd(method, route, body) {
  const res = await fetch(`${base}${route}`, {
    method,
    headers: body === undefined ? {} : { "content-type": "application/json; charset=utf-8" },
    body: body === undefined ? undefined : JSON.stringify(body),
    signal: AbortSignal.timeout(60_000),
  });
  const text = await res.text();
  let json;
  try {
    json = JSON.parse(text);
  } catch {
    throw new Error(`${method} ${route}: HTTP ${res.status}: ${text.slice(0, 300)}`);
  }
  if (!res.ok || json?.value?.error) {
    const v = json?.value ?? {};
    throw new Error(`${method} ${route}: ${v.error ?? res.status}: ${v.message ?? text.slice(0, 300)}`);
  }
  return json.value;
}

const s = (route) => `/session/${session}${route}`;

async function find(css) {
  const v = await wd("POST", s("/element"), { using: "css selector", value: css });
  return elementId(v);
}

/** Waits until `css` matches an element that is displayed; returns its id. */
async function visible(css, timeout) {
  return waitFor(`${css} to be visible`, async () => {
    const id = await find(css);
    return (await wd("GET", s(`/element/${id}/displayed`))) ? id : null;
  }, timeout);
}

async function text(css) {
  return wd("GET", s(`/element/${await find(css)}/text`));
}

async function typeInto(css, value) {
  const id = await visible(css);
  await wd("POST", s(`/element/${id}/value`), { text: value });
}

const ENTER = "\uE007";

async function click(css) {
  const id = await visible(css);
  await waitFor(`${css} to be enabled`, () => wd("GET", s(`/element/${id}/enabled`)));
  await wd("POST", s(`/element/${id}/click`), {});
}

async function activeId() {
  const el = await wd("GET", s("/element/active"));
  return wd("GET", s(`/element/${elementId(el)}/attribute/id`));
}

async function screenshot(name) {
  const b64 = await wd("GET", s("/screenshot"));
  writeFileSync(path.join(SHOTS, `${name}.png`), Buffer.from(b64, "base64"));
}

async function assertNoSecretsInDom(where) {
  const src = await wd("GET", s("/source"));
  assert.ok(src.includes("Token Wallet"), `${where}: page source looks wrong`);
  for (const secret of [PASSPHRASE, WRONG]) {
    assert.ok(!src.includes(secret), `${where}: a passphrase appears in the DOM`);
  }
}

function stopDriver() {
  if (driver && driver.exitCode === null && driver.signalCode === null) {
    // Its own process group: tauri-driver, WebKitWebDriver and the app, nothing else.
    try {
      process.kill(-driver.pid, "SIGTERM");
    } catch {}
  }
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

  const port = await pickPort(Number(process.env.TAURI_DRIVER_PORT ?? 4444));
  let nativePort = await pickPort(port === 4444 ? 4445 : 0);
  if (nativePort === port) nativePort = await anyFreePort();
  base = `http://127.0.0.1:${port}`;
  const log = createWriteStream(path.join(ARTIFACTS, "e2e-tauri-driver.log"));
  driver = spawn(DRIVER, ["--port", String(port), "--native-port", String(nativePort)], {
    env: ENV, // inherited by WebKitWebDriver and the app
    stdio: ["ignore", "pipe", "pipe"],
    detached: true, // own process group, so stopDriver() takes its children too
  });
  driver.stdout.pipe(log);
  driver.stderr.pipe(log);
  process.on("exit", stopDriver);
  await waitFor("tauri-driver to answer", async () => {
    if (driver.exitCode !== null) throw new Error(`tauri-driver exited with ${driver.exitCode}`);
    return (await fetch(`${base}/status`, { signal: AbortSignal.timeout(1000) })).ok;
  });
  const created = await waitFor(
    "a WebDriver session",
    () =>
      wd("POST", "/session", {
        capabilities: { alwaysMatch: { "tauri:options": { application: APP } } },
      }),
    30_000,
    500,
  );
  session = created.sessionId;
});

after(async () => {
  try {
    if (session) await wd("DELETE", s(""));
  } catch {}
  stopDriver();
  if (driver) {
    const exited = new Promise((r) => (driver.exitCode !== null || driver.signalCode !== null ? r() : driver.once("exit", r)));
    const killed = await Promise.race([exited.then(() => true), sleep(5000).then(() => false)]);
    if (!killed) {
      try {
        process.kill(-driver.pid, "SIGKILL");
      } catch {}
    }
  }
  rmSync(HOME, { recursive: true, force: true });
});

// ---------------------------------------------------------------- the test

test("lock screen: create, lock, wrong passphrase, throttle, unlock, real Secret Service", { timeout: 180_000 }, async (t) => {
  let vaultIdInUi = "";

  await t.test("a fresh profile offers to create a vault", async () => {
    await visible("#view-create", 30_000);
    assert.match(await text("#context"), new RegExp(`Profile “${PROFILE}”.*Secret Service`));
    assert.match(await text("#banner"), /Test mode/);
    assert.equal(await activeId(), "create-passphrase", "the passphrase field has focus");
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

  await t.test("create the vault (Enter submits)", async () => {
    await typeInto("#create-passphrase", PASSPHRASE);
    assert.equal(await text("#strength-label"), "Strong");
    await typeInto("#create-confirm", PASSPHRASE);
    assert.equal(await text("#confirm-hint"), "The passphrases match.");
    await screenshot("02-create-filled");
    await typeInto("#create-confirm", ENTER);
    await visible("#view-unlocked", 30_000);
    assert.equal(await text("#fact-records dd"), "0 records");
    assert.equal(await text("#fact-generation dd"), "1");
    assert.match(await text("#fact-kdf dd"), /Argon2id · 1 MiB · 1 pass · 1 lane/);
    assert.match(await text("#fact-store dd"), /Secret Service/);
    assert.equal(await text("#fact-service dd"), `token-wallet:${PROFILE}`);
    assert.match(await text("#banner"), /Test vault/);
    vaultIdInUi = await text("#fact-vault-id dd");
    assert.match(vaultIdInUi, /^[0-9a-f]{32}$/);
    await assertNoSecretsInDom("after create");
    await screenshot("03-unlocked");
  });

  await t.test("lock", async () => {
    await click("#lock-button");
    await visible("#view-unlock");
    assert.equal(await activeId(), "unlock-passphrase", "the passphrase field has focus");
    await screenshot("04-locked");
  });

  await t.test("a wrong passphrase is refused with a clear message", async () => {
    await typeInto("#unlock-passphrase", WRONG + ENTER);
    await visible("#unlock-error", 30_000);
    assert.match(await text("#unlock-error"), /^Wrong passphrase; nothing was changed\.$/);
    await assertNoSecretsInDom("after a wrong passphrase");
    await screenshot("05-wrong-passphrase");
  });

  await t.test("repeated failures make the next attempt wait longer", async () => {
    const submit = await find("#unlock-submit");
    const enabled = () => wd("GET", s(`/element/${submit}/enabled`));
    await waitFor("the 1 s wait after the first failure to pass", enabled, 10_000);
    await typeInto("#unlock-passphrase", WRONG + ENTER);
    // The second failure asks for 2 s: the countdown shows and the button is disabled.
    await visible("#unlock-wait", 5_000);
    // The wait is only 2 s: read everything first, then assert.
    const waitText = await text("#unlock-wait");
    const errorText = await text("#unlock-error");
    const stillEnabled = await enabled();
    await screenshot("06-throttled");
    assert.match(waitText, /^2 failed attempts\. Try again in [12] s\.$/);
    assert.match(errorText, /^Wrong passphrase/);
    assert.equal(stillEnabled, false, "unlock is disabled while throttled");
  });

  await t.test("the right passphrase unlocks", async () => {
    await typeInto("#unlock-passphrase", PASSPHRASE);
    await click("#unlock-submit");
    await visible("#view-unlocked", 30_000);
    assert.equal(await text("#fact-records dd"), "0 records");
    assert.equal(await text("#fact-generation dd"), "1");
    assert.equal(await text("#fact-vault-id dd"), vaultIdInUi);
    await assertNoSecretsInDom("after unlock");
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
