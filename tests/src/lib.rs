//! `dentex-tests` holds the black-box tests of the whole service (in `tests/`)
//! and [`TestApp`], which starts the real server on port 0 with its own
//! database — a SQLite file, or a fresh PostgreSQL schema when
//! `DENTEX_TEST_POSTGRES_URL` is set — its own in-process S3 server, and a real
//! SMTP listener, so every test talks HTTP to a complete, isolated Dentex.
//! Everything the server logs is also captured, so tests can prove what never
//! reaches a log line.

#![allow(clippy::expect_used, reason = "the harness fails the test at the first surprise")]

use dentex_db::testing::TestDatabase;
use dentex_domain::{StaffRole, UserId};
use dentex_gateway::state::AppState;
use dentex_gateway::{Application, Config};
use dentex_mail::sink::SmtpSink;
use serde_json::Value;
use std::sync::{Mutex, OnceLock};
use tokio_util::sync::CancellationToken;

static LOGS: OnceLock<Mutex<Vec<u8>>> = OnceLock::new();

struct LogWriter;

impl std::io::Write for LogWriter {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        if let Some(m) = LOGS.get()
            && let Ok(mut g) = m.lock()
        {
            g.extend_from_slice(buf);
        }
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// Captures every log line of this test process (JSON, all levels from debug).
fn init_logs() {
    if LOGS.set(Mutex::new(Vec::new())).is_ok() {
        let _ = tracing_subscriber::fmt()
            .json()
            .with_current_span(true)
            .with_env_filter(tracing_subscriber::EnvFilter::new(
                "debug,sqlx=warn,hyper=info,h2=info,aws=info,s3s=info,rustls=info,actix_server=info,lettre=info",
            ))
            .with_writer(|| LogWriter)
            .try_init();
    }
}

/// Everything logged in this test process so far.
pub fn captured_logs() -> String {
    LOGS.get()
        .and_then(|m| m.lock().ok().map(|g| String::from_utf8_lossy(&g).into_owned()))
        .unwrap_or_default()
}

pub struct TestApp {
    /// `http://127.0.0.1:PORT`
    pub base: String,
    pub client: reqwest::Client,
    pub smtp: SmtpSink,
    pub state: AppState,
    pub app_dir: tempfile::TempDir,
    db: TestDatabase,
    shutdown: CancellationToken,
    handle: Option<tokio::task::JoinHandle<anyhow::Result<()>>>,
    embedded_s3_stop: Option<Box<dyn Fn() + Send + Sync>>,
}

type ConfigTweak = Box<dyn FnOnce(&mut Config)>;

#[derive(Default)]
pub struct TestAppBuilder {
    tweak: Option<ConfigTweak>,
}

impl TestAppBuilder {
    /// Adjust the configuration before the server starts.
    pub fn config(mut self, f: impl FnOnce(&mut Config) + 'static) -> Self {
        self.tweak = Some(Box::new(f));
        self
    }

    pub async fn start(self) -> TestApp {
        init_logs();
        dentex_gateway::install_crypto_provider();
        let db = TestDatabase::empty().await.expect("test database");
        let app_dir = tempfile::tempdir().expect("temp dir");
        let smtp = SmtpSink::start().await.expect("smtp sink");
        let mut cfg = Config {
            data_dir: app_dir.path().to_path_buf(),
            ..Config::default()
        };
        cfg.http.addr = "127.0.0.1:0".into();
        cfg.http.workers = 2;
        cfg.http.shutdown_timeout_secs = 10;
        cfg.database.url = Some(db.url.clone().into());
        cfg.database.max_connections = 5;
        cfg.mail.smtp_url = Some(smtp.url().into());
        cfg.jobs.workers = 1;
        cfg.jobs.poll_interval_ms = 50;
        cfg.jobs.retry_base_ms = 100;
        cfg.jobs.shutdown_grace_secs = 1;
        if let Some(t) = self.tweak {
            t(&mut cfg);
        }
        cfg.validate().expect("test configuration is valid");
        let app = Application::build(cfg).await.expect("application starts");
        let base = format!("http://127.0.0.1:{}", app.port());
        let state = app.state().clone();
        let shutdown = app.shutdown_token();
        let embedded_s3_stop: Option<Box<dyn Fn() + Send + Sync>> = app.embedded_s3().map(|s| {
            let stop = s.stop_handle();
            Box::new(move || stop.abort()) as Box<dyn Fn() + Send + Sync>
        });
        let handle = tokio::spawn(app.run_until_stopped());
        TestApp {
            base,
            client: reqwest::Client::builder()
                .redirect(reqwest::redirect::Policy::none())
                .build()
                .expect("http client"),
            smtp,
            state,
            app_dir,
            db,
            shutdown,
            handle: Some(handle),
            embedded_s3_stop,
        }
    }
}

impl TestApp {
    pub fn builder() -> TestAppBuilder {
        TestAppBuilder::default()
    }

    pub async fn new() -> Self {
        Self::builder().start().await
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{}", self.base, path)
    }

    pub fn is_postgres(&self) -> bool {
        self.db.is_postgres()
    }

    pub async fn get(&self, path: &str) -> reqwest::Response {
        self.client.get(self.url(path)).send().await.expect("GET")
    }

    pub async fn get_authed(&self, path: &str, token: &str) -> reqwest::Response {
        self.client
            .get(self.url(path))
            .bearer_auth(token)
            .send()
            .await
            .expect("GET")
    }

    pub async fn post_json(&self, path: &str, body: &Value) -> reqwest::Response {
        self.client.post(self.url(path)).json(body).send().await.expect("POST")
    }

    /// Creates a platform staff account directly through the accounts service.
    pub async fn create_staff(&self, email: &str, role: StaffRole, password: &str) -> UserId {
        dentex_accounts::staff::create_staff(
            &self.state.db,
            &self.state.audit,
            email,
            "Staff Member",
            role,
            password.to_owned(),
        )
        .await
        .expect("create staff")
    }

    /// Logs in and returns the bearer token.
    pub async fn login(&self, email: &str, password: &str) -> String {
        let r = self
            .post_json(
                "/api/v1/auth/login",
                &serde_json::json!({"email": email, "password": password}),
            )
            .await;
        assert_eq!(r.status(), 200, "login failed");
        let v: Value = r.json().await.expect("login body");
        v["token"].as_str().expect("token").to_owned()
    }

    /// Makes the in-process S3 server stop answering (readiness tests).
    pub fn stop_object_store(&self) {
        if let Some(f) = &self.embedded_s3_stop {
            f();
        }
    }

    /// Graceful shutdown, waiting for the server and workers to finish.
    pub async fn stop(mut self) {
        self.shutdown.cancel();
        if let Some(h) = self.handle.take() {
            let _ = h.await;
        }
    }
}

impl Drop for TestApp {
    fn drop(&mut self) {
        self.shutdown.cancel();
    }
}

/// Reads a problem+json body, checking the media type.
pub async fn problem(r: reqwest::Response) -> Value {
    let ct = r
        .headers()
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_owned();
    assert!(ct.starts_with("application/problem+json"), "content-type was {ct:?}");
    let v: Value = r.json().await.expect("problem body");
    assert!(v["code"].is_string(), "problem without code: {v}");
    assert!(v["status"].is_u64(), "problem without status: {v}");
    assert!(v["type"].is_string() && v["title"].is_string(), "{v}");
    v
}
