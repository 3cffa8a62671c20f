//! `run` and `api` against the real test OAuth server and its small Pleo-like API
//! (`/v1/expenses` paged, `POST /v1/export-jobs`, a redirect), which checks the bearer
//! token it issued. `run`: a committed `.env` of references (holding no secret) gives the
//! child live values; an unknown connection or reference fails before the child starts,
//! naming the variable; `--mask` hides the token and header in the child's output. `api`:
//! GET and POST, pagination by hand, a redirect not followed, a 401 answered by one
//! refresh and one retry, the exit code by status class, and the token in no output.
#![cfg(unix)]

mod common;

use common::oauth::*;
use common::*;

const MASK: &str = "<concealed by token-wallet>";

fn json(o: &std::process::Output) -> serde_json::Value {
    serde_json::from_slice(&o.stdout).unwrap_or_else(|_| panic!("not JSON: {}", stdout(o)))
}

#[test]
fn run_gives_the_child_live_values_and_fails_before_it_on_a_bad_reference() {
    let w = World::connected("run", 3600, "r", "local-api");
    let dir = w.env.home.path();
    let env_file = dir.join("refs.env");
    std::fs::write(
        &env_file,
        "# committed with the code: references only\nAPI_TOKEN=tw://r\nAUTH=tw://r/header\nEXPIRES=tw://r/expires_at\nPLAIN=hello\n",
    )
    .unwrap();
    let show = "printf '%s|%s|%s|%s' \"$API_TOKEN\" \"$AUTH\" \"$EXPIRES\" \"$PLAIN\"";
    // A variable that is not UTF-8 in the environment is passed on, not a failure.
    let mut c = w.env.cmd();
    c.args(["run", "--passphrase-file", path_str(&w.pass_file)])
        .args(["--env-file", path_str(&env_file), "--", "sh", "-c", show])
        .env(
            "NOT_UTF8",
            <std::ffi::OsStr as std::os::unix::ffi::OsStrExt>::from_bytes(b"caf\xe9"),
        );
    let o = run_recorded(&mut c, "");
    assert!(o.status.success(), "{}", stderr(&o));
    let (access, refresh) = w.tokens("r");
    let got = stdout(&o);
    let parts: Vec<&str> = got.split('|').collect();
    assert_eq!(parts[0], access, "the live access token");
    assert_eq!(parts[1], format!("Bearer {access}"));
    assert!(parts[2].parse::<u64>().unwrap() > token_wallet_core::connection::now());
    assert_eq!(parts[3], "hello");
    assert!(w.server.active(parts[0]));
    let file = std::fs::read_to_string(&env_file).unwrap();
    assert!(!file.contains(&access), "the .env holds no secret");

    // A reference to a connection that does not exist: nothing runs, the variable named.
    let marker = dir.join("ran");
    let touch = format!("touch {}", marker.display());
    let bad = dir.join("bad.env");
    std::fs::write(&bad, "GOOD=tw://r\nMISSING=tw://nope\n").unwrap();
    let o = w.with_pass(&[
        "run",
        "--env-file",
        path_str(&bad),
        "--",
        "sh",
        "-c",
        &touch,
    ]);
    assert!(!o.status.success());
    assert_contains(&stderr(&o), "`MISSING` refers to connection `nope`");
    assert!(!marker.exists(), "the child did not start");
    // A reference of an unknown form, in the environment: the same.
    let mut all = vec![
        "run",
        "--passphrase-file",
        path_str(&w.pass_file),
        "--",
        "sh",
        "-c",
    ];
    all.push(&touch);
    let o = w.cli(&all, &[("LEAK", "tw://r/refresh_token")], "");
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    assert_contains(&stderr(&o), "`LEAK`");
    assert!(!marker.exists(), "the child did not start");

    // --mask: the token and the header are concealed in what the child prints.
    let leak = "echo \"t=$API_TOKEN\"; echo \"h=$AUTH\" >&2";
    let o = w.with_pass(&[
        "run",
        "--mask",
        "--env-file",
        path_str(&env_file),
        "--",
        "sh",
        "-c",
        leak,
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert_eq!(stdout(&o).trim(), format!("t={MASK}"));
    assert_contains(&stderr(&o), &format!("h={MASK}"));
    assert_absent_in(&stdout(&o), &[&access], "run --mask's stdout");
    assert_absent_in(
        &stderr(&o),
        &[&access, refresh.as_deref().unwrap()],
        "run --mask's stderr",
    );
}

#[test]
fn api_gets_posts_pages_and_answers_a_401_with_one_refresh() {
    let w = World::connected("api", 3600, "r", "local-api");
    let (access, refresh) = w.tokens("r");
    let secrets = [access.as_str(), refresh.as_deref().unwrap()];
    let o = w.with_pass(&["api", "r", "/v1/expenses", "-X", "GET", "-f", "limit=10"]);
    assert!(o.status.success(), "{}", stderr(&o));
    let page = json(&o);
    assert_eq!(page["data"].as_array().unwrap().len(), 10);
    assert_eq!(page["pagination"]["hasNextPage"], true);
    // Pagination by hand: the cursor of each page asks for the next.
    let mut ids = Vec::new();
    let mut after = String::new();
    loop {
        let mut args = vec!["api", "r", "/v1/expenses", "-X", "GET", "-f", "limit=10"];
        let cursor = format!("after={after}");
        if !after.is_empty() {
            args.extend(["-f", &cursor]);
        }
        let p = json(&w.with_pass(&args));
        ids.extend(
            p["data"]
                .as_array()
                .unwrap()
                .iter()
                .map(|e| e["id"].as_str().unwrap().to_string()),
        );
        if p["pagination"]["hasNextPage"] != true {
            break;
        }
        after = p["pagination"]["endCursor"].as_str().unwrap().to_string();
    }
    assert_eq!(ids.len(), 25);
    assert_eq!(ids.last().unwrap(), "exp-025");

    // POST with fields: a JSON body.
    let o = w.with_pass(&[
        "api",
        "r",
        "/v1/export-jobs",
        "-f",
        "format=csv",
        "-f",
        "from=2026-11-01",
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    let job = json(&o);
    assert_eq!(job["data"]["status"], "PENDING");
    assert_eq!(job["data"]["format"], "csv");

    // The exit code says the class; a redirect is not followed.
    let o = w.with_pass(&["api", "r", "/v1/nothing-here"]);
    assert_eq!(o.status.code(), Some(14), "{}", stderr(&o));
    assert_contains(&stderr(&o), "HTTP 404");
    let o = w.with_pass(&["api", "r", "/v1/moved"]);
    assert_eq!(o.status.code(), Some(13), "{}", stderr(&o));
    let o = w.with_pass(&["api", "r", "https://elsewhere.example/v1/expenses"]);
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));

    // A 401: one refresh, one retry, then the answer.
    let before = w.server.stats()["refreshes"].as_u64().unwrap();
    http()
        .post(format!(
            "{}/_test/fail-api?count=1&status=401",
            w.server.issuer
        ))
        .send_empty()
        .unwrap();
    let o = w.with_pass(&["api", "r", "/v1/expenses"]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert_contains(&stderr(&o), "refreshing `r` and trying once more");
    assert_eq!(w.server.stats()["refreshes"].as_u64().unwrap(), before + 1);
    assert_eq!(json(&o)["data"].as_array().unwrap().len(), 10);
    let (now_access, _) = w.tokens("r");
    assert_ne!(now_access, access, "rotated by the refresh");

    let transcript = TRANSCRIPT.lock().unwrap().clone();
    assert_absent_in(&transcript, &secrets, "everything `api` printed");
    assert_absent_in(&transcript, &[&now_access], "everything `api` printed");
}
