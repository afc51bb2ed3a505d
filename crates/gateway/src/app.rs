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
use dentex_jobs::Queue;
use dentex_mail::Mailer;
use dentex_storage::embedded::EmbeddedS3;
use dentex_storage::{ObjectStore, StoreConfig};
use secrecy::ExposeSecret;
use std::net::{SocketAddr, TcpListener};
use std::sync::Arc;
use std::time::Duration;
use tokio_util::sync::CancellationToken;
use utoipa_actix_web::AppExt;

pub use crate::config::case_limits;
pub use crate::jobs::{JOB_MAIL_SEND, job_registry, worker_config};
use crate::jobs::{schedule_sweeps, spawn_job_workers};

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

pub fn audit_config(config: &Config) -> dentex_audit::BatchConfig {
    dentex_audit::BatchConfig {
        max_events: config.audit.batch_max_events,
        max_queued: config.audit.queue_max_events,
        max_wait: Duration::from_millis(config.audit.confirm_timeout_ms),
        max_flushes: config.audit.max_flushes,
    }
}

/// Each feature's state, sharing the process's database, store, queue and
/// audit appender.
fn feature_states(
    config: &Config,
    core: &Core,
    audit: &AuditLog,
    queue: &Queue,
    mfa_keys: Arc<dentex_accounts::mfa_keys::MfaKeys>,
) -> (AccountsState, dentex_cases::CasesState, dentex_market::MarketState) {
    let accounts = AccountsState {
        mfa_keys,
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
        // Chat adds the unread messages to `/api/v1/me`.
        me_hooks: Arc::new(dentex_chat::hooks::ChatMeHooks),
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
        // With a Stripe key the clinic pays before production, and payments
        // holds the money until delivery (it reacts to the market's moves).
        payment_first: config.payments.stripe_secret_key.is_some(),
        hooks: Arc::new(dentex_payments::hooks::PaymentOrderHooks {
            auto_release_days: config.payments.auto_release_days,
        }),
    };
    (accounts, cases, market)
}

/// Chat's state, with this process's event hub (its task ends with
/// `shutdown`, and so does every open stream).
fn chat_state(
    config: &Config,
    core: &Core,
    audit: &AuditLog,
    queue: &Queue,
    (cases, accounts): (&dentex_cases::CasesState, &AccountsState),
    shutdown: &CancellationToken,
) -> dentex_chat::ChatState {
    let hub = dentex_events::Hub::start(
        core.db.clone(),
        Arc::new(dentex_cases::access::CaseGate {
            sessions: accounts.sessions,
        }),
        dentex_events::HubConfig {
            buffer: config.events.buffer,
            poll: Duration::from_millis(config.events.poll_ms),
        },
        shutdown.clone(),
    );
    dentex_chat::ChatState {
        db: core.db.clone(),
        audit: audit.clone(),
        queue: queue.clone(),
        cases: cases.clone(),
        accounts: accounts.clone(),
        hub,
        config: dentex_chat::ChatConfig {
            notify_after: Duration::from_secs(config.chat.notify_after_secs),
            keep_alive: Duration::from_secs(config.events.keep_alive_secs),
            keep: Duration::from_secs(config.events.keep_secs),
            ..dentex_chat::ChatConfig::default()
        },
    }
}

/// Payments' state: Stripe's client when a secret key is configured
/// (manual mode otherwise).
fn payments_state(
    config: &Config,
    core: &Core,
    audit: &AuditLog,
    queue: &Queue,
    market: &dentex_market::MarketState,
) -> anyhow::Result<dentex_payments::PaymentsState> {
    use secrecy::ExposeSecret;
    let p = &config.payments;
    let stripe = match &p.stripe_secret_key {
        Some(k) => Some(
            dentex_payments::stripe::StripeApi::new(
                k.expose_secret(),
                &p.stripe_api_base,
                Duration::from_secs(p.timeout_secs),
            )
            .map_err(|e| anyhow::anyhow!("payments.stripe_secret_key: {e}"))?,
        ),
        None => None,
    };
    let webhook_secrets = [&p.webhook_secret, &p.webhook_secret_previous, &p.connect_webhook_secret]
        .into_iter()
        .flatten()
        .map(|s| s.expose_secret().to_owned())
        .collect();
    Ok(dentex_payments::PaymentsState {
        db: core.db.clone(),
        audit: audit.clone(),
        queue: queue.clone(),
        market: market.clone(),
        stripe,
        config: Arc::new(dentex_payments::PaymentsConfig {
            fee_bps: p.fee_bps,
            fee_min_minor: p.fee_min_minor,
            auto_release_days: p.auto_release_days,
            hold_alert_days: p.hold_alert_days,
            webhook_secrets,
            app_base_url: config
                .http
                .app_base_url
                .clone()
                .unwrap_or_else(|| config.http.public_base_url.clone()),
            support_email: p.support_email.clone(),
        }),
    })
}

/// What every handler may reach: the configuration and the shared parts.
fn app_state(config: &Config, core: &Core, queue: &Queue, audit: &AuditLog) -> AppState {
    AppState {
        config: Arc::new(config.clone()),
        db: core.db.clone(),
        store: core.store.clone(),
        queue: queue.clone(),
        audit: audit.clone(),
        metrics: Arc::new(Metrics::default()),
    }
}

/// Privacy's state: the accounts below it, the process's pseudonym key,
/// and the mailer for the one mail that is not queued.
fn privacy_state(
    config: &Config,
    core: &Core,
    (audit, queue): (&AuditLog, &Queue),
    accounts: &AccountsState,
    pseudonyms: dentex_http::Pseudonyms,
) -> dentex_privacy::PrivacyState {
    dentex_privacy::PrivacyState {
        db: core.db.clone(),
        audit: audit.clone(),
        queue: queue.clone(),
        store: core.store.clone(),
        accounts: accounts.clone(),
        pseudonyms,
        mailer: core.mailer.clone(),
        config: Arc::new(dentex_privacy::PrivacyConfig {
            support_email: config
                .privacy
                .support_email
                .clone()
                .or_else(|| config.payments.support_email.clone()),
            fresh_sign_in: Duration::from_secs(config.privacy.fresh_sign_in_secs),
            backup_expiry_days: config.privacy.backup_expiry_days,
        }),
    }
}

/// The sweeps' schedules and the job workers, when this process runs jobs.
fn start_jobs(
    config: &Config,
    core: &Core,
    features: (&dentex_payments::PaymentsState, &dentex_privacy::PrivacyState),
    queue: Queue,
    shutdown: &CancellationToken,
) -> Option<tokio::task::JoinHandle<()>> {
    if config.jobs.workers == 0 {
        return None;
    }
    schedule_sweeps(config, &queue, shutdown);
    Some(spawn_job_workers(
        config,
        (&core.mailer, &core.db, &core.store),
        features,
        queue,
        shutdown,
    ))
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
        let state = app_state(&config, &core, &queue, &audit);
        let mfa_keys = Arc::new(config.mfa_keys()?);
        let pseudonyms = config.pseudonyms()?;
        let (accounts, cases, market) = feature_states(&config, &core, &audit, &queue, mfa_keys);
        let shutdown = CancellationToken::new();
        let chat = chat_state(&config, &core, &audit, &queue, (&cases, &accounts), &shutdown);
        let payments = payments_state(&config, &core, &audit, &queue, &market)?;
        let privacy = privacy_state(&config, &core, (&audit, &queue), &accounts, pseudonyms.clone());
        let workers = start_jobs(&config, &core, (&payments, &privacy), queue, &shutdown);

        let state_data = web::Data::new(state.clone());
        let accounts_data = web::Data::new(accounts);
        let cases_data = web::Data::new(cases);
        let market_data = web::Data::new(market);
        let chat_data = web::Data::new(chat);
        let payments_data = web::Data::new(payments);
        let privacy_data = web::Data::new(privacy);
        let ip_source = web::Data::new(dentex_http::ClientIpSource {
            header: config.http.client_ip_header.clone().map(|h| h.to_ascii_lowercase()),
            pseudonyms: Some(pseudonyms),
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
                    .app_data(chat_data.clone())
                    .app_data(payments_data.clone())
                    .app_data(privacy_data.clone())
                    .app_data(ip_source.clone())
                    .app_data(web::Data::new(pages::Served(serve_pages)))
                    .app_data(dentex_http::JsonLimit(json_limit))
                    .app_data(web::PayloadConfig::default().limit(json_limit))
                    .app_data(web::PathConfig::default().error_handler(|_, _| ApiError::not_found().into()))
                    .app_data(query_config())
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

/// Unknown address: 404; known address with another method: 405 with `Allow`.
/// Every API route, each declared once: the server is built with this, and the
/// OpenAPI document is collected from it (`docs::publish`).
pub fn routes(cfg: &mut utoipa_actix_web::service_config::ServiceConfig) {
    cfg.service(health::healthz)
        .service(health::readyz)
        .service(docs::openapi_json)
        .configure(dentex_accounts::configure)
        .configure(dentex_cases::configure)
        .configure(dentex_market::configure)
        .configure(dentex_chat::configure)
        .configure(dentex_payments::configure)
        .configure(dentex_privacy::configure);
}

/// A query string that does not parse: 400 `invalid_query`.
fn query_config() -> web::QueryConfig {
    web::QueryConfig::default().error_handler(|e, _| {
        ApiError::new(
            &dentex_http::codes::INVALID_QUERY,
            format!("The query string is invalid: {e}"),
        )
        .into()
    })
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
