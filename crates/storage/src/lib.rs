//! `dentex-storage` owns the object store of record. Everything goes through
//! aws-sdk-s3: bucket bootstrap, streaming puts (a single PUT below a threshold,
//! multipart above it; SHA-256 and the size limit computed while the bytes pass,
//! so no object is ever held whole in memory), streamed gets, short-lived presigned
//! GET URLs, head and delete. [`embedded::EmbeddedS3`] runs an S3-compatible server
//! (s3s + s3s-fs) inside the process for the embedded default and the tests.
//! Object keys are built by callers from ids only; a client's file name never
//! reaches a key.
#![cfg_attr(not(test), warn(clippy::too_many_lines))]

pub mod embedded;

use aws_sdk_s3::config::{
    BehaviorVersion, Credentials, Region, RequestChecksumCalculation, ResponseChecksumValidation,
};
use aws_sdk_s3::presigning::PresigningConfig;
pub use aws_sdk_s3::primitives::ByteStream;

mod presigned;
use aws_sdk_s3::types::{CompletedMultipartUpload, CompletedPart, ServerSideEncryption};
use bytes::{Bytes, BytesMut};
use futures_util::{Stream, StreamExt};
pub use presigned::{Digest256, ListedObject, MAX_UPLOAD_URL_TTL, OpenUpload, StoredPart};
use sha2::{Digest, Sha256};
use std::time::Duration;

/// The longest a presigned URL may live (SECURITY.md item 11).
pub const MAX_PRESIGN_TTL: Duration = Duration::from_secs(300);

#[derive(Debug, thiserror::Error)]
pub enum StorageError {
    #[error("the object is larger than the limit of {limit} bytes")]
    TooLarge { limit: u64 },
    #[error("reading the source failed: {0}")]
    Source(Box<dyn std::error::Error + Send + Sync>),
    #[error("object store request failed: {0}")]
    S3(String),
    #[error("no such object")]
    NotFound,
    #[error("invalid storage request: {0}")]
    Invalid(String),
}

fn s3_err<E: std::error::Error + 'static>(e: aws_sdk_s3::error::SdkError<E>) -> StorageError {
    // DisplayErrorContext prints the whole cause chain; it contains no object data.
    StorageError::S3(aws_sdk_s3::error::DisplayErrorContext(&e).to_string())
}

#[derive(Clone, Debug)]
pub struct StoreConfig {
    /// `None` means AWS's own endpoint for the region.
    pub endpoint: Option<String>,
    pub region: String,
    pub bucket: String,
    pub access_key_id: String,
    pub secret_access_key: String,
    pub force_path_style: bool,
    /// Ask the store to encrypt every object at rest with AES-256 (SSE-S3).
    pub sse: bool,
    /// Objects at or above this size are sent as a multipart upload.
    pub multipart_threshold: usize,
    /// Size of each part (S3's minimum is 5 MiB); one part is the most held in memory.
    pub part_size: usize,
    /// The store lists its open multipart uploads (AWS S3 and MinIO do; the
    /// embedded s3s-fs does not, and is not asked).
    pub lists_open_uploads: bool,
}

impl StoreConfig {
    pub const DEFAULT_PART_SIZE: usize = 8 * 1024 * 1024;
}

/// What a completed put reports.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PutOutcome {
    pub size: u64,
    /// Lower-case hex SHA-256 of the bytes stored.
    pub sha256: String,
    pub multipart: bool,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ObjectMeta {
    pub size: u64,
    pub content_type: Option<String>,
}

#[derive(Clone, Debug)]
pub struct ObjectStore {
    client: aws_sdk_s3::Client,
    cfg: StoreConfig,
}

impl ObjectStore {
    pub fn new(cfg: StoreConfig) -> Self {
        let creds = Credentials::new(
            cfg.access_key_id.clone(),
            cfg.secret_access_key.clone(),
            None,
            None,
            "dentex-config",
        );
        let mut b = aws_sdk_s3::Config::builder()
            .behavior_version(BehaviorVersion::latest())
            .region(Region::new(cfg.region.clone()))
            .credentials_provider(creds)
            .force_path_style(cfg.force_path_style)
            // We compute SHA-256 ourselves while streaming; the SDK's own CRC
            // trailers would cost a second pass over every byte.
            .request_checksum_calculation(RequestChecksumCalculation::WhenRequired)
            .response_checksum_validation(ResponseChecksumValidation::WhenRequired);
        if let Some(ep) = &cfg.endpoint {
            b = b.endpoint_url(ep);
        }
        Self {
            client: aws_sdk_s3::Client::from_conf(b.build()),
            cfg,
        }
    }

    /// The underlying aws-sdk-s3 client (benchmarks compare against it).
    pub fn sdk(&self) -> &aws_sdk_s3::Client {
        &self.client
    }

    pub fn bucket(&self) -> &str {
        &self.cfg.bucket
    }

    /// Creates the bucket when it does not exist yet.
    pub async fn ensure_bucket(&self) -> Result<(), StorageError> {
        if self.client.head_bucket().bucket(&self.cfg.bucket).send().await.is_ok() {
            return Ok(());
        }
        match self.client.create_bucket().bucket(&self.cfg.bucket).send().await {
            Ok(_) => Ok(()),
            Err(e) => {
                // Another process may have created it between the two calls.
                if self.client.head_bucket().bucket(&self.cfg.bucket).send().await.is_ok() {
                    Ok(())
                } else {
                    Err(s3_err(e))
                }
            }
        }
    }

    /// A cheap round trip for readiness checks.
    pub async fn ping(&self) -> Result<(), StorageError> {
        self.client
            .head_bucket()
            .bucket(&self.cfg.bucket)
            .send()
            .await
            .map(|_| ())
            .map_err(s3_err)
    }

    fn sse(&self) -> Option<ServerSideEncryption> {
        self.cfg.sse.then_some(ServerSideEncryption::Aes256)
    }

    /// Stores a stream under `key`, never holding more than one part in memory.
    /// Fails with [`StorageError::TooLarge`] as soon as more than `max_bytes`
    /// arrive, leaving nothing behind (a started multipart upload is aborted).
    pub async fn put_stream<S, E>(
        &self,
        key: &str,
        content_type: &str,
        mut body: S,
        max_bytes: u64,
    ) -> Result<PutOutcome, StorageError>
    where
        S: Stream<Item = Result<Bytes, E>> + Unpin,
        E: Into<Box<dyn std::error::Error + Send + Sync>>,
    {
        let part_size = self.cfg.part_size.max(5 * 1024 * 1024);
        let threshold = self.cfg.multipart_threshold.max(1);
        let mut hasher = Sha256::new();
        let mut total: u64 = 0;
        let mut buf = BytesMut::with_capacity(part_size.min(threshold));
        let mut upload: Option<Multipart> = None;

        let result: Result<(), StorageError> = async {
            while let Some(chunk) = body.next().await {
                let chunk = chunk.map_err(|e| StorageError::Source(e.into()))?;
                total += chunk.len() as u64;
                if total > max_bytes {
                    return Err(StorageError::TooLarge { limit: max_bytes });
                }
                hasher.update(&chunk);
                buf.extend_from_slice(&chunk);
                // Start a multipart upload once the object is known to be large,
                // then ship whole parts; the remainder waits for more bytes.
                let flush_at = if upload.is_some() {
                    part_size
                } else {
                    threshold.max(part_size)
                };
                if buf.len() >= flush_at {
                    if upload.is_none() {
                        upload = Some(self.start_multipart(key, content_type).await?);
                    }
                    while buf.len() >= part_size {
                        let part = buf.split_to(part_size).freeze();
                        if let Some(u) = upload.as_mut() {
                            self.upload_part(key, u, part).await?;
                        }
                    }
                }
            }
            Ok(())
        }
        .await;

        if let Err(e) = result {
            if let Some(u) = upload {
                self.abort(key, &u).await;
            }
            return Err(e);
        }

        let sha256 = hex::encode(hasher.finalize());
        match upload {
            None => {
                self.put_whole(key, content_type, buf.freeze(), &sha256).await?;
                Ok(PutOutcome {
                    size: total,
                    sha256,
                    multipart: false,
                })
            }
            Some(mut u) => {
                if let Err(e) = self.finish_multipart(key, &mut u, buf.freeze()).await {
                    self.abort(key, &u).await;
                    return Err(e);
                }
                Ok(PutOutcome {
                    size: total,
                    sha256,
                    multipart: true,
                })
            }
        }
    }

    /// A small object in one PUT, its SHA-256 in its metadata.
    async fn put_whole(&self, key: &str, content_type: &str, data: Bytes, sha256: &str) -> Result<(), StorageError> {
        let mut req = self
            .client
            .put_object()
            .bucket(&self.cfg.bucket)
            .key(key)
            .content_type(content_type)
            .content_length(data.len() as i64)
            .metadata("sha256", sha256)
            .body(ByteStream::from(data));
        if let Some(sse) = self.sse() {
            req = req.server_side_encryption(sse);
        }
        req.send().await.map_err(s3_err)?;
        Ok(())
    }

    /// The last part (the remainder, if any), then the upload completed.
    async fn finish_multipart(&self, key: &str, u: &mut Multipart, rest: Bytes) -> Result<(), StorageError> {
        if !rest.is_empty() {
            self.upload_part(key, u, rest).await?;
        }
        self.client
            .complete_multipart_upload()
            .bucket(&self.cfg.bucket)
            .key(key)
            .upload_id(&u.upload_id)
            .multipart_upload(
                CompletedMultipartUpload::builder()
                    .set_parts(Some(u.parts.clone()))
                    .build(),
            )
            .send()
            .await
            .map_err(s3_err)?;
        Ok(())
    }

    async fn start_multipart(&self, key: &str, content_type: &str) -> Result<Multipart, StorageError> {
        let mut req = self
            .client
            .create_multipart_upload()
            .bucket(&self.cfg.bucket)
            .key(key)
            .content_type(content_type);
        if let Some(sse) = self.sse() {
            req = req.server_side_encryption(sse);
        }
        let out = req.send().await.map_err(s3_err)?;
        let upload_id = out
            .upload_id()
            .ok_or_else(|| StorageError::S3("the store returned no upload id".into()))?
            .to_owned();
        Ok(Multipart {
            upload_id,
            parts: Vec::new(),
        })
    }

    async fn upload_part(&self, key: &str, u: &mut Multipart, data: Bytes) -> Result<(), StorageError> {
        let number = i32::try_from(u.parts.len() + 1).map_err(|_| StorageError::Invalid("too many parts".into()))?;
        let out = self
            .client
            .upload_part()
            .bucket(&self.cfg.bucket)
            .key(key)
            .upload_id(&u.upload_id)
            .part_number(number)
            .content_length(data.len() as i64)
            .body(ByteStream::from(data))
            .send()
            .await
            .map_err(s3_err)?;
        u.parts.push(
            CompletedPart::builder()
                .part_number(number)
                .set_e_tag(out.e_tag().map(str::to_owned))
                .build(),
        );
        Ok(())
    }

    async fn abort(&self, key: &str, u: &Multipart) {
        if let Err(e) = self
            .client
            .abort_multipart_upload()
            .bucket(&self.cfg.bucket)
            .key(key)
            .upload_id(&u.upload_id)
            .send()
            .await
        {
            tracing::warn!(error = %aws_sdk_s3::error::DisplayErrorContext(&e), "aborting a multipart upload failed");
        }
    }

    /// Opens the object as a stream of bytes.
    pub async fn get_stream(&self, key: &str) -> Result<ByteStream, StorageError> {
        match self.client.get_object().bucket(&self.cfg.bucket).key(key).send().await {
            Ok(out) => Ok(out.body),
            Err(e) => {
                if e.as_service_error().is_some_and(|se| se.is_no_such_key()) {
                    Err(StorageError::NotFound)
                } else {
                    Err(s3_err(e))
                }
            }
        }
    }

    /// Size and type of an object, or `None` when it does not exist.
    pub async fn head(&self, key: &str) -> Result<Option<ObjectMeta>, StorageError> {
        match self.client.head_object().bucket(&self.cfg.bucket).key(key).send().await {
            Ok(out) => Ok(Some(ObjectMeta {
                size: out.content_length().unwrap_or(0).max(0) as u64,
                content_type: out.content_type().map(str::to_owned),
            })),
            Err(e) => {
                if e.as_service_error().is_some_and(|se| se.is_not_found()) {
                    Ok(None)
                } else {
                    Err(s3_err(e))
                }
            }
        }
    }

    /// Deletes an object; deleting a missing object is not an error.
    pub async fn delete(&self, key: &str) -> Result<(), StorageError> {
        self.client
            .delete_object()
            .bucket(&self.cfg.bucket)
            .key(key)
            .send()
            .await
            .map(|_| ())
            .map_err(s3_err)
    }

    /// Erases an object: every version a versioned bucket keeps of it (the
    /// `null` version of an object stored before versioning too, and every
    /// delete marker), page by page, then the key itself. A store that does
    /// not keep versions answers the listing `NotImplemented` (s3s-fs, the
    /// embedded one) and has only the one copy, which the plain delete
    /// removes; any other failure to list is an error, not a silent skip.
    pub async fn erase(&self, key: &str) -> Result<(), StorageError> {
        let (mut key_marker, mut version_marker) = (None::<String>, None::<String>);
        loop {
            let listed = match self
                .client
                .list_object_versions()
                .bucket(&self.cfg.bucket)
                .prefix(key)
                .set_key_marker(key_marker.clone())
                .set_version_id_marker(version_marker.clone())
                .send()
                .await
            {
                Ok(l) => l,
                Err(e)
                    if e.as_service_error()
                        .and_then(|se| aws_sdk_s3::error::ProvideErrorMetadata::code(se))
                        .is_some_and(|c| c == "NotImplemented") =>
                {
                    break;
                }
                Err(e) => return Err(s3_err(e)),
            };
            let ids = listed
                .versions()
                .iter()
                .filter(|v| v.key() == Some(key))
                .filter_map(|v| v.version_id())
                .chain(
                    listed
                        .delete_markers()
                        .iter()
                        .filter(|m| m.key() == Some(key))
                        .filter_map(|m| m.version_id()),
                );
            for id in ids {
                self.client
                    .delete_object()
                    .bucket(&self.cfg.bucket)
                    .key(key)
                    .version_id(id)
                    .send()
                    .await
                    .map_err(s3_err)?;
            }
            if listed.is_truncated() != Some(true) {
                break;
            }
            key_marker = listed.next_key_marker().map(str::to_owned);
            version_marker = listed.next_version_id_marker().map(str::to_owned);
        }
        self.delete(key).await
    }

    /// A URL that lets its holder GET the object until `ttl` passes (at most
    /// [`MAX_PRESIGN_TTL`]).
    pub async fn presign_get(&self, key: &str, ttl: Duration) -> Result<String, StorageError> {
        self.presign_get_as(key, ttl, None).await
    }

    /// Like [`Self::presign_get`], and the store answers with
    /// `Content-Disposition: attachment; filename="{name}"` and the given
    /// `Content-Type` (`download`: name, type; the name must come from ids,
    /// never from a client).
    pub async fn presign_get_as(
        &self,
        key: &str,
        ttl: Duration,
        download: Option<(&str, &str)>,
    ) -> Result<String, StorageError> {
        if ttl > MAX_PRESIGN_TTL || ttl.is_zero() {
            return Err(StorageError::Invalid(format!(
                "a presigned URL lives between 1 and {} seconds",
                MAX_PRESIGN_TTL.as_secs()
            )));
        }
        let cfg = PresigningConfig::expires_in(ttl).map_err(|e| StorageError::Invalid(e.to_string()))?;
        let req = self
            .client
            .get_object()
            .bucket(&self.cfg.bucket)
            .key(key)
            .set_response_content_disposition(download.map(|(n, _)| format!("attachment; filename=\"{n}\"")))
            .set_response_content_type(download.map(|(_, t)| t.to_owned()))
            .presigned(cfg)
            .await
            .map_err(s3_err)?;
        Ok(req.uri().to_owned())
    }
}

struct Multipart {
    upload_id: String,
    parts: Vec<CompletedPart>,
}

/// Hex SHA-256 of a byte slice (for callers and tests).
pub fn sha256_hex(data: &[u8]) -> String {
    hex::encode(Sha256::digest(data))
}
