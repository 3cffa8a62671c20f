// The app under a dark desktop theme (GTK_THEME=Adwaita:dark, as a person's dark desktop
// sets it): the page reports `prefers-color-scheme: dark` and draws light text on a dark
// ground on every screen, with its notices still readable. Screenshots for the README:
// artifacts/screenshots/dark-*.png. Same needs as app.test.mjs.

import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { mkdirSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import {
  ARTIFACTS,
  DRIVER,
  appPath,
  click,
  js,
  newSession,
  screenshotTo,
  startDriver,
  startOAuthServer,
  stopAll,
  text,
  typeInto,
  visible,
  walletEnv,
  writeProviders,
  answerDialog,
} from "./support.mjs";

const APP = appPath("debug");
const SHOTS = path.join(ARTIFACTS, "screenshots");
const PASSPHRASE = "dark staple Horse battery 42!";
const HOME = mkdtempSync(path.join(tmpdir(), "token-wallet-dark-"));
const PROVIDERS = path.join(HOME, "providers.toml");
const ENV = walletEnv({
  profile: `dark-${randomBytes(4).toString("hex")}`,
  home: HOME,
  providers: PROVIDERS,
  extra: { TOKEN_WALLET_INSECURE_KDF: "1", GTK_THEME: "Adwaita:dark" },
});
let oauth = null;

/** Relative luminance (WCAG) of a CSS `rgb(...)` colour. */
function luminance(css) {
  const [r, g, b] = css.match(/[\d.]+/g).slice(0, 3).map((v) => {
    const c = Number(v) / 255;
    return c <= 0.03928 ? c / 12.92 : ((c + 0.055) / 1.055) ** 2.4;
  });
  return 0.2126 * r + 0.7152 * g + 0.0722 * b;
}

/** The colours text and ground have where `css` is drawn: the nearest painted ground. */
const colours = (css) =>
  js(`let e = document.querySelector(arguments[0]);
    const fg = getComputedStyle(e).color;
    while (e && getComputedStyle(e).backgroundColor.replace(/\\s/g, "").match(/rgba\\(.*,0\\)|transparent/)) e = e.parentElement;
    return [fg, getComputedStyle(e ?? document.documentElement).backgroundColor];`, css);

async function assertDarkAndReadable(css) {
  const [fg, bg] = await colours(css);
  const [lf, lb] = [luminance(fg), luminance(bg)];
  assert.ok(lb < 0.1, `${css}: a dark ground (${bg})`);
  const contrast = (Math.max(lf, lb) + 0.05) / (Math.min(lf, lb) + 0.05);
  assert.ok(contrast >= 4.5, `${css}: text ${fg} on ${bg} has contrast ${contrast.toFixed(2)}, under 4.5`);
}

before(async () => {
  mkdirSync(SHOTS, { recursive: true });
  ({ child: oauth } = await startOAuthServer({ ACCESS_TTL: "600" }, path.join(ARTIFACTS, "e2e-dark-oauth-server.log")).then((o) => {
    writeProviders(PROVIDERS, o.issuer);
    return o;
  }));
  await startDriver(DRIVER, ENV, path.join(ARTIFACTS, "e2e-dark-tauri-driver.log"));
  await newSession(APP);
});

after(async () => {
  if (oauth && oauth.exitCode === null) oauth.kill("SIGTERM");
  await stopAll();
  rmSync(HOME, { recursive: true, force: true });
});

test("under a dark desktop theme every screen is dark and readable", { timeout: 120_000 }, async () => {
  await visible("#view-create", 30_000);
  assert.equal(await js("return matchMedia('(prefers-color-scheme: dark)').matches;"), true, "the page is told the desktop is dark");
  await assertDarkAndReadable("#create-title");
  await click("#create-submit");
  await answerDialog("choose a passphrase", [PASSPHRASE, PASSPHRASE]);
  await visible("#view-unlocked", 30_000);

  await click("#connect-open");
  await visible("#panel-connect");
  await typeInto("#connect-name", "pleo-dark");
  await click('#connect-provider option[value="local-pleo"]');
  await click("#connect-submit");
  await visible("#panel-detail", 60_000);
  assert.equal(await text("#detail-title"), "pleo-dark");
  await assertDarkAndReadable("#detail-title");
  await assertDarkAndReadable("#detail-message");
  await screenshotTo(path.join(SHOTS, "dark-detail.png"));

  await click("#detail-back");
  await visible("#conn-pleo-dark");
  await assertDarkAndReadable("#conn-pleo-dark .conn-name");
  await assertDarkAndReadable("#conn-pleo-dark .badge");
  await screenshotTo(path.join(SHOTS, "dark-connections.png"));

  await click("#lock-button");
  await visible("#view-unlock");
  await assertDarkAndReadable("#unlock-title");
  await screenshotTo(path.join(SHOTS, "dark-locked.png"));
});
