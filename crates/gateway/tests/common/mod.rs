//! Running the real `dentex` binary as a child process.

#![allow(dead_code, reason = "each test binary uses a different part")]
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    reason = "a test fails loudly at the first surprise"
)]

use dentex_db::testing::TestDatabase;
use std::io::{BufRead, BufReader, Write};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

pub const BIN: &str = env!("CARGO_BIN_EXE_dentex");

/// A data directory and a database (SQLite in the directory, or a PostgreSQL
/// schema when `DENTEX_TEST_POSTGRES_URL` is set).
pub struct Env {
    pub dir: tempfile::TempDir,
    pub db: TestDatabase,
    pub extra: Vec<(String, String)>,
    /// The key every command of this environment seals TOTP secrets with
    /// (required with PostgreSQL, where no key file is made).
    pub mfa_key: String,
}

impl Env {
    pub async fn new() -> Self {
        Self {
            dir: tempfile::tempdir().unwrap(),
            db: TestDatabase::empty().await.unwrap(),
            extra: Vec::new(),
            mfa_key: dentex_accounts::mfa_keys::generate_new(),
        }
    }

    pub fn set(&mut self, k: &str, v: &str) {
        self.extra.push((k.into(), v.into()));
    }

    pub fn command(&self, args: &[&str]) -> Command {
        let mut c = Command::new(BIN);
        c.args(args)
            .arg("--data-dir")
            .arg(self.dir.path())
            .env_remove("DENTEX_TEST_POSTGRES_URL")
            .env("DENTEX_DATABASE__URL", &self.db.url)
            .env("DENTEX_AUTH__MFA_KEY", &self.mfa_key)
            .env("DENTEX_LOG__FILTER", "info")
            // Several servers run side by side: none may take the default port.
            .env("DENTEX_METRICS__ADDR", "127.0.0.1:0")
            .envs(self.extra.iter().map(|(k, v)| (k.as_str(), v.as_str())));
        c
    }

    /// Runs a command to completion: (exit code, stdout, stderr).
    pub fn run(&self, args: &[&str], stdin: Option<&str>) -> (i32, String, String) {
        let mut c = self.command(args);
        c.stdin(if stdin.is_some() { Stdio::piped() } else { Stdio::null() })
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        let mut child = c.spawn().unwrap();
        if let Some(input) = stdin {
            // A command that refuses its arguments exits without reading: a
            // broken pipe here is that refusal, which the caller checks.
            let _ = child.stdin.take().unwrap().write_all(input.as_bytes());
        }
        let out = child.wait_with_output().unwrap();
        (
            out.status.code().unwrap_or(-1),
            String::from_utf8_lossy(&out.stdout).into_owned(),
            String::from_utf8_lossy(&out.stderr).into_owned(),
        )
    }

    /// Starts `dentex serve` on a free port; returns the child and its base URL.
    pub fn serve(&self) -> (Child, String) {
        let mut child = self
            .command(&["serve", "--addr", "127.0.0.1:0"])
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let stdout = child.stdout.take().unwrap();
        let mut lines = BufReader::new(stdout).lines();
        let first = lines.next().expect("serve printed nothing").unwrap();
        let url = first
            .strip_prefix("listening on ")
            .unwrap_or_else(|| panic!("unexpected first line {first:?}"))
            .to_owned();
        // Keep draining stdout so the child never blocks on a full pipe.
        std::thread::spawn(move || for _ in lines {});
        (child, url)
    }

    pub fn data(&self) -> &Path {
        self.dir.path()
    }
}

pub fn sigterm(child: &Child) {
    let status = Command::new("kill")
        .arg("-TERM")
        .arg(child.id().to_string())
        .status()
        .unwrap();
    assert!(status.success());
}

/// Waits for the child to exit, failing after `limit`.
pub fn wait_exit(child: &mut Child, limit: Duration) -> std::process::ExitStatus {
    let start = Instant::now();
    loop {
        if let Some(s) = child.try_wait().unwrap() {
            return s;
        }
        if start.elapsed() > limit {
            let _ = child.kill();
            panic!("the server did not exit within {limit:?}");
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}
