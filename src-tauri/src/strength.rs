//! A simple, honest passphrase strength hint, shown beside a new passphrase in the native
//! entry (the passphrase never reaches the page, so the hint is computed here). It
//! estimates how big a space a guesser would have to search and penalises the usual
//! shortcuts (common passwords, repeats, keyboard or alphabet runs). A hint, not a
//! promise: Argon2id does the real work.

/// A rating: a label ("Too short", "Weak", "Fair", "Good", "Strong") and one sentence of
/// advice (empty when strong).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Strength {
    /// 0 (too short) to 4 (strong).
    pub level: u8,
    /// The word shown.
    pub label: &'static str,
    /// How to do better.
    pub advice: String,
}

const COMMON: &[&str] = &[
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

const KEYBOARD_ROWS: &[&str] = &["qwertyuiop", "asdfghjkl", "zxcvbnm", "1234567890"];

fn pool_size(cs: &[char]) -> u32 {
    let mut pool = 0;
    if cs.iter().any(char::is_ascii_lowercase) {
        pool += 26;
    }
    if cs.iter().any(char::is_ascii_uppercase) {
        pool += 26;
    }
    if cs.iter().any(char::is_ascii_digit) {
        pool += 10;
    }
    if cs
        .iter()
        .any(|c| c.is_ascii() && !c.is_ascii_alphanumeric())
    {
        pool += 33;
    }
    if cs.iter().any(|c| !c.is_ascii()) {
        pool += 100;
    }
    pool.max(1)
}

/// How many characters a guesser gets for free: in a run (abcd, 4321, qwer, aaaa) of 3 or
/// more, every character after the first.
fn predictable_chars(cs: &[char]) -> usize {
    let lower: Vec<char> = cs.iter().flat_map(|c| c.to_lowercase()).collect();
    let (mut wasted, mut run) = (0usize, 1usize);
    for i in 1..lower.len() {
        let (a, b) = (lower[i - 1], lower[i]);
        let step = b as i64 - a as i64;
        let prev_step = (i >= 2).then(|| a as i64 - lower[i - 2] as i64);
        let keyboard_next = KEYBOARD_ROWS.iter().any(|row| {
            let r: Vec<char> = row.chars().collect();
            r.iter()
                .position(|&x| x == a)
                .is_some_and(|j| r.get(j + 1) == Some(&b) || (j > 0 && r.get(j - 1) == Some(&b)))
        });
        let continues = (step.abs() <= 1 && (run == 1 || Some(step) == prev_step)) || keyboard_next;
        if continues {
            run += 1;
            if run >= 3 {
                wasted += if run == 3 { 2 } else { 1 };
            }
        } else {
            run = 1;
        }
    }
    wasted.min(lower.len())
}

/// The length of the shortest unit the characters repeat ("abcabcab" -> 3).
fn period(cs: &[char]) -> usize {
    (1..=cs.len() / 2)
        .find(|&k| cs.iter().enumerate().all(|(i, c)| *c == cs[i % k]))
        .unwrap_or(cs.len())
}

fn contains_common(p: &str) -> bool {
    let l: String = p
        .to_lowercase()
        .chars()
        .filter(|c| !c.is_whitespace() && !matches!(c, '_' | '.' | '-'))
        .collect();
    let n = l.chars().count();
    COMMON.iter().any(|w| l.contains(w) && w.len() + 4 >= n)
}

/// Rates `p`; `min_chars` is the shortest passphrase accepted (core's rule).
pub fn rate(p: &str, min_chars: usize) -> Strength {
    let cs: Vec<char> = p.chars().collect();
    if cs.is_empty() {
        return Strength {
            level: 0,
            label: "",
            advice: String::new(),
        };
    }
    let distinct = cs.iter().collect::<std::collections::HashSet<_>>().len();
    let unit = &cs[..period(&cs)];
    let effective = unit.len().saturating_sub(predictable_chars(unit)).max(1);
    let mut bits = effective as f64 * f64::from(pool_size(&cs)).log2();
    bits = bits.min(distinct as f64 * 8.0);
    if contains_common(p) {
        bits = bits.min(20.0);
    }
    let s = |level, label, advice: &str| Strength {
        level,
        label,
        advice: advice.to_string(),
    };
    if cs.len() < min_chars {
        return Strength {
            level: 0,
            label: "Too short",
            advice: format!(
                "Use at least {min_chars} characters; a few unrelated words work well."
            ),
        };
    }
    if contains_common(p) {
        return s(
            1,
            "Weak",
            "This is a common password; pick something no one would guess.",
        );
    }
    match bits {
        b if b < 45.0 => s(
            1,
            "Weak",
            "Make it longer and avoid repeats or runs like “abcd” and “1234”.",
        ),
        b if b < 65.0 => s(2, "Fair", "Add another word or a few characters."),
        b if b < 85.0 => s(3, "Good", "One more word would make it strong."),
        _ => s(4, "Strong", ""),
    }
}

#[cfg(test)]
mod tests {
    use super::rate;

    #[test]
    fn ratings_follow_length_runs_and_common_words() {
        assert_eq!(rate("", 8).label, "");
        assert_eq!(rate("short", 8).label, "Too short");
        for p in ["password", "Password1", "qwerty123", "tokenwallet!"] {
            assert_eq!(rate(p, 8).label, "Weak", "{p}");
        }
        assert_eq!(rate("abcdefghijkl", 8).label, "Weak");
        assert_eq!(rate("aaaaaaaaaaaaaaaa", 8).label, "Weak");
        assert_eq!(rate("correct horse battery staple", 8).label, "Strong");
        assert!(rate("Tr0ub4dor&3xy", 8).level >= 2);
    }
}
