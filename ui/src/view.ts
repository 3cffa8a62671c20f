// From the Rust side's state to what the screen shows. Pure, unit-tested; main.ts only
// copies the result into the DOM.
import { formatAge, formatKdf, formatConnectionCount, formatStore, sentence } from "./format";
import type { VaultState } from "./types";

export type Screen = "loading" | "create" | "unlock" | "unlocked" | "unavailable";

export interface Fact {
  id: string;
  label: string;
  value: string;
  /** Shown on hover / read as a description (absolute dates). */
  detail?: string;
  mono?: boolean;
}

export interface View {
  screen: Screen;
  /** "Profile default · Secret Service (…)". */
  context: string;
  /** A warning to show above everything, or null. */
  banner: string | null;
  /** Facts for the unlocked screen. */
  facts: Fact[];
  /** Why the vault cannot be reached (unavailable screen). */
  message: string;
  /** Milliseconds before unlock may be tried again. */
  retryAfterMs: number;
  /** Wrong passphrases since the last unlock. */
  failedAttempts: number;
  minChars: number;
}

const when = (unix: number, now: number): Pick<Fact, "value" | "detail"> => ({
  value: formatAge(unix, now),
  detail: new Date(unix * 1000).toISOString().replace("T", " ").replace(/\.\d+Z$/, " UTC"),
});

export function bannerFor(s: VaultState): string | null {
  if (s.vault?.kdfBelowFloor) {
    return "Test vault: its key derivation is below RFC 9106’s minimum (made with TOKEN_WALLET_INSECURE_KDF). Do not keep real tokens in it.";
  }
  if (s.insecureKdf && s.status === "noVault") {
    return "Test mode (TOKEN_WALLET_INSECURE_KDF=1): a vault created now gets weak key derivation. Do not keep real tokens in it.";
  }
  return null;
}

export function viewFor(s: VaultState | null, nowUnix: number): View {
  const base: View = {
    screen: "loading",
    context: "",
    banner: null,
    facts: [],
    message: "",
    retryAfterMs: 0,
    failedAttempts: 0,
    minChars: 0, // Rust's rule, unknown until it answers
  };
  if (s === null) return base;
  const context = [s.profile && `Profile “${s.profile}”`, s.store && formatStore(s.store)]
    .filter(Boolean)
    .join(" · ");
  const v: View = {
    ...base,
    context,
    banner: bannerFor(s),
    retryAfterMs: Math.max(0, s.retryAfterMs),
    failedAttempts: s.failedAttempts,
    minChars: s.minPassphraseChars,
  };
  switch (s.status) {
    case "noVault":
      return { ...v, screen: "create" };
    case "locked":
      return { ...v, screen: "unlock" };
    case "unavailable":
      return {
        ...v,
        screen: "unavailable",
        message: sentence(s.message ?? "the keystore is not available"),
      };
    case "unlocked": {
      const f = s.vault;
      if (!f) return { ...v, screen: "unavailable", message: "The vault reported no facts." };
      return {
        ...v,
        screen: "unlocked",
        facts: [
          { id: "records", label: "Connections", value: formatConnectionCount(f.recordCount) },
          { id: "generation", label: "Data-key generation", value: String(f.generation) },
          { id: "dek-age", label: "Data key made", ...when(f.dekCreatedAt, nowUnix) },
          { id: "kdf", label: "Key derivation", value: formatKdf(f.kdf) },
          { id: "passphrase-age", label: "Passphrase set", ...when(f.passphraseChangedAt, nowUnix) },
          { id: "created", label: "Vault created", ...when(f.createdAt, nowUnix) },
          { id: "store", label: "Store", value: formatStore(f.store, true) },
          { id: "service", label: "Keystore service", value: f.service, mono: true },
          { id: "vault-id", label: "Vault ID", value: f.vaultId, mono: true },
        ],
      };
    }
  }
}
