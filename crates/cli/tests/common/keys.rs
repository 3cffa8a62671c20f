//! API keys for the end-to-end tests: adding one through the CLI, and Base64 for the
//! headers a key or token is sent in.

use super::oauth::World;
use super::path_str;

/// `add-key NAME` with the key on standard input.
pub fn add_key(w: &World, name: &str, key: &str, extra: &[&str]) -> std::process::Output {
    let mut a = vec![
        "add-key",
        name,
        "--provider",
        "local-pleo",
        "--key-stdin",
        "--passphrase-file",
        path_str(&w.pass_file),
    ];
    a.extend_from_slice(extra);
    w.cli(&a, &[], &format!("{key}\n"))
}

pub fn base64_of(s: &str) -> String {
    use base64::Engine as _;
    base64::engine::general_purpose::STANDARD.encode(s)
}
