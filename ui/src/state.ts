// The unlocked app's one state store: what is shown, and who wants to hear when the
// connections change. Panes read it and change it only through these functions.
import type { AuditView, Connection, Provider, VaultFacts } from "./types";

export type Tab = "connections" | "timeline" | "keys" | "audit" | "settings";
export type Pane = Tab | "connect" | "addkey" | "detail";

export const state = {
  /** The vault is unlocked and the app is showing. */
  active: false,
  pane: "connections" as Pane,
  conns: [] as Connection[],
  providers: [] as Provider[],
  /** The connection the detail pane shows. */
  selected: null as string | null,
  audit: null as AuditView | null,
  /** Profile and store, for Settings. */
  contextFacts: [] as [string, string][],
  /** The shortest new passphrase Rust accepts. */
  minPassphraseChars: 0,
  /** The unlocked vault's facts (a team vault's role among them). */
  vault: null as VaultFacts | null,
};

/** What the rest of the window gives the panes: draw the vault facts, apply settings. */
export const hooks = {
  facts: (_: VaultFacts): void => {},
  settingsChanged: (_autoLockMinutes: number): void => {},
};

type Listener = () => void;
const listeners: Listener[] = [];

/** Calls `f` whenever the connections change. */
export function onConnections(f: Listener): void {
  listeners.push(f);
}

/** Stores new connections and tells the listeners. */
export function setConnections(next: Connection[]): void {
  state.conns = next;
  for (const f of listeners) f();
}

/** Forgets everything shown (on lock). */
export function clearState(): void {
  state.conns = [];
  state.audit = null;
  state.selected = null;
}
