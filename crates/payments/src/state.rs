//! What the payments services need.

use crate::stripe::StripeApi;
use dentex_audit::AuditLog;
use dentex_jobs::Queue;
use sea_orm::DatabaseConnection;
use std::sync::Arc;

/// The rules of money, from configuration (`payments.*`).
#[derive(Clone, Debug)]
pub struct PaymentsConfig {
    /// The platform's fee, in basis points of the price (1 % = 100).
    pub fee_bps: u32,
    /// The smallest fee, in minor units of the order's currency.
    pub fee_min_minor: i64,
    /// Days after delivery with no remake asked before the money is released.
    pub auto_release_days: u32,
    /// Days held after which support is told (Stripe's limits: docs/payments.md).
    pub hold_alert_days: u32,
    /// Webhook signing secrets (`whsec_…`); more than one during a rotation.
    pub webhook_secrets: Vec<String>,
    /// Where Stripe's onboarding sends the lab back (the app's base URL).
    pub app_base_url: String,
    /// Where support is told about long holds and disputes.
    pub support_email: Option<String>,
}

impl Default for PaymentsConfig {
    fn default() -> Self {
        Self {
            fee_bps: 500,
            fee_min_minor: 50,
            auto_release_days: 14,
            hold_alert_days: 60,
            webhook_secrets: Vec::new(),
            app_base_url: "http://127.0.0.1:8080".into(),
            support_email: None,
        }
    }
}

#[derive(Clone)]
pub struct PaymentsState {
    pub db: DatabaseConnection,
    pub audit: AuditLog,
    pub queue: Queue,
    /// The market below: orders are found and moved through its services.
    pub market: dentex_market::MarketState,
    /// Stripe, or `None` in manual mode (no secret key configured).
    pub stripe: Option<StripeApi>,
    pub config: Arc<PaymentsConfig>,
}

impl PaymentsState {
    /// Stripe, or the 409 of manual mode.
    pub fn stripe(&self) -> Result<&StripeApi, dentex_http::ApiError> {
        self.stripe.as_ref().ok_or_else(|| {
            dentex_http::ApiError::new(
                &crate::codes::PAYMENTS_MANUAL,
                "Payments run in manual mode here: no Stripe key is configured.",
            )
        })
    }
}
