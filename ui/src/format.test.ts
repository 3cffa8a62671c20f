import { describe, expect, it } from "vitest";
import {
  errorText,
  formatAge,
  formatKdf,
  formatMemory,
  formatConnectionCount,
  formatStore,
  formatWait,
  sentence,
  throttleText,
} from "./format";

describe("format", () => {
  it("formats KDF parameters", () => {
    expect(formatKdf({ mKib: 65536, t: 3, p: 4 })).toBe("Argon2id · 64 MiB · 3 passes · 4 lanes");
    expect(formatKdf({ mKib: 1024, t: 1, p: 1 })).toBe("Argon2id · 1 MiB · 1 pass · 1 lane");
    expect(formatMemory(1500)).toBe("1500 KiB");
    expect(formatMemory(1024 * 1024)).toBe("1 GiB");
    expect(formatMemory(1536 * 1024)).toBe("1.5 GiB");
  });

  it("formats ages", () => {
    const now = 1_700_000_000;
    expect(formatAge(now, now)).toBe("just now");
    expect(formatAge(now + 30, now)).toBe("just now");
    expect(formatAge(now - 59, now)).toBe("just now");
    expect(formatAge(now - 60, now)).toBe("1 minute ago");
    expect(formatAge(now - 150, now)).toBe("2 minutes ago");
    expect(formatAge(now - 3600, now)).toBe("1 hour ago");
    expect(formatAge(now - 86400 * 2, now)).toBe("2 days ago");
    expect(formatAge(now - 86400 * 45, now)).toBe("1 month ago");
    expect(formatAge(now - 86400 * 800, now)).toBe("2 years ago");
  });

  it("formats counts, waits and stores", () => {
    expect(formatConnectionCount(0)).toBe("0 connections");
    expect(formatConnectionCount(1)).toBe("1 connection");
    expect(formatConnectionCount(null)).toBe("—");
    expect(formatWait(1)).toBe("1 s");
    expect(formatWait(1000)).toBe("1 s");
    expect(formatWait(1001)).toBe("2 s");
    expect(formatWait(125_000)).toBe("2 min 5 s");
    expect(formatWait(300_000)).toBe("5 min");
    expect(throttleText(900, 1)).toBe("Try again in 1 s.");
    expect(throttleText(3500, 3)).toBe("3 failed attempts. Try again in 4 s.");
    expect(formatStore("secret-service")).toBe("Secret Service");
    expect(formatStore("secret-service", true)).toBe("Secret Service (GNOME Keyring, KWallet)");
    expect(formatStore("file")).toBe("Encrypted file");
    expect(formatStore("file", true)).toContain("opt-in");
    expect(formatStore("something-new")).toBe("something-new");
  });

  it("turns Rust messages into sentences", () => {
    expect(sentence("wrong passphrase; nothing was changed")).toBe(
      "Wrong passphrase; nothing was changed.",
    );
    expect(sentence("Done!")).toBe("Done!");
    expect(sentence("  ")).toBe("");
    expect(errorText("the vault is locked")).toBe("The vault is locked.");
    expect(errorText(new Error("boom"))).toBe("Boom.");
    expect(errorText({ weird: true })).toBe("Something went wrong.");
  });
});
