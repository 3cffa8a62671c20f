// The contract with Rust: contract.json holds one sample of every model the Rust side
// sends, written by src-tauri's `contract_is_what_the_ui_expects` test. Each `fields`
// object below must name exactly the fields of its type in types.ts (`satisfies` fails the
// type check on a missing or extra one), and exactly the fields of Rust's sample (this
// test). So types.ts cannot drift from models.rs unnoticed.
import { describe, expect, it } from "vitest";
import contract from "./contract.json";
import type * as T from "./types";

type Fields<T> = Record<keyof T, true>;
const all = <T>(f: Fields<T>): string[] => Object.keys(f).sort();
const keys = (v: object): string[] => Object.keys(v).sort();

const fields = {
  VaultState: all<T.VaultState>({ status: true, profile: true, store: true, vault: true, message: true, retryAfterMs: true, failedAttempts: true, insecureKdf: true, minPassphraseChars: true, lockedBecause: true } satisfies Fields<T.VaultState>),
  VaultFacts: all<T.VaultFacts>({ vaultId: true, store: true, service: true, kdf: true, kdfBelowFloor: true, generation: true, createdAt: true, dekCreatedAt: true, passphraseChangedAt: true, recordCount: true, unlock: true, refresherKey: true, consumeOnly: true } satisfies Fields<T.VaultFacts>),
  Kdf: all<T.Kdf>({ mKib: true, t: true, p: true } satisfies Fields<T.Kdf>),
  Connections: all<T.Connections>({ connections: true, alerts: true, now: true } satisfies Fields<T.Connections>),
  Connection: all<T.Connection>({
    name: true, kind: true, provider: true, providerName: true, clientId: true, scopes: true, status: true, statusDetail: true,
    revocationAttempts: true, createdAt: true, issuedAt: true, expiresAt: true, hasRefreshToken: true,
    refreshExpiresAt: true, hasClientSecret: true, lastRefresh: true, lastExport: true, refreshFailures: true,
    refreshingSince: true, refreshedBy: true,
    lastRefreshError: true, check: true, account: true, application: true, checkError: true, checkedAt: true, installationStatus: true,
    installationError: true, canRevoke: true, health: true, healthUntil: true, pleo: true,
  } satisfies Fields<T.Connection>),
  Alert: all<T.Alert>({ kind: true, connection: true, text: true } satisfies Fields<T.Alert>),
  Provider: all<T.Provider>({ name: true, displayName: true, defaultClientId: true, defaultScopes: true, source: true, pleo: true } satisfies Fields<T.Provider>),
  Disconnect: all<T.Disconnect>({ outcome: true, message: true } satisfies Fields<T.Disconnect>),
  Copied: all<T.Copied>({ expiresAt: true, clearsInSecs: true } satisfies Fields<T.Copied>),
  AuditView: all<T.AuditView>({ lines: true, intact: true, authenticated: true, broken: true, path: true } satisfies Fields<T.AuditView>),
  AuditLine: all<T.AuditLine>({ seq: true, ts: true, event: true, fields: true, authenticated: true } satisfies Fields<T.AuditLine>),
  SettingsView: all<T.SettingsView>({ settings: true, problem: true, dataDir: true, providersFile: true } satisfies Fields<T.SettingsView>),
  Settings: all<T.Settings>({ autoLockMinutes: true, refreshAheadMinutes: true, notifications: true, keepRunningInTray: true } satisfies Fields<T.Settings>),
  Progress: all<T.Progress>({ done: true, total: true } satisfies Fields<T.Progress>),
  Rotated: all<T.Rotated>({ connection: true, message: true } satisfies Fields<T.Rotated>),
  Checked: all<T.Checked>({ connection: true, outcome: true, message: true } satisfies Fields<T.Checked>),
  BackupDone: all<T.BackupDone>({ records: true, message: true } satisfies Fields<T.BackupDone>),
  ProxyView: all<T.ProxyView>({ name: true, urls: true, allow: true, forwarded: true, refused: true, waited: true } satisfies Fields<T.ProxyView>),
};

describe("types.ts names exactly the fields Rust sends", () => {
  const c = contract;
  const cases: [keyof typeof fields, object][] = [
    ["VaultState", c.VaultState],
    ["VaultFacts", c.VaultState.vault],
    ["Kdf", c.VaultState.vault.kdf],
    ["Connections", c.Connections],
    ["Connection", c.Connections.connections[0]!],
    ["Alert", c.Connections.alerts[0]!],
    ["Provider", c.Provider],
    ["Disconnect", c.Disconnect],
    ["Copied", c.Copied],
    ["AuditView", c.AuditView],
    ["AuditLine", c.AuditView.lines[0]!],
    ["SettingsView", c.SettingsView],
    ["Settings", c.SettingsView.settings],
    ["Progress", c.Progress],
    ["Rotated", c.Rotated],
    ["Checked", c.Checked],
    ["BackupDone", c.BackupDone],
    ["ProxyView", c.ProxyView],
  ];
  for (const [name, sample] of cases) {
    it(name, () => expect(keys(sample)).toEqual(fields[name]));
  }
  it("enum values are ones the UI knows", () => {
    const status: T.VaultState["status"][] = ["noVault", "locked", "unlocked", "unavailable"];
    expect(status).toContain(c.VaultState.status);
    const conn: T.Connection["status"][] = ["active", "needsReauthorisation", "revocationPending"];
    expect(conn).toContain(c.Connections.connections[0]!.status);
    const kinds: T.CredentialKind[] = ["oauth", "api-key", "static-bearer", "static-basic", "static-raw"];
    expect(kinds).toContain(c.Connections.connections[0]!.kind);
  });
});
