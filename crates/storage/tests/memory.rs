//! A 100 MB object goes in and comes out through the in-process S3 server while the
//! process's peak resident memory grows by far less than the object: nothing holds
//! it whole. Its own test binary, so no other test shares the measurement.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    reason = "a test fails loudly at the first surprise"
)]

use bytes::Bytes;
use dentex_storage::ObjectStore;
use dentex_storage::embedded::EmbeddedS3;
use sha2::{Digest, Sha256};

const SIZE: usize = 100 * 1024 * 1024;
const CHUNK: usize = 256 * 1024;
const BOUND: u64 = 64 * 1024 * 1024;

fn status_kib(field: &str) -> u64 {
    let s = std::fs::read_to_string("/proc/self/status").unwrap();
    s.lines()
        .find(|l| l.starts_with(field))
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|v| v.parse().ok())
        .unwrap()
}

/// Deterministic pseudo-random chunks, produced on demand.
fn chunk(i: usize) -> Bytes {
    let mut x = (i as u64).wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1;
    let mut v = Vec::with_capacity(CHUNK);
    while v.len() < CHUNK {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        v.extend_from_slice(&x.to_le_bytes());
    }
    Bytes::from(v)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_100_mb_object_streams_through_without_being_held() {
    let dir = tempfile::tempdir().unwrap();
    let s3 = EmbeddedS3::start(&dir.path().join("objects")).await.unwrap();
    let store = ObjectStore::new(s3.store_config("mem"));
    store.ensure_bucket().await.unwrap();
    // Warm up clients and allocator with a small multipart object first.
    let warm = futures_util::stream::iter((0..40).map(|i| Ok::<_, std::io::Error>(chunk(i))));
    store
        .put_stream("warm", "application/octet-stream", warm, u64::MAX)
        .await
        .unwrap();

    // Reset the peak-RSS counter (Linux ≥ 4.0), then measure.
    std::fs::write("/proc/self/clear_refs", "5").unwrap();
    let base = status_kib("VmHWM:") * 1024;

    let mut expected = Sha256::new();
    for i in 0..SIZE / CHUNK {
        expected.update(chunk(i));
    }
    let expected = hex::encode(expected.finalize());

    let body = futures_util::stream::iter((0..SIZE / CHUNK).map(|i| Ok::<_, std::io::Error>(chunk(i))));
    let out = store
        .put_stream("eu/org/case/100mb", "application/octet-stream", body, u64::MAX)
        .await
        .unwrap();
    assert_eq!(out.size, SIZE as u64);
    assert_eq!(out.sha256, expected);

    let mut back = Sha256::new();
    let mut n = 0usize;
    let mut stream = store.get_stream("eu/org/case/100mb").await.unwrap();
    while let Some(c) = stream.next().await {
        let c = c.unwrap();
        n += c.len();
        back.update(&c);
    }
    assert_eq!(n, SIZE);
    assert_eq!(hex::encode(back.finalize()), expected);

    let peak = status_kib("VmHWM:") * 1024;
    let grew = peak.saturating_sub(base);
    eprintln!("peak RSS grew by {} MiB for a {} MiB object", grew >> 20, SIZE >> 20);
    assert!(grew < BOUND, "peak RSS grew by {grew} bytes, bound {BOUND}");
}
