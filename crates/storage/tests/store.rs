//! The object store against the in-process S3 server, through the real S3 protocol.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    reason = "a test fails loudly at the first surprise"
)]

use bytes::Bytes;
use dentex_storage::embedded::EmbeddedS3;
use dentex_storage::{ObjectStore, StorageError, sha256_hex};
use futures_util::stream;
use std::time::Duration;

async fn store() -> (tempfile::TempDir, EmbeddedS3, ObjectStore) {
    let dir = tempfile::tempdir().unwrap();
    let s3 = EmbeddedS3::start(&dir.path().join("objects")).await.unwrap();
    let store = ObjectStore::new(s3.store_config("dentex-test"));
    store.ensure_bucket().await.unwrap();
    // A second call finds the bucket and succeeds.
    store.ensure_bucket().await.unwrap();
    (dir, s3, store)
}

fn chunks(data: &[u8], size: usize) -> impl futures_util::Stream<Item = Result<Bytes, std::io::Error>> + Unpin {
    let v: Vec<Result<Bytes, std::io::Error>> = data.chunks(size).map(|c| Ok(Bytes::copy_from_slice(c))).collect();
    stream::iter(v)
}

async fn read_all(store: &ObjectStore, key: &str) -> Vec<u8> {
    let body = store.get_stream(key).await.unwrap();
    body.collect().await.unwrap().into_bytes().to_vec()
}

#[tokio::test]
async fn small_objects_round_trip_with_their_checksum() {
    let (_d, _s3, store) = store().await;
    let data = b"solid cube\nendsolid cube\n".repeat(100);
    let out = store
        .put_stream("eu/org/case/file1", "model/stl", chunks(&data, 7), 1 << 20)
        .await
        .unwrap();
    assert_eq!(out.size, data.len() as u64);
    assert_eq!(out.sha256, sha256_hex(&data));
    assert!(!out.multipart);
    assert_eq!(read_all(&store, "eu/org/case/file1").await, data);
    let meta = store.head("eu/org/case/file1").await.unwrap().unwrap();
    assert_eq!(meta.size, data.len() as u64);
    assert_eq!(meta.content_type.as_deref(), Some("model/stl"));
}

#[tokio::test]
async fn large_objects_go_multipart_and_come_back_identical() {
    let (_d, _s3, store) = store().await;
    // 20 MiB + a bit: two full 8 MiB parts and a short last one.
    let data: Vec<u8> = (0..(20 * 1024 * 1024 + 12345u32))
        .map(|i| (i.wrapping_mul(2654435761) >> 13) as u8)
        .collect();
    let out = store
        .put_stream(
            "eu/org/case/big",
            "application/octet-stream",
            chunks(&data, 64 * 1024),
            1 << 30,
        )
        .await
        .unwrap();
    assert!(out.multipart);
    assert_eq!(out.size, data.len() as u64);
    assert_eq!(out.sha256, sha256_hex(&data));
    let back = read_all(&store, "eu/org/case/big").await;
    assert_eq!(back.len(), data.len());
    assert_eq!(sha256_hex(&back), out.sha256);
}

#[tokio::test]
async fn the_size_limit_holds_while_streaming_and_leaves_nothing() {
    let (dir, _s3, store) = store().await;
    // Below the multipart threshold: refused before anything is sent.
    let small = vec![1u8; 4096];
    let err = store
        .put_stream("eu/o/c/small", "application/octet-stream", chunks(&small, 1000), 4000)
        .await
        .unwrap_err();
    assert!(matches!(err, StorageError::TooLarge { limit: 4000 }), "{err:?}");
    assert_eq!(store.head("eu/o/c/small").await.unwrap(), None);

    // Above it: the started multipart upload is aborted.
    let big = vec![2u8; 18 * 1024 * 1024];
    let err = store
        .put_stream(
            "eu/o/c/big",
            "application/octet-stream",
            chunks(&big, 1 << 20),
            17 * 1024 * 1024,
        )
        .await
        .unwrap_err();
    assert!(matches!(err, StorageError::TooLarge { .. }), "{err:?}");
    assert_eq!(store.head("eu/o/c/big").await.unwrap(), None);
    // No part files linger on disk for the aborted upload.
    let leftovers = walk(dir.path()).into_iter().filter(|p| {
        let s = p.to_string_lossy();
        s.contains("big") || s.contains(".upload") || s.contains("part")
    });
    let total: u64 = leftovers
        .map(|p| std::fs::metadata(p).map(|m| m.len()).unwrap_or(0))
        .sum();
    assert!(total < 1024 * 1024, "aborted upload left {total} bytes on disk");
}

fn walk(dir: &std::path::Path) -> Vec<std::path::PathBuf> {
    let mut out = Vec::new();
    if let Ok(rd) = std::fs::read_dir(dir) {
        for e in rd.flatten() {
            let p = e.path();
            if p.is_dir() {
                out.extend(walk(&p));
            } else {
                out.push(p);
            }
        }
    }
    out
}

#[tokio::test]
async fn a_failing_source_stores_nothing() {
    let (_d, _s3, store) = store().await;
    let parts: Vec<Result<Bytes, std::io::Error>> = vec![
        Ok(Bytes::from(vec![0u8; 1000])),
        Err(std::io::Error::new(
            std::io::ErrorKind::ConnectionReset,
            "client went away",
        )),
    ];
    let err = store
        .put_stream("eu/o/c/cut", "application/octet-stream", stream::iter(parts), 1 << 20)
        .await
        .unwrap_err();
    assert!(matches!(err, StorageError::Source(_)), "{err:?}");
    assert_eq!(store.head("eu/o/c/cut").await.unwrap(), None);
}

#[tokio::test]
async fn delete_removes_and_missing_objects_are_reported() {
    let (_d, _s3, store) = store().await;
    store
        .put_stream("k1", "text/plain", chunks(b"hello", 2), 100)
        .await
        .unwrap();
    assert!(store.head("k1").await.unwrap().is_some());
    store.delete("k1").await.unwrap();
    assert_eq!(store.head("k1").await.unwrap(), None);
    assert!(matches!(store.get_stream("k1").await, Err(StorageError::NotFound)));
    // Deleting again is fine.
    store.delete("k1").await.unwrap();
}

#[tokio::test]
async fn presigned_urls_work_for_a_short_time_only_and_cannot_be_altered() {
    let (_d, _s3, store) = store().await;
    store
        .put_stream("eu/o/c/p", "text/plain", chunks(b"scan bytes", 4), 100)
        .await
        .unwrap();
    assert!(store.presign_get("eu/o/c/p", Duration::from_secs(301)).await.is_err());
    assert!(store.presign_get("eu/o/c/p", Duration::ZERO).await.is_err());

    let url = store.presign_get("eu/o/c/p", Duration::from_secs(60)).await.unwrap();
    assert!(url.contains("X-Amz-Expires=60"), "{url}");
    let http = reqwest::Client::new();
    let resp = http.get(&url).send().await.unwrap();
    assert_eq!(resp.status(), 200);
    assert_eq!(resp.bytes().await.unwrap().as_ref(), b"scan bytes");

    // Pointing the signature at another key is refused.
    let tampered = url.replace("/eu/o/c/p?", "/eu/o/c/q?");
    let resp = http.get(&tampered).send().await.unwrap();
    assert!(resp.status().is_client_error(), "tampered URL got {}", resp.status());

    // An expired URL is refused.
    let short = store.presign_get("eu/o/c/p", Duration::from_secs(1)).await.unwrap();
    tokio::time::sleep(Duration::from_millis(2100)).await;
    let resp = http.get(&short).send().await.unwrap();
    assert!(resp.status().is_client_error(), "expired URL got {}", resp.status());
}

#[tokio::test]
async fn an_unreachable_store_fails_the_ping() {
    let (_d, s3, store) = store().await;
    store.ping().await.unwrap();
    s3.stop();
    tokio::time::sleep(Duration::from_millis(50)).await;
    // A new client cannot reach the stopped listener.
    let fresh = ObjectStore::new(s3.store_config("dentex-test"));
    assert!(fresh.ping().await.is_err());
}
