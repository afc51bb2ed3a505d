//! The jobs of a gateway process: the handler of every job kind, the
//! workers that run them, and the sweeps every process keeps scheduled.

use crate::config::Config;
use crate::config::case_limits;
use dentex_jobs::{JobFailure, Queue, Registry, RetryPolicy, WorkerConfig};
use dentex_mail::{Mailer, OutgoingMail};
use std::sync::Arc;
use std::time::Duration;
use tokio_util::sync::CancellationToken;

/// Job kind that delivers one [`OutgoingMail`].
pub const JOB_MAIL_SEND: &str = dentex_mail::JOB_KIND;

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
    let sweep_accounts_db = db.clone();
    r.register(dentex_accounts::sweep::JOB_KIND, move |_ctx| {
        let db = sweep_accounts_db.clone();
        async move {
            let today = chrono::Utc::now().date_naive();
            dentex_accounts::sweep::run(&db, today, notice_days)
                .await
                .map_err(|e| JobFailure(e.to_string()))?;
            Ok(())
        }
    });
    register_live_jobs(&mut r, &db, config);
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

/// The live events' purge and chat's notices.
fn register_live_jobs(r: &mut Registry, db: &sea_orm::DatabaseConnection, config: &Config) {
    let (events_db, keep) = (db.clone(), Duration::from_secs(config.events.keep_secs));
    r.register(dentex_events::PURGE_JOB, move |_ctx| {
        let db = events_db.clone();
        async move {
            dentex_events::purge::run(&db, keep)
                .await
                .map_err(|e| JobFailure(e.to_string()))?;
            dentex_chat::service::live::purge_tickets(&db)
                .await
                .map_err(|e| JobFailure(e.to_string()))?;
            Ok(())
        }
    });
    let (notice_db, notify_after) = (db.clone(), Duration::from_secs(config.chat.notify_after_secs));
    let base = config
        .http
        .app_base_url
        .clone()
        .unwrap_or_else(|| config.http.public_base_url.clone());
    r.register(dentex_chat::notices::JOB, move |_ctx| {
        let (db, base) = (notice_db.clone(), base.clone());
        async move {
            dentex_chat::notices::run(&db, notify_after, &base)
                .await
                .map_err(|e| JobFailure(e.to_string()))?;
            Ok(())
        }
    });
}

/// Privacy's jobs: an erasure, the daily look at deadlines and held erasures.
fn register_privacy_jobs(r: &mut Registry, privacy: &dentex_privacy::PrivacyState) {
    use dentex_privacy::service::{deadlines, erasure};
    let fail = |e: dentex_http::ApiError| JobFailure(format!("{e:?}"));
    let state = privacy.clone();
    r.register(erasure::JOB, move |ctx| {
        let state = state.clone();
        async move {
            let job: erasure::Job =
                serde_json::from_value(ctx.payload).map_err(|e| JobFailure(format!("bad payload: {e}")))?;
            erasure::run(&state, job.request_id).await.map_err(fail)
        }
    });
    let state = privacy.clone();
    r.register(deadlines::JOB, move |_ctx| {
        let state = state.clone();
        async move {
            let d = deadlines::daily(&state, chrono::Utc::now()).await.map_err(fail)?;
            tracing::info!(
                flagged = d.flagged.len(),
                retried = d.retried.len(),
                "privacy deadlines looked at"
            );
            Ok(())
        }
    });
}

/// Payments' jobs: an event applied, an order's money released, a refund
/// carried out, the hourly sweep.
fn register_payment_jobs(r: &mut Registry, payments: &dentex_payments::PaymentsState) {
    use dentex_payments::service::{apply, pay, refund, release, sweep};
    let fail = |e: dentex_http::ApiError| JobFailure(format!("{e:?}"));
    let state = payments.clone();
    r.register(apply::JOB, move |ctx| {
        let state = state.clone();
        async move {
            let job: apply::Job =
                serde_json::from_value(ctx.payload).map_err(|e| JobFailure(format!("bad payload: {e}")))?;
            apply::apply(&state, &job.event_id).await.map_err(fail)
        }
    });
    let state = payments.clone();
    r.register(release::JOB, move |ctx| {
        let state = state.clone();
        async move {
            let job: release::Job =
                serde_json::from_value(ctx.payload).map_err(|e| JobFailure(format!("bad payload: {e}")))?;
            let outcome = release::release(&state, job.order_id).await.map_err(fail)?;
            tracing::info!(order.id = %job.order_id, outcome = ?outcome, "release looked at");
            Ok(())
        }
    });
    let state = payments.clone();
    r.register(refund::JOB, move |ctx| {
        let state = state.clone();
        async move {
            let job: refund::Job =
                serde_json::from_value(ctx.payload).map_err(|e| JobFailure(format!("bad payload: {e}")))?;
            match refund::run(&state, job.refund_id).await {
                Ok(_) => Ok(()),
                // Stripe refused it: the operation is over (`failed`), not retried.
                Err(_) if refund::is_over(&state, job.refund_id).await.map_err(fail)? => Ok(()),
                Err(e) => Err(fail(e)),
            }
        }
    });
    let state = payments.clone();
    r.register(refund::CANCELLED_JOB, move |ctx| {
        let state = state.clone();
        async move {
            let job: refund::CancelledJob =
                serde_json::from_value(ctx.payload).map_err(|e| JobFailure(format!("bad payload: {e}")))?;
            refund::refund_cancelled(&state, job.order_id).await.map_err(fail)
        }
    });
    let state = payments.clone();
    r.register(pay::CANCEL_JOB, move |ctx| {
        let state = state.clone();
        async move {
            let job: pay::CancelJob =
                serde_json::from_value(ctx.payload).map_err(|e| JobFailure(format!("bad payload: {e}")))?;
            pay::cancel_open(&state, job.order_id).await.map_err(fail)
        }
    });
    let state = payments.clone();
    r.register(sweep::JOB, move |_ctx| {
        let state = state.clone();
        async move {
            let done = sweep::run(&state).await.map_err(fail)?;
            tracing::info!(
                released = done.released,
                alerted = done.alerted,
                recovered = done.recovered,
                retried = done.retried,
                "payments swept"
            );
            Ok(())
        }
    });
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

/// The sweeps every gateway schedules (each runs once, whoever queues it).
pub(crate) fn schedule_sweeps(config: &Config, queue: &Queue, shutdown: &CancellationToken) {
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
    tokio::spawn(schedule_daily(
        queue.clone(),
        dentex_privacy::service::deadlines::JOB,
        (config.credentials.sweep_hour_utc + 2) % 24,
        shutdown.clone(),
    ));
    tokio::spawn(schedule_every(
        queue.clone(),
        dentex_cases::sweep::UPLOADS_JOB,
        Duration::from_secs(3600),
        shutdown.clone(),
    ));
    tokio::spawn(schedule_every(
        queue.clone(),
        dentex_payments::service::sweep::JOB,
        Duration::from_secs(3600),
        shutdown.clone(),
    ));
    tokio::spawn(schedule_every(
        queue.clone(),
        dentex_events::PURGE_JOB,
        Duration::from_secs(3600),
        shutdown.clone(),
    ));
    // Notices are due `chat.notify_after_secs` after a message: look a few
    // times per window (at least every minute).
    let every = Duration::from_secs((config.chat.notify_after_secs / 4).clamp(1, 60));
    tokio::spawn(schedule_every(
        queue.clone(),
        dentex_chat::notices::JOB,
        every,
        shutdown.clone(),
    ));
}

/// The job workers of this process, with every kind of job registered.
pub(crate) fn spawn_job_workers(
    config: &Config,
    (mailer, db, store): (&Mailer, &sea_orm::DatabaseConnection, &dentex_storage::ObjectStore),
    (payments, privacy): (&dentex_payments::PaymentsState, &dentex_privacy::PrivacyState),
    queue: Queue,
    shutdown: &CancellationToken,
) -> tokio::task::JoinHandle<()> {
    let mut registry = job_registry(mailer.clone(), db.clone(), store.clone(), config);
    register_payment_jobs(&mut registry, payments);
    register_privacy_jobs(&mut registry, privacy);
    dentex_jobs::spawn_workers(
        config.jobs.workers,
        queue,
        Arc::new(registry),
        worker_config(config),
        shutdown.clone(),
    )
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
