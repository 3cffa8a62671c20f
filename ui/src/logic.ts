// The unlocked app's logic: connection status and countdowns, the expiry timeline's
// geometry, audit filtering, settings validation. Pure functions, unit-tested; app.ts only
// copies their results into the DOM.
import type { AuditLine, Connection, ConnectForm, Provider, Settings } from "./types";

export type StatusKey = "active" | "expiring" | "expired" | "needsReauth" | "revocationPending";

export interface StatusView {
  key: StatusKey;
  label: string;
  /** Something the user should act on. */
  attention: boolean;
}

/** Seconds before expiry at which a connection shows as "expiring". */
export const EXPIRING_SECS = 5 * 60;

export function statusOf(c: Connection, now: number): StatusView {
  if (c.status === "needsReauthorisation") {
    return { key: "needsReauth", label: "Needs re-authorisation", attention: true };
  }
  if (c.status === "revocationPending") {
    return { key: "revocationPending", label: "Revocation pending", attention: true };
  }
  if (c.expiresAt !== null && c.expiresAt <= now) {
    // With a refresh token it is renewed on next use: not the user's problem.
    return { key: "expired", label: "Expired", attention: !c.hasRefreshToken };
  }
  if (c.expiresAt !== null && c.expiresAt - now <= EXPIRING_SECS) {
    return { key: "expiring", label: "Expiring", attention: !c.hasRefreshToken };
  }
  return { key: "active", label: "Active", attention: false };
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
export function sortConnections(cs: Connection[], now: number): Connection[] {
  const rank = (c: Connection): number => (statusOf(c, now).attention ? 0 : 1);
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
  access: Bar | null;
  refresh: Bar | null;
  status: StatusKey;
}

export interface Tick {
  x: number;
  label: string;
}

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
  const rows = sortConnections(cs, now).map((c) => ({
    name: c.name,
    access: bar(c.issuedAt, c.expiresAt),
    refresh: bar(c.issuedAt, c.refreshExpiresAt),
    status: statusOf(c, now).key,
  }));
  const ticks = TICKS.filter(([d]) => d <= span * 1.001).map(([d, label]) => ({ x: x(now + d), label }));
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

// ---------------------------------------------------------------- forms

/** What is wrong with the connect form, or null. Mirrors the Rust side's checks. */
export function connectFormProblem(f: ConnectForm): string | null {
  const name = f.name.trim();
  if (name === "") return "Give the connection a name.";
  if (!/^[A-Za-z0-9._-]{1,62}$/.test(name)) {
    return "Names use letters, digits, dots, dashes and underscores (up to 62).";
  }
  if (f.provider === "") return "Choose a provider.";
  if (f.provider === "custom") {
    for (const [label, url] of [
      ["authorization URL", f.authorizeUrl],
      ["token URL", f.tokenUrl],
    ] as const) {
      if (url.trim() === "") return `Enter the ${label}.`;
      if (!/^https?:\/\//.test(url.trim())) return `The ${label} must start with https://.`;
    }
    if (f.clientId.trim() === "") return "A custom provider needs a client ID.";
  }
  return null;
}

/** The warning next to the client-secret field (Pleo's advice for public clients). */
export function secretWarning(p: Provider | undefined, secret: string): string | null {
  if (secret === "") return null;
  const base =
    "A client secret on a desktop can be copied from it. Use it only for a confidential client you control.";
  return p?.pleo
    ? `${base} Pleo advises public clients with PKCE for apps like this one: leave it empty unless Pleo gave you a confidential client.`
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
  if (done >= total) return `Re-encrypted ${total} ${total === 1 ? "record" : "records"}; committing…`;
  return `Re-encrypting ${done} of ${total} records…`;
}
