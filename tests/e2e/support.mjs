// Shared plumbing for the WebDriver tests and the app benchmark: WebDriver over plain HTTP
// (Node's fetch, no npm dependencies), tauri-driver and the test OAuth server as child
// processes. One driver and one session per process (module state).

import { spawn, spawnSync } from "node:child_process";
import { closeSync, createWriteStream, openSync, readFileSync, readSync, readdirSync, writeFileSync } from "node:fs";
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

// ---------------------------------------------------------------- the native dialogs

/** xdotool, with a deadline: the native passphrase and key windows are GTK's, outside the
 * page, so a person's typing is played on the X display (as a person would type). */
function xdo(args) {
  return spawnSync("xdotool", args, { encoding: "utf8", timeout: 10_000 });
}

/** The X window id of the app's native dialog whose title contains `title`. */
export async function dialog(title, timeout = 15_000) {
  return waitFor(`the “${title}” window`, () => {
    const r = xdo(["search", "--onlyvisible", "--name", title]);
    return r.status === 0 ? r.stdout.trim().split("\n")[0] : null;
  }, timeout, 100);
}

/** Types `values` into the native dialog titled `title`, one per field (Tab between), and
 * presses Enter (unless `submit` is false). */
export async function answerDialog(title, values, { submit = true } = {}) {
  const id = await dialog(title);
  const run = (args) => {
    const r = xdo(args);
    if (r.status !== 0) throw new Error(`xdotool ${args[0]}: ${r.error ?? ""}${r.stderr}`);
  };
  run(["windowfocus", "--sync", id]);
  values.forEach((v, i) => {
    if (i > 0) run(["key", "--clearmodifiers", "Tab"]);
    run(["type", "--clearmodifiers", "--delay", "8", v]);
  });
  if (submit) run(["key", "--clearmodifiers", "Return"]);
  return id;
}

/** Closes the native dialog titled `title` with Escape (the person cancels). */
export async function cancelDialog(title) {
  const id = await dialog(title);
  xdo(["windowfocus", "--sync", id]);
  xdo(["key", "--clearmodifiers", "Escape"]);
}

/** Waits until no native dialog titled `title` is shown. */
export async function dialogGone(title, timeout = 15_000) {
  await waitFor(`the “${title}” window to close`, () => xdo(["search", "--onlyvisible", "--name", title]).status !== 0, timeout);
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

// ---------------------------------------------------------------- memory scans

/** The process `pid` and all its descendants (by each process's parent in /proc/N/stat). */
export function processTree(pid) {
  const parent = new Map();
  for (const d of readdirSync("/proc")) {
    if (!/^\d+$/.test(d)) continue;
    try {
      const stat = readFileSync(`/proc/${d}/stat`, "latin1");
      parent.set(Number(d), Number(stat.slice(stat.lastIndexOf(")") + 2).split(" ")[1]));
    } catch { /* gone */ }
  }
  const tree = [pid];
  for (let i = 0; i < tree.length; i++) {
    for (const [child, p] of parent) if (p === tree[i]) tree.push(child);
  }
  return tree;
}

/** The forms a secret takes in a memory dump: raw (UTF-8 and UTF-16LE, as WebKit keeps
 * strings), hex (both cases), and base64 standard and URL-safe at the three alignments it
 * can start at (trimmed to the characters that do not depend on the neighbouring bytes). */
export function encodings(secret) {
  const raw = Buffer.from(secret, "utf8");
  const forms = [["raw", raw], ["utf16", Buffer.from(secret, "utf16le")], ["hex", Buffer.from(raw.toString("hex"))], ["HEX", Buffer.from(raw.toString("hex").toUpperCase())]];
  for (let skip = 0; skip < 3; skip++) {
    const shifted = Buffer.concat([Buffer.alloc(skip), raw]);
    for (const [name, enc] of [["base64", "base64"], ["base64url", "base64url"]]) {
      const text = shifted.toString(enc).replace(/=+$/, "");
      const start = Math.ceil((skip * 4) / 3);
      const end = text.length - 2;
      if (end > start + 8) forms.push([name, Buffer.from(text.slice(start, end))]);
    }
  }
  return forms;
}

/** Where `secrets` ({ name: value }) occur, in any of their [`encodings`], in the readable
 * memory of each process in `pids`: ["passphrase (utf16) in 1234 WebKitWebProcess x2", ...].
 * A process whose memory cannot be opened is listed as "unreadable: PID NAME". */
export function memoryHits(pids, secrets) {
  const needles = Object.entries(secrets).flatMap(([name, v]) => encodings(v).map(([how, b]) => [`${name} (${how})`, b]));
  const hits = [];
  for (const pid of pids) {
    let comm = "";
    let maps = "";
    let fd;
    try {
      comm = readFileSync(`/proc/${pid}/comm`, "latin1").trim();
      maps = readFileSync(`/proc/${pid}/maps`, "latin1");
      fd = openSync(`/proc/${pid}/mem`, "r");
    } catch (e) {
      // A process that ended meanwhile (the browser helper) has nothing left to read.
      if (e.code !== "ENOENT" && e.code !== "ESRCH") hits.push(`unreadable: ${pid} ${comm} (${e.code})`);
      continue;
    }
    const counts = new Map();
    try {
      for (const line of maps.split("\n")) {
        const f = line.split(/\s+/);
        if (f.length < 5 || !f[1].startsWith("r") || /\[(vvar|vsyscall|vvar_vclock)\]/.test(line)) continue;
        const [a, b] = f[0].split("-").map((x) => BigInt(`0x${x}`));
        const len = Number(b - a);
        if (len > 512 * 1024 * 1024) continue; // a reservation, not data
        const buf = Buffer.alloc(len);
        let got = 0;
        try {
          got = readSync(fd, buf, 0, len, a);
        } catch {
          continue; // a guard page or a mapping that went away
        }
        const view = buf.subarray(0, got);
        for (const [what, n] of needles) {
          let at = view.indexOf(n);
          while (at !== -1) {
            counts.set(what, (counts.get(what) ?? 0) + 1);
            at = view.indexOf(n, at + 1);
          }
        }
      }
    } finally {
      closeSync(fd);
    }
    for (const [what, c] of counts) hits.push(`${what} in ${pid} ${comm} x${c}`);
  }
  return hits;
}

/** The app process serving `profile` (the one tauri-driver started). */
export function appPid(profile) {
  const out = spawnSync("pgrep", ["-x", "token-wallet-ap"], { encoding: "utf8", timeout: 10_000 }).stdout.trim();
  const pids = out ? out.split("\n").map(Number) : [];
  return pids.find((p) => {
    try {
      return readFileSync(`/proc/${p}/environ`, "latin1").includes(`TOKEN_WALLET_PROFILE=${profile}\0`);
    } catch {
      return false;
    }
  });
}
