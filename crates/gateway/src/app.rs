//! Builds the whole application from a [`Config`]: database (migrated), object
//! store (the embedded S3 server unless an endpoint is configured), mailer, job
//! workers and the HTTP server. `build` binds the listener first, so callers
//! (tests, the `serve` command) learn the real port before anything runs.

use crate::config::Config;
use crate::metrics::Metrics;
use crate::state::AppState;
use crate::{docs, edge, health, pages};
use actix_cors::Cors;
use actix_web::middleware::{Condition, from_fn};
use actix_web::{App, HttpResponse, HttpServer, web};
use anyhow::Context;
use dentex_accounts::AccountsState;
use dentex_accounts::sessions::SessionPolicy;
use dentex_audit::AuditLog;
use dentex_http::ApiError;
use dentex_jobs::{JobFailure, Queue, Registry, RetryPolicy, WorkerConfig};
use dentex_mail::{Mailer, OutgoingMail};
use dentex_storage::embedded::EmbeddedS3;
use dentex_storage::{ObjectStore, StoreConfig};
use secrecy::ExposeSecret;
use std::net::{SocketAddr, TcpListener};
use std::sync::Arc;
use std::time::Duration;
use tokio_util::sync::CancellationToken;
use utoipa_actix_web::AppExt;

/// Job kind that delivers one [`OutgoingMail`].
pub const JOB_MAIL_SEND: &str = dentex_mail::JOB_KIND;

pub struct Application {
    addr: SocketAddr,
    server: actix_web::dev::Server,
    /// The metrics listener (`metrics.addr`), when it is on.
    metrics: Option<(SocketAddr, actix_web::dev::Server)>,
    state: AppState,
    shutdown: CancellationToken,
    workers: Option<tokio::task::JoinHandle<()>>,
    embedded_s3: Option<EmbeddedS3>,
}

/// The parts every command needs: database, object store, mailer.
pub struct Core {
    pub db: sea_orm::DatabaseConnection,
    pub store: ObjectStore,
    pub mailer: Mailer,
    pub embedded_s3: Option<EmbeddedS3>,
}

impl Core {
    pub async fn open(config: &Config) -> anyhow::Result<Self> {
        std::fs::create_dir_all(&config.data_dir)
            .with_context(|| format!("creating the data directory {}", config.data_dir.display()))?;
        let url = config.database_url();
        let db = dentex_db::connect(&dentex_db::DbOptions {
            url: url.clone(),
            max_connections: config.database.max_connections,
            acquire_timeout: Duration::from_secs(5),
        })
        .await
        .with_context(|| format!("connecting to the database at {}", dentex_db::redact_url(&url)))?;
        if config.database.migrate_on_start {
            dentex_db::migrate(&db).await.context("applying database migrations")?;
        }
        let (mut store_cfg, embedded_s3) = match &config.storage.endpoint {
            Some(ep) => (
                StoreConfig {
                    endpoint: Some(ep.clone()),
                    region: config.storage.region.clone(),
                    bucket: config.storage.bucket.clone(),
                    access_key_id: config.storage.access_key_id.clone().unwrap_or_default(),
                    secret_access_key: config
                        .storage
                        .secret_access_key
                        .as_ref()
                        .map(|s| s.expose_secret().to_owned())
                        .unwrap_or_default(),
                    force_path_style: config.storage.force_path_style,
                    sse: config.storage.sse.unwrap_or(true),
                    multipart_threshold: config.storage.multipart_threshold_bytes,
                    part_size: config.storage.part_size_bytes,
                    lists_open_uploads: true,
                },
                None,
            ),
            None => {
                let s3 = EmbeddedS3::start(&config.data_dir.join("objects"))
                    .await
                    .context("starting the embedded S3 server")?;
                let mut c = s3.store_config(&config.storage.bucket);
                c.sse = config.storage.sse.unwrap_or(false);
                (c, Some(s3))
            }
        };
        store_cfg.multipart_threshold = config.storage.multipart_threshold_bytes;
        store_cfg.part_size = config.storage.part_size_bytes;
        let store = ObjectStore::new(store_cfg);
        if config.storage.create_bucket {
            store
                .ensure_bucket()
                .await
                .with_context(|| format!("creating or finding the bucket {:?}", config.storage.bucket))?;
        }
        let mailer = match &config.mail.smtp_url {
            Some(url) => Mailer::smtp(url.expose_secret(), &config.mail.from)?,
            None => Mailer::files(config.data_dir.join("mail"), &config.mail.from)?,
        };
        Ok(Self {
            db,
            store,
            mailer,
            embedded_s3,
        })
    }
}

/// The handlers of every job kind this process can run.
pub fn job_registry(
    mailer: Mailer,
    db: sea_orm::DatabaseConnection,
    store: dentex_storage::ObjectStore,
    config: &Config,
) -> Registry {
    let notice_days = config.credentials.expiry_notice_days;
    let mesh_limits = case_limits(config).mesh;
    let mut r = Registry::new();
    let (analysis_db, analysis_store) = (db.clone(), store.clone());
    r.register(dentex_cases::ANALYZE_JOB, move |ctx| {
        let (db, store) = (analysis_db.clone(), analysis_store.clone());
        async move { dentex_cases::analysis::run(&db, &store, mesh_limits, ctx.payload).await }
    });
    let (sweep_db, sweep_store) = (db.clone(), store.clone());
    r.register(dentex_cases::sweep::UPLOADS_JOB, move |_ctx| {
        let (db, store) = (sweep_db.clone(), sweep_store.clone());
        async move {
            dentex_cases::sweep::abandoned_uploads(&db, &store, chrono::Utc::now())
                .await
                .map_err(|e| JobFailure(e.to_string()))?;
            Ok(())
        }
    });
    let (orphan_db, orphan_store) = (db.clone(), store);
    let (remove, grace) = (
        config.storage.orphan_sweep_remove,
        chrono::Duration::seconds(i64::try_from(config.storage.orphan_sweep_grace_secs).unwrap_or(3600)),
    );
    r.register(dentex_cases::sweep::ORPHANS_JOB, move |_ctx| {
        let (db, store) = (orphan_db.clone(), orphan_store.clone());
        async move {
            dentex_cases::sweep::orphans(&db, &store, remove, grace, chrono::Utc::now())
                .await
                .map_err(|e| JobFailure(e.to_string()))?;
            Ok(())
        }
    });
    r.register(dentex_accounts::sweep::JOB_KIND, move |_ctx| {
        let db = db.clone();
        async move {
            let today = chrono::Utc::now().date_naive();
            dentex_accounts::sweep::run(&db, today, notice_days)
                .await
                .map_err(|e| JobFailure(e.to_string()))?;
            Ok(())
        }
    });
    r.register(JOB_MAIL_SEND, move |ctx| {
        let mailer = mailer.clone();
        async move {
            let mail: OutgoingMail =
                serde_json::from_value(ctx.payload).map_err(|e| JobFailure(format!("bad payload: {e}")))?;
            mailer.send(&mail).await.map_err(|e| JobFailure(e.to_string()))?;
            tracing::info!("mail delivered");
            Ok(())
        }
    });
    r
}

pub fn audit_config(config: &Config) -> dentex_audit::BatchConfig {
    dentex_audit::BatchConfig {
        max_events: config.audit.batch_max_events,
        max_queued: config.audit.queue_max_events,
        max_wait: Duration::from_millis(config.audit.confirm_timeout_ms),
        max_flushes: config.audit.max_flushes,
    }
}

pub fn case_limits(config: &Config) -> dentex_cases::CaseLimits {
    dentex_cases::CaseLimits {
        upload_max_bytes: config.cases.upload_max_bytes,
        photo_max_bytes: config.cases.photo_max_bytes,
        org_quota_bytes: config.cases.org_quota_bytes,
        stream_downloads: config.cases.stream_downloads,
        part_size: config.storage.part_size_bytes as u64,
        upload_url_ttl: Duration::from_secs(config.cases.upload_url_ttl_secs),
        upload_expiry: Duration::from_secs(config.cases.upload_expiry_secs),
        mesh: dentex_mesh::Limits {
            max_bytes: config.cases.upload_max_bytes,
            ..dentex_mesh::Limits::default()
        },
    }
}

pub fn worker_config(config: &Config) -> WorkerConfig {
    WorkerConfig {
        poll_interval: Duration::from_millis(config.jobs.poll_interval_ms.max(10)),
        lease: Duration::from_secs(config.jobs.lease_secs),
        shutdown_grace: Duration::from_secs(config.jobs.shutdown_grace_secs),
        retry: RetryPolicy {
            base: Duration::from_millis(config.jobs.retry_base_ms),
            max: Duration::from_secs(3600),
        },
    }
}

/// Each feature's state, sharing the process's database, store, queue and
/// audit appender.
fn feature_states(
    config: &Config,
    core: &Core,
    audit: &AuditLog,
    queue: &Queue,
) -> (AccountsState, dentex_cases::CasesState, dentex_market::MarketState) {
    let accounts = AccountsState {
        db: core.db.clone(),
        audit: audit.clone(),
        queue: queue.clone(),
        // The e-mailed links open the pages: a front end's, or this server's.
        public_base_url: config
            .http
            .app_base_url
            .clone()
            .unwrap_or_else(|| config.http.public_base_url.clone()),
        store: core.store.clone(),
        document_max_bytes: config.credentials.document_max_bytes,
        sessions: SessionPolicy {
            absolute: Duration::from_secs(config.auth.session_absolute_secs),
            idle: Duration::from_secs(config.auth.session_idle_secs),
        },
    };
    let cases = dentex_cases::CasesState {
        db: core.db.clone(),
        audit: audit.clone(),
        queue: queue.clone(),
        store: core.store.clone(),
        limits: case_limits(config),
        // The market ends a cancelled case's quotes (cases may not write
        // them: the arrow would point upward).
        hooks: Arc::new(dentex_market::hooks::MarketCaseHooks),
    };
    let market = dentex_market::MarketState {
        db: core.db.clone(),
        audit: audit.clone(),
        queue: queue.clone(),
    };
    (accounts, cases, market)
}

/// The sweeps every gateway schedules (each runs once, whoever queues it).
fn schedule_sweeps(config: &Config, queue: &Queue, shutdown: &CancellationToken) {
    tokio::spawn(schedule_daily(
        queue.clone(),
        dentex_accounts::sweep::JOB_KIND,
        config.credentials.sweep_hour_utc,
        shutdown.clone(),
    ));
    tokio::spawn(schedule_daily(
        queue.clone(),
        dentex_cases::sweep::ORPHANS_JOB,
        (config.credentials.sweep_hour_utc + 1) % 24,
        shutdown.clone(),
    ));
    tokio::spawn(schedule_every(
        queue.clone(),
        dentex_cases::sweep::UPLOADS_JOB,
        Duration::from_secs(3600),
        shutdown.clone(),
    ));
}

/// The job workers of this process, with every kind of job registered.
fn spawn_job_workers(
    config: &Config,
    core: &Core,
    queue: Queue,
    shutdown: &CancellationToken,
) -> tokio::task::JoinHandle<()> {
    dentex_jobs::spawn_workers(
        config.jobs.workers,
        queue,
        Arc::new(job_registry(
            core.mailer.clone(),
            core.db.clone(),
            core.store.clone(),
            config,
        )),
        worker_config(config),
        shutdown.clone(),
    )
}

impl Application {
    pub async fn build(config: Config) -> anyhow::Result<Self> {
        let core = Core::open(&config).await?;
        let listener =
            TcpListener::bind(&config.http.addr).with_context(|| format!("binding http.addr {}", config.http.addr))?;
        let addr = listener.local_addr()?;
        let queue = Queue::new(core.db.clone());
        // One appender per process: every feature's events for a chain share
        // its queue and batches.
        let audit = AuditLog::with_config(core.db.clone(), audit_config(&config));
        let state = AppState {
            config: Arc::new(config.clone()),
            db: core.db.clone(),
            store: core.store.clone(),
            queue: queue.clone(),
            audit: audit.clone(),
            metrics: Arc::new(Metrics::default()),
        };
        let (accounts, cases, market) = feature_states(&config, &core, &audit, &queue);
        let shutdown = CancellationToken::new();
        if config.jobs.workers > 0 {
            schedule_sweeps(&config, &queue, &shutdown);
        }
        let workers = (config.jobs.workers > 0).then(|| spawn_job_workers(&config, &core, queue, &shutdown));

        let state_data = web::Data::new(state.clone());
        let accounts_data = web::Data::new(accounts);
        let cases_data = web::Data::new(cases);
        let market_data = web::Data::new(market);
        let ip_source = web::Data::new(dentex_http::ClientIpSource {
            header: config.http.client_ip_header.clone().map(|h| h.to_ascii_lowercase()),
        });
        docs::publish(routes, &config.http.public_base_url);
        let json_limit = config.http.json_limit_bytes;
        let serve_pages = config.http.app_base_url.is_none();
        let origins = config.http.cors_allowed_origins.clone();
        let server = crate::server::serve(
            listener,
            crate::server::ServerOptions {
                workers: config.http.workers,
                shutdown_timeout_secs: config.http.shutdown_timeout_secs,
                hsts: config.http.public_base_url.starts_with("https://"),
                metrics: state.metrics.clone(),
            },
            move || {
                App::new()
                    .into_utoipa_app()
                    .configure(routes)
                    .into_app()
                    .app_data(state_data.clone())
                    .app_data(accounts_data.clone())
                    .app_data(cases_data.clone())
                    .app_data(market_data.clone())
                    .app_data(ip_source.clone())
                    .app_data(web::Data::new(pages::Served(serve_pages)))
                    .app_data(dentex_http::JsonLimit(json_limit))
                    .app_data(web::PayloadConfig::default().limit(json_limit))
                    .app_data(web::PathConfig::default().error_handler(|_, _| ApiError::not_found().into()))
                    .app_data(web::QueryConfig::default().error_handler(|e, _| {
                        ApiError::new(
                            &dentex_http::codes::INVALID_QUERY,
                            format!("The query string is invalid: {e}"),
                        )
                        .into()
                    }))
                    .wrap(Condition::new(!origins.is_empty(), cors(&origins)))
                    .wrap(from_fn(edge::edge))
                    .service(docs::docs_page)
                    .configure(|c| pages::configure(c, serve_pages))
                    .default_service(web::to(fallback))
            },
        )?;
        let metrics = metrics_server(&config, &state)?;
        Ok(Self {
            addr,
            server,
            metrics,
            state,
            shutdown,
            workers,
            embedded_s3: core.embedded_s3,
        })
    }

    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    pub fn port(&self) -> u16 {
        self.addr.port()
    }

    /// Where `/metrics` is served, when `metrics.addr` is set.
    pub fn metrics_addr(&self) -> Option<SocketAddr> {
        self.metrics.as_ref().map(|(a, _)| *a)
    }

    pub fn state(&self) -> &AppState {
        &self.state
    }

    pub fn embedded_s3(&self) -> Option<&EmbeddedS3> {
        self.embedded_s3.as_ref()
    }

    /// Cancelling this token starts a graceful shutdown.
    pub fn shutdown_token(&self) -> CancellationToken {
        self.shutdown.clone()
    }

    /// Serves until the shutdown token is cancelled; then stops accepting
    /// connections, lets in-flight requests finish (up to
    /// `http.shutdown_timeout_secs`), and stops the job workers, which hand
    /// unfinished jobs back to the queue.
    pub async fn run_until_stopped(self) -> anyhow::Result<()> {
        let Self {
            server,
            metrics,
            shutdown,
            workers,
            embedded_s3,
            ..
        } = self;
        let handle = server.handle();
        let metrics_handle = metrics.as_ref().map(|(_, m)| m.handle());
        let token = shutdown.clone();
        let stopper = tokio::spawn(async move {
            token.cancelled().await;
            tracing::info!("shutdown: no new connections; finishing in-flight requests");
            handle.stop(true).await;
            if let Some(m) = metrics_handle {
                m.stop(false).await;
            }
        });
        let metrics_task = metrics.map(|(_, m)| tokio::spawn(m));
        let served = server.await;
        shutdown.cancel();
        if let Some(w) = workers {
            let _ = w.await;
        }
        let _ = stopper.await;
        if let Some(m) = metrics_task {
            let _ = m.await;
        }
        drop(embedded_s3);
        tracing::info!("shutdown complete");
        served.context("the HTTP server failed")
    }
}

/// The metrics listener: `/metrics` only, on `metrics.addr` (loopback by
/// default, so only the host and its sidecars reach it), behind the bearer
/// token when one is configured.
fn metrics_server(config: &Config, state: &AppState) -> anyhow::Result<Option<(SocketAddr, actix_web::dev::Server)>> {
    if config.metrics.addr.is_empty() {
        return Ok(None);
    }
    let listener = TcpListener::bind(&config.metrics.addr)
        .with_context(|| format!("binding metrics.addr {}", config.metrics.addr))?;
    let addr = listener.local_addr()?;
    let access = web::Data::new(health::MetricsAccess {
        state: state.clone(),
        bearer_token: config.metrics.bearer_token.clone(),
    });
    let server = HttpServer::new(move || App::new().app_data(access.clone()).service(health::metrics))
        .workers(1)
        .disable_signals()
        .shutdown_timeout(1)
        .listen(listener)?
        .run();
    Ok(Some((addr, server)))
}

/// Keeps one `kind` job queued for the next `hour`:00 UTC. Several processes
/// may each add one; the jobs it schedules are idempotent.
async fn schedule_daily(queue: Queue, kind: &'static str, hour: u32, shutdown: CancellationToken) {
    loop {
        let pending = queue
            .list(Some(dentex_jobs::STATUS_QUEUED), 1000)
            .await
            .map(|jobs| jobs.iter().any(|j| j.kind == kind))
            .unwrap_or(true);
        if !pending {
            let now = chrono::Utc::now();
            let today_at = now
                .date_naive()
                .and_hms_opt(hour, 0, 0)
                .map(|t| t.and_utc())
                .unwrap_or(now);
            let next = if today_at > now {
                today_at
            } else {
                today_at + chrono::Duration::days(1)
            };
            let opts = dentex_jobs::EnqueueOptions {
                run_at: Some(next),
                max_attempts: 5,
            };
            if let Err(e) = queue.enqueue(kind, &serde_json::json!({}), opts).await {
                tracing::warn!(error = %e, job.kind = kind, "scheduling a daily job failed");
            }
        }
        tokio::select! {
            () = tokio::time::sleep(Duration::from_secs(3600)) => {}
            () = shutdown.cancelled() => return,
        }
    }
}

/// Keeps one `kind` job queued to run `every` from now. Several processes
/// may each add one; the jobs it schedules are idempotent.
async fn schedule_every(queue: Queue, kind: &'static str, every: Duration, shutdown: CancellationToken) {
    loop {
        let pending = queue
            .list(Some(dentex_jobs::STATUS_QUEUED), 1000)
            .await
            .map(|jobs| jobs.iter().any(|j| j.kind == kind))
            .unwrap_or(true);
        if !pending {
            let opts = dentex_jobs::EnqueueOptions {
                run_at: Some(
                    chrono::Utc::now() + chrono::Duration::from_std(every).unwrap_or(chrono::Duration::hours(1)),
                ),
                max_attempts: 3,
            };
            if let Err(e) = queue.enqueue(kind, &serde_json::json!({}), opts).await {
                tracing::warn!(error = %e, job.kind = kind, "scheduling a periodic job failed");
            }
        }
        tokio::select! {
            () = tokio::time::sleep(every.min(Duration::from_secs(3600))) => {}
            () = shutdown.cancelled() => return,
        }
    }
}

/// Unknown address: 404; known address with another method: 405 with `Allow`.
/// Every API route, each declared once: the server is built with this, and the
/// OpenAPI document is collected from it (`docs::publish`).
pub fn routes(cfg: &mut utoipa_actix_web::service_config::ServiceConfig) {
    cfg.service(health::healthz)
        .service(health::readyz)
        .service(docs::openapi_json)
        .configure(dentex_accounts::configure)
        .configure(dentex_cases::configure)
        .configure(dentex_market::configure);
}

async fn fallback(req: actix_web::HttpRequest) -> Result<HttpResponse, ApiError> {
    // The link pages are addresses only where this server serves them.
    let pages_elsewhere = req.app_data::<web::Data<pages::Served>>().is_some_and(|s| !s.0);
    let path = req.path().trim_end_matches('/');
    if pages_elsewhere && pages::PATHS.contains(&path) {
        return Err(ApiError::not_found());
    }
    match docs::allowed_methods(req.path()) {
        Some(methods) if !methods.iter().any(|m| m == req.method().as_str()) => {
            let allow = methods.join(", ");
            Err(ApiError::new(
                &dentex_http::codes::METHOD_NOT_ALLOWED,
                format!("This address accepts {allow}."),
            )
            .with_header(actix_web::http::header::ALLOW, allow))
        }
        _ => Err(ApiError::not_found()),
    }
}

fn cors(origins: &[String]) -> Cors {
    let mut c = Cors::default()
        .allowed_methods(["GET", "POST", "PUT", "PATCH", "DELETE"])
        .allowed_headers([
            "authorization",
            "content-type",
            "idempotency-key",
            "x-request-id",
            "x-file-name",
            "x-csrf-token",
        ])
        .expose_headers(["x-request-id"])
        // Browsers in cookie mode send the session cookie; CSRF is checked per request.
        .supports_credentials()
        .max_age(3600);
    for o in origins {
        c = c.allowed_origin(o);
    }
    c
}
