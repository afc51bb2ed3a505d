//! What the market does when a case changes below it: the cases crate calls
//! these inside its own transaction, through [`dentex_cases::CaseHooks`]
//! (the gateway hands them in), so cases never writes the market's rows.

use crate::store;
use dentex_http::ApiError;
use futures_util::future::BoxFuture;
use sea_orm::DatabaseTransaction;
use uuid::Uuid;

/// The market's reactions to changes of a case.
pub struct MarketCaseHooks;

impl dentex_cases::CaseHooks for MarketCaseHooks {
    /// A cancelled case's active quotes end with it (declined); the labs
    /// that quoted are told, with those named on the case.
    fn cancelled<'a>(&'a self, txn: &'a DatabaseTransaction, case: Uuid) -> BoxFuture<'a, Result<Vec<Uuid>, ApiError>> {
        Box::pin(async move {
            let quoted = store::quotes::decline_all_active(txn, case).await?;
            Ok(quoted.into_iter().map(|q| q.lab_org_id).collect())
        })
    }
}
