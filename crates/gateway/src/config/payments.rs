//! The configuration of payments (`payments.*`).

use secrecy::SecretString;
use serde::Deserialize;

/// Payments through Stripe Connect; without `stripe_secret_key`, manual mode.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct PaymentsSettings {
    /// Stripe's secret key (`sk_live_…`, `sk_test_…`); none: manual mode.
    pub stripe_secret_key: Option<SecretString>,
    /// Where the Stripe client sends its calls (ends with `/`).
    pub stripe_api_base: String,
    /// The webhook endpoint's signing secret (`whsec_…`).
    pub webhook_secret: Option<SecretString>,
    /// The previous signing secret, accepted too during a rotation.
    pub webhook_secret_previous: Option<SecretString>,
    /// The signing secret of the Connect endpoint (Stripe signs events of
    /// connected accounts, `account.updated`, with its own secret), when it
    /// points at the same URL.
    pub connect_webhook_secret: Option<SecretString>,
    /// Each Stripe call's time limit.
    pub timeout_secs: u64,
    /// The platform's fee, in basis points of the price.
    pub fee_bps: u32,
    /// The smallest fee, in minor units of the order's currency.
    pub fee_min_minor: i64,
    /// Days after delivery, with no remake asked, before the money is released.
    pub auto_release_days: u32,
    /// Days held after which support is told.
    pub hold_alert_days: u32,
    /// Where long holds are reported.
    pub support_email: Option<String>,
}

impl Default for PaymentsSettings {
    fn default() -> Self {
        Self {
            stripe_secret_key: None,
            stripe_api_base: "https://api.stripe.com/".into(),
            webhook_secret: None,
            webhook_secret_previous: None,
            connect_webhook_secret: None,
            timeout_secs: 20,
            fee_bps: 500,
            fee_min_minor: 50,
            auto_release_days: 14,
            hold_alert_days: 60,
            support_email: None,
        }
    }
}

impl PaymentsSettings {
    pub fn validate(&self, errs: &mut Vec<String>) {
        if !(self.stripe_api_base.starts_with("https://") || self.stripe_api_base.starts_with("http://"))
            || !self.stripe_api_base.ends_with('/')
        {
            errs.push("payments.stripe_api_base: an http(s) URL ending with /".into());
        }
        if self.stripe_secret_key.is_some() && self.webhook_secret.is_none() {
            errs.push(
                "payments.webhook_secret: required with payments.stripe_secret_key (Stripe's events move payments on)"
                    .into(),
            );
        }
        if self.fee_bps > 10_000 {
            errs.push("payments.fee_bps: at most 10000 (100 %)".into());
        }
        if self.fee_min_minor < 0 {
            errs.push("payments.fee_min_minor: 0 or more".into());
        }
        if self.auto_release_days > 60 {
            errs.push(
                "payments.auto_release_days: at most 60 (Stripe limits how long funds are held; docs/payments.md)"
                    .into(),
            );
        }
        if self.hold_alert_days == 0 || self.hold_alert_days > 85 {
            errs.push("payments.hold_alert_days: between 1 and 85".into());
        }
        if self.timeout_secs == 0 || self.timeout_secs > 120 {
            errs.push("payments.timeout_secs: between 1 and 120".into());
        }
    }
}
