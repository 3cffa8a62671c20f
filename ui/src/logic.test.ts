import { describe, expect, it } from "vitest";
import {
  proxyCountText,
  proxyRules,
  addKeyProblem,
  kindLabel,
  auditDetail,
  auditEvents,
  auditVerdict,
  clockTime,
  checkLabel,
  connectFormProblem,
  countdown,
  eventLabel,
  filterAudit,
  progressText,
  providerOption,
  checkValue,
  installationText,
  wizardDefaults,
  rotatedText,
  secretWarning,
  settingsProblem,
  sortConnections,
  statusOf,
  healthStale,
  expiryProblem,
  expiryGate,
  NO_EXPIRY_QUESTION,
  copiedText,
  tickWidth,
  type StatusKey,
  timeline,
} from "./logic";
import type { AuditLine, Connection, ConnectForm } from "./types";
import vectors from "../../tests/vectors/health.json";

const NOW = 1_800_000_000;

function conn(over: Partial<Connection> = {}): Connection {
  return {
    name: "pleo",
    provider: "pleo",
    providerName: "Pleo",
    clientId: "cid",
    scopes: ["users:read"],
    status: "active",
    statusDetail: null,
    revocationAttempts: 0,
    createdAt: NOW - 3600,
    issuedAt: NOW - 60,
    expiresAt: NOW + 3540,
    hasRefreshToken: true,
    refreshExpiresAt: NOW - 60 + 60 * 86_400,
    hasClientSecret: false,
    lastRefresh: null,
    refreshedBy: null,
    lastExport: null,
    refreshFailures: 0,
    refreshingSince: null,
    lastRefreshError: null,
    check: [],
    account: null,
    application: null,
    checkError: null,
    checkedAt: null,
    installationStatus: null,
    pleo: true,
    installationError: null,
    canRevoke: true,
    kind: "oauth",
    health: { key: "active" },
    healthUntil: null,
    ...over,
  };
}

describe("statusOf", () => {
  it("words and colours every health core sends (the shared vectors' answers among them)", () => {
    expect(vectors.cases.length).toBeGreaterThanOrEqual(20);
    const keys = new Set<string>(vectors.cases.map((v) => v.expect));
    // Every key core's `health::Health` has (the generated type) is in the vectors.
    const all: Record<StatusKey, true> = {
      active: true, refreshInterrupted: true, refreshFailing: true, expiring: true, expired: true, needsReauth: true,
      revocationPending: true, keyExpiring: true, keyExpired: true, verificationFailed: true,
      installationProblem: true, installationUnknown: true,
    };
    expect([...keys].sort()).toEqual(Object.keys(all).sort());
    for (const key of keys) {
      const st = statusOf(conn({ health: { key, n: 3 } as Connection["health"] }));
      expect(st.key, key).toBe(key);
      expect(st.label.length, key).toBeGreaterThan(0);
      expect(["success", "warning", "failure", "info"], key).toContain(st.tone);
    }
  });
  it("needs attention only when the user must act", () => {
    expect(statusOf(conn()).attention).toBe(false);
    expect(statusOf(conn({ health: { key: "refreshInterrupted" } })).attention).toBe(false);
    expect(statusOf(conn({ health: { key: "expired" } })).attention).toBe(true);
    expect(statusOf(conn({ status: "needsReauthorisation", health: { key: "needsReauth" } }))).toEqual({
      key: "needsReauth",
      label: "Sign in again",
      tone: "failure",
      attention: true,
    });
    expect(statusOf(conn({ health: { key: "revocationPending", n: 1 } })).tone).toBe("warning");
  });
  it("asks Rust again once the clock has changed a health", () => {
    expect(healthStale(conn({ healthUntil: NOW + 1 }), NOW)).toBe(false);
    expect(healthStale(conn({ healthUntil: NOW }), NOW)).toBe(true);
    expect(healthStale(conn({ healthUntil: null }), NOW + 1e9)).toBe(false);
  });
});

describe("installationText", () => {
  it("says a Pleo installation's status, error and when it was read; unknown when it could not be", () => {
    expect(installationText(conn({ installationStatus: "ACTIVATED" }), "3 min ago")).toBe("Activated, checked 3 min ago");
    expect(installationText(conn({ installationStatus: "ERROR", installationError: "AUTH_ERROR" }), "1 h ago")).toBe(
      "Error (Auth error), checked 1 h ago",
    );
    expect(installationText(conn({ installationStatus: "UNKNOWN" }), "5 s ago")).toBe(
      "unknown: the last check could not read it, checked 5 s ago",
    );
    expect(installationText(conn(), null)).toBe("not read yet: Check reads it");
    expect(installationText(conn({ installationStatus: "ACTIVATED" }), null)).toBe("Activated, read at sign-in");
    expect(installationText(conn({ pleo: false, installationStatus: "ACTIVATED" }), "now")).toBeNull();
  });
});

describe("copiedText", () => {
  it("counts the clipboard's clearing down, in whole seconds", () => {
    expect(copiedText("Access token", 30, NOW + 600, NOW)).toBe(
      "Access token copied. The clipboard is cleared in 30 s; it expires in 10 min 00 s.",
    );
    expect(copiedText("Access token", 21.4, NOW + 600, NOW + 8.6)).toMatch(/cleared in 22 s; it expires in 9 min 51 s/);
    expect(copiedText("API key", 0.2, null, NOW)).toBe("API key copied. The clipboard is cleared in 1 s.");
  });
});

describe("countdown", () => {
  it("counts down in readable units", () => {
    expect(countdown(NOW + 42, NOW)).toBe("in 42 s");
    expect(countdown(NOW + 245, NOW)).toBe("in 4 min 05 s");
    expect(countdown(NOW + 2 * 3600 + 600, NOW)).toBe("in 2 h 10 min");
    expect(countdown(NOW + 86_400, NOW)).toBe("in 1 day");
    expect(countdown(NOW + 3 * 86_400 + 5, NOW)).toBe("in 3 days");
    expect(countdown(NOW - 120, NOW)).toBe("expired 2 min 00 s ago");
    expect(countdown(null, NOW)).toBe("no expiry given");
  });
});

describe("sortConnections", () => {
  it("puts what needs attention first, then the soonest expiry", () => {
    const cs = [
      conn({ name: "b", expiresAt: NOW + 100 }),
      conn({ name: "a", expiresAt: NOW + 9000 }),
      conn({ name: "z", status: "needsReauthorisation", health: { key: "needsReauth" } }),
      conn({ name: "c", expiresAt: null }),
    ];
    expect(sortConnections(cs).map((c) => c.name)).toEqual(["z", "b", "a", "c"]);
    expect(cs[0]!.name).toBe("b"); // not sorted in place
  });
});

describe("timeline", () => {
  it("puts minutes and months on one readable axis", () => {
    const t = timeline(
      [conn({ name: "short", expiresAt: NOW + 600, refreshExpiresAt: null, hasRefreshToken: false }), conn()],
      NOW,
      1000,
    );
    expect(t.span).toBe(60 * 86_400 - 60);
    expect(t.nowX).toBe(100);
    const long = t.rows.find((r) => r.name === "pleo")!;
    const short = t.rows.find((r) => r.name === "short")!;
    // Issued a minute ago: just left of now. A 1-hour access token is well visible.
    expect(long.access!.x0).toBeCloseTo(100 * (1 - 60 / 3600), 5);
    expect(long.access!.x1 - long.access!.x0).toBeGreaterThan(300);
    expect(long.refresh!.x1).toBeCloseTo(1000, 5);
    expect(long.refresh!.clipped).toBe(false);
    expect(short.access!.x1).toBeLessThan(long.access!.x1);
    expect(short.refresh).toBeNull();
    expect(t.ticks.map((k) => k.label)).toEqual(["1 min", "10 min", "1 h", "6 h", "1 day", "7 days", "30 days"]);
    const xs = t.ticks.map((k) => k.x);
    expect([...xs].sort((a, b) => a - b)).toEqual(xs);
  });
  it("never lets two axis labels touch, nor one pass the right edge", () => {
    for (const width of [300, 600, 1000]) {
      for (const days of [1, 7, 30, 60, 90, 200, 365, 400]) {
        const t = timeline([conn({ refreshExpiresAt: NOW + days * 86_400 })], NOW, width);
        const edges = t.ticks.map((k) => {
          const w = tickWidth(k.label);
          return k.anchor === "end" ? [k.x - w, k.x] : [k.x - w / 2, k.x + w / 2];
        });
        for (const [, r] of edges) expect(r, `${width} ${days}`).toBeLessThanOrEqual(width + 1e-9);
        for (let i = 1; i < edges.length; i++) {
          expect(edges[i]![0], `${width} ${days}: ${t.ticks[i - 1]!.label} / ${t.ticks[i]!.label}`).toBeGreaterThan(edges[i - 1]![1]);
        }
        // The far end is always labelled.
        expect(t.ticks.at(-1)!.x).toBeGreaterThan(width * 0.8);
      }
    }
    // 90 days and a year: "30 days" and "90 days" no longer run into each other.
    const labels = timeline([conn({ refreshExpiresAt: NOW + 365 * 86_400 })], NOW, 600).ticks.map((k) => k.label);
    expect(labels.at(-1)).toBe("1 year");
    expect(labels.filter((l) => l === "30 days" || l === "90 days").length).toBeLessThan(2);
  });
  it("keeps an hour at least, caps at a year, and shows what expired left of now", () => {
    const t = timeline([conn({ expiresAt: NOW + 1800, refreshExpiresAt: null })], NOW, 1000);
    expect(t.span).toBe(3600);
    expect(t.ticks.at(-1)!.label).toBe("1 h");
    expect(t.ticks.at(-1)!.x).toBeCloseTo(1000, 5);
    const far = timeline([conn({ refreshExpiresAt: NOW + 400 * 86_400 })], NOW, 100);
    expect(far.rows[0]!.refresh!.clipped).toBe(true);
    expect(far.rows[0]!.refresh!.x1).toBe(100);
    const gone = timeline([conn({ issuedAt: NOW - 1800, expiresAt: NOW - 900 })], NOW, 1000);
    expect(gone.rows[0]!.access!.x0).toBeCloseTo(50, 5);
    expect(gone.rows[0]!.access!.x1).toBeCloseTo(75, 5);
  });
});

describe("audit filter", () => {
  const lines: AuditLine[] = [
    { seq: 3, ts: NOW, event: "export", fields: [["connection", "pleo"], ["process", "/usr/bin/curl"]], authenticated: true },
    { seq: 2, ts: NOW, event: "unlock_failed", fields: [], authenticated: false },
    { seq: 1, ts: NOW, event: "connected", fields: [["connection", "other"]], authenticated: true },
  ];
  it("filters by text, event and authentication", () => {
    const f = { text: "", event: "", unauthenticatedOnly: false };
    expect(filterAudit(lines, f)).toHaveLength(3);
    expect(filterAudit(lines, { ...f, text: "CURL" }).map((l) => l.seq)).toEqual([3]);
    expect(filterAudit(lines, { ...f, text: "connection=other" }).map((l) => l.seq)).toEqual([1]);
    expect(filterAudit(lines, { ...f, event: "export" }).map((l) => l.seq)).toEqual([3]);
    expect(filterAudit(lines, { ...f, unauthenticatedOnly: true }).map((l) => l.seq)).toEqual([2]);
    expect(auditEvents(lines)).toEqual(["connected", "export", "unlock_failed"]);
    expect(eventLabel("unlock_failed")).toBe("Unlock failed");
  });
});

describe("forms", () => {
  const form: ConnectForm = {
    name: "pleo-export",
    provider: "pleo",
    clientId: "",
    confidential: false,
    scopes: "",
    authorizeUrl: "",
    tokenUrl: "",
    revocationUrl: "",
  };
  it("checks the connect form like the Rust side does", () => {
    expect(connectFormProblem(form)).toBeNull();
    expect(connectFormProblem({ ...form, name: " " })).toEqual({ field: "name", message: "Give the connection a name." });
    expect(connectFormProblem({ ...form, name: "has space" })?.message).toMatch(/letters/);
    expect(connectFormProblem({ ...form, name: "x".repeat(63) })?.message).toMatch(/62/);
    const custom = { ...form, provider: "custom" };
    expect(connectFormProblem(custom)).toEqual({ field: "authorizeUrl", message: "Enter the authorization URL." });
    expect(connectFormProblem({ ...custom, authorizeUrl: "ftp://x", tokenUrl: "https://t" })?.message).toMatch(/https/);
    expect(
      connectFormProblem({ ...custom, authorizeUrl: "https://a/authorize", tokenUrl: "https://a/token" }),
    ).toEqual({ field: "clientId", message: "A custom provider needs a client ID." });
  });
  it("asks for a client ID beside its field when the provider has none, saying where Pleo's comes from", () => {
    const pleo = { name: "pleo", displayName: "Pleo", defaultClientId: null, defaultScopes: [], source: "built-in preset", pleo: true };
    const p = connectFormProblem(form, pleo);
    expect(p?.field).toBe("clientId");
    expect(p?.message).toMatch(/^Enter your integration’s client ID: Pleo issues one/);
    // One sentence, one spelling of "client ID".
    expect(p?.message.split(". ").length).toBe(1);
    expect(p?.message).not.toMatch(/client id\b/);
    expect(connectFormProblem({ ...form, clientId: "abc" }, pleo)).toBeNull();
    expect(connectFormProblem(form, { ...pleo, defaultClientId: "default" })).toBeNull();
    const other = { ...pleo, name: "acme", displayName: "Acme", pleo: false };
    expect(connectFormProblem({ ...form, provider: "acme" }, other)?.message).toMatch(/^Enter a client ID: Acme has none/);
  });
  it("warns about a client secret, with Pleo's advice for Pleo", () => {
    expect(secretWarning({ name: "pleo", displayName: "Pleo", defaultClientId: null, defaultScopes: [], source: "built-in preset", pleo: true }, false)).toBeNull();
    expect(secretWarning({ name: "pleo", displayName: "Pleo", defaultClientId: null, defaultScopes: [], source: "built-in preset", pleo: true }, true)).toMatch(/Pleo advises public clients with PKCE/);
    expect(secretWarning(undefined, true)).not.toMatch(/Pleo/);
  });
  it("checks settings and words the rotation progress", () => {
    expect(settingsProblem({ autoLockMinutes: 15, refreshAheadMinutes: 5, notifications: true, keepRunningInTray: true })).toBeNull();
    expect(settingsProblem({ autoLockMinutes: 0, refreshAheadMinutes: 1, notifications: false, keepRunningInTray: true })).toBeNull();
    expect(settingsProblem({ autoLockMinutes: -1, refreshAheadMinutes: 5, notifications: true, keepRunningInTray: true })).toMatch(/Auto-lock/);
    expect(settingsProblem({ autoLockMinutes: 5, refreshAheadMinutes: 0, notifications: true, keepRunningInTray: true })).toMatch(/Refresh ahead/);
    expect(settingsProblem({ autoLockMinutes: 5, refreshAheadMinutes: 2.5, notifications: true, keepRunningInTray: true })).toMatch(/Refresh ahead/);
    expect(progressText(0, 0)).toBe("Writing the new key…");
    expect(progressText(3, 10)).toBe("Re-encrypting 3 of 10 records…");
    expect(progressText(3, 3)).toBe("Re-encrypted 3 records; committing…");
  });
  it("says the rotation's result with the progress's own count", () => {
    expect(rotatedText(2, 3, 1)).toBe(
      "Data key rotated: now generation 2; 3 records re-encrypted (1 connection and 2 records of the wallet’s own).",
    );
    expect(rotatedText(3, 1, 1)).toBe("Data key rotated: now generation 3; 1 record re-encrypted.");
    expect(progressText(1, 1)).toBe("Re-encrypted 1 record; committing…");
  });
});

describe("checkLabel", () => {
  it("words the connection check's keys for people", () => {
    expect(checkLabel("applicationName")).toBe("Application");
    expect(checkLabel("subjectURN")).toBe("Signed in as");
    expect(checkLabel("someNewField")).toBe("Some new field");
    expect(checkLabel("snake_case_key")).toBe("Snake case key");
  });
});

describe("the connect wizard's words", () => {
  const pleo = { name: "pleo", displayName: "Pleo", defaultClientId: "cid-1", defaultScopes: ["users:read", "expenses:read"], source: "built-in preset", pleo: true };
  it("says what an empty client ID and scopes will be", () => {
    expect(wizardDefaults(pleo)).toEqual({ clientId: "cid-1 (the provider’s default)", scopes: "users:read expenses:read (the default)" });
    expect(wizardDefaults({ ...pleo, defaultClientId: null, defaultScopes: [] })).toEqual({
      clientId: "required: this provider has no default",
      scopes: "none unless you name some",
    });
    expect(wizardDefaults(undefined).clientId).toMatch(/custom/);
  });
  it("names a provider for people", () => {
    expect(providerOption(pleo)).toBe("Pleo, built in");
    expect(providerOption({ ...pleo, name: "pleo-staging", displayName: "Pleo (staging)" })).toBe("Pleo (staging), built in as “pleo-staging”");
    expect(providerOption({ ...pleo, name: "rig", displayName: "rig", source: "config" })).toBe("rig, from your providers file");
    expect(providerOption({ ...pleo, name: "pleo-local", displayName: "Pleo (local test)", source: "config (discovery)" })).toBe(
      "Pleo (local test), from your providers file as “pleo-local”",
    );
    expect(checkValue("API_KEY")).toBe("API key");
    expect(checkValue("OAUTH")).toBe("OAuth");
    expect(checkValue("ACTIVATED")).toBe("Activated");
    expect(checkValue("AUTH_ERROR")).toBe("Auth error");
    expect(checkValue("urn:pleo:company:1")).toBe("urn:pleo:company:1");
    expect(checkValue("Books sync")).toBe("Books sync");
  });
});

describe("the audit view's words", () => {
  it("names what a line is about, keeping pids and paths for the hover", () => {
    const d = auditDetail([
      ["connection", "payroll"],
      ["pid", "4242"],
      ["process", "/usr/bin/curl"],
      ["parent_pid", "1"],
      ["parent_process", "/usr/bin/bash"],
    ]);
    expect(d.text).toBe("“payroll”, by curl (from bash)");
    expect(d.detail).toContain("Pid: 4242");
    expect(d.detail).toContain("Process: /usr/bin/curl");
    expect(auditDetail([["connection", "p"], ["how", "revocation_pending"]]).text).toBe("“p”, revocation pending");
    // Copy and Reveal are told apart; an unlock names its program.
    const app = ["process", "/opt/token-wallet/token-wallet-app"] as [string, string];
    expect(auditDetail([["connection", "p"], app, ["via", "clipboard"]]).text).toBe("“p”, by token-wallet-app, copied to the clipboard");
    expect(auditDetail([["connection", "p"], app, ["via", "window"]]).text).toBe("“p”, by token-wallet-app, revealed in the window");
    expect(auditDetail([["pid", "9"], ["process", "/usr/bin/token-wallet"]]).text).toBe("by token-wallet");
  });
  it("says one count for the verdict", () => {
    expect(auditVerdict(11, 9)).toBe(
      "Verified: all 11 lines intact and in order; 9 signed while unlocked, 2 written while locked (unsigned, still chained).",
    );
    expect(auditVerdict(1, 1)).toBe("Verified: all 1 line intact and in order, all signed.");
  });
  it("gives the clock time beside the age", () => {
    const t = new Date(2026, 10, 30, 14, 5, 9).getTime() / 1000;
    expect(clockTime(t, t + 60)).toBe("14:05:09");
    expect(clockTime(t - 86_400, t)).toBe("2026-11-29 14:05");
  });
});

describe("API keys", () => {
  const form = { name: "books", provider: "pleo", expires: "" };
  it("says what the Add API key form lacks, field by field", () => {
    expect(addKeyProblem(form, NOW)).toBeNull();
    expect(addKeyProblem({ ...form, provider: "" }, NOW)?.field).toBe("provider");
    expect(addKeyProblem({ ...form, name: "a b" }, NOW)?.field).toBe("name");
    expect(addKeyProblem({ ...form, expires: "31/12/2027" }, NOW)?.field).toBe("expires");
    expect(addKeyProblem({ ...form, expires: "2027-12-31" }, NOW)).toBeNull();
  });
  it("takes typed ISO dates only, real and not yet passed (NOW is 2027-01-15)", () => {
    expect(expiryProblem("", NOW)).toBeNull();
    expect(expiryProblem(" 2027-12-31 ", NOW)).toBeNull();
    expect(expiryProblem("2027-01-15", NOW)).toBeNull(); // today: the key still works today
    expect(expiryProblem("12/31/2027", NOW)).toMatch(/^Give the date as YYYY-MM-DD \(for example 2027-12-31\)/);
    expect(expiryProblem("2027-02-30", NOW)).toBe("2027-02-30 is not a date.");
    expect(expiryProblem("2027-01-14", NOW)).toMatch(/has passed/);
    expect(NO_EXPIRY_QUESTION).toMatch(/press the button again to save it without one/);
    // Before a save: a bad date refused, no date asked about once, a good one passes.
    expect(expiryGate("2027-02-30", true, NOW)).toEqual({ message: "2027-02-30 is not a date.", tone: "failure" });
    expect(expiryGate("", false, NOW)).toEqual({ message: NO_EXPIRY_QUESTION, tone: "warning" });
    expect(expiryGate(" ", true, NOW)).toBeNull();
    expect(expiryGate("2027-12-31", false, NOW)).toBeNull();
  });
  it("badges a key by its days left, and names its kind", () => {
    const key = conn({ kind: "api-key", hasRefreshToken: false, refreshExpiresAt: null });
    expect(statusOf({ ...key, health: { key: "keyExpiring", n: 12 } })).toMatchObject({
      key: "keyExpiring",
      label: "Expires in 12 days",
      tone: "warning",
    });
    expect(statusOf({ ...key, health: { key: "keyExpiring", n: 3 } }).tone).toBe("failure");
    expect(statusOf({ ...key, health: { key: "keyExpiring", n: 0 } }).label).toBe("Expires within a day");
    expect(kindLabel(key)).toBe("API key");
    expect(kindLabel(conn())).toBe("OAuth");
    expect(timeline([key, conn()], NOW, 600).rows.map((r) => r.key).sort()).toEqual([false, true]);
  });
});

describe("the Proxy box", () => {
  it("reads one rule a line, blank lines ignored", () => {
    expect(proxyRules("GET /v1/expenses*\r\n\n  POST /v1/export-jobs  \n")).toEqual(["GET /v1/expenses*", "POST /v1/export-jobs"]);
    expect(proxyRules("  \n")).toEqual([]);
  });
  it("says the live count, and waits only when there were some", () => {
    const v = { name: "p", urls: [], allow: [], forwarded: 1, refused: 2, waited: 0 };
    expect(proxyCountText(v)).toBe("1 request forwarded, 2 refused by the proxy");
    expect(proxyCountText({ ...v, forwarded: 3, waited: 1 })).toBe("3 requests forwarded, 2 refused by the proxy, 1 waited for a token");
  });
  it("words a proxy's audit batch", () => {
    const d = auditDetail([["connection", "pleo"], ["method", "GET"], ["path", "/v1/expenses"], ["status", "200"], ["requests", "12"], ["bytes", "3000"], ["pid", "42"], ["process", "/usr/bin/curl"]]);
    expect(d.text).toBe("“pleo”, GET /v1/expenses → 200, 12 requests, 3 KiB, by curl");
  });
});
