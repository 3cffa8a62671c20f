use super::*;
use clap::CommandFactory;
use std::ffi::OsString;

/// Every argument clap matched, at every level, with its raw values and where each
/// came from: what `Cli` is built from.
fn summary(m: &clap::ArgMatches) -> Vec<String> {
    let mut out: Vec<String> = m
        .ids()
        .map(|id| {
            let values = m.get_raw(id.as_str()).map(|v| {
                v.map(|v| v.to_string_lossy().into_owned())
                    .collect::<Vec<_>>()
            });
            format!("{id}={values:?} from {:?}", m.value_source(id.as_str()))
        })
        .collect();
    out.sort();
    if let Some((name, sub)) = m.subcommand() {
        out.push(format!("subcommand {name}"));
        out.extend(summary(sub).into_iter().map(|l| format!("  {l}")));
    }
    out
}

/// What parsing `args` gives: the matches, or the error exactly as it would be printed.
fn outcome(cmd: clap::Command, args: &[OsString]) -> Result<Vec<String>, String> {
    cmd.try_get_matches_from(args)
        .map(|m| summary(&m))
        .map_err(|e| format!("{:?}: {}", e.kind(), e.render()))
}

#[test]
fn parsing_with_only_the_named_subcommand_is_parsing_with_all_of_them() {
    let lines: &[&str] = &[
        "token pleo",
        "token pleo --min-ttl 5m",
        "token pleo --profile work",
        "--profile work token pleo",
        "--profile=work token pleo --no-agent",
        "--no-agent --store file list --json",
        "--profile token token token",
        "--home /tmp/h --providers /tmp/p.toml exec pleo -- env",
        "exec pleo -- --profile x",
        "agent status --json",
        "agent --idle-timeout 0",
        "audit verify",
        "list --refresh-window 30",
        "status --unlock --inactive-days 10",
        "completions bash",
        // Refused: each must fail the same way, with the same message.
        "token",
        "token pleo --no-such-flag",
        "token pleo --store nowhere",
        "--profile",
        "list extra",
        "agent nosuch",
        "completions noshell",
        "token pleo --help",
        "agent --help",
        "tokne pleo",
        "--no-such-flag token pleo",
        "-V",
        "",
    ];
    for line in lines {
        let args: Vec<OsString> = std::iter::once("token-wallet")
            .chain(line.split_whitespace())
            .map(OsString::from)
            .collect();
        assert_eq!(
            outcome(command_for(&args), &args),
            outcome(Cli::command(), &args),
            "`token-wallet {line}` parses differently with only its subcommand"
        );
    }
}

#[test]
fn only_a_known_subcommand_narrows_the_tree() {
    let count = |line: &str| {
        let args: Vec<OsString> = std::iter::once("token-wallet")
            .chain(line.split_whitespace())
            .map(OsString::from)
            .collect();
        command_for(&args).get_subcommands().count()
    };
    let all = Cli::command().get_subcommands().count();
    assert_eq!(count("token pleo"), 1);
    assert_eq!(count("--profile token list"), 1);
    assert_eq!(count("--store=file token pleo"), 1);
    for line in [
        "",
        "-V",
        "--",
        "tokne pleo",
        "help token",
        "--unknown token pleo",
    ] {
        assert_eq!(count(line), all, "`{line}`");
    }
}

#[test]
fn a_min_ttl_is_at_most_a_year_and_a_huge_number_is_refused_not_wrapped() {
    assert_eq!(parse_min_ttl("8784h").unwrap().as_secs(), MAX_MIN_TTL_SECS);
    assert!(parse_min_ttl("8785h")
        .unwrap_err()
        .contains("more than a year"));
    assert!(parse_duration("99999999999999999h")
        .unwrap_err()
        .contains("too long"));
    assert_eq!(parse_duration("5m").unwrap().as_secs(), 300);
}
