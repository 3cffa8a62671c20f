//! Docs that a test keeps true.
//!
//! - `docs/cli.md`, the CLI reference, is generated from the CLI's own help (every
//!   command and subcommand, recursively); it fails when the CLI changes and the file
//!   does not. Regenerate with `UPDATE_DOCS=1 cargo test -p token-wallet-cli --test docs`.
//! - README.md and `docs/*.md` name only what exists: every path in backticks
//!   (`crates/…`, `src-tauri/…`, `core/…`, a file name), every core module path
//!   (`ops::Session`, `agent::transport`), every command (`token-wallet agent stop`) and
//!   every `--flag` named with a command (one of that command's flags, or a global one).

mod common;

use common::{bin, oauth::repo};
use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

/// `token-wallet ARGS --help`, with colour and terminal width fixed.
fn help(args: &[&str]) -> String {
    let o = common::deadline::output(
        std::process::Command::new(bin())
            .args(args)
            .arg("--help")
            .env("TOKEN_WALLET_LOG", "off")
            .env("COLUMNS", "100")
            .env("NO_COLOR", "1"),
        b"",
        common::deadline::CLI,
        "token-wallet --help",
    );
    assert!(o.status.success(), "{args:?} --help failed");
    String::from_utf8(o.stdout).unwrap()
}

/// The subcommands a help text lists under `Commands:` (not `help`).
fn subcommands(help: &str) -> Vec<String> {
    help.lines()
        .skip_while(|l| l.trim() != "Commands:")
        .skip(1)
        .take_while(|l| l.starts_with("  "))
        .filter_map(|l| l.split_whitespace().next())
        .filter(|c| *c != "help")
        .map(str::to_string)
        .collect()
}

/// The `--flags` a help text lists.
fn flags(help: &str) -> BTreeSet<String> {
    help.split(|c: char| c.is_whitespace() || c == ',' || c == '[' || c == ']' || c == '=')
        .filter(|w| w.starts_with("--") && w.len() > 2)
        .map(|w| {
            w.trim_end_matches(|c: char| !c.is_ascii_alphanumeric())
                .to_string()
        })
        .filter(|w| w[2..].chars().all(|c| c.is_ascii_lowercase() || c == '-'))
        .collect()
}

/// Every command path (`[]`, `["agent"]`, `["agent", "stop"]`...) with its help.
fn commands() -> BTreeMap<Vec<String>, String> {
    let mut all = BTreeMap::new();
    let mut todo = vec![Vec::<String>::new()];
    while let Some(path) = todo.pop() {
        let args: Vec<&str> = path.iter().map(String::as_str).collect();
        let h = help(&args);
        for sub in subcommands(&h) {
            let mut p = path.clone();
            p.push(sub);
            todo.push(p);
        }
        all.insert(path, h);
    }
    all
}

fn reference(all: &BTreeMap<Vec<String>, String>) -> String {
    let mut out = String::from(
        "# CLI reference\n\n\
         Every `token-wallet` command and its flags, as the command's own `--help` prints them.\n\
         Generated from the CLI by its test `docs.rs`; do not edit: change the CLI, then\n\
         `UPDATE_DOCS=1 cargo test -p token-wallet-cli --test docs`. How to use them is in the\n\
         [user guide](guide.md).\n",
    );
    for (path, h) in all {
        let name = std::iter::once("token-wallet")
            .chain(path.iter().map(String::as_str))
            .collect::<Vec<_>>()
            .join(" ");
        out.push_str(&format!(
            "\n## `{name}`\n\n```text\n{}\n```\n",
            h.trim_end()
        ));
    }
    out
}

#[test]
fn the_cli_reference_is_generated_from_the_cli() {
    token_wallet_test_support::pinned(
        "docs/cli.md",
        &reference(&commands()),
        "UPDATE_DOCS",
        "cargo test -p token-wallet-cli --test docs",
    );
}

/// The spans in backticks of a Markdown text outside fenced code blocks, and the command
/// lines inside them, with the line each is on.
fn spans(text: &str) -> Vec<(usize, String)> {
    let mut out = Vec::new();
    let mut fenced = false;
    for (n, line) in text.lines().enumerate() {
        if line.trim_start().starts_with("```") {
            fenced = !fenced;
            continue;
        }
        if fenced {
            // A command line in a code block is checked as a command.
            let l = line.trim_start();
            if l.starts_with("token-wallet ") {
                let l = l.split(" #").next().unwrap_or(l);
                out.push((n + 1, l.trim_end().to_string()));
            }
            continue;
        }
        let mut parts = line.split('`');
        parts.next();
        while let (Some(inside), Some(_)) = (parts.next(), parts.next()) {
            out.push((n + 1, inside.to_string()));
        }
        // An unpaired last backtick opens nothing across lines here.
    }
    out
}

/// `a/{b,c}.rs` -> `a/b.rs`, `a/c.rs`.
fn expand(p: &str) -> Vec<String> {
    match (p.find('{'), p.find('}')) {
        (Some(a), Some(b)) if a < b => p[a + 1..b]
            .split(',')
            .flat_map(|alt| expand(&format!("{}{}{}", &p[..a], alt, &p[b + 1..])))
            .collect(),
        _ => vec![p.to_string()],
    }
}

const ROOTS: [&str; 9] = [
    "crates/",
    "src-tauri/",
    "ui/",
    "tests/",
    "scripts/",
    "docs/",
    "fuzz/",
    ".ci/",
    "packaging/",
];

/// Whether a repository path named in the docs exists (a glob's folder, at least).
fn path_exists(repo: &Path, p: &str) -> bool {
    let p = p.split(['#', ' ']).next().unwrap_or(p);
    let p = p.trim_end_matches([':', '.', ',', ')']);
    expand(p).iter().all(|one| {
        // A glob or a placeholder (`fuzz/corpus/<target>`): its folder must exist.
        let one = match one.find(['*', '<']) {
            Some(i) => &one[..one[..i].rfind('/').unwrap_or(0)],
            None => one.as_str(),
        };
        // `core/lock.rs` is core's `src/lock.rs` (so for `cli/`, `harden/`).
        let short = ["core/", "cli/", "harden/"]
            .iter()
            .find_map(|c| one.strip_prefix(c).map(|rest| (c, rest)))
            .map(|(c, rest)| format!("crates/{c}src/{rest}"));
        std::iter::once(one.to_string())
            .chain(short)
            .any(|rel| repo.join(rel).exists())
    })
}

fn all_files(dir: &Path, out: &mut Vec<PathBuf>) {
    for e in std::fs::read_dir(dir).into_iter().flatten().flatten() {
        let p = e.path();
        let name = e.file_name().to_string_lossy().to_string();
        if name.starts_with('.') || name == "node_modules" || name == "target" || name == "dist" {
            continue;
        }
        if p.is_dir() {
            all_files(&p, out);
        } else {
            out.push(p);
        }
    }
}

/// The folder of core module `segments` (`["agent", "transport"]`), or its file.
fn module_source(core: &Path, segments: &[&str]) -> Option<String> {
    let mut dir = core.to_path_buf();
    let mut text = None;
    for (i, s) in segments.iter().enumerate() {
        let file = dir.join(format!("{s}.rs"));
        let folder = dir.join(s);
        if folder.join("mod.rs").is_file() {
            text = Some(read_dir_text(&folder));
            dir = folder;
        } else if file.is_file() {
            text = Some(std::fs::read_to_string(&file).unwrap());
            if i + 1 < segments.len() {
                return None; // a file has no submodules here
            }
        } else {
            return None;
        }
    }
    text
}

fn read_dir_text(dir: &Path) -> String {
    let mut files = Vec::new();
    all_files(dir, &mut files);
    files
        .iter()
        .filter(|f| f.extension().is_some_and(|e| e == "rs"))
        .map(|f| std::fs::read_to_string(f).unwrap())
        .collect()
}

/// Whether `item` (a type, function, constant or variant) is named in `source`.
fn declared(source: &str, item: &str) -> bool {
    source.match_indices(item).any(|(i, _)| {
        let before = source[..i].chars().next_back();
        let after = source[i + item.len()..].chars().next();
        !before.is_some_and(|c| c.is_alphanumeric() || c == '_')
            && !after.is_some_and(|c| c.is_alphanumeric() || c == '_')
    })
}

#[test]
fn the_docs_name_only_paths_modules_commands_and_flags_that_exist() {
    let repo = repo();
    let all = commands();
    let global = flags(&all[&Vec::new()]);
    let mut files = Vec::new();
    all_files(&repo, &mut files);
    let names: BTreeSet<String> = files
        .iter()
        .filter_map(|f| f.file_name().map(|n| n.to_string_lossy().to_string()))
        .collect();
    let core = repo.join("crates/core/src");
    let mut docs = vec![repo.join("README.md")];
    docs.extend(
        std::fs::read_dir(repo.join("docs"))
            .unwrap()
            .flatten()
            .map(|e| e.path())
            .filter(|p| p.extension().is_some_and(|e| e == "md")),
    );
    docs.sort();
    let mut wrong = Vec::new();
    for doc in &docs {
        let text = std::fs::read_to_string(doc).unwrap();
        let rel = doc.strip_prefix(&repo).unwrap().display().to_string();
        if rel == "docs/cli.md" {
            continue; // generated from the CLI itself
        }
        for (line, span) in spans(&text) {
            let at = format!("{rel}:{line}: `{span}`");
            let s = span.trim();
            if let Some(rest) = s.strip_prefix("token-wallet ") {
                // A command: its words up to the first flag or argument must be one.
                let words: Vec<&str> = rest.split_whitespace().collect();
                let mut path = Vec::new();
                for w in &words {
                    let mut p = path.clone();
                    p.push(w.to_string());
                    if all.contains_key(&p) {
                        path = p;
                    } else {
                        break;
                    }
                }
                let first = words.first().copied().unwrap_or("");
                if path.is_empty()
                    && !first.starts_with('-')
                    && first.chars().all(|c| c.is_ascii_lowercase() || c == '-')
                {
                    wrong.push(format!("{at}: no command `{first}`"));
                    continue;
                }
                let own = flags(&all[&path]);
                for w in &words {
                    let w = w.trim_matches(['[', ']', '(', ')', '|', '\'', '"']);
                    let flag = w
                        .split('=')
                        .next()
                        .unwrap_or(w)
                        .trim_end_matches([',', '.', ')']);
                    if flag.starts_with("--")
                        && flag.len() > 2
                        && !own.contains(flag)
                        && !global.contains(flag)
                    {
                        wrong.push(format!(
                            "{at}: `token-wallet {}` has no flag {flag}",
                            path.join(" ")
                        ));
                    }
                }
            } else if ROOTS.iter().any(|r| s.starts_with(r))
                || ["core/", "cli/", "harden/"]
                    .iter()
                    .any(|r| s.starts_with(r) && !s.contains(' '))
            {
                if !path_exists(&repo, s) {
                    wrong.push(format!("{at}: no such path"));
                }
            } else if !s.contains(['/', ' ', '<', '*', '{'])
                && (s.ends_with(".rs") || s.ends_with(".mjs") || s.ends_with(".ts"))
            {
                if !names.contains(s) {
                    wrong.push(format!("{at}: no file of that name"));
                }
            } else if let Some((module, item)) = core_path(s) {
                match module_source(&core, &module) {
                    None => wrong.push(format!("{at}: core has no module `{}`", module.join("::"))),
                    Some(src) => {
                        if let Some(item) = item {
                            if !declared(&src, item) {
                                wrong.push(format!(
                                    "{at}: `{}` names no `{item}`",
                                    module.join("::")
                                ));
                            }
                        }
                    }
                }
            }
        }
    }
    assert!(
        wrong.is_empty(),
        "the docs name what does not exist:\n{}",
        wrong.join("\n")
    );
}

/// `ops::Session::maintain` -> (["ops"], Some("Session")); `agent::transport` ->
/// (["agent", "transport"], None): a path whose first segment is one of core's modules.
fn core_path(s: &str) -> Option<(Vec<&str>, Option<&str>)> {
    let s = s.trim_end_matches("()");
    let s = s.strip_prefix("token_wallet_core::").unwrap_or(s);
    if !s.contains("::") || s.contains([' ', '(', '<', '"', '\'', '=', ',']) {
        return None;
    }
    let segs: Vec<&str> = s.split("::").collect();
    let first = *segs.first()?;
    let is_core_module = |m: &str| {
        let core = repo().join("crates/core/src");
        core.join(format!("{m}.rs")).is_file() || core.join(m).join("mod.rs").is_file()
    };
    if !first.chars().all(|c| c.is_ascii_lowercase() || c == '_') || !is_core_module(first) {
        return None;
    }
    let modules: Vec<&str> = segs
        .iter()
        .copied()
        .take_while(|x| x.chars().all(|c| c.is_ascii_lowercase() || c == '_'))
        .collect();
    let item = segs.get(modules.len()).copied();
    // `connection::update` (a function): the last lowercase segment may be an item.
    let (modules, item) = match item {
        None if modules.len() > 1 => {
            let (last, rest) = modules.split_last()?;
            let as_module = {
                let mut dir = repo().join("crates/core/src");
                for m in &modules[..modules.len() - 1] {
                    dir = dir.join(m);
                }
                dir.join(format!("{last}.rs")).is_file() || dir.join(last).join("mod.rs").is_file()
            };
            if as_module {
                (modules.clone(), None)
            } else {
                (rest.to_vec(), Some(*last))
            }
        }
        _ => (modules, item),
    };
    Some((modules, item))
}
