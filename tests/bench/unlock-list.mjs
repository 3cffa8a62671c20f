// Unlock -> every connection listed in the app's window, against Argon2id alone at the
// vault's own parameters, measured side by side in one run (the two take turns, so machine
// noise hits both alike). Goal: <= 1.2 x Argon2 alone with 1,000 connections.
//
//   cargo build --release -p token-wallet-app && cargo build -p token-wallet-cli
//   cargo build --release -p token-wallet-core --example seed_connections
//   tests/keyring-session.sh xvfb-run -a node tests/bench/unlock-list.mjs
//
// The vault is a real one in the Secret Service, made by `token-wallet init` with the
// default Argon2id parameters and filled by the `seed_connections` example. The release app
// is driven through WebDriver; the times are taken inside the page, from the unlock form's
// submit to the frame painted after the list's first rows are in it (what the window
// shows: the list draws its first screen at once and the rest in batches after), and to
// the frame painted once it holds every connection.
// Environment: BENCH_CONNECTIONS (default 1000), BENCH_ROUNDS (default 7).

import { execFileSync, spawnSync } from "node:child_process";
import { randomBytes } from "node:crypto";
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import {
  ARTIFACTS,
  CLI,
  DRIVER,
  TARGET,
  appPath,
  click,
  js,
  median,
  newSession,
  runChecked,
  startDriver,
  stopAll,
  visible,
  waitFor,
  walletEnv,
  answerDialog,
} from "../e2e/support.mjs";

const APP = appPath("release");
const SEED = path.join(TARGET, "release/examples/seed_connections");
const CONNECTIONS = Number(process.env.BENCH_CONNECTIONS ?? 1000);
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 7);
const PASSPHRASE = "bench staple Horse battery 42!";
const PROFILE = `unl-${randomBytes(4).toString("hex")}`;
const HOME = mkdtempSync(path.join(tmpdir(), "token-wallet-unl-"));
const PASSFILE = path.join(HOME, "pass");
const ENV = walletEnv({ profile: PROFILE, home: HOME, providers: path.join(HOME, "providers.toml"), extra: {} });

const run = (cmd, args, opts = {}) => runChecked(cmd, args, { env: ENV, timeout: 600_000, ...opts });

/** In the page: the moments (Unix ms, the page's clock) of the frame painted after the
 * list's first rows arrived (window.__firstMs) and after all `n` did (window.__listedMs).
 * The bench subtracts the moment (Unix ms, its own clock: the same system clock) just
 * before it pressed Enter in the native unlock window. */
const WATCH = `
  const n = arguments[0];
  window.__firstMs = null;
  window.__listedMs = null;
  const form = document.getElementById("unlock-form");
  form.addEventListener("submit", () => {
    const list = document.getElementById("connection-list");
    const painted = (set) => requestAnimationFrame(() => requestAnimationFrame(() => set(performance.timeOrigin + performance.now())));
    let first = false;
    const seen = new MutationObserver(() => {
      if (!first && list.childElementCount > 0) { first = true; painted((ms) => { window.__firstMs = ms; }); }
      if (list.childElementCount >= n) { seen.disconnect(); painted((ms) => { window.__listedMs = ms; }); }
    });
    seen.observe(list, { childList: true });
  }, { once: true, capture: true });
`;

async function main() {
  for (const [what, file] of [["the release app", APP], ["the CLI", CLI], ["the seed example", SEED], ["tauri-driver", DRIVER]]) {
    if (!existsSync(file)) throw new Error(`${what} is missing at ${file}`);
  }
  mkdirSync(ARTIFACTS, { recursive: true });
  writeFileSync(PASSFILE, `${PASSPHRASE}\n`, { mode: 0o600 });
  const figures = { connections: CONNECTIONS, rounds: ROUNDS, first_screen_ms: [], listed_ms: [], argon2_ms: [] };
  try {
    run(CLI, ["--profile", PROFILE, "--home", HOME, "--no-agent", "init", "--passphrase-file", PASSFILE], { input: "" });
    const t = Date.now();
    run(SEED, ["fill", String(CONNECTIONS)], { input: `${PASSPHRASE}\n` });
    console.log(`seeded ${CONNECTIONS} connections in ${((Date.now() - t) / 1000).toFixed(1)} s`);

    await startDriver(DRIVER, ENV, path.join(ARTIFACTS, "bench-unlock-list-driver.log"));
    await newSession(APP);
    for (let i = 0; i < ROUNDS; i++) {
      figures.argon2_ms.push(Number(run(SEED, ["argon2", "1"], { input: `${PASSPHRASE}\n` }).trim()));
      await visible("#view-unlock", 30_000);
      await js(WATCH, CONNECTIONS);
      await click("#unlock-submit");
      // Typed, then Enter pressed in the dialog (which has the focus) by one xdotool call
      // started right after the clock is read: nothing else lies between.
      await answerDialog("unlock", [PASSPHRASE], { submit: false });
      const t0 = performance.timeOrigin + performance.now();
      execFileSync("xdotool", ["key", "--clearmodifiers", "Return"], { timeout: 10_000 });
      await js("window.__t0 = arguments[0] - performance.timeOrigin;", t0);
      const ms = (await waitFor("every connection listed", () => js("return window.__listedMs;"), 120_000, 50)) - t0;
      const rows = await js("return document.getElementById('connection-list').childElementCount;");
      if (rows !== CONNECTIONS) throw new Error(`listed ${rows} rows, not ${CONNECTIONS}`);
      figures.listed_ms.push(Math.round(ms));
      figures.first_screen_ms.push(Math.round((await js("return window.__firstMs;")) - t0));
      if (process.env.BENCH_VERBOSE) {
        // The app's own marks (ui/src: unlock sent, answered, list asked, received, drawn).
        console.log(await js("return performance.getEntriesByType('mark').filter((m) => m.name.startsWith('tw:')).map((m) => m.name.slice(3) + ' ' + Math.round(m.startTime - window.__t0)).join(', ');"));
        await js("performance.clearMarks();");
      }
      if (process.env.BENCH_VERBOSE) console.log(`round ${i + 1}: first screen ${figures.first_screen_ms.at(-1)} ms, all listed ${Math.round(ms)} ms; Argon2 alone ${figures.argon2_ms.at(-1)} ms`);
      await click("#lock-button");
    }
  } finally {
    await stopAll();
    spawnSync(CLI, ["--profile", PROFILE, "--home", HOME, "agent", "stop"], { env: ENV, timeout: 10_000 });
    rmSync(HOME, { recursive: true, force: true });
  }
  const f = median(figures.first_screen_ms);
  const l = median(figures.listed_ms);
  const a = median(figures.argon2_ms);
  figures.ratio_first_screen = +(f / a).toFixed(3);
  figures.ratio_all_listed = +(l / a).toFixed(3);
  console.log(`${CONNECTIONS} connections, medians of ${ROUNDS} rounds (Argon2 alone and the app taking turns)`);
  console.log(`Argon2id alone at the vault's parameters:     ${String(a).padStart(6)} ms  (${figures.argon2_ms.join(" ")})`);
  console.log(`unlock -> the list's first screen painted:    ${String(f).padStart(6)} ms  ratio ${figures.ratio_first_screen}  goal <= 1.2: ${figures.ratio_first_screen <= 1.2 ? "met" : "MISSED"}`);
  console.log(`unlock -> all ${CONNECTIONS} rows in the list, painted: ${String(l).padStart(6)} ms  ratio ${figures.ratio_all_listed}`);
  writeFileSync(path.join(ARTIFACTS, "bench-unlock-list.json"), JSON.stringify(figures, null, 2));
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
