//! Chat and the live event stream under load (issue #15), three parts:
//!
//! - `fanout`: 1,000 open SSE connections on one process (the release
//!   build of the server in this process; the connections in a child
//!   process, this binary run again, so the server's resident memory is
//!   measured alone): resident memory per idle connection, and post →
//!   delivery latency to all of them (p50, p99, max) over a series of
//!   messages, each posted after the one before reached everyone.
//! - `processes` (PostgreSQL only): a message posted on this process, its
//!   event received by a client of a second gateway process (the release
//!   `dentex` binary, `cargo build --release -p dentex-gateway` first):
//!   p50/p99 over a series.
//! - `page`: a page of 50 messages in a thread of 100,000, with 1,000,000
//!   messages in the table (seeded in bulk): the newest page and a page in
//!   the middle, median and p99 over HTTP, beside `/healthz` in the same run.
//!
//! `cargo bench -p dentex-tests --bench live` (SQLite), with
//! `DENTEX_TEST_POSTGRES_URL` for PostgreSQL; `DENTEX_LIVE_PARTS=fanout,page`
//! picks parts, `DENTEX_LIVE_CONNECTIONS` (1000), `DENTEX_LIVE_POSTS` (50),
//! `DENTEX_LIVE_MESSAGES` (1000000) size them.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    reason = "a benchmark stops at the first surprise"
)]

use dentex_tests::setup::market::Market;
use dentex_tests::setup::{call, json_of};
use futures_util::StreamExt;
use reqwest::Method;
use sea_orm::ConnectionTrait;
use serde_json::json;
use std::io::{BufRead, BufReader, Write};
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

fn env_or<T: std::str::FromStr>(key: &str, default: T) -> T {
    std::env::var(key).ok().and_then(|v| v.parse().ok()).unwrap_or(default)
}

fn rss_kib() -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap();
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .unwrap()
}

fn pct(sorted: &[f64], p: f64) -> f64 {
    if sorted.is_empty() {
        return f64::NAN;
    }
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[i.min(sorted.len() - 1)]
}

fn summary(mut ms: Vec<f64>) -> String {
    ms.sort_by(f64::total_cmp);
    format!(
        "n={} p50={:.2} ms p99={:.2} ms max={:.2} ms",
        ms.len(),
        pct(&ms, 0.5),
        pct(&ms, 0.99),
        ms.last().copied().unwrap_or(f64::NAN)
    )
}

fn main() {
    dentex_gateway::install_crypto_provider();
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap();
    if std::env::var("DENTEX_LIVE_CHILD").is_ok() {
        rt.block_on(child());
        return;
    }
    let parts = std::env::var("DENTEX_LIVE_PARTS").unwrap_or_else(|_| "fanout,processes,page".into());
    rt.block_on(async {
        let db = if std::env::var("DENTEX_TEST_POSTGRES_URL").is_ok() {
            "PostgreSQL"
        } else {
            "SQLite"
        };
        println!("live benchmark on {db}");
        if parts.contains("fanout") {
            fanout().await;
        }
        if parts.contains("processes") {
            processes().await;
        }
        if parts.contains("page") {
            page().await;
        }
    });
}

async fn a_thread(m: &Market) -> String {
    let r = call(
        &m.app,
        Method::GET,
        &format!("/api/v1/cases/{}/threads", m.case),
        &m.a,
        None,
    )
    .await;
    json_of(r).await["items"][0]["id"].as_str().unwrap().to_owned()
}

/// Part 1, the server's side: the world, the child's connections, the memory.
async fn fanout() {
    let n: usize = env_or("DENTEX_LIVE_CONNECTIONS", 1000);
    let posts: usize = env_or("DENTEX_LIVE_POSTS", 50);
    let m = Market::new().await;
    let thread = a_thread(&m).await;
    // Warm: one stream and one message, so that what follows is per connection.
    let mut warm = dentex_tests::sse::Client::connect(&m.app.direct_base, "", Some(&m.clinic.token), None).await;
    call(
        &m.app,
        Method::POST,
        &format!("/api/v1/threads/{thread}/messages"),
        &m.a,
        Some(json!({"body": "warm"})),
    )
    .await;
    warm.next_of("message.created", Duration::from_secs(10))
        .await
        .expect("warm-up event");
    drop(warm);
    tokio::time::sleep(Duration::from_secs(1)).await;
    let before = rss_kib();
    let mut child = Command::new(std::env::current_exe().unwrap())
        .env("DENTEX_LIVE_CHILD", "1")
        .env("DENTEX_LIVE_URL", &m.app.direct_base)
        .env("DENTEX_LIVE_READER", &m.clinic.token)
        .env("DENTEX_LIVE_WRITER", &m.a.token)
        .env("DENTEX_LIVE_THREAD", &thread)
        .env("DENTEX_LIVE_CONNECTIONS", n.to_string())
        .env("DENTEX_LIVE_POSTS", posts.to_string())
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let mut out = BufReader::new(child.stdout.take().unwrap()).lines();
    let mut stdin = child.stdin.take().unwrap();
    let line = tokio::task::spawn_blocking(move || {
        let l = out.next().unwrap().unwrap();
        (l, out)
    });
    let (connected, mut out) = line.await.unwrap();
    assert_eq!(connected, "CONNECTED");
    tokio::time::sleep(Duration::from_secs(2)).await;
    let after = rss_kib();
    println!(
        "fanout: {n} idle SSE connections: server RSS {before} KiB -> {after} KiB, {:.1} KiB per connection (goal <= 64), subscribers in the hub: {}",
        (after.saturating_sub(before)) as f64 / n as f64,
        n
    );
    writeln!(stdin, "GO").unwrap();
    let result = tokio::task::spawn_blocking(move || out.next().unwrap().unwrap())
        .await
        .unwrap();
    println!("fanout: post -> delivery to all {n}: {result} (goal p99 < 50 ms)");
    let _ = child.wait();
    m.app.stop().await;
}

/// Part 1, the clients' side (this binary run again).
async fn child() {
    let url = std::env::var("DENTEX_LIVE_URL").unwrap();
    let reader = std::env::var("DENTEX_LIVE_READER").unwrap();
    let writer = std::env::var("DENTEX_LIVE_WRITER").unwrap();
    let thread = std::env::var("DENTEX_LIVE_THREAD").unwrap();
    let n: usize = env_or("DENTEX_LIVE_CONNECTIONS", 1000);
    let posts: usize = env_or("DENTEX_LIVE_POSTS", 50);
    let client = reqwest::Client::builder().pool_max_idle_per_host(0).build().unwrap();
    let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel::<(i64, Instant)>();
    let open = Arc::new(AtomicUsize::new(0));
    for _ in 0..n {
        let (client, url, reader, tx, open) = (client.clone(), url.clone(), reader.clone(), tx.clone(), open.clone());
        tokio::spawn(async move {
            let r = client
                .get(format!("{url}/api/v1/events"))
                .bearer_auth(&reader)
                .send()
                .await
                .unwrap();
            let mut body = r.bytes_stream();
            let mut buf = String::new();
            let mut counted = false;
            while let Some(Ok(chunk)) = body.next().await {
                if !counted {
                    open.fetch_add(1, Ordering::SeqCst);
                    counted = true;
                }
                buf.push_str(&String::from_utf8_lossy(&chunk));
                while let Some(end) = buf.find("\n\n") {
                    let frame: String = buf.drain(..end + 2).collect();
                    if frame.contains("event: message.created")
                        && let Some(data) = frame.lines().find_map(|l| l.strip_prefix("data: "))
                    {
                        let v: serde_json::Value = serde_json::from_str(data).unwrap();
                        let _ = tx.send((v["seq"].as_i64().unwrap(), Instant::now()));
                    }
                }
            }
        });
    }
    while open.load(Ordering::SeqCst) < n {
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    println!("CONNECTED");
    let mut go = String::new();
    std::io::stdin().read_line(&mut go).unwrap();
    let mut ms = Vec::with_capacity(n * posts);
    for i in 0..posts {
        let t0 = Instant::now();
        let r = client
            .post(format!("{url}/api/v1/threads/{thread}/messages"))
            .bearer_auth(&writer)
            .json(&json!({"body": format!("fan-out {i}")}))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 201);
        let seq = r.json::<serde_json::Value>().await.unwrap()["seq"].as_i64().unwrap();
        let mut got = 0;
        while got < n {
            let (s, at) = tokio::time::timeout(Duration::from_secs(30), rx.recv())
                .await
                .unwrap()
                .unwrap();
            if s == seq {
                ms.push(at.duration_since(t0).as_secs_f64() * 1000.0);
                got += 1;
            }
        }
    }
    println!("{}", summary(ms));
}

/// Part 2: this process and the release binary over one PostgreSQL.
async fn processes() {
    let m = Market::new().await;
    if !m.app.is_postgres() {
        println!("processes: PostgreSQL only (set DENTEX_TEST_POSTGRES_URL)");
        return;
    }
    let exe = std::env::current_exe().unwrap();
    let bin = exe.parent().and_then(|d| d.parent()).unwrap().join("dentex");
    if !bin.exists() {
        println!(
            "processes: {} is missing: cargo build --release -p dentex-gateway",
            bin.display()
        );
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let mut other = Command::new(&bin)
        .args(["serve", "--addr", "127.0.0.1:0", "--data-dir"])
        .arg(dir.path())
        .env_remove("DENTEX_TEST_POSTGRES_URL")
        // This benchmark's own settings are not the server's (it refuses
        // unknown DENTEX_ keys).
        .env_remove("DENTEX_LIVE_PARTS")
        .env_remove("DENTEX_LIVE_POSTS")
        .env_remove("DENTEX_LIVE_CONNECTIONS")
        .env_remove("DENTEX_LIVE_MESSAGES")
        .env("DENTEX_DATABASE__URL", m.app.database_url())
        .env("DENTEX_AUTH__MFA_KEY", m.app.mfa_key())
        .env("DENTEX_METRICS__ADDR", "127.0.0.1:0")
        .env("DENTEX_JOBS__WORKERS", "0")
        .env("DENTEX_LOG__FILTER", "warn")
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(other.stdout.take().unwrap()).lines();
    let url = lines
        .next()
        .unwrap()
        .unwrap()
        .strip_prefix("listening on ")
        .unwrap()
        .to_owned();
    std::thread::spawn(move || for _ in lines {});
    let thread = a_thread(&m).await;
    let mut remote = dentex_tests::sse::Client::connect(&url, "", Some(&m.clinic.token), None).await;
    tokio::time::sleep(Duration::from_millis(500)).await;
    let posts: usize = env_or("DENTEX_LIVE_POSTS", 50) * 4;
    let mut ms = Vec::new();
    for i in 0..posts {
        let t0 = Instant::now();
        let r = call(
            &m.app,
            Method::POST,
            &format!("/api/v1/threads/{thread}/messages"),
            &m.a,
            Some(json!({"body": format!("p{i}")})),
        )
        .await;
        let seq = json_of(r).await["seq"].as_i64().unwrap();
        loop {
            let e = remote
                .next_of("message.created", Duration::from_secs(10))
                .await
                .expect("delivered");
            if e.data["seq"].as_i64() == Some(seq) {
                ms.push(t0.elapsed().as_secs_f64() * 1000.0);
                break;
            }
        }
    }
    println!(
        "processes: post on one process -> delivery on the other: {} (goal p99 < 50 ms)",
        summary(ms)
    );
    let _ = other.kill();
    let _ = other.wait();
    m.app.stop().await;
}

/// Part 3: a page of 50 in a thread of 100,000 among 1,000,000 messages.
async fn page() {
    let total: usize = env_or("DENTEX_LIVE_MESSAGES", 1_000_000);
    let m = Market::new().await;
    let threads = {
        let mut t = Vec::new();
        for lab in [&m.a, &m.b, &m.c] {
            let r = call(
                &m.app,
                Method::GET,
                &format!("/api/v1/cases/{}/threads", m.case),
                lab,
                None,
            )
            .await;
            t.push(json_of(r).await["items"][0]["id"].as_str().unwrap().to_owned());
        }
        t
    };
    let target = threads[0].clone();
    let per_target = total / 10;
    let start = Instant::now();
    seed(&m, &threads, per_target, total).await;
    println!(
        "page: seeded {total} messages ({per_target} in the measured thread) in {:.1} s",
        start.elapsed().as_secs_f64()
    );
    let token = m.a.token.clone();
    let client = reqwest::Client::new();
    let time = |path: String| {
        let (client, token, base) = (client.clone(), token.clone(), m.app.direct_base.clone());
        async move {
            let mut ms = Vec::new();
            for i in 0..220 {
                let t0 = Instant::now();
                let r = client
                    .get(format!("{base}{path}"))
                    .bearer_auth(&token)
                    .send()
                    .await
                    .unwrap();
                assert_eq!(r.status(), 200);
                let _ = r.bytes().await.unwrap();
                if i >= 20 {
                    ms.push(t0.elapsed().as_secs_f64() * 1000.0);
                }
            }
            ms
        }
    };
    let health = time("/healthz".into()).await;
    let newest = time(format!("/api/v1/threads/{target}/messages?limit=50")).await;
    let middle = time(format!(
        "/api/v1/threads/{target}/messages?limit=50&before={}",
        per_target / 2
    ))
    .await;
    let med = |v: &[f64]| {
        let mut s = v.to_vec();
        s.sort_by(f64::total_cmp);
        pct(&s, 0.5)
    };
    println!("page: /healthz (baseline): {}", summary(health.clone()));
    println!(
        "page: newest 50: {} ({:.1}x /healthz's median; goal median < 5 ms)",
        summary(newest.clone()),
        med(&newest) / med(&health)
    );
    println!(
        "page: 50 in the middle: {} ({:.1}x /healthz's median)",
        summary(middle.clone()),
        med(&middle) / med(&health)
    );
    m.app.stop().await;
}

/// Bulk rows: `per_target` messages in the first thread, the rest spread
/// over the others, 500 rows a statement, in transactions of 100,000.
async fn seed(m: &Market, threads: &[String], per_target: usize, total: usize) {
    let db = &m.app.state.db;
    let backend = db.get_database_backend();
    let sender = uuid::Uuid::parse_str(&m.a.user_id).unwrap();
    let org = uuid::Uuid::parse_str(&m.a.org_id).unwrap();
    let mut plan: Vec<(uuid::Uuid, usize)> = vec![(uuid::Uuid::parse_str(&threads[0]).unwrap(), per_target)];
    let rest = total - per_target;
    for t in &threads[1..] {
        plan.push((uuid::Uuid::parse_str(t).unwrap(), rest / (threads.len() - 1)));
    }
    let now = dentex_db::now();
    for (thread, count) in plan {
        let mut seq = 0i64;
        while (seq as usize) < count {
            let txn = dentex_db::begin_write(db).await.unwrap();
            for _ in 0..200 {
                if seq as usize >= count {
                    break;
                }
                let n = (count - seq as usize).min(500);
                let mut sql = String::from(
                    "INSERT INTO chat_messages (id, thread_id, seq, sender_user_id, sender_org_id, kind, body, created_at) VALUES ",
                );
                let mut values: Vec<sea_orm::Value> = Vec::with_capacity(n * 8);
                for k in 0..n {
                    let b = values.len();
                    if k > 0 {
                        sql.push(',');
                    }
                    sql.push_str(&format!(
                        "(${},${},${},${},${},${},${},${})",
                        b + 1,
                        b + 2,
                        b + 3,
                        b + 4,
                        b + 5,
                        b + 6,
                        b + 7,
                        b + 8
                    ));
                    seq += 1;
                    values.extend([
                        uuid::Uuid::now_v7().into(),
                        thread.into(),
                        seq.into(),
                        sender.into(),
                        org.into(),
                        "text".into(),
                        format!("seeded message {seq}, a sentence of ordinary length about margins and shades").into(),
                        now.into(),
                    ]);
                }
                txn.execute_raw(dentex_db::stmt(backend, &sql, values)).await.unwrap();
            }
            txn.commit().await.unwrap();
        }
        txn_set_last(db, thread, count as i64).await;
    }
    if backend == sea_orm::DatabaseBackend::Postgres {
        db.execute_unprepared("ANALYZE chat_messages").await.unwrap();
    } else {
        db.execute_unprepared("ANALYZE").await.unwrap();
    }
}

async fn txn_set_last(db: &sea_orm::DatabaseConnection, thread: uuid::Uuid, last: i64) {
    db.execute_raw(dentex_db::stmt(
        db.get_database_backend(),
        "UPDATE chat_threads SET last_seq = $2, last_message_at = $3 WHERE id = $1",
        vec![thread.into(), last.into(), dentex_db::now().into()],
    ))
    .await
    .unwrap();
}
