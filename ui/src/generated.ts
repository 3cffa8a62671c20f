// Generated from the Rust types the app sends and receives (src-tauri/src/models/
// and the core types they hold) by the app's test `models::generated`. Do not
// edit: change the Rust, then `UPDATE_CONTRACT=1 cargo test -p token-wallet-app --lib generated`.

export type Status = "noVault" | "locked" | "unlocked" | "unavailable";

export type Kdf = { 
/**
 * Memory in KiB.
 */
mKib: number, 
/**
 * Passes.
 */
t: number, 
/**
 * Lanes.
 */
p: number, };

export type VaultFacts = { 
/**
 * Vault id (hex).
 */
vaultId: string, 
/**
 * Store name (`secret-service`, `keychain`, `windows-credential-manager`, `file`).
 */
store: string, 
/**
 * Keystore service name.
 */
service: string, 
/**
 * Argon2id parameters.
 */
kdf: Kdf, 
/**
 * Created below RFC 9106's floor on purpose (tests only): the UI warns.
 */
kdfBelowFloor: boolean, 
/**
 * Data-key generation.
 */
generation: number, 
/**
 * Unix seconds.
 */
createdAt: number, 
/**
 * Unix seconds.
 */
dekCreatedAt: number, 
/**
 * Unix seconds.
 */
passphraseChangedAt: number, 
/**
 * Only known while unlocked.
 */
recordCount: number | null, 
/**
 * `passphrase`, or `transit:MOUNT/KEY`: a team vault on OpenBao that unlocks by this
 * machine's OpenBao identity, with no passphrase.
 */
unlock: string, 
/**
 * A team vault whose refresh tokens are sealed for refreshers: their Transit key.
 */
refresherKey: string | null, 
/**
 * This identity may only consume the team vault (known once unlocked).
 */
consumeOnly: boolean, };

export type VaultState = { 
/**
 * Where we are.
 */
status: Status, 
/**
 * Profile name (empty when the configuration is invalid).
 */
profile: string, 
/**
 * Store name, once the keystore is open.
 */
store: string | null, 
/**
 * The vault's facts (record count only while unlocked).
 */
vault: VaultFacts | null, 
/**
 * Why the vault is unavailable.
 */
message: string | null, 
/**
 * Milliseconds before the next unlock attempt is accepted (0: now).
 */
retryAfterMs: number, 
/**
 * Wrong passphrases since the last successful unlock.
 */
failedAttempts: number, 
/**
 * New vaults get test-only KDF settings (`TOKEN_WALLET_INSECURE_KDF=1`).
 */
insecureKdf: boolean, 
/**
 * The shortest passphrase `create_vault` accepts, in characters.
 */
minPassphraseChars: number, 
/**
 * Why it locked by itself, for the lock screen ("Locked after 15 minutes without
 * use."); `None` when the person locked it (or it was never unlocked).
 */
lockedBecause: string | null, };

export type ConnectionStatus = "active" | "needsReauthorisation" | "revocationPending";

export type CredentialKind = "oauth" | "api-key" | "static-bearer" | "static-basic" | "static-raw";

export type Health = { "key": "active" } | { "key": "refreshInterrupted" } | { "key": "refreshFailing", "n": number } | { "key": "expiring" } | { "key": "expired" } | { "key": "needsReauth" } | { "key": "revocationPending", "n": number } | { "key": "keyExpiring", "n": number } | { "key": "keyExpired" } | { "key": "verificationFailed" } | { "key": "installationProblem" } | { "key": "installationUnknown" };

export type ConnectionView = { 
/**
 * Unique name.
 */
name: string, 
/**
 * `oauth`, `api-key`, `static-bearer`, `static-basic` or `static-raw`.
 */
kind: CredentialKind, 
/**
 * Provider's short name.
 */
provider: string, 
/**
 * Provider's display name.
 */
providerName: string, 
/**
 * OAuth client id.
 */
clientId: string, 
/**
 * Granted scopes.
 */
scopes: Array<string>, 
/**
 * Status.
 */
status: ConnectionStatus, 
/**
 * Why (re-authorisation reason, or the last revocation error).
 */
statusDetail: string | null, 
/**
 * Revocation attempts so far (revocation pending).
 */
revocationAttempts: number, 
/**
 * Unix seconds.
 */
createdAt: number, 
/**
 * When the current tokens were issued (Unix seconds).
 */
issuedAt: number, 
/**
 * Access-token expiry (Unix seconds), if the provider said.
 */
expiresAt: number | null, 
/**
 * A refresh token is held (never sent here).
 */
hasRefreshToken: boolean, 
/**
 * When the refresh token is expected to lapse if unused: issued + the assumed
 * lifetime (Pleo: 60 days, renewed by every rotation). `None` without one.
 */
refreshExpiresAt: number | null, 
/**
 * A client secret is held.
 */
hasClientSecret: boolean, 
/**
 * Unix seconds.
 */
lastRefresh: number | null, 
/**
 * Unix seconds.
 */
lastExport: number | null, 
/**
 * Failed refreshes in a row.
 */
refreshFailures: number, 
/**
 * A refresh was interrupted at this time (Unix seconds); checked on next use.
 */
refreshingSince: number | null, 
/**
 * The machine that last claimed a refresh (a team vault's refresher).
 */
refreshedBy: string | null, 
/**
 * The last refresh failure.
 */
lastRefreshError: string | null, 
/**
 * What the connection check reported (sanitised strings).
 */
check: Array<[string, string]>, 
/**
 * The account it acts for, as its provider's check named it (Pleo: the company's URN).
 */
account: string | null, 
/**
 * The application it acts as, as its provider's check named it (Pleo).
 */
application: string | null, 
/**
 * Why the connection check failed.
 */
checkError: string | null, 
/**
 * When it was last checked with its provider (Unix seconds).
 */
checkedAt: number | null, 
/**
 * Pleo's installation status (`ACTIVATED`, `ERROR`, `NONE`...), if it was read.
 */
installationStatus: string | null, 
/**
 * The installation's error code (`AUTH_ERROR`...), if any.
 */
installationError: string | null, 
/**
 * The provider can revoke tokens (else disconnect only forgets them).
 */
canRevoke: boolean, 
/**
 * A Pleo provider: its connections and keys have an installation, whose status the
 * check reads.
 */
pleo: boolean, 
/**
 * Where it stands at `now` (core's `health::Health`, the CLI's words too).
 */
health: Health, 
/**
 * When its health next changes by the clock alone (Unix seconds): ask again then.
 */
healthUntil: number | null, };

export type ProviderView = { 
/**
 * Short name.
 */
name: string, 
/**
 * The name people see.
 */
displayName: string, 
/**
 * The client id used when the form leaves it empty, if there is one.
 */
defaultClientId: string | null, 
/**
 * The scopes asked for when the form leaves them empty.
 */
defaultScopes: Array<string>, 
/**
 * "built-in preset", "config", "config (discovery)".
 */
source: string, 
/**
 * Pleo or a Pleo-style provider: the wizard shows Pleo's client-secret advice.
 */
pleo: boolean, };

export type ConnectForm = { 
/**
 * Connection name.
 */
name: string, 
/**
 * A provider's short name, or `custom`.
 */
provider: string, 
/**
 * Client id (empty: the provider's default).
 */
clientId: string, 
/**
 * A confidential client: the command asks for its secret in the native dialog.
 */
confidential: boolean, 
/**
 * Space-separated scopes (empty: the provider's defaults).
 */
scopes: string, 
/**
 * Custom provider only.
 */
authorizeUrl: string, 
/**
 * Custom provider only.
 */
tokenUrl: string, 
/**
 * Custom provider only (empty: no revocation).
 */
revocationUrl: string, };

export type DisconnectOutcome = "revoked" | "noRevocation" | "forgotten" | "keyForgotten" | "pending" | "other";

export type Disconnect = { 
/**
 * How it ended.
 */
outcome: DisconnectOutcome, 
/**
 * One sentence for the user.
 */
message: string, };

export type Copied = { 
/**
 * Its expiry (Unix seconds), if known.
 */
expiresAt: number | null, 
/**
 * The clipboard is cleared after this many seconds (if it still holds the token).
 */
clearsInSecs: number, };

export type AuditLine = { 
/**
 * Sequence number.
 */
seq: number, 
/**
 * Unix seconds.
 */
ts: number, 
/**
 * Event name (`connected`, `export`...).
 */
event: string, 
/**
 * The event's fields, as `key=value` strings.
 */
fields: Array<[string, string]>, 
/**
 * Written with the vault's audit key (else while locked).
 */
authenticated: boolean, };

export type AuditView = { 
/**
 * Newest first.
 */
lines: Array<AuditLine>, 
/**
 * Chain, MACs and anchor intact.
 */
intact: boolean, 
/**
 * Lines authenticated.
 */
authenticated: number, 
/**
 * Where it is broken and why.
 */
broken: string | null, 
/**
 * The log file.
 */
path: string, };

export type AlertKind = "needsReauthorisation" | "refreshFailing" | "expiresSoon" | "refreshTokenAging" | "inactive" | "revocationPending" | "keyExpiring" | "keyExpired" | "verificationFailed" | "installationProblem" | "restoredCopy" | "installationUnknown" | "failedUnlocks";

export type AlertView = { 
/**
 * What it is about.
 */
kind: AlertKind, 
/**
 * The connection concerned, if any.
 */
connection: string | null, 
/**
 * One sentence.
 */
text: string, };

export type Progress = { 
/**
 * Records re-encrypted so far.
 */
done: number, 
/**
 * Records in all.
 */
total: number, };

export type Settings = { 
/**
 * Lock after this many minutes without use (0: never).
 */
autoLockMinutes: number, 
/**
 * The background refresher renews an access token this many minutes before it
 * expires.
 */
refreshAheadMinutes: number, 
/**
 * Desktop notifications for refresh failures and connections that need signing in.
 */
notifications: boolean, keepRunningInTray: boolean, };

export type SettingsView = { 
/**
 * What is in force.
 */
settings: Settings, 
/**
 * Why the settings file could not be read (the defaults are in force until a save).
 */
problem: string | null, 
/**
 * The profile's data directory.
 */
dataDir: string, 
/**
 * The providers file the wizard reads.
 */
providersFile: string | null, };

export type Connections = { 
/**
 * Every connection's public facts.
 */
connections: Array<ConnectionView>, 
/**
 * Alerts, connections' and failed unlocks'.
 */
alerts: Array<AlertView>, 
/**
 * The wallet's clock (Unix seconds) when this was read: the window counts down from
 * it, so it agrees with the wallet's expiry decisions.
 */
now: number, };

export type AddKeyForm = { 
/**
 * Its name.
 */
name: string, 
/**
 * `pleo`, `pleo-staging` or a Pleo-style provider.
 */
provider: string, 
/**
 * Its expiry date, `YYYY-MM-DD` (empty: none given).
 */
expires: string, };

export type RotateForm = { 
/**
 * The key's or token's name.
 */
name: string, 
/**
 * Its expiry date, `YYYY-MM-DD` (empty: none given).
 */
expires: string, };

export type Rotated = { 
/**
 * The connection with its new credential.
 */
connection: ConnectionView, 
/**
 * One sentence: what to revoke where.
 */
message: string, };

export type CheckResult = "ok" | "refused" | "failed" | "installationProblem" | "installationUnknown" | "unverifiable";

export type Checked = { 
/**
 * The connection as saved after the check.
 */
connection: ConnectionView, 
/**
 * How it went.
 */
outcome: CheckResult, 
/**
 * One sentence.
 */
message: string, };

export type BackupDone = { 
/**
 * Connections in it.
 */
records: number, 
/**
 * The outcome in words (with the copied-refresh-token warning after a restore).
 */
message: string, };

export type ProxyView = { 
/**
 * The connection.
 */
name: string, 
/**
 * Its base URLs (`http://127.0.0.1:PORT`, `http://[::1]:PORT`).
 */
urls: Array<string>, 
/**
 * Its `--allow` rules (empty: everything the token can do).
 */
allow: Array<string>, 
/**
 * Requests forwarded to the API.
 */
forwarded: number, 
/**
 * Requests it answered itself (refused, busy).
 */
refused: number, 
/**
 * Requests that waited for a token.
 */
waited: number, };
