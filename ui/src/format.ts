// Turning vault facts into words. Pure functions, unit-tested.
import type { Kdf } from "./types";

/** "1 record", "3 records" (`many` for irregular plurals). */
export const plural = (n: number, one: string, many = `${one}s`): string =>
  `${n} ${n === 1 ? one : many}`;

/** "64 MiB", "1 MiB", "1.5 GiB", "1500 KiB". */
export function formatMemory(kib: number): string {
  if (kib >= 1024 * 1024 && kib % (1024 * 1024 / 2) === 0) return `${kib / (1024 * 1024)} GiB`;
  if (kib >= 1024 && kib % 1024 === 0) return `${kib / 1024} MiB`;
  return `${kib} KiB`;
}

/** "Argon2id · 64 MiB · 3 passes · 4 lanes". */
export function formatKdf(k: Kdf): string {
  return `Argon2id · ${formatMemory(k.mKib)} · ${plural(k.t, "pass", "passes")} · ${plural(k.p, "lane")}`;
}

/** How long ago `then` was, both in Unix seconds: "just now", "5 minutes ago", "2 days ago". */
export function formatAge(then: number, now: number): string {
  const s = Math.floor(now - then);
  if (s < 60) return "just now"; // also a clock that moved backwards
  const m = Math.floor(s / 60);
  if (m < 60) return `${plural(m, "minute")} ago`;
  const h = Math.floor(m / 60);
  if (h < 24) return `${plural(h, "hour")} ago`;
  const d = Math.floor(h / 24);
  if (d < 31) return `${plural(d, "day")} ago`;
  const mo = Math.floor(d / 30.44);
  if (mo < 12) return `${plural(mo, "month")} ago`;
  return `${plural(Math.floor(d / 365.25), "year")} ago`;
}

/** "0 connections", "1 connection"; "—" when unknown (locked). */
export function formatConnectionCount(n: number | null): string {
  return n === null ? "—" : plural(n, "connection");
}

/** A wait in milliseconds, rounded up: "1 s", "59 s", "2 min 5 s", "5 min". */
export function formatWait(ms: number): string {
  const total = Math.max(1, Math.ceil(ms / 1000));
  if (total < 60) return `${total} s`;
  const m = Math.floor(total / 60);
  const s = total % 60;
  return s === 0 ? `${m} min` : `${m} min ${s} s`;
}

/** The line under the unlock form while the Rust side refuses attempts. */
export function throttleText(ms: number, failedAttempts: number): string {
  const wait = `Try again in ${formatWait(ms)}.`;
  return failedAttempts > 1 ? `${failedAttempts} failed attempts. ${wait}` : wait;
}

/** Store names for people; `long` adds what the store is. */
export function formatStore(store: string | null, long = false): string {
  switch (store) {
    case "secret-service":
      return long ? "Secret Service (GNOME Keyring, KWallet)" : "Secret Service";
    case "keychain":
      return "macOS Keychain";
    case "windows-credential-manager":
      return "Windows Credential Manager";
    case "file":
      return long ? "Encrypted file in the data directory (opt-in)" : "Encrypted file";
    case "openbao":
      return long ? "OpenBao team vault (shared by several machines)" : "OpenBao team vault";
    case null:
      return "—";
    default:
      return store;
  }
}

/** An error message from Rust ("wrong passphrase; nothing was changed") as a sentence. */
export function sentence(msg: string): string {
  const t = msg.trim();
  if (t === "") return "";
  const first = t[0]!.toUpperCase() + t.slice(1);
  return /[.!?]$/.test(first) ? first : `${first}.`;
}

/** Whatever a rejected `invoke` gave us, as a sentence. */
/** The person closed Token Wallet's passphrase (or key) window: nothing to report. */
export function isCancelled(e: unknown): boolean {
  const m = typeof e === "string" ? e : e instanceof Error ? e.message : "";
  return m.startsWith("cancelled");
}

export function errorText(e: unknown): string {
  if (typeof e === "string") return sentence(e);
  if (e instanceof Error) return sentence(e.message);
  return "Something went wrong.";
}
