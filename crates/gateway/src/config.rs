//! Typed configuration: built-in defaults, then an optional TOML file, then
//! `DENTEX_…` environment variables (`__` separates sections:
//! `DENTEX_DATABASE__URL`). Unknown keys are refused, values are checked at
//! start, and errors name the key at fault. Secrets are `SecretString` and never
//! appear in `Debug` output. Every key is listed in `docs/configuration.md`.

use figment::Figment;
use figment::providers::{Env, Format, Toml};
use secrecy::{ExposeSecret, SecretString};
use serde::Deserialize;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Config {
    /// Where the embedded defaults keep their data (SQLite file, objects, mail).
    pub data_dir: PathBuf,
    pub http: HttpConfig,
    pub database: DatabaseConfig,
    pub storage: StorageConfig,
    pub mail: MailConfig,
    pub log: LogConfig,
    pub jobs: JobsConfig,
    pub auth: AuthConfig,
    pub credentials: CredentialsConfig,
    pub cases: CasesConfig,
    pub metrics: MetricsConfig,
    pub audit: AuditConfig,
    pub chat: ChatConfig,
    pub events: EventsConfig,
    pub payments: PaymentsSettings,
    pub privacy: PrivacySettings,
}

impl Default for Config {
    fn default() -> Self {
        Self {
            data_dir: PathBuf::from("data"),
            http: HttpConfig::default(),
            database: DatabaseConfig::default(),
            storage: StorageConfig::default(),
            mail: MailConfig::default(),
            log: LogConfig::default(),
            jobs: JobsConfig::default(),
            auth: AuthConfig::default(),
            credentials: CredentialsConfig::default(),
            cases: CasesConfig::default(),
            metrics: MetricsConfig::default(),
            audit: AuditConfig::default(),
            chat: ChatConfig::default(),
            events: EventsConfig::default(),
            payments: PaymentsSettings::default(),
            privacy: PrivacySettings::default(),
        }
    }
}

/// The batched audit appender (group commit of reads' audit rows).
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct AuditConfig {
    /// Events committed in one transaction at most.
    pub batch_max_events: usize,
    /// Events waiting per chain at most; further requests wait for room.
    pub queue_max_events: usize,
    /// A request whose audit row is not confirmed this long after it was
    /// queued answers 503 `audit_unavailable`.
    pub confirm_timeout_ms: u64,
    /// Batch transactions in flight at once (over all chains), so flushes
    /// leave the pool's connections to the requests.
    pub max_flushes: usize,
}

impl Default for AuditConfig {
    fn default() -> Self {
        let d = dentex_audit::BatchConfig::default();
        Self {
            batch_max_events: d.max_events,
            queue_max_events: d.max_queued,
            confirm_timeout_ms: u64::try_from(d.max_wait.as_millis()).unwrap_or(10_000),
            max_flushes: d.max_flushes,
        }
    }
}

/// Prometheus metrics are served on a listener of their own, never on the API's.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct MetricsConfig {
    /// Where `GET /metrics` is served; loopback by default. Empty turns the
    /// listener off.
    pub addr: String,
    /// When set, a scrape must send `Authorization: Bearer <token>`. Required
    /// when `addr` is not a loopback address.
    pub bearer_token: Option<SecretString>,
}

impl Default for MetricsConfig {
    fn default() -> Self {
        Self {
            addr: "127.0.0.1:9464".into(),
            bearer_token: None,
        }
    }
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct HttpConfig {
    /// Address to listen on; port 0 picks a free port.
    pub addr: String,
    /// The URL users reach Dentex at (links in e-mails; HSTS when https).
    pub public_base_url: String,
    /// A front end of its own that serves the pages e-mailed links open
    /// (`/verify-email`, `/reset-password`, `/accept-invitation`); the links
    /// point there. Unset: the server serves those pages itself.
    pub app_base_url: Option<String>,
    /// Largest accepted JSON body.
    pub json_limit_bytes: usize,
    /// Origins allowed to call the API from a browser; empty means none.
    pub cors_allowed_origins: Vec<String>,
    /// How long in-flight requests may run on after a shutdown signal.
    pub shutdown_timeout_secs: u64,
    /// HTTP worker threads; 0 means one per CPU.
    pub workers: usize,
    /// Header a trusted reverse proxy sets with the client address (e.g.
    /// `x-forwarded-for`); unset means the TCP peer is the client.
    pub client_ip_header: Option<String>,
}

impl Default for HttpConfig {
    fn default() -> Self {
        Self {
            addr: "127.0.0.1:8080".into(),
            public_base_url: "http://localhost:8080".into(),
            app_base_url: None,
            json_limit_bytes: 1024 * 1024,
            cors_allowed_origins: Vec::new(),
            shutdown_timeout_secs: 30,
            workers: 0,
            client_ip_header: None,
        }
    }
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct DatabaseConfig {
    /// `postgres://…` or `sqlite://…`; unset means `sqlite://DATA_DIR/dentex.db`.
    pub url: Option<SecretString>,
    pub max_connections: u32,
    /// Apply pending migrations at start.
    pub migrate_on_start: bool,
}

impl Default for DatabaseConfig {
    fn default() -> Self {
        Self {
            url: None,
            max_connections: 10,
            migrate_on_start: true,
        }
    }
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct StorageConfig {
    /// S3 endpoint URL; unset starts the embedded S3 server over `DATA_DIR/objects`.
    pub endpoint: Option<String>,
    pub region: String,
    pub bucket: String,
    pub access_key_id: Option<String>,
    pub secret_access_key: Option<SecretString>,
    pub force_path_style: bool,
    /// Server-side encryption (AES-256); unset means on for an external store,
    /// off for the embedded one (which relies on the disk's encryption).
    pub sse: Option<bool>,
    /// Lifetime of presigned download URLs, at most 300.
    pub presign_ttl_secs: u64,
    pub multipart_threshold_bytes: usize,
    pub part_size_bytes: usize,
    /// Create the bucket at start when missing.
    pub create_bucket: bool,
    /// The daily orphan sweep also removes what it finds (objects without a
    /// row, case-file rows without an object); otherwise it only reports.
    pub orphan_sweep_remove: bool,
    /// Objects and rows younger than this are left out of the orphan sweep.
    pub orphan_sweep_grace_secs: u64,
}

impl Default for StorageConfig {
    fn default() -> Self {
        Self {
            endpoint: None,
            region: "us-east-1".into(),
            bucket: "dentex".into(),
            access_key_id: None,
            secret_access_key: None,
            force_path_style: true,
            sse: None,
            presign_ttl_secs: 300,
            multipart_threshold_bytes: dentex_storage::StoreConfig::DEFAULT_PART_SIZE,
            part_size_bytes: dentex_storage::StoreConfig::DEFAULT_PART_SIZE,
            create_bucket: true,
            orphan_sweep_remove: false,
            orphan_sweep_grace_secs: 3600,
        }
    }
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct MailConfig {
    /// `smtp://host:port`, `smtp://user:pass@host:587?tls=required` or `smtps://…`;
    /// unset writes `.eml` files under `DATA_DIR/mail`.
    pub smtp_url: Option<SecretString>,
    pub from: String,
}

impl Default for MailConfig {
    fn default() -> Self {
        Self {
            smtp_url: None,
            from: "Dentex <no-reply@dentex.localhost>".into(),
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum LogFormat {
    Pretty,
    Json,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct LogConfig {
    pub format: LogFormat,
    /// A tracing filter such as `info` or `info,dentex_jobs=debug`.
    pub filter: String,
}

impl Default for LogConfig {
    fn default() -> Self {
        Self {
            format: LogFormat::Pretty,
            filter: "info".into(),
        }
    }
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct JobsConfig {
    /// Worker loops in this process; 0 runs no jobs here.
    pub workers: usize,
    pub poll_interval_ms: u64,
    pub lease_secs: u64,
    pub max_attempts: i32,
    pub retry_base_ms: u64,
    /// How long a running job may go on after shutdown begins before it is
    /// handed back to the queue.
    pub shutdown_grace_secs: u64,
}

impl Default for JobsConfig {
    fn default() -> Self {
        Self {
            workers: 2,
            poll_interval_ms: 1000,
            lease_secs: 300,
            max_attempts: 8,
            retry_base_ms: 5000,
            shutdown_grace_secs: 10,
        }
    }
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct CredentialsConfig {
    /// Largest scanned credential document accepted.
    pub document_max_bytes: u64,
    /// How many days before expiry organisations are warned.
    pub expiry_notice_days: i64,
    /// UTC hour at which the daily credential sweep runs.
    pub sweep_hour_utc: u32,
}

impl Default for CredentialsConfig {
    fn default() -> Self {
        Self {
            document_max_bytes: 20 * 1024 * 1024,
            expiry_notice_days: 30,
            sweep_hour_utc: 3,
        }
    }
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct CasesConfig {
    /// Largest single case file (scans, photos, documents).
    pub upload_max_bytes: u64,
    /// Largest photo (held whole in memory while its metadata is removed).
    pub photo_max_bytes: u64,
    /// All case files of one organisation together.
    pub org_quota_bytes: u64,
    /// Serve file downloads through the gateway instead of a redirect to a
    /// presigned URL (for stores clients cannot reach).
    pub stream_downloads: bool,
    /// How long a presigned part URL of a large upload works (at most 3600).
    pub upload_url_ttl_secs: u64,
    /// How long a presigned upload may stay unfinished before it is aborted.
    pub upload_expiry_secs: u64,
}

impl Default for CasesConfig {
    fn default() -> Self {
        Self {
            upload_max_bytes: 500 * 1024 * 1024,
            photo_max_bytes: 40 * 1024 * 1024,
            org_quota_bytes: 50 * 1024 * 1024 * 1024,
            stream_downloads: false,
            upload_url_ttl_secs: 3600,
            upload_expiry_secs: 86_400,
        }
    }
}

/// Variables with the `DENTEX_` prefix that are not configuration keys.
const NOT_CONFIG: [&str; 3] = ["test_postgres_url", "config", "bench_postgres_url"];

impl Config {
    /// Defaults, then the file (if given or named by `DENTEX_CONFIG`), then the environment.
    pub fn load(file: Option<&Path>) -> Result<Self, String> {
        let mut fig = Figment::new();
        let file = file
            .map(Path::to_path_buf)
            .or_else(|| std::env::var_os("DENTEX_CONFIG").map(PathBuf::from));
        if let Some(f) = &file {
            if !f.exists() {
                return Err(format!("configuration file {} does not exist", f.display()));
            }
            fig = fig.merge(Toml::file_exact(f));
        }
        fig = fig.merge(Env::prefixed("DENTEX_").split("__").ignore(&NOT_CONFIG));
        let cfg: Config = fig.extract().map_err(|e| {
            e.into_iter()
                .map(|e| {
                    let key = e.path.join(".");
                    if key.is_empty() {
                        e.to_string()
                    } else {
                        format!("{key}: {}", e.kind)
                    }
                })
                .collect::<Vec<_>>()
                .join("; ")
        })?;
        cfg.validate()?;
        Ok(cfg)
    }

    /// Checks values that types alone cannot; the message names the key.
    pub fn validate(&self) -> Result<(), String> {
        let mut errs = Vec::new();
        self.validate_http(&mut errs);
        self.validate_audit_database(&mut errs);
        self.validate_storage(&mut errs);
        self.validate_mail_jobs_auth(&mut errs);
        self.payments.validate(&mut errs);
        self.privacy.validate(&mut errs);
        if errs.is_empty() { Ok(()) } else { Err(errs.join("; ")) }
    }

    /// The listeners: HTTP, CORS origins, metrics.
    fn validate_http(&self, errs: &mut Vec<String>) {
        if self.http.addr.parse::<SocketAddr>().is_err() {
            errs.push(format!(
                "http.addr: {:?} is not HOST:PORT (e.g. 127.0.0.1:8080)",
                self.http.addr
            ));
        }
        if !(self.http.public_base_url.starts_with("http://") || self.http.public_base_url.starts_with("https://")) {
            errs.push("http.public_base_url: must start with http:// or https://".into());
        }
        if let Some(a) = &self.http.app_base_url
            && !(a.starts_with("http://") || a.starts_with("https://"))
        {
            errs.push("http.app_base_url: must start with http:// or https://".into());
        }
        if self.http.json_limit_bytes < 1024 {
            errs.push("http.json_limit_bytes: must be at least 1024".into());
        }
        for o in &self.http.cors_allowed_origins {
            if !(o.starts_with("http://") || o.starts_with("https://")) || o.ends_with('/') {
                errs.push(format!(
                    "http.cors_allowed_origins: {o:?} is not an origin like https://app.example.com"
                ));
            }
        }
        if !self.metrics.addr.is_empty() {
            match self.metrics.addr.parse::<SocketAddr>() {
                Err(_) => errs.push(format!(
                    "metrics.addr: {:?} is not HOST:PORT (e.g. 127.0.0.1:9464), or empty for none",
                    self.metrics.addr
                )),
                Ok(a) if !a.ip().is_loopback() && self.metrics.bearer_token.is_none() => {
                    errs.push("metrics.bearer_token: required when metrics.addr is not a loopback address".into())
                }
                Ok(_) => {}
            }
        }
        if self
            .metrics
            .bearer_token
            .as_ref()
            .is_some_and(|t| t.expose_secret().len() < 16)
        {
            errs.push("metrics.bearer_token: must be at least 16 characters".into());
        }
    }

    /// The audit appender and the database pool.
    fn validate_audit_database(&self, errs: &mut Vec<String>) {
        if self.audit.batch_max_events == 0 || self.audit.batch_max_events > 5000 {
            errs.push("audit.batch_max_events: between 1 and 5000".into());
        }
        if self.audit.queue_max_events < self.audit.batch_max_events {
            errs.push("audit.queue_max_events: at least audit.batch_max_events".into());
        }
        if self.audit.confirm_timeout_ms < 100 {
            errs.push("audit.confirm_timeout_ms: at least 100".into());
        }
        if self.audit.max_flushes == 0 || self.audit.max_flushes as u64 >= u64::from(self.database.max_connections) {
            errs.push("audit.max_flushes: at least 1 and fewer than database.max_connections".into());
        }
        if self.database.max_connections == 0 {
            errs.push("database.max_connections: must be at least 1".into());
        }
        if let Some(url) = &self.database.url {
            let u = url.expose_secret();
            if !(u.starts_with("postgres://") || u.starts_with("postgresql://") || u.starts_with("sqlite:")) {
                errs.push("database.url: must start with postgres://, postgresql:// or sqlite:".into());
            }
        }
    }

    /// The object store.
    fn validate_storage(&self, errs: &mut Vec<String>) {
        if self.storage.presign_ttl_secs == 0 || self.storage.presign_ttl_secs > 300 {
            errs.push("storage.presign_ttl_secs: must be between 1 and 300".into());
        }
        if self.storage.part_size_bytes < 5 * 1024 * 1024 {
            errs.push("storage.part_size_bytes: S3 needs parts of at least 5 MiB (5242880)".into());
        }
        if self.storage.bucket.len() < 3
            || !self
                .storage
                .bucket
                .chars()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-' || c == '.')
        {
            errs.push("storage.bucket: 3+ characters of a-z, 0-9, '-' and '.'".into());
        }
        if let Some(ep) = &self.storage.endpoint {
            if !(ep.starts_with("http://") || ep.starts_with("https://")) {
                errs.push("storage.endpoint: must be an http:// or https:// URL".into());
            }
            if self.storage.access_key_id.is_none() {
                errs.push("storage.access_key_id: required with storage.endpoint".into());
            }
            if self.storage.secret_access_key.is_none() {
                errs.push("storage.secret_access_key: required with storage.endpoint".into());
            }
        }
    }

    /// Mail, jobs, sessions, credentials, cases and logging.
    fn validate_mail_jobs_auth(&self, errs: &mut Vec<String>) {
        if self.chat.notify_after_secs == 0 {
            errs.push("chat.notify_after_secs: at least 1".into());
        }
        if self.events.keep_secs < 60 {
            errs.push("events.keep_secs: at least 60".into());
        }
        if !(1..=300).contains(&self.events.keep_alive_secs) {
            errs.push("events.keep_alive_secs: 1 to 300".into());
        }
        if !(1..=65_536).contains(&self.events.buffer) {
            errs.push("events.buffer: 1 to 65536".into());
        }
        if !(10..=3_600_000).contains(&self.events.poll_ms) {
            errs.push("events.poll_ms: 10 to 3600000".into());
        }
        if let Some(url) = &self.mail.smtp_url {
            let u = url.expose_secret();
            if !(u.starts_with("smtp://") || u.starts_with("smtps://")) {
                errs.push("mail.smtp_url: must start with smtp:// or smtps://".into());
            }
        }
        if self.mail.from.parse::<lettre::message::Mailbox>().is_err() {
            errs.push(format!(
                "mail.from: {:?} is not a mailbox like \"Dentex <no-reply@example.com>\"",
                self.mail.from
            ));
        }
        if self.jobs.max_attempts < 1 {
            errs.push("jobs.max_attempts: must be at least 1".into());
        }
        if self.jobs.lease_secs < 3 {
            errs.push("jobs.lease_secs: must be at least 3".into());
        }
        if self.auth.session_idle_secs == 0 || self.auth.session_idle_secs > self.auth.session_absolute_secs {
            errs.push("auth.session_idle_secs: must be between 1 and auth.session_absolute_secs".into());
        }
        if self.credentials.document_max_bytes < 1024 {
            errs.push("credentials.document_max_bytes: must be at least 1024".into());
        }
        if !(1..=365).contains(&self.credentials.expiry_notice_days) {
            errs.push("credentials.expiry_notice_days: must be between 1 and 365".into());
        }
        if self.cases.upload_max_bytes < 1024 || self.cases.photo_max_bytes < 1024 {
            errs.push("cases.upload_max_bytes, cases.photo_max_bytes: must be at least 1024".into());
        }
        if self.cases.upload_url_ttl_secs == 0 || self.cases.upload_url_ttl_secs > 3600 {
            errs.push("cases.upload_url_ttl_secs: must be between 1 and 3600".into());
        }
        if self.cases.upload_expiry_secs < 60 {
            errs.push("cases.upload_expiry_secs: must be at least 60".into());
        }
        if self.credentials.sweep_hour_utc > 23 {
            errs.push("credentials.sweep_hour_utc: must be between 0 and 23".into());
        }
        if let Err(e) = tracing_subscriber::EnvFilter::try_new(&self.log.filter) {
            errs.push(format!("log.filter: {e}"));
        }
    }

    pub fn database_url(&self) -> String {
        match &self.database.url {
            Some(u) => u.expose_secret().to_owned(),
            None => format!("sqlite://{}?mode=rwc", self.data_dir.join("dentex.db").display()),
        }
    }

    pub fn uses_embedded_storage(&self) -> bool {
        self.storage.endpoint.is_none()
    }
}

mod live;
mod payments;
mod privacy;
mod secrets;
pub use live::{ChatConfig, EventsConfig};
pub use payments::PaymentsSettings;
pub use privacy::PrivacySettings;
pub use secrets::AuthConfig;

#[cfg(test)]
mod tests;

/// What the cases crate is limited by, from the configuration.
pub fn case_limits(config: &Config) -> dentex_cases::CaseLimits {
    dentex_cases::CaseLimits {
        upload_max_bytes: config.cases.upload_max_bytes,
        photo_max_bytes: config.cases.photo_max_bytes,
        org_quota_bytes: config.cases.org_quota_bytes,
        stream_downloads: config.cases.stream_downloads,
        part_size: config.storage.part_size_bytes as u64,
        upload_url_ttl: std::time::Duration::from_secs(config.cases.upload_url_ttl_secs),
        upload_expiry: std::time::Duration::from_secs(config.cases.upload_expiry_secs),
        mesh: dentex_mesh::Limits {
            max_bytes: config.cases.upload_max_bytes,
            ..dentex_mesh::Limits::default()
        },
    }
}
