// The desktop app's benchmark (issue: ≤ 15 MB binary, ≤ 150 MB idle RSS after unlock with
// 100 connections, ≤ 1 s from launch to an interactive unlock screen under Xvfb, measured
// through WebDriver). Prints its figures and writes artifacts/bench-app.json.
//
//   cargo build --release -p token-wallet-app   (or the bundle: ui/node_modules/.bin/tauri build)
//   cargo build -p token-wallet-cli
//   tests/keyring-session.sh xvfb-run -a node tests/bench/app.mjs
//
// The vault uses the real Argon2id settings (64 MiB, t=3, p=4) and the real Secret Service;
// the 100 connections are made by the CLI against the test OAuth server (real sign-ins).
// Launch time: from the WebDriver "new session" request (which starts the app) until the
// Unlock button is displayed and enabled; the median of 7 launches. RSS: VmRSS of the app and of its WebKit processes, 10 s after
// the unlocked list has drawn all 100 connections.

import { spawnSync } from "node:child_process";
import { randomBytes } from "node:crypto";
import { existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import {
  ARTIFACTS,
  CLI,
  DRIVER,
  TARGET,
  appPath,
  walletEnv,
  endSession,
  find,
  median,
  newSession,
  s,
  sleep,
  startDriver,
  startOAuthServer,
  stopAll,
  visible,
  waitFor,
  wd,
  writeProviders,
  answerDialog,
  click,
} from "../e2e/support.mjs";

const APP = appPath("release");
const CONNECTIONS = Number(process.env.BENCH_CONNECTIONS ?? 100);
const LAUNCHES = 7;

const PASSPHRASE = "bench staple Horse battery 42!";
const PROFILE = `bench-${randomBytes(4).toString("hex")}`;
const HOME = mkdtempSync(path.join(tmpdir(), "token-wallet-bench-"));
const PROVIDERS = path.join(HOME, "providers.toml");
const PASSFILE = path.join(HOME, "pass");
const ENV = walletEnv({ profile: PROFILE, home: HOME, providers: PROVIDERS, extra: {} });

function cli(...args) {
  const r = spawnSync(CLI, ["--profile", PROFILE, "--home", HOME, "--providers", PROVIDERS, ...args], {
    env: ENV,
    encoding: "utf8",
    timeout: 120_000,
    input: "",
  });
  if (r.status !== 0) throw new Error(`token-wallet ${args[0]}: ${r.stderr}`);
  return r.stdout;
}

/** VmRSS in KiB of `pid`. */
function rssKib(pid) {
  const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, "utf8"));
  return m ? Number(m[1]) : 0;
}

/** Proportional set size in KiB (shared pages split among their users). */
function pssKib(pid) {
  const m = /^Pss:\s+(\d+) kB/m.exec(readFileSync(`/proc/${pid}/smaps_rollup`, "utf8"));
  return m ? Number(m[1]) : 0;
}

/** RSS and PSS of the app and of its WebKit child processes. */
function memory(pid) {
  const procs = [pid, ...children(pid)].map((p) => ({ name: comm(p), rss: rssKib(p), pss: pssKib(p) }));
  return {
    app_rss: procs[0].rss,
    app_pss: procs[0].pss,
    procs,
    total_rss: procs.reduce((n, p) => n + p.rss, 0),
    total_pss: procs.reduce((n, p) => n + p.pss, 0),
  };
}

function children(pid) {
  const out = spawnSync("pgrep", ["-P", String(pid)], { encoding: "utf8" }).stdout.trim();
  return out ? out.split("\n").map(Number) : [];
}

function comm(pid) {
  try {
    return readFileSync(`/proc/${pid}/comm`, "utf8").trim();
  } catch {
    return "?";
  }
}

/** The running app's pid (a child of WebKitWebDriver, itself a child of tauri-driver). */
function appPid() {
  const out = spawnSync("pgrep", ["-x", "token-wallet-ap"], { encoding: "utf8" }).stdout.trim();
  const pids = out ? out.split("\n").map(Number) : [];
  return pids.find((p) => readFileSync(`/proc/${p}/environ`, "latin1").includes(`TOKEN_WALLET_PROFILE=${PROFILE}`));
}

function debSize() {
  const dir = path.join(TARGET, "release/bundle/deb");
  if (!existsSync(dir)) return null;
  const deb = readdirSync(dir).find((f) => f.endsWith(".deb"));
  return deb ? { file: deb, bytes: statSync(path.join(dir, deb)).size } : null;
}

async function main() {
  for (const [what, file] of [["the release app", APP], ["the CLI", CLI], ["tauri-driver", DRIVER]]) {
    if (!existsSync(file)) throw new Error(`${what} is missing at ${file}`);
  }
  mkdirSync(ARTIFACTS, { recursive: true });
  const figures = {};

  // 1. Binary size.
  figures.binary_bytes = statSync(APP).size;
  figures.deb = debSize();

  // 2. A vault with 100 connections (real Argon2id, real Secret Service, real sign-ins).
  const { child: oauth, issuer } = await startOAuthServer({ ACCESS_TTL: "3600" }, path.join(ARTIFACTS, "bench-oauth-server.log"));
  try {
    writeProviders(PROVIDERS, issuer);
    writeFileSync(PASSFILE, `${PASSPHRASE}\n`, { mode: 0o600 });
    cli("init", "--passphrase-file", PASSFILE);
    const t0 = Date.now();
    for (let i = 0; i < CONNECTIONS; i++) {
      cli("connect", `conn-${String(i).padStart(3, "0")}`, "--provider", "local-pleo", "--passphrase-file", PASSFILE, "--timeout", "30");
    }
    figures.setup_connect_secs = (Date.now() - t0) / 1000;

    await startDriver(DRIVER, ENV, path.join(ARTIFACTS, "bench-tauri-driver.log"));

    // 3. Launch to an interactive unlock screen.
    const launches = [];
    for (let i = 0; i < LAUNCHES; i++) {
      const start = performance.now();
      await newSession(APP);
      await visible("#unlock-submit", 30_000);
      const submit = await find("#unlock-submit");
      await waitFor("unlock to be enabled", () => wd("GET", s(`/element/${submit}/enabled`)), 10_000, 10);
      launches.push(performance.now() - start);
      if (i < LAUNCHES - 1) {
        await endSession();
        await sleep(300);
      }
    }
    figures.launch_ms = { median: Math.round(median(launches)), all: launches.map(Math.round) };
    await sleep(5000);
    const lockedPid = appPid();
    if (!lockedPid) throw new Error("cannot find the app's process");
    figures.locked = memory(lockedPid);

    // 4. Idle RSS after unlock with 100 connections.
    await click("#unlock-submit");
    await answerDialog("unlock", [PASSPHRASE]);
    await visible("#view-unlocked", 60_000);
    await waitFor(
      `${CONNECTIONS} connections listed`,
      async () =>
        (await wd("POST", s("/execute/sync"), {
          script: "return document.querySelectorAll('#connection-list .conn').length;",
          args: [],
        })) === CONNECTIONS,
      60_000,
      200,
    );
    await sleep(10_000);
    const pid = appPid();
    if (!pid) throw new Error("cannot find the app's process");
    figures.unlocked = memory(pid);
  } finally {
    oauth.kill("SIGTERM");
    await stopAll();
    spawnSync(CLI, ["--profile", PROFILE, "--home", HOME, "agent", "stop"], { env: ENV });
    rmSync(HOME, { recursive: true, force: true });
  }

  const mb = (b) => (b / 1e6).toFixed(1);
  const mib = (k) => (k / 1024).toFixed(1);
  console.log(`binary            ${mb(figures.binary_bytes)} MB  (goal <= 15 MB)  ${APP}`);
  if (figures.deb) console.log(`.deb              ${mb(figures.deb.bytes)} MB  ${figures.deb.file}`);
  console.log(`launch->unlock UI ${figures.launch_ms.median} ms median of ${LAUNCHES}  (goal <= 1000 ms)  all: ${figures.launch_ms.all.join(" ")}`);
  for (const [label, m] of [["locked, idle", figures.locked], [`unlocked, ${CONNECTIONS} connections, idle`, figures.unlocked]]) {
    console.log(`${label}: app RSS ${mib(m.app_rss)} MiB (PSS ${mib(m.app_pss)}); with WebKit's processes RSS ${mib(m.total_rss)} MiB, PSS ${mib(m.total_pss)} MiB  [${m.procs.map((p) => `${p.name} ${mib(p.rss)}/${mib(p.pss)}`).join(", ")}]  (goal <= 150 MB)`);
  }
  console.log(`(setup: ${CONNECTIONS} CLI connects took ${figures.setup_connect_secs} s)`);
  writeFileSync(path.join(ARTIFACTS, "bench-app.json"), JSON.stringify(figures, null, 2));
}

main().catch((e) => {
  console.error(`bench: ${e.stack ?? e}`);
  process.exitCode = 1;
});
