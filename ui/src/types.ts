// What the Rust side sends (src-tauri/src/models.rs). No type here ever holds a secret.

export type Status = "noVault" | "locked" | "unlocked" | "unavailable";

export interface Kdf {
  mKib: number;
  t: number;
  p: number;
}

export interface VaultFacts {
  vaultId: string;
  store: string;
  service: string;
  kdf: Kdf;
  kdfBelowFloor: boolean;
  generation: number;
  createdAt: number;
  dekCreatedAt: number;
  passphraseChangedAt: number;
  recordCount: number | null;
}

export interface VaultState {
  status: Status;
  profile: string;
  store: string | null;
  vault: VaultFacts | null;
  message: string | null;
  retryAfterMs: number;
  failedAttempts: number;
  insecureKdf: boolean;
  minPassphraseChars: number;
}
