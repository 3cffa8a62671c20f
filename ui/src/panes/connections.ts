// The connections pane: the list with live countdowns and the alerts above it.
import * as api from "../api";
import { el, h, notice, now, show, type Tone } from "../dom";
import { errorText } from "../format";
import { countdown, sortConnections, statusOf } from "../logic";
import { openDetail } from "../nav";
import { onConnections, setConnections, state } from "../state";
import type { Alert } from "../types";

let drawn = ""; // the connections as last drawn: an unchanged list keeps its nodes and focus

/** Re-reads the connections; redraws only what changed. */
export async function load(): Promise<void> {
  try {
    const all = await api.listConnections();
    renderAlerts(all.alerts);
    show("unlocked-error", null);
    const key = JSON.stringify(all.connections);
    if (key === drawn) return;
    drawn = key;
    setConnections(all.connections);
  } catch (e) {
    show("unlocked-error", errorText(e));
  }
}

function renderAlerts(all: Alert[]): void {
  const ul = el("alerts");
  ul.replaceChildren(...all.map((a) => h("li", { class: `alert tone-warning alert-${a.kind}` }, a.text)));
  ul.hidden = all.length === 0;
}

function render(): void {
  const t = now();
  el("connections-empty").hidden = state.conns.length > 0;
  el("connection-list").replaceChildren(
    ...sortConnections(state.conns, t).map((c) => {
      const st = statusOf(c, t);
      const button = h(
        "button",
        { type: "button", class: "conn", "data-name": c.name, id: `conn-${c.name}` },
        h("span", { class: "conn-name" }, c.name),
        h("span", { class: "conn-provider" }, c.providerName),
        h("span", { class: `badge tone-${st.tone}`, "data-status": st.key }, st.label),
        h("span", { class: "conn-scopes" }, c.scopes.join(" ")),
        h("span", { class: "conn-expiry", "data-expires": String(c.expiresAt ?? "") }, countdown(c.expiresAt, t)),
      );
      button.addEventListener("click", () => openDetail(c.name));
      return h("li", {}, button);
    }),
  );
}

/** Every second: the countdowns and statuses move on without asking Rust. */
export function tick(t: number): void {
  const byName = new Map(state.conns.map((c) => [c.name, c]));
  for (const b of document.querySelectorAll<HTMLElement>("#connection-list .conn")) {
    const c = byName.get(b.dataset.name ?? "");
    if (!c) continue;
    const st = statusOf(c, t);
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
  for (const id of ["connection-list", "alerts"]) el(id).replaceChildren();
  document.getElementById("connections-note")?.remove();
}
