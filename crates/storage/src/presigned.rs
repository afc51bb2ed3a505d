//! Multipart uploads a client drives through presigned part URLs, the
//! digest of a stored object, and the listings the sweeps need.

use super::*;

/// The longest a presigned part-upload URL may live: long enough for one
/// large part on a slow line, short enough not to be a standing credential.
pub const MAX_UPLOAD_URL_TTL: Duration = Duration::from_secs(3600);

/// A part an object store holds for a multipart upload.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredPart {
    pub number: i32,
    pub size: u64,
    pub e_tag: Option<String>,
}

/// One object of a listing.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ListedObject {
    pub key: String,
    pub size: u64,
    pub last_modified: Option<chrono::DateTime<chrono::Utc>>,
}

/// A multipart upload the store still holds open.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OpenUpload {
    pub key: String,
    pub upload_id: String,
    pub initiated: Option<chrono::DateTime<chrono::Utc>>,
}

/// What reading an object back found: its size, SHA-256 and first bytes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Digest256 {
    pub size: u64,
    pub sha256: String,
    pub head: Vec<u8>,
}

fn to_chrono(t: &aws_sdk_s3::primitives::DateTime) -> Option<chrono::DateTime<chrono::Utc>> {
    chrono::DateTime::from_timestamp(t.secs(), t.subsec_nanos())
}

/// Multipart uploads driven by a client through presigned part URLs, and the
/// listings the sweeps need.
impl ObjectStore {
    /// Starts a multipart upload whose parts the client will send itself.
    pub async fn create_multipart(&self, key: &str, content_type: &str) -> Result<String, StorageError> {
        Ok(self.start_multipart(key, content_type).await?.upload_id)
    }

    /// A URL that lets its holder PUT part `number` of `upload_id`, exactly
    /// `size` bytes (the length is signed: a body of another size is
    /// refused by the store), until `ttl` passes (at most
    /// [`MAX_UPLOAD_URL_TTL`]).
    pub async fn presign_upload_part(
        &self,
        key: &str,
        upload_id: &str,
        number: i32,
        size: u64,
        ttl: Duration,
    ) -> Result<String, StorageError> {
        if ttl > MAX_UPLOAD_URL_TTL || ttl.is_zero() {
            return Err(StorageError::Invalid(format!(
                "a part URL lives between 1 and {} seconds",
                MAX_UPLOAD_URL_TTL.as_secs()
            )));
        }
        let cfg = PresigningConfig::expires_in(ttl).map_err(|e| StorageError::Invalid(e.to_string()))?;
        let req = self
            .client
            .upload_part()
            .bucket(&self.cfg.bucket)
            .key(key)
            .upload_id(upload_id)
            .part_number(number)
            .content_length(i64::try_from(size).map_err(|_| StorageError::Invalid("part too large".into()))?)
            .presigned(cfg)
            .await
            .map_err(s3_err)?;
        Ok(req.uri().to_owned())
    }

    /// The parts the store holds for an upload, in part order.
    pub async fn list_parts(&self, key: &str, upload_id: &str) -> Result<Vec<StoredPart>, StorageError> {
        let mut out = Vec::new();
        let mut marker: Option<String> = None;
        loop {
            let page = self
                .client
                .list_parts()
                .bucket(&self.cfg.bucket)
                .key(key)
                .upload_id(upload_id)
                .set_part_number_marker(marker.clone())
                .send()
                .await
                .map_err(|e| {
                    if e.as_service_error()
                        .is_some_and(|se| se.meta().code() == Some("NoSuchUpload"))
                    {
                        StorageError::NotFound
                    } else {
                        s3_err(e)
                    }
                })?;
            for p in page.parts() {
                out.push(StoredPart {
                    number: p.part_number().unwrap_or(0),
                    size: p.size().unwrap_or(0).max(0) as u64,
                    e_tag: p.e_tag().map(str::to_owned),
                });
            }
            match (page.is_truncated(), page.next_part_number_marker()) {
                (Some(true), Some(m)) if marker.as_deref() != Some(m) => marker = Some(m.to_owned()),
                _ => break,
            }
        }
        out.sort_by_key(|p| p.number);
        out.dedup_by_key(|p| p.number);
        Ok(out)
    }

    /// Joins the given parts into the object.
    pub async fn complete_multipart(
        &self,
        key: &str,
        upload_id: &str,
        parts: &[StoredPart],
    ) -> Result<(), StorageError> {
        let parts = parts
            .iter()
            .map(|p| {
                CompletedPart::builder()
                    .part_number(p.number)
                    .set_e_tag(p.e_tag.clone())
                    .build()
            })
            .collect();
        self.client
            .complete_multipart_upload()
            .bucket(&self.cfg.bucket)
            .key(key)
            .upload_id(upload_id)
            .multipart_upload(CompletedMultipartUpload::builder().set_parts(Some(parts)).build())
            .send()
            .await
            .map(|_| ())
            .map_err(s3_err)
    }

    /// Abandons a multipart upload and the parts sent so far. An upload the
    /// store no longer knows is not an error.
    pub async fn abort_multipart(&self, key: &str, upload_id: &str) -> Result<(), StorageError> {
        match self
            .client
            .abort_multipart_upload()
            .bucket(&self.cfg.bucket)
            .key(key)
            .upload_id(upload_id)
            .send()
            .await
        {
            Ok(_) => Ok(()),
            Err(e) if e.as_service_error().is_some_and(|se| se.is_no_such_upload()) => Ok(()),
            Err(e) => Err(s3_err(e)),
        }
    }

    /// Reads an object back whole, as a stream, and reports its size,
    /// SHA-256 and first `head_len` bytes: how a client's upload is checked.
    pub async fn digest(&self, key: &str, head_len: usize) -> Result<Digest256, StorageError> {
        self.digest_with(key, head_len, |_| {}).await
    }

    /// [`Self::digest`], showing every piece read to `observe` on the way.
    pub async fn digest_with(
        &self,
        key: &str,
        head_len: usize,
        mut observe: impl FnMut(&[u8]),
    ) -> Result<Digest256, StorageError> {
        let mut body = self.get_stream(key).await?;
        let mut hasher = Sha256::new();
        let mut size = 0u64;
        let mut head = Vec::with_capacity(head_len);
        while let Some(chunk) = body
            .try_next()
            .await
            .map_err(|e| StorageError::S3(format!("reading the object back failed: {e}")))?
        {
            size += chunk.len() as u64;
            hasher.update(&chunk);
            observe(&chunk);
            if head.len() < head_len {
                let take = (head_len - head.len()).min(chunk.len());
                head.extend_from_slice(&chunk[..take]);
            }
        }
        Ok(Digest256 {
            size,
            sha256: hex::encode(hasher.finalize()),
            head,
        })
    }

    /// Every object in the bucket, a page of up to 1,000 at a time.
    pub async fn list_all(&self) -> Result<Vec<ListedObject>, StorageError> {
        let mut out = Vec::new();
        let mut token: Option<String> = None;
        loop {
            let page = self
                .client
                .list_objects_v2()
                .bucket(&self.cfg.bucket)
                .set_continuation_token(token.clone())
                .send()
                .await
                .map_err(s3_err)?;
            for o in page.contents() {
                if let Some(key) = o.key() {
                    out.push(ListedObject {
                        key: key.to_owned(),
                        size: o.size().unwrap_or(0).max(0) as u64,
                        last_modified: o.last_modified().and_then(to_chrono),
                    });
                }
            }
            match (page.is_truncated(), page.next_continuation_token()) {
                (Some(true), Some(t)) if token.as_deref() != Some(t) => token = Some(t.to_owned()),
                _ => break,
            }
        }
        Ok(out)
    }

    /// The multipart uploads the store holds open, or `None` when the store
    /// cannot list them (s3s-fs cannot; AWS S3 and MinIO can).
    pub async fn list_open_uploads(&self) -> Result<Option<Vec<OpenUpload>>, StorageError> {
        if !self.cfg.lists_open_uploads {
            return Ok(None);
        }
        let mut out = Vec::new();
        let mut key_marker: Option<String> = None;
        let mut id_marker: Option<String> = None;
        loop {
            let page = match self
                .client
                .list_multipart_uploads()
                .bucket(&self.cfg.bucket)
                .set_key_marker(key_marker.clone())
                .set_upload_id_marker(id_marker.clone())
                .send()
                .await
            {
                Ok(p) => p,
                Err(e) => {
                    let code = e.as_service_error().and_then(|se| se.meta().code()).unwrap_or("");
                    if code == "NotImplemented" {
                        return Ok(None);
                    }
                    return Err(s3_err(e));
                }
            };
            for u in page.uploads() {
                if let (Some(key), Some(id)) = (u.key(), u.upload_id()) {
                    out.push(OpenUpload {
                        key: key.to_owned(),
                        upload_id: id.to_owned(),
                        initiated: u.initiated().and_then(to_chrono),
                    });
                }
            }
            let next = (
                page.next_key_marker().map(str::to_owned),
                page.next_upload_id_marker().map(str::to_owned),
            );
            let moved = next.0.is_some() && (next.0 != key_marker || next.1 != id_marker);
            if page.is_truncated() == Some(true) && moved {
                key_marker = next.0;
                id_marker = next.1;
            } else {
                break;
            }
        }
        Ok(Some(out))
    }
}
