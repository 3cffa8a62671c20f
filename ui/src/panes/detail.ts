// A connection's detail: its facts, copy / reveal / refresh / re-authorise, and the inline
// disconnect confirmation. The only secret that ever reaches the page is an access token
// the user asked to reveal; it is removed after 60 s or when the pane is left.
import * as api from "../api";
import { el, h, now, show } from "../dom";
import { errorText, formatAge } from "../format";
import { countdown, statusOf } from "../logic";
import { register, setPane } from "../nav";
import { onConnections, state } from "../state";
import { flash, load } from "./connections";

let revealTimer: number | undefined;

function fact(id: string, label: string, value: string, title?: string): HTMLElement {
  const dd = h("dd", title ? { title } : {}, value);
  return h("div", { class: "fact", id: `fact-d-${id}` }, h("dt", {}, label), dd);
}

const selected = () => state.conns.find((x) => x.name === state.selected);

function render(): void {
  const c = selected();
  if (!c) {
    setPane("connections");
    return;
  }
  const t = now();
  const st = statusOf(c, t);
  el("detail-title").textContent = c.name;
  const status = el("detail-status");
  status.replaceChildren(h("span", { class: `badge badge-${st.key}` }, st.label));
  if (c.statusDetail) status.append(" ", c.statusDetail);
  const ago = (u: number | null): string => (u === null ? "never" : formatAge(u, t));
  const iso = (u: number | null): string | undefined =>
    u === null ? undefined : new Date(u * 1000).toISOString().replace("T", " ").replace(/\.\d+Z$/, " UTC");
  const rows = [
    fact("provider", "Provider", `${c.providerName} (${c.provider})`),
    fact("client", "Client ID", c.clientId),
    fact("scopes", "Scopes", c.scopes.join(" ") || "—"),
    fact("issued", "Issued", ago(c.issuedAt), iso(c.issuedAt)),
    fact("expires", "Expires", countdown(c.expiresAt, t), iso(c.expiresAt)),
    fact(
      "refresh-token",
      "Refresh token",
      c.hasRefreshToken
        ? `held, never exported; lapses ${countdown(c.refreshExpiresAt, t)} if unused`
        : "none: sign in again when the access token expires",
    ),
    fact("last-refresh", "Last refresh", ago(c.lastRefresh), iso(c.lastRefresh)),
    fact("last-export", "Last export", ago(c.lastExport), iso(c.lastExport)),
    fact("created", "Connected", ago(c.createdAt), iso(c.createdAt)),
  ];
  if (c.refreshFailures > 0) {
    rows.push(fact("failures", "Failed refreshes", `${c.refreshFailures}: ${c.lastRefreshError ?? ""}`));
  }
  for (const [k, v] of c.check) rows.push(fact(`check-${k}`, `Check: ${k}`, v));
  if (c.checkError) rows.push(fact("check-error", "Check", `failed: ${c.checkError}`));
  el("detail-facts").replaceChildren(...rows);
  const usable = c.status === "active";
  el<HTMLButtonElement>("detail-copy").disabled = !usable;
  el<HTMLButtonElement>("detail-reveal").disabled = !usable;
  el<HTMLButtonElement>("detail-refresh").disabled = !usable || !c.hasRefreshToken;
  el<HTMLButtonElement>("detail-reauth").disabled = c.status === "revocationPending";
  el("detail-disconnect").textContent =
    c.status === "revocationPending" ? "Retry revocation…" : "Disconnect…";
}

/** Every second: the expiry counts down. */
export function tick(t: number): void {
  const c = selected();
  const e = document.querySelector<HTMLElement>("#fact-d-expires dd");
  if (c && e) e.textContent = countdown(c.expiresAt, t);
}

/** Runs `f` with `button` busy; shows its error under the detail title. */
async function busy<T>(button: HTMLButtonElement, label: string, f: () => Promise<T>): Promise<T | undefined> {
  const before = button.textContent ?? "";
  button.disabled = true;
  button.textContent = label;
  show("detail-error", null);
  try {
    return await f();
  } catch (e) {
    show("detail-error", errorText(e));
    return undefined;
  } finally {
    button.textContent = before;
    button.disabled = false;
  }
}

/** Clears and hides the revealed token. */
export function hideReveal(): void {
  window.clearTimeout(revealTimer);
  const ta = el<HTMLTextAreaElement>("reveal-token");
  ta.value = "";
  ta.textContent = "";
  el("reveal-box").hidden = true;
}

/** The selected connection's name (a button only acts on the one shown). */
const name = (): string => state.selected ?? "";

function wireTokens(): void {
  el("detail-copy").addEventListener("click", async () => {
    const r = await busy(el("detail-copy"), "Copying…", () => api.copyToken(name()));
    if (r) {
      show(
        "detail-message",
        `Access token copied. The clipboard is cleared in ${r.clearsInSecs} s; the token expires ${countdown(r.expiresAt, now())}.`,
      );
      await load();
    }
  });
  el("detail-reveal").addEventListener("click", async () => {
    const token = await busy(el("detail-reveal"), "Revealing…", () => api.revealToken(name()));
    if (token === undefined) return;
    el<HTMLTextAreaElement>("reveal-token").value = token;
    el("reveal-box").hidden = false;
    el("reveal-token").focus();
    window.clearTimeout(revealTimer);
    revealTimer = window.setTimeout(hideReveal, 60_000);
  });
  el("reveal-hide").addEventListener("click", hideReveal);
  el("detail-refresh").addEventListener("click", async () => {
    const c = await busy(el("detail-refresh"), "Refreshing…", () => api.refreshConnection(name()));
    if (c) {
      show("detail-message", `Refreshed: new tokens, expiring ${countdown(c.expiresAt, now())}.`);
      await load();
    }
  });
  el("detail-reauth").addEventListener("click", async () => {
    show("detail-message", "Sign in in the browser that just opened…");
    const c = await busy(el("detail-reauth"), "Waiting for the browser…", () => api.reauthorise(name()));
    show("detail-message", c ? `Re-authorised: new tokens, expiring ${countdown(c.expiresAt, now())}.` : null);
    await load();
  });
}

function wireDisconnect(): void {
  el("detail-disconnect").addEventListener("click", () => {
    const c = selected();
    if (!c) return;
    el("confirm-text").textContent = c.canRevoke
      ? `Disconnect “${c.name}”? Its tokens are revoked at ${c.providerName} and deleted here. Tools using it stop working.`
      : `Disconnect “${c.name}”? ${c.providerName} offers no revocation: its tokens are deleted here and expire on their own.`;
    el<HTMLInputElement>("confirm-force").checked = false;
    el("confirm-box").hidden = false;
    el("confirm-no").focus();
  });
  el("confirm-no").addEventListener("click", () => {
    el("confirm-box").hidden = true;
    el("detail-disconnect").focus();
  });
  el("confirm-yes").addEventListener("click", async () => {
    const force = el<HTMLInputElement>("confirm-force").checked;
    const r = await busy(el("confirm-yes"), "Disconnecting…", () => api.disconnect(name(), force));
    el("confirm-box").hidden = true;
    if (!r) return;
    await load();
    if (r.outcome === "pending") {
      show("detail-message", r.message);
    } else {
      setPane("connections");
      flash(r.message);
    }
  });
}

/** Wires the pane once. */
export function mount(): void {
  register("detail", {
    focus: "detail-title",
    shown: () => {
      for (const id of ["detail-message", "detail-error"]) show(id, null);
      el("confirm-box").hidden = true;
      render();
    },
    left: hideReveal,
  });
  onConnections(() => {
    if (state.pane === "detail") render();
  });
  el("detail-back").addEventListener("click", () => {
    setPane("connections");
    if (state.selected) document.getElementById(`conn-${state.selected}`)?.focus();
  });
  wireTokens();
  wireDisconnect();
}

/** Forgets what was shown (on lock). */
export function clear(): void {
  hideReveal();
  el("detail-facts").replaceChildren();
  for (const id of ["detail-message", "detail-error"]) show(id, null);
}
