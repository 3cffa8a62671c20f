// The unlocked app's logic: connection status and countdowns, the expiry timeline's
// geometry, audit filtering, settings validation. Pure functions, unit-tested; app.ts only
// copies their results into the DOM.
import { plural } from "./format";
import type { AddKeyForm, AuditLine, Connection, ConnectForm, Provider, ProxyView, Settings } from "./types";

/** A connection's health, in core's words (`health::Health`, sent on every connection). */
export type StatusKey = Connection["health"]["key"];

export interface StatusView {
  key: StatusKey;
  label: string;
  /** Something the user should act on. */
  attention: boolean;
  /** The badge's colour: what the status means. */
  tone: Tone;
}

/** What a colour means, everywhere in the app (badges, notices, alerts). */
export type Tone = "success" | "warning" | "failure" | "info";

/** A broken installation's badge: short enough for the badge column. */
const installationLabel = (c: Connection): string => (c.installationStatus === "INACTIVE" ? "Inactive" : "In error");

/** A Pleo API key or another tool's token: never refreshed. */
export const isStatic = (c: Connection): boolean => c.kind !== "oauth";

/** "Pleo API key", "Token (bearer)"...: what a connection holds, for badges and titles. */
export function kindLabel(c: Connection): string {
  switch (c.kind) {
    case "oauth":
      return "OAuth";
    case "api-key":
      return "API key";
    case "static-bearer":
      return "Token (bearer)";
    case "static-basic":
      return "Token (basic)";
    default:
      return "Token (raw)";
  }
}

/**
 * How a connection's health looks: its badge's words and colour, and whether the person
 * should act. The health itself is core's (`health::Health`, the CLI's `list` shows the
 * same), computed in Rust at the moment the list was read; Rust also says when it next
 * changes by the clock (`healthUntil`), and the list is read again then.
 */
export function statusOf(c: Connection): StatusView {
  const h = c.health;
  const v = (label: string, tone: Tone): StatusView => ({
    key: h.key,
    label,
    tone,
    attention: h.key !== "active" && h.key !== "refreshInterrupted",
  });
  switch (h.key) {
    case "revocationPending":
      return v("Revocation pending", "warning");
    case "needsReauth":
      return v("Sign in again", "failure");
    case "keyExpired":
    case "expired":
      return v("Expired", "failure");
    case "verificationFailed":
      return v("Refused", "failure");
    case "installationProblem":
      return v(installationLabel(c), "failure");
    case "installationUnknown":
      return v("Installation unknown", "warning");
    case "keyExpiring":
      // A week or less: red.
      return v(h.n === 0 ? "Expires within a day" : `Expires in ${plural(h.n, "day")}`, h.n < 7 ? "failure" : "warning");
    case "refreshInterrupted":
      return v("Checking refresh", "info");
    case "refreshFailing":
      return v("Refresh failing", "warning");
    case "expiring":
      return v("Expiring", "warning");
    case "active":
      return v("Active", "success");
  }
}

/** Whether a connection's health has changed by the clock since the list was read. */
export const healthStale = (c: Connection, now: number): boolean => c.healthUntil !== null && c.healthUntil <= now;

/** The notice after a Copy, `clearsIn` seconds before the clipboard is cleared: it counts
 * down, whole seconds rounded up. */
export function copiedText(what: string, clearsIn: number, expiresAt: number | null, now: number): string {
  const left = Math.max(1, Math.ceil(clearsIn));
  const expires = expiresAt === null ? "" : `; it expires ${countdown(expiresAt, now)}`;
  return `${what} copied. The clipboard is cleared in ${left} s${expires}.`;
}

/** "in 4 min 05 s", "in 2 h 10 min", "in 3 days", "expired 2 min ago", "no expiry given". */
export function countdown(expiresAt: number | null, now: number): string {
  if (expiresAt === null) return "no expiry given";
  const d = Math.floor(expiresAt - now);
  const span = (s: number): string => {
    if (s < 60) return `${s} s`;
    if (s < 3600) return `${Math.floor(s / 60)} min ${String(s % 60).padStart(2, "0")} s`;
    if (s < 86_400) return `${Math.floor(s / 3600)} h ${Math.floor((s % 3600) / 60)} min`;
    const days = Math.floor(s / 86_400);
    return `${days} ${days === 1 ? "day" : "days"}`;
  };
  return d >= 0 ? `in ${span(d)}` : `expired ${span(-d)} ago`;
}

/** Needs attention first, then soonest expiry, then name. */
export function sortConnections(cs: Connection[]): Connection[] {
  const rank = (c: Connection): number => (statusOf(c).attention ? 0 : 1);
  return [...cs].sort(
    (a, b) =>
      rank(a) - rank(b) ||
      (a.expiresAt ?? Infinity) - (b.expiresAt ?? Infinity) ||
      a.name.localeCompare(b.name),
  );
}

// ---------------------------------------------------------------- timeline

export interface Bar {
  /** x of the start and the end, in the plot's units (0..width). */
  x0: number;
  x1: number;
  /** Runs past the right edge. */
  clipped: boolean;
}

export interface TimelineRow {
  name: string;
  /** An API key or static token (its bar is its life until its expiry date), not OAuth. */
  key: boolean;
  access: Bar | null;
  refresh: Bar | null;
  status: StatusKey;
}

export interface Tick {
  x: number;
  label: string;
  /** How the label sits on its mark: centred, or ending on it at the right edge. */
  anchor: "middle" | "end";
}

/** A tick label's width in the plot's units (11 px text, about 6.5 units a character). */
export const tickWidth = (label: string): number => label.length * 6.5;
/** The least space between two tick labels. */
const TICK_GAP = 8;

export interface Timeline {
  rows: TimelineRow[];
  ticks: Tick[];
  /** x of "now". */
  nowX: number;
  /** Seconds the axis spans after now. */
  span: number;
}

const DAY = 86_400;

/** Tick marks the axis may show: seconds from now, and their labels. */
const TICKS: [number, string][] = [
  [60, "1 min"],
  [10 * 60, "10 min"],
  [3600, "1 h"],
  [6 * 3600, "6 h"],
  [DAY, "1 day"],
  [7 * DAY, "7 days"],
  [30 * DAY, "30 days"],
  [90 * DAY, "90 days"],
  [365 * DAY, "1 year"],
];

/** The share of the width left of "now": the last hour, linear (issued, just expired). */
export const PAST_SHARE = 0.1;
const PAST = 3600;

/**
 * Every connection's access- and refresh-token lifetimes on one time axis. Minutes-long
 * access tokens and 60-day refresh tokens differ by four orders of magnitude, so the axis
 * after "now" is logarithmic (1 min, 1 h, 1 day, 30 days are evenly readable); the last
 * hour before now is linear. It reaches the latest expiry (at least an hour, at most a
 * year). `width` is the plot's width in units.
 */
export function timeline(cs: Connection[], now: number, width: number): Timeline {
  const latest = Math.max(now + 3600, ...cs.flatMap((c) => [c.expiresAt ?? 0, c.refreshExpiresAt ?? 0]));
  const span = Math.min(latest - now, 365 * DAY);
  const nowX = width * PAST_SHARE;
  const logSpan = Math.log1p(span / 60);
  const x = (t: number): number => {
    if (t <= now) return nowX * Math.max(0, 1 - (now - t) / PAST);
    return nowX + (width - nowX) * Math.min(1, Math.log1p((t - now) / 60) / logSpan);
  };
  const bar = (from: number, to: number | null): Bar | null =>
    to === null ? null : { x0: x(from), x1: x(to), clipped: to - now > span };
  const rows = sortConnections(cs).map((c) => ({
    name: c.name,
    key: isStatic(c),
    access: bar(c.issuedAt, c.expiresAt),
    refresh: bar(c.issuedAt, c.refreshExpiresAt),
    status: statusOf(c).key,
  }));
  // From the far end leftwards: a label that would touch the one after it is left out (on
  // a log axis "30 days" and "90 days" can be a few units apart), and a label that would
  // pass the right edge ends on its mark.
  const ticks: Tick[] = [];
  for (const [d, label] of TICKS.filter(([d]) => d <= span * 1.001).reverse()) {
    const at = x(now + d);
    const w = tickWidth(label);
    const anchor = at + w / 2 > width ? "end" : "middle";
    const right = anchor === "end" ? at : at + w / 2;
    const next = ticks[0];
    if (next) {
      const nextLeft = next.anchor === "end" ? next.x - tickWidth(next.label) : next.x - tickWidth(next.label) / 2;
      if (right + TICK_GAP > nextLeft) continue;
    }
    ticks.unshift({ x: at, label, anchor });
  }
  return { rows, ticks, nowX, span };
}

// ---------------------------------------------------------------- audit

export interface AuditFilter {
  /** Substring of the event name or any field (case-insensitive). */
  text: string;
  /** An exact event name, or "" for all. */
  event: string;
  /** Only lines written while locked (not authenticated). */
  unauthenticatedOnly: boolean;
}

export function filterAudit(lines: AuditLine[], f: AuditFilter): AuditLine[] {
  const q = f.text.trim().toLowerCase();
  return lines.filter(
    (l) =>
      (f.event === "" || l.event === f.event) &&
      (!f.unauthenticatedOnly || !l.authenticated) &&
      (q === "" ||
        l.event.toLowerCase().includes(q) ||
        l.fields.some(([k, v]) => `${k}=${v}`.toLowerCase().includes(q))),
  );
}

/** The distinct event names, sorted, for the filter's menu. */
export function auditEvents(lines: AuditLine[]): string[] {
  return [...new Set(lines.map((l) => l.event))].sort();
}

/** "connected", "unlock_failed" -> "Connected", "Unlock failed". */
export function eventLabel(e: string): string {
  const t = e.replace(/_/g, " ");
  return t.charAt(0).toUpperCase() + t.slice(1);
}

/** Where an exported token went (the audit line's `via`). */
const VIA: Record<string, string> = {
  clipboard: "copied to the clipboard",
  window: "revealed in the window",
};

/** An audit line's fields in words: what it names in plain text, the rest (pids, full
 * paths) for the hover. */
export function auditDetail(fields: [string, string][]): { text: string; detail: string } {
  const f = new Map(fields);
  const base = (p: string): string => p.split("/").pop() ?? p;
  const parts: string[] = [];
  const conn = f.get("connection");
  if (conn) parts.push(`“${conn}”`);
  if (f.has("provider")) parts.push(`at ${f.get("provider")}`);
  if (f.has("generation")) parts.push(`now generation ${f.get("generation")}`);
  for (const k of ["how", "reason", "class"]) {
    const v = f.get(k);
    if (v) parts.push(v.replace(/_/g, " "));
  }
  // A proxy's batch: "GET /v1/expenses → 200, 12 requests, 3 KiB".
  if (f.has("method") && f.has("path")) {
    const n = Number(f.get("requests") ?? "1");
    const kib = Math.ceil(Number(f.get("bytes") ?? "0") / 1024);
    parts.push(`${f.get("method")} ${f.get("path")} → ${f.get("status")}, ${plural(n, "request")}, ${kib} KiB`);
  }
  const proc = f.get("process");
  if (proc) parts.push(`by ${base(proc)}${f.get("parent_process") ? ` (from ${base(f.get("parent_process")!)})` : ""}`);
  const via = f.get("via");
  if (via) parts.push(VIA[via] ?? `via ${via}`);
  const detail = fields.map(([k, v]) => `${checkLabel(k)}: ${v}`).join("\n");
  return { text: parts.join(", "), detail };
}

/** "14:05:09" today, else "2026-11-29 14:05". */
export function clockTime(unix: number, now: number): string {
  const d = new Date(unix * 1000);
  const pad = (n: number): string => String(n).padStart(2, "0");
  const sameDay = new Date(now * 1000).toDateString() === d.toDateString();
  return sameDay
    ? `${pad(d.getHours())}:${pad(d.getMinutes())}:${pad(d.getSeconds())}`
    : `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())} ${pad(d.getHours())}:${pad(d.getMinutes())}`;
}

/** The audit verdict: every line checked; how many were signed while unlocked. */
export function auditVerdict(total: number, signed: number): string {
  const unsigned = total - signed;
  const tail = unsigned > 0 ? `; ${signed} signed while unlocked, ${unsigned} written while locked (unsigned, still chained)` : ", all signed";
  return `Verified: all ${plural(total, "line")} intact and in order${tail}.`;
}

// ---------------------------------------------------------------- forms

const NAME_RE = /^[A-Za-z0-9._-]{1,62}$/;

/** What is wrong with the connect form, or null. Mirrors the Rust side's checks. */
export interface FormProblem {
  /** The field to mark and put the message beside. */
  field: keyof ConnectForm;
  message: string;
}

/** A connection name's problem, if it has one (core's `ConnectionName` rule). */
function nameProblem(name: string, what: string): string | null {
  if (name === "") return `Give the ${what} a name.`;
  if (!NAME_RE.test(name)) return "Names use letters, digits, dots, dashes and underscores (up to 62).";
  return null;
}

export function connectFormProblem(f: ConnectForm, provider?: Provider): FormProblem | null {
  const bad = nameProblem(f.name.trim(), "connection");
  if (bad) return { field: "name", message: bad };
  if (f.provider === "") return { field: "provider", message: "Choose a provider." };
  // A provider with no client ID of its own (Pleo's presets): one sentence, beside the field.
  if (provider && provider.defaultClientId === null && f.clientId.trim() === "") {
    return {
      field: "clientId",
      message: provider.pleo
        ? "Enter your integration’s client ID: Pleo issues one to each integration registered with it, so ask whoever registered yours with Pleo."
        : `Enter a client ID: ${provider.displayName} has none by default (the provider issues one when you register an app with it).`,
    };
  }
  if (f.provider === "custom") {
    for (const [field, label, url] of [
      ["authorizeUrl", "authorization URL", f.authorizeUrl],
      ["tokenUrl", "token URL", f.tokenUrl],
    ] as const) {
      if (url.trim() === "") return { field, message: `Enter the ${label}.` };
      if (!/^https?:\/\//.test(url.trim())) return { field, message: `The ${label} must start with https://.` };
    }
    if (f.clientId.trim() === "") return { field: "clientId", message: "A custom provider needs a client ID." };
  }
  return null;
}

/** The warning next to the client-secret field (Pleo's advice for public clients). */
export function secretWarning(p: Provider | undefined, confidential: boolean): string | null {
  if (!confidential) return null;
  const base =
    "A client secret on a desktop can be copied from it. Use it only for a confidential client you control.";
  return p?.pleo
    ? `${base} Pleo advises public clients with PKCE for apps like this one: leave this unticked unless Pleo gave you a confidential client.`
    : base;
}

/** What is wrong with the settings, or null (mirrors src-tauri/src/settings.rs). */
export function settingsProblem(s: Settings): string | null {
  const ok = (n: number): boolean => Number.isInteger(n);
  if (!ok(s.autoLockMinutes) || s.autoLockMinutes < 0 || s.autoLockMinutes > 1440) {
    return "Auto-lock must be 0 (never) to 1440 minutes.";
  }
  if (!ok(s.refreshAheadMinutes) || s.refreshAheadMinutes < 1 || s.refreshAheadMinutes > 1440) {
    return "Refresh ahead must be 1 to 1440 minutes.";
  }
  return null;
}

/** The rotate-key progress line: "Re-encrypting 3 of 10 records…". */
export function progressText(done: number, total: number): string {
  if (total === 0) return "Writing the new key…";
  if (done >= total) return `Re-encrypted ${plural(total, "record")}; committing…`;
  return `Re-encrypting ${done} of ${plural(total, "record")}…`;
}

/**
 * The rotation's result, with the same record count the progress showed: every record
 * in the vault, of which `connections` are connections and the rest the wallet's own
 * (settings, the audit key).
 */
export function rotatedText(generation: number, records: number, connections: number): string {
  const own = records - connections;
  const parts = own > 0 ? ` (${plural(connections, "connection")} and ${plural(own, "record")} of the wallet’s own)` : "";
  return `Data key rotated: now generation ${generation}; ${plural(records, "record")} re-encrypted${parts}.`;
}

// ---------------------------------------------------------------- connection check

/** What Pleo's connection check reports, in words (unknown keys: split into words). */
const CHECK_LABELS: Record<string, string> = {
  applicationName: "Application",
  clientId: "Client ID (as the provider sees it)",
  subjectURN: "Signed in as",
  authMethod: "Sign-in method",
  scope: "Scopes (as the provider sees them)",
  installationStatus: "Installation",
  installationErrorCode: "Installation error",
};

/** The label of a connection-check fact. */
export function checkLabel(key: string): string {
  const known = CHECK_LABELS[key];
  if (known) return known;
  const words = key.replace(/([a-z])([A-Z])/g, "$1 $2").replace(/[_-]+/g, " ").toLowerCase();
  return words.charAt(0).toUpperCase() + words.slice(1);
}

// ---------------------------------------------------------------- API keys

/** What is wrong with the "Add API key" form before anything is sent, if anything. */
export function addKeyProblem(f: AddKeyForm, now: number): { field: keyof AddKeyForm; message: string } | null {
  if (!f.provider) return { field: "provider", message: "Choose Pleo’s environment (no Pleo provider is configured)." };
  const bad = nameProblem(f.name, "key");
  if (bad) return { field: "name", message: bad };
  const date = expiryProblem(f.expires, now);
  if (date) return { field: "expires", message: date };
  return null;
}

/**
 * What is wrong with a typed expiry date, or null. Dates are YYYY-MM-DD everywhere in the
 * app (the day, UTC, as Pleo's web app shows a key's expiry); empty means none given.
 */
export function expiryProblem(text: string, now: number): string | null {
  const t = text.trim();
  if (t === "") return null;
  const m = /^(\d{4})-(\d{2})-(\d{2})$/.exec(t);
  if (!m) return "Give the date as YYYY-MM-DD (for example 2027-12-31), or leave it empty.";
  const [y, mo, d] = [Number(m[1]), Number(m[2]), Number(m[3])];
  const at = new Date(Date.UTC(y, mo - 1, d));
  if (at.getUTCFullYear() !== y || at.getUTCMonth() !== mo - 1 || at.getUTCDate() !== d) return `${t} is not a date.`;
  if (at.getTime() / 1000 + 86_400 <= now) return `${t} has passed: give the expiry date Pleo shows for the key.`;
  return null;
}

/** Asked, beside the date field, before a key is saved with no expiry date. */
export const NO_EXPIRY_QUESTION =
  "No expiry date: Token Wallet cannot warn you before this key stops working. Enter the date Pleo shows for it, or press the button again to save it without one.";

/**
 * What to say beside the date field before a key is saved with `expires` typed: what is
 * wrong with it (failure), or, with no date and not `asked` yet, the question about that
 * (warning: pressing again saves); `null`: save.
 */
export function expiryGate(expires: string, asked: boolean, now: number): { message: string; tone: Tone } | null {
  const bad = expiryProblem(expires, now);
  if (bad) return { message: bad, tone: "failure" };
  if (expires.trim() === "" && !asked) return { message: NO_EXPIRY_QUESTION, tone: "warning" };
  return null;
}

// ---------------------------------------------------------------- connect wizard

/** What the client-ID and scopes fields will mean when left empty (their placeholders). */
export function wizardDefaults(p: Provider | undefined): { clientId: string; scopes: string } {
  if (!p) return { clientId: "required for a custom provider", scopes: "none unless you name some" };
  return {
    clientId: p.defaultClientId ? `${p.defaultClientId} (the provider’s default)` : "required: this provider has no default",
    scopes: p.defaultScopes.length > 0 ? `${p.defaultScopes.join(" ")} (the default)` : "none unless you name some",
  };
}

/** A provider's line in the wizard's list: its name for people, and where it comes from. */
export function providerOption(p: Provider): string {
  const from = p.source === "built-in preset" ? "built in" : "from your providers file";
  return p.displayName.toLowerCase() === p.name.toLowerCase() ? `${p.displayName}, ${from}` : `${p.displayName}, ${from} as “${p.name}”`;
}

/** The check facts the Installation row says (not listed again on their own). */
export const INSTALLATION_FACTS = ["installationStatus", "installationErrorCode", "installationReadError"];

/**
 * A Pleo connection's or key's Installation row: its status (and error code) as words,
 * and when it was read (`checked`: "3 min ago"); "unknown" when the last check could not
 * read it. `null` for a provider with no installations.
 */
export function installationText(c: Connection, checked: string | null): string | null {
  if (!c.pleo) return null;
  // Read by the sign-in's own check when no check ran since.
  const when = checked === null ? ", read at sign-in" : `, checked ${checked}`;
  if (c.installationStatus === null) {
    return checked === null ? "not read yet: Check reads it" : `not read at the last check${when}`;
  }
  if (c.installationStatus === "UNKNOWN") return `unknown: the last check could not read it${when}`;
  const error = c.installationError ? ` (${checkValue(c.installationError)})` : "";
  return `${checkValue(c.installationStatus)}${error}${when}`;
}

/** A provider's value for people: its enum words (`API_KEY`, `OAUTH`, `ACTIVATED`) as
 * words ("API key", "OAuth", "Activated"); anything else as it came. */
export function checkValue(value: string): string {
  const known: Record<string, string> = { API_KEY: "API key", OAUTH: "OAuth", OAUTH2: "OAuth" };
  if (known[value]) return known[value]!;
  if (!/^[A-Z][A-Z_]+$/.test(value)) return value;
  const words = value.replace(/_/g, " ").toLowerCase();
  return words.charAt(0).toUpperCase() + words.slice(1);
}

/** The allow rules typed in the Proxy box: one a line, blank lines ignored. */
export function proxyRules(text: string): string[] {
  return text
    .split(/\r?\n/)
    .map((l) => l.trim())
    .filter((l) => l !== "");
}

/** A running proxy's live count in words. */
export function proxyCountText(v: ProxyView): string {
  const parts = [`${plural(v.forwarded, "request")} forwarded`, `${v.refused} refused by the proxy`];
  if (v.waited > 0) parts.push(`${v.waited} waited for a token`);
  return parts.join(", ");
}
