//! Names to show beside ids: who a person is and what an organization is
//! called, for views that list other crates' records (a case's access log).

use dentex_http::ApiError;
use sea_orm::ConnectionTrait;
use std::collections::HashMap;
use uuid::Uuid;

/// The display names of these accounts (unknown ids are left out).
pub async fn display_names<C: ConnectionTrait>(db: &C, ids: Vec<Uuid>) -> Result<HashMap<Uuid, String>, ApiError> {
    Ok(crate::store::users::display_names(db, ids).await?)
}

/// The names of these organizations (unknown ids are left out).
pub async fn organization_names<C: ConnectionTrait>(db: &C, ids: Vec<Uuid>) -> Result<HashMap<Uuid, String>, ApiError> {
    Ok(crate::store::organizations::names(db, ids).await?)
}
