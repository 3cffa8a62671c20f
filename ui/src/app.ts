// The unlocked app: one module per pane (panes/*.ts, each with `mount` and its own
// render), shared DOM helpers (dom.ts), one state store (state.ts) and the tabs (nav.ts).
// Logic lives in logic.ts (tested); the panes copy its results into the page.
import * as api from "./api";
import { now } from "./dom";
import { setPane, wireTabs } from "./nav";
import * as addkey from "./panes/addkey";
import * as audit from "./panes/audit";
import * as connections from "./panes/connections";
import * as detail from "./panes/detail";
import * as keys from "./panes/keys";
import * as settings from "./panes/settings";
import * as timeline from "./panes/timeline";
import * as wizard from "./panes/wizard";
import { clearState, hooks, state } from "./state";
import type { VaultFacts } from "./types";

let ticker: number | undefined;
let lastActivity = 0;

/** Every second: countdowns and statuses move on without asking Rust. */
function tick(): void {
  if (!state.active) return;
  const t = now();
  if (state.pane === "connections") connections.tick(t);
  if (state.pane === "detail") detail.tick(t);
  if (state.pane === "timeline") timeline.tick();
}

/** Wires every control once. `renderFacts` draws the vault facts (Keys tab). */
export function init(renderFacts: (v: VaultFacts) => void, settingsChanged: (m: number) => void): void {
  hooks.facts = renderFacts;
  hooks.settingsChanged = settingsChanged;
  wireTabs();
  for (const pane of [connections, detail, wizard, addkey, timeline, keys, audit, settings]) pane.mount();
  // A person using the window keeps the vault open (at most one call per 20 s).
  for (const type of ["keydown", "pointerdown"]) {
    document.addEventListener(type, () => {
      if (!state.active || performance.now() - lastActivity < 20_000) return;
      lastActivity = performance.now();
      void api.activity();
    });
  }
}

/** The vault is unlocked (called at every state render): show the app, re-read the
 * connections. `minPassphraseChars` is Rust's rule for a new passphrase. */
export function enter(profile: string, store: string, minPassphraseChars: number, vault: VaultFacts | null = null): void {
  state.vault = vault;
  state.contextFacts = [
    ["Profile", profile],
    ["Store", store],
  ];
  state.minPassphraseChars = minPassphraseChars;
  if (!state.active) {
    state.active = true;
    setPane("connections", false);
    window.clearInterval(ticker);
    ticker = window.setInterval(tick, 1000);
  }
  void connections.load();
}

/** The vault was locked: forget everything shown. */
export function leave(): void {
  if (!state.active) return;
  state.active = false;
  window.clearInterval(ticker);
  clearState();
  for (const pane of [connections, detail, wizard, addkey, timeline, keys, audit, settings]) pane.clear();
}
