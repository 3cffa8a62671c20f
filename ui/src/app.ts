// The unlocked app's DOM wiring: tabs, the connections list with live countdowns, the
// connect wizard, a connection's detail, the timeline, keys, audit and settings. Logic
// lives in logic.ts (tested); this file copies its results into the page. Text goes in
// through textContent only. The only secret that ever reaches the page is an access token
// the user asked to reveal, and it is removed again after 60 s or when leaving the view.
import * as api from "./api";
import { errorText, formatAge } from "./format";
import {
  auditEvents,
  connectFormProblem,
  countdown,
  eventLabel,
  filterAudit,
  progressText,
  secretWarning,
  settingsProblem,
  sortConnections,
  statusOf,
  timeline,
} from "./logic";
import { passphraseStrength } from "./strength";
import type { Alert, AuditView, Connection, ConnectForm, Provider, VaultFacts } from "./types";

type Tab = "connections" | "timeline" | "keys" | "audit" | "settings";
type Pane = Tab | "connect" | "detail";

const TABS: Tab[] = ["connections", "timeline", "keys", "audit", "settings"];

function el<T extends HTMLElement = HTMLElement>(id: string): T {
  const e = document.getElementById(id);
  if (!e) throw new Error(`#${id} is missing from index.html`);
  return e as T;
}

function h<K extends keyof HTMLElementTagNameMap>(
  tag: K,
  props: Partial<Record<string, string>> = {},
  ...children: (Node | string)[]
): HTMLElementTagNameMap[K] {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(props)) if (v !== undefined) e.setAttribute(k, v);
  e.append(...children);
  return e;
}

const SVG = "http://www.w3.org/2000/svg";
function s<K extends keyof SVGElementTagNameMap>(
  tag: K,
  attrs: Record<string, string | number>,
  text?: string,
): SVGElementTagNameMap[K] {
  const e = document.createElementNS(SVG, tag);
  for (const [k, v] of Object.entries(attrs)) e.setAttribute(k, String(v));
  if (text !== undefined) e.textContent = text;
  return e;
}

const now = (): number => Date.now() / 1000;

function show(id: string, message: string | null): void {
  const p = el(id);
  p.textContent = message ?? "";
  p.hidden = !message;
}

let active = false;
let pane: Pane = "connections";
let conns: Connection[] = [];
let providers: Provider[] = [];
let selected: string | null = null;
let audit: AuditView | null = null;
let ticker: number | undefined;
let revealTimer: number | undefined;
let lastActivity = 0;
let facts: (v: VaultFacts) => void = () => {};

// ---------------------------------------------------------------- panes

function setPane(p: Pane, focus = true): void {
  if (p !== "detail") hideReveal();
  pane = p;
  const tab: Tab = p === "connect" || p === "detail" ? "connections" : p;
  for (const t of TABS) {
    const b = el(`tab-${t}`);
    b.setAttribute("aria-selected", String(t === tab));
    b.tabIndex = t === tab ? 0 : -1;
  }
  for (const id of [...TABS, "connect", "detail"]) el(`panel-${id}`).hidden = id !== p;
  if (p === "timeline") renderTimeline();
  if (p === "audit") void loadAudit();
  if (p === "settings") void loadSettings();
  if (focus) {
    if (p === "connect") el("connect-name").focus();
    else if (p === "detail") el("detail-title").focus();
  }
}

function wireTabs(): void {
  for (const t of TABS) {
    const b = el(`tab-${t}`);
    b.addEventListener("click", () => setPane(t));
    b.addEventListener("keydown", (e) => {
      const i = TABS.indexOf(t);
      const j =
        e.key === "ArrowRight" ? (i + 1) % TABS.length
        : e.key === "ArrowLeft" ? (i + TABS.length - 1) % TABS.length
        : e.key === "Home" ? 0
        : e.key === "End" ? TABS.length - 1
        : -1;
      if (j < 0) return;
      e.preventDefault();
      setPane(TABS[j]!);
      el(`tab-${TABS[j]}`).focus();
    });
  }
}

// ---------------------------------------------------------------- connections

let drawn = ""; // the connections as last drawn: an unchanged list keeps its nodes and focus

async function loadConnections(): Promise<void> {
  let next: Connection[];
  try {
    const all = await api.listConnections();
    next = all.connections;
    renderAlerts(all.alerts);
    show("unlocked-error", null);
  } catch (e) {
    show("unlocked-error", errorText(e));
    return;
  }
  const key = JSON.stringify(next);
  if (key === drawn) return;
  drawn = key;
  conns = next;
  renderList();
  if (pane === "detail") renderDetail();
  if (pane === "timeline") renderTimeline();
}

function renderAlerts(all: Alert[]): void {
  const ul = el("alerts");
  ul.replaceChildren(...all.map((a) => h("li", { class: `alert alert-${a.kind}` }, a.text)));
  ul.hidden = all.length === 0;
}

function renderList(): void {
  const t = now();
  const list = el("connection-list");
  el("connections-empty").hidden = conns.length > 0;
  list.replaceChildren(
    ...sortConnections(conns, t).map((c) => {
      const st = statusOf(c, t);
      const button = h(
        "button",
        { type: "button", class: "conn", "data-name": c.name, id: `conn-${c.name}` },
        h("span", { class: "conn-name" }, c.name),
        h("span", { class: "conn-provider" }, c.providerName),
        h("span", { class: `badge badge-${st.key}` }, st.label),
        h("span", { class: "conn-scopes" }, c.scopes.join(" ")),
        h("span", { class: "conn-expiry", "data-expires": String(c.expiresAt ?? "") }, countdown(c.expiresAt, t)),
      );
      button.addEventListener("click", () => openDetail(c.name));
      return h("li", {}, button);
    }),
  );
}

/** Every second: the countdowns and statuses move on without asking Rust. */
function tick(): void {
  if (!active) return;
  const t = now();
  if (pane === "connections") {
    for (const b of document.querySelectorAll<HTMLElement>("#connection-list .conn")) {
      const c = conns.find((x) => x.name === b.dataset.name);
      if (!c) continue;
      const st = statusOf(c, t);
      const badge = b.querySelector<HTMLElement>(".badge")!;
      badge.textContent = st.label;
      badge.className = `badge badge-${st.key}`;
      b.querySelector<HTMLElement>(".conn-expiry")!.textContent = countdown(c.expiresAt, t);
    }
  }
  if (pane === "detail") {
    const c = conns.find((x) => x.name === selected);
    const e = document.querySelector<HTMLElement>("#fact-d-expires dd");
    if (c && e) e.textContent = countdown(c.expiresAt, t);
  }
}

// ---------------------------------------------------------------- detail

function openDetail(name: string): void {
  selected = name;
  for (const id of ["detail-message", "detail-error"]) show(id, null);
  el("confirm-box").hidden = true;
  renderDetail();
  setPane("detail");
}

function fact(id: string, label: string, value: string, title?: string): HTMLElement {
  const dd = h("dd", title ? { title } : {}, value);
  return h("div", { class: "fact", id: `fact-d-${id}` }, h("dt", {}, label), dd);
}

function renderDetail(): void {
  const c = conns.find((x) => x.name === selected);
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

function hideReveal(): void {
  window.clearTimeout(revealTimer);
  const ta = el<HTMLTextAreaElement>("reveal-token");
  ta.value = "";
  ta.textContent = "";
  el("reveal-box").hidden = true;
}

function wireDetail(): void {
  el("detail-back").addEventListener("click", () => {
    setPane("connections");
    if (selected) document.getElementById(`conn-${selected}`)?.focus();
  });
  el("detail-copy").addEventListener("click", async () => {
    const name = selected!;
    const r = await busy(el("detail-copy"), "Copying…", () => api.copyToken(name));
    if (r) {
      show(
        "detail-message",
        `Access token copied. The clipboard is cleared in ${r.clearsInSecs} s; the token expires ${countdown(r.expiresAt, now())}.`,
      );
      await loadConnections();
    }
  });
  el("detail-reveal").addEventListener("click", async () => {
    const name = selected!;
    const token = await busy(el("detail-reveal"), "Revealing…", () => api.revealToken(name));
    if (token === undefined) return;
    el<HTMLTextAreaElement>("reveal-token").value = token;
    el("reveal-box").hidden = false;
    el("reveal-token").focus();
    window.clearTimeout(revealTimer);
    revealTimer = window.setTimeout(hideReveal, 60_000);
  });
  el("reveal-hide").addEventListener("click", hideReveal);
  el("detail-refresh").addEventListener("click", async () => {
    const name = selected!;
    const c = await busy(el("detail-refresh"), "Refreshing…", () => api.refreshConnection(name));
    if (c) {
      show("detail-message", `Refreshed: new tokens, expiring ${countdown(c.expiresAt, now())}.`);
      await loadConnections();
    }
  });
  el("detail-reauth").addEventListener("click", async () => {
    const name = selected!;
    show("detail-message", "Sign in in the browser that just opened…");
    const c = await busy(el("detail-reauth"), "Waiting for the browser…", () => api.reauthorise(name));
    show("detail-message", c ? `Re-authorised: new tokens, expiring ${countdown(c.expiresAt, now())}.` : null);
    await loadConnections();
  });
  el("detail-disconnect").addEventListener("click", () => {
    const c = conns.find((x) => x.name === selected);
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
    const name = selected!;
    const force = el<HTMLInputElement>("confirm-force").checked;
    const r = await busy(el("confirm-yes"), "Disconnecting…", () => api.disconnect(name, force));
    el("confirm-box").hidden = true;
    if (!r) return;
    await loadConnections();
    if (r.outcome === "pending") {
      show("detail-message", r.message);
    } else {
      setPane("connections");
      flash(r.message);
    }
  });
}

function flash(message: string): void {
  const p = el("connections-empty");
  const note = document.getElementById("connections-note") ?? h("p", { id: "connections-note", class: "note", role: "status" });
  note.textContent = message;
  p.before(note);
}

// ---------------------------------------------------------------- connect wizard

function formValue(): ConnectForm {
  const v = (id: string): string => el<HTMLInputElement>(id).value;
  return {
    name: v("connect-name"),
    provider: v("connect-provider"),
    clientId: v("connect-client-id"),
    clientSecret: v("connect-secret"),
    scopes: v("connect-scopes"),
    authorizeUrl: v("connect-authorize"),
    tokenUrl: v("connect-token-url"),
    revocationUrl: v("connect-revocation"),
  };
}

function updateWizard(): void {
  const f = formValue();
  el("custom-fields").hidden = f.provider !== "custom";
  const warn = secretWarning(
    providers.find((p) => p.name === f.provider),
    f.clientSecret,
  );
  show("secret-warning", warn);
}

async function openWizard(): Promise<void> {
  show("connect-error", null);
  el("connect-form").hidden = false;
  el("connect-waiting").hidden = true;
  setPane("connect");
  try {
    providers = await api.providers();
  } catch (e) {
    show("connect-error", errorText(e));
  }
  const sel = el<HTMLSelectElement>("connect-provider");
  const keep = sel.value;
  sel.replaceChildren(
    ...providers.map((p) => h("option", { value: p.name }, `${p.name} (${p.source})`)),
    h("option", { value: "custom" }, "Custom provider…"),
  );
  if (keep) sel.value = keep;
  updateWizard();
}

function wireWizard(): void {
  el("connect-open").addEventListener("click", () => void openWizard());
  el("connect-back").addEventListener("click", () => {
    void api.cancelConnect();
    setPane("connections");
  });
  for (const id of ["connect-provider", "connect-secret"]) {
    el(id).addEventListener("input", updateWizard);
    el(id).addEventListener("change", updateWizard);
  }
  el("connect-cancel").addEventListener("click", () => void api.cancelConnect());
  el<HTMLFormElement>("connect-form").addEventListener("submit", async (ev) => {
    ev.preventDefault();
    const f = formValue();
    const problem = connectFormProblem(f);
    show("connect-error", problem);
    if (problem) return;
    el<HTMLInputElement>("connect-secret").value = "";
    el("connect-form").hidden = true;
    el("connect-waiting").hidden = false;
    el("connect-cancel").focus();
    try {
      const c = await api.connect(f);
      for (const id of ["connect-name", "connect-client-id", "connect-scopes", "connect-authorize", "connect-token-url", "connect-revocation"]) {
        el<HTMLInputElement>(id).value = "";
      }
      await loadConnections();
      openDetail(c.name);
      const checked = c.checkError
        ? `The connection check failed: ${c.checkError}`
        : c.check.length > 0
          ? `Connection check: ${c.check.map(([k, v]) => `${k} ${v}`).join(", ")}.`
          : "No connection check for this provider.";
      show("detail-message", `Connected “${c.name}” to ${c.providerName}. ${checked}`);
    } catch (e) {
      show("connect-error", errorText(e));
      el("connect-form").hidden = false;
      el("connect-name").focus();
    } finally {
      el("connect-waiting").hidden = true;
    }
  });
}

// ---------------------------------------------------------------- timeline

function renderTimeline(): void {
  const box = el("timeline-box");
  if (conns.length === 0) {
    box.replaceChildren(h("p", { class: "lead" }, "No connections to show."));
    return;
  }
  const labelW = 150;
  const plotW = 600;
  const rowH = 34;
  const top = 28;
  const tl = timeline(conns, now(), plotW);
  const height = top + tl.rows.length * rowH + 14;
  const svg = s("svg", {
    viewBox: `0 0 ${labelW + plotW + 10} ${height}`,
    role: "img",
    "aria-labelledby": "timeline-desc",
    class: "timeline",
    id: "timeline",
  });
  const desc = tl.rows
    .map((r) => `${r.name}: access token ${r.access ? "shown" : "with no expiry"}${r.refresh ? ", refresh token shown" : ""}`)
    .join("; ");
  svg.append(s("title", { id: "timeline-desc" }, `Expiry timeline. ${desc}.`));
  for (const t of tl.ticks) {
    svg.append(
      s("line", { x1: labelW + t.x, x2: labelW + t.x, y1: top - 6, y2: height, class: "tl-grid" }),
      s("text", { x: labelW + t.x, y: top - 10, class: "tl-tick", "text-anchor": t.x > plotW - 30 ? "end" : "middle" }, t.label),
    );
  }
  tl.rows.forEach((r, i) => {
    const y = top + i * rowH;
    svg.append(s("text", { x: 0, y: y + 20, class: "tl-name" }, r.name));
    if (r.refresh) {
      svg.append(
        s("rect", { x: labelW + r.refresh.x0, y: y + 6, width: Math.max(2, r.refresh.x1 - r.refresh.x0), height: 20, rx: 4, class: "tl-refresh" }),
      );
    }
    if (r.access) {
      svg.append(
        s("rect", { x: labelW + r.access.x0, y: y + 10, width: Math.max(2, r.access.x1 - r.access.x0), height: 12, rx: 3, class: `tl-access tl-${r.status}` }),
      );
    }
  });
  svg.append(
    s("line", { x1: labelW + tl.nowX, x2: labelW + tl.nowX, y1: top - 6, y2: height, class: "tl-now" }),
    s("text", { x: labelW + tl.nowX - 3, y: height - 2, class: "tl-tick", "text-anchor": "end" }, "now"),
  );
  box.replaceChildren(svg);
}

// ---------------------------------------------------------------- keys

function wireKeys(): void {
  el("rotate-key").addEventListener("click", async () => {
    const b = el<HTMLButtonElement>("rotate-key");
    b.disabled = true;
    show("keys-error", null);
    show("keys-message", null);
    el("rotate-status").hidden = false;
    el("rotate-text").textContent = progressText(0, 0);
    const stop = await api.onRotationProgress(({ done, total }) => {
      const p = el<HTMLProgressElement>("rotate-progress");
      p.max = Math.max(1, total);
      p.value = done;
      el("rotate-text").textContent = progressText(done, total);
    });
    try {
      const f = await api.rotateKey();
      facts(f);
      show("keys-message", `Data key rotated: now generation ${f.generation}, ${f.recordCount ?? 0} records re-encrypted.`);
    } catch (e) {
      show("keys-error", errorText(e));
    } finally {
      stop();
      el("rotate-status").hidden = true;
      b.disabled = false;
    }
  });
  const cur = el<HTMLInputElement>("pw-current");
  const nw = el<HTMLInputElement>("pw-new");
  const conf = el<HTMLInputElement>("pw-confirm");
  nw.addEventListener("input", () => {
    const st = passphraseStrength(nw.value, 8);
    el("pw-strength").textContent = nw.value ? `${st.label}. ${st.advice}` : "";
  });
  el<HTMLFormElement>("passwd-form").addEventListener("submit", async (ev) => {
    ev.preventDefault();
    show("keys-error", null);
    show("keys-message", null);
    if (nw.value !== conf.value) {
      show("keys-error", "The two new passphrases do not match.");
      conf.focus();
      return;
    }
    const [c, n, k] = [cur.value, nw.value, conf.value];
    for (const i of [cur, nw, conf]) i.value = "";
    el("pw-strength").textContent = "";
    const b = el<HTMLButtonElement>("pw-submit");
    b.disabled = true;
    b.textContent = "Changing…";
    try {
      const f = await api.changePassphrase(c, n, k);
      facts(f);
      show("keys-message", "Passphrase changed. Use the new one from now on.");
    } catch (e) {
      show("keys-error", errorText(e));
      cur.focus();
    } finally {
      b.disabled = false;
      b.textContent = "Change passphrase";
    }
  });
}

// ---------------------------------------------------------------- audit

async function loadAudit(): Promise<void> {
  const v = el("audit-verdict");
  v.textContent = "Verifying…";
  try {
    audit = await api.auditLog();
  } catch (e) {
    v.textContent = errorText(e);
    v.dataset.ok = "false";
    return;
  }
  v.dataset.ok = String(audit.intact);
  v.textContent = audit.intact
    ? `Verified: the chain and the anchor are intact (${audit.authenticated} lines authenticated).`
    : `The audit log is BROKEN: ${audit.broken}. Someone or something changed ${audit.path}.`;
  const sel = el<HTMLSelectElement>("audit-event");
  const keep = sel.value;
  sel.replaceChildren(
    h("option", { value: "" }, "All events"),
    ...auditEvents(audit.lines).map((e) => h("option", { value: e }, eventLabel(e))),
  );
  sel.value = keep;
  renderAudit();
}

function renderAudit(): void {
  if (!audit) return;
  const lines = filterAudit(audit.lines, {
    text: el<HTMLInputElement>("audit-filter").value,
    event: el<HTMLSelectElement>("audit-event").value,
    unauthenticatedOnly: el<HTMLInputElement>("audit-unauth").checked,
  });
  const t = now();
  el("audit-count").textContent = `${lines.length} of ${audit.lines.length} lines`;
  el("audit-lines").replaceChildren(
    ...lines.slice(0, 500).map((l) =>
      h(
        "li",
        { class: l.authenticated ? "" : "unauth" },
        h("span", { class: "seq" }, `#${l.seq}`),
        h("span", { class: "when", title: new Date(l.ts * 1000).toISOString() }, formatAge(l.ts, t)),
        h("span", { class: "event" }, eventLabel(l.event)),
        h("span", { class: "fields" }, l.fields.map(([k, v]) => `${k}=${v}`).join(" ")),
        l.authenticated ? "" : h("span", { class: "badge badge-expired" }, "written while locked"),
      ),
    ),
  );
}

function wireAudit(): void {
  el("audit-reload").addEventListener("click", () => void loadAudit());
  for (const id of ["audit-filter", "audit-event", "audit-unauth"]) {
    el(id).addEventListener("input", renderAudit);
    el(id).addEventListener("change", renderAudit);
  }
}

// ---------------------------------------------------------------- settings

let contextFacts: [string, string][] = [];

async function loadSettings(): Promise<void> {
  try {
    const v = await api.getSettings();
    el<HTMLSelectElement>("set-autolock").value = String(v.settings.autoLockMinutes);
    if (el<HTMLSelectElement>("set-autolock").value === "") {
      const sel = el<HTMLSelectElement>("set-autolock");
      sel.append(h("option", { value: String(v.settings.autoLockMinutes) }, `${v.settings.autoLockMinutes} minutes`));
      sel.value = String(v.settings.autoLockMinutes);
    }
    el<HTMLInputElement>("set-ahead").value = String(v.settings.refreshAheadMinutes);
    el<HTMLInputElement>("set-notify").checked = v.settings.notifications;
    show("settings-error", v.problem);
    el("settings-facts").replaceChildren(
      ...[...contextFacts, ["Data directory", v.dataDir], ["Providers file", v.providersFile ?? "—"]].map(([k, val]) =>
        h("div", { class: "fact" }, h("dt", {}, k!), h("dd", { class: "mono" }, val!)),
      ),
    );
  } catch (e) {
    show("settings-error", errorText(e));
  }
}

function wireSettings(): void {
  el<HTMLFormElement>("settings-form").addEventListener("submit", async (ev) => {
    ev.preventDefault();
    show("settings-message", null);
    const settings = {
      autoLockMinutes: Number(el<HTMLSelectElement>("set-autolock").value),
      refreshAheadMinutes: Number(el<HTMLInputElement>("set-ahead").value),
      notifications: el<HTMLInputElement>("set-notify").checked,
    };
    const problem = settingsProblem(settings);
    show("settings-error", problem);
    if (problem) return;
    try {
      await api.saveSettings(settings);
      show("settings-message", "Saved. The auto-lock counts from now.");
      onSettings(settings.autoLockMinutes);
    } catch (e) {
      show("settings-error", errorText(e));
    }
  });
}

let onSettings: (autoLockMinutes: number) => void = () => {};

// ---------------------------------------------------------------- entry points

/** Wires every control once. `renderFacts` draws the vault facts (Keys tab). */
export function init(renderFacts: (v: VaultFacts) => void, settingsChanged: (m: number) => void): void {
  facts = renderFacts;
  onSettings = settingsChanged;
  wireTabs();
  wireDetail();
  wireWizard();
  wireKeys();
  wireAudit();
  wireSettings();
  // A person using the window keeps the vault open (at most one call per 20 s).
  for (const type of ["keydown", "pointerdown"]) {
    document.addEventListener(type, () => {
      if (!active || performance.now() - lastActivity < 20_000) return;
      lastActivity = performance.now();
      void api.activity();
    });
  }
}

/** The vault is unlocked (called at every state render): show the app, re-read the
 * connections. */
export function enter(profile: string, store: string): void {
  contextFacts = [
    ["Profile", profile],
    ["Store", store],
  ];
  if (!active) {
    active = true;
    setPane("connections", false);
    window.clearInterval(ticker);
    ticker = window.setInterval(tick, 1000);
  }
  void loadConnections();
}

/** The vault was locked: forget everything shown. */
export function leave(): void {
  if (!active) return;
  active = false;
  window.clearInterval(ticker);
  hideReveal();
  conns = [];
  drawn = "";
  audit = null;
  selected = null;
  for (const id of ["connection-list", "detail-facts", "audit-lines", "timeline-box", "alerts"]) el(id).replaceChildren();
  for (const id of ["detail-message", "detail-error", "keys-message", "keys-error", "connect-error"]) show(id, null);
  el<HTMLInputElement>("connect-secret").value = "";
  for (const id of ["pw-current", "pw-new", "pw-confirm"]) el<HTMLInputElement>(id).value = "";
  document.getElementById("connections-note")?.remove();
}
