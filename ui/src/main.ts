// The lock screen's DOM wiring. Logic worth testing lives in view.ts and format.ts; this
// file copies their results into the page and forwards clicks to the Rust side. Text goes
// in through textContent only (never innerHTML). The page has no passphrase field: Create
// and Unlock open Token Wallet's own native dialog, and the passphrase goes from it to
// the vault without passing through this page.
import "./styles.css";
import * as api from "./api";
import * as app from "./app";
import * as close from "./close";
import { el, show as showError } from "./dom";
import { errorText, isCancelled, throttleText } from "./format";
import type { VaultState } from "./types";
import { viewFor, type Screen, type View } from "./view";


const screens: Record<Screen, HTMLElement> = {
  loading: el("view-loading"),
  create: el("view-create"),
  unlock: el("view-unlock"),
  unlocked: el("view-unlocked"),
  unavailable: el("view-unavailable"),
};

const createSubmit = el<HTMLButtonElement>("create-submit");
const unlockSubmit = el<HTMLButtonElement>("unlock-submit");
const unlockWait = el("unlock-wait");
const lockButton = el<HTMLButtonElement>("lock-button");

let current: Screen = "loading";
let state: VaultState | null = null;
let view: View = viewFor(null, 0);
let busy: HTMLButtonElement | null = null; // the button whose call is running
let retryAt = 0; // performance.now() before which unlock is refused
let retryTimer: number | undefined;

const nowUnix = (): number => Date.now() / 1000;


function focusFor(screen: Screen): void {
  const target: Record<Screen, HTMLElement | null> = {
    loading: null,
    create: createSubmit,
    unlock: unlockSubmit,
    unlocked: el("unlocked-title"),
    unavailable: el("retry-button"),
  };
  target[screen]?.focus();
}

function unlockLabel(): string {
  return view.identityUnlock ? "Unlock with OpenBao" : "Unlock…";
}

function render(s: VaultState): void {
  state = s;
  view = viewFor(s, nowUnix());
  el("context").textContent = view.context;
  const banner = el("banner");
  banner.textContent = view.banner ?? "";
  banner.hidden = view.banner === null;
  el("unavailable-message").textContent = view.message;
  // Why it locked by itself (idle, a passphrase changed elsewhere), said on the lock screen.
  const reason = el("unlock-reason");
  reason.textContent = s.lockedBecause ?? "";
  reason.hidden = s.lockedBecause === null;
  // A team vault unlocks with this machine's OpenBao login: no passphrase window.
  const team = view.identityUnlock;
  el("unlock-lead").textContent = team
    ? "This team vault opens with your OpenBao login."
    : "Enter your master passphrase to open your tokens.";
  el("unlock-hint").textContent = team
    ? `OpenBao decrypts its key (Transit key ${team}) for identities its policy allows; there is no passphrase.`
    : "You type it in Token Wallet’s own window, which opens next: the passphrase never enters this page.";
  if (!busy) unlockSubmit.textContent = unlockLabel();
  renderFacts(view);
  if (view.screen === "unlocked") {
    app.enter(s.profile, view.facts.find((f) => f.id === "store")?.value ?? "", s.minPassphraseChars, s.vault);
  }
  else app.leave();
  if (view.screen !== current) {
    for (const [name, section] of Object.entries(screens)) section.hidden = name !== view.screen;
    for (const id of ["create-error", "unlock-error", "unlocked-error"]) showError(id, null);
    current = view.screen;
    focusFor(current);
  }
  startCountdown(view.retryAfterMs);
}

let drawnFacts = ""; // what #facts shows now, so an unchanged state keeps its nodes (and focus)

function renderFacts(v: View): void {
  const key = JSON.stringify(v.facts);
  if (key === drawnFacts) return;
  drawnFacts = key;
  const dl = el("facts");
  dl.replaceChildren(
    ...v.facts.map((f) => {
      const row = document.createElement("div");
      row.className = "fact";
      row.id = `fact-${f.id}`;
      const dt = document.createElement("dt");
      dt.textContent = f.label;
      const dd = document.createElement("dd");
      dd.textContent = f.value;
      if (f.mono) dd.className = "mono";
      if (f.detail) dd.title = f.detail;
      row.append(dt, dd);
      return row;
    }),
  );
}

// --- the unlock throttle (enforced in Rust; shown here) ---

function startCountdown(ms: number): void {
  window.clearInterval(retryTimer);
  retryAt = ms > 0 ? performance.now() + ms : 0;
  tick();
  if (ms > 0) retryTimer = window.setInterval(tick, 250);
}

function tick(): void {
  const left = retryAt - performance.now();
  if (left > 0) {
    unlockWait.textContent = throttleText(left, view.failedAttempts);
    unlockWait.hidden = false;
    unlockSubmit.disabled = true;
  } else {
    window.clearInterval(retryTimer);
    unlockWait.hidden = true;
    unlockWait.textContent = "";
    unlockSubmit.disabled = busy === unlockSubmit;
  }
}

// --- calls into Rust ---

async function refresh(): Promise<void> {
  try {
    render(await api.vaultState());
  } catch (e) {
    // Only without the Tauri runtime (a plain browser) or on a bug.
    render({
      status: "unavailable",
      profile: "",
      store: null,
      vault: null,
      message: errorText(e),
      retryAfterMs: 0,
      failedAttempts: 0,
      insecureKdf: false,
      minPassphraseChars: 0, // no Rust side to ask: no create screen either
      lockedBecause: null,
    });
  }
}

function setBusy(button: HTMLButtonElement, on: boolean, label: string): void {
  busy = on ? button : null;
  button.disabled = on;
  button.textContent = label;
  button.closest("form, section")?.setAttribute("aria-busy", String(on));
}

async function onCreate(ev: SubmitEvent): Promise<void> {
  ev.preventDefault();
  if (busy) return;
  showError("create-error", null);
  setBusy(createSubmit, true, "Waiting for the passphrase…");
  try {
    render(await api.createVault());
  } catch (e) {
    if (!isCancelled(e)) showError("create-error", errorText(e));
    await refresh();
  } finally {
    setBusy(createSubmit, false, "Choose a passphrase…");
    if (current === "create") createSubmit.focus();
  }
}

async function onUnlock(ev: SubmitEvent): Promise<void> {
  ev.preventDefault();
  if (busy || retryAt > performance.now()) return;
  showError("unlock-error", null);
  setBusy(unlockSubmit, true, view.identityUnlock ? "Asking OpenBao…" : "Waiting for the passphrase…");
  try {
    performance.mark("tw:unlock-sent"); // marks for tests/bench/unlock-list.mjs
    const unlocked = await api.unlock();
    performance.mark("tw:unlocked");
    render(unlocked);
  } catch (e) {
    if (!isCancelled(e)) showError("unlock-error", errorText(e));
    await refresh(); // picks up the new wait
  } finally {
    setBusy(unlockSubmit, false, unlockLabel());
    if (current === "unlock") unlockSubmit.focus();
    tick();
  }
}

async function onLock(): Promise<void> {
  if (busy) return;
  setBusy(lockButton, true, "Locking…");
  try {
    render(await api.lock());
  } catch (e) {
    showError("unlocked-error", errorText(e));
  } finally {
    setBusy(lockButton, false, "Lock");
  }
}

el<HTMLFormElement>("create-form").addEventListener("submit", (e) => void onCreate(e));
el<HTMLFormElement>("unlock-form").addEventListener("submit", (e) => void onUnlock(e));
lockButton.addEventListener("click", () => void onLock());
el("retry-button").addEventListener("click", () => void refresh());
// Locked while the window was in the background (idle): the Unlock button has the focus
// when the person comes back to it.
window.addEventListener("focus", () => {
  if (current === "unlock" && (document.activeElement === null || document.activeElement === document.body)) {
    unlockSubmit.focus();
  }
});
// Ages ("2 minutes ago") move on while the vault stays open.
window.setInterval(() => {
  if (state && current === "unlocked") renderFacts(viewFor(state, nowUnix()));
}, 30_000);

function autoLockHint(minutes: number): void {
  el("autolock-hint").textContent =
    minutes === 0 ? "Auto-lock off" : `Locks after ${minutes} min idle`;
}

app.init(
  (facts) => {
    if (state) render({ ...state, vault: facts });
  },
  autoLockHint,
);
// The Rust side says when something changed (auto-lock, background refresh, tray).
// Re-reading the state also re-reads the connections while unlocked (render -> app.enter).
void api.onChanged(() => void refresh()).catch(() => {});
// Closing the window while a sign-in waits (and the app would quit) asks first.
close.mount();
void api
  .getSettings()
  .then((v) => autoLockHint(v.settings.autoLockMinutes))
  .catch(() => {});

// The window starts hidden: shown once the first screen is in the document, so the first
// frame anyone sees is drawn (a hidden web view may not run animation frames, so this
// does not wait for one).
void refresh().finally(() => void api.windowDrawn().catch(() => {}));
