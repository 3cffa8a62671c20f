import { describe, expect, it } from "vitest";
import type { VaultFacts, VaultState } from "./types";
import { teamNote, viewFor } from "./view";

const NOW = 1_700_000_000;

const facts = (over: Partial<VaultFacts> = {}): VaultFacts => ({
  vaultId: "0123456789abcdef0123456789abcdef",
  store: "secret-service",
  service: "token-wallet:e2e",
  kdf: { mKib: 65536, t: 3, p: 4 },
  kdfBelowFloor: false,
  generation: 1,
  createdAt: NOW - 120,
  dekCreatedAt: NOW - 120,
  passphraseChangedAt: NOW - 7200,
  recordCount: 0,
  unlock: "passphrase",
  refresherKey: null,
  consumeOnly: false,
  ...over,
});

const state = (over: Partial<VaultState> = {}): VaultState => ({
  status: "locked",
  profile: "e2e",
  store: "secret-service",
  vault: facts({ recordCount: null }),
  message: null,
  retryAfterMs: 0,
  failedAttempts: 0,
  insecureKdf: false,
  minPassphraseChars: 8,
  lockedBecause: null,
  ...over,
});

describe("viewFor", () => {
  it("shows a loading screen before the first answer", () => {
    expect(viewFor(null, NOW).screen).toBe("loading");
  });

  it("maps each status to its screen", () => {
    expect(viewFor(state({ status: "noVault", vault: null }), NOW).screen).toBe("create");
    expect(viewFor(state(), NOW).screen).toBe("unlock");
    expect(viewFor(state({ status: "unlocked", vault: facts() }), NOW).screen).toBe("unlocked");
    const u = viewFor(state({ status: "unavailable", store: null, vault: null, message: "no bus" }), NOW);
    expect(u).toMatchObject({ screen: "unavailable", message: "No bus." });
  });

  it("names the profile and the store", () => {
    expect(viewFor(state(), NOW).context).toBe("Profile “e2e” · Secret Service");
    expect(viewFor(state({ store: null, status: "unavailable" }), NOW).context).toBe("Profile “e2e”");
  });

  it("lists the unlocked vault's facts", () => {
    const v = viewFor(state({ status: "unlocked", vault: facts() }), NOW);
    const byId = Object.fromEntries(v.facts.map((f) => [f.id, f]));
    expect(byId.records!.value).toBe("0 connections");
    expect(byId.generation!.value).toBe("1");
    expect(byId.kdf!.value).toBe("Argon2id · 64 MiB · 3 passes · 4 lanes");
    expect(byId["dek-age"]!.value).toBe("2 minutes ago");
    expect(byId["passphrase-age"]!.value).toBe("2 hours ago");
    expect(byId["created"]!.detail).toMatch(/^2023-11-14 22:11:20 UTC$/);
    expect(byId["vault-id"]).toMatchObject({ value: "0123456789abcdef0123456789abcdef", mono: true });
    expect(v.banner).toBeNull();
  });

  it("warns about test-only key derivation", () => {
    const weak = facts({ kdf: { mKib: 1024, t: 1, p: 1 }, kdfBelowFloor: true });
    expect(viewFor(state({ status: "unlocked", vault: weak }), NOW).banner).toContain("Test vault");
    expect(viewFor(state({ vault: { ...weak, recordCount: null } }), NOW).banner).toContain("Test vault");
    expect(viewFor(state({ status: "noVault", vault: null, insecureKdf: true }), NOW).banner).toContain(
      "Test mode",
    );
    expect(viewFor(state({ status: "noVault", vault: null }), NOW).banner).toBeNull();
  });

  it("carries the throttle and the minimum length", () => {
    const v = viewFor(state({ retryAfterMs: 1999, failedAttempts: 2, minPassphraseChars: 10 }), NOW);
    expect(v).toMatchObject({ retryAfterMs: 1999, failedAttempts: 2, minChars: 10 });
    expect(viewFor(state({ retryAfterMs: -5 }), NOW).retryAfterMs).toBe(0);
  });
  it("a team vault: no passphrase, what unlocks it, and what this identity may do", () => {
    const locked = viewFor(state({ store: "openbao", vault: facts({ store: "openbao", unlock: "transit:transit/token-wallet", recordCount: null }) }), NOW);
    expect(locked.screen).toBe("unlock");
    expect(locked.identityUnlock).toBe("transit/token-wallet");
    expect(locked.context).toContain("OpenBao team vault");
    expect(viewFor(state(), NOW).identityUnlock).toBeNull();
    const team = (consumeOnly: boolean) =>
      viewFor(
        state({
          status: "unlocked",
          vault: facts({
            store: "openbao",
            unlock: "transit:transit/token-wallet",
            refresherKey: "transit:transit/token-wallet-refresher",
            consumeOnly,
          }),
        }),
        NOW,
      ).facts;
    const ids = team(true).map((f) => f.id);
    expect(ids).toContain("unlock");
    expect(ids).not.toContain("passphrase-age");
    expect(ids).not.toContain("kdf");
    expect(team(true).find((f) => f.id === "refresh-role")?.value).toMatch(/^Consumer: gets access tokens only/);
    expect(team(false).find((f) => f.id === "refresh-role")?.value).toMatch(/^Refresher/);
    expect(team(true).find((f) => f.id === "unlock")?.value).toBe("OpenBao identity (Transit key transit/token-wallet)");
  });
  it("says a team vault's role, and when a refresher last refreshed", () => {
    const team = facts({ unlock: "transit:transit/token-wallet", refresherKey: "transit:transit/r", consumeOnly: true });
    expect(teamNote(facts(), [], NOW)).toBeNull();
    const r = (lastRefresh: number | null, refreshedBy: string | null = null) => ({ lastRefresh, refreshedBy });
    expect(teamNote(team, [r(null), r(NOW - 120, "build-1"), r(NOW - 3600, "laptop")], NOW)).toMatch(
      /may only consume.*A refresher \(build-1\) last refreshed 2 minutes ago\.$/,
    );
    expect(teamNote(team, [r(null)], NOW)).toMatch(/No refresh by a refresher seen yet\.$/);
    expect(teamNote({ ...team, consumeOnly: false }, [], NOW)).toMatch(/this identity is a refresher/);
  });
});
