// A connection's detail: its facts, copy / reveal / refresh / re-authorise, and the inline
// disconnect confirmation. The only secret that ever reaches the page is an access token
// the user asked to reveal; it is removed after 60 s or when the pane is left.
import * as api from "../api";
import { el, fieldProblem, h, notice, now, type Tone } from "../dom";
import { errorText, formatAge, isCancelled } from "../format";
import { checkLabel, checkValue, copiedText, countdown, expiryGate, INSTALLATION_FACTS, installationText, isStatic, kindLabel, statusOf } from "../logic";
import { register, setPane } from "../nav";
import { onConnections, state } from "../state";
import { flash, load } from "./connections";
import * as proxy from "./proxy";

/** When the revealed token is hidden again (performance.now() ms), or 0: none shown. */
let revealUntil = 0;
/** When the clipboard copy is cleared (performance.now() ms), or 0. */
let clipboardClearsAt = 0;
/** What was copied last, and the notice said about it (while it is the one shown). */
let copied: { what: string; expiresAt: number | null } | null = null;
let copyNotice: string | null = null;
const REVEAL_MS = 60_000;

/** The one notice under the actions: what the last action did. */
function say(tone: Tone, message: string | null): void {
  notice("detail-message", tone, message);
}
const shown = (): string => el("detail-message").textContent ?? "";

function fact(id: string, label: string, value: string, title?: string): HTMLElement {
  const dd = h("dd", title ? { title } : {}, value);
  return h("div", { class: "fact", id: `fact-d-${id}` }, h("dt", {}, label), dd);
}

/** How long ago `u` was at `t`, or "never". */
const ago = (u: number | null, t: number): string => (u === null ? "never" : formatAge(u, t));
/** `u` as a UTC time, for the hover. */
const isoTime = (u: number | null): string | undefined =>
  u === null ? undefined : new Date(u * 1000).toISOString().replace("T", " ").replace(/\.\d+Z$/, " UTC");

const selected = () => state.conns.find((x) => x.name === state.selected);

function render(): void {
  const c = selected();
  if (!c) {
    setPane("connections");
    return;
  }
  const t = now();
  const st = statusOf(c);
  el("detail-title").textContent = c.name;
  const status = el("detail-status");
  status.replaceChildren(h("span", { class: `badge tone-${st.tone}`, "data-status": st.key }, st.label));
  // Said once on the screen: not again beside the badge when the notice says it.
  if (c.statusDetail && !shown().includes(c.statusDetail)) status.append(" ", c.statusDetail);
  const rows = isStatic(c) ? staticFacts(c, t) : [
    fact("provider", "Provider", c.providerName, c.provider === c.providerName ? undefined : `configured as “${c.provider}”`),
    fact("client", "Client ID", c.clientId),
    fact("scopes", "Scopes", c.scopes.join(" ") || "—"),
    fact("issued", "Issued", ago(c.issuedAt, t), isoTime(c.issuedAt)),
    fact("expires", "Expires", countdown(c.expiresAt, t), isoTime(c.expiresAt)),
    fact(
      "refresh-token",
      "Refresh token",
      c.hasRefreshToken
        ? `held, never exported; lapses ${countdown(c.refreshExpiresAt, t)} if unused`
        : "none: sign in again when the access token expires",
    ),
    fact(
      "last-refresh",
      "Last refresh",
      ago(c.lastRefresh, t) + (c.lastRefresh && c.refreshedBy ? ` by ${c.refreshedBy}` : ""),
      isoTime(c.lastRefresh),
    ),
    fact("last-export", "Last export", ago(c.lastExport, t), isoTime(c.lastExport)),
    fact("created", "Connected", ago(c.createdAt, t), isoTime(c.createdAt)),
  ];
  if (c.refreshFailures > 0) {
    const last = c.lastRefreshError;
    const why = last && !shown().includes(last) ? `; last: ${last}` : "";
    rows.push(fact("failures", "Failed refreshes", `${c.refreshFailures} in a row, retried by itself${why}`));
  }
  const installation = installationText(c, c.checkedAt === null ? null : ago(c.checkedAt, t));
  if (installation) rows.push(fact("installation", "Installation", installation));
  for (const [k, v] of c.check.filter(([k]) => !INSTALLATION_FACTS.includes(k))) {
    const label = c.kind === "api-key" && k === "subjectURN" ? "Company" : checkLabel(k);
    rows.push(fact(`check-${k}`, label, checkValue(v)));
  }
  if (c.checkError) rows.push(fact("check-error", "Connection check", `failed: ${c.checkError}`));
  if (c.checkedAt !== null) rows.push(fact("checked", "Last checked", ago(c.checkedAt, t), isoTime(c.checkedAt)));
  el("detail-facts").replaceChildren(...rows);
  const usable = c.status === "active";
  const keyish = isStatic(c);
  el("detail-copy").textContent = c.kind === "api-key" ? "Copy API key" : keyish ? "Copy token" : "Copy access token";
  el<HTMLButtonElement>("detail-copy").disabled = !usable;
  el<HTMLButtonElement>("detail-reveal").disabled = !usable;
  // Only a short-lived access token is shown in the page; a key only goes to the clipboard.
  el("detail-reveal").hidden = keyish;
  el("detail-refresh").hidden = keyish;
  el("detail-reauth").hidden = keyish;
  el("detail-rotate").hidden = !keyish;
  // A proxy needs the provider's API base (Pleo's, or `api_base` in the providers file).
  el<HTMLButtonElement>("detail-proxy").disabled = !usable;
  // A static token has nothing to check it with.
  el("detail-check").hidden = keyish && c.kind !== "api-key";
  el<HTMLButtonElement>("detail-refresh").disabled = !usable || !c.hasRefreshToken;
  el<HTMLButtonElement>("detail-reauth").disabled = c.status === "revocationPending";
  el("detail-disconnect").textContent = keyish
    ? "Delete…"
    : c.status === "revocationPending"
      ? "Retry revocation…"
      : "Disconnect…";
}

/** An API key's or static token's facts: what it is, where from, until when. */
function staticFacts(c: NonNullable<ReturnType<typeof selected>>, t: number): HTMLElement[] {
  const rows = [
    fact("kind", "Kind", `${c.kind === "api-key" ? "Pleo API key" : kindLabel(c)} · ${c.providerName}`),
    fact("expires", "Expires", c.expiresAt === null ? "no date given" : countdown(c.expiresAt, t), isoTime(c.expiresAt)),
    fact(
      "refresh-token",
      "Renewal",
      c.expiresAt === null
        ? "never refreshed: when you make a new one, put it in with Rotate key…"
        : "never refreshed: make a new one before its date and put it in with Rotate key…",
    ),
    fact("issued", "Added", ago(c.issuedAt, t), isoTime(c.issuedAt)),
    fact("last-export", "Last export", ago(c.lastExport, t), isoTime(c.lastExport)),
  ];
  if (c.scopes.length > 0) rows.splice(1, 0, fact("scopes", "Scopes", c.scopes.join(" ")));
  return rows;
}

/** Every second: the expiry and the reveal count down; a cleared clipboard is said. */
export function tick(t: number): void {
  void proxy.tick();
  const c = selected();
  const e = document.querySelector<HTMLElement>("#fact-d-expires dd");
  if (c && e) e.textContent = c.expiresAt === null && isStatic(c) ? "no date given" : countdown(c.expiresAt, t);
  if (revealUntil) {
    const left = Math.ceil((revealUntil - performance.now()) / 1000);
    if (left <= 0) hideReveal();
    else el("reveal-countdown").textContent = `(hidden again in ${left} s)`;
  }
  // On this window's monotonic clock, as Reveal's countdown (the wallet's clock, which
  // the list follows, may be set apart from it).
  const left = (clipboardClearsAt - performance.now()) / 1000;
  if (clipboardClearsAt && left <= 0) {
    clipboardClearsAt = 0;
    if (shown() === copyNotice) say("info", "The clipboard was cleared: the token is no longer in it.");
    copyNotice = null;
  } else if (clipboardClearsAt && copied && shown() === copyNotice) {
    // The copy's notice counts down, as Reveal's label does.
    copyNotice = copiedText(copied.what, left, copied.expiresAt, t);
    if (copyNotice !== shown()) say("success", copyNotice);
  }
}

/** Runs `f` with `button` busy; a failure becomes the notice (`failed` words it). */
async function busy<T>(
  button: HTMLButtonElement,
  label: string,
  f: () => Promise<T>,
  failed: (e: unknown) => string = errorText,
): Promise<T | undefined> {
  const before = button.textContent ?? "";
  button.disabled = true;
  button.textContent = label;
  try {
    return await f();
  } catch (e) {
    // Closing Token Wallet's own key or passphrase window is not a failure.
    if (!isCancelled(e)) say("failure", failed(e));
    render();
    return undefined;
  } finally {
    button.textContent = before;
    button.disabled = false;
  }
}

/** Clears and hides the revealed token. */
export function hideReveal(): void {
  revealUntil = 0;
  const ta = el<HTMLTextAreaElement>("reveal-token");
  ta.value = "";
  ta.textContent = "";
  el("reveal-countdown").textContent = "";
  el("reveal-box").hidden = true;
}

/** Shows the connection's current access token (asked again after a refresh, so the box
 * never shows one that was replaced). */
async function reveal(): Promise<void> {
  const token = await busy(el("detail-reveal"), "Revealing…", () => api.revealToken(name()));
  if (token === undefined) return;
  el<HTMLTextAreaElement>("reveal-token").value = token;
  el("reveal-box").hidden = false;
  revealUntil = performance.now() + REVEAL_MS;
  tick(now());
}

/** After the tokens changed: the revealed one is replaced by the new one. */
async function tokensChanged(): Promise<void> {
  await load();
  if (revealUntil) await reveal();
}

/** A refresh error in the window's words: a refresh stores nothing when it fails anyway. */

/** A failed refresh, said with what still holds: the current token and the retries. */
function refreshFailed(why: string, expiresAt: number | null): string {
  const t = now();
  const still =
    expiresAt !== null && expiresAt > t
      ? ` The current access token still works (it expires ${countdown(expiresAt, t)}), and the wallet retries by itself.`
      : " The wallet retries by itself.";
  // Said once: not "Refresh failed: Refreshing “x” failed: …".
  const what = why.replace(/^Refreshing “[^”]*” failed: /i, "");
  return `Refresh failed: ${what}${still}`;
}

/** The selected connection's name (a button only acts on the one shown). */
const name = (): string => state.selected ?? "";

function wireTokens(): void {
  el("detail-copy").addEventListener("click", async () => {
    const r = await busy(el("detail-copy"), "Copying…", () => api.copyToken(name()));
    if (r) {
      clipboardClearsAt = performance.now() + r.clearsInSecs * 1000;
      const what = selected()?.kind === "api-key" ? "API key" : selected()?.kind === "oauth" ? "Access token" : "Token";
      copied = { what, expiresAt: r.expiresAt };
      copyNotice = copiedText(what, r.clearsInSecs, r.expiresAt, now());
      say("success", copyNotice);
      await load();
    }
  });
  el("detail-reveal").addEventListener("click", async () => {
    await reveal();
    if (revealUntil) el("reveal-token").focus();
  });
  el("reveal-hide").addEventListener("click", hideReveal);
  el("detail-refresh").addEventListener("click", async () => {
    const before = selected();
    const c = await busy(el("detail-refresh"), "Refreshing…", () => api.refreshConnection(name()), (e) =>
      refreshFailed(errorText(e), before?.expiresAt ?? null),
    );
    if (c) {
      say("success", `Refreshed: new tokens, expiring ${countdown(c.expiresAt, now())}.`);
      await tokensChanged();
    } else {
      await load();
    }
  });
  el("detail-reauth").addEventListener("click", async () => {
    say("info", "Sign in in the browser that just opened…");
    const c = await busy(el("detail-reauth"), "Waiting for the browser…", () => api.reauthorise(name()));
    if (c) {
      say("success", `Re-authorised: new tokens, expiring ${countdown(c.expiresAt, now())}.`);
      await tokensChanged();
    } else {
      await load();
    }
  });
}

function wireKeys(): void {
  el("detail-check").addEventListener("click", async () => {
    const r = await busy(el("detail-check"), "Checking…", () => api.checkConnection(name()));
    if (!r) return;
    const tone = r.outcome === "ok" ? "success" : r.outcome === "unverifiable" ? "info" : r.outcome === "failed" ? "warning" : "failure";
    say(tone, r.message);
    await load();
  });
  // Saving the new key with no expiry date was asked about, and the date left empty since.
  let noDateAsked = false;
  const rotateProblem = (message: string | null, tone: Tone = "failure"): void =>
    fieldProblem("rotate-error", ["rotate-expires"], message, message ? "rotate-expires" : null, "rotate-yes", tone);
  el("detail-rotate").addEventListener("click", () => {
    noDateAsked = false;
    rotateProblem(null);
    el("rotate-box").hidden = false;
    el("rotate-expires").focus();
  });
  el("rotate-expires").addEventListener("input", () => {
    noDateAsked = false;
    rotateProblem(null);
  });
  const closeRotate = (): void => {
    el("rotate-box").hidden = true;
  };
  el("rotate-no").addEventListener("click", () => {
    closeRotate();
    el("detail-rotate").focus();
  });
  el<HTMLFormElement>("rotate-box").addEventListener("submit", async (ev) => {
    ev.preventDefault();
    const expires = el<HTMLInputElement>("rotate-expires").value.trim();
    const gate = expiryGate(expires, noDateAsked, now());
    noDateAsked = gate?.tone === "warning";
    rotateProblem(gate?.message ?? null, gate?.tone);
    if (gate) return;
    // The new key is pasted in Token Wallet's own window, which this opens.
    const r = await busy(el("rotate-yes"), "Waiting for the key…", () => api.rotateSecret({ name: name(), expires }), (e) =>
      `Not rotated: ${errorText(e)} The old key is still in place.`,
    );
    if (!r) return;
    closeRotate();
    say("success", r.message);
    await tokensChanged();
  });
}

function wireDisconnect(): void {
  el("detail-disconnect").addEventListener("click", () => {
    const c = selected();
    if (!c) return;
    el("confirm-text").textContent = isStatic(c)
      ? c.kind === "api-key"
        ? `Delete “${c.name}” here? The API key itself stays valid until you revoke it in Pleo’s web app (Settings → API keys).`
        : `Delete “${c.name}” here? The token itself stays valid until you revoke it where it was made.`
      : c.canRevoke
        ? `Disconnect “${c.name}”? Its tokens are revoked at ${c.providerName} and deleted here. Tools using it stop working.`
        : `Disconnect “${c.name}”? ${c.providerName} offers no revocation: its tokens are deleted here and expire on their own.`;
    // Nothing is sent to revoke a key, so there is nothing to force.
    el("confirm-force").closest("label")!.hidden = isStatic(c);
    el("confirm-yes").textContent = isStatic(c) ? "Delete" : "Disconnect";
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
      say("warning", r.message);
      render();
    } else {
      setPane("connections");
      flash(r.message);
    }
  });
}

/** After a sign-in: asks the person to confirm the account the provider reports (another
 * local user racing the sign-in would show here as a foreign account). */
export function askAccount(name: string, account: string): void {
  el("account-text").textContent = `“${name}” is ${account}, as the provider reports it. Is this the account you meant to connect?`;
  el("account-box").hidden = false;
  el("account-yes").focus();
}

function wireAccount(): void {
  el("account-yes").addEventListener("click", () => {
    el("account-box").hidden = true;
    el("detail-copy").focus();
  });
  el("account-no").addEventListener("click", async () => {
    const r = await busy(el("account-no"), "Disconnecting…", () => api.disconnect(name(), true));
    el("account-box").hidden = true;
    if (!r) return;
    await load();
    setPane("connections");
    flash(`${r.message} Sign in again, checking the account in the browser.`, "warning");
  });
}

/** Wires the pane once. */
export function mount(): void {
  register("detail", {
    focus: "detail-title",
    shown: () => {
      say("info", null);
      clipboardClearsAt = 0;
      el("confirm-box").hidden = true;
      el("rotate-box").hidden = true;
      el("account-box").hidden = true;
      render();
      void proxy.showFor(name());
    },
    left: () => {
      hideReveal();
      proxy.hide();
    },
  });
  onConnections(() => {
    if (state.pane === "detail") render();
  });
  el("detail-back").addEventListener("click", () => {
    setPane("connections");
    if (state.selected) document.getElementById(`conn-${state.selected}`)?.focus();
  });
  wireTokens();
  proxy.mount(name);
  wireKeys();
  wireDisconnect();
  wireAccount();
}

/** Forgets what was shown (on lock). */
export function clear(): void {
  hideReveal();
  el("detail-facts").replaceChildren();
  say("info", null);
}
