// Closing the window, as a window manager asks (a WM_DELETE_WINDOW message to the app's X
// window, tests/e2e/x-close.py), and the tray's lock state (its menu read over D-Bus as a
// desktop's panel reads it):
// - the tray menu's first line says Locked / Unlocked, and Lock is offered only unlocked,
//   also after the agent was locked from outside the app (as its idle lock does);
// - by default the window hides and the app keeps running in the tray: its agent still
//   answers the CLI, unlocked, with no passphrase; starting the app again shows the window
//   (the single-instance plugin);
// - with "keep running in the tray" off and a sign-in waiting for the browser, the page
//   asks first: Keep Token Wallet open (a button, or Escape) keeps everything, Quit ends
//   the process;
// - off and nothing running: closing quits at once.
// Same needs as app.test.mjs. No OAuth server: the browser here never signs in, so a
// sign-in page that only answers the wallet's check before it opens the browser will do.

import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { spawn, spawnSync } from "node:child_process";
import { createServer } from "node:http";
import { randomBytes } from "node:crypto";
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import {
  ARTIFACTS,
  CLI,
  DRIVER,
  ROOT,
  activeId,
  answerDialog,
  appPath,
  appPid,
  click,
  endSession,
  find,
  js,
  newSession,
  s,
  screenshotTo,
  startDriver,
  stopAll,
  text,
  typeInto,
  visible,
  waitFor,
  walletEnv,
  wd,
} from "./support.mjs";

const APP = appPath("debug");
const SHOTS = path.join(ARTIFACTS, "screenshots");
const PASSPHRASE = "close staple Horse battery 42!";
const PROFILE = `close-${randomBytes(4).toString("hex")}`;
const HOME = mkdtempSync(path.join(tmpdir(), "token-wallet-close-"));
const PROVIDERS = path.join(HOME, "providers.toml");
// A browser that opens nothing (`true`): the sign-in waits until it is stopped.
const ENV = walletEnv({
  profile: PROFILE,
  home: HOME,
  providers: PROVIDERS,
  extra: { TOKEN_WALLET_INSECURE_KDF: "1", TOKEN_WALLET_LOG: "info", BROWSER: "true" },
});

/** x-close.py with a deadline: `close` the app's main window, or its `state`. */
function xClose(what, pid) {
  const r = spawnSync("/usr/bin/python3", [path.join(ROOT, "tests/e2e/x-close.py"), what, String(pid)], {
    encoding: "utf8",
    timeout: 20_000,
  });
  if (r.status !== 0) throw new Error(`x-close ${what}: ${r.error ?? ""}${r.stderr}`);
  return r.stdout.trim();
}

/** Whether process `pid` still runs (gone, or a zombie its parent has not reaped: no). */
function running(pid) {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "latin1");
    return stat.slice(stat.lastIndexOf(")") + 2)[0] !== "Z";
  } catch {
    return false;
  }
}

const windowIs = (pid, state, timeout = 15_000) =>
  waitFor(`the window to be ${state}`, () => xClose("state", pid) === state, timeout, 100);

const cli = (...args) =>
  spawnSync(CLI, ["--profile", PROFILE, "--home", HOME, ...args], { env: ENV, encoding: "utf8", timeout: 60_000, input: "" });

/** The bus name and object path of the app's tray menu, once found. */
const trayAt = new Map();

/** busctl on the test's session bus; its output, or "" if it failed or took over `ms`. */
function busctl(ms, ...args) {
  const bus = [`--address=${process.env.DBUS_SESSION_BUS_ADDRESS}`, "--timeout=2"];
  const r = spawnSync("busctl", [...bus, ...args], { encoding: "utf8", timeout: ms });
  return r.status === 0 ? r.stdout : "";
}

/** The tray menu's top-level items as a desktop's panel reads them (the app's
 * com.canonical.dbusmenu object on the session bus): [[label, enabled]], separators left
 * out; null while there is none. */
function trayMenu(pid) {
  if (!trayAt.has(pid)) {
    const names = JSON.parse(busctl(10_000, "list", "--json=short") || "[]")
      .filter((n) => n.pid === pid && n.name.startsWith(":"))
      .map((n) => n.name);
    for (const name of names) {
      // A connection of the app's that does not answer (its accessibility bus) costs 3 s.
      const menu = busctl(3_000, "tree", name, "--list")
        .split("\n")
        .find((p) => /^\/org\/ayatana\/NotificationItem\/[^/]+\/Menu$/.test(p));
      if (menu) trayAt.set(pid, [name, menu]);
    }
  }
  const at = trayAt.get(pid);
  const out = at && busctl(10_000, "call", ...at, "com.canonical.dbusmenu", "GetLayout", "iias", "0", "1", "2", "label", "enabled", "--json=short");
  if (!out) return null;
  return JSON.parse(out).data[1][2]
    .map((item) => item.data[1])
    .filter((props) => props.label)
    .map((props) => [props.label.data, props.enabled?.data ?? true]);
}

/** Waits until the tray menu says the vault is `state` ("Locked" / "Unlocked"), Lock
 * offered only when unlocked. */
const trayIs = (pid, state) =>
  waitFor(`the tray to say ${state}`, () => {
    const m = trayMenu(pid);
    return m?.[0]?.[0] === state && m[0][1] === false && m.find(([l]) => l === "Lock")?.[1] === (state === "Unlocked");
  }, 15_000, 250);

let signInPage = null; // the sign-in page's HTTP server

const displayed = async (css) => wd("GET", s(`/element/${await find(css)}/displayed`));

before(async () => {
  for (const [what, file] of [["the app", APP], ["the CLI", CLI], ["tauri-driver", DRIVER]]) {
    assert.ok(existsSync(file), `${what} is missing at ${file} (see app.test.mjs for how to build it)`);
  }
  assert.ok(process.env.DISPLAY, "no X display: run under `xvfb-run -a`");
  assert.ok(process.env.DBUS_SESSION_BUS_ADDRESS, "no D-Bus session: run inside tests/keyring-session.sh");
  mkdirSync(SHOTS, { recursive: true });
  // The sign-in page: answers the wallet's check; nothing ever signs in there.
  signInPage = createServer((_req, res) => res.end("<title>Sign in</title>"));
  await new Promise((resolve) => signInPage.listen(0, "127.0.0.1", resolve));
  const at = `http://127.0.0.1:${signInPage.address().port}`;
  writeFileSync(
    PROVIDERS,
    `[providers.nowhere]
display_name = "Nowhere"
authorize_url = "${at}/oauth/authorize"
token_url = "${at}/oauth/token"
client_id = "tw-public"
scopes = ["offline_access"]
`,
  );
  await startDriver(DRIVER, ENV, path.join(ARTIFACTS, "e2e-close-tauri-driver.log"));
  await newSession(APP);
});

after(async () => {
  await stopAll();
  signInPage?.close();
  rmSync(HOME, { recursive: true, force: true });
});

test("closing the window: the tray by default; asked during a sign-in; quits when off", { timeout: 240_000 }, async (t) => {
  let pid = 0;

  await t.test("the tray says locked; a vault, unlocked, and the tray says so; the setting is on by default", async () => {
    await visible("#view-create", 30_000);
    pid = appPid(PROFILE);
    assert.ok(pid, "the app's process");
    await trayIs(pid, "Locked");
    await click("#create-submit");
    await answerDialog("choose a passphrase", [PASSPHRASE, PASSPHRASE]);
    await visible("#view-unlocked", 30_000);
    await trayIs(pid, "Unlocked");
    assert.deepEqual(trayMenu(pid).map(([l]) => l), ["Unlocked", "Open Token Wallet", "Lock", "Copy access token", "Quit"]);
    await click("#tab-settings");
    await visible("#panel-settings");
    await waitFor("the settings read", () => js("return document.getElementById('set-ahead').value !== '';"));
    assert.equal(await js("return document.getElementById('set-tray').checked;"), true);
    assert.match(await js("return document.getElementById('set-tray').closest('label').textContent;"), /Keep running in the tray when the window is closed/);
    assert.match(await text("#set-tray-hint"), /Off: closing the window quits Token Wallet \(it asks first while a sign-in is waiting\)/);
    await screenshotTo(path.join(SHOTS, "close-settings.png"));
    await windowIs(pid, "viewable");
  });

  await t.test("closed by default: hidden, still running, its agent still serving the CLI unlocked", async () => {
    xClose("close", pid);
    await windowIs(pid, "hidden");
    assert.ok(running(pid), "the app still runs");
    const r = cli("agent", "status", "--json");
    assert.equal(r.status, 0, r.stderr);
    const st = JSON.parse(r.stdout);
    assert.equal(st.unlocked, true, "the agent still holds the unlocked vault");
    assert.equal(st.profile, PROFILE);
    // The page still runs too.
    assert.equal(await js("return document.getElementById('view-unlocked').hidden;"), false);
  });

  await t.test("locked from outside the app while hidden (as the idle lock does): the tray says so", async () => {
    const r = cli("lock");
    assert.equal(r.status, 0, r.stderr);
    await trayIs(pid, "Locked");
  });

  await t.test("starting the app again shows the window (no second app)", async () => {
    const second = spawn(APP, [], { env: ENV, stdio: ["ignore", "ignore", "pipe"] });
    let err = "";
    second.stderr.on("data", (d) => (err += d));
    const code = await new Promise((resolve) => {
      const timer = setTimeout(() => {
        second.kill("SIGKILL");
        resolve("timed out after 60 s");
      }, 60_000);
      second.once("exit", (c, sig) => {
        clearTimeout(timer);
        resolve(c ?? sig);
      });
    });
    assert.equal(code, 0, `the second launch hands over and exits: ${err}`);
    await windowIs(pid, "viewable");
    assert.equal(appPid(PROFILE), pid, "still the first app");
    await visible("#view-unlock");
    await screenshotTo(path.join(SHOTS, "close-shown-again.png"));
    await click("#unlock-submit");
    await answerDialog("unlock", [PASSPHRASE]);
    await visible("#view-unlocked", 30_000);
    await trayIs(pid, "Unlocked");
  });

  await t.test("the setting off: saved", async () => {
    await click("#tab-settings");
    await visible("#panel-settings");
    await waitFor("the settings read", () => js("return document.getElementById('set-tray').checked;"));
    await click("#set-tray");
    assert.equal(await js("return document.getElementById('set-tray').checked;"), false);
    await click("#settings-save");
    await waitFor("saved", async () => /^Saved/.test(await text("#settings-message")));
    const saved = JSON.parse(readFileSync(path.join(HOME, PROFILE, "app-settings.json"), "utf8"));
    assert.equal(saved.keepRunningInTray, false);
  });

  await t.test("off, with a sign-in waiting: closing asks in the window; Keep keeps it all", async () => {
    await click("#tab-connections");
    await click("#connect-open");
    await visible("#panel-connect");
    await typeInto("#connect-name", "waits");
    await click('#connect-provider option[value="nowhere"]');
    await click("#connect-submit");
    await visible("#connect-waiting", 30_000).catch(async (e) => {
      throw new Error(`${e.message}; the page says: ${await text("#panel-connect")}`);
    });
    xClose("close", pid);
    await visible("#close-box");
    assert.match(await text("#close-text"), /A sign-in is still waiting for the browser\. Quitting stops it and nothing is stored\./);
    assert.equal(await activeId(), "close-keep", "the safe answer has the focus");
    const inView = await js(`const r = document.getElementById("close-box").getBoundingClientRect();
      return r.top >= 0 && r.bottom <= window.innerHeight && r.height > 0;`);
    assert.equal(inView, true, "the question is in view");
    await screenshotTo(path.join(SHOTS, "close-asks.png"));
    assert.equal(xClose("state", pid), "viewable", "the window stays");
    await click("#close-keep");
    assert.equal(await displayed("#close-box"), false);
    assert.equal(await displayed("#connect-waiting"), true, "the sign-in still waits");
    assert.ok(running(pid));
    // From the keyboard: Escape is Keep too.
    xClose("close", pid);
    await visible("#close-box");
    assert.equal(await activeId(), "close-keep");
    await wd("POST", s(`/element/${await find("#close-keep")}/value`), { text: "\uE00C" });
    await waitFor("the question gone", async () => !(await displayed("#close-box")), 10_000);
    assert.equal(await displayed("#connect-waiting"), true, "the sign-in still waits");
    assert.ok(running(pid));
  });

  await t.test("…and Quit ends the app", async () => {
    xClose("close", pid);
    await visible("#close-box");
    // The app may be gone before WebDriver hears back about the click.
    const clicked = click("#close-quit").catch((e) => e);
    await waitFor("the app to exit", () => !running(pid), 15_000);
    const e = await clicked;
    assert.ok(e === undefined || /unknown error|invalid session/.test(e.message), `${e?.message}`);
  });

  await t.test("off, nothing running: closing quits at once", async () => {
    // WebKitWebDriver keeps a session whose app quit in the middle of a command: a new
    // driver, then.
    await stopAll();
    await startDriver(DRIVER, ENV, path.join(ARTIFACTS, "e2e-close-tauri-driver-2.log"));
    await newSession(APP);
    await visible("#view-unlock", 30_000);
    const again = await waitFor("the app's process", () => appPid(PROFILE));
    await windowIs(again, "viewable");
    xClose("close", again);
    await waitFor("the app to exit", () => !running(again), 15_000);
    await endSession();
  });
});
