//! A credential's scanned document: uploaded while the credential is pending
//! (typed from its first bytes, streamed to the object store), read by owners,
//! admins and support. Every read and every refused upload is audited.

use super::{decided, parse_id};
use crate::policy::Action;
use crate::service::{audit_in, authorized_org, record};
use crate::store::{self, Credential, Organization, credentials::Document};
use crate::verification::PENDING;
use crate::{AccountsState, Actor};
use bytes::{Bytes, BytesMut};
use dentex_audit::Outcome;
use dentex_domain::OrgId;
use dentex_http::ApiError;
use futures_util::{Stream, StreamExt};
use uuid::Uuid;

/// The document type, from its first bytes: PDF, JPEG or PNG.
pub fn sniff(head: &[u8]) -> Option<&'static str> {
    if head.starts_with(b"%PDF-") {
        Some("application/pdf")
    } else if head.starts_with(&[0xFF, 0xD8, 0xFF]) {
        Some("image/jpeg")
    } else if head.starts_with(&[0x89, b'P', b'N', b'G', 0x0D, 0x0A, 0x1A, 0x0A]) {
        Some("image/png")
    } else {
        None
    }
}

fn too_large(max: u64) -> ApiError {
    ApiError::payload_too_large(usize::try_from(max).unwrap_or(usize::MAX))
}

fn interrupted() -> ApiError {
    ApiError::new(&dentex_http::codes::UNREADABLE_BODY, "The upload was interrupted.")
}

/// A credential of `org` by its id as given (404 when not one of them).
async fn credential_of(state: &AccountsState, org: OrgId, raw: &str) -> Result<Credential, ApiError> {
    store::credentials::in_org(&state.db, org, parse_id(raw)?)
        .await?
        .ok_or_else(ApiError::not_found)
}

/// Stores `body` (of `declared` length, when the client said) as the document
/// of a pending credential, replacing an earlier one. Keys come from ids
/// only; each upload gets its own object, so the bytes support approved can
/// never be replaced.
pub async fn upload_document<S, E>(
    state: &AccountsState,
    actor: &Actor,
    org: OrgId,
    credential: &str,
    declared: Option<u64>,
    mut body: S,
) -> Result<Credential, ApiError>
where
    S: Stream<Item = Result<Bytes, E>> + Unpin + 'static,
    E: Into<Box<dyn std::error::Error + Send + Sync>> + 'static,
{
    let o = authorized_org(state, actor, org, Action::SubmitCredential).await?;
    let c = credential_of(state, org, credential).await?;
    if c.status != PENDING {
        return Err(decided(
            "This credential was already reviewed; submit a new one instead.",
        ));
    }
    let max = state.document_max_bytes;
    if declared.is_some_and(|n| n > max) {
        return Err(too_large(max));
    }
    // Read just enough to know what the bytes are.
    let mut head = BytesMut::new();
    while head.len() < 8 {
        match body.next().await {
            Some(Ok(chunk)) => head.extend_from_slice(&chunk),
            Some(Err(_)) => return Err(interrupted()),
            None => break,
        }
    }
    if head.is_empty() {
        return Err(ApiError::new(
            &dentex_http::codes::EMPTY_BODY,
            "The body is empty: send the document's bytes.",
        ));
    }
    let Some(content_type) = sniff(&head) else {
        let mut ev = actor.event("credential.document_upload", "credential", Outcome::Denied);
        ev.org_id = Some(org);
        ev.resource_id = Some(c.id.to_string());
        ev.reason = Some("not a PDF, JPEG or PNG".into());
        record(state, ev).await?;
        return Err(ApiError::new(
            &dentex_http::codes::UNSUPPORTED_MEDIA_TYPE,
            "Upload the document as PDF, JPEG or PNG.",
        ));
    };
    let first: Bytes = head.freeze();
    let body = futures_util::stream::once(async move { Ok::<Bytes, E>(first) }).chain(body);
    store_document(state, actor, &o, c, content_type, Box::pin(body)).await
}

/// Puts the bytes in the object store, then names them on the row with its
/// audit record in one transaction; if that fails the new object goes, and
/// once it holds the replaced one goes.
async fn store_document<S, E>(
    state: &AccountsState,
    actor: &Actor,
    o: &Organization,
    c: Credential,
    content_type: &'static str,
    body: S,
) -> Result<Credential, ApiError>
where
    S: Stream<Item = Result<Bytes, E>> + Unpin,
    E: Into<Box<dyn std::error::Error + Send + Sync>>,
{
    let max = state.document_max_bytes;
    let key = format!("{}/{}/credentials/{}/{}", o.region, o.id, c.id, Uuid::now_v7());
    let stored = state
        .store
        .put_stream(&key, content_type, body, max)
        .await
        .map_err(|e| match e {
            dentex_storage::StorageError::TooLarge { .. } => too_large(max),
            dentex_storage::StorageError::Source(_) => interrupted(),
            other => ApiError::from(other),
        })?;
    let mut ev = actor.event("credential.document_upload", "credential", Outcome::Success);
    ev.org_id = Some(OrgId(o.id));
    ev.resource_id = Some(c.id.to_string());
    let doc = Document {
        key: &key,
        sha256: &stored.sha256,
        size: stored.size,
        content_type,
    };
    let saved: Result<(), ApiError> = async {
        let txn = dentex_db::begin_write(&state.db).await?;
        if !store::credentials::attach_document(&txn, c.id, doc).await? {
            return Err(decided(
                "This credential was reviewed while the upload ran; submit a new one instead.",
            ));
        }
        audit_in(&txn, ev).await?;
        txn.commit().await?;
        Ok(())
    }
    .await;
    if let Err(e) = saved {
        if let Err(gone) = state.store.delete(&key).await {
            tracing::warn!(error = %gone, credential.id = %c.id, "removing an unkept document failed; the sweep will");
        }
        return Err(e);
    }
    // The replaced document of a pending credential is not kept.
    if let Some(old) = &c.document_key {
        state.store.delete(old).await?;
    }
    store::credentials::by_id(&state.db, c.id)
        .await?
        .ok_or_else(ApiError::not_found)
}

/// The document of a credential and its bytes, streamed from the store; the
/// read is audited before anything is sent.
pub async fn read_document(
    state: &AccountsState,
    actor: &Actor,
    org: OrgId,
    credential: &str,
) -> Result<(Credential, String, impl tokio::io::AsyncBufRead + Send + Sync + 'static), ApiError> {
    authorized_org(state, actor, org, Action::ReadCredentialDocument).await?;
    let c = credential_of(state, org, credential).await?;
    let (Some(key), Some(content_type)) = (c.document_key.clone(), c.document_content_type.clone()) else {
        return Err(ApiError::not_found());
    };
    let body = state.store.get_stream(&key).await?;
    let mut ev = actor.event("credential.document_read", "credential", Outcome::Success);
    ev.org_id = Some(org);
    ev.resource_id = Some(c.id.to_string());
    record(state, ev).await?;
    Ok((c, content_type, body.into_async_read()))
}
