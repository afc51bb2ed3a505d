//! What the market's services need: the database, the audit log, the job
//! queue (mail goes through it), whether orders wait for payment, and what
//! the crates above do when an order moves.

use crate::store::Order;
use dentex_audit::AuditLog;
use dentex_domain::market::OrderStatus;
use dentex_http::ApiError;
use dentex_jobs::Queue;
use futures_util::future::BoxFuture;
use sea_orm::{DatabaseConnection, DatabaseTransaction};
use std::collections::HashSet;
use std::sync::Arc;
use uuid::Uuid;

#[derive(Clone)]
pub struct MarketState {
    pub db: DatabaseConnection,
    pub audit: AuditLog,
    pub queue: Queue,
    /// An accepted quote's order waits in `awaiting_payment` until the
    /// clinic has paid through the platform (payments with a Stripe key);
    /// otherwise it goes to `in_production` at once (manual mode).
    pub payment_first: bool,
    pub hooks: Arc<dyn OrderHooks>,
}

/// What crates above the market do as orders move, inside the move's
/// transaction (the market cannot call them: the arrow would point
/// upward). `dentex-payments` holds the clinic's money until delivery and
/// releases it when the order completes.
pub trait OrderHooks: Send + Sync {
    /// `order` (as it is now) moved from `from` (`None`: it was just made) to `to`.
    fn moved<'a>(
        &'a self,
        txn: &'a DatabaseTransaction,
        order: &'a Order,
        from: Option<OrderStatus>,
        to: OrderStatus,
    ) -> BoxFuture<'a, Result<(), ApiError>>;

    /// Of `labs`, those the platform can pay out to (shown on quotes).
    fn payable<'a>(
        &'a self,
        db: &'a DatabaseConnection,
        labs: Vec<Uuid>,
    ) -> BoxFuture<'a, Result<HashSet<Uuid>, ApiError>>;
}

/// No crate above: orders move on their own, no lab is paid out through
/// the platform.
pub struct NoOrderHooks;

impl OrderHooks for NoOrderHooks {
    fn moved<'a>(
        &'a self,
        _: &'a DatabaseTransaction,
        _: &'a Order,
        _: Option<OrderStatus>,
        _: OrderStatus,
    ) -> BoxFuture<'a, Result<(), ApiError>> {
        Box::pin(async { Ok(()) })
    }

    fn payable<'a>(
        &'a self,
        _: &'a DatabaseConnection,
        _: Vec<Uuid>,
    ) -> BoxFuture<'a, Result<HashSet<Uuid>, ApiError>> {
        Box::pin(async { Ok(HashSet::new()) })
    }
}
