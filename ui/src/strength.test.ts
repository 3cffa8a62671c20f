import { describe, expect, it } from "vitest";
import { chars, passphraseStrength, period, predictableChars } from "./strength";

describe("passphraseStrength", () => {
  it("says nothing about an empty field", () => {
    expect(passphraseStrength("", 8)).toMatchObject({ level: 0, label: "" });
  });

  it("asks for the minimum length first", () => {
    const s = passphraseStrength("Xk9$", 8);
    expect(s.level).toBe(0);
    expect(s.label).toBe("Too short");
    expect(s.advice).toContain("8 characters");
    expect(passphraseStrength("Xk9$Xk9$Xk9$", 12).label).not.toBe("Too short");
  });

  it("counts characters, not UTF-16 units", () => {
    expect(chars("🔑🔑")).toHaveLength(2);
    expect(passphraseStrength("🔑🔑🔑🔑🔑🔑🔑", 8).label).toBe("Too short");
  });

  it("calls common passwords weak, whatever their length", () => {
    for (const p of ["password", "Password1", "qwerty123", "tokenwallet!"]) {
      const s = passphraseStrength(p, 8);
      expect(s.level, p).toBe(1);
      expect(s.advice, p).toContain("common");
    }
  });

  it("penalises repeats and runs", () => {
    expect(passphraseStrength("aaaaaaaaaaaa", 8).level).toBe(1);
    expect(passphraseStrength("abcdefghijkl", 8).level).toBe(1);
    expect(passphraseStrength("12345678901234", 8).level).toBe(1);
    expect(predictableChars("abcd")).toBe(3);
    expect(predictableChars("a1b2")).toBe(0);
    expect(predictableChars("qwer")).toBe(3);
    expect(passphraseStrength("abcabcabcabcabc", 8).level).toBe(1);
    expect(period(chars("abcabcab"))).toBe(3);
    expect(period(chars("abcd"))).toBe(4);
  });

  it("grades by estimated size", () => {
    expect(passphraseStrength("mXq7tLp2", 8).level).toBe(2);
    expect(passphraseStrength("mXq7tLp2Rv9w", 8).level).toBe(3);
    expect(passphraseStrength("correct horse battery staple", 8)).toMatchObject({
      level: 4,
      label: "Strong",
      advice: "",
    });
  });

  it("never gets weaker when a random character is added", () => {
    let prev = 0;
    for (const p of ["mX", "mXq7", "mXq7tL", "mXq7tLp2", "mXq7tLp2Rv", "mXq7tLp2Rv9w", "mXq7tLp2Rv9wZ3"]) {
      const { level } = passphraseStrength(p, 8);
      expect(level, p).toBeGreaterThanOrEqual(prev);
      prev = level;
    }
  });
});
