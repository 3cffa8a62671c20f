// The only place that calls into Rust. No passphrase, client secret or API key passes
// through here: the calls that need one open Token Wallet's own native window for it.
// Nothing secret comes back, except the access token `revealToken` returns because the
// user asked.
import { invoke } from "@tauri-apps/api/core";
import { listen, type UnlistenFn } from "@tauri-apps/api/event";
import type {
  AddKeyForm,
  AuditView,
  BackupDone,
  Checked,
  Connection,
  Connections,
  ConnectForm,
  Copied,
  Disconnect,
  Progress,
  Provider,
  ProxyView,
  RotateForm,
  Rotated,
  Settings,
  SettingsView,
  VaultFacts,
  VaultState,
} from "./types";

export const vaultState = (): Promise<VaultState> => invoke<VaultState>("vault_state");

/** Opens Token Wallet's own passphrase window; the passphrase never comes through here. */
export const createVault = (): Promise<VaultState> => invoke<VaultState>("create_vault");

/** Opens Token Wallet's own passphrase window; the passphrase never comes through here. */
export const unlock = (): Promise<VaultState> => invoke<VaultState>("unlock");

export const lock = (): Promise<VaultState> => invoke<VaultState>("lock");
/** The first screen is in the document: the Rust side shows the (hidden) window. */
export const windowDrawn = (): Promise<void> => invoke<void>("window_drawn");

export const vaultInfo = (): Promise<VaultFacts> => invoke<VaultFacts>("vault_info");

export const listConnections = (): Promise<Connections> => invoke("list_connections");

export const connection = (name: string): Promise<Connection> => invoke("connection", { name });

export const providers = (): Promise<Provider[]> => invoke("providers");

export const connect = (form: ConnectForm): Promise<Connection> => invoke("connect", { form });

export const reauthorise = (name: string): Promise<Connection> => invoke("reauthorise", { name });

export const cancelConnect = (): Promise<void> => invoke("cancel_connect");

/** Opens the browser again for the sign-in in progress. */
export const reopenSignIn = (): Promise<void> => invoke("reopen_sign_in");

/** Copies the sign-in in progress's link (cleared from the clipboard after 30 s). */
export const copySignInLink = (): Promise<void> => invoke("copy_sign_in_link");

export const refreshConnection = (name: string): Promise<Connection> =>
  invoke("refresh_connection", { name });

export const copyToken = (name: string): Promise<Copied> => invoke("copy_token", { name });

export const revealToken = (name: string): Promise<string> => invoke("reveal_token", { name });

export const disconnect = (name: string, force: boolean): Promise<Disconnect> =>
  invoke("disconnect", { name, force });

/** Verified with Pleo before it is stored; nothing is stored if it does not verify. */
export const addApiKey = (form: AddKeyForm): Promise<Connection> => invoke("add_api_key", { form });

/** The new key replaces the old only after it verifies. */
export const rotateSecret = (form: RotateForm): Promise<Rotated> => invoke("rotate_secret", { form });

export const checkConnection = (name: string): Promise<Checked> => invoke("check_connection", { name });

export const rotateKey = (): Promise<VaultFacts> => invoke("rotate_key");

/** Opens Token Wallet's own window for the current and new passphrases. */
export const changePassphrase = (): Promise<VaultFacts> => invoke("change_passphrase");

export const auditLog = (): Promise<AuditView> => invoke("audit_log");

export const getSettings = (): Promise<SettingsView> => invoke("get_settings");

export const saveSettings = (settings: Settings): Promise<Settings> =>
  invoke("save_settings", { settings });

/** Every connection to a new file, sealed under the vault's passphrase, or (`own`) under
 * one typed in Token Wallet's own window. */
export const backupVault = (path: string, own: boolean): Promise<BackupDone> =>
  invoke("backup_vault", { path, own });

/** A backup's connections into this vault, which must hold none. */
export const restoreBackup = (path: string, moved: boolean): Promise<BackupDone> =>
  invoke("restore_backup", { path, moved });

/** Starts a proxy to the connection's API; its capability never comes here (copy it). */
export const startProxy = (name: string, allow: string[]): Promise<ProxyView> =>
  invoke("start_proxy", { name, allow });

export const stopProxy = (name: string): Promise<void> => invoke("stop_proxy", { name });

/** The connection's running proxy with its live counts, or null. */
export const proxyStatus = (name: string): Promise<ProxyView | null> => invoke("proxy_status", { name });

/** Puts the running proxy's capability on the clipboard (cleared after a while). */
export const copyProxyCapability = (name: string): Promise<Copied> => invoke("copy_proxy_capability", { name });

export const activity = (): Promise<void> => invoke("activity");

/** Quits the app (a sign-in in progress stops; nothing is stored). */
export const quitApp = (): Promise<void> => invoke("quit_app");

/** The window was closed while a sign-in waits and the app would quit: ask first. */
export const onCloseRequested = (f: () => void): Promise<UnlistenFn> => listen("close-requested", () => f());

export const onChanged = (f: () => void): Promise<UnlistenFn> => listen("wallet-changed", () => f());

export const onRotationProgress = (
  f: (p: Progress) => void,
): Promise<UnlistenFn> =>
  listen<Progress>("rotation-progress", (e) => f(e.payload));
