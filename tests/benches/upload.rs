//! Issue #5's upload benchmark: a 200 MB binary STL uploaded through the
//! gateway (`POST /api/v1/cases/{case}/files`, streamed, SHA-256 and type
//! checked on the way) into the embedded S3 server, against a plain
//! aws-sdk-s3 multipart upload of the same bytes (8 MiB parts, one at a
//! time, as the gateway sends them) to the same server, in the same run.
//!
//! Prints, for each round, both throughputs and the process's resident-set
//! growth while the gateway upload ran (sampled every 2 ms from
//! `/proc/self/statm`; the gateway, its S3 server and this client share the
//! process, and the client makes the body on the fly, one 1 MiB chunk at a
//! time). Sampling stops when the gateway answers, before the scan's
//! analysis job (which holds the file) starts its work.
//!
//! `cargo bench -p dentex-tests --bench upload` (rounds: `DENTEX_BENCH_ROUNDS`, default 3).

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    reason = "a benchmark stops at the first surprise"
)]

use aws_sdk_s3::primitives::ByteStream;
use aws_sdk_s3::types::{CompletedMultipartUpload, CompletedPart};
use bytes::Bytes;
use dentex_tests::{Actor, TestApp};
use serde_json::{Value, json};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

const TRIANGLES: u64 = 3_999_998; // 84 + 50·n = 199,999,984 bytes
const CHUNK: usize = 1024 * 1024;
const PART: usize = 8 * 1024 * 1024;

fn size() -> u64 {
    84 + 50 * TRIANGLES
}

/// The STL's bytes from `offset`, `len` at most: a header, the count, then
/// unit triangles marching along x, made without holding the file.
fn stl_bytes(offset: u64, len: usize) -> Vec<u8> {
    let total = size();
    let end = (offset + len as u64).min(total);
    let mut out = Vec::with_capacity((end - offset) as usize);
    let mut pos = offset;
    while pos < end {
        if pos < 84 {
            let mut head = vec![b' '; 80];
            head.extend_from_slice(&u32::try_from(TRIANGLES).unwrap().to_le_bytes());
            let take = (84 - pos).min(end - pos) as usize;
            out.extend_from_slice(&head[pos as usize..pos as usize + take]);
            pos += take as u64;
            continue;
        }
        let t = (pos - 84) / 50;
        let within = ((pos - 84) % 50) as usize;
        let x = (t % 100_000) as f32 * 0.01;
        let y = (t / 100_000) as f32 * 0.01;
        let mut rec = Vec::with_capacity(50);
        for v in [[0.0f32, 0.0, 1.0], [x, y, 0.0], [x + 0.01, y, 0.0], [x, y + 0.01, 0.0]] {
            for c in v {
                rec.extend_from_slice(&c.to_le_bytes());
            }
        }
        rec.extend_from_slice(&[0, 0]);
        let take = (50 - within).min((end - pos) as usize);
        out.extend_from_slice(&rec[within..within + take]);
        pos += take as u64;
    }
    out
}

fn body_stream() -> impl futures_util::Stream<Item = Result<Bytes, std::io::Error>> {
    let total = size();
    futures_util::stream::unfold(0u64, move |off| async move {
        (off < total).then(|| (Ok(Bytes::from(stl_bytes(off, CHUNK))), off + CHUNK as u64))
    })
}

fn rss_bytes() -> u64 {
    let s = std::fs::read_to_string("/proc/self/statm").unwrap();
    let pages: u64 = s.split_whitespace().nth(1).unwrap().parse().unwrap();
    pages * 4096
}

/// Samples the resident set every 2 ms until stopped; returns the peak.
struct Sampler {
    stop: Arc<AtomicBool>,
    peak: Arc<AtomicU64>,
    thread: std::thread::JoinHandle<()>,
}

impl Sampler {
    fn start() -> Self {
        let stop = Arc::new(AtomicBool::new(false));
        let peak = Arc::new(AtomicU64::new(rss_bytes()));
        let (s, p) = (stop.clone(), peak.clone());
        let thread = std::thread::spawn(move || {
            while !s.load(Ordering::Relaxed) {
                p.fetch_max(rss_bytes(), Ordering::Relaxed);
                std::thread::sleep(Duration::from_millis(2));
            }
        });
        Self { stop, peak, thread }
    }

    fn finish(self) -> u64 {
        self.stop.store(true, Ordering::Relaxed);
        self.thread.join().unwrap();
        self.peak.load(Ordering::Relaxed).max(rss_bytes())
    }
}

async fn through_gateway(app: &TestApp, clinic: &Actor, case: &str) -> (Duration, u64, String) {
    let base = rss_bytes();
    let sampler = Sampler::start();
    let t = Instant::now();
    let r = app
        .client
        .post(app.url(&format!("/api/v1/cases/{case}/files")))
        .bearer_auth(&clinic.token)
        .header("content-type", "application/octet-stream")
        .header("content-length", size())
        .body(reqwest::Body::wrap_stream(body_stream()))
        .send()
        .await
        .unwrap();
    let took = t.elapsed();
    let peak = sampler.finish();
    assert_eq!(r.status(), 201);
    let v: Value = r.json().await.unwrap();
    assert_eq!(v["size_bytes"], size());
    (took, peak.saturating_sub(base), v["id"].as_str().unwrap().to_owned())
}

async fn direct(app: &TestApp, key: &str) -> Duration {
    let store = &app.state.store;
    let (sdk, bucket) = (store.sdk(), store.bucket());
    let t = Instant::now();
    let up = sdk
        .create_multipart_upload()
        .bucket(bucket)
        .key(key)
        .send()
        .await
        .unwrap();
    let id = up.upload_id().unwrap().to_owned();
    let mut parts = Vec::new();
    let mut off = 0u64;
    let mut n = 1;
    while off < size() {
        let data = Bytes::from(stl_bytes(off, PART));
        off += data.len() as u64;
        let out = sdk
            .upload_part()
            .bucket(bucket)
            .key(key)
            .upload_id(&id)
            .part_number(n)
            .content_length(data.len() as i64)
            .body(ByteStream::from(data))
            .send()
            .await
            .unwrap();
        parts.push(
            CompletedPart::builder()
                .part_number(n)
                .set_e_tag(out.e_tag().map(str::to_owned))
                .build(),
        );
        n += 1;
    }
    sdk.complete_multipart_upload()
        .bucket(bucket)
        .key(key)
        .upload_id(&id)
        .multipart_upload(CompletedMultipartUpload::builder().set_parts(Some(parts)).build())
        .send()
        .await
        .unwrap();
    t.elapsed()
}

fn mb_s(d: Duration) -> f64 {
    size() as f64 / 1e6 / d.as_secs_f64()
}

fn main() {
    let rounds: usize = std::env::var("DENTEX_BENCH_ROUNDS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(3);
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        let app = TestApp::builder()
            .config(|c| {
                c.cases.upload_max_bytes = 500 * 1024 * 1024;
                c.cases.org_quota_bytes = 50 * 1024 * 1024 * 1024;
            })
            .start()
            .await;
        let staff = app.support_agent("support@dentex.test").await;
        let clinic = app.verified_org(&staff, "bench@clinic.test", "clinic", &[]).await;
        let r = app
            .send(
                reqwest::Method::POST,
                "/api/v1/cases",
                Some(&clinic.token),
                Some(&json!({"patient_ref": "bench"})),
            )
            .await;
        assert_eq!(r.status(), 201);
        let case = r.json::<Value>().await.unwrap()["id"].as_str().unwrap().to_owned();

        // Warm both paths once (connections, allocator) before measuring.
        let (_, _, warm) = through_gateway(&app, &clinic, &case).await;
        delete_file(&app, &clinic, &case, &warm).await;
        direct(&app, "bench/warm").await;
        app.state.store.delete("bench/warm").await.unwrap();

        println!("200 MB binary STL ({} bytes), {rounds} round(s)", size());
        println!("round  gateway MB/s  direct MB/s  ratio  RSS growth during gateway upload");
        let mut ratios = Vec::new();
        let mut growths = Vec::new();
        for round in 1..=rounds {
            let (g, grew, file) = through_gateway(&app, &clinic, &case).await;
            // The analysis job must not share the CPU with the direct upload.
            wait_analysed(&app, &clinic, &case, &file).await;
            let d = direct(&app, "bench/direct").await;
            let ratio = d.as_secs_f64() / g.as_secs_f64();
            println!(
                "{round:>5}  {:>12.0}  {:>11.0}  {:>4.0} %  {:.1} MiB",
                mb_s(g),
                mb_s(d),
                ratio * 100.0,
                grew as f64 / 1048576.0
            );
            ratios.push(ratio);
            growths.push(grew);
            delete_file(&app, &clinic, &case, &file).await;
            app.state.store.delete("bench/direct").await.unwrap();
        }
        ratios.sort_by(f64::total_cmp);
        growths.sort_unstable();
        println!(
            "gateway/direct: {:.0}–{:.0} % (goal ≥ 70 %); RSS growth: {:.1}–{:.1} MiB (goal < 64 MiB)",
            ratios[0] * 100.0,
            ratios[ratios.len() - 1] * 100.0,
            growths[0] as f64 / 1048576.0,
            growths[growths.len() - 1] as f64 / 1048576.0
        );
        app.stop().await;
    });
}

async fn delete_file(app: &TestApp, clinic: &Actor, case: &str, file: &str) {
    wait_analysed(app, clinic, case, file).await;
    let r = app
        .send(
            reqwest::Method::DELETE,
            &format!("/api/v1/cases/{case}/files/{file}"),
            Some(&clinic.token),
            None,
        )
        .await;
    assert_eq!(r.status(), 204);
}

async fn wait_analysed(app: &TestApp, clinic: &Actor, case: &str, file: &str) {
    for _ in 0..600 {
        let v: Value = app
            .get_authed(&format!("/api/v1/cases/{case}/files/{file}"), &clinic.token)
            .await
            .json()
            .await
            .unwrap();
        if v["analysis_status"] != "pending" {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}
