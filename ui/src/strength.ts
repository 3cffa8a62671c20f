// A simple, honest passphrase strength hint. It estimates how big a space a guesser would
// have to search, and penalises the usual shortcuts (common passwords, repeats, keyboard
// or alphabet runs). It is a hint, not a promise: Argon2id does the real work.

export type Level = 0 | 1 | 2 | 3 | 4;

export interface Strength {
  level: Level;
  /** "", "Too short", "Weak", "Fair", "Good", "Strong". */
  label: string;
  /** One sentence on how to do better (empty when strong). */
  advice: string;
  /** The rough estimate behind the label, in bits. */
  bits: number;
}

const COMMON = [
  "password",
  "passw0rd",
  "123456",
  "12345678",
  "qwerty",
  "azerty",
  "letmein",
  "iloveyou",
  "admin",
  "welcome",
  "monkey",
  "dragon",
  "football",
  "baseball",
  "master",
  "secret",
  "tokenwallet",
  "token",
  "wallet",
  "abc123",
  "111111",
  "000000",
];

const KEYBOARD_ROWS = ["qwertyuiop", "asdfghjkl", "zxcvbnm", "1234567890"];

/** The characters of `s` (code points, so emoji count once). */
export function chars(s: string): string[] {
  return Array.from(s);
}

function poolSize(cs: string[]): number {
  let pool = 0;
  if (cs.some((c) => c >= "a" && c <= "z")) pool += 26;
  if (cs.some((c) => c >= "A" && c <= "Z")) pool += 26;
  if (cs.some((c) => c >= "0" && c <= "9")) pool += 10;
  if (cs.some((c) => c.length === 1 && c < "\u0080" && !/[A-Za-z0-9]/.test(c))) pool += 33;
  if (cs.some((c) => c.codePointAt(0)! >= 0x80)) pool += 100;
  return Math.max(pool, 1);
}

/** How many characters a guesser gets for free: in a run (abcd, 4321, qwer, aaaa) of 3 or
 * more, every character after the first. */
export function predictableChars(s: string): number {
  const lower = s.toLowerCase();
  const cs = chars(lower);
  let wasted = 0;
  let run = 1;
  for (let i = 1; i < cs.length; i++) {
    const a = cs[i - 1]!;
    const b = cs[i]!;
    const step = b.codePointAt(0)! - a.codePointAt(0)!;
    const prevStep = i >= 2 ? a.codePointAt(0)! - cs[i - 2]!.codePointAt(0)! : NaN;
    const keyboardNext = KEYBOARD_ROWS.some((row) => {
      const j = row.indexOf(a);
      return j >= 0 && (row[j + 1] === b || row[j - 1] === b);
    });
    const continues =
      (Math.abs(step) <= 1 && (run === 1 || step === prevStep)) || (keyboardNext && run >= 1);
    if (continues) {
      run++;
      if (run >= 3) wasted += run === 3 ? 2 : 1;
    } else {
      run = 1;
    }
  }
  return Math.min(wasted, cs.length);
}

/** The length of the shortest unit that `s` repeats ("abcabcab" -> 3), else its length. */
export function period(cs: string[]): number {
  for (let k = 1; k <= cs.length / 2; k++) {
    if (cs.every((c, i) => c === cs[i % k])) return k;
  }
  return cs.length;
}

function containsCommon(s: string): boolean {
  const l = s.toLowerCase().replace(/[\s_.-]/g, "");
  return COMMON.some((w) => l.includes(w) && w.length >= l.length - 4);
}

/** Rates a passphrase. `minChars` is the shortest one the app accepts (Rust's rule). */
export function passphraseStrength(p: string, minChars: number): Strength {
  const cs = chars(p);
  if (cs.length === 0) return { level: 0, label: "", advice: "", bits: 0 };
  const distinct = new Set(cs).size;
  const unit = cs.slice(0, period(cs));
  const effective = Math.max(1, unit.length - predictableChars(unit.join("")));
  let bits = effective * Math.log2(poolSize(cs));
  // Very few distinct characters ("ab1ab1ba1b") search like a much shorter string.
  bits = Math.min(bits, distinct * 8);
  if (containsCommon(p)) bits = Math.min(bits, 20);
  bits = Math.round(bits);

  if (cs.length < minChars) {
    return {
      level: 0,
      label: "Too short",
      advice: `Use at least ${minChars} characters; a few unrelated words work well.`,
      bits,
    };
  }
  if (containsCommon(p)) {
    return {
      level: 1,
      label: "Weak",
      advice: "This is a common password; pick something no one would guess.",
      bits,
    };
  }
  if (bits < 45) {
    return {
      level: 1,
      label: "Weak",
      advice: "Make it longer and avoid repeats or runs like “abcd” and “1234”.",
      bits,
    };
  }
  if (bits < 65) {
    return { level: 2, label: "Fair", advice: "Add another word or a few characters.", bits };
  }
  if (bits < 85) {
    return { level: 3, label: "Good", advice: "One more word would make it strong.", bits };
  }
  return { level: 4, label: "Strong", advice: "", bits };
}
