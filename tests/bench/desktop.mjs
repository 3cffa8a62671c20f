// Token Wallet beside KeePassXC, in one run on one display: launch -> window mapped,
// launch -> unlock screen drawn, and the memory of each process tree (PSS) locked and
// unlocked. Medians of LAUNCHES launches, the two apps taking turns. Prints the figures,
// the ratios and the goals, and writes artifacts/bench-desktop.json.
//
//   cargo build --release -p token-wallet-app && cargo build -p token-wallet-cli
//   tests/keyring-session.sh xvfb-run -a -s "-screen 0 1280x1024x24" node tests/bench/desktop.mjs
//
// Needs keepassxc, xdotool and python3-xlib (apt). Neither app is driven through WebDriver:
// each is started as a person would start it, and watched from outside through the X
// server (tests/bench/watch-window.py). "Drawn" is the first moment the window's pixels
// show the unlock screen (at least 64 colours: text, a logo, a field), read every few
// milliseconds; a blank or uniform window does not count. Unlocking types the passphrase
// with xdotool.
// Environment: BENCH_LAUNCHES (default 5), BENCH_CONNECTIONS (default 100; the same number
// of KeePassXC entries).

import { execFileSync, spawn, spawnSync } from "node:child_process";
import { randomBytes } from "node:crypto";
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { ARTIFACTS, CLI, answerDialog, appPath, median, runChecked as run, sleep, startOAuthServer, walletEnv, writeProviders } from "../e2e/support.mjs";

const APP = appPath("release");
const LAUNCHES = Number(process.env.BENCH_LAUNCHES ?? 5);
const CONNECTIONS = Number(process.env.BENCH_CONNECTIONS ?? 100);
const PASSPHRASE = "bench staple Horse battery 42!";
const PROFILE = `desk-${randomBytes(4).toString("hex")}`;
const HOME = mkdtempSync(path.join(tmpdir(), "token-wallet-desk-"));
const PROVIDERS = path.join(HOME, "providers.toml");
const PASSFILE = path.join(HOME, "pass");
const KDBX = path.join(HOME, "bench.kdbx");
const ENV = walletEnv({ profile: PROFILE, home: HOME, providers: PROVIDERS, extra: {} });
const KP_CONFIG = path.join(HOME, "kp-config");
const KP_CACHE = path.join(HOME, "kp-cache");
const DEADLINE_MS = 30_000;
/** How long each launch is watched after its window maps: the unlock screen is the last
 * thing it shows in that time. */
const SETTLE_S = 3;
const WATCH = path.join(path.dirname(new URL(import.meta.url).pathname), "watch-window.py");

/** PSS in KiB of `pid` and every process below it. */
function treePss(pid) {
  let total = 0;
  const parts = [];
  const walk = (p) => {
    try {
      const m = /^Pss:\s+(\d+) kB/m.exec(readFileSync(`/proc/${p}/smaps_rollup`, "utf8"));
      const kib = m ? Number(m[1]) : 0;
      total += kib;
      parts.push(`${readFileSync(`/proc/${p}/comm`, "utf8").trim()} ${(kib / 1024).toFixed(0)}`);
    } catch {
      return; // gone
    }
    const kids = spawnSync("pgrep", ["-P", String(p)], { encoding: "utf8" }).stdout.trim();
    for (const k of kids ? kids.split("\n") : []) walk(Number(k));
  };
  walk(pid);
  return { kib: total, parts };
}

/** CLOCK_MONOTONIC in ms (the clock watch-window.py stamps its frames with). */
const monotonicMs = () => Number(process.hrtime.bigint()) / 1e6;

/** Starts an app; resolves with its child, its window's X id, and the ms from the launch
 * until the window mapped and until it showed the unlock screen for good (watched by
 * watch-window.py through one X connection, which stamps each frame with the moment it
 * asked the X server for it). Fails after DEADLINE_MS. */
async function launch(cmd, args, env) {
  const t0 = monotonicMs();
  const child = spawn(cmd, args, { env, stdio: ["ignore", "ignore", "pipe"] });
  let stderr = "";
  child.stderr.on("data", (d) => (stderr = (stderr + d).slice(-4000)));
  const watcher = spawn("/usr/bin/python3", [WATCH, String(child.pid), String(SETTLE_S)], { stdio: ["ignore", "pipe", "inherit"] });
  let mapped = null;
  let win = null;
  let drawn = null;
  let frames = 0;
  let buf = "";
  watcher.stdout.on("data", (d) => {
    buf += d;
    for (let i; (i = buf.indexOf("\n")) >= 0; ) {
      const [what, ...rest] = buf.slice(0, i).split(" ");
      buf = buf.slice(i + 1);
      if (what === "mapped") [win, mapped] = [rest[0], Number(rest[1]) * 1000 - t0];
      if (what === "drawn") [drawn, frames] = [Number(rest[0]) * 1000 - t0, Number(rest[1])];
    }
  });
  for (;;) {
    if (drawn !== null) return { child, win, mapped, drawn, frames };
    const late = monotonicMs() - t0 > DEADLINE_MS || watcher.exitCode !== null;
    if (late || child.exitCode !== null) {
      watcher.kill("SIGKILL");
      child.kill("SIGKILL");
      throw new Error(`${cmd}: no unlock screen drawn within ${DEADLINE_MS} ms (exit ${child.exitCode}, mapped ${mapped}); stderr: ${stderr}`);
    }
    await sleep(5);
  }
}

async function stop(child) {
  if (child.exitCode !== null) return;
  child.kill("SIGTERM");
  const t = Date.now();
  while (child.exitCode === null && Date.now() - t < 10_000) await sleep(50);
  if (child.exitCode === null) child.kill("SIGKILL");
}

/** Unlocks the app in `win` (its own way of taking the passphrase) and waits for
 * `unlocked()`; the ms from the passphrase's Return to then. */
async function unlock(app, win) {
  execFileSync("xdotool", ["windowfocus", "--sync", win], { timeout: 10_000 }); // no window manager under Xvfb
  await app.type(win);
  const t = Date.now();
  while (!(await app.unlocked(win))) {
    if (Date.now() - t > 300_000) throw new Error("did not unlock within 300 s");
    await sleep(200);
  }
  return Date.now() - t;
}

const apps = {
  "Token Wallet": {
    start: () => launch(APP, [], { ...process.env, ...ENV }),
    // The Unlock… button has the focus; the passphrase goes into the app's own dialog.
    type: async () => {
      execFileSync("xdotool", ["key", "Return"], { timeout: 10_000 });
      await answerDialog("unlock", [PASSPHRASE]);
    },
    // Unlocked: the agent answers `list` with every connection.
    unlocked: () => {
      const r = spawnSync(CLI, ["--profile", PROFILE, "--home", HOME, "list", "--json"], { env: ENV, encoding: "utf8", timeout: 120_000, input: "" });
      if (process.env.BENCH_VERBOSE) console.log(`list: exit ${r.status}, ${(r.stdout.match(/"conn-/g) ?? []).length} connections; ${r.stderr.trim().slice(0, 200)}`);
      return r.status === 0 && (r.stdout.match(/"conn-/g) ?? []).length === CONNECTIONS;
    },
  },
  KeePassXC: {
    // Its own fresh settings (as Token Wallet's profile is): no databases remembered from
    // other runs (a missing one is reopened with an error banner), no update question.
    start: () => launch("keepassxc", [KDBX], { ...process.env, QT_QPA_PLATFORM: "xcb", XDG_CONFIG_HOME: KP_CONFIG, XDG_CACHE_HOME: KP_CACHE }),
    // The passphrase field has the focus.
    type: async () => {
      execFileSync("xdotool", ["type", "--delay", "5", PASSPHRASE], { timeout: 30_000 });
      execFileSync("xdotool", ["key", "Return"], { timeout: 10_000 });
    },
    // Unlocked: the window's title loses "[Locked]".
    unlocked: (win) => !/Locked/.test(spawnSync("xdotool", ["getwindowname", win], { encoding: "utf8" }).stdout),
  },
};

async function main() {
  for (const [what, file] of [["the release app", APP], ["the CLI", CLI]]) {
    if (!existsSync(file)) throw new Error(`${what} is missing at ${file}`);
  }
  for (const tool of ["keepassxc", "keepassxc-cli", "xdotool"]) {
    if (spawnSync("sh", ["-c", `command -v ${tool}`]).status !== 0) throw new Error(`${tool} is missing`);
  }
  mkdirSync(ARTIFACTS, { recursive: true });

  // The two vaults: Token Wallet's with CONNECTIONS connections (real sign-ins against the
  // test OAuth server), KeePassXC's with as many entries; the same passphrase.
  const { child: oauth, issuer } = await startOAuthServer({ ACCESS_TTL: "3600" }, path.join(ARTIFACTS, "bench-desktop-oauth.log"));
  const figures = { launches: LAUNCHES, connections: CONNECTIONS };
  try {
    writeProviders(PROVIDERS, issuer);
    writeFileSync(PASSFILE, `${PASSPHRASE}\n`, { mode: 0o600 });
    const cli = (...a) => run(CLI, ["--profile", PROFILE, "--home", HOME, "--no-agent", ...a], { env: ENV, input: "" });
    cli("init", "--passphrase-file", PASSFILE);
    for (let i = 0; i < CONNECTIONS; i++) {
      cli("connect", `conn-${String(i).padStart(3, "0")}`, "--provider", "local-pleo", "--passphrase-file", PASSFILE, "--timeout", "30");
    }
    const xml = path.join(HOME, "entries.xml");
    const entries = Array.from(
      { length: CONNECTIONS },
      (_, i) =>
        `<Entry><String><Key>Title</Key><Value>entry-${i}</Value></String><String><Key>UserName</Key><Value>user</Value></String><String><Key>Password</Key><Value>secret-${i}</Value></String></Entry>`,
    ).join("");
    writeFileSync(xml, `<?xml version="1.0" encoding="utf-8"?><KeePassFile><Meta><DatabaseName>bench</DatabaseName></Meta><Root><Group><Name>Root</Name>${entries}</Group></Root></KeePassFile>`);
    mkdirSync(path.join(KP_CONFIG, "keepassxc"), { recursive: true });
    mkdirSync(KP_CACHE, { recursive: true });
    writeFileSync(
      path.join(KP_CONFIG, "keepassxc", "keepassxc.ini"),
      "[General]\nConfigVersion=2\nOpenPreviousDatabasesOnStartup=false\nRememberLastDatabases=false\nRememberLastKeyFiles=false\nUpdateCheckMessageShown=true\n\n[GUI]\nCheckForUpdates=false\n",
    );
    run("keepassxc-cli", ["import", "-q", "-p", xml, KDBX], { input: `${PASSPHRASE}\n${PASSPHRASE}\n` });

    // Launches, taking turns.
    const times = { "Token Wallet": [], KeePassXC: [] };
    for (let i = 0; i < LAUNCHES; i++) {
      for (const [name, app] of Object.entries(apps)) {
        const l = await app.start();
        times[name].push({ mapped: l.mapped, drawn: l.drawn });
        if (process.env.BENCH_VERBOSE) console.log(`${name}: mapped ${Math.round(l.mapped)} ms, drawn ${Math.round(l.drawn)} ms`);
        await stop(l.child);
        await sleep(500);
      }
    }
    // Memory: locked after 10 s idle, then unlocked after 10 s idle.
    const mem = {};
    for (const [name, app] of Object.entries(apps)) {
        const l = await app.start();
      await sleep(10_000);
      const locked = treePss(l.child.pid);
      const unlockMs = await unlock(app, l.win);
      await sleep(10_000);
      const unlocked = treePss(l.child.pid);
      mem[name] = { locked, unlocked, unlockMs };
      await stop(l.child);
    }
    for (const name of Object.keys(apps)) {
      figures[name] = {
        mapped_ms: Math.round(median(times[name].map((t) => t.mapped))),
        drawn_ms: Math.round(median(times[name].map((t) => t.drawn))),
        drawn_all: times[name].map((t) => Math.round(t.drawn)),
        locked_pss_mib: +(mem[name].locked.kib / 1024).toFixed(1),
        unlocked_pss_mib: +(mem[name].unlocked.kib / 1024).toFixed(1),
        locked_parts: mem[name].locked.parts,
        unlocked_parts: mem[name].unlocked.parts,
        enter_to_all_listed_ms: mem[name].unlockMs,
      };
    }
  } finally {
    oauth.kill("SIGTERM");
    spawnSync(CLI, ["--profile", PROFILE, "--home", HOME, "agent", "stop"], { env: ENV, timeout: 10_000 });
    rmSync(HOME, { recursive: true, force: true });
  }

  const tw = figures["Token Wallet"];
  const kp = figures.KeePassXC;
  const row = (label, a, b, unit, goal, ok) =>
    console.log(`${label.padEnd(34)} ${String(a).padStart(8)} ${unit}  ${String(b).padStart(8)} ${unit}  ratio ${(a / b).toFixed(2)}  ${goal}: ${ok(a / b) ? "met" : "MISSED"}`);
  console.log(`Token Wallet beside KeePassXC, medians of ${LAUNCHES} launches each, taking turns; ${CONNECTIONS} connections / entries`);
  console.log(`${"".padEnd(34)} ${"Token Wallet".padStart(11)}  ${"KeePassXC".padStart(11)}`);
  row("launch -> window mapped", tw.mapped_ms, kp.mapped_ms, "ms", "(no goal)", () => true);
  row("launch -> unlock screen drawn", tw.drawn_ms, kp.drawn_ms, "ms", "goal <= 1x", (r) => r <= 1);
  row("locked, 10 s idle, tree PSS", tw.locked_pss_mib, kp.locked_pss_mib, "MiB", "goal <= 2x", (r) => r <= 2);
  row(`unlocked (${CONNECTIONS}), 10 s idle, tree PSS`, tw.unlocked_pss_mib, kp.unlocked_pss_mib, "MiB", "goal <= 2.2x", (r) => r <= 2.2);
  console.log(`Token Wallet locked: ${tw.locked_parts.join(", ")}; unlocked: ${tw.unlocked_parts.join(", ")}`);
  console.log(`Return pressed -> every connection listed (Token Wallet: by its agent; KeePassXC: its title loses "Locked"): ${tw.enter_to_all_listed_ms} ms / ${kp.enter_to_all_listed_ms} ms`);
  console.log(`drawn, every launch: Token Wallet ${tw.drawn_all.join(" ")}; KeePassXC ${kp.drawn_all.join(" ")}`);
  writeFileSync(path.join(ARTIFACTS, "bench-desktop.json"), JSON.stringify(figures, null, 2));
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
