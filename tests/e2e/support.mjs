// Shared plumbing for the WebDriver tests and the app benchmark: WebDriver over plain HTTP
// (Node's fetch, no npm dependencies), tauri-driver and the test OAuth server as child
// processes. One driver and one session per process (module state).

import { spawn, spawnSync } from "node:child_process";
import { createWriteStream, writeFileSync } from "node:fs";
import { createServer } from "node:net";
import { homedir } from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";

export const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../..");
/** Cargo's target directory, and the built programs the app tests drive. */
export const TARGET = process.env.CARGO_TARGET_DIR ? path.resolve(process.env.CARGO_TARGET_DIR) : path.join(ROOT, "target");
/** The app, `profile` being the cargo profile it was built with (`debug` or `release`). */
export const appPath = (profile) => process.env.TOKEN_WALLET_APP ?? path.join(TARGET, `${profile}/token-wallet-app`);
export const CLI = process.env.TOKEN_WALLET_CLI ?? path.join(TARGET, "debug/token-wallet");
export const DRIVER = process.env.TAURI_DRIVER ?? path.join(homedir(), ".cargo/bin/tauri-driver");
export const ARTIFACTS = path.join(ROOT, "artifacts");
/** The test browser: signs in to the test OAuth server as a person would. */
export const BROWSER = path.join(ROOT, "tests/oauth-server/browser");

// W3C WebDriver's web element reference key.
export const ELEMENT = "element-6066-11e4-a4f3-4a3c-92f4-38d5-b3b9a9";
export const elementId = (ref) => ref?.[ELEMENT] ?? Object.values(ref ?? {})[0];
let driver = null; // the tauri-driver child process
let base = ""; // http://127.0.0.1:PORT
export let session = ""; // WebDriver session id

// ---------------------------------------------------------------- plumbing

export function portFree(port) {
  return new Promise((resolve) => {
    const s = createServer();
    s.once("error", () => resolve(false));
    s.listen(port, "127.0.0.1", () => s.close(() => resolve(true)));
  });
}

export function anyFreePort() {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once("error", reject);
    s.listen(0, "127.0.0.1", () => {
      const { port } = s.address();
      s.close(() => resolve(port));
    });
  });
}

export async function pickPort(preferred) {
  return (await portFree(preferred)) ? preferred : anyFreePort();
}

export const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

/** The median of `xs` (the upper one of an even count). */
export const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

/** Polls `fn` until it returns a truthy value (or stops throwing); fails after `timeout`. */
export async function waitFor(what, fn, timeout = 15_000, every = 100) {
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

/** Runs `cmd` to its end (at most 2 minutes, unless `opts.timeout` says otherwise) and
 * returns its standard output; throws with its standard error if it failed. */
export function runChecked(cmd, args, opts = {}) {
  const r = spawnSync(cmd, args, { encoding: "utf8", timeout: 120_000, ...opts });
  if (r.status !== 0) throw new Error(`${path.basename(cmd)} ${args[0] ?? ""}: ${r.error ?? ""}${r.stderr}`);
  return r.stdout;
}

export async function wd(method, route, body) {
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

export const s = (route) => `/session/${session}${route}`;

/** Runs `script` in the page (arguments as `arguments[i]`). */
export const js = (script, ...args) => wd("POST", s("/execute/sync"), { script, args });

export async function find(css) {
  const v = await wd("POST", s("/element"), { using: "css selector", value: css });
  return elementId(v);
}

/** Waits until `css` matches an element that is displayed; returns its id. */
export async function visible(css, timeout) {
  return waitFor(`${css} to be visible`, async () => {
    const id = await find(css);
    return (await wd("GET", s(`/element/${id}/displayed`))) ? id : null;
  }, timeout);
}

/** Runs `f` again (up to 5 times) when the element it found was replaced meanwhile: the
 * page redraws after background events, between a find and the use of its result. */
async function fresh(f) {
  for (let i = 0; ; i++) {
    try {
      return await f();
    } catch (e) {
      if (i >= 4 || !/stale element/.test(e.message)) throw e;
      await sleep(50);
    }
  }
}

export async function text(css) {
  return fresh(async () => wd("GET", s(`/element/${await find(css)}/text`)));
}

export async function typeInto(css, value) {
  await fresh(async () => {
    const id = await visible(css);
    await wd("POST", s(`/element/${id}/value`), { text: value });
  });
}

export const ENTER = "\uE007";

export async function click(css) {
  await fresh(async () => {
    const id = await visible(css);
    await waitFor(`${css} to be enabled`, () => wd("GET", s(`/element/${id}/enabled`)));
    await wd("POST", s(`/element/${id}/click`), {});
  });
}

/** The notice's tone (`success`, `warning`, `failure`, `info`) from its class. */
export const toneOf = async (css) => (await js("return document.querySelector(arguments[0]).className;", css)).match(/tone-(\w+)/)?.[1];

/** The X clipboard's text ("" when empty: xclip then fails). */
export const xclip = () => {
  const r = spawnSync("xclip", ["-o", "-selection", "clipboard"], { encoding: "utf8", timeout: 10_000 });
  return r.status === 0 ? r.stdout : "";
};

/** Fails if any of `secrets` is in the page source or left in a form field (the page
 * source omits input values, so every field's value is read too). */
export async function assertAbsentFromPage(assert, where, secrets) {
  const src = await wd("GET", s("/source"));
  assert.ok(src.includes("Token Wallet"), `${where}: page source looks wrong`);
  const values = await js("return [...document.querySelectorAll('input, textarea')].map((i) => i.value).join('\\n');");
  for (const secret of secrets) {
    assert.ok(!src.includes(secret), `${where}: a secret appears in the DOM`);
    assert.ok(!values.includes(secret), `${where}: a secret is left in a form field`);
  }
}

export async function activeId() {
  const el = await wd("GET", s("/element/active"));
  return wd("GET", s(`/element/${elementId(el)}/attribute/id`));
}

let appExe = ""; // the app binary of the current session

/** Saves the app's window as the X server shows it (tests/e2e/x-screenshot.py), after two
 * painted frames. Not WebDriver's screenshot: that waits on the web process's own
 * snapshot path, which stalls under the shared-memory renderer the app uses. */
export async function screenshotTo(file) {
  await wd("POST", s("/execute/async"), {
    script: "const done = arguments[arguments.length - 1]; requestAnimationFrame(() => requestAnimationFrame(() => done(true)));",
    args: [],
  });
  const r = spawnSync("/usr/bin/python3", [path.join(ROOT, "tests/e2e/x-screenshot.py"), appExe, file], { encoding: "utf8", timeout: 20_000 });
  if (r.status !== 0) throw new Error(`screenshot ${path.basename(file)}: ${r.error ?? ""}${r.stderr}`);
}

export function stopDriver() {
  if (driver && driver.exitCode === null && driver.signalCode === null) {
    // Its own process group: tauri-driver, WebKitWebDriver and the app, nothing else.
    try {
      process.kill(-driver.pid, "SIGTERM");
    } catch {}
  }
}


/** Starts tauri-driver with `env` (inherited by WebKitWebDriver and the app), its output
 * to `logPath`. */
export async function startDriver(driverPath, env, logPath) {
  const port = await pickPort(Number(process.env.TAURI_DRIVER_PORT ?? 4444));
  let nativePort = await pickPort(port === 4444 ? 4445 : 0);
  if (nativePort === port) nativePort = await anyFreePort();
  base = `http://127.0.0.1:${port}`;
  const log = createWriteStream(logPath);
  driver = spawn(driverPath, ["--port", String(port), "--native-port", String(nativePort)], {
    env,
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
}

/** Launches `app` in a new WebDriver session. */
export async function newSession(app) {
  const created = await waitFor(
    "a WebDriver session",
    () => wd("POST", "/session", { capabilities: { alwaysMatch: { "tauri:options": { application: app } } } }),
    30_000,
    500,
  );
  session = created.sessionId;
  appExe = app;
  return session;
}

/** Ends the session (the app quits). */
export async function endSession() {
  try {
    if (session) await wd("DELETE", s(""));
  } catch {}
  session = "";
}

/** Ends the session and stops tauri-driver with its children. */
export async function stopAll() {
  await endSession();
  stopDriver();
  if (driver) {
    const d = driver;
    const exited = new Promise((r) => (d.exitCode !== null || d.signalCode !== null ? r() : d.once("exit", r)));
    const killed = await Promise.race([exited.then(() => true), sleep(5000).then(() => false)]);
    if (!killed) {
      try {
        process.kill(-d.pid, "SIGKILL");
      } catch {}
    }
  }
}

/** Starts the test OAuth server (tests/oauth-server, set up like Pleo); returns the child
 * and its issuer URL. A server that prints no address within 20 s is killed and started
 * once more; a second miss fails with a message saying what hung. */
export async function startOAuthServer(env, logPath) {
  for (let attempt = 1; attempt <= 2; attempt++) {
    const child = spawn(process.execPath, [path.join(ROOT, "tests/oauth-server/server.mjs")], {
      env: { ...process.env, PORT: "0", ...env },
      stdio: ["ignore", "pipe", "pipe"],
    });
    child.stderr.pipe(createWriteStream(logPath, { flags: "a" }));
    let timer;
    const first = await new Promise((resolve, reject) => {
      let buf = "";
      timer = setTimeout(() => resolve(null), 20_000);
      child.stdout.on("data", (d) => {
        buf += d;
        if (buf.includes("\n")) resolve(buf.split("\n")[0]);
      });
      child.once("exit", (c) => reject(new Error(`the OAuth server exited with ${c}`)));
    }).finally(() => clearTimeout(timer));
    if (first !== null) return { child, issuer: JSON.parse(first).issuer };
    child.kill("SIGKILL");
    console.error(`e2e: the OAuth server printed no address within 20 s (attempt ${attempt} of 2)`);
  }
  throw new Error("the OAuth server (tests/oauth-server/server.mjs) hung twice on start");
}

/** A providers file with `local-pleo`: the test server as a Pleo-style provider (Pleo's
 * revocation and introspection check), public client with PKCE on a loopback redirect. */
export function writeProviders(file, issuer) {
  writeFileSync(
    file,
    `[providers.local-pleo]
display_name = "Local Pleo"
authorize_url = "${issuer}/oauth/authorize"
token_url = "${issuer}/oauth/token"
api_base = "${issuer}"
revocation = "pleo"
check = "pleo"
client_id = "tw-public"
scopes = ["offline_access", "users:read"]
`,
  );
}

/**
 * The environment the app and the CLI run with in these tests: the profile, data directory
 * and providers file given, the real OS keystore, the test browser, and `extra`.
 */
export function walletEnv({ profile, home, providers, extra = {} }) {
  return {
    ...process.env,
    TOKEN_WALLET_PROFILE: profile,
    TOKEN_WALLET_HOME: home,
    TOKEN_WALLET_STORE: "os",
    TOKEN_WALLET_PROVIDERS: providers,
    BROWSER,
    ...extra,
  };
}
