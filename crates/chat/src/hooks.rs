//! What chat adds below it: the unread total of `GET /api/v1/me`, handed
//! to `dentex-accounts` by the gateway.

use dentex_accounts::Principal;
use dentex_http::ApiError;
use futures_util::future::BoxFuture;
use sea_orm::DatabaseConnection;

pub struct ChatMeHooks;

impl dentex_accounts::state::MeHooks for ChatMeHooks {
    fn unread_messages<'a>(
        &'a self,
        db: &'a DatabaseConnection,
        p: &'a Principal,
    ) -> BoxFuture<'a, Result<i64, ApiError>> {
        Box::pin(async move {
            let orgs: Vec<uuid::Uuid> = p.memberships.iter().map(|(o, _)| o.0).collect();
            Ok(crate::store::threads::unread_total(db, p.user_id.0, &orgs, &orgs).await?)
        })
    }
}
