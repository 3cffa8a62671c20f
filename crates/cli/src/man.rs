//! `token-wallet man`: one manual page for the whole command (roff). clap_mangen writes
//! the name, synopsis, description and options; the commands are listed here with what
//! they do (clap_mangen's own list points to a page per command, which is not shipped),
//! followed by the sections a manual page is expected to have.

use crate::cli::Cli;
use std::io::Write;

/// Escapes text for roff: backslashes, hyphens (so they are not hyphenation points) and a
/// line that would start with a control character.
fn roff(text: &str) -> String {
    let t = text.replace('\\', "\\e").replace('-', "\\-");
    match t.chars().next() {
        Some('.' | '\'') => format!("\\&{t}"),
        _ => t,
    }
}

/// A section: a heading and `(term, text)` pairs.
fn section(out: &mut dyn Write, heading: &str, items: &[(&str, &str)]) -> std::io::Result<()> {
    writeln!(out, ".SH {heading}")?;
    for (term, text) in items {
        writeln!(out, ".TP\n\\fB{}\\fR\n{}", roff(term), roff(text))?;
    }
    Ok(())
}

const EXIT_STATUS: &[(&str, &str)] = &[
    ("0", "Success."),
    ("1", "An error; the message on standard error says what to do."),
    ("2", "The command line was not understood."),
    ("3", "The running agent is locked (unlock it, or give a passphrase to this command)."),
    ("4", "The connection needs re-authorisation: token-wallet reauthorise NAME."),
    ("5", "The provider could not be reached, or a check could not be completed (an installation status that could not be read included)."),
    ("6", "An API key or static token is past its expiry date."),
    ("8", "check: the provider refused the credential, or its installation is ERROR or INACTIVE."),
    ("13, 14, 15", "api: the answer's status was 3xx, 4xx or 5xx (its body is printed all the same)."),
    ("127", "exec, run: the command could not be run. Otherwise they exit with the command's own status (128 + the signal if it was killed)."),
];

const ENVIRONMENT: &[(&str, &str)] = &[
    ("TOKEN_WALLET_PROFILE", "The profile, as --profile."),
    (
        "TOKEN_WALLET_HOME",
        "The data directory's parent, as --home.",
    ),
    ("TOKEN_WALLET_STORE", "os or file, as --store."),
    (
        "TOKEN_WALLET_CHUNK_SIZE",
        "The largest keystore entry, as --chunk-size.",
    ),
    (
        "TOKEN_WALLET_KEYSTORE_TIMEOUT",
        "Seconds per keystore call, as --keystore-timeout.",
    ),
    (
        "TOKEN_WALLET_PROVIDERS",
        "The provider config file, as --providers.",
    ),
    (
        "TOKEN_WALLET_REFRESH_WINDOW",
        "Seconds before expiry at which tokens are refreshed, as --refresh-window.",
    ),
    (
        "TOKEN_WALLET_NO_AGENT",
        "1 or true: do not ask a running agent, as --no-agent.",
    ),
    (
        "TOKEN_WALLET_AGENT_SOCKET",
        "The agent's socket, as --agent-socket.",
    ),
    (
        "TOKEN_WALLET_LOG",
        "Log filter for standard error (e.g. debug); logs never hold a secret.",
    ),
    (
        "BROWSER",
        "The program that opens the sign-in page (else the platform's opener).",
    ),
    ("NO_COLOR", "Turns colour off in the log on a terminal."),
];

const FILES: &[(&str, &str)] = &[
    ("~/.local/share/token-wallet/PROFILE/", "A profile's data directory (the platform's data directory elsewhere; --home moves it)."),
    ("audit.jsonl", "In the data directory: the tamper-evident audit log (no token ever)."),
    ("keystore.json", "In the data directory: the file store, with --store file (encrypted entries only)."),
    ("vault.lock, refresh-*.lock", "In the data directory: the locks that make writes and refreshes one at a time across processes."),
    ("~/.config/token-wallet/providers.toml", "Providers beside the Pleo presets (the platform's config directory elsewhere; --providers moves it)."),
    ("$XDG_RUNTIME_DIR/token-wallet/", "The agent's private socket directory (0700)."),
];

const EXAMPLES: &[(&str, &str)] = &[
    ("token-wallet init", "Create a vault (asks for a passphrase twice)."),
    ("token-wallet connect pleo --provider pleo --client-id ID", "Sign in to Pleo in the browser and keep the tokens."),
    ("token-wallet exec pleo -- sh -c 'curl -H \"Authorization: Bearer $PLEO_ACCESS_TOKEN\" https://external.pleo.io/v1/introspect'", "Run a command with a live access token in its environment."),
    ("eval \"$(token-wallet env pleo)\"", "Put the token in this shell's environment."),
    ("token-wallet agent --detach", "Keep the vault unlocked for other tools, in the background."),
    ("token-wallet status", "The vault, its connections and what needs attention."),
    ("token-wallet backup wallet.twbackup", "Write every connection to one encrypted file; token-wallet restore brings it back on any machine."),
];

/// Writes the manual page.
pub fn render(out: &mut dyn Write) -> std::io::Result<()> {
    let cmd = <Cli as clap::CommandFactory>::command().name("token-wallet");
    let man = clap_mangen::Man::new(cmd.clone());
    man.render_title(out)?;
    man.render_name_section(out)?;
    man.render_synopsis_section(out)?;
    man.render_description_section(out)?;
    man.render_options_section(out)?;
    writeln!(out, ".SH COMMANDS")?;
    writeln!(
        out,
        "{}",
        roff("Each command's options and details: token-wallet COMMAND --help.")
    )?;
    for sub in cmd.get_subcommands().filter(|s| s.get_name() != "help") {
        let about = sub.get_about().map(|a| a.to_string()).unwrap_or_default();
        writeln!(
            out,
            ".TP\n\\fB{}\\fR\n{}",
            roff(sub.get_name()),
            roff(&about)
        )?;
    }
    section(out, "EXIT STATUS", EXIT_STATUS)?;
    section(out, "ENVIRONMENT", ENVIRONMENT)?;
    section(out, "FILES", FILES)?;
    section(out, "EXAMPLES", EXAMPLES)?;
    man.render_version_section(out)?;
    Ok(())
}

#[cfg(test)]
mod tests {
    #[test]
    fn the_page_has_its_sections_and_points_to_no_missing_page() {
        let mut out = Vec::new();
        super::render(&mut out).unwrap();
        let page = String::from_utf8(out).unwrap();
        for s in [
            ".SH NAME",
            ".SH SYNOPSIS",
            ".SH COMMANDS",
            ".SH EXIT STATUS",
            ".SH ENVIRONMENT",
            ".SH FILES",
            ".SH EXAMPLES",
        ] {
            assert!(page.contains(s), "{s}");
        }
        assert!(
            !page.contains("token\\-wallet\\-init(1)"),
            "no page per command is shipped"
        );
        assert!(page.contains("\\fBbackup\\fR"));
    }
}
