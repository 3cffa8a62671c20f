//! Export commands without an agent (each unlocks the vault itself): `token --format`,
//! `--min-ttl`, `env`, `exec` (exit code, `--mask`), exit codes; checked against the real
//! OAuth server's introspection.

mod common;

use common::oauth::*;
use common::*;

fn pass(w: &World) -> Vec<&str> {
    vec!["--passphrase-file", path_str(&w.pass_file)]
}

#[test]
fn token_formats_min_ttl_env_and_exec() {
    let w = World::connected("export", 60, "e", "local");
    let (access, refresh) = w.tokens("e");

    let mut a = vec!["token", "e"];
    a.extend(pass(&w));
    let o = w.cli(&a, &[], "");
    assert_eq!(stdout(&o).trim(), access);

    let mut a = vec!["token", "e", "--format", "json"];
    a.extend(pass(&w));
    let j: serde_json::Value = serde_json::from_str(&stdout(&w.cli(&a, &[], ""))).unwrap();
    assert_eq!(j["access_token"], access.as_str());
    assert_eq!(j["token_type"], "Bearer");
    assert!(j["expires_at"].as_str().unwrap().ends_with('Z'));
    assert!(j["scopes"]
        .as_array()
        .unwrap()
        .iter()
        .any(|s| s == "users:read"));
    assert!(j.get("refresh_token").is_none());

    let mut a = vec!["token", "e", "--format", "header"];
    a.extend(pass(&w));
    assert_eq!(
        stdout(&w.cli(&a, &[], "")).trim(),
        format!("Authorization: Bearer {access}")
    );

    // A min-ttl longer than the provider's tokens live cannot be met: it counts as half
    // their lifetime (no refresh of a fresh token), and the CLI says so.
    http()
        .post(format!("{}/_test/reset-stats", w.server.issuer))
        .send_empty()
        .unwrap();
    let mut a = vec!["token", "e", "--min-ttl", "1h"];
    a.extend(pass(&w));
    let o = w.cli(&a, &[], "");
    assert!(o.status.success(), "{}", stderr(&o));
    assert_eq!(stdout(&o).trim(), access);
    assert_contains(&stderr(&o), "less than the 60 min asked for");
    assert_eq!(w.server.stats()["refreshes"], 0);
    // `refresh` does rotate them.
    let mut a = vec!["refresh", "e"];
    a.extend(pass(&w));
    assert!(w.cli(&a, &[], "").status.success());
    let fresh = w.tokens("e").0;
    assert_ne!(fresh, access);
    assert!(w.server.active(&fresh));
    assert_eq!(w.server.stats()["refreshes"], 1);

    let mut a = vec!["env", "e", "--var", "MY_TOKEN"];
    a.extend(pass(&w));
    assert_eq!(
        stdout(&w.cli(&a, &[], "")).trim(),
        format!("export MY_TOKEN='{fresh}'")
    );

    // exec: the child sees a valid token in the variable; its exit code comes back.
    let seen = w.env.home.path().join("seen");
    let mut a = vec!["exec", "e"];
    a.extend(pass(&w));
    a.extend([
        "--",
        "sh",
        "-c",
        "test -n \"$ACCESS_TOKEN\" && printf %s \"$ACCESS_TOKEN\" > \"$SEEN\" && exit 7",
    ]);
    let o = w.cli(&a, &[("SEEN", path_str(&seen))], "");
    assert_eq!(o.status.code(), Some(7), "{}", stderr(&o));
    assert!(w.server.active(&std::fs::read_to_string(&seen).unwrap()));
    assert!(!stderr(&o).contains("does not set"), "{}", stderr(&o));
    // A command naming a variable this connection does not set (a copied Pleo example)
    // is warned about: it would send an empty credential.
    let mut a = vec!["exec", "e"];
    a.extend(pass(&w));
    a.extend(["--", "sh", "-c", "test -z \"$PLEO_ACCESS_TOKEN\""]);
    let o = w.cli(&a, &[], "");
    assert!(o.status.success());
    assert_contains(
        &stderr(&o),
        "warning: the command names $PLEO_ACCESS_TOKEN, which `e` does not set: it sets ACCESS_TOKEN",
    );
    // --mask hides it in the child's output.
    let mut a = vec!["exec", "e", "--mask"];
    a.extend(pass(&w));
    a.extend([
        "--",
        "sh",
        "-c",
        "echo \"token=$ACCESS_TOKEN\"; echo \"err=$ACCESS_TOKEN\" >&2",
    ]);
    let o = w.cli(&a, &[], "");
    assert!(o.status.success());
    assert_eq!(stdout(&o).trim(), "token=<concealed by token-wallet>");
    assert!(stderr(&o).contains("err=<concealed by token-wallet>"));

    // Nothing printed the refresh token, and masked output never showed the access token.
    let refresh_now = w.tokens("e").1.unwrap();
    assert_secrets_absent(&[refresh.as_deref().unwrap(), &refresh_now]);
    w.env.wipe();
}

#[test]
fn exit_code_4_when_re_authorisation_is_needed() {
    // 2-second tokens: expired, so `token` must refresh, and the refresh token is dead.
    let w = World::connected("export-4", 2, "e", "local");
    w.rotate_refresh_token_elsewhere("e");
    std::thread::sleep(std::time::Duration::from_millis(2500));
    let mut a = vec!["token", "e"];
    a.extend(pass(&w));
    let o = w.cli(&a, &[], "");
    assert_eq!(o.status.code(), Some(4), "{}", stderr(&o));
    assert!(stdout(&o).is_empty());
    w.env.wipe();
}

/// The README's `exec` example, run as written (with a Pleo-style connection to the test
/// server, whose API stands in for Pleo's): the child's shell expands the variable the
/// connection sets, `curl` reads the header on stdin, the token is never in any argv, and
/// no warning says the command names a variable that is not set.
#[test]
fn the_readmes_exec_example_works_as_written() {
    let readme = std::fs::read_to_string(repo().join("README.md")).unwrap();
    let line = readme
        .lines()
        .find(|l| l.starts_with("token-wallet exec pleo"))
        .expect("the README has an exec example");
    let w = World::with_ttl("export-readme", 60);
    {
        let _port = PINNED_PORT.lock().unwrap_or_else(|p| p.into_inner());
        let o = w.connect("pleo", "local-pleo", &[], &[], "");
        assert!(o.status.success(), "{}", stderr(&o));
    }
    let (access, _) = w.tokens("pleo");
    // The optional flags in brackets are left out; Pleo's URL becomes the test server's.
    let example = line
        .trim_start_matches("token-wallet ")
        .replace(" [--var V] [--mask]", "")
        .replace(
            "https://external.pleo.io/v1/introspect",
            &format!("-sf {}/v1/introspect", w.server.issuer),
        );
    // No agent runs here: the command unlocks with the test's passphrase file.
    let example = example.replacen(
        "exec pleo --",
        &format!(
            "exec pleo --passphrase-file '{}' --",
            path_str(&w.pass_file)
        ),
        1,
    );
    let script = format!(
        "exec '{}' --providers '{}' {example}",
        bin().display(),
        path_str(&w.providers),
    );
    let c = w.env.cmd();
    let o = run_recorded(
        std::process::Command::new("sh")
            .args(["-c", &script])
            .envs(c.get_envs().filter_map(|(k, v)| v.map(|v| (k, v))))
            .env("PLEO_ACCESS_TOKEN", "what-the-calling-shell-has"),
        "",
    );
    assert!(o.status.success(), "{}\n{}", stdout(&o), stderr(&o));
    assert!(!stderr(&o).contains("does not set"), "{}", stderr(&o));
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(v["data"]["clientId"], "tw-pinned", "{v}");
    assert!(!stdout(&o).contains(&access));
    w.env.wipe();
}
