//! The Stripe calls payments makes, through `async-stripe`, each answering
//! only what Dentex keeps. Every create call carries an idempotency key
//! made from (order or organisation, action, attempt), so a retry of ours
//! or a race between processes makes one object at Stripe.

use crate::money;
use crate::status::{DisputeState, IntentState};
use std::collections::HashMap;
use std::time::Duration;
use stripe::{Client, ClientBuilder, IdempotencyKey, RequestStrategy, StripeError};
use stripe_client_core::StripeRequest;
use uuid::Uuid;

/// A Stripe client pointed at `api_base` (Stripe's, or the stand-in's).
#[derive(Clone)]
pub struct StripeApi {
    client: Client,
}

/// Why a call failed, for the logs and the 502's detail (Stripe's message,
/// never card data).
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct CallError(pub String);

impl CallError {
    /// Stripe refused the request itself (a 4xx other than our key's
    /// standing, a rate limit or a concurrent use of the idempotency key):
    /// trying it again gets the same answer.
    pub fn refused(&self) -> bool {
        self.0.starts_with(REFUSED)
    }
}

const REFUSED: &str = "Stripe refused it";

impl From<StripeError> for CallError {
    fn from(e: StripeError) -> Self {
        match e {
            StripeError::Stripe(err, status) => {
                let msg = err.message.as_deref().unwrap_or("no message");
                if (400..500).contains(&status) && ![401, 403, 409, 429].contains(&status) {
                    CallError(format!("{REFUSED} ({status}): {msg}"))
                } else {
                    CallError(format!("Stripe answered {status}: {msg}"))
                }
            }
            StripeError::Timeout => CallError("Stripe did not answer in time".into()),
            other => CallError(format!("Stripe could not be reached: {other}")),
        }
    }
}

pub struct Account {
    pub id: String,
    pub charges_enabled: bool,
    pub payouts_enabled: bool,
    pub details_submitted: bool,
    pub currently_due: Vec<String>,
    pub disabled_reason: Option<String>,
}

pub struct Intent {
    pub id: String,
    pub state: IntentState,
    pub client_secret: Option<String>,
    pub amount: i64,
    pub latest_charge: Option<String>,
    pub order_id: Option<String>,
}

pub struct Charge {
    pub id: String,
    pub amount: i64,
    pub refunded: i64,
    pub intent: Option<String>,
}

pub struct Dispute {
    pub id: String,
    pub state: DisputeState,
    pub charge: String,
    pub amount: i64,
    pub due_by: Option<i64>,
}

/// An event's hint: which object to fetch.
pub struct EventHint {
    pub id: String,
    pub kind: String,
    pub object_id: String,
    pub account: Option<String>,
    pub created: i64,
}

fn key(k: String) -> Result<RequestStrategy, CallError> {
    IdempotencyKey::new(k)
        .map(RequestStrategy::Idempotent)
        .map_err(|e| CallError(format!("idempotency key: {e:?}")))
}

fn order_metadata(order: Uuid) -> HashMap<String, String> {
    HashMap::from([("order_id".to_owned(), order.to_string())])
}

impl StripeApi {
    /// `api_base` ends with `/` (`https://api.stripe.com/`).
    pub fn new(secret_key: &str, api_base: &str, timeout: Duration) -> Result<Self, CallError> {
        let client = ClientBuilder::new(secret_key)
            .url(api_base)
            .timeout(timeout)
            .build()
            .map_err(CallError::from)?;
        Ok(Self { client })
    }

    /// Creates the lab's Express account (once per organisation: the key).
    pub async fn create_account(&self, org: Uuid, country: &str) -> Result<Account, CallError> {
        use stripe_connect::account::{CreateAccount, CreateAccountType};
        let a = CreateAccount::new()
            .type_(CreateAccountType::Express)
            .country(country)
            .metadata(HashMap::from([("organization_id".to_owned(), org.to_string())]))
            .customize()
            .request_strategy(key(format!("org:{org}:account:1"))?)
            .send(&self.client)
            .await?;
        Ok(account(a))
    }

    pub async fn account(&self, id: &str) -> Result<Account, CallError> {
        use stripe_connect::account::RetrieveAccount;
        let a = RetrieveAccount::new(stripe_shared::AccountId::from(id.to_owned()))
            .send(&self.client)
            .await?;
        Ok(account(a))
    }

    /// A fresh onboarding link (they expire within minutes; never stored).
    pub async fn onboarding_link(&self, account: &str, refresh: &str, back: &str) -> Result<String, CallError> {
        use stripe_connect::account_link::{CreateAccountLink, CreateAccountLinkType};
        let l = CreateAccountLink::new(account, CreateAccountLinkType::AccountOnboarding)
            .refresh_url(refresh)
            .return_url(back)
            .send(&self.client)
            .await?;
        Ok(l.url)
    }

    /// The order's PaymentIntent of `attempt`: automatic capture,
    /// `transfer_group` the order, metadata the order id only.
    pub async fn create_intent(
        &self,
        order: Uuid,
        attempt: i32,
        amount_minor: i64,
        currency: &str,
    ) -> Result<Intent, CallError> {
        use stripe_core::payment_intent::{CreatePaymentIntent, CreatePaymentIntentAutomaticPaymentMethods};
        let pi = CreatePaymentIntent::new(
            money::to_stripe(amount_minor, currency),
            money::stripe_currency(currency),
        )
        .automatic_payment_methods(CreatePaymentIntentAutomaticPaymentMethods::new(true))
        .capture_method(stripe_shared::PaymentIntentCaptureMethod::Automatic)
        .transfer_group(order.to_string())
        .metadata(order_metadata(order))
        .customize()
        .request_strategy(key(format!("order:{order}:payment_intent:{attempt}"))?)
        .send(&self.client)
        .await?;
        Ok(intent(pi))
    }

    pub async fn intent(&self, id: &str) -> Result<Intent, CallError> {
        use stripe_core::payment_intent::RetrievePaymentIntent;
        let pi = RetrievePaymentIntent::new(stripe_shared::PaymentIntentId::from(id.to_owned()))
            .send(&self.client)
            .await?;
        Ok(intent(pi))
    }

    /// Cancels an attempt that failed, before the next one is made: a page
    /// still open on it could otherwise pay it too.
    pub async fn cancel_intent(&self, id: &str) -> Result<Intent, CallError> {
        use stripe_core::payment_intent::{CancelPaymentIntent, CancelPaymentIntentCancellationReason};
        let pi = CancelPaymentIntent::new(stripe_shared::PaymentIntentId::from(id.to_owned()))
            .cancellation_reason(CancelPaymentIntentCancellationReason::Abandoned)
            .send(&self.client)
            .await?;
        Ok(intent(pi))
    }

    pub async fn charge(&self, id: &str) -> Result<Charge, CallError> {
        use stripe_core::charge::RetrieveCharge;
        let c = RetrieveCharge::new(stripe_shared::ChargeId::from(id.to_owned()))
            .send(&self.client)
            .await?;
        Ok(Charge {
            id: c.id.to_string(),
            amount: c.amount,
            refunded: c.amount_refunded,
            intent: c.payment_intent.map(|p| p.id().to_string()),
        })
    }

    pub async fn dispute(&self, id: &str) -> Result<Dispute, CallError> {
        use stripe_core::dispute::RetrieveDispute;
        use stripe_shared::DisputeStatus as S;
        let d = RetrieveDispute::new(stripe_shared::DisputeId::from(id.to_owned()))
            .send(&self.client)
            .await?;
        let state = match d.status {
            S::Won => DisputeState::Won,
            S::Lost => DisputeState::Lost,
            S::WarningClosed | S::Prevented => DisputeState::Closed,
            S::WarningNeedsResponse | S::WarningUnderReview => DisputeState::Inquiry,
            // `needs_response`, `under_review`, and anything new: a
            // chargeback until Stripe says otherwise.
            _ => DisputeState::Open,
        };
        Ok(Dispute {
            id: d.id.to_string(),
            state,
            charge: d.charge.id().to_string(),
            amount: d.amount,
            due_by: d.evidence_details.due_by,
        })
    }

    /// The one transfer of an order to its lab, from the order's charge.
    pub async fn transfer(
        &self,
        order: Uuid,
        amount: i64,
        currency: &str,
        destination: &str,
        charge: &str,
    ) -> Result<String, CallError> {
        use stripe_connect::transfer::CreateTransfer;
        let t = CreateTransfer::new(money::stripe_currency(currency), destination)
            .amount(amount)
            .source_transaction(charge)
            .transfer_group(order.to_string())
            .metadata(order_metadata(order))
            .customize()
            .request_strategy(key(format!("order:{order}:transfer:1"))?)
            .send(&self.client)
            .await?;
        Ok(t.id.to_string())
    }

    /// A refund of `amount` of the order's charge, for support's operation `op`.
    pub async fn refund(&self, order: Uuid, op: Uuid, charge: &str, amount: i64) -> Result<String, CallError> {
        use stripe_core::refund::CreateRefund;
        let r = CreateRefund::new()
            .charge(charge)
            .amount(amount)
            .metadata(order_metadata(order))
            .customize()
            .request_strategy(key(format!("order:{order}:refund:{op}"))?)
            .send(&self.client)
            .await?;
        Ok(r.id.to_string())
    }

    /// Takes `amount` of the transfer back from the lab, for operation `op`.
    pub async fn reverse(&self, order: Uuid, op: Uuid, transfer: &str, amount: i64) -> Result<String, CallError> {
        use stripe_connect::transfer_reversal::CreateIdTransferReversal;
        let r = CreateIdTransferReversal::new(stripe_shared::TransferId::from(transfer.to_owned()))
            .amount(amount)
            .metadata(order_metadata(order))
            .customize()
            .request_strategy(key(format!("order:{order}:reversal:{op}"))?)
            .send(&self.client)
            .await?;
        Ok(r.id.to_string())
    }

    /// Events created after `since` (seconds), oldest first (Stripe keeps 30 days).
    pub async fn events_since(&self, since: i64) -> Result<Vec<EventHint>, CallError> {
        use stripe_core::event::ListEvent;
        let mut out = Vec::new();
        let mut after: Option<String> = None;
        loop {
            let mut req = ListEvent::new()
                .created(stripe_types::RangeQueryTs::gt(since))
                .limit(100);
            if let Some(a) = &after {
                req = req.starting_after(a.clone());
            }
            let page = req.send(&self.client).await?;
            for e in &page.data {
                let object_id = match &e.data.object {
                    miniserde::json::Value::Object(m) => match m.get("id") {
                        Some(miniserde::json::Value::String(s)) => s.clone(),
                        _ => String::new(),
                    },
                    _ => String::new(),
                };
                out.push(EventHint {
                    id: e.id.to_string(),
                    kind: e.type_.as_str().to_owned(),
                    object_id,
                    account: e.account.clone(),
                    created: e.created,
                });
            }
            after = page.data.last().map(|e| e.id.to_string());
            if !page.has_more || after.is_none() || out.len() >= 10_000 {
                break;
            }
        }
        out.sort_by_key(|e| e.created);
        Ok(out)
    }
}

fn account(a: stripe_shared::Account) -> Account {
    let req = a.requirements;
    Account {
        id: a.id.to_string(),
        charges_enabled: a.charges_enabled.unwrap_or(false),
        payouts_enabled: a.payouts_enabled.unwrap_or(false),
        details_submitted: a.details_submitted.unwrap_or(false),
        currently_due: req.as_ref().and_then(|r| r.currently_due.clone()).unwrap_or_default(),
        disabled_reason: req.and_then(|r| r.disabled_reason).map(|d| d.as_str().to_owned()),
    }
}

fn intent(pi: stripe_shared::PaymentIntent) -> Intent {
    use stripe_shared::PaymentIntentStatus as S;
    let state = match pi.status {
        S::Succeeded => IntentState::Succeeded,
        S::Processing => IntentState::Processing,
        S::Canceled => IntentState::Canceled,
        S::RequiresPaymentMethod if pi.last_payment_error.is_some() => IntentState::Declined,
        _ => IntentState::Open,
    };
    Intent {
        id: pi.id.to_string(),
        state,
        client_secret: pi.client_secret,
        amount: pi.amount,
        latest_charge: pi.latest_charge.map(|c| c.id().to_string()),
        order_id: pi.metadata.get("order_id").cloned(),
    }
}
