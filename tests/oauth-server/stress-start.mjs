#!/usr/bin/env node
// TEST ONLY. Starts the test OAuth server (server.mjs) many times, a few at once, to catch
// start-up hangs (one in some hundreds of starts is enough to break a test run now and then).
//
//   node tests/oauth-server/stress-start.mjs [--runs 1000] [--jobs 5] [--deadline 10]
//        [--node PATH] [--node-flags=FLAGS] [--server FILE] [--diag-dir DIR]
//        [--stderr ignore|pipe] [--report]
//
// Each start runs `<node> server.mjs` with PORT=0 ACCESS_TTL=60, stdin and stderr on
// /dev/null, as crates/test-support/src/oauth_server.rs starts it, and waits for its one JSON line on stdout; then it
// sends SIGTERM and waits for the exit. A start that prints no line within the deadline is a
// hang; a server still alive 5 s after SIGTERM is an exit hang. Either way its threads'
// states and wait channels (/proc/PID/task/*) and a gdb backtrace of every thread (if gdb
// is installed) go to DIR/hang-<n>/ (DIR: $TMPDIR/oauth-server-stress-<pid> unless given), then
// it is killed. --stderr pipe keeps the server's stderr for those diagnostics. --report
// runs Node with --report-on-signal and sends SIGUSR2 on a hang for a diagnostic report (JS
// and native stacks); that needs the main thread to take the signal's interrupt, so a
// thread stuck in native code writes none.
//
// Prints one JSON line: starts, hangs, failures, exit hangs, start time (median, p95, max,
// in ms from spawn to the line). Exits 1 if anything hung or failed. The Node binary is the
// one running this script unless --node (or $NODE) names another; --node-flags=... (with
// the =) passes extra Node/V8 flags, space-separated.

import { spawn, execFile } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';

const here = path.dirname(fileURLToPath(import.meta.url));
const { values: opts } = parseArgs({
  options: {
    runs: { type: 'string', default: '1000' },
    jobs: { type: 'string', default: '5' },
    deadline: { type: 'string', default: '10' },
    node: { type: 'string', default: process.env.NODE || process.execPath },
    'node-flags': { type: 'string', default: '' },
    server: { type: 'string', default: path.join(here, 'server.mjs') },
    'diag-dir': { type: 'string', default: path.join(os.tmpdir(), `oauth-server-stress-${process.pid}`) },
    stderr: { type: 'string', default: 'ignore' },
    report: { type: 'boolean', default: false },
  },
});
const RUNS = Number(opts.runs);
const JOBS = Number(opts.jobs);
const DEADLINE_MS = Number(opts.deadline) * 1000;
const NODE = opts.node;
const DIAG = path.resolve(opts['diag-dir']);
const SERVER = path.resolve(opts.server);
const NODE_FLAGS = opts['node-flags'].split(' ').filter(Boolean);

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const run = (cmd, args, timeout = 30_000) =>
  new Promise((resolve) => {
    execFile(cmd, args, { timeout, maxBuffer: 16 << 20 }, (err, stdout, stderr) =>
      resolve(`${stdout}${stderr}${err ? `\n[${cmd}: ${err.message}]` : ''}`));
  });

function readProc(pid) {
  const out = [];
  let tasks = [];
  try {
    tasks = fs.readdirSync(`/proc/${pid}/task`);
  } catch (e) {
    return `cannot read /proc/${pid}/task: ${e.message}`;
  }
  for (const tid of tasks) {
    const read = (f) => {
      try {
        return fs.readFileSync(`/proc/${pid}/task/${tid}/${f}`, 'utf8').trim();
      } catch (e) {
        return `?(${e.code})`;
      }
    };
    out.push(`tid ${tid} comm=${read('comm')} wchan=${read('wchan')}\n  stat: ${read('stat')}\n  syscall: ${read('syscall')}`);
  }
  return out.join('\n');
}

async function diagnose(n, child, stderrText) {
  const dir = path.join(DIAG, `hang-${n}`);
  fs.mkdirSync(dir, { recursive: true });
  const pid = child.pid;
  fs.writeFileSync(path.join(dir, 'proc.txt'), readProc(pid));
  fs.writeFileSync(path.join(dir, 'stderr.txt'), stderrText);
  fs.writeFileSync(path.join(dir, 'gdb.txt'),
    await run('gdb', ['-p', String(pid), '-batch', '-ex', 'info threads', '-ex', 'thread apply all bt'], 60_000));
  if (!opts.report) return dir;
  // A diagnostic report needs the main thread's event loop / an interrupt; if the main
  // thread is stuck in native code it may never come, so wait a little only.
  try {
    process.kill(pid, 'SIGUSR2');
  } catch {}
  for (let i = 0; i < 30; i++) {
    await sleep(100);
    const reports = fs.readdirSync(dir).filter((f) => f.startsWith('report.'));
    if (reports.length) break;
  }
  const reports = fs.readdirSync(dir).filter((f) => f.startsWith('report.'));
  if (!reports.length) fs.writeFileSync(path.join(dir, 'report-missing.txt'), 'no diagnostic report within 3 s of SIGUSR2\n');
  return dir;
}

function startOnce(n) {
  return new Promise((resolve) => {
    const dir = path.join(DIAG, `hang-${n}`);
    const t0 = process.hrtime.bigint();
    const flags = opts.report ? ['--report-on-signal', `--report-directory=${dir}`] : [];
    const child = spawn(NODE, [...NODE_FLAGS, ...flags, SERVER], {
      env: { ...process.env, PORT: '0', ACCESS_TTL: '60' },
      stdio: ['ignore', 'pipe', opts.stderr === 'pipe' ? 'pipe' : 'ignore'],
    });
    let stdout = '';
    let stderr = '';
    let done = false;
    const finish = (result) => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      resolve(result);
    };
    child.stderr?.on('data', (d) => {
      if (stderr.length < 64_000) stderr += d;
    });
    child.stdout.on('data', (d) => {
      stdout += d;
      if (!done && stdout.includes('\n')) {
        const ms = Number(process.hrtime.bigint() - t0) / 1e6;
        let ok = false;
        try {
          ok = Number.isInteger(JSON.parse(stdout.split('\n')[0]).port);
        } catch {}
        // Started: the start deadline no longer applies, the stop is watched instead (alive
        // 5 s after SIGTERM: an exit hang, diagnosed like a start hang, then killed).
        clearTimeout(timer);
        const t1 = process.hrtime.bigint();
        let exitHang;
        const exitTimer = setTimeout(async () => {
          exitHang = await diagnose(`${n}-exit`, child, stderr);
          child.kill('SIGKILL');
        }, 5000);
        child.once('exit', (code, signal) => {
          clearTimeout(exitTimer);
          const exitMs = Number(process.hrtime.bigint() - t1) / 1e6;
          finish({ n, ok, ms, exitMs, exitHang, code, signal, line: stdout.split('\n')[0] });
        });
        child.kill('SIGTERM');
      }
    });
    child.on('exit', (code, signal) => {
      if (!done && !stdout.includes('\n')) finish({ n, ok: false, exited: true, code, signal, stderr });
    });
    const timer = setTimeout(async () => {
      if (done) return;
      const diag = await diagnose(n, child, stderr);
      child.kill('SIGKILL');
      finish({ n, ok: false, hang: true, diag });
    }, DEADLINE_MS);
  });
}

const results = [];
let next = 0;
const started = Date.now();
async function worker() {
  while (next < RUNS) {
    const n = next++;
    const r = await startOnce(n);
    results.push(r);
    if (r.exitHang) console.error(`start ${n}: EXIT HANG (alive 5 s after SIGTERM), diagnostics in ${r.exitHang}`);
    if (r.hang) console.error(`start ${n}: HANG (no line in ${DEADLINE_MS / 1000} s), diagnostics in ${r.diag}`);
    else if (!r.ok) console.error(`start ${n}: FAILED ${JSON.stringify(r).slice(0, 2000)}`);
    if (results.length % 100 === 0) console.error(`${results.length}/${RUNS} done`);
  }
}
await Promise.all(Array.from({ length: JOBS }, worker));

const times = results.filter((r) => r.ok).map((r) => r.ms).sort((a, b) => a - b);
const pct = (p) => (times.length ? times[Math.min(times.length - 1, Math.floor(p * times.length))].toFixed(0) : '-');
const hangs = results.filter((r) => r.hang).length;
const failed = results.filter((r) => !r.ok && !r.hang).length;
const exitHangs = results.filter((r) => r.exitHang).length;
const exits = results.filter((r) => r.exitMs !== undefined && !r.exitHang).map((r) => r.exitMs);
const version = await run(NODE, ['--version']);
console.log(JSON.stringify({
  node: `${NODE} ${version.trim()}`,
  node_flags: NODE_FLAGS.join(' '), server: path.relative(process.cwd(), SERVER) || SERVER,
  runs: RUNS, jobs: JOBS, deadline_s: DEADLINE_MS / 1000,
  ok: times.length, hangs, failed, exit_hangs: exitHangs,
  start_ms: { median: pct(0.5), p95: pct(0.95), max: times.length ? times.at(-1).toFixed(0) : '-' },
  exit_ms_max: exits.length ? Math.max(...exits).toFixed(0) : '-',
  wall_s: ((Date.now() - started) / 1000).toFixed(0),
}));
process.exit(hangs || failed || exitHangs ? 1 : 0);
