//! The durable queue on a real database: SQLite by default, PostgreSQL when
//! `DENTEX_TEST_POSTGRES_URL` is set.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    reason = "a test fails loudly at the first surprise"
)]

use dentex_db::testing::TestDatabase;
use dentex_jobs::*;
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio_util::sync::CancellationToken;

fn fast() -> WorkerConfig {
    WorkerConfig {
        poll_interval: Duration::from_millis(20),
        lease: Duration::from_secs(30),
        shutdown_grace: Duration::from_millis(100),
        retry: RetryPolicy {
            base: Duration::from_millis(10),
            max: Duration::from_millis(50),
        },
    }
}

async fn wait_until<F: Fn() -> bool>(f: F, secs: u64) {
    let deadline = std::time::Instant::now() + Duration::from_secs(secs);
    while !f() {
        assert!(std::time::Instant::now() < deadline, "condition not met within {secs}s");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

async fn status_of(q: &Queue, id: dentex_domain::JobId) -> String {
    q.get(id).await.unwrap().unwrap().status
}

#[tokio::test]
async fn a_job_runs_once_and_is_marked_done() {
    let (_t, db) = TestDatabase::migrated().await.unwrap();
    let q = Queue::new(db);
    let id = q
        .enqueue("greet", &serde_json::json!({"n": 7}), EnqueueOptions::default())
        .await
        .unwrap();
    let seen = Arc::new(Mutex::new(Vec::new()));
    let mut reg = Registry::new();
    let s = seen.clone();
    reg.register("greet", move |ctx| {
        let s = s.clone();
        async move {
            s.lock().unwrap().push(ctx.payload["n"].as_i64().unwrap());
            Ok(())
        }
    });
    let stop = CancellationToken::new();
    let h = spawn_workers(1, q.clone(), Arc::new(reg), fast(), stop.clone());
    wait_until(|| !seen.lock().unwrap().is_empty(), 10).await;
    for _ in 0..50 {
        if status_of(&q, id).await == STATUS_DONE {
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    stop.cancel();
    h.await.unwrap();
    assert_eq!(*seen.lock().unwrap(), vec![7]);
    let job = q.get(id).await.unwrap().unwrap();
    assert_eq!(job.status, STATUS_DONE);
    assert_eq!(job.attempts, 1);
    assert_eq!(job.locked_by, None);
}

#[tokio::test]
async fn failures_retry_with_backoff_then_go_dead() {
    let (_t, db) = TestDatabase::migrated().await.unwrap();
    let q = Queue::new(db);
    let id = q
        .enqueue(
            "flaky",
            &serde_json::json!({}),
            EnqueueOptions {
                max_attempts: 3,
                ..Default::default()
            },
        )
        .await
        .unwrap();
    let policy = RetryPolicy {
        base: Duration::from_secs(60),
        max: Duration::from_secs(600),
    };
    // Attempt 1 fails: back to the queue, not due for about a minute.
    let job = q.claim("w1", Duration::from_secs(30)).await.unwrap().unwrap();
    assert_eq!(job.attempts, 1);
    assert!(q.fail(&job, "w1", "smtp refused", &policy).await.unwrap());
    let after = q.get(id).await.unwrap().unwrap();
    assert_eq!(after.status, STATUS_QUEUED);
    assert_eq!(after.last_error.as_deref(), Some("smtp refused"));
    let wait = after.run_at - dentex_db::now();
    assert!(
        wait > chrono::Duration::seconds(50) && wait < chrono::Duration::seconds(80),
        "{wait}"
    );
    assert!(
        q.claim("w1", Duration::from_secs(30)).await.unwrap().is_none(),
        "not due yet"
    );

    // The delay doubles with each attempt, within the cap.
    assert!(policy.delay(2) >= Duration::from_secs(120) && policy.delay(2) <= Duration::from_secs(144));
    assert_eq!(policy.delay(20), Duration::from_secs(600));

    // Make it due again by hand and fail it twice more: then it is dead.
    let fast = RetryPolicy {
        base: Duration::ZERO,
        max: Duration::ZERO,
    };
    after_due(&q, id).await;
    let mut last = None;
    for _ in 0..2 {
        let job = q.claim("w1", Duration::from_secs(30)).await.unwrap().unwrap();
        q.fail(&job, "w1", "still refused", &fast).await.unwrap();
        last = Some(job.attempts);
    }
    assert_eq!(last, Some(3));
    let dead = q.get(id).await.unwrap().unwrap();
    assert_eq!(dead.status, STATUS_DEAD);
    assert_eq!(dead.last_error.as_deref(), Some("still refused"));
    assert!(q.claim("w1", Duration::from_secs(30)).await.unwrap().is_none());
    assert_eq!(q.list(Some(STATUS_DEAD), 10).await.unwrap().len(), 1);
}

/// Rewinds a queued job's run_at so that it is due now (test helper).
async fn after_due(q: &Queue, id: dentex_domain::JobId) -> dentex_db::entities::job::Model {
    use sea_orm::{ActiveModelTrait, IntoActiveModel, Set};
    let j = q.get(id).await.unwrap().unwrap();
    let mut am = j.clone().into_active_model();
    am.run_at = Set(dentex_db::now() - chrono::Duration::seconds(1));
    am.update(q.db()).await.unwrap()
}

#[tokio::test]
async fn jobs_survive_a_restart_and_expired_leases_are_taken_over() {
    let (t, db) = TestDatabase::migrated().await.unwrap();
    let q = Queue::new(db.clone());
    let waiting = q.enqueue("a", &1, EnqueueOptions::default()).await.unwrap();
    let orphan = q.enqueue("a", &2, EnqueueOptions::default()).await.unwrap();
    // A worker takes one job with a short lease and then "crashes" with the process.
    let taken = q
        .claim("dead-worker", Duration::from_millis(200))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(taken.id, waiting.0);
    db.close().await.unwrap();
    drop(q);

    // A new process opens the same database.
    let db2 = t.connect().await.unwrap();
    let q2 = Queue::new(db2);
    let ran = Arc::new(Mutex::new(Vec::new()));
    let mut reg = Registry::new();
    let r = ran.clone();
    reg.register("a", move |ctx| {
        let r = r.clone();
        async move {
            r.lock().unwrap().push(ctx.id);
            Ok(())
        }
    });
    let stop = CancellationToken::new();
    let h = spawn_workers(1, q2.clone(), Arc::new(reg), fast(), stop.clone());
    wait_until(|| ran.lock().unwrap().len() == 2, 10).await;
    stop.cancel();
    h.await.unwrap();
    let ran = ran.lock().unwrap().clone();
    assert!(ran.contains(&waiting) && ran.contains(&orphan), "{ran:?}");
    let w = q2.get(waiting).await.unwrap().unwrap();
    assert_eq!(w.attempts, 2, "the crashed attempt counts");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_workers_never_run_the_same_job() {
    let (_t, db) = TestDatabase::migrated().await.unwrap();
    let q = Queue::new(db);
    const N: usize = 120;
    for i in 0..N {
        q.enqueue("count", &i, EnqueueOptions::default()).await.unwrap();
    }
    let runs: Arc<Mutex<HashMap<uuid::Uuid, usize>>> = Arc::default();
    let mut reg = Registry::new();
    let r = runs.clone();
    reg.register("count", move |ctx| {
        let r = r.clone();
        async move {
            *r.lock().unwrap().entry(ctx.id.0).or_default() += 1;
            tokio::time::sleep(Duration::from_millis(2)).await;
            Ok(())
        }
    });
    let reg = Arc::new(reg);
    let stop = CancellationToken::new();
    // Four workers, as if spread over two processes.
    let h1 = spawn_workers(2, q.clone(), reg.clone(), fast(), stop.clone());
    let h2 = spawn_workers(2, q.clone(), reg.clone(), fast(), stop.clone());
    wait_until(|| runs.lock().unwrap().len() == N, 60).await;
    tokio::time::sleep(Duration::from_millis(200)).await;
    stop.cancel();
    h1.await.unwrap();
    h2.await.unwrap();
    let runs = runs.lock().unwrap().clone();
    assert_eq!(runs.len(), N);
    assert!(
        runs.values().all(|&n| n == 1),
        "some job ran twice: {:?}",
        runs.values().filter(|&&n| n > 1).count()
    );
    assert_eq!(q.list(Some(STATUS_DONE), 1000).await.unwrap().len(), N);
}

#[tokio::test]
async fn shutdown_hands_a_running_job_back_and_another_worker_finishes_it() {
    let (_t, db) = TestDatabase::migrated().await.unwrap();
    let q = Queue::new(db);
    let id = q.enqueue("slow", &(), EnqueueOptions::default()).await.unwrap();
    let started = Arc::new(Mutex::new(0));
    let mut reg = Registry::new();
    let s = started.clone();
    reg.register("slow", move |_| {
        let s = s.clone();
        async move {
            *s.lock().unwrap() += 1;
            tokio::time::sleep(Duration::from_secs(3600)).await;
            Ok(())
        }
    });
    let stop = CancellationToken::new();
    let h = spawn_workers(1, q.clone(), Arc::new(reg), fast(), stop.clone());
    wait_until(|| *started.lock().unwrap() == 1, 10).await;
    assert_eq!(status_of(&q, id).await, STATUS_RUNNING);
    stop.cancel();
    tokio::time::timeout(Duration::from_secs(5), h).await.unwrap().unwrap();
    let j = q.get(id).await.unwrap().unwrap();
    assert_eq!(j.status, STATUS_QUEUED);
    assert_eq!(j.attempts, 0, "an interrupted attempt is not counted");
    assert_eq!(j.locked_by, None);

    // Another process's worker picks it up at once.
    let mut reg2 = Registry::new();
    reg2.register("slow", |_| async { Ok(()) });
    let stop2 = CancellationToken::new();
    let h2 = spawn_workers(1, q.clone(), Arc::new(reg2), fast(), stop2.clone());
    for _ in 0..200 {
        if status_of(&q, id).await == STATUS_DONE {
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    stop2.cancel();
    h2.await.unwrap();
    assert_eq!(status_of(&q, id).await, STATUS_DONE);
}

#[tokio::test]
async fn a_job_without_a_handler_goes_dead_at_once() {
    let (_t, db) = TestDatabase::migrated().await.unwrap();
    let q = Queue::new(db);
    let id = q
        .enqueue("nobody.handles.this", &(), EnqueueOptions::default())
        .await
        .unwrap();
    let stop = CancellationToken::new();
    let h = spawn_workers(1, q.clone(), Arc::new(Registry::new()), fast(), stop.clone());
    for _ in 0..200 {
        if status_of(&q, id).await == STATUS_DEAD {
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    stop.cancel();
    h.await.unwrap();
    let j = q.get(id).await.unwrap().unwrap();
    assert_eq!(j.status, STATUS_DEAD);
    assert!(j.last_error.unwrap().contains("no handler"));
}
