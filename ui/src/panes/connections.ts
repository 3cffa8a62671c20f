// The connections pane: the list with live countdowns and the alerts above it.
import * as api from "../api";
import { el, followClock, h, notice, now, show, type Tone } from "../dom";
import { errorText } from "../format";
import { countdown, healthStale, isStatic, kindLabel, sortConnections, statusOf } from "../logic";
import { openDetail } from "../nav";
import { onConnections, setConnections, state } from "../state";
import type { Alert, Connection } from "../types";
import { teamNote } from "../view";

let drawn = ""; // the connections as last drawn: an unchanged list keeps its nodes and focus

let loading: Promise<void> | null = null; // the read in flight
let again = false; // asked for once more while one was in flight

/** Re-reads the connections; redraws only what changed. Calls while a read is in flight
 * share it and one more read after it (so no change is missed, and a burst of change
 * events at unlock costs two reads, not one each). */
export function load(): Promise<void> {
  if (loading) {
    again = true;
    return loading;
  }
  loading = (async () => {
    do {
      again = false;
      await loadOnce();
    } while (again);
  })().finally(() => {
    loading = null;
  });
  return loading;
}

async function loadOnce(): Promise<void> {
  try {
    performance.mark("tw:list-asked");
    const all = await api.listConnections();
    performance.mark("tw:list-received");
    followClock(all.now);
    renderAlerts(all.alerts);
    renderTeam(all.connections, all.now);
    show("unlocked-error", null);
    const key = JSON.stringify(all.connections);
    if (key === drawn) return;
    drawn = key;
    setConnections(all.connections);
    performance.mark("tw:list-drawn");
  } catch (e) {
    show("unlocked-error", errorText(e));
  }
}

/** A team vault's note; a consumer cannot connect or add (OpenBao refuses it writes). */
function renderTeam(all: Connection[], nowUnix: number): void {
  const note = teamNote(state.vault, all, nowUnix);
  const p = el("team-note");
  p.textContent = note ?? "";
  p.hidden = note === null;
  for (const id of ["connect-open", "addkey-open"]) el<HTMLButtonElement>(id).disabled = state.vault?.consumeOnly ?? false;
}

function renderAlerts(all: Alert[]): void {
  const ul = el("alerts");
  ul.replaceChildren(...all.map((a) => h("li", { class: `alert tone-warning alert-${a.kind}` }, a.text)));
  ul.hidden = all.length === 0;
}

/** Rows drawn at once: more than the tallest window shows. The rest follow in batches
 * after the first frame is painted, so a thousand connections show their first screen as
 * fast as a dozen do. */
const FIRST_ROWS = 60;
const BATCH_ROWS = 200;
let drawing = 0; // bumped by every render and clear: a batch of an older one is dropped

function row(c: Connection, t: number): HTMLElement {
  const st = statusOf(c);
  const button = h(
    "button",
    { type: "button", class: "conn", "data-name": c.name, id: `conn-${c.name}` },
    h("span", { class: "conn-name" }, c.name),
    h(
      "span",
      { class: "conn-provider" },
      c.providerName,
      ...(isStatic(c) ? [" ", h("span", { class: "kind", "data-kind": c.kind }, kindLabel(c))] : []),
    ),
    h("span", { class: `badge tone-${st.tone}`, "data-status": st.key }, st.label),
    h("span", { class: "conn-scopes" }, c.scopes.join(" ")),
    h("span", { class: "conn-expiry", "data-expires": String(c.expiresAt ?? "") }, countdown(c.expiresAt, t)),
  );
  button.addEventListener("click", () => openDetail(c.name));
  return h("li", {}, button);
}

function render(): void {
  const mine = ++drawing;
  const t = now();
  el("connections-empty").hidden = state.conns.length > 0;
  const sorted = sortConnections(state.conns);
  const list = el("connection-list");
  list.replaceChildren(...sorted.slice(0, FIRST_ROWS).map((c) => row(c, t)));
  const append = (from: number): void => {
    if (from >= sorted.length) return;
    // After the next paint: requestAnimationFrame runs before it, the timeout after.
    requestAnimationFrame(() =>
      window.setTimeout(() => {
        if (mine !== drawing) return;
        list.append(...sorted.slice(from, from + BATCH_ROWS).map((c) => row(c, now())));
        append(from + BATCH_ROWS);
      }),
    );
  };
  append(FIRST_ROWS);
}

/** Every second: the countdowns and statuses move on without asking Rust. */
export function tick(t: number): void {
  // A health the clock has changed since (a key's days, a token lapsing): Rust says anew.
  if (state.conns.some((c) => healthStale(c, t))) void load();
  const byName = new Map(state.conns.map((c) => [c.name, c]));
  for (const b of document.querySelectorAll<HTMLElement>("#connection-list .conn")) {
    const c = byName.get(b.dataset.name ?? "");
    if (!c) continue;
    const st = statusOf(c);
    const badge = b.querySelector<HTMLElement>(".badge")!;
    // Only what changed is written: a thousand rows cost no layout when nothing moved.
    if (badge.dataset.status !== st.key) {
      badge.textContent = st.label;
      badge.className = `badge tone-${st.tone}`;
      badge.dataset.status = st.key;
    }
    const expiry = b.querySelector<HTMLElement>(".conn-expiry")!;
    const text = countdown(c.expiresAt, t);
    if (expiry.textContent !== text) expiry.textContent = text;
  }
}

/** A notice above the list (after a disconnect, say). */
export function flash(message: string, tone: Tone = "success"): void {
  const p = el("connections-empty");
  const note = document.getElementById("connections-note") ?? h("p", { id: "connections-note" });
  p.before(note);
  notice("connections-note", tone, message);
}

/** Wires the pane once. */
export function mount(): void {
  onConnections(render);
}

/** Forgets what was drawn (on lock). */
export function clear(): void {
  drawn = "";
  drawing++;
  for (const id of ["connection-list", "alerts"]) el(id).replaceChildren();
  document.getElementById("connections-note")?.remove();
}
