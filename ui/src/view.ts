// From the Rust side's state to what the screen shows. Pure, unit-tested; main.ts only
// copies the result into the DOM.
import { formatAge, formatKdf, formatConnectionCount, formatStore, sentence } from "./format";
import type { VaultFacts, VaultState } from "./types";

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
  /** The locked vault is a team vault that unlocks by this machine's OpenBao identity:
   * its Transit key (`transit/token-wallet`); null: a passphrase. */
  identityUnlock: string | null;
}

const when = (unix: number, now: number): Pick<Fact, "value" | "detail"> => ({
  value: formatAge(unix, now),
  detail: new Date(unix * 1000).toISOString().replace("T", " ").replace(/\.\d+Z$/, " UTC"),
});

/** What the connections pane says about a team vault (null: not one): what this identity
 * may do, and when a refresher last refreshed (the newest `lastRefresh` of `lastRefreshes`),
 * which tells a consumer whether one is alive. */
export function teamNote(
  f: VaultFacts | null,
  refreshes: { lastRefresh: number | null; refreshedBy: string | null }[],
  nowUnix: number,
): string | null {
  if (!f || !f.unlock.startsWith("transit:")) return null;
  if (!f.refresherKey) return "Team vault on OpenBao: shared by every identity its policy lets in.";
  if (!f.consumeOnly) return "Team vault on OpenBao: this identity is a refresher; it keeps the connections fresh for everyone.";
  const last = refreshes.reduce<{ lastRefresh: number | null; refreshedBy: string | null } | null>(
    (a, c) => ((c.lastRefresh ?? 0) > (a?.lastRefresh ?? 0) ? c : a),
    null,
  );
  const by = last?.refreshedBy ? ` (${last.refreshedBy})` : "";
  const seen = last?.lastRefresh ? `A refresher${by} last refreshed ${formatAge(last.lastRefresh, nowUnix)}.` : "No refresh by a refresher seen yet.";
  return `Team vault on OpenBao: this identity may only consume. It gets access tokens; a refresher (a member’s app or agent) keeps them fresh. ${seen}`;
}

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
    identityUnlock: null,
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
    identityUnlock: s.vault?.unlock.startsWith("transit:") ? s.vault.unlock.slice("transit:".length) : null,
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
      // A team vault has no passphrase: it says what unlocks it, and what this identity
      // may do with refresh tokens.
      const unlockFacts: Fact[] = v.identityUnlock
        ? [
            { id: "unlock", label: "Unlocks with", value: `OpenBao identity (Transit key ${v.identityUnlock})` },
            ...(f.refresherKey
              ? [
                  {
                    id: "refresh-role",
                    label: "This identity",
                    value: f.consumeOnly
                      ? "Consumer: gets access tokens only; a refresher keeps them fresh"
                      : "Refresher: reads refresh tokens and refreshes for everyone",
                  },
                ]
              : []),
          ]
        : [
            { id: "kdf", label: "Key derivation", value: formatKdf(f.kdf) },
            { id: "passphrase-age", label: "Passphrase set", ...when(f.passphraseChangedAt, nowUnix) },
          ];
      return {
        ...v,
        screen: "unlocked",
        facts: [
          { id: "records", label: "Connections", value: formatConnectionCount(f.recordCount) },
          { id: "generation", label: "Data-key generation", value: String(f.generation) },
          { id: "dek-age", label: "Data key made", ...when(f.dekCreatedAt, nowUnix) },
          ...unlockFacts,
          { id: "created", label: "Vault created", ...when(f.createdAt, nowUnix) },
          { id: "store", label: "Store", value: formatStore(f.store, true) },
          { id: "service", label: "Keystore service", value: f.service, mono: true },
          { id: "vault-id", label: "Vault ID", value: f.vaultId, mono: true },
        ],
      };
    }
  }
}
