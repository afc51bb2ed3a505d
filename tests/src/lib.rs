//! `dentex-tests` holds the black-box tests of the whole service (in `tests/`)
//! and [`TestApp`], which starts the real server on port 0 with its own
//! database — a SQLite file, or a fresh PostgreSQL schema when
//! `DENTEX_TEST_POSTGRES_URL` is set — its own in-process S3 server, and a real
//! SMTP listener, so every test talks HTTP to a complete, isolated Dentex.
//! Everything the server logs is also captured, so tests can prove what never
//! reaches a log line.

#![allow(clippy::expect_used, reason = "the harness fails the test at the first surprise")]

pub mod conformance;
pub mod setup;
pub mod sse;

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
    /// `http://127.0.0.1:PORT`: the recording proxy in front of the server
    /// ([`conformance`]); every response through it is checked against the
    /// OpenAPI document when the app is dropped.
    pub base: String,
    /// The server itself, for tests of the connection (raw sockets, timeouts).
    pub direct_base: String,
    proxy: conformance::Proxy,
    /// The metrics listener, `http://127.0.0.1:PORT`.
    pub metrics_base: String,
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
        cfg.metrics.addr = "127.0.0.1:0".into();
        cfg.http.workers = 2;
        cfg.http.shutdown_timeout_secs = 10;
        cfg.database.url = Some(db.url.clone().into());
        cfg.auth.mfa_key = Some(dentex_accounts::mfa_keys::generate_new().into());
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
        let direct_base = format!("http://127.0.0.1:{}", app.port());
        let proxy = conformance::Proxy::start(direct_base.clone())
            .await
            .expect("recording proxy");
        let base = proxy.base.clone();
        let metrics_base = app.metrics_addr().map(|a| format!("http://{a}")).unwrap_or_default();
        let state = app.state().clone();
        let shutdown = app.shutdown_token();
        let embedded_s3_stop: Option<Box<dyn Fn() + Send + Sync>> = app.embedded_s3().map(|s| {
            let stop = s.stop_handle();
            Box::new(move || stop.abort()) as Box<dyn Fn() + Send + Sync>
        });
        let handle = tokio::spawn(app.run_until_stopped());
        TestApp {
            base,
            direct_base,
            proxy,
            metrics_base,
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

    /// The database this app runs on (a second process may share it).
    pub fn database_url(&self) -> &str {
        &self.db.url
    }

    /// The key this app seals TOTP secrets with (another process on the
    /// same database needs the same one).
    pub fn mfa_key(&self) -> String {
        use secrecy::ExposeSecret;
        self.state
            .config
            .auth
            .mfa_key
            .as_ref()
            .map(|k| k.expose_secret().to_owned())
            .unwrap_or_default()
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
        dentex_accounts::staff::create_staff(&self.state.db, email, "Staff Member", role, password.to_owned())
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
        if !std::thread::panicking() {
            let undocumented = undocumented_problems();
            assert!(
                undocumented.is_empty(),
                "problem codes answered but not in the route's OpenAPI entry:\n{}",
                undocumented.join("\n")
            );
            let seen = self.proxy.seen.lock().map(|s| s.clone()).unwrap_or_default();
            let unlike = conformance::problems(document(), &seen);
            assert!(
                unlike.is_empty(),
                "responses unlike the OpenAPI document:\n{}",
                unlike.join("\n")
            );
        }
    }
}

/// Codes that any address may answer whatever its entry says: the
/// framework's and the edge's (405 for a wrong method, 431 for huge headers,
/// a status without a code of its own), and every 5xx.
const ANYWHERE: [&str; 8] = [
    "method_not_allowed",
    "not_acceptable",
    "request_timeout",
    "length_required",
    "uri_too_long",
    "headers_too_large",
    "request_failed",
    "bad_request",
];

/// The OpenAPI document as the server publishes it.
pub fn document() -> &'static Value {
    static DOC: OnceLock<Value> = OnceLock::new();
    DOC.get_or_init(|| dentex_gateway::docs::document(dentex_gateway::app::routes, "http://localhost"))
}

/// Every problem a documented route answered in this test process (from
/// the "request finished" log lines) with a code that its OpenAPI entry
/// does not list under that status: its own codes and the shared ones its
/// shape brings (`docs::complete`).
pub fn undocumented_problems() -> Vec<String> {
    let doc = document();
    let mut out = std::collections::BTreeSet::new();
    for line in captured_logs().lines() {
        let Ok(v) = serde_json::from_str::<Value>(line) else {
            continue;
        };
        let (Some(code), Some(route), Some(method), Some(status)) = (
            v["fields"]["problem"].as_str(),
            v["span"]["route"].as_str(),
            v["span"]["method"].as_str(),
            v["span"]["status"].as_u64(),
        ) else {
            continue;
        };
        if status >= 500 || ANYWHERE.contains(&code) {
            continue;
        }
        let op = &doc["paths"][route][method.to_ascii_lowercase()];
        if op.is_null() {
            continue;
        }
        let description = op["responses"][status.to_string()]["description"]
            .as_str()
            .unwrap_or("");
        if !dentex_gateway::docs::codes_in(description).any(|c| c == code) {
            out.insert(format!("{method} {route} {status} `{code}`"));
        }
    }
    out.into_iter().collect()
}

/// A signed-in organisation member created through the public API.
#[derive(Debug, Clone)]
pub struct Actor {
    pub email: String,
    pub password: String,
    pub token: String,
    pub user_id: String,
    pub org_id: String,
}

/// The single-use token in a link of a received message (`…#token=HEX`).
pub fn token_in(mail: &dentex_mail::sink::ReceivedMail) -> String {
    let text = mail.text();
    let i = text.find("#token=").expect("a link with a token") + "#token=".len();
    text[i..].chars().take_while(char::is_ascii_hexdigit).collect()
}

impl TestApp {
    /// Waits for the newest message to `address` whose subject contains `subject`.
    pub async fn mail_to(&self, address: &str, subject: &str) -> dentex_mail::sink::ReceivedMail {
        for _ in 0..400 {
            if let Some(m) = self.smtp.received().into_iter().rev().find(|m| {
                m.rcpt_to.iter().any(|r| r == address) && m.header("Subject").is_some_and(|s| s.contains(subject))
            }) {
                return m;
            }
            tokio::time::sleep(std::time::Duration::from_millis(25)).await;
        }
        panic!(
            "no mail to {address} about {subject:?}; got {:?}",
            self.smtp
                .received()
                .iter()
                .map(|m| m.header("Subject"))
                .collect::<Vec<_>>()
        );
    }

    /// Registers an organisation of `kind` through the API, confirms the
    /// address with the mailed link and signs in as its owner.
    pub async fn register(&self, email: &str, kind: &str) -> Actor {
        let password = format!("pw-{}-long-enough", uuid::Uuid::new_v4().simple());
        let r = self
            .post_json(
                "/api/v1/auth/register",
                &serde_json::json!({
                    "email": email, "password": password, "display_name": "Dr Test",
                    "organization": {"name": format!("{kind} of {email}"), "kind": kind, "country": "DE", "region": "eu"}
                }),
            )
            .await;
        assert_eq!(r.status(), 202, "register {email}");
        let mail = self.mail_to(email, "Confirm your e-mail").await;
        let r = self
            .post_json(
                "/api/v1/auth/verify-email",
                &serde_json::json!({"token": token_in(&mail)}),
            )
            .await;
        assert_eq!(r.status(), 200, "verify {email}");
        self.sign_in(email, &password).await
    }

    /// Signs in and collects who the user is.
    pub async fn sign_in(&self, email: &str, password: &str) -> Actor {
        self.sign_in_with(email, password, serde_json::json!({})).await
    }

    /// Signs in with extra login fields (`totp_code`, `recovery_code`).
    pub async fn sign_in_with(&self, email: &str, password: &str, extra: Value) -> Actor {
        let mut body = serde_json::json!({"email": email, "password": password});
        if let Some(extra) = extra.as_object() {
            for (k, v) in extra {
                body[k] = v.clone();
            }
        }
        let r = self.post_json("/api/v1/auth/login", &body).await;
        assert_eq!(r.status(), 200, "login {email}");
        let v: Value = r.json().await.expect("login body");
        Actor {
            email: email.to_owned(),
            password: password.to_owned(),
            token: v["token"].as_str().expect("token").to_owned(),
            user_id: v["user"]["id"].as_str().expect("id").to_owned(),
            org_id: v["user"]["organizations"][0]["id"]
                .as_str()
                .unwrap_or_default()
                .to_owned(),
        }
    }

    /// `inviter` invites `email` with `role`; the invitee accepts (creating an
    /// account) and signs in.
    pub async fn invite_and_join(&self, inviter: &Actor, email: &str, role: &str) -> Actor {
        let r = self
            .send(
                reqwest::Method::POST,
                &format!("/api/v1/organizations/{}/invitations", inviter.org_id),
                Some(&inviter.token),
                Some(&serde_json::json!({"email": email, "role": role})),
            )
            .await;
        assert_eq!(r.status(), 201, "invite {email}");
        let mail = self.mail_to(email, "You are invited").await;
        let password = format!("pw-{}-long-enough", uuid::Uuid::new_v4().simple());
        let r = self
            .post_json(
                "/api/v1/invitations/accept",
                &serde_json::json!({"token": token_in(&mail), "password": password, "display_name": "New Member"}),
            )
            .await;
        assert_eq!(r.status(), 200, "accept {email}");
        let mut a = self.sign_in(email, &password).await;
        a.org_id = inviter.org_id.clone();
        a
    }

    /// Any request, optionally authenticated and with a JSON body.
    pub async fn send(
        &self,
        method: reqwest::Method,
        path: &str,
        token: Option<&str>,
        body: Option<&Value>,
    ) -> reqwest::Response {
        let mut rb = self.client.request(method, self.url(path));
        if let Some(t) = token {
            rb = rb.bearer_auth(t);
        }
        if let Some(b) = body {
            rb = rb.json(b);
        }
        rb.send().await.expect("request")
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

/// The TOTP code an authenticator with `secret` shows `offset_secs` from now.
pub fn totp_code(secret: &str, offset_secs: i64) -> String {
    let totp = totp_rs::Builder::new()
        .with_secret(totp_rs::Secret::try_from_base32(secret).expect("base32 secret"))
        .with_digits(6)
        .with_step_duration(30)
        .build()
        .expect("totp");
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .expect("clock")
        .as_secs();
    totp.generate(now.saturating_add_signed(offset_secs)).to_string()
}

impl TestApp {
    /// A support agent with two-step sign-in on, signed in with a code (the
    /// session that enrolled can do nothing else).
    pub async fn support_agent(&self, email: &str) -> Actor {
        let password = "helpdesk rota 2026 thursday";
        self.create_staff(email, StaffRole::Support, password).await;
        let who = self.sign_in(email, password).await;
        let r = self
            .send(reqwest::Method::POST, "/api/v1/auth/mfa/totp", Some(&who.token), None)
            .await;
        let v: Value = r.json().await.expect("enrolment");
        let secret = v["secret"].as_str().expect("secret").to_owned();
        let r = self
            .send(
                reqwest::Method::POST,
                "/api/v1/auth/mfa/totp/confirm",
                Some(&who.token),
                Some(&serde_json::json!({"code": totp_code(&secret, 0)})),
            )
            .await;
        assert_eq!(r.status(), 200, "staff MFA confirm");
        // The next step's code: the one just used is spent.
        self.sign_in_with(
            email,
            password,
            serde_json::json!({"totp_code": totp_code(&secret, 30)}),
        )
        .await
    }
}

impl TestApp {
    /// Registers an organisation of `kind` and has `staff` approve a
    /// credential that fits it, so it is verified. Labs also declare
    /// `services` and take new work.
    pub async fn verified_org(&self, staff: &Actor, email: &str, kind: &str, services: &[&str]) -> Actor {
        let who = self.register(email, kind).await;
        let credential = if kind == "clinic" {
            "dental_license"
        } else {
            "lab_registration"
        };
        let expires = (chrono::Utc::now().date_naive() + chrono::Duration::days(365))
            .format("%Y-%m-%d")
            .to_string();
        let r = self
            .send(
                reqwest::Method::POST,
                &format!("/api/v1/organizations/{}/credentials", who.org_id),
                Some(&who.token),
                Some(&serde_json::json!({
                    "kind": credential, "number": "REG-1", "issuing_authority": "Chamber",
                    "country": "DE", "expires_on": expires
                })),
            )
            .await;
        assert_eq!(r.status(), 201, "credential for {email}");
        let id = r.json::<Value>().await.expect("credential")["id"]
            .as_str()
            .expect("id")
            .to_owned();
        let mut pdf = b"%PDF-1.7\n% registration\n".to_vec();
        pdf.extend_from_slice(b"\n%%EOF\n");
        let r = self
            .client
            .post(self.url(&format!(
                "/api/v1/organizations/{}/credentials/{id}/document",
                who.org_id
            )))
            .bearer_auth(&who.token)
            .body(pdf)
            .send()
            .await
            .expect("upload");
        assert_eq!(r.status(), 200, "credential document for {email}");
        let r = self
            .send(
                reqwest::Method::POST,
                &format!("/api/v1/support/credentials/{id}/decision"),
                Some(&staff.token),
                Some(&serde_json::json!({"decision": "approve", "reason": "Checked against the register"})),
            )
            .await;
        assert_eq!(r.status(), 200, "approve {email}");
        if kind != "clinic" {
            let r = self
                .send(
                    reqwest::Method::PATCH,
                    &format!("/api/v1/organizations/{}", who.org_id),
                    Some(&who.token),
                    Some(&serde_json::json!({"services": services, "accepts_new_work": true})),
                )
                .await;
            assert_eq!(r.status(), 200, "services of {email}");
        }
        who
    }
}

/// A closed cube of 10 mm as a binary STL (12 triangles).
pub fn cube_stl() -> Vec<u8> {
    let v = |i: u32| {
        [
            if i & 1 == 0 { 0.0f32 } else { 10.0 },
            if i & 2 == 0 { 0.0 } else { 10.0 },
            if i & 4 == 0 { 0.0 } else { 10.0 },
        ]
    };
    let faces: [[u32; 3]; 12] = [
        [0, 2, 1],
        [1, 2, 3],
        [4, 5, 6],
        [5, 7, 6],
        [0, 1, 4],
        [1, 5, 4],
        [2, 6, 3],
        [3, 6, 7],
        [0, 4, 2],
        [2, 4, 6],
        [1, 3, 5],
        [3, 7, 5],
    ];
    let mut out = vec![0u8; 80];
    out.extend_from_slice(&12u32.to_le_bytes());
    for f in faces {
        out.extend_from_slice(&[0u8; 12]);
        for i in f {
            for c in v(i) {
                out.extend_from_slice(&c.to_le_bytes());
            }
        }
        out.extend_from_slice(&[0u8; 2]);
    }
    out
}

pub fn in_days(days: i64) -> String {
    (chrono::Utc::now().date_naive() + chrono::Duration::days(days))
        .format("%Y-%m-%d")
        .to_string()
}

impl TestApp {
    /// A complete case of `clinic` (a crown and a bridge, a scan), submitted
    /// to `labs` by name, or open to all when `labs` is empty; returns its id.
    pub async fn submitted_case(&self, clinic: &Actor, patient_ref: &str, labs: &[&Actor]) -> String {
        let body = serde_json::json!({
            "patient_ref": patient_ref,
            "rx": {"items": [
                {"teeth": ["11"], "restoration": "crown", "material": "zirconia", "shade": "A1"},
                {"teeth": ["14", "15", "16"], "pontics": ["15"], "restoration": "bridge", "material": "zirconia", "shade": "A3"}
            ]},
            "due_date": in_days(20),
            "consent": {"patient_consent": true}
        });
        let r = self
            .send(reqwest::Method::POST, "/api/v1/cases", Some(&clinic.token), Some(&body))
            .await;
        assert_eq!(r.status(), 201, "draft");
        let case = r.json::<Value>().await.expect("case")["id"]
            .as_str()
            .expect("id")
            .to_owned();
        let r = self
            .client
            .post(self.url(&format!("/api/v1/cases/{case}/files")))
            .bearer_auth(&clinic.token)
            .body(cube_stl())
            .send()
            .await
            .expect("upload");
        assert_eq!(r.status(), 201, "scan");
        let ids: Vec<&str> = labs.iter().map(|l| l.org_id.as_str()).collect();
        let r = self
            .send(
                reqwest::Method::POST,
                &format!("/api/v1/cases/{case}/submit"),
                Some(&clinic.token),
                Some(&if ids.is_empty() {
                    serde_json::json!({"target": {"open": true}})
                } else {
                    serde_json::json!({"target": {"labs": ids}})
                }),
            )
            .await;
        assert_eq!(r.status(), 200, "submit");
        case
    }
}

/// The database statements the request with id `request_id` ran itself, from
/// its "request finished" log line.
pub fn queries_of(request_id: &str) -> u64 {
    let logs = captured_logs();
    let line = logs
        .lines()
        .find(|l| l.contains(request_id) && l.contains("request finished"))
        .unwrap_or_else(|| panic!("no log line for request {request_id}"));
    let v: Value = serde_json::from_str(line).expect("a JSON log line");
    v["fields"]["db_queries"]
        .as_u64()
        .unwrap_or_else(|| panic!("no db_queries in {line}"))
}

impl TestApp {
    /// GETs `path` as `token`, checks for 200, and answers the body and the
    /// statements the request ran.
    pub async fn get_counted(&self, path: &str, token: &str) -> (Value, u64) {
        let r = self.get_authed(path, token).await;
        assert_eq!(r.status(), 200, "{path}");
        let rid = r.headers()["x-request-id"].to_str().expect("request id").to_owned();
        let body: Value = r.json().await.expect("JSON");
        (body, queries_of(&rid))
    }
}
