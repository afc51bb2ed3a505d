//! What payments does as orders move below it (the market calls these in
//! the move's transaction, through `dentex_market::OrderHooks`): a
//! completed order's money is released now, a delivered one's after the
//! window; a completed remake releases its original; a paid order
//! cancelled before release is refunded in full, and one cancelled while
//! awaiting payment has its open PaymentIntent cancelled. On a quote, whether the
//! lab can be paid through the platform.

use crate::service::{pay, refund, release};
use crate::store;
use dentex_domain::market::OrderStatus;
use dentex_http::ApiError;
use dentex_jobs::{EnqueueOptions, Queue};
use dentex_market::store::Order;
use futures_util::future::BoxFuture;
use sea_orm::{DatabaseConnection, DatabaseTransaction};
use std::collections::HashSet;
use uuid::Uuid;

pub struct PaymentOrderHooks {
    pub auto_release_days: u32,
}

async fn release_at(
    txn: &DatabaseTransaction,
    order_id: Uuid,
    at: Option<chrono::DateTime<chrono::Utc>>,
) -> Result<(), ApiError> {
    let opts = EnqueueOptions {
        run_at: at,
        ..EnqueueOptions::default()
    };
    Queue::enqueue_with(txn, release::JOB, &release::Job { order_id }, opts)
        .await
        .map_err(ApiError::internal)?;
    Ok(())
}

impl dentex_market::OrderHooks for PaymentOrderHooks {
    fn moved<'a>(
        &'a self,
        txn: &'a DatabaseTransaction,
        order: &'a Order,
        from: Option<OrderStatus>,
        to: OrderStatus,
    ) -> BoxFuture<'a, Result<(), ApiError>> {
        Box::pin(async move {
            let held = store::payments::find(txn, order.id).await?.is_some();
            if to == OrderStatus::Canceled && held {
                // Jobs, not locks: the market's transaction holds the order
                // row, and payments takes its own row before the order's.
                let opts = EnqueueOptions {
                    max_attempts: 20,
                    ..EnqueueOptions::default()
                };
                let job = refund::CancelledJob { order_id: order.id };
                Queue::enqueue_with(txn, refund::CANCELLED_JOB, &job, opts)
                    .await
                    .map_err(ApiError::internal)?;
                if from == Some(OrderStatus::AwaitingPayment) {
                    let job = pay::CancelJob { order_id: order.id };
                    Queue::enqueue_with(txn, pay::CANCEL_JOB, &job, EnqueueOptions::default())
                        .await
                        .map_err(ApiError::internal)?;
                }
            }
            match to {
                OrderStatus::Completed if held => release_at(txn, order.id, None).await?,
                OrderStatus::Delivered if held => {
                    let at = chrono::Utc::now() + chrono::Duration::days(i64::from(self.auto_release_days));
                    release_at(txn, order.id, Some(at)).await?;
                }
                _ => {}
            }
            // A remake that ends lets its original's money go; one delivered
            // and never completed, once its window has passed.
            if let Some(original) = order.remake_of
                && store::payments::find(txn, original).await?.is_some()
            {
                match to {
                    OrderStatus::Completed | OrderStatus::Canceled => release_at(txn, original, None).await?,
                    OrderStatus::Delivered => {
                        let at = chrono::Utc::now() + chrono::Duration::days(i64::from(self.auto_release_days));
                        release_at(txn, original, Some(at)).await?;
                    }
                    _ => {}
                }
            }
            Ok(())
        })
    }

    fn payable<'a>(
        &'a self,
        db: &'a DatabaseConnection,
        labs: Vec<Uuid>,
    ) -> BoxFuture<'a, Result<HashSet<Uuid>, ApiError>> {
        Box::pin(async move { Ok(store::accounts::payable(db, labs).await?) })
    }
}
