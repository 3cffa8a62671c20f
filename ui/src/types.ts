// What the Rust side sends (src-tauri/src/models.rs), pinned by contract.test.ts against
// the samples Rust writes to contract.json. No type here ever holds a secret.

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

export type ConnectionStatus = "active" | "needsReauthorisation" | "revocationPending";

/** What a connection holds: OAuth tokens, a Pleo API key, another tool's token. */
export type CredentialKind = "oauth" | "api-key" | "static-bearer" | "static-basic" | "static-raw";

export interface Connection {
  name: string;
  kind: CredentialKind;
  provider: string;
  providerName: string;
  clientId: string;
  scopes: string[];
  status: ConnectionStatus;
  statusDetail: string | null;
  revocationAttempts: number;
  createdAt: number;
  issuedAt: number;
  expiresAt: number | null;
  hasRefreshToken: boolean;
  refreshExpiresAt: number | null;
  hasClientSecret: boolean;
  lastRefresh: number | null;
  lastExport: number | null;
  refreshFailures: number;
  /** A refresh was interrupted at this time; checked on next use. */
  refreshingSince: number | null;
  lastRefreshError: string | null;
  check: [string, string][];
  checkError: string | null;
  /** When it was last checked with its provider. */
  checkedAt: number | null;
  /** Pleo's installation status (ACTIVATED, ERROR, NONE...), if read. */
  installationStatus: string | null;
  installationError: string | null;
  canRevoke: boolean;
}

/** What the "Add API key" form sends (the key itself is pasted in Token Wallet's own
 * window, never in the page). */
export interface AddKeyForm {
  name: string;
  provider: string;
  /** YYYY-MM-DD, or empty. */
  expires: string;
}

/** What the rotate form sends (the new key is pasted in Token Wallet's own window). */
export interface RotateForm {
  name: string;
  expires: string;
}

export interface Rotated {
  connection: Connection;
  message: string;
}

export interface Checked {
  connection: Connection;
  outcome: "ok" | "refused" | "failed" | "installation_problem" | "unverifiable";
  message: string;
}

export interface Provider {
  name: string;
  /** The name people see. */
  displayName: string;
  /** Used when the form leaves the client ID empty. */
  defaultClientId: string | null;
  /** Asked for when the form leaves the scopes empty. */
  defaultScopes: string[];
  source: string;
  pleo: boolean;
}

export interface ConnectForm {
  name: string;
  provider: string;
  clientId: string;
  /** A confidential client: its secret is asked for in Token Wallet's own window. */
  confidential: boolean;
  scopes: string;
  authorizeUrl: string;
  tokenUrl: string;
  revocationUrl: string;
}

export interface Disconnect {
  outcome: "revoked" | "noRevocation" | "forgotten" | "keyForgotten" | "pending" | "other";
  message: string;
}

export interface Copied {
  expiresAt: number | null;
  clearsInSecs: number;
}

export interface AuditLine {
  seq: number;
  ts: number;
  event: string;
  fields: [string, string][];
  authenticated: boolean;
}

export interface AuditView {
  lines: AuditLine[];
  intact: boolean;
  authenticated: number;
  broken: string | null;
  path: string;
}

export interface Alert {
  kind: string;
  connection: string | null;
  text: string;
}

export interface Connections {
  connections: Connection[];
  alerts: Alert[];
  /** The wallet's clock when read (Unix seconds): the window counts from it. */
  now: number;
}

export interface Settings {
  autoLockMinutes: number;
  refreshAheadMinutes: number;
  notifications: boolean;
}

export interface SettingsView {
  settings: Settings;
  problem: string | null;
  dataDir: string;
  providersFile: string | null;
}

export interface Progress {
  done: number;
  total: number;
}

/** A backup written or restored (`models::BackupDone`). */
export interface BackupDone {
  records: number;
  /** The outcome in words; after a restore, says which refresh tokens are copies. */
  message: string;
}
